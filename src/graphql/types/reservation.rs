//! `Reservation` and its status.

use super::*;

/// Whether a reservation holds its slot.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReservationStatus")]
pub enum ReservationStatus {
    /// Holds its slot: no other reservation of the room may overlap it.
    Confirmed,
    /// Cancelled: blocks nothing.
    Cancelled,
    /// Released because nobody checked in in time: blocks nothing.
    Released,
}

impl From<domain::ReservationStatus> for ReservationStatus {
    fn from(s: domain::ReservationStatus) -> Self {
        match s {
            domain::ReservationStatus::Confirmed => ReservationStatus::Confirmed,
            domain::ReservationStatus::Cancelled => ReservationStatus::Cancelled,
            domain::ReservationStatus::Released => ReservationStatus::Released,
        }
    }
}

/// A room held for the half-open interval `[start, end)`.
pub struct Reservation(pub domain::Reservation);

#[Object]
impl Reservation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn room(&self, ctx: &Context<'_>) -> Result<Room> {
        room_by_id(ctx, self.0.room_id).await
    }

    /// Inclusive. With `timeZone` (an IANA name), written with that zone's offset at that
    /// instant; without, in UTC with `Z`.
    async fn start(&self, time_zone: Option<String>) -> Result<Zoned> {
        Zoned::new(self.0.start, time_zone.as_deref()).gql()
    }

    /// Exclusive: a booking may start exactly when this one ends. `timeZone` as for `start`.
    async fn end(&self, time_zone: Option<String>) -> Result<Zoned> {
        Zoned::new(self.0.end, time_zone.as_deref()).gql()
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn organizer_name(&self) -> &str {
        &self.0.organizer_name
    }

    async fn organizer_email(&self) -> &str {
        &self.0.organizer_email
    }

    async fn status(&self) -> ReservationStatus {
        self.0.status.into()
    }

    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }

    /// When it was checked in (`checkIn`).
    async fn checked_in_at(&self) -> Option<Timestamp> {
        self.0.checked_in_at.map(Timestamp)
    }

    /// When it was released because nobody checked in in time.
    async fn released_at(&self) -> Option<Timestamp> {
        self.0.released_at.map(Timestamp)
    }

    /// The series this reservation was booked in (`bookSeries`), if any. Cancelled or moved
    /// on its own, it stays in its series.
    async fn series(&self, ctx: &Context<'_>) -> Result<Option<Series>> {
        let Some(id) = self.0.series_id else {
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
