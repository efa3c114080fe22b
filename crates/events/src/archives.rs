//! Archives and replays: a bus's events kept (all of them, or those matching a pattern) for a
//! number of days, and sent through the bus's rules again on request.
//!
//! Semantics follow "Archiving and replaying events" in the EventBridge user guide:
//! - an archive keeps the events its source bus receives, directly or from another bus, but
//!   not replayed ones; `RetentionDays` 0 keeps them for ever;
//! - a replay sends the archived events whose `time` is in `[EventStartTime, EventEndTime)` to
//!   the rules of the archive's own bus (all of them, or the `FilterArns` ones), oldest first,
//!   each with a `replay-name` field added; a replayed event is not sent on to another bus;
//! - a replay is `STARTING`, then `RUNNING`, then `COMPLETED`; CancelReplay makes it
//!   `CANCELLING`, then `CANCELLED`.
//!
//! Archiving happens after PutEvents answers (one durable write per request), as AWS archives
//! asynchronously: an event acknowledged just before a crash may be missing from its archive.
//! A replay runs in a task of its own and records where it is after every page, so a replay
//! interrupted by a restart goes on where it stopped.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};
use wharf_store::archives::{archive_arn, ArchiveRow, ArchiveStore, ArchivedEvent, ReplayRow};
use wharf_types::EpochMillis;

use crate::error::EventsError;
use crate::rules::{bus_arn, bus_owner, is_bus_arn, Caller, Events};
use crate::Pattern;

/// Events one replay step reads and routes.
const REPLAY_PAGE: usize = 100;
/// How often an archive's expired events are swept, at most.
const EXPIRE_EVERY_MS: EpochMillis = 3_600_000;
/// Most archives per account and region.
pub const MAX_ARCHIVES: usize = 200;
/// Replays that may run at once per account and region.
pub const MAX_RUNNING_REPLAYS: usize = 10;

/// CreateArchive's input.
#[derive(Clone, Debug, Default)]
pub struct NewArchive {
    /// `ArchiveName`.
    pub name: String,
    /// `EventSourceArn`: a bus ARN.
    pub source_arn: String,
    /// `Description`.
    pub description: Option<String>,
    /// `EventPattern`.
    pub event_pattern: Option<String>,
    /// `RetentionDays`.
    pub retention_days: Option<i64>,
}

/// UpdateArchive's input (what is given changes).
#[derive(Clone, Debug, Default)]
pub struct ArchiveChange {
    /// `Description`.
    pub description: Option<String>,
    /// `EventPattern`.
    pub event_pattern: Option<String>,
    /// `RetentionDays`.
    pub retention_days: Option<i64>,
}

/// StartReplay's input.
#[derive(Clone, Debug, Default)]
pub struct NewReplay {
    /// `ReplayName`.
    pub name: String,
    /// `Description`.
    pub description: Option<String>,
    /// `EventSourceArn`: an archive ARN.
    pub archive_arn: String,
    /// `EventStartTime`.
    pub event_start_ms: EpochMillis,
    /// `EventEndTime`.
    pub event_end_ms: EpochMillis,
    /// `Destination.Arn`.
    pub destination_arn: String,
    /// `Destination.FilterArns`.
    pub filter_arns: Vec<String>,
}

/// An archive with its parsed pattern.
struct ArchiveEntry {
    row: ArchiveRow,
    pattern: Option<Pattern>,
}

/// Archives and replays in memory, a cache of the store.
#[derive(Default)]
struct State {
    /// By ARN.
    archives: BTreeMap<String, ArchiveEntry>,
    /// By (account, region, name).
    replays: BTreeMap<(String, String, String), ReplayRow>,
    /// When each archive's expired events were last swept.
    swept: HashMap<String, EpochMillis>,
}

/// The archives of a rules engine.
pub struct Archives {
    store: Arc<dyn ArchiveStore>,
    state: Mutex<State>,
    write_lock: tokio::sync::Mutex<()>,
    /// The engine replays go through; replay tasks hold it weakly, so they end with it.
    events: Weak<Events>,
}

fn invalid(message: impl Into<String>) -> EventsError {
    EventsError::Validation(message.into())
}

