//! The durable retry queue of EventBridge deliveries (rules' targets and schedules' targets):
//! a failed delivery waits as a message of the internal queue `wharf-delivery-retries`, delayed
//! until its next attempt on the engine's clock, so retries outlive a restart and move with
//! the test clock. One worker ([`DeliveryRetries::run`], supervised by the server) receives the
//! due ones and hands each back to its engine for one attempt; the engine holds it again, sends
//! it to its dead-letter queue, or is done.
//!
//! A delivery held again is sent before the message that held it is deleted: a crash between
//! the two makes one attempt twice, never none.

use async_trait::async_trait;
use std::sync::{Arc, Weak};
use std::time::Duration;
use wharf_events::retries::{Origin, PendingDelivery, RetryQueue};
use wharf_events::schedules::Schedules;
use wharf_events::Events;
use wharf_queue::{Caller, Engine, ReceiveInput, SendInput};
use wharf_types::{AccountId, QueueKey, Region};

/// The longest delay a message may have (SQS's 15 minutes), beyond any retry's.
const MAX_DELAY_SECONDS: u64 = 900;
/// How long a received retry stays hidden while it is attempted.
const ATTEMPT_HOLD_SECONDS: i64 = 300;

/// Pending deliveries in an internal queue.
pub struct DeliveryRetries {
    engine: Arc<Engine>,
    queue: QueueKey,
    caller: Caller,
    events: Weak<Events>,
    schedules: Weak<Schedules>,
}

impl DeliveryRetries {
    /// Uses (creating) the queue `wharf-delivery-retries` in the internal `engine`; retries are
    /// handed back to `events` and `schedules` (held weakly: they own this queue).
    pub async fn open(
        engine: Arc<Engine>,
        account: AccountId,
        region: Region,
        events: &Arc<Events>,
        schedules: &Arc<Schedules>,
    ) -> Result<DeliveryRetries, String> {
        let queue = crate::internal_queue(&engine, &account, &region, "wharf-delivery-retries").await?;
        Ok(DeliveryRetries {
            engine,
            queue,
            caller: Caller { account, region, sender_id: Arc::from("wharf") },
            events: Arc::downgrade(events),
            schedules: Arc::downgrade(schedules),
        })
    }

    /// Attempts the due retries until `stop` turns true: long polls, woken by new messages,
    /// the test clock and shutdown; never a polling interval.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let input = ReceiveInput {
                max_number_of_messages: Some(10),
                visibility_timeout: Some(ATTEMPT_HOLD_SECONDS),
                wait_time_seconds: Some(20),
                system_attribute_names: Vec::new(),
                message_attribute_names: Vec::new(),
                receive_request_attempt_id: None,
            };
            let received = tokio::select! {
                received = self.engine.receive(&self.queue, input) => received,
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let messages = match received {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::warn!(error = %err, "receiving pending deliveries failed");
                    // The store is failing: the supervisor's backoff restarts the loop.
                    return;
                }
            };
            for message in messages {
                match serde_json::from_str::<PendingDelivery>(&message.data.body) {
                    Ok(pending) => self.attempt(pending).await,
                    Err(err) => tracing::warn!(error = %err, "dropping a pending delivery that does not parse"),
                }
                if let Err(err) = self.engine.delete(&self.queue, &message.receipt_handle).await {
                    tracing::warn!(error = %err, "deleting an attempted delivery failed: it will be attempted again");
                }
            }
        }
    }

    async fn attempt(&self, pending: PendingDelivery) {
        match &pending.origin {
            Origin::Rule { .. } => {
                if let Some(events) = self.events.upgrade() {
                    events.retry(pending).await;
                }
            }
            Origin::Schedule(_) => {
                if let Some(schedules) = self.schedules.upgrade() {
                    schedules.retry(pending).await;
                }
            }
        }
    }
}

#[async_trait]
impl RetryQueue for DeliveryRetries {
    async fn hold(&self, pending: PendingDelivery, delay: Duration) -> Result<(), String> {
        let body = serde_json::to_string(&pending).map_err(|err| err.to_string())?;
        let delay_seconds = delay.as_millis().div_ceil(1000).min(u128::from(MAX_DELAY_SECONDS)) as i64;
        let input = SendInput { body, delay_seconds: Some(delay_seconds), ..SendInput::default() };
        self.engine.send(&self.queue, &self.caller, input).await.map(|_| ()).map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU32, Ordering};
    use wharf_types::{HandOffError, OffsetClock};

    /// Fails the first `failures` deliveries (as a store that cannot write would), then records.
    struct Flaky {
        failures: AtomicU32,
        delivered: tokio::sync::mpsc::UnboundedSender<String>,
    }

