//! Shared vocabulary of wharf: the identifiers every engine and protocol agrees on.
//!
//! Nothing here does IO. Each type with an invariant is a newtype whose constructor checks it,
//! so a value that exists is valid.
//!
//! # Layout
//! - [`AccountId`], [`Region`]: where a resource lives.
//! - [`QueueName`], [`QueueKey`]: an SQS queue's name and its full identity.
//! - [`Clock`], [`SystemClock`], [`OffsetClock`], [`ManualClock`]: the time source, replaceable in tests.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A twelve-digit AWS account id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

/// Why a string is not an account id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("account id must be 12 digits, got {0:?}")]
pub struct InvalidAccountId(pub String);

impl FromStr for AccountId {
    type Err = InvalidAccountId;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit()) {
            Ok(AccountId(text.to_owned()))
        } else {
            Err(InvalidAccountId(text.to_owned()))
        }
    }
}

impl AccountId {
    /// The account string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name such as `us-east-1`.
///
/// wharf accepts any lower-case name of letters, digits and dashes: users pick regions freely
/// in their SDK configuration, and the name only partitions resources.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

/// Why a string is not a region name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("region must be 1 to 32 characters of a-z, 0-9 and '-', got {0:?}")]
pub struct InvalidRegion(pub String);

impl FromStr for Region {
    type Err = InvalidRegion;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = !text.is_empty()
            && text.len() <= 32
            && text.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if valid {
            Ok(Region(text.to_owned()))
        } else {
            Err(InvalidRegion(text.to_owned()))
        }
    }
}

impl Region {
    /// The region string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An SQS queue name: 1 to 80 characters of `[A-Za-z0-9_-]`, with an optional `.fifo` suffix
/// counted in the 80.
///
/// See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html>.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueName(String);

/// Why a string is not a queue name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")]
pub struct InvalidQueueName;

/// The suffix that names a FIFO queue.
pub const FIFO_SUFFIX: &str = ".fifo";

impl FromStr for QueueName {
    type Err = InvalidQueueName;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 80 {
            return Err(InvalidQueueName);
        }
        let stem = text.strip_suffix(FIFO_SUFFIX).unwrap_or(text);
        let valid_stem =
            !stem.is_empty() && stem.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if valid_stem {
            Ok(QueueName(text.to_owned()))
        } else {
            Err(InvalidQueueName)
        }
    }
}

impl QueueName {
    /// The name string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name carries the `.fifo` suffix.
    pub fn is_fifo(&self) -> bool {
        self.0.ends_with(FIFO_SUFFIX)
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The full identity of a queue: queues live per account and region, as on AWS.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// The owning account.
    pub account: AccountId,
    /// The region the queue was created in.
    pub region: Region,
    /// The queue's name, unique within account and region.
    pub name: QueueName,
}

impl QueueKey {
    /// The queue's ARN, `arn:aws:sqs:REGION:ACCOUNT:NAME`.
    pub fn arn(&self) -> String {
        format!("arn:aws:sqs:{}:{}:{}", self.region, self.account, self.name)
    }

    /// The queue an ARN names, if it is a well-formed SQS queue ARN (any partition).
    pub fn from_arn(arn: &str) -> Option<QueueKey> {
        let arn: Arn = arn.parse().ok()?;
        if arn.service != "sqs" {
            return None;
        }
        Some(QueueKey { account: arn.account_id()?, region: arn.region()?, name: arn.resource.parse().ok()? })
    }
}

/// An Amazon Resource Name, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, split into its
/// parts. The resource keeps its own `:` and `/` (`function:NAME:QUALIFIER`,
/// `log-group:NAME:*`, `rule/NAME`); the region and account are empty for global resources
/// (`arn:aws:iam::123456789012:role/x` has no region, `arn:aws:s3:::bucket` neither).
///
/// See <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
    /// The service namespace: `sqs`, `lambda`, `logs`, `events`, `iam`, …
    pub service: String,
    /// The region, empty for global resources.
    pub region: String,
    /// The account, empty for resources of no account.
    pub account: String,
    /// Everything after the account.
    pub resource: String,
}

/// A string that is not an ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidArn(pub String);

impl fmt::Display for InvalidArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a valid ARN", self.0)
    }
}

impl std::error::Error for InvalidArn {}

