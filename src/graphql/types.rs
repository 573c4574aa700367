//! Output and input types of the schema, wrapping the domain values.

use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, Enum, ErrorExtensions, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID,
};
use chrono::Utc;

use super::loaders::{RoomLoader, SeriesLoader};
use super::scalars::{LocalTimeScalar, Timestamp, Zoned};
use super::{data, GqlResultExt, ListLimit};
use crate::auth::{Need, Principal};
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

    /// The house rules every booking of this room obeys.
    async fn policy(&self) -> RoomPolicy {
        RoomPolicy(self.0.policy.clone())
    }

    /// The maximal intervals inside `[from, to)` (defaults as `reservations`) in which a
    /// booking would satisfy every rule and policy of the room, at least
    /// `minDurationMinutes` (1-1440) long, sorted by start. A booking of any allowed length
    /// inside one of them succeeds.
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
        let window =
            Window::resolve(from.map(|t| t.0), to.map(|t| t.0), data::<Db>(ctx)?.now()).gql()?;
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

/// Meetings booked together by one recurrence rule (`bookSeries`). Each occurrence is an
/// ordinary reservation.
pub struct Series(pub domain::Series);

#[Object]
impl Series {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The room the series was booked in (an occurrence may have moved since).
    async fn room(&self, ctx: &Context<'_>) -> Result<Room> {
        room_by_id(ctx, self.0.room_id).await
    }

    /// The RFC 5545 recurrence rule (`FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=10`, `UNTIL` in
    /// UTC). Its DTSTART is the first occurrence's start, at local wall-clock time in
    /// `timeZone`.
    async fn rrule(&self) -> &str {
        &self.0.rrule
    }

    /// The IANA zone the rule was expanded in: the room's when the series was booked.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
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

    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// The series' reservations, sorted by start: CONFIRMED ones, or with `includeCancelled`
    /// every one.
    async fn occurrences(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<Vec<Reservation>> {
        let list = data::<Db>(ctx)?
            .series_occurrences(self.0.id, include_cancelled.unwrap_or(false))
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation).collect())
    }
}

/// What `bookSeries` booked and what it left out.
pub struct SeriesBooking(pub domain::SeriesBooking);

#[Object]
impl SeriesBooking {
    async fn series(&self) -> Series {
        Series(self.0.series.clone())
    }

    /// The booked occurrences, sorted by start.
    async fn occurrences(&self) -> Vec<Reservation> {
        self.0
            .occurrences
            .iter()
            .cloned()
            .map(Reservation)
            .collect()
    }

    /// The occurrences refused and not booked (`onConflict: SKIP`), sorted by start.
    async fn skipped(&self) -> Vec<SkippedOccurrence> {
        self.0
            .skipped
            .iter()
            .cloned()
            .map(SkippedOccurrence)
            .collect()
    }
}

/// An occurrence of a series that a booking rule or policy refused.
pub struct SkippedOccurrence(domain::OccurrenceConflict);

#[Object]
impl SkippedOccurrence {
    async fn start(&self) -> Timestamp {
        Timestamp(self.0.slot.start())
    }

    async fn end(&self) -> Timestamp {
        Timestamp(self.0.slot.end())
    }

    /// The error code booking it alone would get: `IN_PAST`, `OVERLAP` or `POLICY_VIOLATION`.
    async fn code(&self) -> &str {
        self.0.code
    }

    /// For `POLICY_VIOLATION`: which policy (`MIN_DURATION`, `BUFFER`, ...).
    async fn policy(&self) -> Option<&str> {
        self.0.policy.map(|p| p.as_str())
    }

    /// For `OVERLAP` and `BUFFER`: the reservation in the way.
    async fn conflicting_reservation_id(&self) -> Option<ID> {
        self.0.conflicting.map(|id| ID(id.to_string()))
    }
}

/// How often a series repeats.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl From<Frequency> for domain::Frequency {
    fn from(f: Frequency) -> Self {
        match f {
            Frequency::Daily => domain::Frequency::Daily,
            Frequency::Weekly => domain::Frequency::Weekly,
            Frequency::Monthly => domain::Frequency::Monthly,
        }
    }
}

