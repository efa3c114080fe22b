//! The embedded, durable store: an in-memory index in front of a group-committed SQLite
//! journal.
//!
//! Every operation runs against [`wharf_store::memory::State`] under one mutex, which yields
//! the list of [`Change`]s it made. While still holding the mutex, the operation hands the
//! changes to the single writer thread, so the journal order is the order of the state
//! machine. It then waits, without the mutex, until the writer has committed a transaction
//! holding them. The writer takes every batch that queued up while the previous commit was
//! syncing and commits them together: concurrent requests share one fsync (group commit), and
//! nobody is answered before their changes are on disk.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a commit syncs the WAL, so an answered
//! request survives power loss, not only a crash of the process.
//!
//! At start-up the whole database is read back into the index. The data stays inspectable
//! with the `sqlite3` shell (see `schema.sql`).
//!
//! # Layout
//! - [`SqliteStore`]: the [`QueueStore`] implementation.
//! - `writer`: the journal thread and the SQL that applies changes.
//! - `load`: reading the database back at start-up.
//! - `records`: a small database of JSON records, behind [`functions`], [`events`] and [`iam`].
//! - [`logs`]: the CloudWatch Logs store.

pub mod archives;
pub mod commit_stats;
pub mod events;
pub mod functions;
pub mod iam;
mod load;
pub mod logs;
mod records;
pub mod schedules;
pub mod wal;
mod writer;

use async_trait::async_trait;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use wharf_store::memory::{Change, State};
use wharf_store::*;
use wharf_types::{AccountId, EpochMillis, QueueKey, Region};

/// How many messages one read-ahead brings back into memory.
const READAHEAD_MESSAGES: usize = 512;

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "wharf.sqlite3";

