//! Rooms' attributes and house rules: time zones, features, opening hours, the policy of
//! booking rule 6, and the free slots they leave.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::slot::{fmt, Slot};
use crate::error::{Error, Result};

/// An IANA time zone from the bundled database (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<Tz> {
    Tz::from_str(name.trim()).map_err(|_| {
        Error::BadUserInput(format!(
            "{name:?} is not a known IANA time zone; use a name such as \"Europe/Berlin\", \
             \"America/New_York\" or \"UTC\""
        ))
    })
}

/// A room's features: each trimmed and lower-cased, 1-50 characters of `a-z`, `0-9` and `-`;
/// at most 50 distinct ones; kept sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features(Vec<String>);

impl Features {
    pub const MAX: usize = 50;
    pub const MAX_LEN: usize = 50;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self> {
        let mut names = Vec::with_capacity(raw.len());
        for r in raw {
            names.push(Self::parse_one(r.as_ref())?);
        }
        names.sort();
        names.dedup();
        if names.len() > Self::MAX {
            return Err(Error::BadUserInput(format!(
                "a room has at most {} features (got {} distinct ones)",
                Self::MAX,
                names.len()
            )));
        }
        Ok(Features(names))
    }

    /// One feature name, normalised: `" Projector "` is `projector`.
    pub fn parse_one(raw: &str) -> Result<String> {
        let name = raw.trim().to_lowercase();
        let len = name.chars().count();
        if len == 0 || len > Self::MAX_LEN {
            return Err(Error::BadUserInput(format!(
                "feature {raw:?} must be 1 to {} characters after trimming",
                Self::MAX_LEN
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::BadUserInput(format!(
                "feature {raw:?} may hold only letters a-z, digits and '-'"
            )));
        }
        Ok(name)
    }

    /// As stored: comma-separated (no feature holds a comma).
    pub fn to_stored(&self) -> String {
        self.0.join(",")
    }

    pub fn from_stored(s: &str) -> Self {
        Features(
            s.split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}

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

    fn parse(s: &str) -> Option<Self> {
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

/// The room is open on `weekday` from `opens` until `closes` (local time, half-open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningHours {
    pub weekday: Weekday,
    pub opens: LocalTime,
    pub closes: LocalTime,
}

impl OpeningHours {
    /// As stored: `MONDAY 08:00-12:00,MONDAY 13:00-18:00`. Read on every booking of the
    /// room, so a format parsed without a JSON decoder (which cost 6% of such a booking).
    pub fn to_stored(hours: &[OpeningHours]) -> String {
        hours
            .iter()
            .map(|h| format!("{} {}-{}", h.weekday.as_str(), h.opens, h.closes))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The inverse of [`OpeningHours::to_stored`]; `None` if `s` is not in that form.
    pub fn from_stored(s: &str) -> Option<Vec<OpeningHours>> {
        if s.is_empty() {
            return Some(Vec::new());
        }
        s.split(',')
            .map(|entry| {
                let (day, times) = entry.split_once(' ')?;
                let (opens, closes) = times.split_once('-')?;
                Some(OpeningHours {
                    weekday: Weekday::parse(day)?,
                    opens: LocalTime::parse(opens).ok()?,
                    closes: LocalTime::parse(closes).ok()?,
                })
            })
            .collect()
    }
}

/// Which part of a room's policy refused a slot (`extensions.policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyRule {
    MinDuration,
    MaxDuration,
    BookingHorizon,
    OpeningHours,
    Buffer,
}

impl PolicyRule {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyRule::MinDuration => "MIN_DURATION",
            PolicyRule::MaxDuration => "MAX_DURATION",
            PolicyRule::BookingHorizon => "BOOKING_HORIZON",
            PolicyRule::OpeningHours => "OPENING_HOURS",
            PolicyRule::Buffer => "BUFFER",
        }
    }
}

/// A room's house rules (API.md, booking rule 6, and check-in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPolicy {
    pub min_duration_minutes: Option<i32>,
    pub max_duration_minutes: Option<i32>,
    pub buffer_minutes: i32,
    pub booking_horizon_days: Option<i32>,
    /// `None`: always open.
    pub opening_hours: Option<Vec<OpeningHours>>,
    pub check_in_required: bool,
    pub check_in_opens_minutes: i32,
    pub auto_release_minutes: i32,
}

impl Default for RoomPolicy {
    fn default() -> Self {
        RoomPolicy {
            min_duration_minutes: None,
            max_duration_minutes: None,
            buffer_minutes: 0,
            booking_horizon_days: None,
            opening_hours: None,
            check_in_required: false,
            check_in_opens_minutes: 10,
            auto_release_minutes: 10,
        }
    }
}

fn in_range(field: &str, value: i32, min: i32, max: i32) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::BadUserInput(format!(
            "policy.{field} must be {min} to {max} (got {value})"
        )))
    }
}

