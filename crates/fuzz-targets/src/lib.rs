//! wharf's fuzz targets: every parser that reads network bytes, as a plain function of the
//! input bytes.
//!
//! Two drivers call them. `cargo fuzz` (the `fuzz/` crate, coverage-guided libFuzzer, run by
//! `scripts/fuzz`) links each function into its own binary. `cargo test` replays the seed corpus
//! kept in `fuzz/corpus/<target>/` and a short deterministic mutation run of it (`tests/corpus.rs`),
//! so a regression in any parser fails the ordinary suite without a nightly toolchain.
//!
//! A target fails by panicking: a parser or handler that panics, recurses without bound or
//! answers a 5xx (the in-memory stores cannot fail, so a 5xx is a bug) is a finding.
//!
//! Two kinds of target:
//! - whole APIs (`sqs_json`, `sqs_query`, `lambda_api`, `events_api`, `logs_api`, `sts_api`): the input is
//!   up to [`MAX_REQUESTS`] requests separated by NUL bytes, each a first line (the operation,
//!   or for the REST and query protocols the method and path) and a body. The requests run in
//!   order against one fresh in-memory service, so a sequence such as CreateQueue, SendMessage,
//!   ReceiveMessage reaches the handlers' state, not only the decoders. Time is tokio's paused
//!   clock: a 20-second long poll ends at once.
//! - single parsers (`receipt_handle`, `event_pattern`, `filter_pattern`, `schedule`,
//!   `input_template`, `queue_attributes`): the parser, then what consumes its result (matching,
//!   the next fire times, rendering), with NUL bytes separating the parts of the input.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use wharf_api_common::{ApiRequest, ApiResponse};
use wharf_types::{AccountId, Clock, ManualClock, Region};

/// The most requests one API input runs.
pub const MAX_REQUESTS: usize = 8;

/// A fuzz target: runs one input, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus directory and its `cargo fuzz` binary have.
pub const TARGETS: &[(&str, Target)] = &[
    ("sqs_json", sqs_json),
    ("sqs_query", sqs_query),
    ("lambda_api", lambda_api),
    ("events_api", events_api),
    ("logs_api", logs_api),
    ("sts_api", sts_api),
    ("iam_api", iam_api),
    ("iam_policy", iam_policy),
    ("receipt_handle", receipt_handle),
    ("sigv4", sigv4),
    ("event_pattern", event_pattern),
    ("filter_pattern", filter_pattern),
    ("schedule", schedule),
    ("input_template", input_template),
    ("queue_attributes", queue_attributes),
    ("scheduler_api", scheduler_api),
    ("scheduler_expression", scheduler_expression),
];

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";

thread_local! {
    /// One runtime per fuzzing thread, its clock paused (it jumps to the next timer whenever
    /// every task waits), so inputs that wait finish at once.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// The services' clock: fixed, so the times in a corpus (log event timestamps, say) mean the
/// same on every run. 2027-01-15T08:00:00Z.
const NOW_MS: u64 = 1_800_000_000_000;

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(NOW_MS))
}

fn account() -> AccountId {
    ACCOUNT.parse().expect("the fuzz account id")
}

fn region() -> Region {
    REGION.parse().expect("the fuzz region")
}

/// Who callers are, for every API: credentials unverified, the fuzz account and region.
fn identity() -> wharf_api_common::pipeline::Identity {
    wharf_api_common::pipeline::Identity::unverified(account(), region())
}

/// The input's requests: (first line, body) pairs, at most [`MAX_REQUESTS`].
fn requests(data: &[u8]) -> impl Iterator<Item = (String, &[u8])> {
    data.split(|byte| *byte == 0).take(MAX_REQUESTS).map(|part| {
        let (line, body) = match part.iter().position(|byte| *byte == b'\n') {
            Some(at) => (&part[..at], &part[at + 1..]),
            None => (part, &[][..]),
        };
        (String::from_utf8_lossy(line).trim().to_owned(), body)
    })
}

