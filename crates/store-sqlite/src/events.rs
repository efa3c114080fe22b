//! EventBridge buses and rules on SQLite: one JSON document per bus and per rule (with its
//! targets and tags) in its own database file, `events.sqlite3`, beside the queue database.
//!
//! Rules change at human speed: a `RecordDb` (one connection, no group commit, each write
//! synced) is enough.

use crate::records::{encode, RecordDb};
use async_trait::async_trait;
use std::path::Path;
use wharf_store::events::{
    api_destination_arn, connection_arn, ApiDestinationRow, BusRow, ConnectionRow, EventStore, RuleRow,
};
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
CREATE TABLE IF NOT EXISTS connections (
    arn TEXT PRIMARY KEY,
    -- The whole ConnectionRow as JSON, credentials included.
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_destinations (
    arn TEXT PRIMARY KEY,
    -- The whole ApiDestinationRow as JSON.
    record TEXT NOT NULL
);
";

/// The durable [`EventStore`].
pub struct SqliteEventStore {
    db: RecordDb,
}

impl SqliteEventStore {
    /// Opens (creating if needed) `events.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        Ok(SqliteEventStore { db: RecordDb::open(data_dir, EVENTS_FILE, SCHEMA, "event store")? })
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn load_buses(&self) -> Result<Vec<BusRow>, StoreError> {
        self.db.load("SELECT record FROM buses ORDER BY account, region, name").await
    }

    async fn load_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.db.load("SELECT record FROM rules ORDER BY account, region, bus, name").await
    }

    async fn put_bus(&self, row: &BusRow) -> Result<(), StoreError> {
        let values = vec![row.account.clone(), row.region.clone(), row.name.clone(), encode(row)?];
        self.db
            .execute(
                "INSERT INTO buses (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                values,
            )
            .await
    }

    async fn delete_bus(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![account.to_owned(), region.to_owned(), name.to_owned()];
        self.db.execute("DELETE FROM buses WHERE account = ?1 AND region = ?2 AND name = ?3", values).await
    }

    async fn put_rule(&self, row: &RuleRow) -> Result<(), StoreError> {
        let values = vec![row.account.clone(), row.region.clone(), row.bus.clone(), row.name.clone(), encode(row)?];
        self.db
            .execute(
                "INSERT INTO rules (account, region, bus, name, record) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account, region, bus, name) DO UPDATE SET record = excluded.record",
                values,
            )
            .await
    }

    async fn delete_rule(&self, account: &str, region: &str, bus: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![account.to_owned(), region.to_owned(), bus.to_owned(), name.to_owned()];
        self.db.execute("DELETE FROM rules WHERE account = ?1 AND region = ?2 AND bus = ?3 AND name = ?4", values).await
    }

    async fn load_connections(&self) -> Result<Vec<ConnectionRow>, StoreError> {
        self.db.load("SELECT record FROM connections ORDER BY arn").await
    }

    async fn put_connection(&self, row: &ConnectionRow) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO connections (arn, record) VALUES (?1, ?2)
                 ON CONFLICT (arn) DO UPDATE SET record = excluded.record",
                vec![connection_arn(row), encode(row)?],
            )
            .await
    }

    async fn delete_connection(&self, arn: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM connections WHERE arn = ?1", vec![arn.to_owned()]).await
    }

    async fn load_api_destinations(&self) -> Result<Vec<ApiDestinationRow>, StoreError> {
        self.db.load("SELECT record FROM api_destinations ORDER BY arn").await
    }

    async fn put_api_destination(&self, row: &ApiDestinationRow) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO api_destinations (arn, record) VALUES (?1, ?2)
                 ON CONFLICT (arn) DO UPDATE SET record = excluded.record",
                vec![api_destination_arn(row), encode(row)?],
            )
            .await
    }

    async fn delete_api_destination(&self, arn: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM api_destinations WHERE arn = ?1", vec![arn.to_owned()]).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.db.clear(&["buses", "rules", "connections", "api_destinations"]).await
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
        wharf_store::events::EventStore::clear(&reopened).await.expect("clear");
        drop(reopened);
        let cleared = super::SqliteEventStore::open(dir.path()).expect("reopen");
        assert!(
            wharf_store::events::EventStore::load_rules(&cleared).await.expect("load").is_empty(),
            "a clear is durable"
        );
        assert!(wharf_store::events::EventStore::load_buses(&cleared).await.expect("load").is_empty());
    }
}
