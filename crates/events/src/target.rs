//! What a target receives: the whole event, or what its `Input`, `InputPath` or
//! `InputTransformer` makes of it.
//!
//! Semantics follow "Amazon EventBridge input transformation" in the EventBridge user guide
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>).
//!
//! # Wire
//! ```text
//! Input            constant JSON text, delivered as is (the event is ignored)
//! InputPath        $ | $.field.field[0]...          the selected part, as JSON
//! InputTransformer InputPathsMap {"var": "$.path"}   (at most 100 variables)
//!                  InputTemplate "{\"state\": <state>, \"text\": \"in <state>\"}"
//! reserved         <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>
//!                  <aws.events.event> <aws.events.event.json>
//! ```
//! A placeholder outside a JSON string becomes the value's JSON (strings get their quotes); inside
//! a JSON string, or in a template that is not JSON at all, a string value goes in raw, without
//! escaping, as AWS does. A variable whose path selects nothing becomes `""` outside a string
//! and nothing inside one. A placeholder that names neither a variable nor a reserved name is
//! refused at PutTargets; other text between `<` and `>` (with spaces, say) is left alone.

use serde_json::Value;
use std::collections::BTreeMap;
use wharf_store::events::TargetRow;

use crate::civil::{civil_from_days, MILLIS_PER_DAY};

/// At most this many variables in an `InputPathsMap`.
pub const MAX_INPUT_PATHS: usize = 100;

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// `.name`
    Field(String),
    /// `[n]`
    Index(usize),
}

/// A JSON path as `InputPath` and `InputPathsMap` accept it: `$`, then `.field` and `[n]` steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

impl std::str::FromStr for JsonPath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text} is not a valid JSON path");
        let mut rest = text.strip_prefix('$').ok_or_else(invalid)?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after_dot) = rest.strip_prefix('.') {
                let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
                let field = &after_dot[..end];
                if field.is_empty() || field.chars().any(|character| character.is_whitespace()) {
                    return Err(invalid());
                }
                steps.push(Step::Field(field.to_owned()));
                rest = &after_dot[end..];
            } else if let Some(after_bracket) = rest.strip_prefix('[') {
                let end = after_bracket.find(']').ok_or_else(invalid)?;
                let inside = &after_bracket[..end];
                if let Some(quoted) = inside.strip_prefix('\'').and_then(|quoted| quoted.strip_suffix('\'')) {
                    steps.push(Step::Field(quoted.to_owned()));
                } else {
                    steps.push(Step::Index(inside.parse().map_err(|_| invalid())?));
                }
                rest = &after_bracket[end + 1..];
            } else {
                return Err(invalid());
            }
        }
        Ok(JsonPath(steps))
    }
}

impl JsonPath {
    /// The part of `value` the path selects, if any.
    pub fn select<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(value, |current, step| match step {
            Step::Field(name) => current.get(name),
            Step::Index(idx) => current.get(*idx),
        })
    }
}

/// How a target's input is built, validated from its row.
#[derive(Clone, Debug)]
pub enum TargetInput {
    /// The whole event.
    Event,
    /// `Input`: constant text.
    Constant(String),
    /// `InputPath`.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer {
        /// Variables and their paths.
        paths: Vec<(String, JsonPath)>,
        /// The template.
        template: String,
    },
}

/// What a rule contributes to the reserved template variables.
#[derive(Clone, Copy, Debug)]
pub struct RuleContext<'a> {
    /// The rule's ARN.
    pub rule_arn: &'a str,
    /// The rule's name.
    pub rule_name: &'a str,
    /// When the event was ingested (epoch millis).
    pub ingestion_ms: u64,
}

