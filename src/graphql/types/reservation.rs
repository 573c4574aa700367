//! `Reservation` and its status.

use super::*;

/// Where a reservation stands, and whether it holds its slot.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReservationStatus")]
pub enum ReservationStatus {
    /// Holds its slot: no other reservation of the room may overlap it.
    Confirmed,
    /// Cancelled: blocks nothing.
    Cancelled,
    /// Released because nobody checked in in time: blocks nothing.
    Released,
    /// Waiting for a manager's approval (`approvalDeadline`): holds its slot as CONFIRMED does.
    Pending,
    /// Declined by a manager (`decisionReason`): blocks nothing.
    Declined,
    /// Nobody approved it by its `approvalDeadline`: blocks nothing.
    Expired,
}

impl From<domain::ReservationStatus> for ReservationStatus {
    fn from(s: domain::ReservationStatus) -> Self {
        match s {
            domain::ReservationStatus::Confirmed => ReservationStatus::Confirmed,
            domain::ReservationStatus::Cancelled => ReservationStatus::Cancelled,
            domain::ReservationStatus::Released => ReservationStatus::Released,
            domain::ReservationStatus::Pending => ReservationStatus::Pending,
            domain::ReservationStatus::Declined => ReservationStatus::Declined,
            domain::ReservationStatus::Expired => ReservationStatus::Expired,
        }
    }
}

/// A room held for the half-open interval `[start, end)`: in full, or only its slot when a
/// listing's client asked for nothing more (`Reservation::wanted_slots_only`), which saves
/// reading, sending and decoding two thirds of each row. A field outside the slot read from
/// a slot-only one is `INTERNAL` (loud, never a made-up value).
pub struct Reservation(Held);

// Unboxed on purpose: a listing holds 100 of these, and boxing the full one would cost an
// allocation each on the listing path for a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
enum Held {
    Full(domain::Reservation),
    Slot(domain::ReservationSlot),
}

impl From<crate::db::Held> for Reservation {
    fn from(h: crate::db::Held) -> Self {
        match h {
            crate::db::Held::Full(r) => Reservation(Held::Full(r)),
            crate::db::Held::Slot(s) => Reservation(Held::Slot(s)),
        }
    }
}

impl From<domain::Reservation> for Reservation {
    fn from(r: domain::Reservation) -> Self {
        Reservation(Held::Full(r))
    }
}

impl From<domain::ReservationSlot> for Reservation {
    fn from(r: domain::ReservationSlot) -> Self {
        Reservation(Held::Slot(r))
    }
}

/// The fields a `ReservationSlot` answers.
const SLOT_FIELDS: [&str; 6] = ["id", "room", "start", "end", "status", "__typename"];

impl Reservation {
    /// Whether the list field being resolved selects, on its items, only fields a slot
    /// answers (fragments and inline fragments included; skipped fields are gone already).
    pub(in crate::graphql) fn wanted_slots_only(ctx: &Context<'_>) -> bool {
        ctx.field()
            .selection_set()
            .all(|f| Self::is_slot_field(f.name()))
    }

    /// Whether a slot answers the field `name`.
    pub(in crate::graphql) fn is_slot_field(name: &str) -> bool {
        SLOT_FIELDS.contains(&name)
    }

    fn slot(&self) -> domain::ReservationSlot {
        match &self.0 {
            Held::Full(r) => domain::ReservationSlot {
                id: r.id,
                room_id: r.room_id,
                start: r.start,
                end: r.end,
                status: r.status,
            },
            Held::Slot(s) => *s,
        }
    }

    /// The whole reservation; `INTERNAL` on a slot-only one (a field outside `SLOT_FIELDS`).
    fn full(&self) -> Result<&domain::Reservation> {
        match &self.0 {
            Held::Full(r) => Ok(r),
            Held::Slot(s) => Err(Error::internal(format_args!(
                "reservation {} was read as a slot only, for a field outside {SLOT_FIELDS:?}",
                s.id
            )))
            .gql(),
        }
    }
}

#[Object]
impl Reservation {
    pub(super) async fn id(&self) -> ID {
        ID(self.slot().id.to_string())
    }

    async fn room(&self, ctx: &Context<'_>) -> Result<Room> {
        room_by_id(ctx, self.slot().room_id).await
    }

    /// Inclusive. With `timeZone` (an IANA name), written with that zone's offset at that
    /// instant; without, in UTC with `Z`.
    async fn start(&self, time_zone: Option<String>) -> Result<Zoned> {
        Zoned::new(self.slot().start, time_zone.as_deref()).gql()
    }

    /// Exclusive: a booking may start exactly when this one ends. `timeZone` as for `start`.
    async fn end(&self, time_zone: Option<String>) -> Result<Zoned> {
        Zoned::new(self.slot().end, time_zone.as_deref()).gql()
    }

    async fn title(&self) -> Result<Option<&str>> {
        Ok(self.full()?.title.as_deref())
    }

    async fn organizer_name(&self) -> Result<&str> {
        Ok(&self.full()?.organizer_name)
    }

    async fn organizer_email(&self) -> Result<&str> {
        Ok(&self.full()?.organizer_email)
    }

    async fn status(&self) -> ReservationStatus {
        self.slot().status.into()
    }

    async fn created_at(&self) -> Result<Timestamp> {
        Ok(Timestamp(self.full()?.created_at))
    }

    async fn updated_at(&self) -> Result<Timestamp> {
        Ok(Timestamp(self.full()?.updated_at))
    }

    /// When it was checked in (`checkIn`).
    async fn checked_in_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.full()?.checked_in_at.map(Timestamp))
    }

    /// When it was released because nobody checked in in time.
    async fn released_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.full()?.released_at.map(Timestamp))
    }

    /// While PENDING: when it expires (becomes EXPIRED, its slot free) unless a manager of
    /// its room approves or declines it first: the earlier of its start and the time it was
    /// booked or moved plus the room's `approvalTimeoutHours`. Null otherwise.
    async fn approval_deadline(&self) -> Result<Option<Timestamp>> {
        Ok(self.full()?.approval_deadline().map(Timestamp))
    }

    /// When it was approved, declined, or expired.
    async fn decided_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.full()?.decided_at().map(Timestamp))
    }

    /// Why it was declined, as the manager said (`declineReservation`'s `reason`).
    async fn decision_reason(&self) -> Result<Option<&str>> {
        Ok(self.full()?.decision_reason())
    }

    /// The series this reservation was booked in (`bookSeries`), if any. Cancelled or moved
    /// on its own, it stays in its series.
    async fn series(&self, ctx: &Context<'_>) -> Result<Option<Series>> {
        let Some(id) = self.full()?.series_id else {
            return Ok(None);
        };
        data::<DataLoader<SeriesLoader>>(ctx)?
            .load_one(id)
            .await
            .map_err(|e| e.extend())?
            .map(|s| Some(Series(s)))
            .ok_or_else(|| Error::internal(format_args!("series {id} of a reservation is missing")))
            .gql()
    }
}
