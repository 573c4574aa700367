//! The transaction helpers every write goes through (the SQLite mutex or the pool, a
//! transaction, retries after the exclusion constraint), and appending the change's events.

use super::*;

impl Db {
    /// Runs `f` with a connection, never across an `.await`.
    ///
    /// SQLite, in memory: in place, under the lock: its statements are microseconds of CPU
    /// work, less than the two thread switches a trip to the blocking pool costs
    /// (docs/design.md, Performance). SQLite on disk and PostgreSQL: on the blocking pool, since they wait on
    /// the disk or the network. A panic in `f` is caught either way and becomes `INTERNAL`.
    pub(super) async fn interact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn<'_>) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let run = move || match &inner.backend {
            Backend::Sqlite { conn, .. } => with_sqlite(conn, |c| f(&mut Conn::Sqlite(c))),
            Backend::Pg { pool, .. } => {
                let mut c = pool
                    .get()
                    .map_err(|e| Error::internal(format_args!("no database connection: {e}")))?;
                f(&mut Conn::Pg(&mut c))
            }
        };
        if matches!(self.inner.backend, Backend::Sqlite { on_disk: false, .. }) {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .map_err(|_| Error::internal("database work panicked"))?;
        }
        // What the work logs belongs to the request that asked for it (its `request_id`).
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(run))
            .await
            .map_err(|e| Error::internal(format_args!("database task failed: {e}")))?
    }

    /// Runs `f` in one transaction with the commit time, appending the events it returns to
    /// the log in that same transaction. After the commit: on SQLite, still under the lock,
    /// the events are published (so they follow commit order); on PostgreSQL the log reader
    /// is woken, and the other replicas are told.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn<'_>, DateTime<Utc>) -> Result<(T, Vec<ReservationEvent>)>
            + Send
            + 'static,
    {
        let inner = Arc::clone(&self.inner);
        self.interact(move |conn| {
            let now = inner.clock.now();
            let work = |conn: &mut Conn<'_>| -> Result<(T, Vec<ReservationEvent>)> {
                let (value, mut events) = f(conn, now)?;
                // SQLite: the one writer holds the lock, so the next sequence number is the
                // last published one's successor (an insert naming it needs no RETURNING).
                let next = match conn {
                    Conn::Sqlite(_) => Some(inner.log.published() + 1),
                    Conn::Pg(_) => None,
                };
                // Stamped with every lock of the change held: on PostgreSQL a writer may have
                // waited for its room since `now`, and a room's events must not go back in time.
                let stamp = inner.clock.now();
                for event in &mut events {
                    event.at = event.at.max(stamp);
                }
                append_events(conn, &mut events, next)?;
                Ok((value, events))
            };
            let began = std::time::Instant::now();
            let timer = &inner.transaction_seconds;
            let timed = |r| {
                if let Some(h) = &timer.0 {
                    h.record(began.elapsed().as_secs_f64());
                }
                r
            };
            match conn {
                Conn::Sqlite(c) => {
                    let (value, events) =
                        timed(c.immediate_transaction(|c| work(&mut Conn::Sqlite(c))))?;
                    for event in events {
                        inner.log.publish(event);
                    }
                    Ok(value)
                }
                Conn::Pg(c) => {
                    let (value, events) = timed(
                        c.build_transaction()
                            .read_committed()
                            .run(|c| work(&mut Conn::Pg(c))),
                    )?;
                    if !events.is_empty() {
                        inner.log.wake_reader.notify_one();
                        inner.log.wake_notifier.notify_one();
                    }
                    Ok(value)
                }
            }
        })
        .await
    }

    /// Runs a write whose slot PostgreSQL's exclusion constraint may refuse (see
    /// `check_overlap`): such a refusal becomes `OVERLAP` naming the reservation in the way,
    /// which `probe` finds after the rollback; if that one is gone by then, the write is
    /// tried again.
    pub(super) async fn guarded<T, F, P>(&self, f: F, probe: P) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn<'_>, DateTime<Utc>) -> Result<(T, Vec<ReservationEvent>)>
            + Send
            + Sync
            + 'static,
        P: Fn(&mut Conn<'_>) -> Result<Option<Uuid>> + Send + Sync + 'static,
    {
        let (f, probe) = (Arc::new(f), Arc::new(probe));
        for _ in 0..CONSTRAINT_RETRIES {
            let g = Arc::clone(&f);
            match self.write(move |c, now| g(c, now)).await {
                Err(Error::Overlap { conflicting }) if conflicting.is_nil() => {
                    let p = Arc::clone(&probe);
                    if let Some(conflicting) = self.interact(move |c| p(c)).await? {
                        return Err(Error::Overlap { conflicting });
                    }
                }
                other => return other,
            }
        }
        Err(Error::internal(
            "the overlap guard kept refusing a slot no reservation holds",
        ))
    }
}

