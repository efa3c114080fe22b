//! The one accept loop: every API wharf serves shares this port and this code.
//!
//! Each accepted socket gets TCP_NODELAY (Nagle's algorithm would hold small responses back
//! for up to 40 ms behind a delayed ACK) and an HTTP/1.1 keep-alive connection. A request's
//! body is read whole, up to [`MAX_BODY_BYTES`], before the service sees it.
//!
//! Nothing a client does can take the server down or starve other clients ([`Limits`]):
//! - at most `max_connections` connections are open; one more is answered
//!   `503 ServiceUnavailable` and closed, so a flood of stalled clients cannot use up the
//!   process's file descriptors;
//! - headers must arrive within `idle_timeout` of the connection going idle (this also closes
//!   idle keep-alive connections), and a body within `body_timeout` of its headers;
//! - a service that panics answers `500 InternalFailure` (the panic is logged and counted in
//!   [`panics`]); the connection and the process live on;
//! - an accept that fails (out of descriptors) backs off instead of spinning.

use crate::{ApiRequest, ApiResponse, Service};
use bytes::Bytes;
use futures_util::FutureExt as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

/// The largest request body any API accepts; protocols apply their own, smaller limits.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long shutdown waits for open requests (long polls end at once) before closing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How many requests ended in a panic of their service since start, for the health answer.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// How many requests ended in a panic (answered 500) since the process started.
pub fn panics() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// What one server allows its clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open connections at most; one more is answered 503 and closed.
    pub max_connections: usize,
    /// How long a connection may wait for (the rest of) a request's headers, idle keep-alive
    /// connections included.
    pub idle_timeout: Duration,
    /// How long a request's body may take to arrive after its headers.
    pub body_timeout: Duration,
}

/// Counts a connection open until it drops.
struct OpenConnection(&'static prometheus_client::metrics::gauge::Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Accepts beyond the connection limit that are still being answered 503; past this many
/// the extra sockets are closed without an answer, so refusing costs bounded descriptors too.
const MAX_REFUSING: usize = 256;

/// Decides whether a new connection (from its peer address to the listener's address) may be
/// served; a refused one is closed without an answer. Runs on a blocking thread.
pub type Admission = Arc<dyn Fn(SocketAddr, SocketAddr) -> bool + Send + Sync>;

/// Serves `service` on `listener` until `shutdown` completes, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    service: Arc<dyn Service>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    serve_admitting(listener, service, limits, None, shutdown).await
}

