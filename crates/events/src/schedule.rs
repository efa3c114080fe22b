//! Schedule expressions (`rate(...)`, `cron(...)`) and their next fire time, all in UTC.
//!
//! Grammar and semantics follow "Setting a schedule pattern for scheduled rules" in the
//! EventBridge user guide
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>);
//! where the guide is silent, the Quartz cron dialect it derives from.
//!
//! # Wire
//! ```text
//! rate(1 minute)   rate(N minutes)   rate(1 hour)   rate(N hours)   rate(1 day)   rate(N days)
//! cron(minutes hours day-of-month month day-of-week year)
//!   minutes      0-59                , - * /
//!   hours        0-23                , - * /
//!   day-of-month 1-31                , - * / ?   L   LW   nW
//!   month        1-12 or JAN-DEC     , - * /
//!   day-of-week  1-7 or SUN-SAT      , - * / ?   L   nL   n#k       (1 = Sunday)
//!   year         1970-2199           , - * /
//! ```
//! Exactly one of day-of-month and day-of-week is `?`. `a/s` steps from `a` to the field's
//! maximum, `a-b/s` from `a` to `b`; a range whose end is below its start wraps around (`FRI-MON`).

use crate::civil::{civil_from_days, days_from_civil, days_in_month, weekday, MILLIS_PER_DAY};
use std::str::FromStr;

/// The expression is not one AWS accepts; the message is AWS's `ValidationException` text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSchedule(pub String);

impl InvalidSchedule {
    fn new() -> Self {
        InvalidSchedule("Parameter ScheduleExpression is not valid.".to_owned())
    }
}

/// A parsed schedule expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `rate(...)`: every `every_minutes` minutes from the rule's creation (or enable) time.
    Rate {
        /// The period, in minutes (hours and days are converted).
        every_minutes: u64,
    },
    /// `cron(...)`: at the minutes the six fields select.
    Cron(Cron),
}

/// A parsed `cron(...)` expression: the set of UTC minutes it fires at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: ValueSet,
    hours: ValueSet,
    days: DaySelector,
    months: ValueSet,
    years: YearSet,
}

/// Which days of a month fire: exactly one of day-of-month and day-of-week is given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DaySelector {
    /// Day-of-week is `?`.
    OfMonth(DayOfMonth),
    /// Day-of-month is `?`.
    OfWeek(DayOfWeek),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfMonth {
    Days(ValueSet),
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Monday–Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest day `n`, without leaving the month.
    NearestWeekday(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfWeek {
    /// Weekdays, 1 = Sunday.
    Days(ValueSet),
    /// `nL`: the last such weekday of the month.
    Last(u32),
    /// `n#k`: the `k`th such weekday of the month.
    Nth { weekday: u32, nth: u32 },
}

/// A set of field values between `min` and `min + 64 * WORDS - 1`: one word for every field
/// but the year, which spans 230 values.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ValueSet<const WORDS: usize = 1> {
    min: u32,
    bits: [u64; WORDS],
}

type YearSet = ValueSet<4>;

impl<const WORDS: usize> ValueSet<WORDS> {
    fn new(min: u32) -> Self {
        ValueSet { min, bits: [0; WORDS] }
    }

    fn insert(&mut self, value: u32) {
        let index = (value - self.min) as usize;
        self.bits[index / 64] |= 1 << (index % 64);
    }

    fn contains(&self, value: i64) -> bool {
        let span = 64 * WORDS as i64;
        let Some(index) = value.checked_sub(i64::from(self.min)).filter(|index| (0..span).contains(index)) else {
            return false;
        };
        let index = index as usize;
        self.bits[index / 64] & (1 << (index % 64)) != 0
    }
}

const MONTH_NAMES: &[&str] = &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The last year AWS cron accepts; searches for fire times stop after it.
const LAST_YEAR: i64 = 2199;

const MILLIS_PER_MINUTE: u64 = 60_000;

/// One cron field's range and names.
struct FieldSpec {
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, …
    names: &'static [&'static str],
    /// Whether `b-a` with `b > a` wraps around (not for years, which do not cycle).
    wraps: bool,
}

