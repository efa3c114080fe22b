//! The CloudWatch Logs store on SQLite: [`SqliteLogStore`], in its own database file.
//!
//! Logs live in `logs.sqlite3` beside the queue database, because the queue journal holds its
//! database in `locking_mode=EXCLUSIVE` and because log volume should never slow queue
//! commits. Unlike the queue store, nothing is mirrored in memory except name-to-id caches:
//! events can be far larger than memory, so reads go to SQLite.
//!
//! Writes go through one writer thread that drains a channel and commits every job that
//! queued up in one transaction (group commit), then answers each caller. Function log capture
//! appends thousands of small batches per second; they share one `fsync`. Each job runs inside
//! its own savepoint, so one failing job does not undo its neighbours. Reads use a second
//! connection on a blocking thread; WAL lets it read while the writer appends, and a caller
//! answered after a commit reads its own writes.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: an answered write survives power loss.
//!
//! # Schema
//! ```text
//! meta(key TEXT PRIMARY KEY, value TEXT)                     schema_version
//! resource_policies(account, region, name, document, updated_ms, resource_arn, revision)
//! subscription_filters(account, region, grp, name, pattern, destination_arn, role_arn,
//!                      distribution, created_ms)
//! log_groups(id, account, region, name, created_ms, retention_days, tags JSON)
//! log_streams(id, group_id, name, created_ms, first_event_ms, last_event_ms,
//!             last_ingestion_ms, stored_bytes)
//! log_events(seq, group_id, stream_id, timestamp, ingestion_ms, message)
//!     indexed by (group_id, timestamp, seq) for FilterLogEvents and retention,
//!     and by (stream_id, timestamp, seq) for GetLogEvents
//! ```
//! Ids and `seq` are `AUTOINCREMENT`: never reused, so event ids stay unique forever.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use wharf_store::logs::*;
use wharf_store::StoreError;
use wharf_types::{AccountId, EpochMillis, Region};

/// The file name of the logs database inside the data directory.
pub const LOGS_DATABASE_FILE: &str = "logs.sqlite3";

/// The schema this code writes. A database of a newer version is refused at open.
const SCHEMA_VERSION: i64 = 1;

/// The most jobs one transaction takes, so one burst cannot delay its first answers forever.
const MAX_JOBS_PER_COMMIT: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscription_filters (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    destination_arn TEXT NOT NULL,
    role_arn TEXT,
    distribution TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, grp, name)
);
CREATE TABLE IF NOT EXISTS resource_policies (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    resource_arn TEXT,
    revision TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS log_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    tags TEXT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_ingestion_ms INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS log_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_ms INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_id, timestamp, seq);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream_id, timestamp, seq);
";

/// What a job hands back to run after the commit: it answers its caller.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A unit of work for the writer thread.
type Job = Box<dyn FnOnce(&mut Writer) -> Finish + Send>;

/// The writer thread's connection and its caches of ids by name.
///
/// Every write goes through this thread, so the caches cannot go stale: deletions clear them.
struct Writer {
    conn: Connection,
    group_ids: HashMap<LogGroupKey, i64>,
    stream_ids: HashMap<(i64, String), i64>,
}

/// The durable CloudWatch Logs store.
pub struct SqliteLogStore {
    /// Feeds the writer thread.
    jobs: Mutex<mpsc::Sender<Job>>,
    /// The read connection; reads run on blocking threads, one at a time.
    reader: Arc<Mutex<Connection>>,
    /// Set while the last commit failed (for the health answer). Nothing is mirrored in memory
    /// that a failed commit could leave ahead of the disk (the writer forgets its id caches),
    /// so every commit simply tries again.
    failed: Arc<AtomicBool>,
    /// The database file, for the checkpoint at a clean stop.
    path: std::path::PathBuf,
}

impl std::fmt::Debug for SqliteLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLogStore").finish_non_exhaustive()
    }
}

