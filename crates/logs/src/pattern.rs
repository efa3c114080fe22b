//! CloudWatch Logs filter patterns: parsing and matching.
//!
//! Follows <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! # Wire
//! ```text
//! (empty)                        every event
//! ERROR Exception                both terms, case-sensitive substrings
//! "Connection refused"           an exact phrase
//! ?ERROR ?WARN                   either term
//! ERROR -Retrying                ERROR but not Retrying
//! { $.level = "error" }          JSON messages; strings compare with = and != (`*` wildcards)
//! { $.latency >= 100 && $.ok IS TRUE }
//! { ($.a = 1 || $.b != "x") && $.c NOT EXISTS }
//! { $.items[0].id = 7 }  { $.tags[*] = "hot" }  { $.x IS NULL }  { $.x EXISTS }
//! [ip, user, ..., status = 4*, bytes > 1000]   space-delimited events (see `delimited`)
//! ```
//! Terms are matched as substrings. When `?` terms are present at least one must match,
//! besides every plain term. Regular expressions (`%...%`) are refused as invalid for now.

use crate::json::{self, Json};
use std::fmt;

/// The longest filter pattern CloudWatch Logs accepts, in characters.
pub const MAX_PATTERN_CHARS: usize = 1024;

/// A parsed filter pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterPattern(Kind);

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    All,
    Text { required: Vec<String>, any_of: Vec<String>, excluded: Vec<String> },
    Json(Expr),
    Delimited(crate::delimited::Delimited),
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    /// Every member holds. N-ary, not nested pairs: a chain of 500 `&&` terms is one level deep,
    /// so neither evaluation nor drop recurses with the length of a pattern.
    And(Vec<Expr>),
    /// Some member holds.
    Or(Vec<Expr>),
    Compare {
        path: Vec<Step>,
        op: Op,
        value: Literal,
    },
    Exists {
        path: Vec<Step>,
        present: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    AnyIndex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Number(f64),
    Text(String),
    Null,
    Bool(bool),
}

/// Why a pattern is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(reason.into()))
}

impl std::str::FromStr for FilterPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.chars().count() > MAX_PATTERN_CHARS {
            return invalid(format!(
                "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_PATTERN_CHARS}"
            ));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(FilterPattern(Kind::All));
        }
        if trimmed.starts_with('{') {
            return Ok(FilterPattern(Kind::Json(JsonParser::new(trimmed)?.pattern()?)));
        }
        if trimmed.starts_with('[') {
            return Ok(FilterPattern(Kind::Delimited(crate::delimited::Delimited::parse(trimmed)?)));
        }
        if trimmed.len() > 1 && trimmed.starts_with('%') && trimmed.ends_with('%') {
            return invalid("regular-expression filter patterns are not supported by wharf");
        }
        text_pattern(trimmed)
    }
}

impl FilterPattern {
    /// Whether an event's message matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.0 {
            Kind::All => true,
            Kind::Text { required, any_of, excluded } => {
                required.iter().all(|term| message.contains(term.as_str()))
                    && (any_of.is_empty() || any_of.iter().any(|term| message.contains(term.as_str())))
                    && !excluded.iter().any(|term| message.contains(term.as_str()))
            }
            Kind::Json(expr) => json::parse(message).is_some_and(|doc| evaluate(expr, &doc)),
            Kind::Delimited(fields) => fields.matches(message),
        }
    }

    /// Whether this pattern matches every event.
    pub fn is_all(&self) -> bool {
        self.0 == Kind::All
    }
}

fn text_pattern(text: &str) -> Result<FilterPattern, PatternError> {
    let (mut required, mut any_of, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|character| character.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let target = match first {
            '?' => {
                chars.next();
                &mut any_of
            }
            '-' => {
                chars.next();
                &mut excluded
            }
            _ => &mut required,
        };
        let mut term = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(character) = chars.next() {
                match character {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some(escaped) => term.push(escaped),
                        None => break,
                    },
                    other => term.push(other),
                }
            }
            if !closed {
                return invalid("unterminated quoted term in filter pattern");
            }
        } else {
            while let Some(&character) = chars.peek() {
                if character.is_whitespace() {
                    break;
                }
                term.push(character);
                chars.next();
            }
        }
        if term.is_empty() {
            return invalid("empty term in filter pattern");
        }
        target.push(term);
    }
    Ok(FilterPattern(Kind::Text { required, any_of, excluded }))
}

fn evaluate(expr: &Expr, doc: &Json) -> bool {
    match expr {
        Expr::And(members) => members.iter().all(|member| evaluate(member, doc)),
        Expr::Or(members) => members.iter().any(|member| evaluate(member, doc)),
        Expr::Exists { path, present } => {
            let mut found = Vec::new();
            resolve(doc, path, &mut found);
            found.is_empty() != *present
        }
        Expr::Compare { path, op, value } => {
            let mut found = Vec::new();
            resolve(doc, path, &mut found);
            found.into_iter().any(|field| compare(field, *op, value))
        }
    }
}

