//! Cross-engine glue: the functions engine's ports implemented on the other engines.
//!
//! - [`LogCapture`]: function output into CloudWatch Logs ([`wharf_logs::Logs`]).
//! - [`access`]: services acting for users (Lambda with execution roles, EventBridge through
//!   resource policies), checked as AWS checks them.
//! - [`QueuedInvocations`]: the durable queue of asynchronous invocations, an SQS queue of a
//!   private queue engine (its own store file, invisible to SQS clients).
//! - [`QueueDestinations`]: destination records and dead letters into SQS queues, and records
//!   for Lambda destinations as asynchronous invocations.
//!
//! - [`mappings::MappingPollers`]: event source mappings, SQS queues feeding functions.
//! - [`RuleTargets`]: EventBridge rule targets: asynchronous invocations and SQS messages.
//!
//! Engines never import each other; this crate is the only place they meet.
//!
//! # Layout
//! - this file: the three adapters above.
//! - [`mappings`]: the pollers of event source mappings.

pub mod access;
pub mod api_destinations;
pub mod mappings;
pub mod retries;
pub mod roles;
pub mod schedules;
pub mod subscriptions;

pub use access::{Actor, Checks, ServiceAccess};

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use wharf_functions::ports::{
    AsyncEvent, DestinationRecord, Destinations, FunctionRole, InvocationQueue, LogLine, LogSink,
};
use wharf_functions::{FunctionRef, Functions, InvokeRequest};
use wharf_logs::{Logs, NewLogEvent};
use wharf_queue::{AttributeInput, Caller, Engine, ReceiveInput, SendInput};
use wharf_store::events::TargetRow;
use wharf_types::{AccountId, HandOffError, QueueKey, Region, UtcDateTime};

/// Function output into CloudWatch Logs, written as Lambda writes it: with the function's
/// execution role, so a role without `logs:CreateLogStream` and `logs:PutLogEvents` (and
/// `logs:CreateLogGroup` while the group does not exist) gets no log stream (auth checked).
pub struct LogCapture {
    logs: Arc<Logs>,
    access: Arc<ServiceAccess>,
    /// Per stream: the IAM change count the decision was taken at, and the decision; taken
    /// again after any IAM change.
    decisions: Mutex<HashMap<StreamKey, (u64, bool)>>,
}

/// Account, region, group, stream.
type StreamKey = (String, String, String, String);

/// Streams whose decision is kept at most; the memory is emptied when full.
const DECISIONS_KEPT: usize = 4096;

impl LogCapture {
    /// Writes to `logs`, checked by `access`.
    pub fn new(logs: Arc<Logs>, access: Arc<ServiceAccess>) -> LogCapture {
        LogCapture { logs, access, decisions: Mutex::new(HashMap::new()) }
    }

    /// Whether `writer`'s role may write to the stream; asked once per stream and IAM change.
    async fn may_write(
        &self,
        access: &ServiceAccess,
        (account, region, group, stream): (&AccountId, &Region, &str, &str),
        writer: &FunctionRole,
    ) -> bool {
        let generation = access.iam_generation();
        let key: StreamKey = (account.to_string(), region.to_string(), group.to_owned(), stream.to_owned());
        let known = self.decisions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key).copied();
        if let Some((at, allowed)) = known {
            if at == generation {
                return allowed;
            }
        }
        let actor = Actor::Role { role_arn: &writer.role_arn, function_arn: &writer.function_arn };
        let group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{group}");
        let stream_arn = format!("{group_arn}:log-stream:{stream}");
        let group_key =
            wharf_store::logs::LogGroupKey { account: account.clone(), region: region.clone(), name: group.to_owned() };
        let mut allowed = true;
        if self.logs.group(&group_key).await.is_err() {
            allowed &= access.check(actor, "logs:CreateLogGroup", &format!("{group_arn}:*")).await.is_ok();
        }
        allowed = allowed
            && access.check(actor, "logs:CreateLogStream", &stream_arn).await.is_ok()
            && access.check(actor, "logs:PutLogEvents", &stream_arn).await.is_ok();
        let mut decisions = self.decisions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if decisions.len() >= DECISIONS_KEPT {
            decisions.clear();
        }
        decisions.insert(key, (generation, allowed));
        allowed
    }
}

