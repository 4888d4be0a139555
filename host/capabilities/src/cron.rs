//! Cron schedules for `[flows.<name>] schedule`: the classic five fields, in UTC.
//!
//! `minute hour day-of-month month day-of-week`, each `*`, a number, a range `a-b`, a step
//! `*/n` or `a-b/n`, or a comma list of those. Minutes 0–59, hours 0–23, days 1–31, months
//! 1–12, weekdays 0–6 (0 = Sunday; 7 is Sunday too). As in cron, when both day fields are
//! restricted a day matches either. No names (`MON`, `JAN`), no `@hourly` shorthands, no
//! seconds field.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};

/// A parsed five-field cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_any: bool,
    weekdays_any: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Bits `lo..=hi` of one field; `Err` names the field and what is wrong.
fn field(text: &str, name: &str, lo: u32, hi: u32) -> Result<(u64, bool), String> {
    let bad = |why: &str| format!("cron {name} field {text:?}: {why} ({name} is {lo}-{hi})");
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s.parse().map_err(|_| bad("the step is not a number"))?;
                if s == 0 {
                    return Err(bad("the step must be at least 1"));
                }
                (r, s)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let a: u32 = a.parse().map_err(|_| bad("not a number"))?;
            let b: u32 = b.parse().map_err(|_| bad("not a number"))?;
            (a, b)
        } else {
            let a: u32 = range.parse().map_err(|_| bad("not a number"))?;
            // `5/15` means from 5 to the end, every 15.
            (a, if step > 1 { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(bad("out of range"));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, text == "*"))
}

impl Cron {
    /// Parse five whitespace-separated fields; `Err` says which field is wrong and why.
    pub fn parse(s: &str) -> Result<Cron, String> {
        let f: Vec<&str> = s.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "{s:?} is not a cron schedule: expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                f.len()
            ));
        }
        let (minutes, _) = field(f[0], "minute", 0, 59)?;
        let (hours, _) = field(f[1], "hour", 0, 23)?;
        let (days, days_any) = field(f[2], "day-of-month", 1, 31)?;
        let (months, _) = field(f[3], "month", 1, 12)?;
        let (mut weekdays, weekdays_any) = field(f[4], "day-of-week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            text: f.join(" "),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: (weekdays & 0x7f) as u8,
            days_any,
            weekdays_any,
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days & (1 << t.day()) != 0;
        let dow = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// The first matching minute strictly after `t` (UTC, seconds zero); `None` when none
    /// comes within five years (e.g. `0 0 31 2 *`).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut c = t.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let end = t + Duration::days(5 * 366);
        while c <= end {
            if self.months & (1 << c.month()) == 0 {
                // First minute of the next month.
                let (y, m) = if c.month() == 12 {
                    (c.year() + 1, 1)
                } else {
                    (c.year(), c.month() + 1)
                };
                c = c.with_day(1)?.with_hour(0)?.with_minute(0)?;
                c = c.with_month(m)?.with_year(y)?;
                continue;
            }
            if !self.day_matches(&c) {
                c = c.with_hour(0)?.with_minute(0)? + Duration::days(1);
                continue;
            }
            if self.hours & (1 << c.hour()) == 0 {
                c = c.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if self.minutes & (1 << c.minute()) == 0 {
                c += Duration::minutes(1);
                continue;
            }
            return Some(c);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn next_times() {
        let every15 = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every15.next_after(t("2026-12-03T12:07:30Z")),
            Some(t("2026-12-03T12:15:00Z"))
        );
        assert_eq!(
            every15.next_after(t("2026-12-03T12:15:00Z")),
            Some(t("2026-12-03T12:30:00Z"))
        );
        let nightly = Cron::parse("30 2 * * *").unwrap();
        assert_eq!(
            nightly.next_after(t("2026-12-03T12:00:00Z")),
            Some(t("2026-12-04T02:30:00Z"))
        );
        // Weekdays at 09:00; 2026-12-05 is a Saturday.
        let weekdays = Cron::parse("0 9 * * 1-5").unwrap();
        assert_eq!(
            weekdays.next_after(t("2026-12-04T10:00:00Z")),
            Some(t("2026-12-07T09:00:00Z"))
        );
        // New Year, across the year end; Sunday as 7.
        let ny = Cron::parse("0 0 1 1 *").unwrap();
        assert_eq!(
            ny.next_after(t("2026-12-03T00:00:00Z")),
            Some(t("2027-01-01T00:00:00Z"))
        );
        let sun = Cron::parse("0 12 * * 7").unwrap();
        assert_eq!(
            sun.next_after(t("2026-12-03T00:00:00Z")),
            Some(t("2026-12-06T12:00:00Z"))
        );
        // Both day fields restricted: either matches (the 1st, or a Monday).
        let either = Cron::parse("0 0 1 * 1").unwrap();
        assert_eq!(
            either.next_after(t("2026-12-02T00:00:00Z")),
            Some(t("2026-12-07T00:00:00Z"))
        );
        assert_eq!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(t("2026-01-01T00:00:00Z")),
            None
        );
        assert_eq!(
            Cron::parse("5/20 * * * *")
                .unwrap()
                .next_after(t("2026-12-03T12:26:00Z")),
            Some(t("2026-12-03T12:45:00Z"))
        );
    }

    #[test]
    fn bad_expressions_say_which_field() {
        for (s, want) in [
            ("* * * *", "expected 5 fields"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day-of-week field"),
            ("*/0 * * * *", "step must be at least 1"),
            ("5-1 * * * *", "out of range"),
            ("MON * * * *", "not a number"),
        ] {
            let e = Cron::parse(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
