//! Subscription filters: a log group's events that match a filter pattern, handed to a
//! destination (a Lambda function) as they are written.
//!
//! The filters live in the store and, once read, in memory: every append looks up its group's
//! filters in a map, so a group without filters costs one lookup. Matching events of one
//! append go to each matching filter's destination as one batch through
//! [`SubscriptionSink`], which the wiring implements (AWS's `awslogs.data` payload to an
//! asynchronous invocation); the hand-off runs in a task of its own, so writing logs never
//! waits for it. At most [`MAX_FILTERS_PER_GROUP`] filters per group, as AWS allows.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wharf_store::logs::{LogGroupKey, SubscriptionFilterRecord};
use wharf_types::{AccountId, EpochMillis, Region};

use crate::{FilterPattern, Logs, LogsError};

/// Most subscription filters of one log group.
pub const MAX_FILTERS_PER_GROUP: usize = 2;

/// One batch for a destination.
#[derive(Clone, Debug)]
pub struct SubscriptionBatch {
    /// The group's account (the payload's `owner`).
    pub account: AccountId,
    /// Its region.
    pub region: Region,
    /// The log group.
    pub group: String,
    /// The stream the events were written to.
    pub stream: String,
    /// The filter that matched.
    pub filter: String,
    /// Where the batch goes.
    pub destination_arn: String,
    /// The events: id, timestamp, message.
    pub events: Vec<(String, EpochMillis, String)>,
}

/// Where subscription batches go; implemented by the wiring.
#[async_trait]
pub trait SubscriptionSink: Send + Sync + 'static {
    /// Whether the destination exists and lets CloudWatch Logs deliver to it (checked at
    /// PutSubscriptionFilter, as AWS does); the error is the reason.
    async fn check(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        destination_arn: &str,
    ) -> Result<(), String>;
    /// Hands a batch over.
    async fn deliver(&self, batch: SubscriptionBatch);
}

/// A filter with its parsed pattern.
type Compiled = (SubscriptionFilterRecord, FilterPattern);
type GroupFilters = HashMap<(AccountId, Region, String), Vec<Compiled>>;

/// The subscription side of [`Logs`].
#[derive(Default)]
pub(crate) struct Subscriptions {
    /// Read from the store on first use.
    filters: tokio::sync::OnceCell<Mutex<GroupFilters>>,
    /// Where batches go, once the wiring connects it.
    sink: OnceLock<Arc<dyn SubscriptionSink>>,
    /// Serializes puts, so the per-group limit holds under concurrent puts.
    put_lock: tokio::sync::Mutex<()>,
}

/// The `eventId` of an event: digits, like AWS's, stable because `seq` is never reused.
pub fn event_id(timestamp: EpochMillis, seq: u64) -> String {
    format!("{timestamp:020}{seq:020}")
}

impl Logs {
    /// Connects where subscription batches go.
    pub fn set_subscription_sink(&self, sink: Arc<dyn SubscriptionSink>) {
        let _ = self.subscriptions.sink.set(sink);
    }

    async fn filters(&self) -> Result<&Mutex<GroupFilters>, LogsError> {
        self.subscriptions
            .filters
            .get_or_try_init(|| async {
                let mut map: GroupFilters = HashMap::new();
                for (account, region, record) in self.store.subscription_filters().await? {
                    match record.pattern.parse::<FilterPattern>() {
                        Ok(pattern) => {
                            map.entry((account, region, record.group.clone())).or_default().push((record, pattern))
                        }
                        Err(err) => {
                            tracing::warn!(filter = %record.name, error = %err, "skipping a stored subscription filter whose pattern no longer parses")
                        }
                    }
                }
                Ok::<_, LogsError>(Mutex::new(map))
            })
            .await
    }

