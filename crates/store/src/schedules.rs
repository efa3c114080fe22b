//! Storage of EventBridge Scheduler schedule groups and schedules.
//!
//! Like rules, schedules change at human speed: each is one record ([`ScheduleRow`]) replaced
//! whole, read once at start-up and written through on every change. The `default` group of
//! an account and region exists without a row.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::EpochMillis;

use crate::StoreError;

/// A schedule group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleGroupRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Group name.
    pub name: String,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// When it last changed.
    pub modified_ms: EpochMillis,
    /// Tags (only groups are taggable).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A schedule's target, as CreateSchedule gives it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleTargetRow {
    /// What is invoked: a function, a queue, a bus or a universal target.
    pub arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// What is sent (context attributes substituted at each invocation).
    #[serde(default)]
    pub input: Option<String>,
    /// `DeadLetterConfig.Arn`: a standard SQS queue.
    #[serde(default)]
    pub dead_letter_arn: Option<String>,
    /// `RetryPolicy.MaximumRetryAttempts` (185 when absent).
    #[serde(default)]
    pub maximum_retry_attempts: Option<u32>,
    /// `RetryPolicy.MaximumEventAgeInSeconds` (86,400 when absent).
    #[serde(default)]
    pub maximum_event_age_seconds: Option<u32>,
    /// `SqsParameters.MessageGroupId`.
    #[serde(default)]
    pub message_group_id: Option<String>,
    /// `EventBridgeParameters`: (DetailType, Source).
    #[serde(default)]
    pub eventbridge: Option<(String, String)>,
    /// The other target parameters (ECS, Kinesis, SageMaker) by name, as JSON text, kept as
    /// given and returned.
    #[serde(default)]
    pub other_parameters: BTreeMap<String, String>,
}

/// A schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Its group.
    pub group: String,
    /// Its name.
    pub name: String,
    /// `at(...)`, `rate(...)` or `cron(...)`.
    pub expression: String,
    /// The IANA time zone of the expression (UTC when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// `StartDate`, epoch millis.
    #[serde(default)]
    pub start_ms: Option<EpochMillis>,
    /// `EndDate`, epoch millis.
    #[serde(default)]
    pub end_ms: Option<EpochMillis>,
    /// `FlexibleTimeWindow.MaximumWindowInMinutes` when the mode is FLEXIBLE.
    #[serde(default)]
    pub flexible_window_minutes: Option<u32>,
    /// `State` is ENABLED.
    pub enabled: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// `ActionAfterCompletion` is DELETE.
    #[serde(default)]
    pub delete_after_completion: bool,
    /// Recorded only.
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// The target.
    pub target: ScheduleTargetRow,
    /// A one-time schedule kept after its invocation (`ActionAfterCompletion` NONE).
    #[serde(default)]
    pub completed: bool,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// When it last changed (a rate schedule without a StartDate counts from here).
    pub modified_ms: EpochMillis,
}

/// Storage for schedule groups and schedules. Each change returns only after it is durable.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Every stored group, read once at start-up.
    async fn load_groups(&self) -> Result<Vec<ScheduleGroupRow>, StoreError>;
    /// Every stored schedule, read once at start-up.
    async fn load_schedules(&self) -> Result<Vec<ScheduleRow>, StoreError>;
    /// Creates or replaces a group.
    async fn put_group(&self, row: &ScheduleGroupRow) -> Result<(), StoreError>;
    /// Deletes a group; deleting a missing one is not an error.
    async fn delete_group(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError>;
    /// Creates or replaces a schedule.
    async fn put_schedule(&self, row: &ScheduleRow) -> Result<(), StoreError>;
    /// Deletes a schedule; deleting a missing one is not an error.
    async fn delete_schedule(&self, account: &str, region: &str, group: &str, name: &str) -> Result<(), StoreError>;
    /// Deletes every group and schedule (a reset).
    async fn clear_schedules(&self) -> Result<(), StoreError>;
    /// Replaces `puts` and deletes `deletes` (account, region, group, name) together: one
    /// durable write for all the schedules a minute completed.
    async fn complete_schedules(
        &self,
        puts: Vec<ScheduleRow>,
        deletes: Vec<(String, String, String, String)>,
    ) -> Result<(), StoreError> {
        for row in &puts {
            self.put_schedule(row).await?;
        }
        for (account, region, group, name) in &deletes {
            self.delete_schedule(account, region, group, name).await?;
        }
        Ok(())
    }
}