#[async_trait]
impl LogSink for LogCapture {
    /// The group is created by wharf itself, not with the function's role: on AWS Lambda
    /// creates it at the first invocation; users expect it as soon as the function exists.
    async fn prepare_group(&self, account: &AccountId, region: &Region, group: &str) {
        let key =
            wharf_store::logs::LogGroupKey { account: account.clone(), region: region.clone(), name: group.to_owned() };
        match self.logs.create_group(&key, BTreeMap::new()).await {
            Ok(()) | Err(wharf_logs::LogsError::GroupExists) => {}
            Err(err) => tracing::warn!(group, error = %err, "could not create a function's log group"),
        }
    }

    async fn append(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        stream: &str,
        writer: &FunctionRole,
        lines: Vec<LogLine>,
    ) {
        if self.access.checks() != Checks::Off
            && !self.may_write(&self.access, (account, region, group, stream), writer).await
        {
            return;
        }
        let events =
            lines.into_iter().map(|line| NewLogEvent { timestamp: line.timestamp, message: line.message }).collect();
        if let Err(err) = self.logs.append(account, region, group, stream, events).await {
            tracing::warn!(error = %err, group, stream, "could not store function output");
        }
    }
}

/// The queue of asynchronous invocations, kept in an SQS queue of a private engine.
///
/// # Wire
/// Each event is one message: the body is the payload; metadata rides in message attributes
/// (`account`, `region`, `function`, `qualifier`, `request_id`, `attempts`, `enqueued_at`).
pub struct QueuedInvocations {
    engine: Arc<Engine>,
    queue: QueueKey,
    caller: Caller,
}

impl QueuedInvocations {
    /// Uses (creating) the queue `wharf-async-invocations` in `engine`.
    pub async fn open(engine: Arc<Engine>, account: AccountId, region: Region) -> Result<Self, String> {
        let queue = internal_queue(&engine, &account, &region, "wharf-async-invocations").await?;
        let caller = Caller { account, region, sender_id: Arc::from("wharf") };
        Ok(QueuedInvocations { engine, queue, caller })
    }
}

/// The internal queue `name` of `engine` (created, or its attributes set again): 1 MiB
/// messages kept 14 days, for wharf's own durable work.
pub(crate) async fn internal_queue(
    engine: &Engine,
    account: &AccountId,
    region: &Region,
    name: &str,
) -> Result<QueueKey, String> {
    let queue = QueueKey {
        account: account.clone(),
        region: region.clone(),
        name: name.parse().map_err(|err| format!("{err}"))?,
    };
    let attributes = BTreeMap::from([
        ("MaximumMessageSize".to_owned(), "1048576".to_owned()),
        ("MessageRetentionPeriod".to_owned(), "1209600".to_owned()),
    ]);
    match engine.create_queue(queue.clone(), attributes.clone(), BTreeMap::new()).await {
        Ok(_) => {}
        Err(wharf_queue::QueueError::QueueNameExists(_)) => {
            engine.set_attributes(&queue, attributes).await.map_err(|err| err.to_string())?;
        }
        Err(err) => return Err(err.to_string()),
    }
    Ok(queue)
}

fn text_attribute(name: &str, value: String) -> AttributeInput {
    AttributeInput {
        name: name.into(),
        data_type: Some("String".into()),
        string_value: Some(value),
        binary_value: None,
    }
}

/// What a failed hand-off to the SQS engine means for its sender.
fn queue_failure(err: wharf_queue::QueueError) -> HandOffError {
    use wharf_queue::QueueError;
    match err {
        QueueError::QueueDoesNotExist | QueueError::ResourceNotFound(_) => HandOffError::NotFound(err.to_string()),
        QueueError::Storage(_) | QueueError::OverLimit(_) => HandOffError::Unavailable(err.to_string()),
        other => HandOffError::Refused(other.to_string()),
    }
}

/// What a failed hand-off to the functions engine means for its sender.
fn function_failure(err: wharf_functions::FunctionError) -> HandOffError {
    use wharf_functions::FunctionError;
    match err {
        FunctionError::FunctionNotFound(_) | FunctionError::QualifierNotFound(_) | FunctionError::AliasNotFound(_) => {
            HandOffError::NotFound(err.to_string())
        }
        FunctionError::TooManyRequests { .. } | FunctionError::Host(_) | FunctionError::Store(_) => {
            HandOffError::Unavailable(err.to_string())
        }
        other => HandOffError::Refused(other.to_string()),
    }
}