impl TargetInput {
    /// Validates the input settings of a target; the error is a ValidationException text.
    pub fn of(target: &TargetRow) -> Result<TargetInput, String> {
        let given = [target.input.is_some(), target.input_path.is_some(), target.input_transformer.is_some()];
        if given.iter().filter(|is_given| **is_given).count() > 1 {
            return Err(format!(
                "Only one of Input, InputPath, or InputTransformer must be provided for target {}.",
                target.id
            ));
        }
        if let Some(input) = &target.input {
            serde_json::from_str::<Value>(input)
                .map_err(|_| format!("Target {} has an Input that is not valid JSON text.", target.id))?;
            return Ok(TargetInput::Constant(input.clone()));
        }
        if let Some(path) = &target.input_path {
            return Ok(TargetInput::Path(
                path.parse().map_err(|reason| format!("Target {} has an invalid InputPath: {reason}", target.id))?,
            ));
        }
        if let Some(transformer) = &target.input_transformer {
            if transformer.input_paths_map.len() > MAX_INPUT_PATHS {
                return Err(format!("Target {}: InputPathsMap can have at most {MAX_INPUT_PATHS} entries.", target.id));
            }
            let mut paths = Vec::with_capacity(transformer.input_paths_map.len());
            for (name, path) in &transformer.input_paths_map {
                if name.is_empty() || name.to_ascii_lowercase().starts_with("aws") {
                    return Err(format!(
                        "Target {}: InputPathsMap key {name} is not valid: keys can not start with AWS.",
                        target.id
                    ));
                }
                let parsed = path.parse().map_err(|reason| {
                    format!("Target {}: InputPathsMap value for {name} is not valid: {reason}", target.id)
                })?;
                paths.push((name.clone(), parsed));
            }
            for name in placeholders(&transformer.input_template) {
                if !RESERVED.contains(&name) && !transformer.input_paths_map.contains_key(name) {
                    return Err(format!("InputTemplate for target {} contains invalid placeholder {name}.", target.id));
                }
            }
            return Ok(TargetInput::Transformer { paths, template: transformer.input_template.clone() });
        }
        Ok(TargetInput::Event)
    }

    /// The payload delivered for `event`; `None` when a JSON template is not valid JSON once
    /// filled in (AWS delivers nothing then).
    pub fn render(&self, event: &Value, rule: RuleContext<'_>) -> Option<String> {
        match self {
            TargetInput::Event => Some(event.to_string()),
            TargetInput::Constant(text) => Some(text.clone()),
            TargetInput::Path(path) => Some(path.select(event).map(Value::to_string).unwrap_or_default()),
            TargetInput::Transformer { paths, template } => {
                let mut variables: BTreeMap<&str, Option<Value>> = BTreeMap::new();
                for (name, path) in paths {
                    variables.insert(name.as_str(), path.select(event).cloned());
                }
                variables.insert("aws.events.rule-arn", Some(Value::String(rule.rule_arn.to_owned())));
                variables.insert("aws.events.rule-name", Some(Value::String(rule.rule_name.to_owned())));
                variables.insert("aws.events.event.ingestion-time", Some(Value::String(iso_time(rule.ingestion_ms))));
                // The event without its detail and with `detailType` for `detail-type`, as
                // AWS renders it; `.json` is the whole event.
                let mut metadata = event.clone();
                if let Value::Object(fields) = &mut metadata {
                    fields.remove("detail");
                    if let Some(detail_type) = fields.remove("detail-type") {
                        fields.insert("detailType".to_owned(), detail_type);
                    }
                }
                variables.insert("aws.events.event", Some(metadata));
                variables.insert("aws.events.event.json", Some(event.clone()));
                let filled = substitute(template, &variables);
                if is_json_template(template) && serde_json::from_str::<Value>(&filled).is_err() {
                    return None;
                }
                Some(filled)
            }
        }
    }
}

/// The variables every template may use without an `InputPathsMap` entry.
const RESERVED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

/// The names of a template's placeholders: `<name>` with a name of no spaces, quotes or angle
/// brackets (so `a < b > c` in a text is not one).
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split('<').skip(1).filter_map(|rest| {
        let (name, _) = rest.split_once('>')?;
        (!name.is_empty() && !name.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '<'))).then_some(name)
    })
}

/// Replaces `<name>` placeholders of `template`, quoting by position (see the module doc).
fn substitute(template: &str, variables: &BTreeMap<&str, Option<Value>>) -> String {
    let json_template = is_json_template(template);
    let mut output = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(character) = rest.chars().next() {
        if character == '<' {
            if let Some(end) = rest[1..].find(['>', '<']) {
                let name = &rest[1..1 + end];
                if rest[1 + end..].starts_with('>') {
                    if let Some(value) = variables.get(name) {
                        let raw = in_string || !json_template;
                        match (value, raw) {
                            (Some(Value::String(text)), true) => output.push_str(text),
                            (Some(other), true) => write_unquoted(other, &mut output),
                            (Some(other), false) => output.push_str(&other.to_string()),
                            (None, true) => {}
                            (None, false) => output.push_str("\"\""),
                        }
                        rest = &rest[end + 2..];
                        escaped = false;
                        continue;
                    }
                }
            }
        }
        if json_template {
            if escaped {
                escaped = false;
            } else if character == '\\' && in_string {
                escaped = true;
            } else if character == '"' {
                in_string = !in_string;
            }
        }
        output.push(character);
        rest = &rest[character.len_utf8()..];
    }
    output
}

