//! EventBridge Scheduler: schedule groups, schedules, and the worker that invokes their targets.
//!
//! Semantics follow the EventBridge Scheduler user guide ("Schedule types", "Flexible time
//! windows", "Configuring a dead-letter queue", "Context attributes") and its API reference.
//!
//! # Expressions
//! ```text
//! at(yyyy-mm-ddThh:mm:ss)   once, at that local time of ScheduleExpressionTimezone (UTC if none)
//! rate(N minute|minutes|hour|hours|day|days)
//!                           every N units from StartDate, or from the schedule's creation
//!                           (or last update) when there is none: the first invocation is then
//!                           at once, as AWS starts rate schedules without a StartDate at once
//! cron(m h dom mon dow y)   the rules' six-field grammar, evaluated in the schedule's time zone
//! ```
//! Daylight-saving time, as AWS documents it: a cron time inside a spring-forward gap is
//! skipped, one inside a fall-back repeated hour fires once (at its first occurrence); a
//! rate counts elapsed time, not wall-clock time. `StartDate` and `EndDate` bound recurring
//! schedules and are ignored by one-time ones.
//!
//! # Invocations
//! Each invocation sends the target's `Input` (or `{}` when there is none) with the context
//! attributes `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`,
//! `<aws.scheduler.execution-id>` and `<aws.scheduler.attempt-number>` substituted; there is
//! no event envelope. With a `FLEXIBLE` window the invocation happens at a random instant
//! within the window after the scheduled time. A failed invocation is retried with
//! exponential backoff within the target's `RetryPolicy` (185 attempts, 24 hours by
//! default); one that still fails, or that the target refuses, goes to the `DeadLetterConfig`
//! queue if there is one. Retries wait in the durable retry queue the wiring connects
//! ([`crate::retries`]), so they outlive a restart.
//!
//! A one-time schedule invokes once, then is deleted (`ActionAfterCompletion` DELETE) or kept
//! as completed; a recurring one with `EndDate` and DELETE is deleted after its last
//! invocation. Invocations missed while wharf was down are not replayed, as for rules: a
//! recurring schedule next fires at its first time after the restart, and a one-time
//! schedule whose time passed while wharf was down fires once at the restart.

use rand::Rng as _;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use wharf_store::schedules::{ScheduleGroupRow, ScheduleRow, ScheduleStore};
use wharf_types::{Clock, HandOffError};

use crate::schedule::{Cron, InvalidSchedule};
use crate::target::iso_time;

/// Delivery to the targets Scheduler invokes, as the schedule's execution role.
#[async_trait::async_trait]
pub trait ScheduleDelivery: Send + Sync + 'static {
    /// Invokes the target of `invocation` once.
    async fn invoke(&self, invocation: &Invocation) -> Result<(), HandOffError>;

    /// Sends what could not be delivered to the dead-letter queue `queue_arn`, with the
    /// message attributes AWS documents (`ERROR_CODE`, `ERROR_MESSAGE`, …).
    async fn dead_letter(
        &self,
        invocation: &Invocation,
        queue_arn: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), HandOffError>;
}

/// One invocation of a schedule's target.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Invocation {
    /// The schedule's ARN.
    pub schedule_arn: String,
    /// Its group's ARN (the `aws:SourceArn` of the role's trust).
    pub group_arn: String,
    /// The owner account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The target's ARN.
    pub target_arn: String,
    /// The role Scheduler assumes.
    pub role_arn: String,
    /// What is sent, context attributes substituted.
    pub payload: String,
    /// `SqsParameters.MessageGroupId`.
    pub message_group_id: Option<String>,
    /// `EventBridgeParameters` (DetailType, Source).
    pub eventbridge: Option<(String, String)>,
}

/// Why a request about schedules was refused, in Scheduler's words.
#[derive(Debug, thiserror::Error)]
pub enum SchedulesError {
    /// `ValidationException`.
    #[error("{0}")]
    Validation(String),
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// `ConflictException`.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl From<wharf_store::StoreError> for SchedulesError {
    fn from(err: wharf_store::StoreError) -> Self {
        SchedulesError::Storage(err.to_string())
    }
}

/// The group every account and region has.
pub const DEFAULT_GROUP: &str = "default";
/// Scheduler's default `RetryPolicy`.
const DEFAULT_RETRY_ATTEMPTS: u32 = 185;
const DEFAULT_MAX_EVENT_AGE_SECONDS: u32 = 86_400;
const MILLIS_PER_MINUTE: u64 = 60_000;

/// A parsed schedule expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expression {
    /// `at(...)`: a local date and time.
    At(jiff::civil::DateTime),
    /// `rate(...)`, in minutes.
    Rate(u64),
    /// `cron(...)`.
    Cron(Cron),
}

fn invalid_expression() -> SchedulesError {
    SchedulesError::Validation("Invalid Schedule Expression.".to_owned())
}

