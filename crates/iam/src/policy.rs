//! IAM policy documents: parsing, and the evaluation of one policy for one request.
//!
//! # Wire
//! ```text
//! {"Version": "2012-10-17",
//!  "Statement": [{"Sid": "...", "Effect": "Allow" | "Deny",
//!                 "Action" | "NotAction": "svc:Name" | ["svc:Na*", ...],
//!                 "Resource" | "NotResource": "arn:..." | [...],          (identity and resource policies)
//!                 "Principal" | "NotPrincipal": "*" | {"AWS": ..., "Service": ...},   (resource and trust policies)
//!                 "Condition": {"StringEquals": {"aws:SourceArn": "..." | [...]}, ...}}]}
//! ```
//! `Statement` may be one object or a list. The rules follow the IAM user guide's policy
//! reference (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>):
//! actions match case-insensitively with `*` and `?`; resources match case-sensitively with `*`
//! and `?` (which may span `:` and `/`); policy variables (`${aws:username}`) are replaced in
//! `Resource` and in the values of string and ARN conditions, with `${*}`, `${?}` and `${$}` for
//! the literal characters, and a variable the request does not know makes that value match
//! nothing. Condition keys are case-insensitive; the values of one key are ORed, keys and
//! operators ANDed; a negated operator (`StringNotEquals`, `ArnNotLike`, …) is true when no
//! value matches, and also when the key is absent; `…IfExists` is true when the key is absent;
//! `ForAnyValue:` needs one context value to match, `ForAllValues:` every one (and is true for
//! an absent key); `Null` tests presence.
//!
//! A document is parsed once into [`Policy`] (so a request never reparses JSON); parsing
//! refuses what IAM refuses with the messages of `MalformedPolicyDocument`.

use serde_json::Value;
use std::collections::BTreeMap;

/// The largest policy document wharf parses, in bytes: well above IAM's own limits (6,144
/// characters for a managed policy, 10,240 for a role's inline policies, 20,480 for a queue
/// policy), which the callers check with their own messages.
pub const MAX_DOCUMENT_BYTES: usize = 131_072;

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    /// `Action` (false) or `NotAction` (true), and its patterns.
    actions: Option<(bool, Vec<String>)>,
    /// `Resource` or `NotResource`; absent in trust policies.
    resources: Option<(bool, Vec<String>)>,
    /// `Principal` or `NotPrincipal`; absent in identity policies.
    principals: Option<(bool, Principals)>,
    conditions: Vec<Condition>,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

#[derive(Clone, Debug, PartialEq, Default)]
struct Principals {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    everyone: bool,
    /// `AWS` entries: account ids, account root ARNs, user, role and assumed-role ARNs.
    aws: Vec<String>,
    /// `Service` entries, e.g. `lambda.amazonaws.com`.
    services: Vec<String>,
    /// `Federated` and `CanonicalUser` entries: kept so the document reads back, never matched.
    other: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    operator: Operator,
    qualifier: Qualifier,
    if_exists: bool,
    /// The condition key, lowercased.
    key: String,
    values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Qualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl Operator {
    fn from_name(name: &str) -> Option<Operator> {
        use Operator::*;
        Some(match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "BinaryEquals" => BinaryEquals,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "ArnEquals" => ArnEquals,
            "ArnLike" => ArnLike,
            "ArnNotEquals" => ArnNotEquals,
            "ArnNotLike" => ArnNotLike,
            "Null" => Null,
            _ => return None,
        })
    }

    /// The positive operator of a negated one.
    fn negation_of(self) -> Option<Operator> {
        use Operator::*;
        Some(match self {
            StringNotEquals => StringEquals,
            StringNotEqualsIgnoreCase => StringEqualsIgnoreCase,
            StringNotLike => StringLike,
            NumericNotEquals => NumericEquals,
            DateNotEquals => DateEquals,
            NotIpAddress => IpAddress,
            ArnNotEquals => ArnEquals,
            ArnNotLike => ArnLike,
            _ => return None,
        })
    }

    /// Whether policy variables are replaced in this operator's values.
    fn takes_variables(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// Why a document is not a policy: the text of IAM's `MalformedPolicyDocument`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPolicy(pub String);

fn malformed(text: impl Into<String>) -> MalformedPolicy {
    MalformedPolicy(text.into())
}

/// One or many strings, as policy elements allow.
fn strings(value: &Value, element: &str) -> Result<Vec<String>, MalformedPolicy> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                _ => Err(malformed(format!("Syntax errors in policy: {element} values must be strings"))),
            })
            .collect(),
        _ => Err(malformed(format!("Syntax errors in policy: {element} must be a string or a list of strings"))),
    }
}

