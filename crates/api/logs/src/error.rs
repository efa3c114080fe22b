//! Every CloudWatch Logs error wharf returns: its `__type`, HTTP status and fault.
//!
//! Codes follow the botocore model `logs/2014-03-28` and
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html>.
//! [`From<LogsError>`] is the one place engine failures get their AWS code: it has no wildcard
//! arm, so a new engine variant does not compile until it is mapped here.

use http::StatusCode;
use wharf_api_common::{ErrorBody, Fault};
use wharf_logs::LogsError;

/// A CloudWatch Logs error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogsErrorCode {
    /// No such group or stream.
    ResourceNotFoundException,
    /// The group or stream exists already.
    ResourceAlreadyExistsException,
    /// A parameter is invalid.
    InvalidParameterException,
    /// The body does not fit the operation's input shape.
    SerializationException,
    /// An account limit is reached.
    LimitExceededException,
    /// The target names no operation wharf knows.
    UnknownOperationException,
    /// The server failed (storage).
    ServiceUnavailableException,
}

impl LogsErrorCode {
    /// The JSON `__type`.
    pub fn json_type(self) -> &'static str {
        match self {
            LogsErrorCode::ResourceNotFoundException => "ResourceNotFoundException",
            LogsErrorCode::ResourceAlreadyExistsException => "ResourceAlreadyExistsException",
            LogsErrorCode::InvalidParameterException => "InvalidParameterException",
            LogsErrorCode::SerializationException => "SerializationException",
            LogsErrorCode::LimitExceededException => "LimitExceededException",
            LogsErrorCode::UnknownOperationException => "UnknownOperationException",
            LogsErrorCode::ServiceUnavailableException => "ServiceUnavailableException",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            LogsErrorCode::ServiceUnavailableException => StatusCode::SERVICE_UNAVAILABLE,
            LogsErrorCode::ResourceNotFoundException
            | LogsErrorCode::ResourceAlreadyExistsException
            | LogsErrorCode::InvalidParameterException
            | LogsErrorCode::SerializationException
            | LogsErrorCode::LimitExceededException
            | LogsErrorCode::UnknownOperationException => StatusCode::BAD_REQUEST,
        }
    }

    /// Sender for client errors, Receiver for server errors.
    pub fn fault(self) -> Fault {
        if self.status().is_server_error() {
            Fault::Receiver
        } else {
            Fault::Sender
        }
    }
}

/// A CloudWatch Logs error with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogsApiError {
    /// The code.
    pub code: LogsErrorCode,
    /// Human-readable text.
    pub message: String,
}

/// Builds a [`LogsApiError`]: `logs_error!(InvalidParameterException, "... {name}")`.
#[macro_export]
macro_rules! logs_error {
    ($code:ident, $($message:tt)+) => {
        $crate::error::LogsApiError { code: $crate::error::LogsErrorCode::$code, message: format!($($message)+) }
    };
}

impl LogsApiError {
    /// The renderable form.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            status: self.code.status(),
            json_type: self.code.json_type(),
            query_code: None,
            fault: self.code.fault(),
            message: &self.message,
            reason: None,
        }
    }
}

impl From<LogsError> for LogsApiError {
    fn from(err: LogsError) -> Self {
        let code = match &err {
            LogsError::GroupNotFound | LogsError::StreamNotFound => LogsErrorCode::ResourceNotFoundException,
            LogsError::GroupExists | LogsError::StreamExists => LogsErrorCode::ResourceAlreadyExistsException,
            LogsError::InvalidParameter(_) => LogsErrorCode::InvalidParameterException,
            LogsError::NotFound(_) => LogsErrorCode::ResourceNotFoundException,
            LogsError::LimitExceeded => LogsErrorCode::LimitExceededException,
            LogsError::Storage(_) => LogsErrorCode::ServiceUnavailableException,
        };
        LogsApiError { code, message: err.to_string() }
    }
}
