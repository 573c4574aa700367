//! `reservations`: rows, the overlap and buffer probes, listings, status changes.

use super::*;

diesel::define_sql_function! {
    /// SQL `lower`, on both backends: organizers' addresses compare ignoring case.
    fn lower(x: Text) -> Text;
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
    /// Where it stands with an approval room's managers (`Approval::as_str`); `None`: never
    /// needed approval. PENDING is `status` CONFIRMED with this PENDING (see the migration).
    pub approval: Option<String>,
    /// While PENDING: when it expires unless decided. Cleared by every change that ends the
    /// wait, so the expiry job's partial index holds only those still waiting.
    pub approval_deadline: Option<i64>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
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

/// Where a page of a reservation listing lies: strictly between `after` and `before`
/// (positions `(start_at, id)`), `limit` rows from `after` on (from `before` back if `backward`).
pub struct PageBounds<'a> {
    pub after: Option<(i64, &'a str)>,
    pub before: Option<(i64, &'a str)>,
    pub backward: bool,
    pub limit: usize,
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
    pub(super) fn latest_starting_before<'a>(
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

    /// As `list` for the common filter (one room, CONFIRMED only, any owner) as one static
    /// statement: diesel prepares it once and finds it by type, where a boxed query builds
    /// its SQL text again and looks it up by that text on every call (~3% of a listing).
    pub fn list_in_room(
        conn: &mut Conn<'_>,
        room_id: &str,
        from: i64,
        to: i64,
        max: usize,
    ) -> QueryResult<(Vec<Self>, bool)> {
        dispatch!(conn, |c| c.at_most(
            room_list_query!(room_id, from, to).select(ReservationRow::as_select()),
            max
        ))
    }

    /// As `list_in_room`, only each reservation's id, start and end: a third of the row,
    /// for a listing that shows nothing else.
    pub fn list_slots_in_room(
        conn: &mut Conn<'_>,
        room_id: &str,
        from: i64,
        to: i64,
        max: usize,
    ) -> QueryResult<(Vec<SlotRow>, bool)> {
        dispatch!(conn, |c| c.at_most(
            room_list_query!(room_id, from, to).select(SLOT_COLUMNS),
            max
        ))
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

    /// One page of what `f` lists, by (start, id): up to `bounds.limit` rows strictly between
    /// the bounds, nearest `after` paging forward (nearest `before` backward, returned in
    /// descending order), and whether there were more.
    pub fn page(
        conn: &mut Conn<'_>,
        f: &ListFilter<'_>,
        bounds: &PageBounds<'_>,
    ) -> QueryResult<(Vec<Self>, bool)> {
        use reservations::{id, start_at};
        dispatch!(conn, |c| {
            let mut q = filtered_query!(f);
            if let Some((s, after)) = bounds.after {
                q = q.filter(start_at.gt(s).or(start_at.eq(s).and(id.gt(after))));
            }
            if let Some((s, before)) = bounds.before {
                q = q.filter(start_at.lt(s).or(start_at.eq(s).and(id.lt(before))));
            }
            let q = if bounds.backward {
                q.order((start_at.desc(), id.desc()))
            } else {
                q.order((start_at.asc(), id.asc()))
            };
            c.at_most(q.select(ReservationRow::as_select()), bounds.limit)
        })
    }

    /// A forward page of one room's CONFIRMED reservations (`Room.reservationsConnection`'s
    /// common case) as one static statement, kept prepared: up to `limit` after the position
    /// `after` (`(i64::MIN, "")` for the first page), and whether there were more. By start
    /// only, as `list_in_room`: a room's CONFIRMED reservations never overlap, so no two
    /// share a start and (start, id) is the same order, from the index without a sort.
    pub fn room_page(
        conn: &mut Conn<'_>,
        room_id: &str,
        (from, to): (i64, i64),
        (start, id): (i64, &str),
        limit: usize,
    ) -> QueryResult<(Vec<Self>, bool)> {
        dispatch!(conn, |c| c.at_most(
            room_page_query!(room_id, from, to, start, id).select(ReservationRow::as_select()),
            limit
        ))
    }

    /// As `room_page`, only each reservation's id, start and end.
    pub fn room_page_slots(
        conn: &mut Conn<'_>,
        room_id: &str,
        (from, to): (i64, i64),
        (start, id): (i64, &str),
        limit: usize,
    ) -> QueryResult<(Vec<SlotRow>, bool)> {
        dispatch!(conn, |c| c.at_most(
            room_page_query!(room_id, from, to, start, id).select(SLOT_COLUMNS),
            limit
        ))
    }

    /// How many rows `f` lists.
    pub fn count(conn: &mut Conn<'_>, f: &ListFilter<'_>) -> QueryResult<i64> {
        dispatch!(conn, |c| filtered_query!(f).count().get_result(c))
    }

    /// Whether `f` lists a row at or before the position `(start, id)` (`at_or_after`: at or
    /// after it): what makes a previous (next) page exist beyond a page's bound.
    pub fn any_beyond(
        conn: &mut Conn<'_>,
        f: &ListFilter<'_>,
        (s, at): (i64, &str),
        at_or_after: bool,
    ) -> QueryResult<bool> {
        use reservations::{id, start_at};
        let found: Option<StoredUuid> = dispatch!(conn, |c| {
            let q = filtered_query!(f);
            let q = if at_or_after {
                q.filter(start_at.gt(s).or(start_at.eq(s).and(id.ge(at))))
            } else {
                q.filter(start_at.lt(s).or(start_at.eq(s).and(id.le(at))))
            };
            c.first_row(q.select(id))
        })?;
        Ok(found.is_some())
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
    pub(super) fn pending_deadlines<'a>(status: &'a str) -> _ {
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

    /// The reservations of `room_id` that hold their slot, booked for the organizer `email`
    /// (ignoring case), starting in `[from, to)`: (id, start, end). What a quota counts (API.md
    /// "Quotas"), found by `reservations_room_organizer` (room, organizer, status, start): a
    /// search, however many reservations the room or the person holds outside the range.
    pub fn of_organizer(
        conn: &mut Conn<'_>,
        room_id: &str,
        email: &str,
        (from, to): (i64, i64),
    ) -> QueryResult<Vec<(StoredUuid, i64, i64)>> {
        dispatch!(conn, |c| reservations::table
            .filter(reservations::room_id.eq(room_id))
            .filter(lower(reservations::organizer_email).eq(lower(email)))
            .filter(reservations::status.eq(crate::db::CONFIRMED))
            .filter(reservations::start_at.ge(from))
            .filter(reservations::start_at.lt(to))
            .select((
                reservations::id,
                reservations::start_at,
                reservations::end_at
            ))
            .load(c))
    }

    /// The CONFIRMED reservation of `room_id` that started before `at` and ends after it, if
    /// any (at most one: a room's never overlap): (id, start, end, organizer email). One index
    /// probe, as `conflict`.
    pub fn reaching_over(
        conn: &mut Conn<'_>,
        room_id: &str,
        at: i64,
    ) -> QueryResult<Option<(StoredUuid, i64, i64, String)>> {
        let latest: Option<(StoredUuid, i64, i64, String)> = dispatch!(conn, |c| c.first_row(
            reservations::table
                .filter(reservations::room_id.eq(room_id))
                .filter(reservations::status.eq(crate::db::CONFIRMED))
                .filter(reservations::start_at.lt(at))
                .order(reservations::start_at.desc())
                .select((
                    reservations::id,
                    reservations::start_at,
                    reservations::end_at,
                    reservations::organizer_email
                ))
        ))?;
        Ok(latest.filter(|(_, _, end, _)| *end > at))
    }

    /// How many of them start at or after `from`: a count over the same index, no row read.
    pub fn count_of_organizer_from(
        conn: &mut Conn<'_>,
        room_id: &str,
        email: &str,
        from: i64,
    ) -> QueryResult<i64> {
        dispatch!(conn, |c| reservations::table
            .filter(reservations::room_id.eq(room_id))
            .filter(lower(reservations::organizer_email).eq(lower(email)))
            .filter(reservations::status.eq(crate::db::CONFIRMED))
            .filter(reservations::start_at.ge(from))
            .count()
            .get_result(c))
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
            reservations::approval_deadline.eq(None::<i64>),
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

/// A reservation's id, start and end (`ReservationRow::list_slots_in_room`).
pub type SlotRow = (StoredUuid, i64, i64, Option<String>);

/// The columns of a `SlotRow`: id, start, end, and the approval the status is shown from (a
/// slot listing reads only a room's CONFIRMED or PENDING reservations).
const SLOT_COLUMNS: (
    reservations::id,
    reservations::start_at,
    reservations::end_at,
    reservations::approval,
) = (
    reservations::id,
    reservations::start_at,
    reservations::end_at,
    reservations::approval,
);

/// The static listing query of `ReservationRow::list_in_room`: `list_query!`'s window for one
/// room's CONFIRMED reservations.
macro_rules! room_list_query {
    ($room:expr, $from:expr, $to:expr) => {{
        reservations::table
            .filter(in_window!($from, $to))
            .filter(reservations::room_id.eq($room))
            .filter(reservations::status.eq(crate::db::CONFIRMED))
            .order(reservations::start_at.asc())
    }};
}
pub(super) use room_list_query;

/// `room_list_query` after the position `(start, id)`.
macro_rules! room_page_query {
    ($room:expr, $from:expr, $to:expr, $start:expr, $id:expr) => {{
        let (start, id): (i64, &str) = ($start, $id);
        room_list_query!($room, $from, $to).filter(
            reservations::start_at.gt(start).or(reservations::start_at
                .eq(start)
                .and(reservations::id.gt(id))),
        )
    }};
}
pub(super) use room_page_query;

/// The reservations overlapping `[from, to)`, as terms the index can search: one that starts
/// before `to` and ends after `from` starts at most the longest reservation's length before
/// `from`, so the range of `start_at` scanned is bounded by the window; that length is a
/// scalar subquery of the same statement, read from its index.
macro_rules! in_window {
    ($from:expr, $to:expr) => {{
        let length = longest_reservation.field(reservations::end_at)
            - longest_reservation.field(reservations::start_at);
        let longest = longest_reservation
            .select(diesel::dsl::max(length))
            .single_value();
        let (from, to): (i64, i64) = ($from, $to);
        let earliest =
            from.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>() - longest;
        reservations::start_at
            .lt(to)
            .and(reservations::start_at.nullable().ge(earliest))
            .and(reservations::end_at.gt(from))
    }};
}
pub(super) use in_window;

/// The listing query of `ReservationRow::list`, boxed for whichever backend runs it.
macro_rules! list_query {
    ($f:expr) => {{
        // By start only: the index delivers that order (ties in insertion order, as an
        // index keeps equal keys by rowid), so SQLite does not sort.
        filtered_query!($f).order(reservations::start_at.asc())
    }};
}
pub(super) use list_query;

/// The rows a `ListFilter` selects, unordered (for counting, and for pages to order).
macro_rules! filtered_query {
    ($f:expr) => {{
        let f: &ListFilter<'_> = $f;
        let mut q = reservations::table
            .into_boxed()
            .filter(in_window!(f.from, f.to));
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
pub(super) use filtered_query;