impl RoomPolicy {
    pub const MAX_OPENING_HOURS: usize = 28;

    /// Checks the policy limits of API.md; opening hours come back sorted by day and time.
    pub fn validate(mut self) -> Result<Self> {
        if let Some(min) = self.min_duration_minutes {
            in_range("minDurationMinutes", min, 1, 10080)?;
        }
        if let Some(max) = self.max_duration_minutes {
            in_range("maxDurationMinutes", max, 1, 10080)?;
        }
        if let (Some(min), Some(max)) = (self.min_duration_minutes, self.max_duration_minutes) {
            if min > max {
                return Err(Error::BadUserInput(format!(
                    "policy.minDurationMinutes ({min}) must not exceed maxDurationMinutes ({max})"
                )));
            }
        }
        in_range("bufferMinutes", self.buffer_minutes, 0, 240)?;
        if let Some(days) = self.booking_horizon_days {
            in_range("bookingHorizonDays", days, 1, 3650)?;
        }
        in_range("checkInOpensMinutes", self.check_in_opens_minutes, 0, 120)?;
        in_range("autoReleaseMinutes", self.auto_release_minutes, 1, 240)?;
        if let Some(hours) = &mut self.opening_hours {
            if hours.len() > Self::MAX_OPENING_HOURS {
                return Err(Error::BadUserInput(format!(
                    "policy.openingHours holds at most {} entries (got {})",
                    Self::MAX_OPENING_HOURS,
                    hours.len()
                )));
            }
            if let Some(h) = hours.iter().find(|h| h.opens >= h.closes) {
                return Err(Error::BadUserInput(format!(
                    "policy.openingHours: {:?} opens at {} and closes at {}; opens must be \
                     before closes",
                    h.weekday, h.opens, h.closes
                )));
            }
            hours.sort_by_key(|h| (h.weekday, h.opens, h.closes));
        }
        Ok(self)
    }

    pub fn buffer(&self) -> Duration {
        Duration::minutes(i64::from(self.buffer_minutes))
    }

    /// The latest start a booking may have at `now` (rule 6, `BOOKING_HORIZON`).
    pub fn horizon(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.booking_horizon_days
            .and_then(|d| now.checked_add_signed(Duration::days(i64::from(d))))
    }