type GroupKey = (String, String, String);
type ScheduleKey = (String, String, String, String);

/// A [`ScheduleStore`] in memory only.
#[derive(Default)]
pub struct MemoryScheduleStore {
    groups: Mutex<BTreeMap<GroupKey, ScheduleGroupRow>>,
    schedules: Mutex<BTreeMap<ScheduleKey, ScheduleRow>>,
}

#[async_trait]
impl ScheduleStore for MemoryScheduleStore {
    async fn load_groups(&self) -> Result<Vec<ScheduleGroupRow>, StoreError> {
        Ok(self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn load_schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        Ok(self.schedules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn put_group(&self, row: &ScheduleGroupRow) -> Result<(), StoreError> {
        let key = (row.account.clone(), row.region.clone(), row.name.clone());
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key, row.clone());
        Ok(())
    }

    async fn delete_group(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        let key = (account.to_owned(), region.to_owned(), name.to_owned());
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&key);
        Ok(())
    }

    async fn put_schedule(&self, row: &ScheduleRow) -> Result<(), StoreError> {
        let key = (row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone());
        self.schedules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key, row.clone());
        Ok(())
    }

    async fn delete_schedule(&self, account: &str, region: &str, group: &str, name: &str) -> Result<(), StoreError> {
        let key = (account.to_owned(), region.to_owned(), group.to_owned(), name.to_owned());
        self.schedules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&key);
        Ok(())
    }

    async fn clear_schedules(&self) -> Result<(), StoreError> {
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        self.schedules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        Ok(())
    }
}

/// A schedule record for tests.
pub fn sample_schedule(group: &str, name: &str) -> ScheduleRow {
    ScheduleRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        group: group.into(),
        name: name.into(),
        expression: "rate(5 minutes)".into(),
        timezone: None,
        start_ms: None,
        end_ms: None,
        flexible_window_minutes: None,
        enabled: true,
        description: None,
        delete_after_completion: false,
        kms_key_arn: None,
        target: ScheduleTargetRow {
            arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            ..ScheduleTargetRow::default()
        },
        created_ms: 1,
        modified_ms: 1,
        completed: false,
    }
}

/// Checks a [`ScheduleStore`] backend: records round-trip, replace, delete and clear.
pub async fn conformance(store: &dyn ScheduleStore) {
    let group = ScheduleGroupRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "jobs".into(),
        created_ms: 1,
        modified_ms: 1,
        tags: BTreeMap::from([("team".into(), "core".into())]),
    };
    store.put_group(&group).await.expect("put group");
    let mut schedule = sample_schedule("jobs", "nightly");
    store.put_schedule(&schedule).await.expect("put");
    schedule.expression = "cron(0 3 * * ? *)".into();
    schedule.timezone = Some("Europe/Paris".into());
    store.put_schedule(&schedule).await.expect("replace");
    store.put_schedule(&sample_schedule("default", "other")).await.expect("put");
    assert_eq!(store.load_groups().await.expect("groups"), vec![group]);
    let mut all = store.load_schedules().await.expect("load");
    all.sort_by(|left, right| left.name.cmp(&right.name));
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], schedule);
    store.delete_schedule("000000000000", "us-east-1", "default", "other").await.expect("delete");
    store.delete_schedule("000000000000", "us-east-1", "default", "missing").await.expect("delete missing");
    assert_eq!(store.load_schedules().await.expect("load").len(), 1);
    store.delete_group("000000000000", "us-east-1", "jobs").await.expect("delete group");
    assert!(store.load_groups().await.expect("groups").is_empty());
    store.clear_schedules().await.expect("clear");
    assert!(store.load_schedules().await.expect("load").is_empty());
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        super::conformance(&super::MemoryScheduleStore::default()).await;
    }
}
