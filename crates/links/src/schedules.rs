//! EventBridge Scheduler's targets: what a schedule invokes, as the schedule's execution role.
//!
//! Templated targets are named by their resource ARN: a Lambda function (an asynchronous
//! invocation, as Scheduler invokes Lambda), an SQS queue (a message, `MessageGroupId` from
//! `SqsParameters`) or an EventBridge bus (PutEvents with `EventBridgeParameters`' DetailType
//! and Source, the input as Detail). Universal targets
//! (`arn:aws:scheduler:::aws-sdk:SERVICE:ACTION`) take the API request as input; wharf runs
//! `sqs:sendMessage`, `sqs:sendMessageBatch`, `lambda:invoke` and `eventbridge:putEvents` that way.
//!
//! With auth checked, the role must exist and trust `scheduler.amazonaws.com`, and its
//! policies must allow the action on the target, as on AWS.

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_events::schedules::{Invocation, ScheduleDelivery};
use wharf_functions::{FunctionRef, Functions, InvokeRequest};
use wharf_queue::{AttributeInput, Caller, Engine, SendInput};
use wharf_types::{HandOffError, QueueKey};

use crate::access::{Actor, Checks, ServiceAccess};

/// The most bytes of a dead letter, body and attributes: SQS's largest message by default.
const MAX_DEAD_LETTER_BYTES: usize = 256 * 1024;

/// The service principal Scheduler acts as.
const SCHEDULER: &str = "scheduler.amazonaws.com";

/// Delivery to the targets schedules name.
pub struct ScheduleTargets {
    /// The user-facing SQS engine.
    pub sqs: Arc<Engine>,
    /// The functions engine.
    pub functions: Arc<Functions>,
    /// The rules engine, for bus targets.
    pub events: Arc<wharf_events::Events>,
    /// The checks.
    pub access: Arc<ServiceAccess>,
}

/// The session name of a schedule's role (its last ARN segment, the schedule's name).
fn session_of(invocation: &Invocation) -> &str {
    invocation.schedule_arn.rsplit('/').next().unwrap_or("scheduler")
}

impl ScheduleTargets {
    async fn allowed(&self, invocation: &Invocation, action: &str, resource_arn: &str) -> Result<(), HandOffError> {
        if self.access.checks() == Checks::Off {
            return Ok(());
        }
        let actor =
            Actor::AssumedRole { role_arn: &invocation.role_arn, service: SCHEDULER, session: session_of(invocation) };
        self.access.check(actor, action, resource_arn).await.map_err(HandOffError::Refused)
    }

    /// The role session's `SenderId` (`AROA…:SCHEDULE`), as SQS reports a role session.
    fn sender(&self, invocation: &Invocation) -> Arc<str> {
        let id = self.access.role_id(&invocation.role_arn).unwrap_or_else(|| "AROAWHARFSCHEDULER".to_owned());
        Arc::from(format!("{id}:{}", session_of(invocation)))
    }

    async fn send(
        &self,
        invocation: &Invocation,
        key: &QueueKey,
        body: String,
        group: Option<String>,
        deduplication: Option<String>,
        attributes: Vec<AttributeInput>,
    ) -> Result<(), HandOffError> {
        let arn = format!("arn:aws:sqs:{}:{}:{}", key.region, key.account, key.name);
        self.allowed(invocation, "sqs:SendMessage", &arn).await?;
        let caller =
            Caller { account: key.account.clone(), region: key.region.clone(), sender_id: self.sender(invocation) };
        let fifo = key.name.as_str().ends_with(".fifo");
        let input = SendInput {
            body,
            message_group_id: group.or_else(|| fifo.then(|| "scheduler".to_owned())),
            message_deduplication_id: deduplication.or_else(|| fifo.then(|| uuid::Uuid::new_v4().simple().to_string())),
            attributes,
            ..SendInput::default()
        };
        self.sqs.send(key, &caller, input).await.map(|_| ()).map_err(crate::queue_failure)
    }