/// Collects every value `path` selects (several when it has `[*]`).
fn resolve<'a>(value: &'a Json, path: &[Step], found: &mut Vec<&'a Json>) {
    let Some((step, rest)) = path.split_first() else {
        found.push(value);
        return;
    };
    match (step, value) {
        (Step::Key(key), Json::Object(_)) => {
            if let Some(member) = value.member(key) {
                resolve(member, rest, found);
            }
        }
        (Step::Index(idx), Json::Array(items)) => {
            if let Some(item) = items.get(*idx) {
                resolve(item, rest, found);
            }
        }
        (Step::AnyIndex, Json::Array(items)) => {
            for item in items {
                resolve(item, rest, found);
            }
        }
        _ => {}
    }
}

fn compare(field: &Json, op: Op, value: &Literal) -> bool {
    match (value, field) {
        (Literal::Number(expected), Json::Number(actual)) => match op {
            Op::Eq => actual == expected,
            Op::Ne => actual != expected,
            Op::Lt => actual < expected,
            Op::Le => actual <= expected,
            Op::Gt => actual > expected,
            Op::Ge => actual >= expected,
        },
        (Literal::Text(expected), Json::String(actual)) => match op {
            Op::Eq => wildcard_match(expected, actual),
            Op::Ne => !wildcard_match(expected, actual),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => false,
        },
        (Literal::Null, field) => (op == Op::Eq) == (*field == Json::Null),
        (Literal::Bool(expected), Json::Bool(actual)) => (op == Op::Eq) == (expected == actual),
        _ => false,
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(idx) => rest = &rest[idx + middle.len()..],
            None => return false,
        }
    }
    true
}

/// A token of a JSON pattern.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    LeftParen,
    RightParen,
    And,
    Or,
    Op(Op),
    Selector(String),
    Quoted(String),
    Word(String),
}

struct JsonParser {
    tokens: Vec<Token>,
    pos: usize,
}

fn is_word_char(character: char) -> bool {
    !character.is_whitespace() && !matches!(character, '{' | '}' | '(' | ')' | '=' | '!' | '<' | '>' | '&' | '|' | '"')
}

fn lex(text: &str) -> Result<Vec<Token>, PatternError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&character) = chars.peek() {
        if character.is_whitespace() {
            chars.next();
            continue;
        }
        chars.next();
        let token = match character {
            '{' => Token::Open,
            '}' => Token::Close,
            '(' => Token::LeftParen,
            ')' => Token::RightParen,
            '&' | '|' => {
                if chars.next() != Some(character) {
                    return invalid(format!("expected {character}{character} in filter pattern"));
                }
                if character == '&' {
                    Token::And
                } else {
                    Token::Or
                }
            }
            '=' => Token::Op(Op::Eq),
            '!' => {
                if chars.next() != Some('=') {
                    return invalid("expected != in filter pattern");
                }
                Token::Op(Op::Ne)
            }
            '<' | '>' => {
                let or_equal = chars.peek() == Some(&'=');
                if or_equal {
                    chars.next();
                }
                Token::Op(match (character, or_equal) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                })
            }
            '"' => {
                let mut text = String::new();
                let mut closed = false;
                while let Some(next) = chars.next() {
                    match next {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(escaped) => text.push(escaped),
                            None => break,
                        },
                        other => text.push(other),
                    }
                }
                if !closed {
                    return invalid("unterminated string in filter pattern");
                }
                Token::Quoted(text)
            }
            first => {
                let mut word = String::from(first);
                while let Some(&next) = chars.peek() {
                    if !is_word_char(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                if first == '$' {
                    Token::Selector(word)
                } else {
                    Token::Word(word)
                }
            }
        };
        tokens.push(token);
    }
    Ok(tokens)
}

