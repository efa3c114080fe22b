//! awsJson1_1, the CloudWatch Logs wire protocol.
//!
//! # Wire
//! ```text
//! POST / HTTP/1.1
//! X-Amz-Target: Logs_20140328.PutLogEvents
//! Content-Type: application/x-amz-json-1.1
//!
//! {"logGroupName":"/app","logStreamName":"s","logEvents":[{"timestamp":1700000000000,"message":"hi"}]}
//! ```
//! Answers carry `Content-Type: application/x-amz-json-1.1` and the model's member names.

use crate::error::LogsApiError;
use crate::handlers::{group_arn, Output};
use crate::logs_error;
use crate::model::{self, DecodeError, Operation};
use crate::token;
use serde_json::{json, Map, Value};
use wharf_logs::{LogGroupRecord, LogStreamRecord, ResourcePolicyRecord};

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The `X-Amz-Target` prefix of CloudWatch Logs operations.
pub const TARGET_PREFIX: &str = "Logs_20140328.";

/// Decodes a request whose target names `operation`.
pub fn decode(operation: &str, body: &[u8]) -> Result<Operation, LogsApiError> {
    model::decode(operation, body).map_err(|err| match err {
        DecodeError::UnknownOperation(name) => {
            logs_error!(UnknownOperationException, "Operation {name} is not supported by wharf")
        }
        DecodeError::Malformed(reason) => logs_error!(SerializationException, "{reason}"),
    })
}

fn group(record: &LogGroupRecord) -> Value {
    let arn = group_arn(&record.key);
    let mut object = Map::new();
    object.insert("logGroupName".into(), json!(record.key.name));
    object.insert("creationTime".into(), json!(record.created_ms));
    if let Some(days) = record.retention_days {
        object.insert("retentionInDays".into(), json!(days));
    }
    object.insert("metricFilterCount".into(), json!(0));
    object.insert("arn".into(), json!(format!("{arn}:*")));
    object.insert("storedBytes".into(), json!(record.stored_bytes));
    object.insert("logGroupClass".into(), json!("STANDARD"));
    object.insert("logGroupArn".into(), json!(arn));
    Value::Object(object)
}

fn stream(group_arn: &str, record: &LogStreamRecord) -> Value {
    let mut object = Map::new();
    object.insert("logStreamName".into(), json!(record.name));
    object.insert("creationTime".into(), json!(record.created_ms));
    if let Some(first) = record.first_event_ms {
        object.insert("firstEventTimestamp".into(), json!(first));
    }
    if let Some(last) = record.last_event_ms {
        object.insert("lastEventTimestamp".into(), json!(last));
    }
    if let Some(ingestion) = record.last_ingestion_ms {
        object.insert("lastIngestionTime".into(), json!(ingestion));
    }
    object.insert("arn".into(), json!(format!("{group_arn}:log-stream:{}", record.name)));
    object.insert("storedBytes".into(), json!(record.stored_bytes));
    Value::Object(object)
}

fn resource_policy(policy: &ResourcePolicyRecord) -> Value {
    let mut object = Map::new();
    object.insert("policyName".into(), json!(policy.name));
    object.insert("policyDocument".into(), json!(policy.document));
    object.insert("lastUpdatedTime".into(), json!(policy.updated_ms));
    object.insert("policyScope".into(), json!(if policy.resource_arn.is_some() { "RESOURCE" } else { "ACCOUNT" }));
    if let Some(arn) = &policy.resource_arn {
        object.insert("resourceArn".into(), json!(arn));
    }
    object.insert("revisionId".into(), json!(policy.revision));
    Value::Object(object)
}

