//! `wharf bench`: load generator for any SQS endpoint, in the spirit of redis-benchmark.
//!
//! The client speaks awsJson1_0 over keep-alive HTTP/1.1 connections with TCP_NODELAY, one
//! request in flight per connection, and records every request's latency.
//!
//! Scenarios:
//! - `send`: SendMessage from every connection.
//! - `batch`: SendMessageBatch of ten from every connection.
//! - `pipeline`: producers send batches of ten while consumers receive ten at a time and delete
//!   them in batches; then the queue is drained and every acknowledged message must have been
//!   received (no loss).
//! - `fifo-one-group`, `fifo-many-groups`: the pipeline on a FIFO queue, all messages in one
//!   group (strict order lets one batch be in flight at a time) or spread over 64 groups.
//! - `longpoll`: a consumer waits in a long poll; the time from the start of a send to the
//!   consumer's answer is the wake-up latency.
//! - `startup`: spawn `wharf serve` (in memory, on a fresh and on a used data directory) and time
//!   it to the first answered request; read its idle RSS.
//! - `invoke-warm`, `invoke-cold`, `invoke-async`: functions (see `bench_functions`).
//! - `schedule-precision`, `schedule-scale`: EventBridge Scheduler (see `bench_schedules`).
//! - `backlog`: fill a queue with many messages, then time receives and read the server's RSS.
//!
//! `--suite` runs everything against servers it starts itself (a do-nothing server that
//! answers a fixed SendMessage response, wharf durable, wharf `--in-memory`, and moto_server
//! with `--moto`), and prints a Markdown table.

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `wharf bench` flags.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The endpoint to measure; without it (and without --suite) a fresh durable wharf is started.
    #[arg(long)]
    endpoint: Option<String>,
    /// Scenarios to run, comma-separated: send, batch, pipeline, longpoll, fifo-one-group,
    /// fifo-many-groups, invoke-warm, invoke-cold, invoke-async, esm-latency, esm-throughput, startup, schedule-precision, schedule-scale.
    #[arg(long, default_value = "send,batch,pipeline,longpoll,fifo-one-group,fifo-many-groups")]
    scenarios: String,
    /// Connections for `send` and `batch`.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Producers and consumers for `pipeline` (each).
    #[arg(long, default_value_t = 4)]
    pipeline_workers: usize,
    /// Seconds each throughput scenario runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 100)]
    body_size: usize,
    /// Invokes measured by `invoke-warm` (five times as many for `invoke-async`).
    #[arg(long, default_value_t = 2000)]
    invokes: usize,
    /// Wake-ups measured by `longpoll`.
    #[arg(long, default_value_t = 300)]
    wakeups: usize,
    /// Messages queued by `backlog` (only with --suite or --backlog).
    #[arg(long, default_value_t = 1_000_000)]
    backlog: usize,
    /// Run the whole suite against servers started here and print a Markdown table.
    #[arg(long)]
    suite: bool,
    /// Include moto_server (from PATH) in the suite.
    #[arg(long)]
    moto: bool,
    /// Include the backlog scenario in the suite.
    #[arg(long)]
    with_backlog: bool,
    /// Serve fixed SendMessage answers on this address and do nothing else (the ceiling).
    #[arg(long, hide = true)]
    null_server: Option<String>,
    /// Start wharf with `--auth enforce` (and a root key) and sign every SQS request.
    #[arg(long)]
    enforce: bool,
    /// Sign every SQS request with SigV4 (implied by --enforce), so off and enforce compare
    /// with the same client cost.
    #[arg(long)]
    sign: bool,
}

/// The root key `--enforce` starts wharf with and signs with.
const BENCH_KEY: (&str, &str) = ("AKIAWHARFBENCHROOT01", "wharf-bench-secret");

/// Whether SQS requests are signed (set once from the arguments).
static SIGNED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// SigV4 headers (`authorization`, `x-amz-date`) for an SQS JSON request, by `aws-sigv4`.
fn signature_headers(host: &str, target: &str, body: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(BENCH_KEY.0, BENCH_KEY.1, None, None, "bench").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sqs")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let headers = [("host", host), ("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target)];
    let signable =
        SignableRequest::new("POST", format!("http://{host}/"), headers.into_iter(), SignableBody::Bytes(body))?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}