impl FromStr for Expression {
    type Err = SchedulesError;

    fn from_str(text: &str) -> Result<Expression, SchedulesError> {
        if let Some(body) = text.strip_prefix("at(").and_then(|rest| rest.strip_suffix(')')) {
            return parse_at(body).map(Expression::At).ok_or_else(invalid_expression);
        }
        if let Some(body) = text.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            let (value, unit) = body.split_once(' ').ok_or_else(invalid_expression)?;
            if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid_expression());
            }
            let value: u64 = value.parse().map_err(|_| invalid_expression())?;
            let per_unit = match unit {
                "minute" | "minutes" => 1,
                "hour" | "hours" => 60,
                "day" | "days" => 1440,
                _ => return Err(invalid_expression()),
            };
            if value == 0 {
                return Err(invalid_expression());
            }
            return value.checked_mul(per_unit).map(Expression::Rate).ok_or_else(invalid_expression);
        }
        if let Some(body) = text.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            return body.parse::<Cron>().map(Expression::Cron).map_err(|_: InvalidSchedule| invalid_expression());
        }
        Err(invalid_expression())
    }
}

/// `yyyy-mm-ddThh:mm:ss`, exactly.
fn parse_at(text: &str) -> Option<jiff::civil::DateTime> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            10 => *byte == b'T',
            13 | 16 => *byte == b':',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i16>().ok();
    let year = number(0..4)?;
    jiff::civil::DateTime::new(
        year,
        number(5..7)? as i8,
        number(8..10)? as i8,
        number(11..13)? as i8,
        number(14..16)? as i8,
        number(17..19)? as i8,
        0,
    )
    .ok()
}

/// The time zone named `name` (IANA), or UTC.
pub fn time_zone(name: Option<&str>) -> Result<jiff::tz::TimeZone, SchedulesError> {
    match name {
        None => Ok(jiff::tz::TimeZone::UTC),
        Some(name) => {
            jiff::tz::TimeZone::get(name).map_err(|_| SchedulesError::Validation(format!("Invalid time zone: {name}.")))
        }
    }
}

/// The instant of a local date and time: a time in a gap moves past it, one in a fold takes
/// its first occurrence (jiff's compatible disambiguation).
fn instant_of(local: jiff::civil::DateTime, zone: &jiff::tz::TimeZone) -> Option<u64> {
    let zoned = zone.to_ambiguous_zoned(local).compatible().ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

/// A local date and time as if it were UTC, in epoch millis (the cron search's timeline).
fn local_millis(instant_ms: u64, zone: &jiff::tz::TimeZone) -> Option<u64> {
    let timestamp = jiff::Timestamp::from_millisecond(i64::try_from(instant_ms).ok()?).ok()?;
    let local = zone.to_datetime(timestamp);
    let as_utc = jiff::tz::Offset::UTC.to_timestamp(local).ok()?;
    u64::try_from(as_utc.as_millisecond()).ok()
}

fn civil_of(local_ms: u64) -> Option<jiff::civil::DateTime> {
    let timestamp = jiff::Timestamp::from_millisecond(i64::try_from(local_ms).ok()?).ok()?;
    Some(jiff::tz::TimeZone::UTC.to_datetime(timestamp))
}

/// The first instant strictly after `after_ms` that `cron` selects in `zone`: a local time in
/// a gap is skipped, one in a fold fires at its first occurrence only.
fn next_cron(cron: &Cron, zone: &jiff::tz::TimeZone, after_ms: u64) -> Option<u64> {
    let mut local = local_millis(after_ms, zone)?;
    // A year of fold and gap skips at most; the cron search itself stops past 2199.
    for _ in 0..10_000 {
        let candidate = cron.next_after(local)?;
        let civil = civil_of(candidate)?;
        let instant = match zone.to_ambiguous_timestamp(civil).offset() {
            jiff::tz::AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil).ok(),
            jiff::tz::AmbiguousOffset::Gap { .. } => None,
            jiff::tz::AmbiguousOffset::Fold { before, .. } => before.to_timestamp(civil).ok(),
        };
        if let Some(instant) = instant.and_then(|instant| u64::try_from(instant.as_millisecond()).ok()) {
            if instant > after_ms {
                return Some(instant);
            }
        }
        local = candidate;
    }
    None
}

impl Expression {
    /// The first scheduled instant of `row` strictly after `after_ms`, within its dates.
    pub fn next_after(&self, row: &ScheduleRow, after_ms: u64) -> Option<u64> {
        let zone = time_zone(row.timezone.as_deref()).ok()?;
        match self {
            Expression::At(local) => instant_of(*local, &zone).filter(|instant| *instant > after_ms),
            Expression::Rate(minutes) => {
                let period = minutes.checked_mul(MILLIS_PER_MINUTE)?;
                let anchor = row.start_ms.unwrap_or(row.modified_ms);
                let next = if after_ms < anchor {
                    anchor
                } else {
                    anchor.checked_add(((after_ms - anchor) / period + 1).checked_mul(period)?)?
                };
                Some(next).filter(|next| row.end_ms.is_none_or(|end| *next <= end))
            }
            Expression::Cron(cron) => {
                let from = row.start_ms.map_or(after_ms, |start| after_ms.max(start.saturating_sub(1)));
                next_cron(cron, &zone, from).filter(|next| row.end_ms.is_none_or(|end| *next <= end))
            }
        }
    }
}

