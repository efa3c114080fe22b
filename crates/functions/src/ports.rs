//! What the functions engine needs from outside, as traits the wiring implements: where
//! function output goes, where asynchronous events wait, where destination records are sent,
//! and who serves the Runtime API over HTTP.
//!
//! The engine stays free of HTTP and of the other engines: `wharf-api-runtime` implements
//! [`RuntimeHost`], and `wharf-links` implements the rest on top of the logs and queue engines.

use crate::session::RuntimeSession;
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;
use wharf_types::{AccountId, EpochMillis, HandOffError, Region};

/// One line a function environment produced, or a platform line (START, END, REPORT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When it was read.
    pub timestamp: EpochMillis,
    /// The text without its line ending.
    pub message: String,
}

/// The function a hand-off is made for, with the execution role Lambda acts with: what the
/// role's policies allow decides whether logs, destination records and dead letters get
/// through (with auth checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRole {
    /// The function's ARN (unqualified).
    pub function_arn: String,
    /// Its execution role.
    pub role_arn: String,
}

/// Where function output goes: CloudWatch Logs, in wharf.
#[async_trait]
pub trait LogSink: Send + Sync + 'static {
    /// Appends lines to `group`/`stream`, creating both if needed, as `writer`'s role writes
    /// them. Failures are the sink's to report; function output is never allowed to block
    /// invocations.
    async fn append(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        stream: &str,
        writer: &FunctionRole,
        lines: Vec<LogLine>,
    );

    /// Makes sure the function's log group exists (called when a function is created, so
    /// `aws logs tail --follow` can start before its first invocation). By default nothing.
    async fn prepare_group(&self, account: &AccountId, region: &Region, group: &str) {
        let _ = (account, region, group);
    }
}

/// A sink that drops everything, for tests and tools.
pub struct DiscardLogs;

#[async_trait]
impl LogSink for DiscardLogs {
    async fn append(&self, _: &AccountId, _: &Region, _: &str, _: &str, _: &FunctionRole, _: Vec<LogLine>) {}
}

/// Serves the Runtime API of one execution environment.
#[async_trait]
pub trait RuntimeHost: Send + Sync + 'static {
    /// Starts serving `session` on a fresh local address; serving stops when the returned
    /// endpoint is dropped.
    async fn serve(&self, session: Arc<RuntimeSession>) -> std::io::Result<RuntimeEndpoint>;
}

/// A running Runtime API server of one environment.
pub struct RuntimeEndpoint {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    /// Dropping this stops the server.
    pub stop: tokio::sync::oneshot::Sender<()>,
}

/// An asynchronous invocation waiting to run.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncEvent {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub function: String,
    /// The qualifier invoked, if any.
    pub qualifier: Option<String>,
    /// The request id the caller was given.
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// How many times it already ran.
    pub attempts: u32,
    /// When it was first queued.
    pub enqueued_at: EpochMillis,
}

/// How long a pulled event stays hidden without being extended.
pub const PULL_HOLD_SECONDS: u32 = 10;

/// How often a running event's hold is extended.
pub const PULL_EXTEND_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// A durable queue of asynchronous invocations.
#[async_trait]
pub trait InvocationQueue: Send + Sync + 'static {
    /// Queues an event, to become available after `delay_seconds`; durable when it returns.
    async fn push(&self, event: AsyncEvent, delay_seconds: u32) -> Result<(), HandOffError>;
    /// Waits (up to a few seconds) for events; each comes with a ticket for [`Self::done`]. An
    /// event neither done nor extended within [`PULL_HOLD_SECONDS`] becomes available again,
    /// so events of a crashed or stopped wharf run again soon after a restart.
    async fn pull(&self, max: usize) -> Result<Vec<(String, AsyncEvent)>, HandOffError>;
    /// Keeps a pulled event hidden for `seconds` more (while it runs).
    async fn extend(&self, ticket: &str, seconds: u32) -> Result<(), HandOffError>;
    /// Removes a pulled event for good.
    async fn done(&self, ticket: String) -> Result<(), HandOffError>;
}

/// Why an asynchronous invocation's record is sent to a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The function returned a result.
    Success,
    /// Every attempt failed.
    RetriesExhausted,
    /// The event waited longer than the maximum event age.
    EventAgeExceeded,
}

impl Condition {
    /// The name Lambda writes in `requestContext.condition`.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// The outcome of an asynchronous invocation, as destinations receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct DestinationRecord {
    /// When the record was made.
    pub timestamp: EpochMillis,
    /// The invocation's request id.
    pub request_id: String,
    /// The function ARN with the qualifier invoked (`:$LATEST` when none).
    pub function_arn: String,
    /// Why it is sent.
    pub condition: Condition,
    /// How many times the function ran.
    pub approximate_invoke_count: u32,
    /// The event.
    pub request_payload: Bytes,
    /// The version that ran, when it ran.
    pub executed_version: Option<String>,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// What the function returned or its error document, when it ran.
    pub response_payload: Option<Bytes>,
}

/// Delivers records to non-Lambda destinations (SQS queues) and dead-letter queues.
#[async_trait]
pub trait Destinations: Send + Sync + 'static {
    /// Sends a destination record to `destination_arn`, as `from`'s role.
    async fn deliver(
        &self,
        destination_arn: &str,
        from: &FunctionRole,
        record: DestinationRecord,
    ) -> Result<(), HandOffError>;
    /// Sends a failed event to a function's dead-letter queue as `from`'s role, with Lambda's
    /// `RequestID`, `ErrorCode` and `ErrorMessage` attributes.
    async fn dead_letter(
        &self,
        target_arn: &str,
        from: &FunctionRole,
        payload: Bytes,
        request_id: &str,
        error_code: u16,
        error_message: &str,
    ) -> Result<(), HandOffError>;
}

/// Temporary credentials of a function's execution role.
#[derive(Clone)]
pub struct RoleCredentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they expire, in epoch milliseconds.
    pub expires_ms: wharf_types::EpochMillis,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// Lambda's side of STS: the credentials an execution environment gets by assuming the
/// function's execution role as `lambda.amazonaws.com`, and what the role may do.
#[async_trait]
pub trait ExecutionRoles: Send + Sync + 'static {
    /// Assumes `role_arn` for `function_arn`, for `duration_seconds`; `Err(Some(why))` when
    /// the function should be told, `Err(None)` when any credentials will do (auth off).
    fn assume(
        &self,
        role_arn: &str,
        function_arn: &str,
        session_name: &str,
        duration_seconds: u32,
    ) -> Result<RoleCredentials, Option<String>>;
    /// Whether Lambda may assume `role_arn` (its trust policy names `lambda.amazonaws.com`);
    /// `None` when the role does not exist.
    fn lambda_may_assume(&self, role_arn: &str) -> Option<bool>;
    /// Whether `role` may perform `action` on `resource_arn` (an event source mapping's queue,
    /// a dead-letter queue): `Err` with the denial when auth is enforced and it may not.
    async fn permits(&self, role: &FunctionRole, action: &str, resource_arn: &str) -> Result<(), String>;
}
