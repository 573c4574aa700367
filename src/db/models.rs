//! Row structs and the queries on them. Every function takes the connection and returns
//! `QueryResult`; which rows mean what is decided by the callers in `db/mod.rs`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

use super::schema::{reservations, rooms};
use crate::domain::ReservationStatus;

/// A UUID stored as its hyphenated text, parsed straight from SQLite's buffer: no `String` per
/// value (a 100-row listing read 200 of them, each allocated, parsed and freed).
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

/// A reservation's status, stored as its spelling (`CONFIRMED`, `CANCELLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredStatus(pub ReservationStatus);

impl FromSql<Text, Sqlite> for StoredStatus {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = value.read_text();
        ReservationStatus::parse(text)
            .map(StoredStatus)
            .ok_or_else(|| format!("unknown stored status {text:?}").into())
    }
}

impl ToSql<Text, Sqlite> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

/// At most `max` rows of `query`, and whether there were more; read without a `LIMIT` (see
/// [`first_row`]).
fn at_most<'q, Q, U>(
    query: Q,
    max: usize,
    conn: &mut SqliteConnection,
) -> QueryResult<(Vec<U>, bool)>
where
    Q: diesel::query_dsl::methods::LoadQuery<
        'q,
        SqliteConnection,
        U,
        diesel::connection::DefaultLoadingMode,
    >,
    U: 'q,
{
    let mut rows = query
        .load_iter(conn)?
        .take(max.saturating_add(1))
        .collect::<QueryResult<Vec<U>>>()?;
    let more = rows.len() > max;
    rows.truncate(max);
    Ok((rows, more))
}

/// The first row of `query`, if any, read without a `LIMIT`.
///
/// diesel's `.first()` binds `LIMIT ?`, and SQLite re-prepares a statement with a bound LIMIT
/// on every execution: measured 15.3 us against 2.3 us per overlap probe. Stepping the
/// cursor once reads the same row from the same (cached) plan.
fn first_row<'q, Q, U>(query: Q, conn: &mut SqliteConnection) -> QueryResult<Option<U>>
where
    Q: diesel::query_dsl::methods::LoadQuery<
        'q,
        SqliteConnection,
        U,
        diesel::connection::DefaultLoadingMode,
    >,
    U: 'q,
{
    query.load_iter(conn)?.next().transpose()
}

/// A row of `rooms`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rooms, check_for_backend(Sqlite))]
pub struct RoomRow {
    pub id: StoredUuid,
    pub name: String,
    pub name_key: String,
    pub capacity: i32,
    pub created_at: i64,
}

impl RoomRow {
    pub fn insert(&self, conn: &mut SqliteConnection) -> QueryResult<usize> {
        diesel::insert_into(rooms::table).values(self).execute(conn)
    }

    pub fn find(conn: &mut SqliteConnection, id: &str) -> QueryResult<Option<RoomRow>> {
        first_row(rooms::table.find(id).select(RoomRow::as_select()), conn)
    }

    pub fn exists(conn: &mut SqliteConnection, id: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(rooms::table.find(id))).get_result(conn)
    }

    pub fn name_taken(conn: &mut SqliteConnection, key: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            rooms::table.filter(rooms::name_key.eq(key)),
        ))
        .get_result(conn)
    }

    pub fn find_many(conn: &mut SqliteConnection, ids: &[String]) -> QueryResult<Vec<RoomRow>> {
        rooms::table
            .filter(rooms::id.eq_any(ids))
            .select(RoomRow::as_select())
            .load(conn)
    }

    /// Up to `max` rooms of at least `min_capacity`, by name, and whether there were more.
    pub fn list_by_name(
        conn: &mut SqliteConnection,
        min_capacity: Option<i32>,
        max: usize,
    ) -> QueryResult<(Vec<RoomRow>, bool)> {
        let query = rooms::table
            .filter(rooms::capacity.ge(min_capacity.unwrap_or(i32::MIN)))
            .order((rooms::name.asc(), rooms::id.asc()))
            .select(RoomRow::as_select());
        at_most(query, max, conn)
    }

    /// All rooms of at least `min_capacity`, by capacity then name.
    pub fn list_by_capacity(
        conn: &mut SqliteConnection,
        min_capacity: Option<i32>,
    ) -> QueryResult<Vec<RoomRow>> {
        rooms::table
            .filter(rooms::capacity.ge(min_capacity.unwrap_or(i32::MIN)))
            .order((rooms::capacity.asc(), rooms::name.asc(), rooms::id.asc()))
            .select(RoomRow::as_select())
            .load(conn)
    }
}

