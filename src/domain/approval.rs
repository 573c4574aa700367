//! Approval (API.md "Room managers and approval"): when a booking waits for a manager's yes,
//! until when, and which reservations a decision may still change. Pure rules of a
//! reservation, the room's policy and `now`.

use chrono::{DateTime, Duration, Utc};

use super::slot::fmt;
use super::{Reservation, ReservationStatus, RoomPolicy};
use crate::error::{Error, Result};

/// The longest `reason` a decline keeps.
pub const MAX_DECISION_REASON_CHARS: usize = 500;

/// When a booking of a slot starting at `start`, made (or moved) at `now` in a room with
/// `policy`, waits for approval: `None` unless the room requires approval and the booker does
/// not run the room (`runs_room`: a manager of it, or an admin). Else its approval deadline:
/// the earlier of `start` and `now + approvalTimeoutHours`.
pub fn approval_deadline(
    policy: &RoomPolicy,
    runs_room: bool,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !policy.approval_required || runs_room {
        return None;
    }
    let timeout = Duration::hours(i64::from(policy.approval_timeout_hours));
    Some(
        now.checked_add_signed(timeout)
            .map_or(start, |t| t.min(start)),
    )
}

/// Whether a manager's decision may still change `reservation` at `now`: PENDING, and its
/// deadline not passed (past it, it is EXPIRED however late the expiry job runs); else
/// `NOT_PENDING`, saying why.
pub fn check_pending(reservation: &Reservation, now: DateTime<Utc>) -> Result<()> {
    let id = reservation.id;
    let status = reservation.status;
    if status != ReservationStatus::Pending {
        return Err(Error::NotPending(format!(
            "reservation {id} is {}, not PENDING: only a reservation waiting for approval can \
             be approved or declined",
            status.as_str()
        )));
    }
    match reservation.approval_deadline() {
        Some(deadline) if deadline <= now => Err(Error::NotPending(format!(
            "reservation {id} expired at {}, its approval deadline: it is no longer PENDING",
            fmt(deadline)
        ))),
        _ => Ok(()),
    }
}

/// A decline's reason: trimmed, empty taken as none, at most
/// [`MAX_DECISION_REASON_CHARS`] characters (else `BAD_USER_INPUT`).
pub fn decision_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let chars = reason.chars().count();
    if chars > MAX_DECISION_REASON_CHARS {
        return Err(Error::BadUserInput(format!(
            "`reason` is at most {MAX_DECISION_REASON_CHARS} characters (got {chars})"
        )));
    }
    Ok(Some(reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap() + Duration::hours(i64::from(h))
    }

    fn approval_room(hours: i32) -> RoomPolicy {
        RoomPolicy {
            approval_required: true,
            approval_timeout_hours: hours,
            ..RoomPolicy::default()
        }
    }

    #[test]
    fn the_deadline_is_the_earlier_of_start_and_the_timeout() {
        let policy = approval_room(48);
        assert_eq!(
            approval_deadline(&policy, false, at(100), at(0)),
            Some(at(48))
        );
        assert_eq!(
            approval_deadline(&policy, false, at(10), at(0)),
            Some(at(10))
        );
        assert_eq!(approval_deadline(&policy, true, at(100), at(0)), None);
        assert_eq!(
            approval_deadline(&RoomPolicy::default(), false, at(100), at(0)),
            None
        );
    }

    #[test]
    fn only_a_pending_reservation_before_its_deadline_can_be_decided() {
        let mut r = crate::domain::slot::tests::reservation(at(10), at(11));
        r.status = ReservationStatus::Pending;
        r.approval = Some(Box::new(crate::domain::ApprovalRecord {
            deadline: Some(at(5)),
            ..Default::default()
        }));
        assert!(check_pending(&r, at(4)).is_ok());
        assert_eq!(check_pending(&r, at(5)).unwrap_err().code(), "NOT_PENDING");
        for status in [
            ReservationStatus::Confirmed,
            ReservationStatus::Declined,
            ReservationStatus::Expired,
            ReservationStatus::Cancelled,
        ] {
            r.status = status;
            assert_eq!(check_pending(&r, at(4)).unwrap_err().code(), "NOT_PENDING");
        }
    }

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(decision_reason(None).unwrap(), None);
        assert_eq!(decision_reason(Some("  ")).unwrap(), None);
        assert_eq!(decision_reason(Some(" no ")).unwrap(), Some("no".into()));
        assert!(decision_reason(Some(&"é".repeat(500))).is_ok());
        assert_eq!(
            decision_reason(Some(&"é".repeat(501))).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
