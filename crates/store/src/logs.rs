//! Storage of CloudWatch Logs groups, streams and events.
//!
//! [`LogStore`] speaks the logs engine's language: groups and streams are created and deleted,
//! events are appended to a stream and read back by group, streams and time range, in
//! `(timestamp, seq)` order, with a [`EventPosition`] cursor. Filter patterns, validation and
//! paging tokens live in the engine above; the store only selects by time and stream.
//!
//! Every event gets a sequence number `seq` from the store, unique within the store and never
//! reused: the engine turns it into the stable `eventId` clients de-duplicate by.
//!
//! [`MemoryLogStore`] serves `--in-memory`; [`conformance`] is the suite every backend runs.

use crate::StoreError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::{AccountId, EpochMillis, Region};

/// The identity of a log group: groups live per account and region, as on AWS.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogGroupKey {
    /// The owning account.
    pub account: AccountId,
    /// The region.
    pub region: Region,
    /// The group name (already validated by the engine).
    pub name: String,
}

/// A stored log group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroupRecord {
    /// Who and where.
    pub key: LogGroupKey,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// Days events are kept; `None` keeps them forever.
    pub retention_days: Option<u32>,
    /// Tags, sorted by key.
    pub tags: BTreeMap<String, String>,
    /// Bytes of event messages stored (approximate, as on AWS).
    pub stored_bytes: u64,
}

/// A stored log stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStreamRecord {
    /// The stream name, unique within its group.
    pub name: String,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// The smallest event timestamp ever appended.
    pub first_event_ms: Option<EpochMillis>,
    /// The largest event timestamp ever appended.
    pub last_event_ms: Option<EpochMillis>,
    /// When the last batch was appended.
    pub last_ingestion_ms: Option<EpochMillis>,
    /// Bytes of event messages appended.
    pub stored_bytes: u64,
}

/// An event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's own time.
    pub timestamp: EpochMillis,
    /// The text.
    pub message: String,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEventRecord {
    /// The stream it was appended to.
    pub stream: String,
    /// The event's own time.
    pub timestamp: EpochMillis,
    /// When it was appended.
    pub ingestion_ms: EpochMillis,
    /// Store-wide sequence number, never reused.
    pub seq: u64,
    /// The text.
    pub message: String,
}

impl LogEventRecord {
    /// Where this event sits in a group's order.
    pub fn position(&self) -> EventPosition {
        EventPosition { timestamp: self.timestamp, seq: self.seq }
    }
}

/// A place in a group's event order, which is `(timestamp, seq)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPosition {
    /// The event timestamp.
    pub timestamp: EpochMillis,
    /// The sequence number.
    pub seq: u64,
}

/// Which streams of a group a query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamSelector {
    /// Every stream.
    All,
    /// Exactly these streams.
    Names(Vec<String>),
    /// Streams whose name starts with this prefix.
    Prefix(String),
}

impl StreamSelector {
    /// Whether `stream` is selected.
    pub fn matches(&self, stream: &str) -> bool {
        match self {
            StreamSelector::All => true,
            StreamSelector::Names(names) => names.iter().any(|name| name == stream),
            StreamSelector::Prefix(prefix) => stream.starts_with(prefix.as_str()),
        }
    }
}

/// A read of events, one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// The group.
    pub group: LogGroupKey,
    /// Which of its streams.
    pub streams: StreamSelector,
    /// Earliest timestamp, inclusive.
    pub start: Option<EpochMillis>,
    /// Latest timestamp, exclusive.
    pub end: Option<EpochMillis>,
    /// Ascending: only events strictly after this position; descending: strictly before.
    pub cursor: Option<EventPosition>,
    /// Newest first.
    pub descending: bool,
    /// At most this many events.
    pub limit: usize,
}

/// What [`LogStore::create_stream`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamOutcome {
    /// Done.
    Done,
    /// The group does not exist.
    GroupMissing,
    /// Create: the stream exists already; delete: it does not exist.
    StreamConflict,
}

/// What [`LogStore::append`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Appended; the sequence number of the last event (0 for an empty batch).
    Appended(u64),
    /// The group does not exist (and was not to be created).
    GroupMissing,
    /// The stream does not exist (and was not to be created).
    StreamMissing,
}

/// A CloudWatch Logs resource policy (PutResourcePolicy), kept per account and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePolicyRecord {
    /// `policyName`.
    pub name: String,
    /// The policy document, JSON.
    pub document: String,
    /// When it was last written.
    pub updated_ms: EpochMillis,
    /// The log group it is attached to (`policyScope` RESOURCE), or `None` for the account.
    pub resource_arn: Option<String>,
    /// `revisionId`, new at every write.
    pub revision: String,
}

