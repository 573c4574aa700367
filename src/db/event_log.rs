//! The event log as stored: replay after a cursor, reading by sequence within a PostgreSQL
//! snapshot's bounds, pruning.

use super::*;

impl Db {
    /// Up to `limit` logged events with `after < seq < before`, for one room or all, in order.
    /// A cursor the log has been pruned past is `BAD_USER_INPUT`: checked in the same snapshot
    /// as the read, so a prune running meanwhile cannot hide a gap.
    pub async fn replay(
        &self,
        after: i64,
        before: i64,
        room: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ReservationEvent>> {
        self.interact(move |conn| {
            let room = room.map(|r| r.to_string());
            let read = |conn: &mut Conn<'_>| -> Result<Vec<ReservationEvent>> {
                let state = EventLogRow::get(conn)?;
                if after < state.pruned_through {
                    return Err(Error::BadUserInput(
                        "the events after that cursor are no longer kept (the log keeps the \
                         last events only); refetch what you show and subscribe without `after`"
                            .into(),
                    ));
                }
                EventRow::range(conn, after, before, room.as_deref(), limit)?
                    .into_iter()
                    .map(|row| ReservationEvent::from_payload(row.seq, &row.payload))
                    .collect()
            };
            match conn {
                Conn::Sqlite(_) => read(conn),
                Conn::Pg(c) => c
                    .build_transaction()
                    .repeatable_read()
                    .read_only()
                    .run(|c| read(&mut Conn::Pg(c))),
            }
        })
        .await
    }

    /// The events after `after` that have committed already (at most 100,000): a subscription
    /// starting now must not be sent them, though the log reader may not have published them
    /// yet.
    pub async fn committed_after(&self, after: i64) -> Result<Vec<i64>> {
        self.interact(move |conn| Ok(EventRow::seqs_after(conn, after, 100_000)?))
            .await
    }

    /// PostgreSQL's log reader: up to `limit` events with `seq >= next`, in order, and the
    /// snapshot they were read in (which transactions may still add events below them).
    pub async fn read_log(
        &self,
        next: i64,
        limit: i64,
    ) -> Result<(Vec<ReservationEvent>, Option<Snapshot>)> {
        self.interact(move |conn| match conn {
            Conn::Sqlite(_) => Err(Error::internal(
                "the log reader runs on PostgreSQL only: SQLite publishes as it commits",
            )),
            Conn::Pg(c) => {
                // One statement, so the rows and the snapshot bounds come from one snapshot
                // (a statement's own, which pg_current_snapshot() returns): one round trip
                // per read, which runs after nearly every commit.
                let rows: Vec<LogRow> = diesel::sql_query(
                    "SELECT seq, payload, \
                            pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, \
                            pg_snapshot_xmax(pg_current_snapshot())::text AS xmax \
                     FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2",
                )
                .bind::<diesel::sql_types::BigInt, _>(next)
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .load(*c)?;
                let snap = match rows.first() {
                    Some(r) => Some(Snapshot {
                        xmin: parse_xid(&r.xmin)?,
                        xmax: parse_xid(&r.xmax)?,
                    }),
                    None => None,
                };
                let events = rows
                    .into_iter()
                    .map(|row| ReservationEvent::from_payload(row.seq, &row.payload))
                    .collect::<Result<_>>()?;
                Ok((events, snap))
            }
        })
        .await
    }

    /// Deletes all but the last `keep` events, a batch per transaction so that writers wait
    /// at most one batch. Returns how many were deleted.
    pub async fn prune_events(&self, keep: i64) -> Result<usize> {
        const BATCH: i64 = 5_000;
        let mut deleted = 0;
        loop {
            let step = self
                .interact(move |conn| {
                    let last = EventRow::last_seq(conn)?;
                    let state = EventLogRow::get(conn)?;
                    let cutoff = last - keep;
                    if cutoff <= state.pruned_through {
                        return Ok(None);
                    }
                    let through = cutoff.min(state.pruned_through + BATCH);
                    let n = match conn {
                        Conn::Sqlite(c) => c.immediate_transaction(|c| {
                            EventRow::prune_through(&mut Conn::Sqlite(c), through)
                        })?,
                        Conn::Pg(c) => {
                            c.transaction(|c| EventRow::prune_through(&mut Conn::Pg(c), through))?
                        }
                    };
                    Ok(Some(n))
                })
                .await?;
            match step {
                Some(n) => deleted += n,
                None => return Ok(deleted),
            }
            tokio::task::yield_now().await;
        }
    }
}

/// A row of the log with the bounds of the snapshot it was read in.
#[derive(QueryableByName)]
pub(super) struct LogRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) seq: i64,
    #[diesel(sql_type = Text)]
    pub(super) payload: String,
    #[diesel(sql_type = Text)]
    pub(super) xmin: String,
    #[diesel(sql_type = Text)]
    pub(super) xmax: String,
}

pub(super) fn parse_xid(s: &str) -> Result<u64> {
    s.parse::<u64>()
        .map_err(|e| Error::internal(format_args!("snapshot bound {s:?}: {e}")))
}

#[derive(QueryableByName)]
pub(super) struct SnapshotBounds {
    #[diesel(sql_type = Text)]
    pub(super) xmin: String,
    #[diesel(sql_type = Text)]
    pub(super) xmax: String,
}

pub(super) fn snapshot(conn: &mut PgConnection) -> Result<Snapshot> {
    let b: SnapshotBounds = diesel::sql_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, \
                pg_snapshot_xmax(pg_current_snapshot())::text AS xmax",
    )
    .get_result(conn)?;
    Ok(Snapshot {
        xmin: parse_xid(&b.xmin)?,
        xmax: parse_xid(&b.xmax)?,
    })
}

impl crate::events::pg::LogStore for Db {
    fn postgres(&self) -> Option<&crate::pg_tls::PgTarget> {
        Db::postgres(self)
    }

    fn events(&self) -> &Arc<EventLog> {
        Db::events(self)
    }

    fn read_log(
        &self,
        next: i64,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<(Vec<ReservationEvent>, Option<Snapshot>)>> + Send
    {
        Db::read_log(self, next, limit)
    }
}