/// Runs `wharf bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(bind) = &args.null_server {
        return runtime.block_on(null_server(bind.clone()));
    }
    println!("{}", header());
    let _ = SIGNED.set(args.sign || args.enforce);
    runtime.block_on(async {
        if args.suite {
            return suite(&args).await;
        }
        let scenarios: Vec<&str> = args.scenarios.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
        // `startup` starts servers of its own; the others share one.
        let needs_server = scenarios.iter().any(|scenario| *scenario != "startup");
        let (endpoint, _server) = match &args.endpoint {
            Some(endpoint) => (endpoint.clone(), None),
            None if needs_server => {
                let server = if args.enforce { Server::wharf_enforced()? } else { Server::wharf(false)? };
                let _ = SERVER_PID.set(server.child.id());
                (server.endpoint.clone(), Some(server))
            }
            None => (String::new(), None),
        };
        for scenario in scenarios {
            let progress = progress(scenario, &args);
            let result = run_scenario(scenario, &endpoint, &args).await;
            progress.finish_and_clear();
            println!("{scenario:>9}: {}", result?.describe());
        }
        Ok(())
    })
}

/// What the figures depend on: wharf's version and the machine (CPU model and count, memory,
/// kernel), from /proc where Linux has it.
fn header() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, v)| v.trim()))
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or_else(|| "? GiB".to_owned(), |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("wharf bench: wharf {} on {model}, {cpus} CPUs, {memory_gib}, Linux {}", crate::cli::VERSION, kernel.trim())
}

/// What one scenario measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// Messages per second (or requests per second where messages are not meaningful).
    pub(crate) rate: f64,
    /// Latency percentiles in milliseconds: p50, p99, max.
    pub(crate) latency_ms: Option<(f64, f64, f64)>,
    /// Extra words, such as loss checks.
    pub(crate) note: String,
}

impl Outcome {
    fn describe(&self) -> String {
        if self.rate == 0.0 && self.latency_ms.is_none() {
            return self.note.clone();
        }
        let mut text = format!("{:>10.0} msgs/s", self.rate);
        if let Some((p50, p99, max)) = self.latency_ms {
            text.push_str(&format!("  p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms"));
        }
        if !self.note.is_empty() {
            text.push_str("  ");
            text.push_str(&self.note);
        }
        text
    }
}

