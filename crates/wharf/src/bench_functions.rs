//! `wharf bench` scenarios for functions: warm and cold synchronous invokes and asynchronous
//! throughput, through the Lambda REST API over keep-alive HTTP/1.1 with TCP_NODELAY.
//!
//! - `invoke-warm`: sequential RequestResponse invokes of a trivial Python handler (it returns
//!   its event) on one warm environment; the round trip bounds wharf's overhead from above.
//! - `invoke-cold`: the first invoke of freshly created functions, next to the start-up time of
//!   the interpreter itself (`python3 -c pass`).
//! - `invoke-async`: Event invokes from many connections to a function with reserved
//!   concurrency 10, timed until wharf reports them all completed.
//! - `esm-latency`: on an idle queue with an event source mapping, the time from the start of a
//!   SendMessage to the start of the handler (the handler reports `time.time()` on a second
//!   queue).
//! - `esm-throughput`: a queue filled with batches of ten, then mapped to a trivial handler with
//!   batch size 10, timed from the mapping's creation until the queue is empty.

use crate::bench::{percentiles, unique_name, Outcome};
use anyhow::{bail, Context as _};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDWHARFBENCH/20260101/us-east-1/lambda/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// The trivial handler every scenario runs.
const HANDLER: &str = "def handler(event, context):\n    return event\n";

