//! The input objects of rooms and reservations (series' live with `Series`).

use super::*;

/// One opening interval of a weekday.
#[derive(InputObject)]
pub struct OpeningHoursInput {
    pub weekday: Weekday,
    /// `HH:MM`, inclusive.
    pub opens: LocalTimeScalar,
    /// `HH:MM`, exclusive; after `opens`; `24:00` is midnight at the end of the day.
    pub closes: LocalTimeScalar,
}

/// A room's house rules; every field optional, omitted ones take their defaults.
#[derive(InputObject)]
pub struct RoomPolicyInput {
    /// 1-10080; not above `maxDurationMinutes`.
    pub min_duration_minutes: Option<i32>,
    /// 1-10080.
    pub max_duration_minutes: Option<i32>,
    /// 0-240.
    #[graphql(default = 0)]
    pub buffer_minutes: i32,
    /// 1-3650.
    pub booking_horizon_days: Option<i32>,
    /// At most 28 entries, each with `opens` before `closes`; several per weekday are allowed.
    pub opening_hours: Option<Vec<OpeningHoursInput>>,
    #[graphql(default = false)]
    pub check_in_required: bool,
    /// 0-120.
    #[graphql(default = 10)]
    pub check_in_opens_minutes: i32,
    /// 1-240.
    #[graphql(default = 10)]
    pub auto_release_minutes: i32,
    /// 1-168: hours one person may hold this room per ISO week (Monday 00:00 to Monday 00:00
    /// in the room's time zone); null: no limit.
    pub max_hours_per_person_per_week: Option<i32>,
    /// 1-1000: reservations of this room one person may hold that have not ended; null: no
    /// limit.
    pub max_active_reservations_per_person: Option<i32>,
    /// Bookings by anyone but the room's managers and admins are PENDING until a manager
    /// approves them (API.md "Room managers and approval").
    #[graphql(default = false)]
    pub approval_required: bool,
    /// 1-168: how long a PENDING reservation waits at most (never past its start).
    #[graphql(default = 48)]
    pub approval_timeout_hours: i32,
}

impl RoomPolicyInput {
    pub fn into_policy(self) -> Result<domain::RoomPolicy, Error> {
        domain::RoomPolicy {
            min_duration_minutes: self.min_duration_minutes,
            max_duration_minutes: self.max_duration_minutes,
            buffer_minutes: self.buffer_minutes,
            booking_horizon_days: self.booking_horizon_days,
            opening_hours: self.opening_hours.map(|hours| {
                hours
                    .into_iter()
                    .map(|h| domain::OpeningHours {
                        weekday: h.weekday.into(),
                        opens: h.opens.0,
                        closes: h.closes.0,
                    })
                    .collect()
            }),
            check_in_required: self.check_in_required,
            check_in_opens_minutes: self.check_in_opens_minutes,
            auto_release_minutes: self.auto_release_minutes,
            max_hours_per_person_per_week: self.max_hours_per_person_per_week,
            max_active_reservations_per_person: self.max_active_reservations_per_person,
            approval_required: self.approval_required,
            approval_timeout_hours: self.approval_timeout_hours,
        }
        .validate()
    }
}

/// A new room.
#[derive(InputObject)]
pub struct CreateRoomInput {
    /// 1-100 characters after trimming; unique ignoring case among rooms not archived.
    pub name: String,
    /// 1-10000.
    pub capacity: i32,
    /// An IANA name; the server's default zone (`--default-time-zone`) if omitted.
    pub time_zone: Option<String>,
    /// 1-100 characters after trimming.
    pub building: Option<String>,
    /// 1-100 characters after trimming.
    pub floor: Option<String>,
    /// At most 50; each trimmed and lower-cased, 1-50 characters of a-z, 0-9 and `-`.
    pub features: Option<Vec<String>>,
    /// At most 2000 characters.
    pub description: Option<String>,
    /// Omitted: no limits, no buffer, always open, no check-in.
    pub policy: Option<RoomPolicyInput>,
    /// Who runs the room: token subjects, or `role:<name>` for everyone with that role; at
    /// most 50.
    pub managers: Option<Vec<String>>,
}

/// Changes to a room: omitted fields keep their value; `null` clears an optional one. A
/// given `policy` replaces the whole policy.
#[derive(InputObject)]
pub struct UpdateRoomInput {
    pub id: ID,
    pub name: Option<String>,
    pub capacity: Option<i32>,
    pub time_zone: Option<String>,
    pub building: MaybeUndefined<String>,
    pub floor: MaybeUndefined<String>,
    pub features: Option<Vec<String>>,
    pub description: MaybeUndefined<String>,
    pub policy: Option<RoomPolicyInput>,
    /// Replaces the managers (admins only: a room's managers may change everything else).
    pub managers: Option<Vec<String>>,
}

/// A new reservation.
#[derive(InputObject)]
pub struct BookRoomInput {
    pub room_id: ID,
    /// Not before the server's current time.
    pub start: Timestamp,
    /// After `start`.
    pub end: Timestamp,
    /// At most 200 characters.
    pub title: Option<String>,
    /// 1-100 characters after trimming. Required in open mode; in secured mode the token's
    /// `name` is used, and a member may only repeat it (admins book on behalf of anyone).
    pub organizer_name: Option<String>,
    /// At most 254 characters, shaped like an address. Required in open mode; in secured mode
    /// the token's `email` is used, and a member may only repeat it.
    pub organizer_email: Option<String>,
    /// 1-200 characters: a retry with the same key and input within 24 hours returns the
    /// first success's reservation and books nothing (API.md "Idempotent mutations").
    pub idempotency_key: Option<String>,
}

/// A move of a reservation: omitted fields keep their value; at least one must be given.
#[derive(InputObject)]
pub struct RescheduleReservationInput {
    pub id: ID,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub room_id: Option<ID>,
    /// 1-200 characters: a retry with the same key and input within 24 hours returns the
    /// reservation as it is now and moves nothing.
    pub idempotency_key: Option<String>,
}
