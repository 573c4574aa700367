//! Writes: rooms and reservations. Each validates in `domain`, then checks and writes in one
//! transaction in `db`, which publishes the change once committed.

use async_graphql::{Context, Object, Result, ID};

use super::scalars::Timestamp;
use super::types::{
    BookRoomInput, BookSeriesInput, CreateRoomInput, RescheduleReservationInput, Reservation, Room,
    Series, SeriesBooking, UpdateRoomInput,
};
use super::{data, parse_id, DefaultTimeZone, GqlResultExt};
use crate::auth::{principal, Actor, Need};
use crate::db::{Booked, Db, Decision};
use crate::domain::{
    self, BookingInput, BookingRequest, Capacity, Features, Managers, Once, RescheduleRequest,
    RoomDetails, RoomName, RoomPolicy, SeriesRequest,
};
use crate::error::{PolicyRule, Result as DomainResult};
use crate::metrics::Metrics;
use serde_json::json;

/// The root of every write.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a room. Its name is trimmed and must be unique ignoring case among rooms not
    /// archived (`ALREADY_EXISTS`).
    #[graphql(guard = "Need::Admin")]
    async fn create_room(&self, ctx: &Context<'_>, input: CreateRoomInput) -> Result<Room> {
        let default_zone = data::<DefaultTimeZone>(ctx)?.0;
        let details = new_room(input, default_zone).gql()?;
        Ok(Room(data::<Db>(ctx)?.create_room(details).await.gql()?))
    }

    /// Changes a room: omitted fields keep their value, a given `policy` replaces the whole
    /// policy. Existing reservations are never changed or refused by it.
    /// Admins, and the room's managers (who may not change `managers`).
    #[graphql(guard = "Need::Member")]
    async fn update_room(&self, ctx: &Context<'_>, input: UpdateRoomInput) -> Result<Room> {
        let id = parse_id(&input.id, "room").gql()?;
        let caller = principal(ctx)?;
        if input.managers.is_some() && !caller.is_admin() {
            return Err(crate::Error::Forbidden(
                "only admins set a room's managers; leave out `managers`".into(),
            ))
            .gql();
        }
        let change = room_change(input).gql()?;
        Ok(Room(
            data::<Db>(ctx)?
                .update_room(id, change, caller.actor())
                .await
                .gql()?,
        ))
    }

    /// Takes a room out of service: it can no longer be booked and leaves `rooms` and
    /// `availableRooms`. CONFIRMED reservations that have not ended refuse it (`ROOM_IN_USE`,
    /// naming them in `extensions.reservationIds`) unless `cancelFutureReservations`, which
    /// cancels them in the same transaction. An archived room is returned unchanged.
    #[graphql(guard = "Need::Admin")]
    async fn archive_room(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default_with = "Some(false)")] cancel_future_reservations: Option<bool>,
    ) -> Result<Room> {
        let id = parse_id(&id, "room").gql()?;
        Ok(Room(
            data::<Db>(ctx)?
                .archive_room(id, cancel_future_reservations.unwrap_or(false))
                .await
                .gql()?,
        ))
    }

    /// Puts an archived room back in service; `ALREADY_EXISTS` if another room has taken its
    /// name meanwhile.
    #[graphql(guard = "Need::Admin")]
    async fn restore_room(&self, ctx: &Context<'_>, id: ID) -> Result<Room> {
        let id = parse_id(&id, "room").gql()?;
        Ok(Room(data::<Db>(ctx)?.restore_room(id).await.gql()?))
    }

    /// Books a room for `[start, end)`. Refused with `INVALID_TIME_RANGE` unless start is
    /// before end, `IN_PAST` if it starts before now, `OVERLAP` (naming
    /// `conflictingReservationId`) if a CONFIRMED or PENDING reservation of the room is in the
    /// way. In a room with `approvalRequired`, PENDING unless the caller manages the room.
    #[graphql(guard = "Need::Member")]
    async fn book_room(&self, ctx: &Context<'_>, input: BookRoomInput) -> Result<Reservation> {
        let db = data::<Db>(ctx)?;
        let booked = async {
            let room_id = parse_id(&input.room_id, "room")?;
            let caller = principal(ctx).map_err(|e| crate::Error::internal(e.message))?;
            let organizer = caller.organizer(
                input.organizer_name.as_deref(),
                input.organizer_email.as_deref(),
            )?;
            let once = input
                .idempotency_key
                .as_deref()
                .map(|key| {
                    let input = json!({
                        "roomId": room_id,
                        "start": domain::to_micros(input.start.0),
                        "end": domain::to_micros(input.end.0),
                        "title": input.title,
                        "organizerName": organizer.name,
                        "organizerEmail": organizer.email,
                    });
                    Once::new(caller.key_scope(), key, "bookRoom", &input)
                })
                .transpose()?;
            let request = BookingRequest::validate(
                BookingInput {
                    room_id,
                    start: input.start.0,
                    end: input.end.0,
                    title: input.title.as_deref(),
                    organizer_name: &organizer.name,
                    organizer_email: &organizer.email,
                    owner: organizer.owner,
                },
                db.now(),
            )
            .map(|request| BookingRequest {
                on_behalf: organizer.on_behalf,
                ..request
            });
            match (request, once) {
                (Ok(request), once) => db.book(request, caller.actor(), once).await,
                // A retry after the slot's start passed: the first success still answers it.
                (Err(refused), Some(once)) => match db.replay_booking(once).await? {
                    Some(reservation) => Ok(Booked {
                        reservation,
                        replayed: true,
                    }),
                    None => Err(refused),
                },
                (Err(refused), None) => Err(refused),
            }
        }
        .await;
        data::<Metrics>(ctx)?.booking(match &booked {
            Ok(b) if b.replayed => "replayed",
            Ok(b) if b.reservation.status == domain::ReservationStatus::Pending => "PENDING",
            Ok(_) => "booked",
            // Each quota apart from the other policies: what operators tune.
            Err(crate::Error::PolicyViolation { policy, .. })
                if matches!(policy, PolicyRule::QuotaHours | PolicyRule::QuotaActive) =>
            {
                policy.as_str()
            }
            Err(e) => e.code(),
        });
        Ok(Reservation::from(booked.gql()?.reservation))
    }

    /// Cancels a reservation; its slot is free again. `ALREADY_CANCELLED` if it was, `IN_PAST`
    /// if it has ended. With `idempotencyKey`, a retry returns the reservation as it is now.
    #[graphql(guard = "Need::Member")]
    async fn cancel_reservation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: Option<String>,
    ) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        let once = once(
            ctx,
            idempotency_key,
            "cancelReservation",
            json!({ "id": id }),
        )?;
        Ok(Reservation::from(
            data::<Db>(ctx)?.cancel(id, actor(ctx)?, once).await.gql()?,
        ))
    }

    /// Moves a reservation to a new start, end and/or room; omitted fields keep their value.
    /// The new slot obeys every booking rule, ignoring the reservation itself.
    #[graphql(guard = "Need::Member")]
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
        let fingerprint = json!({
            "id": id,
            "start": input.start.map(|t| domain::to_micros(t.0)),
            "end": input.end.map(|t| domain::to_micros(t.0)),
            "roomId": room_id,
        });
        let once = once(
            ctx,
            input.idempotency_key,
            "rescheduleReservation",
            fingerprint,
        )?;
        let request =
            RescheduleRequest::new(input.start.map(|t| t.0), input.end.map(|t| t.0), room_id)
                .gql()?;
        Ok(Reservation::from(
            data::<Db>(ctx)?
                .reschedule(id, request, actor(ctx)?, once)
                .await
                .gql()?,
        ))
    }

    /// Checks in to a reservation: allowed while it is CONFIRMED and now is in
    /// `[start - checkInOpensMinutes, start + autoReleaseMinutes)` if its room requires
    /// check-in, else in `[start - checkInOpensMinutes, end)`; otherwise `CHECK_IN_CLOSED`.
    /// Checked in already: returned unchanged.
    #[graphql(guard = "Need::Member")]
    async fn check_in(&self, ctx: &Context<'_>, id: ID) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        Ok(Reservation::from(
            data::<Db>(ctx)?.check_in(id, actor(ctx)?).await.gql()?,
        ))
    }

    /// Ends a reservation in progress now (`start < now < end`, else `NOT_IN_PROGRESS`): its
    /// `end` becomes now and the rest of the slot is free.
    #[graphql(guard = "Need::Member")]
    async fn check_out(&self, ctx: &Context<'_>, id: ID) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        Ok(Reservation::from(
            data::<Db>(ctx)?.check_out(id, actor(ctx)?).await.gql()?,
        ))
    }

    /// Books a recurring meeting in one transaction. `start`/`end` are the first occurrence;
    /// the others are expanded in the room's time zone (same local start, same length; a local
    /// start that does not exist is skipped, an ambiguous one takes the earlier offset). Every
    /// occurrence obeys every booking rule and policy as if booked alone. A refused one makes
    /// the whole series `SERIES_CONFLICT` (`extensions.conflicts` lists each), unless
    /// `onConflict: SKIP`, which books the others and reports it in `skipped`.
    #[graphql(guard = "Need::Member")]
    async fn book_series(
        &self,
        ctx: &Context<'_>,
        input: BookSeriesInput,
    ) -> Result<SeriesBooking> {
        let room_id = parse_id(&input.room_id, "room").gql()?;
        let recurrence = input.recurrence.into_recurrence().gql()?;
        let organizer = principal(ctx)?
            .organizer(
                input.organizer_name.as_deref(),
                input.organizer_email.as_deref(),
            )
            .gql()?;
        let mut request = SeriesRequest::validate(
            room_id,
            input.start.0,
            input.end.0,
            recurrence,
            input.title.as_deref(),
            &organizer.name,
            &organizer.email,
            input.on_conflict.into(),
        )
        .gql()?;
        request.owner = organizer.owner;
        request.on_behalf = organizer.on_behalf;
        let fingerprint = json!({
            "roomId": room_id,
            "start": domain::to_micros(input.start.0),
            "end": domain::to_micros(input.end.0),
            "recurrence": format!("{:?}", request.recurrence),
            "title": input.title,
            "organizerName": organizer.name,
            "organizerEmail": organizer.email,
            "onConflict": format!("{:?}", request.on_conflict),
        });
        let once = once(ctx, input.idempotency_key, "bookSeries", fingerprint)?;
        Ok(SeriesBooking(
            data::<Db>(ctx)?
                .book_series(request, actor(ctx)?, once)
                .await
                .gql()?,
        ))
    }

    /// Cancels every CONFIRMED occurrence of the series starting at or after `from` (default
    /// and earliest: now; occurrences already started are kept), in one transaction, with a
    /// CANCELLED event each.
    #[graphql(guard = "Need::Member")]
    async fn cancel_series(
        &self,
        ctx: &Context<'_>,
        id: ID,
        from: Option<Timestamp>,
    ) -> Result<Series> {
        let id = parse_id(&id, "series").gql()?;
        Ok(Series(
            data::<Db>(ctx)?
                .cancel_series(id, from.map(|t| t.0), actor(ctx)?)
                .await
                .gql()?,
        ))
    }

    /// Approves a PENDING reservation (managers of its room and admins; else `FORBIDDEN`):
    /// it becomes CONFIRMED, event `APPROVED`. Not PENDING, or past its `approvalDeadline`:
    /// `NOT_PENDING`.
    #[graphql(guard = "Need::Member")]
    async fn approve_reservation(&self, ctx: &Context<'_>, id: ID) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        let db = data::<Db>(ctx)?;
        let approved = db.decide(id, Decision::Approve, actor(ctx)?).await;
        Ok(Reservation::from(approved.gql()?))
    }

    /// Declines a PENDING reservation (managers of its room and admins): it becomes DECLINED
    /// and its slot is free again, event `DECLINED`; `reason` (at most 500 characters) is kept
    /// as `decisionReason`. Not PENDING, or past its `approvalDeadline`: `NOT_PENDING`.
    #[graphql(guard = "Need::Member")]
    async fn decline_reservation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> Result<Reservation> {
        let id = parse_id(&id, "reservation").gql()?;
        let reason = domain::decision_reason(reason.as_deref()).gql()?;
        let db = data::<Db>(ctx)?;
        let declined = db.decide(id, Decision::Decline(reason), actor(ctx)?).await;
        Ok(Reservation::from(declined.gql()?))
    }

    /// Approves every PENDING occurrence of a series at once, in one transaction (an
    /// `APPROVED` event each); none PENDING: `NOT_PENDING`.
    #[graphql(guard = "Need::Member")]
    async fn approve_series(&self, ctx: &Context<'_>, id: ID) -> Result<Series> {
        let id = parse_id(&id, "series").gql()?;
        let db = data::<Db>(ctx)?;
        let series = db.decide_series(id, Decision::Approve, actor(ctx)?).await;
        Ok(Series(series.gql()?))
    }

    /// Declines every PENDING occurrence of a series at once, in one transaction (a
    /// `DECLINED` event each, `reason` kept on each); none PENDING: `NOT_PENDING`.
    #[graphql(guard = "Need::Member")]
    async fn decline_series(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> Result<Series> {
        let id = parse_id(&id, "series").gql()?;
        let reason = domain::decision_reason(reason.as_deref()).gql()?;
        let db = data::<Db>(ctx)?;
        let series = db
            .decide_series(id, Decision::Decline(reason), actor(ctx)?)
            .await;
        Ok(Series(series.gql()?))
    }
}