const MINUTES: FieldSpec = FieldSpec { min: 0, max: 59, names: &[], wraps: true };
const HOURS: FieldSpec = FieldSpec { min: 0, max: 23, names: &[], wraps: true };
const DAYS_OF_MONTH: FieldSpec = FieldSpec { min: 1, max: 31, names: &[], wraps: true };
const MONTHS: FieldSpec = FieldSpec { min: 1, max: 12, names: MONTH_NAMES, wraps: true };
const DAYS_OF_WEEK: FieldSpec = FieldSpec { min: 1, max: 7, names: WEEKDAY_NAMES, wraps: true };
const YEARS: FieldSpec = FieldSpec { min: 1970, max: LAST_YEAR as u32, names: &[], wraps: false };

impl FieldSpec {
    fn value(&self, text: &str) -> Result<u32, InvalidSchedule> {
        if let Some(index) = self.names.iter().position(|name| name.eq_ignore_ascii_case(text)) {
            return Ok(self.min + index as u32);
        }
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(InvalidSchedule::new());
        }
        text.parse().ok().filter(|value| (self.min..=self.max).contains(value)).ok_or_else(InvalidSchedule::new)
    }

    /// Parses `*`, `a`, `a-b`, `a/s`, `*/s`, `a-b/s` and comma lists of them.
    fn parse<const WORDS: usize>(&self, text: &str) -> Result<ValueSet<WORDS>, InvalidSchedule> {
        let mut set = ValueSet::new(self.min);
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().map_err(|_| InvalidSchedule::new())?;
                    if step == 0 || step > self.max {
                        return Err(InvalidSchedule::new());
                    }
                    (range, Some(step))
                }
                None => (item, None),
            };
            let (start, end) = match range {
                "*" => (self.min, self.max),
                _ => match range.split_once('-') {
                    Some((start, end)) => (self.value(start)?, self.value(end)?),
                    // `a/s` runs from `a` to the maximum; a lone `a` is just `a`.
                    None if step.is_some() => (self.value(range)?, self.max),
                    None => (self.value(range)?, self.value(range)?),
                },
            };
            if end < start && !self.wraps {
                return Err(InvalidSchedule::new());
            }
            let span = if end >= start { end - start } else { self.max - start + 1 + end - self.min };
            let step = step.unwrap_or(1);
            let mut offset = 0;
            while offset <= span {
                let value = start + offset;
                set.insert(if value > self.max { value - self.max - 1 + self.min } else { value });
                offset += step;
            }
        }
        Ok(set)
    }
}

fn parse_day_of_month(text: &str) -> Result<DayOfMonth, InvalidSchedule> {
    match text {
        "L" => Ok(DayOfMonth::Last),
        "LW" => Ok(DayOfMonth::LastWeekday),
        _ => match text.strip_suffix('W') {
            Some(day) => Ok(DayOfMonth::NearestWeekday(DAYS_OF_MONTH.value(day)?)),
            None => Ok(DayOfMonth::Days(DAYS_OF_MONTH.parse(text)?)),
        },
    }
}

fn parse_day_of_week(text: &str) -> Result<DayOfWeek, InvalidSchedule> {
    if text == "L" {
        // Quartz: a lone `L` in day-of-week is the last day of the week, Saturday.
        let mut saturday = ValueSet::new(1);
        saturday.insert(7);
        return Ok(DayOfWeek::Days(saturday));
    }
    if let Some((weekday, nth)) = text.split_once('#') {
        let nth: u32 = nth.parse().map_err(|_| InvalidSchedule::new())?;
        if !(1..=5).contains(&nth) {
            return Err(InvalidSchedule::new());
        }
        return Ok(DayOfWeek::Nth { weekday: DAYS_OF_WEEK.value(weekday)?, nth });
    }
    match text.strip_suffix('L') {
        Some(weekday) => Ok(DayOfWeek::Last(DAYS_OF_WEEK.value(weekday)?)),
        None => Ok(DayOfWeek::Days(DAYS_OF_WEEK.parse(text)?)),
    }
}

