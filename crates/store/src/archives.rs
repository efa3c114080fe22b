//! Storage of EventBridge archives, their events, and replays.
//!
//! An archive ([`ArchiveRow`]) and a replay ([`ReplayRow`]) are one record each, replaced
//! whole, read once at start-up. Archived events ([`ArchivedEvent`]) can be many: they are
//! appended in batches and read back by archive and time range in `(time, seq)` order, a page
//! at a time, never all at once. `seq` is assigned by the store and never reused.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::EpochMillis;

use crate::StoreError;

/// An archive of a bus's events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `ArchiveName`.
    pub name: String,
    /// The bus whose events it keeps (`EventSourceArn`).
    pub source_arn: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Only events matching this pattern are kept; all when absent.
    #[serde(default)]
    pub event_pattern: Option<String>,
    /// Days events are kept; 0 keeps them for ever.
    #[serde(default)]
    pub retention_days: u32,
    /// When it was created.
    pub created_ms: EpochMillis,
}

/// A replay of archived events into a bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `ReplayName`.
    pub name: String,
    /// The archive replayed (`EventSourceArn`).
    pub archive_arn: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The bus the events go to.
    pub destination_arn: String,
    /// Only these rules of the destination get the events; all when empty.
    #[serde(default)]
    pub filter_arns: Vec<String>,
    /// Events from this time (inclusive)…
    pub event_start_ms: EpochMillis,
    /// …to this time (exclusive).
    pub event_end_ms: EpochMillis,
    /// `STARTING`, `RUNNING`, `CANCELLING`, `COMPLETED`, `CANCELLED` or `FAILED`.
    pub state: String,
    /// Why it is in that state, when it failed.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// When StartReplay was called.
    pub started_ms: EpochMillis,
    /// When it ended.
    #[serde(default)]
    pub ended_ms: Option<EpochMillis>,
    /// The time of the last event replayed, and its `seq`: where a resumed replay goes on.
    #[serde(default)]
    pub last_replayed: Option<(EpochMillis, u64)>,
}

/// One archived event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedEvent {
    /// The archive's ARN.
    pub archive_arn: String,
    /// The store's sequence number (0 before it is stored).
    pub seq: u64,
    /// The event's `time`.
    pub time_ms: EpochMillis,
    /// The event, JSON.
    pub event: String,
}

/// Storage for archives, archived events and replays.
#[async_trait]
pub trait ArchiveStore: Send + Sync + 'static {
    /// Every archive.
    async fn load_archives(&self) -> Result<Vec<ArchiveRow>, StoreError>;
    /// Creates or replaces an archive.
    async fn put_archive(&self, row: &ArchiveRow) -> Result<(), StoreError>;
    /// Deletes an archive (by ARN) and its events.
    async fn delete_archive(&self, archive_arn: &str) -> Result<(), StoreError>;
    /// Appends events, in one durable write.
    async fn append(&self, events: Vec<ArchivedEvent>) -> Result<(), StoreError>;
    /// Up to `limit` events of the archive with `from_ms <= time < to_ms` after the position
    /// `after` (`(time, seq)`), in `(time, seq)` order.
    async fn events(
        &self,
        archive_arn: &str,
        from_ms: EpochMillis,
        to_ms: EpochMillis,
        after: Option<(EpochMillis, u64)>,
        limit: usize,
    ) -> Result<Vec<ArchivedEvent>, StoreError>;
    /// How many events the archive holds and their total size in bytes.
    async fn stats(&self, archive_arn: &str) -> Result<(u64, u64), StoreError>;
    /// Deletes the archive's events older than `before_ms`; how many.
    async fn expire(&self, archive_arn: &str, before_ms: EpochMillis) -> Result<u64, StoreError>;
    /// Every replay.
    async fn load_replays(&self) -> Result<Vec<ReplayRow>, StoreError>;
    /// Creates or replaces a replay.
    async fn put_replay(&self, row: &ReplayRow) -> Result<(), StoreError>;
    /// Empties the store (a reset).
    async fn clear(&self) -> Result<(), StoreError>;
}

type NameKey = (String, String, String);

/// An [`ArchiveStore`] in memory.
#[derive(Default)]
pub struct MemoryArchiveStore {
    state: Mutex<MemoryArchives>,
}

#[derive(Default)]
struct MemoryArchives {
    archives: BTreeMap<NameKey, ArchiveRow>,
    replays: BTreeMap<NameKey, ReplayRow>,
    /// By archive ARN, then `(time, seq)`.
    events: BTreeMap<String, BTreeMap<(EpochMillis, u64), String>>,
    next_seq: u64,
}

