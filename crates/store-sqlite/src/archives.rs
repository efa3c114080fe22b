//! EventBridge archives, archived events and replays on SQLite, in `archives.sqlite3`.
//!
//! Archives and replays are JSON records (a `RecordDb`); archived events are rows indexed by
//! `(archive, time_ms, seq)`, appended one batch per transaction (one sync per PutEvents
//! request) and read a page at a time.

use crate::records::{encode, RecordDb};
use async_trait::async_trait;
use rusqlite::params;
use std::path::Path;
use wharf_store::archives::{archive_arn, ArchiveRow, ArchiveStore, ArchivedEvent, ReplayRow};
use wharf_store::StoreError;
use wharf_types::EpochMillis;

/// The file name of the archives database inside the data directory.
pub const ARCHIVES_FILE: &str = "archives.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS archives (
    arn TEXT PRIMARY KEY,
    -- The whole ArchiveRow as JSON (wharf_store::archives).
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replays (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole ReplayRow as JSON.
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS archived_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    archive TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS archived_events_by_time ON archived_events (archive, time_ms, seq);
";

/// The durable [`ArchiveStore`].
pub struct SqliteArchiveStore {
    db: RecordDb,
}

impl SqliteArchiveStore {
    /// Opens (creating if needed) `archives.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        Ok(SqliteArchiveStore { db: RecordDb::open(data_dir, ARCHIVES_FILE, SCHEMA, "archive store")? })
    }
}

fn as_sql(value: EpochMillis) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl ArchiveStore for SqliteArchiveStore {
    async fn load_archives(&self) -> Result<Vec<ArchiveRow>, StoreError> {
        self.db.load("SELECT record FROM archives ORDER BY arn").await
    }

    async fn put_archive(&self, row: &ArchiveRow) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO archives (arn, record) VALUES (?1, ?2)
                 ON CONFLICT (arn) DO UPDATE SET record = excluded.record",
                vec![archive_arn(row), encode(row)?],
            )
            .await
    }

    async fn delete_archive(&self, arn: &str) -> Result<(), StoreError> {
        self.db
            .execute_all(vec![
                ("DELETE FROM archives WHERE arn = ?1", vec![arn.to_owned()]),
                ("DELETE FROM archived_events WHERE archive = ?1", vec![arn.to_owned()]),
            ])
            .await
    }

    async fn append(&self, events: Vec<ArchivedEvent>) -> Result<(), StoreError> {
        self.db
            .with_conn(move |conn| {
                let tx = conn.unchecked_transaction()?;
                {
                    let mut insert =
                        tx.prepare_cached("INSERT INTO archived_events (archive, time_ms, event) VALUES (?1, ?2, ?3)")?;
                    for event in &events {
                        insert.execute(params![event.archive_arn, as_sql(event.time_ms), event.event])?;
                    }
                }
                tx.commit()
            })
            .await
    }

    async fn events(
        &self,
        arn: &str,
        from_ms: EpochMillis,
        to_ms: EpochMillis,
        after: Option<(EpochMillis, u64)>,
        limit: usize,
    ) -> Result<Vec<ArchivedEvent>, StoreError> {
        let arn = arn.to_owned();
        let (after_time, after_seq) = after.map_or((-1, -1), |(time, seq)| (as_sql(time), as_sql(seq)));
        self.db
            .with_conn(move |conn| {
                let mut select = conn.prepare_cached(
                    "SELECT seq, time_ms, event FROM archived_events
                     WHERE archive = ?1 AND time_ms >= ?2 AND time_ms < ?3 AND (time_ms, seq) > (?4, ?5)
                     ORDER BY time_ms, seq LIMIT ?6",
                )?;
                let rows = select.query_map(
                    params![arn, as_sql(from_ms), as_sql(to_ms), after_time, after_seq, limit as i64],
                    |row| {
                        Ok(ArchivedEvent {
                            archive_arn: arn.clone(),
                            seq: row.get::<_, i64>(0)?.max(0) as u64,
                            time_ms: row.get::<_, i64>(1)?.max(0) as u64,
                            event: row.get(2)?,
                        })
                    },
                )?;
                rows.collect()
            })
            .await
    }

    async fn stats(&self, arn: &str) -> Result<(u64, u64), StoreError> {
        let arn = arn.to_owned();
        self.db
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(event AS BLOB))), 0) FROM archived_events WHERE archive = ?1",
                    params![arn],
                    |row| Ok((row.get::<_, i64>(0)?.max(0) as u64, row.get::<_, i64>(1)?.max(0) as u64)),
                )
            })
            .await
    }

    async fn expire(&self, arn: &str, before_ms: EpochMillis) -> Result<u64, StoreError> {
        let arn = arn.to_owned();
        self.db
            .with_conn(move |conn| {
                conn.execute(
                    "DELETE FROM archived_events WHERE archive = ?1 AND time_ms < ?2",
                    params![arn, as_sql(before_ms)],
                )
                .map(|count| count as u64)
            })
            .await
    }

    async fn load_replays(&self) -> Result<Vec<ReplayRow>, StoreError> {
        self.db.load("SELECT record FROM replays ORDER BY account, region, name").await
    }

    async fn put_replay(&self, row: &ReplayRow) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO replays (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                vec![row.account.clone(), row.region.clone(), row.name.clone(), encode(row)?],
            )
            .await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.db.clear(&["archives", "replays", "archived_events"]).await
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_archive_store_conforms_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = super::SqliteArchiveStore::open(dir.path()).expect("open");
            wharf_store::archives::conformance(&store).await;
            let row = wharf_store::archives::ArchiveRow {
                account: "000000000000".into(),
                region: "us-east-1".into(),
                name: "kept".into(),
                source_arn: "arn:aws:events:us-east-1:000000000000:event-bus/default".into(),
                description: None,
                event_pattern: None,
                retention_days: 1,
                created_ms: 1,
            };
            wharf_store::archives::ArchiveStore::put_archive(&store, &row).await.expect("put");
        }
        let reopened = super::SqliteArchiveStore::open(dir.path()).expect("reopen");
        let archives = wharf_store::archives::ArchiveStore::load_archives(&reopened).await.expect("load");
        assert_eq!(archives.len(), 1, "the archive survives a reopen");
    }
}
