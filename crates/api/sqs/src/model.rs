//! The SQS operations and their inputs, named exactly as the AWS service model names them.
//!
//! Both codecs produce these values: the JSON codec deserializes the body straight into them,
//! the query codec first regroups the flattened form parameters into the same JSON shape
//! (see `codec::query`). Unknown members are ignored, as Smithy servers do, so newer SDKs
//! keep working.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A message attribute value on the wire.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MessageAttributeValue {
    /// `String`, `Number`, `Binary` and custom subtypes.
    pub data_type: Option<String>,
    /// String and Number values.
    pub string_value: Option<String>,
    /// Binary values, base64.
    pub binary_value: Option<String>,
    /// Reserved by AWS, not implemented there either.
    pub string_list_values: Option<Vec<String>>,
    /// Reserved by AWS, not implemented there either.
    pub binary_list_values: Option<Vec<String>>,
}

/// Attribute maps keep the client's names; the engine rejects unknown ones.
pub type AttributeMap = BTreeMap<String, String>;
/// Message attributes by name.
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

macro_rules! inputs {
    ($($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)? })*) => {
        $(
            $(#[$meta])*
            #[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
            #[serde(rename_all = "PascalCase", default)]
            pub struct $name {
                $($(#[$field_meta])* pub $field: $ty,)*
            }
        )*
    };
}

inputs! {
    /// CreateQueue.
    CreateQueueInput {
        /// The queue's name.
        queue_name: Option<String>,
        /// Settings.
        attributes: AttributeMap,
        /// Tags at creation (the model names this member in lower case).
        #[serde(rename = "tags")]
        tags: BTreeMap<String, String>,
    }
    /// GetQueueUrl.
    GetQueueUrlInput {
        /// The queue's name.
        queue_name: Option<String>,
        /// Another account's queue.
        #[serde(rename = "QueueOwnerAWSAccountId")]
        queue_owner_aws_account_id: Option<String>,
    }
    /// ListQueues.
    ListQueuesInput {
        /// Only names with this prefix.
        queue_name_prefix: Option<String>,
        /// The previous page's token.
        next_token: Option<String>,
        /// Page size, 1 to 1,000.
        max_results: Option<i64>,
    }
    /// Operations that take only a queue: DeleteQueue, PurgeQueue, ListQueueTags.
    QueueUrlInput {
        /// The queue.
        queue_url: Option<String>,
    }
    /// GetQueueAttributes.
    GetQueueAttributesInput {
        /// The queue.
        queue_url: Option<String>,
        /// Names, or `All`.
        attribute_names: Vec<String>,
    }
    /// SetQueueAttributes.
    SetQueueAttributesInput {
        /// The queue.
        queue_url: Option<String>,
        /// New values.
        attributes: AttributeMap,
    }
    /// SendMessage.
    SendMessageInput {
        /// The queue.
        queue_url: Option<String>,
        /// The body.
        message_body: Option<String>,
        /// Per-message delay.
        delay_seconds: Option<i64>,
        /// User attributes.
        message_attributes: MessageAttributeMap,
        /// System attributes (AWSTraceHeader).
        message_system_attributes: MessageAttributeMap,
        /// FIFO deduplication id.
        message_deduplication_id: Option<String>,
        /// FIFO group, or fair-queue tenant.
        message_group_id: Option<String>,
    }
    /// One SendMessageBatch entry.
    SendMessageBatchRequestEntry {
        /// The client's id for the entry.
        id: Option<String>,
        /// The body.
        message_body: Option<String>,
        /// Per-message delay.
        delay_seconds: Option<i64>,
        /// User attributes.
        message_attributes: MessageAttributeMap,
        /// System attributes.
        message_system_attributes: MessageAttributeMap,
        /// FIFO deduplication id.
        message_deduplication_id: Option<String>,
        /// FIFO group.
        message_group_id: Option<String>,
    }
    /// SendMessageBatch.
    SendMessageBatchInput {
        /// The queue.
        queue_url: Option<String>,
        /// Up to ten messages.
        entries: Vec<SendMessageBatchRequestEntry>,
    }
    /// ReceiveMessage.
    ReceiveMessageInput {
        /// The queue.
        queue_url: Option<String>,
        /// Deprecated name for `MessageSystemAttributeNames`.
        attribute_names: Vec<String>,
        /// System attributes to return.
        message_system_attribute_names: Vec<String>,
        /// User attributes to return.
        message_attribute_names: Vec<String>,
        /// 1 to 10.
        max_number_of_messages: Option<i64>,
        /// Hide the messages this long.
        visibility_timeout: Option<i64>,
        /// Long-poll wait.
        wait_time_seconds: Option<i64>,
        /// FIFO retry token.
        receive_request_attempt_id: Option<String>,
    }
    /// DeleteMessage.
    DeleteMessageInput {
        /// The queue.
        queue_url: Option<String>,
        /// The receive's handle.
        receipt_handle: Option<String>,
    }
    /// One DeleteMessageBatch entry.
    DeleteMessageBatchRequestEntry {
        /// The client's id for the entry.
        id: Option<String>,
        /// The receive's handle.
        receipt_handle: Option<String>,
    }
    /// DeleteMessageBatch.
    DeleteMessageBatchInput {
        /// The queue.
        queue_url: Option<String>,
        /// Up to ten handles.
        entries: Vec<DeleteMessageBatchRequestEntry>,
    }
    /// ChangeMessageVisibility.
    ChangeMessageVisibilityInput {
        /// The queue.
        queue_url: Option<String>,
        /// The receive's handle.
        receipt_handle: Option<String>,
        /// New timeout from now.
        visibility_timeout: Option<i64>,
    }
    /// One ChangeMessageVisibilityBatch entry.
    ChangeMessageVisibilityBatchRequestEntry {
        /// The client's id for the entry.
        id: Option<String>,
        /// The receive's handle.
        receipt_handle: Option<String>,
        /// New timeout from now.
        visibility_timeout: Option<i64>,
    }
    /// ChangeMessageVisibilityBatch.
    ChangeMessageVisibilityBatchInput {
        /// The queue.
        queue_url: Option<String>,
        /// Up to ten changes.
        entries: Vec<ChangeMessageVisibilityBatchRequestEntry>,
    }
    /// TagQueue.
    TagQueueInput {
        /// The queue.
        queue_url: Option<String>,
        /// Tags to add or replace.
        tags: BTreeMap<String, String>,
    }
    /// UntagQueue.
    UntagQueueInput {
        /// The queue.
        queue_url: Option<String>,
        /// Tags to remove.
        tag_keys: Vec<String>,
    }
    /// AddPermission.
    AddPermissionInput {
        /// The queue.
        queue_url: Option<String>,
        /// The statement's id.
        label: Option<String>,
        /// Accounts granted.
        #[serde(rename = "AWSAccountIds")]
        aws_account_ids: Vec<String>,
        /// Actions granted.
        actions: Vec<String>,
    }
    /// RemovePermission.
    RemovePermissionInput {
        /// The queue.
        queue_url: Option<String>,
        /// The statement's id.
        label: Option<String>,
    }
    /// ListDeadLetterSourceQueues.
    ListDeadLetterSourceQueuesInput {
        /// The dead-letter queue.
        queue_url: Option<String>,
        /// The previous page's token.
        next_token: Option<String>,
        /// Page size.
        max_results: Option<i64>,
    }
    /// StartMessageMoveTask.
    StartMessageMoveTaskInput {
        /// The dead-letter queue's ARN.
        source_arn: Option<String>,
        /// Where to move; the original sources when absent.
        destination_arn: Option<String>,
        /// Rate limit.
        max_number_of_messages_per_second: Option<i64>,
    }
    /// CancelMessageMoveTask.
    CancelMessageMoveTaskInput {
        /// The task.
        task_handle: Option<String>,
    }
    /// ListMessageMoveTasks.
    ListMessageMoveTasksInput {
        /// The dead-letter queue's ARN.
        source_arn: Option<String>,
        /// Up to ten.
        max_results: Option<i64>,
    }
}

/// A decoded SQS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// CreateQueue.
    CreateQueue(CreateQueueInput),
    /// GetQueueUrl.
    GetQueueUrl(GetQueueUrlInput),
    /// ListQueues.
    ListQueues(ListQueuesInput),
    /// DeleteQueue.
    DeleteQueue(QueueUrlInput),
    /// GetQueueAttributes.
    GetQueueAttributes(GetQueueAttributesInput),
    /// SetQueueAttributes.
    SetQueueAttributes(SetQueueAttributesInput),
    /// SendMessage.
    SendMessage(SendMessageInput),
    /// SendMessageBatch.
    SendMessageBatch(SendMessageBatchInput),
    /// ReceiveMessage.
    ReceiveMessage(ReceiveMessageInput),
    /// DeleteMessage.
    DeleteMessage(DeleteMessageInput),
    /// DeleteMessageBatch.
    DeleteMessageBatch(DeleteMessageBatchInput),
    /// ChangeMessageVisibility.
    ChangeMessageVisibility(ChangeMessageVisibilityInput),
    /// ChangeMessageVisibilityBatch.
    ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchInput),
    /// PurgeQueue.
    PurgeQueue(QueueUrlInput),
    /// TagQueue.
    TagQueue(TagQueueInput),
    /// UntagQueue.
    UntagQueue(UntagQueueInput),
    /// ListQueueTags.
    ListQueueTags(QueueUrlInput),
    /// AddPermission.
    AddPermission(AddPermissionInput),
    /// RemovePermission.
    RemovePermission(RemovePermissionInput),
    /// ListDeadLetterSourceQueues.
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesInput),
    /// StartMessageMoveTask.
    StartMessageMoveTask(StartMessageMoveTaskInput),
    /// CancelMessageMoveTask.
    CancelMessageMoveTask(CancelMessageMoveTaskInput),
    /// ListMessageMoveTasks.
    ListMessageMoveTasks(ListMessageMoveTasksInput),
}