/// Condition values may also be numbers and booleans, which compare as their text.
fn condition_values(value: &Value) -> Result<Vec<String>, MalformedPolicy> {
    let scalar = |item: &Value| match item {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(malformed("Syntax errors in policy: condition values must be strings, numbers or booleans")),
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

impl std::str::FromStr for Policy {
    type Err = MalformedPolicy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(malformed("Policy document is too large"));
        }
        let value: Value = serde_json::from_str(text).map_err(|_| malformed("Syntax errors in policy."))?;
        Policy::from_value(&value)
    }
}

impl Policy {
    /// A policy with no statements: it grants nothing.
    pub fn empty() -> Self {
        Policy { statements: Vec::new() }
    }

    /// Parses a document already read as JSON.
    pub fn from_value(value: &Value) -> Result<Self, MalformedPolicy> {
        let document = value.as_object().ok_or_else(|| malformed("Syntax errors in policy."))?;
        for key in document.keys() {
            if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
                return Err(malformed(format!("Syntax errors in policy: unknown field {key}")));
            }
        }
        if let Some(version) = document.get("Version") {
            match version.as_str() {
                Some("2012-10-17" | "2008-10-17") => {}
                _ => return Err(malformed("The policy failed legacy parsing")),
            }
        }
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(Statement::parse).collect::<Result<Vec<_>, _>>()?,
            Some(item @ Value::Object(_)) => vec![Statement::parse(item)?],
            _ => return Err(malformed("Syntax errors in policy: Statement is missing")),
        };
        Ok(Policy { statements })
    }

    /// Whether any statement names principals (a resource or trust policy).
    pub fn names_principals(&self) -> bool {
        self.statements.iter().any(|statement| statement.principals.is_some())
    }

    /// Whether any statement lacks `Action`/`NotAction` or (for identity policies) a resource.
    pub fn check_identity_policy(&self) -> Result<(), MalformedPolicy> {
        for statement in &self.statements {
            if statement.principals.is_some() {
                return Err(malformed("Policy document should not specify a principal."));
            }
            if statement.resources.is_none() {
                return Err(malformed("Policy statement must contain resources."));
            }
            if statement.actions.is_none() {
                return Err(malformed("Policy statement must contain actions."));
            }
        }
        Ok(())
    }

    /// Checks what a role's trust policy needs: principals, and no resources.
    pub fn check_trust_policy(&self) -> Result<(), MalformedPolicy> {
        for statement in &self.statements {
            if statement.resources.is_some() {
                return Err(malformed("Has prohibited field Resource"));
            }
            if statement.principals.is_none() {
                return Err(malformed("Missing required field Principal"));
            }
            if statement.actions.is_none() {
                return Err(malformed("Policy statement must contain actions."));
            }
        }
        Ok(())
    }

    /// How this policy answers `request`.
    pub fn evaluate(&self, request: &Request<'_>) -> Outcome {
        let mut outcome = Outcome::NotApplicable;
        for statement in &self.statements {
            if statement.applies(request) {
                match statement.effect {
                    Effect::Deny => return Outcome::Deny,
                    Effect::Allow => outcome = Outcome::Allow,
                }
            }
        }
        outcome
    }

    /// The `Sid`s of the statements that apply to `request`, for simulation answers.
    pub fn matching_statements(&self, request: &Request<'_>) -> Vec<(usize, Option<&str>, Effect)> {
        self.statements
            .iter()
            .enumerate()
            .filter(|(_, statement)| statement.applies(request))
            .map(|(index, statement)| (index, statement.sid.as_deref(), statement.effect))
            .collect()
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Statement, MalformedPolicy> {
        let object =
            value.as_object().ok_or_else(|| malformed("Syntax errors in policy: a statement must be an object"))?;
        for key in object.keys() {
            if !matches!(
                key.as_str(),
                "Sid"
                    | "Effect"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Principal"
                    | "NotPrincipal"
                    | "Condition"
            ) {
                return Err(malformed(format!("Syntax errors in policy: unknown field {key}")));
            }
        }
        let sid = match object.get("Sid") {
            None => None,
            Some(Value::String(sid)) => Some(sid.clone()),
            Some(_) => return Err(malformed("Syntax errors in policy: Sid must be a string")),
        };
        let effect = match object.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            Some(_) => return Err(malformed("Invalid effect")),
            None => return Err(malformed("Missing required field Effect")),
        };
        let actions = pair(object, "Action", "NotAction", |value, element| {
            let actions = strings(value, element)?;
            for action in &actions {
                if action != "*" && !action.contains(':') {
                    return Err(malformed(
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                    ));
                }
            }
            Ok(actions)
        })?;
        let resources = pair(object, "Resource", "NotResource", |value, element| {
            let resources = strings(value, element)?;
            for resource in &resources {
                if resource != "*" && !resource.starts_with("arn:") {
                    return Err(malformed(format!("Resource {resource} must be in ARN format or \"*\".")));
                }
            }
            Ok(resources)
        })?;
        let principals = pair(object, "Principal", "NotPrincipal", |value, _| Principals::parse(value))?;
        let conditions = match object.get("Condition") {
            None => Vec::new(),
            Some(Value::Object(operators)) => {
                let mut conditions = Vec::new();
                for (name, keys) in operators {
                    conditions.extend(Condition::parse(name, keys)?);
                }
                conditions
            }
            Some(_) => return Err(malformed("Syntax errors in policy: Condition must be an object")),
        };
        Ok(Statement { sid, effect, actions, resources, principals, conditions })
    }

    fn applies(&self, request: &Request<'_>) -> bool {
        let Some((negated, actions)) = &self.actions else { return false };
        let named = actions.iter().any(|pattern| action_matches(pattern, request.action));
        if named == *negated {
            return false;
        }
        if let Some((negated, resources)) = &self.resources {
            let named = resources.iter().any(|pattern| {
                substitute(pattern, request).is_some_and(|pattern| wildcard_match(&pattern, request.resource, false))
            });
            if named == *negated {
                return false;
            }
        }
        if let Some((negated, principals)) = &self.principals {
            let named = request.principal.is_some_and(|principal| principals.names(&principal));
            if named == *negated {
                return false;
            }
        }
        self.conditions.iter().all(|condition| condition.holds(request))
    }
}