/// A subscription filter: a log group's matching events sent to a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionFilterRecord {
    /// The log group.
    pub group: String,
    /// `filterName`.
    pub name: String,
    /// `filterPattern`, as given.
    pub pattern: String,
    /// `destinationArn`: a Lambda function.
    pub destination_arn: String,
    /// `roleArn`, recorded.
    pub role_arn: Option<String>,
    /// `distribution`, recorded.
    pub distribution: Option<String>,
    /// When it was created.
    pub created_ms: EpochMillis,
}

/// Storage for log groups, streams and events.
///
/// Every method that changes state returns only after the change is durable (for a durable
/// backend).
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// Whether the store can write now; why not otherwise (for the health answer).
    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// Makes the on-disk files complete by themselves (a clean stop).
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Creates or replaces the resource policy `policy.name` of `account` in `region`.
    async fn put_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        policy: ResourcePolicyRecord,
    ) -> Result<(), StoreError>;

    /// The resource policies of `account` in `region`, by name.
    async fn resource_policies(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<ResourcePolicyRecord>, StoreError>;

    /// Creates or replaces the subscription filter `filter.name` of its group.
    async fn put_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        filter: SubscriptionFilterRecord,
    ) -> Result<(), StoreError>;

    /// Every subscription filter of every account, by account, region, group and name (read
    /// once: the engine keeps them in memory).
    async fn subscription_filters(&self) -> Result<Vec<(AccountId, Region, SubscriptionFilterRecord)>, StoreError>;

    /// Deletes a subscription filter; whether it existed.
    async fn delete_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes a resource policy; whether it existed.
    async fn delete_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Creates a group; false if it exists already.
    async fn create_group(
        &self,
        key: &LogGroupKey,
        tags: BTreeMap<String, String>,
        now: EpochMillis,
    ) -> Result<bool, StoreError>;

    /// Deletes a group, its streams and events; false if it did not exist.
    async fn delete_group(&self, key: &LogGroupKey) -> Result<bool, StoreError>;

    /// The group of `key`, if it exists.
    async fn group(&self, key: &LogGroupKey) -> Result<Option<LogGroupRecord>, StoreError>;

    /// Groups of an account and region whose name starts with `prefix` and sorts after
    /// `after`, sorted by name, at most `limit`.
    async fn list_groups(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRecord>, StoreError>;

    /// Sets or clears the retention; false if the group does not exist.
    async fn set_retention(&self, key: &LogGroupKey, days: Option<u32>) -> Result<bool, StoreError>;

    /// Replaces the tags; false if the group does not exist.
    async fn set_tags(&self, key: &LogGroupKey, tags: BTreeMap<String, String>) -> Result<bool, StoreError>;

    /// Creates a stream in a group.
    async fn create_stream(
        &self,
        key: &LogGroupKey,
        stream: &str,
        now: EpochMillis,
    ) -> Result<StreamOutcome, StoreError>;

    /// Deletes a stream and its events.
    async fn delete_stream(&self, key: &LogGroupKey, stream: &str) -> Result<StreamOutcome, StoreError>;

    /// The streams of a group whose name starts with `prefix`, sorted by name; `None` if the
    /// group does not exist.
    async fn streams(&self, key: &LogGroupKey, prefix: &str) -> Result<Option<Vec<LogStreamRecord>>, StoreError>;

    /// Appends events (in any order) to a stream, stamped with ingestion time `now`. With
    /// `create_missing`, a missing group or stream is created first, in the same commit.
    async fn append(
        &self,
        key: &LogGroupKey,
        stream: &str,
        events: Vec<NewEvent>,
        now: EpochMillis,
        create_missing: bool,
    ) -> Result<AppendOutcome, StoreError>;

    /// One page of events in `(timestamp, seq)` order (reversed when descending); `None` if
    /// the group does not exist.
    async fn events(&self, query: &EventQuery) -> Result<Option<Vec<LogEventRecord>>, StoreError>;

    /// Deletes every event older than its group's retention; returns how many.
    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError>;

    /// Deletes every group, stream and event of every account (a reset).
    async fn clear(&self) -> Result<(), StoreError>;
}

/// The first instant still kept by a retention of `days` at `now`.
pub fn retention_cutoff(now: EpochMillis, days: u32) -> EpochMillis {
    now.saturating_sub(u64::from(days) * 86_400_000)
}

