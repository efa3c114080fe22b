//! Lambda's error codes, chosen here and only here.
//!
//! Lambda (REST-JSON) reports an error as an HTTP status, the `x-amzn-ErrorType` header and a
//! body `{"Type": "User"|"Service", "Message": …}` (throttles add `Reason`). The codes follow
//! the Lambda API reference's error list of each operation.

use http::{HeaderName, HeaderValue, StatusCode};
use wharf_api_common::{ApiResponse, ErrorBody, Fault};
use wharf_functions::FunctionError;

/// An error on the wire.
#[derive(Debug)]
pub struct LambdaError {
    /// HTTP status.
    pub status: StatusCode,
    /// The AWS error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// `Reason` of throttles.
    pub reason: Option<&'static str>,
}

impl LambdaError {
    /// An error of `code` with `status`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        LambdaError { status, code, message: message.into(), reason: None }
    }

    /// A request the protocol layer cannot read.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        LambdaError::new(StatusCode::BAD_REQUEST, "InvalidParameterValueException", message)
    }

    /// A constraint violation of the model.
    pub fn validation(message: impl Into<String>) -> Self {
        LambdaError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    /// A method and path that name no operation.
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        LambdaError::new(StatusCode::NOT_FOUND, "UnknownOperationException", message)
    }

    /// A body or payload that is not the JSON it must be.
    pub fn invalid_request_content(message: impl Into<String>) -> Self {
        LambdaError::new(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message)
    }

    /// A payload over the invocation type's limit.
    pub fn request_too_large(message: impl Into<String>) -> Self {
        LambdaError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", message)
    }

    /// The wire-independent form of the error.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            status: self.status,
            json_type: self.code,
            query_code: None,
            fault: if self.status.is_server_error() { Fault::Receiver } else { Fault::Sender },
            message: &self.message,
            reason: self.reason,
        }
    }
}

impl From<FunctionError> for LambdaError {
    fn from(err: FunctionError) -> Self {
        let message = err.to_string();
        let (status, code, reason) = match &err {
            FunctionError::FunctionNotFound(_)
            | FunctionError::QualifierNotFound(_)
            | FunctionError::AliasNotFound(_)
            | FunctionError::PolicyNotFound
            | FunctionError::StatementNotFound(_)
            | FunctionError::EventInvokeConfigNotFound(_)
            | FunctionError::MappingNotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException", None),
            FunctionError::AlreadyExists(_) | FunctionError::Conflict(_) => {
                (StatusCode::CONFLICT, "ResourceConflictException", None)
            }
            FunctionError::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "PreconditionFailedException", None),
            FunctionError::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException", None),
            FunctionError::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "InvalidParameterValueException", None),
            FunctionError::InvalidZipFile(_) => (StatusCode::BAD_REQUEST, "InvalidParameterValueException", None),
            FunctionError::RequestTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", None),
            FunctionError::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException", None)
            }
            FunctionError::TooManyRequests { reason } => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", Some(*reason))
            }
            FunctionError::InvalidRuntime(_) => (StatusCode::BAD_GATEWAY, "InvalidRuntimeException", None),
            FunctionError::Host(_) | FunctionError::Store(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", None)
            }
        };
        LambdaError { status, code, message, reason }
    }
}

/// Renders an error as Lambda does: the status, `x-amzn-ErrorType`, and
/// `{"Type": "User"|"Service", "Message": …}` (with `Reason` for throttles, which also carry
/// `Retry-After`).
pub fn render(error: &ErrorBody<'_>, request_id: &str) -> ApiResponse {
    let fault = if error.status.is_server_error() { "Service" } else { "User" };
    let mut body = serde_json::json!({ "Type": fault, "Message": error.message, "message": error.message });
    if let Some(reason) = error.reason {
        body["Reason"] = serde_json::Value::from(reason);
    }
    let mut response = ApiResponse::rest_json_error(request_id, error, &body);
    if error.status == StatusCode::TOO_MANY_REQUESTS {
        response.headers.push((HeaderName::from_static("retry-after"), HeaderValue::from_static("1")));
    }
    response
}
