//! What the queue journal's commits came to since start-up, for `GET /metrics`: how many
//! transactions, how many batches (one per store operation) they carried, and how long they
//! took, in process-wide atomics the journal thread adds to after each commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static COMMITS: AtomicU64 = AtomicU64::new(0);
static BATCHES: AtomicU64 = AtomicU64::new(0);
static NANOS: AtomicU64 = AtomicU64::new(0);
static MAX_BATCHES: AtomicU64 = AtomicU64::new(0);

/// The journal's commits since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Operations' batches they carried (group commit: many per transaction under load).
    pub batches: u64,
    /// Time spent committing (writing and syncing), in nanoseconds.
    pub nanos: u64,
    /// The most batches one transaction carried.
    pub max_batches: u64,
}

/// Adds one commit of `batches` that took `elapsed`.
pub(crate) fn record(batches: u64, elapsed: Duration) {
    COMMITS.fetch_add(1, Ordering::Relaxed);
    BATCHES.fetch_add(batches, Ordering::Relaxed);
    NANOS.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    MAX_BATCHES.fetch_max(batches, Ordering::Relaxed);
}

/// The commits since start-up, of every durable queue store of this process.
pub fn commit_stats() -> CommitStats {
    CommitStats {
        commits: COMMITS.load(Ordering::Relaxed),
        batches: BATCHES.load(Ordering::Relaxed),
        nanos: NANOS.load(Ordering::Relaxed),
        max_batches: MAX_BATCHES.load(Ordering::Relaxed),
    }
}
