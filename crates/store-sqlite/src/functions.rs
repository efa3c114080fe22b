//! The Lambda function registry on SQLite: one JSON document per function in its own database
//! file, `functions.sqlite3`, beside the queue database.
//!
//! Function records change at human speed (create, update, publish): a `RecordDb` (one
//! connection, no group commit, each write synced) is enough.

use crate::records::{encode, RecordDb};
use async_trait::async_trait;
use std::path::Path;
use wharf_store::functions::{FunctionRow, FunctionStore, MappingRow};
use wharf_store::StoreError;

/// The file name of the function database inside the data directory.
pub const FUNCTIONS_FILE: &str = "functions.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS functions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole FunctionRow as JSON (wharf_store::functions).
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS mappings (
    uuid TEXT PRIMARY KEY,
    -- The whole MappingRow as JSON (wharf_store::functions).
    record TEXT NOT NULL
);
";

/// The durable [`FunctionStore`].
pub struct SqliteFunctionStore {
    db: RecordDb,
}

impl SqliteFunctionStore {
    /// Opens (creating if needed) `functions.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        Ok(SqliteFunctionStore { db: RecordDb::open(data_dir, FUNCTIONS_FILE, SCHEMA, "function store")? })
    }
}

#[async_trait]
impl FunctionStore for SqliteFunctionStore {
    async fn load_all(&self) -> Result<Vec<FunctionRow>, StoreError> {
        self.db.load("SELECT record FROM functions ORDER BY account, region, name").await
    }

    async fn put(&self, row: &FunctionRow) -> Result<(), StoreError> {
        let values = vec![row.account.clone(), row.region.clone(), row.name.clone(), encode(row)?];
        self.db
            .execute(
                "INSERT INTO functions (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                values,
            )
            .await
    }

    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![account.to_owned(), region.to_owned(), name.to_owned()];
        self.db.execute("DELETE FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3", values).await
    }

    async fn load_mappings(&self) -> Result<Vec<MappingRow>, StoreError> {
        self.db.load("SELECT record FROM mappings ORDER BY uuid").await
    }

    async fn put_mapping(&self, row: &MappingRow) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO mappings (uuid, record) VALUES (?1, ?2)
                 ON CONFLICT (uuid) DO UPDATE SET record = excluded.record",
                vec![row.uuid.clone(), encode(row)?],
            )
            .await
    }

    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM mappings WHERE uuid = ?1", vec![uuid.to_owned()]).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.db.clear(&["functions", "mappings"]).await
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_function_store_conforms_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = super::SqliteFunctionStore::open(dir.path()).expect("open");
            wharf_store::functions::conformance(&store).await;
        }
        let reopened = super::SqliteFunctionStore::open(dir.path()).expect("reopen");
        let rows = wharf_store::functions::FunctionStore::load_all(&reopened).await.expect("load");
        assert_eq!(rows.len(), 1, "the record survives a reopen");
        wharf_store::functions::FunctionStore::clear(&reopened).await.expect("clear");
        drop(reopened);
        let cleared = super::SqliteFunctionStore::open(dir.path()).expect("reopen");
        assert!(
            wharf_store::functions::FunctionStore::load_all(&cleared).await.expect("load").is_empty(),
            "a clear is durable"
        );
    }
}
