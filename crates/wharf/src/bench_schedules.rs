//! `wharf bench` scenarios for EventBridge Scheduler, against a wharf on the real clock:
//!
//! - `schedule-precision`: one-time schedules due at whole seconds a few seconds ahead, each
//!   sending to a queue; the lateness of an invocation is the message's `SentTimestamp` minus
//!   its due instant (p50, p99, max; flexible windows OFF).
//! - `schedule-scale`: 10,000 `cron(* * * * ? *)` schedules sending to a queue; wharf's CPU
//!   and RSS while idle between two fires, and the lateness of the fires at the minute's start.

use crate::bench::{rss_kib, unique_name, Connection, Outcome};
use crate::bench_functions::Client;
use anyhow::bail;
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// `yyyy-mm-ddThh:mm:ss` (UTC) of epoch seconds.
fn at_text(seconds: u64) -> String {
    let time = wharf_types::UtcDateTime::from_epoch_millis(seconds * 1000);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", time.year, time.month, time.day, time.hour, time.minute, time.second)
}

async fn create_schedule(client: &mut Client, name: &str, body: Value) -> anyhow::Result<()> {
    let (status, answer) =
        client.call("POST", &format!("/schedules/{name}"), &[], Bytes::from(body.to_string())).await?;
    if status != 200 {
        bail!("CreateSchedule answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

fn target(queue_arn: &str, input: String) -> Value {
    json!({ "Arn": queue_arn, "RoleArn": "arn:aws:iam::000000000000:role/bench", "Input": input })
}

/// Receives `count` messages; returns each one's (SentTimestamp, body).
async fn drain(
    endpoint: &str,
    queue_url: &str,
    count: usize,
    deadline: Duration,
) -> anyhow::Result<Vec<(u64, String)>> {
    let mut connection = Connection::open(endpoint).await?;
    let started = std::time::Instant::now();
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        if started.elapsed() > deadline {
            bail!("received {} of {count} invocations within {deadline:?}", received.len());
        }
        let answer = connection
            .call(
                "ReceiveMessage",
                &json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                         "AttributeNames": ["SentTimestamp"] }),
            )
            .await?;
        let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
        let mut entries = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            let sent = message["Attributes"]["SentTimestamp"].as_str().and_then(|text| text.parse().ok()).unwrap_or(0);
            received.push((sent, message["Body"].as_str().unwrap_or_default().to_owned()));
            entries.push(json!({ "Id": index.to_string(), "ReceiptHandle": message["ReceiptHandle"] }));
        }
        if !entries.is_empty() {
            connection.call("DeleteMessageBatch", &json!({ "QueueUrl": queue_url, "Entries": entries })).await?;
        }
    }
    Ok(received)
}

fn lateness_ms(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize];
    (at(0.5), at(0.99), samples.last().copied().unwrap_or(0.0))
}

/// `schedule-precision`.
pub async fn precision(endpoint: &str, count: usize) -> anyhow::Result<Outcome> {
    let queue_url = crate::bench::create_queue(endpoint, &unique_name("bench-precision")).await?;
    let queue_arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", queue_url.rsplit('/').next().unwrap_or_default());
    let mut client = Client::open(endpoint).await?;
    // One run's names: a prefix of its own, then the index (the prefix's suffix is time-based
    // and would repeat across names made in the same run).
    let prefix = unique_name("bench-at");
    let first_due = now_ms() / 1000 + 3;
    for index in 0..count {
        let due = first_due + (index % 3) as u64;
        let body = json!({
            "ScheduleExpression": format!("at({})", at_text(due)),
            "FlexibleTimeWindow": { "Mode": "OFF" },
            "ActionAfterCompletion": "DELETE",
            "Target": target(&queue_arn, (due * 1000).to_string()),
        });
        create_schedule(&mut client, &format!("{prefix}-{index}"), body).await?;
    }
    if now_ms() > first_due * 1000 {
        bail!("creating {count} schedules took longer than the three seconds ahead they were due");
    }
    let received = drain(endpoint, &queue_url, count, Duration::from_secs(30)).await?;
    let late: Vec<f64> =
        received.iter().map(|(sent, body)| *sent as f64 - body.parse::<f64>().unwrap_or(*sent as f64)).collect();
    let (p50, p99, max) = lateness_ms(late);
    Ok(Outcome {
        note: format!("{count} one-time schedules over 3 s: invoked late by p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (SentTimestamp minus due)"),
        ..Outcome::default()
    })
}

/// CPU time (user + system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// `schedule-scale`, with the server's pid for its CPU and memory.
pub async fn scale(endpoint: &str, pid: Option<u32>, count: usize, connections: usize) -> anyhow::Result<Outcome> {
    let queue_url = crate::bench::create_queue(endpoint, &unique_name("bench-scale")).await?;
    let queue_arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", queue_url.rsplit('/').next().unwrap_or_default());
    let created = std::time::Instant::now();
    let prefix = unique_name("bench-scale");
    let per_worker = count.div_ceil(connections.max(1));
    let mut workers = Vec::new();
    for worker in 0..connections.max(1) {
        let endpoint = endpoint.to_owned();
        let queue_arn = queue_arn.clone();
        let prefix = prefix.clone();
        workers.push(tokio::spawn(async move {
            let mut client = Client::open(&endpoint).await?;
            for index in (worker * per_worker)..((worker + 1) * per_worker).min(count) {
                let body = json!({
                    "ScheduleExpression": "cron(* * * * ? *)",
                    "FlexibleTimeWindow": { "Mode": "OFF" },
                    "Target": target(&queue_arn, "tick".into()),
                });
                create_schedule(&mut client, &format!("{prefix}-{index}"), body).await?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let creating = created.elapsed();
    // Skip the minute the creation may have run into: its fires go first.
    let mut boundary = (now_ms() / 60_000 + 1) * 60_000;
    if boundary - now_ms() < 15_000 {
        drain(endpoint, &queue_url, count, Duration::from_secs(120)).await.ok();
        boundary += 60_000;
    }
    // Idle: ten seconds well before the boundary.
    let idle_from = boundary.saturating_sub(12_000);
    tokio::time::sleep(Duration::from_millis(idle_from.saturating_sub(now_ms()))).await;
    let ticks_before = pid.and_then(cpu_ticks);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let ticks_after = pid.and_then(cpu_ticks);
    let rss = pid.and_then(rss_kib);
    let idle_cpu = match (ticks_before, ticks_after) {
        (Some(before), Some(after)) => format!("{:.1} %", (after - before) as f64 / 10.0),
        _ => "unknown".into(),
    };
    let received = drain(endpoint, &queue_url, count, Duration::from_secs(120)).await?;
    let late: Vec<f64> = received.iter().map(|(sent, _)| *sent as f64 - boundary as f64).collect();
    let (p50, p99, max) = lateness_ms(late);
    Ok(Outcome {
        note: format!(
            "{count} cron(* * * * ? *) schedules (created in {:.1} s): idle CPU {idle_cpu} of one core, RSS {:.1} MiB; fires at the minute late by p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms",
            creating.as_secs_f64(),
            rss.unwrap_or(0) as f64 / 1024.0
        ),
        ..Outcome::default()
    })
}