/// One group in memory.
#[derive(Debug)]
struct GroupState {
    record: LogGroupRecord,
    streams: BTreeMap<String, LogStreamRecord>,
    /// Every event of the group in its order.
    events: BTreeMap<EventPosition, (String, EpochMillis, String)>,
}

#[derive(Debug, Default)]
struct MemoryState {
    groups: BTreeMap<LogGroupKey, GroupState>,
    /// By account, region and name.
    policies: BTreeMap<(AccountId, Region, String), ResourcePolicyRecord>,
    /// By account, region, group and name.
    subscriptions: BTreeMap<(AccountId, Region, String, String), SubscriptionFilterRecord>,
    next_seq: u64,
}

/// The in-memory [`LogStore`], for `--in-memory` and tests.
#[derive(Debug, Default)]
pub struct MemoryLogStore {
    /// One lock for everything: each call holds it briefly and never across an await.
    state: Mutex<MemoryState>,
}

impl MemoryLogStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryLogStore::default()
    }

    fn with<T>(&self, work: impl FnOnce(&mut MemoryState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut state)
    }
}

fn new_group(key: &LogGroupKey, tags: BTreeMap<String, String>, now: EpochMillis) -> GroupState {
    GroupState {
        record: LogGroupRecord { key: key.clone(), created_ms: now, retention_days: None, tags, stored_bytes: 0 },
        streams: BTreeMap::new(),
        events: BTreeMap::new(),
    }
}

fn new_stream(name: &str, now: EpochMillis) -> LogStreamRecord {
    LogStreamRecord {
        name: name.to_owned(),
        created_ms: now,
        first_event_ms: None,
        last_event_ms: None,
        last_ingestion_ms: None,
        stored_bytes: 0,
    }
}

