//! The scheduler worker: fires enabled scheduled rules at their times.
//!
//! One loop sleeps until the earliest `next_fire` of the enabled scheduled rules (kept beside
//! each rule in memory), or until a rule change wakes it, or until shutdown; there is no polling
//! interval. Each fire sends AWS's scheduled-event JSON through every target's input settings:
//!
//! ```text
//! {"version":"0","id":"<uuid>","detail-type":"Scheduled Event","source":"aws.events",
//!  "account":"123456789012","time":"2019-03-01T01:23:45Z","region":"us-east-2",
//!  "resources":["arn:aws:events:us-east-2:123456789012:rule/my-schedule"],"detail":{}}
//! ```
//!
//! `time` is the scheduled instant. Rate schedules count from the rule's creation, or from the
//! latest change that enabled it or changed its expression: `rate(5 minutes)` created at 12:00:30
//! fires at 12:05:30, 12:10:30 and so on. Cron schedules fire at the start of their minutes, UTC.
//!
//! Missed fires are not replayed. After a restart (or a pause of the process longer than a
//! period) each rule fires next at its first scheduled instant after now, exactly once, never a
//! burst for the fires that fell while wharf was down.

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wharf_store::events::RuleRow;

use crate::rules::{rule_arn, Events};
use crate::target::iso_time;