fn storage(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

impl SqliteLogStore {
    /// Opens (creating if needed) `logs.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        std::fs::create_dir_all(data_dir).map_err(crate::OpenError::Io)?;
        let path = data_dir.join(LOGS_DATABASE_FILE);
        crate::check_wal(&path)?;
        let conn = Connection::open(&path)?;
        // WAL lets the reader read while the writer appends; FULL syncs the WAL on every commit.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |row| row.get(0)).optional()?;
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
                    "logs schema version {other:?} is newer than this wharf understands ({SCHEMA_VERSION})"
                )))
            }
        }
        let reader = Connection::open(&path)?;
        reader.pragma_update(None, "query_only", "ON")?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let writer_failed = Arc::clone(&failed);
        let writer = Writer { conn, group_ids: HashMap::new(), stream_ids: HashMap::new() };
        std::thread::Builder::new()
            .name("wharf-logs-writer".into())
            .spawn(move || run_writer(writer, receiver, writer_failed))
            .map_err(crate::OpenError::Io)?;
        Ok(SqliteLogStore { jobs: Mutex::new(sender), reader: Arc::new(Mutex::new(reader)), failed, path })
    }

    /// Runs `work` on the writer thread inside the next group commit; answers after the commit.
    async fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Writer) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<R, String>>();
        let job: Job = Box::new(move |writer: &mut Writer| {
            let result = writer.in_savepoint(work);
            Box::new(move |commit: Result<(), String>| {
                let outcome = match (commit, result) {
                    (Ok(()), Ok(value)) => Ok(value),
                    (Err(message), _) => Err(message),
                    (Ok(()), Err(err)) => Err(err.to_string()),
                };
                let _ = reply.send(outcome);
            })
        });
        {
            let jobs = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            jobs.send(job).map_err(|_| unavailable())?;
        }
        match answer.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(StoreError::Unavailable(message)),
            Err(_) => Err(unavailable()),
        }
    }

    /// Runs a read on a blocking thread with the read connection.
    async fn read<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let reader = Arc::clone(&self.reader);
        let joined = tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&conn)
        })
        .await;
        joined.map_err(storage)?.map_err(storage)
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("the logs writer has stopped".into())
}

/// The writer loop: one transaction per burst of queued jobs.
fn run_writer(mut writer: Writer, jobs: mpsc::Receiver<Job>, failed: Arc<AtomicBool>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = match writer.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                let finishes: Vec<Finish> = batch.into_iter().map(|job| job(&mut writer)).collect();
                let committed = writer.conn.execute_batch("COMMIT");
                (committed, finishes)
            }
            Err(err) => (Err(err), Vec::new()),
        };
        let (committed, finishes) = commit;
        let outcome = match committed {
            Ok(()) => {
                if failed.swap(false, Ordering::AcqRel) {
                    tracing::warn!("logs commit succeeded again");
                }
                Ok(())
            }
            Err(err) => {
                if !failed.swap(true, Ordering::AcqRel) {
                    tracing::error!(error = %err, "logs commit failed; later writes retry");
                }
                let _ = writer.conn.execute_batch("ROLLBACK");
                writer.group_ids.clear();
                writer.stream_ids.clear();
                Err(format!("logs commit failed: {err}"))
            }
        };
        for finish in finishes {
            finish(outcome.clone());
        }
    }
}

impl Writer {
    /// Runs one job in its own savepoint: a failing job undoes only its own changes.
    fn in_savepoint<R>(&mut self, work: impl FnOnce(&mut Writer) -> rusqlite::Result<R>) -> rusqlite::Result<R> {
        self.conn.execute_batch("SAVEPOINT job")?;
        match work(self) {
            Ok(value) => {
                self.conn.execute_batch("RELEASE job")?;
                Ok(value)
            }
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK TO job; RELEASE job");
                // The job may have cached ids of rows it created and that are now gone.
                self.group_ids.clear();
                self.stream_ids.clear();
                Err(err)
            }
        }
    }

    fn group_id(&mut self, key: &LogGroupKey) -> rusqlite::Result<Option<i64>> {
        if let Some(&id) = self.group_ids.get(key) {
            return Ok(Some(id));
        }
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM log_groups WHERE account = ?1 AND region = ?2 AND name = ?3")?
            .query_row(params![key.account.as_str(), key.region.as_str(), key.name], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            self.group_ids.insert(key.clone(), id);
        }
        Ok(found)
    }

    fn stream_id(&mut self, group_id: i64, stream: &str) -> rusqlite::Result<Option<i64>> {
        if let Some(&id) = self.stream_ids.get(&(group_id, stream.to_owned())) {
            return Ok(Some(id));
        }
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM log_streams WHERE group_id = ?1 AND name = ?2")?
            .query_row(params![group_id, stream], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            self.stream_ids.insert((group_id, stream.to_owned()), id);
        }
        Ok(found)
    }

    fn insert_group(
        &mut self,
        key: &LogGroupKey,
        tags: &BTreeMap<String, String>,
        now: EpochMillis,
    ) -> rusqlite::Result<i64> {
        let tags = serde_json::to_string(tags).map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO log_groups (account, region, name, created_ms, retention_days, tags) VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
            )?
            .execute(params![key.account.as_str(), key.region.as_str(), key.name, now as i64, tags])?;
        let id = self.conn.last_insert_rowid();
        self.group_ids.insert(key.clone(), id);
        Ok(id)
    }

    fn insert_stream(&mut self, group_id: i64, stream: &str, now: EpochMillis) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached("INSERT INTO log_streams (group_id, name, created_ms) VALUES (?1, ?2, ?3)")?
            .execute(params![group_id, stream, now as i64])?;
        let id = self.conn.last_insert_rowid();
        self.stream_ids.insert((group_id, stream.to_owned()), id);
        Ok(id)
    }
}