/// Renders an output as the JSON body.
pub fn encode(output: &Output) -> Vec<u8> {
    let value = match output {
        Output::Empty => json!({}),
        Output::Groups { groups, next_token } => {
            let mut object = Map::new();
            object.insert("logGroups".into(), groups.iter().map(group).collect());
            if let Some(token) = next_token {
                object.insert("nextToken".into(), json!(token));
            }
            Value::Object(object)
        }
        Output::Streams { group, streams, next_token } => {
            let arn = group_arn(group);
            let mut object = Map::new();
            object.insert("logStreams".into(), streams.iter().map(|record| stream(&arn, record)).collect());
            if let Some(token) = next_token {
                object.insert("nextToken".into(), json!(token));
            }
            Value::Object(object)
        }
        Output::Put(outcome) => {
            let mut object = Map::new();
            object.insert("nextSequenceToken".into(), json!(format!("{:056}", outcome.last_seq)));
            let mut rejected = Map::new();
            if let Some(idx) = outcome.rejected.too_new_start {
                rejected.insert("tooNewLogEventStartIndex".into(), json!(idx));
            }
            if let Some(idx) = outcome.rejected.too_old_end {
                rejected.insert("tooOldLogEventEndIndex".into(), json!(idx));
            }
            if let Some(idx) = outcome.rejected.expired_end {
                rejected.insert("expiredLogEventEndIndex".into(), json!(idx));
            }
            if !rejected.is_empty() {
                object.insert("rejectedLogEventsInfo".into(), Value::Object(rejected));
            }
            Value::Object(object)
        }
        Output::Get(page) => json!({
            "events": page.events.iter().map(|event| json!({
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.ingestion_ms,
            })).collect::<Vec<_>>(),
            "nextForwardToken": token::get_token(page.next_forward),
            "nextBackwardToken": token::get_token(page.next_backward),
        }),
        Output::Filter(page) => {
            let searched_completely = page.next.is_none();
            let mut object = Map::new();
            object.insert(
                "events".into(),
                page.events
                    .iter()
                    .map(|event| {
                        json!({
                            "logStreamName": event.stream,
                            "timestamp": event.timestamp,
                            "message": event.message,
                            "ingestionTime": event.ingestion_ms,
                            "eventId": event_id(event.timestamp, event.seq),
                        })
                    })
                    .collect(),
            );
            object.insert(
                "searchedLogStreams".into(),
                page.searched_streams
                    .iter()
                    .map(|name| json!({"logStreamName": name, "searchedCompletely": searched_completely}))
                    .collect(),
            );
            if let Some(position) = page.next {
                object.insert("nextToken".into(), json!(token::filter_token(position)));
            }
            Value::Object(object)
        }
        Output::Tags(tags) => json!({ "tags": tags }),
        Output::GroupSummaries { groups, next_token } => {
            let mut object = Map::new();
            object.insert(
                "logGroups".into(),
                groups
                    .iter()
                    .map(|record| {
                        json!({
                            "logGroupName": record.key.name,
                            "logGroupArn": group_arn(&record.key),
                            "logGroupClass": "STANDARD",
                        })
                    })
                    .collect(),
            );
            if let Some(token) = next_token {
                object.insert("nextToken".into(), json!(token));
            }
            Value::Object(object)
        }
        Output::SubscriptionFilters(filters) => json!({
            "subscriptionFilters": filters.iter().map(|filter| {
                let mut object = Map::new();
                object.insert("filterName".into(), json!(filter.name));
                object.insert("logGroupName".into(), json!(filter.group));
                object.insert("filterPattern".into(), json!(filter.pattern));
                object.insert("destinationArn".into(), json!(filter.destination_arn));
                if let Some(role) = &filter.role_arn {
                    object.insert("roleArn".into(), json!(role));
                }
                object.insert("distribution".into(), json!(filter.distribution.as_deref().unwrap_or("ByLogStream")));
                object.insert("creationTime".into(), json!(filter.created_ms));
                Value::Object(object)
            }).collect::<Vec<_>>(),
        }),
        Output::Policy(policy) => {
            json!({ "resourcePolicy": resource_policy(policy), "revisionId": policy.revision })
        }
        Output::Policies(policies) => {
            json!({ "resourcePolicies": policies.iter().map(resource_policy).collect::<Vec<_>>() })
        }
    };
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}

/// The `eventId` of an event (the engine's, shared with subscription payloads).
pub use wharf_logs::subscriptions::event_id;
