//! `time_point_sec`: seconds since the Unix epoch as a uint32, written `YYYY-MM-DDTHH:MM:SS`.
//!
//! The node writes UTC without a zone suffix. On input we also accept a trailing `Z` and
//! fractional seconds (dropped), which fc's ISO parser tolerates too.

use crate::error::{Error, Result};
use crate::pack::{Pack, Reader, Unpack};
use std::fmt;
use std::str::FromStr;

/// A point in time with one-second resolution, as the chain stores it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimePointSec(pub u32);

impl TimePointSec {
    /// `2106-02-07T06:28:15`: the largest value; lifetime membership expires here.
    pub const MAX: TimePointSec = TimePointSec(u32::MAX);

    /// Seconds since the Unix epoch.
    pub const fn secs(self) -> u32 {
        self.0
    }

    /// This time plus `secs` seconds, or `None` past [`TimePointSec::MAX`].
    pub fn checked_add(self, secs: u32) -> Option<Self> {
        self.0.checked_add(secs).map(Self)
    }

    /// The current wall-clock time (for callers that have no injected clock).
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Self(u32::try_from(secs).unwrap_or(u32::MAX))
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = i64::from(self.0);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
    }
}

impl fmt::Debug for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl FromStr for TimePointSec {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self> {
        let bad = || Error::InvalidTime(input.to_owned());
        let s = input.strip_suffix('Z').unwrap_or(input);
        let s = match s.split_once('.') {
            Some((head, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => head,
            Some(_) => return Err(bad()),
            None => s,
        };
        let b = s.as_bytes();
        if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<u32> {
            let part = &s[range];
            if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().map_err(|_| bad()) } else { Err(bad()) }
        };
        let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
        let y = i64::from(y);
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + se);
        u32::try_from(secs).map(Self).map_err(|_| bad())
    }
}

crate::serde_via_str!(TimePointSec);

impl Pack for TimePointSec {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for TimePointSec {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self(u32::unpack(r)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_times() {
        assert_eq!(TimePointSec(1_459_931_367).to_string(), "2016-04-06T08:29:27");
        assert_eq!(TimePointSec::MAX.to_string(), "2106-02-07T06:28:15");
        assert_eq!(TimePointSec(0).to_string(), "1970-01-01T00:00:00");
        assert_eq!("2016-04-06T08:29:27".parse::<TimePointSec>().unwrap(), TimePointSec(1_459_931_367));
        assert_eq!("2016-04-06T08:29:27Z".parse::<TimePointSec>().unwrap(), TimePointSec(1_459_931_367));
        assert_eq!("2016-04-06T08:29:27.500".parse::<TimePointSec>().unwrap(), TimePointSec(1_459_931_367));
    }

    #[test]
    fn invalid_times_are_rejected() {
        for bad in [
            "",
            "2016-04-06",
            "2016-02-30T00:00:00",
            "2106-02-07T06:28:16",
            "1969-12-31T23:59:59",
            "2016-04-06 08:29:27",
            "2016-04-06T24:00:00",
            "+016-04-06T08:29:27",
        ] {
            assert!(bad.parse::<TimePointSec>().is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(secs in any::<u32>()) {
            let t = TimePointSec(secs);
            prop_assert_eq!(t.to_string().parse::<TimePointSec>().unwrap(), t);
        }
    }
}
