//! `series`: the row of a recurring series.

use super::*;

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
