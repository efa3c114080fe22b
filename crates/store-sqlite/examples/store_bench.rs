//! Measures the durable store alone, without HTTP: `cargo run --release -p wharf-store-sqlite
//! --example store_bench -- [TASKS] [SECONDS]`. Each task sends one message at a time and
//! waits for its commit, as a connection of the server would.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_store::conformance::{create, message};
use wharf_store::QueueStore;
use wharf_store_sqlite::SqliteStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(16);
    let seconds: f64 = args.next().and_then(|text| text.parse().ok()).unwrap_or(3.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path(), 0, 64 << 20).expect("open"));
    let queue = create(&*store, "bench").await;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            let mut count = 0u64;
            while Instant::now() < deadline {
                let body = format!("{task}-{count}-{}", "x".repeat(100));
                store.send(queue.id, vec![message(&body, 1, 0)], 1).await.expect("send");
                count += 1;
            }
            count
        }));
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.expect("join");
    }
    println!("{tasks} tasks: {:.0} sends/s", total as f64 / started.elapsed().as_secs_f64());
}