/// Whether a template is JSON (an object, a list or a string), so placeholders are quoted by
/// position and the result must parse.
fn is_json_template(template: &str) -> bool {
    let trimmed = template.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.starts_with('"')
}

/// A value written into text, as AWS writes objects and lists inside a string: no quotes around
/// keys or strings (`{acc_id:0a78,sf_id:baz}`, `[ACTIVE,INACTIVE]`).
fn write_unquoted(value: &Value, output: &mut String) {
    match value {
        Value::String(text) => output.push_str(text),
        Value::Array(items) => {
            output.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push(',');
                }
                write_unquoted(item, output);
            }
            output.push(']');
        }
        Value::Object(object) => {
            output.push('{');
            for (index, (key, item)) in object.iter().enumerate() {
                if index > 0 {
                    output.push(',');
                }
                output.push_str(key);
                output.push(':');
                write_unquoted(item, output);
            }
            output.push('}');
        }
        scalar => output.push_str(&scalar.to_string()),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of an epoch-millisecond instant, as events carry their `time`.
pub fn iso_time(epoch_ms: u64) -> String {
    let (year, month, day) = civil_from_days(epoch_ms / MILLIS_PER_DAY);
    let seconds_of_day = (epoch_ms % MILLIS_PER_DAY) / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        (seconds_of_day / 60) % 60,
        seconds_of_day % 60
    )
}

/// The log group a Logs target ARN names: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, with or
/// without a trailing `:*`.
pub fn log_group_of(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (arn.starts_with("arn:") && arn.split(':').nth(2) == Some("logs") && !name.is_empty()).then_some(name)
}

