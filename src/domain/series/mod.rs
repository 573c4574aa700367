//! Recurring series: a recurrence expanded into occurrences in the room's time zone, with
//! RFC 5545's semantics (API.md, "Recurring series"). Pure: no clock, no storage.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::slot::fmt;
use super::{
    earliest_at_or_after, resolve_local, Email, OrganizerName, Reservation, Slot, Title, Weekday,
};
use crate::error::{Error, Result};

/// How often a series repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    fn rfc5545(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }
}

/// Where a series stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesEnd {
    /// After this many occurrences, the first included.
    Count(usize),
    /// With the last occurrence starting at or before this instant.
    Until(DateTime<Utc>),
}

/// What `bookSeries` does when some occurrences are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConflictMode {
    /// Write nothing.
    #[default]
    Fail,
    /// Book the others.
    Skip,
}

/// A validated recurrence rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    frequency: Frequency,
    interval: u32,
    /// WEEKLY only; sorted, distinct. `None`: the first occurrence's weekday.
    by_weekday: Option<Vec<Weekday>>,
    end: SeriesEnd,
}

impl Recurrence {
    /// The most occurrences a series may have.
    pub const MAX_OCCURRENCES: usize = 366;
    /// No occurrence may start more than this many days after the first.
    pub const MAX_SPAN_DAYS: u64 = 731;
    /// The largest `interval`.
    pub const MAX_INTERVAL: i32 = 99;

