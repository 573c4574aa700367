//! Read-only fields.

use async_graphql::{Context, Object, Result, ID};

use super::scalars::Timestamp;
use super::types::{
    reservations_connection, ListId, Node, Reservation, ReservationConnection, Room,
    RoomConnection, Series, Viewer,
};
use super::{data, parse_id, GqlResultExt, ListLimit};
use crate::auth::{principal, Need};
use crate::db::{Db, ReservationList, RoomFilter};
use crate::domain::{self, Slot, Window};
use crate::error::Result as DomainResult;

/// The root of every read.
pub struct Query;

#[Object]
impl Query {
    /// Rooms, sorted by name: with `minCapacity`, those seating at least that many; with
    /// `building`, those in it (ignoring case); with `features`, those having all of them.
    /// Archived rooms only with `includeArchived`.
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        min_capacity: Option<i32>,
        building: Option<String>,
        features: Option<Vec<String>>,
        #[graphql(default_with = "Some(false)")] include_archived: Option<bool>,
    ) -> Result<Vec<Room>> {
        let max = data::<ListLimit>(ctx)?.0;
        let filter = room_filter(
            min_capacity,
            building,
            features,
            include_archived.unwrap_or(false),
        )
        .gql()?;
        let rooms = data::<Db>(ctx)?.rooms(filter, max).await.gql()?;
        Ok(rooms.into_iter().map(Room).collect())
    }

    /// One room, or null if there is none with that id.
    async fn room(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Room>> {
        let id = parse_id(&id, "room").gql()?;
        Ok(data::<Db>(ctx)?.room(id).await.gql()?.map(Room))
    }

    /// One reservation of any status, or null if there is none with that id.
    #[graphql(guard = "Need::Member")]
    async fn reservation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Reservation>> {
        let id = parse_id(&id, "reservation").gql()?;
        Ok(data::<Db>(ctx)?
            .reservation(id)
            .await
            .gql()?
            .map(Reservation::from))
    }

    /// One series (`bookSeries`), or null if there is none with that id.
    #[graphql(guard = "Need::Member")]
    async fn series(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Series>> {
        let id = parse_id(&id, "series").gql()?;
        Ok(data::<Db>(ctx)?.series(id).await.gql()?.map(Series))
    }

    /// The room, reservation or series with this id (ids are UUIDs, unique across the three),
    /// or null if there is none. Rooms are anyone's to see; reservations and series need a
    /// signed-in caller, as `reservation` and `series` do.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        super::types::find(ctx, &id, "node").await
    }

    /// `node` for at most 100 ids, in the order given: null for each unknown one, and null
    /// with an error (at its index) for each the caller may not see.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Result<Node>>>> {
        super::types::find_each(ctx, &ids).await
    }

    /// Reservations overlapping `[from, to)`, sorted by start. `from` defaults to now and `to`
    /// to `from` + 30 days; the window may span at most 366 days. Only CONFIRMED ones unless
    /// `includeCancelled`; only one room's with `roomId`.
    #[graphql(guard = "Need::Member")]
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        room_id: Option<ID>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<Vec<Reservation>> {
        let now = data::<Db>(ctx)?.now();
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), now).gql()?;
        let room_id = room_id.map(|id| parse_id(&id, "room")).transpose().gql()?;
        let list = data::<Db>(ctx)?
            .reservations(
                window,
                room_id,
                include_cancelled.unwrap_or(false),
                data::<ListLimit>(ctx)?.0,
            )
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation::from).collect())
    }

    /// PENDING reservations waiting for the caller's decision: of the rooms they manage (every
    /// room for admins), or of room `roomId` (`FORBIDDEN` unless they manage it), sorted by
    /// `approvalDeadline`.
    #[graphql(guard = "Need::Member")]
    async fn pending_approvals(
        &self,
        ctx: &Context<'_>,
        room_id: Option<ID>,
    ) -> Result<Vec<Reservation>> {
        let room_id = room_id.map(|id| parse_id(&id, "room")).transpose().gql()?;
        let actor = crate::auth::principal(ctx)?.actor();
        let list = data::<Db>(ctx)?
            .pending_approvals(actor, room_id, data::<ListLimit>(ctx)?.0)
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation::from).collect())
    }

    /// `reservations` as pages (API.md "Pages"): by start, then id; `first`/`after` forward,
    /// `last`/`before` backward (1-500); filters and window defaults as `reservations`.
    #[graphql(guard = "Need::Member")]
    #[allow(clippy::too_many_arguments)]
    async fn reservations_connection(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        room_id: Option<ID>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<ReservationConnection> {
        let include_cancelled = include_cancelled.unwrap_or(false);
        let id = ListId::new(
            "Query.reservationsConnection",
            &[
                &from.map(|t| t.0),
                &to.map(|t| t.0),
                &room_id,
                &include_cancelled,
            ],
        );
        let window =
            Window::resolve(from.map(|t| t.0), to.map(|t| t.0), data::<Db>(ctx)?.now()).gql()?;
        let list = ReservationList {
            room_id: room_id.map(|id| parse_id(&id, "room")).transpose().gql()?,
            owner: None,
            include_cancelled,
            check_room: true,
        };
        reservations_connection(ctx, id, list, window, first, after, last, before).await
    }

    /// `rooms` as pages (API.md "Pages"): by name, then id; filters as `rooms`.
    #[allow(clippy::too_many_arguments)]
    async fn rooms_connection(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        min_capacity: Option<i32>,
        building: Option<String>,
        features: Option<Vec<String>>,
        #[graphql(default_with = "Some(false)")] include_archived: Option<bool>,
    ) -> Result<RoomConnection> {
        let include_archived = include_archived.unwrap_or(false);
        let id = ListId::new(
            "Query.roomsConnection",
            &[&min_capacity, &building, &features, &include_archived],
        );
        let req = id
            .request::<(String, uuid::Uuid)>(first, after.as_deref(), last, before.as_deref())
            .gql()?;
        let filter = room_filter(min_capacity, building, features, include_archived).gql()?;
        let mut rooms = data::<Db>(ctx)?.all_rooms(filter).await.gql()?;
        let key = |r: &domain::Room| (r.name.clone(), r.id);
        rooms.sort_by_key(key);
        let page = crate::domain::page::page_of(rooms, key, &req);
        Ok(id.connection(page, key, Room).into())
    }

    /// Who the caller is, in every mode: anonymous callers get no subject and no roles; in
    /// open mode (no keys configured) everyone is an admin without a subject.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        Ok(Viewer(principal(ctx)?.clone()))
    }

    /// Rooms where `bookRoom` for `[start, end)` would succeed right now: nothing in the way
    /// and every policy of the room satisfied (buffer, durations, horizon, opening hours; the
    /// quotas too, for a caller whose token names their email).
    /// Never archived ones. Filters as `rooms`; sorted by capacity then name.
    async fn available_rooms(
        &self,
        ctx: &Context<'_>,
        start: Timestamp,
        end: Timestamp,
        min_capacity: Option<i32>,
        building: Option<String>,
        features: Option<Vec<String>>,
    ) -> Result<Vec<Room>> {
        let slot = Slot::new(start.0, end.0).gql()?;
        let filter = room_filter(min_capacity, building, features, false).gql()?;
        let rooms = data::<Db>(ctx)?
            .available_rooms(
                slot,
                filter,
                caller_email(ctx)?,
                data::<Db>(ctx)?.now(),
                data::<ListLimit>(ctx)?.0,
            )
            .await
            .gql()?;
        Ok(rooms.into_iter().map(Room).collect())
    }
}

/// The caller's email, which quotas count by (API.md "Quotas"), if their token has one.
pub(super) fn caller_email(ctx: &Context<'_>) -> Result<Option<String>> {
    Ok(crate::auth::principal(ctx)?
        .identity()
        .and_then(|id| id.email.clone()))
}

/// The filter of `rooms` and `availableRooms`: building and features normalised as stored.
fn room_filter(
    min_capacity: Option<i32>,
    building: Option<String>,
    features: Option<Vec<String>>,
    include_archived: bool,
) -> DomainResult<RoomFilter> {
    let features = features
        .unwrap_or_default()
        .iter()
        .map(|f| domain::Features::parse_one(f))
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(RoomFilter {
        min_capacity,
        building_key: building.as_deref().map(domain::building_key),
        features,
        include_archived,
    })
}
