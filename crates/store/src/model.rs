//! Row types shared by every backend: queues, messages, receipts and outcomes.
//!
//! These are domain types; the engine converts them to and from AWS attribute strings.
//! Stored formats derive from them (the SQLite backend keeps [`QueueSettings`] as JSON), so a
//! renamed field is a migration: add fields with `#[serde(default)]`, never repurpose one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_types::{EpochMillis, QueueKey};

/// A queue's internal id, unique for the store's lifetime and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueId(pub u64);

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A message's position in the store, unique across queues and never reused.
pub type MessageSeq = u64;

/// The settable attributes of a queue, typed. Defaults are AWS's.
///
/// See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueSettings {
    /// Seconds a received message stays hidden, 0 to 43,200.
    pub visibility_timeout: u32,
    /// Seconds a message is kept, 60 to 1,209,600.
    pub message_retention_period: u32,
    /// Largest body plus attributes in bytes, 1,024 to 1,048,576.
    pub maximum_message_size: u32,
    /// Seconds a new message stays hidden, 0 to 900.
    pub delay_seconds: u32,
    /// Default long-poll wait of a receive, 0 to 20 seconds.
    pub receive_message_wait_time_seconds: u32,
    /// The queue's access policy, as JSON text.
    pub policy: Option<String>,
    /// The dead-letter policy, as JSON text.
    pub redrive_policy: Option<String>,
    /// The dead-letter policy, parsed by the engine from `redrive_policy`.
    pub dead_letter: Option<DeadLetter>,
    /// Which queues may use this one as a dead-letter queue, as JSON text.
    pub redrive_allow_policy: Option<String>,
    /// A FIFO queue; fixed at creation.
    pub fifo_queue: bool,
    /// FIFO: deduplicate by the body's SHA-256 when no id is given.
    pub content_based_deduplication: bool,
    /// FIFO: `queue` or `messageGroup`.
    pub deduplication_scope: Option<String>,
    /// FIFO: `perQueue` or `perMessageGroupId`.
    pub fifo_throughput_limit: Option<String>,
    /// SSE-KMS key id, kept and reported; wharf does not encrypt with KMS.
    pub kms_master_key_id: Option<String>,
    /// SSE-KMS data key reuse period, 60 to 86,400 seconds.
    pub kms_data_key_reuse_period_seconds: u32,
    /// SSE with SQS-owned keys.
    pub sqs_managed_sse_enabled: bool,
    /// The most recent message move tasks out of this queue (as a dead-letter queue), newest
    /// last, at most ten. Queue state rather than a setting, kept here so it is written with
    /// the queue record and survives restarts.
    pub move_tasks: Vec<MoveTask>,
}

/// A message move task (StartMessageMoveTask) and its progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTask {
    /// The handle clients use to cancel it.
    pub handle: String,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    /// The dead-letter queue messages move out of.
    pub source_arn: String,
    /// Where they move; their original source queues when absent.
    pub destination_arn: Option<String>,
    /// The rate limit, if one was set.
    pub max_per_second: Option<u32>,
    /// Moved so far.
    pub moved: u64,
    /// Messages in the queue when the task started.
    pub to_move: u64,
    /// Why the task failed.
    pub failure_reason: Option<String>,
    /// When it started.
    pub started_ms: EpochMillis,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            visibility_timeout: 30,
            message_retention_period: 345_600,
            maximum_message_size: 1_048_576,
            delay_seconds: 0,
            receive_message_wait_time_seconds: 0,
            policy: None,
            redrive_policy: None,
            dead_letter: None,
            redrive_allow_policy: None,
            fifo_queue: false,
            content_based_deduplication: false,
            deduplication_scope: None,
            fifo_throughput_limit: None,
            kms_master_key_id: None,
            kms_data_key_reuse_period_seconds: 300,
            sqs_managed_sse_enabled: true,
            move_tasks: Vec::new(),
        }
    }
}

/// Where a queue's messages go after too many receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The dead-letter queue's ARN.
    pub target_arn: String,
    /// A message received this many times moves at its next receive.
    pub max_receive_count: u32,
}

/// A queue as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRecord {
    /// Internal id, used by message operations.
    pub id: QueueId,
    /// Account, region and name.
    pub key: QueueKey,
    /// Typed attributes.
    pub settings: QueueSettings,
    /// Cost-allocation tags.
    pub tags: BTreeMap<String, String>,
    /// Creation instant.
    pub created_ms: EpochMillis,
    /// Last change of settings.
    pub modified_ms: EpochMillis,
    /// Last PurgeQueue, for the once-a-minute rule.
    pub last_purge_ms: Option<EpochMillis>,
    /// Optimistic-concurrency counter, bumped by every update.
    pub version: u64,
}

/// A queue to create.
#[derive(Clone, Debug)]
pub struct NewQueue {
    /// Account, region and name.
    pub key: QueueKey,
    /// Typed attributes.
    pub settings: QueueSettings,
    /// Tags given at creation.
    pub tags: BTreeMap<String, String>,
    /// Creation instant.
    pub now: EpochMillis,
}

/// What [`crate::QueueStore::create_queue`] found.
#[derive(Clone, Debug)]
pub enum CreateOutcome {
    /// The queue was created.
    Created(QueueRecord),
    /// A queue of that key exists already; the engine compares attributes.
    Exists(QueueRecord),
    /// A queue of that key was deleted less than the reuse delay ago.
    DeletedRecently,
}

/// The value of a message attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// `String`, `Number` and their custom subtypes.
    String(String),
    /// `Binary` and its custom subtypes: the decoded bytes.
    Binary(Vec<u8>),
}