fn group_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogGroupRecord> {
    let account: String = row.get("account")?;
    let region: String = row.get("region")?;
    let tags: String = row.get("tags")?;
    let conversion = |err: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, err)
    };
    Ok(LogGroupRecord {
        key: LogGroupKey {
            account: account.parse().map_err(|err: wharf_types::InvalidAccountId| conversion(err.into()))?,
            region: region.parse().map_err(|err: wharf_types::InvalidRegion| conversion(err.into()))?,
            name: row.get("name")?,
        },
        created_ms: row.get::<_, i64>("created_ms")? as u64,
        retention_days: row.get::<_, Option<i64>>("retention_days")?.map(|days| days as u32),
        tags: serde_json::from_str(&tags).map_err(|err| conversion(err.into()))?,
        stored_bytes: row.get::<_, i64>("stored_bytes")? as u64,
    })
}

const GROUP_COLUMNS: &str = "g.account, g.region, g.name, g.created_ms, g.retention_days, g.tags, \
     (SELECT COALESCE(SUM(s.stored_bytes), 0) FROM log_streams s WHERE s.group_id = g.id) AS stored_bytes";

fn stream_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogStreamRecord> {
    let optional = |name: &str| row.get::<_, Option<i64>>(name).map(|value| value.map(|ms| ms as u64));
    Ok(LogStreamRecord {
        name: row.get("name")?,
        created_ms: row.get::<_, i64>("created_ms")? as u64,
        first_event_ms: optional("first_event_ms")?,
        last_event_ms: optional("last_event_ms")?,
        last_ingestion_ms: optional("last_ingestion_ms")?,
        stored_bytes: row.get::<_, i64>("stored_bytes")? as u64,
    })
}

fn lookup_group_id(conn: &Connection, key: &LogGroupKey) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM log_groups WHERE account = ?1 AND region = ?2 AND name = ?3")?
        .query_row(params![key.account.as_str(), key.region.as_str(), key.name], |row| row.get(0))
        .optional()
}