/// Every operation name, as `X-Amz-Target: AmazonSQS.<name>` and `Action=<name>` spell it.
pub const OPERATION_NAMES: &[&str] = &[
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "DeleteQueue",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "PurgeQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "ListDeadLetterSourceQueues",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
];

/// Why a request could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The operation name is not an SQS operation.
    UnknownOperation(String),
    /// The body is not valid for the operation's input shape.
    Malformed(String),
}

impl Operation {
    /// Deserializes the input of operation `name` from a JSON document.
    pub fn from_json(name: &str, value: serde_json::Value) -> Result<Operation, DecodeError> {
        Operation::deserialize_input(name, value)
    }

    /// Deserializes the input of operation `name` from any serde deserializer: a JSON body read
    /// in place, or the JSON value the query codec builds.
    pub fn deserialize_input<'de, D: serde::Deserializer<'de>>(name: &str, value: D) -> Result<Operation, DecodeError>
    where
        D::Error: std::fmt::Display,
    {
        fn parse<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(value: D) -> Result<T, DecodeError>
        where
            D::Error: std::fmt::Display,
        {
            T::deserialize(value).map_err(|err| DecodeError::Malformed(err.to_string()))
        }
        Ok(match name {
            "CreateQueue" => Operation::CreateQueue(parse(value)?),
            "GetQueueUrl" => Operation::GetQueueUrl(parse(value)?),
            "ListQueues" => Operation::ListQueues(parse(value)?),
            "DeleteQueue" => Operation::DeleteQueue(parse(value)?),
            "GetQueueAttributes" => Operation::GetQueueAttributes(parse(value)?),
            "SetQueueAttributes" => Operation::SetQueueAttributes(parse(value)?),
            "SendMessage" => Operation::SendMessage(parse(value)?),
            "SendMessageBatch" => Operation::SendMessageBatch(parse(value)?),
            "ReceiveMessage" => Operation::ReceiveMessage(parse(value)?),
            "DeleteMessage" => Operation::DeleteMessage(parse(value)?),
            "DeleteMessageBatch" => Operation::DeleteMessageBatch(parse(value)?),
            "ChangeMessageVisibility" => Operation::ChangeMessageVisibility(parse(value)?),
            "ChangeMessageVisibilityBatch" => Operation::ChangeMessageVisibilityBatch(parse(value)?),
            "PurgeQueue" => Operation::PurgeQueue(parse(value)?),
            "TagQueue" => Operation::TagQueue(parse(value)?),
            "UntagQueue" => Operation::UntagQueue(parse(value)?),
            "ListQueueTags" => Operation::ListQueueTags(parse(value)?),
            "AddPermission" => Operation::AddPermission(parse(value)?),
            "RemovePermission" => Operation::RemovePermission(parse(value)?),
            "ListDeadLetterSourceQueues" => Operation::ListDeadLetterSourceQueues(parse(value)?),
            "StartMessageMoveTask" => Operation::StartMessageMoveTask(parse(value)?),
            "CancelMessageMoveTask" => Operation::CancelMessageMoveTask(parse(value)?),
            "ListMessageMoveTasks" => Operation::ListMessageMoveTasks(parse(value)?),
            other => return Err(DecodeError::UnknownOperation(other.to_owned())),
        })
    }