fn selector_path(selector: &str) -> Result<Vec<Step>, PatternError> {
    let bad = || PatternError(format!("invalid selector {selector} in filter pattern"));
    let mut rest = selector.strip_prefix('$').ok_or_else(bad)?;
    let mut path = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(bad());
            }
            path.push(Step::Key(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let inside = &after[..end];
            path.push(if inside == "*" { Step::AnyIndex } else { Step::Index(inside.parse().map_err(|_| bad())?) });
            rest = &after[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(path)
}

/// Depth limit of nested parentheses, so hostile patterns cannot overflow the stack.
const MAX_NESTING: usize = 64;

impl JsonParser {
    fn new(text: &str) -> Result<Self, PatternError> {
        Ok(JsonParser { tokens: lex(text)?, pos: 0 })
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn pattern(mut self) -> Result<Expr, PatternError> {
        if self.next() != Some(Token::Open) {
            return invalid("a JSON filter pattern starts with {");
        }
        let expr = self.or_expr(0)?;
        if self.next() != Some(Token::Close) || self.peek().is_some() {
            return invalid("a JSON filter pattern ends with }");
        }
        Ok(expr)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, PatternError> {
        let mut members = vec![self.and_expr(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            members.push(self.and_expr(depth)?);
        }
        Ok(if members.len() == 1 { members.remove(0) } else { Expr::Or(members) })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, PatternError> {
        let mut members = vec![self.primary(depth)?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            members.push(self.primary(depth)?);
        }
        Ok(if members.len() == 1 { members.remove(0) } else { Expr::And(members) })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, PatternError> {
        match self.next() {
            Some(Token::LeftParen) => {
                if depth >= MAX_NESTING {
                    return invalid("filter pattern nests too deeply");
                }
                let inner = self.or_expr(depth + 1)?;
                if self.next() != Some(Token::RightParen) {
                    return invalid("missing ) in filter pattern");
                }
                Ok(inner)
            }
            Some(Token::Selector(selector)) => {
                let path = selector_path(&selector)?;
                self.comparison(path)
            }
            _ => invalid("expected a selector such as $.field in filter pattern"),
        }
    }

    fn comparison(&mut self, path: Vec<Step>) -> Result<Expr, PatternError> {
        match self.next() {
            Some(Token::Op(op)) => {
                let value = match self.next() {
                    Some(Token::Quoted(text)) => Literal::Text(text),
                    Some(Token::Word(word)) => literal_of_word(word),
                    _ => return invalid("expected a value after the comparison in filter pattern"),
                };
                let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
                if ordered && !matches!(value, Literal::Number(_)) {
                    return invalid("<, <=, > and >= compare numbers only in filter pattern");
                }
                Ok(Expr::Compare { path, op, value })
            }
            Some(Token::Word(word)) if word == "IS" => match self.next() {
                Some(Token::Word(word)) if word == "NULL" => {
                    Ok(Expr::Compare { path, op: Op::Eq, value: Literal::Null })
                }
                Some(Token::Word(word)) if word == "TRUE" => {
                    Ok(Expr::Compare { path, op: Op::Eq, value: Literal::Bool(true) })
                }
                Some(Token::Word(word)) if word == "FALSE" => {
                    Ok(Expr::Compare { path, op: Op::Eq, value: Literal::Bool(false) })
                }
                _ => invalid("expected NULL, TRUE or FALSE after IS in filter pattern"),
            },
            Some(Token::Word(word)) if word == "EXISTS" => Ok(Expr::Exists { path, present: true }),
            Some(Token::Word(word)) if word == "NOT" => match self.next() {
                Some(Token::Word(word)) if word == "EXISTS" => Ok(Expr::Exists { path, present: false }),
                _ => invalid("expected EXISTS after NOT in filter pattern"),
            },
            _ => invalid("expected a comparison after the selector in filter pattern"),
        }
    }
}

fn literal_of_word(word: String) -> Literal {
    match word.as_str() {
        "NULL" => Literal::Null,
        "TRUE" => Literal::Bool(true),
        "FALSE" => Literal::Bool(false),
        _ => match word.parse::<f64>() {
            Ok(number) if number.is_finite() => Literal::Number(number),
            _ => Literal::Text(word),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `(pattern, message, expected match)`.
    const CASES: &[(&str, &str, bool)] = &[
        ("", "anything", true),
        ("   ", "anything", true),
        ("ERROR", "[ERROR] disk full", true),
        ("ERROR", "[error] disk full", false),
        ("ERROR disk", "[ERROR] disk full", true),
        ("ERROR memory", "[ERROR] disk full", false),
        ("\"disk full\"", "[ERROR] disk full", true),
        ("\"full disk\"", "[ERROR] disk full", false),
        ("?ERROR ?WARN", "WARN low memory", true),
        ("?ERROR ?WARN", "INFO ok", false),
        ("?ERROR ?\"low memory\"", "WARN low memory", true),
        ("ERROR -disk", "[ERROR] disk full", false),
        ("ERROR -memory", "[ERROR] disk full", true),
        ("START RequestId", "START RequestId: 1 Version: $LATEST", true),
        ("{ $.level = \"error\" }", r#"{"level":"error"}"#, true),
        ("{ $.level = error }", r#"{"level":"error"}"#, true),
        ("{ $.level = \"error\" }", r#"{"level":"ERROR"}"#, false),
        ("{ $.level = \"err*\" }", r#"{"level":"error"}"#, true),
        ("{ $.level = \"*ro*\" }", r#"{"level":"error"}"#, true),
        ("{ $.level != \"error\" }", r#"{"level":"info"}"#, true),
        ("{ $.level != \"error\" }", r#"{"level":"error"}"#, false),
        ("{ $.level = \"error\" }", "not json at all", false),
        ("{ $.a.b = 1 }", r#"{"a":{"b":1}}"#, true),
        ("{ $.a.b = 1 }", r#"{"a":{"b":2}}"#, false),
        ("{ $.latency > 100 }", r#"{"latency":150.5}"#, true),
        ("{ $.latency > 100 }", r#"{"latency":100}"#, false),
        ("{ $.latency >= 100 }", r#"{"latency":100}"#, true),
        ("{ $.latency < 1e2 }", r#"{"latency":99}"#, true),
        ("{ $.latency <= -1 }", r#"{"latency":-1}"#, true),
        ("{ $.latency > 100 }", r#"{"latency":"150"}"#, false),
        ("{ $.a = 1 && $.b = 2 }", r#"{"a":1,"b":2}"#, true),
        ("{ $.a = 1 && $.b = 2 }", r#"{"a":1,"b":3}"#, false),
        ("{ $.a = 1 || $.b = 2 }", r#"{"a":0,"b":2}"#, true),
        ("{ ($.a = 1 || $.b = 2) && $.c = 3 }", r#"{"a":1,"c":4}"#, false),
        ("{ ($.a = 1 || $.b = 2) && $.c = 3 }", r#"{"b":2,"c":3}"#, true),
        ("{ $.x EXISTS }", r#"{"x":null}"#, true),
        ("{ $.x EXISTS }", r#"{"y":1}"#, false),
        ("{ $.x NOT EXISTS }", r#"{"y":1}"#, true),
        ("{ $.x IS NULL }", r#"{"x":null}"#, true),
        ("{ $.x IS TRUE }", r#"{"x":true}"#, true),
        ("{ $.x IS FALSE }", r#"{"x":true}"#, false),
        ("{ $.items[1].id = 7 }", r#"{"items":[{"id":6},{"id":7}]}"#, true),
        ("{ $.tags[*] = \"hot\" }", r#"{"tags":["cold","hot"]}"#, true),
        ("{ $.tags[*] = \"warm\" }", r#"{"tags":["cold","hot"]}"#, false),
    ];

    #[test]
    fn table() {
        for (pattern, message, expected) in CASES {
            let parsed: FilterPattern = pattern.parse().unwrap_or_else(|err| panic!("{pattern}: {err}"));
            assert_eq!(parsed.matches(message), *expected, "pattern {pattern:?} on {message:?}");
        }
    }

    #[test]
    fn long_chains_neither_recurse_nor_pass_the_length_limit() {
        // Within the length limit, a long chain evaluates without deep recursion.
        let terms: Vec<String> = (0..80).map(|term| format!("$.k = {term}")).collect();
        let pattern: FilterPattern = format!("{{ {} }}", terms.join(" || ")).parse().expect("valid");
        assert!(pattern.matches("{\"k\": 79}"));
        assert!(!pattern.matches("{\"k\": 80}"));
        // 30,000 terms (the reported crash) are refused by length before parsing.
        let huge = format!("{{ {} }}", vec!["$.a = 1"; 30_000].join(" || "));
        assert!(huge.parse::<FilterPattern>().unwrap_err().0.contains("less than or equal to 1024"));
        // The parser itself stays flat even on input longer than the limit.
        let parser = JsonParser::new(&huge).expect("lexes");
        assert!(matches!(parser.pattern(), Ok(Expr::Or(members)) if members.len() == 30_000));
    }

    #[test]
    fn invalid_patterns() {
        for pattern in [
            "\"open",
            "{ $.a = }",
            "{ $.a = 1",
            "{ a = 1 }",
            "{ $.a < \"x\" }",
            "{ $.a = 1 } extra",
            "{ $.a & 1 }",
            "{ $. = 1 }",
            "{ $.a[x] = 1 }",
            "[ip user]",
            "%ab+c%",
            "? x",
        ] {
            assert!(pattern.parse::<FilterPattern>().is_err(), "{pattern:?} should be invalid");
        }
        let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(500), ")".repeat(500));
        assert!(deep.parse::<FilterPattern>().is_err(), "deep nesting is refused");
    }

    proptest! {
        #[test]
        fn never_panics(pattern in "\\PC{0,60}", message in "\\PC{0,60}") {
            if let Ok(parsed) = pattern.parse::<FilterPattern>() {
                let _ = parsed.matches(&message);
            }
        }

        #[test]
        fn never_panics_on_pattern_like_input(pattern in "[{}()$.\\[\\]*a-c0-9=!<>&| \"?-]{0,40}") {
            if let Ok(parsed) = pattern.parse::<FilterPattern>() {
                let _ = parsed.matches(r#"{"a":[1,{"b":"c"}],"c":null}"#);
            }
        }
    }
}
