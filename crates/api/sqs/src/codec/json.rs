//! awsJson1_0, what current SDKs speak.
//!
//! # Wire
//! ```text
//! POST / HTTP/1.1
//! X-Amz-Target: AmazonSQS.SendMessage
//! Content-Type: application/x-amz-json-1.0
//!
//! {"QueueUrl":"http://127.0.0.1:4566/000000000000/q","MessageBody":"hi"}
//! ```
//! Answers carry `Content-Type: application/x-amz-json-1.0` and JSON bodies whose members are
//! the model's names.

use crate::error::SqsError;
use crate::model::{DecodeError, Operation};
use crate::output::{BatchFailure, Output};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use wharf_queue::AttributeValue;
use wharf_queue::Sent;

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The `X-Amz-Target` prefix of SQS operations.
pub const TARGET_PREFIX: &str = "AmazonSQS.";

/// Decodes a JSON request whose target names `operation`.
pub fn decode(operation: &str, body: &[u8]) -> Result<Operation, SqsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { body };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let decoded = Operation::deserialize_input(operation, &mut deserializer).and_then(|operation| {
        deserializer.end().map_err(|err| DecodeError::Malformed(err.to_string()))?;
        Ok(operation)
    });
    decoded.map_err(|err| match err {
        DecodeError::UnknownOperation(name) => {
            crate::sqs_error!(UnknownOperation, "Operation {name} is not supported by this service")
        }
        DecodeError::Malformed(reason) => crate::sqs_error!(SerializationException, "{reason}"),
    })
}