fn check_name(member: &str, name: &str, max: usize) -> Result<(), EventsError> {
    if name.is_empty()
        || name.len() > max
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )));
    }
    Ok(())
}

fn retention(days: Option<i64>) -> Result<u32, EventsError> {
    match days {
        None => Ok(0),
        Some(days) => u32::try_from(days).map_err(|_| {
            invalid(format!(
                "1 validation error detected: Value '{days}' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))
        }),
    }
}

fn parse_pattern(text: Option<&str>) -> Result<Option<Pattern>, EventsError> {
    text.map(Pattern::parse).transpose().map_err(|err| EventsError::InvalidPattern(err.to_string()))
}

/// The `time` of an event, epoch milliseconds.
fn event_time(event: &Value) -> Option<EpochMillis> {
    let text = event.get("time")?.as_str()?;
    let instant = jiff::Timestamp::from_str(text).ok()?;
    u64::try_from(instant.as_millisecond()).ok()
}

/// The ARN of a replay.
pub fn replay_arn(row: &ReplayRow) -> String {
    format!("arn:aws:events:{}:{}:replay/{}", row.region, row.account, row.name)
}

impl Archives {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The archives of `source`'s bus `bus` whose pattern `event` matches, with their
    /// retention: where the event is kept.
    pub(crate) fn archiving(&self, source: &Caller, bus: &str, event: &Value) -> Vec<ArchivedEvent> {
        let arn = bus_arn(&source.account, &source.region, bus);
        let Some(time_ms) = event_time(event) else { return Vec::new() };
        let state = self.lock();
        state
            .archives
            .values()
            .filter(|entry| entry.row.source_arn == arn)
            .filter(|entry| entry.pattern.as_ref().is_none_or(|pattern| pattern.matches(event)))
            .map(|entry| ArchivedEvent {
                archive_arn: archive_arn(&entry.row),
                seq: 0,
                time_ms,
                event: event.to_string(),
            })
            .collect()
    }

    /// Stores `events` in their archives, sweeping archives whose retention is due.
    pub(crate) async fn keep(&self, events: Vec<ArchivedEvent>, now: EpochMillis) {
        if events.is_empty() {
            return;
        }
        let due: Vec<(String, EpochMillis)> = {
            let mut state = self.lock();
            let mut due = Vec::new();
            for event in &events {
                let Some(entry) = state.archives.get(&event.archive_arn) else { continue };
                let days = entry.row.retention_days;
                let arn = event.archive_arn.clone();
                let last = state.swept.get(&arn).copied().unwrap_or(0);
                if days > 0 && now.saturating_sub(last) >= EXPIRE_EVERY_MS {
                    state.swept.insert(arn.clone(), now);
                    due.push((arn, now.saturating_sub(u64::from(days) * 86_400_000)));
                }
            }
            due
        };
        if let Err(err) = self.store.append(events).await {
            tracing::warn!(error = %err, "could not archive events");
        }
        for (arn, before) in due {
            if let Err(err) = self.store.expire(&arn, before).await {
                tracing::warn!(archive = %arn, error = %err, "could not expire archived events");
            }
        }
    }
}

impl Events {
    /// Connects the archives kept in `store` and resumes the replays that were running.
    pub async fn open_archives(self: &Arc<Self>, store: Arc<dyn ArchiveStore>) -> Result<(), EventsError> {
        let mut state = State::default();
        for row in store.load_archives().await? {
            let pattern = match parse_pattern(row.event_pattern.as_deref()) {
                Ok(pattern) => pattern,
                Err(err) => {
                    tracing::warn!(archive = %row.name, error = %err, "skipping a stored archive whose pattern no longer parses");
                    continue;
                }
            };
            state.archives.insert(archive_arn(&row), ArchiveEntry { row, pattern });
        }
        let mut resumed = Vec::new();
        for row in store.load_replays().await? {
            if matches!(row.state.as_str(), "STARTING" | "RUNNING" | "CANCELLING") {
                resumed.push((row.account.clone(), row.region.clone(), row.name.clone()));
            }
            state.replays.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        }
        let archives = Arc::new(Archives {
            store,
            state: Mutex::new(state),
            write_lock: tokio::sync::Mutex::new(()),
            events: Arc::downgrade(self),
        });
        if self.archives.set(Arc::clone(&archives)).is_err() {
            return Err(EventsError::Storage("archives are connected already".into()));
        }
        for key in resumed {
            tokio::spawn(run_replay(Arc::downgrade(&archives), key));
        }
        Ok(())
    }

    fn archive_store(&self) -> Result<&Arc<Archives>, EventsError> {
        self.archives.get().ok_or_else(|| EventsError::Storage("archives are not connected".into()))
    }

    /// The archive `name` of `caller`.
    fn archive_row(&self, caller: &Caller, name: &str) -> Result<ArchiveRow, EventsError> {
        let arn = format!("arn:aws:events:{}:{}:archive/{name}", caller.region, caller.account);
        self.archive_store()?
            .lock()
            .archives
            .get(&arn)
            .map(|entry| entry.row.clone())
            .ok_or_else(|| EventsError::NotFound(format!("Archive {name} does not exist.")))
    }

    /// CreateArchive.
    pub async fn create_archive(&self, caller: &Caller, new: NewArchive) -> Result<ArchiveRow, EventsError> {
        check_name("archiveName", &new.name, 48)?;
        let retention_days = retention(new.retention_days)?;
        let pattern = parse_pattern(new.event_pattern.as_deref())?;
        let archives = self.archive_store()?;
        if !is_bus_arn(&new.source_arn) {
            return Err(invalid(
                "Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format.",
            ));
        }
        let (owner, bus) = bus_owner(caller, Some(&new.source_arn));
        if owner != *caller {
            return Err(invalid(
                "Parameter EventSourceArn is not valid. Reason: The event bus must belong to the caller.",
            ));
        }
        self.bus(caller, Some(&bus))?;
        let _write = archives.write_lock.lock().await;
        let row = ArchiveRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: new.name.clone(),
            source_arn: bus_arn(&caller.account, &caller.region, &bus),
            description: new.description,
            event_pattern: new.event_pattern,
            retention_days,
            created_ms: self.clock.now_millis(),
        };
        let arn = archive_arn(&row);
        {
            let state = archives.lock();
            if state.archives.contains_key(&arn) {
                return Err(EventsError::AlreadyExists(format!("Archive {} already exists.", new.name)));
            }
            let count = state
                .archives
                .values()
                .filter(|entry| entry.row.account == caller.account && entry.row.region == caller.region)
                .count();
            if count >= MAX_ARCHIVES {
                return Err(EventsError::LimitExceeded);
            }
        }
        archives.store.put_archive(&row).await?;
        archives.lock().archives.insert(arn, ArchiveEntry { row: row.clone(), pattern });
        Ok(row)
    }

    /// DescribeArchive: the archive and how many events (and bytes) it holds.
    pub async fn archive(&self, caller: &Caller, name: &str) -> Result<(ArchiveRow, u64, u64), EventsError> {
        let row = self.archive_row(caller, name)?;
        let (count, bytes) = self.archive_store()?.store.stats(&archive_arn(&row)).await?;
        Ok((row, count, bytes))
    }

    /// ListArchives: the caller's archives, by name, with their counts.
    pub async fn archives(
        &self,
        caller: &Caller,
        prefix: &str,
        source_arn: Option<&str>,
    ) -> Result<Vec<(ArchiveRow, u64, u64)>, EventsError> {
        let archives = self.archive_store()?;
        let rows: Vec<ArchiveRow> = archives
            .lock()
            .archives
            .values()
            .map(|entry| entry.row.clone())
            .filter(|row| row.account == caller.account && row.region == caller.region && row.name.starts_with(prefix))
            .filter(|row| source_arn.is_none_or(|arn| row.source_arn == arn))
            .collect();
        let mut listed = Vec::with_capacity(rows.len());
        for row in rows {
            let (count, bytes) = archives.store.stats(&archive_arn(&row)).await?;
            listed.push((row, count, bytes));
        }
        listed.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(listed)
    }

    /// UpdateArchive.
    pub async fn update_archive(
        &self,
        caller: &Caller,
        name: &str,
        change: ArchiveChange,
    ) -> Result<ArchiveRow, EventsError> {
        let archives = self.archive_store()?;
        let _write = archives.write_lock.lock().await;
        let mut row = self.archive_row(caller, name)?;
        if let Some(description) = change.description {
            row.description = Some(description);
        }
        if change.retention_days.is_some() {
            row.retention_days = retention(change.retention_days)?;
        }
        if let Some(pattern) = change.event_pattern {
            row.event_pattern = Some(pattern);
        }
        let pattern = parse_pattern(row.event_pattern.as_deref())?;
        archives.store.put_archive(&row).await?;
        archives.lock().archives.insert(archive_arn(&row), ArchiveEntry { row: row.clone(), pattern });
        Ok(row)
    }

    /// DeleteArchive, with its events.
    pub async fn delete_archive(&self, caller: &Caller, name: &str) -> Result<(), EventsError> {
        let archives = self.archive_store()?;
        let _write = archives.write_lock.lock().await;
        let row = self.archive_row(caller, name)?;
        let arn = archive_arn(&row);
        archives.store.delete_archive(&arn).await?;
        archives.lock().archives.remove(&arn);
        Ok(())
    }

    /// StartReplay.
    pub async fn start_replay(&self, caller: &Caller, new: NewReplay) -> Result<ReplayRow, EventsError> {
        check_name("replayName", &new.name, 64)?;
        let archives = self.archive_store()?;
        let own = format!("arn:aws:events:{}:{}:archive/", caller.region, caller.account);
        let archive_name = new.archive_arn.strip_prefix(own.as_str()).unwrap_or_default();
        let archive = self.archive_row(caller, archive_name).map_err(|_| {
            EventsError::NotFound(format!(
                "Archive {} does not exist.",
                if archive_name.is_empty() { &new.archive_arn } else { archive_name }
            ))
        })?;
        if new.event_start_ms >= new.event_end_ms {
            return Err(invalid(
                "Parameter EventStartTime is not valid. Reason: EventStartTime must be before EventEndTime.",
            ));
        }
        if new.destination_arn != archive.source_arn {
            return Err(invalid(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
            ));
        }
        let (owner, bus) = bus_owner(caller, Some(&new.destination_arn));
        for filter in &new.filter_arns {
            let rule = filter.rsplit('/').next().unwrap_or_default();
            self.rule(&owner, Some(&bus), rule).map_err(|_| {
                invalid(format!("Parameter Destination.FilterArns is not valid. Reason: Rule {filter} does not exist."))
            })?;
        }
        let _write = archives.write_lock.lock().await;
        let key = (caller.account.clone(), caller.region.clone(), new.name.clone());
        {
            let state = archives.lock();
            if state.replays.contains_key(&key) {
                return Err(EventsError::AlreadyExists(format!("Replay {} already exists.", new.name)));
            }
            let running = state
                .replays
                .values()
                .filter(|row| row.account == caller.account && row.region == caller.region)
                .filter(|row| matches!(row.state.as_str(), "STARTING" | "RUNNING" | "CANCELLING"))
                .count();
            if running >= MAX_RUNNING_REPLAYS {
                return Err(EventsError::LimitExceeded);
            }
        }
        let row = ReplayRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: new.name,
            archive_arn: archive_arn(&archive),
            description: new.description,
            destination_arn: new.destination_arn,
            filter_arns: new.filter_arns,
            event_start_ms: new.event_start_ms,
            event_end_ms: new.event_end_ms,
            state: "STARTING".into(),
            state_reason: None,
            started_ms: self.clock.now_millis(),
            ended_ms: None,
            last_replayed: None,
        };
        archives.store.put_replay(&row).await?;
        archives.lock().replays.insert(key.clone(), row.clone());
        tokio::spawn(run_replay(Arc::downgrade(archives), key));
        Ok(row)
    }

    /// DescribeReplay.
    pub fn replay(&self, caller: &Caller, name: &str) -> Result<ReplayRow, EventsError> {
        self.archive_store()?
            .lock()
            .replays
            .get(&(caller.account.clone(), caller.region.clone(), name.to_owned()))
            .cloned()
            .ok_or_else(|| EventsError::NotFound(format!("Replay {name} does not exist.")))
    }

    /// ListReplays, by name.
    pub fn replays(&self, caller: &Caller, prefix: &str) -> Result<Vec<ReplayRow>, EventsError> {
        Ok(self
            .archive_store()?
            .lock()
            .replays
            .values()
            .filter(|row| row.account == caller.account && row.region == caller.region && row.name.starts_with(prefix))
            .cloned()
            .collect())
    }

    /// CancelReplay: a replay that is starting or running stops after its current page.
    pub async fn cancel_replay(&self, caller: &Caller, name: &str) -> Result<ReplayRow, EventsError> {
        let archives = self.archive_store()?;
        let _write = archives.write_lock.lock().await;
        let mut row = self.replay(caller, name)?;
        if !matches!(row.state.as_str(), "STARTING" | "RUNNING") {
            return Err(EventsError::IllegalStatus(format!(
                "Replay {name} is not in a valid state for this operation."
            )));
        }
        row.state = "CANCELLING".into();
        archives.store.put_replay(&row).await?;
        archives.lock().replays.insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone());
        Ok(row)
    }
}