/// One message attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    /// The attribute's name.
    pub name: String,
    /// The full data type, such as `Number.float`.
    pub data_type: String,
    /// The value.
    pub value: AttributeValue,
}

/// A set of attributes with its digest, computed once at send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// Sorted by name.
    pub entries: Vec<MessageAttribute>,
    /// MD5 over the entries, as SQS computes it.
    pub md5: [u8; 16],
}

impl Attributes {
    /// The bytes the attributes count toward a message's size limit: names, data types and
    /// values.
    pub fn payload_size(&self) -> usize {
        self.entries
            .iter()
            .map(|entry| {
                entry.name.len()
                    + entry.data_type.len()
                    + match &entry.value {
                        AttributeValue::String(text) => text.len(),
                        AttributeValue::Binary(bytes) => bytes.len(),
                    }
            })
            .sum()
    }
}

/// FIFO fields of a message, absent on standard queues without a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFields {
    /// The message group (FIFO order, or fair-queue tenant on standard queues).
    pub group_id: String,
    /// The deduplication id, given or derived.
    pub deduplication_id: Option<String>,
}

/// The immutable part of a message, shared between the index and deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageData {
    /// The message id, a UUID.
    pub message_id: [u8; 16],
    /// The body.
    pub body: Box<str>,
    /// MD5 of the body.
    pub body_md5: [u8; 16],
    /// User attributes, absent when none were sent.
    pub attributes: Option<Box<Attributes>>,
    /// System attributes that were sent (AWSTraceHeader), absent when none.
    pub system_attributes: Option<Box<Attributes>>,
    /// Who sent it (the caller's account or access key).
    pub sender_id: Arc<str>,
    /// When it was sent.
    pub sent_ms: EpochMillis,
    /// Group and deduplication ids, when sent.
    pub group: Option<Box<GroupFields>>,
    /// The ARN of the queue this message was dead-lettered from, if it was.
    pub dead_letter_source: Option<Box<str>>,
}

/// A message to append.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The message's content.
    pub data: Arc<MessageData>,
    /// When it first becomes visible (sent time plus delay).
    pub visible_at_ms: EpochMillis,
}

/// What became of one sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Appended under this sequence number.
    Enqueued(MessageSeq),
    /// A FIFO duplicate within the deduplication window: not appended; the original's id and
    /// sequence number.
    Duplicate {
        /// The original message's id.
        message_id: [u8; 16],
        /// The original message's sequence number.
        seq: MessageSeq,
    },
}

impl SendOutcome {
    /// The sequence number of the message that holds the content.
    pub fn seq(self) -> MessageSeq {
        match self {
            SendOutcome::Enqueued(seq) | SendOutcome::Duplicate { seq, .. } => seq,
        }
    }
}

/// How long a FIFO deduplication id is remembered.
pub const DEDUPLICATION_WINDOW_MS: u64 = 5 * 60 * 1000;

/// A remembered FIFO deduplication id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupEntry {
    /// The first message's id.
    pub message_id: [u8; 16],
    /// The first message's sequence number.
    pub seq: MessageSeq,
    /// When the id may be used again.
    pub expires_ms: EpochMillis,
}

/// A receive's parameters.
#[derive(Clone, Copy, Debug)]
pub struct ReceiveRequest {
    /// 1 to 10.
    pub max: usize,
    /// How long the claimed messages stay hidden.
    pub visibility_ms: u64,
    /// The receive's instant.
    pub now: EpochMillis,
    /// Whether the answer must wait until the receive is durable. When false, a durable store
    /// still journals the receive in order but answers at once: a crash right after may forget
    /// the receive (the message is visible again sooner, its receive count one lower).
    pub wait_durable: bool,
}

/// Identifies one receive of one message: the content of a receipt handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The message.
    pub seq: MessageSeq,
    /// A random number drawn at the receive; a later receive draws another.
    pub token: u64,
}

/// A message handed to a receiver.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The message's content.
    pub data: Arc<MessageData>,
    /// This receive's receipt.
    pub receipt: Receipt,
    /// Receives so far, this one included.
    pub receive_count: u32,
    /// The first receive's instant.
    pub first_receive_ms: EpochMillis,
}

/// What a receive found.
#[derive(Clone, Debug, Default)]
pub struct ReceiveOutcome {
    /// The claimed messages, oldest first.
    pub messages: Vec<Delivery>,
    /// When the next hidden message becomes visible, if any: a waiting receiver sleeps until
    /// then at most.
    pub next_visible_at: Option<EpochMillis>,
    /// The dead-letter queue that received messages during this receive, if any.
    pub dead_lettered_to: Option<QueueId>,
}

/// What became of one delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The message was deleted.
    Deleted,
    /// No such message any more (deleted, purged or expired): success, as AWS answers.
    Gone,
    /// The receipt is stale and another receiver holds the message: success without deleting,
    /// as the SQS API reference allows.
    HeldByAnother,
    /// FIFO queues only: the receipt is no longer in flight (its visibility ended, or a later
    /// receive superseded it); the message stays and SQS answers "The receipt handle has
    /// expired.".
    Expired,
}

/// What became of one visibility change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The new timeout applies.
    Changed,
    /// The message exists but is not in flight under this receipt.
    NotInFlight,
    /// No such message.
    Gone,
}

/// Approximate counts, as GetQueueAttributes reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Available for retrieval.
    pub visible: u64,
    /// Received and not yet deleted or expired back to visible.
    pub in_flight: u64,
    /// Delayed and not yet visible.
    pub delayed: u64,
    /// When the oldest message still in the queue was sent (its age is
    /// `ApproximateAgeOfOldestMessage`); `None` when the queue is empty.
    pub oldest_sent_ms: Option<EpochMillis>,
}