type GroupKey = (String, String, String);
type ScheduleKey = (String, String, String, String);

/// A schedule in memory: its record and its next invocation.
struct Entry {
    row: ScheduleRow,
    expression: Expression,
    /// The next scheduled instant and the instant it is invoked at (later within a flexible
    /// window); `None` when it will not fire again (disabled, completed, past its end).
    next: Option<(u64, u64)>,
}

impl Entry {
    fn new(row: ScheduleRow, now: u64) -> Option<Entry> {
        let expression = row.expression.parse().ok()?;
        let mut entry = Entry { row, expression, next: None };
        entry.plan_from(now.saturating_sub(1), true);
        Some(entry)
    }

    /// Plans the first invocation after `after_ms` (a one-time schedule whose time has
    /// passed fires at once when `catch_up`, unless it completed).
    fn plan_from(&mut self, after_ms: u64, catch_up: bool) {
        self.next = None;
        if !self.row.enabled || self.row.completed {
            return;
        }
        let due = match &self.expression {
            Expression::At(_) if catch_up => self.expression.next_after(&self.row, 0),
            _ => self.expression.next_after(&self.row, after_ms),
        };
        let Some(due) = due else { return };
        let window = self.row.flexible_window_minutes.map_or(0, |minutes| u64::from(minutes) * MILLIS_PER_MINUTE);
        let offset = if window == 0 { 0 } else { rand::thread_rng().gen_range(0..=window) };
        // A one-time schedule whose time passed is invoked now.
        self.next = Some((due, due.max(after_ms.saturating_add(1)) + offset));
    }
}

#[derive(Default)]
struct State {
    groups: BTreeMap<GroupKey, ScheduleGroupRow>,
    schedules: BTreeMap<ScheduleKey, Entry>,
}

/// The Scheduler engine: groups and schedules in memory over a [`ScheduleStore`], and the
/// invocations of their targets through a [`ScheduleDelivery`].
pub struct Schedules {
    store: Arc<dyn ScheduleStore>,
    clock: Arc<dyn Clock>,
    delivery: Arc<dyn ScheduleDelivery>,
    state: Mutex<State>,
    changed: tokio::sync::Notify,
    /// Where failed invocations wait for their next attempt (durably once the wiring connects
    /// one; in memory until then).
    retries: std::sync::OnceLock<Arc<dyn crate::retries::RetryQueue>>,
}

/// Who asks: the account and region of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
}

/// A schedule's ARN.
pub fn schedule_arn(row: &ScheduleRow) -> String {
    format!("arn:aws:scheduler:{}:{}:schedule/{}/{}", row.region, row.account, row.group, row.name)
}

/// A group's ARN.
pub fn group_arn(owner: &Owner, group: &str) -> String {
    format!("arn:aws:scheduler:{}:{}:schedule-group/{group}", owner.region, owner.account)
}

