//! Wall-clock time in a room's zone: times of day, weekdays, and the one rule that turns a
//! local date and time into an instant across DST gaps and overlaps.

use super::*;

/// A wall-clock time of day, `00:00` to `24:00` (midnight at the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(u16);

impl LocalTime {
    pub const MIDNIGHT_END: LocalTime = LocalTime(24 * 60);

    /// `"HH:MM"` on a 24-hour clock.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::BadUserInput(format!(
                "{s:?} is not a local time; write \"HH:MM\" on a 24-hour clock, 00:00 to 24:00"
            ))
        };
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(LocalTime(h * 60 + m))
    }

    pub fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes <= 24 * 60).then_some(LocalTime(minutes))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Monday => "MONDAY",
            Weekday::Tuesday => "TUESDAY",
            Weekday::Wednesday => "WEDNESDAY",
            Weekday::Thursday => "THURSDAY",
            Weekday::Friday => "FRIDAY",
            Weekday::Saturday => "SATURDAY",
            Weekday::Sunday => "SUNDAY",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Days after Monday: 0 for Monday, 6 for Sunday.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The RFC 5545 spelling (`BYDAY`): `MO` ... `SU`.
    pub fn rfc5545(self) -> &'static str {
        &self.as_str()[..2]
    }

    pub fn of(date: NaiveDate) -> Self {
        match date.weekday() {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

/// The instant at which the local wall clock of `tz` on `date` first reads `at` or later: an
/// ambiguous time (fall-back) is its earlier instant; a time that does not exist (spring-forward
/// gap) is the end of the gap. `24:00` is the next day's midnight.
pub fn local_instant(tz: Tz, date: NaiveDate, at: LocalTime) -> Option<DateTime<Utc>> {
    let (date, minutes) = if at == LocalTime::MIDNIGHT_END {
        (date.succ_opt()?, 0u32)
    } else {
        (date, u32::from(at.minutes()))
    };
    earliest_at_or_after(
        tz,
        date.and_time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?),
    )
}

/// `local` in `tz`: its earlier instant if ambiguous (fall-back), `None` if it does not exist
/// (spring-forward gap). The one home of DST resolution; the rules that need a gap resolved
/// differently build on it.
pub fn resolve_local(tz: Tz, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// `local` in `tz`, or, inside a gap, the instant the gap ends (the first local minute after it
/// that exists; gaps are at most a few hours).
pub fn earliest_at_or_after(tz: Tz, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=24 * 60)
        .map(|m| local + Duration::minutes(m))
        .find_map(|l| resolve_local(tz, l))
}
