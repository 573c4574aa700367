//! `Room`, its house rules (`RoomPolicy`, `OpeningHours`) and what it is free or busy in.

use super::*;

/// A bookable meeting room.
pub struct Room(pub domain::Room);

#[Object]
impl Room {
    pub(super) async fn id(&self) -> ID {
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

    /// The IANA time zone the room's opening hours are read in.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }

    async fn building(&self) -> Option<&str> {
        self.0.building.as_deref()
    }

    async fn floor(&self) -> Option<&str> {
        self.0.floor.as_deref()
    }

    /// Equipment and qualities (`display`, `video-conference`), lower-case, sorted.
    async fn features(&self) -> &[String] {
        self.0.features.names()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// An archived room cannot be booked and is left out of `rooms` and `availableRooms`.
    async fn archived(&self) -> bool {
        self.0.archived
    }

    /// Who runs the room: token subjects, or `role:<name>` for everyone with that role. A
    /// manager may change the room (but not its managers), and cancel, reschedule, check in
    /// and out any of its reservations, and book it on behalf of anyone.
    async fn managers(&self) -> &[String] {
        self.0.managers.entries()
    }

    /// The house rules every booking of this room obeys.
    async fn policy(&self) -> RoomPolicy {
        RoomPolicy(self.0.policy.clone())
    }

    /// The maximal intervals inside `[from, to)` (defaults as `reservations`) in which a
    /// booking would satisfy every rule and policy of the room, at least
    /// `minDurationMinutes` (1-1440) long, sorted by start. A booking of any allowed length
    /// inside one of them succeeds. For a caller whose token names their email, within their
    /// quotas: nothing once they hold `maxActiveReservationsPerPerson`, and no ISO week in
    /// which less than `minDurationMinutes` of their `maxHoursPerPersonPerWeek` is left (a
    /// booking longer than what is left is `QUOTA_HOURS`).
    async fn free_slots(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        #[graphql(default_with = "Some(30)")] min_duration_minutes: Option<i32>,
    ) -> Result<Vec<TimeSlot>> {
        let min_duration_minutes = min_duration_minutes.unwrap_or(30);
        if !(1..=1440).contains(&min_duration_minutes) {
            return Err(Error::BadUserInput(format!(
                "minDurationMinutes must be 1 to 1440 (got {min_duration_minutes})"
            )))
            .gql();
        }
        let now = data::<Db>(ctx)?.now();
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), now).gql()?;
        let slots = data::<Db>(ctx)?
            .free_slots(
                self.0.clone(),
                window,
                i64::from(min_duration_minutes),
                super::super::query::caller_email(ctx)?,
                now,
                data::<ListLimit>(ctx)?.0,
            )
            .await
            .gql()?;
        Ok(slots.into_iter().map(TimeSlot::from).collect())
    }

    /// The start and end of every CONFIRMED reservation overlapping `[from, to)` (defaults as
    /// `reservations`), sorted; nothing else about them.
    async fn busy(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<TimeSlot>> {
        let now = data::<Db>(ctx)?.now();
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), now).gql()?;
        let busy = data::<Db>(ctx)?
            .busy(self.0.id, window, data::<ListLimit>(ctx)?.0)
            .await
            .gql()?;
        Ok(busy.into_iter().map(TimeSlot::from).collect())
    }

    /// This room's CONFIRMED reservations overlapping `[from, to)`, sorted by start. `from`
    /// defaults to now and `to` to `from` + 30 days; the window may span at most 366 days.
    /// Secured mode: members only (anonymous callers see `busy`).
    #[graphql(guard = "Need::Member")]
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<Reservation>> {
        let db = data::<Db>(ctx)?;
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), db.now()).gql()?;
        let max = data::<ListLimit>(ctx)?.0;
        if Reservation::wanted_slots_only(ctx) {
            let list = db.slots_of(&self.0, window, max).await.gql()?;
            return Ok(list.into_iter().map(Reservation::from).collect());
        }
        let list = db.reservations_of(&self.0, window, max).await.gql()?;
        Ok(list.into_iter().map(Reservation::from).collect())
    }

    /// `reservations` as pages (API.md "Pages"): by start, then id; `first`/`after` forward,
    /// `last`/`before` backward (1-500); window defaults as `reservations`.
    #[graphql(guard = "Need::Member")]
    #[allow(clippy::too_many_arguments)] // the connection arguments, as the specification names them
    async fn reservations_connection(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<ReservationConnection> {
        let (from, to) = (from.map(|t| t.0), to.map(|t| t.0));
        let id = ListId::new("Room.reservationsConnection", &[&self.0.id, &from, &to]);
        let db = data::<Db>(ctx)?;
        let window = Window::resolve(from, to, db.now()).gql()?;
        let req = id
            .request::<(i64, uuid::Uuid)>(first, after.as_deref(), last, before.as_deref())
            .gql()?;
        if req.direction == Direction::Forward && req.before.is_none() {
            // The common case (a client paging forward) in one prepared statement, reading
            // only slots when that is all the nodes show, as the list field does.
            let page = db
                .room_page(
                    &self.0,
                    window,
                    req.after,
                    req.limit,
                    nodes_want_slots_only(ctx),
                    wants_total(ctx),
                )
                .await
                .gql()?;
            return Ok(id.connection(page, held_key, Reservation::from).into());
        }
        let list = crate::db::ReservationList {
            room_id: Some(self.0.id),
            ..Default::default()
        };
        reservations_connection(ctx, id, list, window, first, after, last, before).await
    }
}

