//! Event source mappings at work: pollers that long-poll an SQS queue and invoke a function
//! with Lambda's SQS event, as Lambda's pollers do.
//!
//! A mapping starts with one poller. While pollers receive full batches, one more is started at
//! most every [`SCALE_UP_EVERY`], up to the mapping's `MaximumConcurrency` (1,000 without one);
//! a poller whose long polls come back empty twice in a row stops, down to one. Each poller is
//! one execution environment at work, so scaling out faster than environments finish their
//! batches would only add cold starts competing for the same cores. On success the batch is deleted; on a function
//! error or timeout nothing is deleted, so the messages come back after the queue's visibility
//! timeout and the queue's redrive policy applies. With `ReportBatchItemFailures`, only the
//! reported messages stay. Messages that match none of the mapping's filters are deleted
//! without an invocation, as Lambda does for SQS.
//!
//! A supervisor task reconciles the running pollers with the stored mappings whenever they
//! change, and stops them all on shutdown.

use crate::access::{Actor, Checks, ServiceAccess};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wharf_functions::{FunctionKey, Functions, Outcome};
use wharf_pattern::Pattern;
use wharf_queue::{AttributeValue, Engine, ReceiveInput, ReceivedMessage};
use wharf_store::functions::MappingRow;
use wharf_types::QueueKey;

/// The least time between two added pollers of one mapping.
pub const SCALE_UP_EVERY: Duration = Duration::from_millis(500);

/// The pollers of every enabled mapping.
pub struct MappingPollers {
    /// The user-facing SQS engine.
    pub sqs: Arc<Engine>,
    /// The functions engine.
    pub functions: Arc<Functions>,
    /// What the functions' execution roles may do.
    pub access: Arc<ServiceAccess>,
}

/// The settings that need a poller restart when they change.
fn signature(row: &MappingRow) -> String {
    format!(
        "{}|{}|{}|{}|{}|{:?}|{:?}|{:?}",
        row.event_source_arn,
        row.function,
        row.batch_size,
        row.maximum_batching_window_seconds,
        row.report_batch_item_failures,
        row.maximum_concurrency,
        row.filters,
        row.qualifier
    )
}

impl MappingPollers {
    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut changes = self.functions.watch_mappings();
        let mut running: HashMap<String, (String, watch::Sender<bool>)> = HashMap::new();
        loop {
            let desired: HashMap<String, MappingRow> = self
                .functions
                .all_mappings()
                .into_iter()
                .filter(|row| row.enabled)
                .map(|row| (row.uuid.clone(), row))
                .collect();
            running.retain(|uuid, (running_signature, cancel)| {
                let keep = desired.get(uuid).is_some_and(|row| signature(row) == *running_signature);
                if !keep {
                    let _ = cancel.send(true);
                }
                keep
            });
            for (uuid, row) in desired {
                if running.contains_key(&uuid) {
                    continue;
                }
                let (cancel, cancelled) = watch::channel(false);
                running.insert(uuid, (signature(&row), cancel));
                let engines = (Arc::clone(&self.sqs), Arc::clone(&self.functions), Arc::clone(&self.access));
                let mapping = Arc::new(Mapping::new(row, engines, cancelled));
                Mapping::spawn_poller(&mapping);
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = stop.changed() => break,
            }
        }
        for (_, (_, cancel)) in running {
            let _ = cancel.send(true);
        }
    }
}

/// One running mapping.
struct Mapping {
    row: MappingRow,
    queue: Option<QueueKey>,
    function: FunctionKey,
    filters: Vec<Pattern>,
    sqs: Arc<Engine>,
    functions: Arc<Functions>,
    access: Arc<ServiceAccess>,
    cancelled: watch::Receiver<bool>,
    pollers: AtomicUsize,
    /// When the last poller was added.
    scaled_at: std::sync::Mutex<Instant>,
}