/// The caller's `key` for `operation` with `input` (its fields as given), if a key was sent.
fn once(
    ctx: &Context<'_>,
    key: Option<String>,
    operation: &str,
    input: serde_json::Value,
) -> Result<Option<Once>> {
    let Some(key) = key else { return Ok(None) };
    let scope = principal(ctx)?.key_scope();
    Ok(Some(Once::new(scope, &key, operation, &input).gql()?))
}

/// Whose reservations the caller may change.
fn actor(ctx: &Context<'_>) -> Result<Actor> {
    Ok(principal(ctx)?.actor())
}

fn optional<T>(
    raw: Option<String>,
    parse: impl Fn(&str) -> DomainResult<T>,
) -> DomainResult<Option<T>> {
    raw.as_deref().map(parse).transpose()
}

/// A `createRoom` input, validated, in `default_zone` unless it names one.
fn new_room(input: CreateRoomInput, default_zone: chrono_tz::Tz) -> DomainResult<RoomDetails> {
    Ok(RoomDetails {
        name: RoomName::parse(&input.name)?,
        capacity: Capacity::parse(input.capacity)?,
        time_zone: optional(input.time_zone, domain::parse_time_zone)?.unwrap_or(default_zone),
        building: optional(input.building, |b| domain::place("building", b))?,
        floor: optional(input.floor, |f| domain::place("floor", f))?,
        features: Features::parse(&input.features.unwrap_or_default())?,
        description: optional(input.description, domain::description)?,
        policy: match input.policy {
            Some(p) => p.into_policy()?,
            None => RoomPolicy::default(),
        },
        managers: Managers::parse(&input.managers.unwrap_or_default())?,
    })
}