impl FromStr for Arn {
    type Err = InvalidArn;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidArn(text.to_owned());
        let mut parts = text.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let word = |part: &str| part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        if !partition.starts_with("aws") || !word(partition) || service.is_empty() || !word(service) {
            return Err(invalid());
        }
        if !word(region) || !account.bytes().all(|byte| byte.is_ascii_digit()) || resource.is_empty() {
            return Err(invalid());
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:{}:{}:{}:{}", self.partition, self.service, self.region, self.account, self.resource)
    }
}

impl Arn {
    /// Whether `text` is an ARN of `service` (what the prefix checks `arn:aws:sqs:` meant, in
    /// any partition).
    pub fn is_of(text: &str, service: &str) -> bool {
        text.parse::<Arn>().is_ok_and(|arn| arn.service == service)
    }

    /// The account as an [`AccountId`], if it is one.
    pub fn account_id(&self) -> Option<AccountId> {
        self.account.parse().ok()
    }

    /// The region as a [`Region`], if there is one.
    pub fn region(&self) -> Option<Region> {
        self.region.parse().ok()
    }
}

/// Why a hand-off between parts of wharf failed: a rule target, a destination or dead-letter
/// queue, the queue of asynchronous invocations. The kind tells the sender what to do (a retry
/// helps only `Unavailable`); the text says why, for logs and dead-letter attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandOffError {
    /// The target names nothing that exists (a deleted queue or function).
    NotFound(String),
    /// The target refused this payload or is of a kind wharf cannot deliver to.
    Refused(String),
    /// Storage or capacity trouble: a later attempt may succeed.
    Unavailable(String),
}

impl fmt::Display for HandOffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandOffError::NotFound(text) | HandOffError::Refused(text) | HandOffError::Unavailable(text) => {
                f.write_str(text)
            }
        }
    }
}

impl std::error::Error for HandOffError {}

/// Milliseconds since the Unix epoch, the unit SQS uses for message timestamps.
pub type EpochMillis = u64;

/// A source of wall-clock time.
///
/// Engines read time only through this trait, so tests can move time forward without sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> EpochMillis;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> EpochMillis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The real clock plus an offset that only grows: what `wharf serve --test-clock` runs on, so a
/// test suite can move a running server's time forward instead of waiting.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock(Arc<AtomicU64>);

