//! The rules engine: event buses, rules, their targets and tags, PutEvents routing and the
//! hand-off of matched events to targets.
//!
//! Everything lives in memory behind one mutex and is written through to an [`EventStore`]
//! before the call returns; the store is read once at start-up. Changes are serialized by an
//! async lock held across the store write, so the store sees them in the order memory does.
//! Delivery goes through [`TargetDelivery`], which the wiring implements (Lambda asynchronous
//! invoke, SQS SendMessage); each delivery runs in its own task, so PutEvents and the scheduler
//! never wait for a target.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wharf_store::events::{BusRow, EventStore, RuleRow, TargetRow};
use wharf_types::{Clock, EpochMillis};

use crate::error::{EntryProblem, EventsError, TargetProblem};
use crate::target::{is_deliverable, iso_time, RuleContext, TargetInput};
use crate::{Pattern, Schedule};

/// The bus every account and region has.
pub const DEFAULT_BUS: &str = "default";
/// Most rules per bus.
pub const MAX_RULES_PER_BUS: usize = 300;
/// Most targets per rule.
pub const MAX_TARGETS_PER_RULE: usize = 5;
/// Most custom buses per account and region.
pub const MAX_BUSES: usize = 100;

/// Hands a payload to a rule target; implemented by the wiring.
#[async_trait]
pub trait TargetDelivery: Send + Sync + 'static {
    /// Delivers `payload` to the Lambda function (asynchronous invocation) or SQS queue
    /// (a message) `target_arn` names, for the rule `rule_arn` (whose resource policies must
    /// allow it); `message_group_id` is set for FIFO queues.
    async fn deliver(
        &self,
        target_arn: &str,
        rule_arn: &str,
        payload: String,
        message_group_id: Option<String>,
    ) -> Result<(), wharf_types::HandOffError>;

    /// Delivers `payload` to `target` for the rule `rule_arn`: by default [`Self::deliver`] to
    /// its ARN. Implementations that also deliver to event buses and log groups, which need
    /// the target's `RoleArn`, override this.
    async fn deliver_target(
        &self,
        target: &TargetRow,
        rule_arn: &str,
        payload: String,
    ) -> Result<(), wharf_types::HandOffError> {
        self.deliver(&target.arn, rule_arn, payload, target.message_group_id.clone()).await
    }

    /// Fetches the OAuth token of the connection `connection_arn` and reports the outcome
    /// with [`Events::connection_authorized`]; by default nothing (no HTTP delivery wired).
    async fn authorize_connection(&self, connection_arn: &str) {
        let _ = connection_arn;
    }

    /// Sends `payload`, which `rule_arn` could not deliver, to the SQS queue `queue_arn` with
    /// the message attributes EventBridge documents (`RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, …).
    /// By default a plain delivery, without the attributes.
    async fn dead_letter(
        &self,
        queue_arn: &str,
        rule_arn: &str,
        payload: String,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), wharf_types::HandOffError> {
        let _ = attributes;
        self.deliver(queue_arn, rule_arn, payload, None).await
    }
}

/// EventBridge's `ERROR_CODE` for a failed hand-off (from the user guide's list of codes).
pub fn error_code(reason: &wharf_types::HandOffError) -> &'static str {
    match reason {
        wharf_types::HandOffError::NotFound(_) => "NO_RESOURCE",
        wharf_types::HandOffError::Unavailable(_) => "THROTTLING",
        wharf_types::HandOffError::Refused(message)
            if message.contains("not authorized") || message.contains("cannot assume") =>
        {
            "NO_PERMISSIONS"
        }
        wharf_types::HandOffError::Refused(_) => "INVALID_PARAMETER",
    }
}

/// What a rule's fires and deliveries came to since start-up (AWS/Events' TriggeredRules,
/// Invocations, FailedInvocations, InvocationsSentToDlq).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleCounters {
    /// Times the rule matched an event or its schedule fired.
    pub triggered: u64,
    /// Deliveries to a target that succeeded.
    pub invocations: u64,
    /// Deliveries that failed for good (after their retries).
    pub failed_invocations: u64,
    /// Failed deliveries sent to a dead-letter queue.
    pub sent_to_dlq: u64,
}

type Counters = Mutex<std::collections::HashMap<String, RuleCounters>>;

fn count(counters: &Counters, rule_arn: &str, change: impl FnOnce(&mut RuleCounters)) {
    let mut counters = counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match counters.get_mut(rule_arn) {
        Some(entry) => change(entry),
        None => change(counters.entry(rule_arn.to_owned()).or_default()),
    }
}

/// Who calls: the account and region of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
}

/// PutRule's input.
#[derive(Clone, Debug, Default)]
pub struct NewRule {
    /// Rule name.
    pub name: String,
    /// Bus name or ARN; `default` when absent.
    pub bus: Option<String>,
    /// `rate(...)` or `cron(...)`.
    pub schedule_expression: Option<String>,
    /// Event pattern JSON.
    pub event_pattern: Option<String>,
    /// `ENABLED` unless false.
    pub enabled: Option<bool>,
    /// Free text.
    pub description: Option<String>,
    /// Recorded only.
    pub role_arn: Option<String>,
    /// Tags to add.
    pub tags: BTreeMap<String, String>,
}

/// One PutEvents entry.
#[derive(Clone, Debug, Default)]
pub struct NewEvent {
    /// `Source`.
    pub source: Option<String>,
    /// `DetailType`.
    pub detail_type: Option<String>,
    /// `Detail`, JSON object text.
    pub detail: Option<String>,
    /// `Resources`.
    pub resources: Vec<String>,
    /// Bus name or ARN.
    pub bus: Option<String>,
    /// `Time` (epoch millis); now when absent.
    pub time_ms: Option<EpochMillis>,
}

/// What a tagging call addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// An event bus.
    Bus(String),
    /// A rule on a bus.
    Rule {
        /// The bus.
        bus: String,
        /// The rule.
        name: String,
    },
}

/// A parsed events ARN: `arn:aws:events:REGION:ACCOUNT:event-bus/NAME` or `...:rule/[BUS/]NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceArn {
    /// Account and region from the ARN.
    pub owner: Caller,
    /// The resource.
    pub resource: Resource,
}

impl FromStr for ResourceArn {
    type Err = EventsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || EventsError::Validation("Parameter ResourceARN is not valid.".into());
        let mut parts = text.splitn(6, ':');
        let (Some("arn"), Some(_), Some("events"), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let resource = if let Some(bus) = resource.strip_prefix("event-bus/") {
            Resource::Bus(bus.to_owned())
        } else if let Some(rule) = resource.strip_prefix("rule/") {
            match rule.rsplit_once('/') {
                Some((bus, name)) => Resource::Rule { bus: bus.to_owned(), name: name.to_owned() },
                None => Resource::Rule { bus: DEFAULT_BUS.to_owned(), name: rule.to_owned() },
            }
        } else {
            return Err(invalid());
        };
        if account.is_empty() || region.is_empty() {
            return Err(invalid());
        }
        Ok(ResourceArn { owner: Caller { account: account.to_owned(), region: region.to_owned() }, resource })
    }
}

/// `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`.
pub fn bus_arn(account: &str, region: &str, bus: &str) -> String {
    format!("arn:aws:events:{region}:{account}:event-bus/{bus}")
}

/// `arn:aws:events:REGION:ACCOUNT:rule/NAME`, or `rule/BUS/NAME` on a custom bus.
pub fn rule_arn(rule: &RuleRow) -> String {
    if rule.bus == DEFAULT_BUS {
        format!("arn:aws:events:{}:{}:rule/{}", rule.region, rule.account, rule.name)
    } else {
        format!("arn:aws:events:{}:{}:rule/{}/{}", rule.region, rule.account, rule.bus, rule.name)
    }
}