/// Reads the element or its `Not` form (never both).
fn pair<T>(
    object: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
    read: impl Fn(&Value, &str) -> Result<T, MalformedPolicy>,
) -> Result<Option<(bool, T)>, MalformedPolicy> {
    match (object.get(positive), object.get(negative)) {
        (Some(_), Some(_)) => {
            Err(malformed(format!("Syntax errors in policy: a statement may not have both {positive} and {negative}")))
        }
        (Some(value), None) => Ok(Some((false, read(value, positive)?))),
        (None, Some(value)) => Ok(Some((true, read(value, negative)?))),
        (None, None) => Ok(None),
    }
}

impl Principals {
    fn parse(value: &Value) -> Result<Principals, MalformedPolicy> {
        let mut principals = Principals::default();
        match value {
            Value::String(star) if star == "*" => principals.everyone = true,
            Value::Object(kinds) => {
                for (kind, entries) in kinds {
                    let entries = strings(entries, "Principal")?;
                    match kind.as_str() {
                        "AWS" => {
                            for entry in entries {
                                if entry == "*" {
                                    principals.everyone = true;
                                } else if entry.len() == 12 && entry.bytes().all(|byte| byte.is_ascii_digit())
                                    || entry.starts_with("arn:")
                                {
                                    principals.aws.push(entry);
                                } else {
                                    return Err(malformed("Invalid principal in policy"));
                                }
                            }
                        }
                        "Service" => principals.services.extend(entries),
                        "Federated" | "CanonicalUser" => principals.other.extend(entries),
                        _ => return Err(malformed("Invalid principal in policy")),
                    }
                }
            }
            _ => return Err(malformed("Invalid principal in policy")),
        }
        Ok(principals)
    }

    fn names(&self, principal: &RequestPrincipal<'_>) -> bool {
        if self.everyone {
            return true;
        }
        match principal {
            RequestPrincipal::Service(service) => self.services.iter().any(|name| name == service),
            RequestPrincipal::Aws { account, arn, role_arn } => self.aws.iter().any(|entry| {
                entry == account
                    || *entry == format!("arn:aws:iam::{account}:root")
                    || entry == arn
                    || role_arn.is_some_and(|role| entry == role)
            }),
        }
    }
}

