//! Queue attributes: AWS's names and string values to and from [`QueueSettings`].
//!
//! See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>
//! and <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html>.

use crate::QueueError;
use std::collections::BTreeMap;
use wharf_store::{DeadLetter, QueueRecord, QueueSettings, QueueStats};

/// Attributes that can be written (CreateQueue, SetQueueAttributes).
pub const WRITABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes that only GetQueueAttributes reports.
pub const READ_ONLY: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// Attributes that exist only on FIFO queues.
const FIFO_ONLY: &[&str] = &["FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"];

/// Whether this a settings change at creation (`FifoQueue` allowed) or later (not allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// CreateQueue.
    Create,
    /// SetQueueAttributes.
    Update,
}

fn invalid_value(name: &str) -> QueueError {
    QueueError::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

fn parse_range(name: &str, value: &str, low: u32, high: u32) -> Result<u32, QueueError> {
    let valid_digits = !value.is_empty() && value.len() <= 10 && value.bytes().all(|byte| byte.is_ascii_digit());
    let number: u64 =
        if valid_digits { value.parse().map_err(|_| invalid_value(name))? } else { return Err(invalid_value(name)) };
    if number < u64::from(low) || number > u64::from(high) {
        return Err(invalid_value(name));
    }
    Ok(number as u32)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, QueueError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_value(name)),
    }
}

fn parse_json_object(name: &str, value: &str) -> Result<serde_json::Map<String, serde_json::Value>, QueueError> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        _ => Err(QueueError::InvalidAttributeValue(format!(
            "Invalid value for the parameter {name}. Reason: the value must be a JSON object."
        ))),
    }
}

fn invalid_redrive(name: &str, value: &str, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue(format!("Value {value} for parameter {name} is invalid. Reason: {reason}"))
}

/// Parses a `RedrivePolicy`: `{"deadLetterTargetArn": ARN, "maxReceiveCount": 1..=1000}`, the
/// count as a number or a numeric string. Whether the target exists is the engine's check.
///
/// See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>.
pub fn parse_redrive_policy(value: &str) -> Result<DeadLetter, QueueError> {
    let name = "RedrivePolicy";
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(value) else {
        return Err(invalid_redrive(name, value, "Redrive policy is not a valid JSON map."));
    };
    if let Some(unknown) = object.keys().find(|key| *key != "deadLetterTargetArn" && *key != "maxReceiveCount") {
        return Err(invalid_redrive(
            name,
            value,
            &format!("Only deadLetterTargetArn and maxReceiveCount are allowed, found {unknown}."),
        ));
    }
    let target_arn = match object.get("deadLetterTargetArn") {
        Some(serde_json::Value::String(arn)) if !arn.is_empty() => arn.clone(),
        _ => {
            return Err(invalid_redrive(
                name,
                value,
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            ))
        }
    };
    let count = match object.get("maxReceiveCount") {
        Some(serde_json::Value::Number(number)) => number.as_i64(),
        Some(serde_json::Value::String(text)) => text.trim().parse::<i64>().ok(),
        None => {
            return Err(invalid_redrive(
                name,
                value,
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ))
        }
        Some(_) => None,
    };
    match count {
        Some(count @ 1..=1000) => Ok(DeadLetter { target_arn, max_receive_count: count as u32 }),
        _ => Err(invalid_redrive(
            name,
            value,
            "Invalid value for maxReceiveCount, valid values are from 1 to 1000 both inclusive.",
        )),
    }
}

/// A parsed `RedriveAllowPolicy`: which source queues may use this queue as a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedriveAllow {
    /// Any queue (the default).
    AllowAll,
    /// No queue.
    DenyAll,
    /// The listed source queue ARNs (1 to 10).
    ByQueue(Vec<String>),
}

