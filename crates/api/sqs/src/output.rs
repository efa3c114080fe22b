//! What a handled operation returns: one typed struct per output shape of the service model,
//! with the model's member names. The JSON writer is `serde_json`; the query protocol's XML
//! comes from the one writer in `wharf_api_common::xml`, told SQS's list and map names by
//! [`SqsXmlNames`].

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use wharf_api_common::xml::{ListStyle, MapStyle, XmlNames};
use wharf_queue::{AttributeValue, ReceivedMessage, Sent};

/// CreateQueue and GetQueueUrl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlResult {
    /// The queue's URL.
    pub queue_url: String,
}

/// ListQueues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResult {
    /// The page; left out when empty, as SQS answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_urls: Vec<String>,
    /// The next page's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListDeadLetterSourceQueues (the model names the list in lower camel case, and requires it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListDeadLetterSourceQueuesResult {
    /// The page.
    #[serde(rename = "queueUrls")]
    pub queue_urls: Vec<String>,
    /// The next page's token.
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Name-value pairs written as a map in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Pairs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// GetQueueAttributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesResult {
    /// The attributes asked for.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub attributes: Pairs,
}

/// SendMessage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SendMessageResult {
    /// The new message's id.
    #[serde(rename = "MessageId")]
    pub message_id: String,
    /// Hex MD5 of the body.
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    /// Hex MD5 of the user attributes.
    #[serde(rename = "MD5OfMessageAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// Hex MD5 of the system attributes.
    #[serde(rename = "MD5OfMessageSystemAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_system_attributes: Option<String>,
    /// FIFO sequence number.
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

impl From<Sent> for SendMessageResult {
    fn from(sent: Sent) -> Self {
        SendMessageResult {
            message_id: sent.message_id,
            md5_of_message_body: sent.body_md5,
            md5_of_message_attributes: sent.attributes_md5,
            md5_of_message_system_attributes: sent.system_attributes_md5,
            sequence_number: sent.sequence_number,
        }
    }
}

/// One accepted SendMessageBatch entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SendMessageBatchResultEntry {
    /// The entry's id.
    #[serde(rename = "Id")]
    pub id: String,
    /// The new message's id.
    #[serde(rename = "MessageId")]
    pub message_id: String,
    /// Hex MD5 of the body.
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    /// Hex MD5 of the user attributes.
    #[serde(rename = "MD5OfMessageAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// Hex MD5 of the system attributes.
    #[serde(rename = "MD5OfMessageSystemAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_system_attributes: Option<String>,
    /// FIFO sequence number.
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

impl SendMessageBatchResultEntry {
    /// The entry `id` that became `sent`.
    pub fn new(id: String, sent: Sent) -> Self {
        SendMessageBatchResultEntry {
            id,
            message_id: sent.message_id,
            md5_of_message_body: sent.body_md5,
            md5_of_message_attributes: sent.attributes_md5,
            md5_of_message_system_attributes: sent.system_attributes_md5,
            sequence_number: sent.sequence_number,
        }
    }
}

/// A refused batch entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    /// The entry's id.
    pub id: String,
    /// Whether the request was at fault.
    pub sender_fault: bool,
    /// The legacy error code, as batch results carry it.
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

/// SendMessageBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchResult {
    /// Accepted entries; left out when empty, as SQS answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successful: Vec<SendMessageBatchResultEntry>,
    /// Refused entries; left out when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// One accepted DeleteMessageBatch or ChangeMessageVisibilityBatch entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultEntry {
    /// The entry's id.
    pub id: String,
}

/// DeleteMessageBatch and ChangeMessageVisibilityBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult {
    /// Accepted entries; left out when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successful: Vec<BatchResultEntry>,
    /// Refused entries; left out when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// One received message, written from the engine's value without copying its body.
#[derive(Debug)]
pub struct Message(pub ReceivedMessage);

/// A message attribute value as the model shapes it.
struct AttributeValueOut<'a>(&'a wharf_queue::MessageAttribute);

impl Serialize for AttributeValueOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("MessageAttributeValue", 2)?;
        match &self.0.value {
            AttributeValue::String(text) => object.serialize_field("StringValue", text)?,
            AttributeValue::Binary(bytes) => {
                object.serialize_field("BinaryValue", &base64::engine::general_purpose::STANDARD.encode(bytes))?
            }
        }
        object.serialize_field("DataType", &self.0.data_type)?;
        object.end()
    }
}

