//! The AWS query protocol, what SDKs spoke until 2023 and older ones still speak.
//!
//! # Wire
//! ```text
//! POST / HTTP/1.1                      (or POST /ACCOUNT/QUEUE, or GET with a query string)
//! Content-Type: application/x-www-form-urlencoded
//!
//! Action=SendMessage&Version=2012-11-05&QueueUrl=...&MessageBody=hi
//!   &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String
//!   &MessageAttribute.1.Value.StringValue=v
//! ```
//! Lists and maps are flattened with 1-based indexes. Decoding regroups them into the JSON
//! shape of the model, so both protocols share the input types; answers are XML in the
//! `http://queue.amazonaws.com/doc/2012-11-05/` namespace.

use crate::error::SqsError;
use crate::model::{DecodeError, Operation};
use crate::output::{Output, SqsXmlNames};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The XML namespace of SQS answers.
pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// How one input member is flattened into form parameters.
#[derive(Clone, Copy)]
enum Member {
    /// `Name=value`.
    Text(&'static str),
    /// `Name=42`, a number in JSON.
    Integer(&'static str),
    /// `Query.1=a&Query.2=b` as `"Json": ["a", "b"]`.
    List { query: &'static str, json: &'static str },
    /// `Query.1.Key=k&Query.1.Value=v` as `"Json": {"k": "v"}`.
    Map { query: &'static str, json: &'static str, key: &'static str, value: &'static str },
    /// `Query.1.Name=n&Query.1.Value.DataType=String&...` as `"Json": {"n": {"DataType": ...}}`.
    MessageAttributes { query: &'static str, json: &'static str },
    /// `Query.1.Member=...` as `"Json": [{"Member": ...}]`.
    Entries { query: &'static str, json: &'static str, members: &'static [Member] },
}

const QUEUE_URL: Member = Member::Text("QueueUrl");
const ATTRIBUTES: Member = Member::Map { query: "Attribute", json: "Attributes", key: "Name", value: "Value" };
const MESSAGE_ATTRIBUTES: Member = Member::MessageAttributes { query: "MessageAttribute", json: "MessageAttributes" };
const SYSTEM_ATTRIBUTES: Member =
    Member::MessageAttributes { query: "MessageSystemAttribute", json: "MessageSystemAttributes" };

const SEND_ENTRY: &[Member] = &[
    Member::Text("Id"),
    Member::Text("MessageBody"),
    Member::Integer("DelaySeconds"),
    MESSAGE_ATTRIBUTES,
    SYSTEM_ATTRIBUTES,
    Member::Text("MessageDeduplicationId"),
    Member::Text("MessageGroupId"),
];
const DELETE_ENTRY: &[Member] = &[Member::Text("Id"), Member::Text("ReceiptHandle")];
const CHANGE_ENTRY: &[Member] =
    &[Member::Text("Id"), Member::Text("ReceiptHandle"), Member::Integer("VisibilityTimeout")];

/// The flattened members of each operation's input.
fn shape(operation: &str) -> Option<&'static [Member]> {
    Some(match operation {
        "CreateQueue" => &[
            Member::Text("QueueName"),
            ATTRIBUTES,
            Member::Map { query: "Tag", json: "tags", key: "Key", value: "Value" },
        ],
        "GetQueueUrl" => &[Member::Text("QueueName"), Member::Text("QueueOwnerAWSAccountId")],
        "ListQueues" => &[Member::Text("QueueNamePrefix"), Member::Text("NextToken"), Member::Integer("MaxResults")],
        "DeleteQueue" | "PurgeQueue" | "ListQueueTags" => &[QUEUE_URL],
        "GetQueueAttributes" => &[QUEUE_URL, Member::List { query: "AttributeName", json: "AttributeNames" }],
        "SetQueueAttributes" => &[QUEUE_URL, ATTRIBUTES],
        "SendMessage" => &[
            QUEUE_URL,
            Member::Text("MessageBody"),
            Member::Integer("DelaySeconds"),
            MESSAGE_ATTRIBUTES,
            SYSTEM_ATTRIBUTES,
            Member::Text("MessageDeduplicationId"),
            Member::Text("MessageGroupId"),
        ],
        "SendMessageBatch" => &[
            QUEUE_URL,
            Member::Entries { query: "SendMessageBatchRequestEntry", json: "Entries", members: SEND_ENTRY },
        ],
        "ReceiveMessage" => &[
            QUEUE_URL,
            Member::List { query: "AttributeName", json: "AttributeNames" },
            Member::List { query: "MessageSystemAttributeName", json: "MessageSystemAttributeNames" },
            Member::List { query: "MessageAttributeName", json: "MessageAttributeNames" },
            Member::Integer("MaxNumberOfMessages"),
            Member::Integer("VisibilityTimeout"),
            Member::Integer("WaitTimeSeconds"),
            Member::Text("ReceiveRequestAttemptId"),
        ],
        "DeleteMessage" => &[QUEUE_URL, Member::Text("ReceiptHandle")],
        "DeleteMessageBatch" => &[
            QUEUE_URL,
            Member::Entries { query: "DeleteMessageBatchRequestEntry", json: "Entries", members: DELETE_ENTRY },
        ],
        "ChangeMessageVisibility" => &[QUEUE_URL, Member::Text("ReceiptHandle"), Member::Integer("VisibilityTimeout")],
        "ChangeMessageVisibilityBatch" => &[
            QUEUE_URL,
            Member::Entries {
                query: "ChangeMessageVisibilityBatchRequestEntry",
                json: "Entries",
                members: CHANGE_ENTRY,
            },
        ],
        "TagQueue" => &[QUEUE_URL, Member::Map { query: "Tag", json: "Tags", key: "Key", value: "Value" }],
        "UntagQueue" => &[QUEUE_URL, Member::List { query: "TagKey", json: "TagKeys" }],
        "AddPermission" => &[
            QUEUE_URL,
            Member::Text("Label"),
            Member::List { query: "AWSAccountId", json: "AWSAccountIds" },
            Member::List { query: "ActionName", json: "Actions" },
        ],
        "RemovePermission" => &[QUEUE_URL, Member::Text("Label")],
        "ListDeadLetterSourceQueues" => &[QUEUE_URL, Member::Text("NextToken"), Member::Integer("MaxResults")],
        "StartMessageMoveTask" => &[
            Member::Text("SourceArn"),
            Member::Text("DestinationArn"),
            Member::Integer("MaxNumberOfMessagesPerSecond"),
        ],
        "CancelMessageMoveTask" => &[Member::Text("TaskHandle")],
        "ListMessageMoveTasks" => &[Member::Text("SourceArn"), Member::Integer("MaxResults")],
        _ => return None,
    })
}

/// The parameters under `prefix.N.` grouped by N in index order, with the prefix removed.
fn indexed(params: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<u32, BTreeMap<String, String>> {
    let mut groups: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let dotted = format!("{prefix}.");
    for (name, value) in
        params.range::<str, _>((std::ops::Bound::Included(dotted.as_str()), std::ops::Bound::Unbounded))
    {
        let Some(rest) = name.strip_prefix(&dotted) else { break };
        let (index, tail) = match rest.split_once('.') {
            Some((index, tail)) => (index, tail),
            None => (rest, ""),
        };
        if let Ok(index) = index.parse::<u32>() {
            groups.entry(index).or_default().insert(tail.to_owned(), value.clone());
        }
    }
    groups
}

fn integer(name: &str, text: &str) -> Result<Value, DecodeError> {
    text.trim().parse::<i64>().map(Value::from).map_err(|_| {
        DecodeError::Malformed(format!("Value {text} for parameter {name} is invalid. Reason: must be an integer."))
    })
}

fn unflatten(params: &BTreeMap<String, String>, members: &[Member]) -> Result<Map<String, Value>, DecodeError> {
    let mut object = Map::new();
    for member in members {
        match *member {
            Member::Text(name) => {
                if let Some(value) = params.get(name) {
                    object.insert(name.into(), Value::String(value.clone()));
                }
            }
            Member::Integer(name) => {
                if let Some(value) = params.get(name) {
                    object.insert(name.into(), integer(name, value)?);
                }
            }
            Member::List { query, json } => {
                let items: Vec<Value> = indexed(params, query)
                    .into_values()
                    .filter_map(|mut group| group.remove(""))
                    .map(Value::String)
                    .collect();
                if !items.is_empty() {
                    object.insert(json.into(), Value::Array(items));
                }
            }
            Member::Map { query, json, key, value } => {
                let mut map = Map::new();
                for (_, mut group) in indexed(params, query) {
                    if let Some(entry_key) = group.remove(key) {
                        let entry_value = group.remove(value).unwrap_or_default();
                        map.insert(entry_key, Value::String(entry_value));
                    }
                }
                if !map.is_empty() {
                    object.insert(json.into(), Value::Object(map));
                }
            }
            Member::MessageAttributes { query, json } => {
                let mut map = Map::new();
                for (_, group) in indexed(params, query) {
                    let Some(name) = group.get("Name") else { continue };
                    let mut value = Map::new();
                    for (field, wire) in [
                        ("DataType", "Value.DataType"),
                        ("StringValue", "Value.StringValue"),
                        ("BinaryValue", "Value.BinaryValue"),
                    ] {
                        if let Some(text) = group.get(wire) {
                            value.insert(field.into(), Value::String(text.clone()));
                        }
                    }
                    if map.insert(name.clone(), Value::Object(value)).is_some() {
                        return Err(DecodeError::Malformed(format!("Message attribute name '{name}' is repeated.")));
                    }
                }
                if !map.is_empty() {
                    object.insert(json.into(), Value::Object(map));
                }
            }
            Member::Entries { query, json, members } => {
                let mut entries = Vec::new();
                for (_, group) in indexed(params, query) {
                    entries.push(Value::Object(unflatten(&group, members)?));
                }
                if !entries.is_empty() {
                    object.insert(json.into(), Value::Array(entries));
                }
            }
        }
    }
    Ok(object)
}

/// Decodes form parameters into an operation. `path_queue_url` is the queue URL implied by a
/// request sent to a queue's path, used when `QueueUrl` is absent.
pub fn decode(params: Vec<(String, String)>, path_queue_url: Option<String>) -> Result<Operation, SqsError> {
    let mut params: BTreeMap<String, String> = params.into_iter().collect();
    let action = params
        .remove("Action")
        .ok_or_else(|| crate::sqs_error!(MissingParameter, "The request must contain the parameter Action."))?;
    let members = shape(&action)
        .ok_or_else(|| crate::sqs_error!(InvalidAction, "The action {action} is not valid for this endpoint."))?;
    // A request sent to a queue's URL is for that queue: actions without a queue are not
    // valid there, as SQS answers.
    if path_queue_url.is_some() && !members.iter().any(|member| matches!(member, Member::Text("QueueUrl"))) {
        return Err(crate::sqs_error!(InvalidAction, "The action {action} is not valid for this endpoint."));
    }
    if !params.contains_key("QueueUrl") {
        if let Some(url) = path_queue_url {
            params.insert("QueueUrl".into(), url);
        }
    }
    let object = unflatten(&params, members).map_err(|err| match err {
        DecodeError::Malformed(reason) => crate::sqs_error!(InvalidParameterValue, "{reason}"),
        DecodeError::UnknownOperation(name) => {
            crate::sqs_error!(InvalidAction, "The action {name} is not valid for this endpoint.")
        }
    })?;
    Operation::from_json(&action, Value::Object(object)).map_err(|err| match err {
        DecodeError::Malformed(reason) => crate::sqs_error!(InvalidParameterValue, "{reason}"),
        DecodeError::UnknownOperation(name) => {
            crate::sqs_error!(InvalidAction, "The action {name} is not valid for this endpoint.")
        }
    })
}

/// Renders an output as the XML body of `action`'s answer.
pub fn encode(action: &str, output: &Output, request_id: &str) -> Vec<u8> {
    let result = (!output.is_empty_shape()).then_some(output);
    wharf_api_common::xml::query_response(action, NAMESPACE, result, request_id, &SqsXmlNames { action })
        // The output types hold only strings, numbers, lists and string-keyed maps, which the
        // writer always writes; an empty answer is the fallback that cannot happen.
        .unwrap_or_default()
}

/// Renders an output as the JSON a query request that accepts `application/json` gets: the XML
/// answer's structure, `{"ActionResponse": {"ActionResult": {…}, "ResponseMetadata": {…}}}`,
/// with the result's members as the JSON protocol names them.
pub fn encode_json(action: &str, output: &Output, request_id: &str) -> Vec<u8> {
    let mut response = Map::new();
    if !output.is_empty_shape() {
        response.insert(format!("{action}Result"), serde_json::to_value(output).unwrap_or_default());
    }
    response.insert("ResponseMetadata".into(), serde_json::json!({ "RequestId": request_id }));
    let mut body = Map::new();
    body.insert(format!("{action}Response"), Value::Object(response));
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Renders an error as the JSON a query request that accepts `application/json` gets.
pub fn encode_json_error(error: &wharf_api_common::ErrorBody<'_>, request_id: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "Error": {
            "Type": error.fault.as_str(),
            "Code": error.query_code.unwrap_or(error.json_type),
            "Message": error.message,
        },
        "RequestId": request_id,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::output::*;
    use proptest::prelude::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        wharf_api_common::request::form_pairs(text.as_bytes()).expect("utf-8")
    }

    /// The request botocore's query serializer produced for a send with one attribute.
    #[test]
    fn send_message_with_attributes() {
        let operation = decode(
            pairs("Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq&MessageBody=hi&DelaySeconds=3\
                   &MessageAttribute.1.Name=a1&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v1\
                   &MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AQID"),
            None,
        )
        .expect("decodes");
        let Operation::SendMessage(input) = operation else { panic!("wrong operation") };
        assert_eq!(input.queue_url.as_deref(), Some("http://h/000000000000/q"));
        assert_eq!(input.delay_seconds, Some(3));
        assert_eq!(input.message_attributes["a1"].string_value.as_deref(), Some("v1"));
        assert_eq!(input.message_attributes["b"].binary_value.as_deref(), Some("AQID"));
    }

    #[test]
    fn batches_lists_and_maps() {
        let operation = decode(
            pairs("Action=SendMessageBatch&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two\
                   &SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one\
                   &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=x&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number\
                   &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=1&SendMessageBatchRequestEntry.10.Id=j\
                   &SendMessageBatchRequestEntry.10.MessageBody=ten"),
            Some("http://h/000000000000/q".into()),
        )
        .expect("decodes");
        let Operation::SendMessageBatch(input) = operation else { panic!("wrong operation") };
        let ids: Vec<&str> = input.entries.iter().map(|entry| entry.id.as_deref().unwrap_or("")).collect();
        assert_eq!(ids, ["a", "b", "j"], "entries in index order, 10 after 2");
        assert_eq!(input.entries[0].message_attributes["x"].data_type.as_deref(), Some("Number"));
        assert_eq!(input.queue_url.as_deref(), Some("http://h/000000000000/q"), "queue from the path");

        let Operation::CreateQueue(create) = decode(
            pairs("Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Tag.1.Key=team&Tag.1.Value=core"),
            None,
        )
        .expect("decodes") else {
            panic!("wrong operation")
        };
        assert_eq!(create.attributes["VisibilityTimeout"], "40");
        assert_eq!(create.tags["team"], "core");

        let Operation::ReceiveMessage(receive) =
            decode(pairs("Action=ReceiveMessage&QueueUrl=u&AttributeName.1=All&MessageAttributeName.1=a.*&MaxNumberOfMessages=10"), None)
                .expect("decodes")
        else {
            panic!("wrong operation")
        };
        assert_eq!(receive.attribute_names, ["All"]);
        assert_eq!(receive.message_attribute_names, ["a.*"]);
        assert_eq!(receive.max_number_of_messages, Some(10));
    }

    #[test]
    fn errors() {
        assert_eq!(decode(pairs("Action=Nope"), None).unwrap_err().code, crate::error::SqsErrorCode::InvalidAction);
        assert_eq!(decode(pairs("QueueName=q"), None).unwrap_err().code, crate::error::SqsErrorCode::MissingParameter);
        let err = decode(pairs("Action=ReceiveMessage&MaxNumberOfMessages=ten"), None).unwrap_err();
        assert_eq!(err.code, crate::error::SqsErrorCode::InvalidParameterValue);
    }

    #[test]
    fn xml_answer_shape() {
        let xml = String::from_utf8(encode(
            "GetQueueUrl",
            &Output::QueueUrl(QueueUrlResult { queue_url: "http://h/0/q&x".into() }),
            "rid",
        ))
        .expect("utf-8");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\"?><GetQueueUrlResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><GetQueueUrlResult>\
             <QueueUrl>http://h/0/q&amp;x</QueueUrl></GetQueueUrlResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></GetQueueUrlResponse>"
        );
        let empty = String::from_utf8(encode("DeleteMessage", &Output::EMPTY, "rid")).expect("utf-8");
        assert!(empty.contains("<DeleteMessageResponse") && !empty.contains("DeleteMessageResult"));
        let nothing = String::from_utf8(encode("ReceiveMessage", &Output::ReceiveMessage(Default::default()), "rid"))
            .expect("utf-8");
        assert!(nothing.contains("<ReceiveMessageResult/><ResponseMetadata>"), "{nothing}");
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_forms_never_panics(body in "[A-Za-z0-9.=&%+_-]{0,200}") {
            if let Some(params) = wharf_api_common::request::form_pairs(body.as_bytes()) {
                let _ = decode(params, None);
            }
        }

        #[test]
        fn decoding_arbitrary_batches_never_panics(keys in proptest::collection::vec("(SendMessageBatchRequestEntry|MessageAttribute|Attribute|Tag)\\.[0-9]{1,3}(\\.(Id|Name|Value|MessageBody|Value\\.DataType|Value\\.StringValue|MessageAttribute\\.1\\.Name))?", 0..12)) {
            for action in ["SendMessageBatch", "SendMessage", "CreateQueue", "SetQueueAttributes"] {
                let mut params: Vec<(String, String)> = keys.iter().map(|key| (key.clone(), "v".to_string())).collect();
                params.push(("Action".into(), action.into()));
                let _ = decode(params, None);
            }
        }
    }
}
