//! Event patterns: parsing EventBridge's content-filtering grammar and matching events against it.
//!
//! Semantics follow the EventBridge user guide ("Creating Amazon EventBridge event patterns" and
//! "Comparison operators for use in event patterns",
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html>),
//! and, where the guide is silent, the behaviour of AWS's open-source matcher (`aws/event-ruler`).
//!
//! # Wire
//! ```text
//! pattern  = { field: (pattern | [value-or-filter, ...]) , ... , "$or": [pattern, pattern, ...] }
//! value    = string | number | true | false | null            exact match (3 matches 3.0)
//! filter   = {"prefix": s | {"equals-ignore-case": s}}
//!          | {"suffix": s | {"equals-ignore-case": s}}
//!          | {"equals-ignore-case": s}
//!          | {"wildcard": s}                                  * = any run, \* = a star, \\ = a backslash
//!          | {"anything-but": s | n | [s, ...] | [n, ...]
//!                           | {"prefix": s} | {"suffix": s} | {"wildcard": s}
//!                           | {"equals-ignore-case": s | [s, ...]}}
//!          | {"numeric": [op, n] | [">" | ">=", n, "<" | "<=", n]}    op in = < <= > >=
//!          | {"exists": true | false}
//!          | {"cidr": "10.0.0.0/24" | "2001:db8::/32"}
//! ```
//! Fields are ANDed, the values of one field are ORed, and `$or` ORs whole sub-patterns.
//!
//! This crate is the one matcher of wharf: EventBridge rules and archives (`wharf-events`) and
//! Lambda event source mapping filters (`wharf-links`) all parse and match with it. It does no
//! IO; JSON values are its domain types (a pattern's meaning depends on JSON types).

use serde_json::{Map, Value};
use std::net::IpAddr;

/// Why AWS rejects an event pattern, worded as `InvalidEventPatternException` words it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPattern(pub String);

impl InvalidPattern {
    fn because(reason: impl std::fmt::Display) -> Self {
        InvalidPattern(format!("Event pattern is not valid. Reason: {reason}"))
    }
}

/// A parsed event pattern, ready to match events.
#[derive(Clone, Debug)]
pub struct Pattern {
    root: Fields,
}

/// The conditions of one JSON object of the pattern; all of them must hold.
#[derive(Clone, Debug)]
struct Fields {
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug)]
enum Condition {
    /// `"name": { ... }`: the conditions apply to the event's object under `name`.
    Nested { name: String, fields: Fields },
    /// `"name": [ ... ]`: some leaf value under `name` satisfies one of the matchers.
    Leaf { name: String, matchers: Vec<Matcher> },
    /// `"$or": [ {...}, {...} ]`: one of the sub-patterns holds at this level.
    Or(Vec<Fields>),
}

#[derive(Clone, Debug)]
enum Matcher {
    Exact(Literal),
    Prefix { text: String, ignore_case: bool },
    Suffix { text: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(NumericRange),
    Exists(bool),
    Cidr(Cidr),
}

#[derive(Clone, Debug)]
enum Literal {
    /// A string; `ip` is set when it reads as an IP address, which then also matches other
    /// spellings of the same address (event-ruler compiles such strings to an IP range).
    String {
        text: String,
        ip: Option<IpAddr>,
    },
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug)]
enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    /// Matches no value starting with any of these.
    Prefix(Vec<String>),
    /// Matches no value ending with any of these.
    Suffix(Vec<String>),
    /// Matches no value any of these match.
    Wildcard(Vec<Wildcard>),
    /// Lower-cased.
    IgnoreCase(Vec<String>),
}

#[derive(Clone, Copy, Debug)]
struct Bound {
    value: f64,
    inclusive: bool,
}

#[derive(Clone, Copy, Debug)]
struct NumericRange {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

#[derive(Clone, Debug)]
struct Cidr {
    network: IpAddr,
    prefix_len: u32,
}

#[derive(Clone, Debug, PartialEq)]
enum WildcardPart {
    Char(char),
    Star,
}

#[derive(Clone, Debug)]
struct Wildcard {
    parts: Vec<WildcardPart>,
}

/// Numeric matching is limited to this magnitude (EventBridge user guide, "Numeric matching").
const NUMERIC_LIMIT: f64 = 5.0e9;

/// The operator names that may not be used as field names inside `$or` (event-ruler does the same).
const OPERATORS: &[&str] =
    &["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"];

const OR_KEYWORD: &str = "$or";

impl Pattern {
    /// Parses an event pattern as `PutRule`'s `EventPattern` accepts it.
    pub fn parse(text: &str) -> Result<Pattern, InvalidPattern> {
        let value: Value = serde_json::from_str(text).map_err(InvalidPattern::because)?;
        let Value::Object(object) = &value else {
            return Err(InvalidPattern::because("Filter is not an object"));
        };
        Ok(Pattern { root: parse_fields(object, false)? })
    }