fn sent(sent: &Sent, id: Option<&str>) -> Value {
    let mut object = Map::new();
    if let Some(id) = id {
        object.insert("Id".into(), json!(id));
    }
    object.insert("MessageId".into(), json!(sent.message_id));
    object.insert("MD5OfMessageBody".into(), json!(sent.body_md5));
    if let Some(md5) = &sent.attributes_md5 {
        object.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    if let Some(md5) = &sent.system_attributes_md5 {
        object.insert("MD5OfMessageSystemAttributes".into(), json!(md5));
    }
    if let Some(sequence) = &sent.sequence_number {
        object.insert("SequenceNumber".into(), json!(sequence));
    }
    Value::Object(object)
}

fn failures(failed: &[BatchFailure]) -> Value {
    failed
        .iter()
        .map(|failure| json!({"Id": failure.id, "SenderFault": failure.sender_fault, "Code": failure.code, "Message": failure.message}))
        .collect()
}

/// A batch result: `Successful` and `Failed`, each left out when empty, as SQS answers.
fn batch_result(successful: Vec<Value>, failed: &[BatchFailure]) -> Value {
    let mut object = Map::new();
    if !successful.is_empty() {
        object.insert("Successful".into(), Value::Array(successful));
    }
    if !failed.is_empty() {
        object.insert("Failed".into(), failures(failed));
    }
    Value::Object(object)
}

/// Renders an output as the JSON body.
pub fn encode(output: &Output) -> Vec<u8> {
    let value = match output {
        Output::QueueUrl(url) => json!({ "QueueUrl": url }),
        Output::QueueUrls { json_member, queue_urls, next_token } => {
            let mut object = Map::new();
            if !queue_urls.is_empty() || *json_member == "queueUrls" {
                object.insert((*json_member).into(), json!(queue_urls));
            }
            if let Some(token) = next_token {
                object.insert("NextToken".into(), json!(token));
            }
            Value::Object(object)
        }
        Output::Empty => json!({}),
        Output::Attributes(attributes) => {
            if attributes.is_empty() {
                json!({})
            } else {
                let map: Map<String, Value> =
                    attributes.iter().map(|(name, value)| (name.clone(), json!(value))).collect();
                json!({ "Attributes": map })
            }
        }
        Output::SendMessage(result) => sent(result, None),
        Output::SendMessageBatch { successful, failed } => {
            batch_result(successful.iter().map(|(id, result)| sent(result, Some(id))).collect(), failed)
        }
        Output::ReceiveMessage(messages) => {
            if messages.is_empty() {
                json!({})
            } else {
                let list: Vec<Value> = messages
                    .iter()
                    .map(|message| {
                        let mut object = Map::new();
                        object
                            .insert("MessageId".into(), json!(wharf_queue::message_id_text(&message.data.message_id)));
                        object.insert("ReceiptHandle".into(), json!(message.receipt_handle));
                        object.insert("MD5OfBody".into(), json!(hex::encode(message.data.body_md5)));
                        object.insert("Body".into(), json!(&*message.data.body));
                        if !message.attributes.is_empty() {
                            let attributes: Map<String, Value> = message
                                .attributes
                                .iter()
                                .map(|(name, value)| ((*name).to_owned(), json!(value)))
                                .collect();
                            object.insert("Attributes".into(), Value::Object(attributes));
                        }
                        if let Some(md5) = message.selected_attributes_md5 {
                            object.insert("MD5OfMessageAttributes".into(), json!(hex::encode(md5)));
                            let attributes: Map<String, Value> = message
                                .message_attributes()
                                .map(|attribute| {
                                    let value = match &attribute.value {
                                        AttributeValue::String(text) => {
                                            json!({"StringValue": text, "DataType": attribute.data_type})
                                        }
                                        AttributeValue::Binary(bytes) => json!({
                                            "BinaryValue": base64::engine::general_purpose::STANDARD.encode(bytes),
                                            "DataType": attribute.data_type,
                                        }),
                                    };
                                    (attribute.name.clone(), value)
                                })
                                .collect();
                            object.insert("MessageAttributes".into(), Value::Object(attributes));
                        }
                        Value::Object(object)
                    })
                    .collect();
                json!({ "Messages": list })
            }
        }
        Output::Batch { successful, failed } => {
            batch_result(successful.iter().map(|id| json!({"Id": id})).collect(), failed)
        }
        Output::Tags(tags) => {
            if tags.is_empty() {
                json!({})
            } else {
                json!({ "Tags": tags })
            }
        }
        Output::TaskHandle(handle) => json!({ "TaskHandle": handle }),
        Output::MessagesMoved(moved) => json!({ "ApproximateNumberOfMessagesMoved": moved }),
        Output::MoveTasks(tasks) => {
            let list: Vec<Value> = tasks
                .iter()
                .map(|task| {
                    let mut object = Map::new();
                    if let Some(handle) = &task.task_handle {
                        object.insert("TaskHandle".into(), json!(handle));
                    }
                    object.insert("Status".into(), json!(task.status));
                    object.insert("SourceArn".into(), json!(task.source_arn));
                    if let Some(destination) = &task.destination_arn {
                        object.insert("DestinationArn".into(), json!(destination));
                    }
                    if let Some(rate) = task.max_number_of_messages_per_second {
                        object.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
                    }
                    object.insert(
                        "ApproximateNumberOfMessagesMoved".into(),
                        json!(task.approximate_number_of_messages_moved),
                    );
                    if let Some(to_move) = task.approximate_number_of_messages_to_move {
                        object.insert("ApproximateNumberOfMessagesToMove".into(), json!(to_move));
                    }
                    if let Some(reason) = &task.failure_reason {
                        object.insert("FailureReason".into(), json!(reason));
                    }
                    object.insert("StartedTimestamp".into(), json!(task.started_timestamp));
                    Value::Object(object)
                })
                .collect();
            json!({ "Results": list })
        }
    };
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_model_member_names() {
        let body = br#"{"QueueUrl":"http://h/000000000000/q","MessageBody":"hi","DelaySeconds":5,
            "MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}},"SomeFutureMember":1}"#;
        let Operation::SendMessage(input) = decode("SendMessage", body).expect("decodes") else {
            panic!("wrong operation")
        };
        assert_eq!(input.message_body.as_deref(), Some("hi"));
        assert_eq!(input.delay_seconds, Some(5));
        assert_eq!(input.message_attributes["a"].string_value.as_deref(), Some("v"));
    }

    #[test]
    fn rejects_wrong_types_and_unknown_operations() {
        let err = decode("ReceiveMessage", br#"{"MaxNumberOfMessages":"ten"}"#).unwrap_err();
        assert_eq!(err.code, crate::error::SqsErrorCode::SerializationException);
        let err = decode("Frobnicate", b"{}").unwrap_err();
        assert_eq!(err.code, crate::error::SqsErrorCode::UnknownOperation);
        let err = decode("ListQueues", b"[1]").unwrap_err();
        assert_eq!(err.code, crate::error::SqsErrorCode::SerializationException);
        let err = decode("ListQueues", b"{\"a\":").unwrap_err();
        assert_eq!(err.code, crate::error::SqsErrorCode::SerializationException);
        assert!(decode("ListQueues", b"").is_ok(), "an empty body is an empty input");
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            for operation in crate::model::OPERATION_NAMES {
                let _ = decode(operation, &body);
            }
        }

        #[test]
        fn decoding_json_shaped_input_never_panics(body in r#"\{("[A-Za-z]{1,12}":("[^"]{0,8}"|-?[0-9]{1,20}|\[\]|\{\}|null|true),?){0,6}\}"#) {
            for operation in crate::model::OPERATION_NAMES {
                let _ = decode(operation, body.as_bytes());
            }
        }
    }
}
