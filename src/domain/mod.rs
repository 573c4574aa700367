//! Pure rules of booking: validated values and the checks API.md names. No I/O, no clock:
//! every function that depends on time takes `now`.

mod approval;
mod check_in;
mod fields;
mod idempotency;
mod model;
pub mod page;
mod room;
mod series;
mod slot;

pub(crate) use crate::instant::format as fmt_instant;
pub use approval::{approval_deadline, check_pending, decision_reason, MAX_DECISION_REASON_CHARS};
pub use check_in::{auto_release_at, check_in, check_out, CheckIn};
pub use fields::{
    building_key, description, place, Capacity, Email, OrganizerName, RoomName, Title,
};
pub use idempotency::{Once, IDEMPOTENCY_WINDOW_MICROS};
pub use model::{
    Approval, ApprovalRecord, Owner, Reservation, ReservationSlot, ReservationStatus, Room,
    RoomDetails,
};
pub use room::{
    buffer_violation, earliest_at_or_after, free_slots, iso_weeks, local_instant,
    opening_intervals, parse_time_zone, resolve_local, Features, FreeSlotsQuery, LocalTime,
    Managers, OpeningHours, PolicyRule, RoomPolicy, Weekday,
};
pub use series::{
    check_spacing, ConflictMode, Frequency, OccurrenceConflict, Recurrence, Series, SeriesBooking,
    SeriesEnd, SeriesRequest,
};
pub use slot::{
    check_cancellable, BookingInput, BookingRequest, OnBehalf, RescheduleRequest, Slot, Window,
};

use chrono::{DateTime, Utc};

/// Instants are kept at microsecond precision, the precision of storage.
pub fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The inverse of [`to_micros`]; `None` outside chrono's range.
pub fn from_micros(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

/// `t` truncated to whole microseconds, so what is validated is exactly what is stored.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    from_micros(to_micros(t)).unwrap_or(t)
}
