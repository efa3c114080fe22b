//! The wharf SQS engine: queue semantics above a [`QueueStore`].
//!
//! The engine validates inputs, fills in queue defaults, computes digests, mints receipt
//! handles and makes long polls wait for notifications. It knows nothing of HTTP, JSON or XML:
//! the protocol crate decodes requests into the input types here and renders the outputs.
//! Visibility, delay and retention bookkeeping belong to the store.
//!
//! # Layout
//! - [`attributes`]: queue attribute names and values.
//! - [`message`]: validation of bodies and message attributes.
//! - [`digest`]: the MD5 digests SQS returns.
//! - [`receipt`]: the receipt-handle format.
//! - [`policy`]: AddPermission and RemovePermission edits of the queue policy.
//! - [`move_task`]: message move tasks out of dead-letter queues.
//! - [`error`]: the engine's error type.

pub mod attributes;
pub mod digest;
pub mod error;
pub mod message;
pub mod move_task;
pub mod policy;
pub mod receipt;

pub use error::QueueError;
pub use message::AttributeInput;
pub use wharf_store::{AttributeValue, Attributes, MessageAttribute, MessageData, MoveTask};

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use wharf_store::*;
use wharf_types::{AccountId, Clock, EpochMillis, QueueKey, QueueName, Region};

/// The largest total payload of a SendMessageBatch, and the largest message.
pub const MAX_PAYLOAD: usize = 1_048_576;
/// The largest visibility timeout, 12 hours.
pub const MAX_VISIBILITY_SECONDS: i64 = 43_200;

/// Engine settings that AWS fixes but users of a local server may want to relax.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How long a deleted queue's name stays unavailable (AWS: 60 s).
    pub queue_name_reuse_delay: Duration,
    /// The least time between two PurgeQueue calls on one queue (AWS: 60 s).
    pub purge_interval: Duration,
    /// The secret that authenticates receipt handles; keep it with the data so handles stay
    /// valid across restarts.
    pub receipt_key: receipt::ReceiptKey,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            queue_name_reuse_delay: Duration::from_secs(60),
            purge_interval: Duration::from_secs(60),
            receipt_key: receipt::ReceiptKey::random(),
        }
    }
}

/// Who is calling, as the protocol layer established it.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The caller's account.
    pub account: AccountId,
    /// The region the request was signed for.
    pub region: Region,
    /// What `SenderId` reports for messages this caller sends.
    pub sender_id: Arc<str>,
}

/// One message to send.
#[derive(Clone, Debug, Default)]
pub struct SendInput {
    /// The body.
    pub body: String,
    /// Per-message delay; the queue's delay when absent.
    pub delay_seconds: Option<i64>,
    /// User attributes.
    pub attributes: Vec<AttributeInput>,
    /// System attributes (AWSTraceHeader).
    pub system_attributes: Vec<AttributeInput>,
    /// FIFO group, or fair-queue tenant on a standard queue.
    pub message_group_id: Option<String>,
    /// FIFO deduplication id.
    pub message_deduplication_id: Option<String>,
}

/// What a send returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The new message's id.
    pub message_id: String,
    /// Hex MD5 of the body.
    pub body_md5: String,
    /// Hex MD5 of the user attributes, when any.
    pub attributes_md5: Option<String>,
    /// Hex MD5 of the system attributes, when any.
    pub system_attributes_md5: Option<String>,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
}

/// A receive's parameters as the client sent them.
#[derive(Clone, Debug, Default)]
pub struct ReceiveInput {
    /// 1 to 10; 1 when absent.
    pub max_number_of_messages: Option<i64>,
    /// Hide received messages this long; the queue's default when absent.
    pub visibility_timeout: Option<i64>,
    /// Long-poll wait; the queue's default when absent.
    pub wait_time_seconds: Option<i64>,
    /// System attributes to return (`AttributeNames` and `MessageSystemAttributeNames`).
    pub system_attribute_names: Vec<String>,
    /// User attributes to return: names, `All`, `.*`, `*` or `prefix.*`.
    pub message_attribute_names: Vec<String>,
    /// FIFO retry token.
    pub receive_request_attempt_id: Option<String>,
}

/// A received message, ready to render.
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    /// The stored message.
    pub data: Arc<MessageData>,
    /// This receive's handle.
    pub receipt_handle: String,
    /// The system attributes asked for, in name order.
    pub attributes: Vec<(&'static str, String)>,
    /// Indexes of the user attributes asked for, into `data.attributes`.
    pub selected_attributes: Vec<usize>,
    /// MD5 of the selected user attributes, when any.
    pub selected_attributes_md5: Option<[u8; 16]>,
}

impl ReceivedMessage {
    /// The selected user attributes.
    pub fn message_attributes(&self) -> impl Iterator<Item = &MessageAttribute> {
        let entries = self.data.attributes.as_ref().map(|attributes| &attributes.entries[..]).unwrap_or(&[]);
        self.selected_attributes.iter().filter_map(move |&idx| entries.get(idx))
    }
}

