//! Message move tasks: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
//!
//! A task moves the messages of a dead-letter queue back to the queues they came from (their
//! `DeadLetterQueueSourceArn`) or to a named destination, at most `MaxNumberOfMessagesPerSecond`
//! a second. Each step receives up to ten messages from the dead-letter queue, sends each to its
//! destination and then deletes it: a crash between the send and the delete can move a message
//! twice, never lose one. The task's state lives in the source queue's record, so a running task
//! resumes after a restart. See
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html>.

use crate::{AttributeInput, Caller, Engine, QueueError, ReceiveInput, SendInput};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;
use wharf_store::{AttributeValue, MoveTask};
use wharf_types::QueueKey;

/// Status of a task that is moving messages.
pub const RUNNING: &str = "RUNNING";
const CANCELLING: &str = "CANCELLING";
const CANCELLED: &str = "CANCELLED";
const COMPLETED: &str = "COMPLETED";
const FAILED: &str = "FAILED";

/// How many finished tasks a queue remembers (AWS lists up to ten).
const KEPT_TASKS: usize = 10;

/// Encodes a task handle as SQS does: base64 of `{"taskId": …, "sourceArn": …}`.
fn encode_handle(source_arn: &str, task_id: &str) -> String {
    STANDARD.encode(serde_json::json!({ "taskId": task_id, "sourceArn": source_arn }).to_string())
}

/// What a task handle says.
enum Handle {
    /// Not a task handle at all.
    Malformed,
    /// A well-formed handle whose source ARN names no queue wharf could hold.
    UnknownSource,
    /// The source queue of the task.
    Source(QueueKey),
}

fn parse_handle(handle: &str) -> Handle {
    let decoded = STANDARD.decode(handle).ok().or_else(|| URL_SAFE_NO_PAD.decode(handle).ok());
    let Some(text) = decoded.and_then(|bytes| String::from_utf8(bytes).ok()) else { return Handle::Malformed };
    let fields = serde_json::from_str::<serde_json::Value>(&text).ok();
    let field = |name: &str| fields.as_ref().and_then(|fields| fields.get(name)?.as_str().map(str::to_owned));
    let arn = match (field("taskId"), field("sourceArn")) {
        (Some(task_id), Some(arn)) if !task_id.is_empty() => arn,
        // Handles of wharf before 0.2 (`v1:ARN|ID`, base64url), for tasks a data directory kept.
        _ => match text.strip_prefix("v1:").and_then(|rest| rest.split_once('|')) {
            Some((arn, _)) => arn.to_owned(),
            None => return Handle::Malformed,
        },
    };
    QueueKey::from_arn(&arn).map_or(Handle::UnknownSource, Handle::Source)
}

/// The `FailureReason` of a task that stopped on `err`: the error's code, as SQS reports it.
fn failure_code(err: &QueueError) -> &'static str {
    match err {
        QueueError::QueueDoesNotExist | QueueError::ResourceNotFound(_) => "AWS.SimpleQueueService.NonExistentQueue",
        QueueError::InvalidParameterValue(_) | QueueError::MissingParameter(_) => "InvalidParameterValue",
        QueueError::InvalidAttributeValue(_)
        | QueueError::InvalidAttributeName(_)
        | QueueError::FifoOnlyAttribute(_) => "InvalidAttributeValue",
        QueueError::InvalidMessageContents(_) => "InvalidMessageContents",
        QueueError::OverLimit(_) => "OverLimit",
        _ => "InternalFailure",
    }
}

fn not_found(what: &str) -> QueueError {
    QueueError::ResourceNotFound(format!("The resource that you specified for the {what} parameter doesn't exist."))
}

