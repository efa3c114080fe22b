//! wharf's own figures for `GET /metrics`: requests per service, operation and status, their
//! latency, and open connections, kept process-wide (like the panic count) and rendered in
//! the OpenMetrics text format by `prometheus-client`.
//!
//! Recording a request costs a few atomic operations and one lookup in a read-locked map of
//! label sets (labels are `&'static str` and a status code: nothing is allocated once a label
//! set has been seen).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

/// The labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `sqs`, `lambda`, `events`, …
    pub service: &'static str,
    /// The operation (`Unknown` when the request did not decode).
    pub operation: &'static str,
    /// The HTTP status answered.
    pub status: u16,
}

/// The labels of a request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The service.
    pub service: &'static str,
    /// The operation.
    pub operation: &'static str,
}

/// The process-wide request figures.
pub struct Telemetry {
    /// Requests answered.
    pub requests: Family<RequestLabels, Counter>,
    /// How long they took, in seconds.
    pub latency: Family<OperationLabels, Histogram>,
    /// Connections open now.
    pub connections: Gauge,
}

/// Latency buckets, in seconds: 100 µs to 20 s (a long poll is up to 20 s).
fn buckets() -> Histogram {
    Histogram::new([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 20.0])
}

/// The figures of this process.
pub fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| Telemetry {
        requests: Family::default(),
        latency: Family::new_with_constructor(buckets),
        connections: Gauge::default(),
    })
}

/// Records one answered request.
pub fn record_request(service: &'static str, operation: &'static str, status: u16, seconds: f64) {
    let telemetry = telemetry();
    telemetry.requests.get_or_create(&RequestLabels { service, operation, status }).inc();
    telemetry.latency.get_or_create(&OperationLabels { service, operation }).observe(seconds);
}

/// Adds the request figures to `registry`.
pub fn register(registry: &mut Registry) {
    let telemetry = telemetry();
    registry.register(
        "wharf_requests",
        "Requests answered, by service, operation and status",
        telemetry.requests.clone(),
    );
    registry.register(
        "wharf_request_duration_seconds",
        "How long requests took to answer, by service and operation",
        telemetry.latency.clone(),
    );
    registry.register(
        "wharf_open_connections",
        "Connections open now (clients', and function processes' to their Runtime API)",
        telemetry.connections.clone(),
    );
}