impl Condition {
    fn parse(name: &str, keys: &Value) -> Result<Vec<Condition>, MalformedPolicy> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, rest)
        } else {
            (Qualifier::Single, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let operator = Operator::from_name(base)
            .ok_or_else(|| malformed(format!("Syntax errors in policy: unknown condition operator {name}")))?;
        let keys =
            keys.as_object().ok_or_else(|| malformed("Syntax errors in policy: a condition must be an object"))?;
        let mut conditions = Vec::new();
        for (key, values) in keys {
            if !key.contains(':') {
                return Err(malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."));
            }
            conditions.push(Condition {
                operator,
                qualifier,
                if_exists,
                key: key.to_ascii_lowercase(),
                values: condition_values(values)?,
            });
        }
        Ok(conditions)
    }

    fn holds(&self, request: &Request<'_>) -> bool {
        let context = request.context.get(&self.key);
        if self.operator == Operator::Null {
            let wanted = self.values.iter().any(|value| value == "true");
            let unwanted = self.values.iter().any(|value| value == "false");
            let absent = context.is_none_or(|values| values.is_empty());
            return (wanted && absent) || (unwanted && !absent);
        }
        let negated = self.operator.negation_of();
        let Some(values) = context.filter(|values| !values.is_empty()) else {
            return match self.qualifier {
                Qualifier::ForAllValues => true,
                _ => self.if_exists || negated.is_some(),
            };
        };
        let positive = negated.unwrap_or(self.operator);
        let matches_one = |context_value: &str| {
            self.values.iter().any(|policy_value| {
                let policy_value = if positive.takes_variables() {
                    match substitute(policy_value, request) {
                        Some(value) => value,
                        None => return false,
                    }
                } else {
                    policy_value.clone()
                };
                compare(positive, &policy_value, context_value)
            })
        };
        match self.qualifier {
            Qualifier::Single | Qualifier::ForAnyValue => {
                let any = values.iter().any(|value| matches_one(value));
                if negated.is_some() {
                    !any
                } else {
                    any
                }
            }
            Qualifier::ForAllValues => {
                if negated.is_some() {
                    values.iter().all(|value| !matches_one(value))
                } else {
                    values.iter().all(|value| matches_one(value))
                }
            }
        }
    }
}

fn compare(operator: Operator, policy: &str, context: &str) -> bool {
    use Operator::*;
    match operator {
        StringEquals => policy == context,
        StringEqualsIgnoreCase => policy.eq_ignore_ascii_case(context),
        StringLike => wildcard_match(policy, context, false),
        ArnEquals | ArnLike => arn_match(policy, context),
        NumericEquals | NumericLessThan | NumericLessThanEquals | NumericGreaterThan | NumericGreaterThanEquals => {
            match (policy.parse::<f64>(), context.parse::<f64>()) {
                (Ok(policy), Ok(context)) => match operator {
                    NumericEquals => context == policy,
                    NumericLessThan => context < policy,
                    NumericLessThanEquals => context <= policy,
                    NumericGreaterThan => context > policy,
                    _ => context >= policy,
                },
                _ => false,
            }
        }
        DateEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            match (date_seconds(policy), date_seconds(context)) {
                (Some(policy), Some(context)) => match operator {
                    DateEquals => context == policy,
                    DateLessThan => context < policy,
                    DateLessThanEquals => context <= policy,
                    DateGreaterThan => context > policy,
                    _ => context >= policy,
                },
                _ => false,
            }
        }
        Bool => policy.eq_ignore_ascii_case(context),
        BinaryEquals => policy == context,
        IpAddress => cidr_contains(policy, context),
        // Negated operators are evaluated through their positive form; Null is handled before.
        StringNotEquals
        | StringNotEqualsIgnoreCase
        | StringNotLike
        | NumericNotEquals
        | DateNotEquals
        | NotIpAddress
        | ArnNotEquals
        | ArnNotLike
        | Null => false,
    }
}

/// An action pattern against an action: case-insensitive, `*` and `?`.
fn action_matches(pattern: &str, action: &str) -> bool {
    pattern == "*" || wildcard_match(pattern, action, true)
}

/// ARN matching of `ArnEquals`/`ArnLike`: six colon-separated parts, each matched with
/// wildcards; the last part (the resource) may hold further colons.
fn arn_match(pattern: &str, arn: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    pattern_parts.len() == 6
        && arn_parts.len() == 6
        && pattern_parts.iter().zip(&arn_parts).all(|(pattern, part)| wildcard_match(pattern, part, false))
}