impl FromStr for Schedule {
    type Err = InvalidSchedule;

    fn from_str(text: &str) -> Result<Schedule, InvalidSchedule> {
        if let Some(body) = text.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            // Exactly `value unit` with one space: `rate( 10 minutes )` is refused, as by AWS.
            let Some((value, unit)) = body.split_once(' ') else {
                return Err(InvalidSchedule::new());
            };
            if unit.contains(char::is_whitespace) {
                return Err(InvalidSchedule::new());
            }
            if !value.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(InvalidSchedule::new());
            }
            let value: u64 = value.parse().map_err(|_| InvalidSchedule::new())?;
            let minutes_per_unit = match (unit, value) {
                (_, 0) => return Err(InvalidSchedule::new()),
                ("minute", 1) | ("minutes", 2..) => 1,
                ("hour", 1) | ("hours", 2..) => 60,
                ("day", 1) | ("days", 2..) => 1440,
                _ => return Err(InvalidSchedule::new()),
            };
            let every_minutes = value.checked_mul(minutes_per_unit).ok_or_else(InvalidSchedule::new)?;
            return Ok(Schedule::Rate { every_minutes });
        }
        if let Some(body) = text.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            return Ok(Schedule::Cron(body.parse()?));
        }
        Err(InvalidSchedule::new())
    }
}

impl FromStr for Cron {
    type Err = InvalidSchedule;

    /// Parses the six fields inside `cron(...)`.
    fn from_str(fields: &str) -> Result<Cron, InvalidSchedule> {
        let [minutes, hours, day_of_month, month, day_of_week, year] =
            fields.split_whitespace().collect::<Vec<_>>()[..]
        else {
            return Err(InvalidSchedule::new());
        };
        let days = match (day_of_month, day_of_week) {
            ("?", "?") => return Err(InvalidSchedule::new()),
            (day_of_month, "?") => DaySelector::OfMonth(parse_day_of_month(day_of_month)?),
            ("?", day_of_week) => DaySelector::OfWeek(parse_day_of_week(day_of_week)?),
            _ => return Err(InvalidSchedule::new()),
        };
        Ok(Cron {
            minutes: MINUTES.parse(minutes)?,
            hours: HOURS.parse(hours)?,
            days,
            months: MONTHS.parse(month)?,
            years: YEARS.parse(year)?,
        })
    }
}

impl DaySelector {
    /// Whether day `day_number` (`day` of `month` of `year`) fires.
    fn matches(&self, day_number: i64, year: i64, month: u32, day: u32) -> bool {
        let month_len = days_in_month(year, month);
        let weekday_of = |other_day: u32| weekday(day_number - i64::from(day) + i64::from(other_day));
        match self {
            DaySelector::OfMonth(DayOfMonth::Days(days)) => days.contains(i64::from(day)),
            DaySelector::OfMonth(DayOfMonth::Last) => day == month_len,
            DaySelector::OfMonth(DayOfMonth::LastWeekday) => {
                let last_weekday = match weekday_of(month_len) {
                    7 => month_len - 1,
                    1 => month_len - 2,
                    _ => month_len,
                };
                day == last_weekday
            }
            DaySelector::OfMonth(DayOfMonth::NearestWeekday(target)) => {
                if *target > month_len {
                    return false;
                }
                let nearest = match weekday_of(*target) {
                    7 if *target == 1 => 3,
                    7 => target - 1,
                    1 if *target == month_len => target - 2,
                    1 => target + 1,
                    _ => *target,
                };
                day == nearest
            }
            DaySelector::OfWeek(DayOfWeek::Days(weekdays)) => weekdays.contains(i64::from(weekday(day_number))),
            DaySelector::OfWeek(DayOfWeek::Last(wanted)) => weekday(day_number) == *wanted && day + 7 > month_len,
            DaySelector::OfWeek(DayOfWeek::Nth { weekday: wanted, nth }) => {
                weekday(day_number) == *wanted && (day - 1) / 7 + 1 == *nth
            }
        }
    }
}

