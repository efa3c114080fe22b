//! The journal thread: applies batches of [`Change`]s to SQLite, many per transaction.
//!
//! # Schema
//! ```text
//! meta(key TEXT PRIMARY KEY, value TEXT)           schema_version, next_seq, next_queue_id
//! queues(id INTEGER PRIMARY KEY, account, region, name, settings JSON, tags JSON,
//!        created_ms, modified_ms, last_purge_ms, version)
//! deleted_queues(account, region, name, deleted_ms)  name-reuse delay
//! dedup(queue_id, key, message_id, seq, expires_ms)  FIFO deduplication ids within the window
//! messages(seq INTEGER PRIMARY KEY, queue_id, message_id BLOB, body TEXT, body_md5 BLOB,
//!          attributes JSON, system_attributes JSON, sender_id, sent_ms, group_fields JSON,
//!          dead_letter_source, visible_at_ms, receive_count, first_receive_ms, token)
//! ```
//! Instants are epoch milliseconds, so delays, visibility and retention are right after a
//! restart. `next_seq` and `next_queue_id` are high-water marks: sequence numbers and queue
//! ids are never reused, so a receipt handle minted before a restart cannot match a newer
//! message. Sequence numbers are reserved in chunks of [`SEQ_CHUNK`], so the mark is written
//! once per chunk rather than in every transaction.
//!
//! `messages` has no secondary index: every hot statement addresses a row by `seq`, and the
//! statements that select by queue (PurgeQueue, DeleteQueue) are rare enough to scan. An index
//! would add a B-tree page to nearly every commit.

use crate::{Batch, Job};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use wharf_store::memory::Change;
use wharf_store::MessageData;

/// The schema this code writes. A database of a newer version is refused at open.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// How many sequence numbers one write of the `next_seq` mark reserves.
pub(crate) const SEQ_CHUNK: u64 = 1 << 20;

/// The most batches one transaction takes, so one huge burst cannot delay its first
/// requests' answers without bound.
const MAX_BATCHES_PER_COMMIT: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queues (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    last_purge_ms INTEGER,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted_queues (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    deleted_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS dedup (
    queue_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    message_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue_id, key)
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL,
    message_id BLOB NOT NULL,
    body TEXT NOT NULL,
    body_md5 BLOB NOT NULL,
    attributes TEXT,
    system_attributes TEXT,
    sender_id TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    group_fields TEXT,
    dead_letter_source TEXT,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    first_receive_ms INTEGER NOT NULL,
    token INTEGER NOT NULL
);
";

/// Opens the database with durable settings and creates the schema.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, crate::OpenError> {
    let conn = Connection::open(path)?;
    // WAL lets the loader and inspectors read while the writer appends; FULL syncs the WAL on
    // every commit, so a committed transaction survives power loss (NORMAL would not).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.execute_batch(SCHEMA)?;
    let version: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |row| row.get(0)).ok();
    match version.as_deref().map(str::parse::<i64>) {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(Ok(found)) if found <= SCHEMA_VERSION => {}
        Some(other) => {
            return Err(crate::OpenError::Corrupt(format!(
                "schema version {other:?} is newer than this wharf understands ({SCHEMA_VERSION})"
            )))
        }
    }
    Ok(conn)
}