    /// PutSubscriptionFilter: creates or replaces the filter `record.name` of its group.
    pub async fn put_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        mut record: SubscriptionFilterRecord,
    ) -> Result<(), LogsError> {
        if record.name.is_empty() || record.name.len() > 512 || record.name.contains([':', '*']) {
            return Err(LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{}' at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
                record.name
            )));
        }
        let pattern =
            record.pattern.parse::<FilterPattern>().map_err(|err| LogsError::InvalidParameter(err.to_string()))?;
        let key = LogGroupKey { account: account.clone(), region: region.clone(), name: record.group.clone() };
        self.group(&key).await?;
        if !record.destination_arn.starts_with("arn:aws:lambda:") {
            return Err(LogsError::InvalidParameter(format!(
                "wharf delivers subscription filters to Lambda functions only, not to {}",
                record.destination_arn
            )));
        }
        if let Some(sink) = self.subscriptions.sink.get() {
            sink.check(account, region, &record.group, &record.destination_arn)
                .await
                .map_err(LogsError::InvalidParameter)?;
        }
        let filters = self.filters().await?;
        let _put = self.subscriptions.put_lock.lock().await;
        {
            let map = filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let existing = map.get(&(account.clone(), region.clone(), record.group.clone()));
            let others = existing.map_or(0, |list| list.iter().filter(|(other, _)| other.name != record.name).count());
            if others >= MAX_FILTERS_PER_GROUP {
                return Err(LogsError::LimitExceeded);
            }
            // A replaced filter keeps its creation time (as the store's upsert does).
            if let Some((same, _)) = existing.and_then(|list| list.iter().find(|(other, _)| other.name == record.name))
            {
                record.created_ms = same.created_ms;
            }
        }
        self.store.put_subscription_filter(account, region, record.clone()).await?;
        let mut map = filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = map.entry((account.clone(), region.clone(), record.group.clone())).or_default();
        list.retain(|(other, _)| other.name != record.name);
        list.push((record, pattern));
        list.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(())
    }

    /// DescribeSubscriptionFilters: the group's filters whose names start with `prefix`.
    pub async fn subscription_filters(
        &self,
        key: &LogGroupKey,
        prefix: &str,
    ) -> Result<Vec<SubscriptionFilterRecord>, LogsError> {
        self.group(key).await?;
        let filters = self.filters().await?;
        let map = filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(map
            .get(&(key.account.clone(), key.region.clone(), key.name.clone()))
            .map(|list| {
                list.iter().filter(|(record, _)| record.name.starts_with(prefix)).map(|(r, _)| r.clone()).collect()
            })
            .unwrap_or_default())
    }

    /// DeleteSubscriptionFilter.
    pub async fn delete_subscription_filter(&self, key: &LogGroupKey, name: &str) -> Result<(), LogsError> {
        self.group(key).await?;
        let filters = self.filters().await?;
        if !self.store.delete_subscription_filter(&key.account, &key.region, &key.name, name).await? {
            return Err(LogsError::NotFound("The specified subscription filter does not exist.".into()));
        }
        let mut map = filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(list) = map.get_mut(&(key.account.clone(), key.region.clone(), key.name.clone())) {
            list.retain(|(record, _)| record.name != name);
        }
        Ok(())
    }

    /// Forgets a deleted group's filters (the store deleted them with the group).
    pub(crate) async fn forget_group_filters(&self, key: &LogGroupKey) {
        if let Ok(filters) = self.filters().await {
            filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(
                key.account.clone(),
                key.region.clone(),
                key.name.clone(),
            ));
        }
    }

    /// A copy of the events about to be written, for [`Logs::forward_written`], only when
    /// their group has subscription filters: function output is never copied otherwise.
    pub(crate) async fn copy_if_subscribed<'a>(
        &self,
        key: &LogGroupKey,
        events: impl Iterator<Item = (EpochMillis, &'a String)>,
    ) -> Vec<(EpochMillis, String)> {
        if self.subscriptions.sink.get().is_none() {
            return Vec::new();
        }
        let Ok(filters) = self.filters().await else { return Vec::new() };
        let subscribed = filters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(key.account.clone(), key.region.clone(), key.name.clone()))
            .is_some_and(|list| !list.is_empty());
        if !subscribed {
            return Vec::new();
        }
        events.map(|(timestamp, message)| (timestamp, message.clone())).collect()
    }

    /// Hands the events just written (`(timestamp, message)`, the last one with `last_seq`)
    /// to the group's matching filters.
    pub(crate) async fn forward_written(
        &self,
        key: &LogGroupKey,
        stream: &str,
        events: &[(EpochMillis, String)],
        last_seq: u64,
    ) {
        let Some(sink) = self.subscriptions.sink.get() else { return };
        if events.is_empty() {
            return;
        }
        let Ok(filters) = self.filters().await else { return };
        let batches: Vec<SubscriptionBatch> = {
            let map = filters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some(list) = map.get(&(key.account.clone(), key.region.clone(), key.name.clone())) else { return };
            let first_seq = last_seq.saturating_sub(events.len() as u64 - 1);
            list.iter()
                .filter_map(|(record, pattern)| {
                    let matched: Vec<(String, EpochMillis, String)> = events
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, message))| pattern.matches(message))
                        .map(|(index, (timestamp, message))| {
                            (event_id(*timestamp, first_seq + index as u64), *timestamp, message.clone())
                        })
                        .collect();
                    (!matched.is_empty()).then(|| SubscriptionBatch {
                        account: key.account.clone(),
                        region: key.region.clone(),
                        group: key.name.clone(),
                        stream: stream.to_owned(),
                        filter: record.name.clone(),
                        destination_arn: record.destination_arn.clone(),
                        events: matched,
                    })
                })
                .collect()
        };
        for batch in batches {
            let sink = Arc::clone(sink);
            tokio::spawn(async move { sink.deliver(batch).await });
        }
    }
}