    /// Rule 6 but the buffer (which needs the room's calendar): durations, horizon and opening
    /// hours, in that order.
    pub fn check(&self, slot: Slot, now: DateTime<Utc>, tz: Tz) -> Result<()> {
        let length = slot.end() - slot.start();
        if let Some(min) = self.min_duration_minutes {
            if length < Duration::minutes(i64::from(min)) {
                return Err(violation(
                    PolicyRule::MinDuration,
                    format!(
                        "this room is booked for at least {min} minutes at a time; the slot \
                         lasts {}",
                        describe(length)
                    ),
                ));
            }
        }
        if let Some(max) = self.max_duration_minutes {
            if length > Duration::minutes(i64::from(max)) {
                return Err(violation(
                    PolicyRule::MaxDuration,
                    format!(
                        "this room is booked for at most {max} minutes at a time; the slot \
                         lasts {}",
                        describe(length)
                    ),
                ));
            }
        }
        if let (Some(days), Some(horizon)) = (self.booking_horizon_days, self.horizon(now)) {
            if slot.start() > horizon {
                return Err(violation(
                    PolicyRule::BookingHorizon,
                    format!(
                        "this room is booked at most {days} days ahead: the slot must start by \
                         {}",
                        fmt(horizon)
                    ),
                ));
            }
        }
        if let Some(hours) = &self.opening_hours {
            let day = slot.start().with_timezone(&tz).date_naive();
            let inside = opening_intervals(hours, day, tz)
                .into_iter()
                .any(|open| open.start() <= slot.start() && slot.end() <= open.end());
            if !inside {
                return Err(violation(
                    PolicyRule::OpeningHours,
                    format!(
                        "the slot is not within one opening interval of the room ({}); its \
                         opening hours on {:?} are {}",
                        tz.name(),
                        Weekday::of(day),
                        describe_hours(hours, Weekday::of(day))
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn violation(policy: PolicyRule, message: String) -> Error {
    Error::PolicyViolation {
        policy,
        message,
        conflicting: None,
    }
}

/// `BUFFER`: the slot comes within the room's buffer of reservation `other`.
pub fn buffer_violation(buffer_minutes: i32, other: Uuid) -> Error {
    Error::PolicyViolation {
        policy: PolicyRule::Buffer,
        message: format!(
            "this room keeps {buffer_minutes} minutes free between reservations, and the slot \
             comes closer than that to reservation {other}"
        ),
        conflicting: Some(other),
    }
}

fn describe(d: Duration) -> String {
    let minutes = d.num_seconds() as f64 / 60.0;
    format!("{minutes} minutes")
}

fn describe_hours(hours: &[OpeningHours], day: Weekday) -> String {
    let of_day: Vec<String> = hours
        .iter()
        .filter(|h| h.weekday == day)
        .map(|h| format!("{}-{}", h.opens, h.closes))
        .collect();
    if of_day.is_empty() {
        "none (closed)".into()
    } else {
        of_day.join(", ")
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
    let mut naive = date.and_time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?);
    // Gaps are at most a few hours; step to the first minute that exists.
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earlier, _) => return Some(earlier.with_timezone(&Utc)),
            LocalResult::None => naive += Duration::minutes(1),
        }
    }
    None
}

/// The opening intervals of local day `date`, as instants, sorted by start.
pub fn opening_intervals(hours: &[OpeningHours], date: NaiveDate, tz: Tz) -> Vec<Slot> {
    let day = Weekday::of(date);
    let mut out: Vec<Slot> = hours
        .iter()
        .filter(|h| h.weekday == day)
        .filter_map(|h| {
            let opens = local_instant(tz, date, h.opens)?;
            let closes = local_instant(tz, date, h.closes)?;
            Slot::new(opens, closes).ok()
        })
        .collect();
    out.sort_by_key(|s| (s.start(), s.end()));
    out
}

/// What `Room.freeSlots` computes from.
pub struct FreeSlotsQuery<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub policy: &'a RoomPolicy,
    pub tz: Tz,
    /// The room's CONFIRMED reservations reaching into `[from - buffer, to + buffer)`.
    pub busy: &'a [Slot],
    pub min_minutes: i64,
}

/// The maximal intervals inside `[from, to)` in which a booking satisfies every rule of the
/// room, at least `min_minutes` (and the policy's minimum) long, sorted by start: a booking of
/// an allowed length inside one of them succeeds. Opening intervals are not joined even when
/// they touch, since a booking may not span two.
pub fn free_slots(q: &FreeSlotsQuery<'_>) -> Vec<Slot> {
    let start = q.from.max(q.now);
    let end = match q.policy.horizon(q.now) {
        Some(h) => q.to.min(h),
        None => q.to,
    };
    if start >= end {
        return Vec::new();
    }
    let open: Vec<Slot> = match &q.policy.opening_hours {
        None => Slot::new(start, end).into_iter().collect(),
        Some(hours) => {
            let first = start.with_timezone(&q.tz).date_naive();
            let last = end.with_timezone(&q.tz).date_naive();
            let mut out = Vec::new();
            let mut day = first.pred_opt().unwrap_or(first);
            while day <= last {
                out.extend(
                    opening_intervals(hours, day, q.tz)
                        .into_iter()
                        .filter_map(|s| Slot::new(s.start().max(start), s.end().min(end)).ok()),
                );
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
            out
        }
    };
    let buffer = q.policy.buffer();
    let min_len = Duration::minutes(
        q.min_minutes
            .max(q.policy.min_duration_minutes.map_or(0, i64::from))
            .max(0),
    );
    let mut blocked: Vec<(DateTime<Utc>, DateTime<Utc>)> = q
        .busy
        .iter()
        .map(|b| (b.start() - buffer, b.end() + buffer))
        .collect();
    blocked.sort();
    let mut out = Vec::new();
    for interval in open {
        let mut cursor = interval.start();
        for &(b_start, b_end) in &blocked {
            if b_end <= cursor {
                continue;
            }
            if b_start >= interval.end() {
                break;
            }
            if b_start > cursor {
                out.extend(Slot::new(cursor, b_start).ok());
            }
            cursor = cursor.max(b_end);
        }
        if cursor < interval.end() {
            out.extend(Slot::new(cursor, interval.end()).ok());
        }
    }
    out.retain(|s| s.end() - s.start() >= min_len);
    out.sort_by_key(|s| (s.start(), s.end()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn slot(a: &str, b: &str) -> Slot {
        Slot::new(t(a), t(b)).unwrap()
    }

    fn lt(s: &str) -> LocalTime {
        LocalTime::parse(s).unwrap()
    }

    fn weekdays(opens: &str, closes: &str) -> Vec<OpeningHours> {
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ]
        .into_iter()
        .map(|weekday| OpeningHours {
            weekday,
            opens: lt(opens),
            closes: lt(closes),
        })
        .collect()
    }

    fn berlin() -> Tz {
        parse_time_zone("Europe/Berlin").unwrap()
    }

    fn policy_code(r: Result<()>) -> Option<&'static str> {
        match r {
            Err(Error::PolicyViolation { policy, .. }) => Some(policy.as_str()),
            Err(e) => panic!("not a policy violation: {e:?}"),
            Ok(()) => None,
        }
    }

    const NOW: &str = "2030-01-01T00:00:00Z";

    #[test]
    fn local_times_are_hh_mm_up_to_24_00() {
        assert_eq!(lt("00:00").minutes(), 0);
        assert_eq!(lt("08:30").minutes(), 510);
        assert_eq!(lt("24:00"), LocalTime::MIDNIGHT_END);
        for bad in [
            "8:00", "24:01", "12:60", "25:00", "12-00", "", "12:0a", "+1:00",
        ] {
            assert!(LocalTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(lt("07:05").to_string(), "07:05");
    }

    #[test]
    fn opening_hours_are_stored_as_text_and_read_back() {
        let mut hours = weekdays("08:00", "12:00");
        hours.push(OpeningHours {
            weekday: Weekday::Sunday,
            opens: lt("00:00"),
            closes: LocalTime::MIDNIGHT_END,
        });
        let stored = OpeningHours::to_stored(&hours);
        assert!(stored.starts_with("MONDAY 08:00-12:00,TUESDAY"), "{stored}");
        assert!(stored.ends_with("SUNDAY 00:00-24:00"), "{stored}");
        assert_eq!(OpeningHours::from_stored(&stored), Some(hours));
        assert_eq!(OpeningHours::from_stored(""), Some(Vec::new()));
        for bad in [
            "MONDAY",
            "MONDAY 8-9",
            "FUNDAY 08:00-09:00",
            "MONDAY 08:00-09:00,",
        ] {
            assert_eq!(OpeningHours::from_stored(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        assert!(parse_time_zone("Europe/Berlin").is_ok());
        assert!(parse_time_zone("UTC").is_ok());
        let e = parse_time_zone("Mars/Olympus").unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn features_are_trimmed_lower_cased_sorted_and_deduplicated() {
        let f = Features::parse(&["Projector ", "display", "projector", "video-conf"]).unwrap();
        assert_eq!(f.names(), ["display", "projector", "video-conf"]);
        assert_eq!(Features::from_stored(&f.to_stored()), f);
        assert_eq!(Features::from_stored(""), Features::default());
        for bad in ["", " ", "white board", "café", "a,b", &"x".repeat(51)] {
            assert!(Features::parse(&[bad]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..51).map(|i| format!("f{i}")).collect();
        assert!(Features::parse(&many).is_err());
        assert!(Features::parse(&many[..50]).is_ok());
    }

    #[test]
    fn policy_limits_are_enforced() {
        let ok = RoomPolicy::default();
        assert!(ok.clone().validate().is_ok());
        let cases = [
            RoomPolicy {
                min_duration_minutes: Some(0),
                ..ok.clone()
            },
            RoomPolicy {
                max_duration_minutes: Some(10081),
                ..ok.clone()
            },
            RoomPolicy {
                min_duration_minutes: Some(60),
                max_duration_minutes: Some(30),
                ..ok.clone()
            },
            RoomPolicy {
                buffer_minutes: 241,
                ..ok.clone()
            },
            RoomPolicy {
                buffer_minutes: -1,
                ..ok.clone()
            },
            RoomPolicy {
                booking_horizon_days: Some(3651),
                ..ok.clone()
            },
            RoomPolicy {
                check_in_opens_minutes: 121,
                ..ok.clone()
            },
            RoomPolicy {
                auto_release_minutes: 0,
                ..ok.clone()
            },
            RoomPolicy {
                opening_hours: Some(weekdays("18:00", "08:00")),
                ..ok.clone()
            },
            RoomPolicy {
                opening_hours: Some(weekdays("08:00", "08:00")),
                ..ok.clone()
            },
            RoomPolicy {
                opening_hours: Some((0..29).flat_map(|_| weekdays("08:00", "09:00")).collect()),
                ..ok.clone()
            },
        ];
        for p in cases {
            let e = p.clone().validate().unwrap_err();
            assert_eq!(e.code(), "BAD_USER_INPUT", "{p:?}");
        }
    }

    #[test]
    fn durations_are_checked_before_the_horizon_and_opening_hours() {
        let p = RoomPolicy {
            min_duration_minutes: Some(30),
            max_duration_minutes: Some(120),
            booking_horizon_days: Some(7),
            opening_hours: Some(weekdays("08:00", "18:00")),
            ..RoomPolicy::default()
        };
        let tz = berlin();
        let now = t(NOW);
        // 2030-01-07 is a Monday; Berlin is UTC+1 in winter.
        let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
        assert_eq!(
            check("2030-01-07T09:00:00Z", "2030-01-07T09:29:00Z"),
            Some("MIN_DURATION")
        );
        assert_eq!(check("2030-01-07T09:00:00Z", "2030-01-07T09:30:00Z"), None);
        assert_eq!(check("2030-01-07T09:00:00Z", "2030-01-07T11:00:00Z"), None);
        assert_eq!(
            check("2030-01-07T09:00:00Z", "2030-01-07T11:00:01Z"),
            Some("MAX_DURATION")
        );
        // A too-short slot far ahead and at night is refused for its length first.
        assert_eq!(
            check("2030-03-01T02:00:00Z", "2030-03-01T02:10:00Z"),
            Some("MIN_DURATION")
        );
        assert_eq!(
            check("2030-01-09T09:00:00Z", "2030-01-09T10:00:00Z"),
            Some("BOOKING_HORIZON")
        );
        // Exactly at the horizon is fine.
        let p2 = RoomPolicy {
            booking_horizon_days: Some(1),
            ..RoomPolicy::default()
        };
        assert!(p2
            .check(
                slot("2030-01-02T00:00:00Z", "2030-01-02T01:00:00Z"),
                now,
                tz
            )
            .is_ok());
        assert_eq!(
            policy_code(p2.check(
                slot("2030-01-02T00:00:00.000001Z", "2030-01-02T01:00:00Z"),
                now,
                tz
            )),
            Some("BOOKING_HORIZON")
        );
    }

    #[test]
    fn opening_hours_follow_the_rooms_local_time_across_dst() {
        let p = RoomPolicy {
            opening_hours: Some(weekdays("08:00", "18:00")),
            ..RoomPolicy::default()
        };
        let tz = berlin();
        let now = t(NOW);
        let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
        // Winter (UTC+1): open 07:00Z-17:00Z.
        assert_eq!(check("2030-01-07T07:00:00Z", "2030-01-07T17:00:00Z"), None);
        assert_eq!(
            check("2030-01-07T06:59:00Z", "2030-01-07T08:00:00Z"),
            Some("OPENING_HOURS")
        );
        assert_eq!(
            check("2030-01-07T16:00:00Z", "2030-01-07T17:01:00Z"),
            Some("OPENING_HOURS")
        );
        // Summer (UTC+2): open 06:00Z-16:00Z.
        assert_eq!(check("2030-07-01T06:00:00Z", "2030-07-01T16:00:00Z"), None);
        assert_eq!(
            check("2030-07-01T16:00:00Z", "2030-07-01T16:30:00Z"),
            Some("OPENING_HOURS")
        );
        // A Saturday is closed.
        assert_eq!(
            check("2030-01-05T09:00:00Z", "2030-01-05T10:00:00Z"),
            Some("OPENING_HOURS")
        );
    }

    #[test]
    fn a_slot_must_lie_in_one_interval_of_one_day() {
        let mut hours = weekdays("08:00", "12:00");
        hours.extend(weekdays("13:00", "18:00"));
        hours.push(OpeningHours {
            weekday: Weekday::Saturday,
            opens: lt("20:00"),
            closes: LocalTime::MIDNIGHT_END,
        });
        hours.push(OpeningHours {
            weekday: Weekday::Sunday,
            opens: lt("00:00"),
            closes: lt("02:00"),
        });
        let p = RoomPolicy {
            opening_hours: Some(hours),
            ..RoomPolicy::default()
        };
        let tz = parse_time_zone("UTC").unwrap();
        let now = t(NOW);
        let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
        assert_eq!(check("2030-01-07T08:00:00Z", "2030-01-07T12:00:00Z"), None);
        // Across the lunch break.
        assert_eq!(
            check("2030-01-07T11:00:00Z", "2030-01-07T13:30:00Z"),
            Some("OPENING_HOURS")
        );
        assert_eq!(
            check("2030-01-07T12:00:00Z", "2030-01-07T13:00:00Z"),
            Some("OPENING_HOURS")
        );
        // Until midnight with "24:00".
        assert_eq!(check("2030-01-05T22:00:00Z", "2030-01-06T00:00:00Z"), None);
        // Saturday night into Sunday morning spans two days' intervals.
        assert_eq!(
            check("2030-01-05T23:00:00Z", "2030-01-06T01:00:00Z"),
            Some("OPENING_HOURS")
        );
        assert_eq!(check("2030-01-06T00:00:00Z", "2030-01-06T02:00:00Z"), None);
    }

    #[test]
    fn local_times_in_a_dst_gap_or_overlap_map_to_one_instant() {
        let tz = berlin();
        // 2030-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let spring = NaiveDate::from_ymd_opt(2030, 3, 31).unwrap();
        assert_eq!(
            local_instant(tz, spring, lt("02:30")),
            Some(t("2030-03-31T01:00:00Z"))
        );
        assert_eq!(
            local_instant(tz, spring, lt("08:00")),
            Some(t("2030-03-31T06:00:00Z"))
        );
        // 2030-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let autumn = NaiveDate::from_ymd_opt(2030, 10, 27).unwrap();
        assert_eq!(
            local_instant(tz, autumn, lt("02:30")),
            Some(t("2030-10-27T00:30:00Z"))
        );
        assert_eq!(
            local_instant(tz, autumn, LocalTime::MIDNIGHT_END),
            Some(t("2030-10-27T23:00:00Z"))
        );
        // The spring day is 23 hours long, the autumn one 25.
        let p = RoomPolicy {
            opening_hours: Some(vec![OpeningHours {
                weekday: Weekday::Sunday,
                opens: lt("00:00"),
                closes: LocalTime::MIDNIGHT_END,
            }]),
            ..RoomPolicy::default()
        };
        let now = t(NOW);
        assert!(p
            .check(
                slot("2030-03-30T23:00:00Z", "2030-03-31T22:00:00Z"),
                now,
                tz
            )
            .is_ok());
        assert!(p
            .check(
                slot("2030-10-26T22:00:00Z", "2030-10-27T23:00:00Z"),
                now,
                tz
            )
            .is_ok());
    }

    fn free(q: &FreeSlotsQuery<'_>) -> Vec<(String, String)> {
        free_slots(q)
            .into_iter()
            .map(|s| (fmt(s.start()), fmt(s.end())))
            .collect()
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn free_slots_are_the_gaps_around_buffered_reservations() {
        let p = RoomPolicy {
            buffer_minutes: 15,
            ..RoomPolicy::default()
        };
        let busy = [slot("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z")];
        let q = FreeSlotsQuery {
            from: t("2030-01-07T08:00:00Z"),
            to: t("2030-01-07T14:00:00Z"),
            now: t(NOW),
            policy: &p,
            tz: berlin(),
            busy: &busy,
            min_minutes: 30,
        };
        assert_eq!(
            free(&q),
            [
                pair("2030-01-07T08:00:00Z", "2030-01-07T09:45:00Z"),
                pair("2030-01-07T11:15:00Z", "2030-01-07T14:00:00Z")
            ]
        );
        // Short gaps are left out.
        let q = FreeSlotsQuery {
            min_minutes: 120,
            ..q
        };
        assert_eq!(
            free(&q),
            [pair("2030-01-07T11:15:00Z", "2030-01-07T14:00:00Z")]
        );
    }

    #[test]
    fn free_slots_respect_now_the_horizon_and_opening_hours() {
        let mut hours = weekdays("08:00", "12:00");
        hours.extend(weekdays("13:00", "18:00"));
        let p = RoomPolicy {
            opening_hours: Some(hours),
            booking_horizon_days: Some(1),
            min_duration_minutes: Some(45),
            ..RoomPolicy::default()
        };
        let now = t("2030-01-07T07:30:00Z"); // Monday 08:30 in Berlin
        let busy = [slot("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z")];
        let q = FreeSlotsQuery {
            from: t("2030-01-07T00:00:00Z"),
            to: t("2030-01-09T00:00:00Z"),
            now,
            policy: &p,
            tz: berlin(),
            busy: &busy,
            min_minutes: 30,
        };
        // From now to the lunch break, and after the reservation until closing. Tuesday's
        // morning is cut at the horizon (now + 1 day) to 30 minutes, below the policy's
        // minimum of 45, so it is left out.
        assert_eq!(
            free(&q),
            [
                pair("2030-01-07T07:30:00Z", "2030-01-07T11:00:00Z"),
                pair("2030-01-07T12:30:00Z", "2030-01-07T17:00:00Z"),
            ]
        );
        let q = FreeSlotsQuery {
            policy: &RoomPolicy {
                min_duration_minutes: None,
                ..p.clone()
            },
            ..q
        };
        assert_eq!(
            free(&q).last(),
            Some(&pair("2030-01-08T07:00:00Z", "2030-01-08T07:30:00Z"))
        );
    }
}