impl Mapping {
    fn new(
        row: MappingRow,
        (sqs, functions, access): (Arc<Engine>, Arc<Functions>, Arc<ServiceAccess>),
        cancelled: watch::Receiver<bool>,
    ) -> Mapping {
        let filters = row.filters.iter().filter_map(|text| Pattern::parse(text).ok()).collect();
        Mapping {
            queue: QueueKey::from_arn(&row.event_source_arn),
            function: FunctionKey {
                account: row.account.clone(),
                region: row.region.clone(),
                name: row.function.clone(),
            },
            filters,
            row,
            sqs,
            functions,
            access,
            cancelled,
            pollers: AtomicUsize::new(0),
            scaled_at: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn limit(&self) -> usize {
        self.row.maximum_concurrency.map_or(1000, |limit| limit as usize)
    }

    fn spawn_poller(mapping: &Arc<Mapping>) {
        mapping.pollers.fetch_add(1, Ordering::AcqRel);
        let mapping = Arc::clone(mapping);
        tokio::spawn(async move {
            mapping.poll().await;
            mapping.pollers.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Whether enough time passed since the last added poller; claims the slot if so.
    fn scale_up_due(&self) -> bool {
        let mut scaled_at = self.scaled_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = scaled_at.elapsed() >= SCALE_UP_EVERY;
        if due {
            *scaled_at = Instant::now();
        }
        due
    }

    fn cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }

    async fn poll(self: &Arc<Self>) {
        let Some(queue) = self.queue.clone() else {
            self.functions.note_mapping_result(&self.row.uuid, "PROBLEM: the event source is not an SQS queue ARN");
            return;
        };
        let mut empty_polls = 0;
        while !self.cancelled() {
            if let Err(problem) = self.permitted("sqs:ReceiveMessage", &queue).await {
                self.functions.note_mapping_result(&self.row.uuid, &format!("PROBLEM: {problem}"));
                // The role may not read the queue: try again when IAM changes (a queue policy
                // change is seen at the next re-check), or when the mapping does.
                let mut changes = self.access.iam_changes();
                let mut cancelled = self.cancelled.clone();
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = cancelled.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
                continue;
            }
            let batch = match self.gather(&queue).await {
                Ok(batch) => batch,
                Err(problem) => {
                    self.functions.note_mapping_result(&self.row.uuid, &format!("PROBLEM: {problem}"));
                    // The queue is missing or broken: wait for a mapping change or a while.
                    let mut cancelled = self.cancelled.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = cancelled.changed() => {}
                    }
                    continue;
                }
            };
            if batch.is_empty() {
                empty_polls += 1;
                if empty_polls >= 2 && self.pollers.load(Ordering::Acquire) > 1 {
                    return;
                }
                continue;
            }
            empty_polls = 0;
            if batch.len() >= self.row.batch_size.min(10) as usize
                && self.pollers.load(Ordering::Acquire) < self.limit()
                && self.scale_up_due()
            {
                Mapping::spawn_poller(self);
            }
            self.process(&queue, batch).await;
        }
    }

    /// Receives up to a batch, within the batching window.
    async fn gather(&self, queue: &QueueKey) -> Result<Vec<ReceivedMessage>, String> {
        let batch_size = self.row.batch_size as usize;
        let window = Duration::from_secs(u64::from(self.row.maximum_batching_window_seconds));
        let mut batch: Vec<ReceivedMessage> = Vec::new();
        let mut deadline: Option<Instant> = None;
        loop {
            let wait_seconds = match deadline {
                None => 20,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    left.as_secs_f64().ceil().min(20.0) as i64
                }
            };
            let input = ReceiveInput {
                max_number_of_messages: Some((batch_size - batch.len()).min(10) as i64),
                visibility_timeout: None,
                wait_time_seconds: Some(wait_seconds),
                system_attribute_names: vec!["All".into()],
                message_attribute_names: vec!["All".into()],
                receive_request_attempt_id: None,
            };
            let mut cancelled = self.cancelled.clone();
            let received = tokio::select! {
                received = self.sqs.receive(queue, input) => received.map_err(|err| err.to_string())?,
                _ = cancelled.changed() => return Ok(batch),
            };
            if received.is_empty() && deadline.is_none() {
                return Ok(batch);
            }
            if deadline.is_none() && !received.is_empty() {
                deadline = Some(Instant::now() + window);
            }
            // A message whose visibility ran out while the batch gathered comes back with a new
            // receipt handle: keep one record per message, with the newest handle.
            for message in received {
                match batch.iter_mut().find(|kept| kept.data.message_id == message.data.message_id) {
                    Some(kept) => *kept = message,
                    None => batch.push(message),
                }
            }
            if batch.len() >= batch_size || window.is_zero() {
                break;
            }
        }
        Ok(batch)
    }

    async fn process(&self, queue: &QueueKey, batch: Vec<ReceivedMessage>) {
        let mut records = Vec::with_capacity(batch.len());
        let mut filtered_out = Vec::new();
        for message in &batch {
            let record = record_of(message, &self.row);
            if self.filters.is_empty() || self.filters.iter().any(|filter| filter.matches(&filter_view(&record))) {
                records.push((message.receipt_handle.clone(), message_id(message), record));
            } else {
                filtered_out.push(message.receipt_handle.clone());
            }
        }
        self.delete(queue, filtered_out).await;
        if records.is_empty() {
            return;
        }
        let resolved = match self.functions.resolve(&self.function, self.row.qualifier.as_deref()) {
            Ok(resolved) => resolved,
            Err(err) => {
                self.functions.note_mapping_result(&self.row.uuid, &format!("PROBLEM: {err}"));
                return;
            }
        };
        let event = json!({ "Records": records.iter().map(|(_, _, record)| record.clone()).collect::<Vec<_>>() });
        let request_id = uuid::Uuid::new_v4().hyphenated().to_string();
        let result = self.functions.run(&resolved, request_id, Bytes::from(event.to_string()), None, false, true).await;
        let delete: Vec<String> = match result {
            Ok(result) => match &result.outcome {
                Outcome::Response(payload) if self.row.report_batch_item_failures => {
                    match failed_items(payload, &records) {
                        Some(failed) => records
                            .iter()
                            .filter(|(_, id, _)| !failed.contains(id))
                            .map(|(handle, _, _)| handle.clone())
                            .collect(),
                        None => Vec::new(),
                    }
                }
                Outcome::Response(_) => records.iter().map(|(handle, _, _)| handle.clone()).collect(),
                Outcome::Error { .. } => Vec::new(),
            },
            Err(err) => {
                self.functions.note_mapping_result(&self.row.uuid, &format!("PROBLEM: {err}"));
                Vec::new()
            }
        };
        tracing::info!(
            mapping = %self.row.uuid,
            function = %self.row.function,
            records = records.len(),
            deleted = delete.len(),
            "mapping batch"
        );
        if !delete.is_empty() {
            self.functions.note_mapping_result(&self.row.uuid, "OK");
        }
        self.delete(queue, delete).await;
    }

    /// Whether the function's execution role may perform `action` on the queue (auth checked).
    async fn permitted(&self, action: &str, queue: &QueueKey) -> Result<(), String> {
        if self.access.checks() == Checks::Off {
            return Ok(());
        }
        let writer = self
            .functions
            .resolve(&self.function, self.row.qualifier.as_deref())
            .map_err(|err| err.to_string())?
            .writer();
        let actor = Actor::Role { role_arn: &writer.role_arn, function_arn: &writer.function_arn };
        self.access.check(actor, action, &queue.arn()).await
    }

    async fn delete(&self, queue: &QueueKey, handles: Vec<String>) {
        if handles.is_empty() || self.permitted("sqs:DeleteMessage", queue).await.is_err() {
            // Undeleted, the messages come back after their visibility timeout, as on Lambda.
            return;
        }
        for chunk in handles.chunks(10) {
            let entries = chunk.iter().enumerate().map(|(index, handle)| (index.to_string(), handle.clone())).collect();
            if let Err(err) = self.sqs.delete_batch(queue, entries).await {
                tracing::warn!(error = %err, mapping = %self.row.uuid, "deleting a processed batch failed");
            }
        }
    }
}

fn message_id(message: &ReceivedMessage) -> String {
    uuid::Uuid::from_bytes(message.data.message_id).hyphenated().to_string()
}

/// One record of Lambda's SQS event.
pub fn record_of(message: &ReceivedMessage, row: &MappingRow) -> Value {
    let mut attributes = Map::new();
    for (name, value) in &message.attributes {
        attributes.insert((*name).to_owned(), Value::from(value.clone()));
    }
    let mut message_attributes = Map::new();
    for attribute in message.message_attributes() {
        let mut entry = Map::new();
        match &attribute.value {
            AttributeValue::String(text) => {
                entry.insert("stringValue".into(), Value::from(text.clone()));
            }
            AttributeValue::Binary(bytes) => {
                use base64::Engine as _;
                entry
                    .insert("binaryValue".into(), Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)));
            }
        }
        entry.insert("stringListValues".into(), json!([]));
        entry.insert("binaryListValues".into(), json!([]));
        entry.insert("dataType".into(), Value::from(attribute.data_type.clone()));
        message_attributes.insert(attribute.name.clone(), Value::Object(entry));
    }
    let mut record = json!({
        "messageId": message_id(message),
        "receiptHandle": message.receipt_handle,
        "body": &*message.data.body,
        "attributes": Value::Object(attributes),
        "messageAttributes": Value::Object(message_attributes),
        "md5OfBody": hex::encode(message.data.body_md5),
        "eventSource": "aws:sqs",
        "eventSourceARN": row.event_source_arn,
        "awsRegion": row.region,
    });
    if let Some(md5) = &message.selected_attributes_md5 {
        record["md5OfMessageAttributes"] = Value::from(hex::encode(md5));
    }
    record
}