/// One entry of a batch call: the client's id and the entry's input.
pub type BatchEntry<T> = (String, T);

/// The SQS engine.
pub struct Engine {
    store: Arc<dyn QueueStore>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// One notifier per queue that has had a waiting receiver: sends and visibility changes
    /// wake the waiters, who then race for the messages.
    waiters: Mutex<HashMap<QueueId, Arc<Notify>>>,
    /// Flips to true at shutdown, ending every long poll early.
    shutdown: watch::Sender<bool>,
    /// FIFO receives by `ReceiveRequestAttemptId`, for retries within five minutes. Kept in
    /// memory only: after a restart a retry is a new receive.
    attempts: Mutex<HashMap<(QueueId, String), Attempt>>,
}

/// A FIFO receive remembered by its attempt id: until when, and what it returned.
type Attempt = (tokio::time::Instant, Vec<ReceivedMessage>);

/// How long a `ReceiveRequestAttemptId` can be retried.
const ATTEMPT_WINDOW: Duration = Duration::from_secs(300);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

fn hex16(bytes: &[u8; 16]) -> String {
    hex::encode(bytes)
}

/// A message id as SQS prints it, a hyphenated UUID.
pub fn message_id_text(bytes: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*bytes).hyphenated().to_string()
}

fn check_batch_ids<T>(entries: &[BatchEntry<T>], entry_name: &str) -> Result<(), QueueError> {
    if entries.is_empty() {
        return Err(QueueError::EmptyBatchRequest(entry_name.into()));
    }
    if entries.len() > 10 {
        return Err(QueueError::TooManyEntriesInBatchRequest(entries.len()));
    }
    let mut seen = HashSet::new();
    for (id, _) in entries {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid {
            return Err(QueueError::InvalidBatchEntryId);
        }
        if !seen.insert(id.as_str()) {
            return Err(QueueError::BatchEntryIdsNotDistinct(id.clone()));
        }
    }
    Ok(())
}

