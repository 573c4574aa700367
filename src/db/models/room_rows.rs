//! `rooms` (and their features): rows, filters, the locked read of a room's rules.

use super::*;

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
    /// The room's managers, one entry per line (`Managers::to_stored`).
    pub managers: String,
    pub max_hours_per_person_per_week: Option<i32>,
    pub max_active_reservations_per_person: Option<i32>,
    pub approval_required: bool,
    pub approval_timeout_hours: i32,
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

// The query-plan tests build these statements too.
#[cfg(test)]
pub(super) use latest_end_before;
#[cfg(test)]
pub(super) use rooms_query;