/// An `updateRoom` input, validated, as a change to a room's current details.
fn room_change(
    input: UpdateRoomInput,
) -> DomainResult<impl FnOnce(RoomDetails) -> RoomDetails + Send + 'static> {
    let name = optional(input.name, RoomName::parse)?;
    let capacity = input.capacity.map(Capacity::parse).transpose()?;
    let time_zone = optional(input.time_zone, domain::parse_time_zone)?;
    let building = input
        .building
        .map_value(|b| domain::place("building", &b))
        .transpose()?;
    let floor = input
        .floor
        .map_value(|f| domain::place("floor", &f))
        .transpose()?;
    let description = input
        .description
        .map_value(|d| domain::description(&d))
        .transpose()?;
    let features = input.features.map(|f| Features::parse(&f)).transpose()?;
    let policy = input.policy.map(|p| p.into_policy()).transpose()?;
    let managers = input.managers.as_deref().map(Managers::parse).transpose()?;
    Ok(move |mut d: RoomDetails| {
        if let Some(name) = name {
            d.name = name;
        }
        if let Some(capacity) = capacity {
            d.capacity = capacity;
        }
        if let Some(tz) = time_zone {
            d.time_zone = tz;
        }
        building.update_to(&mut d.building);
        floor.update_to(&mut d.floor);
        description.update_to(&mut d.description);
        if let Some(features) = features {
            d.features = features;
        }
        if let Some(policy) = policy {
            d.policy = policy;
        }
        if let Some(managers) = managers {
            d.managers = managers;
        }
        d
    })
}
