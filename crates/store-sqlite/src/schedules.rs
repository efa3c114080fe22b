//! EventBridge Scheduler groups and schedules on SQLite: one JSON document per group and per
//! schedule in `schedules.sqlite3`, beside the queue database. They change at human speed: a
//! `RecordDb` (one connection, each write synced) is enough.

use crate::records::{encode, RecordDb};
use async_trait::async_trait;
use std::path::Path;
use wharf_store::schedules::{ScheduleGroupRow, ScheduleRow, ScheduleStore};
use wharf_store::StoreError;

/// The file name of the schedules database inside the data directory.
pub const SCHEDULES_FILE: &str = "schedules.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schedule_groups (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole ScheduleGroupRow as JSON (wharf_store::schedules).
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS schedules (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The whole ScheduleRow, its target included, as JSON (wharf_store::schedules).
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, grp, name)
);
";

const PUT_SCHEDULE: &str = "INSERT INTO schedules (account, region, grp, name, record) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (account, region, grp, name) DO UPDATE SET record = excluded.record";
const DELETE_SCHEDULE: &str = "DELETE FROM schedules WHERE account = ?1 AND region = ?2 AND grp = ?3 AND name = ?4";

/// The durable [`ScheduleStore`].
pub struct SqliteScheduleStore {
    db: RecordDb,
}

impl SqliteScheduleStore {
    /// Opens (creating if needed) `schedules.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::OpenError> {
        Ok(SqliteScheduleStore { db: RecordDb::open(data_dir, SCHEDULES_FILE, SCHEMA, "schedule store")? })
    }
}

#[async_trait]
impl ScheduleStore for SqliteScheduleStore {
    async fn load_groups(&self) -> Result<Vec<ScheduleGroupRow>, StoreError> {
        self.db.load("SELECT record FROM schedule_groups ORDER BY account, region, name").await
    }

    async fn load_schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        self.db.load("SELECT record FROM schedules ORDER BY account, region, grp, name").await
    }

    async fn put_group(&self, row: &ScheduleGroupRow) -> Result<(), StoreError> {
        let values = vec![row.account.clone(), row.region.clone(), row.name.clone(), encode(row)?];
        self.db
            .execute(
                "INSERT INTO schedule_groups (account, region, name, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET record = excluded.record",
                values,
            )
            .await
    }

    async fn delete_group(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![account.to_owned(), region.to_owned(), name.to_owned()];
        self.db.execute("DELETE FROM schedule_groups WHERE account = ?1 AND region = ?2 AND name = ?3", values).await
    }

    async fn put_schedule(&self, row: &ScheduleRow) -> Result<(), StoreError> {
        let values = vec![row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone(), encode(row)?];
        self.db.execute(PUT_SCHEDULE, values).await
    }

    async fn delete_schedule(&self, account: &str, region: &str, group: &str, name: &str) -> Result<(), StoreError> {
        let values = vec![account.to_owned(), region.to_owned(), group.to_owned(), name.to_owned()];
        self.db.execute(DELETE_SCHEDULE, values).await
    }

    async fn clear_schedules(&self) -> Result<(), StoreError> {
        self.db.clear(&["schedule_groups", "schedules"]).await
    }

    async fn complete_schedules(
        &self,
        puts: Vec<ScheduleRow>,
        deletes: Vec<(String, String, String, String)>,
    ) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(puts.len() + deletes.len());
        for row in &puts {
            statements.push((
                PUT_SCHEDULE,
                vec![row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone(), encode(row)?],
            ));
        }
        for (account, region, group, name) in deletes {
            statements.push((DELETE_SCHEDULE, vec![account, region, group, name]));
        }
        self.db.execute_all(statements).await
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_schedule_store_conforms_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = super::SqliteScheduleStore::open(dir.path()).expect("open");
            wharf_store::schedules::conformance(&store).await;
            wharf_store::schedules::ScheduleStore::put_schedule(
                &store,
                &wharf_store::schedules::sample_schedule("g", "s"),
            )
            .await
            .expect("put");
        }
        let reopened = super::SqliteScheduleStore::open(dir.path()).expect("reopen");
        let rows = wharf_store::schedules::ScheduleStore::load_schedules(&reopened).await.expect("load");
        assert_eq!(rows.len(), 1, "the schedule survives a reopen");
    }
}