#[async_trait]
impl InvocationQueue for QueuedInvocations {
    async fn push(&self, event: AsyncEvent, delay_seconds: u32) -> Result<(), HandOffError> {
        let body = String::from_utf8(event.payload.to_vec())
            .map_err(|_| HandOffError::Refused("payload is not UTF-8".to_owned()))?;
        let mut attributes = vec![
            text_attribute("account", event.account),
            text_attribute("region", event.region),
            text_attribute("function", event.function),
            text_attribute("request_id", event.request_id),
            text_attribute("attempts", event.attempts.to_string()),
            text_attribute("enqueued_at", event.enqueued_at.to_string()),
        ];
        if let Some(qualifier) = event.qualifier {
            attributes.push(text_attribute("qualifier", qualifier));
        }
        let input =
            SendInput { body, delay_seconds: Some(i64::from(delay_seconds)), attributes, ..SendInput::default() };
        self.engine.send(&self.queue, &self.caller, input).await.map(|_| ()).map_err(queue_failure)
    }

    async fn pull(&self, max: usize) -> Result<Vec<(String, AsyncEvent)>, HandOffError> {
        let input = ReceiveInput {
            max_number_of_messages: Some(max.clamp(1, 10) as i64),
            visibility_timeout: Some(i64::from(wharf_functions::ports::PULL_HOLD_SECONDS)),
            wait_time_seconds: Some(20),
            system_attribute_names: Vec::new(),
            message_attribute_names: vec!["All".into()],
            receive_request_attempt_id: None,
        };
        let received = self.engine.receive(&self.queue, input).await.map_err(queue_failure)?;
        let mut events = Vec::with_capacity(received.len());
        for message in received {
            let mut fields: BTreeMap<&str, String> = BTreeMap::new();
            for attribute in message.message_attributes() {
                if let wharf_queue::AttributeValue::String(text) = &attribute.value {
                    fields.insert(attribute.name.as_str(), text.to_string());
                }
            }
            let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
            let event = AsyncEvent {
                account: field("account"),
                region: field("region"),
                function: field("function"),
                qualifier: fields.get("qualifier").cloned(),
                request_id: field("request_id"),
                payload: Bytes::from(message.data.body.to_string()),
                attempts: field("attempts").parse().unwrap_or(0),
                enqueued_at: field("enqueued_at").parse().unwrap_or(0),
            };
            events.push((message.receipt_handle.clone(), event));
        }
        Ok(events)
    }

    async fn extend(&self, ticket: &str, seconds: u32) -> Result<(), HandOffError> {
        self.engine.change_visibility(&self.queue, ticket, i64::from(seconds)).await.map_err(queue_failure)
    }

    async fn done(&self, ticket: String) -> Result<(), HandOffError> {
        self.engine.delete(&self.queue, &ticket).await.map_err(queue_failure)
    }
}

/// Destination records and dead letters: SQS queues of the SQS engine, and functions, sent
/// with the function's execution role (which must allow `sqs:SendMessage` or
/// `lambda:InvokeFunction` on the destination, with auth checked).
pub struct QueueDestinations {
    /// The user-facing SQS engine.
    pub sqs: Arc<Engine>,
    /// The functions engine, for Lambda destinations; set after both exist.
    pub functions: OnceLock<Weak<Functions>>,
    /// The checks.
    pub access: Arc<ServiceAccess>,
}

impl QueueDestinations {
    /// The sender of what the role sends: SQS reports a role session as `ROLE_ID:SESSION`
    /// (Lambda's session is the function's name).
    fn caller(&self, key: &QueueKey, from: &FunctionRole) -> Caller {
        let function = from.function_arn.rsplit(':').next().unwrap_or_default();
        let sender = self
            .access
            .role_id(&from.role_arn)
            .map_or_else(|| Arc::from("AIDAWHARFLAMBDA"), |id| Arc::from(format!("{id}:{function}")));
        Caller { account: key.account.clone(), region: key.region.clone(), sender_id: sender }
    }

    async fn allowed(&self, from: &FunctionRole, action: &str, resource_arn: &str) -> Result<(), HandOffError> {
        let actor = Actor::Role { role_arn: &from.role_arn, function_arn: &from.function_arn };
        self.access.check(actor, action, resource_arn).await.map_err(HandOffError::Refused)
    }
}

