//! Every SQS error wharf returns: its JSON `__type`, legacy query code, HTTP status and fault.
//!
//! Codes and statuses follow the botocore service models (the query-protocol model 1.34 for
//! the legacy codes, the JSON model for shape names) and
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>.
//! [`From<QueueError>`] is the one place engine failures get their AWS code: it has no
//! wildcard arm, so a new engine variant does not compile until it is mapped here.

use http::StatusCode;
use wharf_api_common::{ErrorBody, Fault};
use wharf_queue::QueueError;

/// An SQS error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqsErrorCode {
    /// The queue does not exist.
    QueueDoesNotExist,
    /// CreateQueue with different attributes.
    QueueNameExists,
    /// Name reuse too soon after DeleteQueue.
    QueueDeletedRecently,
    /// Unknown attribute name.
    InvalidAttributeName,
    /// Bad attribute value.
    InvalidAttributeValue,
    /// Bad parameter value (not in the model, used by AWS).
    InvalidParameterValue,
    /// Missing parameter (not in the model, used by AWS).
    MissingParameter,
    /// Body characters outside the allowed set.
    InvalidMessageContents,
    /// Malformed or foreign receipt handle.
    ReceiptHandleIsInvalid,
    /// Visibility change on a message not in flight.
    MessageNotInflight,
    /// Second purge within a minute.
    PurgeQueueInProgress,
    /// A limit was reached.
    OverLimit,
    /// Batch without entries.
    EmptyBatchRequest,
    /// Batch with more than ten entries.
    TooManyEntriesInBatchRequest,
    /// Batch entries share an id.
    BatchEntryIdsNotDistinct,
    /// Bad batch entry id.
    InvalidBatchEntryId,
    /// Batch payload too large.
    BatchRequestTooLong,
    /// Not supported.
    UnsupportedOperation,
    /// The queue URL is malformed.
    InvalidAddress,
    /// No such resource (move tasks).
    ResourceNotFoundException,
    /// Query protocol: unknown action.
    InvalidAction,
    /// JSON protocol: unknown target.
    UnknownOperation,
    /// A GET on a queue URL without `Action` (404, as SQS answers a browser).
    UnknownQueueOperation,
    /// JSON protocol: the body does not fit the input shape.
    SerializationException,
    /// Query protocol: the parameters cannot be decoded.
    MalformedQueryString,
    /// The server failed.
    InternalFailure,
}