/// `*` (any run, possibly empty) and `?` (one character) matching, iterative with one
/// backtrack point, so it is linear in practice and never recursive.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let same = |left: char, right: char| {
        if ignore_case {
            left.eq_ignore_ascii_case(&right)
        } else {
            left == right
        }
    };
    let (mut pattern_at, mut text_at) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while text_at < text.len() {
        if pattern_at < pattern.len() && pattern[pattern_at] == '*' {
            backtrack = Some((pattern_at, text_at));
            pattern_at += 1;
        } else if pattern_at < pattern.len() && (pattern[pattern_at] == '?' || same(pattern[pattern_at], text[text_at]))
        {
            pattern_at += 1;
            text_at += 1;
        } else if let Some((star, matched)) = backtrack {
            pattern_at = star + 1;
            text_at = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[pattern_at..].iter().all(|&character| character == '*')
}

/// Replaces policy variables (`${aws:username}`, `${*}`, `${?}`, `${$}`); `None` when a
/// variable has no value in the request (IAM then treats the element as not matching).
/// A `${key, 'default'}` form takes the default when the key is absent.
fn substitute(text: &str, request: &Request<'_>) -> Option<String> {
    if !text.contains("${") {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let inner = after[..end].trim();
        match inner {
            "*" => out.push('*'),
            "?" => out.push('?'),
            "$" => out.push('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((key, default)) => {
                        let default = default.trim().trim_matches('\'');
                        (key.trim(), Some(default))
                    }
                    None => (inner, None),
                };
                let value = request.context.get(&key.to_ascii_lowercase()).and_then(|values| {
                    if values.len() == 1 {
                        values.first().cloned()
                    } else {
                        None
                    }
                });
                match (value, default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => return None,
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Seconds since the epoch of an ISO 8601 date (`2024-01-31`, `2024-01-31T12:00:00Z`, with
/// fractions or an offset) or of a number of epoch seconds.
fn date_seconds(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = wharf_types::days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix('Z') {
            (clock, 0i64)
        } else if let Some(index) = time.rfind(['+', '-']) {
            let (clock, zone) = time.split_at(index);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
            (clock, sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60))
        } else {
            (time, 0)
        };
        let clock = clock.split('.').next()?;
        let mut clock_parts = clock.split(':');
        let hours: i64 = clock_parts.next()?.parse().ok()?;
        let minutes: i64 = clock_parts.next().unwrap_or("0").parse().ok()?;
        let secs: i64 = clock_parts.next().unwrap_or("0").parse().ok()?;
        seconds += hours * 3600 + minutes * 60 + secs - offset;
    }
    Some(seconds)
}

/// Whether the IP address `address` lies in `cidr` (IPv4 or IPv6; a bare address is a /32 or
/// /128).
fn cidr_contains(cidr: &str, address: &str) -> bool {
    let (network, bits) = match cidr.split_once('/') {
        Some((network, bits)) => (network, bits.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let (Ok(network), Ok(address)) = (network.parse::<std::net::IpAddr>(), address.parse::<std::net::IpAddr>()) else {
        return false;
    };
    match (network, address) {
        (std::net::IpAddr::V4(network), std::net::IpAddr::V4(address)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(network) & mask == u32::from(address) & mask
        }
        (std::net::IpAddr::V6(network), std::net::IpAddr::V6(address)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(network) & mask == u128::from(address) & mask
        }
        _ => false,
    }
}

/// Who makes a request, as a resource or trust policy's `Principal` sees them.
#[derive(Clone, Copy, Debug)]
pub enum RequestPrincipal<'a> {
    /// An IAM principal (root, user or role session) of `account`; `role_arn` is the role of an
    /// assumed-role session, which a policy naming the role matches.
    Aws {
        /// The principal's account.
        account: &'a str,
        /// The principal's ARN.
        arn: &'a str,
        /// The role ARN of a session.
        role_arn: Option<&'a str>,
    },
    /// An AWS service acting on a user's behalf, e.g. `events.amazonaws.com`.
    Service(&'a str),
}

/// The request context a policy is evaluated against.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `sqs:SendMessage`.
    pub action: &'a str,
    /// The resource's ARN, or `*`.
    pub resource: &'a str,
    /// Who asks (for `Principal` elements).
    pub principal: Option<RequestPrincipal<'a>>,
    /// Condition keys (lowercased) and their values.
    pub context: &'a BTreeMap<String, Vec<String>>,
}

/// How one policy answers a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A statement denies it.
    Deny,
    /// A statement allows it and none denies it.
    Allow,
    /// No statement applies.
    NotApplicable,
}

#[cfg(test)]
mod tests;
