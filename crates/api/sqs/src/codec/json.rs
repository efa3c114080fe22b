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
use crate::output::Output;

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

/// Renders an output as the JSON body.
pub fn encode(output: &Output) -> Vec<u8> {
    // The output types hold only strings, numbers, lists and string-keyed maps, which
    // serde_json always writes.
    serde_json::to_vec(output).unwrap_or_else(|_| b"{}".to_vec())
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