#[async_trait]
impl LogStore for MemoryLogStore {
    async fn create_group(
        &self,
        key: &LogGroupKey,
        tags: BTreeMap<String, String>,
        now: EpochMillis,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|state| {
            if state.groups.contains_key(key) {
                return false;
            }
            state.groups.insert(key.clone(), new_group(key, tags, now));
            true
        }))
    }

    async fn delete_group(&self, key: &LogGroupKey) -> Result<bool, StoreError> {
        Ok(self.with(|state| {
            state.subscriptions.retain(|(account, region, group, _), _| {
                !(*account == key.account && *region == key.region && *group == key.name)
            });
            state.groups.remove(key).is_some()
        }))
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.with(|state| {
            state.groups.clear();
            state.policies.clear();
            state.subscriptions.clear();
        });
        Ok(())
    }

    async fn put_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        policy: ResourcePolicyRecord,
    ) -> Result<(), StoreError> {
        self.with(|state| state.policies.insert((account.clone(), region.clone(), policy.name.clone()), policy));
        Ok(())
    }

    async fn resource_policies(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<ResourcePolicyRecord>, StoreError> {
        Ok(self.with(|state| {
            state
                .policies
                .iter()
                .filter(|((owner, place, _), _)| owner == account && place == region)
                .map(|(_, policy)| policy.clone())
                .collect()
        }))
    }

    async fn delete_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|state| state.policies.remove(&(account.clone(), region.clone(), name.to_owned())).is_some()))
    }

    async fn put_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        filter: SubscriptionFilterRecord,
    ) -> Result<(), StoreError> {
        self.with(|state| {
            let key = (account.clone(), region.clone(), filter.group.clone(), filter.name.clone());
            state.subscriptions.insert(key, filter)
        });
        Ok(())
    }

    async fn subscription_filters(&self) -> Result<Vec<(AccountId, Region, SubscriptionFilterRecord)>, StoreError> {
        Ok(self.with(|state| {
            state
                .subscriptions
                .iter()
                .map(|((account, region, _, _), filter)| (account.clone(), region.clone(), filter.clone()))
                .collect()
        }))
    }

    async fn delete_subscription_filter(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let key = (account.clone(), region.clone(), group.to_owned(), name.to_owned());
        Ok(self.with(|state| state.subscriptions.remove(&key).is_some()))
    }

    async fn group(&self, key: &LogGroupKey) -> Result<Option<LogGroupRecord>, StoreError> {
        Ok(self.with(|state| state.groups.get(key).map(|group| group.record.clone())))
    }

    async fn list_groups(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRecord>, StoreError> {
        Ok(self.with(|state| {
            state
                .groups
                .values()
                .map(|group| &group.record)
                .filter(|record| &record.key.account == account && &record.key.region == region)
                .filter(|record| record.key.name.starts_with(prefix))
                .filter(|record| after.is_none_or(|after| record.key.name.as_str() > after))
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn set_retention(&self, key: &LogGroupKey, days: Option<u32>) -> Result<bool, StoreError> {
        Ok(self.with(|state| match state.groups.get_mut(key) {
            Some(group) => {
                group.record.retention_days = days;
                true
            }
            None => false,
        }))
    }

    async fn set_tags(&self, key: &LogGroupKey, tags: BTreeMap<String, String>) -> Result<bool, StoreError> {
        Ok(self.with(|state| match state.groups.get_mut(key) {
            Some(group) => {
                group.record.tags = tags;
                true
            }
            None => false,
        }))
    }

    async fn create_stream(
        &self,
        key: &LogGroupKey,
        stream: &str,
        now: EpochMillis,
    ) -> Result<StreamOutcome, StoreError> {
        Ok(self.with(|state| {
            let Some(group) = state.groups.get_mut(key) else { return StreamOutcome::GroupMissing };
            if group.streams.contains_key(stream) {
                return StreamOutcome::StreamConflict;
            }
            group.streams.insert(stream.to_owned(), new_stream(stream, now));
            StreamOutcome::Done
        }))
    }

    async fn delete_stream(&self, key: &LogGroupKey, stream: &str) -> Result<StreamOutcome, StoreError> {
        Ok(self.with(|state| {
            let Some(group) = state.groups.get_mut(key) else { return StreamOutcome::GroupMissing };
            let Some(removed) = group.streams.remove(stream) else { return StreamOutcome::StreamConflict };
            group.events.retain(|_, (name, _, _)| name != stream);
            group.record.stored_bytes = group.record.stored_bytes.saturating_sub(removed.stored_bytes);
            StreamOutcome::Done
        }))
    }

    async fn streams(&self, key: &LogGroupKey, prefix: &str) -> Result<Option<Vec<LogStreamRecord>>, StoreError> {
        Ok(self.with(|state| {
            state
                .groups
                .get(key)
                .map(|group| group.streams.values().filter(|stream| stream.name.starts_with(prefix)).cloned().collect())
        }))
    }

    async fn append(
        &self,
        key: &LogGroupKey,
        stream: &str,
        events: Vec<NewEvent>,
        now: EpochMillis,
        create_missing: bool,
    ) -> Result<AppendOutcome, StoreError> {
        Ok(self.with(|state| {
            if !state.groups.contains_key(key) {
                if !create_missing {
                    return AppendOutcome::GroupMissing;
                }
                state.groups.insert(key.clone(), new_group(key, BTreeMap::new(), now));
            }
            let mut next_seq = state.next_seq;
            let Some(group) = state.groups.get_mut(key) else { return AppendOutcome::GroupMissing };
            if !group.streams.contains_key(stream) {
                if !create_missing {
                    return AppendOutcome::StreamMissing;
                }
                group.streams.insert(stream.to_owned(), new_stream(stream, now));
            }
            let Some(record) = group.streams.get_mut(stream) else { return AppendOutcome::StreamMissing };
            let mut added_bytes = 0;
            for event in events {
                next_seq += 1;
                added_bytes += event.message.len() as u64;
                record.first_event_ms = Some(record.first_event_ms.map_or(event.timestamp, |t| t.min(event.timestamp)));
                record.last_event_ms = Some(record.last_event_ms.map_or(event.timestamp, |t| t.max(event.timestamp)));
                let position = EventPosition { timestamp: event.timestamp, seq: next_seq };
                group.events.insert(position, (stream.to_owned(), now, event.message));
            }
            record.last_ingestion_ms = Some(now);
            record.stored_bytes += added_bytes;
            group.record.stored_bytes += added_bytes;
            state.next_seq = next_seq;
            AppendOutcome::Appended(next_seq)
        }))
    }

    async fn events(&self, query: &EventQuery) -> Result<Option<Vec<LogEventRecord>>, StoreError> {
        use std::ops::Bound;
        Ok(self.with(|state| {
            let group = state.groups.get(&query.group)?;
            let start = query.start.unwrap_or(0);
            let end = query.end.unwrap_or(u64::MAX);
            if start >= end {
                return Some(Vec::new());
            }
            let mut lower = Bound::Included(EventPosition { timestamp: start, seq: 0 });
            let mut upper = Bound::Excluded(EventPosition { timestamp: end, seq: 0 });
            if let Some(cursor) = query.cursor {
                if query.descending {
                    upper = Bound::Excluded(cursor.min(EventPosition { timestamp: end, seq: 0 }));
                } else {
                    lower = Bound::Excluded(cursor.max(EventPosition { timestamp: start, seq: 0 }));
                }
            }
            if let (Bound::Excluded(low) | Bound::Included(low), Bound::Excluded(high)) = (lower, upper) {
                if low >= high {
                    return Some(Vec::new());
                }
            }
            let range = group.events.range((lower, upper));
            let to_record =
                |(position, (stream, ingestion, message)): (&EventPosition, &(String, u64, String))| LogEventRecord {
                    stream: stream.clone(),
                    timestamp: position.timestamp,
                    ingestion_ms: *ingestion,
                    seq: position.seq,
                    message: message.clone(),
                };
            let selected = |entry: &(&EventPosition, &(String, u64, String))| query.streams.matches(&entry.1 .0);
            Some(if query.descending {
                range.rev().filter(selected).take(query.limit).map(to_record).collect()
            } else {
                range.filter(selected).take(query.limit).map(to_record).collect()
            })
        }))
    }

    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError> {
        Ok(self.with(|state| {
            let mut removed = 0;
            for group in state.groups.values_mut() {
                let Some(days) = group.record.retention_days else { continue };
                let cutoff = EventPosition { timestamp: retention_cutoff(now, days), seq: 0 };
                let kept = group.events.split_off(&cutoff);
                let dropped = std::mem::replace(&mut group.events, kept);
                for (_, (stream, _, message)) in dropped {
                    removed += 1;
                    let bytes = message.len() as u64;
                    group.record.stored_bytes = group.record.stored_bytes.saturating_sub(bytes);
                    if let Some(record) = group.streams.get_mut(&stream) {
                        record.stored_bytes = record.stored_bytes.saturating_sub(bytes);
                    }
                }
            }
            removed
        }))
    }
}

/// The conformance suite every [`LogStore`] backend runs.
///
/// Each check takes a fresh store and uses explicit instants. Assertions panic with a message
/// naming the check: this module is test support.
pub mod conformance {
    use super::*;

    /// The instant the suite starts at.
    pub const T0: EpochMillis = 1_700_000_000_000;

    /// A group key in the default account and region.
    pub fn group(name: &str) -> LogGroupKey {
        LogGroupKey {
            account: "000000000000".parse().expect("valid account"),
            region: "us-east-1".parse().expect("valid region"),
            name: name.to_owned(),
        }
    }

    /// Events with these timestamps, messages `m<timestamp>`.
    pub fn events(timestamps: &[EpochMillis]) -> Vec<NewEvent> {
        timestamps.iter().map(|&timestamp| NewEvent { timestamp, message: format!("m{timestamp}") }).collect()
    }

    /// A query of every stream of `name`, ascending, limit 100.
    pub fn query(name: &str) -> EventQuery {
        EventQuery {
            group: group(name),
            streams: StreamSelector::All,
            start: None,
            end: None,
            cursor: None,
            descending: false,
            limit: 100,
        }
    }

    async fn read<S: LogStore>(store: &S, query: &EventQuery) -> Vec<String> {
        let found = store.events(query).await.expect("events").expect("group exists");
        found.into_iter().map(|event| format!("{}:{}", event.stream, event.message)).collect()
    }

    /// Runs every check, each on a fresh store from `make`.
    pub async fn run_all<S: LogStore>(make: impl Fn() -> S) {
        groups_and_streams(&make()).await;
        events_in_order(&make()).await;
        cursors_and_ranges(&make()).await;
        append_creates_when_asked(&make()).await;
        retention_expires(&make()).await;
        clear_forgets_everything(&make()).await;
        resource_policies(&make()).await;
        subscription_filters(&make()).await;
    }

    async fn subscription_filters<S: LogStore>(store: &S) {
        let (account, region) = (group("x").account, group("x").region);
        assert!(store.create_group(&group("/app"), BTreeMap::new(), T0).await.expect("create"));
        let filter = |name: &str, pattern: &str| SubscriptionFilterRecord {
            group: "/app".to_owned(),
            name: name.to_owned(),
            pattern: pattern.to_owned(),
            destination_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
            role_arn: None,
            distribution: Some("ByLogStream".to_owned()),
            created_ms: T0,
        };
        store.put_subscription_filter(&account, &region, filter("b", "ERROR")).await.expect("put");
        store.put_subscription_filter(&account, &region, filter("a", "")).await.expect("put");
        store.put_subscription_filter(&account, &region, filter("b", "WARN")).await.expect("replace");
        let listed: Vec<_> = store.subscription_filters().await.expect("list").into_iter().map(|(_, _, f)| f).collect();
        assert_eq!(listed, vec![filter("a", ""), filter("b", "WARN")]);
        assert!(store.delete_subscription_filter(&account, &region, "/app", "a").await.expect("delete"));
        assert!(!store.delete_subscription_filter(&account, &region, "/app", "a").await.expect("delete"), "gone");
        assert!(store.delete_group(&group("/app")).await.expect("delete group"));
        assert!(store.subscription_filters().await.expect("list").is_empty(), "a group's filters go with it");
    }

    async fn resource_policies<S: LogStore>(store: &S) {
        let (account, region) = (group("x").account, group("x").region);
        let policy = |name: &str, revision: &str| ResourcePolicyRecord {
            name: name.to_owned(),
            document: r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            updated_ms: T0,
            resource_arn: None,
            revision: revision.to_owned(),
        };
        store.put_resource_policy(&account, &region, policy("b", "1")).await.expect("put");
        store.put_resource_policy(&account, &region, policy("a", "1")).await.expect("put");
        store.put_resource_policy(&account, &region, policy("b", "2")).await.expect("replace");
        let other: AccountId = "111111111111".parse().expect("account");
        assert!(store.resource_policies(&other, &region).await.expect("list").is_empty(), "per account");
        let listed = store.resource_policies(&account, &region).await.expect("list");
        assert_eq!(listed, vec![policy("a", "1"), policy("b", "2")]);
        assert!(store.delete_resource_policy(&account, &region, "a").await.expect("delete"));
        assert!(!store.delete_resource_policy(&account, &region, "a").await.expect("delete"), "gone");
        store.clear().await.expect("clear");
        assert!(store.resource_policies(&account, &region).await.expect("list").is_empty(), "clear: no policy");
    }

    async fn clear_forgets_everything<S: LogStore>(store: &S) {
        assert!(store.create_group(&group("/kept"), BTreeMap::new(), T0).await.expect("create"));
        assert_eq!(store.create_stream(&group("/kept"), "s", T0).await.expect("stream"), StreamOutcome::Done);
        store.clear().await.expect("clear");
        let account = group("x").account;
        let region = group("x").region;
        assert!(store.list_groups(&account, &region, "", None, 10).await.expect("list").is_empty(), "clear: no group");
        assert!(store.create_group(&group("/kept"), BTreeMap::new(), T0).await.expect("create"), "clear: name free");
        let streams = store.streams(&group("/kept"), "").await.expect("streams").expect("group");
        assert!(streams.is_empty(), "clear: the new group has no streams");
    }

    async fn groups_and_streams<S: LogStore>(store: &S) {
        let tags = BTreeMap::from([("team".to_owned(), "core".to_owned())]);
        assert!(store.create_group(&group("/b"), tags.clone(), T0).await.expect("create"));
        assert!(!store.create_group(&group("/b"), BTreeMap::new(), T0).await.expect("create"), "exists");
        assert!(store.create_group(&group("/a"), BTreeMap::new(), T0).await.expect("create"));
        assert!(store.create_group(&group("/c/x"), BTreeMap::new(), T0).await.expect("create"));
        let record = store.group(&group("/b")).await.expect("read").expect("exists");
        assert_eq!(record.tags, tags);
        assert_eq!(record.retention_days, None);
        let account = group("x").account;
        let region = group("x").region;
        let other: Region = "eu-west-1".parse().expect("region");
        let names = |records: Vec<LogGroupRecord>| records.into_iter().map(|r| r.key.name).collect::<Vec<_>>();
        let all = store.list_groups(&account, &region, "", None, 10).await.expect("list");
        assert_eq!(names(all), ["/a", "/b", "/c/x"]);
        let paged = store.list_groups(&account, &region, "/", Some("/a"), 1).await.expect("list");
        assert_eq!(names(paged), ["/b"]);
        assert!(store.list_groups(&account, &other, "", None, 10).await.expect("list").is_empty(), "per region");
        assert!(store.set_retention(&group("/b"), Some(7)).await.expect("retention"));
        assert!(!store.set_retention(&group("/none"), Some(7)).await.expect("retention"));
        let new_tags = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        assert!(store.set_tags(&group("/b"), new_tags.clone()).await.expect("tags"));
        let record = store.group(&group("/b")).await.expect("read").expect("exists");
        assert_eq!((record.retention_days, record.tags), (Some(7), new_tags));

        assert_eq!(store.create_stream(&group("/b"), "s1", T0).await.expect("stream"), StreamOutcome::Done);
        assert_eq!(store.create_stream(&group("/b"), "s1", T0).await.expect("stream"), StreamOutcome::StreamConflict);
        assert_eq!(store.create_stream(&group("/no"), "s1", T0).await.expect("stream"), StreamOutcome::GroupMissing);
        assert_eq!(store.create_stream(&group("/b"), "s2", T0 + 1).await.expect("stream"), StreamOutcome::Done);
        assert_eq!(store.create_stream(&group("/b"), "t1", T0 + 2).await.expect("stream"), StreamOutcome::Done);
        let streams = store.streams(&group("/b"), "s").await.expect("streams").expect("group");
        let stream_names: Vec<_> = streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stream_names, ["s1", "s2"]);
        assert_eq!(streams[1].created_ms, T0 + 1);
        assert!(store.streams(&group("/no"), "").await.expect("streams").is_none());
        assert_eq!(store.delete_stream(&group("/b"), "s1").await.expect("delete"), StreamOutcome::Done);
        assert_eq!(store.delete_stream(&group("/b"), "s1").await.expect("delete"), StreamOutcome::StreamConflict);
        assert_eq!(store.delete_stream(&group("/no"), "s1").await.expect("delete"), StreamOutcome::GroupMissing);
        assert!(store.delete_group(&group("/b")).await.expect("delete"));
        assert!(!store.delete_group(&group("/b")).await.expect("delete"));
        assert!(store.group(&group("/b")).await.expect("read").is_none());
        assert!(store.create_group(&group("/b"), BTreeMap::new(), T0).await.expect("recreate"));
        let streams = store.streams(&group("/b"), "").await.expect("streams").expect("group");
        assert!(streams.is_empty(), "a recreated group starts without streams");
    }

    async fn events_in_order<S: LogStore>(store: &S) {
        store.create_group(&group("/g"), BTreeMap::new(), T0).await.expect("create");
        store.create_stream(&group("/g"), "a", T0).await.expect("stream");
        store.create_stream(&group("/g"), "b", T0).await.expect("stream");
        let missing = store.append(&group("/g"), "c", events(&[T0]), T0, false).await.expect("append");
        assert_eq!(missing, AppendOutcome::StreamMissing);
        let missing = store.append(&group("/h"), "a", events(&[T0]), T0, false).await.expect("append");
        assert_eq!(missing, AppendOutcome::GroupMissing);
        let first = store.append(&group("/g"), "a", events(&[T0 + 10, T0 + 30]), T0 + 100, false).await;
        let AppendOutcome::Appended(first_seq) = first.expect("append") else { panic!("appended") };
        let second = store.append(&group("/g"), "b", events(&[T0 + 20, T0 + 30]), T0 + 200, false).await;
        let AppendOutcome::Appended(second_seq) = second.expect("append") else { panic!("appended") };
        assert!(second_seq > first_seq, "sequence numbers grow");
        assert_eq!(
            read(store, &query("/g")).await,
            [
                format!("a:m{}", T0 + 10),
                format!("b:m{}", T0 + 20),
                format!("a:m{}", T0 + 30),
                format!("b:m{}", T0 + 30)
            ],
            "interleaved by timestamp, then by append order"
        );
        let only_b = EventQuery { streams: StreamSelector::Names(vec!["b".into()]), ..query("/g") };
        assert_eq!(read(store, &only_b).await.len(), 2);
        let prefix = EventQuery { streams: StreamSelector::Prefix("a".into()), ..query("/g") };
        assert_eq!(read(store, &prefix).await.len(), 2);
        let found = store.events(&query("/g")).await.expect("events").expect("group");
        assert_eq!(found[0].ingestion_ms, T0 + 100);
        assert_eq!(found[1].ingestion_ms, T0 + 200);
        let streams = store.streams(&group("/g"), "").await.expect("streams").expect("group");
        assert_eq!(streams[0].first_event_ms, Some(T0 + 10));
        assert_eq!(streams[0].last_event_ms, Some(T0 + 30));
        assert_eq!(streams[0].last_ingestion_ms, Some(T0 + 100));
        assert_eq!(streams[0].stored_bytes, 2 * 14);
        let record = store.group(&group("/g")).await.expect("group").expect("exists");
        assert_eq!(record.stored_bytes, 4 * 14);
        assert!(store.events(&query("/none")).await.expect("events").is_none());
        assert_eq!(store.delete_stream(&group("/g"), "a").await.expect("delete"), StreamOutcome::Done);
        assert_eq!(read(store, &query("/g")).await.len(), 2, "a deleted stream's events are gone");
        store.delete_group(&group("/g")).await.expect("delete");
        store.create_group(&group("/g"), BTreeMap::new(), T0).await.expect("create");
        assert!(read(store, &query("/g")).await.is_empty(), "a deleted group's events are gone");
    }

    async fn cursors_and_ranges<S: LogStore>(store: &S) {
        store.create_group(&group("/g"), BTreeMap::new(), T0).await.expect("create");
        store.create_stream(&group("/g"), "s", T0).await.expect("stream");
        let stamps: Vec<EpochMillis> = (0..10).map(|idx| T0 + idx).collect();
        store.append(&group("/g"), "s", events(&stamps), T0, false).await.expect("append");
        let range = EventQuery { start: Some(T0 + 2), end: Some(T0 + 5), ..query("/g") };
        assert_eq!(read(store, &range).await.len(), 3, "start inclusive, end exclusive");
        let page = EventQuery { limit: 4, ..query("/g") };
        let first = store.events(&page).await.expect("events").expect("group");
        assert_eq!(first.len(), 4);
        let next = EventQuery { cursor: Some(first[3].position()), ..page.clone() };
        let second = store.events(&next).await.expect("events").expect("group");
        assert_eq!(second[0].timestamp, T0 + 4, "strictly after the cursor");
        let newest = EventQuery { descending: true, limit: 3, ..query("/g") };
        let newest = store.events(&newest).await.expect("events").expect("group");
        let stamps: Vec<_> = newest.iter().map(|event| event.timestamp - T0).collect();
        assert_eq!(stamps, [9, 8, 7]);
        let before = EventQuery { descending: true, limit: 2, cursor: Some(newest[2].position()), ..query("/g") };
        let before = store.events(&before).await.expect("events").expect("group");
        let stamps: Vec<_> = before.iter().map(|event| event.timestamp - T0).collect();
        assert_eq!(stamps, [6, 5], "strictly before the cursor");
        let empty = EventQuery { start: Some(T0 + 5), end: Some(T0 + 5), ..query("/g") };
        assert!(read(store, &empty).await.is_empty());
    }

    async fn append_creates_when_asked<S: LogStore>(store: &S) {
        let outcome = store.append(&group("/aws/lambda/f"), "2024/01/01/[$LATEST]ab", events(&[T0]), T0, true).await;
        assert!(matches!(outcome.expect("append"), AppendOutcome::Appended(_)));
        let lambda_group = group("/aws/lambda/f");
        let outcome = store.append(&lambda_group, "2024/01/01/[$LATEST]ab", events(&[T0 + 1]), T0, true).await;
        assert!(matches!(outcome.expect("append"), AppendOutcome::Appended(_)));
        assert!(store.group(&group("/aws/lambda/f")).await.expect("group").is_some());
        assert_eq!(read(store, &query("/aws/lambda/f")).await.len(), 2);
        let empty = store.append(&group("/aws/lambda/f"), "other", Vec::new(), T0, true).await.expect("append");
        assert!(matches!(empty, AppendOutcome::Appended(_)));
        let streams = store.streams(&group("/aws/lambda/f"), "").await.expect("streams").expect("group");
        assert_eq!(streams.len(), 2);
    }

    async fn retention_expires<S: LogStore>(store: &S) {
        const DAY: u64 = 86_400_000;
        for name in ["/kept", "/short"] {
            store.create_group(&group(name), BTreeMap::new(), T0).await.expect("create");
            store.create_stream(&group(name), "s", T0).await.expect("stream");
            store.append(&group(name), "s", events(&[T0, T0 + DAY, T0 + 3 * DAY]), T0, false).await.expect("append");
        }
        store.set_retention(&group("/short"), Some(1)).await.expect("retention");
        let removed = store.expire(T0 + 2 * DAY + 1).await.expect("expire");
        assert_eq!(removed, 2, "events before now - 1 day");
        assert_eq!(read(store, &query("/short")).await.len(), 1);
        assert_eq!(read(store, &query("/kept")).await.len(), 3, "no retention keeps everything");
        assert_eq!(store.expire(T0 + 2 * DAY + 1).await.expect("expire"), 0);
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn memory_log_store_conforms() {
            use std::future::Future;
            use std::task::{Context, Poll, Waker};
            // The memory store never waits, so polling to completion needs no reactor.
            let mut future = std::pin::pin!(run_all(MemoryLogStore::new));
            let mut context = Context::from_waker(Waker::noop());
            loop {
                if let Poll::Ready(()) = future.as_mut().poll(&mut context) {
                    break;
                }
            }
        }
    }
}