/// The owner and name of the bus an `EventBusName` member names: a bus ARN names its account
/// and region, a name the caller's bus.
pub fn bus_owner(caller: &Caller, given: Option<&str>) -> (Caller, String) {
    if let Some(Ok(arn)) = given.map(str::parse::<wharf_types::Arn>) {
        if arn.service == "events" && arn.resource.starts_with("event-bus/") && !arn.account.is_empty() {
            return (Caller { account: arn.account.clone(), region: arn.region.clone() }, bus_name(given));
        }
    }
    (caller.clone(), bus_name(given))
}

/// The owner and name of the bus a bus ARN names; `None` for anything else.
pub fn bus_of_arn(arn: &str) -> Option<(Caller, String)> {
    let unowned = Caller { account: String::new(), region: String::new() };
    let (owner, bus) = bus_owner(&unowned, Some(arn));
    (owner != unowned).then_some((owner, bus))
}

/// The bus name of an `EventBusName` member, which may be a name or a bus ARN.
pub fn bus_name(given: Option<&str>) -> String {
    match given {
        None | Some("") => DEFAULT_BUS.to_owned(),
        Some(text) => match text.parse::<wharf_types::Arn>() {
            Ok(arn) if arn.service == "events" => match arn.resource.strip_prefix("event-bus/") {
                Some(name) => name.to_owned(),
                None => text.to_owned(),
            },
            _ => text.to_owned(),
        },
    }
}

fn check_name(what: &str, name: &str, max_len: usize, allow_slash: bool) -> Result<(), EventsError> {
    let valid_char = |character: char| {
        character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_') || (allow_slash && character == '/')
    };
    if name.is_empty() || name.len() > max_len || !name.chars().all(valid_char) {
        return Err(EventsError::Validation(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must satisfy regular expression pattern: {}",
            if allow_slash { r"[/\.\-_A-Za-z0-9]+" } else { r"[\.\-_A-Za-z0-9]+" }
        )));
    }
    Ok(())
}

type BusKey = (String, String, String);
type RuleKey = (String, String, String, String);

/// A rule with its parsed pattern and schedule and, if scheduled and enabled, its next fire.
pub(crate) struct RuleEntry {
    pub(crate) row: RuleRow,
    pattern: Option<Pattern>,
    pub(crate) schedule: Option<Schedule>,
    /// The next instant the scheduler fires this rule; `None` when it is not scheduled, not
    /// enabled, or its schedule never fires again.
    pub(crate) next_fire: Option<EpochMillis>,
}

/// The longest `EventPattern` AWS accepts, in characters (PutRule's model).
pub const MAX_EVENT_PATTERN_CHARS: usize = 4096;
/// The longest `ScheduleExpression` AWS accepts.
pub const MAX_SCHEDULE_CHARS: usize = 256;

/// A length constraint of the service model, with AWS's wording.
fn check_length(member: &str, value: Option<&str>, max: usize) -> Result<(), EventsError> {
    match value {
        Some(text) if text.chars().count() > max => Err(EventsError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have \
             length less than or equal to {max}"
        ))),
        _ => Ok(()),
    }
}

impl RuleEntry {
    fn new(row: RuleRow, now: EpochMillis) -> Result<RuleEntry, EventsError> {
        let pattern = row
            .event_pattern
            .as_deref()
            .map(Pattern::parse)
            .transpose()
            .map_err(|err| EventsError::InvalidPattern(err.to_string()))?;
        let schedule = row
            .schedule_expression
            .as_deref()
            .map(Schedule::from_str)
            .transpose()
            .map_err(|err| EventsError::Validation(err.to_string()))?;
        let mut entry = RuleEntry { row, pattern, schedule, next_fire: None };
        entry.plan(now);
        Ok(entry)
    }

    /// Sets `next_fire` to the first fire strictly after `after`: missed fires are skipped.
    pub(crate) fn plan(&mut self, after: EpochMillis) {
        self.next_fire = match (&self.schedule, self.row.enabled) {
            (Some(schedule), true) => schedule.next_after(after, self.row.anchor_ms),
            _ => None,
        };
    }
}

/// Buses and rules in memory, a cache of the store.
#[derive(Default)]
pub(crate) struct State {
    /// Custom buses, and rows of default buses that carry tags.
    pub(crate) buses: BTreeMap<BusKey, BusRow>,
    pub(crate) rules: BTreeMap<RuleKey, RuleEntry>,
    /// Connections by ARN.
    pub(crate) connections: BTreeMap<String, wharf_store::events::ConnectionRow>,
    /// API destinations by ARN.
    pub(crate) destinations: BTreeMap<String, wharf_store::events::ApiDestinationRow>,
}

