//! Deliveries waiting for another attempt, kept durably across restarts.
//!
//! A rule's or a schedule's delivery that fails for a reason that may pass is handed to a
//! [`RetryQueue`] with the delay of its next attempt (1 s, doubling up to 5 min); the wiring
//! keeps it in a durable internal queue, and one supervised worker hands it back here
//! ([`Events::retry`], [`Schedules::retry`]) when it is due, on the engine's clock. Each retry
//! is one attempt: it succeeds, is held again, or, out of attempts or of age, goes to the
//! target's dead-letter queue. Without a retry queue (the engines' own tests) the retries
//! wait in memory.
//!
//! [`Schedules::retry`]: crate::schedules::Schedules::retry

use serde::{Deserialize, Serialize};
use std::time::Duration;
use wharf_store::events::TargetRow;

use crate::rules::Events;

/// The first retry waits this long; each later one twice as long, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// The wait before attempt `attempt` (the second attempt is attempt 2).
pub fn delay_before(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(2).min(16);
    (FIRST_RETRY_DELAY * 2u32.pow(doublings)).min(MAX_RETRY_DELAY)
}

/// A delivery waiting for its next attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingDelivery {
    /// Whose delivery it is.
    pub origin: Origin,
    /// What is delivered.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the first attempt was made (engine clock, epoch millis).
    pub first_ms: u64,
}

/// Whose delivery a pending one is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Origin {
    /// A rule's target.
    Rule {
        /// The rule's name.
        rule_name: String,
        /// The rule's ARN.
        rule_arn: String,
        /// The target, with its retry policy and dead-letter queue.
        target: TargetRow,
    },
    /// A schedule's target.
    Schedule(crate::schedules::PendingInvocation),
}

/// Where failed deliveries wait for their next attempt.
#[async_trait::async_trait]
pub trait RetryQueue: Send + Sync + 'static {
    /// Keeps `pending` until `delay` has passed, then hands it to its engine's `retry`.
    async fn hold(&self, pending: PendingDelivery, delay: Duration) -> Result<(), String>;
}

impl Events {
    /// Connects the durable retry queue (once).
    pub fn set_retry_queue(&self, queue: std::sync::Arc<dyn RetryQueue>) {
        let _ = self.retries.set(queue);
    }

    /// Makes the next attempt of a rule's pending delivery (the retry worker calls this).
    pub async fn retry(&self, pending: PendingDelivery) {
        if let Origin::Rule { .. } = &pending.origin {
            crate::rules::attempt_delivery(self.delivery_parts(), pending).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn delays_double_up_to_five_minutes() {
        let delays: Vec<u64> = (2..=12).map(|attempt| super::delay_before(attempt).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(super::delay_before(500).as_secs(), 300);
    }
}