struct SystemAttributes<'a>(&'a [(&'static str, String)]);

impl Serialize for SystemAttributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

struct MessageAttributes<'a>(&'a ReceivedMessage);

impl Serialize for MessageAttributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for attribute in self.0.message_attributes() {
            map.serialize_entry(&attribute.name, &AttributeValueOut(attribute))?;
        }
        map.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = &self.0;
        let mut object = serializer.serialize_struct("Message", 7)?;
        object.serialize_field("MessageId", &wharf_queue::message_id_text(&message.data.message_id))?;
        object.serialize_field("ReceiptHandle", &message.receipt_handle)?;
        object.serialize_field("MD5OfBody", &hex::encode(message.data.body_md5))?;
        object.serialize_field("Body", &*message.data.body)?;
        if !message.attributes.is_empty() {
            object.serialize_field("Attributes", &SystemAttributes(&message.attributes))?;
        }
        if let Some(md5) = message.selected_attributes_md5 {
            object.serialize_field("MD5OfMessageAttributes", &hex::encode(md5))?;
            object.serialize_field("MessageAttributes", &MessageAttributes(message))?;
        }
        object.end()
    }
}

/// ReceiveMessage.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResult {
    /// The messages; left out when none came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// ListQueueTags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsResult {
    /// The tags; left out when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// StartMessageMoveTask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskResult {
    /// The new task's handle.
    pub task_handle: String,
}

/// CancelMessageMoveTask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskResult {
    /// Moved before the cancel.
    pub approximate_number_of_messages_moved: i64,
}

/// One move task, as ListMessageMoveTasks reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    /// Handle of a running task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    /// The dead-letter queue.
    pub source_arn: String,
    /// The destination, if one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// The rate limit, if one was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i64>,
    /// Moved so far.
    pub approximate_number_of_messages_moved: i64,
    /// Messages to move at the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_to_move: Option<i64>,
    /// Why it failed: the error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Start instant, epoch milliseconds.
    pub started_timestamp: i64,
}

/// ListMessageMoveTasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResult {
    /// The tasks, newest first.
    pub results: Vec<ListMessageMoveTasksResultEntry>,
}

/// A handled operation's result.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// Operations whose output shape is empty: `{}` in JSON, no result element in XML.
    Empty(Empty),
    /// CreateQueue and GetQueueUrl.
    QueueUrl(QueueUrlResult),
    /// ListQueues.
    ListQueues(ListQueuesResult),
    /// ListDeadLetterSourceQueues.
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesResult),
    /// GetQueueAttributes.
    GetQueueAttributes(GetQueueAttributesResult),
    /// SendMessage.
    SendMessage(SendMessageResult),
    /// SendMessageBatch.
    SendMessageBatch(SendMessageBatchResult),
    /// ReceiveMessage.
    ReceiveMessage(ReceiveMessageResult),
    /// DeleteMessageBatch and ChangeMessageVisibilityBatch.
    Batch(BatchResult),
    /// ListQueueTags.
    ListQueueTags(ListQueueTagsResult),
    /// StartMessageMoveTask.
    StartMessageMoveTask(StartMessageMoveTaskResult),
    /// CancelMessageMoveTask.
    CancelMessageMoveTask(CancelMessageMoveTaskResult),
    /// ListMessageMoveTasks.
    ListMessageMoveTasks(ListMessageMoveTasksResult),
}

/// An empty output shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

impl Output {
    /// The empty result.
    pub const EMPTY: Output = Output::Empty(Empty {});

    /// Whether the output shape has no members (and the XML answer no result element).
    pub fn is_empty_shape(&self) -> bool {
        matches!(self, Output::Empty(_))
    }
}

/// SQS's query-protocol names, as the last query-era service model (botocore 1.34) gives them:
/// every list and map is flattened.
pub struct SqsXmlNames<'a> {
    /// The operation, which names the entries of `Successful`.
    pub action: &'a str,
}

impl XmlNames for SqsXmlNames<'_> {
    fn list(&self, member: &str) -> Option<ListStyle> {
        let item = match member {
            "QueueUrls" | "queueUrls" => "QueueUrl".to_owned(),
            "Messages" => "Message".to_owned(),
            "Successful" => format!("{}ResultEntry", self.action),
            "Failed" => "BatchResultErrorEntry".to_owned(),
            "Results" => "ListMessageMoveTasksResultEntry".to_owned(),
            _ => return None,
        };
        Some(ListStyle { wrapper: None, item })
    }

    fn map(&self, member: &str) -> Option<MapStyle> {
        let (entry, key) = match member {
            "Attributes" => ("Attribute", "Name"),
            "MessageAttributes" => ("MessageAttribute", "Name"),
            "Tags" => ("Tag", "Key"),
            _ => return None,
        };
        Some(MapStyle { wrapper: None, entry: entry.into(), key: key.into(), value: "Value".into() })
    }
}