/// SQLite integers are signed; timestamps beyond `i64::MAX` clamp (no real clock gets there).
fn sql_ms(ms: EpochMillis) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[async_trait]
impl LogStore for SqliteLogStore {
    async fn checkpoint(&self) -> Result<(), StoreError> {
        // A connection of its own: the writer's is inside a transaction whenever it works.
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        })
        .await
        .map_err(storage)?
        .map_err(storage)
    }

    fn health(&self) -> Result<(), String> {
        if self.failed.load(Ordering::Acquire) {
            Err("the logs store's last commit failed (disk full or failing); the next one retries".into())
        } else {
            Ok(())
        }
    }

    async fn create_group(
        &self,
        key: &LogGroupKey,
        tags: BTreeMap<String, String>,
        now: EpochMillis,
    ) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |writer| {
            if writer.group_id(&key)?.is_some() {
                return Ok(false);
            }
            writer.insert_group(&key, &tags, now)?;
            Ok(true)
        })
        .await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.write(move |writer| {
            writer.conn.execute_batch(
                "DELETE FROM log_events; DELETE FROM log_streams; DELETE FROM log_groups; DELETE FROM resource_policies; \
                 DELETE FROM subscription_filters;",
            )?;
            writer.group_ids.clear();
            writer.stream_ids.clear();
            Ok(())
        })
        .await
    }

    async fn put_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        policy: ResourcePolicyRecord,
    ) -> Result<(), StoreError> {
        let (account, region) = (account.to_string(), region.to_string());
        self.write(move |writer| {
            writer.conn.execute(
                "INSERT INTO resource_policies (account, region, name, document, updated_ms, resource_arn, revision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (account, region, name) DO UPDATE SET document = excluded.document,
                     updated_ms = excluded.updated_ms, resource_arn = excluded.resource_arn, revision = excluded.revision",
                params![
                    account,
                    region,
                    policy.name,
                    policy.document,
                    policy.updated_ms as i64,
                    policy.resource_arn,
                    policy.revision
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn resource_policies(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<ResourcePolicyRecord>, StoreError> {
        let (account, region) = (account.to_string(), region.to_string());
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT name, document, updated_ms, resource_arn, revision FROM resource_policies
                 WHERE account = ?1 AND region = ?2 ORDER BY name",
            )?;
            let rows = statement.query_map(params![account, region], |row| {
                Ok(ResourcePolicyRecord {
                    name: row.get(0)?,
                    document: row.get(1)?,
                    updated_ms: row.get::<_, i64>(2)?.max(0) as u64,
                    resource_arn: row.get(3)?,
                    revision: row.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn delete_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<bool, StoreError> {
        let (account, region, name) = (account.to_string(), region.to_string(), name.to_owned());
        self.write(move |writer| {
            let deleted = writer.conn.execute(
                "DELETE FROM resource_policies WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![account, region, name],
            )?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn put_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        filter: SubscriptionFilterRecord,
    ) -> Result<(), StoreError> {
        let (account, region) = (account.to_string(), region.to_string());
        self.write(move |writer| {
            writer.conn.execute(
                "INSERT INTO subscription_filters
                     (account, region, grp, name, pattern, destination_arn, role_arn, distribution, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (account, region, grp, name) DO UPDATE SET pattern = excluded.pattern,
                     destination_arn = excluded.destination_arn, role_arn = excluded.role_arn,
                     distribution = excluded.distribution",
                params![
                    account,
                    region,
                    filter.group,
                    filter.name,
                    filter.pattern,
                    filter.destination_arn,
                    filter.role_arn,
                    filter.distribution,
                    filter.created_ms as i64
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn subscription_filters(&self) -> Result<Vec<(AccountId, Region, SubscriptionFilterRecord)>, StoreError> {
        let rows = self
            .read(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT account, region, grp, name, pattern, destination_arn, role_arn, distribution, created_ms
                     FROM subscription_filters ORDER BY account, region, grp, name",
                )?;
                let rows = statement.query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        SubscriptionFilterRecord {
                            group: row.get(2)?,
                            name: row.get(3)?,
                            pattern: row.get(4)?,
                            destination_arn: row.get(5)?,
                            role_arn: row.get(6)?,
                            distribution: row.get(7)?,
                            created_ms: row.get::<_, i64>(8)?.max(0) as u64,
                        },
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(account, region, filter)| {
                let account =
                    account.parse().map_err(|_| StoreError::Unavailable(format!("corrupt account {account}")))?;
                let region = region.parse().map_err(|_| StoreError::Unavailable(format!("corrupt region {region}")))?;
                Ok((account, region, filter))
            })
            .collect()
    }

    async fn delete_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let (account, region, group, name) =
            (account.to_string(), region.to_string(), group.to_owned(), name.to_owned());
        self.write(move |writer| {
            let deleted = writer.conn.execute(
                "DELETE FROM subscription_filters WHERE account = ?1 AND region = ?2 AND grp = ?3 AND name = ?4",
                params![account, region, group, name],
            )?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn delete_group(&self, key: &LogGroupKey) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |writer| {
            let Some(id) = writer.group_id(&key)? else { return Ok(false) };
            writer.conn.execute("DELETE FROM log_events WHERE group_id = ?1", params![id])?;
            writer.conn.execute("DELETE FROM log_streams WHERE group_id = ?1", params![id])?;
            writer.conn.execute("DELETE FROM log_groups WHERE id = ?1", params![id])?;
            writer.conn.execute(
                "DELETE FROM subscription_filters WHERE account = ?1 AND region = ?2 AND grp = ?3",
                params![key.account.as_str(), key.region.as_str(), key.name],
            )?;
            writer.group_ids.remove(&key);
            writer.stream_ids.retain(|(group_id, _), _| *group_id != id);
            Ok(true)
        })
        .await
    }

    async fn group(&self, key: &LogGroupKey) -> Result<Option<LogGroupRecord>, StoreError> {
        let key = key.clone();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {GROUP_COLUMNS} FROM log_groups g WHERE g.account = ?1 AND g.region = ?2 AND g.name = ?3"
            );
            conn.prepare_cached(&sql)?
                .query_row(params![key.account.as_str(), key.region.as_str(), key.name], group_record)
                .optional()
        })
        .await
    }

    async fn list_groups(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRecord>, StoreError> {
        let (account, region, prefix) = (account.clone(), region.clone(), prefix.to_owned());
        let after = after.map(str::to_owned);
        self.read(move |conn| {
            let sql = format!(
                "SELECT {GROUP_COLUMNS} FROM log_groups g WHERE g.account = ?1 AND g.region = ?2 \
                 AND substr(g.name, 1, length(?3)) = ?3 AND (?4 IS NULL OR g.name > ?4) ORDER BY g.name LIMIT ?5"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows =
                statement.query_map(params![account.as_str(), region.as_str(), prefix, after, limit], group_record)?;
            rows.collect()
        })
        .await
    }

    async fn set_retention(&self, key: &LogGroupKey, days: Option<u32>) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |writer| {
            let Some(id) = writer.group_id(&key)? else { return Ok(false) };
            writer.conn.execute("UPDATE log_groups SET retention_days = ?1 WHERE id = ?2", params![days, id])?;
            Ok(true)
        })
        .await
    }

    async fn set_tags(&self, key: &LogGroupKey, tags: BTreeMap<String, String>) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |writer| {
            let Some(id) = writer.group_id(&key)? else { return Ok(false) };
            let tags =
                serde_json::to_string(&tags).map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))?;
            writer.conn.execute("UPDATE log_groups SET tags = ?1 WHERE id = ?2", params![tags, id])?;
            Ok(true)
        })
        .await
    }

    async fn create_stream(
        &self,
        key: &LogGroupKey,
        stream: &str,
        now: EpochMillis,
    ) -> Result<StreamOutcome, StoreError> {
        let (key, stream) = (key.clone(), stream.to_owned());
        self.write(move |writer| {
            let Some(group_id) = writer.group_id(&key)? else { return Ok(StreamOutcome::GroupMissing) };
            if writer.stream_id(group_id, &stream)?.is_some() {
                return Ok(StreamOutcome::StreamConflict);
            }
            writer.insert_stream(group_id, &stream, now)?;
            Ok(StreamOutcome::Done)
        })
        .await
    }

    async fn delete_stream(&self, key: &LogGroupKey, stream: &str) -> Result<StreamOutcome, StoreError> {
        let (key, stream) = (key.clone(), stream.to_owned());
        self.write(move |writer| {
            let Some(group_id) = writer.group_id(&key)? else { return Ok(StreamOutcome::GroupMissing) };
            let Some(stream_id) = writer.stream_id(group_id, &stream)? else {
                return Ok(StreamOutcome::StreamConflict);
            };
            writer.conn.execute("DELETE FROM log_events WHERE stream_id = ?1", params![stream_id])?;
            writer.conn.execute("DELETE FROM log_streams WHERE id = ?1", params![stream_id])?;
            writer.stream_ids.remove(&(group_id, stream));
            Ok(StreamOutcome::Done)
        })
        .await
    }

    async fn streams(&self, key: &LogGroupKey, prefix: &str) -> Result<Option<Vec<LogStreamRecord>>, StoreError> {
        let (key, prefix) = (key.clone(), prefix.to_owned());
        self.read(move |conn| {
            let Some(group_id) = lookup_group_id(conn, &key)? else { return Ok(None) };
            let mut statement = conn.prepare_cached(
                "SELECT name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms, stored_bytes \
                 FROM log_streams WHERE group_id = ?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY name",
            )?;
            let rows = statement.query_map(params![group_id, prefix], stream_record)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Some)
        })
        .await
    }

    async fn append(
        &self,
        key: &LogGroupKey,
        stream: &str,
        events: Vec<NewEvent>,
        now: EpochMillis,
        create_missing: bool,
    ) -> Result<AppendOutcome, StoreError> {
        let (key, stream) = (key.clone(), stream.to_owned());
        self.write(move |writer| {
            let group_id = match writer.group_id(&key)? {
                Some(id) => id,
                None if create_missing => writer.insert_group(&key, &BTreeMap::new(), now)?,
                None => return Ok(AppendOutcome::GroupMissing),
            };
            let stream_id = match writer.stream_id(group_id, &stream)? {
                Some(id) => id,
                None if create_missing => writer.insert_stream(group_id, &stream, now)?,
                None => return Ok(AppendOutcome::StreamMissing),
            };
            let mut last_seq = 0;
            let mut bytes = 0u64;
            let mut first_ms: Option<EpochMillis> = None;
            let mut last_ms: Option<EpochMillis> = None;
            {
                let mut insert = writer.conn.prepare_cached(
                    "INSERT INTO log_events (group_id, stream_id, timestamp, ingestion_ms, message) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for event in &events {
                    insert.execute(params![group_id, stream_id, sql_ms(event.timestamp), sql_ms(now), event.message])?;
                    last_seq = writer.conn.last_insert_rowid() as u64;
                    bytes += event.message.len() as u64;
                    first_ms = Some(first_ms.map_or(event.timestamp, |ms| ms.min(event.timestamp)));
                    last_ms = Some(last_ms.map_or(event.timestamp, |ms| ms.max(event.timestamp)));
                }
            }
            writer
                .conn
                .prepare_cached(
                    "UPDATE log_streams SET \
                     first_event_ms = CASE WHEN ?1 IS NULL THEN first_event_ms WHEN first_event_ms IS NULL OR ?1 < first_event_ms THEN ?1 ELSE first_event_ms END, \
                     last_event_ms = CASE WHEN ?2 IS NULL THEN last_event_ms WHEN last_event_ms IS NULL OR ?2 > last_event_ms THEN ?2 ELSE last_event_ms END, \
                     last_ingestion_ms = ?3, stored_bytes = stored_bytes + ?4 WHERE id = ?5",
                )?
                .execute(params![first_ms.map(sql_ms), last_ms.map(sql_ms), sql_ms(now), bytes as i64, stream_id])?;
            Ok(AppendOutcome::Appended(last_seq))
        })
        .await
    }

    async fn events(&self, query: &EventQuery) -> Result<Option<Vec<LogEventRecord>>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            let Some(group_id) = lookup_group_id(conn, &query.group)? else { return Ok(None) };
            // Which streams, by id: one stream reads through the stream index, several through
            // the group index with an id list, all through the group index alone.
            let mut stream_filter = String::new();
            let mut by_stream: Option<i64> = None;
            let selected: Option<Vec<i64>> = match &query.streams {
                StreamSelector::All => None,
                StreamSelector::Names(names) => {
                    let mut ids = Vec::new();
                    let mut statement =
                        conn.prepare_cached("SELECT id FROM log_streams WHERE group_id = ?1 AND name = ?2")?;
                    for name in names {
                        if let Some(id) = statement.query_row(params![group_id, name], |row| row.get(0)).optional()? {
                            ids.push(id);
                        }
                    }
                    Some(ids)
                }
                StreamSelector::Prefix(prefix) => {
                    let mut statement = conn.prepare_cached(
                        "SELECT id FROM log_streams WHERE group_id = ?1 AND substr(name, 1, length(?2)) = ?2",
                    )?;
                    let rows = statement.query_map(params![group_id, prefix], |row| row.get(0))?;
                    Some(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
                }
            };
            match selected.as_deref() {
                None => {}
                Some([]) => return Ok(Some(Vec::new())),
                Some([only]) => by_stream = Some(*only),
                Some(ids) => {
                    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                    stream_filter = format!(" AND e.stream_id IN ({})", list.join(","));
                }
            }
            let (owner_column, owner_id) = match by_stream {
                Some(id) => ("e.stream_id", id),
                None => ("e.group_id", group_id),
            };
            let (cursor_test, order) = if query.descending {
                ("(e.timestamp, e.seq) < (?4, ?5)", "DESC")
            } else {
                ("(e.timestamp, e.seq) > (?4, ?5)", "ASC")
            };
            let sql = format!(
                "SELECT s.name, e.timestamp, e.ingestion_ms, e.seq, e.message FROM log_events e \
                 JOIN log_streams s ON s.id = e.stream_id \
                 WHERE {owner_column} = ?1 AND e.timestamp >= ?2 AND e.timestamp < ?3 AND (?6 = 0 OR {cursor_test}){stream_filter} \
                 ORDER BY e.timestamp {order}, e.seq {order} LIMIT ?7"
            );
            let cursor = query.cursor.unwrap_or(EventPosition { timestamp: 0, seq: 0 });
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(
                params![
                    owner_id,
                    sql_ms(query.start.unwrap_or(0)),
                    sql_ms(query.end.unwrap_or(u64::MAX)),
                    sql_ms(cursor.timestamp),
                    i64::try_from(cursor.seq).unwrap_or(i64::MAX),
                    i64::from(query.cursor.is_some()),
                    i64::try_from(query.limit).unwrap_or(i64::MAX),
                ],
                |row| {
                    Ok(LogEventRecord {
                        stream: row.get(0)?,
                        timestamp: row.get::<_, i64>(1)? as u64,
                        ingestion_ms: row.get::<_, i64>(2)? as u64,
                        seq: row.get::<_, i64>(3)? as u64,
                        message: row.get(4)?,
                    })
                },
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Some)
        })
        .await
    }

    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError> {
        self.write(move |writer| {
            let groups: Vec<(i64, i64)> = {
                let mut statement = writer
                    .conn
                    .prepare_cached("SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL")?;
                let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            let mut removed = 0u64;
            for (group_id, days) in groups {
                let cutoff = retention_cutoff(now, u32::try_from(days).unwrap_or(u32::MAX));
                removed += writer.conn.execute(
                    "DELETE FROM log_events WHERE group_id = ?1 AND timestamp < ?2",
                    params![group_id, sql_ms(cutoff)],
                )? as u64;
            }
            Ok(removed)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_store::logs::conformance::{events, group, query, T0};

    #[tokio::test]
    async fn sqlite_log_store_conforms() {
        let dirs = Mutex::new(Vec::new());
        conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteLogStore::open(dir.path()).expect("open");
            dirs.lock().expect("lock").push(dir);
            store
        })
        .await;
    }

    #[tokio::test]
    async fn events_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = SqliteLogStore::open(dir.path()).expect("open");
            store.append(&group("/g"), "s", events(&[T0, T0 + 1]), T0, true).await.expect("append");
            store.set_retention(&group("/g"), Some(30)).await.expect("retention");
        }
        let store = SqliteLogStore::open(dir.path()).expect("reopen");
        let found = store.events(&query("/g")).await.expect("events").expect("group");
        assert_eq!(found.len(), 2);
        let record = store.group(&group("/g")).await.expect("group").expect("exists");
        assert_eq!(record.retention_days, Some(30));
        let outcome = store.append(&group("/g"), "s", events(&[T0 + 2]), T0, false).await.expect("append");
        assert_eq!(outcome, AppendOutcome::Appended(found[1].seq + 1), "sequence numbers continue");
    }

    /// Many concurrent small appends share commits and all land, in per-stream order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_all_land() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteLogStore::open(dir.path()).expect("open"));
        let mut tasks = Vec::new();
        for task_idx in 0..16u64 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for batch_idx in 0..25u64 {
                    let stream = format!("s{task_idx}");
                    let batch = events(&[T0 + batch_idx * 2, T0 + batch_idx * 2 + 1]);
                    store.append(&group("/busy"), &stream, batch, T0, true).await.expect("append");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let everything = EventQuery { limit: 10_000, ..query("/busy") };
        let found = store.events(&everything).await.expect("events").expect("group");
        assert_eq!(found.len(), 16 * 25 * 2);
        let streams = store.streams(&group("/busy"), "").await.expect("streams").expect("group");
        assert_eq!(streams.len(), 16);
    }
}
