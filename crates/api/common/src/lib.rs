//! The HTTP side every wharf API shares: one accept loop, request ids, error rendering.
//!
//! Every AWS protocol wharf speaks plugs into [`server::serve`] through the [`Service`] trait:
//! the server reads the whole request, hands it over as an [`ApiRequest`] and writes back the
//! [`ApiResponse`]. Protocol crates never touch sockets; this crate never knows an AWS
//! operation.
//!
//! # Layout
//! - [`pipeline`]: the one request pipeline every service plugs into (decode → authenticate →
//!   authorize → handle → render), its [`pipeline::Caller`] and [`pipeline::Identity`].
//! - [`sigv4`]: Signature Version 4 verification (the `Authorization` header), not yet wired.
//! - [`server`]: the accept loop (TCP_NODELAY on every socket, keep-alive, graceful shutdown).
//! - [`request`]: [`ApiRequest`] and what can be read off any AWS request (credential scope).
//! - [`response`]: [`ApiResponse`] and the JSON and XML error bodies.
//! - [`xml`]: the query protocol's one XML writer for typed output structs.

pub mod pipeline;
pub mod request;
pub mod response;
pub mod server;
pub mod sigv4;
pub mod telemetry;
pub mod xml;

pub use request::{ApiRequest, CredentialScope};
pub use response::{ApiResponse, ErrorBody, Fault};

use async_trait::async_trait;

/// Something that answers requests: an AWS protocol, or the router in front of them.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// Answers one request. Never fails: errors are responses.
    async fn handle(&self, request: ApiRequest) -> ApiResponse;
}

/// The message of a caught panic (`panic!` with a literal or a formatted string), or "".
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A fresh request id, as AWS returns in `x-amzn-RequestId`.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}