impl OffsetClock {
    /// A clock that reads the system time (offset zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `millis` (saturating).
    pub fn advance(&self, millis: u64) {
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| Some(offset.saturating_add(millis)));
    }

    /// How far ahead of the system clock this clock is.
    pub fn offset_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for OffsetClock {
    fn now_millis(&self) -> EpochMillis {
        SystemClock.now_millis().saturating_add(self.offset_millis())
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock that reads `start`.
    pub fn new(start: EpochMillis) -> Self {
        ManualClock(Arc::new(AtomicU64::new(start)))
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> EpochMillis {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arns_split_into_their_parts() {
        let arn: super::Arn = "arn:aws:lambda:us-east-1:123456789012:function:f:live".parse().expect("arn");
        assert_eq!(
            (arn.service.as_str(), arn.region.as_str(), arn.account.as_str()),
            ("lambda", "us-east-1", "123456789012")
        );
        assert_eq!(arn.resource, "function:f:live");
        assert_eq!(arn.to_string(), "arn:aws:lambda:us-east-1:123456789012:function:f:live");
        let role: super::Arn = "arn:aws:iam::123456789012:role/service-role/x".parse().expect("arn");
        assert_eq!((role.region.as_str(), role.resource.as_str()), ("", "role/service-role/x"));
        assert!("arn:aws-cn:sqs:cn-north-1:123456789012:q".parse::<super::Arn>().is_ok());
        for bad in [
            "",
            "arn",
            "arn:aws:sqs",
            "arn:aws:sqs:r:1:",
            "nra:aws:sqs:r:1:q",
            "arn:xyz:sqs:r:1:q",
            "arn:aws::r:1:q",
            "arn:aws:sqs:r:12a:q",
            "arn:aws:sq s:r:1:q",
        ] {
            assert!(bad.parse::<super::Arn>().is_err(), "{bad}");
        }
        assert!(super::Arn::is_of("arn:aws:sqs:us-east-1:123456789012:q", "sqs"));
        assert!(!super::Arn::is_of("arn:aws:sqs-x:us-east-1:123456789012:q", "sqs"));
        assert!(super::QueueKey::from_arn("arn:aws:sqs:us-east-1:123456789012:q:extra").is_none());
    }

    use super::*;

    #[test]
    fn an_offset_clock_runs_ahead_of_the_system_clock_by_what_it_was_advanced() {
        let clock = OffsetClock::new();
        let before = SystemClock.now_millis();
        clock.advance(60_000);
        clock.advance(u64::MAX);
        assert_eq!(clock.offset_millis(), u64::MAX);
        let other = OffsetClock::new();
        other.advance(60_000);
        let read = other.now_millis();
        assert!(read >= before + 60_000 && read <= SystemClock.now_millis() + 60_000, "{read} vs {before}");
    }

    #[test]
    fn queue_names_follow_the_documented_rules() {
        for good in ["a", "sqs-test-1", "A_b-9", "orders.fifo", &"x".repeat(80)] {
            assert!(good.parse::<QueueName>().is_ok(), "{good}");
        }
        let long_fifo = format!("{}.fifo", "x".repeat(75));
        assert!(long_fifo.parse::<QueueName>().is_ok());
        let too_long_fifo = format!("{}.fifo", "x".repeat(76));
        for bad in ["", ".fifo", "a.b", "a b", "ü", &"x".repeat(81), &too_long_fifo] {
            assert!(bad.parse::<QueueName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("000000000000".parse::<AccountId>().is_ok());
        assert!("00000000000".parse::<AccountId>().is_err());
        assert!("00000000000a".parse::<AccountId>().is_err());
    }

    #[test]
    fn arn_names_region_account_and_queue() {
        let key = QueueKey {
            account: "123456789012".parse().unwrap(),
            region: "ap-northeast-2".parse().unwrap(),
            name: "sqs-test-1".parse().unwrap(),
        };
        assert_eq!(key.arn(), "arn:aws:sqs:ap-northeast-2:123456789012:sqs-test-1");
        assert_eq!(QueueKey::from_arn(&key.arn()), Some(key));
        assert_eq!(QueueKey::from_arn("arn:aws:sns:us-east-1:123456789012:topic"), None);
        assert_eq!(QueueKey::from_arn("arn:aws:sqs:us-east-1:123456789012:q:extra"), None);
    }
}

/// The day number (days since 1970-01-01) of a proleptic-Gregorian calendar date, the inverse
/// of [`UtcDateTime::from_epoch_millis`]'s date (Howard Hinnant's days-from-civil algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year_shifted = if month <= 2 { year - 1 } else { year };
    let era = year_shifted.div_euclid(400);
    let year_of_era = year_shifted.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Calendar date and time of an instant, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
    /// Millisecond, 0–999.
    pub millis: u32,
}

impl UtcDateTime {
    /// The calendar form of `millis` since the Unix epoch (proleptic Gregorian calendar).
    pub fn from_epoch_millis(millis: EpochMillis) -> Self {
        let seconds = millis / 1000;
        let days = (seconds / 86_400) as i64;
        let of_day = seconds % 86_400;
        // Howard Hinnant's days-to-civil algorithm.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
        let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        UtcDateTime {
            year,
            month,
            day,
            hour: (of_day / 3600) as u32,
            minute: (of_day % 3600 / 60) as u32,
            second: (of_day % 60) as u32,
            millis: (millis % 1000) as u32,
        }
    }

    /// `2026-11-25T11:38:48.123Z`.
    pub fn iso8601_millis(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `2026-11-25T11:38:48Z`, as IAM and STS write times.
    pub fn iso8601_seconds(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod date_tests {
    use super::UtcDateTime;

    #[test]
    fn known_instants() {
        assert_eq!(UtcDateTime::from_epoch_millis(0).iso8601_millis(), "1970-01-01T00:00:00.000Z");
        assert_eq!(UtcDateTime::from_epoch_millis(951_782_400_000).iso8601_millis(), "2000-02-29T00:00:00.000Z");
        assert_eq!(UtcDateTime::from_epoch_millis(1_795_606_728_123).iso8601_millis(), "2026-11-25T11:38:48.123Z");
    }
}
