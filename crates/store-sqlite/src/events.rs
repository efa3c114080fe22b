//! EventBridge buses and rules on SQLite: one JSON document per bus and per rule (with its
//! targets and tags) in its own database file, `events.sqlite3`, beside the queue database.
//!
//! Rules change at human speed, so a plain connection behind a mutex, used from a blocking
//! task, is enough: no group commit. Each write is its own transaction and `synchronous=FULL`
//! syncs it before the call returns.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::{Arc, Mutex};
use wharf_store::events::{BusRow, EventStore, RuleRow};
use wharf_store::StoreError;

/// The file name of the events database inside the data directory.
pub const EVENTS_FILE: &str = "events.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buses (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole BusRow as JSON (wharf_store::events).
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS rules (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    bus TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole RuleRow, targets and tags included, as JSON (wharf_store::events).
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, bus, name)
);
";

/// The durable [`EventStore`].
pub struct SqliteEventStore {
    /// The only connection; SQLite serializes writers anyway and writes are rare.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteEventStore {
    /// Opens (creating if needed) `events.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        std::fs::create_dir_all(data_dir).map_err(crate::OpenError::Io)?;
        let conn = Connection::open(data_dir.join(EVENTS_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteEventStore { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&conn)
        })
        .await
        .map_err(|err| StoreError::Unavailable(format!("event store task: {err}")))?
        .map_err(|err| StoreError::Unavailable(format!("event store: {err}")))
    }

    async fn records<T: serde::de::DeserializeOwned>(&self, sql: &'static str) -> Result<Vec<T>, StoreError> {
        let texts = self
            .with_conn(move |conn| {
                let mut statement = conn.prepare(sql)?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
            })
            .await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|err| StoreError::Unavailable(format!("corrupt events record: {err}")))
            })
            .collect()
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn load_buses(&self) -> Result<Vec<BusRow>, StoreError> {
        self.records("SELECT record FROM buses ORDER BY account, region, name").await
    }

    async fn load_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.records("SELECT record FROM rules ORDER BY account, region, bus, name").await
    }

    async fn put_bus(&self, row: &BusRow) -> Result<(), StoreError> {
        let record = serde_json::to_string(row).map_err(|err| StoreError::Unavailable(err.to_string()))?;
        let key = (row.account.clone(), row.region.clone(), row.name.clone());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO buses (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                params![key.0, key.1, key.2, record],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delete_bus(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let key = (account.to_owned(), region.to_owned(), name.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM buses WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![key.0, key.1, key.2],
            )
            .map(|_| ())
        })
        .await
    }

    async fn put_rule(&self, row: &RuleRow) -> Result<(), StoreError> {
        let record = serde_json::to_string(row).map_err(|err| StoreError::Unavailable(err.to_string()))?;
        let key = (row.account.clone(), row.region.clone(), row.bus.clone(), row.name.clone());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO rules (account, region, bus, name, record) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account, region, bus, name) DO UPDATE SET record = excluded.record",
                params![key.0, key.1, key.2, key.3, record],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delete_rule(&self, account: &str, region: &str, bus: &str, name: &str) -> Result<(), StoreError> {
        let key = (account.to_owned(), region.to_owned(), bus.to_owned(), name.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM rules WHERE account = ?1 AND region = ?2 AND bus = ?3 AND name = ?4",
                params![key.0, key.1, key.2, key.3],
            )
            .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_event_store_conforms_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = super::SqliteEventStore::open(dir.path()).expect("open");
            wharf_store::events::conformance(&store).await;
        }
        let reopened = super::SqliteEventStore::open(dir.path()).expect("reopen");
        let rules = wharf_store::events::EventStore::load_rules(&reopened).await.expect("load");
        assert_eq!(rules.len(), 1, "the rule survives a reopen");
        let buses = wharf_store::events::EventStore::load_buses(&reopened).await.expect("load");
        assert_eq!(buses.len(), 1, "the bus survives a reopen");
    }
}
