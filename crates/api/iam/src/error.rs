//! Every IAM error code, chosen here
//! (<https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html> and each action's
//! Errors section).

use http::StatusCode;
use wharf_api_common::{ErrorBody, Fault};
use wharf_iam::IamError;

/// An IAM error on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IamApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The query code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl IamApiError {
    /// An error of `code`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        IamApiError { status, code, message: message.into() }
    }

    /// A missing required parameter (`member` in the model's lowerCamel spelling).
    pub fn missing(member: &str) -> Self {
        IamApiError::new(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    }

    /// A parameter of the wrong form.
    pub fn invalid(message: impl Into<String>) -> Self {
        IamApiError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// The wire-independent form.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            status: self.status,
            json_type: self.code,
            query_code: Some(self.code),
            fault: if self.status.is_server_error() { Fault::Receiver } else { Fault::Sender },
            message: &self.message,
            reason: None,
        }
    }
}

impl From<IamError> for IamApiError {
    fn from(err: IamError) -> Self {
        let (status, code) = match &err {
            IamError::NoSuchEntity(_) => (StatusCode::NOT_FOUND, "NoSuchEntity"),
            IamError::EntityAlreadyExists(_) => (StatusCode::CONFLICT, "EntityAlreadyExists"),
            IamError::MalformedPolicyDocument(_) => (StatusCode::BAD_REQUEST, "MalformedPolicyDocument"),
            IamError::LimitExceeded(_) => (StatusCode::CONFLICT, "LimitExceeded"),
            IamError::DeleteConflict(_) => (StatusCode::CONFLICT, "DeleteConflict"),
            IamError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "InvalidInput"),
            IamError::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationError"),
            IamError::AccessDenied(_) => (StatusCode::FORBIDDEN, "AccessDenied"),
            IamError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceFailure"),
        };
        IamApiError { status, code, message: err.to_string() }
    }
}