/// Renders a record as Lambda writes it to destinations.
pub fn record_json(record: &DestinationRecord) -> serde_json::Value {
    let payload = |bytes: &Bytes| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    let mut response_context = serde_json::Map::new();
    if let Some(version) = &record.executed_version {
        response_context.insert("statusCode".into(), serde_json::Value::from(200));
        response_context.insert("executedVersion".into(), serde_json::Value::from(version.clone()));
    }
    if let Some(error) = &record.function_error {
        response_context.insert("functionError".into(), serde_json::Value::from(error.clone()));
    }
    let mut out = serde_json::json!({
        "version": "1.0",
        "timestamp": UtcDateTime::from_epoch_millis(record.timestamp).iso8601_millis(),
        "requestContext": {
            "requestId": record.request_id,
            "functionArn": record.function_arn,
            "condition": record.condition.as_str(),
            "approximateInvokeCount": record.approximate_invoke_count,
        },
        "requestPayload": payload(&record.request_payload),
        "responseContext": serde_json::Value::Object(response_context),
    });
    if let Some(response) = &record.response_payload {
        out["responsePayload"] = payload(response);
    }
    out
}

#[async_trait]
impl Destinations for QueueDestinations {
    async fn deliver(
        &self,
        destination_arn: &str,
        from: &FunctionRole,
        record: DestinationRecord,
    ) -> Result<(), HandOffError> {
        let body = record_json(&record).to_string();
        if let Some(key) = QueueKey::from_arn(destination_arn) {
            self.allowed(from, "sqs:SendMessage", destination_arn).await?;
            let input = SendInput { body, ..SendInput::default() };
            let caller = self.caller(&key, from);
            return self.sqs.send(&key, &caller, input).await.map(|_| ()).map_err(queue_failure);
        }
        if wharf_types::Arn::is_of(destination_arn, "lambda") {
            self.allowed(from, "lambda:InvokeFunction", destination_arn).await?;
            let functions = self
                .functions
                .get()
                .and_then(Weak::upgrade)
                .ok_or_else(|| HandOffError::Unavailable("functions are not running".into()))?;
            let reference: FunctionRef =
                destination_arn.parse().map_err(|err| HandOffError::Refused(format!("{err}")))?;
            let request = InvokeRequest {
                account: reference.account.clone().unwrap_or_default(),
                region: reference.region.clone().unwrap_or_default(),
                function: reference,
                qualifier: None,
                payload: Bytes::from(body),
                client_context: None,
                want_tail: false,
            };
            return functions.invoke_async(request).await.map(|_| ()).map_err(function_failure);
        }
        Err(HandOffError::Refused(format!("unsupported destination {destination_arn}")))
    }

    async fn dead_letter(
        &self,
        target_arn: &str,
        from: &FunctionRole,
        payload: Bytes,
        request_id: &str,
        error_code: u16,
        error_message: &str,
    ) -> Result<(), HandOffError> {
        let key = QueueKey::from_arn(target_arn)
            .ok_or_else(|| HandOffError::Refused(format!("unsupported dead-letter target {target_arn}")))?;
        self.allowed(from, "sqs:SendMessage", target_arn).await?;
        let body = String::from_utf8(payload.to_vec())
            .unwrap_or_else(|err| base64::engine::general_purpose::STANDARD.encode(err.as_bytes()));
        let input = SendInput {
            body,
            attributes: vec![
                text_attribute("RequestID", request_id.to_owned()),
                AttributeInput {
                    name: "ErrorCode".into(),
                    data_type: Some("Number".into()),
                    string_value: Some(error_code.to_string()),
                    binary_value: None,
                },
                text_attribute("ErrorMessage", error_message.chars().take(1024).collect()),
            ],
            ..SendInput::default()
        };
        let caller = self.caller(&key, from);
        self.sqs.send(&key, &caller, input).await.map(|_| ()).map_err(queue_failure)
    }
}

/// Delivers EventBridge rule targets: a Lambda function gets an asynchronous invocation (as
/// EventBridge invokes functions), an SQS queue a message. With auth checked, the target's
/// resource policy must allow `events.amazonaws.com` for the rule (Lambda's AddPermission, the
/// queue's `Policy`), as on AWS.
pub struct RuleTargets {
    /// The user-facing SQS engine.
    pub sqs: Arc<Engine>,
    /// The functions engine.
    pub functions: Arc<Functions>,
    /// The checks.
    pub access: Arc<ServiceAccess>,
    /// CloudWatch Logs, for log-group targets.
    pub logs: Arc<Logs>,
    /// The rules engine itself, for event-bus targets; set once it exists.
    pub events: OnceLock<Weak<wharf_events::Events>>,
    /// HTTP delivery to API destinations.
    pub api_destinations: api_destinations::ApiDestinationClient,
}

/// The service principal EventBridge acts as.
const EVENTS: &str = "events.amazonaws.com";

