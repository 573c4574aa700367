//! Check-in, check-out and auto-release (API.md, "Check-in and release"): pure rules of a
//! reservation and `now`.

use chrono::{DateTime, Duration, Utc};

use super::slot::fmt;
use super::{Reservation, ReservationStatus, RoomPolicy};
use crate::error::{Error, Result};

/// What a `checkIn` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckIn {
    /// Checked in already: the reservation is returned unchanged, with no event.
    Already,
    /// Check in now.
    Now,
}

/// When a reservation starting at `start` in a room with `policy` is released unless checked
/// in: `start + autoReleaseMinutes` if the room requires check-in, else never.
pub fn auto_release_at(start: DateTime<Utc>, policy: &RoomPolicy) -> Option<DateTime<Utc>> {
    if !policy.check_in_required {
        return None;
    }
    start.checked_add_signed(Duration::minutes(i64::from(policy.auto_release_minutes)))
}

/// Whether `reservation` may be checked in at `now`: CONFIRMED, and `now` in
/// `[start - opensMinutes, start + autoReleaseMinutes)` if it must be checked in (its
/// `auto_release_at`), else in `[start - opensMinutes, end)`; otherwise `CHECK_IN_CLOSED`.
pub fn check_in(
    reservation: &Reservation,
    opens_minutes: i32,
    now: DateTime<Utc>,
) -> Result<CheckIn> {
    let id = reservation.id;
    match reservation.status {
        ReservationStatus::Confirmed => {}
        ReservationStatus::Pending => {
            return Err(Error::CheckInClosed(format!(
                "reservation {id} is PENDING: it can be checked in to once a manager of its \
                 room approves it"
            )))
        }
        ReservationStatus::Cancelled | ReservationStatus::Declined | ReservationStatus::Expired => {
            return Err(Error::CheckInClosed(format!(
                "reservation {id} is {}: there is nothing to check in to",
                reservation.status.as_str().to_lowercase()
            )))
        }
        ReservationStatus::Released => {
            return Err(Error::CheckInClosed(format!(
                "reservation {id} was released because nobody checked in by {}; book the \
                 slot again",
                reservation
                    .released_at
                    .map_or_else(|| "its deadline".to_owned(), fmt)
            )))
        }
    }
    if reservation.checked_in_at.is_some() {
        return Ok(CheckIn::Already);
    }
    let opens = reservation.start - Duration::minutes(i64::from(opens_minutes));
    let closes = reservation.auto_release_at.unwrap_or(reservation.end);
    if now < opens {
        return Err(Error::CheckInClosed(format!(
            "check-in for reservation {id} opens at {} ({opens_minutes} minutes before it \
             starts)",
            fmt(opens)
        )));
    }
    if now >= closes {
        return Err(Error::CheckInClosed(format!(
            "check-in for reservation {id} closed at {}",
            fmt(closes)
        )));
    }
    Ok(CheckIn::Now)
}

/// Whether `reservation` may be checked out at `now`: CONFIRMED and `start < now < end`,
/// else `NOT_IN_PROGRESS`.
pub fn check_out(reservation: &Reservation, now: DateTime<Utc>) -> Result<()> {
    let id = reservation.id;
    if reservation.status != ReservationStatus::Confirmed {
        return Err(Error::NotInProgress(format!(
            "reservation {id} is {}, not in progress",
            reservation.status.as_str()
        )));
    }
    if now <= reservation.start {
        return Err(Error::NotInProgress(format!(
            "reservation {id} has not started (it starts at {})",
            fmt(reservation.start)
        )));
    }
    if now >= reservation.end {
        return Err(Error::NotInProgress(format!(
            "reservation {id} ended at {}",
            fmt(reservation.end)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    /// 10:00-11:00; released at 10:10 if `required`.
    fn reservation(required: bool) -> Reservation {
        Reservation {
            id: Uuid::new_v4(),
            room_id: Uuid::new_v4(),
            start: t(0),
            end: t(60),
            title: None,
            organizer_name: "Ada".into(),
            organizer_email: "ada@example.com".into(),
            status: ReservationStatus::Confirmed,
            created_at: t(-600),
            updated_at: t(-600),
            series_id: None,
            checked_in_at: None,
            released_at: None,
            auto_release_at: required.then(|| t(10)),
            owner: None,
            approval: None,
        }
    }

    fn code(r: Result<CheckIn>) -> &'static str {
        match r {
            Ok(CheckIn::Now) => "OK",
            Ok(CheckIn::Already) => "ALREADY",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn the_check_in_window_is_half_open_at_both_edges() {
        let us = Duration::microseconds(1);
        let required = reservation(true);
        assert_eq!(
            code(check_in(&required, 15, t(-15) - us)),
            "CHECK_IN_CLOSED"
        );
        assert_eq!(code(check_in(&required, 15, t(-15))), "OK");
        assert_eq!(code(check_in(&required, 15, t(10) - us)), "OK");
        assert_eq!(code(check_in(&required, 15, t(10))), "CHECK_IN_CLOSED");
        let optional = reservation(false);
        assert_eq!(code(check_in(&optional, 0, t(0) - us)), "CHECK_IN_CLOSED");
        assert_eq!(code(check_in(&optional, 0, t(0))), "OK");
        assert_eq!(code(check_in(&optional, 0, t(60) - us)), "OK");
        assert_eq!(code(check_in(&optional, 0, t(60))), "CHECK_IN_CLOSED");
    }

    #[test]
    fn a_second_check_in_changes_nothing_and_other_statuses_are_closed() {
        let mut r = reservation(true);
        r.checked_in_at = Some(t(1));
        assert_eq!(code(check_in(&r, 10, t(30))), "ALREADY");
        for status in [ReservationStatus::Cancelled, ReservationStatus::Released] {
            let mut r = reservation(true);
            r.status = status;
            assert_eq!(code(check_in(&r, 10, t(1))), "CHECK_IN_CLOSED");
        }
    }

    #[test]
    fn check_out_is_only_strictly_inside_the_slot() {
        let us = Duration::microseconds(1);
        let r = reservation(false);
        assert_eq!(check_out(&r, t(0)).unwrap_err().code(), "NOT_IN_PROGRESS");
        assert!(check_out(&r, t(0) + us).is_ok());
        assert!(check_out(&r, t(60) - us).is_ok());
        assert_eq!(check_out(&r, t(60)).unwrap_err().code(), "NOT_IN_PROGRESS");
        let mut cancelled = reservation(false);
        cancelled.status = ReservationStatus::Cancelled;
        assert_eq!(
            check_out(&cancelled, t(30)).unwrap_err().code(),
            "NOT_IN_PROGRESS"
        );
    }

    #[test]
    fn only_rooms_that_require_check_in_release() {
        let mut policy = RoomPolicy::default();
        assert_eq!(auto_release_at(t(0), &policy), None);
        policy.check_in_required = true;
        policy.auto_release_minutes = 15;
        assert_eq!(auto_release_at(t(0), &policy), Some(t(15)));
    }
}