impl MemoryArchiveStore {
    fn with<T>(&self, work: impl FnOnce(&mut MemoryArchives) -> T) -> T {
        work(&mut self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// The ARN of an archive.
pub fn archive_arn(row: &ArchiveRow) -> String {
    format!("arn:aws:events:{}:{}:archive/{}", row.region, row.account, row.name)
}

#[async_trait]
impl ArchiveStore for MemoryArchiveStore {
    async fn load_archives(&self) -> Result<Vec<ArchiveRow>, StoreError> {
        Ok(self.with(|state| state.archives.values().cloned().collect()))
    }

    async fn put_archive(&self, row: &ArchiveRow) -> Result<(), StoreError> {
        self.with(|state| {
            state.archives.insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone())
        });
        Ok(())
    }

    async fn delete_archive(&self, arn: &str) -> Result<(), StoreError> {
        self.with(|state| {
            state.archives.retain(|_, row| archive_arn(row) != arn);
            state.events.remove(arn);
        });
        Ok(())
    }

    async fn append(&self, events: Vec<ArchivedEvent>) -> Result<(), StoreError> {
        self.with(|state| {
            for event in events {
                state.next_seq += 1;
                let seq = state.next_seq;
                state.events.entry(event.archive_arn).or_default().insert((event.time_ms, seq), event.event);
            }
        });
        Ok(())
    }

    async fn events(
        &self,
        arn: &str,
        from_ms: EpochMillis,
        to_ms: EpochMillis,
        after: Option<(EpochMillis, u64)>,
        limit: usize,
    ) -> Result<Vec<ArchivedEvent>, StoreError> {
        Ok(self.with(|state| {
            let Some(events) = state.events.get(arn) else { return Vec::new() };
            let start = match after {
                Some(position) => std::ops::Bound::Excluded(position),
                None => std::ops::Bound::Included((from_ms, 0)),
            };
            events
                .range((start, std::ops::Bound::Excluded((to_ms, 0))))
                .filter(|((time, _), _)| *time >= from_ms)
                .take(limit)
                .map(|(&(time_ms, seq), event)| ArchivedEvent {
                    archive_arn: arn.to_owned(),
                    seq,
                    time_ms,
                    event: event.clone(),
                })
                .collect()
        }))
    }

    async fn stats(&self, arn: &str) -> Result<(u64, u64), StoreError> {
        Ok(self.with(|state| {
            state
                .events
                .get(arn)
                .map_or((0, 0), |events| (events.len() as u64, events.values().map(|event| event.len() as u64).sum()))
        }))
    }

    async fn expire(&self, arn: &str, before_ms: EpochMillis) -> Result<u64, StoreError> {
        Ok(self.with(|state| {
            let Some(events) = state.events.get_mut(arn) else { return 0 };
            let before = events.len();
            events.retain(|(time, _), _| *time >= before_ms);
            (before - events.len()) as u64
        }))
    }

    async fn load_replays(&self) -> Result<Vec<ReplayRow>, StoreError> {
        Ok(self.with(|state| state.replays.values().cloned().collect()))
    }

    async fn put_replay(&self, row: &ReplayRow) -> Result<(), StoreError> {
        self.with(|state| {
            state.replays.insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone())
        });
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.with(|state| *state = MemoryArchives { next_seq: state.next_seq, ..MemoryArchives::default() });
        Ok(())
    }
}

/// Checks an [`ArchiveStore`] backend.
pub async fn conformance(store: &dyn ArchiveStore) {
    let archive = ArchiveRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "orders".into(),
        source_arn: "arn:aws:events:us-east-1:000000000000:event-bus/default".into(),
        description: None,
        event_pattern: Some(r#"{"source":["shop"]}"#.into()),
        retention_days: 0,
        created_ms: 1,
    };
    let arn = archive_arn(&archive);
    store.put_archive(&archive).await.expect("put archive");
    assert_eq!(store.load_archives().await.expect("load"), vec![archive.clone()]);
    let event =
        |time_ms, text: &str| ArchivedEvent { archive_arn: arn.clone(), seq: 0, time_ms, event: text.to_owned() };
    store.append(vec![event(20, "b"), event(10, "a"), event(20, "c"), event(30, "d")]).await.expect("append");
    let all = store.events(&arn, 0, 100, None, 10).await.expect("events");
    assert_eq!(all.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"], "by time, then seq");
    let window = store.events(&arn, 20, 30, None, 10).await.expect("events");
    assert_eq!(window.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["b", "c"], "start in, end out");
    let first = store.events(&arn, 0, 100, None, 2).await.expect("page");
    let last = first.last().map(|e| (e.time_ms, e.seq));
    let rest = store.events(&arn, 0, 100, last, 10).await.expect("page");
    assert_eq!(rest.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["c", "d"], "pages go on after the cursor");
    assert_eq!(store.stats(&arn).await.expect("stats"), (4, 4));
    assert_eq!(store.expire(&arn, 20).await.expect("expire"), 1);
    assert_eq!(store.stats(&arn).await.expect("stats").0, 3);
    let replay = ReplayRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "again".into(),
        archive_arn: arn.clone(),
        description: None,
        destination_arn: archive.source_arn.clone(),
        filter_arns: Vec::new(),
        event_start_ms: 0,
        event_end_ms: 100,
        state: "RUNNING".into(),
        state_reason: None,
        started_ms: 5,
        ended_ms: None,
        last_replayed: Some((20, 2)),
    };
    store.put_replay(&replay).await.expect("put replay");
    assert_eq!(store.load_replays().await.expect("load"), vec![replay]);
    store.delete_archive(&arn).await.expect("delete");
    assert!(store.load_archives().await.expect("load").is_empty());
    assert!(store.events(&arn, 0, 100, None, 10).await.expect("events").is_empty(), "its events go with it");
    store.clear().await.expect("clear");
    assert!(store.load_replays().await.expect("load").is_empty());
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_archive_store_conforms() {
        super::conformance(&super::MemoryArchiveStore::default()).await;
    }
}