impl RuleTargets {
    async fn allowed(&self, action: &str, target_arn: &str, rule_arn: &str) -> Result<(), HandOffError> {
        if self.access.checks() == Checks::Off {
            return Ok(());
        }
        let source_account = rule_arn.parse::<wharf_types::Arn>().map(|arn| arn.account).unwrap_or_default();
        let actor = Actor::Service { service: EVENTS, source_arn: rule_arn, source_account: &source_account };
        self.access.check(actor, action, target_arn).await.map_err(HandOffError::Refused)
    }

    /// Sends a message to `key` as EventBridge (its `SenderId`).
    async fn send_as_events(&self, key: &QueueKey, input: SendInput) -> Result<(), HandOffError> {
        let caller = Caller {
            account: key.account.clone(),
            region: key.region.clone(),
            sender_id: Arc::from("AIDAWHARFEVENTS"),
        };
        self.sqs.send(key, &caller, input).await.map(|_| ()).map_err(queue_failure)
    }

    /// An event bus target: the event as it is, to the rules of that bus. Within one account
    /// and region nothing more is checked; across accounts or regions the target's role (which
    /// must trust EventBridge and allow `events:PutEvents` on the bus) or, without one, the
    /// rule's account must be allowed by the receiving bus's policy (PutPermission), as on AWS.
    async fn to_bus(&self, target: &TargetRow, rule_arn: &str, payload: String) -> Result<(), HandOffError> {
        let events = self
            .events
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| HandOffError::Unavailable("the rules engine is not running".into()))?;
        let event: serde_json::Value = serde_json::from_str(&payload)
            .ok()
            .filter(|event: &serde_json::Value| event.get("detail-type").is_some() && event.get("source").is_some())
            .ok_or_else(|| HandOffError::Refused("the input of an event-bus target must be the event".into()))?;
        let rule: wharf_types::Arn =
            rule_arn.parse().map_err(|_| HandOffError::Refused(format!("bad rule ARN {rule_arn}")))?;
        let bus: wharf_types::Arn =
            target.arn.parse().map_err(|_| HandOffError::Refused(format!("bad bus ARN {}", target.arn)))?;
        let crossing = rule.account != bus.account || rule.region != bus.region;
        if crossing && self.access.checks() != Checks::Off {
            let session = target.id.as_str();
            let actor = match &target.role_arn {
                Some(role_arn) => Actor::AssumedRole { role_arn, service: EVENTS, session },
                None => Actor::Account { account: &rule.account },
            };
            self.access.check(actor, "events:PutEvents", &target.arn).await.map_err(HandOffError::Refused)?;
        }
        let matched = events.forward(&target.arn, &event)?;
        tracing::debug!(bus = %target.arn, matched, "event forwarded to another bus");
        Ok(())
    }

    /// A CloudWatch Logs target: the payload as one log event, in a stream named after the
    /// event's id, at the event's time. The group must exist; with auth checked, the account's
    /// Logs resource policy must allow `events.amazonaws.com` to `logs:CreateLogStream` and
    /// `logs:PutLogEvents` on it, as on AWS.
    async fn to_log_group(&self, target: &TargetRow, rule_arn: &str, payload: String) -> Result<(), HandOffError> {
        let arn: wharf_types::Arn =
            target.arn.parse().map_err(|_| HandOffError::Refused(format!("bad log group ARN {}", target.arn)))?;
        let group = wharf_events::target::log_group_of(&target.arn)
            .ok_or_else(|| HandOffError::Refused(format!("bad log group ARN {}", target.arn)))?;
        let account: AccountId = arn.account.parse().map_err(|_| HandOffError::Refused("bad account".into()))?;
        let region: Region = arn.region.parse().map_err(|_| HandOffError::Refused("bad region".into()))?;
        let event: Option<serde_json::Value> = serde_json::from_str(&payload).ok();
        let field = |name: &str| event.as_ref().and_then(|event| event.get(name)).and_then(|value| value.as_str());
        let stream = field("id").map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let timestamp = field("time")
            .and_then(|time| time.parse::<jiff::Timestamp>().ok())
            .map_or_else(|| self.logs.now_millis(), |time| time.as_millisecond().max(0) as u64);
        let group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{group}");
        let stream_arn = format!("{group_arn}:log-stream:{stream}");
        // A missing group is reported as missing (as a missing queue is), before any policy.
        let key =
            wharf_store::logs::LogGroupKey { account: account.clone(), region: region.clone(), name: group.to_owned() };
        match self.logs.group(&key).await {
            Ok(_) => {}
            Err(wharf_logs::LogsError::GroupNotFound) => {
                return Err(HandOffError::NotFound(format!("The log group {group} does not exist.")))
            }
            Err(err) => return Err(HandOffError::Unavailable(err.to_string())),
        }
        self.allowed("logs:CreateLogStream", &stream_arn, rule_arn).await?;
        self.allowed("logs:PutLogEvents", &stream_arn, rule_arn).await?;
        let events = vec![NewLogEvent { timestamp, message: payload }];
        self.logs.append(&account, &region, group, &stream, events).await.map_err(|err| match err {
            wharf_logs::LogsError::Storage(_) => HandOffError::Unavailable(err.to_string()),
            other => HandOffError::Refused(other.to_string()),
        })
    }
}