impl Cron {
    /// The first firing minute of day `day_number` at or after `from_minute` (minute of day).
    fn first_minute(&self, from_minute: u32) -> Option<u32> {
        (from_minute / 60..24).filter(|hour| self.hours.contains(i64::from(*hour))).find_map(|hour| {
            let first = if hour == from_minute / 60 { from_minute % 60 } else { 0 };
            (first..60).find(|minute| self.minutes.contains(i64::from(*minute))).map(|minute| hour * 60 + minute)
        })
    }

    /// The first fire time strictly after `after_ms`, or `None` past the year 2199.
    pub(crate) fn next_after(&self, after_ms: u64) -> Option<u64> {
        let start = after_ms / MILLIS_PER_MINUTE + 1;
        let mut day_number = start / 1440;
        let mut from_minute = (start % 1440) as u32;
        loop {
            let (year, month, day) = civil_from_days(day_number);
            if year > LAST_YEAR {
                return None;
            }
            // Skip whole years and months that cannot fire.
            let next_day = if !self.years.contains(year) {
                days_from_civil(year + 1, 1, 1)
            } else if !self.months.contains(i64::from(month)) {
                if month == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, month + 1, 1)
                }
            } else {
                if self.days.matches(day_number as i64, year, month, day) {
                    if let Some(minute) = self.first_minute(from_minute) {
                        return Some(day_number * MILLIS_PER_DAY + u64::from(minute) * MILLIS_PER_MINUTE);
                    }
                }
                day_number as i64 + 1
            };
            day_number = u64::try_from(next_day).ok()?;
            from_minute = 0;
        }
    }
}