/// The writer thread's loop: ends when every sender is gone.
///
/// Jobs run in the order they were queued. Consecutive writes share one transaction; a load
/// first commits the writes queued before it, so it reads everything they wrote.
///
/// When a commit fails (disk full, IO error), its changes are already in the index, so they
/// are kept and committed again — first after [`RETRY_FIRST`], then backing off to
/// [`RETRY_MAX`] — while `failed` makes the store refuse new operations. Once a retry commits,
/// memory and disk agree again and `failed` clears: the store recovers without a restart.
pub(crate) fn run(journal: Journal) {
    let Journal { mut conn, receiver, failed, injected_failures, mut reserved_seq } = journal;
    let failed = Failures { failed, injected: injected_failures };
    let mut pending: Vec<Batch> = Vec::new();
    let mut retained: Vec<Batch> = Vec::new();
    let mut senders: HashMap<String, Arc<str>> = HashMap::new();
    let mut backoff = RETRY_FIRST;
    loop {
        let first = if retained.is_empty() {
            match receiver.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            }
        } else {
            match receiver.recv_timeout(backoff) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    flush(&mut conn, &mut pending, &mut retained, &failed, &mut reserved_seq);
                    break;
                }
            }
        };
        let mut next = first;
        while let Some(job) = next.take() {
            match job {
                Job::Write(batch) => pending.push(batch),
                Job::Load(load) => {
                    flush(&mut conn, &mut pending, &mut retained, &failed, &mut reserved_seq);
                    let result = if failed.load(Ordering::Acquire) {
                        Err("the journal cannot write to disk; retrying".to_owned())
                    } else {
                        read_messages(&conn, &load.seqs, &mut senders)
                    };
                    let _ = load.reply.send(result);
                }
                Job::Checkpoint(reply) => {
                    flush(&mut conn, &mut pending, &mut retained, &failed, &mut reserved_seq);
                    let result = conn
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                        .map_err(|err| err.to_string());
                    let _ = reply.send(result);
                }
            }
            if pending.len() < MAX_BATCHES_PER_COMMIT {
                next = receiver.try_recv().ok();
            }
        }
        flush(&mut conn, &mut pending, &mut retained, &failed, &mut reserved_seq);
        backoff = if retained.is_empty() { RETRY_FIRST } else { (backoff * 2).min(RETRY_MAX) };
    }
}

/// What the journal thread owns.
pub(crate) struct Journal {
    /// The database.
    pub conn: Connection,
    /// Jobs, in the index's order.
    pub receiver: mpsc::Receiver<Job>,
    /// Set while a commit failed and its retry has not committed yet.
    pub failed: Arc<AtomicBool>,
    /// Commits still to fail on purpose, for tests.
    pub injected_failures: Arc<AtomicU32>,
    /// The sequence numbers reserved on disk so far.
    pub reserved_seq: u64,
}

/// The failure flag and the injected failures, as the commit path sees them.
struct Failures {
    failed: Arc<AtomicBool>,
    injected: Arc<AtomicU32>,
}

impl Failures {
    fn load(&self, order: Ordering) -> bool {
        self.failed.load(order)
    }

    fn swap(&self, value: bool, order: Ordering) -> bool {
        self.failed.swap(value, order)
    }

    /// Whether this commit fails on purpose (and counts it).
    fn take_injected(&self) -> bool {
        self.injected.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(1)).is_ok()
    }
}

/// The first wait before committing the changes of a failed commit again.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest wait between two such attempts.
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// Commits the retained and pending batches (in that order, which is the index's order) and
/// tells their requesters; after a failure, keeps them all in `retained`.
fn flush(
    conn: &mut Connection,
    pending: &mut Vec<Batch>,
    retained: &mut Vec<Batch>,
    failed: &Failures,
    reserved_seq: &mut u64,
) {
    if pending.is_empty() && retained.is_empty() {
        return;
    }
    retained.append(pending);
    let started = std::time::Instant::now();
    let result = if failed.take_injected() {
        Err("disk I/O error (injected)".to_owned())
    } else {
        commit(conn, retained, reserved_seq).map_err(|err| err.to_string())
    };
    if result.is_ok() {
        crate::commit_stats::record(retained.len() as u64, started.elapsed());
    }
    match &result {
        Ok(()) => {
            if failed.swap(false, Ordering::AcqRel) {
                tracing::warn!("journal commit succeeded again; the store accepts changes again");
            }
        }
        Err(message) => {
            if !failed.swap(true, Ordering::AcqRel) {
                tracing::error!(error = %message, "journal commit failed; refusing changes until a retry commits");
            }
        }
    }
    for batch in retained.iter_mut() {
        // A requester that gave up (client went away) is not an error. After a failure the
        // requester hears of it now; its change commits with a later retry (a 5xx answer
        // leaves the outcome open, as on AWS).
        if let Some(done) = batch.done.take() {
            let _ = done.send(result.clone());
        }
    }
    if result.is_ok() {
        retained.clear();
    }
}