/// What filters see: the record, with a JSON body parsed (Lambda filters match `body` fields
/// of JSON bodies, and the raw string otherwise).
fn filter_view(record: &Value) -> Value {
    let mut view = record.clone();
    if let Some(body) = record.get("body").and_then(Value::as_str) {
        if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(body) {
            view["body"] = parsed;
        }
    }
    view
}

/// The message ids a `ReportBatchItemFailures` response names, or `None` when the response
/// makes the whole batch a failure (an item without an id, or an id not in the batch).
fn failed_items(payload: &[u8], records: &[(String, String, Value)]) -> Option<Vec<String>> {
    let Ok(response) = serde_json::from_slice::<Value>(payload) else { return None };
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(failures)) => failures,
        Some(_) => return None,
    };
    let mut failed = Vec::new();
    for failure in failures {
        let id = failure.get("itemIdentifier").and_then(Value::as_str).filter(|id| !id.is_empty())?;
        if !records.iter().any(|(_, message_id, _)| message_id == id) {
            return None;
        }
        failed.push(id.to_owned());
    }
    Some(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<(String, String, Value)> {
        vec![("h1".into(), "m1".into(), Value::Null), ("h2".into(), "m2".into(), Value::Null)]
    }

    #[test]
    fn batch_item_failures_follow_lambda() {
        let check = |payload: &str| failed_items(payload.as_bytes(), &records());
        assert_eq!(check("null"), Some(vec![]));
        assert_eq!(check("{}"), Some(vec![]));
        assert_eq!(check(r#"{"batchItemFailures": []}"#), Some(vec![]));
        assert_eq!(check(r#"{"batchItemFailures": null}"#), Some(vec![]));
        assert_eq!(check(r#"{"batchItemFailures": [{"itemIdentifier": "m2"}]}"#), Some(vec!["m2".into()]));
        assert_eq!(check(r#"{"batchItemFailures": [{"itemIdentifier": "other"}]}"#), None);
        assert_eq!(check(r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#), None);
        assert_eq!(check(r#"{"batchItemFailures": [{"id": "m1"}]}"#), None);
        assert_eq!(check("not json"), None);
    }
}