/// [`serve`], with each new connection first checked by `admission`.
pub async fn serve_admitting(
    listener: TcpListener,
    service: Arc<dyn Service>,
    limits: Limits,
    admission: Option<Admission>,
    shutdown: impl Future<Output = ()>,
) {
    let local = listener.local_addr().ok();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let refusing = Arc::new(tokio::sync::Semaphore::new(MAX_REFUSING));
    let mut accept_backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => {
                accept_backoff = Duration::from_millis(5);
                pair
            }
            Err(err) => {
                // Out of file descriptors and the like: back off (up to a second) instead of
                // spinning; connections that end meanwhile free descriptors.
                tracing::warn!(error = %err, backoff_ms = accept_backoff.as_millis() as u64, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(accept_backoff) => {}
                    () = &mut shutdown => break,
                }
                accept_backoff = (accept_backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY failed");
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            if let Ok(refusal) = Arc::clone(&refusing).try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusal);
                });
            }
            continue;
        };
        let service = Arc::clone(&service);
        let body_timeout = limits.body_timeout;
        let handler =
            hyper::service::service_fn(move |request| handle(Arc::clone(&service), request, peer, body_timeout));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(limits.idle_timeout)
            .serve_connection(TokioIo::new(stream), handler);
        let connection = graceful.watch(connection);
        let admission = admission.clone();
        tokio::spawn(async move {
            let connections = &crate::telemetry::telemetry().connections;
            connections.inc();
            let _open = OpenConnection(connections);
            if let (Some(admission), Some(local)) = (admission, local) {
                let admitted = tokio::task::spawn_blocking(move || admission(peer, local)).await.unwrap_or(false);
                if !admitted {
                    tracing::warn!(%peer, %local, "refused a connection from a process the listener does not serve");
                    return;
                }
            }
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let draining = std::time::Instant::now();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    tracing::debug!(elapsed_ms = draining.elapsed().as_millis() as u64, "connections drained");
}

/// Answers a connection beyond the limit with a 503 the SDKs retry, then closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    const BODY: &str =
        "{\"__type\":\"ServiceUnavailable\",\"message\":\"wharf has too many open connections; retry later\"}";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-query-error: ServiceUnavailable;Receiver\r\nretry-after: 1\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

async fn handle(
    service: Arc<dyn Service>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (head, body) = request.into_parts();
    let read = match tokio::time::timeout(body_timeout, Limited::new(body, MAX_BODY_BYTES).collect()).await {
        Ok(read) => read,
        Err(_) => {
            let message = format!("The request body did not arrive within {} seconds", body_timeout.as_secs());
            let error = crate::ErrorBody {
                status: http::StatusCode::REQUEST_TIMEOUT,
                json_type: "RequestTimeout",
                query_code: Some("RequestTimeout"),
                fault: crate::Fault::Sender,
                message: &message,
                reason: None,
            };
            let mut response = into_hyper(ApiResponse::json_error("application/json", &crate::request_id(), &error));
            // The rest of the body may still come: the connection cannot carry another request.
            response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            return Ok(response);
        }
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            let too_large = err.downcast_ref::<http_body_util::LengthLimitError>().is_some();
            let (status, message) = if too_large {
                (http::StatusCode::PAYLOAD_TOO_LARGE, format!("Request body is larger than {MAX_BODY_BYTES} bytes"))
            } else {
                (http::StatusCode::BAD_REQUEST, format!("Could not read the request body: {err}"))
            };
            let error = crate::ErrorBody {
                status,
                json_type: "RequestEntityTooLarge",
                query_code: Some("RequestEntityTooLarge"),
                fault: crate::Fault::Sender,
                message: &message,
                reason: None,
            };
            return Ok(into_hyper(ApiResponse::json_error("application/json", &crate::request_id(), &error)));
        }
    };
    let request = ApiRequest { method: head.method, uri: head.uri, headers: head.headers, body, peer: Some(peer) };
    // A panic in a service (a bug) must cost one answer, not the connection or the process.
    let response = match std::panic::AssertUnwindSafe(service.handle(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            PANICS.fetch_add(1, Ordering::Relaxed);
            let what = crate::panic_message(&*panic);
            tracing::error!(panic = %what, %peer, "a request handler panicked; answered 500");
            internal_failure()
        }
    };
    Ok(into_hyper(response))
}

/// The answer to a request whose handler failed unexpectedly.
fn internal_failure() -> ApiResponse {
    let error = crate::ErrorBody {
        status: http::StatusCode::INTERNAL_SERVER_ERROR,
        json_type: "InternalFailure",
        query_code: Some("InternalFailure"),
        fault: crate::Fault::Receiver,
        message: "The request processing has failed because of an unknown error, exception or failure",
        reason: None,
    };
    ApiResponse::json_error("application/x-amz-json-1.0", &crate::request_id(), &error)
}

fn into_hyper(response: ApiResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in response.headers {
            headers.append(name, value);
        }
    }
    builder.body(Full::new(response.body)).unwrap_or_else(|_| {
        let mut fallback = hyper::Response::new(Full::new(Bytes::from_static(b"internal error")));
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    /// Panics on `/panic`, answers 200 otherwise.
    struct Fragile;

    #[async_trait::async_trait]
    impl Service for Fragile {
        async fn handle(&self, request: ApiRequest) -> ApiResponse {
            assert_ne!(request.uri.path(), "/panic", "a handler bug");
            ApiResponse::json(http::StatusCode::OK, &serde_json::json!({ "ok": true }))
        }
    }

    async fn answer(stream: &mut tokio::net::TcpStream, path: &str) -> String {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut buffer = vec![0u8; 4096];
        let read = stream.read(&mut buffer).await.expect("read");
        String::from_utf8_lossy(&buffer[..read]).into_owned()
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_connection_lives_on() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let limits =
            Limits { max_connections: 8, idle_timeout: Duration::from_secs(10), body_timeout: Duration::from_secs(10) };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::new(Fragile), limits, async move {
            let _ = stopped.await;
        }));
        let before = panics();
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let failed = answer(&mut stream, "/panic").await;
        assert!(failed.starts_with("HTTP/1.1 500"), "{failed}");
        assert!(failed.contains("InternalFailure"), "{failed}");
        assert!(panics() > before);
        let next = answer(&mut stream, "/fine").await;
        assert!(next.starts_with("HTTP/1.1 200"), "{next}");
        let _ = stop.send(());
        server.await.expect("server");
    }
}
