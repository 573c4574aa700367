//! A room's policy (booking rule 6): durations, buffers, horizon, opening hours, check-in,
//! quotas and approval.

use super::*;

pub use crate::error::PolicyRule;

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
    /// `QUOTA_HOURS`: booked hours per person per ISO week; `None`: no limit.
    pub max_hours_per_person_per_week: Option<i32>,
    /// `QUOTA_ACTIVE`: reservations per person that have not ended; `None`: no limit.
    pub max_active_reservations_per_person: Option<i32>,
    /// Bookings by anyone but the room's managers and admins wait for approval (PENDING).
    pub approval_required: bool,
    /// How long a PENDING reservation waits at most (its deadline is never after its start).
    pub approval_timeout_hours: i32,
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
            max_hours_per_person_per_week: None,
            max_active_reservations_per_person: None,
            approval_required: false,
            approval_timeout_hours: 48,
        }
    }
}

pub(super) fn in_range(field: &str, value: i32, min: i32, max: i32) -> Result<()> {
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
        if let Some(hours) = self.max_hours_per_person_per_week {
            in_range("maxHoursPerPersonPerWeek", hours, 1, 168)?;
        }
        if let Some(active) = self.max_active_reservations_per_person {
            in_range("maxActiveReservationsPerPerson", active, 1, 1000)?;
        }
        in_range("approvalTimeoutHours", self.approval_timeout_hours, 1, 168)?;
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

pub(super) fn violation(policy: PolicyRule, message: String) -> Error {
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

pub(super) fn describe(d: Duration) -> String {
    let minutes = d.num_seconds() as f64 / 60.0;
    format!("{minutes} minutes")
}