/// The input split at NUL bytes into exactly `N` parts (missing parts empty, the last one
/// keeping any further NULs).
fn parts<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&[][..]; N];
    let mut rest = data;
    for (index, slot) in out.iter_mut().enumerate() {
        if index + 1 == N {
            *slot = rest;
            break;
        }
        match rest.iter().position(|byte| *byte == 0) {
            Some(at) => {
                *slot = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *slot = rest;
                rest = &[];
            }
        }
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn request(method: Method, uri: Uri, headers: &[(&'static str, String)], body: &[u8]) -> ApiRequest {
    let mut map = HeaderMap::new();
    map.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1:4566"));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(*name, value);
        }
    }
    ApiRequest { method, uri, headers: map, body: Bytes::copy_from_slice(body), peer: None }
}

/// A JSON-protocol request: `X-Amz-Target: PREFIX.OPERATION`.
fn json_request(prefix: &str, content_type: &'static str, operation: &str, body: &[u8]) -> ApiRequest {
    request(
        Method::POST,
        Uri::from_static("/"),
        &[("x-amz-target", format!("{prefix}{operation}")), ("content-type", content_type.to_owned())],
        body,
    )
}

/// Fails the input when the answer is a server error: nothing an in-memory service does may
/// fail on the server's side, whatever the request.
fn check(what: &str, operation: &str, response: &ApiResponse) {
    trace(what, operation, response);
    assert!(
        !response.status.is_server_error(),
        "{what} {operation} answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
}

/// With `WHARF_FUZZ_TRACE` set, prints each request's answer: to see what a corpus reaches.
fn trace(what: &str, operation: &str, response: &ApiResponse) {
    if std::env::var_os("WHARF_FUZZ_TRACE").is_some() {
        let body = String::from_utf8_lossy(&response.body);
        eprintln!("{what} {operation}: {} {}", response.status, body.chars().take(160).collect::<String>());
    }
}

// ----- whole APIs ------------------------------------------------------------------------------

fn sqs_api() -> wharf_api_sqs::SqsApi {
    let store = Arc::new(wharf_store::memory::MemoryStore::new());
    let engine = Arc::new(wharf_queue::Engine::new(store, clock(), wharf_queue::EngineConfig::default()));
    wharf_api_sqs::SqsApi::new(engine, identity(), "127.0.0.1:4566".to_owned())
}

/// SQS over awsJson1_0: each request's first line is the operation (`SendMessage`), its body
/// the JSON document.
pub fn sqs_json(data: &[u8]) {
    let api = sqs_api();
    block_on(async {
        for (operation, body) in requests(data) {
            let request =
                json_request(wharf_api_sqs::codec::json::TARGET_PREFIX, "application/x-amz-json-1.0", &operation, body);
            if wharf_api_sqs::SqsApi::protocol_of(&request).is_none() {
                continue;
            }
            let response = api.handle(request).await;
            check("SQS", &operation, &response);
        }
    });
}

/// STS over the query protocol: each request's first line is the path and query string, its
/// body the form.
pub fn sts_api(data: &[u8]) {
    let api = wharf_api_sts::StsApi::new(identity());
    block_on(async {
        for (line, body) in requests(data) {
            let Ok(uri) = line.parse::<Uri>() else { continue };
            let request =
                request(Method::POST, uri, &[("content-type", "application/x-www-form-urlencoded".to_owned())], body);
            let response = api.handle(request).await;
            check("STS", &line, &response);
        }
    });
}

/// IAM over the query protocol: each request's first line is the path and query string, its
/// body the form (`Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=...`).
pub fn iam_api(data: &[u8]) {
    let api = wharf_api_iam::IamApi::new(identity());
    block_on(async {
        for (line, body) in requests(data) {
            let Ok(uri) = line.parse::<Uri>() else { continue };
            let request =
                request(Method::POST, uri, &[("content-type", "application/x-www-form-urlencoded".to_owned())], body);
            let response = api.handle(request).await;
            check("IAM", &line, &response);
        }
    });
}

/// A policy document, parsed and evaluated against a request whose action, resource and one
/// condition key come from the input's other parts.
pub fn iam_policy(data: &[u8]) {
    let [document, action, resource] = parts::<3>(data);
    let (action, resource) = (text(action), text(resource));
    let Ok(policy) = text(document).parse::<wharf_iam::Policy>() else { return };
    let _ = policy.check_identity_policy();
    let _ = policy.check_trust_policy();
    let context = std::collections::BTreeMap::from([
        ("aws:username".to_owned(), vec![action.clone()]),
        ("aws:sourceip".to_owned(), vec!["203.0.113.7".to_owned()]),
    ]);
    let request = wharf_iam::policy::Request {
        action: &action,
        resource: &resource,
        principal: Some(wharf_iam::policy::RequestPrincipal::Aws {
            account: ACCOUNT,
            arn: "arn:aws:iam::000000000000:user/u",
            role_arn: None,
        }),
        context: &context,
    };
    let _ = policy.evaluate(&request);
}

/// SQS over the query protocol: each request's first line is the path and query string
/// (`/000000000000/q?Action=ReceiveMessage`), its body the form.
pub fn sqs_query(data: &[u8]) {
    let api = sqs_api();
    block_on(async {
        for (line, body) in requests(data) {
            let Ok(uri) = line.parse::<Uri>() else { continue };
            let request =
                request(Method::POST, uri, &[("content-type", "application/x-www-form-urlencoded".to_owned())], body);
            if wharf_api_sqs::SqsApi::protocol_of(&request).is_none() {
                continue;
            }
            let response = api.handle(request).await;
            check("SQS", &line, &response);
        }
    });
}

/// The functions engine behind [`lambda_api`]: one per thread (it writes its runtime files to a
/// temporary directory once), shared by the inputs.
struct LambdaHarness {
    api: wharf_api_lambda::LambdaApi,
    _dir: tempfile::TempDir,
}

thread_local! {
    static LAMBDA: LambdaHarness = {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = wharf_functions::FunctionsConfig {
            account_concurrency: 4,
            idle_timeout: std::time::Duration::from_secs(1),
            init_timeout: std::time::Duration::from_secs(1),
            async_retry_delay_seconds: 1,
            code_dir: dir.path().join("code"),
            runtime_dir: dir.path().join("runtime"),
            runtimes: wharf_functions::runtimes::RuntimeSettings {
                interpreters: BTreeMap::new(),
                strict_python_versions: false,
                node: "node".to_owned(),
                python_sdk_path: None,
                cache_dir: dir.path().join("cache"),
            },
            endpoint_url: "http://127.0.0.1:9".to_owned(),
            sandbox: None,
        };
        let functions = block_on(wharf_functions::Functions::open(
            Arc::new(wharf_store::functions::MemoryFunctionStore::default()),
            clock(),
            config,
            Arc::new(wharf_api_runtime::RuntimeApiHost),
            Arc::new(wharf_functions::ports::DiscardLogs),
        ))
        .expect("the functions engine");
        let api = wharf_api_lambda::LambdaApi::new(functions, identity(), "http://127.0.0.1:9".to_owned());
        LambdaHarness { api, _dir: dir }
    };
}

/// Lambda's REST protocol: each request's first line is the method and path with its query
/// (`POST /2015-03-31/functions/f/invocations?Qualifier=1`), its body the JSON document.
pub fn lambda_api(data: &[u8]) {
    LAMBDA.with(|harness| {
        block_on(async {
            for (line, body) in requests(data) {
                let (method, target) = line.split_once(' ').unwrap_or(("GET", line.as_str()));
                let Ok(method) = Method::from_bytes(method.as_bytes()) else { continue };
                let Ok(uri) = target.trim().parse::<Uri>() else { continue };
                let request = request(method, uri, &[("content-type", "application/json".to_owned())], body);
                if !wharf_api_lambda::LambdaApi::claims(&request) {
                    continue;
                }
                // Not `check`ed: an invocation's 5xx (the function could not start) is an answer.
                let response = harness.api.handle(request).await;
                trace("Lambda", &line, &response);
            }
        });
    });
}

struct Nowhere;

#[async_trait::async_trait]
impl wharf_events::TargetDelivery for Nowhere {
    async fn deliver(
        &self,
        _arn: &str,
        _rule_arn: &str,
        _payload: String,
        _group: Option<String>,
    ) -> Result<(), wharf_types::HandOffError> {
        Ok(())
    }
}

/// EventBridge over awsJson1_1: each request's first line is the operation (`PutRule`), its
/// body the JSON document. Patterns, schedule expressions and input templates are all parsed
/// here, and PutEvents renders every matching target's input.
pub fn events_api(data: &[u8]) {
    block_on(async {
        let events = wharf_events::Events::open(
            Arc::new(wharf_store::events::MemoryEventStore::default()),
            clock(),
            Arc::new(Nowhere),
        )
        .await
        .map(Arc::new)
        .expect("the events engine");
        events
            .open_archives(Arc::new(wharf_store::archives::MemoryArchiveStore::default()))
            .await
            .expect("the archives");
        let api = wharf_api_events::EventsApi::new(events, identity());
        for (operation, body) in requests(data) {
            let request =
                json_request(wharf_api_events::codec::TARGET_PREFIX, "application/x-amz-json-1.1", &operation, body);
            let response = api.handle(request).await;
            check("EventBridge", &operation, &response);
        }
        // Deliveries run on spawned tasks: let them render and deliver.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    });
}

/// A subscription destination that accepts every filter and drops its batches.
struct Subscribers;

#[async_trait::async_trait]
impl wharf_logs::subscriptions::SubscriptionSink for Subscribers {
    async fn check(
        &self,
        _account: &wharf_types::AccountId,
        _region: &wharf_types::Region,
        _group: &str,
        _destination: &str,
    ) -> Result<(), String> {
        Ok(())
    }

    async fn deliver(&self, batch: wharf_logs::subscriptions::SubscriptionBatch) {
        assert!(!batch.events.is_empty(), "an empty subscription batch");
    }
}

/// CloudWatch Logs over awsJson1_1: each request's first line is the operation
/// (`FilterLogEvents`), its body the JSON document; subscription filters are matched on every
/// write.
pub fn logs_api(data: &[u8]) {
    let logs = Arc::new(wharf_logs::Logs::new(Arc::new(wharf_store::logs::MemoryLogStore::new()), clock()));
    logs.set_subscription_sink(Arc::new(Subscribers));
    let api = wharf_api_logs::LogsApi::new(logs, identity());
    block_on(async {
        for (operation, body) in requests(data) {
            let request =
                json_request(wharf_api_logs::codec::TARGET_PREFIX, "application/x-amz-json-1.1", &operation, body);
            let response = api.handle(request).await;
            check("CloudWatch Logs", &operation, &response);
        }
    });
}

// ----- single parsers --------------------------------------------------------------------------

/// A receipt handle as a client sends it back.
pub fn receipt_handle(data: &[u8]) {
    let key = wharf_queue::receipt::ReceiptKey::from_bytes([7; 32]);
    let _ = key.decode(&text(data));
}

/// A SigV4 `Authorization` header, then a path and query, then a body:
/// `HEADER \0 PATH?QUERY \0 BODY`; the header is parsed and, when it parses, the canonical
/// request built and the signature checked.
pub fn sigv4(data: &[u8]) {
    let [header, target, body] = parts::<3>(data);
    let Ok(value) = http::HeaderValue::from_bytes(header) else { return };
    let Ok(uri) = text(target).parse::<Uri>() else { return };
    let mut request = request(Method::POST, uri, &[("host", "127.0.0.1:4566".to_owned())], body);
    request.headers.insert("authorization", value);
    if let Ok(authorization) = wharf_api_common::sigv4::parse(&request) {
        let _ = wharf_api_common::sigv4::verify(&request, &authorization, "secret", "20261203T000000Z");
    }
}

/// An event pattern, then an event matched against it: `PATTERN \0 EVENT`.
pub fn event_pattern(data: &[u8]) {
    let [pattern, event] = parts::<2>(data);
    let Ok(pattern) = wharf_pattern::Pattern::parse(&text(pattern)) else { return };
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(event) {
        let _ = pattern.matches(&event);
    }
}

/// A CloudWatch Logs filter pattern, then a log message matched against it:
/// `PATTERN \0 MESSAGE`.
pub fn filter_pattern(data: &[u8]) {
    let [pattern, message] = parts::<2>(data);
    let message = text(message);
    let _ = wharf_logs::json::parse(&message);
    if let Ok(pattern) = wharf_logs::pattern::FilterPattern::from_str(&text(pattern)) {
        let _ = pattern.matches(&message);
    }
}

/// A schedule expression, then its next fire times after an instant the input gives:
/// `EXPRESSION \0 AFTER (8 bytes, little-endian ms)`.
pub fn schedule(data: &[u8]) {
    let [expression, after] = parts::<2>(data);
    let Ok(schedule) = wharf_events::schedule::Schedule::from_str(&text(expression)) else { return };
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(after) {
        *slot = *byte;
    }
    // Within the years a cron expression can name (up to 2199), and after 1970.
    let mut at = u64::from_le_bytes(bytes) % 7_258_118_400_000;
    let anchor = at;
    for _ in 0..4 {
        match schedule.next_after(at, anchor) {
            Some(next) => {
                assert!(next > at, "next fire {next} is not after {at} for {}", text(expression));
                at = next;
            }
            None => break,
        }
    }
}

/// A target's input settings, then the input rendered for an event:
/// `MODE \0 A \0 B \0 EVENT`, where MODE's first byte picks Input (A), InputPath (A) or an
/// InputTransformer (A the InputPathsMap as JSON, B the template).
pub fn input_template(data: &[u8]) {
    let [mode, first, second, event] = parts::<4>(data);
    let mut target = wharf_store::events::TargetRow {
        id: "t".to_owned(),
        arn: "arn:aws:sqs:us-east-1:000000000000:q".to_owned(),
        ..wharf_store::events::TargetRow::default()
    };
    match mode.first().copied().unwrap_or(0) % 3 {
        0 => target.input = Some(text(first)),
        1 => target.input_path = Some(text(first)),
        _ => {
            let Ok(input_paths_map) = serde_json::from_slice::<BTreeMap<String, String>>(first) else { return };
            target.input_transformer =
                Some(wharf_store::events::InputTransformerRow { input_paths_map, input_template: text(second) });
        }
    }
    let Ok(input) = wharf_events::target::TargetInput::of(&target) else { return };
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(event) else { return };
    let context = wharf_events::target::RuleContext {
        rule_arn: "arn:aws:events:us-east-1:000000000000:rule/r",
        rule_name: "r",
        ingestion_ms: 0,
    };
    let _ = input.render(&event, context);
}

/// Queue attributes as CreateQueue takes them, one `Name=Value` per line (Policy,
/// RedrivePolicy and RedriveAllowPolicy documents among them), then a permission added to and
/// removed from the resulting policy. The first byte picks a FIFO or a standard queue name.
pub fn queue_attributes(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else { return };
    let fifo = first % 2 == 1;
    let mut attributes = BTreeMap::new();
    for line in text(rest).lines() {
        if let Some((name, value)) = line.split_once('=') {
            attributes.insert(name.to_owned(), value.replace("\\n", "\n"));
        }
    }
    let mut settings = wharf_store::QueueSettings::default();
    if wharf_queue::attributes::apply(&mut settings, &attributes, wharf_queue::attributes::Phase::Create, fifo).is_err()
    {
        return;
    }
    let key = wharf_types::QueueKey {
        account: account(),
        region: region(),
        name: if fifo { "q.fifo" } else { "q" }.parse().expect("a queue name"),
    };
    let label = attributes.get("Label").map_or("label", String::as_str);
    let actions = vec!["SendMessage".to_owned()];
    if let Ok(policy) =
        wharf_queue::policy::add(settings.policy.as_deref(), &key, label, &[ACCOUNT.to_owned()], &actions)
    {
        let _ = wharf_queue::policy::remove(Some(&policy), label);
    }
    let _ = wharf_queue::policy::remove(settings.policy.as_deref(), label);
}

struct NoTargets;

#[async_trait::async_trait]
impl wharf_events::schedules::ScheduleDelivery for NoTargets {
    async fn invoke(&self, _invocation: &wharf_events::schedules::Invocation) -> Result<(), wharf_types::HandOffError> {
        Ok(())
    }
    async fn dead_letter(
        &self,
        _invocation: &wharf_events::schedules::Invocation,
        _queue_arn: &str,
        _attributes: BTreeMap<String, String>,
    ) -> Result<(), wharf_types::HandOffError> {
        Ok(())
    }
}

/// EventBridge Scheduler's REST protocol: each request's first line is the method and path
/// with its query (`POST /schedules/s`), its body the JSON document. The worker runs too, so
/// schedules that come due (the clock is paused and jumps) are planned and invoked.
pub fn scheduler_api(data: &[u8]) {
    block_on(async {
        let schedules = Arc::new(
            wharf_events::schedules::Schedules::open(
                Arc::new(wharf_store::schedules::MemoryScheduleStore::default()),
                clock(),
                Arc::new(NoTargets),
            )
            .await
            .expect("the scheduler"),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(Arc::clone(&schedules).run(stopped));
        let api = wharf_api_scheduler::SchedulerApi::new(Arc::clone(&schedules), identity());
        for (line, body) in requests(data) {
            let (method, target) = line.split_once(' ').unwrap_or(("GET", line.as_str()));
            let Ok(method) = Method::from_bytes(method.as_bytes()) else { continue };
            let Ok(uri) = target.trim().parse::<Uri>() else { continue };
            let request = request(method, uri, &[("content-type", "application/json".to_owned())], body);
            if !wharf_api_scheduler::SchedulerApi::claims(&request) {
                continue;
            }
            let response = api.handle(request).await;
            check("Scheduler", &line, &response);
        }
        let _ = stop.send(true);
        let _ = worker.await;
    });
}

/// A Scheduler expression in a time zone, then its next invocations after an instant:
/// `EXPRESSION \0 ZONE \0 AFTER (8 bytes, little-endian ms)`; each must come after the last.
pub fn scheduler_expression(data: &[u8]) {
    let [expression, zone, after] = parts::<3>(data);
    let Ok(parsed) = wharf_events::schedules::Expression::from_str(&text(expression)) else { return };
    let mut row = wharf_store::schedules::sample_schedule("default", "fuzz");
    row.expression = text(expression);
    row.timezone = Some(text(zone)).filter(|zone| !zone.is_empty());
    if wharf_events::schedules::time_zone(row.timezone.as_deref()).is_err() {
        return;
    }
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(after) {
        *slot = *byte;
    }
    let mut at = u64::from_le_bytes(bytes) % 7_258_118_400_000;
    row.modified_ms = at;
    for _ in 0..4 {
        match parsed.next_after(&row, at) {
            Some(next) => {
                assert!(next > at, "next invocation {next} is not after {at} for {}", row.expression);
                at = next;
            }
            None => break,
        }
    }
}