#[async_trait]
impl wharf_events::TargetDelivery for RuleTargets {
    async fn deliver_target(&self, target: &TargetRow, rule_arn: &str, payload: String) -> Result<(), HandOffError> {
        if target.arn.contains(":api-destination/") && wharf_types::Arn::is_of(&target.arn, "events") {
            let events = self
                .events
                .get()
                .and_then(Weak::upgrade)
                .ok_or_else(|| HandOffError::Unavailable("the rules engine is not running".into()))?;
            if let (Some(role_arn), true) = (&target.role_arn, self.access.checks() != Checks::Off) {
                let actor = Actor::AssumedRole { role_arn, service: EVENTS, session: &target.id };
                self.access
                    .check(actor, "events:InvokeApiDestination", &target.arn)
                    .await
                    .map_err(HandOffError::Refused)?;
            }
            return self.api_destinations.deliver(&events, target, payload).await;
        }
        if wharf_events::rules::is_bus_arn(&target.arn) {
            return self.to_bus(target, rule_arn, payload).await;
        }
        if wharf_types::Arn::is_of(&target.arn, "logs") {
            return self.to_log_group(target, rule_arn, payload).await;
        }
        self.deliver(&target.arn, rule_arn, payload, target.message_group_id.clone()).await
    }

    async fn authorize_connection(&self, connection_arn: &str) {
        if let Some(events) = self.events.get().and_then(Weak::upgrade) {
            self.api_destinations.authorize(&events, connection_arn).await;
        }
    }

    async fn deliver(
        &self,
        target_arn: &str,
        rule_arn: &str,
        payload: String,
        message_group_id: Option<String>,
    ) -> Result<(), HandOffError> {
        if let Some(key) = QueueKey::from_arn(target_arn) {
            // A queue that does not exist is reported as missing, not as refusing EventBridge.
            self.sqs.policy(&key).await.map_err(queue_failure)?;
            self.allowed("sqs:SendMessage", target_arn, rule_arn).await?;
            let fifo = key.name.as_str().ends_with(".fifo");
            let input = SendInput {
                body: payload,
                message_group_id: message_group_id.or_else(|| fifo.then(|| "events".to_owned())),
                // FIFO queues without content-based deduplication need an id: one per delivery.
                message_deduplication_id: fifo.then(|| uuid::Uuid::new_v4().simple().to_string()),
                ..SendInput::default()
            };
            return self.send_as_events(&key, input).await;
        }
        if wharf_types::Arn::is_of(target_arn, "lambda") {
            self.allowed("lambda:InvokeFunction", target_arn, rule_arn).await?;
            let reference: FunctionRef = target_arn.parse().map_err(|err| HandOffError::Refused(format!("{err}")))?;
            let request = InvokeRequest {
                account: reference.account.clone().unwrap_or_default(),
                region: reference.region.clone().unwrap_or_default(),
                function: reference,
                qualifier: None,
                payload: Bytes::from(payload),
                client_context: None,
                want_tail: false,
            };
            return self.functions.invoke_async(request).await.map(|_| ()).map_err(function_failure);
        }
        Err(HandOffError::Refused(format!("unsupported target {target_arn}")))
    }

    async fn dead_letter(
        &self,
        queue_arn: &str,
        rule_arn: &str,
        payload: String,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), HandOffError> {
        let key = QueueKey::from_arn(queue_arn)
            .ok_or_else(|| HandOffError::Refused(format!("a dead-letter queue must be an SQS queue: {queue_arn}")))?;
        self.allowed("sqs:SendMessage", queue_arn, rule_arn).await?;
        let attributes = attributes.into_iter().map(|(name, value)| text_attribute(&name, value)).collect();
        self.send_as_events(&key, SendInput { body: payload, attributes, ..SendInput::default() }).await
    }
}