/// Sleeps until `next` (epoch millis; forever when `None`), a notification on `changed`, or
/// a change of `stop`; false when `stop`'s sender is gone. The one wait of both schedulers
/// (rules and Scheduler's schedules): no polling interval.
pub(crate) async fn wait_for_next(
    next: Option<u64>,
    now: u64,
    changed: &tokio::sync::Notify,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let sleep = async {
        match next {
            Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = sleep => true,
        _ = changed.notified() => true,
        changed = stop.changed() => changed.is_ok(),
    }
}

impl Events {
    /// Runs the scheduler until `stop` turns true (or its sender is dropped).
    pub async fn run_scheduler(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let now = self.clock.now_millis();
            let (due, next) = self.take_due(now);
            for (rule, fire_ms) in due {
                self.fire(&rule, fire_ms, now);
            }
            if !wait_for_next(next, now, &self.schedule_changed, &mut stop).await {
                return;
            }
        }
    }

    /// The rules due at `now` with their scheduled instants (each planned again for its next
    /// fire after now), and the earliest next fire of all.
    fn take_due(&self, now: u64) -> (Vec<(RuleRow, u64)>, Option<u64>) {
        let mut state = self.lock();
        let mut due = Vec::new();
        let mut earliest: Option<u64> = None;
        for entry in state.rules.values_mut() {
            if let Some(at) = entry.next_fire {
                if at <= now {
                    due.push((entry.row.clone(), at));
                    entry.plan(now);
                }
            }
            if let Some(at) = entry.next_fire {
                earliest = Some(earliest.map_or(at, |current| current.min(at)));
            }
        }
        (due, earliest)
    }

    fn fire(&self, rule: &RuleRow, fire_ms: u64, now: u64) {
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule.account,
            "time": iso_time(fire_ms),
            "region": rule.region,
            "resources": [rule_arn(rule)],
            "detail": {},
        });
        tracing::debug!(rule = %rule.name, targets = rule.targets.len(), "scheduled rule fired");
        self.dispatch(rule, &event, now, false);
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::tests::{caller, sqs_target, Recorder};
    use crate::rules::{Events, NewRule};
    use serde_json::Value;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::mpsc;
    use wharf_store::events::MemoryEventStore;
    use wharf_types::Clock;

    /// Wall-clock time that moves with tokio's (paused) clock, so sleeps and `now` agree.
    #[derive(Debug)]
    struct TokioClock {
        base_ms: u64,
        start: tokio::time::Instant,
    }

    impl Clock for TokioClock {
        fn now_millis(&self) -> u64 {
            self.base_ms + self.start.elapsed().as_millis() as u64
        }
    }

    /// 2024-01-01T00:00:30Z.
    const BASE_MS: u64 = 1_704_067_230_000;

    type Deliveries = mpsc::UnboundedReceiver<(String, String, Option<String>)>;

    async fn start(
        store: Arc<MemoryEventStore>,
        base_ms: u64,
    ) -> (Arc<Events>, Deliveries, tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let clock = Arc::new(TokioClock { base_ms, start: tokio::time::Instant::now() });
        let events = Arc::new(Events::open(store, clock, Arc::new(Recorder(sender))).await.expect("open"));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(Arc::clone(&events).run_scheduler(stopped));
        (events, receiver, stop, worker)
    }

    fn scheduled(name: &str, expression: &str) -> NewRule {
        NewRule { name: name.into(), schedule_expression: Some(expression.into()), ..NewRule::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn rate_fires_one_period_after_creation_with_the_scheduled_event() {
        let (events, mut deliveries, stop, worker) = start(Arc::new(MemoryEventStore::default()), BASE_MS).await;
        let started = tokio::time::Instant::now();
        events.put_rule(&caller(), scheduled("every-minute", "rate(1 minute)")).await.expect("rule");
        events.put_targets(&caller(), None, "every-minute", vec![sqs_target("q")]).await.expect("target");
        let (arn, payload, _) = deliveries.recv().await.expect("fired");
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        assert_eq!(arn, "arn:aws:sqs:us-east-1:123456789012:q");
        let event: Value = serde_json::from_str(&payload).expect("json");
        assert_eq!(event["version"], "0");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(event["time"], "2024-01-01T00:01:30Z");
        assert_eq!(event["resources"][0], "arn:aws:events:us-east-1:123456789012:rule/every-minute");
        assert_eq!(event["detail"], serde_json::json!({}));
        assert_eq!(event["id"].as_str().map(str::len), Some(36));
        deliveries.recv().await.expect("fired again");
        assert_eq!(started.elapsed(), Duration::from_secs(120));

        events.set_enabled(&caller(), None, "every-minute", false).await.expect("disable");
        assert!(tokio::time::timeout(Duration::from_secs(600), deliveries.recv()).await.is_err(), "disabled");
        // Enabling again restarts the rate from now.
        let enabled_at = tokio::time::Instant::now();
        events.set_enabled(&caller(), None, "every-minute", true).await.expect("enable");
        deliveries.recv().await.expect("fired after enable");
        assert_eq!(enabled_at.elapsed(), Duration::from_secs(60));
        stop.send(true).expect("stop");
        worker.await.expect("worker stops");
    }

    #[tokio::test(start_paused = true)]
    async fn cron_fires_at_the_minute_and_changes_wake_the_scheduler() {
        let (events, mut deliveries, stop, worker) = start(Arc::new(MemoryEventStore::default()), BASE_MS).await;
        // The scheduler sleeps with nothing to do; a new rule must wake it.
        tokio::time::sleep(Duration::from_secs(5)).await;
        events.put_rule(&caller(), scheduled("five", "cron(0/5 * * * ? *)")).await.expect("rule");
        let mut target = sqs_target("q");
        target.input = Some(r#"{"constant": 1}"#.into());
        events.put_targets(&caller(), None, "five", vec![target]).await.expect("target");
        let (_, payload, _) = deliveries.recv().await.expect("fired");
        assert_eq!(payload, r#"{"constant": 1}"#);
        // 00:00:35 → 00:05:00.
        assert_eq!(events.clock.now_millis(), BASE_MS + 270_000);
        deliveries.recv().await.expect("fired again");
        assert_eq!(events.clock.now_millis(), BASE_MS + 570_000);
        events.remove_targets(&caller(), None, "five", &["q".into()]).await.expect("remove");
        events.delete_rule(&caller(), None, "five").await.expect("delete");
        assert!(tokio::time::timeout(Duration::from_secs(3600), deliveries.recv()).await.is_err(), "deleted");
        stop.send(true).expect("stop");
        worker.await.expect("worker stops");
    }

    #[tokio::test(start_paused = true)]
    async fn missed_fires_are_not_replayed_after_a_restart() {
        let store = Arc::new(MemoryEventStore::default());
        {
            let (events, _deliveries, stop, worker) = start(Arc::clone(&store), BASE_MS).await;
            events.put_rule(&caller(), scheduled("r", "rate(1 minute)")).await.expect("rule");
            events.put_targets(&caller(), None, "r", vec![sqs_target("q")]).await.expect("target");
            stop.send(true).expect("stop");
            worker.await.expect("worker stops");
        }
        // wharf comes back ten and a half minutes later: ten fires were missed.
        let (_events, mut deliveries, stop, worker) = start(store, BASE_MS + 630_000).await;
        let restarted = tokio::time::Instant::now();
        let (_, payload, _) = deliveries.recv().await.expect("fired");
        assert_eq!(restarted.elapsed(), Duration::from_secs(30), "the next fire on the original grid");
        let event: Value = serde_json::from_str(&payload).expect("json");
        assert_eq!(event["time"], "2024-01-01T00:11:30Z");
        assert!(deliveries.try_recv().is_err(), "no burst of missed fires");
        stop.send(true).expect("stop");
        worker.await.expect("worker stops");
    }
}
