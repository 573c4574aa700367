//! Writes: rooms and reservations. Each validates in `domain`, then checks and writes in one
//! transaction in `db`, which publishes the change once committed.

use async_graphql::{Context, Object, Result, ID};
use chrono::Utc;

use super::types::{BookRoomInput, CreateRoomInput, RescheduleReservationInput, Reservation, Room};
use super::{data, parse_id, GqlResultExt};
use crate::db::Db;
use crate::domain::{BookingInput, BookingRequest, Capacity, RescheduleRequest, RoomName};

/// The root of every write.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a room. Its name is trimmed and must be unique ignoring case (`ALREADY_EXISTS`).
    async fn create_room(&self, ctx: &Context<'_>, input: CreateRoomInput) -> Result<Room> {
        let name = RoomName::parse(&input.name).gql()?;
        let capacity = Capacity::parse(input.capacity).gql()?;
        Ok(Room(
            data::<Db>(ctx)?.create_room(name, capacity).await.gql()?,
        ))
    }

    /// Books a room for `[start, end)`. Refused with `INVALID_TIME_RANGE` unless start is
    /// before end, `IN_PAST` if it starts before now, `OVERLAP` (naming
    /// `conflictingReservationId`) if a CONFIRMED reservation of the room is in the way.
    async fn book_room(&self, ctx: &Context<'_>, input: BookRoomInput) -> Result<Reservation> {
        let room_id = parse_id(&input.room_id, "room").gql()?;
        let request = BookingRequest::validate(
            BookingInput {
                room_id,
                start: input.start.0,
                end: input.end.0,
                title: input.title.as_deref(),
                organizer_name: &input.organizer_name,
                organizer_email: &input.organizer_email,
            },
            Utc::now(),
        )
        .gql()?;
        Ok(Reservation(data::<Db>(ctx)?.book(request).await.gql()?))
    }

    /// Cancels a reservation; its slot is free again. `ALREADY_CANCELLED` if it was, `IN_PAST`
    /// if it has ended.
    async fn cancel_reservation(&self, ctx: &Context<'_>, id: ID) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        Ok(Reservation(data::<Db>(ctx)?.cancel(id).await.gql()?))
    }

    /// Moves a reservation to a new start, end and/or room; omitted fields keep their value.
    /// The new slot obeys every booking rule, ignoring the reservation itself.
    async fn reschedule_reservation(
        &self,
        ctx: &Context<'_>,
        input: RescheduleReservationInput,
    ) -> Result<Reservation> {
        let id = parse_id(&input.id, "reservation").gql()?;
        let room_id = input
            .room_id
            .map(|r| parse_id(&r, "room"))
            .transpose()
            .gql()?;
        let request =
            RescheduleRequest::new(input.start.map(|t| t.0), input.end.map(|t| t.0), room_id)
                .gql()?;
        Ok(Reservation(
            data::<Db>(ctx)?.reschedule(id, request).await.gql()?,
        ))
    }
}
