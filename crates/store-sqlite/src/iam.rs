//! IAM on SQLite: one JSON document per user, group, role and managed policy in its own
//! database file, `iam.sqlite3`, beside the queue database.
//!
//! IAM changes at human speed: a `RecordDb` (one connection, each write synced) is enough.

use crate::records::{encode, RecordDb};
use async_trait::async_trait;
use std::path::Path;
use wharf_store::iam::{IamRecord, IamStore};
use wharf_store::StoreError;

/// The file name of the IAM database inside the data directory.
pub const IAM_FILE: &str = "iam.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole IamRecord as JSON (wharf_store::iam).
    record TEXT NOT NULL,
    PRIMARY KEY (kind, account, name)
);
";

/// The durable [`IamStore`].
pub struct SqliteIamStore {
    db: RecordDb,
}

impl SqliteIamStore {
    /// Opens (creating if needed) `iam.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        Ok(SqliteIamStore { db: RecordDb::open(data_dir, IAM_FILE, SCHEMA, "IAM store")? })
    }
}

#[async_trait]
impl IamStore for SqliteIamStore {
    async fn load(&self) -> Result<Vec<IamRecord>, StoreError> {
        self.db.load("SELECT record FROM entities ORDER BY kind, account, name").await
    }

    async fn put(&self, record: &IamRecord) -> Result<(), StoreError> {
        let (kind, account, name) = record.key();
        let values = vec![kind.to_owned(), account.to_owned(), name.to_owned(), encode(record)?];
        self.db
            .execute(
                "INSERT INTO entities (kind, account, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, account, name) DO UPDATE SET record = excluded.record",
                values,
            )
            .await
    }

    async fn delete(&self, kind: &str, account: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![kind.to_owned(), account.to_owned(), name.to_owned()];
        self.db.execute("DELETE FROM entities WHERE kind = ?1 AND account = ?2 AND name = ?3", values).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.db.clear(&["entities"]).await
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_iam_store_conforms_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = super::SqliteIamStore::open(dir.path()).expect("open");
            wharf_store::iam::conformance(&store).await;
        }
        let reopened = super::SqliteIamStore::open(dir.path()).expect("reopen");
        let records = wharf_store::iam::IamStore::load(&reopened).await.expect("load");
        assert_eq!(records.len(), 1, "the group survives a reopen");
        wharf_store::iam::IamStore::clear(&reopened).await.expect("clear");
        drop(reopened);
        let cleared = super::SqliteIamStore::open(dir.path()).expect("reopen");
        assert!(wharf_store::iam::IamStore::load(&cleared).await.expect("load").is_empty(), "a clear is durable");
    }
}