    async fn invoke_function(
        &self,
        invocation: &Invocation,
        function: &str,
        payload: String,
    ) -> Result<(), HandOffError> {
        let reference: FunctionRef = function.parse().map_err(|err| HandOffError::Refused(format!("{err}")))?;
        let account = reference.account.clone().unwrap_or_else(|| invocation.account.clone());
        let region = reference.region.clone().unwrap_or_else(|| invocation.region.clone());
        let arn = format!("arn:aws:lambda:{region}:{account}:function:{}", reference.name);
        self.allowed(invocation, "lambda:InvokeFunction", &arn).await?;
        let request = InvokeRequest {
            account,
            region,
            function: reference,
            qualifier: None,
            payload: Bytes::from(payload),
            client_context: None,
            want_tail: false,
        };
        self.functions.invoke_async(request).await.map(|_| ()).map_err(crate::function_failure)
    }

    /// PutEvents for the schedule: refused when any entry is.
    fn put_events(
        &self,
        caller: &wharf_events::Caller,
        entries: Vec<wharf_events::NewEvent>,
    ) -> Result<(), HandOffError> {
        match self.events.put_events(caller, entries).into_iter().find_map(Result::err) {
            None => Ok(()),
            Some(problem) => Err(HandOffError::Refused(problem.to_string())),
        }
    }

    /// The universal targets wharf runs, with the API request as input.
    async fn universal(&self, invocation: &Invocation, service: &str, action: &str) -> Result<(), HandOffError> {
        let request: Value = serde_json::from_str(&invocation.payload).map_err(|_| {
            HandOffError::Refused("the input of a universal target must be the API request as JSON".into())
        })?;
        let text = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_owned);
        match (service, action) {
            ("sqs", "sendMessage") => {
                let url = text("QueueUrl").ok_or_else(|| HandOffError::Refused("QueueUrl is required".into()))?;
                let key = queue_of_url(&url, &invocation.region)
                    .ok_or_else(|| HandOffError::NotFound(format!("no queue at {url}")))?;
                let body =
                    text("MessageBody").ok_or_else(|| HandOffError::Refused("MessageBody is required".into()))?;
                self.send(invocation, &key, body, text("MessageGroupId"), text("MessageDeduplicationId"), Vec::new())
                    .await
            }
            ("lambda", "invoke") => {
                let function =
                    text("FunctionName").ok_or_else(|| HandOffError::Refused("FunctionName is required".into()))?;
                let payload = match request.get("Payload") {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => "{}".to_owned(),
                };
                self.invoke_function(invocation, &function, payload).await
            }
            ("sqs", "sendMessageBatch") => {
                let url = text("QueueUrl").ok_or_else(|| HandOffError::Refused("QueueUrl is required".into()))?;
                let key = queue_of_url(&url, &invocation.region)
                    .ok_or_else(|| HandOffError::NotFound(format!("no queue at {url}")))?;
                let entries = request.get("Entries").and_then(Value::as_array).cloned().unwrap_or_default();
                if entries.is_empty() || entries.len() > 10 {
                    return Err(HandOffError::Refused("Entries must hold 1 to 10 messages".into()));
                }
                for entry in entries {
                    let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
                    let body =
                        field("MessageBody").ok_or_else(|| HandOffError::Refused("MessageBody is required".into()))?;
                    self.send(
                        invocation,
                        &key,
                        body,
                        field("MessageGroupId"),
                        field("MessageDeduplicationId"),
                        Vec::new(),
                    )
                    .await?;
                }
                Ok(())
            }
            ("eventbridge", "putEvents") => {
                let entries = request.get("Entries").and_then(Value::as_array).cloned().unwrap_or_default();
                if entries.is_empty() || entries.len() > 10 {
                    return Err(HandOffError::Refused("Entries must hold 1 to 10 events".into()));
                }
                let caller =
                    wharf_events::Caller { account: invocation.account.clone(), region: invocation.region.clone() };
                let mut new = Vec::with_capacity(entries.len());
                for entry in entries {
                    let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
                    let (owner, bus) = wharf_events::rules::bus_owner(&caller, field("EventBusName").as_deref());
                    let bus_arn = wharf_events::rules::bus_arn(&owner.account, &owner.region, &bus);
                    self.allowed(invocation, "events:PutEvents", &bus_arn).await?;
                    let resources = entry
                        .get("Resources")
                        .and_then(Value::as_array)
                        .map(|list| list.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                    new.push(wharf_events::NewEvent {
                        source: field("Source"),
                        detail_type: field("DetailType"),
                        detail: field("Detail"),
                        resources,
                        bus: field("EventBusName"),
                        time_ms: None,
                    });
                }
                self.put_events(&caller, new)
            }
            _ => Err(HandOffError::Refused(format!(
                "wharf does not run the universal target aws-sdk:{service}:{action}"
            ))),
        }
    }
}

