//! awsJson1_1, the EventBridge wire protocol.
//!
//! # Wire
//! ```text
//! POST / HTTP/1.1
//! X-Amz-Target: AWSEvents.PutRule
//! Content-Type: application/x-amz-json-1.1
//!
//! {"Name":"every-minute","ScheduleExpression":"rate(1 minute)","State":"ENABLED"}
//! ```
//! Answers carry `Content-Type: application/x-amz-json-1.1` and the model's member names;
//! timestamps are epoch seconds.

use crate::error::{entry_code, target_code, EventsApiError};
use crate::events_error;
use crate::handlers::Output;
use crate::model::{self, DecodeError, Operation};
use serde_json::{json, Map, Value};
use wharf_events::archives::replay_arn;
use wharf_events::connections::{secret_arn, shown_parameters};
use wharf_events::rules::{bus_arn, rule_arn};
use wharf_store::archives::{archive_arn, ArchiveRow, ReplayRow};
use wharf_store::events::{
    api_destination_arn, connection_arn, ApiDestinationRow, BusRow, ConnectionRow, RuleRow, TargetRow,
};

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The `X-Amz-Target` prefix of EventBridge operations.
pub const TARGET_PREFIX: &str = "AWSEvents.";

/// Decodes a request whose target names `operation`.
pub fn decode(operation: &str, body: &[u8]) -> Result<Operation, EventsApiError> {
    model::decode(operation, body).map_err(|err| match err {
        DecodeError::UnknownOperation(name) => {
            events_error!(UnknownOperationException, "Operation {name} is not supported by wharf")
        }
        DecodeError::Malformed(reason) => events_error!(SerializationException, "{reason}"),
    })
}

fn insert_some(object: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(text) = value {
        object.insert(key.into(), json!(text));
    }
}

fn rule(row: &RuleRow, describe: bool) -> Value {
    let mut object = Map::new();
    object.insert("Name".into(), json!(row.name));
    object.insert("Arn".into(), json!(rule_arn(row)));
    insert_some(&mut object, "EventPattern", &row.event_pattern);
    insert_some(&mut object, "ScheduleExpression", &row.schedule_expression);
    object.insert("State".into(), json!(if row.enabled { "ENABLED" } else { "DISABLED" }));
    insert_some(&mut object, "Description", &row.description);
    insert_some(&mut object, "RoleArn", &row.role_arn);
    object.insert("EventBusName".into(), json!(row.bus));
    if describe {
        object.insert("CreatedBy".into(), json!(row.account));
    }
    Value::Object(object)
}

fn target(row: &TargetRow) -> Value {
    let mut object = Map::new();
    object.insert("Id".into(), json!(row.id));
    object.insert("Arn".into(), json!(row.arn));
    insert_some(&mut object, "RoleArn", &row.role_arn);
    insert_some(&mut object, "Input", &row.input);
    insert_some(&mut object, "InputPath", &row.input_path);
    if let Some(transformer) = &row.input_transformer {
        let mut value = Map::new();
        if !transformer.input_paths_map.is_empty() {
            value.insert("InputPathsMap".into(), json!(transformer.input_paths_map));
        }
        value.insert("InputTemplate".into(), json!(transformer.input_template));
        object.insert("InputTransformer".into(), Value::Object(value));
    }
    if let Some(http) = &row.http_parameters {
        let mut value = Map::new();
        if !http.path_values.is_empty() {
            value.insert("PathParameterValues".into(), json!(http.path_values));
        }
        if !http.headers.is_empty() {
            value.insert("HeaderParameters".into(), json!(http.headers));
        }
        if !http.query.is_empty() {
            value.insert("QueryStringParameters".into(), json!(http.query));
        }
        object.insert("HttpParameters".into(), Value::Object(value));
    }
    if let Some(group) = &row.message_group_id {
        object.insert("SqsParameters".into(), json!({ "MessageGroupId": group }));
    }
    if let Some(arn) = &row.dead_letter_arn {
        object.insert("DeadLetterConfig".into(), json!({ "Arn": arn }));
    }
    if row.maximum_retry_attempts.is_some() || row.maximum_event_age_seconds.is_some() {
        let mut policy = Map::new();
        if let Some(count) = row.maximum_retry_attempts {
            policy.insert("MaximumRetryAttempts".into(), json!(count));
        }
        if let Some(seconds) = row.maximum_event_age_seconds {
            policy.insert("MaximumEventAgeInSeconds".into(), json!(seconds));
        }
        object.insert("RetryPolicy".into(), Value::Object(policy));
    }
    Value::Object(object)
}

fn bus(row: &BusRow) -> Value {
    let mut object = Map::new();
    object.insert("Name".into(), json!(row.name));
    object.insert("Arn".into(), json!(bus_arn(&row.account, &row.region, &row.name)));
    insert_some(&mut object, "Description", &row.description);
    insert_some(&mut object, "Policy", &row.policy);
    if row.created_ms > 0 {
        let seconds = row.created_ms as f64 / 1000.0;
        object.insert("CreationTime".into(), json!(seconds));
        object.insert("LastModifiedTime".into(), json!(seconds));
    }
    Value::Object(object)
}

