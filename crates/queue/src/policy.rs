//! AddPermission and RemovePermission: edits of the queue's `Policy` document by label.
//!
//! See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html>.
//! Enforcement of the policy belongs to the IAM layer, not here.

use crate::QueueError;
use serde_json::{json, Map, Value};
use wharf_types::QueueKey;

/// Actions AddPermission accepts (without the `SQS:` prefix), and `*`.
const SHAREABLE_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
    "SendMessageBatch",
    "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch",
];

/// At most this many actions per statement.
const MAX_ACTIONS: usize = 7;

fn invalid_label(label: &str, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue(format!("Value {label} for parameter Label is invalid. Reason: {reason}."))
}

fn one_or_many(values: Vec<String>) -> Value {
    if values.len() == 1 {
        Value::String(values.into_iter().next().unwrap_or_default())
    } else {
        Value::Array(values.into_iter().map(Value::String).collect())
    }
}

fn statements(document: &mut Map<String, Value>) -> &mut Vec<Value> {
    let entry = document.entry("Statement").or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(vec![entry.take()]);
    }
    match entry {
        Value::Array(list) => list,
        _ => unreachable!("made an array above"),
    }
}

/// Returns the policy with a statement for `label` added.
pub fn add(
    policy: Option<&str>,
    key: &QueueKey,
    label: &str,
    account_ids: &[String],
    actions: &[String],
) -> Result<String, QueueError> {
    let label_ok = !label.is_empty()
        && label.len() <= 80
        && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !label_ok {
        return Err(invalid_label(
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if account_ids.is_empty() {
        return Err(QueueError::MissingParameter("AWSAccountIds".into()));
    }
    if actions.is_empty() {
        return Err(QueueError::MissingParameter("Actions".into()));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(QueueError::OverLimit(format!(
            "{} Actions were found, maximum allowed is {MAX_ACTIONS}.",
            actions.len()
        )));
    }
    for action in actions {
        if !SHAREABLE_ACTIONS.contains(&action.as_str()) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value SQS:{action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
            )));
        }
    }
    for account in account_ids {
        if account.len() != 12 || !account.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value [{account}] for parameter PrincipalId is invalid. Reason: Unable to verify."
            )));
        }
    }
    let mut document = match policy.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(document))) => document,
        _ => {
            let mut document = Map::new();
            // The version SQS writes into the policies AddPermission makes.
            document.insert("Version".into(), json!("2008-10-17"));
            document.insert("Id".into(), json!(format!("{}/SQSDefaultPolicy", key.arn())));
            document
        }
    };
    let list = statements(&mut document);
    if list.iter().any(|statement| statement.get("Sid").and_then(Value::as_str) == Some(label)) {
        return Err(invalid_label(label, "Already exists"));
    }
    let principals = account_ids.iter().map(|account| format!("arn:aws:iam::{account}:root")).collect();
    let action_names = actions.iter().map(|action| format!("SQS:{action}")).collect();
    list.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": { "AWS": one_or_many(principals) },
        "Action": one_or_many(action_names),
        "Resource": key.arn(),
    }));
    Ok(Value::Object(document).to_string())
}

/// Returns the policy without the statement of `label`; `None` when no statement is left.
pub fn remove(policy: Option<&str>, label: &str) -> Result<Option<String>, QueueError> {
    let not_found = || invalid_label(label, "can't find label");
    let mut document = match policy.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(document))) => document,
        _ => return Err(not_found()),
    };
    let list = statements(&mut document);
    let before = list.len();
    list.retain(|statement| statement.get("Sid").and_then(Value::as_str) != Some(label));
    if list.len() == before {
        return Err(not_found());
    }
    if list.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Object(document).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_remove() {
        let key = wharf_store::conformance::key("q");
        let policy = add(None, &key, "share", &["111122223333".into()], &["SendMessage".into()]).expect("add");
        let value: Value = serde_json::from_str(&policy).expect("json");
        assert_eq!(value["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
        assert_eq!(value["Statement"][0]["Action"], "SQS:SendMessage");
        assert_eq!(value["Statement"][0]["Resource"], key.arn());
        let err = add(Some(&policy), &key, "share", &["111122223333".into()], &["SendMessage".into()]).unwrap_err();
        assert!(err.to_string().contains("Already exists"));
        let two = add(
            Some(&policy),
            &key,
            "more",
            &["111122223333".into()],
            &["ReceiveMessage".into(), "DeleteMessage".into()],
        )
        .expect("add");
        let one = remove(Some(&two), "share").expect("remove").expect("one left");
        assert!(one.contains("\"more\"") && !one.contains("\"share\""));
        assert_eq!(remove(Some(&one), "more").expect("remove"), None);
        assert!(remove(None, "x").is_err());
    }
}