impl SqsErrorCode {
    /// The JSON `__type`.
    pub fn json_type(self) -> &'static str {
        match self {
            SqsErrorCode::QueueDoesNotExist => "com.amazonaws.sqs#QueueDoesNotExist",
            SqsErrorCode::QueueNameExists => "com.amazonaws.sqs#QueueNameExists",
            SqsErrorCode::QueueDeletedRecently => "com.amazonaws.sqs#QueueDeletedRecently",
            SqsErrorCode::InvalidAttributeName => "com.amazonaws.sqs#InvalidAttributeName",
            SqsErrorCode::InvalidAttributeValue => "com.amazonaws.sqs#InvalidAttributeValue",
            // Not model shapes: AWS names them so on the JSON protocol (as recorded), while the
            // legacy code in `x-amzn-query-error` stays InvalidParameterValue / MissingParameter.
            SqsErrorCode::InvalidParameterValue => "com.amazonaws.sqs#InvalidParameterValueException",
            SqsErrorCode::MissingParameter => "com.amazonaws.sqs#MissingRequiredParameterException",
            SqsErrorCode::InvalidMessageContents => "com.amazonaws.sqs#InvalidMessageContents",
            SqsErrorCode::ReceiptHandleIsInvalid => "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            SqsErrorCode::MessageNotInflight => "com.amazonaws.sqs#MessageNotInflight",
            SqsErrorCode::PurgeQueueInProgress => "com.amazonaws.sqs#PurgeQueueInProgress",
            SqsErrorCode::OverLimit => "com.amazonaws.sqs#OverLimit",
            SqsErrorCode::EmptyBatchRequest => "com.amazonaws.sqs#EmptyBatchRequest",
            SqsErrorCode::TooManyEntriesInBatchRequest => "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            SqsErrorCode::BatchEntryIdsNotDistinct => "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
            SqsErrorCode::InvalidBatchEntryId => "com.amazonaws.sqs#InvalidBatchEntryId",
            SqsErrorCode::BatchRequestTooLong => "com.amazonaws.sqs#BatchRequestTooLong",
            SqsErrorCode::UnsupportedOperation => "com.amazonaws.sqs#UnsupportedOperation",
            SqsErrorCode::InvalidAddress => "com.amazonaws.sqs#InvalidAddress",
            SqsErrorCode::ResourceNotFoundException => "com.amazonaws.sqs#ResourceNotFoundException",
            SqsErrorCode::InvalidAction => "com.amazonaws.sqs#InvalidAction",
            SqsErrorCode::UnknownOperation | SqsErrorCode::UnknownQueueOperation => {
                "com.amazon.coral.service#UnknownOperationException"
            }
            SqsErrorCode::SerializationException => "com.amazon.coral.service#SerializationException",
            SqsErrorCode::MalformedQueryString => "com.amazonaws.sqs#MalformedQueryString",
            SqsErrorCode::InternalFailure => "com.amazon.coral.service#InternalFailure",
        }
    }

    /// The legacy query code, also sent in `x-amzn-query-error` on JSON errors.
    pub fn query_code(self) -> &'static str {
        match self {
            SqsErrorCode::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            SqsErrorCode::QueueNameExists => "QueueAlreadyExists",
            SqsErrorCode::QueueDeletedRecently => "AWS.SimpleQueueService.QueueDeletedRecently",
            SqsErrorCode::InvalidAttributeName => "InvalidAttributeName",
            SqsErrorCode::InvalidAttributeValue => "InvalidAttributeValue",
            SqsErrorCode::InvalidParameterValue => "InvalidParameterValue",
            SqsErrorCode::MissingParameter => "MissingParameter",
            SqsErrorCode::InvalidMessageContents => "InvalidMessageContents",
            SqsErrorCode::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            SqsErrorCode::MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            SqsErrorCode::PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            SqsErrorCode::OverLimit => "OverLimit",
            SqsErrorCode::EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            SqsErrorCode::TooManyEntriesInBatchRequest => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            SqsErrorCode::BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            SqsErrorCode::InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            SqsErrorCode::BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            SqsErrorCode::UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            SqsErrorCode::InvalidAddress => "InvalidAddress",
            SqsErrorCode::ResourceNotFoundException => "ResourceNotFoundException",
            SqsErrorCode::InvalidAction => "InvalidAction",
            SqsErrorCode::UnknownOperation | SqsErrorCode::UnknownQueueOperation => "UnknownOperationException",
            SqsErrorCode::SerializationException => "SerializationException",
            SqsErrorCode::MalformedQueryString => "MalformedQueryString",
            SqsErrorCode::InternalFailure => "InternalFailure",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            SqsErrorCode::PurgeQueueInProgress | SqsErrorCode::OverLimit => StatusCode::FORBIDDEN,
            SqsErrorCode::ResourceNotFoundException | SqsErrorCode::UnknownQueueOperation => StatusCode::NOT_FOUND,
            SqsErrorCode::InternalFailure => StatusCode::INTERNAL_SERVER_ERROR,
            SqsErrorCode::QueueDoesNotExist
            | SqsErrorCode::QueueNameExists
            | SqsErrorCode::QueueDeletedRecently
            | SqsErrorCode::InvalidAttributeName
            | SqsErrorCode::InvalidAttributeValue
            | SqsErrorCode::InvalidParameterValue
            | SqsErrorCode::MissingParameter
            | SqsErrorCode::InvalidMessageContents
            | SqsErrorCode::ReceiptHandleIsInvalid
            | SqsErrorCode::MessageNotInflight
            | SqsErrorCode::EmptyBatchRequest
            | SqsErrorCode::TooManyEntriesInBatchRequest
            | SqsErrorCode::BatchEntryIdsNotDistinct
            | SqsErrorCode::InvalidBatchEntryId
            | SqsErrorCode::BatchRequestTooLong
            | SqsErrorCode::UnsupportedOperation
            | SqsErrorCode::InvalidAddress
            | SqsErrorCode::InvalidAction
            | SqsErrorCode::UnknownOperation
            | SqsErrorCode::SerializationException
            | SqsErrorCode::MalformedQueryString => StatusCode::BAD_REQUEST,
        }
    }

    /// Sender for client errors, Receiver for server errors.
    pub fn fault(self) -> Fault {
        if self == SqsErrorCode::InternalFailure {
            Fault::Receiver
        } else {
            Fault::Sender
        }
    }
}