/// What `bookSeries` does when some occurrences are refused.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConflictMode {
    /// Book nothing: `SERIES_CONFLICT` listing every refused occurrence.
    Fail,
    /// Book the others and report the refused ones in `skipped`.
    Skip,
}

impl From<ConflictMode> for domain::ConflictMode {
    fn from(m: ConflictMode) -> Self {
        match m {
            ConflictMode::Fail => domain::ConflictMode::Fail,
            ConflictMode::Skip => domain::ConflictMode::Skip,
        }
    }
}

/// When a series repeats, in the room's time zone: exactly one of `count` and `until`.
#[derive(InputObject)]
pub struct RecurrenceInput {
    pub frequency: Frequency,
    /// 1-99: every `interval` days, weeks or months.
    #[graphql(default = 1)]
    pub interval: i32,
    /// WEEKLY only: the weekdays it falls on (the first occurrence's must be one); default
    /// the first occurrence's weekday.
    pub by_weekday: Option<Vec<Weekday>>,
    /// 1-366 occurrences, the first included.
    pub count: Option<i32>,
    /// Inclusive: an occurrence starting at `until` is the last one.
    pub until: Option<Timestamp>,
}

impl RecurrenceInput {
    pub fn into_recurrence(self) -> Result<domain::Recurrence, Error> {
        domain::Recurrence::new(
            self.frequency.into(),
            Some(self.interval),
            self.by_weekday
                .map(|days| days.into_iter().map(Into::into).collect()),
            self.count,
            self.until.map(|t| t.0),
        )
    }
}

/// A recurring meeting: `start`/`end` are the first occurrence; the others start at the same
/// local wall-clock time in the room's zone and last as long.
#[derive(InputObject)]
pub struct BookSeriesInput {
    pub room_id: ID,
    pub start: Timestamp,
    /// After `start`.
    pub end: Timestamp,
    pub recurrence: RecurrenceInput,
    /// At most 200 characters.
    pub title: Option<String>,
    /// 1-100 characters after trimming. Required in open mode; in secured mode the token's
    /// `name` is used, and a member may only repeat it (admins book on behalf of anyone).
    pub organizer_name: Option<String>,
    /// At most 254 characters, shaped like an address. Required in open mode; in secured mode
    /// the token's `email` is used, and a member may only repeat it.
    pub organizer_email: Option<String>,
    #[graphql(default_with = "ConflictMode::Fail")]
    pub on_conflict: ConflictMode,
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

impl Zoned {
    fn new(t: chrono::DateTime<Utc>, zone: Option<&str>) -> Result<Self, Error> {
        let tz = zone.map(domain::parse_time_zone).transpose()?;
        Ok(Zoned(t, tz))
    }
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
}

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
}

/// A move of a reservation: omitted fields keep their value; at least one must be given.
#[derive(InputObject)]
pub struct RescheduleReservationInput {
    pub id: ID,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub room_id: Option<ID>,
}

/// Who the caller is (`me`).
pub struct Viewer(pub Principal);

#[Object]
impl Viewer {
    /// The token's `sub`; null for anonymous callers and in open mode.
    async fn subject(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.subject.as_deref())
    }

    /// The token's `name` claim.
    async fn name(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.name.as_deref())
    }

    /// The token's `email` claim.
    async fn email(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.email.as_deref())
    }

    /// The token's `roles` claim; empty without a token.
    async fn roles(&self) -> &[String] {
        self.0.identity().map_or(&[], |i| i.roles.as_slice())
    }

    /// May do everything: holds the admin role, or the server runs in open mode.
    async fn is_admin(&self) -> bool {
        self.0.is_admin()
    }

    /// The reservations the caller booked with their token (owner = its `sub` and `iss`),
    /// overlapping `[from, to)`, sorted by start; windows as `Query.reservations`. Empty for
    /// anonymous callers and in open mode, where nothing has an owner.
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<Vec<Reservation>> {
        let db = data::<Db>(ctx)?;
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), db.now()).gql()?;
        let Some(owner) = self.0.identity().and_then(|i| i.owner()) else {
            return Ok(Vec::new());
        };
        let list = db
            .reservations_owned(
                owner,
                window,
                include_cancelled.unwrap_or(false),
                data::<ListLimit>(ctx)?.0,
            )
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation).collect())
    }
}