fn seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn archive(row: &ArchiveRow, counts: Option<(u64, u64)>, describe: bool) -> Value {
    let mut object = Map::new();
    if describe {
        object.insert("ArchiveArn".into(), json!(archive_arn(row)));
    }
    object.insert("ArchiveName".into(), json!(row.name));
    object.insert("EventSourceArn".into(), json!(row.source_arn));
    if describe {
        insert_some(&mut object, "Description", &row.description);
        insert_some(&mut object, "EventPattern", &row.event_pattern);
    }
    object.insert("State".into(), json!("ENABLED"));
    object.insert("RetentionDays".into(), json!(row.retention_days));
    if let Some((count, bytes)) = counts {
        object.insert("SizeBytes".into(), json!(bytes));
        object.insert("EventCount".into(), json!(count));
    }
    object.insert("CreationTime".into(), seconds(row.created_ms));
    Value::Object(object)
}

fn replay(row: &ReplayRow, describe: bool) -> Value {
    let mut object = Map::new();
    object.insert("ReplayName".into(), json!(row.name));
    if describe {
        object.insert("ReplayArn".into(), json!(replay_arn(row)));
        insert_some(&mut object, "Description", &row.description);
        let mut destination = Map::new();
        destination.insert("Arn".into(), json!(row.destination_arn));
        if !row.filter_arns.is_empty() {
            destination.insert("FilterArns".into(), json!(row.filter_arns));
        }
        object.insert("Destination".into(), Value::Object(destination));
    }
    object.insert("EventSourceArn".into(), json!(row.archive_arn));
    object.insert("State".into(), json!(row.state));
    insert_some(&mut object, "StateReason", &row.state_reason);
    object.insert("EventStartTime".into(), seconds(row.event_start_ms));
    object.insert("EventEndTime".into(), seconds(row.event_end_ms));
    if let Some((time, _)) = row.last_replayed {
        object.insert("EventLastReplayedTime".into(), seconds(time));
    }
    object.insert("ReplayStartTime".into(), seconds(row.started_ms));
    if let Some(ended) = row.ended_ms {
        object.insert("ReplayEndTime".into(), seconds(ended));
    }
    Value::Object(object)
}

fn connection_state(row: &ConnectionRow) -> Value {
    let mut object = Map::new();
    object.insert("ConnectionArn".into(), json!(connection_arn(row)));
    object.insert("ConnectionState".into(), json!(row.state));
    object.insert("CreationTime".into(), seconds(row.created_ms));
    object.insert("LastModifiedTime".into(), seconds(row.modified_ms));
    if let Some(at) = row.authorized_ms {
        object.insert("LastAuthorizedTime".into(), seconds(at));
    }
    Value::Object(object)
}

fn shown(parameters: &wharf_store::events::HttpParametersRow) -> Value {
    let mut object = Map::new();
    for (name, list) in shown_parameters(parameters) {
        if list.is_empty() {
            continue;
        }
        let items: Vec<Value> = list
            .into_iter()
            .map(|(key, value, secret)| {
                let mut item = Map::new();
                item.insert("Key".into(), json!(key));
                if let Some(value) = value {
                    item.insert("Value".into(), json!(value));
                }
                item.insert("IsValueSecret".into(), json!(secret));
                Value::Object(item)
            })
            .collect();
        object.insert(name.into(), Value::Array(items));
    }
    Value::Object(object)
}

fn connection(row: &ConnectionRow, describe: bool) -> Value {
    let Value::Object(mut object) = connection_state(row) else { return json!({}) };
    object.insert("Name".into(), json!(row.name));
    object.insert("AuthorizationType".into(), json!(row.authorization_type));
    insert_some(&mut object, "StateReason", &row.state_reason);
    if describe {
        insert_some(&mut object, "Description", &row.description);
        object.insert("SecretArn".into(), json!(secret_arn(row)));
        let mut auth = Map::new();
        if let Some((username, _)) = &row.basic {
            auth.insert("BasicAuthParameters".into(), json!({ "Username": username }));
        }
        if let Some((name, _)) = &row.api_key {
            auth.insert("ApiKeyAuthParameters".into(), json!({ "ApiKeyName": name }));
        }
        if let Some(oauth) = &row.oauth {
            auth.insert(
                "OAuthParameters".into(),
                json!({
                    "ClientParameters": { "ClientID": oauth.client_id },
                    "AuthorizationEndpoint": oauth.endpoint,
                    "HttpMethod": oauth.method,
                    "OAuthHttpParameters": shown(&oauth.parameters),
                }),
            );
        }
        auth.insert("InvocationHttpParameters".into(), shown(&row.invocation));
        object.insert("AuthParameters".into(), Value::Object(auth));
    }
    Value::Object(object)
}

fn api_destination_state(row: &ApiDestinationRow) -> Value {
    json!({
        "ApiDestinationArn": api_destination_arn(row),
        "ApiDestinationState": "ACTIVE",
        "CreationTime": seconds(row.created_ms),
        "LastModifiedTime": seconds(row.modified_ms),
    })
}

