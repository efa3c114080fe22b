//! Space-delimited filter patterns: `[ip, user, ..., status = 4*, bytes > 1000]`.
//!
//! Follows "Using filter patterns to match terms in space-delimited log events" in the
//! CloudWatch Logs user guide.
//!
//! # Wire
//! ```text
//! [f1, f2, ...]                   one name per field of the event, in order
//! [..., status, size]             `...` stands for any number of fields (also none)
//! [ip, user = "admin*"]           = and != compare text, `*` being any run of characters
//! [.., size > 1000]               < <= > >= (and = !=) compare numbers
//! [c, s = 4* || s = 5*]           || and && combine conditions on the one field
//! ```
//! An event is split into fields at spaces; a field that starts with `"` runs to the next `"`,
//! one that starts with `[` to the next `]`, and the quotes or brackets are not part of its
//! value. Without `...`, an event matches only with as many fields as the pattern has.

use crate::pattern::{wildcard_match, Op, PatternError};

/// The most fields a pattern may name.
const MAX_FIELDS: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Delimited {
    fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq)]
enum Field {
    /// `...`: any number of event fields.
    Ellipsis,
    /// A named field: any value, or one that satisfies one of the alternatives (each a
    /// conjunction of conditions).
    Named { name: String, alternatives: Vec<Vec<Condition>> },
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    op: Op,
    value: String,
    number: Option<f64>,
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(format!("Invalid filter pattern: {}", reason.into())))
}

/// Splits `text` at `separator` outside double quotes.
fn split_outside_quotes<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut skip_to = 0;
    for (index, character) in text.char_indices() {
        if index < skip_to {
            continue;
        }
        if character == '"' {
            quoted = !quoted;
        } else if !quoted && text[index..].starts_with(separator) {
            parts.push(&text[start..index]);
            skip_to = index + separator.len();
            start = skip_to;
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_condition(text: &str, field: &mut Option<String>) -> Result<Condition, PatternError> {
    let text = text.trim();
    let position = text
        .find(['=', '!', '<', '>'])
        .ok_or_else(|| PatternError(format!("Invalid filter pattern: no operator in {text}")))?;
    let (name, rest) = text.split_at(position);
    let name = name.trim();
    let (op, value) = [("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)]
        .iter()
        .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|value| (*op, value.trim())))
        .ok_or_else(|| PatternError(format!("Invalid filter pattern: bad operator in {text}")))?;
    check_name(name)?;
    match field {
        Some(existing) if existing != name => {
            return invalid(format!("conditions on one field must name it: {existing} and {name}"));
        }
        Some(_) => {}
        None => *field = Some(name.to_owned()),
    }
    if value.is_empty() {
        return invalid(format!("no value in {text}"));
    }
    let (value, quoted) = match value.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')) {
        Some(inner) => (inner.to_owned(), true),
        None => (value.to_owned(), false),
    };
    let number = if quoted { None } else { value.parse::<f64>().ok().filter(|number| number.is_finite()) };
    if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && number.is_none() {
        return invalid(format!("{name} is compared with < or > to something that is not a number"));
    }
    Ok(Condition { op, value, number })
}

fn check_name(name: &str) -> Result<(), PatternError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return invalid(format!("bad field name '{name}'"));
    }
    Ok(())
}

impl Delimited {
    /// Parses `[ ... ]` (the brackets included).
    pub(crate) fn parse(text: &str) -> Result<Delimited, PatternError> {
        let Some(inner) = text.trim().strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) else {
            return invalid("a space-delimited pattern is enclosed in [ and ]");
        };
        let mut fields = Vec::new();
        for part in split_outside_quotes(inner, ",") {
            let part = part.trim();
            if part == "..." {
                fields.push(Field::Ellipsis);
                continue;
            }
            if !part.contains(['=', '!', '<', '>']) {
                check_name(part)?;
                fields.push(Field::Named { name: part.to_owned(), alternatives: Vec::new() });
                continue;
            }
            let mut name = None;
            let mut alternatives = Vec::new();
            for alternative in split_outside_quotes(part, "||") {
                let conditions = split_outside_quotes(alternative, "&&")
                    .into_iter()
                    .map(|condition| parse_condition(condition, &mut name))
                    .collect::<Result<Vec<_>, _>>()?;
                alternatives.push(conditions);
            }
            fields.push(Field::Named { name: name.unwrap_or_default(), alternatives });
        }
        if fields.len() > MAX_FIELDS {
            return invalid(format!("at most {MAX_FIELDS} fields"));
        }
        Ok(Delimited { fields })
    }

    /// Whether `message` matches.
    pub(crate) fn matches(&self, message: &str) -> bool {
        self.bind(message).is_some()
    }

    /// The values of the named fields when `message` matches (`$name` → value).
    pub(crate) fn bind(&self, message: &str) -> Option<Vec<(String, String)>> {
        let tokens = tokens(message);
        // Glob matching of fields over tokens, `...` being the star: backtracking to the last
        // ellipsis only, linear in practice.
        let (mut field, mut token) = (0, 0);
        let mut last_ellipsis: Option<(usize, usize)> = None;
        let mut bound: Vec<(usize, usize)> = Vec::new();
        while token < tokens.len() {
            match self.fields.get(field) {
                Some(Field::Ellipsis) => {
                    last_ellipsis = Some((field, token));
                    field += 1;
                }
                Some(named @ Field::Named { .. }) if accepts(named, tokens[token]) => {
                    bound.retain(|(f, _)| *f != field);
                    bound.push((field, token));
                    field += 1;
                    token += 1;
                }
                _ => match last_ellipsis {
                    Some((star_field, star_token)) => {
                        field = star_field + 1;
                        token = star_token + 1;
                        last_ellipsis = Some((star_field, star_token + 1));
                        bound.retain(|(f, _)| *f <= star_field);
                    }
                    None => return None,
                },
            }
        }
        if !self.fields[field..].iter().all(|rest| *rest == Field::Ellipsis) {
            return None;
        }
        Some(
            bound
                .into_iter()
                .filter_map(|(field, token)| match &self.fields[field] {
                    Field::Named { name, .. } => Some((format!("${name}"), tokens[token].to_owned())),
                    Field::Ellipsis => None,
                })
                .collect(),
        )
    }
}