impl Schedules {
    /// Loads every stored group and schedule.
    pub async fn open(
        store: Arc<dyn ScheduleStore>,
        clock: Arc<dyn Clock>,
        delivery: Arc<dyn ScheduleDelivery>,
    ) -> Result<Schedules, SchedulesError> {
        let now = clock.now_millis();
        let mut state = State::default();
        for row in store.load_groups().await? {
            state.groups.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        }
        for row in store.load_schedules().await? {
            let key = (row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone());
            if let Some(entry) = Entry::new(row, now) {
                state.schedules.insert(key, entry);
            }
        }
        Ok(Schedules {
            store,
            clock,
            delivery,
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
            retries: std::sync::OnceLock::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn group_exists(state: &State, owner: &Owner, group: &str) -> bool {
        group == DEFAULT_GROUP
            || state.groups.contains_key(&(owner.account.clone(), owner.region.clone(), group.into()))
    }

    /// The moved test clock: plan again from the new time.
    pub fn clock_moved(&self) {
        self.changed.notify_one();
    }

    // ---- groups ----

    /// CreateScheduleGroup.
    pub async fn create_group(
        &self,
        owner: &Owner,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<String, SchedulesError> {
        let now = self.clock.now_millis();
        let row = {
            let state = self.lock();
            if Self::group_exists(&state, owner, name) {
                return Err(SchedulesError::Conflict(format!("Schedule group {name} already exists.")));
            }
            ScheduleGroupRow {
                account: owner.account.clone(),
                region: owner.region.clone(),
                name: name.to_owned(),
                created_ms: now,
                modified_ms: now,
                tags,
            }
        };
        self.store.put_group(&row).await?;
        self.lock().groups.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        Ok(group_arn(owner, name))
    }

    /// GetScheduleGroup (the default group has no row: it is made up here).
    pub fn group(&self, owner: &Owner, name: &str) -> Result<ScheduleGroupRow, SchedulesError> {
        let state = self.lock();
        match state.groups.get(&(owner.account.clone(), owner.region.clone(), name.to_owned())) {
            Some(row) => Ok(row.clone()),
            None if name == DEFAULT_GROUP => Ok(ScheduleGroupRow {
                account: owner.account.clone(),
                region: owner.region.clone(),
                name: DEFAULT_GROUP.to_owned(),
                created_ms: 0,
                modified_ms: 0,
                tags: BTreeMap::new(),
            }),
            None => Err(SchedulesError::NotFound(format!("Schedule group {name} does not exist."))),
        }
    }

    /// ListScheduleGroups: the default group and the account's groups, by name.
    pub fn groups(&self, owner: &Owner, prefix: Option<&str>) -> Vec<ScheduleGroupRow> {
        let mut names: Vec<String> = {
            let state = self.lock();
            state
                .groups
                .values()
                .filter(|row| row.account == owner.account && row.region == owner.region)
                .map(|row| row.name.clone())
                .collect()
        };
        names.push(DEFAULT_GROUP.to_owned());
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|name| prefix.is_none_or(|prefix| name.starts_with(prefix)))
            .filter_map(|name| self.group(owner, &name).ok())
            .collect()
    }

    /// DeleteScheduleGroup: the group and every schedule in it.
    pub async fn delete_group(&self, owner: &Owner, name: &str) -> Result<(), SchedulesError> {
        if name == DEFAULT_GROUP {
            return Err(SchedulesError::Validation("The default schedule group can not be deleted.".to_owned()));
        }
        let doomed: Vec<ScheduleKey> = {
            let state = self.lock();
            if !state.groups.contains_key(&(owner.account.clone(), owner.region.clone(), name.to_owned())) {
                return Err(SchedulesError::NotFound(format!("Schedule group {name} does not exist.")));
            }
            state
                .schedules
                .keys()
                .filter(|(account, region, group, _)| {
                    *account == owner.account && *region == owner.region && group == name
                })
                .cloned()
                .collect()
        };
        for (account, region, group, schedule) in &doomed {
            self.store.delete_schedule(account, region, group, schedule).await?;
            self.lock().schedules.remove(&(account.clone(), region.clone(), group.clone(), schedule.clone()));
        }
        self.store.delete_group(&owner.account, &owner.region, name).await?;
        self.lock().groups.remove(&(owner.account.clone(), owner.region.clone(), name.to_owned()));
        self.changed.notify_one();
        Ok(())
    }

    /// TagResource / UntagResource on a group: `change` edits its tags.
    pub async fn change_tags(
        &self,
        owner: &Owner,
        group: &str,
        change: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), SchedulesError> {
        let mut row = {
            let state = self.lock();
            state
                .groups
                .get(&(owner.account.clone(), owner.region.clone(), group.to_owned()))
                .cloned()
                .ok_or_else(|| SchedulesError::NotFound(format!("Schedule group {group} does not exist.")))?
        };
        change(&mut row.tags);
        row.modified_ms = self.clock.now_millis();
        self.store.put_group(&row).await?;
        self.lock().groups.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        Ok(())
    }

    // ---- schedules ----

    /// CreateSchedule (`create`) or UpdateSchedule: `row` replaces the schedule whole; its
    /// `created_ms` is kept on update.
    pub async fn put_schedule(&self, mut row: ScheduleRow, create: bool) -> Result<String, SchedulesError> {
        let expression: Expression = row.expression.parse()?;
        time_zone(row.timezone.as_deref())?;
        if let (Some(start), Some(end)) = (row.start_ms, row.end_ms) {
            if end <= start {
                return Err(SchedulesError::Validation("The EndDate must be after the StartDate.".to_owned()));
            }
        }
        let now = self.clock.now_millis();
        let owner = Owner { account: row.account.clone(), region: row.region.clone() };
        let key = (row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone());
        {
            let state = self.lock();
            if !Self::group_exists(&state, &owner, &row.group) {
                return Err(SchedulesError::NotFound(format!("Schedule group {} does not exist.", row.group)));
            }
            match (state.schedules.get(&key), create) {
                (Some(_), true) => {
                    return Err(SchedulesError::Conflict(format!("Schedule {} already exists.", row.name)));
                }
                (None, false) => {
                    return Err(SchedulesError::NotFound(format!("Schedule {} does not exist.", row.name)));
                }
                (Some(existing), false) => row.created_ms = existing.row.created_ms,
                (None, true) => row.created_ms = now,
            }
        }
        row.modified_ms = now;
        row.completed = false;
        self.store.put_schedule(&row).await?;
        let arn = schedule_arn(&row);
        let mut entry = Entry { row, expression, next: None };
        entry.plan_from(now.saturating_sub(1), true);
        tracing::info!(schedule = %arn, next = ?entry.next.map(|(due, _)| iso_time(due)), "schedule saved");
        self.lock().schedules.insert(key, entry);
        self.changed.notify_one();
        Ok(arn)
    }

    /// GetSchedule.
    pub fn schedule(&self, owner: &Owner, group: &str, name: &str) -> Result<ScheduleRow, SchedulesError> {
        let state = self.lock();
        if !Self::group_exists(&state, owner, group) {
            return Err(SchedulesError::NotFound(format!("Schedule group {group} does not exist.")));
        }
        state
            .schedules
            .get(&(owner.account.clone(), owner.region.clone(), group.to_owned(), name.to_owned()))
            .map(|entry| entry.row.clone())
            .ok_or_else(|| SchedulesError::NotFound(format!("Schedule {name} does not exist.")))
    }

    /// ListSchedules: by group, then name.
    pub fn schedules(
        &self,
        owner: &Owner,
        group: Option<&str>,
        prefix: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<Vec<ScheduleRow>, SchedulesError> {
        let state = self.lock();
        if let Some(group) = group {
            if !Self::group_exists(&state, owner, group) {
                return Err(SchedulesError::NotFound(format!("Schedule group {group} does not exist.")));
            }
        }
        Ok(state
            .schedules
            .values()
            .map(|entry| &entry.row)
            .filter(|row| row.account == owner.account && row.region == owner.region)
            .filter(|row| group.is_none_or(|group| row.group == group))
            .filter(|row| prefix.is_none_or(|prefix| row.name.starts_with(prefix)))
            .filter(|row| enabled.is_none_or(|enabled| row.enabled == enabled))
            .cloned()
            .collect())
    }

    /// DeleteSchedule.
    pub async fn delete_schedule(&self, owner: &Owner, group: &str, name: &str) -> Result<(), SchedulesError> {
        self.schedule(owner, group, name)?;
        self.store.delete_schedule(&owner.account, &owner.region, group, name).await?;
        self.lock().schedules.remove(&(owner.account.clone(), owner.region.clone(), group.to_owned(), name.to_owned()));
        self.changed.notify_one();
        Ok(())
    }

    // ---- the worker ----

    /// Runs the invocations until `stop` turns true (or its sender is dropped): sleeps until
    /// the earliest planned invocation, a change, or the test clock's move; never polls.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let now = self.clock.now_millis();
            let (due, next) = self.take_due(now);
            // Every due invocation first, then the bookkeeping (a completed one-time schedule's
            // synced delete), so no invocation waits for another's disk write.
            for (row, scheduled_ms) in &due {
                self.invoke(row, *scheduled_ms);
            }
            self.after_invocations(&due).await;
            if !crate::scheduler::wait_for_next(next, now, &self.changed, &mut stop).await {
                return;
            }
        }
    }

    /// The schedules due at `now` (each planned again after its scheduled instant) and the
    /// earliest next invocation of all.
    fn take_due(&self, now: u64) -> (Vec<(ScheduleRow, u64)>, Option<u64>) {
        let mut state = self.lock();
        let mut due = Vec::new();
        let mut earliest: Option<u64> = None;
        for entry in state.schedules.values_mut() {
            if let Some((scheduled, at)) = entry.next {
                if at <= now {
                    due.push((entry.row.clone(), scheduled));
                    if matches!(entry.expression, Expression::At(_)) {
                        entry.next = None;
                        entry.row.completed = true;
                    } else {
                        entry.plan_from(scheduled.max(now), false);
                    }
                }
            }
            if let Some((_, at)) = entry.next {
                earliest = Some(earliest.map_or(at, |current| current.min(at)));
            }
        }
        (due, earliest)
    }

    /// After invocations: a one-time schedule is deleted or kept as completed; a recurring
    /// one that will not fire again is deleted when asked to. One durable write for all.
    async fn after_invocations(&self, fired: &[(ScheduleRow, u64)]) {
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        {
            let state = self.lock();
            for (row, _) in fired {
                let key = (row.account.clone(), row.region.clone(), row.group.clone(), row.name.clone());
                let Some(entry) = state.schedules.get(&key) else { continue };
                if entry.next.is_some() {
                    continue;
                }
                if entry.row.delete_after_completion {
                    deletes.push(key);
                } else if entry.row.completed {
                    puts.push(entry.row.clone());
                }
            }
        }
        if puts.is_empty() && deletes.is_empty() {
            return;
        }
        match self.store.complete_schedules(puts, deletes.clone()).await {
            Ok(()) => {
                let mut state = self.lock();
                for key in deletes {
                    if let Some(entry) = state.schedules.remove(&key) {
                        tracing::info!(schedule = %schedule_arn(&entry.row), "schedule completed and deleted");
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "recording completed schedules failed"),
        }
    }

    fn invoke(&self, row: &ScheduleRow, scheduled_ms: u64) {
        let owner = Owner { account: row.account.clone(), region: row.region.clone() };
        let schedule = schedule_arn(row);
        // The payload is filled in by each attempt (its own execution id and attempt number).
        let invocation = Invocation {
            schedule_arn: schedule.clone(),
            group_arn: group_arn(&owner, &row.group),
            account: row.account.clone(),
            region: row.region.clone(),
            target_arn: row.target.arn.clone(),
            role_arn: row.target.role_arn.clone(),
            payload: String::new(),
            message_group_id: row.target.message_group_id.clone(),
            eventbridge: row.target.eventbridge.clone(),
        };
        let pending = PendingInvocation {
            invocation,
            template: row.target.input.clone().unwrap_or_else(|| "{}".to_owned()),
            scheduled_ms,
            max_attempts: row
                .target
                .maximum_retry_attempts
                .unwrap_or(DEFAULT_RETRY_ATTEMPTS)
                .min(DEFAULT_RETRY_ATTEMPTS)
                + 1,
            max_age_seconds: row.target.maximum_event_age_seconds.unwrap_or(DEFAULT_MAX_EVENT_AGE_SECONDS),
            dead_letter_arn: row.target.dead_letter_arn.clone(),
        };
        tracing::info!(schedule = %schedule, scheduled = %iso_time(scheduled_ms), target = %row.target.arn, "schedule invoked");
        let parts = self.parts();
        let first_ms = self.clock.now_millis();
        tokio::spawn(async move {
            let pending = crate::retries::PendingDelivery {
                payload: String::new(),
                origin: crate::retries::Origin::Schedule(pending),
                attempts: 0,
                first_ms,
            };
            attempt_invocation(parts, pending).await;
        });
    }

    fn parts(&self) -> Parts {
        Parts {
            delivery: Arc::clone(&self.delivery),
            clock: Arc::clone(&self.clock),
            retries: self.retries.get().cloned(),
        }
    }

    /// Connects the durable retry queue (once).
    pub fn set_retry_queue(&self, queue: Arc<dyn crate::retries::RetryQueue>) {
        let _ = self.retries.set(queue);
    }

    /// Makes the next attempt of a schedule's pending invocation (the retry worker calls this).
    pub async fn retry(&self, pending: crate::retries::PendingDelivery) {
        if let crate::retries::Origin::Schedule(_) = &pending.origin {
            attempt_invocation(self.parts(), pending).await;
        }
    }
}

/// A schedule's invocation with what its retries need: the input template (each attempt gets
/// its own execution id and attempt number), the scheduled time and the retry policy.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PendingInvocation {
    /// The invocation (its payload that of the latest attempt).
    pub invocation: Invocation,
    /// The target's `Input`, before substitution.
    pub template: String,
    /// The scheduled instant.
    pub scheduled_ms: u64,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// `MaximumEventAgeInSeconds`.
    pub max_age_seconds: u32,
    /// The dead-letter queue.
    pub dead_letter_arn: Option<String>,
}

/// What an attempt needs of the engine, owned, so it can run in a task of its own.
struct Parts {
    delivery: Arc<dyn ScheduleDelivery>,
    clock: Arc<dyn Clock>,
    retries: Option<Arc<dyn crate::retries::RetryQueue>>,
}

/// Makes the next attempt of an invocation: a failure that may pass is held for another
/// attempt (1 s, doubling up to 5 min) within the retry policy, durably when a retry queue is
/// connected; what still fails, or what the target refuses, goes to the dead-letter queue.
async fn attempt_invocation(parts: Parts, mut pending: crate::retries::PendingDelivery) {
    let crate::retries::Origin::Schedule(mut invocation) = pending.origin.clone() else { return };
    let (code, message, exhausted) = loop {
        pending.attempts += 1;
        let attempt = pending.attempts;
        let mut execution_id = uuid::Uuid::new_v4().simple().to_string();
        execution_id.truncate(16);
        invocation.invocation.payload = context_input(
            &invocation.template,
            &invocation.invocation.schedule_arn,
            invocation.scheduled_ms,
            &execution_id,
            attempt,
        );
        pending.payload = invocation.invocation.payload.clone();
        let reason = match parts.delivery.invoke(&invocation.invocation).await {
            Ok(()) => return,
            Err(HandOffError::Refused(reason)) => break ("AccessDenied".to_owned(), reason, None),
            Err(HandOffError::NotFound(reason)) => break ("ResourceNotFound".to_owned(), reason, None),
            Err(HandOffError::Unavailable(reason)) => reason,
        };
        if attempt >= invocation.max_attempts {
            break ("ServiceUnavailable".to_owned(), reason, Some("MaximumRetryAttempts"));
        }
        let delay = crate::retries::delay_before(attempt + 1);
        let age = Duration::from_millis(parts.clock.now_millis().saturating_sub(pending.first_ms));
        if age + delay > Duration::from_secs(u64::from(invocation.max_age_seconds)) {
            break ("ServiceUnavailable".to_owned(), reason, Some("MaximumEventAgeInSeconds"));
        }
        tracing::debug!(schedule = %invocation.invocation.schedule_arn, attempt, %reason, "invocation failed; retrying");
        pending.origin = crate::retries::Origin::Schedule(invocation.clone());
        if let Some(queue) = &parts.retries {
            match queue.hold(pending.clone(), delay).await {
                Ok(()) => return,
                Err(err) => tracing::warn!(error = %err, "the retry queue refused an invocation: retrying in memory"),
            }
        }
        tokio::time::sleep(delay).await;
    };
    let target = &invocation.invocation;
    tracing::warn!(schedule = %target.schedule_arn, target = %target.target_arn, %message, "invocation failed for good");
    let Some(queue_arn) = &invocation.dead_letter_arn else { return };
    let mut attributes = BTreeMap::from([
        ("ERROR_CODE".to_owned(), code),
        ("ERROR_MESSAGE".to_owned(), message),
        ("RETRY_ATTEMPTS".to_owned(), pending.attempts.saturating_sub(1).to_string()),
        ("SCHEDULE_ARN".to_owned(), target.schedule_arn.clone()),
        ("SCHEDULED_TIME".to_owned(), iso_time(invocation.scheduled_ms)),
        ("TARGET_ARN".to_owned(), target.target_arn.clone()),
    ]);
    if let Some(condition) = exhausted {
        attributes.insert("EXHAUSTED_RETRY_CONDITION".to_owned(), condition.to_owned());
    }
    if let Err(err) = parts.delivery.dead_letter(target, queue_arn, attributes).await {
        tracing::warn!(schedule = %target.schedule_arn, queue = %queue_arn, error = %err, "the dead-letter queue refused the invocation");
    }
}

/// `input` with Scheduler's context attributes substituted.
pub fn context_input(input: &str, schedule_arn: &str, scheduled_ms: u64, execution_id: &str, attempt: u32) -> String {
    input
        .replace("<aws.scheduler.schedule-arn>", schedule_arn)
        .replace("<aws.scheduler.scheduled-time>", &iso_time(scheduled_ms))
        .replace("<aws.scheduler.execution-id>", execution_id)
        .replace("<aws.scheduler.attempt-number>", &attempt.to_string())
}

/// The time a test's schedule is due, for tests: the planned `(scheduled, invoked)` instants.
#[cfg(test)]
impl Schedules {
    fn planned(&self, owner: &Owner, group: &str, name: &str) -> Option<(u64, u64)> {
        let state = self.lock();
        state
            .schedules
            .get(&(owner.account.clone(), owner.region.clone(), group.to_owned(), name.to_owned()))
            .and_then(|entry| entry.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_store::schedules::sample_schedule;

    fn millis(text: &str) -> u64 {
        text.parse::<jiff::Timestamp>().expect("timestamp").as_millisecond() as u64
    }

    fn next(expression: &str, zone: Option<&str>, after: &str) -> Option<String> {
        let mut row = sample_schedule("default", "s");
        row.expression = expression.into();
        row.timezone = zone.map(str::to_owned);
        let parsed: Expression = expression.parse().expect("valid");
        parsed.next_after(&row, millis(after)).map(iso_time)
    }

    #[test]
    fn expressions_parse_as_scheduler_accepts_them() {
        for valid in [
            "at(2030-01-31T23:59:00)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hours)",
            "rate(2 day)",
            "cron(0 8 * * ? *)",
        ] {
            assert!(valid.parse::<Expression>().is_ok(), "{valid}");
        }
        for invalid in [
            "at(2030-02-30T00:00:00)",
            "at(2030-01-31 23:59:00)",
            "at(2030-1-31T23:59:00)",
            "rate(0 minutes)",
            "rate( 5 minutes)",
            "rate(5 weeks)",
            "cron(0 8 * * * *)",
            "every day",
        ] {
            assert!(invalid.parse::<Expression>().is_err(), "{invalid}");
        }
    }

    #[test]
    fn cron_runs_in_its_time_zone_across_daylight_saving_time() {
        // 08:00 in New York is 13:00 UTC in winter, 12:00 UTC in summer.
        assert_eq!(
            next("cron(0 8 * * ? *)", Some("America/New_York"), "2026-01-10T00:00:00Z").as_deref(),
            Some("2026-01-10T13:00:00Z")
        );
        assert_eq!(
            next("cron(0 8 * * ? *)", Some("America/New_York"), "2026-07-10T00:00:00Z").as_deref(),
            Some("2026-07-10T12:00:00Z")
        );
        // 02:30 does not exist on 2026-03-08 in New York (spring forward): skipped to the next day.
        assert_eq!(
            next("cron(30 2 * * ? *)", Some("America/New_York"), "2026-03-08T05:00:00Z").as_deref(),
            Some("2026-03-09T06:30:00Z")
        );
        // 01:30 happens twice on 2026-11-01 (fall back): once, at its first occurrence.
        assert_eq!(
            next("cron(30 1 * * ? *)", Some("America/New_York"), "2026-11-01T04:00:00Z").as_deref(),
            Some("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            next("cron(30 1 * * ? *)", Some("America/New_York"), "2026-11-01T05:30:00Z").as_deref(),
            Some("2026-11-02T06:30:00Z")
        );
        // UTC when no zone is named.
        assert_eq!(next("cron(0 8 * * ? *)", None, "2026-01-10T00:00:00Z").as_deref(), Some("2026-01-10T08:00:00Z"));
    }

    #[test]
    fn at_is_local_and_rates_count_from_the_start() {
        assert_eq!(
            next("at(2026-06-01T09:00:00)", Some("Europe/Paris"), "2026-01-01T00:00:00Z").as_deref(),
            Some("2026-06-01T07:00:00Z")
        );
        assert_eq!(next("at(2026-06-01T09:00:00)", Some("Europe/Paris"), "2026-07-01T00:00:00Z"), None);
        let mut row = sample_schedule("default", "s");
        row.modified_ms = millis("2026-01-01T00:00:30Z");
        let rate = Expression::Rate(5);
        assert_eq!(
            rate.next_after(&row, millis("2026-01-01T00:00:00Z")).map(iso_time).as_deref(),
            Some("2026-01-01T00:00:30Z"),
            "at once without a StartDate"
        );
        assert_eq!(
            rate.next_after(&row, millis("2026-01-01T00:00:30Z")).map(iso_time).as_deref(),
            Some("2026-01-01T00:05:30Z")
        );
        row.end_ms = Some(millis("2026-01-01T00:07:00Z"));
        assert_eq!(rate.next_after(&row, millis("2026-01-01T00:05:30Z")), None, "past the EndDate");
    }

    #[test]
    fn context_attributes_are_substituted() {
        assert_eq!(
            context_input(
                r#"{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>", "n": <aws.scheduler.attempt-number>}"#,
                "arn:aws:scheduler:us-east-1:1:schedule/default/s",
                millis("2026-01-01T00:00:00Z"),
                "abc",
                2
            ),
            r#"{"arn": "arn:aws:scheduler:us-east-1:1:schedule/default/s", "at": "2026-01-01T00:00:00Z", "id": "abc", "n": 2}"#
        );
    }

    struct Recorded(tokio::sync::mpsc::UnboundedSender<Invocation>);

    #[async_trait::async_trait]
    impl ScheduleDelivery for Recorded {
        async fn invoke(&self, invocation: &Invocation) -> Result<(), HandOffError> {
            let _ = self.0.send(invocation.clone());
            Ok(())
        }
        async fn dead_letter(
            &self,
            _invocation: &Invocation,
            _queue_arn: &str,
            _attributes: BTreeMap<String, String>,
        ) -> Result<(), HandOffError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_one_time_schedule_fires_once_and_deletes_itself() {
        let clock = Arc::new(wharf_types::OffsetClock::new());
        let (sender, mut invoked) = tokio::sync::mpsc::unbounded_channel();
        let store: Arc<dyn ScheduleStore> = Arc::new(wharf_store::schedules::MemoryScheduleStore::default());
        let schedules = Arc::new(
            Schedules::open(Arc::clone(&store), clock.clone(), Arc::new(Recorded(sender))).await.expect("open"),
        );
        let owner = Owner { account: "000000000000".into(), region: "us-east-1".into() };
        let now = clock.now_millis();
        let soon =
            jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::from_millisecond(now as i64 + 120_000).expect("ts"));
        let mut row = sample_schedule("default", "once");
        row.expression = format!("at({})", soon.strftime("%Y-%m-%dT%H:%M:%S"));
        row.delete_after_completion = true;
        row.target.input = Some(r#"{"at": "<aws.scheduler.scheduled-time>"}"#.into());
        schedules.put_schedule(row, true).await.expect("create");
        let (scheduled, _) = schedules.planned(&owner, "default", "once").expect("planned");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(Arc::clone(&schedules).run(stopped));
        clock.advance(121_000);
        schedules.clock_moved();
        let invocation = invoked.recv().await.expect("invoked");
        assert_eq!(invocation.payload, format!(r#"{{"at": "{}"}}"#, iso_time(scheduled)));
        // Deleted after its invocation.
        for _ in 0..100 {
            if schedules.schedule(&owner, "default", "once").is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(schedules.schedule(&owner, "default", "once").is_err());
        assert!(store.load_schedules().await.expect("load").is_empty());
        let _ = stop.send(true);
        worker.await.expect("worker");
    }
}
