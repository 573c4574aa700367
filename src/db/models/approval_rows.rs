//! `reservations` waiting for a manager's decision: the expiry job's walk, its conditional
//! update, and the managers' list.

use super::*;

/// Approval (API.md "Room managers and approval"): the reservations waiting for a decision.
impl ReservationRow {
    /// Those waiting (`approval_deadline` set: PENDING), by deadline, from the partial index
    /// `reservations_approval_due`, which holds nothing else.
    #[diesel::dsl::auto_type(no_type_alias)]
    fn waiting() -> _ {
        reservations::table
            .filter(reservations::approval_deadline.is_not_null())
            .order((
                reservations::approval_deadline.asc(),
                reservations::id.asc(),
            ))
    }

    /// Those whose approval deadline has passed at `now`, at most `limit`, by deadline;
    /// locked for the rest of the transaction on PostgreSQL.
    pub fn lock_approval_due(
        conn: &mut Conn<'_>,
        now: i64,
        limit: i64,
    ) -> QueryResult<Vec<ReservationRow>> {
        load_locked!(
            conn,
            Self::waiting()
                .filter(reservations::approval_deadline.le(now))
                .limit(limit),
            ReservationRow
        )
    }

    /// Expires reservation `id` if it is still waiting at `now` with its deadline passed: a
    /// conditional update, so a racing decision, or another replica expiring it too, leaves
    /// it as that one made it; whether this one changed it.
    pub fn expire(conn: &mut Conn<'_>, id: &str, now: i64) -> QueryResult<bool> {
        let changed = dispatch!(conn, |c| diesel::update(
            reservations::table
                .find(id)
                .filter(reservations::status.eq(crate::db::CONFIRMED))
                .filter(reservations::approval_deadline.le(now))
        )
        .set((
            reservations::status.eq(crate::db::CANCELLED),
            reservations::approval.eq(Some(crate::domain::Approval::Expired.as_str())),
            reservations::approval_deadline.eq(None::<i64>),
            reservations::decided_at.eq(Some(now)),
            reservations::updated_at.eq(now),
        ))
        .execute(c))?;
        Ok(changed == 1)
    }

    /// The earliest approval deadline, if any: one index probe.
    pub fn next_expiry(conn: &mut Conn<'_>) -> QueryResult<Option<i64>> {
        dispatch!(conn, |c| c.first_row(
            Self::waiting().select(reservations::approval_deadline)
        ))
        .map(Option::flatten)
    }

    /// Every reservation waiting for a decision (in `room_id`, if given), by deadline; more
    /// than `max` is `(max rows, true)`.
    pub fn waiting_in(
        conn: &mut Conn<'_>,
        room_id: Option<&str>,
        max: usize,
    ) -> QueryResult<(Vec<ReservationRow>, bool)> {
        dispatch!(conn, |c| {
            let mut q = Self::waiting().into_boxed();
            if let Some(room) = room_id {
                q = q.filter(reservations::room_id.eq(room));
            }
            c.at_most(q.select(ReservationRow::as_select()), max)
        })
    }

    /// The occurrences of series `id` waiting for a decision, by start; locked for the rest of
    /// the transaction on PostgreSQL.
    pub fn lock_waiting_of_series(
        conn: &mut Conn<'_>,
        id: &str,
    ) -> QueryResult<Vec<ReservationRow>> {
        load_locked!(
            conn,
            reservations::table
                .filter(reservations::series_id.eq(id))
                .filter(reservations::approval_deadline.is_not_null())
                .order((reservations::start_at.asc(), reservations::id.asc())),
            ReservationRow
        )
    }
}
