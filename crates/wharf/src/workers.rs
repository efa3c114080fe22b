//! The one supervisor of background work: every long-running task of `serve` (sweepers, the
//! scheduler, the asynchronous-invocation worker, the mapping pollers, hot reload) is started
//! here, watched, and restarted with backoff when it panics or ends before shutdown.
//!
//! A worker is a factory of futures: each (re)start calls it again. Its state — running, how
//! often it was restarted and why — is part of the health answer.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The first wait before restarting a worker that died; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the health answer shows of one worker.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WorkerStatus {
    /// `running`, `restarting` or `stopped`.
    pub state: &'static str,
    /// Restarts since start-up.
    pub restarts: u64,
    /// Why it last died, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

/// The supervised workers of one server.
pub struct Workers {
    stopped: watch::Receiver<bool>,
    status: Arc<Mutex<BTreeMap<&'static str, WorkerStatus>>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Workers that stop when `stopped` turns true.
    pub fn new(stopped: watch::Receiver<bool>) -> Workers {
        Workers { stopped, status: Arc::default(), handles: Vec::new() }
    }

    /// A view of every worker's state, for the health answer.
    pub fn status(&self) -> Arc<Mutex<BTreeMap<&'static str, WorkerStatus>>> {
        Arc::clone(&self.status)
    }

    /// Starts `name`, made by `make` (called again for every restart) with the shutdown signal.
    pub fn spawn<Make, Work>(&mut self, name: &'static str, make: Make)
    where
        Make: Fn(watch::Receiver<bool>) -> Work + Send + 'static,
        Work: Future<Output = ()> + Send + 'static,
    {
        let status = Arc::clone(&self.status);
        let mut stopped = self.stopped.clone();
        let set = move |update: &dyn Fn(&mut WorkerStatus)| {
            let mut all = status.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            update(all.entry(name).or_default());
        };
        set(&|entry| entry.state = "running");
        self.handles.push(tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                let outcome = tokio::spawn(make(stopped.clone())).await;
                if *stopped.borrow() {
                    set(&|entry| entry.state = "stopped");
                    return;
                }
                let failure = match outcome {
                    Ok(()) => "it ended before shutdown".to_owned(),
                    Err(err) if err.is_panic() => {
                        format!("panicked: {}", wharf_api_common::panic_message(&*err.into_panic()))
                    }
                    Err(err) => err.to_string(),
                };
                tracing::error!(worker = name, failure = %failure, backoff_ms = backoff.as_millis() as u64, "background worker died; restarting");
                set(&|entry| {
                    entry.state = "restarting";
                    entry.restarts += 1;
                    entry.last_failure = Some(failure.clone());
                });
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stopped.wait_for(|stop| *stop) => {
                        set(&|entry| entry.state = "stopped");
                        return;
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                set(&|entry| entry.state = "running");
            }
        }));
    }

    /// Starts `name`, which runs `work` every `period`.
    pub fn every<Work, Done>(&mut self, name: &'static str, period: Duration, work: Work)
    where
        Work: FnMut() -> Done + Clone + Send + 'static,
        Done: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, move |stopped| every(period, stopped, work.clone()));
    }

    /// Waits until every worker has stopped (after the shutdown signal).
    pub async fn join(self) {
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Runs `work` every `period` until `stopped` turns true.
async fn every<Work, Done>(period: Duration, mut stopped: watch::Receiver<bool>, mut work: Work)
where
    Work: FnMut() -> Done,
    Done: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => return,
        }
        work().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_worker_is_restarted_and_reported() {
        let (stop, stopped) = watch::channel(false);
        let mut workers = Workers::new(stopped);
        let starts = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&starts);
        workers.spawn("flaky", move |mut stopped| {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 2 {
                    panic!("attempt {attempt}");
                }
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        });
        let status = workers.status();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        {
            let all = status.lock().expect("status");
            assert_eq!(all["flaky"].state, "running");
            assert_eq!(all["flaky"].restarts, 2);
            assert_eq!(all["flaky"].last_failure.as_deref(), Some("panicked: attempt 1"));
        }
        let _ = stop.send(true);
        workers.join().await;
        assert_eq!(status.lock().expect("status")["flaky"].state, "stopped");
    }
}
