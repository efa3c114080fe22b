//! The wharf CloudWatch Logs engine: groups, streams, events, retention.
//!
//! [`Logs`] validates names and batches, applies AWS's limits, pages through events and
//! evaluates filter patterns; the [`LogStore`] below it only stores and selects by time. The
//! Lambda side calls [`Logs::append`] to capture function output: it creates the group and the
//! stream on first use inside the store's own commit, so it never reads before writing.
//!
//! # Layout
//! - [`Logs`]: one method per operation.
//! - [`error`]: the engine's failures, [`LogsError`].
//! - [`pattern`]: filter patterns ([`FilterPattern`]), text and JSON.
//! - [`json`]: the small JSON reader JSON patterns evaluate against.

mod delimited;
pub mod error;
pub mod json;
pub mod pattern;
pub mod subscriptions;

pub use error::LogsError;
pub use pattern::FilterPattern;
pub use wharf_store::logs::{
    EventPosition, LogEventRecord, LogGroupKey, LogGroupRecord, LogStore, LogStreamRecord, ResourcePolicyRecord,
    StreamSelector, SubscriptionFilterRecord,
};

/// The most resource policies an account has per region (CloudWatch Logs quotas).
pub const MAX_RESOURCE_POLICIES: usize = 10;

/// A fresh `revisionId`: the process's start time and a counter, unique across restarts.
fn next_revision() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static STARTED: OnceLock<u128> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let started = STARTED.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
    });
    format!("{started:x}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_store::logs::{AppendOutcome, EventQuery, NewEvent, StreamOutcome};
use wharf_types::{AccountId, Clock, EpochMillis, Region};

/// An event for [`Logs::append`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLogEvent {
    /// The event's own time.
    pub timestamp: EpochMillis,
    /// The text.
    pub message: String,
}

/// The retention periods AWS accepts, in days.
///
/// See <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>.
pub const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// PutLogEvents limits, from
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html>.
pub mod limits {
    /// Events per batch.
    pub const MAX_EVENTS: usize = 10_000;
    /// Bytes per batch, counting messages as UTF-8 plus [`EVENT_OVERHEAD`] each.
    pub const MAX_BATCH_BYTES: usize = 1_048_576;
    /// Bytes counted per event on top of its message.
    pub const EVENT_OVERHEAD: usize = 26;
    /// How far in the future an event may be.
    pub const MAX_FUTURE_MS: u64 = 2 * 3_600_000;
    /// How far in the past an event may be.
    pub const MAX_AGE_MS: u64 = 14 * 86_400_000;
    /// The time one batch may span.
    pub const MAX_SPAN_MS: u64 = 24 * 3_600_000;
    /// Events one GetLogEvents or FilterLogEvents page returns at most (and by default).
    pub const MAX_PAGE_EVENTS: usize = 10_000;
}

/// How many events a FilterLogEvents call reads from the store at a time.
const SCAN_PAGE: usize = 1_000;
/// How many events one FilterLogEvents call examines before it returns a page (maybe empty)
/// with a token, as AWS does, so a rare pattern over a large group does not hold a request.
const SCAN_BUDGET: usize = 100_000;

/// Which events PutLogEvents set aside, as indexes into the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rejected {
    /// The first event more than two hours in the future.
    pub too_new_start: Option<usize>,
    /// The last event older than fourteen days.
    pub too_old_end: Option<usize>,
    /// The last event older than the group's retention.
    pub expired_end: Option<usize>,
}

/// What PutLogEvents did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    /// Events set aside.
    pub rejected: Rejected,
    /// The sequence number of the last stored event, 0 if none.
    pub last_seq: u64,
}

/// Where a GetLogEvents page starts: after or before a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetCursor {
    /// Events strictly after.
    Forward(EventPosition),
    /// Events strictly before.
    Backward(EventPosition),
}