    /// Whether `event` (a whole event: `source`, `detail-type`, `detail`, …) matches.
    pub fn matches(&self, event: &serde_json::Value) -> bool {
        self.root.matches(Some(&expand_dotted(event)))
    }
}

fn parse_fields(object: &Map<String, Value>, inside_or: bool) -> Result<Fields, InvalidPattern> {
    if object.is_empty() {
        return Err(InvalidPattern::because("Empty objects are not allowed"));
    }
    let mut conditions = Vec::with_capacity(object.len());
    for (name, value) in object {
        if name == OR_KEYWORD {
            conditions.push(parse_or(value)?);
            continue;
        }
        if inside_or && OPERATORS.contains(&name.as_str()) {
            return Err(InvalidPattern::because(format!(
                "{name} is Ruler reserved fieldName which cannot be used inside $or."
            )));
        }
        let condition = match value {
            Value::Object(nested) => Condition::Nested { name: name.clone(), fields: parse_fields(nested, inside_or)? },
            Value::Array(values) => Condition::Leaf { name: name.clone(), matchers: parse_leaf(values)? },
            _ => return Err(InvalidPattern::because(format!("\"{name}\" must be an object or an array"))),
        };
        conditions.push(nest_dotted(condition));
    }
    Ok(Fields { conditions })
}

/// A field named with dots (`"state.status"`) is the path state → status, as event-ruler
/// flattens both events and patterns into dotted paths.
fn nest_dotted(condition: Condition) -> Condition {
    let (name, rebuild): (String, Box<dyn FnOnce(String) -> Condition>) = match condition {
        Condition::Nested { name, fields } if name.contains('.') => {
            (name, Box::new(move |last| Condition::Nested { name: last, fields }))
        }
        Condition::Leaf { name, matchers } if name.contains('.') => {
            (name, Box::new(move |last| Condition::Leaf { name: last, matchers }))
        }
        other => return other,
    };
    let mut segments: Vec<&str> = name.split('.').collect();
    let last = segments.pop().unwrap_or_default().to_owned();
    segments.into_iter().rev().fold(rebuild(last), |inner, segment| Condition::Nested {
        name: segment.to_owned(),
        fields: Fields { conditions: vec![inner] },
    })
}

/// `event` with every dotted key (`"state.status": v`) moved under its path (state → status),
/// merged with what is there; borrowed unchanged when it has none. A dotted key whose prefix
/// holds something other than an object stays as it is.
fn expand_dotted(event: &Value) -> std::borrow::Cow<'_, Value> {
    fn has_dotted(value: &Value) -> bool {
        match value {
            Value::Object(object) => object.iter().any(|(key, child)| key.contains('.') || has_dotted(child)),
            Value::Array(items) => items.iter().any(has_dotted),
            _ => false,
        }
    }
    fn expand(value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(expand).collect()),
            Value::Object(object) => {
                let mut out = Map::new();
                for (key, child) in object.iter().filter(|(key, _)| !key.contains('.')) {
                    out.insert(key.clone(), expand(child));
                }
                for (key, child) in object.iter().filter(|(key, _)| key.contains('.')) {
                    insert_path(&mut out, key, expand(child));
                }
                Value::Object(out)
            }
            scalar => scalar.clone(),
        }
    }
    fn insert_path(object: &mut Map<String, Value>, key: &str, value: Value) {
        let Some((head, rest)) = key.split_once('.') else {
            object.entry(key.to_owned()).or_insert(value);
            return;
        };
        match object.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new())) {
            Value::Object(inner) => insert_path(inner, rest, value),
            _ => {
                object.entry(key.to_owned()).or_insert(value);
            }
        }
    }
    if has_dotted(event) {
        std::borrow::Cow::Owned(expand(event))
    } else {
        std::borrow::Cow::Borrowed(event)
    }
}

fn parse_or(value: &Value) -> Result<Condition, InvalidPattern> {
    let Value::Array(branches) = value else {
        return Err(InvalidPattern::because("It must be an Array followed with $or."));
    };
    let mut parsed = Vec::with_capacity(branches.len());
    for branch in branches {
        let Value::Object(object) = branch else {
            return Err(InvalidPattern::because("Only JSON object is allowed in array of $or relationship."));
        };
        parsed.push(parse_fields(object, true)?);
    }
    if parsed.len() < 2 {
        return Err(InvalidPattern::because("There must have at least 2 Objects in $or relationship."));
    }
    Ok(Condition::Or(parsed))
}

