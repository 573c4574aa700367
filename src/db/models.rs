//! Row structs and the queries on them, written once for both backends (see `conn`). Every
//! function takes the connection and returns `QueryResult`; which rows mean what is decided
//! by the callers in `db/mod.rs`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use std::io::Write;
use uuid::Uuid;

use super::conn::{dispatch, load_locked, Conn, Fetch};
use super::schema::{event_log, events, reservations, room_features, rooms, series};
use crate::domain::ReservationStatus;

/// A UUID stored as its hyphenated text, parsed straight from the database's buffer: no
/// `String` per value (a 100-row listing reads 200 of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredUuid(pub Uuid);

impl FromSql<Text, Sqlite> for StoredUuid {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Ok(StoredUuid(Uuid::parse_str(value.read_text())?))
    }
}

impl ToSql<Text, Sqlite> for StoredUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for StoredUuid {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(StoredUuid(Uuid::try_parse_ascii(value.as_bytes())?))
    }
}

impl ToSql<Text, Pg> for StoredUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let mut buf = Uuid::encode_buffer();
        out.write_all(self.0.hyphenated().encode_lower(&mut buf).as_bytes())?;
        Ok(IsNull::No)
    }
}

/// A reservation's status, stored as its spelling (`CONFIRMED`, `CANCELLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredStatus(pub ReservationStatus);

fn parse_status(text: &str) -> deserialize::Result<StoredStatus> {
    ReservationStatus::parse(text)
        .map(StoredStatus)
        .ok_or_else(|| format!("unknown stored status {text:?}").into())
}

impl FromSql<Text, Sqlite> for StoredStatus {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        parse_status(value.read_text())
    }
}

impl ToSql<Text, Sqlite> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for StoredStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        parse_status(std::str::from_utf8(value.as_bytes())?)
    }
}

impl ToSql<Text, Pg> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