/// Writes `row` (durably, then in memory). A replay being saved as RUNNING that was cancelled
/// meanwhile is saved as CANCELLING: the cancel wins.
async fn save_replay(archives: &Archives, row: &ReplayRow) -> Result<(), EventsError> {
    let _write = archives.write_lock.lock().await;
    let key = (row.account.clone(), row.region.clone(), row.name.clone());
    let cancelled = archives.lock().replays.get(&key).is_some_and(|current| current.state == "CANCELLING");
    let mut row = row.clone();
    if cancelled && row.state == "RUNNING" {
        row.state = "CANCELLING".into();
    }
    let row = &row;
    archives.store.put_replay(row).await?;
    archives.lock().replays.insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone());
    Ok(())
}

/// Runs the replay `key` from where it stands to its end, page by page.
async fn run_replay(archives: Weak<Archives>, key: (String, String, String)) {
    loop {
        let Some(archives) = archives.upgrade() else { return };
        let Some(mut row) = archives.lock().replays.get(&key).cloned() else { return };
        let Some(events) = archives.events.upgrade() else { return };
        let now = events.clock.now_millis();
        match row.state.as_str() {
            "CANCELLING" => {
                row.state = "CANCELLED".into();
                row.ended_ms = Some(now);
                if let Err(err) = save_replay(&archives, &row).await {
                    tracing::warn!(replay = %row.name, error = %err, "could not record a cancelled replay");
                }
                return;
            }
            "STARTING" => {
                row.state = "RUNNING".into();
            }
            "RUNNING" => {}
            _ => return,
        }
        let page = match archives
            .store
            .events(&row.archive_arn, row.event_start_ms, row.event_end_ms, row.last_replayed, REPLAY_PAGE)
            .await
        {
            Ok(page) => page,
            Err(err) => {
                row.state = "FAILED".into();
                row.state_reason = Some(format!("Reading the archive failed: {err}"));
                row.ended_ms = Some(now);
                let _ = save_replay(&archives, &row).await;
                return;
            }
        };
        let (owner, bus) =
            bus_owner(&Caller { account: row.account.clone(), region: row.region.clone() }, Some(&row.destination_arn));
        for archived in &page {
            let Ok(mut event) = serde_json::from_str::<Value>(&archived.event) else { continue };
            if let Value::Object(fields) = &mut event {
                fields.insert("replay-name".into(), Value::from(row.name.clone()));
            }
            events.replay_event(&owner, &bus, &event, now, &row.filter_arns);
            row.last_replayed = Some((archived.time_ms, archived.seq));
        }
        if page.len() < REPLAY_PAGE {
            row.state = "COMPLETED".into();
            row.ended_ms = Some(events.clock.now_millis());
        }
        if let Err(err) = save_replay(&archives, &row).await {
            tracing::warn!(replay = %row.name, error = %err, "could not record a replay's progress");
            return;
        }
        if row.state == "COMPLETED" {
            tracing::info!(replay = %row.name, "replay completed");
            return;
        }
        drop(events);
        tokio::task::yield_now().await;
    }
}
