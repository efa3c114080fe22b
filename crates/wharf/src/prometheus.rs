//! `GET /metrics`: wharf's figures in the OpenMetrics text format Prometheus scrapes.
//!
//! The request figures are kept process-wide as requests are answered
//! (`wharf_api_common::telemetry`); the queue and function figures are read when the scrape
//! comes, so a scrape costs one pass over the queues' counts and nothing between scrapes.
//!
//! # Wire
//! ```text
//! wharf_requests_total{service="sqs",operation="SendMessage",status="200"} 42
//! wharf_request_duration_seconds_bucket{service="sqs",operation="SendMessage",le="0.001"} 40
//! wharf_sqs_messages{account="…",region="…",queue="orders",state="visible"} 3
//! wharf_lambda_invocations_total{account="…",region="…",function="worker"} 10
//! ```

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The content type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    account: String,
    region: String,
    queue: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueOnlyLabels {
    account: String,
    region: String,
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    account: String,
    region: String,
    function: String,
}

/// The text of a scrape.
pub async fn render(
    queues: &wharf_queue::Engine,
    functions: &wharf_functions::Functions,
    rules: &wharf_events::Events,
) -> String {
    let mut registry = Registry::default();
    wharf_api_common::telemetry::register(&mut registry);

    let messages = Family::<QueueLabels, Gauge>::default();
    let oldest = Family::<QueueOnlyLabels, Gauge<f64, AtomicU64>>::default();
    let now = queues.now_millis();
    match queues.all_stats().await {
        Ok(stats) => {
            for (key, stats) in stats {
                let age = stats.oldest_sent_ms.map_or(0.0, |sent| now.saturating_sub(sent) as f64 / 1000.0);
                let labels = QueueOnlyLabels {
                    account: key.account.to_string(),
                    region: key.region.to_string(),
                    queue: key.name.to_string(),
                };
                oldest.get_or_create(&labels).set(age);
                for (state, count) in
                    [("visible", stats.visible), ("in_flight", stats.in_flight), ("delayed", stats.delayed)]
                {
                    let labels = QueueLabels {
                        account: key.account.to_string(),
                        region: key.region.to_string(),
                        queue: key.name.to_string(),
                        state,
                    };
                    messages.get_or_create(&labels).set(i64::try_from(count).unwrap_or(i64::MAX));
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read the queues' counts for /metrics"),
    }
    registry.register(
        "wharf_sqs_messages",
        "Messages per queue: visible, in flight (received, not deleted) and delayed",
        messages,
    );
    registry.register(
        "wharf_sqs_oldest_message_age_seconds",
        "Age of each queue's oldest message (ApproximateAgeOfOldestMessage); 0 when it is empty",
        oldest,
    );

    let invocations = Family::<FunctionLabels, Counter>::default();
    let errors = Family::<FunctionLabels, Counter>::default();
    let throttles = Family::<FunctionLabels, Counter>::default();
    let cold_starts = Family::<FunctionLabels, Counter>::default();
    let duration = Family::<FunctionLabels, Counter<f64, AtomicU64>>::default();
    for (key, counters) in functions.counters() {
        let labels = FunctionLabels { account: key.account, region: key.region, function: key.name };
        invocations.get_or_create(&labels).inc_by(counters.invocations);
        errors.get_or_create(&labels).inc_by(counters.errors);
        throttles.get_or_create(&labels).inc_by(counters.throttles);
        cold_starts.get_or_create(&labels).inc_by(counters.cold_starts);
        duration.get_or_create(&labels).inc_by(counters.duration_seconds);
    }
    registry.register("wharf_lambda_invocations", "Invocations run to an outcome, per function", invocations);
    registry.register("wharf_lambda_errors", "Invocations that ended in an error, per function", errors);
    registry.register("wharf_lambda_throttles", "Invocations refused for concurrency, per function", throttles);
    registry.register(
        "wharf_lambda_cold_starts",
        "Invocations that started a new environment, per function",
        cold_starts,
    );
    registry.register("wharf_lambda_duration_seconds", "Time spent in invocations, per function", duration);
    let environments = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    environments.set(i64::try_from(functions.environments_running()).unwrap_or(i64::MAX));
    registry.register(
        "wharf_lambda_environments",
        "Function processes (execution environments) running now",
        environments,
    );

    let triggered = Family::<RuleLabels, Counter>::default();
    let invocations = Family::<RuleLabels, Counter>::default();
    let failed = Family::<RuleLabels, Counter>::default();
    let to_dlq = Family::<RuleLabels, Counter>::default();
    for (rule, counters) in rules.rule_counters() {
        let labels = RuleLabels { rule };
        triggered.get_or_create(&labels).inc_by(counters.triggered);
        invocations.get_or_create(&labels).inc_by(counters.invocations);
        failed.get_or_create(&labels).inc_by(counters.failed_invocations);
        to_dlq.get_or_create(&labels).inc_by(counters.sent_to_dlq);
    }
    registry.register(
        "wharf_events_rule_triggers",
        "Times each rule matched an event or its schedule fired",
        triggered,
    );
    registry.register("wharf_events_invocations", "Deliveries to a rule's targets that succeeded", invocations);
    registry.register("wharf_events_failed_invocations", "Deliveries to a rule's targets that failed for good", failed);
    registry.register("wharf_events_sent_to_dlq", "Failed deliveries of a rule sent to a dead-letter queue", to_dlq);

    // The queue journals' commits (the user-facing queues and wharf's internal ones together).
    let stats = wharf_store_sqlite::commit_stats::commit_stats();
    let commits = Counter::<u64, AtomicU64>::default();
    commits.inc_by(stats.commits);
    let batches = Counter::<u64, AtomicU64>::default();
    batches.inc_by(stats.batches);
    let commit_seconds = Counter::<f64, AtomicU64>::default();
    commit_seconds.inc_by(stats.nanos as f64 / 1e9);
    let max_batches = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    max_batches.set(i64::try_from(stats.max_batches).unwrap_or(i64::MAX));
    registry.register("wharf_store_commits", "Queue journal transactions committed (each synced to disk)", commits);
    registry.register(
        "wharf_store_committed_operations",
        "Store operations those transactions carried (operations / commits is the group-commit batch size)",
        batches,
    );
    registry.register(
        "wharf_store_commit_seconds",
        "Time spent writing and syncing queue journal commits",
        commit_seconds,
    );
    registry.register(
        "wharf_store_max_commit_operations",
        "The most operations one queue journal commit carried",
        max_batches,
    );

    let mut text = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        tracing::warn!(error = %err, "could not render /metrics");
    }
    text
}