/// Loads one room through the batching loader; a reservation's room always exists.
pub(in crate::graphql) async fn room_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Room> {
    data::<DataLoader<RoomLoader>>(ctx)?
        .load_one(id)
        .await
        .map_err(|e| e.extend())?
        .map(Room)
        .ok_or_else(|| Error::internal(format_args!("room {id} of a reservation is missing")))
        .gql()
}

/// A half-open interval `[start, end)`.
#[derive(SimpleObject)]
pub struct TimeSlot {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl From<domain::Slot> for TimeSlot {
    fn from(s: domain::Slot) -> Self {
        TimeSlot {
            start: Timestamp(s.start()),
            end: Timestamp(s.end()),
        }
    }
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<domain::Weekday> for Weekday {
    fn from(d: domain::Weekday) -> Self {
        match d {
            domain::Weekday::Monday => Weekday::Monday,
            domain::Weekday::Tuesday => Weekday::Tuesday,
            domain::Weekday::Wednesday => Weekday::Wednesday,
            domain::Weekday::Thursday => Weekday::Thursday,
            domain::Weekday::Friday => Weekday::Friday,
            domain::Weekday::Saturday => Weekday::Saturday,
            domain::Weekday::Sunday => Weekday::Sunday,
        }
    }
}

impl From<Weekday> for domain::Weekday {
    fn from(d: Weekday) -> Self {
        match d {
            Weekday::Monday => domain::Weekday::Monday,
            Weekday::Tuesday => domain::Weekday::Tuesday,
            Weekday::Wednesday => domain::Weekday::Wednesday,
            Weekday::Thursday => domain::Weekday::Thursday,
            Weekday::Friday => domain::Weekday::Friday,
            Weekday::Saturday => domain::Weekday::Saturday,
            Weekday::Sunday => domain::Weekday::Sunday,
        }
    }
}

/// The room is open on `weekday` from `opens` until `closes`, in its local time.
pub struct OpeningHours(domain::OpeningHours);

#[Object]
impl OpeningHours {
    async fn weekday(&self) -> Weekday {
        self.0.weekday.into()
    }

    /// Inclusive.
    async fn opens(&self) -> LocalTimeScalar {
        LocalTimeScalar(self.0.opens)
    }

    /// Exclusive; `24:00` is midnight at the end of the day.
    async fn closes(&self) -> LocalTimeScalar {
        LocalTimeScalar(self.0.closes)
    }
}

/// A room's house rules, checked (after booking rules 1-5) on every booking and reschedule.
pub struct RoomPolicy(domain::RoomPolicy);

#[Object]
impl RoomPolicy {
    /// Shortest booking in minutes; null: no limit.
    async fn min_duration_minutes(&self) -> Option<i32> {
        self.0.min_duration_minutes
    }

    /// Longest booking in minutes; null: no limit.
    async fn max_duration_minutes(&self) -> Option<i32> {
        self.0.max_duration_minutes
    }

    /// Minutes kept free before and after every CONFIRMED reservation.
    async fn buffer_minutes(&self) -> i32 {
        self.0.buffer_minutes
    }

    /// How many days ahead a booking may start; null: no limit.
    async fn booking_horizon_days(&self) -> Option<i32> {
        self.0.booking_horizon_days
    }

    /// When the room may be booked, in its time zone; null: always.
    async fn opening_hours(&self) -> Option<Vec<OpeningHours>> {
        self.0
            .opening_hours
            .as_ref()
            .map(|h| h.iter().copied().map(OpeningHours).collect())
    }

    /// Whether a reservation must be checked in or is released.
    async fn check_in_required(&self) -> bool {
        self.0.check_in_required
    }

    /// How many minutes before its start a reservation may be checked in.
    async fn check_in_opens_minutes(&self) -> i32 {
        self.0.check_in_opens_minutes
    }

    /// How many minutes after its start a reservation not checked in is released.
    async fn auto_release_minutes(&self) -> i32 {
        self.0.auto_release_minutes
    }

    /// Hours one person may hold this room per ISO week (in its time zone); null: no limit.
    async fn max_hours_per_person_per_week(&self) -> Option<i32> {
        self.0.max_hours_per_person_per_week
    }

    /// Reservations of this room one person may hold that have not ended; null: no limit.
    async fn max_active_reservations_per_person(&self) -> Option<i32> {
        self.0.max_active_reservations_per_person
    }

    /// Bookings by anyone but the room's managers and admins are PENDING until a manager
    /// approves them.
    async fn approval_required(&self) -> bool {
        self.0.approval_required
    }

    /// How long a PENDING reservation waits at most (never past its start).
    async fn approval_timeout_hours(&self) -> i32 {
        self.0.approval_timeout_hours
    }
}