/// A row of `rooms`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = rooms,
    check_for_backend(Sqlite, Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct RoomRow {
    pub id: StoredUuid,
    pub name: String,
    pub name_key: String,
    pub capacity: i32,
    pub created_at: i64,
    pub building: Option<String>,
    pub building_key: Option<String>,
    pub floor: Option<String>,
    pub description: Option<String>,
    pub features: String,
    /// What a booking reads of the room, under its lock.
    #[diesel(embed)]
    pub rules: RoomRulesRow,
}

/// What a booking needs to know of its room: whether it is archived, and its rules.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = rooms,
    check_for_backend(Sqlite, Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct RoomRulesRow {
    pub archived: bool,
    pub time_zone: String,
    pub min_duration_minutes: Option<i32>,
    pub max_duration_minutes: Option<i32>,
    pub buffer_minutes: i32,
    pub booking_horizon_days: Option<i32>,
    pub opening_hours: Option<String>,
    pub check_in_required: bool,
    pub check_in_opens_minutes: i32,
    pub auto_release_minutes: i32,
}

/// Which rooms a listing wants.
#[derive(Clone, Debug, Default)]
pub struct RoomFilter {
    pub min_capacity: Option<i32>,
    /// Case-folded.
    pub building_key: Option<String>,
    /// Normalised; every one is required.
    pub features: Vec<String>,
    pub include_archived: bool,
}

/// The rooms matching a `RoomFilter`, boxed for whichever backend runs it. A required feature
/// is a primary-key probe of `room_features` per room.
macro_rules! rooms_query {
    ($f:expr) => {{
        let f: &RoomFilter = $f;
        let mut q = rooms::table.into_boxed();
        if let Some(min) = f.min_capacity {
            q = q.filter(rooms::capacity.ge(min));
        }
        if let Some(building) = f.building_key.as_deref() {
            q = q.filter(rooms::building_key.eq(building));
        }
        if !f.include_archived {
            q = q.filter(rooms::archived.eq(false));
        }
        for feature in &f.features {
            q = q.filter(diesel::dsl::exists(
                room_features::table
                    .filter(room_features::room_id.eq(rooms::id))
                    .filter(room_features::feature.eq(feature.as_str())),
            ));
        }
        q
    }};
}

/// A room's buffer in microseconds, in SQL over the `rooms` row: what `admit::buffer_micros`
/// computes in Rust (a test holds the two to one factor).
pub const BUFFER_MICROS_SQL: &str = "(CAST(rooms.buffer_minutes AS BIGINT) * 60000000)";

/// The correlated subquery of `RoomRow::list_with_latest_end`.
macro_rules! latest_end_before {
    ($end:expr) => {{
        // The buffer in microseconds, from the outer row (diesel has no typed CAST).
        let buffer =
            diesel::dsl::sql::<diesel::sql_types::BigInt>($crate::db::models::BUFFER_MICROS_SQL);
        let end: i64 = $end;
        reservations::table
            .filter(reservations::room_id.eq(rooms::id))
            .filter(reservations::status.eq(crate::db::CONFIRMED))
            .filter(reservations::start_at.lt(end.into_sql::<diesel::sql_types::BigInt>() + buffer))
            .order(reservations::start_at.desc())
            .select(reservations::end_at)
            .limit(1)
            .single_value()
    }};
}

impl RoomRow {
    pub fn insert(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::insert_into(rooms::table)
            .values(self)
            .execute(c))
    }

    /// Writes every column of this row over the stored one with the same id.
    pub fn update(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::update(rooms::table.find(self.id))
            .set(self)
            .execute(c))
    }

    /// Replaces the room's rows in `room_features` with `features`.
    pub fn set_features(conn: &mut Conn<'_>, id: &str, features: &[String]) -> QueryResult<()> {
        let rows: Vec<_> = features
            .iter()
            .map(|f| {
                (
                    room_features::room_id.eq(id),
                    room_features::feature.eq(f.as_str()),
                )
            })
            .collect();
        dispatch!(conn, |c| {
            diesel::delete(room_features::table.filter(room_features::room_id.eq(id)))
                .execute(c)?;
            if !rows.is_empty() {
                diesel::insert_into(room_features::table)
                    .values(&rows)
                    .execute(c)?;
            }
            Ok(())
        })
    }

    pub fn find(conn: &mut Conn<'_>, id: &str) -> QueryResult<Option<RoomRow>> {
        dispatch!(conn, |c| c
            .first_row(rooms::table.find(id).select(RoomRow::as_select())))
    }

    /// The whole room `id`, locked for the rest of the transaction on PostgreSQL.
    pub fn find_for_update(conn: &mut Conn<'_>, id: &str) -> QueryResult<Option<RoomRow>> {
        match conn {
            Conn::Sqlite(_) => Self::find(conn, id),
            Conn::Pg(c) => rooms::table
                .find(id)
                .select(RoomRow::as_select())
                .for_update()
                .get_result(*c)
                .optional(),
        }
    }

    pub fn exists(conn: &mut Conn<'_>, id: &str) -> QueryResult<bool> {
        dispatch!(conn, |c| diesel::select(diesel::dsl::exists(
            rooms::table.find(id)
        ))
        .get_result(c))
    }

    /// Locks the rooms `ids` for the rest of the transaction, in the order given (callers sort
    /// them, so two transactions never wait on each other in a cycle), and reads each one's
    /// rules (`None`: no such room). On PostgreSQL this row lock is what orders a room's
    /// commits; on SQLite the immediate transaction already holds the whole database.
    pub fn lock(conn: &mut Conn<'_>, ids: &[&str]) -> QueryResult<Vec<Option<RoomRulesRow>>> {
        ids.iter()
            .map(|id| match conn {
                Conn::Sqlite(c) => {
                    c.first_row(rooms::table.find(*id).select(RoomRulesRow::as_select()))
                }
                Conn::Pg(c) => rooms::table
                    .find(*id)
                    .select(RoomRulesRow::as_select())
                    .for_update()
                    .get_result(*c)
                    .optional(),
            })
            .collect()
    }

    /// Whether an active room other than `except` holds the case-folded name `key`.
    pub fn name_taken(conn: &mut Conn<'_>, key: &str, except: &str) -> QueryResult<bool> {
        dispatch!(conn, |c| diesel::select(diesel::dsl::exists(
            rooms::table
                .filter(rooms::name_key.eq(key))
                .filter(rooms::archived.eq(false))
                .filter(rooms::id.ne(except)),
        ))
        .get_result(c))
    }

    pub fn find_many(conn: &mut Conn<'_>, ids: &[String]) -> QueryResult<Vec<RoomRow>> {
        dispatch!(conn, |c| rooms::table
            .filter(rooms::id.eq_any(ids))
            .select(RoomRow::as_select())
            .load(c))
    }

    /// Up to `max` rooms matching `f`, by name, and whether there were more.
    pub fn list_by_name(
        conn: &mut Conn<'_>,
        f: &RoomFilter,
        max: usize,
    ) -> QueryResult<(Vec<RoomRow>, bool)> {
        dispatch!(conn, |c| c.at_most(
            rooms_query!(f)
                .order((rooms::name.asc(), rooms::id.asc()))
                .select(RoomRow::as_select()),
            max
        ))
    }

    /// All rooms matching `f`, by capacity then name, each with the end of its CONFIRMED
    /// reservation that starts last before `end` plus the room's buffer (`None`: none does).
    /// A room's CONFIRMED reservations never overlap, so that one ends last among them: the
    /// slot `[start, end)` clears the room's calendar, buffer included, exactly when it ends
    /// at or before `start - buffer`. One statement; a correlated index probe per room.
    pub fn list_with_latest_end(
        conn: &mut Conn<'_>,
        f: &RoomFilter,
        end: i64,
    ) -> QueryResult<Vec<(RoomRow, Option<i64>)>> {
        dispatch!(conn, |c| rooms_query!(f)
            .order((rooms::capacity.asc(), rooms::name.asc(), rooms::id.asc()))
            .select((RoomRow::as_select(), latest_end_before!(end)))
            .load(c))
    }
}