/// The rules engine.
pub struct Events {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) delivery: Arc<dyn TargetDelivery>,
    /// Where failed deliveries wait for their next attempt (durably, once the wiring connects
    /// one; in memory until then).
    pub(crate) retries: std::sync::OnceLock<Arc<dyn crate::retries::RetryQueue>>,
    /// What each rule's fires and deliveries came to since start-up, by rule ARN.
    pub(crate) counters: Arc<Counters>,
    /// Archives and replays, once the wiring connects their store.
    pub(crate) archives: std::sync::OnceLock<Arc<crate::archives::Archives>>,
    /// The cache of the store. A std mutex: it is never held across an await.
    pub(crate) state: Mutex<State>,
    /// Serializes changes across their store write, so store order is memory order.
    pub(crate) write_lock: tokio::sync::Mutex<()>,
    /// Wakes the scheduler when a scheduled rule appears, changes or goes. `notify_one` keeps a
    /// permit when the scheduler is busy, so no change is missed between its look and its sleep.
    pub(crate) schedule_changed: tokio::sync::Notify,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    /// Makes the scheduler look at the clock again: after it moved (see `wharf serve
    /// --test-clock`), rules may be due.
    pub fn clock_moved(&self) {
        self.schedule_changed.notify_one();
    }

    /// Loads buses and rules from `store`; scheduled rules fire next after now.
    pub async fn open(
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
        delivery: Arc<dyn TargetDelivery>,
    ) -> Result<Events, EventsError> {
        let now = clock.now_millis();
        let mut state = State::default();
        for bus in store.load_buses().await? {
            state.buses.insert((bus.account.clone(), bus.region.clone(), bus.name.clone()), bus);
        }
        for row in store.load_connections().await? {
            state.connections.insert(wharf_store::events::connection_arn(&row), row);
        }
        for row in store.load_api_destinations().await? {
            state.destinations.insert(wharf_store::events::api_destination_arn(&row), row);
        }
        for row in store.load_rules().await? {
            let key = (row.account.clone(), row.region.clone(), row.bus.clone(), row.name.clone());
            match RuleEntry::new(row, now) {
                Ok(entry) => {
                    state.rules.insert(key, entry);
                }
                Err(err) => tracing::warn!(rule = %key.3, error = %err, "skipping a stored rule that no longer parses"),
            }
        }
        Ok(Events {
            store,
            clock,
            delivery,
            retries: std::sync::OnceLock::new(),
            archives: std::sync::OnceLock::new(),
            counters: Arc::default(),
            state: Mutex::new(state),
            write_lock: tokio::sync::Mutex::new(()),
            schedule_changed: tokio::sync::Notify::new(),
        })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bus_exists(state: &State, caller: &Caller, bus: &str) -> bool {
        bus == DEFAULT_BUS || state.buses.contains_key(&(caller.account.clone(), caller.region.clone(), bus.to_owned()))
    }

    fn rule_key(caller: &Caller, bus: &str, name: &str) -> RuleKey {
        (caller.account.clone(), caller.region.clone(), bus.to_owned(), name.to_owned())
    }

    pub(crate) fn default_bus(caller: &Caller) -> BusRow {
        BusRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: DEFAULT_BUS.to_owned(),
            description: None,
            created_ms: 0,
            tags: BTreeMap::new(),
            policy: None,
        }
    }

    // ---- buses ----

    /// CreateEventBus.
    pub async fn create_bus(
        &self,
        caller: &Caller,
        name: &str,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> Result<BusRow, EventsError> {
        check_name("name", name, 256, true)?;
        if name.starts_with("aws.") && name.contains('/') {
            return Err(EventsError::Validation(format!("Event source {name} does not exist.")));
        }
        let _write = self.write_lock.lock().await;
        let key = (caller.account.clone(), caller.region.clone(), name.to_owned());
        {
            let state = self.lock();
            if name == DEFAULT_BUS || state.buses.contains_key(&key) {
                return Err(EventsError::BusExists(name.to_owned()));
            }
            let count = state
                .buses
                .keys()
                .filter(|(account, region, _)| *account == caller.account && *region == caller.region)
                .count();
            if count >= MAX_BUSES {
                return Err(EventsError::LimitExceeded);
            }
        }
        let row = BusRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.to_owned(),
            description,
            created_ms: self.clock.now_millis(),
            tags,
            policy: None,
        };
        self.store.put_bus(&row).await?;
        self.lock().buses.insert(key, row.clone());
        Ok(row)
    }

    /// DescribeEventBus (`None` for the default bus).
    pub fn bus(&self, caller: &Caller, name: Option<&str>) -> Result<BusRow, EventsError> {
        let name = bus_name(name);
        let state = self.lock();
        match state.buses.get(&(caller.account.clone(), caller.region.clone(), name.clone())) {
            Some(row) => Ok(row.clone()),
            None if name == DEFAULT_BUS => Ok(Self::default_bus(caller)),
            None => Err(EventsError::BusNotFound(name)),
        }
    }

    /// ListEventBuses: the default bus and the custom ones whose names start with `prefix`,
    /// sorted by name.
    pub fn buses(&self, caller: &Caller, prefix: &str) -> Vec<BusRow> {
        let state = self.lock();
        let mut buses: BTreeMap<String, BusRow> = state
            .buses
            .values()
            .filter(|row| row.account == caller.account && row.region == caller.region)
            .map(|row| (row.name.clone(), row.clone()))
            .collect();
        buses.entry(DEFAULT_BUS.to_owned()).or_insert_with(|| Self::default_bus(caller));
        buses.into_values().filter(|row| row.name.starts_with(prefix)).collect()
    }

    /// DeleteEventBus; deleting a missing bus is not an error.
    pub async fn delete_bus(&self, caller: &Caller, name: &str) -> Result<(), EventsError> {
        let name = bus_name(Some(name));
        if name == DEFAULT_BUS {
            return Err(EventsError::Validation("Cannot delete event bus default.".into()));
        }
        let _write = self.write_lock.lock().await;
        {
            let state = self.lock();
            if !state.buses.contains_key(&(caller.account.clone(), caller.region.clone(), name.clone())) {
                return Ok(());
            }
            if state.rules.values().any(|entry| {
                entry.row.account == caller.account && entry.row.region == caller.region && entry.row.bus == name
            }) {
                return Err(EventsError::Validation(format!(
                    "Cannot delete event bus {name} because it still has rules."
                )));
            }
        }
        self.store.delete_bus(&caller.account, &caller.region, &name).await?;
        self.lock().buses.remove(&(caller.account.clone(), caller.region.clone(), name));
        Ok(())
    }

    // ---- rules ----

    /// PutRule: creates or replaces a rule (its targets and creation time are kept; omitted
    /// members are cleared, as AWS does).
    pub async fn put_rule(&self, caller: &Caller, new: NewRule) -> Result<RuleRow, EventsError> {
        check_name("name", &new.name, 64, false)?;
        check_length("eventPattern", new.event_pattern.as_deref(), MAX_EVENT_PATTERN_CHARS)?;
        check_length("scheduleExpression", new.schedule_expression.as_deref(), MAX_SCHEDULE_CHARS)?;
        let bus = bus_name(new.bus.as_deref());
        if new.schedule_expression.is_none() && new.event_pattern.is_none() {
            return Err(EventsError::Validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.".into(),
            ));
        }
        if new.schedule_expression.is_some() && bus != DEFAULT_BUS {
            return Err(EventsError::Validation(
                "ScheduleExpression is supported only on the default event bus.".into(),
            ));
        }
        let now = self.clock.now_millis();
        let _write = self.write_lock.lock().await;
        let key = Self::rule_key(caller, &bus, &new.name);
        let row = {
            let state = self.lock();
            if !Self::bus_exists(&state, caller, &bus) {
                return Err(EventsError::BusNotFound(bus));
            }
            let enabled = new.enabled.unwrap_or(true);
            match state.rules.get(&key) {
                Some(existing) => {
                    let old = &existing.row;
                    let restart = !old.enabled && enabled || old.schedule_expression != new.schedule_expression;
                    let mut tags = old.tags.clone();
                    tags.extend(new.tags);
                    RuleRow {
                        schedule_expression: new.schedule_expression,
                        event_pattern: new.event_pattern,
                        enabled,
                        description: new.description,
                        role_arn: new.role_arn,
                        anchor_ms: if restart { now } else { old.anchor_ms },
                        tags,
                        ..old.clone()
                    }
                }
                None => {
                    let on_bus = state
                        .rules
                        .keys()
                        .filter(|(account, region, rule_bus, _)| {
                            *account == caller.account && *region == caller.region && *rule_bus == bus
                        })
                        .count();
                    if on_bus >= MAX_RULES_PER_BUS {
                        return Err(EventsError::LimitExceeded);
                    }
                    RuleRow {
                        account: caller.account.clone(),
                        region: caller.region.clone(),
                        bus: bus.clone(),
                        name: new.name.clone(),
                        schedule_expression: new.schedule_expression,
                        event_pattern: new.event_pattern,
                        enabled,
                        description: new.description,
                        role_arn: new.role_arn,
                        created_ms: now,
                        anchor_ms: now,
                        tags: new.tags,
                        targets: Vec::new(),
                    }
                }
            }
        };
        let entry = RuleEntry::new(row.clone(), now)?;
        self.store.put_rule(&row).await?;
        self.lock().rules.insert(key, entry);
        self.schedule_changed.notify_one();
        Ok(row)
    }

    /// DescribeRule.
    pub fn rule(&self, caller: &Caller, bus: Option<&str>, name: &str) -> Result<RuleRow, EventsError> {
        let bus = bus_name(bus);
        let state = self.lock();
        match state.rules.get(&Self::rule_key(caller, &bus, name)) {
            Some(entry) => Ok(entry.row.clone()),
            None if !Self::bus_exists(&state, caller, &bus) => Err(EventsError::BusNotFound(bus)),
            None => Err(EventsError::RuleNotFound { rule: name.to_owned(), bus }),
        }
    }

    /// ListRules: the rules of a bus whose names start with `prefix`, sorted by name.
    pub fn rules(&self, caller: &Caller, bus: Option<&str>, prefix: &str) -> Result<Vec<RuleRow>, EventsError> {
        let bus = bus_name(bus);
        let state = self.lock();
        if !Self::bus_exists(&state, caller, &bus) {
            return Err(EventsError::BusNotFound(bus));
        }
        Ok(state
            .rules
            .values()
            .filter(|entry| {
                entry.row.account == caller.account
                    && entry.row.region == caller.region
                    && entry.row.bus == bus
                    && entry.row.name.starts_with(prefix)
            })
            .map(|entry| entry.row.clone())
            .collect())
    }

    /// DeleteRule: refused while the rule has targets; deleting a missing rule is not an error.
    pub async fn delete_rule(&self, caller: &Caller, bus: Option<&str>, name: &str) -> Result<(), EventsError> {
        let bus = bus_name(bus);
        let _write = self.write_lock.lock().await;
        let key = Self::rule_key(caller, &bus, name);
        let arn = {
            let state = self.lock();
            match state.rules.get(&key) {
                None if !Self::bus_exists(&state, caller, &bus) => return Err(EventsError::BusNotFound(bus)),
                None => return Ok(()),
                Some(entry) if !entry.row.targets.is_empty() => return Err(EventsError::RuleHasTargets),
                Some(entry) => rule_arn(&entry.row),
            }
        };
        self.store.delete_rule(&caller.account, &caller.region, &bus, name).await?;
        self.lock().rules.remove(&key);
        self.schedule_changed.notify_one();
        // Its figures go with it (a rule of the same name starts again from zero).
        self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&arn);
        Ok(())
    }

    /// Applies `change` to a stored rule and writes it through.
    async fn update_rule<T>(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        name: &str,
        change: impl FnOnce(&mut RuleRow, EpochMillis) -> Result<T, EventsError>,
    ) -> Result<T, EventsError> {
        let bus = bus_name(bus);
        let _write = self.write_lock.lock().await;
        let key = Self::rule_key(caller, &bus, name);
        let now = self.clock.now_millis();
        let mut row = {
            let state = self.lock();
            match state.rules.get(&key) {
                Some(entry) => entry.row.clone(),
                None if !Self::bus_exists(&state, caller, &bus) => return Err(EventsError::BusNotFound(bus)),
                None => return Err(EventsError::RuleNotFound { rule: name.to_owned(), bus }),
            }
        };
        let outcome = change(&mut row, now)?;
        let entry = RuleEntry::new(row.clone(), now)?;
        self.store.put_rule(&row).await?;
        self.lock().rules.insert(key, entry);
        self.schedule_changed.notify_one();
        Ok(outcome)
    }

    /// EnableRule and DisableRule. Enabling a disabled rule restarts its rate schedule from now.
    pub async fn set_enabled(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        name: &str,
        enabled: bool,
    ) -> Result<(), EventsError> {
        self.update_rule(caller, bus, name, |row, now| {
            if enabled && !row.enabled {
                row.anchor_ms = now;
            }
            row.enabled = enabled;
            Ok(())
        })
        .await
    }

    // ---- targets ----

    /// PutTargets: adds or replaces targets by id. Targets wharf cannot deliver to are reported,
    /// the others applied.
    pub async fn put_targets(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        rule: &str,
        targets: Vec<TargetRow>,
    ) -> Result<Vec<TargetProblem>, EventsError> {
        for target in &targets {
            check_name("targets.member.id", &target.id, 64, false)?;
            TargetInput::of(target).map_err(EventsError::Validation)?;
            // API destinations and log groups are the rule's own account's and region's: a rule
            // may not use another account's connection credentials or write its logs.
            let local_only = target.arn.contains(":api-destination/") || wharf_types::Arn::is_of(&target.arn, "logs");
            if local_only {
                if let Ok(arn) = target.arn.parse::<wharf_types::Arn>() {
                    if arn.account != caller.account || arn.region != caller.region {
                        return Err(EventsError::Validation(format!(
                            "Target {}: an API destination or log group target must be in the rule's account and region.",
                            target.id
                        )));
                    }
                }
            }
            // A role acts for the rule's account only (there is no iam:PassRole across accounts).
            if let Some(role) = &target.role_arn {
                let account = role.strip_prefix("arn:aws:iam::").and_then(|rest| rest.split(':').next());
                if account.is_some_and(|account| account != caller.account) {
                    return Err(EventsError::Validation(format!(
                        "Target {}: RoleArn {role} is not a role of the rule's account.",
                        target.id
                    )));
                }
            }
            if target.arn.ends_with(".fifo")
                && wharf_types::Arn::is_of(&target.arn, "sqs")
                && target.message_group_id.is_none()
            {
                return Err(EventsError::Validation(format!(
                    "Parameter(s) SqsParameters must be specified for target: {}.",
                    target.id
                )));
            }
        }
        self.update_rule(caller, bus, rule, |row, _now| {
            let mut problems = Vec::new();
            let mut next = row.targets.clone();
            for target in targets {
                if !is_deliverable(&target.arn) {
                    problems.push(TargetProblem::UnsupportedTarget { id: target.id, arn: target.arn });
                    continue;
                }
                match next.iter_mut().find(|existing| existing.id == target.id) {
                    Some(existing) => *existing = target,
                    None => next.push(target),
                }
            }
            if next.len() > MAX_TARGETS_PER_RULE {
                return Err(EventsError::LimitExceeded);
            }
            row.targets = next;
            Ok(problems)
        })
        .await
    }

    /// RemoveTargets: ids that name no target are ignored.
    pub async fn remove_targets(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<TargetProblem>, EventsError> {
        self.update_rule(caller, bus, rule, |row, _now| {
            row.targets.retain(|target| !ids.contains(&target.id));
            Ok(Vec::new())
        })
        .await
    }

    /// ListTargetsByRule.
    pub fn targets(&self, caller: &Caller, bus: Option<&str>, rule: &str) -> Result<Vec<TargetRow>, EventsError> {
        Ok(self.rule(caller, bus, rule)?.targets)
    }

    /// ListRuleNamesByTarget: names of the bus's rules with a target of this ARN, sorted.
    pub fn rule_names_by_target(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        target_arn: &str,
    ) -> Result<Vec<String>, EventsError> {
        Ok(self
            .rules(caller, bus, "")?
            .into_iter()
            .filter(|row| row.targets.iter().any(|target| target.arn == target_arn))
            .map(|row| row.name)
            .collect())
    }

    // ---- tags ----

    /// TagResource.
    pub async fn tag(&self, arn: &ResourceArn, tags: BTreeMap<String, String>) -> Result<(), EventsError> {
        self.change_tags(arn, |existing| existing.extend(tags)).await
    }

    /// UntagResource.
    pub async fn untag(&self, arn: &ResourceArn, keys: &[String]) -> Result<(), EventsError> {
        self.change_tags(arn, |existing| existing.retain(|key, _| !keys.contains(key))).await
    }

    /// ListTagsForResource.
    pub fn tags(&self, arn: &ResourceArn) -> Result<BTreeMap<String, String>, EventsError> {
        match &arn.resource {
            Resource::Bus(name) => Ok(self.bus(&arn.owner, Some(name))?.tags),
            Resource::Rule { bus, name } => Ok(self.rule(&arn.owner, Some(bus), name)?.tags),
        }
    }

    async fn change_tags(
        &self,
        arn: &ResourceArn,
        change: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), EventsError> {
        match &arn.resource {
            Resource::Rule { bus, name } => {
                self.update_rule(&arn.owner, Some(bus), name, |row, _now| {
                    change(&mut row.tags);
                    Ok(())
                })
                .await
            }
            Resource::Bus(name) => {
                let _write = self.write_lock.lock().await;
                let mut row = self.bus(&arn.owner, Some(name))?;
                change(&mut row.tags);
                self.store.put_bus(&row).await?;
                self.lock().buses.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
                Ok(())
            }
        }
    }

    // ---- events ----

    /// TestEventPattern: whether `event` (JSON text with the mandatory event fields) matches.
    pub fn test_pattern(pattern: &str, event: &str) -> Result<bool, EventsError> {
        check_length("eventPattern", Some(pattern), MAX_EVENT_PATTERN_CHARS)?;
        let pattern = Pattern::parse(pattern).map_err(|err| EventsError::InvalidPattern(err.to_string()))?;
        let event: Value =
            serde_json::from_str(event).map_err(|_| EventsError::Validation("Parameter Event is not valid.".into()))?;
        // `detail-type` may also be a list, as AWS's TestEventPattern accepts.
        let complete = ["id", "account", "source", "time", "region"]
            .iter()
            .all(|field| event.get(field).is_some_and(Value::is_string))
            && event.get("detail-type").is_some_and(|value| value.is_string() || value.is_array())
            && event.get("resources").is_none_or(Value::is_array);
        if !complete {
            return Err(EventsError::Validation("Parameter Event is not valid.".into()));
        }
        Ok(pattern.matches(&event))
    }

    /// PutEvents: one outcome per entry, the event id or why it was refused. Accepted events are
    /// matched against the enabled rules of their bus and handed to those rules' targets.
    pub fn put_events(&self, caller: &Caller, entries: Vec<NewEvent>) -> Vec<Result<String, EntryProblem>> {
        let now = self.clock.now_millis();
        let mut archived = Vec::new();
        let outcomes = entries.into_iter().map(|entry| self.put_event(caller, entry, now, &mut archived)).collect();
        self.keep_archived(archived, now);
        outcomes
    }

    /// Stores events in their archives after the answer, in one write.
    fn keep_archived(&self, archived: Vec<wharf_store::archives::ArchivedEvent>, now: EpochMillis) {
        if let (false, Some(archives)) = (archived.is_empty(), self.archives.get()) {
            let archives = Arc::clone(archives);
            tokio::spawn(async move { archives.keep(archived, now).await });
        }
    }

    fn put_event(
        &self,
        caller: &Caller,
        entry: NewEvent,
        now: EpochMillis,
        archived: &mut Vec<wharf_store::archives::ArchivedEvent>,
    ) -> Result<String, EntryProblem> {
        let source = entry.source.filter(|text| !text.is_empty()).ok_or(EntryProblem::MissingSource)?;
        let detail_type = entry.detail_type.filter(|text| !text.is_empty()).ok_or(EntryProblem::MissingDetailType)?;
        let detail = entry.detail.filter(|text| !text.is_empty()).ok_or(EntryProblem::MissingDetail)?;
        let detail: Value = serde_json::from_str(&detail).map_err(|_| EntryProblem::MalformedDetail)?;
        if !detail.is_object() {
            return Err(EntryProblem::MalformedDetail);
        }
        // A bus ARN may name another account's bus (its policy was checked by the pipeline).
        let (owner, bus) = bus_owner(caller, entry.bus.as_deref());
        let id = uuid::Uuid::new_v4().to_string();
        let event = json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": source,
            "account": caller.account,
            "time": iso_time(entry.time_ms.unwrap_or(now)),
            "region": caller.region,
            "resources": entry.resources,
            "detail": detail,
        });
        if owner.region != caller.region {
            tracing::debug!(%bus, "PutEvents to another region's bus: accepted, matched by nothing");
            return Ok(id);
        }
        self.route(&owner, &bus, &event, now, Routing::Put, archived);
        Ok(id)
    }

    /// Matches `event` against the enabled rules of `owner`'s bus `bus` and dispatches it to
    /// their targets. `forwarded` is set for an event another bus sent here: it is not sent on
    /// to a further bus (AWS drops such a hop, `THIRD_ACCOUNT_HOP_DETECTED`), which also keeps
    /// buses that target each other from looping. A bus that does not exist matches nothing:
    /// AWS accepts such events and gives them ids.
    fn route(
        &self,
        owner: &Caller,
        bus: &str,
        event: &Value,
        now: EpochMillis,
        routing: Routing<'_>,
        archived: &mut Vec<wharf_store::archives::ArchivedEvent>,
    ) -> usize {
        let matched: Vec<RuleRow> = {
            let state = self.lock();
            if !Self::bus_exists(&state, owner, bus) {
                tracing::debug!(%bus, "an event for a bus that does not exist: accepted, matched by nothing");
                return 0;
            }
            state
                .rules
                .values()
                .filter(|rule| {
                    rule.row.enabled
                        && rule.row.account == owner.account
                        && rule.row.region == owner.region
                        && rule.row.bus == bus
                        && rule.pattern.as_ref().is_some_and(|pattern| pattern.matches(event))
                })
                .filter(|rule| match routing {
                    Routing::Replay { filter_arns } => {
                        filter_arns.is_empty() || filter_arns.iter().any(|arn| *arn == rule_arn(&rule.row))
                    }
                    _ => true,
                })
                .map(|rule| rule.row.clone())
                .collect()
        };
        if !matches!(routing, Routing::Replay { .. }) {
            if let Some(archives) = self.archives.get() {
                archived.extend(archives.archiving(owner, bus, event));
            }
        }
        let forwarded = !matches!(routing, Routing::Put);
        for rule in &matched {
            self.dispatch(rule, event, now, forwarded);
        }
        matched.len()
    }

    /// Sends a replayed event to the rules of `owner`'s bus `bus` (only the `filter_arns` ones
    /// when given); it is not archived again nor sent on to another bus.
    pub(crate) fn replay_event(
        &self,
        owner: &Caller,
        bus: &str,
        event: &Value,
        now: EpochMillis,
        filter_arns: &[String],
    ) {
        self.route(owner, bus, event, now, Routing::Replay { filter_arns }, &mut Vec::new());
    }

    /// Delivers an event a rule of another bus sent to `bus_arn` (a bus target): the event as it
    /// was, matched against the rules of that bus. Returns how many rules matched.
    pub fn forward(&self, bus_arn: &str, event: &Value) -> Result<usize, wharf_types::HandOffError> {
        let Some((owner, bus)) = bus_of_arn(bus_arn) else {
            return Err(wharf_types::HandOffError::Refused(format!("{bus_arn} is not an event bus ARN")));
        };
        if !Self::bus_exists(&self.lock(), &owner, &bus) {
            return Err(wharf_types::HandOffError::NotFound(format!("Event bus {bus} does not exist.")));
        }
        let now = self.clock.now_millis();
        let mut archived = Vec::new();
        let matched = self.route(&owner, &bus, event, now, Routing::Forwarded, &mut archived);
        self.keep_archived(archived, now);
        Ok(matched)
    }

    /// Each rule's counters since start-up, by rule ARN.
    pub fn rule_counters(&self) -> Vec<(String, RuleCounters)> {
        let counters = self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut listed: Vec<_> = counters.iter().map(|(arn, counters)| (arn.clone(), *counters)).collect();
        listed.sort();
        listed
    }

    /// Hands `event` to every target of `rule`, each in its own task.
    pub(crate) fn dispatch(&self, rule: &RuleRow, event: &Value, ingestion_ms: EpochMillis, forwarded: bool) {
        let arn = rule_arn(rule);
        count(&self.counters, &arn, |counters| counters.triggered += 1);
        let context = RuleContext { rule_arn: &arn, rule_name: &rule.name, ingestion_ms };
        tracing::info!(rule = %arn, targets = rule.targets.len(), "rule fired");
        for target in &rule.targets {
            if forwarded && is_bus_arn(&target.arn) {
                tracing::info!(rule = %arn, target = %target.id, "an event from another bus is not sent on to a third bus (THIRD_ACCOUNT_HOP_DETECTED)");
                continue;
            }
            let payload = match TargetInput::of(target).map(|input| input.render(event, context)) {
                Ok(Some(payload)) => payload,
                // A JSON template that is not JSON once filled in delivers nothing, as on AWS.
                Ok(None) => {
                    tracing::info!(rule = %rule.name, target = %target.id, "the input template made no valid JSON: nothing delivered");
                    continue;
                }
                Err(reason) => {
                    tracing::warn!(rule = %rule.name, target = %target.id, %reason, "skipping an invalid target");
                    continue;
                }
            };
            let parts = self.delivery_parts();
            let pending = crate::retries::PendingDelivery {
                origin: crate::retries::Origin::Rule {
                    rule_name: rule.name.clone(),
                    rule_arn: arn.clone(),
                    target: target.clone(),
                },
                payload,
                attempts: 0,
                first_ms: ingestion_ms,
            };
            tokio::spawn(attempt_delivery(parts, pending));
        }
    }
}