fn api_destination(row: &ApiDestinationRow, describe: bool) -> Value {
    let Value::Object(mut object) = api_destination_state(row) else { return json!({}) };
    object.insert("Name".into(), json!(row.name));
    object.insert("ConnectionArn".into(), json!(row.connection_arn));
    object.insert("InvocationEndpoint".into(), json!(row.endpoint));
    object.insert("HttpMethod".into(), json!(row.method));
    object.insert("InvocationRateLimitPerSecond".into(), json!(row.rate_limit));
    if describe {
        insert_some(&mut object, "Description", &row.description);
    }
    Value::Object(object)
}

fn with_token(mut object: Map<String, Value>, next_token: &Option<String>) -> Value {
    insert_some(&mut object, "NextToken", next_token);
    Value::Object(object)
}

/// Renders an output as the JSON body.
pub fn encode(output: &Output) -> Vec<u8> {
    let value = match output {
        Output::Empty => json!({}),
        Output::RuleArn(arn) => json!({ "RuleArn": arn }),
        Output::Rule(row) => rule(row, true),
        Output::Rules { rules, next_token } => with_token(
            Map::from_iter([("Rules".to_owned(), rules.iter().map(|row| rule(row, false)).collect())]),
            next_token,
        ),
        Output::Targets { targets, next_token } => {
            with_token(Map::from_iter([("Targets".to_owned(), targets.iter().map(target).collect())]), next_token)
        }
        Output::RuleNames { names, next_token } => {
            with_token(Map::from_iter([("RuleNames".to_owned(), json!(names))]), next_token)
        }
        Output::TargetFailures(problems) => json!({
            "FailedEntryCount": problems.len(),
            "FailedEntries": problems.iter().map(|problem| {
                let (id, code) = target_code(problem);
                json!({ "TargetId": id, "ErrorCode": code, "ErrorMessage": problem.to_string() })
            }).collect::<Vec<_>>(),
        }),
        Output::PutEvents(outcomes) => json!({
            "FailedEntryCount": outcomes.iter().filter(|outcome| outcome.is_err()).count(),
            "Entries": outcomes.iter().map(|outcome| match outcome {
                Ok(id) => json!({ "EventId": id }),
                Err(problem) => json!({ "ErrorCode": entry_code(problem), "ErrorMessage": problem.to_string() }),
            }).collect::<Vec<_>>(),
        }),
        Output::TestResult(result) => json!({ "Result": result }),
        Output::Tags(tags) => json!({
            "Tags": tags.iter().map(|(key, value)| json!({ "Key": key, "Value": value })).collect::<Vec<_>>(),
        }),
        Output::BusCreated(row) => {
            let mut object = Map::new();
            object.insert("EventBusArn".into(), json!(bus_arn(&row.account, &row.region, &row.name)));
            insert_some(&mut object, "Description", &row.description);
            Value::Object(object)
        }
        Output::Bus(row) => bus(row),
        Output::ArchiveState(row) => json!({
            "ArchiveArn": archive_arn(row),
            "State": "ENABLED",
            "CreationTime": seconds(row.created_ms),
        }),
        Output::Archive(row, count, bytes) => archive(row, Some((*count, *bytes)), true),
        Output::Archives { archives, next_token } => with_token(
            Map::from_iter([(
                "Archives".to_owned(),
                archives.iter().map(|(row, count, bytes)| archive(row, Some((*count, *bytes)), false)).collect(),
            )]),
            next_token,
        ),
        Output::ReplayState(row) => {
            let mut object = Map::new();
            object.insert("ReplayArn".into(), json!(replay_arn(row)));
            object.insert("State".into(), json!(row.state));
            insert_some(&mut object, "StateReason", &row.state_reason);
            if row.state == "STARTING" {
                object.insert("ReplayStartTime".into(), seconds(row.started_ms));
            }
            Value::Object(object)
        }
        Output::ConnectionState(row) => connection_state(row),
        Output::Connection(row) => connection(row, true),
        Output::Connections { connections, next_token } => with_token(
            Map::from_iter([(
                "Connections".to_owned(),
                connections.iter().map(|row| connection(row, false)).collect(),
            )]),
            next_token,
        ),
        Output::ApiDestinationState(row) => api_destination_state(row),
        Output::ApiDestination(row) => api_destination(row, true),
        Output::ApiDestinations { destinations, next_token } => with_token(
            Map::from_iter([(
                "ApiDestinations".to_owned(),
                destinations.iter().map(|row| api_destination(row, false)).collect(),
            )]),
            next_token,
        ),
        Output::Replay(row) => replay(row, true),
        Output::Replays { replays, next_token } => with_token(
            Map::from_iter([("Replays".to_owned(), replays.iter().map(|row| replay(row, false)).collect())]),
            next_token,
        ),
        Output::Buses { buses, next_token } => {
            with_token(Map::from_iter([("EventBuses".to_owned(), buses.iter().map(bus).collect())]), next_token)
        }
    };
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}