/// A row of `reservations`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
// None is NULL, never DEFAULT: the INSERT is then one static statement, prepared once and
// cached by type, rather than SQL built afresh for every booking (~3% of one, perf).
#[diesel(
    table_name = reservations,
    check_for_backend(Sqlite, Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct ReservationRow {
    pub id: StoredUuid,
    pub room_id: StoredUuid,
    pub start_at: i64,
    pub end_at: i64,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub status: StoredStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub series_id: Option<StoredUuid>,
    pub checked_in_at: Option<i64>,
    pub released_at: Option<i64>,
    /// When it is released unless checked in; `None`: never (or no longer).
    pub auto_release_at: Option<i64>,
    /// Who booked it (secured mode): the token's `sub` and `iss`.
    pub owner_subject: Option<String>,
    pub owner_issuer: Option<String>,
}

/// Which reservations a listing wants.
pub struct ListFilter<'a> {
    pub room_id: Option<&'a str>,
    /// Only what this owner booked (`me { reservations }`).
    pub owner: Option<&'a crate::domain::Owner>,
    /// CANCELLED and RELEASED ones too.
    pub include_cancelled: bool,
    pub from: i64,
    pub to: i64,
}

impl ReservationRow {
    pub fn insert(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::insert_into(reservations::table)
            .values(self)
            .execute(c))
    }

    /// Writes every column of this row over the stored one with the same id.
    pub fn update(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::update(reservations::table.find(self.id))
            .set(self)
            .execute(c))
    }

    pub fn find(conn: &mut Conn<'_>, id: &str) -> QueryResult<Option<ReservationRow>> {
        dispatch!(conn, |c| c.first_row(
            reservations::table
                .find(id)
                .select(ReservationRow::as_select())
        ))
    }

    /// The reservation `id`, locked for the rest of the transaction on PostgreSQL (so its room
    /// cannot change under a cancel or a move). Reservation rows are locked before rooms.
    pub fn find_for_update(conn: &mut Conn<'_>, id: &str) -> QueryResult<Option<ReservationRow>> {
        match conn {
            Conn::Sqlite(_) => Self::find(conn, id),
            Conn::Pg(c) => reservations::table
                .find(id)
                .select(ReservationRow::as_select())
                .for_update()
                .get_result(*c)
                .optional(),
        }
    }

    /// The CONFIRMED reservation of `room_id` that overlaps `[start, end)`, other than `except`.
    ///
    /// A room's CONFIRMED reservations never overlap each other, so among those starting before
    /// `end` only the latest can reach past `start`: one index probe, whatever the history.
    pub fn conflict(
        conn: &mut Conn<'_>,
        room_id: &str,
        start: i64,
        end: i64,
        except: Option<&str>,
    ) -> QueryResult<Option<Uuid>> {
        let query =
            Self::latest_starting_before(room_id, crate::db::CONFIRMED, end, except.unwrap_or(""));
        let latest: Option<(StoredUuid, i64)> = dispatch!(conn, |c| c.first_row(query))?;
        Ok(latest.and_then(|(id, end_at)| (end_at > start).then_some(id.0)))
    }

    /// The CONFIRMED reservation of `room_id` starting last before `end` (id and end).
    /// A static query, so it stays prepared.
    #[diesel::dsl::auto_type(no_type_alias)]
    fn latest_starting_before<'a>(
        room_id: &'a str,
        status: &'a str,
        end: i64,
        except: &'a str,
    ) -> _ {
        reservations::table
            .filter(reservations::room_id.eq(room_id))
            .filter(reservations::status.eq(status))
            .filter(reservations::start_at.lt(end))
            .filter(reservations::id.ne(except))
            .order(reservations::start_at.desc())
            .select((reservations::id, reservations::end_at))
    }

    /// Reservations overlapping `[from, to)`, by start. A reservation reaching into the window
    /// starts at most the longest reservation's length before it, so the index range scanned
    /// is bounded by the window; that length is a scalar subquery of the same statement (one
    /// round trip), read from its index. Up to `max` of them, and whether there were more.
    pub fn list(
        conn: &mut Conn<'_>,
        f: &ListFilter<'_>,
        max: usize,
    ) -> QueryResult<(Vec<Self>, bool)> {
        dispatch!(conn, |c| c.at_most(list_query!(f), max))
    }

    /// As `list`, only each reservation's start and end.
    pub fn list_times(
        conn: &mut Conn<'_>,
        f: &ListFilter<'_>,
        max: usize,
    ) -> QueryResult<(Vec<(i64, i64)>, bool)> {
        dispatch!(conn, |c| c.at_most(
            list_query!(f).select((reservations::start_at, reservations::end_at)),
            max
        ))
    }

    /// The CONFIRMED reservations of `room_id` that have not ended at `now`, by start; locked
    /// for the rest of the transaction on PostgreSQL.
    pub fn lock_not_ended(
        conn: &mut Conn<'_>,
        room_id: &str,
        now: i64,
    ) -> QueryResult<Vec<ReservationRow>> {
        load_locked!(
            conn,
            reservations::table
                .filter(reservations::room_id.eq(room_id))
                .filter(reservations::status.eq(crate::db::CONFIRMED))
                .filter(reservations::end_at.gt(now))
                .order(reservations::start_at.asc()),
            ReservationRow
        )
    }

    /// Which of the slots `[starts[i], ends[i])` a CONFIRMED reservation of `room_id`
    /// overlaps (indices into the slices), in one statement on PostgreSQL: an index probe per
    /// slot, as `conflict` makes, without a round trip each.
    pub fn conflicting_slots_pg(
        conn: &mut diesel::pg::PgConnection,
        room_id: &str,
        starts: &[i64],
        ends: &[i64],
    ) -> QueryResult<Vec<usize>> {
        use diesel::sql_types::{Array, BigInt};
        #[derive(QueryableByName)]
        struct Hit {
            #[diesel(sql_type = BigInt)]
            i: i64,
        }
        let hits: Vec<Hit> = diesel::sql_query(SERIES_PROBE_SQL)
            .bind::<Text, _>(room_id)
            .bind::<Array<BigInt>, _>(starts)
            .bind::<Array<BigInt>, _>(ends)
            .load(conn)?;
        Ok(hits
            .into_iter()
            .filter_map(|h| usize::try_from(h.i).ok())
            .collect())
    }

    /// The CONFIRMED reservations due for release at `now` (not checked in, deadline passed),
    /// at most `limit`, by deadline; locked for the rest of the transaction on PostgreSQL.
    pub fn lock_due(conn: &mut Conn<'_>, now: i64, limit: i64) -> QueryResult<Vec<ReservationRow>> {
        load_locked!(
            conn,
            Self::pending_deadlines(crate::db::CONFIRMED)
                .filter(reservations::auto_release_at.le(now))
                .filter(reservations::checked_in_at.is_null())
                .limit(limit),
            ReservationRow
        )
    }

    /// The reservations with `status` (CONFIRMED) and a release deadline, by deadline: a walk
    /// of the partial index `reservations_release_due`, which holds only those waiting for a
    /// check-in (every change that ends the wait clears the deadline), however many other
    /// reservations the table holds.
    #[diesel::dsl::auto_type(no_type_alias)]
    fn pending_deadlines<'a>(status: &'a str) -> _ {
        reservations::table
            // `status || ''`: a term no index can serve, so SQLite's planner (which has no
            // statistics) walks the deadlines' index rather than all CONFIRMED reservations
            // by status and sorting them (measured: 74 ms per release with 100,000 of them).
            .filter(reservations::status.concat("").eq(status))
            .filter(reservations::auto_release_at.is_not_null())
            .order(reservations::auto_release_at.asc())
    }

    /// Releases reservation `id` if it is still due at `now`: CONFIRMED, not checked in,
    /// its deadline passed. A conditional update, so a racing check-in or another replica's
    /// release leaves it alone; whether this one changed it.
    pub fn release(conn: &mut Conn<'_>, id: &str, now: i64) -> QueryResult<bool> {
        let changed = dispatch!(conn, |c| diesel::update(
            reservations::table
                .find(id)
                .filter(reservations::status.eq(crate::db::CONFIRMED))
                .filter(reservations::checked_in_at.is_null())
                .filter(reservations::auto_release_at.le(now))
        )
        .set((
            reservations::status.eq(crate::db::RELEASED),
            reservations::released_at.eq(Some(now)),
            reservations::auto_release_at.eq(None::<i64>),
            reservations::updated_at.eq(now),
        ))
        .execute(c))?;
        Ok(changed == 1)
    }

    /// The earliest release deadline of a CONFIRMED reservation, if any: one index probe.
    pub fn next_release(conn: &mut Conn<'_>) -> QueryResult<Option<i64>> {
        dispatch!(conn, |c| c.first_row(
            Self::pending_deadlines(crate::db::CONFIRMED).select(reservations::auto_release_at)
        ))
        .map(Option::flatten)
    }

    /// Inserts `rows` in one statement.
    pub fn insert_many(conn: &mut Conn<'_>, rows: &[ReservationRow]) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::insert_into(reservations::table)
            .values(rows)
            .execute(c))
    }

    /// The occurrences of series `id` with one of `statuses`, by start.
    pub fn of_series(
        conn: &mut Conn<'_>,
        id: &str,
        statuses: &[&str],
    ) -> QueryResult<Vec<ReservationRow>> {
        dispatch!(conn, |c| reservations::table
            .filter(reservations::series_id.eq(id))
            .filter(reservations::status.eq_any(statuses))
            .order((reservations::start_at.asc(), reservations::id.asc()))
            .select(ReservationRow::as_select())
            .load(c))
    }

    /// The CONFIRMED occurrences of series `id` starting at or after `from`, by start; locked
    /// for the rest of the transaction on PostgreSQL.
    pub fn lock_of_series_from(
        conn: &mut Conn<'_>,
        id: &str,
        from: i64,
    ) -> QueryResult<Vec<ReservationRow>> {
        load_locked!(
            conn,
            reservations::table
                .filter(reservations::series_id.eq(id))
                .filter(reservations::status.eq(crate::db::CONFIRMED))
                .filter(reservations::start_at.ge(from))
                .order((reservations::start_at.asc(), reservations::id.asc())),
            ReservationRow
        )
    }

    /// Sets the status and `updated_at` of the reservations `ids`; none of them waits for a
    /// check-in any more.
    pub fn set_status(
        conn: &mut Conn<'_>,
        ids: &[String],
        status: StoredStatus,
        updated_at: i64,
    ) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::update(
            reservations::table.filter(reservations::id.eq_any(ids))
        )
        .set((
            reservations::status.eq(status),
            reservations::updated_at.eq(updated_at),
            reservations::auto_release_at.eq(None::<i64>),
        ))
        .execute(c))
    }
}

