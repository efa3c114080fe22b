//! CloudWatch Logs subscription filters delivering to Lambda functions, as AWS does: each
//! batch is one asynchronous invocation whose payload is `{"awslogs": {"data": ...}}`, the data
//! being the base64 of the gzip of
//!
//! ```text
//! {"messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": GROUP, "logStream": STREAM,
//!  "subscriptionFilters": [FILTER], "logEvents": [{"id", "timestamp", "message"}, ...]}
//! ```
//!
//! With auth checked, the function's policy must allow `logs.amazonaws.com` for the group
//! (AddPermission with `--principal logs.amazonaws.com --source-arn GROUP_ARN`), checked at
//! PutSubscriptionFilter and at each delivery. A hand-off that may pass (the async queue cannot
//! write) is tried again after 1, 2, 4 and 8 seconds; once queued, Lambda's own asynchronous
//! retries apply.

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use std::io::Write as _;
use std::sync::{Arc, Weak};
use std::time::Duration;
use wharf_functions::{FunctionRef, Functions, InvokeRequest};
use wharf_logs::subscriptions::{SubscriptionBatch, SubscriptionSink};
use wharf_types::{AccountId, HandOffError, Region};

use crate::access::{Actor, Checks, ServiceAccess};

/// The service principal CloudWatch Logs acts as.
const LOGS: &str = "logs.amazonaws.com";
/// Tries of one hand-off.
const ATTEMPTS: u32 = 5;

/// Subscription batches into asynchronous invocations.
pub struct SubscriptionInvocations {
    /// The functions engine (weak: it holds the logs engine, which holds this).
    pub functions: Weak<Functions>,
    /// The checks.
    pub access: Arc<ServiceAccess>,
}

fn group_arn(account: &AccountId, region: &Region, group: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{group}:*")
}

/// The payload Lambda receives for `batch`.
pub fn payload(batch: &SubscriptionBatch) -> Result<String, std::io::Error> {
    let events: Vec<serde_json::Value> = batch
        .events
        .iter()
        .map(|(id, timestamp, message)| serde_json::json!({ "id": id, "timestamp": timestamp, "message": message }))
        .collect();
    let data = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": batch.account.as_str(),
        "logGroup": batch.group,
        "logStream": batch.stream,
        "subscriptionFilters": [batch.filter],
        "logEvents": events,
    });
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data.to_string().as_bytes())?;
    let zipped = encoder.finish()?;
    Ok(serde_json::json!({ "awslogs": { "data": base64::engine::general_purpose::STANDARD.encode(zipped) } })
        .to_string())
}

impl SubscriptionInvocations {
    async fn allowed(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        function_arn: &str,
    ) -> Result<(), String> {
        if self.access.checks() == Checks::Off {
            return Ok(());
        }
        let source_arn = group_arn(account, region, group);
        let actor = Actor::Service { service: LOGS, source_arn: &source_arn, source_account: account.as_str() };
        self.access.check(actor, "lambda:InvokeFunction", function_arn).await
    }

    async fn hand_off(&self, batch: &SubscriptionBatch) -> Result<(), HandOffError> {
        self.allowed(&batch.account, &batch.region, &batch.group, &batch.destination_arn)
            .await
            .map_err(HandOffError::Refused)?;
        let reference: FunctionRef =
            batch.destination_arn.parse().map_err(|err| HandOffError::Refused(format!("{err}")))?;
        let body = payload(batch).map_err(|err| HandOffError::Unavailable(err.to_string()))?;
        let request = InvokeRequest {
            account: reference.account.clone().unwrap_or_else(|| batch.account.to_string()),
            region: reference.region.clone().unwrap_or_else(|| batch.region.to_string()),
            function: reference,
            qualifier: None,
            payload: Bytes::from(body),
            client_context: None,
            want_tail: false,
        };
        let functions =
            self.functions.upgrade().ok_or_else(|| HandOffError::Unavailable("functions are not running".into()))?;
        functions.invoke_async(request).await.map(|_| ()).map_err(crate::function_failure)
    }
}

#[async_trait]
impl SubscriptionSink for SubscriptionInvocations {
    async fn check(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        destination_arn: &str,
    ) -> Result<(), String> {
        let missing = || {
            "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function."
                .to_owned()
        };
        let reference: FunctionRef = destination_arn.parse().map_err(|_| missing())?;
        let functions = self.functions.upgrade().ok_or_else(missing)?;
        let key = functions.key_of(account.as_str(), region.as_str(), &reference);
        if functions.function(&key).is_none() {
            return Err(missing());
        }
        self.allowed(account, region, group, destination_arn).await.map_err(|_| missing())
    }

    async fn deliver(&self, batch: SubscriptionBatch) {
        // A function subscribed to its own log group would invoke itself for ever.
        let own_group =
            batch.destination_arn.parse::<FunctionRef>().ok().map(|function| format!("/aws/lambda/{}", function.name));
        if own_group.as_deref() == Some(batch.group.as_str()) {
            tracing::warn!(filter = %batch.filter, group = %batch.group, "a function's own log group is not delivered to it (it would loop)");
            return;
        }
        let mut delay = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            match self.hand_off(&batch).await {
                Ok(()) => return,
                Err(HandOffError::Unavailable(reason)) if attempt < ATTEMPTS => {
                    tracing::debug!(filter = %batch.filter, %reason, attempt, "subscription delivery failed; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(reason) => {
                    tracing::warn!(filter = %batch.filter, group = %batch.group, destination = %batch.destination_arn, %reason, "subscription delivery failed");
                    return;
                }
            }
        }
    }
}