impl RedriveAllow {
    /// Parses `{"redrivePermission": "allowAll"|"denyAll"|"byQueue", "sourceQueueArns": [...]}`.
    pub fn parse(value: &str) -> Result<RedriveAllow, QueueError> {
        let name = "RedriveAllowPolicy";
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(value) else {
            return Err(invalid_redrive(name, value, "Redrive allow policy is not a valid JSON map."));
        };
        let sources: Option<Vec<String>> = match object.get("sourceQueueArns") {
            None => None,
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| invalid_redrive(name, value, "sourceQueueArns must be a list of queue ARNs."))?,
            ),
            Some(_) => return Err(invalid_redrive(name, value, "sourceQueueArns must be a list of queue ARNs.")),
        };
        match (object.get("redrivePermission").and_then(serde_json::Value::as_str), sources) {
            (Some("allowAll"), None) => Ok(RedriveAllow::AllowAll),
            (Some("denyAll"), None) => Ok(RedriveAllow::DenyAll),
            (Some("allowAll" | "denyAll"), Some(_)) => Err(invalid_redrive(
                name,
                value,
                "sourceQueueArns may be given only when redrivePermission is byQueue.",
            )),
            (Some("byQueue"), Some(sources)) if (1..=10).contains(&sources.len()) => Ok(RedriveAllow::ByQueue(sources)),
            (Some("byQueue"), _) => {
                Err(invalid_redrive(name, value, "byQueue needs between 1 and 10 sourceQueueArns."))
            }
            _ => Err(invalid_redrive(name, value, "redrivePermission must be allowAll, denyAll or byQueue.")),
        }
    }

    /// Whether a queue of `source_arn` may use the queue with this policy as its dead-letter queue.
    pub fn allows(&self, source_arn: &str) -> bool {
        match self {
            RedriveAllow::AllowAll => true,
            RedriveAllow::DenyAll => false,
            RedriveAllow::ByQueue(sources) => sources.iter().any(|arn| arn == source_arn),
        }
    }

    fn to_json(&self) -> String {
        match self {
            RedriveAllow::AllowAll => serde_json::json!({ "redrivePermission": "allowAll" }),
            RedriveAllow::DenyAll => serde_json::json!({ "redrivePermission": "denyAll" }),
            RedriveAllow::ByQueue(sources) => {
                serde_json::json!({ "redrivePermission": "byQueue", "sourceQueueArns": sources })
            }
        }
        .to_string()
    }
}