fn parse_leaf(values: &[Value]) -> Result<Vec<Matcher>, InvalidPattern> {
    if values.is_empty() {
        return Err(InvalidPattern::because("Empty arrays are not allowed"));
    }
    let matchers = values
        .iter()
        .map(|value| match value {
            Value::String(text) => Ok(Matcher::Exact(Literal::String { text: text.clone(), ip: text.parse().ok() })),
            Value::Number(number) => Ok(Matcher::Exact(Literal::Number(number.clone()))),
            Value::Bool(flag) => Ok(Matcher::Exact(Literal::Bool(*flag))),
            Value::Null => Ok(Matcher::Exact(Literal::Null)),
            Value::Object(object) => parse_filter(object),
            Value::Array(_) => Err(InvalidPattern::because("Match value must be String, number, true, false, or null")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_wildcard_complexity(&matchers)?;
    Ok(matchers)
}

/// The most weighted states the wildcards of one field may keep active at once.
const MAX_WILDCARD_COMPLEXITY: usize = 10;
/// The most distinct sets of active states the complexity search visits before it gives up
/// (and calls the field too complex): it bounds the work a hostile pattern can cause.
const MAX_COMPLEXITY_SETS: usize = 4096;

/// Refuses a field whose wildcards (plain and `anything-but`) are too complex, as AWS does.
///
/// AWS's matcher (event-ruler) runs all wildcards of a field as one automaton and refuses a
/// rule when some input can keep too many of its states active at once. wharf measures the
/// same thing on its own automaton: every position of every wildcard is a state (the final,
/// accepting one excepted; an active `*` keeps the position after it active too, as
/// event-ruler keeps a star's looping state beside the next one). The search walks every
/// reachable set of active positions over the characters the wildcards name (plus one for
/// any other). With the limit at 10, `*:*:*:*:*:event-bus/*` (11) is refused and `*:*:*:*:*`
/// (9) accepted, and four suffix wildcards on one field (`*.bif`, `*.tif`, … : 12) are
/// refused, as users report of AWS; AWS's exact figure for other shapes may differ a little.
fn check_wildcard_complexity(matchers: &[Matcher]) -> Result<(), InvalidPattern> {
    let mut wildcards: Vec<&Wildcard> = Vec::new();
    for matcher in matchers {
        match matcher {
            Matcher::Wildcard(wildcard) => wildcards.push(wildcard),
            Matcher::AnythingBut(AnythingBut::Wildcard(list)) => wildcards.extend(list),
            _ => {}
        }
    }
    if wildcards.iter().all(|wildcard| !wildcard.parts.contains(&WildcardPart::Star)) {
        return Ok(());
    }
    let too_complex = || {
        InvalidPattern::because(
            "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
        )
    };
    // A state is (wildcard, position): the parts before the position are matched.
    type States = std::collections::BTreeSet<(usize, usize)>;
    let close = |states: &mut States| {
        let mut pending: Vec<(usize, usize)> = states.iter().copied().collect();
        while let Some((index, position)) = pending.pop() {
            if wildcards[index].parts.get(position) == Some(&WildcardPart::Star) && states.insert((index, position + 1))
            {
                pending.push((index, position + 1));
            }
        }
    };
    let weight = |states: &States| -> usize {
        states.iter().filter(|&&(index, position)| position < wildcards[index].parts.len()).count()
    };
    let mut alphabet: Vec<Option<char>> = vec![None];
    for wildcard in &wildcards {
        for part in &wildcard.parts {
            if let WildcardPart::Char(character) = part {
                if !alphabet.contains(&Some(*character)) {
                    alphabet.push(Some(*character));
                }
            }
        }
    }
    let mut start: States = (0..wildcards.len()).map(|index| (index, 0)).collect();
    close(&mut start);
    let mut seen = std::collections::BTreeSet::new();
    let mut pending = vec![start];
    while let Some(states) = pending.pop() {
        if weight(&states) > MAX_WILDCARD_COMPLEXITY || seen.len() >= MAX_COMPLEXITY_SETS {
            return Err(too_complex());
        }
        for character in &alphabet {
            let mut next = States::new();
            for &(index, position) in &states {
                match wildcards[index].parts.get(position) {
                    Some(WildcardPart::Star) => {
                        next.insert((index, position));
                    }
                    Some(WildcardPart::Char(expected)) if Some(*expected) == *character => {
                        next.insert((index, position + 1));
                    }
                    _ => {}
                }
            }
            close(&mut next);
            if !next.is_empty() && !seen.contains(&next) {
                seen.insert(next.clone());
                pending.push(next);
            }
        }
    }
    Ok(())
}

/// The only `(operator, operand)` of a filter object such as `{"prefix": "x"}`.
fn single_entry(object: &Map<String, Value>) -> Result<(&str, &Value), InvalidPattern> {
    let mut entries = object.iter();
    let Some((name, value)) = entries.next() else {
        return Err(InvalidPattern::because("Match expression name not found"));
    };
    if entries.next().is_some() {
        return Err(InvalidPattern::because("Only one key allowed in match expression"));
    }
    Ok((name.as_str(), value))
}

fn parse_filter(object: &Map<String, Value>) -> Result<Matcher, InvalidPattern> {
    let (operator, operand) = single_entry(object)?;
    match operator {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match operand {
                Value::String(text) => (text.clone(), false),
                Value::Object(inner) => match single_entry(inner)? {
                    ("equals-ignore-case", Value::String(text)) => (text.to_lowercase(), true),
                    _ => {
                        return Err(InvalidPattern::because(format!(
                            "{operator} match pattern must be a string or an equals-ignore-case expression"
                        )))
                    }
                },
                _ => return Err(InvalidPattern::because(format!("{operator} match pattern must be a string"))),
            };
            Ok(if operator == "prefix" {
                Matcher::Prefix { text, ignore_case }
            } else {
                Matcher::Suffix { text, ignore_case }
            })
        }
        "equals-ignore-case" => match operand {
            Value::String(text) => Ok(Matcher::EqualsIgnoreCase(text.to_lowercase())),
            _ => Err(InvalidPattern::because("equals-ignore-case match pattern must be a string")),
        },
        "wildcard" => match operand {
            Value::String(text) => Ok(Matcher::Wildcard(Wildcard::parse(text)?)),
            _ => Err(InvalidPattern::because("wildcard match pattern must be a string")),
        },
        "anything-but" => Ok(Matcher::AnythingBut(parse_anything_but(operand)?)),
        "numeric" => match operand {
            Value::Array(terms) => Ok(Matcher::Numeric(parse_numeric(terms)?)),
            _ => Err(InvalidPattern::because("Value of numeric must be an array.")),
        },
        "exists" => match operand {
            Value::Bool(flag) => Ok(Matcher::Exists(*flag)),
            _ => Err(InvalidPattern::because("exists match pattern must be either true or false.")),
        },
        "cidr" => match operand {
            Value::String(text) => Ok(Matcher::Cidr(Cidr::parse(text)?)),
            // AWS's message names prefix here (its own copy-paste), kept as the service sends it.
            _ => Err(InvalidPattern::because("prefix match pattern must be a string")),
        },
        other => Err(InvalidPattern::because(format!("Unrecognized match type {other}"))),
    }
}

fn parse_anything_but(operand: &Value) -> Result<AnythingBut, InvalidPattern> {
    match operand {
        Value::String(text) => Ok(AnythingBut::Strings(vec![text.clone()])),
        Value::Number(number) => Ok(AnythingBut::Numbers(vec![numeric_operand(number)?])),
        Value::Array(items) => {
            if items.iter().all(Value::is_string) && !items.is_empty() {
                Ok(AnythingBut::Strings(items.iter().filter_map(Value::as_str).map(str::to_owned).collect()))
            } else if items.iter().all(Value::is_number) && !items.is_empty() {
                let numbers = items.iter().filter_map(Value::as_number).map(numeric_operand);
                Ok(AnythingBut::Numbers(numbers.collect::<Result<_, _>>()?))
            } else if items.iter().any(|item| !item.is_string() && !item.is_number()) {
                Err(InvalidPattern::because("Inside anything but list, start|null|boolean is not supported."))
            } else {
                Err(InvalidPattern::because(
                    "Inside anything but list, either all values are number or string, mixed type is not supported",
                ))
            }
        }
        Value::Object(inner) => {
            let (operator, inner_operand) = match single_entry(inner) {
                Ok(entry) => entry,
                Err(_) if inner.is_empty() => {
                    return Err(InvalidPattern::because("Anything-But expression name not found"))
                }
                Err(error) => return Err(error),
            };
            match (operator, inner_operand) {
                ("prefix" | "suffix" | "wildcard", operand) => {
                    // One string or a list of them, as AWS accepts (`{"prefix": ["init", "test"]}`).
                    let texts: Vec<&str> = match operand {
                        Value::String(text) => vec![text.as_str()],
                        Value::Array(items) if !items.is_empty() => items
                            .iter()
                            .map(|item| {
                                item.as_str().ok_or_else(|| {
                                    InvalidPattern::because(format!("{operator} match pattern must be a string"))
                                })
                            })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(InvalidPattern::because(format!("{operator} match pattern must be a string"))),
                    };
                    if operator != "wildcard" && texts.iter().any(|text| text.is_empty()) {
                        return Err(InvalidPattern::because("Null prefix/suffix not allowed"));
                    }
                    let owned = || texts.iter().map(|text| (*text).to_owned()).collect();
                    Ok(match operator {
                        "prefix" => AnythingBut::Prefix(owned()),
                        "suffix" => AnythingBut::Suffix(owned()),
                        _ => AnythingBut::Wildcard(
                            texts.iter().map(|text| Wildcard::parse(text)).collect::<Result<_, _>>()?,
                        ),
                    })
                }
                ("equals-ignore-case", Value::String(text)) => Ok(AnythingBut::IgnoreCase(vec![text.to_lowercase()])),
                ("equals-ignore-case", Value::Array(items))
                    if !items.is_empty() && items.iter().all(Value::is_string) =>
                {
                    Ok(AnythingBut::IgnoreCase(items.iter().filter_map(Value::as_str).map(str::to_lowercase).collect()))
                }
                ("equals-ignore-case", _) => Err(InvalidPattern::because(
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                )),
                (other, _) => Err(InvalidPattern::because(format!("Unsupported anything-but pattern: {other}"))),
            }
        }
        Value::Bool(_) | Value::Null => {
            Err(InvalidPattern::because("Value of anything-but must be an array or single string/number value."))
        }
    }
}

/// A number a numeric comparison may use: finite and within ±5.0e9.
fn numeric_operand(number: &serde_json::Number) -> Result<f64, InvalidPattern> {
    match number.as_f64() {
        Some(value) if value.is_finite() && value.abs() <= NUMERIC_LIMIT => Ok(value),
        _ => Err(InvalidPattern::because("Value must be between -5.0E9 and 5.0E9, inclusive")),
    }
}

fn parse_numeric(terms: &[Value]) -> Result<NumericRange, InvalidPattern> {
    // Reads `operator, number` at `index`.
    let term = |index: usize| -> Result<Option<(&str, f64)>, InvalidPattern> {
        let Some(operator) = terms.get(index) else { return Ok(None) };
        let Value::String(operator) = operator else {
            return Err(InvalidPattern::because(format!("Invalid member in numeric match: {operator}")));
        };
        if !matches!(operator.as_str(), "=" | "<" | "<=" | ">" | ">=") {
            return Err(InvalidPattern::because(format!("Unrecognized numeric range operator: {operator}")));
        }
        match terms.get(index + 1) {
            Some(Value::Number(number)) => Ok(Some((operator.as_str(), numeric_operand(number)?))),
            _ => Err(InvalidPattern::because(format!("Value of {operator} must be numeric"))),
        }
    };
    let Some((first_operator, first_value)) = term(0)? else {
        return Err(InvalidPattern::because("Invalid member in numeric match: empty"));
    };
    let first = |inclusive| Some(Bound { value: first_value, inclusive });
    let (lower, upper) = match first_operator {
        "=" => (first(true), first(true)),
        "<" => (None, first(false)),
        "<=" => (None, first(true)),
        ">" => (first(false), None),
        _ => (first(true), None),
    };
    if terms.len() == 2 {
        return Ok(NumericRange { lower, upper });
    }
    if upper.is_some() {
        return Err(InvalidPattern::because("Too many elements in numeric expression"));
    }
    let second = match term(2)? {
        Some(("<", value)) => Bound { value, inclusive: false },
        Some(("<=", value)) => Bound { value, inclusive: true },
        Some((operator, _)) => return Err(InvalidPattern::because(format!("Bad numeric range operator: {operator}"))),
        None => return Err(InvalidPattern::because("Too many elements in numeric expression")),
    };
    if terms.len() > 4 {
        return Err(InvalidPattern::because("Too many terms in numeric range expression"));
    }
    if lower.is_some_and(|lower| lower.value >= second.value) {
        return Err(InvalidPattern::because("Bottom must be less than top"));
    }
    Ok(NumericRange { lower, upper: Some(second) })
}

impl Wildcard {
    fn parse(text: &str) -> Result<Wildcard, InvalidPattern> {
        let mut parts = Vec::with_capacity(text.len());
        let mut chars = text.chars().enumerate();
        while let Some((position, current)) = chars.next() {
            match current {
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => parts.push(WildcardPart::Char(escaped)),
                    _ => {
                        return Err(InvalidPattern::because(format!(
                            "Wildcard pattern has an invalid escape character at pos {position}"
                        )))
                    }
                },
                '*' if parts.last() == Some(&WildcardPart::Star) => {
                    return Err(InvalidPattern::because(format!("Consecutive wildcard characters at pos {position}")))
                }
                '*' => parts.push(WildcardPart::Star),
                other => parts.push(WildcardPart::Char(other)),
            }
        }
        Ok(Wildcard { parts })
    }

    /// Glob matching with backtracking to the last star only: linear in practice, quadratic at worst.
    fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let (mut part_idx, mut char_idx) = (0, 0);
        let mut last_star: Option<(usize, usize)> = None;
        while char_idx < chars.len() {
            match self.parts.get(part_idx) {
                Some(WildcardPart::Char(expected)) if *expected == chars[char_idx] => {
                    part_idx += 1;
                    char_idx += 1;
                }
                Some(WildcardPart::Star) => {
                    last_star = Some((part_idx, char_idx));
                    part_idx += 1;
                }
                _ => match last_star {
                    Some((star_part, star_char)) => {
                        part_idx = star_part + 1;
                        char_idx = star_char + 1;
                        last_star = Some((star_part, star_char + 1));
                    }
                    None => return false,
                },
            }
        }
        self.parts[part_idx..].iter().all(|part| *part == WildcardPart::Star)
    }
}