/// An SQS error with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsError {
    /// The code.
    pub code: SqsErrorCode,
    /// Human-readable text.
    pub message: String,
}

/// Builds an [`SqsError`]: `sqs_error!(MissingParameter, "... {name}")`.
#[macro_export]
macro_rules! sqs_error {
    ($code:ident, $($message:tt)+) => {
        $crate::error::SqsError { code: $crate::error::SqsErrorCode::$code, message: format!($($message)+) }
    };
}

impl SqsError {
    /// The renderable form.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            status: self.code.status(),
            json_type: self.code.json_type(),
            query_code: Some(self.code.query_code()),
            fault: self.code.fault(),
            message: &self.message,
            reason: None,
        }
    }
}

impl From<QueueError> for SqsError {
    fn from(err: QueueError) -> Self {
        let code = match &err {
            QueueError::QueueDoesNotExist => SqsErrorCode::QueueDoesNotExist,
            QueueError::QueueNameExists(_) => SqsErrorCode::QueueNameExists,
            QueueError::QueueDeletedRecently(_) => SqsErrorCode::QueueDeletedRecently,
            QueueError::InvalidAttributeName(_) | QueueError::FifoOnlyAttribute(_) => {
                SqsErrorCode::InvalidAttributeName
            }
            QueueError::InvalidAttributeValue(_) => SqsErrorCode::InvalidAttributeValue,
            QueueError::InvalidParameterValue(_) => SqsErrorCode::InvalidParameterValue,
            QueueError::MissingParameter(_) => SqsErrorCode::MissingParameter,
            QueueError::InvalidMessageContents(_) => SqsErrorCode::InvalidMessageContents,
            QueueError::ReceiptHandleIsInvalid(_) => SqsErrorCode::ReceiptHandleIsInvalid,
            QueueError::MessageNotInflight => SqsErrorCode::MessageNotInflight,
            QueueError::PurgeQueueInProgress(_) => SqsErrorCode::PurgeQueueInProgress,
            QueueError::OverLimit(_) => SqsErrorCode::OverLimit,
            QueueError::EmptyBatchRequest(_) => SqsErrorCode::EmptyBatchRequest,
            QueueError::TooManyEntriesInBatchRequest(_) => SqsErrorCode::TooManyEntriesInBatchRequest,
            QueueError::BatchEntryIdsNotDistinct(_) => SqsErrorCode::BatchEntryIdsNotDistinct,
            QueueError::InvalidBatchEntryId => SqsErrorCode::InvalidBatchEntryId,
            QueueError::BatchRequestTooLong { .. } => SqsErrorCode::BatchRequestTooLong,
            QueueError::ResourceNotFound(_) => SqsErrorCode::ResourceNotFoundException,
            QueueError::UnsupportedOperation(_) => SqsErrorCode::UnsupportedOperation,
            QueueError::Storage(_) => SqsErrorCode::InternalFailure,
        };
        SqsError { code, message: err.to_string() }
    }
}
