//! What a handled operation returns, before a codec renders it as JSON or XML.

use std::collections::BTreeMap;
use wharf_queue::{ReceivedMessage, Sent};

/// A failed batch entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchFailure {
    /// The entry's id.
    pub id: String,
    /// The legacy error code, as batch results carry it.
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
    /// Whether the request was at fault.
    pub sender_fault: bool,
}

/// One move task, as ListMessageMoveTasks reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveTaskSummary {
    /// Handle of a running task.
    pub task_handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    /// The dead-letter queue.
    pub source_arn: String,
    /// The destination, if one was named.
    pub destination_arn: Option<String>,
    /// The rate limit, if one was set.
    pub max_number_of_messages_per_second: Option<i64>,
    /// Moved so far.
    pub approximate_number_of_messages_moved: i64,
    /// Messages to move at the start.
    pub approximate_number_of_messages_to_move: Option<i64>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Start instant, epoch milliseconds.
    pub started_timestamp: i64,
}

/// A handled operation's result.
#[derive(Debug)]
pub enum Output {
    /// CreateQueue and GetQueueUrl.
    QueueUrl(String),
    /// ListQueues and ListDeadLetterSourceQueues.
    QueueUrls {
        /// The JSON member: `QueueUrls` (ListQueues, omitted when empty) or `queueUrls`
        /// (ListDeadLetterSourceQueues, always present); both are `QueueUrl` elements in XML.
        json_member: &'static str,
        /// The page.
        queue_urls: Vec<String>,
        /// The next page's token.
        next_token: Option<String>,
    },
    /// Operations whose result is empty.
    Empty,
    /// GetQueueAttributes.
    Attributes(Vec<(String, String)>),
    /// SendMessage.
    SendMessage(Sent),
    /// SendMessageBatch.
    SendMessageBatch {
        /// Accepted entries.
        successful: Vec<(String, Sent)>,
        /// Refused entries.
        failed: Vec<BatchFailure>,
    },
    /// ReceiveMessage.
    ReceiveMessage(Vec<ReceivedMessage>),
    /// DeleteMessageBatch and ChangeMessageVisibilityBatch.
    Batch {
        /// Ids of the entries that succeeded.
        successful: Vec<String>,
        /// Refused entries.
        failed: Vec<BatchFailure>,
    },
    /// ListQueueTags.
    Tags(BTreeMap<String, String>),
    /// StartMessageMoveTask.
    TaskHandle(String),
    /// CancelMessageMoveTask.
    MessagesMoved(i64),
    /// ListMessageMoveTasks.
    MoveTasks(Vec<MoveTaskSummary>),
}