/// `ReservationRow::conflicting_slots_pg`'s statement: `$1` the room, `$2`/`$3` the slots'
/// starts and ends; the 0-based indices of the slots something overlaps.
pub const SERIES_PROBE_SQL: &str = "SELECT o.i - 1 AS i \
     FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS o(s, e, i) \
     CROSS JOIN LATERAL ( \
         SELECT r.end_at FROM reservations r \
         WHERE r.room_id = $1 AND r.status = 'CONFIRMED' AND r.start_at < o.e \
         ORDER BY r.start_at DESC LIMIT 1) latest \
     WHERE latest.end_at > o.s";

/// A row of `series`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(
    table_name = series,
    check_for_backend(Sqlite, Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct SeriesRow {
    pub id: StoredUuid,
    pub room_id: StoredUuid,
    pub rrule: String,
    pub time_zone: String,
    pub first_start: i64,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub created_at: i64,
    /// Who booked it (secured mode): the token's `sub` and `iss`.
    pub owner_subject: Option<String>,
    pub owner_issuer: Option<String>,
}

impl SeriesRow {
    pub fn insert(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::insert_into(series::table)
            .values(self)
            .execute(c))
    }

    pub fn find(conn: &mut Conn<'_>, id: &str) -> QueryResult<Option<SeriesRow>> {
        dispatch!(conn, |c| c
            .first_row(series::table.find(id).select(SeriesRow::as_select())))
    }

    pub fn find_many(conn: &mut Conn<'_>, ids: &[String]) -> QueryResult<Vec<SeriesRow>> {
        dispatch!(conn, |c| series::table
            .filter(series::id.eq_any(ids))
            .select(SeriesRow::as_select())
            .load(c))
    }
}