/// The queue of a queue URL (`…/queue/REGION/ACCOUNT/NAME` or `…/ACCOUNT/NAME`).
fn queue_of_url(url: &str, default_region: &str) -> Option<QueueKey> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, path)| path));
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let (region, account, name) = match segments.as_slice() {
        ["queue", region, account, name] => ((*region).to_owned(), *account, *name),
        [account, name] => (default_region.to_owned(), *account, *name),
        _ => return None,
    };
    Some(QueueKey { account: account.parse().ok()?, region: region.parse().ok()?, name: name.parse().ok()? })
}

#[async_trait]
impl ScheduleDelivery for ScheduleTargets {
    async fn invoke(&self, invocation: &Invocation) -> Result<(), HandOffError> {
        let target = invocation.target_arn.as_str();
        if let Some(rest) = target.strip_prefix("arn:aws:scheduler:::aws-sdk:") {
            let (service, action) = rest.split_once(':').unwrap_or((rest, ""));
            return self.universal(invocation, service, action).await;
        }
        if let Some(key) = QueueKey::from_arn(target) {
            return self
                .send(
                    invocation,
                    &key,
                    invocation.payload.clone(),
                    invocation.message_group_id.clone(),
                    None,
                    Vec::new(),
                )
                .await;
        }
        if wharf_types::Arn::is_of(target, "lambda") {
            return self.invoke_function(invocation, target, invocation.payload.clone()).await;
        }
        if let Some(bus) = target.split_once(":event-bus/").map(|(_, bus)| bus.to_owned()) {
            let arn: wharf_types::Arn =
                target.parse().map_err(|_| HandOffError::Refused(format!("bad ARN {target}")))?;
            self.allowed(invocation, "events:PutEvents", target).await?;
            let (detail_type, source) =
                invocation.eventbridge.clone().unwrap_or_else(|| ("Scheduled".into(), "scheduler".into()));
            let caller = wharf_events::Caller { account: arn.account.clone(), region: arn.region.clone() };
            let entry = wharf_events::NewEvent {
                source: Some(source),
                detail_type: Some(detail_type),
                detail: Some(invocation.payload.clone()),
                resources: vec![invocation.schedule_arn.clone()],
                bus: Some(bus),
                time_ms: None,
            };
            return self.put_events(&caller, vec![entry]);
        }
        Err(HandOffError::Refused(format!("wharf cannot invoke the target {target}")))
    }

    async fn dead_letter(
        &self,
        invocation: &Invocation,
        queue_arn: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), HandOffError> {
        let key = QueueKey::from_arn(queue_arn).ok_or_else(|| HandOffError::NotFound(queue_arn.to_owned()))?;
        // The dead letter must fit an SQS message (256 KiB with its attributes): a payload
        // that does not is cut, and says so, as Scheduler does.
        let mut attributes = attributes;
        let attribute_bytes: usize =
            attributes.iter().map(|(name, value)| name.len() + value.len() + "String".len()).sum::<usize>() + 64;
        let room = MAX_DEAD_LETTER_BYTES.saturating_sub(attribute_bytes);
        let mut payload = invocation.payload.clone();
        let truncated = payload.len() > room;
        if truncated {
            let mut end = room;
            while !payload.is_char_boundary(end) {
                end -= 1;
            }
            payload.truncate(end);
        }
        attributes.insert("IS_PAYLOAD_TRUNCATED".to_owned(), truncated.to_string());
        let attributes = attributes
            .into_iter()
            .map(|(name, value)| AttributeInput {
                name,
                data_type: Some("String".into()),
                string_value: Some(value),
                binary_value: None,
            })
            .collect();
        self.send(invocation, &key, payload, None, None, attributes).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn queue_urls_name_their_queue() {
        let key =
            super::queue_of_url("http://127.0.0.1:4566/queue/eu-west-1/000000000000/jobs", "us-east-1").expect("key");
        assert_eq!(
            (key.region.as_str(), key.account.as_str(), key.name.as_str()),
            ("eu-west-1", "000000000000", "jobs")
        );
        let key =
            super::queue_of_url("https://sqs.us-east-1.amazonaws.com/000000000000/jobs", "us-west-2").expect("key");
        assert_eq!(key.region.as_str(), "us-west-2");
        assert!(super::queue_of_url("http://host/nothing", "us-east-1").is_none());
    }
}