/// Runs `f` with the locked SQLite connection. A lock poisoned by an earlier panic is taken
/// anyway: the connection rolled back any open transaction when the panicking closure unwound.
pub(super) fn with_sqlite<T>(
    conn: &Mutex<diesel::SqliteConnection>,
    f: impl FnOnce(&mut diesel::SqliteConnection) -> Result<T>,
) -> Result<T> {
    let mut guard = conn.lock().unwrap_or_else(|poisoned| {
        tracing::error!("database mutex was poisoned; recovering");
        conn.clear_poison();
        poisoned.into_inner()
    });
    f(&mut guard)
}

/// Appends `events` to the log in order and sets their `seq`: from `next` on when the writer
/// knows it (SQLite), else as the identity assigns them (PostgreSQL: several in one statement,
/// so that a series' hundreds of events are one round trip).
pub(super) fn append_events(
    conn: &mut Conn<'_>,
    events: &mut [ReservationEvent],
    next: Option<i64>,
) -> Result<()> {
    let payloads = events
        .iter()
        .map(ReservationEvent::to_payload)
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<NewEventRow<'_>> = events
        .iter()
        .zip(&payloads)
        .map(|(event, payload)| {
            let room = event.reservation.room_id;
            NewEventRow {
                room_id: room.to_string(),
                previous_room_id: event
                    .previous
                    .filter(|p| p.room_id != room)
                    .map(|p| p.room_id.to_string()),
                payload,
            }
        })
        .collect();
    match conn {
        Conn::Pg(c) if rows.len() > 1 => {
            let mut seqs = Vec::with_capacity(rows.len());
            for chunk in rows.chunks(1000) {
                seqs.extend(models::append_pg(c, chunk)?);
            }
            if seqs.len() != events.len() {
                return Err(Error::internal(
                    "the event log returned too few sequence numbers",
                ));
            }
            for (event, seq) in events.iter_mut().zip(seqs) {
                event.seq = seq;
            }
        }
        _ => {
            let mut next = next;
            for (event, row) in events.iter_mut().zip(&rows) {
                event.seq = row.append(conn, next)?;
                next = next.map(|n| n + 1);
            }
        }
    }
    Ok(())
}

pub(super) fn event(
    kind: EventKind,
    reservation: &Reservation,
    previous: Option<PreviousSlot>,
    at: DateTime<Utc>,
) -> ReservationEvent {
    ReservationEvent {
        seq: 0,
        kind,
        reservation: reservation.clone(),
        previous,
        at,
    }
}

/// The database's exclusion constraint refused a write: `OVERLAP`, the reservation in the way
/// still to be found (see `Db::guarded`).
pub(super) fn guard_overlap(written: QueryResult<usize>) -> Result<usize> {
    match written {
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::ExclusionViolation, info)) => {
            tracing::debug!(detail = ?info.details(), "the exclusion constraint refused an overlap");
            Err(Error::Overlap {
                conflicting: Uuid::nil(),
            })
        }
        other => Ok(other?),
    }
}
