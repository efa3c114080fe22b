//! Every EventBridge error wharf returns: its `__type`, HTTP status and fault, and the codes of
//! per-entry failures (PutEvents `Entries`, PutTargets `FailedEntries`).
//!
//! Codes follow the botocore model `events/2015-10-07` and
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html>.
//! The `From<EventsError>` impl and [`entry_code`] / [`target_code`] are the one place engine
//! outcomes get their AWS codes: they have no wildcard arm, so a new engine variant does not
//! compile until it is mapped here.

use http::StatusCode;
use wharf_api_common::{ErrorBody, Fault};
use wharf_events::{EntryProblem, EventsError, TargetProblem};

/// An EventBridge error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventsErrorCode {
    /// No such rule or bus.
    ResourceNotFoundException,
    /// The bus exists already.
    ResourceAlreadyExistsException,
    /// A parameter is invalid.
    ValidationException,
    /// The event pattern is invalid.
    InvalidEventPatternException,
    /// Too many rules, targets or buses.
    LimitExceededException,
    /// The body does not fit the operation's input shape.
    SerializationException,
    /// The target names no operation wharf knows.
    UnknownOperationException,
    /// The bus policy would be too long.
    PolicyLengthExceededException,
    /// The resource's state does not allow the operation.
    IllegalStatusException,
    /// Another resource depends on this one.
    ConcurrentModificationException,
    /// The caller may not do this (an entry of PutEvents for a bus it may not put to).
    AccessDeniedException,
    /// The server failed (storage).
    InternalException,
}

impl EventsErrorCode {
    /// The JSON `__type`.
    pub fn json_type(self) -> &'static str {
        match self {
            EventsErrorCode::ResourceNotFoundException => "ResourceNotFoundException",
            EventsErrorCode::ResourceAlreadyExistsException => "ResourceAlreadyExistsException",
            EventsErrorCode::ValidationException => "ValidationException",
            EventsErrorCode::InvalidEventPatternException => "InvalidEventPatternException",
            EventsErrorCode::LimitExceededException => "LimitExceededException",
            EventsErrorCode::SerializationException => "SerializationException",
            EventsErrorCode::UnknownOperationException => "UnknownOperationException",
            EventsErrorCode::PolicyLengthExceededException => "PolicyLengthExceededException",
            EventsErrorCode::IllegalStatusException => "IllegalStatusException",
            EventsErrorCode::ConcurrentModificationException => "ConcurrentModificationException",
            EventsErrorCode::AccessDeniedException => "AccessDeniedException",
            EventsErrorCode::InternalException => "InternalException",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            EventsErrorCode::InternalException => StatusCode::INTERNAL_SERVER_ERROR,
            EventsErrorCode::ResourceNotFoundException
            | EventsErrorCode::ResourceAlreadyExistsException
            | EventsErrorCode::ValidationException
            | EventsErrorCode::InvalidEventPatternException
            | EventsErrorCode::LimitExceededException
            | EventsErrorCode::PolicyLengthExceededException
            | EventsErrorCode::IllegalStatusException
            | EventsErrorCode::ConcurrentModificationException
            | EventsErrorCode::AccessDeniedException
            | EventsErrorCode::SerializationException
            | EventsErrorCode::UnknownOperationException => StatusCode::BAD_REQUEST,
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

/// An EventBridge error with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsApiError {
    /// The code.
    pub code: EventsErrorCode,
    /// Human-readable text.
    pub message: String,
}

/// Builds an [`EventsApiError`]: `events_error!(ValidationException, "... {name}")`.
#[macro_export]
macro_rules! events_error {
    ($code:ident, $($message:tt)+) => {
        $crate::error::EventsApiError { code: $crate::error::EventsErrorCode::$code, message: format!($($message)+) }
    };
}

impl EventsApiError {
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

impl From<EventsError> for EventsApiError {
    fn from(err: EventsError) -> Self {
        let code = match &err {
            EventsError::RuleNotFound { .. } | EventsError::BusNotFound(_) | EventsError::NotFound(_) => {
                EventsErrorCode::ResourceNotFoundException
            }
            EventsError::BusExists(_) | EventsError::AlreadyExists(_) => {
                EventsErrorCode::ResourceAlreadyExistsException
            }
            EventsError::IllegalStatus(_) => EventsErrorCode::IllegalStatusException,
            EventsError::ConcurrentModification(_) => EventsErrorCode::ConcurrentModificationException,
            EventsError::InvalidPattern(_) => EventsErrorCode::InvalidEventPatternException,
            EventsError::Validation(_) | EventsError::RuleHasTargets => EventsErrorCode::ValidationException,
            EventsError::LimitExceeded => EventsErrorCode::LimitExceededException,
            EventsError::PolicyTooLong => EventsErrorCode::PolicyLengthExceededException,
            EventsError::Storage(_) => EventsErrorCode::InternalException,
        };
        EventsApiError { code, message: err.to_string() }
    }
}

/// The `ErrorCode` of a refused PutEvents entry.
pub fn entry_code(problem: &EntryProblem) -> &'static str {
    match problem {
        EntryProblem::MissingSource | EntryProblem::MissingDetailType | EntryProblem::MissingDetail => {
            "InvalidArgument"
        }
        EntryProblem::MalformedDetail => "MalformedDetail",
    }
}

/// The `TargetId` and `ErrorCode` of a failed PutTargets or RemoveTargets entry.
pub fn target_code(problem: &TargetProblem) -> (&str, &'static str) {
    match problem {
        TargetProblem::UnsupportedTarget { id, .. } => (id, "ValidationException"),
    }
}