impl Schedule {
    /// The first fire time strictly after `after_ms` (epoch millis, UTC). For rate schedules,
    /// fires are `anchor_ms + k * period` (k ≥ 1) where anchor_ms is the rule's creation/enable time.
    pub fn next_after(&self, after_ms: u64, anchor_ms: u64) -> Option<u64> {
        match self {
            Schedule::Rate { every_minutes } => {
                let period = every_minutes.checked_mul(MILLIS_PER_MINUTE)?;
                let periods_elapsed = after_ms.saturating_sub(anchor_ms) / period;
                let k = if after_ms < anchor_ms { 1 } else { periods_elapsed + 1 };
                anchor_ms.checked_add(k.checked_mul(period)?)
            }
            Schedule::Cron(cron) => cron.next_after(after_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::days_from_civil;
    use proptest::prelude::*;
    use wharf_types::UtcDateTime;

    /// Epoch millis of a UTC date and time.
    fn at(year: i64, month: u32, day: u32, hour: u64, minute: u64) -> u64 {
        days_from_civil(year, month, day) as u64 * MILLIS_PER_DAY + (hour * 60 + minute) * MILLIS_PER_MINUTE
    }

    fn show(millis: Option<u64>) -> String {
        millis.map_or_else(|| "none".to_owned(), |millis| UtcDateTime::from_epoch_millis(millis).iso8601_millis())
    }

    #[test]
    fn parsing() {
        let valid: &[(&str, Option<u64>)] = &[
            ("rate(1 minute)", Some(1)),
            ("rate(10 minutes)", Some(10)),
            ("rate(5 minutes)", Some(5)),
            ("rate(1 hour)", Some(60)),
            ("rate(12 hours)", Some(720)),
            ("rate(1 day)", Some(1440)),
            ("rate(7 days)", Some(10_080)),
            ("cron(0 12 * * ? *)", None),
            ("cron(5,35 14 * * ? *)", None),
            ("cron(15 10 ? * 6L 2019-2022)", None),
            ("cron(0/15 * * * ? *)", None),
            ("cron(*/5 * * * ? *)", None),
            ("cron(10-40/5 8-17 ? * MON-FRI *)", None),
            ("cron(0 8 1W * ? *)", None),
            ("cron(0 8 LW * ? *)", None),
            ("cron(0 9 ? * 2#1 *)", None),
            ("cron(0 0 L * ? *)", None),
            ("cron(0 18 ? * L *)", None),
            ("cron(0 0 1 JAN,jul ? 2030/5)", None),
            ("cron(0 22-2 ? * FRI-MON *)", None),
            ("cron(59 23 31 12 ? 2199)", None),
        ];
        for (text, every_minutes) in valid {
            let parsed: Schedule = text.parse().unwrap_or_else(|error| panic!("{text}: {error}"));
            if let Some(every_minutes) = every_minutes {
                assert_eq!(parsed, Schedule::Rate { every_minutes: *every_minutes }, "{text}");
            } else {
                assert!(matches!(parsed, Schedule::Cron(_)), "{text}");
            }
        }
        let invalid = [
            "rate(1 minutes)",
            "rate( 10 minutes )",
            "rate(10  minutes)",
            "rate(10 minutes )",
            "rate(5 minute)",
            "rate(1 hours)",
            "rate(2 day)",
            "rate(0 minutes)",
            "rate(-5 minutes)",
            "rate(1.5 hours)",
            "rate(5 weeks)",
            "rate(5)",
            "rate(5 minutes",
            "Rate(5 minutes)",
            "",
            "every 5 minutes",
            "cron(0 12 * * *)",
            "cron(0 12 * * ? * *)",
            "cron(0 12 * * * *)",
            "cron(0 12 ? * ? *)",
            "cron(0 12 1 * 2 *)",
            "cron(60 12 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 12 32 * ? *)",
            "cron(0 12 0 * ? *)",
            "cron(0 12 * 13 ? *)",
            "cron(0 12 ? * 8 *)",
            "cron(0 12 ? * 0 *)",
            "cron(0 12 * * ? 1969)",
            "cron(0 12 * * ? 2200)",
            "cron(0 12 * * ? 2022-2019)",
            "cron(0/0 * * * ? *)",
            "cron(0/ * * * ? *)",
            "cron(0/60 * * * ? *)",
            "cron(a * * * ? *)",
            "cron(0 12 * FOO ? *)",
            "cron(0 9 ? * 2#6 *)",
            "cron(0 9 ? * 2#1,3#1 *)",
            "cron(0 9 ? * 8L *)",
            "cron(0 8 32W * ? *)",
            "cron(0 8 1,L * ? *)",
            "cron(, * * * ? *)",
            "cron(0 12 W * ? *)",
        ];
        for text in invalid {
            match text.parse::<Schedule>() {
                Ok(parsed) => panic!("{text} parsed as {parsed:?}"),
                Err(error) => assert_eq!(error.to_string(), "Parameter ScheduleExpression is not valid.", "{text}"),
            }
        }
    }

    #[test]
    fn next_fire_times() {
        // (expression, after, expected fire times in order)
        let cases: &[(&str, u64, &[&str])] = &[
            ("cron(0 12 * * ? *)", at(2024, 3, 10, 11, 0), &["2024-03-10T12:00", "2024-03-11T12:00"]),
            ("cron(0 12 * * ? *)", at(2024, 3, 10, 12, 0), &["2024-03-11T12:00"]),
            ("cron(0 12 * * ? *)", at(2024, 3, 10, 12, 0) - 1, &["2024-03-10T12:00"]),
            ("cron(0/15 * * * ? *)", at(2024, 3, 10, 11, 50) + 30_000, &["2024-03-10T12:00", "2024-03-10T12:15"]),
            ("cron(*/5 * * * ? *)", at(2024, 12, 31, 23, 58), &["2025-01-01T00:00", "2025-01-01T00:05"]),
            ("cron(10-40/15 9 * * ? *)", at(2024, 1, 1, 9, 30), &["2024-01-01T09:40", "2024-01-02T09:10"]),
            ("cron(5,35 14 * * ? *)", at(2024, 1, 1, 14, 5), &["2024-01-01T14:35", "2024-01-02T14:05"]),
            // Last Friday of each month, 2019–2022 only.
            (
                "cron(15 10 ? * 6L 2019-2022)",
                at(2022, 10, 1, 0, 0),
                &["2022-10-28T10:15", "2022-11-25T10:15", "2022-12-30T10:15", "none"],
            ),
            ("cron(15 10 ? * 6L 2019-2022)", at(2017, 6, 1, 0, 0), &["2019-01-25T10:15"]),
            // Weekday nearest the 1st: 2022-01-01 is a Saturday, 2022-05-01 a Sunday.
            ("cron(0 8 1W * ? *)", at(2021, 12, 15, 0, 0), &["2022-01-03T08:00", "2022-02-01T08:00"]),
            ("cron(0 8 1W * ? 2022)", at(2022, 4, 2, 0, 0), &["2022-05-02T08:00"]),
            // Weekday nearest the 31st, a Sunday in July 2022: the Friday before.
            ("cron(0 8 31W 7 ? *)", at(2022, 1, 1, 0, 0), &["2022-07-29T08:00", "2023-07-31T08:00"]),
            // Weekday nearest the 15th, a Saturday in October 2022.
            ("cron(0 8 15W * ? *)", at(2022, 10, 1, 0, 0), &["2022-10-14T08:00", "2022-11-15T08:00"]),
            // Last weekday: 2022-07-31 is a Sunday, 2022-04-30 a Saturday.
            ("cron(0 8 LW * ? *)", at(2022, 7, 1, 0, 0), &["2022-07-29T08:00", "2022-08-31T08:00"]),
            ("cron(0 8 LW 4 ? 2022)", at(2022, 1, 1, 0, 0), &["2022-04-29T08:00", "none"]),
            // First Monday.
            ("cron(0 9 ? * 2#1 *)", at(2024, 1, 1, 9, 0), &["2024-02-05T09:00", "2024-03-04T09:00"]),
            // Fifth Friday: only some months have one.
            ("cron(0 9 ? * FRI#5 *)", at(2024, 1, 1, 0, 0), &["2024-03-29T09:00", "2024-05-31T09:00"]),
            // Last day of the month, across a leap and a common February.
            ("cron(0 0 L * ? *)", at(2024, 2, 1, 0, 0), &["2024-02-29T00:00", "2024-03-31T00:00", "2024-04-30T00:00"]),
            ("cron(0 0 L 2 ? *)", at(2024, 3, 1, 0, 0), &["2025-02-28T00:00"]),
            ("cron(0 0 L 2 ? *)", at(2099, 3, 1, 0, 0), &["2100-02-28T00:00", "2101-02-28T00:00"]),
            // 29 February only fires in leap years; 1900-style century rule in 2100.
            ("cron(0 0 29 2 ? *)", at(2024, 3, 1, 0, 0), &["2028-02-29T00:00"]),
            ("cron(0 0 29 2 ? *)", at(2096, 3, 1, 0, 0), &["2104-02-29T00:00"]),
            // 31st only in long months.
            (
                "cron(30 6 31 * ? *)",
                at(2024, 4, 1, 0, 0),
                &["2024-05-31T06:30", "2024-07-31T06:30", "2024-08-31T06:30"],
            ),
            // Weekday ranges and names; Saturday via a lone L.
            ("cron(0 9 ? * MON-FRI *)", at(2024, 3, 8, 9, 0), &["2024-03-11T09:00"]),
            ("cron(0 18 ? * L *)", at(2024, 3, 8, 0, 0), &["2024-03-09T18:00", "2024-03-16T18:00"]),
            (
                "cron(0 23-1 ? * SAT-SUN *)",
                at(2024, 3, 8, 0, 0),
                &["2024-03-09T00:00", "2024-03-09T01:00", "2024-03-09T23:00"],
            ),
            // Year ranges, steps, and the end of the calendar.
            ("cron(0 0 1 1 ? 2030/5)", at(2024, 1, 1, 0, 0), &["2030-01-01T00:00", "2035-01-01T00:00"]),
            ("cron(59 23 31 12 ? 2199)", at(2150, 1, 1, 0, 0), &["2199-12-31T23:59", "none"]),
            ("cron(0 12 * * ? *)", at(2199, 12, 31, 12, 0), &["none"]),
            ("cron(0 12 * * ? 2020)", at(2024, 1, 1, 0, 0), &["none"]),
            // A day that never exists: the search ends at 2199 instead of looping.
            ("cron(0 0 30 2 ? *)", 0, &["none"]),
            ("cron(0 0 1 JAN,JUL ? *)", at(2024, 1, 1, 0, 0), &["2024-07-01T00:00", "2025-01-01T00:00"]),
        ];
        for (expression, after, expected) in cases {
            let schedule: Schedule = expression.parse().unwrap_or_else(|error| panic!("{expression}: {error}"));
            let mut after = Some(*after);
            for expected in *expected {
                let next = after.and_then(|after| schedule.next_after(after, 0));
                let shown = show(next);
                let shown = if next.is_some() { &shown[..16] } else { shown.as_str() };
                assert_eq!(shown, *expected, "{expression}");
                after = next;
            }
        }
    }

    #[test]
    fn rate_fire_times() {
        let anchor = at(2024, 3, 10, 11, 7) + 12_345;
        let five_minutes = 5 * MILLIS_PER_MINUTE;
        // (expression, after, expected)
        let cases: &[(&str, u64, u64)] = &[
            ("rate(5 minutes)", anchor, anchor + five_minutes),
            ("rate(5 minutes)", anchor - 1_000_000, anchor + five_minutes),
            ("rate(5 minutes)", anchor + five_minutes - 1, anchor + five_minutes),
            ("rate(5 minutes)", anchor + five_minutes, anchor + 2 * five_minutes),
            ("rate(5 minutes)", anchor + 7 * five_minutes + 3, anchor + 8 * five_minutes),
            ("rate(1 hour)", anchor + 1, anchor + 3_600_000),
            ("rate(2 days)", anchor + 3 * MILLIS_PER_DAY, anchor + 4 * MILLIS_PER_DAY),
        ];
        for (expression, after, expected) in cases {
            let schedule: Schedule = expression.parse().unwrap_or_else(|error| panic!("{expression}: {error}"));
            assert_eq!(schedule.next_after(*after, anchor), Some(*expected), "{expression} after {after}");
        }
        let huge = Schedule::Rate { every_minutes: u64::MAX / 2 };
        assert_eq!(huge.next_after(0, 0), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = text.parse::<Schedule>();
        }

        #[test]
        fn cron_fields_never_panic(fields in proptest::collection::vec("[0-9A-Za-z*?/,#LW-]{1,6}", 6), after in 0u64..8_000_000_000_000) {
            let text = format!("cron({})", fields.join(" "));
            if let Ok(schedule) = text.parse::<Schedule>() {
                if let Some(next) = schedule.next_after(after, 0) {
                    prop_assert!(next > after);
                    prop_assert_eq!(next % MILLIS_PER_MINUTE, 0);
                }
            }
        }
    }
}