fn accepts(field: &Field, value: &str) -> bool {
    match field {
        Field::Ellipsis => true,
        Field::Named { alternatives, .. } => {
            alternatives.is_empty()
                || alternatives.iter().any(|conditions| conditions.iter().all(|condition| holds(condition, value)))
        }
    }
}

fn holds(condition: &Condition, value: &str) -> bool {
    let numeric = value.parse::<f64>().ok().filter(|number| number.is_finite());
    match (condition.op, condition.number, numeric) {
        (Op::Eq, Some(expected), Some(actual)) => actual == expected,
        (Op::Ne, Some(expected), Some(actual)) => actual != expected,
        (Op::Eq, _, _) => wildcard_match(&condition.value, value),
        (Op::Ne, _, _) => !wildcard_match(&condition.value, value),
        (Op::Lt, Some(expected), Some(actual)) => actual < expected,
        (Op::Le, Some(expected), Some(actual)) => actual <= expected,
        (Op::Gt, Some(expected), Some(actual)) => actual > expected,
        (Op::Ge, Some(expected), Some(actual)) => actual >= expected,
        _ => false,
    }
}

/// The fields of an event: runs of non-space characters, or `"…"` and `[…]` groups (without
/// their delimiters).
fn tokens(message: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = message.trim_start();
    while !rest.is_empty() {
        let (token, after) = match rest.as_bytes()[0] {
            b'"' => match rest[1..].find('"') {
                Some(end) => (&rest[1..1 + end], &rest[end + 2..]),
                None => (&rest[1..], ""),
            },
            b'[' => match rest[1..].find(']') {
                Some(end) => (&rest[1..1 + end], &rest[end + 2..]),
                None => (&rest[1..], ""),
            },
            _ => match rest.find(char::is_whitespace) {
                Some(end) => (&rest[..end], &rest[end..]),
                None => (rest, ""),
            },
        };
        tokens.push(token);
        rest = after.trim_start();
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534"#;

    fn matches(pattern: &str, message: &str) -> bool {
        Delimited::parse(pattern).unwrap_or_else(|err| panic!("{pattern}: {err}")).matches(message)
    }

    #[test]
    fn fields_conditions_and_ellipses() {
        assert!(matches("[ip, user, username, timestamp, request, status_code, bytes]", LINE));
        assert!(!matches("[ip, user, username, timestamp, request, status_code]", LINE), "one field short");
        assert!(matches("[ip, user, username, timestamp, request = \"*gif*\", status_code = 4*, bytes]", LINE));
        assert!(!matches("[ip, user, username, timestamp, request = \"*html*\", status_code, bytes]", LINE));
        assert!(matches("[..., status_code = 404, bytes > 1000]", LINE));
        assert!(!matches("[..., status_code = 404, bytes > 2000]", LINE));
        assert!(matches("[ip = 127.0.0.1, ...]", LINE));
        assert!(matches("[ip, ..., status_code >= 400 && status_code < 500, bytes]", LINE));
        assert!(matches("[..., s = 3* || s = 4*, b]", LINE));
        assert!(!matches("[..., s != 404, b]", LINE));
        assert!(matches("[ip, user, username = frank, ...]", LINE));
        // Not only ASCII (the fuzz target found a split inside a character).
        assert!(matches("[a = \"é,ü\", b = ö*]", "é,ü öl"));
        assert!(Delimited::parse("[é]").is_err());
        let bound = Delimited::parse("[ip, ..., code, size]").expect("parse").bind(LINE).expect("match");
        assert_eq!(
            bound,
            vec![("$ip".into(), "127.0.0.1".into()), ("$code".into(), "404".into()), ("$size".into(), "1534".into())]
        );
        assert_eq!(tokens(LINE)[3], "10/Oct/2000:13:25:15 -0700");
        assert_eq!(tokens(LINE)[4], "GET /apache_pb.gif HTTP/1.0");
    }

    #[test]
    fn invalid_patterns_are_refused() {
        for pattern in ["[]", "[a b]", "[a > x]", "[a = 1 || b = 2]", "[a =]", "ip, user"] {
            assert!(Delimited::parse(pattern).is_err(), "{pattern}");
        }
    }
}