impl Cidr {
    /// Parses `ADDRESS/BITS` with the checks and messages of AWS's event-ruler, in its order:
    /// exactly one `/` (a trailing one leaves no mask), an integer mask, not negative, a
    /// standard address, then the mask below the address's width.
    fn parse(text: &str) -> Result<Cidr, InvalidPattern> {
        let parts: Vec<&str> = text.trim_end_matches('/').split('/').collect();
        let [address, mask] = parts.as_slice() else {
            return Err(InvalidPattern::because("Malformed CIDR, one '/' required"));
        };
        let prefix_len: i32 =
            mask.parse().map_err(|_| InvalidPattern::because("Malformed CIDR, mask bits must be an integer"))?;
        if prefix_len < 0 {
            return Err(InvalidPattern::because("Malformed CIDR, mask bits must not be negative"));
        }
        let network: IpAddr =
            address.parse().map_err(|_| InvalidPattern::because(format!("Nonstandard IP address: {address}")))?;
        let prefix_len = prefix_len.unsigned_abs();
        match network {
            IpAddr::V4(_) if prefix_len > 31 => Err(InvalidPattern::because("IPv4 mask bits must be < 32")),
            IpAddr::V6(_) if prefix_len > 127 => Err(InvalidPattern::because("IPv6 mask bits must be < 128")),
            _ => Ok(Cidr { network, prefix_len }),
        }
    }

    fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix_len).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix_len).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl NumericRange {
    fn contains(&self, value: f64) -> bool {
        let above = self.lower.is_none_or(|lower| value > lower.value || (lower.inclusive && value == lower.value));
        let below = self.upper.is_none_or(|upper| value < upper.value || (upper.inclusive && value == upper.value));
        above && below
    }
}

/// An event number usable in numeric comparisons (event-ruler cannot compare numbers past ±5.0e9).
fn comparable(number: &serde_json::Number) -> Option<f64> {
    number.as_f64().filter(|value| value.abs() <= NUMERIC_LIMIT)
}