/// A spinner on standard error while `scenario` runs (drawn only on a terminal), with the
/// time it has run and, for the timed scenarios, how long it will.
fn progress(scenario: &str, args: &BenchArgs) -> indicatif::ProgressBar {
    let timed = matches!(scenario, "send" | "batch" | "pipeline" | "fifo-one-group" | "fifo-many-groups");
    let spinner = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let template = if timed {
        format!("{{spinner}} {{msg}} {{elapsed}} of {}s", args.seconds)
    } else {
        "{spinner} {msg} {elapsed}".to_owned()
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        spinner.set_style(style);
    }
    spinner.set_message(scenario.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

async fn run_scenario(scenario: &str, endpoint: &str, args: &BenchArgs) -> anyhow::Result<Outcome> {
    let duration = Duration::from_secs_f64(args.seconds);
    match scenario {
        "startup" => startup(STARTUP_RUNS).await,
        "schedule-precision" => crate::bench_schedules::precision(endpoint, 300).await,
        "schedule-scale" => {
            crate::bench_schedules::scale(endpoint, SERVER_PID.get().copied(), 10_000, args.connections).await
        }
        "send" => throughput(endpoint, args.connections, duration, args.body_size, false).await,
        "batch" => throughput(endpoint, args.connections, duration, args.body_size, true).await,
        "pipeline" => pipeline(endpoint, args.pipeline_workers, duration, args.body_size, None).await,
        "fifo-one-group" => pipeline(endpoint, args.pipeline_workers, duration, args.body_size, Some(1)).await,
        "fifo-many-groups" => pipeline(endpoint, args.pipeline_workers, duration, args.body_size, Some(64)).await,
        "longpoll" => longpoll(endpoint, args.wakeups).await,
        "invoke-warm" => crate::bench_functions::warm(endpoint, args.invokes).await,
        "invoke-cold" => crate::bench_functions::cold(endpoint, 10).await,
        "invoke-async" => crate::bench_functions::asynchronous(endpoint, args.invokes * 5, args.connections).await,
        "esm-latency" => crate::bench_functions::mapping_latency(endpoint, args.wakeups).await,
        "esm-throughput" => {
            crate::bench_functions::mapping_throughput(endpoint, args.invokes * 25, args.connections).await
        }
        other => bail!("unknown scenario {other}"),
    }
}

/// The credential scope every unsigned bench request carries. The signature is a placeholder:
/// servers that route by the scope (moto) need the header; wharf with auth off does not check
/// it (`--sign` and `--enforce` sign for real).
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDWHARFBENCH/20260101/us-east-1/sqs/aws4_request, \
     SignedHeaders=host;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// One keep-alive HTTP/1.1 connection speaking SQS JSON; reopened when the server closes it
/// after an answer (servers without keep-alive, such as moto's).
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    closed: bool,
}

impl Connection {
    pub(crate) async fn open(endpoint: &str) -> anyhow::Result<Connection> {
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let sender = Self::connect(&host).await?;
        Ok(Connection { sender, host, closed: false })
    }

    async fn connect(host: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(host).await.with_context(|| format!("connecting to {host}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    pub(crate) async fn call(&mut self, operation: &str, body: &Value) -> anyhow::Result<Value> {
        let target = format!("AmazonSQS.{operation}");
        let payload = serde_json::to_vec(body)?;
        let mut request = hyper::Request::post("/")
            .header("host", &self.host)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", &target);
        if SIGNED.get().copied().unwrap_or(false) {
            for (name, value) in signature_headers(&self.host, &target, &payload)? {
                request = request.header(name, value);
            }
        } else {
            request = request.header("authorization", AUTHORIZATION);
        }
        let request = request.body(Full::new(Bytes::from(payload)))?;
        if self.closed || self.sender.ready().await.is_err() {
            self.sender = Self::connect(&self.host).await?;
            self.closed = false;
        }
        let response = self.sender.send_request(request).await?;
        self.closed = response
            .headers()
            .get(http::header::CONNECTION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("{operation} answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

pub(crate) async fn create_queue(endpoint: &str, name: &str) -> anyhow::Result<String> {
    let mut connection = Connection::open(endpoint).await?;
    let answer = connection.call("CreateQueue", &json!({ "QueueName": name })).await?;
    answer["QueueUrl"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("CreateQueue returned no QueueUrl: {answer}"))
}

pub(crate) fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id() as u64 * 1_000_000 + u64::from(rand_suffix()))
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos() % 1_000_000)
        .unwrap_or(0)
}

pub(crate) fn percentiles(mut samples: Vec<Duration>) -> Option<(f64, f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |fraction: f64| {
        let idx = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
        samples[idx].as_secs_f64() * 1000.0
    };
    Some((at(0.50), at(0.99), at(1.0)))
}

fn batch_body(queue_url: &str, body: &str, tag: usize) -> Value {
    let entries: Vec<Value> =
        (0..10).map(|idx| json!({ "Id": format!("m{idx}"), "MessageBody": format!("{tag}:{idx}:{body}") })).collect();
    json!({ "QueueUrl": queue_url, "Entries": entries })
}

async fn throughput(
    endpoint: &str,
    connections: usize,
    duration: Duration,
    body_size: usize,
    batched: bool,
) -> anyhow::Result<Outcome> {
    let queue_url = create_queue(endpoint, &unique_name("bench-send"))
        .await
        .unwrap_or_else(|_| format!("{endpoint}/000000000000/null"));
    let body = "x".repeat(body_size);
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..connections {
        let endpoint = endpoint.to_owned();
        let queue_url = queue_url.clone();
        let body = body.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            let mut latencies = Vec::new();
            let single = json!({ "QueueUrl": queue_url, "MessageBody": body });
            let mut idx = 0;
            while Instant::now() < deadline {
                let request_started = Instant::now();
                if batched {
                    connection
                        .call("SendMessageBatch", &batch_body(&queue_url, &body, worker * 1_000_000 + idx))
                        .await?;
                } else {
                    connection.call("SendMessage", &single).await?;
                }
                latencies.push(request_started.elapsed());
                idx += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let messages = latencies.len() * if batched { 10 } else { 1 };
    Ok(Outcome { rate: messages as f64 / elapsed, latency_ms: percentiles(latencies), note: String::new() })
}

/// `fifo_groups`: `None` for a standard queue, or a FIFO queue with messages spread over that
/// many groups.
async fn pipeline(
    endpoint: &str,
    workers: usize,
    duration: Duration,
    body_size: usize,
    fifo_groups: Option<usize>,
) -> anyhow::Result<Outcome> {
    let queue_url = match fifo_groups {
        None => create_queue(endpoint, &unique_name("bench-pipeline")).await?,
        Some(_) => {
            let mut connection = Connection::open(endpoint).await?;
            let name = format!("{}.fifo", unique_name("bench-fifo"));
            let answer = connection
                .call("CreateQueue", &json!({ "QueueName": name, "Attributes": { "FifoQueue": "true" } }))
                .await?;
            answer["QueueUrl"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("CreateQueue returned no QueueUrl: {answer}"))?
        }
    };
    let body = "x".repeat(body_size);
    let started = Instant::now();
    let deadline = started + duration;
    let producers_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut producers = Vec::new();
    for worker in 0..workers {
        let endpoint = endpoint.to_owned();
        let queue_url = queue_url.clone();
        let body = body.clone();
        producers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            let mut acknowledged = Vec::new();
            let mut idx = 0;
            while Instant::now() < deadline {
                let mut request = batch_body(&queue_url, &body, worker * 1_000_000 + idx);
                if let Some(groups) = fifo_groups {
                    for (entry_idx, entry) in request["Entries"].as_array_mut().into_iter().flatten().enumerate() {
                        let message_idx = (worker * 1_000_000 + idx) * 10 + entry_idx;
                        entry["MessageGroupId"] = json!(format!("g{}", message_idx % groups));
                        entry["MessageDeduplicationId"] = json!(format!("d{message_idx}"));
                    }
                }
                let answer = connection.call("SendMessageBatch", &request).await?;
                for entry in answer["Successful"].as_array().into_iter().flatten() {
                    if let Some(id) = entry["MessageId"].as_str() {
                        acknowledged.push(id.to_owned());
                    }
                }
                idx += 1;
            }
            anyhow::Ok(acknowledged)
        }));
    }
    let mut consumers = Vec::new();
    for _ in 0..workers {
        let endpoint = endpoint.to_owned();
        let queue_url = queue_url.clone();
        let producers_done = Arc::clone(&producers_done);
        consumers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            let mut received = Vec::new();
            let mut latencies = Vec::new();
            loop {
                let request_started = Instant::now();
                let answer = connection
                    .call(
                        "ReceiveMessage",
                        &json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1 }),
                    )
                    .await?;
                let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
                if messages.is_empty() {
                    if producers_done.load(std::sync::atomic::Ordering::Acquire) {
                        return anyhow::Ok((received, latencies));
                    }
                    continue;
                }
                let entries: Vec<Value> = messages
                    .iter()
                    .enumerate()
                    .map(|(idx, message)| json!({ "Id": format!("d{idx}"), "ReceiptHandle": message["ReceiptHandle"] }))
                    .collect();
                connection.call("DeleteMessageBatch", &json!({ "QueueUrl": queue_url, "Entries": entries })).await?;
                latencies.push(request_started.elapsed());
                received.extend(messages.iter().filter_map(|message| message["MessageId"].as_str().map(str::to_owned)));
            }
        }));
    }
    let mut acknowledged = HashSet::new();
    for producer in producers {
        acknowledged.extend(producer.await??);
    }
    producers_done.store(true, std::sync::atomic::Ordering::Release);
    let mut received = HashSet::new();
    let mut latencies = Vec::new();
    let mut duplicates = 0usize;
    for consumer in consumers {
        let (ids, consumer_latencies) = consumer.await??;
        latencies.extend(consumer_latencies);
        for id in ids {
            if !received.insert(id) {
                duplicates += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let lost = acknowledged.difference(&received).count();
    let note = format!(
        "{} sent, {} received, {lost} lost, {duplicates} duplicates (receive+delete p50/p99 above)",
        acknowledged.len(),
        received.len()
    );
    if lost > 0 {
        bail!("pipeline lost messages: {note}");
    }
    Ok(Outcome { rate: received.len() as f64 / elapsed, latency_ms: percentiles(latencies), note })
}

async fn longpoll(endpoint: &str, wakeups: usize) -> anyhow::Result<Outcome> {
    let queue_url = create_queue(endpoint, &unique_name("bench-longpoll")).await?;
    let mut producer = Connection::open(endpoint).await?;
    let mut latencies = Vec::with_capacity(wakeups);
    for _ in 0..wakeups {
        let consumer_url = queue_url.clone();
        let consumer_endpoint = endpoint.to_owned();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let consumer = tokio::spawn(async move {
            let mut connection = Connection::open(&consumer_endpoint).await?;
            let _ = ready_tx.send(());
            let answer = connection
                .call(
                    "ReceiveMessage",
                    &json!({ "QueueUrl": consumer_url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 20 }),
                )
                .await?;
            let finished = Instant::now();
            let handle = answer["Messages"][0]["ReceiptHandle"].as_str().map(str::to_owned);
            if let Some(handle) = &handle {
                connection.call("DeleteMessage", &json!({ "QueueUrl": consumer_url, "ReceiptHandle": handle })).await?;
            }
            anyhow::Ok((finished, handle.is_some()))
        });
        let _ = ready_rx.await;
        // Give the receive time to reach the server and start waiting.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent_at = Instant::now();
        producer.call("SendMessage", &json!({ "QueueUrl": queue_url, "MessageBody": "wake" })).await?;
        let (finished, got_one) = consumer.await??;
        if !got_one {
            bail!("a long poll returned without the message");
        }
        latencies.push(finished.duration_since(sent_at));
    }
    let rate = wakeups as f64 / latencies.iter().map(Duration::as_secs_f64).sum::<f64>().max(f64::EPSILON);
    Ok(Outcome { rate, latency_ms: percentiles(latencies), note: "latency = send start → receive answer".into() })
}

/// A server process started by the bench.
struct Server {
    child: Child,
    endpoint: String,
    _data: Option<tempfile_free::TempDir>,
}

mod tempfile_free {
    //! A temporary directory removed on drop (the bench avoids a dependency for this).
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> std::io::Result<TempDir> {
            let path = std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), super::rand_suffix()));
            std::fs::create_dir_all(&path)?;
            Ok(TempDir(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Server {
    fn wharf(in_memory: bool) -> anyhow::Result<Server> {
        let data = tempfile_free::TempDir::new("wharf-bench")?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .arg("--log")
            .arg("warn");
        if in_memory {
            command.arg("--in-memory");
        }
        let (child, endpoint) = spawn_and_wait(command, "wharf: listening on ")?;
        Ok(Server { child, endpoint, _data: Some(data) })
    }

    /// A durable wharf with auth enforced and the bench's root key.
    fn wharf_enforced() -> anyhow::Result<Server> {
        let data = tempfile_free::TempDir::new("wharf-bench")?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--log", "warn", "--auth", "enforce", "--data-dir"])
            .arg(data.path().join("data"))
            .env("WHARF_ROOT_ACCESS_KEY_ID", BENCH_KEY.0)
            .env("WHARF_ROOT_SECRET_ACCESS_KEY", BENCH_KEY.1);
        let (child, endpoint) = spawn_and_wait(command, "wharf: listening on ")?;
        Ok(Server { child, endpoint, _data: Some(data) })
    }

    fn null() -> anyhow::Result<Server> {
        let port = free_port()?;
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("bench").arg("--null-server").arg(format!("127.0.0.1:{port}"));
        let (child, endpoint) = spawn_and_wait(command, "null server: listening on ")?;
        Ok(Server { child, endpoint, _data: None })
    }

    fn moto() -> anyhow::Result<Server> {
        let port = free_port()?;
        let mut command = Command::new("moto_server");
        command.arg("-p").arg(port.to_string()).arg("-H").arg("127.0.0.1");
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let child = command.spawn().context("starting moto_server (pip install 'moto[server]')")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("moto_server did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Server { child, endpoint, _data: None })
    }

    fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn spawn_and_wait(mut command: Command, marker: &'static str) -> anyhow::Result<(Child, String)> {
    command.stdout(Stdio::piped());
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix(marker) {
                let _ = sender.send(address.to_owned());
            }
        }
    });
    match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(endpoint) => Ok((child, endpoint)),
        Err(_) => {
            let _ = child.kill();
            bail!("server did not report its address")
        }
    }
}

/// The pid of the server `run` started, for the scenarios that read its CPU and memory.
static SERVER_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// How many times `startup` starts wharf each way.
const STARTUP_RUNS: usize = 5;

/// Start-up: `wharf serve` spawned `runs` times each way (in memory, on a fresh data directory,
/// on a data directory used before), timed from the spawn to its first answered request (a
/// ListQueues sent when the `listening on` line arrives); the median of each way, and the RSS
/// of the last server of each way after a second idle.
async fn startup(runs: usize) -> anyhow::Result<Outcome> {
    let used = tempfile_free::TempDir::new("wharf-startup-used")?;
    let mut parts = Vec::new();
    for way in ["in memory", "fresh data dir", "used data dir"] {
        let mut times = Vec::new();
        let mut rss = None;
        for run in 0..runs {
            let fresh = tempfile_free::TempDir::new("wharf-startup")?;
            let mut command = Command::new(std::env::current_exe()?);
            command.args(["serve", "--bind", "127.0.0.1:0", "--log", "warn"]);
            match way {
                "in memory" => command.arg("--in-memory"),
                "fresh data dir" => command.arg("--data-dir").arg(fresh.path()),
                _ => command.arg("--data-dir").arg(used.path()),
            };
            let started = Instant::now();
            let (mut child, endpoint) =
                tokio::task::spawn_blocking(move || spawn_and_wait(command, "wharf: listening on ")).await??;
            let answered = async {
                let mut connection = Connection::open(&endpoint).await?;
                connection.call("ListQueues", &json!({})).await?;
                anyhow::Ok(started.elapsed())
            }
            .await;
            if run + 1 == runs {
                tokio::time::sleep(Duration::from_secs(1)).await;
                rss = rss_kib(child.id());
            }
            // SIGTERM, so the used data directory is left as a clean stop leaves it.
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let _ = child.wait();
            times.push(answered?);
        }
        times.sort();
        let median = times[times.len() / 2];
        parts.push(format!(
            "{way}: {:.1} ms, RSS {:.1} MiB",
            median.as_secs_f64() * 1000.0,
            rss.unwrap_or(0) as f64 / 1024.0
        ));
    }
    Ok(Outcome {
        note: format!("start-up to first answer (median of {runs}): {}", parts.join("; ")),
        ..Outcome::default()
    })
}

/// Fills a queue with `count` messages, then times receives; returns (receive p50 ms before,
/// receive p50 ms after, RSS KiB after).
async fn backlog(server: &Server, count: usize) -> anyhow::Result<(f64, f64, Option<u64>)> {
    let endpoint = &server.endpoint;
    let queue_url = create_queue(endpoint, &unique_name("bench-backlog")).await?;
    let mut probe = Connection::open(endpoint).await?;
    let measure = |samples: usize| {
        let queue_url = queue_url.clone();
        async move {
            let mut connection = Connection::open(endpoint).await?;
            connection.call("SendMessage", &json!({ "QueueUrl": queue_url, "MessageBody": "probe" })).await?;
            let mut latencies = Vec::new();
            for _ in 0..samples {
                let started = Instant::now();
                let answer = connection
                    .call("ReceiveMessage", &json!({ "QueueUrl": queue_url, "VisibilityTimeout": 0 }))
                    .await?;
                latencies.push(started.elapsed());
                if answer["Messages"].as_array().is_none_or(Vec::is_empty) {
                    bail!("backlog receive came back empty");
                }
            }
            anyhow::Ok(percentiles(latencies).map_or(0.0, |(p50, _, _)| p50))
        }
    };
    let before = measure(200).await?;
    let body = "x".repeat(100);
    let writers = 8;
    let per_writer = count / writers / 10;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let endpoint = endpoint.clone();
        let queue_url = queue_url.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            for idx in 0..per_writer {
                connection.call("SendMessageBatch", &batch_body(&queue_url, &body, writer * 10_000_000 + idx)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let _ = probe
        .call(
            "GetQueueAttributes",
            &json!({ "QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessages"] }),
        )
        .await?;
    let after = measure(200).await?;
    Ok((before, after, server.rss_kib()))
}

async fn suite(args: &BenchArgs) -> anyhow::Result<()> {
    let mut rows: Vec<(String, String, Outcome)> = Vec::new();
    println!(
        "running the suite: {} s per throughput scenario, {} connections for send/batch",
        args.seconds, args.connections
    );
    {
        let null = Server::null()?;
        let outcome =
            throughput(&null.endpoint, args.connections, Duration::from_secs_f64(args.seconds), args.body_size, false)
                .await?;
        println!("null server / send: {}", outcome.describe());
        rows.push(("null server (ceiling)".into(), "send".into(), outcome));
    }
    type Start = Box<dyn Fn() -> anyhow::Result<Server>>;
    let mut targets: Vec<(&str, Start)> = vec![
        ("wharf durable", Box::new(|| Server::wharf(false))),
        ("wharf --in-memory", Box::new(|| Server::wharf(true))),
    ];
    if args.moto {
        targets.push(("moto_server", Box::new(Server::moto)));
    }
    for (label, start) in targets {
        for scenario in args.scenarios.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            // A fresh server per scenario, so one scenario's leftovers do not slow the next.
            let server = start()?;
            let wakeups = if label == "moto_server" { args.wakeups.min(20) } else { args.wakeups };
            let scenario_args = BenchArgs { wakeups, ..clone_args(args) };
            match run_scenario(scenario, &server.endpoint, &scenario_args).await {
                Ok(outcome) => {
                    println!("{label} / {scenario}: {}", outcome.describe());
                    rows.push((label.into(), scenario.into(), outcome));
                }
                Err(err) => {
                    println!("{label} / {scenario}: failed: {err:#}");
                    rows.push((
                        label.into(),
                        scenario.into(),
                        Outcome { note: format!("failed: {err:#}"), ..Outcome::default() },
                    ));
                }
            }
        }
    }
    println!("wharf {}", startup(STARTUP_RUNS).await?.note);
    if args.with_backlog {
        let server = Server::wharf(false)?;
        let (before, after, rss) = backlog(&server, args.backlog).await?;
        println!(
            "wharf durable with {} queued: receive p50 {before:.3} ms before, {after:.3} ms after; RSS {} KiB",
            args.backlog,
            rss.unwrap_or(0)
        );
    }
    println!();
    println!("| server | scenario | msgs/s | p50 ms | p99 ms | max ms | note |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for (label, scenario, outcome) in rows {
        let (p50, p99, max) = outcome.latency_ms.unwrap_or((0.0, 0.0, 0.0));
        println!("| {label} | {scenario} | {:.0} | {p50:.2} | {p99:.2} | {max:.2} | {} |", outcome.rate, outcome.note);
    }
    Ok(())
}

fn clone_args(args: &BenchArgs) -> BenchArgs {
    BenchArgs {
        endpoint: args.endpoint.clone(),
        scenarios: args.scenarios.clone(),
        connections: args.connections,
        pipeline_workers: args.pipeline_workers,
        seconds: args.seconds,
        body_size: args.body_size,
        wakeups: args.wakeups,
        invokes: args.invokes,
        backlog: args.backlog,
        suite: false,
        moto: false,
        with_backlog: false,
        null_server: None,
        enforce: args.enforce,
        sign: args.sign,
    }
}

/// The ceiling: answers every request with a fixed SendMessage response, as cheaply as the
/// same HTTP stack allows.
async fn null_server(bind: String) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("null server: listening on http://{}", listener.local_addr()?);
    let body = Bytes::from_static(
        br#"{"MD5OfMessageBody":"f899139df5e1059396431415e770c6dd","MessageId":"6d8a4b5c-0c0e-4f6e-9d40-6a4b3c2d1e0f"}"#,
    );
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    let _ = request.into_body().collect().await;
                    let response = hyper::Response::builder()
                        .header("content-type", "application/x-amz-json-1.0")
                        .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
                        .body(Full::new(body))
                        .map_err(|err| anyhow!(err))?;
                    anyhow::Ok(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
