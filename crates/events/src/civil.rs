//! Proleptic-Gregorian calendar arithmetic on day numbers (days since 1970-01-01, UTC).

use wharf_types::UtcDateTime;

/// Milliseconds in a day.
pub(crate) const MILLIS_PER_DAY: u64 = 86_400_000;

/// Whether `year` has a 29 February.
pub(crate) fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1–12) of `year`.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) use wharf_types::days_from_civil;

/// The calendar date of a non-negative day number: `(year, month, day)`.
pub(crate) fn civil_from_days(day_number: u64) -> (i64, u32, u32) {
    let date = UtcDateTime::from_epoch_millis(day_number * MILLIS_PER_DAY);
    (date.year, date.month, date.day)
}

/// The day of the week of a day number, numbered as AWS cron numbers it: 1 = Sunday … 7 = Saturday.
pub(crate) fn weekday(day_number: i64) -> u32 {
    // 1970-01-01 was a Thursday, which is 5 in AWS's numbering.
    ((day_number + 4).rem_euclid(7) + 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_weekdays() {
        let cases: &[(i64, u32, u32, i64, u32)] = &[
            // (year, month, day, day number, weekday 1=Sun)
            (1970, 1, 1, 0, 5),
            (2000, 2, 29, 11_016, 3),
            (2024, 12, 31, 20_088, 3),
            (2199, 12, 31, 84_005, 3),
        ];
        for &(year, month, day, day_number, expected_weekday) in cases {
            assert_eq!(days_from_civil(year, month, day), day_number, "{year}-{month}-{day}");
            assert_eq!(civil_from_days(day_number as u64), (year, month, day));
            assert_eq!(weekday(day_number), expected_weekday, "{year}-{month}-{day}");
        }
        let cases: &[(i64, u32, u32)] = &[(2023, 2, 28), (2024, 2, 29), (1900, 2, 28), (2000, 2, 29), (2024, 4, 30)];
        for &(year, month, expected) in cases {
            assert_eq!(days_in_month(year, month), expected, "{year}-{month}");
        }
    }
}