    /// The operation's name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateQueue(_) => "CreateQueue",
            Operation::GetQueueUrl(_) => "GetQueueUrl",
            Operation::ListQueues(_) => "ListQueues",
            Operation::DeleteQueue(_) => "DeleteQueue",
            Operation::GetQueueAttributes(_) => "GetQueueAttributes",
            Operation::SetQueueAttributes(_) => "SetQueueAttributes",
            Operation::SendMessage(_) => "SendMessage",
            Operation::SendMessageBatch(_) => "SendMessageBatch",
            Operation::ReceiveMessage(_) => "ReceiveMessage",
            Operation::DeleteMessage(_) => "DeleteMessage",
            Operation::DeleteMessageBatch(_) => "DeleteMessageBatch",
            Operation::ChangeMessageVisibility(_) => "ChangeMessageVisibility",
            Operation::ChangeMessageVisibilityBatch(_) => "ChangeMessageVisibilityBatch",
            Operation::PurgeQueue(_) => "PurgeQueue",
            Operation::TagQueue(_) => "TagQueue",
            Operation::UntagQueue(_) => "UntagQueue",
            Operation::ListQueueTags(_) => "ListQueueTags",
            Operation::AddPermission(_) => "AddPermission",
            Operation::RemovePermission(_) => "RemovePermission",
            Operation::ListDeadLetterSourceQueues(_) => "ListDeadLetterSourceQueues",
            Operation::StartMessageMoveTask(_) => "StartMessageMoveTask",
            Operation::CancelMessageMoveTask(_) => "CancelMessageMoveTask",
            Operation::ListMessageMoveTasks(_) => "ListMessageMoveTasks",
        }
    }
}