    /// Checks the rule's own limits; `interval` defaults to 1.
    pub fn new(
        frequency: Frequency,
        interval: Option<i32>,
        by_weekday: Option<Vec<Weekday>>,
        count: Option<i32>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        let interval = interval.unwrap_or(1);
        if !(1..=Self::MAX_INTERVAL).contains(&interval) {
            return Err(Error::BadUserInput(format!(
                "recurrence.interval must be 1 to {} (got {interval})",
                Self::MAX_INTERVAL
            )));
        }
        let by_weekday = match by_weekday {
            None => None,
            Some(_) if frequency != Frequency::Weekly => {
                return Err(Error::BadUserInput(
                    "recurrence.byWeekday applies to WEEKLY series only".into(),
                ))
            }
            Some(days) if days.is_empty() => {
                return Err(Error::BadUserInput(
                    "recurrence.byWeekday must name at least one weekday (or be omitted: the \
                     first occurrence's weekday)"
                        .into(),
                ))
            }
            Some(mut days) => {
                days.sort();
                days.dedup();
                Some(days)
            }
        };
        let end = match (count, until) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(Error::BadUserInput(
                    "give exactly one of recurrence.count and recurrence.until".into(),
                ))
            }
            (Some(n), None) => {
                let max = Self::MAX_OCCURRENCES;
                match usize::try_from(n) {
                    Ok(n) if (1..=max).contains(&n) => SeriesEnd::Count(n),
                    _ => {
                        return Err(Error::BadUserInput(format!(
                            "recurrence.count must be 1 to {max} (got {n}): a series has at \
                             most {max} occurrences"
                        )))
                    }
                }
            }
            (None, Some(until)) => SeriesEnd::Until(until),
        };
        Ok(Recurrence {
            frequency,
            interval: interval.unsigned_abs(),
            by_weekday,
            end,
        })
    }

    /// The occurrences of a series whose first one is `first`, in zone `tz`, in start order.
    ///
    /// Each starts at the first one's local wall-clock time and lasts as long. A local start
    /// that does not exist (spring-forward gap) is skipped and not counted; an ambiguous one
    /// (fall-back) takes the earlier offset; a month without the first one's day is skipped.
    /// More than 366 occurrences, or one starting more than 731 days after the first, is
    /// `BAD_USER_INPUT` naming the limit.
    pub fn expand(&self, first: Slot, tz: Tz) -> Result<Vec<Slot>> {
        let duration = first.end() - first.start();
        let local = first.start().with_timezone(&tz).naive_local();
        let (date0, time) = (local.date(), local.time());
        if let SeriesEnd::Until(until) = self.end {
            if until < first.start() {
                return Err(Error::BadUserInput(format!(
                    "recurrence.until ({}) is before the first occurrence ({})",
                    fmt(until),
                    fmt(first.start())
                )));
            }
        }
        let days = self.weekdays(date0)?;
        let last_day = date0
            .checked_add_days(Days::new(Self::MAX_SPAN_DAYS))
            .ok_or_else(|| Error::BadUserInput("the series starts too far in the future".into()))?;
        let mut out: Vec<Slot> = Vec::new();
        // Each period moves on by at least a day and ends in the `last_day` check within 732
        // periods; the bound only keeps dates past chrono's range from looping forever.
        for period in 0u32..=800 {
            for date in self.dates(date0, period, &days) {
                let start = if date == date0 {
                    Some(first.start())
                } else {
                    resolve_local(tz, date.and_time(time))
                };
                let until = match self.end {
                    SeriesEnd::Until(until) => Some(until),
                    SeriesEnd::Count(_) => None,
                };
                if date > last_day {
                    // Beyond the span: the end if `until` is reached, else too long a series.
                    let at = start.or_else(|| earliest_at_or_after(tz, date.and_time(time)));
                    if matches!((until, at), (Some(u), Some(at)) if at > u) {
                        return Ok(out);
                    }
                    return Err(Error::BadUserInput(format!(
                        "the series reaches beyond {} days after its first occurrence (on {}); \
                         no occurrence may start later than that: end it sooner",
                        Self::MAX_SPAN_DAYS,
                        date
                    )));
                }
                let Some(start) = start else { continue };
                if matches!(until, Some(u) if start > u) {
                    return Ok(out);
                }
                if out.len() == Self::MAX_OCCURRENCES {
                    return Err(Error::BadUserInput(format!(
                        "the series has more than {} occurrences, the most one series may \
                         have: end it sooner",
                        Self::MAX_OCCURRENCES
                    )));
                }
                let end = start
                    .checked_add_signed(duration)
                    .ok_or_else(|| Error::BadUserInput("the series ends too far ahead".into()))?;
                out.push(Slot::new(start, end)?);
                if matches!(self.end, SeriesEnd::Count(n) if out.len() == n) {
                    return Ok(out);
                }
            }
        }
        Err(Error::BadUserInput(
            "the series reaches too far into the future".into(),
        ))
    }

    /// The weekdays a WEEKLY series falls on (the first occurrence's must be one of them).
    fn weekdays(&self, date0: NaiveDate) -> Result<Vec<Weekday>> {
        let first = Weekday::of(date0);
        match &self.by_weekday {
            None => Ok(vec![first]),
            Some(days) if days.contains(&first) => Ok(days.clone()),
            Some(days) => Err(Error::BadUserInput(format!(
                "the first occurrence is on a {} in the room's time zone, which is not one of \
                 recurrence.byWeekday ({})",
                first.as_str(),
                days.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The candidate local dates of period `period` (a day, a week from Monday, a month), in
    /// order, none before `date0`; a day that does not exist in its month is left out.
    fn dates(&self, date0: NaiveDate, period: u32, days: &[Weekday]) -> Vec<NaiveDate> {
        let step = u64::from(period) * u64::from(self.interval);
        match self.frequency {
            Frequency::Daily => date0
                .checked_add_days(Days::new(step))
                .into_iter()
                .collect(),
            Frequency::Weekly => {
                let back = Days::new(u64::from(date0.weekday().num_days_from_monday()));
                let Some(monday) = date0.checked_sub_days(back) else {
                    return Vec::new();
                };
                days.iter()
                    .filter_map(|d| {
                        monday.checked_add_days(Days::new(7 * step + u64::from(d.index())))
                    })
                    .filter(|d| *d >= date0)
                    .collect()
            }
            Frequency::Monthly => {
                let months = i64::from(date0.year()) * 12 + i64::from(date0.month0());
                let index = months + i64::try_from(step).unwrap_or(i64::MAX / 2);
                let year = i32::try_from(index.div_euclid(12)).ok();
                let month = u32::try_from(index.rem_euclid(12) + 1).ok();
                year.zip(month)
                    .and_then(|(y, m)| NaiveDate::from_ymd_opt(y, m, date0.day()))
                    .into_iter()
                    .collect()
            }
        }
    }

    /// The RFC 5545 RRULE of this recurrence (DTSTART being the first occurrence's local
    /// start in the room's zone, on `first_day`): `FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=10`,
    /// `UNTIL` in UTC (whole seconds, as the format has them).
    pub fn rrule(&self, first_day: Weekday) -> String {
        let mut rule = format!(
            "FREQ={};INTERVAL={}",
            self.frequency.rfc5545(),
            self.interval
        );
        if self.frequency == Frequency::Weekly {
            let days = match &self.by_weekday {
                Some(days) => days.clone(),
                None => vec![first_day],
            };
            let days: Vec<&str> = days.iter().map(|d| d.rfc5545()).collect();
            rule.push_str(";BYDAY=");
            rule.push_str(&days.join(","));
        }
        match self.end {
            SeriesEnd::Count(n) => rule.push_str(&format!(";COUNT={n}")),
            SeriesEnd::Until(until) => {
                rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ")))
            }
        }
        rule
    }
}

/// Refuses occurrences that would overlap each other or come within `buffer_minutes` of each
/// other: a series may not conflict with itself.
pub fn check_spacing(slots: &[Slot], buffer_minutes: i32) -> Result<()> {
    let buffer = chrono::Duration::minutes(i64::from(buffer_minutes));
    for pair in slots.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.start() < a.end() + buffer {
            let what = if b.start() < a.end() {
                "overlap each other".to_owned()
            } else {
                format!("come within the room's {buffer_minutes}-minute buffer of each other")
            };
            return Err(Error::BadUserInput(format!(
                "the occurrences at {} and {} would {what}: make each one shorter or the \
                 series less frequent",
                fmt(a.start()),
                fmt(b.start())
            )));
        }
    }
    Ok(())
}

/// A `bookSeries` request whose fields hold; the rest is checked against the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesRequest {
    pub room_id: Uuid,
    /// The first occurrence.
    pub first: Slot,
    pub recurrence: Recurrence,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub on_conflict: ConflictMode,
    /// Who books it (secured mode); set by the caller after validation.
    pub owner: Option<super::Owner>,
    /// For someone else, by a member: the room's managers only (set after validation).
    pub on_behalf: Option<super::OnBehalf>,
}

impl SeriesRequest {
    /// Checks the first occurrence's shape and the field limits (`IN_PAST` is an
    /// occurrence's refusal, checked with the others).
    #[allow(clippy::too_many_arguments)]
    pub fn validate(
        room_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        recurrence: Recurrence,
        title: Option<&str>,
        organizer_name: &str,
        organizer_email: &str,
        on_conflict: ConflictMode,
    ) -> Result<Self> {
        Ok(SeriesRequest {
            room_id,
            first: Slot::new(start, end)?,
            recurrence,
            title: Title::parse(title)?.into_inner(),
            organizer_name: OrganizerName::parse(organizer_name)?.into_inner(),
            organizer_email: Email::parse(organizer_email)?.into_inner(),
            on_conflict,
            owner: None,
            on_behalf: None,
        })
    }
}

pub use crate::error::OccurrenceConflict;

impl OccurrenceConflict {
    /// The refusal of the occurrence `slot` by `error`, if `error` is a refusal of that slot
    /// (anything else, such as a failed query, is not).
    pub fn of(slot: Slot, error: &Error) -> Option<Self> {
        let (policy, conflicting) = match error {
            Error::InPast(_) => (None, None),
            Error::Overlap { conflicting } => (None, Some(*conflicting)),
            Error::PolicyViolation {
                policy,
                conflicting,
                ..
            } => (Some(*policy), *conflicting),
            _ => return None,
        };
        Some(OccurrenceConflict {
            start: slot.start(),
            end: slot.end(),
            code: error.code(),
            policy,
            conflicting,
        })
    }
}

/// A stored series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub id: Uuid,
    /// The room it was booked in.
    pub room_id: Uuid,
    pub rrule: String,
    pub time_zone: Tz,
    pub first_start: DateTime<Utc>,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub created_at: DateTime<Utc>,
    /// Who booked it with a token (secured mode).
    pub owner: Option<super::Owner>,
}

/// What `bookSeries` did.
#[derive(Clone, Debug)]
pub struct SeriesBooking {
    pub series: Series,
    /// In start order.
    pub occurrences: Vec<Reservation>,
    /// Refused occurrences (SKIP mode), in start order.
    pub skipped: Vec<OccurrenceConflict>,
}

#[cfg(test)]
mod tests;