    #[async_trait]
    impl wharf_events::TargetDelivery for Flaky {
        async fn deliver(
            &self,
            _arn: &str,
            _rule: &str,
            payload: String,
            _group: Option<String>,
        ) -> Result<(), HandOffError> {
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(HandOffError::Unavailable("the disk is full".into()));
            }
            let _ = self.delivered.send(payload);
            Ok(())
        }
    }

    struct Nowhere;

    #[async_trait]
    impl wharf_events::schedules::ScheduleDelivery for Nowhere {
        async fn invoke(&self, _invocation: &wharf_events::schedules::Invocation) -> Result<(), HandOffError> {
            Ok(())
        }
        async fn dead_letter(
            &self,
            _invocation: &wharf_events::schedules::Invocation,
            _queue: &str,
            _attributes: BTreeMap<String, String>,
        ) -> Result<(), HandOffError> {
            Ok(())
        }
    }

    struct Wired {
        events: Arc<Events>,
        _schedules: Arc<Schedules>,
        retries: Arc<DeliveryRetries>,
        engine: Arc<Engine>,
    }

    async fn wire(dir: &std::path::Path, clock: &OffsetClock, delivery: Arc<Flaky>) -> Wired {
        let clock: Arc<dyn wharf_types::Clock> = Arc::new(clock.clone());
        let store =
            wharf_store_sqlite::SqliteStore::open(&dir.join("async"), clock.now_millis(), 1 << 20).expect("store");
        let engine = Arc::new(Engine::new(
            Arc::new(store),
            Arc::clone(&clock),
            wharf_queue::EngineConfig {
                queue_name_reuse_delay: Duration::ZERO,
                purge_interval: Duration::ZERO,
                receipt_key: wharf_queue::receipt::ReceiptKey::from_bytes([7; 32]),
            },
        ));
        let event_store = Arc::new(wharf_store_sqlite::events::SqliteEventStore::open(dir).expect("events"));
        let events = Arc::new(Events::open(event_store, Arc::clone(&clock), delivery).await.expect("events"));
        let schedules = Arc::new(
            Schedules::open(Arc::new(wharf_store::schedules::MemoryScheduleStore::default()), clock, Arc::new(Nowhere))
                .await
                .expect("schedules"),
        );
        let account: AccountId = "000000000000".parse().expect("account");
        let region: Region = "us-east-1".parse().expect("region");
        let retries = Arc::new(
            DeliveryRetries::open(Arc::clone(&engine), account, region, &events, &schedules).await.expect("open"),
        );
        events.set_retry_queue(Arc::clone(&retries) as Arc<dyn RetryQueue>);
        Wired { events, _schedules: schedules, retries, engine }
    }

    /// A delivery that failed waits in the queue across a restart and is made after it, when
    /// the clock reaches its next attempt.
    #[tokio::test]
    async fn a_failed_delivery_is_retried_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = OffsetClock::new();
        let (sender, mut delivered) = tokio::sync::mpsc::unbounded_channel();
        {
            let flaky = Arc::new(Flaky { failures: AtomicU32::new(u32::MAX), delivered: sender.clone() });
            let wired = wire(dir.path(), &clock, flaky).await;
            let caller = wharf_events::Caller { account: "000000000000".into(), region: "us-east-1".into() };
            let rule = wharf_events::NewRule {
                name: "paid".into(),
                event_pattern: Some(r#"{"source": ["shop"]}"#.into()),
                ..wharf_events::NewRule::default()
            };
            wired.events.put_rule(&caller, rule).await.expect("rule");
            let target = wharf_store::events::TargetRow {
                id: "q".into(),
                arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
                ..wharf_store::events::TargetRow::default()
            };
            wired.events.put_targets(&caller, None, "paid", vec![target]).await.expect("targets");
            let event = wharf_events::NewEvent {
                source: Some("shop".into()),
                detail_type: Some("Order".into()),
                detail: Some(r#"{"order": 1}"#.into()),
                resources: Vec::new(),
                bus: None,
                time_ms: None,
            };
            assert!(wired.events.put_events(&caller, vec![event]).remove(0).is_ok());
            // The first attempt fails and is held: one message waits in the retry queue.
            let key = wired.retries.queue.clone();
            for _ in 0..200 {
                let counts =
                    wired.engine.get_attributes(&key, &["ApproximateNumberOfMessagesDelayed".to_owned()]).await;
                if counts.is_ok_and(|counts| counts.iter().any(|(_, value)| value == "1")) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let counts = wired.engine.get_attributes(&key, &["ApproximateNumberOfMessagesDelayed".to_owned()]).await;
            assert_eq!(counts.expect("counts")[0].1, "1", "the failed delivery waits for its next attempt");
            wired.engine.shut_down();
        }
        // "Restart": everything opened again on the same directory, the target working now.
        let flaky = Arc::new(Flaky { failures: AtomicU32::new(0), delivered: sender });
        let wired = wire(dir.path(), &clock, flaky).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(Arc::clone(&wired.retries).run(stopped));
        clock.advance(2_000);
        wired.engine.wake_all();
        let payload =
            tokio::time::timeout(Duration::from_secs(10), delivered.recv()).await.expect("in time").expect("delivered");
        assert!(payload.contains(r#""order":1"#) || payload.contains(r#""order": 1"#), "{payload}");
        let _ = stop.send(true);
        wired.engine.shut_down();
        let _ = worker.await;
    }
}
