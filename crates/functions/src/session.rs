//! The engine's side of the Runtime API for one execution environment.
//!
//! A [`RuntimeSession`] is the meeting point of an invoker (which delivers one event and waits
//! for its outcome) and the function process (which asks for the next event and posts the
//! response or error). `wharf-api-runtime` turns HTTP requests into calls of
//! [`RuntimeSession::next`], [`RuntimeSession::respond`], [`RuntimeSession::fail`] and
//! [`RuntimeSession::init_error`].
//!
//! Invariant: an environment holds at most one event at a time, queued or in flight; the
//! supervisor hands an environment to one invoker at a time.

use bytes::Bytes;
use std::sync::Mutex;
use tokio::sync::{oneshot, watch, Notify};

/// What an invocation produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The function returned this payload.
    Response(Bytes),
    /// The function (or the runtime on its behalf) failed; `body` is the error document.
    Error {
        /// The error type, from the body or the `Lambda-Runtime-Function-Error-Type` header.
        error_type: String,
        /// The error document as JSON.
        body: Bytes,
    },
}

/// An event handed to a function process.
#[derive(Debug)]
pub struct Delivery {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`, epoch milliseconds; set when the process takes the event.
    pub deadline_ms: u64,
    /// The function's timeout, from which the deadline is computed.
    pub timeout_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// `Lambda-Runtime-Client-Context` (JSON), if the caller sent one.
    pub client_context: Option<String>,
}

/// The lifecycle of the process behind a session, as invokers watch it.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Started, not yet asking for events.
    Starting,
    /// Asked for its first event: initialization is over.
    Ready,
    /// Failed to initialize, or exited; the error document explains why.
    Failed(Outcome),
}

/// Why a Runtime API call is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The request id is not the event in flight.
    #[error("unknown request id")]
    UnknownRequestId,
    /// The call does not fit the session's state (for example a response before any event).
    #[error("invalid state transition")]
    InvalidState,
    /// The session is closed: the environment is being stopped.
    #[error("environment stopped")]
    Closed,
}

#[derive(Default)]
struct State {
    /// The event waiting for the process's next `/next`.
    queued: Option<(Delivery, oneshot::Sender<Outcome>)>,
    /// The request id of the event the process is working on, and where its outcome goes.
    in_flight: Option<(String, oneshot::Sender<Outcome>)>,
    /// Set once the environment is stopped; `/next` then fails.
    closed: bool,
}

/// The Runtime API state of one execution environment.
pub struct RuntimeSession {
    /// Queue and in-flight slots; held for microseconds, never across an await.
    state: Mutex<State>,
    /// Wakes the process's pending `/next` when an event is queued or the session closes.
    event_ready: Notify,
    /// Start-up progress for the first invoker.
    phase: watch::Sender<Phase>,
    /// The process id of the environment's outermost process, set as soon as it is spawned:
    /// only it and its descendants may use this session's Runtime API.
    owner: std::sync::OnceLock<u32>,
}

impl Default for RuntimeSession {
    fn default() -> Self {
        RuntimeSession {
            state: Mutex::default(),
            event_ready: Notify::new(),
            phase: watch::Sender::new(Phase::Starting),
            owner: std::sync::OnceLock::new(),
        }
    }
}

impl RuntimeSession {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the environment's outermost process.
    pub fn set_owner(&self, pid: u32) {
        let _ = self.owner.set(pid);
    }

    /// The environment's outermost process, once spawned.
    pub fn owner(&self) -> Option<u32> {
        self.owner.get().copied()
    }

    /// Waits for the next event (the process's `GET /runtime/invocation/next`).
    pub async fn next(&self) -> Result<Delivery, SessionError> {
        self.phase.send_if_modified(|phase| {
            if *phase == Phase::Starting {
                *phase = Phase::Ready;
                true
            } else {
                false
            }
        });
        loop {
            let notified = self.event_ready.notified();
            {
                let mut state = self.lock();
                if state.closed {
                    return Err(SessionError::Closed);
                }
                if let Some((mut delivery, reply)) = state.queued.take() {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |since| since.as_millis() as u64);
                    delivery.deadline_ms = now + delivery.timeout_ms;
                    state.in_flight = Some((delivery.request_id.clone(), reply));
                    return Ok(delivery);
                }
            }
            notified.await;
        }
    }

    /// The process's `POST /runtime/invocation/{id}/response`.
    pub fn respond(&self, request_id: &str, payload: Bytes) -> Result<(), SessionError> {
        self.finish(request_id, Outcome::Response(payload))
    }

    /// The process's `POST /runtime/invocation/{id}/error`.
    pub fn fail(&self, request_id: &str, error_type: String, body: Bytes) -> Result<(), SessionError> {
        self.finish(request_id, Outcome::Error { error_type, body })
    }

    fn finish(&self, request_id: &str, outcome: Outcome) -> Result<(), SessionError> {
        let reply = {
            let mut state = self.lock();
            match &state.in_flight {
                Some((current, _)) if current == request_id => state.in_flight.take().map(|(_, reply)| reply),
                Some(_) => return Err(SessionError::UnknownRequestId),
                None => return Err(SessionError::InvalidState),
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
        Ok(())
    }

    /// The process's `POST /runtime/init/error`: initialization failed, and whoever waits for
    /// the environment gets this error.
    pub fn init_error(&self, error_type: String, body: Bytes) -> Result<(), SessionError> {
        if *self.phase.borrow() != Phase::Starting {
            return Err(SessionError::InvalidState);
        }
        let outcome = Outcome::Error { error_type, body };
        self.phase.send_replace(Phase::Failed(outcome.clone()));
        self.close_with(outcome);
        Ok(())
    }

    /// Hands an event to the process; the outcome arrives on the returned receiver (or the
    /// receiver fails if the session closes without one).
    pub(crate) fn deliver(&self, delivery: Delivery) -> oneshot::Receiver<Outcome> {
        let (reply, outcome) = oneshot::channel();
        {
            let mut state = self.lock();
            if state.closed {
                // Initialization failed or the process is gone: the invocation gets that error.
                drop(state);
                let failure = match &*self.phase.borrow() {
                    Phase::Failed(outcome) => outcome.clone(),
                    _ => crate::environment::exit_error("exited"),
                };
                let _ = reply.send(failure);
                return outcome;
            }
            state.queued = Some((delivery, reply));
        }
        self.event_ready.notify_one();
        outcome
    }

    /// Watches start-up progress.
    pub(crate) fn phase(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// The process is gone or being stopped: fails the event queued or in flight with
    /// `outcome` and refuses further calls. Keeps an earlier init error as the phase.
    pub(crate) fn close_with(&self, outcome: Outcome) {
        let (queued, in_flight) = {
            let mut state = self.lock();
            state.closed = true;
            (state.queued.take(), state.in_flight.take())
        };
        if let Some((_, reply)) = queued {
            let _ = reply.send(outcome.clone());
        }
        if let Some((_, reply)) = in_flight {
            let _ = reply.send(outcome.clone());
        }
        self.phase.send_if_modified(|phase| {
            if matches!(phase, Phase::Failed(_)) {
                false
            } else {
                *phase = Phase::Failed(outcome);
                true
            }
        });
        self.event_ready.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn delivery(request_id: &str) -> Delivery {
        Delivery {
            request_id: request_id.into(),
            payload: Bytes::from_static(b"{}"),
            deadline_ms: 0,
            timeout_ms: 3000,
            function_arn: "arn".into(),
            trace_id: String::new(),
            client_context: None,
        }
    }

    #[tokio::test]
    async fn an_event_goes_out_and_its_response_comes_back() {
        let session = Arc::new(RuntimeSession::default());
        let waiting = tokio::spawn({
            let session = Arc::clone(&session);
            async move { session.next().await }
        });
        let outcome = session.deliver(delivery("r1"));
        let event = waiting.await.expect("join").expect("event");
        assert_eq!(event.request_id, "r1");
        assert_eq!(session.respond("r2", Bytes::new()), Err(SessionError::UnknownRequestId));
        session.respond("r1", Bytes::from_static(b"42")).expect("respond");
        assert_eq!(outcome.await.expect("outcome"), Outcome::Response(Bytes::from_static(b"42")));
        assert_eq!(session.respond("r1", Bytes::new()), Err(SessionError::InvalidState));
        assert_eq!(*session.phase().borrow(), Phase::Ready);
    }

    #[tokio::test]
    async fn an_event_for_a_failed_environment_gets_its_init_error() {
        let session = RuntimeSession::default();
        session.init_error("Runtime.HandlerNotFound".into(), Bytes::from_static(b"{}")).expect("init error");
        let outcome = session.deliver(delivery("r1")).await.expect("outcome");
        assert!(matches!(outcome, Outcome::Error { error_type, .. } if error_type == "Runtime.HandlerNotFound"));
    }

    #[tokio::test]
    async fn an_init_error_fails_the_queued_event_and_the_phase() {
        let session = RuntimeSession::default();
        let outcome = session.deliver(delivery("r1"));
        session.init_error("Runtime.ImportModuleError".into(), Bytes::from_static(b"{}")).expect("init error");
        assert!(matches!(outcome.await.expect("outcome"), Outcome::Error { .. }));
        assert!(matches!(*session.phase().borrow(), Phase::Failed(_)));
        assert_eq!(session.next().await.err(), Some(SessionError::Closed));
    }
}