/// How an event reaches a bus.
#[derive(Clone, Copy, Debug)]
enum Routing<'a> {
    /// PutEvents (or a schedule).
    Put,
    /// A rule of another bus sent it.
    Forwarded,
    /// A replay of the bus's archive sends it to these rules (all when empty).
    Replay { filter_arns: &'a [String] },
}

/// Whether `arn` names an event bus (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`).
pub fn is_bus_arn(arn: &str) -> bool {
    arn.parse::<wharf_types::Arn>().is_ok_and(|arn| arn.service == "events" && arn.resource.starts_with("event-bus/"))
}

/// EventBridge's default `RetryPolicy`: 185 retries within 24 hours.
const DEFAULT_RETRY_ATTEMPTS: u32 = 185;
const DEFAULT_MAX_EVENT_AGE: Duration = Duration::from_secs(24 * 3600);

/// What an attempt needs of the engine, owned, so it can run in a task of its own.
pub(crate) struct DeliveryParts {
    delivery: Arc<dyn TargetDelivery>,
    clock: Arc<dyn Clock>,
    retries: Option<Arc<dyn crate::retries::RetryQueue>>,
    counters: Arc<Counters>,
}

impl Events {
    pub(crate) fn delivery_parts(&self) -> DeliveryParts {
        DeliveryParts {
            delivery: Arc::clone(&self.delivery),
            clock: Arc::clone(&self.clock),
            retries: self.retries.get().cloned(),
            counters: Arc::clone(&self.counters),
        }
    }
}