diesel::alias!(reservations as longest_reservation: LongestReservation);

/// The listing query of `ReservationRow::list`, boxed for whichever backend runs it.
macro_rules! list_query {
    ($f:expr) => {{
        let f: &ListFilter<'_> = $f;
        let length = longest_reservation.field(reservations::end_at)
            - longest_reservation.field(reservations::start_at);
        let longest = longest_reservation
            .select(diesel::dsl::max(length))
            .single_value();
        let from: i64 = f.from;
        let earliest =
            from.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>() - longest;
        let mut q = reservations::table
            .into_boxed()
            .filter(reservations::start_at.lt(f.to))
            .filter(reservations::start_at.nullable().ge(earliest))
            .filter(reservations::end_at.gt(f.from))
            // By start only: the index delivers that order (ties in insertion order, as an
            // index keeps equal keys by rowid), so SQLite does not sort.
            .order(reservations::start_at.asc());
        if let Some(room) = f.room_id {
            q = q.filter(reservations::room_id.eq(room));
        }
        if let Some(owner) = f.owner {
            q = q
                .filter(reservations::owner_issuer.eq(owner.issuer.as_str()))
                .filter(reservations::owner_subject.eq(owner.subject.as_str()));
        }
        // The common case filters with `=`, which stays a prepared statement; a status term
        // either way keeps `start_at` a range of the index.
        if f.include_cancelled {
            q = q.filter(reservations::status.eq_any(crate::db::STATUSES));
        } else {
            q = q.filter(reservations::status.eq(crate::db::CONFIRMED));
        }
        q
    }};
}
use list_query;

