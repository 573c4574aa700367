//! Output and input types of the schema, wrapping the domain values.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, Result, ID};

use super::loaders::RoomLoader;
use super::scalars::Timestamp;
use super::{data, GqlResultExt, ListLimit};
use crate::db::Db;
use crate::domain::{self, Window};
use crate::error::Error;

/// A bookable meeting room.
pub struct Room(pub domain::Room);

#[Object]
impl Room {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Unique among rooms, ignoring case.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// How many people the room seats.
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }

    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// This room's CONFIRMED reservations overlapping `[from, to)`, sorted by start. `from`
    /// defaults to now and `to` to `from` + 30 days; the window may span at most 366 days.
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<Reservation>> {
        let window =
            Window::resolve(from.map(|t| t.0), to.map(|t| t.0), chrono::Utc::now()).gql()?;
        let list = data::<Db>(ctx)?
            .reservations_of(&self.0, window, data::<ListLimit>(ctx)?.0)
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation).collect())
    }
}

/// Whether a reservation holds its slot.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReservationStatus")]
pub enum ReservationStatus {
    /// Holds its slot: no other reservation of the room may overlap it.
    Confirmed,
    /// Cancelled: blocks nothing.
    Cancelled,
}

impl From<domain::ReservationStatus> for ReservationStatus {
    fn from(s: domain::ReservationStatus) -> Self {
        match s {
            domain::ReservationStatus::Confirmed => ReservationStatus::Confirmed,
            domain::ReservationStatus::Cancelled => ReservationStatus::Cancelled,
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

    /// Inclusive.
    async fn start(&self) -> Timestamp {
        Timestamp(self.0.start)
    }

    /// Exclusive: a booking may start exactly when this one ends.
    async fn end(&self) -> Timestamp {
        Timestamp(self.0.end)
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
}

/// Loads one room through the batching loader; a reservation's room always exists.
pub(super) async fn room_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Room> {
    data::<DataLoader<RoomLoader>>(ctx)?
        .load_one(id)
        .await
        .map_err(|e| e.extend())?
        .map(Room)
        .ok_or_else(|| Error::internal(format_args!("room {id} of a reservation is missing")))
        .gql()
}

/// A new room.
#[derive(InputObject)]
pub struct CreateRoomInput {
    /// 1-100 characters after trimming; unique ignoring case.
    pub name: String,
    /// 1-10000.
    pub capacity: i32,
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
    /// 1-100 characters after trimming.
    pub organizer_name: String,
    /// At most 254 characters, shaped like an address.
    pub organizer_email: String,
}

/// A move of a reservation: omitted fields keep their value; at least one must be given.
#[derive(InputObject)]
pub struct RescheduleReservationInput {
    pub id: ID,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub room_id: Option<ID>,
}
