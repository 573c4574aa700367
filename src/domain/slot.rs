//! Time rules: a slot starts before it ends, a booking is not in the past, a listing window
//! has sane bounds, and a reschedule obeys all of it.

use chrono::{DateTime, Duration, Utc};

pub(crate) use crate::instant::format as fmt;
use uuid::Uuid;

use super::{Email, OrganizerName, Reservation, ReservationStatus, Title};
use crate::error::{Error, Result};

/// A half-open interval `[start, end)` with `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Slot {
    /// Any well-formed interval: `start` strictly before `end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self> {
        if start < end {
            Ok(Slot { start, end })
        } else {
            Err(Error::InvalidTimeRange(format!(
                "start ({}) must be before end ({})",
                fmt(start),
                fmt(end)
            )))
        }
    }

    /// An interval that may be booked at `now`: well-formed and not starting in the past.
    pub fn bookable(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self> {
        let slot = Slot::new(start, end)?;
        if start < now {
            return Err(Error::InPast(format!(
                "start ({}) is in the past; the server's time is {}",
                fmt(start),
                fmt(now)
            )));
        }
        Ok(slot)
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Half-open overlap: touching ends do not overlap.
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A member booking for someone else: allowed if the token's `subject` or one of its `roles`
/// manages the room (decided with the room, in storage); else `FORBIDDEN` with `refusal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnBehalf {
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub refusal: String,
}

impl OnBehalf {
    /// Whether a room run by `managers` allows it.
    pub fn check(on_behalf: Option<&OnBehalf>, managers: &super::Managers) -> Result<()> {
        match on_behalf {
            Some(b) if !managers.include(b.subject.as_deref(), &b.roles) => {
                Err(Error::Forbidden(b.refusal.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// A booking whose every field and time rule holds; only the room's calendar is left to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingRequest {
    pub room_id: Uuid,
    pub slot: Slot,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    /// Who books it (secured mode).
    pub owner: Option<super::Owner>,
    /// For someone else, by a member: the room's managers only (set after validation).
    pub on_behalf: Option<OnBehalf>,
}

/// The raw fields of a booking, as a client sent them.
pub struct BookingInput<'a> {
    pub room_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub title: Option<&'a str>,
    pub organizer_name: &'a str,
    pub organizer_email: &'a str,
    pub owner: Option<super::Owner>,
}

impl BookingRequest {
    /// Checks the time rules against `now`, then the field limits.
    pub fn validate(input: BookingInput<'_>, now: DateTime<Utc>) -> Result<Self> {
        let slot = Slot::bookable(input.start, input.end, now)?;
        Ok(BookingRequest {
            room_id: input.room_id,
            slot,
            title: Title::parse(input.title)?.into_inner(),
            organizer_name: OrganizerName::parse(input.organizer_name)?.into_inner(),
            organizer_email: Email::parse(input.organizer_email)?.into_inner(),
            owner: input.owner,
            on_behalf: None,
        })
    }
}

/// A reschedule: which of start, end and room change. At least one must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RescheduleRequest {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub room_id: Option<Uuid>,
}

impl RescheduleRequest {
    pub fn new(
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        room_id: Option<Uuid>,
    ) -> Result<Self> {
        if start.is_none() && end.is_none() && room_id.is_none() {
            return Err(Error::BadUserInput(
                "give at least one of start, end or roomId to reschedule".into(),
            ));
        }
        Ok(RescheduleRequest {
            start,
            end,
            room_id,
        })
    }

    /// The room and slot `current` moves to, if every booking rule allows it at `now`.
    /// Whether the new slot is free is the storage's check, which ignores `current` itself.
    pub fn apply(&self, current: &Reservation, now: DateTime<Utc>) -> Result<(Uuid, Slot)> {
        refuse_unless_confirmed(current)?;
        if current.end <= now {
            return Err(Error::InPast(format!(
                "reservation {} already ended at {}; it can no longer be changed",
                current.id,
                fmt(current.end)
            )));
        }
        let slot = Slot::bookable(
            self.start.unwrap_or(current.start),
            self.end.unwrap_or(current.end),
            now,
        )?;
        Ok((self.room_id.unwrap_or(current.room_id), slot))
    }
}

/// Checks that `reservation` may be cancelled at `now`.
pub fn check_cancellable(reservation: &Reservation, now: DateTime<Utc>) -> Result<()> {
    refuse_unless_confirmed(reservation)?;
    if reservation.end <= now {
        return Err(Error::InPast(format!(
            "reservation {} already ended at {}; past reservations cannot be cancelled",
            reservation.id,
            fmt(reservation.end)
        )));
    }
    Ok(())
}

/// `ALREADY_CANCELLED` (saying whether it was cancelled, declined or expired) or
/// `ALREADY_RELEASED` unless the reservation holds its slot (CONFIRMED or PENDING).
fn refuse_unless_confirmed(reservation: &Reservation) -> Result<()> {
    let id = reservation.id;
    match reservation.status {
        ReservationStatus::Confirmed | ReservationStatus::Pending => Ok(()),
        ReservationStatus::Cancelled => Err(Error::AlreadyCancelled(format!(
            "reservation {id} is already cancelled"
        ))),
        ReservationStatus::Declined => Err(Error::AlreadyCancelled(format!(
            "reservation {id} was declined by a manager of its room{}; book again",
            reservation
                .decision_reason()
                .map(|r| format!(" ({r:?})"))
                .unwrap_or_default()
        ))),
        ReservationStatus::Expired => Err(Error::AlreadyCancelled(format!(
            "reservation {id} expired: nobody approved it by its approval deadline; book again"
        ))),
        ReservationStatus::Released => Err(Error::AlreadyReleased(id)),
    }
}

/// The listing window `[from, to)` of `reservations` queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// `to` defaults to `from` plus this.
    pub const DEFAULT_DAYS: i64 = 30;
    /// The longest window one query may ask for.
    pub const MAX_DAYS: i64 = 366;

    /// `from` defaults to `now`, `to` to `from` + 30 days; `to` must follow `from`, by at most
    /// 366 days.
    pub fn resolve(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let from = from.unwrap_or(now);
        let to = match to {
            Some(to) => to,
            None => from
                .checked_add_signed(Duration::days(Self::DEFAULT_DAYS))
                .ok_or_else(|| Error::BadUserInput("from is too far in the future".into()))?,
        };
        if to <= from {
            return Err(Error::InvalidTimeRange(format!(
                "to ({}) must be after from ({})",
                fmt(to),
                fmt(from)
            )));
        }
        if to - from > Duration::days(Self::MAX_DAYS) {
            return Err(Error::BadUserInput(format!(
                "the window from {} to {} is longer than {} days; ask for a shorter one",
                fmt(from),
                fmt(to),
                Self::MAX_DAYS
            )));
        }
        Ok(Window { from, to })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 20, h, m, 0).unwrap()
    }

    fn now() -> DateTime<Utc> {
        t(8, 0)
    }

    fn input<'a>(start: DateTime<Utc>, end: DateTime<Utc>) -> BookingInput<'a> {
        BookingInput {
            room_id: Uuid::nil(),
            start,
            end,
            title: Some("Standup"),
            organizer_name: "Ada",
            organizer_email: "ada@example.com",
            owner: None,
        }
    }

    pub(crate) fn reservation(start: DateTime<Utc>, end: DateTime<Utc>) -> Reservation {
        Reservation {
            id: Uuid::new_v4(),
            room_id: Uuid::new_v4(),
            start,
            end,
            title: None,
            organizer_name: "Ada".into(),
            organizer_email: "ada@example.com".into(),
            status: ReservationStatus::Confirmed,
            created_at: t(7, 0),
            updated_at: t(7, 0),
            series_id: None,
            checked_in_at: None,
            released_at: None,
            auto_release_at: None,
            owner: None,
            approval: None,
        }
    }

    #[test]
    fn accepts_a_future_slot() {
        let b = BookingRequest::validate(input(t(10, 0), t(11, 0)), now()).unwrap();
        assert_eq!(b.slot.start(), t(10, 0));
        assert_eq!(b.title.as_deref(), Some("Standup"));
    }

    #[test]
    fn rejects_a_slot_that_ends_before_it_starts() {
        let e = BookingRequest::validate(input(t(11, 0), t(10, 0)), now()).unwrap_err();
        assert_eq!(e.code(), "INVALID_TIME_RANGE");
    }

    #[test]
    fn rejects_an_empty_slot() {
        let e = BookingRequest::validate(input(t(10, 0), t(10, 0)), now()).unwrap_err();
        assert_eq!(e.code(), "INVALID_TIME_RANGE");
    }

    #[test]
    fn rejects_a_slot_that_starts_in_the_past() {
        let e = BookingRequest::validate(input(t(7, 59), t(9, 0)), now()).unwrap_err();
        assert_eq!(e.code(), "IN_PAST");
    }

    #[test]
    fn a_slot_starting_exactly_now_is_bookable() {
        assert!(Slot::bookable(now(), t(9, 0), now()).is_ok());
    }

    #[test]
    fn touching_slots_do_not_overlap_but_any_shared_instant_does() {
        let a = Slot::new(t(10, 0), t(11, 0)).unwrap();
        let touching = Slot::new(t(11, 0), t(12, 0)).unwrap();
        let inside = Slot::new(t(10, 15), t(10, 45)).unwrap();
        let around = Slot::new(t(9, 0), t(12, 0)).unwrap();
        let left = Slot::new(t(9, 30), t(10, 1)).unwrap();
        let right = Slot::new(t(10, 59), t(11, 30)).unwrap();
        assert!(!a.overlaps(&touching) && !touching.overlaps(&a));
        for s in [inside, around, left, right, a] {
            assert!(a.overlaps(&s) && s.overlaps(&a));
        }
    }

    #[test]
    fn a_reschedule_must_change_something() {
        assert_eq!(
            RescheduleRequest::new(None, None, None).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn a_reschedule_keeps_what_it_does_not_name() {
        let r = reservation(t(10, 0), t(11, 0));
        let req = RescheduleRequest::new(None, Some(t(11, 30)), None).unwrap();
        let (room, slot) = req.apply(&r, now()).unwrap();
        assert_eq!(room, r.room_id);
        assert_eq!((slot.start(), slot.end()), (t(10, 0), t(11, 30)));
    }

    #[test]
    fn a_reschedule_obeys_the_booking_rules() {
        let r = reservation(t(10, 0), t(11, 0));
        let backwards = RescheduleRequest::new(Some(t(11, 30)), None, None).unwrap();
        assert_eq!(
            backwards.apply(&r, now()).unwrap_err().code(),
            "INVALID_TIME_RANGE"
        );
        let past = RescheduleRequest::new(Some(t(7, 0)), None, None).unwrap();
        assert_eq!(past.apply(&r, now()).unwrap_err().code(), "IN_PAST");
    }

    #[test]
    fn a_cancelled_reservation_cannot_be_rescheduled() {
        let mut r = reservation(t(10, 0), t(11, 0));
        r.status = ReservationStatus::Cancelled;
        let req = RescheduleRequest::new(Some(t(12, 0)), Some(t(13, 0)), None).unwrap();
        assert_eq!(
            req.apply(&r, now()).unwrap_err().code(),
            "ALREADY_CANCELLED"
        );
    }

    #[test]
    fn an_ended_reservation_cannot_be_cancelled_or_moved() {
        let r = reservation(t(6, 0), t(7, 0));
        assert_eq!(check_cancellable(&r, now()).unwrap_err().code(), "IN_PAST");
        let req = RescheduleRequest::new(Some(t(12, 0)), Some(t(13, 0)), None).unwrap();
        assert_eq!(req.apply(&r, now()).unwrap_err().code(), "IN_PAST");
    }

    #[test]
    fn cancelling_twice_is_refused() {
        let mut r = reservation(t(10, 0), t(11, 0));
        assert!(check_cancellable(&r, now()).is_ok());
        r.status = ReservationStatus::Cancelled;
        assert_eq!(
            check_cancellable(&r, now()).unwrap_err().code(),
            "ALREADY_CANCELLED"
        );
    }

    #[test]
    fn the_window_defaults_to_thirty_days_from_now() {
        let w = Window::resolve(None, None, now()).unwrap();
        assert_eq!(w.from, now());
        assert_eq!(w.to, now() + Duration::days(30));
        let from = t(12, 0);
        let w = Window::resolve(Some(from), None, now()).unwrap();
        assert_eq!(w.to, from + Duration::days(30));
    }

    #[test]
    fn the_window_must_run_forward_for_at_most_366_days() {
        assert_eq!(
            Window::resolve(Some(t(12, 0)), Some(t(12, 0)), now())
                .unwrap_err()
                .code(),
            "INVALID_TIME_RANGE"
        );
        assert!(Window::resolve(Some(t(0, 0)), Some(t(0, 0) + Duration::days(366)), now()).is_ok());
        assert_eq!(
            Window::resolve(
                Some(t(0, 0)),
                Some(t(0, 0) + Duration::days(366) + Duration::seconds(1)),
                now()
            )
            .unwrap_err()
            .code(),
            "BAD_USER_INPUT"
        );
    }
}