/// Applies `attributes` to `settings`, validating every name and value.
///
/// `is_fifo_name` tells whether the queue's name ends in `.fifo`.
pub fn apply(
    settings: &mut QueueSettings,
    attributes: &BTreeMap<String, String>,
    phase: Phase,
    is_fifo_name: bool,
) -> Result<(), QueueError> {
    // FifoQueue first: it decides which other attributes apply.
    if let Some(value) = attributes.get("FifoQueue") {
        let wanted = parse_bool("FifoQueue", value)?;
        match phase {
            Phase::Create => settings.fifo_queue = wanted,
            // As recorded on SQS: restating the type is accepted, changing it is not.
            Phase::Update if wanted != settings.fifo_queue => {
                return Err(QueueError::InvalidAttributeValue(
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.".into(),
                ))
            }
            Phase::Update => {}
        }
    }
    if phase == Phase::Create && settings.fifo_queue != is_fifo_name {
        return Err(QueueError::InvalidParameterValue(if is_fifo_name {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. \
             The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, \
             must end with .fifo suffix and be 1 to 80 in length."
                .into()
        } else {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, \
             must end with .fifo suffix and be 1 to 80 in length."
                .into()
        }));
    }
    for (name, value) in attributes {
        let name = name.as_str();
        let restated_type = phase == Phase::Update && name == "FifoQueue";
        if FIFO_ONLY.contains(&name) && !settings.fifo_queue && !restated_type {
            return Err(QueueError::FifoOnlyAttribute(name.into()));
        }
        match name {
            "FifoQueue" => {}
            "DelaySeconds" => settings.delay_seconds = parse_range(name, value, 0, 900)?,
            "MaximumMessageSize" => settings.maximum_message_size = parse_range(name, value, 1_024, 1_048_576)?,
            "MessageRetentionPeriod" => settings.message_retention_period = parse_range(name, value, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => {
                settings.receive_message_wait_time_seconds = parse_range(name, value, 0, 20)?
            }
            "VisibilityTimeout" => settings.visibility_timeout = parse_range(name, value, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => {
                settings.kms_data_key_reuse_period_seconds = parse_range(name, value, 60, 86_400)?
            }
            "KmsMasterKeyId" => settings.kms_master_key_id = (!value.is_empty()).then(|| value.clone()),
            "SqsManagedSseEnabled" => settings.sqs_managed_sse_enabled = parse_bool(name, value)?,
            "Policy" => {
                if value.is_empty() {
                    settings.policy = None;
                } else {
                    parse_json_object(name, value)?;
                    settings.policy = Some(value.clone());
                }
            }
            "RedrivePolicy" => {
                if value.is_empty() {
                    settings.redrive_policy = None;
                    settings.dead_letter = None;
                } else {
                    let dead_letter = parse_redrive_policy(value)?;
                    settings.redrive_policy = Some(
                        serde_json::json!({
                            "deadLetterTargetArn": dead_letter.target_arn,
                            "maxReceiveCount": dead_letter.max_receive_count,
                        })
                        .to_string(),
                    );
                    settings.dead_letter = Some(dead_letter);
                }
            }
            "RedriveAllowPolicy" => {
                settings.redrive_allow_policy =
                    if value.is_empty() { None } else { Some(RedriveAllow::parse(value)?.to_json()) };
            }
            "ContentBasedDeduplication" => settings.content_based_deduplication = parse_bool(name, value)?,
            "DeduplicationScope" => match value.as_str() {
                "messageGroup" | "queue" => settings.deduplication_scope = Some(value.clone()),
                _ => return Err(invalid_value(name)),
            },
            "FifoThroughputLimit" => match value.as_str() {
                "perQueue" | "perMessageGroupId" => settings.fifo_throughput_limit = Some(value.clone()),
                _ => return Err(invalid_value(name)),
            },
            other => return Err(QueueError::InvalidAttributeName(other.into())),
        }
    }
    if settings.kms_master_key_id.is_some()
        && attributes.contains_key("SqsManagedSseEnabled")
        && settings.sqs_managed_sse_enabled
    {
        return Err(QueueError::InvalidAttributeValue(
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."
                .into(),
        ));
    }
    if settings.kms_master_key_id.is_some() {
        settings.sqs_managed_sse_enabled = false;
    }
    let per_group_throughput = settings.fifo_throughput_limit.as_deref() == Some("perMessageGroupId");
    if per_group_throughput && settings.deduplication_scope.as_deref() != Some("messageGroup") {
        return Err(QueueError::InvalidAttributeValue(
            "The FifoThroughputLimit perMessageGroupId requires DeduplicationScope messageGroup.".into(),
        ));
    }
    Ok(())
}

/// Every writable attribute of `settings`, as GetQueueAttributes would report it.
pub fn writable_values(settings: &QueueSettings) -> BTreeMap<&'static str, String> {
    let mut values = BTreeMap::new();
    values.insert("DelaySeconds", settings.delay_seconds.to_string());
    values.insert("MaximumMessageSize", settings.maximum_message_size.to_string());
    values.insert("MessageRetentionPeriod", settings.message_retention_period.to_string());
    values.insert("ReceiveMessageWaitTimeSeconds", settings.receive_message_wait_time_seconds.to_string());
    values.insert("VisibilityTimeout", settings.visibility_timeout.to_string());
    values.insert("SqsManagedSseEnabled", settings.sqs_managed_sse_enabled.to_string());
    if let Some(policy) = &settings.policy {
        values.insert("Policy", policy.clone());
    }
    if let Some(redrive) = &settings.redrive_policy {
        values.insert("RedrivePolicy", redrive.clone());
    }
    if let Some(allow) = &settings.redrive_allow_policy {
        values.insert("RedriveAllowPolicy", allow.clone());
    }
    if let Some(key_id) = &settings.kms_master_key_id {
        values.insert("KmsMasterKeyId", key_id.clone());
        values.insert("KmsDataKeyReusePeriodSeconds", settings.kms_data_key_reuse_period_seconds.to_string());
    }
    if settings.fifo_queue {
        values.insert("FifoQueue", "true".into());
        values.insert("ContentBasedDeduplication", settings.content_based_deduplication.to_string());
        values.insert("DeduplicationScope", settings.deduplication_scope.clone().unwrap_or_else(|| "queue".into()));
        values
            .insert("FifoThroughputLimit", settings.fifo_throughput_limit.clone().unwrap_or_else(|| "perQueue".into()));
    }
    values
}

/// The first requested attribute whose value differs from the queue's, for CreateQueue's
/// idempotency rule: only attributes given in the request are compared.
pub fn first_difference(
    existing: &QueueSettings,
    requested: &QueueSettings,
    names: &BTreeMap<String, String>,
) -> Option<String> {
    let have = writable_values(existing);
    let want = writable_values(requested);
    names.keys().find(|name| have.get(name.as_str()) != want.get(name.as_str())).cloned()
}

/// GetQueueAttributes: the requested names (or `All`) resolved against a queue.
pub fn report(
    record: &QueueRecord,
    stats: QueueStats,
    requested: &[String],
) -> Result<Vec<(String, String)>, QueueError> {
    let all = requested.iter().any(|name| name == "All");
    for name in requested {
        let known = name == "All" || WRITABLE.contains(&name.as_str()) || READ_ONLY.contains(&name.as_str());
        let fifo_only_on_standard = FIFO_ONLY.contains(&name.as_str()) && !record.settings.fifo_queue;
        if !known || fifo_only_on_standard {
            return Err(QueueError::InvalidAttributeName(name.clone()));
        }
    }
    let mut values: BTreeMap<&str, String> = writable_values(&record.settings);
    values.insert("ApproximateNumberOfMessages", stats.visible.to_string());
    values.insert("ApproximateNumberOfMessagesNotVisible", stats.in_flight.to_string());
    values.insert("ApproximateNumberOfMessagesDelayed", stats.delayed.to_string());
    values.insert("CreatedTimestamp", (record.created_ms / 1000).to_string());
    values.insert("LastModifiedTimestamp", (record.modified_ms / 1000).to_string());
    values.insert("QueueArn", record.key.arn());
    let selected = values
        .into_iter()
        .filter(|(name, _)| all || requested.iter().any(|wanted| wanted == name))
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    #[test]
    fn ranges_are_enforced() {
        let mut settings = QueueSettings::default();
        apply(&mut settings, &map(&[("VisibilityTimeout", "43200"), ("DelaySeconds", "900")]), Phase::Create, false)
            .expect("in range");
        assert_eq!(settings.visibility_timeout, 43_200);
        for (name, value) in [
            ("VisibilityTimeout", "43201"),
            ("DelaySeconds", "-1"),
            ("MessageRetentionPeriod", "59"),
            ("MaximumMessageSize", "1048577"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("VisibilityTimeout", "3.5"),
            ("VisibilityTimeout", ""),
        ] {
            let err = apply(&mut QueueSettings::default(), &map(&[(name, value)]), Phase::Update, false).unwrap_err();
            assert_eq!(err, invalid_value(name), "{name}={value}");
        }
    }

    #[test]
    fn unknown_and_fifo_only_names_are_rejected_on_standard_queues() {
        let err = apply(&mut QueueSettings::default(), &map(&[("Colour", "blue")]), Phase::Create, false).unwrap_err();
        assert_eq!(err, QueueError::InvalidAttributeName("Colour".into()));
        let err =
            apply(&mut QueueSettings::default(), &map(&[("ContentBasedDeduplication", "true")]), Phase::Create, false)
                .unwrap_err();
        assert_eq!(err, QueueError::FifoOnlyAttribute("ContentBasedDeduplication".into()));
        assert_eq!(
            err.to_string(),
            "You can specify the ContentBasedDeduplication only when FifoQueue is set to true."
        );
    }

    #[test]
    fn redrive_policies_parse_and_validate() {
        let parsed = parse_redrive_policy(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}"#,
        )
        .expect("valid");
        assert_eq!(parsed.max_receive_count, 5);
        for bad in [
            "not json",
            r#"{"maxReceiveCount":5}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":0}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1001}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5,"x":1}"#,
        ] {
            assert!(parse_redrive_policy(bad).is_err(), "{bad}");
        }
        let by_queue =
            RedriveAllow::parse(r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:a"]}"#).expect("valid");
        assert!(by_queue.allows("arn:a") && !by_queue.allows("arn:b"));
        assert!(!RedriveAllow::parse(r#"{"redrivePermission":"denyAll"}"#).expect("valid").allows("arn:a"));
        assert!(RedriveAllow::parse(r#"{"redrivePermission":"byQueue"}"#).is_err());
        assert!(RedriveAllow::parse(r#"{"redrivePermission":"allowAll","sourceQueueArns":["arn:a"]}"#).is_err());
        let eleven: Vec<String> = (0..11).map(|idx| format!("arn:{idx}")).collect();
        let too_many = serde_json::json!({"redrivePermission": "byQueue", "sourceQueueArns": eleven}).to_string();
        assert!(RedriveAllow::parse(&too_many).is_err());
    }

    #[test]
    fn fifo_flag_must_match_the_name() {
        let err = apply(&mut QueueSettings::default(), &map(&[]), Phase::Create, true).unwrap_err();
        assert!(matches!(err, QueueError::InvalidParameterValue(_)));
    }

    #[test]
    fn all_reports_defaults_and_counts() {
        let record = QueueRecord {
            id: wharf_store::QueueId(1),
            key: wharf_store::conformance::key("q"),
            settings: QueueSettings::default(),
            tags: BTreeMap::new(),
            created_ms: 1_700_000_000_999,
            modified_ms: 1_700_000_000_999,
            last_purge_ms: None,
            version: 1,
        };
        let stats = QueueStats { visible: 3, in_flight: 2, delayed: 1, oldest_sent_ms: Some(1) };
        let reported: BTreeMap<String, String> =
            report(&record, stats, &["All".into()]).expect("report").into_iter().collect();
        assert_eq!(reported["VisibilityTimeout"], "30");
        assert_eq!(reported["MessageRetentionPeriod"], "345600");
        assert_eq!(reported["MaximumMessageSize"], "1048576");
        assert_eq!(reported["ApproximateNumberOfMessages"], "3");
        assert_eq!(reported["ApproximateNumberOfMessagesNotVisible"], "2");
        assert_eq!(reported["ApproximateNumberOfMessagesDelayed"], "1");
        assert_eq!(reported["CreatedTimestamp"], "1700000000");
        assert_eq!(reported["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:q");
        assert!(!reported.contains_key("FifoQueue"));
        assert!(!reported.contains_key("Policy"));
        let err = report(&record, stats, &["FifoQueue".into()]).unwrap_err();
        assert_eq!(err, QueueError::InvalidAttributeName("FifoQueue".into()));
    }
}