/// A GetLogEvents request.
#[derive(Clone, Debug)]
pub struct GetEvents {
    /// The group.
    pub group: LogGroupKey,
    /// The stream.
    pub stream: String,
    /// Earliest timestamp, inclusive.
    pub start: Option<EpochMillis>,
    /// Latest timestamp, exclusive.
    pub end: Option<EpochMillis>,
    /// The token's position.
    pub cursor: Option<GetCursor>,
    /// Without a cursor: oldest first if true, else the newest page.
    pub start_from_head: bool,
    /// At most this many events.
    pub limit: usize,
}

/// A GetLogEvents page; both tokens are always present.
#[derive(Clone, Debug)]
pub struct GetPage {
    /// Oldest first.
    pub events: Vec<LogEventRecord>,
    /// Where the next newer page starts.
    pub next_forward: GetCursor,
    /// Where the next older page ends.
    pub next_backward: GetCursor,
}

/// A FilterLogEvents request.
#[derive(Clone, Debug)]
pub struct FilterEvents {
    /// The group.
    pub group: LogGroupKey,
    /// Which streams.
    pub streams: StreamSelector,
    /// Earliest timestamp, inclusive.
    pub start: Option<EpochMillis>,
    /// Latest timestamp, inclusive.
    pub end: Option<EpochMillis>,
    /// The pattern text (empty matches every event).
    pub pattern: String,
    /// The token's position: events strictly after it.
    pub cursor: Option<EventPosition>,
    /// At most this many events.
    pub limit: usize,
}

/// A FilterLogEvents page.
#[derive(Clone, Debug)]
pub struct FilterPage {
    /// Matching events in `(timestamp, seq)` order.
    pub events: Vec<LogEventRecord>,
    /// Where to continue, if there may be more.
    pub next: Option<EventPosition>,
    /// The names of the streams searched.
    pub searched_streams: Vec<String>,
}

/// How DescribeLogStreams orders streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamOrder {
    /// By name.
    Name,
    /// By last event timestamp (streams without events first), then name.
    LastEventTime,
}

/// The CloudWatch Logs engine. Cheap to share behind an `Arc`.
pub struct Logs {
    store: Arc<dyn LogStore>,
    clock: Arc<dyn Clock>,
    /// Subscription filters and where their batches go.
    subscriptions: subscriptions::Subscriptions,
    /// Serializes PutResourcePolicy, so the limit holds under concurrent puts.
    policy_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs").finish_non_exhaustive()
    }
}

/// Checks a log group name: 1 to 512 characters of `[.-_/#A-Za-z0-9]`.
pub fn validate_group_name(name: &str) -> Result<(), LogsError> {
    let valid = !name.is_empty()
        && name.len() <= 512
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'/' | b'#'));
    if valid {
        Ok(())
    } else {
        Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

/// Checks a log stream name: 1 to 512 characters, without `:` or `*`.
pub fn validate_stream_name(name: &str) -> Result<(), LogsError> {
    let valid = !name.is_empty() && name.len() <= 512 && !name.contains([':', '*']);
    if valid {
        Ok(())
    } else {
        Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [^:*]*"
        )))
    }
}