/// Work for the journal thread, done in queue order.
enum Job {
    /// Changes to commit.
    Write(Batch),
    /// Message content to read back.
    Load(Load),
    /// Copy the WAL into the database and truncate it (a clean stop).
    Checkpoint(tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// Whether a damaged write-ahead log may be opened anyway (the operator accepted the loss).
static ACCEPT_DAMAGED_WAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets every store open a database whose WAL is damaged ([`wal::scan`]), dropping what
/// SQLite cannot replay, instead of refusing.
pub fn accept_damaged_wal(accept: bool) {
    ACCEPT_DAMAGED_WAL.store(accept, Ordering::Release);
}

/// Refuses to open `database` when its WAL holds committed transactions SQLite would drop.
pub(crate) fn check_wal(database: &Path) -> Result<(), OpenError> {
    let report = wal::scan(database).map_err(OpenError::Io)?;
    let Some(report) = report.filter(|report| report.lost_commits > 0) else { return Ok(()) };
    let message = format!(
        "{}: its write-ahead log is damaged: {} committed transactions after the damage cannot be \
         replayed and would be lost silently. Keep a copy of the data directory, then start with \
         --accept-damaged-wal to open it without them",
        database.display(),
        report.lost_commits
    );
    if ACCEPT_DAMAGED_WAL.load(Ordering::Acquire) {
        tracing::error!("{message}; opening anyway (--accept-damaged-wal)");
        return Ok(());
    }
    Err(OpenError::Corrupt(message))
}

/// Message content read back from disk, by sequence number.
type Loaded = Vec<(MessageSeq, Arc<MessageData>)>;

/// A read of evicted message content.
struct Load {
    seqs: Vec<MessageSeq>,
    reply: tokio::sync::oneshot::Sender<Result<Loaded, String>>,
}

/// One request's changes and, if it waits, the way to tell it they are durable.
struct Batch {
    changes: Vec<Change>,
    done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

/// The durable embedded store.
pub struct SqliteStore {
    /// The index. One lock for all queues: each operation holds it for microseconds and never
    /// across an await, and it also orders the journal.
    state: Arc<Mutex<State>>,
    /// Feeds the writer thread; sends happen under `state`'s lock, so the journal order is the
    /// state machine's order.
    journal: Mutex<mpsc::Sender<Job>>,
    /// Set while a failed commit's changes are not on disk yet: memory is ahead of disk, so
    /// every call fails until the journal's retry commits them (see `writer::run`).
    failed: Arc<AtomicBool>,
    /// Commits still to fail on purpose ([`SqliteStore::fail_next_commits`]).
    injected_failures: Arc<AtomicU32>,
    /// The journal thread, joined by [`SqliteStore::close`].
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite refused to open or migrate the database.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be decoded.
    #[error("corrupt database: {0}")]
    Corrupt(String),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(std::io::Error),
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and loads it; `now` decides which
    /// messages are visible. At most `cache_bytes` of message content stay in memory; older
    /// content is read back from disk when received.
    pub fn open(data_dir: &Path, now: EpochMillis, cache_bytes: usize) -> Result<Self, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(OpenError::Io)?;
        let path = data_dir.join(DATABASE_FILE);
        check_wal(&path)?;
        let conn = writer::open_connection(&path)?;
        let state = load::load(&conn, now, cache_bytes)?;
        // Sequence numbers from here on are fresh; the writer reserves the next chunk with the
        // first insert.
        let reserved_seq = state.next_seq();
        let (sender, receiver) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let injected_failures = Arc::new(AtomicU32::new(0));
        let journal = writer::Journal {
            conn,
            receiver,
            failed: Arc::clone(&failed),
            injected_failures: Arc::clone(&injected_failures),
            reserved_seq,
        };
        let writer = std::thread::Builder::new()
            .name("wharf-journal".into())
            .spawn(move || writer::run(journal))
            .map_err(OpenError::Io)?;
        Ok(SqliteStore {
            state: Arc::new(Mutex::new(state)),
            journal: Mutex::new(sender),
            failed,
            injected_failures,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Makes the next `count` commits fail as on a full or failing disk (`u32::MAX`: every
    /// commit from now on), for tests of what the store does then.
    pub fn fail_next_commits(&self, count: u32) {
        self.injected_failures.store(count, Ordering::Release);
    }

    /// How many of the injected commit failures have not happened yet.
    pub fn pending_commit_failures(&self) -> u32 {
        self.injected_failures.load(Ordering::Acquire)
    }

    /// Stops the journal after it has tried to commit everything queued, and waits for it:
    /// the data directory can then be opened again at once (a restart in one process).
    pub fn close(self) {
        let SqliteStore { journal, writer, .. } = self;
        drop(journal);
        let writer = writer.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }

    /// Applies an operation to the index, journals its changes and waits until they are
    /// durable.
    async fn apply<T>(
        &self,
        operation: impl FnOnce(&mut State, &mut Vec<Change>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.apply_then(true, operation).await
    }

    /// [`SqliteStore::apply`], or when `wait` is false, journal without waiting for the commit.
    async fn apply_then<T>(
        &self,
        wait: bool,
        operation: impl FnOnce(&mut State, &mut Vec<Change>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(unavailable());
        }
        let (done, durable) = tokio::sync::oneshot::channel();
        let done = wait.then_some(done);
        let output = {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut changes = Vec::new();
            let output = operation(&mut state, &mut changes)?;
            if changes.is_empty() {
                return Ok(output);
            }
            let journal = self.journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            journal.send(Job::Write(Batch { changes, done })).map_err(|_| unavailable())?;
            if !wait {
                return Ok(output);
            }
            output
        };
        match durable.await {
            Ok(Ok(())) => Ok(output),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(unavailable()),
        }
    }

    /// Reads evicted message content through the journal thread, after every write queued
    /// before it.
    async fn load(&self, seqs: Vec<MessageSeq>) -> Result<Vec<(MessageSeq, Arc<MessageData>)>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            let journal = self.journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            journal.send(Job::Load(Load { seqs, reply })).map_err(|_| unavailable())?;
        }
        match answer.await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(unavailable()),
        }
    }

    /// Reads content of `queue`'s next messages back into memory in the background, so receives
    /// of a deep backlog do not each wait for the disk.
    fn read_ahead(&self, queue: QueueId, seqs: Vec<MessageSeq>) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = {
            let journal = self.journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            journal.send(Job::Load(Load { seqs, reply })).is_ok()
        };
        let state = Arc::clone(&self.state);
        let finish = move |loaded: Option<Vec<(MessageSeq, Arc<MessageData>)>>| {
            let mut state = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match loaded {
                Some(loaded) => state.attach(queue, loaded),
                None => state.readahead_failed(queue),
            }
        };
        if !sent {
            finish(None);
            return;
        }
        tokio::spawn(async move {
            finish(answer.await.ok().and_then(Result::ok));
        });
    }

    /// Runs a read-only query against the index.
    fn read<T>(&self, query: impl FnOnce(&mut State) -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(unavailable());
        }
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        query(&mut state)
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("the store cannot write to disk (full or failing); retrying".into())
}

#[async_trait]
impl QueueStore for SqliteStore {
    async fn checkpoint(&self) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            let journal = self.journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            journal.send(Job::Checkpoint(reply)).map_err(|_| unavailable())?;
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(unavailable()),
        }
    }

    fn health(&self) -> Result<(), String> {
        if self.failed.load(Ordering::Acquire) {
            Err("the queue store cannot write to disk (full or failing); it retries and recovers by itself".into())
        } else {
            Ok(())
        }
    }

    async fn create_queue(&self, new_queue: NewQueue, reuse_after_ms: u64) -> Result<CreateOutcome, StoreError> {
        self.apply(|state, changes| Ok(state.create_queue(new_queue, reuse_after_ms, changes))).await
    }

    async fn queue(&self, key: &QueueKey) -> Result<Option<QueueRecord>, StoreError> {
        self.read(|state| Ok(state.queue(key)))
    }

    async fn list_queues(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
    ) -> Result<Vec<QueueRecord>, StoreError> {
        self.read(|state| Ok(state.list_queues(account, region, prefix)))
    }

    async fn all_queues(&self) -> Result<Vec<QueueRecord>, StoreError> {
        self.read(|state| Ok(state.all_queues()))
    }

    async fn update_queue(&self, record: QueueRecord) -> Result<QueueRecord, StoreError> {
        self.apply(|state, changes| state.update_queue(record, changes)).await
    }

    async fn delete_queue(&self, key: &QueueKey, now: EpochMillis) -> Result<bool, StoreError> {
        self.apply(|state, changes| Ok(state.delete_queue(key, now, changes))).await
    }

    async fn send(
        &self,
        queue: QueueId,
        messages: Vec<NewMessage>,
        now: EpochMillis,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        self.apply(|state, changes| state.send(queue, messages, now, changes)).await
    }

    async fn receive(&self, queue: QueueId, request: ReceiveRequest) -> Result<ReceiveOutcome, StoreError> {
        let (claims, readahead) = self
            .apply_then(request.wait_durable, |state, changes| {
                let claims = state.receive(queue, request, &mut rand_token, changes)?;
                Ok((claims, state.readahead_candidates(queue, READAHEAD_MESSAGES)))
            })
            .await?;
        if !readahead.is_empty() {
            self.read_ahead(queue, readahead);
        }
        let missing: Vec<MessageSeq> =
            claims.claimed.iter().filter(|claimed| claimed.data.is_none()).map(|claimed| claimed.receipt.seq).collect();
        let loaded = if missing.is_empty() { Vec::new() } else { self.load(missing).await? };
        claims
            .into_outcome(loaded)
            .map_err(|seq| StoreError::Unavailable(format!("message {seq} is in the index but not in the database")))
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: Vec<Receipt>,
        now: EpochMillis,
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        self.apply(|state, changes| state.delete(queue, &receipts, now, changes)).await
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        items: Vec<(Receipt, u64)>,
        now: EpochMillis,
    ) -> Result<Vec<ChangeOutcome>, StoreError> {
        self.apply(|state, changes| state.change_visibility(queue, &items, now, changes)).await
    }

    async fn purge(&self, queue: QueueId, now: EpochMillis) -> Result<(), StoreError> {
        self.apply(|state, changes| state.purge(queue, now, changes)).await
    }

    async fn stats(&self, queue: QueueId, now: EpochMillis) -> Result<QueueStats, StoreError> {
        self.read(|state| state.stats(queue, now))
    }

    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError> {
        self.apply(|state, changes| Ok(state.expire(now, changes))).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.apply(|state, changes| {
            state.clear(changes);
            Ok(())
        })
        .await
    }
}

/// A receipt token: random, never zero (zero marks "never received" on disk).
fn rand_token() -> u64 {
    rand::random::<u64>() | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model-based test's view of this store: restarts reopen the data directory, and
    /// commits can be made to fail.
    struct Harness {
        dir: tempfile::TempDir,
        store: Option<SqliteStore>,
        cache_bytes: usize,
    }

    impl Harness {
        fn new(cache_bytes: usize) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteStore::open(dir.path(), wharf_store::model_check::START, cache_bytes).expect("open");
            Harness { dir, store: Some(store), cache_bytes }
        }

        fn sqlite(&self) -> &SqliteStore {
            self.store.as_ref().expect("open")
        }
    }