impl Literal {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Literal::String { text, ip }, Value::String(event_text)) => {
                text == event_text
                    || ip.is_some_and(|ip| event_text.parse::<IpAddr>().is_ok_and(|event_ip| event_ip == ip))
            }
            // Numbers compare as numbers (3 = 3.0) when both are comparable, else by their text.
            (Literal::Number(number), Value::Number(event_number)) => {
                match (comparable(number), comparable(event_number)) {
                    (Some(left), Some(right)) => left == right,
                    _ => number.to_string() == event_number.to_string(),
                }
            }
            (Literal::Bool(flag), Value::Bool(event_flag)) => flag == event_flag,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl AnythingBut {
    /// Whether the present leaf `value` is *not* excluded. Values of another JSON type than the
    /// excluded ones are never excluded.
    fn admits(&self, value: &Value) -> bool {
        match (self, value) {
            (AnythingBut::Strings(excluded), Value::String(text)) => !excluded.contains(text),
            (AnythingBut::Numbers(excluded), Value::Number(number)) => match number.as_f64() {
                Some(number) => !excluded.contains(&number),
                None => true,
            },
            (AnythingBut::Prefix(prefixes), Value::String(text)) => {
                !prefixes.iter().any(|prefix| text.starts_with(prefix.as_str()))
            }
            (AnythingBut::Suffix(suffixes), Value::String(text)) => {
                !suffixes.iter().any(|suffix| text.ends_with(suffix.as_str()))
            }
            (AnythingBut::Wildcard(wildcards), Value::String(text)) => {
                !wildcards.iter().any(|wildcard| wildcard.matches(text))
            }
            (AnythingBut::IgnoreCase(excluded), Value::String(text)) => !excluded.contains(&text.to_lowercase()),
            _ => true,
        }
    }
}

impl Matcher {
    /// Whether one present leaf value satisfies this matcher.
    fn matches_value(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Matcher::Exact(literal) => literal.matches(value),
            Matcher::Prefix { text: prefix, ignore_case } => text.is_some_and(|text| {
                if *ignore_case {
                    text.to_lowercase().starts_with(prefix.as_str())
                } else {
                    text.starts_with(prefix.as_str())
                }
            }),
            Matcher::Suffix { text: suffix, ignore_case } => text.is_some_and(|text| {
                if *ignore_case {
                    text.to_lowercase().ends_with(suffix.as_str())
                } else {
                    text.ends_with(suffix.as_str())
                }
            }),
            Matcher::EqualsIgnoreCase(expected) => text.is_some_and(|text| text.to_lowercase() == *expected),
            Matcher::Wildcard(wildcard) => text.is_some_and(|text| wildcard.matches(text)),
            Matcher::AnythingBut(anything_but) => anything_but.admits(value),
            Matcher::Numeric(range) => {
                value.as_number().and_then(comparable).is_some_and(|number| range.contains(number))
            }
            Matcher::Exists(exists) => *exists,
            Matcher::Cidr(cidr) => {
                text.and_then(|text| text.parse().ok()).is_some_and(|address| cidr.contains(address))
            }
        }
    }
}

/// Appends the leaf values of `value`: itself if it is a scalar, its scalar elements (at any
/// array depth) if it is an array, nothing if it is an object.
fn collect_leaves<'event>(value: &'event Value, leaves: &mut Vec<&'event Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_leaves(item, leaves)),
        Value::Object(_) => {}
        scalar => leaves.push(scalar),
    }
}

/// Appends the objects of `value`: itself, or the objects among its elements at any array depth.
fn collect_objects<'event>(value: &'event Value, objects: &mut Vec<&'event Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_objects(item, objects)),
        Value::Object(_) => objects.push(value),
        _ => {}
    }
}