/// A row of the event log, as written.
#[derive(Debug, Insertable)]
#[diesel(
    table_name = events,
    check_for_backend(Sqlite, Pg),
    treat_none_as_default_value = false
)]
pub struct NewEventRow<'a> {
    pub room_id: String,
    pub previous_room_id: Option<String>,
    pub payload: &'a str,
}

/// A row of the event log, as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(Sqlite, Pg))]
pub struct EventRow {
    pub seq: i64,
    pub payload: String,
}

impl NewEventRow<'_> {
    /// Appends the row as `seq` when the writer knows it (SQLite: one writer at a time, so no
    /// RETURNING is needed), else as the identity assigns it (PostgreSQL). Returns the `seq`.
    pub fn append(&self, conn: &mut Conn<'_>, seq: Option<i64>) -> QueryResult<i64> {
        match (conn, seq) {
            (Conn::Sqlite(c), Some(seq)) => diesel::insert_into(events::table)
                .values((events::seq.eq(seq), self))
                .execute(*c)
                .map(|_| seq),
            (conn, _) => dispatch!(conn, |c| diesel::insert_into(events::table)
                .values(self)
                .returning(events::seq)
                .get_result(c)),
        }
    }
}

/// Appends `rows` in one statement on PostgreSQL, in order; their `seq`s, ascending. The
/// identity takes its values row by row down the VALUES list, so the ascending `seq`s belong
/// to the rows in the order given.
pub fn append_pg(
    conn: &mut diesel::pg::PgConnection,
    rows: &[NewEventRow<'_>],
) -> QueryResult<Vec<i64>> {
    let mut seqs: Vec<i64> = diesel::insert_into(events::table)
        .values(rows)
        .returning(events::seq)
        .get_results(conn)?;
    seqs.sort_unstable();
    Ok(seqs)
}

impl EventRow {
    /// Up to `limit` events with `after < seq < before`, in `seq` order; for one room (the
    /// room it is in, or the one it left) or all.
    pub fn range(
        conn: &mut Conn<'_>,
        after: i64,
        before: i64,
        room: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<EventRow>> {
        dispatch!(conn, |c| {
            let q = events::table
                .filter(events::seq.gt(after))
                .filter(events::seq.lt(before))
                .order(events::seq.asc())
                .limit(limit)
                .select(EventRow::as_select());
            match room {
                Some(room) => q
                    .filter(
                        events::room_id
                            .eq(room)
                            .or(events::previous_room_id.eq(room)),
                    )
                    .load(c),
                None => q.load(c),
            }
        })
    }

    /// Up to `limit` sequence numbers of committed events after `after`.
    pub fn seqs_after(conn: &mut Conn<'_>, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
        dispatch!(conn, |c| events::table
            .filter(events::seq.gt(after))
            .order(events::seq.asc())
            .limit(limit)
            .select(events::seq)
            .load(c))
    }

    /// The highest sequence number written so far (0 if none).
    pub fn last_seq(conn: &mut Conn<'_>) -> QueryResult<i64> {
        dispatch!(conn, |c| events::table
            .select(diesel::dsl::max(events::seq))
            .get_result::<Option<i64>>(c))
        .map(|m| m.unwrap_or(0))
    }

    /// Deletes the events with `seq <= through`, and records that it did.
    pub fn prune_through(conn: &mut Conn<'_>, through: i64) -> QueryResult<usize> {
        dispatch!(conn, |c| {
            let deleted =
                diesel::delete(events::table.filter(events::seq.le(through))).execute(c)?;
            diesel::update(event_log::table.filter(event_log::pruned_through.lt(through)))
                .set(event_log::pruned_through.eq(through))
                .execute(c)?;
            Ok(deleted)
        })
    }
}

/// Which database the log is, and how far it has been pruned.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_log, check_for_backend(Sqlite, Pg))]
pub struct EventLogRow {
    pub database_id: String,
    pub pruned_through: i64,
}

impl EventLogRow {
    pub fn get(conn: &mut Conn<'_>) -> QueryResult<EventLogRow> {
        dispatch!(conn, |c| event_log::table
            .select(EventLogRow::as_select())
            .get_result(c))
    }
}

#[cfg(test)]
mod tests {
    //! The costs that must not grow with history: each query is an index search.
    use diesel::sql_types::{Integer, Text as SqlText};

    use super::*;

    #[derive(QueryableByName)]
    struct PlanRow {
        #[diesel(sql_type = Integer)]
        #[allow(dead_code)]
        id: i32,
        #[diesel(sql_type = SqlText)]
        detail: String,
    }

    fn plan<Q>(query: &Q) -> String
    where
        Q: diesel::query_builder::QueryFragment<Sqlite>,
    {
        let mut conn = crate::db::test_connection();
        let sql = diesel::debug_query::<Sqlite, _>(query).to_string();
        let sql = sql.split(" -- binds").next().unwrap_or_default();
        let rows: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(&mut conn)
            .unwrap();
        rows.into_iter()
            .map(|r| r.detail)
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn the_overlap_check_is_one_index_search() {
        let q = ReservationRow::latest_starting_before("room", "CONFIRMED", 10, "self").limit(1);
        let plan = plan(&q);
        assert!(
            plan.contains("SEARCH reservations USING INDEX reservations_room_status_start"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn listings_search_a_window_of_the_index() {
        for room in [Some("room"), None] {
            for include_cancelled in [false, true] {
                let f = ListFilter {
                    room_id: room,
                    owner: None,
                    include_cancelled,
                    from: 0,
                    to: 10,
                };
                let q: reservations::BoxedQuery<'_, Sqlite> = list_query!(&f);
                let plan = plan(&q);
                assert!(plan.contains("SEARCH reservations USING INDEX"), "{plan}");
                assert!(!plan.contains("SCAN"), "{plan}");
                // The bound's subquery reads the longest length from its index.
                assert!(plan.contains("reservations_length"), "{plan}");
                if !include_cancelled {
                    // Two status ranges are merged by a sort; the common case needs none.
                    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                }
            }
        }
    }

    /// "Rooms with all of these features" probes `room_features` by its primary key per
    /// required feature: no decoding of stored lists, no scan of the features table.
    #[test]
    fn the_features_filter_probes_the_features_key() {
        let f = RoomFilter {
            features: vec!["display".into(), "whiteboard".into()],
            building_key: Some("hq".into()),
            min_capacity: Some(4),
            include_archived: false,
        };
        let q = rooms_query!(&f)
            .order((rooms::name.asc(), rooms::id.asc()))
            .select(RoomRow::as_select());
        let plan = plan(&q);
        assert!(plan.contains("SEARCH room_features USING"), "{plan}");
        assert!(!plan.contains("SCAN room_features"), "{plan}");
    }

    /// `availableRooms` is one statement: each room's calendar is one index search inside it.
    #[test]
    fn available_rooms_probe_each_rooms_calendar_by_index() {
        let f = RoomFilter::default();
        let q = rooms_query!(&f)
            .order((rooms::capacity.asc(), rooms::name.asc(), rooms::id.asc()))
            .select((RoomRow::as_select(), latest_end_before!(10)));
        let plan = plan(&q);
        assert!(plan.contains("CORRELATED SCALAR SUBQUERY"), "{plan}");
        assert!(
            plan.contains("SEARCH reservations USING INDEX reservations_room_status_start"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN reservations"), "{plan}");
    }

    /// The buffer check is the overlap probe over a wider slot: the same single index search.
    #[test]
    fn the_buffer_check_is_the_same_index_search() {
        let q = ReservationRow::latest_starting_before("room", "CONFIRMED", 10 + 900, "").limit(1);
        assert!(plan(&q).contains("SEARCH reservations USING INDEX reservations_room_status_start"));
    }

    /// The release task's reads stay in the partial index of pending deadlines: the next
    /// deadline is its first entry, the due ones its first range, however many future
    /// reservations the table holds.
    #[test]
    fn the_release_task_reads_only_pending_deadlines() {
        let next = ReservationRow::pending_deadlines("CONFIRMED")
            .select(reservations::auto_release_at)
            .limit(1);
        let due = ReservationRow::pending_deadlines("CONFIRMED")
            .filter(reservations::auto_release_at.le(10))
            .filter(reservations::checked_in_at.is_null())
            .limit(500)
            .select(ReservationRow::as_select());
        for plan in [plan(&next), plan(&due)] {
            assert!(
                plan.contains("USING INDEX reservations_release_due"),
                "{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn replaying_a_room_reads_forward_from_the_cursor() {
        let q = events::table
            .filter(events::seq.gt(1))
            .filter(events::seq.lt(10))
            .filter(events::room_id.eq("r").or(events::previous_room_id.eq("r")))
            .order(events::seq.asc())
            .limit(10)
            .select(EventRow::as_select());
        let plan = plan(&q);
        assert!(
            plan.contains("SEARCH events USING INTEGER PRIMARY KEY"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
