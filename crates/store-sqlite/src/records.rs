//! A small SQLite database of JSON records, for data that changes at human speed (function
//! definitions, event source mappings, EventBridge buses and rules).
//!
//! One connection behind a mutex, used from blocking tasks: no group commit is needed at that
//! rate. Each statement is its own transaction, and `synchronous=FULL` syncs it before the call
//! returns.

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};
use wharf_store::StoreError;

/// A database file of JSON records.
pub(crate) struct RecordDb {
    /// The only connection; SQLite serializes writers anyway and writes are rare.
    conn: Arc<Mutex<Connection>>,
    /// What the database holds, for error messages.
    what: &'static str,
}

impl RecordDb {
    /// Opens (creating if needed) `file` in `data_dir` and applies `schema`.
    pub(crate) fn open(
        data_dir: &Path,
        file: &str,
        schema: &str,
        what: &'static str,
    ) -> Result<Self, crate::OpenError> {
        std::fs::create_dir_all(data_dir).map_err(crate::OpenError::Io)?;
        crate::check_wal(&data_dir.join(file))?;
        let conn = Connection::open(data_dir.join(file))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(schema)?;
        Ok(RecordDb { conn: Arc::new(Mutex::new(conn)), what })
    }

    pub(crate) async fn with_conn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        let what = self.what;
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&conn)
        })
        .await
        .map_err(|err| StoreError::Unavailable(format!("{what} task: {err}")))?
        .map_err(|err| StoreError::Unavailable(format!("{what}: {err}")))
    }

    /// Every record a `SELECT record FROM …` query returns, decoded.
    pub(crate) async fn load<T: serde::de::DeserializeOwned>(&self, sql: &'static str) -> Result<Vec<T>, StoreError> {
        let texts = self
            .with_conn(move |conn| {
                let mut statement = conn.prepare(sql)?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
            })
            .await?;
        let what = self.what;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|err| StoreError::Unavailable(format!("corrupt {what} record: {err}")))
            })
            .collect()
    }

    /// Deletes every row of `tables` in one transaction (a reset).
    pub(crate) async fn clear(&self, tables: &'static [&'static str]) -> Result<(), StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.unchecked_transaction()?;
            for table in tables {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            tx.commit()
        })
        .await
    }

    /// Runs each `(statement, parameters)` in one transaction: one sync for all of them.
    pub(crate) async fn execute_all(&self, statements: Vec<(&'static str, Vec<String>)>) -> Result<(), StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.unchecked_transaction()?;
            for (sql, values) in &statements {
                tx.execute(sql, rusqlite::params_from_iter(values))?;
            }
            tx.commit()
        })
        .await
    }

    /// Runs one statement with text parameters.
    pub(crate) async fn execute(&self, sql: &'static str, values: Vec<String>) -> Result<(), StoreError> {
        self.with_conn(move |conn| conn.execute(sql, rusqlite::params_from_iter(values)).map(|_| ())).await
    }
}

/// A record as stored: JSON text.
pub(crate) fn encode<T: serde::Serialize>(row: &T) -> Result<String, StoreError> {
    serde_json::to_string(row).map_err(|err| StoreError::Unavailable(err.to_string()))
}