impl Fields {
    /// Whether the conditions hold for `object`, the event's value at this level (`None` when
    /// the event has no object here, so every field below is absent).
    fn matches(&self, object: Option<&Value>) -> bool {
        self.conditions.iter().all(|condition| match condition {
            Condition::Nested { name, fields } => {
                let mut children = Vec::new();
                if let Some(child) = object.and_then(|object| object.get(name)) {
                    collect_objects(child, &mut children);
                }
                // An array of objects matches if one element satisfies the whole sub-pattern.
                if children.is_empty() {
                    fields.matches(None)
                } else {
                    children.into_iter().any(|child| fields.matches(Some(child)))
                }
            }
            Condition::Leaf { name, matchers } => {
                let mut leaves = Vec::new();
                if let Some(child) = object.and_then(|object| object.get(name)) {
                    collect_leaves(child, &mut leaves);
                }
                if leaves.is_empty() {
                    matchers.iter().any(|matcher| matches!(matcher, Matcher::Exists(false)))
                } else {
                    matchers.iter().any(|matcher| leaves.iter().any(|leaf| matcher.matches_value(leaf)))
                }
            }
            Condition::Or(branches) => branches.iter().any(|branch| branch.matches(object)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const EC2_EVENT: &str = r#"{
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {
            "instance-id": "i-1234567890abcdef0",
            "state": "terminated",
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "ipv6": "2001:db8::ff00:42:8329",
            "nothing": null,
            "flag": false,
            "empty": "",
            "file": "dir/sub/Photo.PNG",
            "tags": ["blue", "green", 7],
            "items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}],
            "obj": {"inner": 1}
        }
    }"#;

    /// One case: pattern, event (`None` = [`EC2_EVENT`]), expected verdict.
    fn check(pattern: &str, event: Option<Value>, expected: bool) {
        let event = event.unwrap_or_else(|| serde_json::from_str(EC2_EVENT).expect("test event is JSON"));
        let parsed = Pattern::parse(pattern).unwrap_or_else(|error| panic!("{pattern}: {error}"));
        assert_eq!(parsed.matches(&event), expected, "pattern {pattern} against {event}");
    }

    #[test]
    fn matching() {
        let cases: &[(&str, Option<Value>, bool)] = &[
            // Exact strings, top level and nested, ANDed fields, ORed values.
            (r#"{"source": ["aws.ec2"]}"#, None, true),
            (r#"{"source": ["aws.s3"]}"#, None, false),
            (r#"{"source": ["aws.s3", "aws.ec2"]}"#, None, true),
            (r#"{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}"#, None, true),
            (r#"{"source": ["aws.ec2"], "detail": {"state": ["running"]}}"#, None, false),
            (r#"{"source": ["AWS.EC2"]}"#, None, false),
            (r#"{"missing": ["x"]}"#, None, false),
            (r#"{"detail": {"obj": {"inner": [1]}}}"#, None, true),
            (r#"{"detail": {"obj": {"inner": [2]}}}"#, None, false),
            (r#"{"detail": {"state": {"deeper": ["x"]}}}"#, None, false),
            // Numbers, booleans, null, empty string.
            (r#"{"detail": {"c-count": [5]}}"#, None, true),
            (r#"{"detail": {"c-count": [5.0]}}"#, None, true),
            (r#"{"detail": {"x-limit": [3.018e2]}}"#, None, true),
            (r#"{"detail": {"c-count": ["5"]}}"#, None, false),
            (r#"{"detail": {"c-count": [6]}}"#, None, false),
            (r#"{"account": [111122223333]}"#, None, false),
            (r#"{"n": [123456789012]}"#, Some(json!({"n": 123456789012_u64})), true),
            (r#"{"detail": {"flag": [false]}}"#, None, true),
            (r#"{"detail": {"flag": [true]}}"#, None, false),
            (r#"{"detail": {"nothing": [null]}}"#, None, true),
            (r#"{"detail": {"missing": [null]}}"#, None, false),
            (r#"{"detail": {"empty": [""]}}"#, None, true),
            (r#"{"detail": {"nothing": [""]}}"#, None, false),
            // Arrays in events: any element.
            (r#"{"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}"#, None, true),
            (r#"{"detail": {"tags": ["green"]}}"#, None, true),
            (r#"{"detail": {"tags": [7]}}"#, None, true),
            (r#"{"detail": {"tags": ["red"]}}"#, None, false),
            (r#"{"detail": {"items": {"name": ["b"], "qty": [2]}}}"#, None, true),
            (r#"{"detail": {"items": {"name": ["a"], "qty": [2]}}}"#, None, false),
            // prefix, with and without equals-ignore-case.
            (r#"{"time": [{"prefix": "2017-12-22"}]}"#, None, true),
            (r#"{"time": [{"prefix": "2017-10-02"}]}"#, None, false),
            (r#"{"detail": {"c-count": [{"prefix": "5"}]}}"#, None, false),
            (r#"{"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}"#, None, true),
            (r#"{"source": [{"prefix": "AWS."}]}"#, None, false),
            (r#"{"source": [{"prefix": ""}]}"#, None, true),
            // suffix, with and without equals-ignore-case.
            (r#"{"detail": {"file": [{"suffix": ".PNG"}]}}"#, None, true),
            (r#"{"detail": {"file": [{"suffix": ".png"}]}}"#, None, false),
            (r#"{"detail": {"file": [{"suffix": {"equals-ignore-case": ".png"}}]}}"#, None, true),
            (r#"{"detail": {"file": [{"suffix": {"equals-ignore-case": ".jpg"}}]}}"#, None, false),
            // equals-ignore-case.
            (r#"{"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}"#, None, true),
            (r#"{"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}}"#, None, false),
            (r#"{"detail": {"c-count": [{"equals-ignore-case": "5"}]}}"#, None, false),
            // wildcard.
            (r#"{"detail": {"file": [{"wildcard": "dir/*.PNG"}]}}"#, None, true),
            (r#"{"detail": {"file": [{"wildcard": "dir/*/Photo.*"}]}}"#, None, true),
            (r#"{"detail": {"file": [{"wildcard": "*"}]}}"#, None, true),
            (r#"{"detail": {"file": [{"wildcard": "*.png"}]}}"#, None, false),
            (r#"{"detail": {"file": [{"wildcard": "dir"}]}}"#, None, false),
            (r#"{"s": [{"wildcard": "a\\*b"}]}"#, Some(json!({"s": "a*b"})), true),
            (r#"{"s": [{"wildcard": "a\\*b"}]}"#, Some(json!({"s": "axb"})), false),
            (r#"{"s": [{"wildcard": "a*a*a"}]}"#, Some(json!({"s": "aXaYaZa"})), true),
            (r#"{"s": [{"wildcard": "a*a*b"}]}"#, Some(json!({"s": "aaaaaaac"})), false),
            // Just within the complexity limit.
            (r#"{"s": [{"wildcard": "*:*:*:*:*"}]}"#, Some(json!({"s": "a:b:c:d:e"})), true),
            (
                r#"{"s": [{"wildcard": "*.png"}, {"wildcard": "*.jpg"}, {"wildcard": "*.gif"}]}"#,
                Some(json!({"s": "x.gif"})),
                true,
            ),
            // anything-but: value, lists, prefix, suffix, wildcard, equals-ignore-case.
            (r#"{"detail": {"state": [{"anything-but": "running"}]}}"#, None, true),
            (r#"{"detail": {"state": [{"anything-but": "terminated"}]}}"#, None, false),
            (r#"{"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}"#, None, false),
            (r#"{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}"#, None, true),
            (r#"{"detail": {"c-count": [{"anything-but": 5}]}}"#, None, false),
            (r#"{"detail": {"c-count": [{"anything-but": [100, 200]}]}}"#, None, true),
            (r#"{"detail": {"c-count": [{"anything-but": [5.0, 200]}]}}"#, None, false),
            (r#"{"detail": {"missing": [{"anything-but": "x"}]}}"#, None, false),
            (r#"{"source": [{"anything-but": {"prefix": "aws."}}]}"#, None, false),
            (r#"{"source": [{"anything-but": {"prefix": "my."}}]}"#, None, true),
            (r#"{"source": [{"anything-but": {"prefix": ["init", "aws."]}}]}"#, None, false),
            // A dotted name and the nested path are one field, in the pattern and in the event.
            (r#"{"detail.state": ["terminated"]}"#, None, true),
            (r#"{"detail.state": ["running"]}"#, None, false),
            (r#"{"detail": {"a.b": ["x"]}}"#, Some(json!({"detail": {"a": {"b": "x"}}})), true),
            (r#"{"detail": {"a": {"b": ["x"]}}}"#, Some(json!({"detail": {"a.b": "x"}})), true),
            (
                r#"{"detail": {"a": {"b": ["x"], "c": ["y"]}}}"#,
                Some(json!({"detail": {"a.b": "x", "a": {"c": "y"}}})),
                true,
            ),
            (r#"{"detail": {"a.b": ["x"]}}"#, Some(json!({"detail": {"a.b": "z"}})), false),
            (r#"{"source": [{"anything-but": {"prefix": ["init", "test"]}}]}"#, None, true),
            (r#"{"detail": {"file": [{"anything-but": {"suffix": [".gif", ".PNG"]}}]}}"#, None, false),
            (r#"{"detail": {"file": [{"anything-but": {"suffix": [".gif", ".jpg"]}}]}}"#, None, true),
            (r#"{"detail": {"file": [{"anything-but": {"wildcard": ["x/*", "dir/*"]}}]}}"#, None, false),
            (r#"{"detail": {"file": [{"anything-but": {"wildcard": ["x/*", "y/*"]}}]}}"#, None, true),
            (r#"{"detail": {"file": [{"anything-but": {"suffix": ".PNG"}}]}}"#, None, false),
            (r#"{"detail": {"file": [{"anything-but": {"suffix": ".gif"}}]}}"#, None, true),
            (r#"{"detail": {"file": [{"anything-but": {"wildcard": "*/sub/*"}}]}}"#, None, false),
            (r#"{"detail": {"file": [{"anything-but": {"wildcard": "*/lib/*"}}]}}"#, None, true),
            (r#"{"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}}"#, None, false),
            (r#"{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["A", "B"]}}]}}"#, None, true),
            (r#"{"detail": {"tags": [{"anything-but": "blue"}]}}"#, None, true),
            // numeric.
            (r#"{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}"#, None, true),
            (r#"{"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}"#, None, false),
            (r#"{"detail": {"c-count": [{"numeric": [">=", 5]}]}}"#, None, true),
            (r#"{"detail": {"c-count": [{"numeric": [">", 5]}]}}"#, None, false),
            (r#"{"detail": {"d-count": [{"numeric": ["<", 10]}]}}"#, None, true),
            (r#"{"detail": {"d-count": [{"numeric": ["<=", 2.5]}]}}"#, None, false),
            (r#"{"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}"#, None, true),
            (r#"{"detail": {"c-count": [{"numeric": ["=", 5.0]}]}}"#, None, true),
            (r#"{"detail": {"state": [{"numeric": [">", 0]}]}}"#, None, false),
            (r#"{"n": [{"numeric": [">", 0]}]}"#, Some(json!({"n": "7"})), false),
            // exists.
            (r#"{"detail": {"state": [{"exists": true}]}}"#, None, true),
            (r#"{"detail": {"missing": [{"exists": true}]}}"#, None, false),
            (r#"{"detail": {"missing": [{"exists": false}]}}"#, None, true),
            (r#"{"detail": {"state": [{"exists": false}]}}"#, None, false),
            (r#"{"detail": {"nothing": [{"exists": true}]}}"#, None, true),
            (r#"{"detail": {"obj": [{"exists": false}]}}"#, None, true),
            (r#"{"detail": {"obj": [{"exists": true}]}}"#, None, false),
            (r#"{"nowhere": {"deep": [{"exists": false}]}}"#, None, true),
            (r#"{"e": [{"exists": false}]}"#, Some(json!({"e": []})), true),
            // cidr, and IP-shaped exact strings.
            (r#"{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}"#, None, true),
            (r#"{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}"#, None, false),
            (r#"{"detail": {"source-ip": [{"cidr": "0.0.0.0/0"}]}}"#, None, true),
            (r#"{"detail": {"ipv6": [{"cidr": "2001:db8::/32"}]}}"#, None, true),
            (r#"{"detail": {"ipv6": [{"cidr": "2001:db9::/32"}]}}"#, None, false),
            (r#"{"detail": {"source-ip": [{"cidr": "2001:db8::/32"}]}}"#, None, false),
            (r#"{"detail": {"state": [{"cidr": "10.0.0.0/8"}]}}"#, None, false),
            (r#"{"detail": {"ipv6": ["2001:0db8:0:0:0:ff00:42:8329"]}}"#, None, true),
            // $or, at the top and nested, with ANDs inside.
            (
                r#"{"$or": [{"source": ["aws.s3"]}, {"detail-type": ["EC2 Instance State-change Notification"]}]}"#,
                None,
                true,
            ),
            (r#"{"$or": [{"source": ["aws.s3"]}, {"region": ["eu-west-1"]}]}"#, None, false),
            (
                r#"{"source": ["aws.ec2"], "detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [3]}]}}"#,
                None,
                true,
            ),
            (r#"{"detail": {"$or": [{"c-count": [1]}, {"state": ["running"], "d-count": [3]}]}}"#, None, false),
            (
                r#"{"$or": [{"source": ["aws.s3"]}, {"$or": [{"region": ["x"]}, {"detail": {"c-count": [5]}}]}]}"#,
                None,
                true,
            ),
            // The AWS guide's combined example.
            (
                r#"{"time": [{"prefix": "2017-12-22"}], "detail": {"state": [{"anything-but": "initializing"}],
                    "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                    "x-limit": [{"anything-but": [100, 200, 300]}], "source-ip": [{"cidr": "10.0.0.0/8"}]}}"#,
                None,
                true,
            ),
            // Non-object events have no fields.
            (r#"{"source": [{"exists": false}]}"#, Some(json!(["aws.ec2"])), true),
            (r#"{"source": ["aws.ec2"]}"#, Some(json!("aws.ec2")), false),
        ];
        for (pattern, event, expected) in cases {
            check(pattern, event.clone(), *expected);
        }
    }

    #[test]
    fn invalid_patterns() {
        let reason = "Event pattern is not valid. Reason: ";
        let cases: &[(&str, &str)] = &[
            (r#"["source"]"#, "Filter is not an object"),
            (r#""text""#, "Filter is not an object"),
            ("{}", "Empty objects are not allowed"),
            (r#"{"detail": {}}"#, "Empty objects are not allowed"),
            (r#"{"source": "aws.ec2"}"#, "\"source\" must be an object or an array"),
            (r#"{"source": 5}"#, "\"source\" must be an object or an array"),
            (r#"{"source": []}"#, "Empty arrays are not allowed"),
            (r#"{"source": [["a"]]}"#, "Match value must be String, number, true, false, or null"),
            (r#"{"source": [{}]}"#, "Match expression name not found"),
            (r#"{"source": [{"prefix": "a", "suffix": "b"}]}"#, "Only one key allowed in match expression"),
            (r#"{"source": [{"regex": "a.*"}]}"#, "Unrecognized match type regex"),
            (r#"{"source": [{"prefix": 5}]}"#, "prefix match pattern must be a string"),
            (r#"{"source": [{"suffix": null}]}"#, "suffix match pattern must be a string"),
            (r#"{"source": [{"equals-ignore-case": 5}]}"#, "equals-ignore-case match pattern must be a string"),
            (r#"{"source": [{"wildcard": "a**b"}]}"#, "Consecutive wildcard characters at pos 2"),
            (r#"{"source": [{"wildcard": "a\\b"}]}"#, "Wildcard pattern has an invalid escape character at pos 1"),
            (
                r#"{"resources": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}"#,
                "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
            ),
            (
                r#"{"key": [{"wildcard": "*.bif"}, {"wildcard": "*.tiff"}, {"wildcard": "*.tif"}, {"wildcard": "*.svs"}]}"#,
                "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
            ),
            (
                r#"{"key": [{"anything-but": {"wildcard": ["*a", "*b", "*c", "*d", "*e", "*f"]}}]}"#,
                "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
            ),
            (r#"{"source": [{"exists": "yes"}]}"#, "exists match pattern must be either true or false."),
            (
                r#"{"source": [{"anything-but": null}]}"#,
                "Value of anything-but must be an array or single string/number value.",
            ),
            (
                r#"{"source": [{"anything-but": ["a", 1]}]}"#,
                "Inside anything but list, either all values are number or string, mixed type is not supported",
            ),
            (
                r#"{"source": [{"anything-but": [true]}]}"#,
                "Inside anything but list, start|null|boolean is not supported.",
            ),
            (
                r#"{"source": [{"anything-but": []}]}"#,
                "Inside anything but list, either all values are number or string, mixed type is not supported",
            ),
            (r#"{"source": [{"anything-but": {"prefix": ""}}]}"#, "Null prefix/suffix not allowed"),
            (r#"{"source": [{"anything-but": {"numeric": [">", 1]}}]}"#, "Unsupported anything-but pattern: numeric"),
            (
                r#"{"source": [{"anything-but": {"equals-ignore-case": 5}}]}"#,
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
            ),
            (r#"{"n": [{"numeric": 5}]}"#, "Value of numeric must be an array."),
            (r#"{"n": [{"numeric": []}]}"#, "Invalid member in numeric match: empty"),
            (r#"{"n": [{"numeric": [5]}]}"#, "Invalid member in numeric match: 5"),
            (r#"{"n": [{"numeric": ["!=", 5]}]}"#, "Unrecognized numeric range operator: !="),
            (r#"{"n": [{"numeric": [">", "5"]}]}"#, "Value of > must be numeric"),
            (r#"{"n": [{"numeric": ["=", 1, "<", 5]}]}"#, "Too many elements in numeric expression"),
            (r#"{"n": [{"numeric": ["<", 1, ">", 5]}]}"#, "Too many elements in numeric expression"),
            (r#"{"n": [{"numeric": [">", 1, ">", 5]}]}"#, "Bad numeric range operator: >"),
            (r#"{"n": [{"numeric": [">", 5, "<", 1]}]}"#, "Bottom must be less than top"),
            (r#"{"n": [{"numeric": [">", 1, "<", 5, "<", 6]}]}"#, "Too many terms in numeric range expression"),
            (r#"{"n": [{"numeric": [">", 6e9]}]}"#, "Value must be between -5.0E9 and 5.0E9, inclusive"),
            (r#"{"ip": [{"cidr": "10.0.0.0"}]}"#, "Malformed CIDR, one '/' required"),
            (r#"{"ip": [{"cidr": "10.0.0.0/"}]}"#, "Malformed CIDR, one '/' required"),
            (r#"{"ip": [{"cidr": "10.0.0.0/8/8"}]}"#, "Malformed CIDR, one '/' required"),
            (r#"{"ip": [{"cidr": "10.0.0.0/x"}]}"#, "Malformed CIDR, mask bits must be an integer"),
            (r#"{"ip": [{"cidr": "10.0.0.0/-1"}]}"#, "Malformed CIDR, mask bits must not be negative"),
            (r#"{"ip": [{"cidr": "10.0.0.0/32"}]}"#, "IPv4 mask bits must be < 32"),
            (r#"{"ip": [{"cidr": "2001:db8::/128"}]}"#, "IPv6 mask bits must be < 128"),
            (r#"{"ip": [{"cidr": "banana/8"}]}"#, "Nonstandard IP address: banana"),
            (r#"{"ip": [{"cidr": 10}]}"#, "prefix match pattern must be a string"),
            (r#"{"s": [{"anything-but": {"prefix": 5}}]}"#, "prefix match pattern must be a string"),
            (r#"{"s": [{"anything-but": {"suffix": ["a", 5]}}]}"#, "suffix match pattern must be a string"),
            (r#"{"s": [{"anything-but": {"wildcard": null}}]}"#, "wildcard match pattern must be a string"),
            (r#"{"s": [{"anything-but": {"prefix": ["a", ""]}}]}"#, "Null prefix/suffix not allowed"),
            (r#"{"$or": [{"source": ["a"]}]}"#, "There must have at least 2 Objects in $or relationship."),
            (r#"{"$or": {"source": ["a"]}}"#, "It must be an Array followed with $or."),
            (r#"{"$or": [{"source": ["a"]}, "b"]}"#, "Only JSON object is allowed in array of $or relationship."),
            (
                r#"{"$or": [{"numeric": [1]}, {"prefix": ["a"]}]}"#,
                "numeric is Ruler reserved fieldName which cannot be used inside $or.",
            ),
        ];
        for (pattern, expected) in cases {
            match Pattern::parse(pattern) {
                Ok(parsed) => panic!("{pattern} parsed as {parsed:?}"),
                Err(error) => assert_eq!(error.to_string(), format!("{reason}{expected}"), "{pattern}"),
            }
        }
        let not_json = Pattern::parse("{source").map(|_| ()).map_err(|error| error.0);
        assert!(not_json.is_err_and(|message| message.starts_with(reason)));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("prefix"),
                Just("suffix"),
                Just("anything-but"),
                Just("numeric"),
                Just("exists"),
                Just("cidr"),
                Just("wildcard"),
                Just("equals-ignore-case"),
                Just("$or"),
                Just(">"),
                Just("<="),
                Just("="),
                Just("10.0.0.0/8"),
                Just("a**"),
                Just("\\"),
                Just("*"),
                Just("")
            ]
            .prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("prefix".to_owned()),
                        Just("$or".to_owned()),
                        Just("numeric".to_owned()),
                        "[a-z$-]{0,6}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_text(text in "\\PC{0,64}") {
            let _ = Pattern::parse(&text);
        }

        #[test]
        fn parse_and_match_never_panic_on_json(pattern in arbitrary_json(), event in arbitrary_json()) {
            if let Ok(parsed) = Pattern::parse(&pattern.to_string()) {
                let _ = parsed.matches(&event);
            }
        }
    }
}
