//! The Lambda function registry on SQLite: one JSON document per function in its own database
//! file, `functions.sqlite3`, beside the queue database.
//!
//! Function records change at human speed (create, update, publish), so a plain connection
//! behind a mutex, used from a blocking task, is enough: no group commit. Each write is its own
//! transaction and `synchronous=FULL` syncs it before the call returns.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::{Arc, Mutex};
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
    /// The only connection; SQLite serializes writers anyway and writes are rare.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteFunctionStore {
    /// Opens (creating if needed) `functions.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        std::fs::create_dir_all(data_dir).map_err(crate::OpenError::Io)?;
        let conn = Connection::open(data_dir.join(FUNCTIONS_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteFunctionStore { conn: Arc::new(Mutex::new(conn)) })
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
        .map_err(|err| StoreError::Unavailable(format!("function store task: {err}")))?
        .map_err(|err| StoreError::Unavailable(format!("function store: {err}")))
    }
}

#[async_trait]
impl FunctionStore for SqliteFunctionStore {
    async fn load_all(&self) -> Result<Vec<FunctionRow>, StoreError> {
        let texts = self
            .with_conn(|conn| {
                let mut statement = conn.prepare("SELECT record FROM functions ORDER BY account, region, name")?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
            })
            .await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|err| StoreError::Unavailable(format!("corrupt function record: {err}")))
            })
            .collect()
    }

    async fn put(&self, row: &FunctionRow) -> Result<(), StoreError> {
        let record = serde_json::to_string(row).map_err(|err| StoreError::Unavailable(err.to_string()))?;
        let key = (row.account.clone(), row.region.clone(), row.name.clone());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO functions (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                params![key.0, key.1, key.2, record],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let key = (account.to_owned(), region.to_owned(), name.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![key.0, key.1, key.2],
            )
            .map(|_| ())
        })
        .await
    }

    async fn load_mappings(&self) -> Result<Vec<MappingRow>, StoreError> {
        let texts = self
            .with_conn(|conn| {
                let mut statement = conn.prepare("SELECT record FROM mappings ORDER BY uuid")?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
            })
            .await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|err| StoreError::Unavailable(format!("corrupt mapping record: {err}")))
            })
            .collect()
    }

    async fn put_mapping(&self, row: &MappingRow) -> Result<(), StoreError> {
        let record = serde_json::to_string(row).map_err(|err| StoreError::Unavailable(err.to_string()))?;
        let uuid = row.uuid.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO mappings (uuid, record) VALUES (?1, ?2)
                 ON CONFLICT (uuid) DO UPDATE SET record = excluded.record",
                params![uuid, record],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError> {
        let uuid = uuid.to_owned();
        self.with_conn(move |conn| conn.execute("DELETE FROM mappings WHERE uuid = ?1", params![uuid]).map(|_| ())).await
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
    }
}
