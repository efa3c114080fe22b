//! Responses, and the two shapes of AWS errors.
//!
//! JSON protocols answer errors with `{"__type": "...", "message": "..."}` and an
//! `x-amzn-RequestId` header; query-compatible services add `x-amzn-query-error:
//! CODE;Sender` so SDKs can map the legacy code. The query protocol answers with
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
//! See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html>
//! and <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-xml-api-responses.html>.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

/// A response ready to write.
#[derive(Debug)]
pub struct ApiResponse {
    /// The status code.
    pub status: StatusCode,
    /// Headers besides `content-length`, which the server sets.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

/// Who is to blame for an error, as AWS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request was wrong.
    Sender,
    /// The server failed.
    Receiver,
}

impl Fault {
    /// `Sender` or `Receiver`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// An error ready to render in either shape.
#[derive(Clone, Debug)]
pub struct ErrorBody<'a> {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON `__type`, e.g. `com.amazonaws.sqs#QueueDoesNotExist`.
    pub json_type: &'a str,
    /// The query `<Code>` and the first half of `x-amzn-query-error`, when the service has
    /// query-compatible codes.
    pub query_code: Option<&'a str>,
    /// Sender or Receiver.
    pub fault: Fault,
    /// Human-readable text.
    pub message: &'a str,
    /// Why, where a protocol reports it (Lambda's `Reason` of throttles).
    pub reason: Option<&'a str>,
}

/// The request-id header every AWS response carries.
pub const X_AMZN_REQUEST_ID: &str = "x-amzn-requestid";
/// The header that maps JSON errors to legacy query codes.
pub const X_AMZN_QUERY_ERROR: &str = "x-amzn-query-error";

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

impl ApiResponse {
    /// A 200 with a body of `content_type`.
    pub fn ok(content_type: &'static str, request_id: &str, body: impl Into<Bytes>) -> Self {
        ApiResponse {
            status: StatusCode::OK,
            headers: vec![
                (http::header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (HeaderName::from_static(X_AMZN_REQUEST_ID), header_value(request_id)),
            ],
            body: body.into(),
        }
    }

    /// A REST-JSON error (Lambda, Scheduler): the code in `x-amzn-ErrorType`, the service's
    /// body (`{"Message": …}` and whatever else it reports).
    pub fn rest_json_error(request_id: &str, error: &ErrorBody<'_>, body: &serde_json::Value) -> Self {
        ApiResponse {
            status: error.status,
            headers: vec![
                (http::header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (HeaderName::from_static("x-amzn-errortype"), header_value(error.json_type)),
                (HeaderName::from_static(X_AMZN_REQUEST_ID), header_value(request_id)),
            ],
            body: Bytes::from(body.to_string()),
        }
    }

    /// A JSON-protocol error.
    pub fn json_error(content_type: &'static str, request_id: &str, error: &ErrorBody<'_>) -> Self {
        let body = serde_json::json!({ "__type": error.json_type, "message": error.message }).to_string();
        let mut headers = vec![
            (http::header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (HeaderName::from_static(X_AMZN_REQUEST_ID), header_value(request_id)),
        ];
        if let Some(code) = error.query_code {
            headers.push((
                HeaderName::from_static(X_AMZN_QUERY_ERROR),
                header_value(&format!("{code};{}", error.fault.as_str())),
            ));
        }
        ApiResponse { status: error.status, headers, body: Bytes::from(body) }
    }

    /// A query-protocol error of SQS.
    pub fn xml_error(request_id: &str, error: &ErrorBody<'_>) -> Self {
        Self::xml_error_in("http://queue.amazonaws.com/doc/2012-11-05/", request_id, error)
    }

    /// A query-protocol error in a service's XML `namespace`.
    pub fn xml_error_in(namespace: &str, request_id: &str, error: &ErrorBody<'_>) -> Self {
        let code = error.query_code.unwrap_or(error.json_type);
        let body = format!(
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{}</RequestId></ErrorResponse>",
            xml_escape(namespace),
            error.fault.as_str(),
            xml_escape(code),
            xml_escape(error.message),
            xml_escape(request_id),
        );
        ApiResponse {
            status: error.status,
            headers: vec![
                (http::header::CONTENT_TYPE, HeaderValue::from_static("text/xml")),
                (HeaderName::from_static(X_AMZN_REQUEST_ID), header_value(request_id)),
            ],
            body: Bytes::from(body),
        }
    }

    /// A plain JSON document, for wharf's own endpoints.
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        ApiResponse {
            status,
            headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body: Bytes::from(value.to_string()),
        }
    }
}

impl ErrorBody<'_> {
    /// Logs the error of a request to `service`: a refusal (4xx) at `info!`, a failure (5xx) at
    /// `warn!`.
    pub fn log(&self, service: &str, action: &str) {
        if self.status.is_server_error() {
            tracing::warn!(service, action, code = self.json_type, message = %self.message, "request failed");
        } else {
            tracing::info!(service, action, code = self.json_type, message = %self.message, "request refused");
        }
    }
}

/// Escapes text for an XML element or attribute.
///
/// Besides the five markup characters, carriage returns become `&#xD;`: XML parsers turn a
/// literal CR into LF, and SQS bodies must come back byte for byte.
pub fn xml_escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.bytes().any(|byte| matches!(byte, b'<' | b'>' | b'&' | b'\'' | b'"' | b'\r')) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        match character {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '\'' => escaped.push_str("&apos;"),
            '"' => escaped.push_str("&quot;"),
            '\r' => escaped.push_str("&#xD;"),
            other => escaped.push(other),
        }
    }
    std::borrow::Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_carriage_returns() {
        assert_eq!(xml_escape("plain"), "plain");
        assert_eq!(xml_escape("a<b>&'\"\r\n"), "a&lt;b&gt;&amp;&apos;&quot;&#xD;\n");
    }
}
