//! The Lambda Runtime API (version 2018-06-01) that function processes call, one server per
//! execution environment.
//!
//! Each environment gets its own listener on a fresh loopback port (the value of
//! `AWS_LAMBDA_RUNTIME_API`), so a request needs no identification: the port is the
//! environment. Any local process can reach a loopback port, so each connection is first
//! traced to the process that opened it, and served only when that is one of the
//! environment's own processes. The shared server loop sets TCP_NODELAY and writes each response (headers and
//! body) in one go: without that, every warm invocation would stall on Nagle's algorithm.
//!
//! # Wire
//! ```text
//! GET  /2018-06-01/runtime/invocation/next              200, event body + Lambda-Runtime-* headers
//! POST /2018-06-01/runtime/invocation/{id}/response     202 {"status":"OK"}
//! POST /2018-06-01/runtime/invocation/{id}/error        202; error type from the body or the
//!                                                       Lambda-Runtime-Function-Error-Type header
//! POST /2018-06-01/runtime/init/error                   202
//! ```
//! Refusals carry `{"errorMessage", "errorType"}`: 400 `InvalidRequestID`, 403
//! `InvalidStateTransition`, 413 `RequestEntityTooLarge`, 404 for unknown paths.
//!
//! # Layout
//! - [`RuntimeApiHost`]: the [`RuntimeHost`] that starts a server per environment.
//! - `RuntimeApi`: the request handler over one [`RuntimeSession`].

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use std::sync::Arc;
use wharf_api_common::{ApiRequest, ApiResponse, Service};
use wharf_functions::invoke::SYNC_PAYLOAD_LIMIT;
use wharf_functions::ports::{RuntimeEndpoint, RuntimeHost};
use wharf_functions::session::{RuntimeSession, SessionError};

/// The header naming the error type of an `/error` or `/init/error` post.
pub const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const PREFIX: &str = "/2018-06-01/runtime/";

/// Starts a Runtime API server per execution environment, on loopback.
pub struct RuntimeApiHost;

#[async_trait]
impl RuntimeHost for RuntimeApiHost {
    async fn serve(&self, session: Arc<RuntimeSession>) -> std::io::Result<RuntimeEndpoint> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let owner = Arc::clone(&session);
        let service: Arc<dyn Service> = Arc::new(RuntimeApi { session });
        // Only the environment's own processes may talk to it (see wharf_functions::isolation).
        let admission: wharf_api_common::server::Admission = Arc::new(move |peer, local| {
            owner.owner().is_some_and(|pid| wharf_functions::isolation::connection_from_tree(pid, peer, local))
        });
        // One process talks to this server; between invocations its runtime client may hold a
        // keep-alive connection quiet for as long as the environment stays warm.
        let limits = wharf_api_common::server::Limits {
            max_connections: 64,
            idle_timeout: std::time::Duration::from_secs(3600),
            body_timeout: std::time::Duration::from_secs(60),
        };
        tokio::spawn(wharf_api_common::server::serve_admitting(
            listener,
            service,
            limits,
            Some(admission),
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(RuntimeEndpoint { address, stop })
    }
}

/// The Runtime API of one environment.
struct RuntimeApi {
    session: Arc<RuntimeSession>,
}

fn refusal(status: StatusCode, error_type: &str, message: &str) -> ApiResponse {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type }).to_string();
    ApiResponse {
        status,
        headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(body),
    }
}

fn accepted() -> ApiResponse {
    ApiResponse {
        status: StatusCode::ACCEPTED,
        headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from_static(b"{\"status\":\"OK\"}"),
    }
}

fn session_refusal(err: SessionError) -> ApiResponse {
    match err {
        SessionError::UnknownRequestId => refusal(StatusCode::BAD_REQUEST, "InvalidRequestID", "Invalid request ID"),
        SessionError::InvalidState => {
            refusal(StatusCode::FORBIDDEN, "InvalidStateTransition", "State transition is not allowed")
        }
        SessionError::Closed => {
            refusal(StatusCode::INTERNAL_SERVER_ERROR, "Runtime.Stopped", "The execution environment is shutting down")
        }
    }
}

/// The error document to hand to the invoker, and its type: the posted JSON as is when it is
/// an object (its `errorType` wins over the header, which clients set to generic values such as
/// `unhandled`), else the text wrapped in a document.
fn error_document(request: &ApiRequest) -> (String, Bytes) {
    let header_type = request.header(FUNCTION_ERROR_TYPE).map(str::to_owned);
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        let body_type = object.get("errorType").and_then(|value| value.as_str()).map(str::to_owned);
        let error_type = body_type.or(header_type).unwrap_or_else(|| "Unhandled".into());
        return (error_type, request.body.clone());
    }
    let error_type = header_type.unwrap_or_else(|| "Unhandled".into());
    let body = serde_json::json!({
        "errorMessage": String::from_utf8_lossy(&request.body),
        "errorType": error_type,
    });
    (error_type, Bytes::from(body.to_string()))
}

fn header(name: &'static str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|value| (HeaderName::from_static(name), value))
}

#[async_trait]
impl Service for RuntimeApi {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let path = request.uri.path().to_owned();
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return refusal(StatusCode::NOT_FOUND, "NotFound", "Unknown Runtime API path");
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match (&request.method, parts.as_slice()) {
            (&Method::GET, ["invocation", "next"]) => match self.session.next().await {
                Ok(delivery) => {
                    let mut headers: Vec<(HeaderName, HeaderValue)> = [
                        header("lambda-runtime-aws-request-id", &delivery.request_id),
                        header("lambda-runtime-deadline-ms", &delivery.deadline_ms.to_string()),
                        header("lambda-runtime-invoked-function-arn", &delivery.function_arn),
                        header("lambda-runtime-trace-id", &delivery.trace_id),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if let Some(context) = &delivery.client_context {
                        headers.extend(header("lambda-runtime-client-context", context));
                    }
                    headers.push((http::header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
                    ApiResponse { status: StatusCode::OK, headers, body: delivery.payload }
                }
                Err(err) => session_refusal(err),
            },
            (&Method::POST, ["invocation", request_id, "response"]) => {
                if request.body.len() > SYNC_PAYLOAD_LIMIT {
                    let message = format!(
                        "Response payload size exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes)."
                    );
                    let document = serde_json::json!({
                        "errorMessage": message,
                        "errorType": "Function.ResponseSizeTooLarge",
                    });
                    let _ = self.session.fail(
                        request_id,
                        "Function.ResponseSizeTooLarge".into(),
                        Bytes::from(document.to_string()),
                    );
                    return refusal(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", &message);
                }
                match self.session.respond(request_id, request.body.clone()) {
                    Ok(()) => accepted(),
                    Err(err) => session_refusal(err),
                }
            }
            (&Method::POST, ["invocation", request_id, "error"]) => {
                let (error_type, body) = error_document(&request);
                match self.session.fail(request_id, error_type, body) {
                    Ok(()) => accepted(),
                    Err(err) => session_refusal(err),
                }
            }
            (&Method::POST, ["init", "error"]) => {
                let (error_type, body) = error_document(&request);
                match self.session.init_error(error_type, body) {
                    Ok(()) => accepted(),
                    Err(err) => session_refusal(err),
                }
            }
            _ => refusal(StatusCode::NOT_FOUND, "NotFound", "Unknown Runtime API path"),
        }
    }
}
