//! Timestamps without a clock: BigCommerce v2 dates are RFC 2822 strings, always UTC
//! (`Tue, 20 Nov 2012 00:00:00 +0000`, bigcommerce-api.md §3 [doc]); v3 and Brightpearl use
//! ISO 8601. [`Timestamp`] is seconds since the Unix epoch (UTC).

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// A date string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {format} date: {value:?}")]
pub struct DateError {
    pub format: &'static str,
    pub value: String,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn offset_seconds(s: &str) -> Option<i64> {
    match s {
        "Z" | "z" | "UT" | "GMT" | "UTC" => return Some(0),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

impl Timestamp {
    /// From a calendar date and time in UTC.
    pub fn from_utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Timestamp {
        Timestamp(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
    }

    /// Parse RFC 2822, e.g. `Tue, 20 Nov 2012 00:00:00 +0000` (the weekday is optional).
    pub fn parse_rfc2822(value: &str) -> Result<Timestamp, DateError> {
        let err = || DateError {
            format: "RFC 2822",
            value: value.into(),
        };
        let s = value.trim();
        let s = match s.find(',') {
            Some(i) => s[i + 1..].trim(),
            None => s,
        };
        let parts: Vec<&str> = s.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(err());
        }
        let d: i64 = parts[0].parse().map_err(|_| err())?;
        let mo = MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(parts[1]))
            .ok_or_else(err)? as i64
            + 1;
        let y: i64 = parts[2].parse().map_err(|_| err())?;
        let hms: Vec<&str> = parts[3].split(':').collect();
        if hms.len() < 2 || hms.len() > 3 {
            return Err(err());
        }
        let h: i64 = hms[0].parse().map_err(|_| err())?;
        let mi: i64 = hms[1].parse().map_err(|_| err())?;
        let sec: i64 = if hms.len() == 3 {
            hms[2].parse().map_err(|_| err())?
        } else {
            0
        };
        let off = offset_seconds(parts[4]).ok_or_else(err)?;
        if !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return Err(err());
        }
        Ok(Timestamp(Timestamp::from_utc(y, mo, d, h, mi, sec).0 - off))
    }

    /// Parse ISO 8601 / RFC 3339, e.g. `2024-05-01T10:16:00Z`, `2024-05-01T10:16:00+00:00`,
    /// `2020-03-31T15:02:44.000-06:00` (fractions are dropped).
    pub fn parse_iso8601(value: &str) -> Result<Timestamp, DateError> {
        let err = || DateError {
            format: "ISO 8601",
            value: value.into(),
        };
        let s = value.trim();
        if s.len() < 19 {
            return Err(err());
        }
        let num = |a: usize, b: usize| -> Result<i64, DateError> {
            s.get(a..b).ok_or_else(err)?.parse().map_err(|_| err())
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if &s[4..5] != "-" || &s[7..8] != "-" || !matches!(&s[10..11], "T" | "t" | " ") {
            return Err(err());
        }
        let mut rest = &s[19..];
        if rest.starts_with('.') {
            let n = rest[1..].chars().take_while(|c| c.is_ascii_digit()).count();
            rest = &rest[1 + n..];
        }
        let off = if rest.is_empty() {
            0
        } else {
            offset_seconds(rest).ok_or_else(err)?
        };
        Ok(Timestamp(Timestamp::from_utc(y, mo, d, h, mi, sec).0 - off))
    }

    /// Format as ISO 8601 UTC: `2024-05-01T10:16:00Z`.
    pub fn to_iso8601(self) -> String {
        let days = self.0.div_euclid(86400);
        let secs = self.0.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            y,
            m,
            d,
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }

    /// Format as RFC 2822 UTC: `Wed, 01 May 2024 10:16:00 +0000`.
    pub fn to_rfc2822(self) -> String {
        let days = self.0.div_euclid(86400);
        let secs = self.0.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        let wd = DAYS[days.rem_euclid(7) as usize];
        format!(
            "{wd}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
            d,
            MONTHS[(m - 1) as usize],
            y,
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }

    /// This timestamp plus `seconds` (negative to go back).
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0 + seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2822_round_trips_through_iso() {
        let t = Timestamp::parse_rfc2822("Tue, 20 Nov 2012 00:00:00 +0000").unwrap();
        assert_eq!(t.to_iso8601(), "2012-11-20T00:00:00Z");
        assert_eq!(t.to_rfc2822(), "Tue, 20 Nov 2012 00:00:00 +0000");
        let t = Timestamp::parse_rfc2822("Thu, 20 Apr 2017 11:32:00 -0400").unwrap();
        assert_eq!(t.to_iso8601(), "2017-04-20T15:32:00Z");
        assert!(Timestamp::parse_rfc2822("2017-04-20").is_err());
    }

    #[test]
    fn iso8601_with_offsets_and_fractions() {
        assert_eq!(
            Timestamp::parse_iso8601("2024-05-01T10:16:00Z")
                .unwrap()
                .to_iso8601(),
            "2024-05-01T10:16:00Z"
        );
        assert_eq!(
            Timestamp::parse_iso8601("2020-03-31T15:02:44.000-06:00")
                .unwrap()
                .to_iso8601(),
            "2020-03-31T21:02:44Z"
        );
        assert_eq!(
            Timestamp::parse_iso8601("2024-02-28T23:00:00+00:00")
                .unwrap()
                .plus_seconds(7 * 86400)
                .to_iso8601(),
            "2024-03-06T23:00:00Z"
        );
        assert_eq!(Timestamp(0).to_rfc2822(), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn brightpearl_dates_in_the_accounts_offset_are_the_same_instant() {
        // The account's own offset (-06:00, +01:00 [obs]) or Z: one UTC instant.
        let forms = [
            "2024-05-01T04:15:00.000-06:00",
            "2024-05-01T11:15:00.000+01:00",
            "2024-05-01T10:15:00.000+00:00",
            "2024-05-01T10:15:00.000Z",
            "2024-05-01T10:15:00Z",
            "2024-05-01T05:45:00-04:30",
        ];
        for f in forms {
            assert_eq!(
                Timestamp::parse_iso8601(f).map(Timestamp::to_iso8601),
                Ok("2024-05-01T10:15:00Z".to_string()),
                "{f}"
            );
        }
        // Crossing midnight backwards into the previous day and month.
        assert_eq!(
            Timestamp::parse_iso8601("2024-03-01T00:30:00.000+01:00")
                .unwrap()
                .to_iso8601(),
            "2024-02-29T23:30:00Z"
        );
        assert!(Timestamp::parse_iso8601("2024-05-01T10:15:00.000+0x:00").is_err());
    }
}