/// Whether wharf can deliver to a target ARN: a Lambda function, an SQS queue, an event bus or
/// a CloudWatch Logs log group.
pub fn is_deliverable(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(_region), Some(_account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    match service {
        "sqs" => !resource.is_empty() && !resource.contains(':'),
        "lambda" => resource.strip_prefix("function:").is_some_and(|name| !name.is_empty()),
        "events" => ["event-bus/", "api-destination/"]
            .iter()
            .any(|kind| resource.strip_prefix(kind).is_some_and(|name| !name.is_empty())),
        "logs" => log_group_of(arn).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wharf_store::events::InputTransformerRow;

    fn target() -> TargetRow {
        TargetRow { id: "t".into(), arn: "arn:aws:sqs:us-east-1:000000000000:q".into(), ..TargetRow::default() }
    }

    fn event() -> Value {
        json!({"version": "0", "id": "e1", "source": "shop", "detail-type": "Order",
               "detail": {"state": "running", "count": 3, "items": [{"sku": "a"}, {"sku": "b"}]}})
    }

    const RULE: RuleContext<'static> =
        RuleContext { rule_arn: "arn:aws:events:us-east-1:000000000000:rule/r", rule_name: "r", ingestion_ms: 0 };

    fn transform(paths: &[(&str, &str)], template: &str) -> String {
        let mut row = target();
        row.input_transformer = Some(InputTransformerRow {
            input_paths_map: paths.iter().map(|(name, path)| ((*name).to_owned(), (*path).to_owned())).collect(),
            input_template: template.into(),
        });
        TargetInput::of(&row).expect("valid").render(&event(), RULE).unwrap_or_else(|| "(nothing)".into())
    }

    #[test]
    fn whole_event_constant_and_path() {
        let row = target();
        assert_eq!(TargetInput::of(&row).expect("valid").render(&event(), RULE), Some(event().to_string()));
        let mut row = target();
        row.input = Some(r#"{"fixed": true}"#.into());
        assert_eq!(TargetInput::of(&row).expect("valid").render(&event(), RULE).as_deref(), Some(r#"{"fixed": true}"#));
        let mut row = target();
        row.input_path = Some("$.detail.items[1].sku".into());
        assert_eq!(TargetInput::of(&row).expect("valid").render(&event(), RULE).as_deref(), Some(r#""b""#));
        row.input_path = Some("$.detail".into());
        let rendered: Value =
            serde_json::from_str(&TargetInput::of(&row).expect("valid").render(&event(), RULE).expect("rendered"))
                .expect("json");
        assert_eq!(rendered, event()["detail"]);
    }

    #[test]
    fn transformer_quotes_by_position() {
        let paths = [("state", "$.detail.state"), ("count", "$.detail.count"), ("missing", "$.detail.nope")];
        assert_eq!(
            transform(&paths, r#"{"state": <state>, "count": <count>, "none": <missing>}"#),
            r#"{"state": "running", "count": 3, "none": ""}"#
        );
        assert_eq!(transform(&paths, r#""instance is <state> (<count>)<missing>""#), r#""instance is running (3)""#);
        assert_eq!(transform(&paths, "plain <state> text < b >"), "plain running text < b >");
        // Objects and lists inside text are written without quotes, as AWS writes them.
        let items = [("items", "$.detail.items"), ("first", "$.detail.items[0]")];
        assert_eq!(transform(&items, "Payload of <first> in <items>"), "Payload of {sku:a} in [{sku:a},{sku:b}]");
        assert_eq!(transform(&items, r#"{"text": "got <items>"}"#), r#"{"text": "got [{sku:a},{sku:b}]"}"#);
        // <aws.events.event> is the event without its detail; <aws.events.event.json> all of it.
        let metadata: Value = serde_json::from_str(&transform(&[], r#"{"e": <aws.events.event>}"#)).expect("json");
        assert_eq!(metadata["e"]["source"], "shop");
        assert_eq!(metadata["e"]["detailType"], "Order");
        assert!(metadata["e"].get("detail").is_none() && metadata["e"].get("detail-type").is_none());
        let whole: Value = serde_json::from_str(&transform(&[], r#"{"e": <aws.events.event.json>}"#)).expect("json");
        assert_eq!(whole["e"], event());
        // A JSON template that is not JSON once filled in delivers nothing.
        assert_eq!(transform(&paths, r#"{"state": <state>, "broken": }"#), "(nothing)");
        assert_eq!(transform(&paths, r#"{"escaped \" <state>": 1}"#), r#"{"escaped \" running": 1}"#);
    }

    #[test]
    fn transformer_reserved_variables() {
        let rendered = transform(
            &[],
            r#"{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", "at": <aws.events.event.ingestion-time>, "event": <aws.events.event>, "json": <aws.events.event.json>}"#,
        );
        let value: Value = serde_json::from_str(&rendered).expect("json");
        assert_eq!(value["arn"], RULE.rule_arn);
        assert_eq!(value["name"], "r");
        assert_eq!(value["at"], "1970-01-01T00:00:00Z");
        let mut metadata = event();
        let fields = metadata.as_object_mut().expect("object");
        fields.remove("detail");
        let detail_type = fields.remove("detail-type").expect("detail-type");
        fields.insert("detailType".into(), detail_type);
        assert_eq!(value["event"], metadata);
        assert_eq!(value["json"], event());
    }

    #[test]
    fn invalid_inputs_are_refused() {
        let mut row = target();
        row.input_transformer = Some(InputTransformerRow {
            input_paths_map: BTreeMap::from([("state".to_owned(), "$.detail.state".to_owned())]),
            input_template: r#"{"s": <state>, "u": "<undefined>"}"#.into(),
        });
        assert_eq!(
            TargetInput::of(&row).err().as_deref(),
            Some("InputTemplate for target t contains invalid placeholder undefined.")
        );
        let mut row = target();
        row.input = Some("{".into());
        assert!(TargetInput::of(&row).is_err());
        let mut row = target();
        row.input = Some("{}".into());
        row.input_path = Some("$".into());
        assert!(TargetInput::of(&row).is_err());
        let mut row = target();
        row.input_path = Some("detail".into());
        assert!(TargetInput::of(&row).is_err());
        let mut row = target();
        row.input_transformer = Some(InputTransformerRow {
            input_paths_map: BTreeMap::from([("aws.mine".into(), "$.x".into())]),
            input_template: "<aws.mine>".into(),
        });
        assert!(TargetInput::of(&row).is_err());
    }

    #[test]
    fn paths_and_times() {
        for (text, valid) in [
            ("$", true),
            ("$.a.b", true),
            ("$.a[0].b", true),
            ("$['a b']", true),
            ("a", false),
            ("$.", false),
            ("$[x]", false),
        ] {
            assert_eq!(text.parse::<JsonPath>().is_ok(), valid, "{text}");
        }
        assert_eq!(iso_time(1_551_403_425_000), "2019-03-01T01:23:45Z");
        assert!(is_deliverable("arn:aws:sqs:us-east-1:000000000000:q.fifo"));
        assert!(is_deliverable("arn:aws:lambda:us-east-1:000000000000:function:f"));
        assert!(is_deliverable("arn:aws:lambda:us-east-1:000000000000:function:f:live"));
        assert!(!is_deliverable("arn:aws:sns:us-east-1:000000000000:topic"));
        assert!(!is_deliverable("not an arn"));
    }
}
