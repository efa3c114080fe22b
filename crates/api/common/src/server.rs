//! The one accept loop: every API wharf serves shares this port and this code.
//!
//! Each accepted socket gets TCP_NODELAY (Nagle's algorithm would hold small responses back
//! for up to 40 ms behind a delayed ACK) and an HTTP/1.1 keep-alive connection. A request's
//! body is read whole, up to [`MAX_BODY_BYTES`], before the service sees it.

use crate::{ApiRequest, ApiResponse, Service};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The largest request body any API accepts; protocols apply their own, smaller limits.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long shutdown waits for open requests (long polls end at once) before closing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `service` on `listener` until `shutdown` completes, then drains open connections.
pub async fn serve(listener: TcpListener, service: Arc<dyn Service>, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of file descriptors and the like: back off briefly instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY failed");
        }
        let service = Arc::clone(&service);
        let handler = hyper::service::service_fn(move |request| handle(Arc::clone(&service), request, peer));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), handler);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

async fn handle(
    service: Arc<dyn Service>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (head, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
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
            };
            return Ok(into_hyper(ApiResponse::json_error("application/json", &crate::request_id(), &error)));
        }
    };
    let request = ApiRequest { method: head.method, uri: head.uri, headers: head.headers, body, peer: Some(peer) };
    let response = service.handle(request).await;
    Ok(into_hyper(response))
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