/// Reads the content of messages evicted from memory.
fn read_messages(
    conn: &Connection,
    seqs: &[u64],
    senders: &mut HashMap<String, Arc<str>>,
) -> Result<Vec<(u64, Arc<MessageData>)>, String> {
    let mut statement = conn
        .prepare_cached(&format!("SELECT seq, sent_ms, {} FROM messages WHERE seq = ?1", crate::load::DATA_COLUMNS))
        .map_err(|err| err.to_string())?;
    let mut found = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let mut rows = statement.query(params![seq as i64]).map_err(|err| err.to_string())?;
        let Some(row) = rows.next().map_err(|err| err.to_string())? else {
            continue;
        };
        let sent_ms = row.get::<_, i64>(1).map_err(|err| err.to_string())? as u64;
        let data = crate::load::message_data(row, 2, seq, sent_ms, senders).map_err(|err| err.to_string())?;
        found.push((seq, Arc::new(data)));
    }
    Ok(found)
}

/// One row operation of a commit, after coalescing.
enum Step<'a> {
    /// Insert a message with its current delivery state.
    Insert { queue: u64, seq: u64, data: &'a MessageData, delivery: Delivery },
    /// Update a message's delivery state.
    Update { seq: u64, delivery: Delivery },
    /// Delete a message.
    Delete { seq: u64 },
    /// A queue-level change, applied as it is.
    Other(&'a Change),
    /// Cancelled by a later change of the same commit.
    Skip,
}

/// A message's mutable columns.
#[derive(Clone, Copy)]
struct Delivery {
    visible_at_ms: u64,
    receive_count: u32,
    first_receive_ms: u64,
    token: u64,
}

/// Folds the changes of one commit: a later update of a message replaces an earlier insert's
/// or update's values, and a delete cancels them (an insert and a delete in one commit write
/// nothing). Queue-level changes are barriers that nothing is folded across.
fn plan<'a>(changes: impl Iterator<Item = &'a Change>) -> Vec<Step<'a>> {
    let mut steps: Vec<Step<'a>> = Vec::new();
    let mut latest: HashMap<u64, usize> = HashMap::new();
    for change in changes {
        match change {
            Change::InsertMessage { queue, seq, data, visible_at_ms } => {
                latest.insert(*seq, steps.len());
                let delivery =
                    Delivery { visible_at_ms: *visible_at_ms, receive_count: 0, first_receive_ms: 0, token: 0 };
                steps.push(Step::Insert { queue: queue.0, seq: *seq, data, delivery });
            }
            Change::UpdateMessage { seq, visible_at_ms, receive_count, first_receive_ms, token } => {
                let update = Delivery {
                    visible_at_ms: *visible_at_ms,
                    receive_count: *receive_count,
                    first_receive_ms: *first_receive_ms,
                    token: *token,
                };
                match latest.get(seq).map(|&idx| &mut steps[idx]) {
                    Some(Step::Insert { delivery, .. } | Step::Update { delivery, .. }) => *delivery = update,
                    _ => {
                        latest.insert(*seq, steps.len());
                        steps.push(Step::Update { seq: *seq, delivery: update });
                    }
                }
            }
            Change::DeleteMessage { seq } => {
                let inserted_here = match latest.remove(seq) {
                    Some(idx) => {
                        let inserted_here = matches!(steps[idx], Step::Insert { .. });
                        steps[idx] = Step::Skip;
                        inserted_here
                    }
                    None => false,
                };
                if !inserted_here {
                    steps.push(Step::Delete { seq: *seq });
                }
            }
            // Deduplication rows live in their own table: nothing folds across them, and they
            // do not stop folding around them.
            other @ (Change::Dedup { .. } | Change::ExpireDedup { .. }) => steps.push(Step::Other(other)),
            other => {
                latest.clear();
                steps.push(Step::Other(other));
            }
        }
    }
    steps
}