/// Makes the next attempt of a rule's delivery. A failure that may pass (the store cannot
/// write, the function is at its concurrency limit) is held for another attempt, 1 s later
/// doubling up to 5 min, within the target's `RetryPolicy` (185 retries in 24 hours by
/// default): durably in the retry queue when one is connected, in memory otherwise. What is
/// out of attempts or of age, or what the target refuses or does not exist for (not retried,
/// as EventBridge treats errors that are not retryable), goes to the target's dead-letter
/// queue, if it has one.
pub(crate) async fn attempt_delivery(parts: DeliveryParts, mut pending: crate::retries::PendingDelivery) {
    let crate::retries::Origin::Rule { rule_name, rule_arn, target } = pending.origin.clone() else { return };
    let max_attempts = target.maximum_retry_attempts.unwrap_or(DEFAULT_RETRY_ATTEMPTS).saturating_add(1);
    let max_age =
        target.maximum_event_age_seconds.map_or(DEFAULT_MAX_EVENT_AGE, |age| Duration::from_secs(u64::from(age)));
    loop {
        pending.attempts += 1;
        let outcome = parts.delivery.deliver_target(&target, &rule_arn, pending.payload.clone()).await;
        let reason = match outcome {
            Ok(()) => {
                count(&parts.counters, &rule_arn, |counters| counters.invocations += 1);
                return;
            }
            Err(reason) => reason,
        };
        let attempt = pending.attempts;
        tracing::warn!(rule = %rule_name, target = %target.id, target_arn = %target.arn, %reason, attempt, "rule target delivery failed");
        let retryable = matches!(reason, wharf_types::HandOffError::Unavailable(_));
        let delay = crate::retries::delay_before(attempt + 1);
        let age = Duration::from_millis(parts.clock.now_millis().saturating_sub(pending.first_ms));
        if !retryable || attempt >= max_attempts || age + delay > max_age {
            count(&parts.counters, &rule_arn, |counters| counters.failed_invocations += 1);
            if let Some(dead_letter) = &target.dead_letter_arn {
                let mut attributes = BTreeMap::from([
                    ("RULE_ARN".to_owned(), rule_arn.clone()),
                    ("TARGET_ARN".to_owned(), target.arn.clone()),
                    ("ERROR_CODE".to_owned(), error_code(&reason).to_owned()),
                    ("ERROR_MESSAGE".to_owned(), reason.to_string().chars().take(1024).collect()),
                    ("RETRY_ATTEMPTS".to_owned(), (attempt - 1).to_string()),
                ]);
                if retryable {
                    let condition =
                        if attempt >= max_attempts { "MaximumRetryAttempts" } else { "MaximumEventAgeInSeconds" };
                    attributes.insert("EXHAUSTED_RETRY_CONDITION".to_owned(), condition.to_owned());
                }
                match parts.delivery.dead_letter(dead_letter, &rule_arn, pending.payload, attributes).await {
                    Ok(()) => count(&parts.counters, &rule_arn, |counters| counters.sent_to_dlq += 1),
                    Err(reason) => {
                        tracing::warn!(rule = %rule_name, target = %target.id, %reason, "dead-letter delivery failed")
                    }
                }
            }
            return;
        }
        if let Some(queue) = &parts.retries {
            match queue.hold(pending.clone(), delay).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(rule = %rule_name, error = %err, "the retry queue refused a delivery: retrying in memory")
                }
            }
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::sync::mpsc;
    use wharf_store::events::{InputTransformerRow, MemoryEventStore};
    use wharf_types::ManualClock;

    fn rule_source() -> (String, String) {
        ("rule".into(), "arn:aws:events:us-east-1:123456789012:rule/rule".into())
    }

    /// A delivery double that hands every delivery to a channel.
    pub(crate) struct Recorder(pub(crate) mpsc::UnboundedSender<(String, String, Option<String>)>);

    #[async_trait]
    impl TargetDelivery for Recorder {
        async fn deliver(
            &self,
            arn: &str,
            _rule_arn: &str,
            payload: String,
            group: Option<String>,
        ) -> Result<(), wharf_types::HandOffError> {
            let _ = self.0.send((arn.to_owned(), payload, group));
            Ok(())
        }
    }

    /// Fails the first `failures` deliveries to anything but a dead-letter ARN, then records.
    struct Flaky {
        failures: std::sync::atomic::AtomicU32,
        recorder: Recorder,
    }

    #[async_trait]
    impl TargetDelivery for Flaky {
        async fn deliver(
            &self,
            arn: &str,
            _rule_arn: &str,
            payload: String,
            group: Option<String>,
        ) -> Result<(), wharf_types::HandOffError> {
            let left = self.failures.load(std::sync::atomic::Ordering::SeqCst);
            if left > 0 && !arn.contains("dead") {
                self.failures.store(left - 1, std::sync::atomic::Ordering::SeqCst);
                return Err(wharf_types::HandOffError::Unavailable("unavailable".into()));
            }
            self.recorder.deliver(arn, _rule_arn, payload, group).await
        }
    }

    /// One rule delivery with its retries in memory (no retry queue connected).
    async fn deliver_with_retries(
        delivery: Arc<dyn TargetDelivery>,
        (rule_name, rule_arn): (String, String),
        target: TargetRow,
        payload: String,
    ) {
        let parts = DeliveryParts {
            delivery,
            clock: Arc::new(wharf_types::SystemClock),
            retries: None,
            counters: Arc::default(),
        };
        let pending = crate::retries::PendingDelivery {
            origin: crate::retries::Origin::Rule { rule_name, rule_arn, target },
            payload,
            attempts: 0,
            first_ms: wharf_types::SystemClock.now_millis(),
        };
        attempt_delivery(parts, pending).await;
    }

    #[tokio::test(start_paused = true)]
    async fn failed_deliveries_are_retried_then_dead_lettered() {
        let (sender, mut received) = mpsc::unbounded_channel();
        let flaky = Arc::new(Flaky { failures: std::sync::atomic::AtomicU32::new(2), recorder: Recorder(sender) });
        let target = sqs_target("queue");
        deliver_with_retries(flaky.clone(), rule_source(), target.clone(), "event".into()).await;
        let (arn, payload, _) = received.recv().await.expect("delivered after two retries");
        assert_eq!((arn.as_str(), payload.as_str()), ("arn:aws:sqs:us-east-1:123456789012:queue", "event"));

        flaky.failures.store(10, std::sync::atomic::Ordering::SeqCst);
        let limited = TargetRow {
            maximum_retry_attempts: Some(1),
            dead_letter_arn: Some("arn:aws:sqs:us-east-1:123456789012:dead".into()),
            ..target
        };
        deliver_with_retries(flaky.clone(), rule_source(), limited, "lost".into()).await;
        let (arn, payload, _) = received.recv().await.expect("dead-lettered");
        assert_eq!((arn.as_str(), payload.as_str()), ("arn:aws:sqs:us-east-1:123456789012:dead", "lost"));
        assert_eq!(flaky.failures.load(std::sync::atomic::Ordering::SeqCst), 8, "one try and one retry");
    }

    /// A target that does not exist: every delivery but the dead-letter one is `NotFound`.
    struct Missing {
        attempts: std::sync::atomic::AtomicU32,
        recorder: Recorder,
    }

    #[async_trait]
    impl TargetDelivery for Missing {
        async fn deliver(
            &self,
            arn: &str,
            _rule_arn: &str,
            payload: String,
            group: Option<String>,
        ) -> Result<(), wharf_types::HandOffError> {
            if arn.contains("dead") {
                return self.recorder.deliver(arn, _rule_arn, payload, group).await;
            }
            self.attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(wharf_types::HandOffError::NotFound(format!("{arn} does not exist")))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_target_is_dead_lettered_without_retries() {
        let (sender, mut received) = mpsc::unbounded_channel();
        let missing = Arc::new(Missing { attempts: Default::default(), recorder: Recorder(sender) });
        let target =
            TargetRow { dead_letter_arn: Some("arn:aws:sqs:us-east-1:123456789012:dead".into()), ..sqs_target("gone") };
        deliver_with_retries(missing.clone(), rule_source(), target, "event".into()).await;
        let (arn, _, _) = received.recv().await.expect("dead-lettered");
        assert_eq!(arn, "arn:aws:sqs:us-east-1:123456789012:dead");
        assert_eq!(missing.attempts.load(std::sync::atomic::Ordering::SeqCst), 1, "no retry");
    }

    pub(crate) fn caller() -> Caller {
        Caller { account: "123456789012".into(), region: "us-east-1".into() }
    }

    pub(crate) fn sqs_target(id: &str) -> TargetRow {
        TargetRow { id: id.into(), arn: format!("arn:aws:sqs:us-east-1:123456789012:{id}"), ..TargetRow::default() }
    }

    async fn engine() -> (Events, mpsc::UnboundedReceiver<(String, String, Option<String>)>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let events = Events::open(
            Arc::new(MemoryEventStore::default()),
            Arc::new(ManualClock::new(1_700_000_000_000)),
            Arc::new(Recorder(sender)),
        )
        .await
        .expect("open");
        (events, receiver)
    }

    fn pattern_rule(name: &str, pattern: &str) -> NewRule {
        NewRule { name: name.into(), event_pattern: Some(pattern.into()), ..NewRule::default() }
    }

    #[tokio::test]
    async fn rule_lifecycle() {
        let (events, _deliveries) = engine().await;
        let caller = caller();
        let row = events.put_rule(&caller, pattern_rule("orders", r#"{"source": ["shop"]}"#)).await.expect("put");
        assert_eq!(rule_arn(&row), "arn:aws:events:us-east-1:123456789012:rule/orders");
        assert!(row.enabled);
        events.put_rule(&caller, pattern_rule("other", r#"{"source": ["x"]}"#)).await.expect("put");
        let names: Vec<String> =
            events.rules(&caller, None, "ord").expect("list").into_iter().map(|row| row.name).collect();
        assert_eq!(names, ["orders"]);
        events.set_enabled(&caller, None, "orders", false).await.expect("disable");
        assert!(!events.rule(&caller, None, "orders").expect("describe").enabled);
        let missing = events.set_enabled(&caller, None, "nope", true).await.expect_err("missing");
        assert_eq!(missing.to_string(), "Rule nope does not exist on EventBus default.");
        events.put_targets(&caller, None, "orders", vec![sqs_target("q")]).await.expect("targets");
        assert!(matches!(events.delete_rule(&caller, None, "orders").await, Err(EventsError::RuleHasTargets)));
        events.remove_targets(&caller, None, "orders", &["q".into()]).await.expect("remove");
        events.delete_rule(&caller, None, "orders").await.expect("delete");
        events.delete_rule(&caller, None, "orders").await.expect("deleting a missing rule is fine");
        assert!(matches!(events.rule(&caller, None, "orders"), Err(EventsError::RuleNotFound { .. })));

        let invalid = events.put_rule(&caller, pattern_rule("bad", "{\"source\": \"shop\"}")).await;
        assert!(matches!(invalid, Err(EventsError::InvalidPattern(_))));
        let schedule =
            NewRule { name: "s".into(), schedule_expression: Some("rate(1 minutes)".into()), ..NewRule::default() };
        let invalid = events.put_rule(&caller, schedule).await.expect_err("invalid schedule");
        assert_eq!(invalid.to_string(), "Parameter ScheduleExpression is not valid.");
        let neither = events.put_rule(&caller, NewRule { name: "n".into(), ..NewRule::default() }).await;
        assert!(matches!(neither, Err(EventsError::Validation(_))));
        let bad_name = events.put_rule(&caller, pattern_rule("a b", "{\"source\": [\"x\"]}")).await;
        assert!(matches!(bad_name, Err(EventsError::Validation(_))));
    }

    #[tokio::test]
    async fn buses_and_tags() {
        let (events, _deliveries) = engine().await;
        let caller = caller();
        events.create_bus(&caller, "orders", Some("d".into()), BTreeMap::new()).await.expect("create");
        assert!(matches!(
            events.create_bus(&caller, "orders", None, BTreeMap::new()).await,
            Err(EventsError::BusExists(_))
        ));
        assert!(matches!(
            events.create_bus(&caller, "default", None, BTreeMap::new()).await,
            Err(EventsError::BusExists(_))
        ));
        let names: Vec<String> = events.buses(&caller, "").into_iter().map(|row| row.name).collect();
        assert_eq!(names, ["default", "orders"]);
        let scheduled = NewRule {
            name: "s".into(),
            bus: Some("orders".into()),
            schedule_expression: Some("rate(5 minutes)".into()),
            ..NewRule::default()
        };
        assert!(matches!(events.put_rule(&caller, scheduled).await, Err(EventsError::Validation(_))));
        let on_missing = NewRule { bus: Some("nope".into()), ..pattern_rule("r", r#"{"source": ["x"]}"#) };
        assert!(matches!(events.put_rule(&caller, on_missing).await, Err(EventsError::BusNotFound(_))));
        let on_bus = NewRule {
            bus: Some(bus_arn("123456789012", "us-east-1", "orders")),
            ..pattern_rule("r", r#"{"source": ["x"]}"#)
        };
        let row = events.put_rule(&caller, on_bus).await.expect("rule on custom bus");
        assert_eq!(rule_arn(&row), "arn:aws:events:us-east-1:123456789012:rule/orders/r");
        assert!(matches!(events.delete_bus(&caller, "orders").await, Err(EventsError::Validation(_))));

        let arn: ResourceArn = rule_arn(&row).parse().expect("arn");
        events.tag(&arn, BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])).await.expect("tag");
        events.untag(&arn, &["a".into()]).await.expect("untag");
        assert_eq!(events.tags(&arn).expect("tags"), BTreeMap::from([("b".into(), "2".into())]));
        let bus: ResourceArn = bus_arn("123456789012", "us-east-1", "default").parse().expect("arn");
        events.tag(&bus, BTreeMap::from([("k".into(), "v".into())])).await.expect("tag default bus");
        assert_eq!(events.tags(&bus).expect("tags").len(), 1);
        assert!("arn:aws:sqs:us-east-1:1:q".parse::<ResourceArn>().is_err());

        events.delete_rule(&caller, Some("orders"), "r").await.expect("delete rule");
        events.delete_bus(&caller, "orders").await.expect("delete bus");
        events.delete_bus(&caller, "orders").await.expect("deleting a missing bus is fine");
        assert!(matches!(events.delete_bus(&caller, "default").await, Err(EventsError::Validation(_))));
        assert!(matches!(events.bus(&caller, Some("orders")), Err(EventsError::BusNotFound(_))));
    }

    #[tokio::test]
    async fn target_limits_and_failures() {
        let (events, _deliveries) = engine().await;
        let caller = caller();
        events.put_rule(&caller, pattern_rule("r", r#"{"source": ["x"]}"#)).await.expect("put");
        let five: Vec<TargetRow> = (0..5).map(|idx| sqs_target(&format!("t{idx}"))).collect();
        assert!(events.put_targets(&caller, None, "r", five).await.expect("five").is_empty());
        // Replacing an existing id does not count against the limit; a sixth does.
        events.put_targets(&caller, None, "r", vec![sqs_target("t0")]).await.expect("replace");
        assert!(matches!(
            events.put_targets(&caller, None, "r", vec![sqs_target("t5")]).await,
            Err(EventsError::LimitExceeded)
        ));
        events.remove_targets(&caller, None, "r", &["t4".into(), "never".into()]).await.expect("remove");
        let mut sns = sqs_target("sns");
        sns.arn = "arn:aws:sns:us-east-1:123456789012:topic".into();
        let problems = events.put_targets(&caller, None, "r", vec![sns]).await.expect("partial");
        assert!(matches!(&problems[..], [TargetProblem::UnsupportedTarget { id, .. }] if id == "sns"));
        let mut fifo = sqs_target("f");
        fifo.arn.push_str(".fifo");
        assert!(matches!(
            events.put_targets(&caller, None, "r", vec![fifo]).await,
            Err(EventsError::Validation(message)) if message == "Parameter(s) SqsParameters must be specified for target: f."
        ));
        let mut both = sqs_target("b");
        both.input = Some("{}".into());
        both.input_path = Some("$".into());
        assert!(matches!(events.put_targets(&caller, None, "r", vec![both]).await, Err(EventsError::Validation(_))));
        assert_eq!(events.targets(&caller, None, "r").expect("list").len(), 4);
        assert_eq!(
            events.rule_names_by_target(&caller, None, "arn:aws:sqs:us-east-1:123456789012:t1").expect("by target"),
            ["r"]
        );
        assert!(matches!(
            events.put_targets(&caller, None, "nope", vec![sqs_target("x")]).await,
            Err(EventsError::RuleNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn put_events_matches_and_transforms() {
        let (events, mut deliveries) = engine().await;
        let caller = caller();
        events
            .put_rule(&caller, pattern_rule("paid", r#"{"source": ["shop"], "detail": {"state": ["paid"]}}"#))
            .await
            .expect("put");
        let mut target = sqs_target("q");
        target.input_transformer = Some(InputTransformerRow {
            input_paths_map: BTreeMap::from([("order".into(), "$.detail.order".into())]),
            input_template: r#"{"order": <order>, "rule": "<aws.events.rule-name>"}"#.into(),
        });
        events.put_targets(&caller, None, "paid", vec![target, sqs_target("raw")]).await.expect("targets");
        events.put_rule(&caller, pattern_rule("off", r#"{"source": ["shop"]}"#)).await.expect("put");
        events.put_targets(&caller, None, "off", vec![sqs_target("off")]).await.expect("targets");
        events.set_enabled(&caller, None, "off", false).await.expect("disable");

        let entry = |state: &str| NewEvent {
            source: Some("shop".into()),
            detail_type: Some("Order".into()),
            detail: Some(format!(r#"{{"state": "{state}", "order": 7}}"#)),
            ..NewEvent::default()
        };
        let outcomes = events.put_events(
            &caller,
            vec![
                entry("paid"),
                entry("open"),
                NewEvent { source: None, ..entry("paid") },
                NewEvent { detail: Some("[1]".into()), ..entry("paid") },
                NewEvent { bus: Some("nope".into()), ..entry("paid") },
            ],
        );
        assert!(outcomes[0].is_ok() && outcomes[1].is_ok());
        assert_eq!(outcomes[2], Err(EntryProblem::MissingSource));
        assert_eq!(outcomes[3], Err(EntryProblem::MalformedDetail));
        assert!(outcomes[4].is_ok(), "an event for a bus that does not exist gets an id, as on AWS");
        let mut received = [deliveries.recv().await.expect("one"), deliveries.recv().await.expect("two")];
        received.sort();
        assert_eq!(received[0].0, "arn:aws:sqs:us-east-1:123456789012:q");
        assert_eq!(received[0].1, r#"{"order": 7, "rule": "paid"}"#);
        let raw: Value = serde_json::from_str(&received[1].1).expect("event json");
        assert_eq!(raw["id"], json!(outcomes[0].as_ref().expect("id")));
        assert_eq!(raw["detail-type"], "Order");
        assert_eq!(raw["account"], "123456789012");
        assert_eq!(raw["time"], "2023-11-14T22:13:20Z");
        assert_eq!(raw["detail"]["order"], 7);
        tokio::task::yield_now().await;
        assert!(deliveries.try_recv().is_err(), "neither the open order nor the disabled rule delivers");

        assert!(Events::test_pattern(r#"{"source": ["shop"]}"#, &raw.to_string()).expect("test"));
        assert!(!Events::test_pattern(r#"{"source": ["x"]}"#, &raw.to_string()).expect("test"));
        assert!(matches!(Events::test_pattern("{", &raw.to_string()), Err(EventsError::InvalidPattern(_))));
        assert!(matches!(
            Events::test_pattern(r#"{"source": ["x"]}"#, r#"{"source": "x"}"#),
            Err(EventsError::Validation(_))
        ));
    }

    #[tokio::test]
    async fn rules_survive_reopen() {
        let store = Arc::new(MemoryEventStore::default());
        let (sender, _receiver) = mpsc::unbounded_channel();
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let events =
            Events::open(store.clone(), clock.clone(), Arc::new(Recorder(sender.clone()))).await.expect("open");
        events.create_bus(&caller(), "b", None, BTreeMap::new()).await.expect("bus");
        events.put_rule(&caller(), pattern_rule("r", r#"{"source": ["x"]}"#)).await.expect("rule");
        events.put_targets(&caller(), None, "r", vec![sqs_target("q")]).await.expect("targets");
        let reopened = Events::open(store, clock, Arc::new(Recorder(sender))).await.expect("reopen");
        assert_eq!(reopened.targets(&caller(), None, "r").expect("targets").len(), 1);
        assert_eq!(reopened.buses(&caller(), "").len(), 2);
    }
}