/// A row of `reservations`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reservations, check_for_backend(Sqlite), treat_none_as_null = true)]
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
}

/// Which reservations a listing wants.
pub struct ListFilter<'a> {
    pub room_id: Option<&'a str>,
    /// CANCELLED ones too (every reservation is CONFIRMED or CANCELLED).
    pub include_cancelled: bool,
    pub from: i64,
    pub to: i64,
}

impl ReservationRow {
    pub fn insert(&self, conn: &mut SqliteConnection) -> QueryResult<usize> {
        diesel::insert_into(reservations::table)
            .values(self)
            .execute(conn)
    }

    /// Writes every column of this row over the stored one with the same id.
    pub fn update(&self, conn: &mut SqliteConnection) -> QueryResult<usize> {
        diesel::update(reservations::table.find(self.id))
            .set(self)
            .execute(conn)
    }

    pub fn find(conn: &mut SqliteConnection, id: &str) -> QueryResult<Option<ReservationRow>> {
        first_row(
            reservations::table
                .find(id)
                .select(ReservationRow::as_select()),
            conn,
        )
    }

    /// The CONFIRMED reservation of `room_id` that overlaps `[start, end)`, other than `except`.
    ///
    /// A room's CONFIRMED reservations never overlap each other, so among those starting before
    /// `end` only the latest can reach past `start`: one index probe, whatever the history.
    pub fn conflict(
        conn: &mut SqliteConnection,
        room_id: &str,
        start: i64,
        end: i64,
        except: Option<&str>,
    ) -> QueryResult<Option<Uuid>> {
        let latest: Option<(StoredUuid, i64)> = first_row(
            Self::latest_starting_before(room_id, super::CONFIRMED, end, except.unwrap_or("")),
            conn,
        )?;
        Ok(latest.and_then(|(id, end_at)| (end_at > start).then_some(id.0)))
    }

    /// The CONFIRMED reservation of `room_id` starting last before `end` (id and end).
    /// A static query, so diesel keeps it prepared.
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

    /// The length of the longest reservation ever stored, in microseconds (0 if none).
    pub fn longest(conn: &mut SqliteConnection) -> QueryResult<i64> {
        let length = reservations::end_at - reservations::start_at;
        let longest: Option<i64> = first_row(
            reservations::table.select(length).order(length.desc()),
            conn,
        )?;
        Ok(longest.unwrap_or(0))
    }

    /// Reservations overlapping `[from, to)`, by start. A reservation reaching into the window
    /// starts at most `longest` before it, so the index range scanned is bounded by the window.
    /// Up to `max` of them, and whether there were more.
    pub fn list(
        conn: &mut SqliteConnection,
        f: &ListFilter<'_>,
        max: usize,
    ) -> QueryResult<(Vec<Self>, bool)> {
        let longest = Self::longest(conn)?;
        at_most(Self::list_query(f, longest), max, conn)
    }

    fn list_query<'a>(
        f: &ListFilter<'a>,
        longest: i64,
    ) -> reservations::BoxedQuery<'a, Sqlite, reservations::SqlType> {
        let mut q = reservations::table
            .filter(reservations::start_at.lt(f.to))
            .filter(reservations::start_at.ge(f.from.saturating_sub(longest)))
            .filter(reservations::end_at.gt(f.from))
            // By start only: the index delivers that order (ties in insertion order, as an
            // index keeps equal keys by rowid), so SQLite does not sort.
            .order(reservations::start_at.asc())
            .into_boxed();
        if let Some(room) = f.room_id {
            q = q.filter(reservations::room_id.eq(room));
        }
        // The common case filters with `=`, which diesel caches as a prepared statement; a
        // status term either way keeps `start_at` a range of the index.
        if f.include_cancelled {
            q = q.filter(reservations::status.eq_any([super::CONFIRMED, super::CANCELLED]));
        } else {
            q = q.filter(reservations::status.eq(super::CONFIRMED));
        }
        q
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
                    include_cancelled,
                    from: 0,
                    to: 10,
                };
                let plan = plan(&ReservationRow::list_query(&f, 5));
                assert!(plan.contains("SEARCH reservations USING INDEX"), "{plan}");
                assert!(!plan.contains("SCAN"), "{plan}");
                if !include_cancelled {
                    // Two status ranges are merged by a sort; the common case needs none.
                    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                }
            }
        }
    }

    #[test]
    fn the_longest_reservation_is_read_from_its_index() {
        let length = reservations::end_at - reservations::start_at;
        let q = reservations::table
            .select(length)
            .order(length.desc())
            .limit(1);
        let plan = plan(&q);
        assert!(plan.contains("reservations_length"), "{plan}");
    }
}