impl Logs {
    /// An engine over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn LogStore>, clock: Arc<dyn Clock>) -> Self {
        Logs {
            store,
            clock,
            subscriptions: subscriptions::Subscriptions::default(),
            policy_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The engine's time, epoch milliseconds.
    pub fn now_millis(&self) -> EpochMillis {
        self.clock.now_millis()
    }

    /// Appends events (already in timestamp order) to `group`/`stream`, creating the group
    /// and the stream if missing. Used for function output capture.
    pub async fn append(
        &self,
        account: &AccountId,
        region: &Region,
        group: &str,
        stream: &str,
        events: Vec<NewLogEvent>,
    ) -> Result<(), LogsError> {
        validate_group_name(group)?;
        validate_stream_name(stream)?;
        let key = LogGroupKey { account: account.clone(), region: region.clone(), name: group.to_owned() };
        let written = self.copy_if_subscribed(&key, events.iter().map(|event| (event.timestamp, &event.message))).await;
        let events =
            events.into_iter().map(|event| NewEvent { timestamp: event.timestamp, message: event.message }).collect();
        let now = self.clock.now_millis();
        match self.store.append(&key, stream, events, now, true).await? {
            AppendOutcome::Appended(last_seq) => {
                self.forward_written(&key, stream, &written, last_seq).await;
                Ok(())
            }
            AppendOutcome::GroupMissing => Err(LogsError::GroupNotFound),
            AppendOutcome::StreamMissing => Err(LogsError::StreamNotFound),
        }
    }

    /// Copies the store's write-ahead log into its database (a clean stop).
    pub async fn checkpoint(&self) -> Result<(), wharf_store::StoreError> {
        self.store.checkpoint().await
    }

    /// Whether the store can write now (for the health answer).
    pub fn store_health(&self) -> Result<(), String> {
        self.store.health()
    }

    /// Deletes events older than their group's retention; returns how many.
    pub async fn expire(&self) -> Result<u64, LogsError> {
        Ok(self.store.expire(self.clock.now_millis()).await?)
    }

    /// CreateLogGroup.
    pub async fn create_group(&self, key: &LogGroupKey, tags: BTreeMap<String, String>) -> Result<(), LogsError> {
        validate_group_name(&key.name)?;
        if self.store.create_group(key, tags, self.clock.now_millis()).await? {
            Ok(())
        } else {
            Err(LogsError::GroupExists)
        }
    }

    /// DeleteLogGroup.
    pub async fn delete_group(&self, key: &LogGroupKey) -> Result<(), LogsError> {
        if self.store.delete_group(key).await? {
            self.forget_group_filters(key).await;
            Ok(())
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    /// The group of `key`.
    pub async fn group(&self, key: &LogGroupKey) -> Result<LogGroupRecord, LogsError> {
        self.store.group(key).await?.ok_or(LogsError::GroupNotFound)
    }

    /// DescribeLogGroups: groups whose name starts with `prefix` and contains `pattern`
    /// (case-insensitive), sorted by name, after `after`; at most `limit`, and whether more
    /// follow.
    pub async fn groups(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
        pattern: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LogGroupRecord>, bool), LogsError> {
        let pattern = pattern.map(str::to_lowercase);
        self.scan_groups(account, region, prefix, after, limit, |name| {
            pattern.as_ref().is_none_or(|pattern| name.to_lowercase().contains(pattern))
        })
        .await
    }

    /// The groups whose name starts with `prefix` and that `keep` keeps, by name, after
    /// `after`: at most `limit`, and whether more follow. Reads the store a page at a time.
    async fn scan_groups(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Result<(Vec<LogGroupRecord>, bool), LogsError> {
        const PAGE: usize = 1_000;
        let mut found = Vec::new();
        let mut cursor = after.map(str::to_owned);
        loop {
            let page = self.store.list_groups(account, region, prefix, cursor.as_deref(), PAGE).await?;
            let exhausted = page.len() < PAGE;
            cursor = page.last().map(|record| record.key.name.clone());
            for record in page {
                if keep(&record.key.name) {
                    if found.len() == limit {
                        return Ok((found, true));
                    }
                    found.push(record);
                }
            }
            if exhausted || cursor.is_none() {
                return Ok((found, false));
            }
        }
    }

    /// PutResourcePolicy: creates or replaces the policy `name` of the account (or, with
    /// `resource_arn`, of one log group). At most [`MAX_RESOURCE_POLICIES`] per region.
    pub async fn put_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
        document: &str,
        resource_arn: Option<String>,
    ) -> Result<ResourcePolicyRecord, LogsError> {
        if name.is_empty() {
            return Err(LogsError::InvalidParameter("policyName is required.".into()));
        }
        if document.is_empty() || document.chars().count() > 51_200 {
            return Err(LogsError::InvalidParameter(
                "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to 51200".into(),
            ));
        }
        let statements = json::parse(document).and_then(|value| value.member("Statement").cloned());
        if !matches!(statements, Some(json::Json::Array(_) | json::Json::Object(_))) {
            return Err(LogsError::InvalidParameter("Policy document is not a valid JSON policy.".into()));
        }
        let _put = self.policy_lock.lock().await;
        let existing = self.store.resource_policies(account, region).await?;
        // Ten account-scope policies; a log group's own policies do not count against them.
        let account_scope = existing.iter().filter(|policy| policy.resource_arn.is_none()).count();
        if resource_arn.is_none()
            && account_scope >= MAX_RESOURCE_POLICIES
            && !existing.iter().any(|policy| policy.name == name)
        {
            return Err(LogsError::LimitExceeded);
        }
        let record = ResourcePolicyRecord {
            name: name.to_owned(),
            document: document.to_owned(),
            updated_ms: self.clock.now_millis(),
            resource_arn,
            revision: next_revision(),
        };
        self.store.put_resource_policy(account, region, record.clone()).await?;
        Ok(record)
    }

    /// DescribeResourcePolicies: every policy of the account in the region, by name.
    pub async fn resource_policies(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<ResourcePolicyRecord>, LogsError> {
        Ok(self.store.resource_policies(account, region).await?)
    }

    /// DeleteResourcePolicy.
    pub async fn delete_resource_policy(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<(), LogsError> {
        if self.store.delete_resource_policy(account, region, name).await? {
            Ok(())
        } else {
            Err(LogsError::NotFound(format!("Policy with name [{name}] does not exist")))
        }
    }

    /// ListLogGroups: groups whose name matches one of `alternatives` (a substring, or after
    /// `^` a prefix; case-sensitive, as the API reference says; all groups when empty), by
    /// name, after `after`; at most `limit`, and whether more follow.
    pub async fn list_groups(
        &self,
        account: &AccountId,
        region: &Region,
        alternatives: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LogGroupRecord>, bool), LogsError> {
        let alternatives: Vec<(bool, &str)> = alternatives
            .iter()
            .map(|part| match part.strip_prefix('^') {
                Some(prefix) => (true, prefix),
                None => (false, part.as_str()),
            })
            .collect();
        self.scan_groups(account, region, "", after, limit, |name| {
            alternatives.is_empty()
                || alternatives
                    .iter()
                    .any(|(prefix, text)| if *prefix { name.starts_with(text) } else { name.contains(text) })
        })
        .await
    }

    /// PutRetentionPolicy.
    pub async fn put_retention(&self, key: &LogGroupKey, days: i64) -> Result<(), LogsError> {
        let days = u32::try_from(days).ok().filter(|days| RETENTION_DAYS.contains(days)).ok_or_else(|| {
            LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: \
                 Member must satisfy enum value set: {RETENTION_DAYS:?}"
            ))
        })?;
        if self.store.set_retention(key, Some(days)).await? {
            Ok(())
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    /// DeleteRetentionPolicy.
    pub async fn delete_retention(&self, key: &LogGroupKey) -> Result<(), LogsError> {
        if self.store.set_retention(key, None).await? {
            Ok(())
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    /// TagLogGroup and TagResource: adds or replaces tags.
    pub async fn tag(&self, key: &LogGroupKey, tags: BTreeMap<String, String>) -> Result<(), LogsError> {
        let mut current = self.group(key).await?.tags;
        current.extend(tags);
        if current.len() > 50 {
            return Err(LogsError::InvalidParameter("A log group can have at most 50 tags".into()));
        }
        if self.store.set_tags(key, current).await? {
            Ok(())
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    /// UntagLogGroup and UntagResource.
    pub async fn untag(&self, key: &LogGroupKey, tag_keys: &[String]) -> Result<(), LogsError> {
        let mut current = self.group(key).await?.tags;
        for tag_key in tag_keys {
            current.remove(tag_key);
        }
        if self.store.set_tags(key, current).await? {
            Ok(())
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    /// CreateLogStream.
    pub async fn create_stream(&self, key: &LogGroupKey, stream: &str) -> Result<(), LogsError> {
        validate_stream_name(stream)?;
        match self.store.create_stream(key, stream, self.clock.now_millis()).await? {
            StreamOutcome::Done => Ok(()),
            StreamOutcome::GroupMissing => Err(LogsError::GroupNotFound),
            StreamOutcome::StreamConflict => Err(LogsError::StreamExists),
        }
    }

    /// DeleteLogStream.
    pub async fn delete_stream(&self, key: &LogGroupKey, stream: &str) -> Result<(), LogsError> {
        match self.store.delete_stream(key, stream).await? {
            StreamOutcome::Done => Ok(()),
            StreamOutcome::GroupMissing => Err(LogsError::GroupNotFound),
            StreamOutcome::StreamConflict => Err(LogsError::StreamNotFound),
        }
    }

    /// DescribeLogStreams, every matching stream in the requested order.
    pub async fn streams(
        &self,
        key: &LogGroupKey,
        prefix: &str,
        order: StreamOrder,
        descending: bool,
    ) -> Result<Vec<LogStreamRecord>, LogsError> {
        if order == StreamOrder::LastEventTime && !prefix.is_empty() {
            return Err(LogsError::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            ));
        }
        let mut streams = self.store.streams(key, prefix).await?.ok_or(LogsError::GroupNotFound)?;
        if order == StreamOrder::LastEventTime {
            streams.sort_by(|left, right| (left.last_event_ms, &left.name).cmp(&(right.last_event_ms, &right.name)));
        }
        if descending {
            streams.reverse();
        }
        Ok(streams)
    }

    /// PutLogEvents: validates the batch, sets aside events too old, too new or past
    /// retention, and stores the rest.
    pub async fn put_events(
        &self,
        key: &LogGroupKey,
        stream: &str,
        events: Vec<NewLogEvent>,
    ) -> Result<PutOutcome, LogsError> {
        if events.is_empty() || events.len() > limits::MAX_EVENTS {
            return Err(LogsError::InvalidParameter(format!(
                "A batch of log events must contain 1 to {} events, got {}",
                limits::MAX_EVENTS,
                events.len()
            )));
        }
        let bytes: usize = events.iter().map(|event| event.message.len() + limits::EVENT_OVERHEAD).sum();
        if bytes > limits::MAX_BATCH_BYTES {
            return Err(LogsError::InvalidParameter(format!(
                "Log events in a single PutLogEvents request must not exceed {} bytes, got {bytes}",
                limits::MAX_BATCH_BYTES
            )));
        }
        if events.windows(2).any(|pair| pair[1].timestamp < pair[0].timestamp) {
            return Err(LogsError::InvalidParameter(
                "Log events in a single PutLogEvents request must be in chronological order.".into(),
            ));
        }
        let record = self.group(key).await?;
        let now = self.clock.now_millis();
        let too_old_before = now.saturating_sub(limits::MAX_AGE_MS);
        let expired_before = record.retention_days.map(|days| wharf_store::logs::retention_cutoff(now, days));
        let too_new_after = now.saturating_add(limits::MAX_FUTURE_MS);
        let mut rejected = Rejected::default();
        let mut accepted = Vec::with_capacity(events.len());
        for (idx, event) in events.into_iter().enumerate() {
            if event.timestamp > too_new_after {
                rejected.too_new_start.get_or_insert(idx);
            } else if event.timestamp < too_old_before {
                rejected.too_old_end = Some(idx);
            } else if expired_before.is_some_and(|cutoff| event.timestamp < cutoff) {
                rejected.expired_end = Some(idx);
            } else {
                accepted.push(NewEvent { timestamp: event.timestamp, message: event.message });
            }
        }
        // The span rule applies to what is kept: set-aside events are reported, not refused.
        if let (Some(first), Some(last)) = (accepted.first(), accepted.last()) {
            if last.timestamp - first.timestamp > limits::MAX_SPAN_MS {
                return Err(LogsError::InvalidParameter(
                    "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.".into(),
                ));
            }
        }
        let written =
            self.copy_if_subscribed(key, accepted.iter().map(|event| (event.timestamp, &event.message))).await;
        match self.store.append(key, stream, accepted, now, false).await? {
            AppendOutcome::Appended(last_seq) => {
                self.forward_written(key, stream, &written, last_seq).await;
                Ok(PutOutcome { rejected, last_seq })
            }
            AppendOutcome::GroupMissing => Err(LogsError::GroupNotFound),
            AppendOutcome::StreamMissing => Err(LogsError::StreamNotFound),
        }
    }

    /// GetLogEvents: one page of a stream, oldest first, with both tokens.
    pub async fn get_events(&self, request: GetEvents) -> Result<GetPage, LogsError> {
        let streams = self.store.streams(&request.group, &request.stream).await?.ok_or(LogsError::GroupNotFound)?;
        if !streams.iter().any(|stream| stream.name == request.stream) {
            return Err(LogsError::StreamNotFound);
        }
        let descending = match request.cursor {
            Some(GetCursor::Forward(_)) => false,
            Some(GetCursor::Backward(_)) => true,
            None => !request.start_from_head,
        };
        let cursor = match request.cursor {
            Some(GetCursor::Forward(position) | GetCursor::Backward(position)) => Some(position),
            None => None,
        };
        let query = EventQuery {
            group: request.group.clone(),
            streams: StreamSelector::Names(vec![request.stream.clone()]),
            start: request.start,
            end: request.end,
            cursor,
            descending,
            limit: request.limit.clamp(1, limits::MAX_PAGE_EVENTS),
        };
        let mut events = self.store.events(&query).await?.ok_or(LogsError::GroupNotFound)?;
        if descending {
            events.reverse();
        }
        let (next_forward, next_backward) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (GetCursor::Forward(last.position()), GetCursor::Backward(first.position())),
            _ => match request.cursor {
                // Nothing there: hand the same token back so clients stop, and a token of the
                // other direction that includes the cursor's own position.
                Some(GetCursor::Forward(position)) => (
                    GetCursor::Forward(position),
                    GetCursor::Backward(EventPosition { seq: position.seq.saturating_add(1), ..position }),
                ),
                Some(GetCursor::Backward(position)) => (
                    GetCursor::Forward(EventPosition { seq: position.seq.saturating_sub(1), ..position }),
                    GetCursor::Backward(position),
                ),
                None => (
                    GetCursor::Forward(EventPosition { timestamp: request.start.unwrap_or(0), seq: 0 }),
                    GetCursor::Backward(EventPosition { timestamp: request.start.unwrap_or(0), seq: 0 }),
                ),
            },
        };
        Ok(GetPage { events, next_forward, next_backward })
    }

    /// FilterLogEvents: matching events of a group in `(timestamp, seq)` order.
    pub async fn filter_events(&self, request: FilterEvents) -> Result<FilterPage, LogsError> {
        if request.pattern.chars().count() > pattern::MAX_PATTERN_CHARS {
            return Err(LogsError::InvalidParameter(format!(
                "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: \
                 Member must have length less than or equal to {}",
                pattern::MAX_PATTERN_CHARS
            )));
        }
        let pattern: FilterPattern = request.pattern.parse().map_err(|err: pattern::PatternError| {
            LogsError::InvalidParameter(format!("Invalid filter pattern: {err}"))
        })?;
        let prefix = match &request.streams {
            StreamSelector::Prefix(prefix) => prefix.as_str(),
            StreamSelector::All | StreamSelector::Names(_) => "",
        };
        let streams = self.store.streams(&request.group, prefix).await?.ok_or(LogsError::GroupNotFound)?;
        let searched_streams: Vec<String> =
            streams.into_iter().map(|stream| stream.name).filter(|name| request.streams.matches(name)).collect();
        let limit = request.limit.clamp(1, limits::MAX_PAGE_EVENTS);
        let mut query = EventQuery {
            group: request.group.clone(),
            streams: request.streams.clone(),
            start: request.start,
            end: request.end.map(|end| end.saturating_add(1)),
            cursor: request.cursor,
            descending: false,
            limit: SCAN_PAGE,
        };
        let mut events = Vec::new();
        let mut scanned = 0;
        loop {
            let page = self.store.events(&query).await?.ok_or(LogsError::GroupNotFound)?;
            let exhausted = page.len() < SCAN_PAGE;
            let Some(last_position) = page.last().map(LogEventRecord::position) else {
                return Ok(FilterPage { events, next: None, searched_streams });
            };
            for event in page {
                scanned += 1;
                let position = event.position();
                if pattern.matches(&event.message) {
                    events.push(event);
                    if events.len() == limit {
                        return Ok(FilterPage { events, next: Some(position), searched_streams });
                    }
                }
            }
            if exhausted {
                return Ok(FilterPage { events, next: None, searched_streams });
            }
            if scanned >= SCAN_BUDGET {
                return Ok(FilterPage { events, next: Some(last_position), searched_streams });
            }
            query.cursor = Some(last_position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_store::logs::MemoryLogStore;
    use wharf_types::ManualClock;

    const T0: EpochMillis = 1_700_000_000_000;

    fn engine() -> (Logs, ManualClock) {
        let clock = ManualClock::new(T0);
        (Logs::new(Arc::new(MemoryLogStore::new()), Arc::new(clock.clone())), clock)
    }

    fn key(name: &str) -> LogGroupKey {
        LogGroupKey {
            account: "000000000000".parse().expect("account"),
            region: "us-east-1".parse().expect("region"),
            name: name.into(),
        }
    }

    fn event(timestamp: EpochMillis, message: &str) -> NewLogEvent {
        NewLogEvent { timestamp, message: message.into() }
    }

    #[tokio::test]
    async fn append_creates_group_and_stream() {
        let (logs, _) = engine();
        let group = key("/aws/lambda/f");
        logs.append(&group.account, &group.region, "/aws/lambda/f", "s", vec![event(T0, "hello")])
            .await
            .expect("append");
        logs.append(&group.account, &group.region, "/aws/lambda/f", "s", vec![event(T0 + 1, "again")])
            .await
            .expect("append");
        let page = logs
            .filter_events(FilterEvents {
                group,
                streams: StreamSelector::All,
                start: None,
                end: None,
                pattern: String::new(),
                cursor: None,
                limit: 100,
            })
            .await
            .expect("filter");
        let messages: Vec<_> = page.events.iter().map(|event| event.message.as_str()).collect();
        assert_eq!(messages, ["hello", "again"]);
        assert_eq!(page.searched_streams, ["s"]);
    }

    #[tokio::test]
    async fn put_events_validates_and_rejects() {
        let (logs, _) = engine();
        let group = key("/g");
        logs.create_group(&group, BTreeMap::new()).await.expect("create");
        assert!(matches!(logs.create_group(&group, BTreeMap::new()).await, Err(LogsError::GroupExists)));
        assert!(matches!(logs.put_events(&group, "s", vec![event(T0, "x")]).await, Err(LogsError::StreamNotFound)));
        assert!(matches!(
            logs.put_events(&key("/none"), "s", vec![event(T0, "x")]).await,
            Err(LogsError::GroupNotFound)
        ));
        logs.create_stream(&group, "s").await.expect("stream");
        let unordered = vec![event(T0 + 1, "b"), event(T0, "a")];
        assert!(matches!(logs.put_events(&group, "s", unordered).await, Err(LogsError::InvalidParameter(_))));
        assert!(matches!(logs.put_events(&group, "s", Vec::new()).await, Err(LogsError::InvalidParameter(_))));
        let huge = vec![event(T0, &"x".repeat(limits::MAX_BATCH_BYTES))];
        assert!(matches!(logs.put_events(&group, "s", huge).await, Err(LogsError::InvalidParameter(_))));
        let old = T0 - 15 * 86_400_000;
        let mixed = vec![event(old, "old"), event(T0, "now")];
        let outcome = logs.put_events(&group, "s", mixed).await.expect("put");
        assert_eq!(outcome.rejected, Rejected { too_old_end: Some(0), ..Rejected::default() });
        let future = vec![event(T0, "now"), event(T0 + 3 * 3_600_000, "future")];
        let outcome = logs.put_events(&group, "s", future).await.expect("put");
        assert_eq!(outcome.rejected, Rejected { too_new_start: Some(1), ..Rejected::default() });
        logs.put_retention(&group, 1).await.expect("retention");
        let expired = vec![event(T0 - 2 * 86_400_000, "expired"), event(T0, "now")];
        let outcome = logs.put_events(&group, "s", expired).await.expect("put");
        assert_eq!(outcome.rejected, Rejected { expired_end: Some(0), ..Rejected::default() });
        assert!(matches!(logs.put_retention(&group, 2).await, Err(LogsError::InvalidParameter(_))));
        assert!(matches!(logs.put_retention(&key("/none"), 1).await, Err(LogsError::GroupNotFound)));
    }

    #[tokio::test]
    async fn get_events_pages_terminate_both_ways() {
        let (logs, _) = engine();
        let group = key("/g");
        logs.create_group(&group, BTreeMap::new()).await.expect("create");
        logs.create_stream(&group, "s").await.expect("stream");
        let batch = (0..25).map(|idx| event(T0 + idx, &format!("e{idx}"))).collect();
        logs.put_events(&group, "s", batch).await.expect("put");
        let request = |cursor, start_from_head| GetEvents {
            group: group.clone(),
            stream: "s".into(),
            start: None,
            end: None,
            cursor,
            start_from_head,
            limit: 10,
        };
        // Forward from the head.
        let mut seen = Vec::new();
        let mut cursor = None;
        for _ in 0..10 {
            let page = logs.get_events(request(cursor, true)).await.expect("get");
            seen.extend(page.events.iter().map(|event| event.message.clone()));
            if Some(page.next_forward) == cursor {
                break;
            }
            cursor = Some(page.next_forward);
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(seen[0], "e0");
        // Backward from the tail.
        let mut pages = Vec::new();
        let mut cursor = None;
        for _ in 0..10 {
            let page = logs.get_events(request(cursor, false)).await.expect("get");
            pages.push(page.events.iter().map(|event| event.message.clone()).collect::<Vec<_>>());
            if Some(page.next_backward) == cursor {
                break;
            }
            cursor = Some(page.next_backward);
        }
        assert_eq!(pages[0].first().map(String::as_str), Some("e15"), "the newest page first, oldest first");
        assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 25);
        assert!(matches!(
            logs.get_events(GetEvents { stream: "nope".into(), ..request(None, true) }).await,
            Err(LogsError::StreamNotFound)
        ));
    }

    #[tokio::test]
    async fn filter_pages_with_patterns_and_inclusive_times() {
        let (logs, _) = engine();
        let group = key("/g");
        logs.create_group(&group, BTreeMap::new()).await.expect("create");
        for stream in ["a", "b"] {
            logs.create_stream(&group, stream).await.expect("stream");
            let batch = (0..10)
                .map(|idx| event(T0 + idx, &format!("{stream} {} {idx}", if idx % 2 == 0 { "ERROR" } else { "INFO" })))
                .collect();
            logs.put_events(&group, stream, batch).await.expect("put");
        }
        let request = |pattern: &str, cursor| FilterEvents {
            group: group.clone(),
            streams: StreamSelector::All,
            start: Some(T0 + 2),
            end: Some(T0 + 6),
            pattern: pattern.into(),
            cursor,
            limit: 3,
        };
        let mut collected = Vec::new();
        let mut cursor = None;
        loop {
            let page = logs.filter_events(request("ERROR", cursor)).await.expect("filter");
            collected.extend(page.events.iter().map(|event| event.message.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(collected, ["a ERROR 2", "b ERROR 2", "a ERROR 4", "b ERROR 4", "a ERROR 6", "b ERROR 6"]);
        assert!(matches!(logs.filter_events(request("{ $.a = ", None)).await, Err(LogsError::InvalidParameter(_))));
    }

    #[tokio::test]
    async fn expire_uses_the_clock() {
        let (logs, clock) = engine();
        let group = key("/g");
        logs.create_group(&group, BTreeMap::new()).await.expect("create");
        logs.create_stream(&group, "s").await.expect("stream");
        logs.put_events(&group, "s", vec![event(T0, "x")]).await.expect("put");
        logs.put_retention(&group, 1).await.expect("retention");
        assert_eq!(logs.expire().await.expect("expire"), 0);
        clock.advance(86_400_001);
        assert_eq!(logs.expire().await.expect("expire"), 1);
    }
}