    #[async_trait]
    impl wharf_store::model_check::Harness for Harness {
        fn store(&self) -> &dyn QueueStore {
            self.sqlite()
        }

        async fn restart(&mut self, now: EpochMillis) -> bool {
            if let Some(store) = self.store.take() {
                store.close();
            }
            self.store = Some(SqliteStore::open(self.dir.path(), now, self.cache_bytes).expect("reopen"));
            true
        }

        fn fail_commits(&self, count: u32) -> bool {
            self.sqlite().fail_next_commits(count);
            true
        }

        fn pending_failures(&self) -> u32 {
            self.sqlite().pending_commit_failures()
        }
    }

    /// A reset is durable: after a reopen the queues stay gone and new ones keep counting up.
    #[tokio::test]
    async fn a_clear_survives_a_reopen() {
        use wharf_store::conformance::{create, key, T0};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path(), T0, usize::MAX).expect("open");
        let old = create(&store, "before").await;
        store.send(old.id, vec![wharf_store::conformance::message("old", T0, 0)], T0).await.expect("send");
        store.clear().await.expect("clear");
        store.close();
        let store = SqliteStore::open(dir.path(), T0, usize::MAX).expect("reopen");
        assert!(store.all_queues().await.expect("all").is_empty());
        assert!(store.queue(&key("before")).await.expect("queue").is_none());
        let new = create(&store, "before").await;
        assert!(new.id.0 > old.id.0, "ids keep counting up across a clear and a reopen");
    }

    /// The model-based test with restarts and injected commit failures; half the seeds keep
    /// no content in memory, so every receive reads it back from disk.
    #[tokio::test]
    async fn sqlite_store_follows_the_model() {
        let (seeds, steps) = wharf_store::model_check::plan(24, 300);
        let mut coverage = wharf_store::model_check::Coverage::default();
        for seed in seeds {
            let mut harness = Harness::new(if seed % 2 == 0 { usize::MAX } else { 0 });
            coverage += wharf_store::model_check::run_seed(&mut harness, seed, steps).await;
            if let Some(store) = harness.store.take() {
                store.close();
            }
        }
        assert!(
            coverage.restarts > 0 && coverage.recovered_failures > 0 && coverage.crashed_failures > 0,
            "the run took every path: {coverage:?}"
        );
        eprintln!("{coverage:?}");
    }

    #[tokio::test]
    async fn sqlite_store_conforms() {
        let dirs = Mutex::new(Vec::new());
        wharf_store::conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteStore::open(dir.path(), wharf_store::conformance::T0, usize::MAX).expect("open");
            dirs.lock().expect("lock").push(dir);
            store
        })
        .await;
    }

    /// The same suite with no content cache: every message is evicted as soon as it is sent
    /// and every receive reads it back from disk.
    #[tokio::test]
    async fn sqlite_store_conforms_with_everything_evicted() {
        let dirs = Mutex::new(Vec::new());
        wharf_store::conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteStore::open(dir.path(), wharf_store::conformance::T0, 0).expect("open");
            dirs.lock().expect("lock").push(dir);
            store
        })
        .await;
    }

    #[tokio::test]
    async fn evicted_content_reads_back_after_reopening_with_a_small_cache() {
        use wharf_store::conformance::{create, message, T0};
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = SqliteStore::open(dir.path(), T0, usize::MAX).expect("open");
            let queue = create(&store, "big").await;
            let batch = (0..50).map(|idx| message(&format!("body-{idx}"), T0, 0)).collect();
            store.send(queue.id, batch, T0).await.expect("send");
        }
        // Room for a few messages only: the rest stays on disk.
        let store = SqliteStore::open(dir.path(), T0, 2_000).expect("reopen");
        let queue = store.queue(&wharf_store::conformance::key("big")).await.expect("read").expect("exists");
        let mut bodies = Vec::new();
        loop {
            let request = ReceiveRequest { max: 10, visibility_ms: 60_000, now: T0, wait_durable: true };
            let got = store.receive(queue.id, request).await.expect("receive");
            if got.messages.is_empty() {
                break;
            }
            bodies.extend(got.messages.iter().map(|delivery| delivery.data.body.to_string()));
        }
        let expected: Vec<String> = (0..50).map(|idx| format!("body-{idx}")).collect();
        assert_eq!(bodies, expected);
        assert!(store.read(|state| Ok(state.resident_bytes())).expect("read") <= 2_000);
    }

    /// Receives and deletes make room in the cache; the read-ahead then brings the next
    /// messages' content back from disk without a receive asking for it.
    #[tokio::test]
    async fn read_ahead_refills_the_cache_as_the_head_is_consumed() {
        use wharf_store::conformance::{create, message, T0};
        let dir = tempfile::tempdir().expect("tempdir");
        // Room for about ten 100-byte messages.
        let store = SqliteStore::open(dir.path(), T0, 2_500).expect("open");
        let queue = create(&store, "backlog").await;
        let batch = (0..100).map(|idx| message(&format!("{idx:0>100}"), T0, 0)).collect();
        store.send(queue.id, batch, T0).await.expect("send");
        let full = store.read(|state| Ok(state.resident_bytes())).expect("read");
        assert!(full > 1_500 && full <= 2_500, "the oldest content fills the cache: {full}");
        let request = ReceiveRequest { max: 10, visibility_ms: 60_000, now: T0, wait_durable: true };
        let got = store.receive(queue.id, request).await.expect("receive");
        let receipts = got.messages.iter().map(|delivery| delivery.receipt).collect();
        store.delete(queue.id, receipts, T0).await.expect("delete");
        assert!(
            store.read(|state| Ok(state.resident_bytes())).expect("read") < 500,
            "the consumed head left the cache"
        );
        // This receive finds the next head on disk and starts a read-ahead behind it.
        let request = ReceiveRequest { max: 1, visibility_ms: 60_000, now: T0, wait_durable: true };
        store.receive(queue.id, request).await.expect("receive");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let resident = store.read(|state| Ok(state.resident_bytes())).expect("read");
            if resident > 1_500 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "read-ahead did not refill the cache: {resident}");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn state_survives_reopening() {
        use wharf_store::conformance::{create, key, message, T0};
        let dir = tempfile::tempdir().expect("tempdir");
        let queue_id;
        {
            let store = SqliteStore::open(dir.path(), T0, usize::MAX).expect("open");
            let mut queue = create(&store, "kept").await;
            queue.tags.insert("team".into(), "core".into());
            let queue = store.update_queue(queue).await.expect("update");
            queue_id = queue.id;
            let batch = vec![message("a", T0, 0), message("b", T0, 0), message("c", T0, 10_000)];
            store.send(queue.id, batch, T0).await.expect("send");
            let got = store
                .receive(queue.id, ReceiveRequest { max: 2, visibility_ms: 5_000, now: T0, wait_durable: false })
                .await
                .expect("receive");
            store.delete(queue.id, vec![got.messages[0].receipt], T0).await.expect("delete");
            create(&store, "dropped").await;
            store.delete_queue(&key("dropped"), T0).await.expect("delete queue");
        }
        // The writer thread ends when the store is dropped; reopening waits for nothing else.
        let store = SqliteStore::open(dir.path(), T0 + 1, usize::MAX).expect("reopen");
        let record = store.queue(&key("kept")).await.expect("read").expect("exists");
        assert_eq!(record.tags.get("team").map(String::as_str), Some("core"));
        assert_eq!(record.id, queue_id);
        let stats = store.stats(queue_id, T0 + 1).await.expect("stats");
        assert_eq!((stats.visible, stats.in_flight, stats.delayed), (0, 1, 1));
        let got = store
            .receive(queue_id, ReceiveRequest { max: 10, visibility_ms: 5_000, now: T0 + 10_000, wait_durable: true })
            .await
            .expect("receive");
        let bodies: Vec<&str> = got.messages.iter().map(|delivery| &*delivery.data.body).collect();
        assert_eq!(bodies, ["b", "c"]);
        assert_eq!(got.messages[0].receive_count, 2, "receive counts survive");
        let blocked =
            NewQueue { key: key("dropped"), settings: QueueSettings::default(), tags: Default::default(), now: T0 + 2 };
        assert!(matches!(store.create_queue(blocked, 60_000).await.expect("create"), CreateOutcome::DeletedRecently));
        let fresh = create(&store, "fresh").await;
        assert!(fresh.id.0 > queue_id.0 + 1, "queue ids are never reused");
    }
}