/// One keep-alive connection speaking a REST-JSON API (Lambda's, Scheduler's).
pub(crate) struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    pub(crate) async fn open(endpoint: &str) -> anyhow::Result<Client> {
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let stream = tokio::net::TcpStream::connect(&host).await.with_context(|| format!("connecting to {host}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Client { sender, host })
    }

    pub(crate) async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/json")
            .header("authorization", AUTHORIZATION);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(builder.body(Full::new(body))?).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

fn zip_with_handler() -> Vec<u8> {
    wharf_functions::code::zip_of(&[("app.py", HANDLER.as_bytes(), 0o644)])
}

async fn create_function(client: &mut Client, name: &str) -> anyhow::Result<()> {
    create_function_with(client, name, &zip_with_handler()).await
}

async fn create_function_with(client: &mut Client, name: &str, zip: &[u8]) -> anyhow::Result<()> {
    let body = json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Handler": "app.handler",
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
        "MemorySize": 256,
    });
    let (status, answer) = client.call("POST", "/2015-03-31/functions", &[], Bytes::from(body.to_string())).await?;
    if status != 201 {
        bail!("CreateFunction answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

async fn invoke(client: &mut Client, name: &str, kind: &str) -> anyhow::Result<()> {
    let path = format!("/2015-03-31/functions/{name}/invocations");
    let (status, answer) =
        client.call("POST", &path, &[("x-amz-invocation-type", kind)], Bytes::from_static(b"{\"n\":1}")).await?;
    if !(200..300).contains(&status) {
        bail!("Invoke answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

/// `invoke-warm`.
pub async fn warm(endpoint: &str, invokes: usize) -> anyhow::Result<Outcome> {
    let mut client = Client::open(endpoint).await?;
    let name = unique_name("bench-warm");
    create_function(&mut client, &name).await?;
    for _ in 0..20 {
        invoke(&mut client, &name, "RequestResponse").await?;
    }
    let mut samples = Vec::with_capacity(invokes);
    let started = Instant::now();
    for _ in 0..invokes {
        let begun = Instant::now();
        invoke(&mut client, &name, "RequestResponse").await?;
        samples.push(begun.elapsed());
    }
    let rate = invokes as f64 / started.elapsed().as_secs_f64();
    Ok(Outcome { rate, latency_ms: percentiles(samples), note: "invokes/s, one warm environment, sequential".into() })
}

/// `invoke-cold`.
pub async fn cold(endpoint: &str, functions: usize) -> anyhow::Result<Outcome> {
    let mut client = Client::open(endpoint).await?;
    // The first Python function also pays the one-time look-up of boto3 for functions.
    let warm_up = unique_name("bench-cold-warmup");
    create_function(&mut client, &warm_up).await?;
    invoke(&mut client, &warm_up, "RequestResponse").await?;
    let mut samples = Vec::new();
    for index in 0..functions {
        let name = format!("{}-{index}", unique_name("bench-cold"));
        create_function(&mut client, &name).await?;
        let begun = Instant::now();
        invoke(&mut client, &name, "RequestResponse").await?;
        samples.push(begun.elapsed());
    }
    let mut interpreter = Vec::new();
    for _ in 0..functions {
        let begun = Instant::now();
        let status = tokio::process::Command::new("python3").args(["-c", "pass"]).status().await?;
        if !status.success() {
            bail!("python3 -c pass failed");
        }
        interpreter.push(begun.elapsed());
    }
    let interpreter_ms = percentiles(interpreter).map_or(0.0, |(p50, _, _)| p50);
    Ok(Outcome {
        rate: 0.0,
        latency_ms: percentiles(samples),
        note: format!("first invoke after create; `python3 -c pass` p50 {interpreter_ms:.1} ms"),
    })
}

/// `invoke-async`.
pub async fn asynchronous(endpoint: &str, events: usize, connections: usize) -> anyhow::Result<Outcome> {
    let mut client = Client::open(endpoint).await?;
    let name = unique_name("bench-async");
    create_function(&mut client, &name).await?;
    let body = json!({ "ReservedConcurrentExecutions": 10 }).to_string();
    let (status, answer) =
        client.call("PUT", &format!("/2017-10-31/functions/{name}/concurrency"), &[], Bytes::from(body)).await?;
    if status != 200 {
        bail!("PutFunctionConcurrency answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    // Start the ten environments before measuring.
    let mut warmers = Vec::new();
    for _ in 0..10 {
        let endpoint = endpoint.to_owned();
        let name = name.clone();
        warmers.push(tokio::spawn(async move {
            let mut client = Client::open(&endpoint).await?;
            invoke(&mut client, &name, "RequestResponse").await
        }));
    }
    for warmer in warmers {
        let _ = warmer.await?;
    }
    let before = completed(&mut client).await?;
    let started = Instant::now();
    let mut senders = Vec::new();
    let per_connection = events.div_ceil(connections);
    for _ in 0..connections {
        let endpoint = endpoint.to_owned();
        let name = name.clone();
        senders.push(tokio::spawn(async move {
            let mut client = Client::open(&endpoint).await?;
            for _ in 0..per_connection {
                invoke(&mut client, &name, "Event").await?;
            }
            anyhow::Ok(())
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let accepted = started.elapsed();
    let total = (per_connection * connections) as u64;
    loop {
        let done = completed(&mut client).await?.saturating_sub(before);
        if done >= total {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {done} of {total} asynchronous invocations completed in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    Ok(Outcome {
        rate: total as f64 / elapsed.as_secs_f64(),
        latency_ms: None,
        note: format!(
            "{total} Event invokes at reserved concurrency 10, all run in {:.2} s (accepted in {:.2} s)",
            elapsed.as_secs_f64(),
            accepted.as_secs_f64()
        ),
    })
}

async fn completed(client: &mut Client) -> anyhow::Result<u64> {
    let (_, answer) = client.call("GET", "/_wharf/health", &[], Bytes::new()).await?;
    let health: Value = serde_json::from_slice(&answer)?;
    health["functions"]["invocations_completed"].as_u64().context("health has no invocation counter")
}

/// The handler of `esm-latency`: reports when it started on the `started` queue.
const STARTED_HANDLER: &str = "import time\nstarted = time.time\nimport boto3\nsqs = boto3.client('sqs')\nurl = sqs.get_queue_url(QueueName='bench-started')['QueueUrl']\n\ndef handler(event, context):\n    now = started()\n    sqs.send_message(QueueUrl=url, MessageBody=repr(now))\n";

async fn create_mapping(client: &mut Client, queue: &str, function: &str) -> anyhow::Result<()> {
    let body = json!({
        "EventSourceArn": format!("arn:aws:sqs:us-east-1:000000000000:{queue}"),
        "FunctionName": function,
        "BatchSize": 10,
    });
    let (status, answer) =
        client.call("POST", "/2015-03-31/event-source-mappings", &[], Bytes::from(body.to_string())).await?;
    if status != 202 {
        bail!("CreateEventSourceMapping answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

fn epoch_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

/// `esm-latency`.
pub async fn mapping_latency(endpoint: &str, samples: usize) -> anyhow::Result<Outcome> {
    let mut client = Client::open(endpoint).await?;
    let source = unique_name("bench-esm-source");
    let source_url = crate::bench::create_queue(endpoint, &source).await?;
    let started_url = crate::bench::create_queue(endpoint, "bench-started").await?;
    let name = unique_name("bench-esm-latency");
    create_function_with(
        &mut client,
        &name,
        &wharf_functions::code::zip_of(&[("app.py", STARTED_HANDLER.as_bytes(), 0o644)]),
    )
    .await?;
    create_mapping(&mut client, &source, &name).await?;
    let mut sqs = crate::bench::Connection::open(endpoint).await?;
    let mut latencies = Vec::with_capacity(samples);
    // The first few start the environment and import boto3.
    for index in 0..samples + 5 {
        let sent_at = epoch_seconds();
        sqs.call("SendMessage", &json!({ "QueueUrl": source_url, "MessageBody": "go" })).await?;
        let answer = sqs
            .call(
                "ReceiveMessage",
                &json!({ "QueueUrl": started_url, "WaitTimeSeconds": 20, "MaxNumberOfMessages": 1 }),
            )
            .await?;
        let Some(message) = answer["Messages"].get(0) else { bail!("the handler did not report within 20 s") };
        let started: f64 = message["Body"].as_str().unwrap_or("0").parse().unwrap_or(0.0);
        sqs.call("DeleteMessage", &json!({ "QueueUrl": started_url, "ReceiptHandle": message["ReceiptHandle"] }))
            .await?;
        if index >= 5 {
            latencies.push(Duration::from_secs_f64((started - sent_at).max(0.0)));
        }
        // Idle between samples: the poller is back in its long poll.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Outcome {
        rate: 0.0,
        latency_ms: percentiles(latencies),
        note: "SendMessage start to handler start, idle queue".into(),
    })
}

/// `esm-throughput`.
pub async fn mapping_throughput(endpoint: &str, messages: usize, connections: usize) -> anyhow::Result<Outcome> {
    let mut client = Client::open(endpoint).await?;
    let source = unique_name("bench-esm-flow");
    let source_url = crate::bench::create_queue(endpoint, &source).await?;
    let name = unique_name("bench-esm-trivial");
    create_function(&mut client, &name).await?;
    // Fill the queue first, then map it: the figure is the mapping's, not shared with producers
    // on the same two cores.
    let filling = Instant::now();
    let per_connection = messages.div_ceil(connections * 10);
    let mut senders = Vec::new();
    for _ in 0..connections {
        let endpoint = endpoint.to_owned();
        let source_url = source_url.clone();
        senders.push(tokio::spawn(async move {
            let mut sqs = crate::bench::Connection::open(&endpoint).await?;
            for _ in 0..per_connection {
                let entries: Vec<Value> =
                    (0..10).map(|index| json!({ "Id": index.to_string(), "MessageBody": "{\"n\":1}" })).collect();
                sqs.call("SendMessageBatch", &json!({ "QueueUrl": source_url, "Entries": entries })).await?;
            }
            anyhow::Ok(())
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let sent = filling.elapsed();
    let total = per_connection * connections * 10;
    let started = Instant::now();
    create_mapping(&mut client, &source, &name).await?;
    let mut sqs = crate::bench::Connection::open(endpoint).await?;
    loop {
        let answer = sqs
            .call(
                "GetQueueAttributes",
                &json!({ "QueueUrl": source_url, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
            )
            .await?;
        let left: u64 = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            .iter()
            .map(|name| answer["Attributes"][name].as_str().unwrap_or("0").parse::<u64>().unwrap_or(0))
            .sum();
        if left == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{left} messages still queued after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    Ok(Outcome {
        rate: total as f64 / elapsed.as_secs_f64(),
        latency_ms: None,
        note: format!(
            "{total} queued messages drained through a mapping (batch 10, trivial Python handler) in {:.2} s (queued in {:.2} s beforehand)",
            elapsed.as_secs_f64(),
            sent.as_secs_f64()
        ),
    })
}