impl Engine {
    /// StartMessageMoveTask.
    pub async fn start_move_task(
        self: &Arc<Self>,
        source_arn: &str,
        destination_arn: Option<String>,
        max_per_second: Option<i64>,
    ) -> Result<String, QueueError> {
        let max_per_second = match max_per_second {
            None => None,
            Some(rate @ 1..=500) => Some(rate as u32),
            Some(other) => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value {other} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
                )))
            }
        };
        let source = QueueKey::from_arn(source_arn).ok_or_else(|| not_found("SourceArn"))?;
        let record = self.store.queue(&source).await?.ok_or_else(|| not_found("SourceArn"))?;
        if self.dead_letter_sources(&source).await?.is_empty() {
            return Err(QueueError::InvalidParameterValue(
                "Source queue must be configured as a Dead Letter Queue.".into(),
            ));
        }
        if let Some(destination) = &destination_arn {
            let key = QueueKey::from_arn(destination).ok_or_else(|| not_found("DestinationArn"))?;
            let destination_record = self.store.queue(&key).await?.ok_or_else(|| not_found("DestinationArn"))?;
            if destination_record.settings.fifo_queue != record.settings.fifo_queue {
                return Err(QueueError::InvalidParameterValue(
                    "The destination queue must be of the same type as the source queue.".into(),
                ));
            }
        }
        let stats = self.store.stats(record.id, self.now()).await?;
        let handle = encode_handle(&source.arn(), &uuid::Uuid::new_v4().simple().to_string());
        let task = MoveTask {
            handle: handle.clone(),
            status: RUNNING.into(),
            source_arn: source.arn(),
            destination_arn,
            max_per_second,
            moved: 0,
            to_move: stats.visible + stats.delayed,
            failure_reason: None,
            started_ms: self.now(),
        };
        self.update(&source, |record| {
            if record.settings.move_tasks.iter().any(|task| task.status == RUNNING || task.status == CANCELLING) {
                return Err(QueueError::InvalidParameterValue(
                    "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
                        .into(),
                ));
            }
            record.settings.move_tasks.push(task.clone());
            let excess = record.settings.move_tasks.len().saturating_sub(KEPT_TASKS);
            record.settings.move_tasks.drain(..excess);
            Ok(())
        })
        .await?;
        tokio::spawn(Arc::clone(self).run_move_task(source, handle.clone()));
        Ok(handle)
    }

    /// ListMessageMoveTasks: the most recent tasks of a source queue, newest first.
    pub async fn list_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<MoveTask>, QueueError> {
        let max = match max_results {
            None => 1,
            Some(max @ 1..=10) => max as usize,
            Some(other) => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value {other} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
                )))
            }
        };
        let source = QueueKey::from_arn(source_arn).ok_or_else(|| not_found("SourceArn"))?;
        let record = self.store.queue(&source).await?.ok_or_else(|| not_found("SourceArn"))?;
        Ok(record.settings.move_tasks.iter().rev().take(max).cloned().collect())
    }

    /// CancelMessageMoveTask: returns how many messages moved so far.
    pub async fn cancel_move_task(&self, handle: &str) -> Result<u64, QueueError> {
        let missing = || QueueError::ResourceNotFound("Task does not exist.".into());
        let source = match parse_handle(handle) {
            Handle::Malformed => {
                return Err(QueueError::InvalidParameterValue("Value for parameter TaskHandle is invalid.".into()))
            }
            Handle::UnknownSource => return Err(not_found("SourceArn")),
            Handle::Source(source) => source,
        };
        if self.store.queue(&source).await?.is_none() {
            return Err(not_found("SourceArn"));
        }
        let mut moved = 0;
        self.update(&source, |record| {
            let task = record.settings.move_tasks.iter_mut().find(|task| task.handle == handle).ok_or_else(missing)?;
            if task.status != RUNNING {
                return Err(QueueError::InvalidParameterValue("Only a running task can be cancelled.".into()));
            }
            task.status = CANCELLING.into();
            moved = task.moved;
            Ok(())
        })
        .await
        .map_err(|err| if err == QueueError::QueueDoesNotExist { missing() } else { err })?;
        Ok(moved)
    }

    /// Restarts the workers of tasks that were running when wharf stopped.
    pub async fn resume_move_tasks(self: &Arc<Self>) -> Result<usize, QueueError> {
        let mut resumed = 0;
        for record in self.store.all_queues().await? {
            for task in &record.settings.move_tasks {
                if task.status == RUNNING || task.status == CANCELLING {
                    tokio::spawn(Arc::clone(self).run_move_task(record.key.clone(), task.handle.clone()));
                    resumed += 1;
                }
            }
        }
        Ok(resumed)
    }

    /// Changes the task `handle` of `source` with `change`; returns its state afterwards.
    async fn update_task(
        &self,
        source: &QueueKey,
        handle: &str,
        change: impl Fn(&mut MoveTask),
    ) -> Result<Option<MoveTask>, QueueError> {
        let mut found = None;
        self.update(source, |record| {
            found = record.settings.move_tasks.iter_mut().find(|task| task.handle == handle).map(|task| {
                change(task);
                task.clone()
            });
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// The worker of one task: runs until the source is empty, the task is cancelled or a move
    /// fails.
    async fn run_move_task(self: Arc<Self>, source: QueueKey, handle: String) {
        tracing::info!(source = %source.arn(), "message move task running");
        if let Err(err) = self.move_until_done(&source, &handle).await {
            tracing::info!(source = %source.arn(), error = %err, "message move task failed");
            let reason = failure_code(&err);
            let _ = self
                .update_task(&source, &handle, |task| {
                    task.status = FAILED.into();
                    task.failure_reason = Some(reason.to_owned());
                })
                .await;
        }
    }

    async fn move_until_done(&self, source: &QueueKey, handle: &str) -> Result<(), QueueError> {
        let mut shutdown = self.shutdown.subscribe();
        loop {
            if *shutdown.borrow() {
                // Still RUNNING on disk: the next start resumes it.
                return Ok(());
            }
            let record = self.record(source).await?;
            let Some(task) = record.settings.move_tasks.iter().find(|task| task.handle == handle).cloned() else {
                return Ok(());
            };
            if task.status == CANCELLING {
                self.update_task(source, handle, |task| task.status = CANCELLED.into()).await?;
                return Ok(());
            }
            if task.status != RUNNING {
                return Ok(());
            }
            let batch = task.max_per_second.map_or(10, |rate| rate.clamp(1, 10) as i64);
            let input = ReceiveInput {
                max_number_of_messages: Some(batch),
                visibility_timeout: Some(60),
                wait_time_seconds: Some(0),
                system_attribute_names: vec!["All".into()],
                message_attribute_names: vec!["All".into()],
                receive_request_attempt_id: None,
            };
            let started = tokio::time::Instant::now();
            let messages = self.receive(source, input).await?;
            if messages.is_empty() {
                self.update_task(source, handle, |task| task.status = COMPLETED.into()).await?;
                tracing::info!(source = %source.arn(), destination = task.destination_arn.as_deref().unwrap_or("the sources"), moved = task.moved, "message move task completed");
                return Ok(());
            }
            let count = messages.len();
            let mut moved = 0;
            let mut outcome = Ok(());
            for message in &messages {
                if let Err(err) = self.move_one(source, &task, message).await {
                    outcome = Err(err);
                    break;
                }
                moved += 1;
            }
            // Every message moved counts, also those before a failure.
            self.update_task(source, handle, |task| task.moved += moved).await?;
            if let Err(err) = outcome {
                // The message that failed and those after it stay, visible again.
                for message in messages.iter().skip(moved as usize) {
                    let _ = self.change_visibility(source, &message.receipt_handle, 0).await;
                }
                return Err(err);
            }
            debug_assert_eq!(moved as usize, count);
            if let Some(rate) = task.max_per_second {
                let pace = Duration::from_secs_f64(count as f64 / f64::from(rate.max(1)));
                tokio::select! {
                    _ = tokio::time::sleep_until(started + pace) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Sends one message of the source to its destination, then deletes it from the source.
    async fn move_one(
        &self,
        source: &QueueKey,
        task: &MoveTask,
        message: &crate::ReceivedMessage,
    ) -> Result<(), QueueError> {
        let destination_arn = match &task.destination_arn {
            Some(arn) => arn.clone(),
            None => message.data.dead_letter_source.as_deref().map(str::to_owned).ok_or_else(|| {
                QueueError::InvalidParameterValue(
                    "A message has no DeadLetterQueueSourceArn to return to; name a DestinationArn".into(),
                )
            })?,
        };
        let destination = QueueKey::from_arn(&destination_arn).ok_or_else(|| not_found("DestinationArn"))?;
        let data = &message.data;
        let attributes = message
            .message_attributes()
            .map(|attribute| {
                let (string_value, binary_value) = match &attribute.value {
                    AttributeValue::String(text) => (Some(text.clone()), None),
                    AttributeValue::Binary(bytes) => (None, Some(bytes.clone())),
                };
                AttributeInput {
                    name: attribute.name.clone(),
                    data_type: Some(attribute.data_type.clone()),
                    string_value,
                    binary_value,
                }
            })
            .collect();
        let input = SendInput {
            body: data.body.to_string(),
            delay_seconds: None,
            attributes,
            system_attributes: Vec::new(),
            message_group_id: data.group.as_ref().map(|group| group.group_id.clone()),
            message_deduplication_id: data.group.as_ref().and_then(|group| group.deduplication_id.clone()),
        };
        let caller = Caller {
            account: destination.account.clone(),
            region: destination.region.clone(),
            sender_id: Arc::clone(&data.sender_id),
        };
        self.send(&destination, &caller, input).await?;
        self.delete(source, &message.receipt_handle).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_name_their_source() {
        let handle = encode_handle("arn:aws:sqs:us-east-1:000000000000:dlq", "abc");
        let decoded: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&handle).expect("base64")).expect("json");
        assert_eq!(
            decoded,
            serde_json::json!({"taskId": "abc", "sourceArn": "arn:aws:sqs:us-east-1:000000000000:dlq"})
        );
        let Handle::Source(source) = parse_handle(&handle) else { panic!("names its source") };
        assert_eq!(source.name.as_str(), "dlq");
        assert!(matches!(parse_handle("garbage"), Handle::Malformed));
        let foreign = STANDARD.encode(r#"{"taskId":"t","sourceArn":"not an arn"}"#);
        assert!(matches!(parse_handle(&foreign), Handle::UnknownSource));
        let legacy = URL_SAFE_NO_PAD.encode("v1:arn:aws:sqs:us-east-1:000000000000:old|id");
        assert!(matches!(parse_handle(&legacy), Handle::Source(key) if key.name.as_str() == "old"));
    }
}
