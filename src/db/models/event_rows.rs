//! `events` and `event_log`: appending a change's events, reading and pruning the log.

use super::*;

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