fn commit(conn: &mut Connection, batches: &[Batch], reserved_seq: &mut u64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let max_seq: Option<u64> = batches
        .iter()
        .flat_map(|batch| batch.changes.iter())
        .filter_map(|change| match change {
            Change::InsertMessage { seq, .. } => Some(*seq),
            Change::MoveMessage { new_seq, .. } => Some(*new_seq),
            _ => None,
        })
        .max();
    let mut max_queue_id: Option<u64> = None;
    {
        let mut insert_message = tx.prepare_cached(
            "INSERT INTO messages (seq, queue_id, message_id, body, body_md5, attributes, system_attributes,
                sender_id, sent_ms, group_fields, visible_at_ms, receive_count, first_receive_ms, token, dead_letter_source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let mut update_message = tx.prepare_cached(
            "UPDATE messages SET visible_at_ms = ?2, receive_count = ?3, first_receive_ms = ?4, token = ?5 WHERE seq = ?1",
        )?;
        let mut delete_message = tx.prepare_cached("DELETE FROM messages WHERE seq = ?1")?;
        for step in plan(batches.iter().flat_map(|batch| batch.changes.iter())) {
            let change = match step {
                Step::Skip => continue,
                Step::Insert { queue, seq, data, delivery } => {
                    insert_message.execute(params![
                        seq as i64,
                        queue as i64,
                        &data.message_id[..],
                        &*data.body,
                        &data.body_md5[..],
                        data.attributes.as_ref().map(|attributes| json(&**attributes)),
                        data.system_attributes.as_ref().map(|attributes| json(&**attributes)),
                        &*data.sender_id,
                        data.sent_ms as i64,
                        data.group.as_ref().map(|group| json(&**group)),
                        delivery.visible_at_ms as i64,
                        i64::from(delivery.receive_count),
                        delivery.first_receive_ms as i64,
                        delivery.token as i64,
                        data.dead_letter_source.as_deref(),
                    ])?;
                    continue;
                }
                Step::Update { seq, delivery } => {
                    update_message.execute(params![
                        seq as i64,
                        delivery.visible_at_ms as i64,
                        i64::from(delivery.receive_count),
                        delivery.first_receive_ms as i64,
                        delivery.token as i64,
                    ])?;
                    continue;
                }
                Step::Delete { seq } => {
                    delete_message.execute(params![seq as i64])?;
                    continue;
                }
                Step::Other(change) => change,
            };
            match change {
                // `plan` turns every message change into a step; none reaches here.
                Change::InsertMessage { .. } | Change::UpdateMessage { .. } | Change::DeleteMessage { .. } => {
                    debug_assert!(false, "message changes are planned as steps");
                }
                Change::MoveMessage { seq, to_queue, new_seq, sent_ms, visible_at_ms, source_arn } => {
                    tx.prepare_cached(
                        "UPDATE messages SET seq = ?2, queue_id = ?3, sent_ms = ?4, visible_at_ms = ?5, token = 0,
                            dead_letter_source = ?6 WHERE seq = ?1",
                    )?
                    .execute(params![
                        *seq as i64,
                        *new_seq as i64,
                        to_queue.0 as i64,
                        *sent_ms as i64,
                        *visible_at_ms as i64,
                        &**source_arn
                    ])?;
                }
                Change::Dedup { queue, key, entry } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO dedup (queue_id, key, message_id, seq, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        queue.0 as i64,
                        key,
                        &entry.message_id[..],
                        entry.seq as i64,
                        entry.expires_ms as i64
                    ])?;
                }
                Change::ExpireDedup { now } => {
                    tx.prepare_cached("DELETE FROM dedup WHERE expires_ms <= ?1")?.execute(params![*now as i64])?;
                }
                Change::Purge { queue, max_seq: purge_max } => {
                    tx.execute(
                        "DELETE FROM messages WHERE queue_id = ?1 AND seq < ?2",
                        params![queue.0 as i64, *purge_max as i64],
                    )?;
                    tx.execute(
                        "DELETE FROM dedup WHERE queue_id = ?1 AND seq < ?2",
                        params![queue.0 as i64, *purge_max as i64],
                    )?;
                }
                Change::PutQueue(record) => {
                    max_queue_id = max_queue_id.max(Some(record.id.0));
                    tx.execute(
                        "INSERT OR REPLACE INTO queues (id, account, region, name, settings, tags, created_ms,
                            modified_ms, last_purge_ms, version)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![
                            record.id.0 as i64,
                            record.key.account.as_str(),
                            record.key.region.as_str(),
                            record.key.name.as_str(),
                            json(&record.settings),
                            json(&record.tags),
                            record.created_ms as i64,
                            record.modified_ms as i64,
                            record.last_purge_ms.map(|instant| instant as i64),
                            record.version as i64,
                        ],
                    )?;
                    tx.execute(
                        "DELETE FROM deleted_queues WHERE account = ?1 AND region = ?2 AND name = ?3",
                        params![record.key.account.as_str(), record.key.region.as_str(), record.key.name.as_str()],
                    )?;
                }
                Change::Clear => {
                    tx.execute_batch(
                        "DELETE FROM messages; DELETE FROM dedup; DELETE FROM queues; DELETE FROM deleted_queues;",
                    )?;
                }
                Change::DeleteQueue { id, key, deleted_ms } => {
                    tx.execute("DELETE FROM messages WHERE queue_id = ?1", params![id.0 as i64])?;
                    tx.execute("DELETE FROM dedup WHERE queue_id = ?1", params![id.0 as i64])?;
                    tx.execute("DELETE FROM queues WHERE id = ?1", params![id.0 as i64])?;
                    tx.execute(
                        "INSERT OR REPLACE INTO deleted_queues (account, region, name, deleted_ms) VALUES (?1, ?2, ?3, ?4)",
                        params![key.account.as_str(), key.region.as_str(), key.name.as_str(), *deleted_ms as i64],
                    )?;
                }
            }
        }
    }
    let mut new_reservation = None;
    if let Some(seq) = max_seq.filter(|&seq| seq >= *reserved_seq) {
        let reservation = seq + 1 + SEQ_CHUNK;
        raise_mark(&tx, "next_seq", reservation)?;
        new_reservation = Some(reservation);
    }
    if let Some(queue_id) = max_queue_id {
        raise_mark(&tx, "next_queue_id", queue_id + 1)?;
    }
    tx.commit()?;
    if let Some(reservation) = new_reservation {
        *reserved_seq = reservation;
    }
    Ok(())
}