/// System attribute names a receive may ask for.
const SYSTEM_ATTRIBUTE_NAMES: &[&str] = &[
    "All",
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

impl Engine {
    /// An engine over `store`.
    pub fn new(store: Arc<dyn QueueStore>, clock: Arc<dyn Clock>, config: EngineConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        Engine {
            store,
            clock,
            config,
            waiters: Mutex::new(HashMap::new()),
            shutdown,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Ends every long poll now and makes new ones return at once.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    fn now(&self) -> EpochMillis {
        self.clock.now_millis()
    }

    fn notifier(&self, queue: QueueId) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(waiters.entry(queue).or_default())
    }

    /// Wakes every waiting long poll to look at its queue again: after the clock moved (see
    /// `wharf serve --test-clock`), messages may have become visible.
    pub fn wake_all(&self) {
        let waiters = self.waiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for notify in waiters.values() {
            notify.notify_waiters();
        }
    }

    fn wake(&self, queue: QueueId) {
        let waiters = self.waiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(notify) = waiters.get(&queue) {
            notify.notify_waiters();
        }
    }

    async fn record(&self, key: &QueueKey) -> Result<QueueRecord, QueueError> {
        self.store.queue(key).await?.ok_or(QueueError::QueueDoesNotExist)
    }

    /// CreateQueue: creates the queue or returns the existing one when the given attributes
    /// match.
    pub async fn create_queue(
        &self,
        key: QueueKey,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueRecord, QueueError> {
        let mut settings = QueueSettings::default();
        attributes::apply(&mut settings, &attributes, attributes::Phase::Create, key.name.is_fifo())?;
        check_tags(&tags)?;
        self.check_dead_letter_target(&key, &settings).await?;
        let reuse_after_ms = self.config.queue_name_reuse_delay.as_millis() as u64;
        let new_queue = NewQueue { key, settings: settings.clone(), tags, now: self.now() };
        match self.store.create_queue(new_queue, reuse_after_ms).await? {
            CreateOutcome::Created(record) => Ok(record),
            CreateOutcome::Exists(record) => {
                match attributes::first_difference(&record.settings, &settings, &attributes) {
                    None => Ok(record),
                    Some(name) => Err(QueueError::QueueNameExists(name)),
                }
            }
            CreateOutcome::DeletedRecently => Err(QueueError::QueueDeletedRecently(reuse_after_ms / 1000)),
        }
    }

    /// GetQueueUrl: whether the queue exists.
    pub async fn get_queue(&self, key: &QueueKey) -> Result<QueueRecord, QueueError> {
        self.record(key).await
    }

    /// ListQueues: names with `prefix`, sorted.
    pub async fn list_queues(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
    ) -> Result<Vec<QueueName>, QueueError> {
        let records = self.store.list_queues(account, region, prefix).await?;
        Ok(records.into_iter().map(|record| record.key.name).collect())
    }

    /// The engine's time, epoch milliseconds.
    pub fn now_millis(&self) -> EpochMillis {
        self.now()
    }

    /// Every queue of every account with its message counts, for `GET /metrics`.
    pub async fn all_stats(&self) -> Result<Vec<(QueueKey, wharf_store::QueueStats)>, QueueError> {
        let now = self.now();
        let mut listed = Vec::new();
        for record in self.store.all_queues().await? {
            let stats = self.store.stats(record.id, now).await?;
            listed.push((record.key, stats));
        }
        Ok(listed)
    }

    /// DeleteQueue.
    pub async fn delete_queue(&self, key: &QueueKey) -> Result<(), QueueError> {
        let record = self.record(key).await?;
        if !self.store.delete_queue(key, self.now()).await? {
            return Err(QueueError::QueueDoesNotExist);
        }
        self.wake(record.id);
        self.waiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&record.id);
        Ok(())
    }

    /// GetQueueAttributes.
    /// The queue's `Policy` document, if it has one (for authorization: no counts are read).
    pub async fn policy(&self, key: &QueueKey) -> Result<Option<String>, QueueError> {
        Ok(self.record(key).await?.settings.policy)
    }

    pub async fn get_attributes(&self, key: &QueueKey, names: &[String]) -> Result<Vec<(String, String)>, QueueError> {
        let record = self.record(key).await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let stats = self.store.stats(record.id, self.now()).await?;
        attributes::report(&record, stats, names)
    }

    /// Reads, changes and writes a queue record, retrying when another update got there
    /// first.
    async fn update(
        &self,
        key: &QueueKey,
        mut change: impl FnMut(&mut QueueRecord) -> Result<(), QueueError>,
    ) -> Result<QueueRecord, QueueError> {
        for _ in 0..16 {
            let mut record = self.record(key).await?;
            change(&mut record)?;
            match self.store.update_queue(record).await {
                Ok(stored) => return Ok(stored),
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(QueueError::Storage("queue record kept changing; retry".into()))
    }

    /// Checks that a dead-letter policy names an existing queue of the same type, in the same
    /// account and region, that allows `source` to use it.
    async fn check_dead_letter_target(&self, source: &QueueKey, settings: &QueueSettings) -> Result<(), QueueError> {
        let Some(dead_letter) = &settings.dead_letter else {
            return Ok(());
        };
        let invalid = |reason: &str| {
            QueueError::InvalidParameterValue(format!(
                "Value {} for parameter RedrivePolicy is invalid. Reason: {reason}",
                settings.redrive_policy.as_deref().unwrap_or_default()
            ))
        };
        let target = QueueKey::from_arn(&dead_letter.target_arn)
            .filter(|target| target.account == source.account && target.region == source.region)
            .ok_or_else(|| invalid("Dead letter target does not exist."))?;
        if &target == source {
            return Err(invalid("A queue cannot be its own dead-letter queue."));
        }
        let target = self.store.queue(&target).await?.ok_or_else(|| invalid("Dead letter target does not exist."))?;
        if target.settings.fifo_queue != settings.fifo_queue {
            return Err(invalid("Dead-letter queue must be same type of queue as the source."));
        }
        if let Some(allow) = &target.settings.redrive_allow_policy {
            if !attributes::RedriveAllow::parse(allow)?.allows(&source.arn()) {
                return Err(invalid(
                    "Queue does not allow this queue to use it as a dead-letter queue (RedriveAllowPolicy).",
                ));
            }
        }
        Ok(())
    }

    /// ListDeadLetterSourceQueues: names of the queues whose dead-letter policy targets `key`,
    /// sorted.
    pub async fn dead_letter_sources(&self, key: &QueueKey) -> Result<Vec<QueueName>, QueueError> {
        let record = self.record(key).await?;
        let arn = record.key.arn();
        let records = self.store.list_queues(&key.account, &key.region, "").await?;
        Ok(records
            .into_iter()
            .filter(|candidate| candidate.settings.dead_letter.as_ref().is_some_and(|policy| policy.target_arn == arn))
            .map(|candidate| candidate.key.name)
            .collect())
    }

    /// SetQueueAttributes.
    pub async fn set_attributes(&self, key: &QueueKey, attributes: BTreeMap<String, String>) -> Result<(), QueueError> {
        let now = self.now();
        let is_fifo = key.name.is_fifo();
        if attributes.contains_key("RedrivePolicy") {
            let mut settings = self.record(key).await?.settings;
            attributes::apply(&mut settings, &attributes, attributes::Phase::Update, is_fifo)?;
            self.check_dead_letter_target(key, &settings).await?;
        }
        self.update(key, |record| {
            attributes::apply(&mut record.settings, &attributes, attributes::Phase::Update, is_fifo)?;
            record.modified_ms = now;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// TagQueue.
    pub async fn tag(&self, key: &QueueKey, tags: BTreeMap<String, String>) -> Result<(), QueueError> {
        check_tags(&tags)?;
        self.update(key, |record| {
            record.tags.extend(tags.clone());
            if record.tags.len() > 50 {
                return Err(QueueError::InvalidParameterValue(
                    "Too many tags added for queue. A queue can have at most 50 tags.".into(),
                ));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// UntagQueue.
    pub async fn untag(&self, key: &QueueKey, tag_keys: &[String]) -> Result<(), QueueError> {
        if tag_keys.is_empty() {
            return Err(QueueError::MissingParameter("TagKeys".into()));
        }
        self.update(key, |record| {
            for tag_key in tag_keys {
                record.tags.remove(tag_key);
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// ListQueueTags.
    pub async fn tags(&self, key: &QueueKey) -> Result<BTreeMap<String, String>, QueueError> {
        Ok(self.record(key).await?.tags)
    }

    /// AddPermission.
    pub async fn add_permission(
        &self,
        key: &QueueKey,
        label: &str,
        account_ids: &[String],
        actions: &[String],
    ) -> Result<(), QueueError> {
        self.update(key, |record| {
            let policy = policy::add(record.settings.policy.as_deref(), key, label, account_ids, actions)?;
            record.settings.policy = Some(policy);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// RemovePermission.
    pub async fn remove_permission(&self, key: &QueueKey, label: &str) -> Result<(), QueueError> {
        self.update(key, |record| {
            record.settings.policy = policy::remove(record.settings.policy.as_deref(), label)?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// PurgeQueue.
    pub async fn purge(&self, key: &QueueKey) -> Result<(), QueueError> {
        let record = self.record(key).await?;
        let now = self.now();
        let interval_ms = self.config.purge_interval.as_millis() as u64;
        if let Some(last) = record.last_purge_ms {
            if now < last.saturating_add(interval_ms) {
                return Err(QueueError::PurgeQueueInProgress(key.name.to_string()));
            }
        }
        self.store.purge(record.id, now).await?;
        Ok(())
    }

    /// Validates one message and prepares it for the store.
    fn prepare(
        &self,
        record: &QueueRecord,
        caller: &Caller,
        input: SendInput,
        now: EpochMillis,
    ) -> Result<(NewMessage, Sent), QueueError> {
        message::check_body(&input.body)?;
        let fifo = record.settings.fifo_queue;
        let delay = match input.delay_seconds {
            // FIFO queues take delays only at the queue level.
            Some(delay) if fifo && delay != 0 => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value {delay} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
                )))
            }
            Some(delay) if !fifo => message::check_delay(delay)?,
            _ => record.settings.delay_seconds,
        };
        let attributes = message::build_attributes(input.attributes, "user")?;
        let system_attributes = message::build_system_attributes(input.system_attributes)?;
        let size = input.body.len() + message::attributes_size(attributes.as_deref());
        let limit = record.settings.maximum_message_size as usize;
        if size > limit {
            return Err(QueueError::InvalidParameterValue(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )));
        }
        let group = if fifo {
            let group_id =
                input.message_group_id.ok_or_else(|| QueueError::MissingParameter("MessageGroupId".into()))?;
            check_group_id(&group_id)?;
            let deduplication_id = match input.message_deduplication_id {
                Some(id) => {
                    check_deduplication_id(&id)?;
                    id
                }
                None if record.settings.content_based_deduplication => hex::encode(Sha256::digest(input.body.as_bytes())),
                None => {
                    return Err(QueueError::InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                            .into(),
                    ))
                }
            };
            Some(Box::new(GroupFields { group_id, deduplication_id: Some(deduplication_id) }))
        } else {
            if input.message_deduplication_id.is_some() {
                return Err(QueueError::InvalidParameterValue(
                    "The request include parameter MessageDeduplicationId which is not valid for this queue type"
                        .into(),
                ));
            }
            // A group id on a standard queue marks a fair-queue tenant: kept and reported.
            match input.message_group_id {
                None => None,
                Some(group_id) => {
                    check_group_id(&group_id)?;
                    Some(Box::new(GroupFields { group_id, deduplication_id: None }))
                }
            }
        };
        let message_id = *uuid::Uuid::new_v4().as_bytes();
        let body_md5 = digest::body_md5(&input.body);
        let sent = Sent {
            message_id: message_id_text(&message_id),
            body_md5: hex16(&body_md5),
            attributes_md5: attributes.as_ref().map(|attributes| hex16(&attributes.md5)),
            system_attributes_md5: system_attributes.as_ref().map(|attributes| hex16(&attributes.md5)),
            sequence_number: None,
        };
        let data = MessageData {
            message_id,
            body: input.body.into_boxed_str(),
            body_md5,
            attributes,
            system_attributes,
            sender_id: Arc::clone(&caller.sender_id),
            sent_ms: now,
            group,
            dead_letter_source: None,
        };
        let visible_at_ms = now + u64::from(delay) * 1000;
        Ok((NewMessage { data: Arc::new(data), visible_at_ms }, sent))
    }

    /// SendMessage.
    pub async fn send(&self, key: &QueueKey, caller: &Caller, input: SendInput) -> Result<Sent, QueueError> {
        let record = self.record(key).await?;
        let now = self.now();
        let (message, mut sent) = self.prepare(&record, caller, input, now)?;
        let outcomes = self.store.send(record.id, vec![message], now).await?;
        if let Some(&outcome) = outcomes.first() {
            apply_outcome(&mut sent, outcome, record.settings.fifo_queue);
        }
        self.wake(record.id);
        Ok(sent)
    }

    /// SendMessageBatch: per-entry outcomes in entry order. An entry the protocol could not
    /// decode arrives as its error and fails alone; batch-wide rules see every entry.
    pub async fn send_batch(
        &self,
        key: &QueueKey,
        caller: &Caller,
        entries: Vec<BatchEntry<Result<SendInput, QueueError>>>,
    ) -> Result<Vec<(String, Result<Sent, QueueError>)>, QueueError> {
        check_batch_ids(&entries, "SendMessageBatchRequestEntry")?;
        let record = self.record(key).await?;
        let total: usize = entries
            .iter()
            .filter_map(|(_, input)| input.as_ref().ok())
            .map(|input| {
                input.body.len()
                    + input
                        .attributes
                        .iter()
                        .map(|attribute| {
                            attribute.name.len()
                                + attribute.data_type.as_ref().map_or(0, String::len)
                                + attribute.string_value.as_ref().map_or(0, String::len)
                                + attribute.binary_value.as_ref().map_or(0, Vec::len)
                        })
                        .sum::<usize>()
            })
            .sum();
        if total > MAX_PAYLOAD {
            return Err(QueueError::BatchRequestTooLong { limit: MAX_PAYLOAD, size: total });
        }
        if record.settings.fifo_queue {
            // On a FIFO queue an entry without its group (or without a deduplication id where
            // content cannot stand in) fails the whole request, as SQS answers, not the entry.
            for input in entries.iter().filter_map(|(_, input)| input.as_ref().ok()) {
                if input.message_group_id.is_none() {
                    return Err(QueueError::InvalidParameterValue(
                        "The request must contain the parameter MessageGroupId.".into(),
                    ));
                }
                if input.message_deduplication_id.is_none() && !record.settings.content_based_deduplication {
                    return Err(QueueError::InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId \
                         provided explicitly"
                            .into(),
                    ));
                }
            }
        }
        let now = self.now();
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut accepted = Vec::new();
        for (id, input) in entries {
            match input.and_then(|input| self.prepare(&record, caller, input, now)) {
                Ok((message, sent)) => {
                    accepted.push(message);
                    outcomes.push((id, Ok(sent)));
                }
                Err(err) => outcomes.push((id, Err(err))),
            }
        }
        if !accepted.is_empty() {
            let stored = self.store.send(record.id, accepted, now).await?;
            let mut stored = stored.into_iter();
            for (_, result) in outcomes.iter_mut() {
                if let Ok(sent) = result {
                    if let Some(outcome) = stored.next() {
                        apply_outcome(sent, outcome, record.settings.fifo_queue);
                    }
                }
            }
            self.wake(record.id);
        }
        Ok(outcomes)
    }

    /// ReceiveMessage, waiting up to the wait time for a message to become available.
    pub async fn receive(&self, key: &QueueKey, input: ReceiveInput) -> Result<Vec<ReceivedMessage>, QueueError> {
        let record = self.record(key).await?;
        let max = match input.max_number_of_messages {
            None => 1,
            Some(max @ 1..=10) => max as usize,
            Some(other) => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value {other} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                )))
            }
        };
        let visibility_seconds = match input.visibility_timeout {
            None => i64::from(record.settings.visibility_timeout),
            Some(seconds @ 0..=MAX_VISIBILITY_SECONDS) => seconds,
            Some(other) => {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value {other} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= {MAX_VISIBILITY_SECONDS}, if provided."
                )))
            }
        };
        let wait_seconds = match input.wait_time_seconds {
            None => i64::from(record.settings.receive_message_wait_time_seconds),
            Some(seconds @ 0..=20) => seconds,
            Some(other) => {
                return Err(QueueError::InvalidParameterValue(format!(
                "Value {other} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )))
            }
        };
        for name in &input.system_attribute_names {
            let known = SYSTEM_ATTRIBUTE_NAMES.contains(&name.as_str())
                || attributes::WRITABLE.contains(&name.as_str())
                || attributes::READ_ONLY.contains(&name.as_str());
            if !known {
                return Err(QueueError::InvalidAttributeName(name.clone()));
            }
        }
        let visibility_ms = visibility_seconds as u64 * 1000;
        let attempt = match (&input.receive_request_attempt_id, record.settings.fifo_queue) {
            (Some(id), true) => {
                check_attempt_id(id)?;
                Some((record.id, id.clone()))
            }
            _ => None,
        };
        if let Some(attempt) = &attempt {
            if let Some(repeated) = self.repeat_attempt(&record, attempt, visibility_ms).await? {
                return Ok(repeated);
            }
        }
        let received = self.receive_waiting(&record, &input, max, visibility_ms, wait_seconds).await?;
        if let Some(attempt) = attempt {
            if !received.is_empty() {
                let mut attempts = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let now = tokio::time::Instant::now();
                attempts.retain(|_, (expires, _)| *expires > now);
                attempts.insert(attempt, (now + ATTEMPT_WINDOW, received.clone()));
            }
        }
        Ok(received)
    }

    /// A retried FIFO receive: the same messages and handles again, their visibility reset, if
    /// all are still in flight under those handles.
    async fn repeat_attempt(
        &self,
        record: &QueueRecord,
        attempt: &(QueueId, String),
        visibility_ms: u64,
    ) -> Result<Option<Vec<ReceivedMessage>>, QueueError> {
        let cached = {
            let attempts = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match attempts.get(attempt) {
                Some((expires, messages)) if *expires > tokio::time::Instant::now() => messages.clone(),
                _ => return Ok(None),
            }
        };
        let receipts: Vec<(Receipt, u64)> = cached
            .iter()
            .filter_map(|message| {
                self.config.receipt_key.decode(&message.receipt_handle).map(|handle| (handle.receipt, visibility_ms))
            })
            .collect();
        let outcomes = self.store.change_visibility(record.id, receipts, self.now()).await?;
        if outcomes.iter().all(|outcome| *outcome == ChangeOutcome::Changed) {
            Ok(Some(cached))
        } else {
            self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(attempt);
            Ok(None)
        }
    }

    /// The receive loop: claims messages, or waits for a notification, the next visibility
    /// instant or the deadline.
    async fn receive_waiting(
        &self,
        record: &QueueRecord,
        input: &ReceiveInput,
        max: usize,
        visibility_ms: u64,
        wait_seconds: i64,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_seconds as u64);
        let mut shutdown = self.shutdown.subscribe();
        let notify = self.notifier(record.id);
        loop {
            // Register interest before looking, so a send between the look and the wait still
            // wakes this receiver.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.now();
            // Standard queues answer receives without waiting for their commit (see
            // ARCHITECTURE.md, "what must be durable"); FIFO queues wait, since a forgotten
            // receive would let a group's next message overtake one still being processed.
            let wait_durable = record.settings.fifo_queue;
            let request = ReceiveRequest { max, visibility_ms, now, wait_durable };
            let outcome = self.store.receive(record.id, request).await?;
            if let Some(dead_letter_queue) = outcome.dead_lettered_to {
                self.wake(dead_letter_queue);
            }
            if !outcome.messages.is_empty() {
                return Ok(outcome
                    .messages
                    .into_iter()
                    .map(|delivery| self.render_delivery(record, delivery, input, now))
                    .collect());
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() || *shutdown.borrow() {
                return Ok(Vec::new());
            }
            let until_visible = outcome
                .next_visible_at
                .map(|instant| Duration::from_millis(instant.saturating_sub(now)))
                .unwrap_or(remaining);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(remaining.min(until_visible)) => {}
                _ = shutdown.changed() => return Ok(Vec::new()),
            }
        }
    }

    fn render_delivery(
        &self,
        record: &QueueRecord,
        delivery: Delivery,
        input: &ReceiveInput,
        received_ms: EpochMillis,
    ) -> ReceivedMessage {
        let data = delivery.data;
        let wants = |name: &str| input.system_attribute_names.iter().any(|wanted| wanted == "All" || wanted == name);
        let mut attributes: Vec<(&'static str, String)> = Vec::new();
        if wants("ApproximateFirstReceiveTimestamp") {
            attributes.push(("ApproximateFirstReceiveTimestamp", delivery.first_receive_ms.to_string()));
        }
        if wants("ApproximateReceiveCount") {
            attributes.push(("ApproximateReceiveCount", delivery.receive_count.to_string()));
        }
        if wants("AWSTraceHeader") {
            if let Some(trace) = data
                .system_attributes
                .as_ref()
                .and_then(|system| system.entries.iter().find(|entry| entry.name == "AWSTraceHeader"))
            {
                if let AttributeValue::String(text) = &trace.value {
                    attributes.push(("AWSTraceHeader", text.clone()));
                }
            }
        }
        if wants("DeadLetterQueueSourceArn") {
            if let Some(source) = &data.dead_letter_source {
                attributes.push(("DeadLetterQueueSourceArn", source.to_string()));
            }
        }
        if wants("MessageDeduplicationId") {
            if let Some(id) = data.group.as_ref().and_then(|group| group.deduplication_id.as_ref()) {
                attributes.push(("MessageDeduplicationId", id.clone()));
            }
        }
        if wants("MessageGroupId") {
            if let Some(group) = &data.group {
                attributes.push(("MessageGroupId", group.group_id.clone()));
            }
        }
        if wants("SenderId") {
            attributes.push(("SenderId", data.sender_id.to_string()));
        }
        if wants("SentTimestamp") {
            attributes.push(("SentTimestamp", data.sent_ms.to_string()));
        }
        if wants("SequenceNumber") && record.settings.fifo_queue {
            attributes.push(("SequenceNumber", sequence_number(delivery.receipt.seq)));
        }
        let entries = data.attributes.as_ref().map(|attributes| &attributes.entries[..]).unwrap_or(&[]);
        let selected: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                input.message_attribute_names.iter().any(|pattern| match pattern.as_str() {
                    "All" | ".*" | "*" => true,
                    // A prefix filter matches by prefix, as recorded on SQS: `Hel.*` selects
                    // `Hello` and `Help.Me`.
                    pattern => match pattern.strip_suffix(".*") {
                        Some(prefix) => entry.name.starts_with(prefix),
                        None => entry.name == pattern,
                    },
                })
            })
            .map(|(idx, _)| idx)
            .collect();
        let selected_attributes_md5 = if selected.is_empty() {
            None
        } else if selected.len() == entries.len() {
            data.attributes.as_ref().map(|attributes| attributes.md5)
        } else {
            Some(digest::attributes_md5(selected.iter().map(|&idx| &entries[idx])))
        };
        ReceivedMessage {
            receipt_handle: self.config.receipt_key.encode(record.id, delivery.receipt, received_ms),
            data,
            attributes,
            selected_attributes: selected,
            selected_attributes_md5,
        }
    }

    fn decode_handle(&self, record: &QueueRecord, handle: &str) -> Result<Receipt, QueueError> {
        self.decode_full_handle(record, handle).map(|decoded| decoded.receipt)
    }

    fn decode_full_handle(&self, record: &QueueRecord, handle: &str) -> Result<receipt::Handle, QueueError> {
        if handle.is_empty() {
            return Err(QueueError::MissingParameter("ReceiptHandle".into()));
        }
        match self.config.receipt_key.decode(handle) {
            Some(decoded) if decoded.queue == record.id => Ok(decoded),
            _ => Err(QueueError::ReceiptHandleIsInvalid(handle.to_owned())),
        }
    }

    /// DeleteMessage.
    pub async fn delete(&self, key: &QueueKey, handle: &str) -> Result<(), QueueError> {
        let record = self.record(key).await?;
        let receipt = self.decode_handle(&record, handle)?;
        let outcomes = self.store.delete(record.id, vec![receipt], self.now()).await?;
        if record.settings.fifo_queue {
            // A delete can unblock the message's group for a waiting receiver.
            self.wake(record.id);
        }
        outcomes.first().map_or(Ok(()), |outcome| delete_result(*outcome))
    }

    /// DeleteMessageBatch: per-entry outcomes in entry order.
    pub async fn delete_batch(
        &self,
        key: &QueueKey,
        entries: Vec<BatchEntry<String>>,
    ) -> Result<Vec<(String, Result<(), QueueError>)>, QueueError> {
        check_batch_ids(&entries, "DeleteMessageBatchRequestEntry")?;
        let record = self.record(key).await?;
        let mut outcomes: Vec<(String, Result<(), QueueError>)> = Vec::with_capacity(entries.len());
        let mut receipts = Vec::new();
        let mut positions = Vec::new();
        for (id, handle) in entries {
            match self.decode_handle(&record, &handle) {
                Ok(receipt) => {
                    receipts.push(receipt);
                    positions.push(outcomes.len());
                    outcomes.push((id, Ok(())));
                }
                Err(err) => outcomes.push((id, Err(err))),
            }
        }
        if !receipts.is_empty() {
            let results = self.store.delete(record.id, receipts, self.now()).await?;
            for (position, result) in positions.into_iter().zip(results) {
                outcomes[position].1 = delete_result(result);
            }
            if record.settings.fifo_queue {
                self.wake(record.id);
            }
        }
        Ok(outcomes)
    }

    fn check_visibility(seconds: i64) -> Result<u64, QueueError> {
        if (0..=MAX_VISIBILITY_SECONDS).contains(&seconds) {
            Ok(seconds as u64 * 1000)
        } else {
            Err(QueueError::InvalidParameterValue(format!(
                "Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= {MAX_VISIBILITY_SECONDS}."
            )))
        }
    }

    /// ChangeMessageVisibility.
    pub async fn change_visibility(&self, key: &QueueKey, handle: &str, seconds: i64) -> Result<(), QueueError> {
        let outcomes =
            self.change_visibility_batch(key, vec![(String::new(), (handle.to_owned(), seconds))], false).await?;
        outcomes.into_iter().next().map(|(_, outcome)| outcome).unwrap_or(Ok(()))
    }

    /// ChangeMessageVisibilityBatch: per-entry outcomes in entry order. `check_ids` is false
    /// for the single-message form.
    pub async fn change_visibility_batch(
        &self,
        key: &QueueKey,
        entries: Vec<BatchEntry<(String, i64)>>,
        check_ids: bool,
    ) -> Result<Vec<(String, Result<(), QueueError>)>, QueueError> {
        if check_ids {
            check_batch_ids(&entries, "ChangeMessageVisibilityBatchRequestEntry")?;
        }
        let record = self.record(key).await?;
        let mut outcomes: Vec<(String, Result<(), QueueError>)> = Vec::with_capacity(entries.len());
        let mut items = Vec::new();
        let mut positions = Vec::new();
        let mut handles = Vec::new();
        let mut wakes = false;
        let now = self.now();
        for (id, (handle, seconds)) in entries {
            let checked = self.decode_full_handle(&record, &handle).and_then(|decoded| {
                let visibility_ms = Self::check_visibility(seconds)?;
                // The 12-hour limit counts from the receive, not from this change.
                let limit_ms = MAX_VISIBILITY_SECONDS as u64 * 1000;
                if now.saturating_add(visibility_ms) > decoded.received_ms.saturating_add(limit_ms) {
                    return Err(QueueError::InvalidParameterValue(format!(
                        "Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY_SECONDS} seconds]"
                    )));
                }
                Ok((decoded.receipt, visibility_ms))
            });
            match checked {
                Ok(item) => {
                    wakes |= item.1 == 0;
                    positions.push(outcomes.len());
                    handles.push(handle);
                    items.push(item);
                    outcomes.push((id, Ok(())));
                }
                Err(err) => outcomes.push((id, Err(err))),
            }
        }
        if !items.is_empty() {
            let results = self.store.change_visibility(record.id, items, now).await?;
            for ((position, result), handle) in positions.into_iter().zip(results).zip(&handles) {
                match result {
                    ChangeOutcome::Changed => {}
                    // As recorded on SQS: on a standard queue a handle whose visibility ended, or
                    // that a later receive superseded, is accepted (and changes nothing here, so
                    // it cannot disturb the message's current receiver).
                    ChangeOutcome::NotInFlight if !record.settings.fifo_queue => {}
                    ChangeOutcome::NotInFlight => outcomes[position].1 = Err(QueueError::MessageNotInflight),
                    ChangeOutcome::Gone => {
                        outcomes[position].1 = Err(QueueError::InvalidParameterValue(format!(
                            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
                        )))
                    }
                }
            }
            if wakes {
                self.wake(record.id);
            }
        }
        Ok(outcomes)
    }

    /// Drops messages past retention in every queue; run periodically.
    pub async fn expire(&self) -> Result<u64, QueueError> {
        Ok(self.store.expire(self.now()).await?)
    }
}

/// A delete's answer from the store's outcome.
fn delete_result(outcome: DeleteOutcome) -> Result<(), QueueError> {
    match outcome {
        DeleteOutcome::Deleted | DeleteOutcome::Gone | DeleteOutcome::HeldByAnother => Ok(()),
        DeleteOutcome::Expired => Err(QueueError::InvalidParameterValue("The receipt handle has expired.".into())),
    }
}

/// Fills a send's answer from the store's outcome: the sequence number on FIFO queues, and for
/// a duplicate the original message's id.
fn apply_outcome(sent: &mut Sent, outcome: SendOutcome, fifo: bool) {
    if let SendOutcome::Duplicate { message_id, .. } = outcome {
        sent.message_id = message_id_text(&message_id);
    }
    if fifo {
        sent.sequence_number = Some(sequence_number(outcome.seq()));
    }
}

/// A FIFO sequence number as SQS prints it: a decimal string, here 20 digits, increasing with
/// every message of the queue.
pub fn sequence_number(seq: MessageSeq) -> String {
    format!("{seq:020}")
}

fn check_attempt_id(id: &str) -> Result<(), QueueError> {
    let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {id} for parameter ReceiveRequestAttemptId is invalid. Reason: 1 to 128 alphanumeric and punctuation characters."
        )))
    }
}

fn check_deduplication_id(id: &str) -> Result<(), QueueError> {
    let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {id} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include \
             alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

fn check_group_id(group_id: &str) -> Result<(), QueueError> {
    let valid = !group_id.is_empty() && group_id.len() <= 128 && group_id.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {group_id} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include \
             alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), QueueError> {
    if tags.len() > 50 {
        return Err(QueueError::InvalidParameterValue(
            "Too many tags added for queue. A queue can have at most 50 tags.".into(),
        ));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(QueueError::InvalidParameterValue(format!("Tag key {key} must be 1 to 128 characters long.")));
        }
        if value.chars().count() > 256 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Tag value for key {key} must be at most 256 characters long."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