/// Raises a high-water mark in `meta`, never lowering it.
fn raise_mark(tx: &rusqlite::Transaction<'_>, key: &str, value: u64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)",
    )?
    .execute(params![key, value.to_string()])?;
    Ok(())
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain data structs to a String cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use wharf_store::QueueId;

    fn insert(seq: u64) -> Change {
        let data = wharf_store::conformance::message("x", 1, 0).data;
        Change::InsertMessage { queue: QueueId(1), seq, data: Arc::clone(&data), visible_at_ms: 1 }
    }

    fn update(seq: u64, receive_count: u32) -> Change {
        Change::UpdateMessage { seq, visible_at_ms: 9, receive_count, first_receive_ms: 5, token: 7 }
    }

    fn shape(steps: &[Step<'_>]) -> Vec<String> {
        steps
            .iter()
            .map(|step| match step {
                Step::Insert { seq, delivery, .. } => format!("insert {seq} rc={}", delivery.receive_count),
                Step::Update { seq, delivery } => format!("update {seq} rc={}", delivery.receive_count),
                Step::Delete { seq } => format!("delete {seq}"),
                Step::Other(_) => "other".to_owned(),
                Step::Skip => "skip".to_owned(),
            })
            .collect()
    }

    #[test]
    fn changes_of_one_commit_fold() {
        let purge = Change::Purge { queue: QueueId(1), max_seq: 100 };
        let changes = vec![
            insert(1),
            update(1, 1),
            insert(2),
            update(2, 1),
            Change::DeleteMessage { seq: 2 },
            update(3, 4),
            update(3, 5),
            update(4, 1),
            Change::DeleteMessage { seq: 4 },
            purge,
            update(1, 2),
        ];
        let steps = plan(changes.iter());
        assert_eq!(
            shape(&steps),
            [
                "insert 1 rc=1", // the receive folded into the insert
                "skip",          // message 2 was inserted and deleted: nothing to write
                "update 3 rc=5", // the later update wins
                "skip",
                "delete 4", // the update before the delete is dropped
                "other",
                "update 1 rc=2", // nothing folds across a queue-level change
            ]
        );
    }
}
