//! Storage: the one door to the database, and every read and write the service makes, as
//! domain values in and out. Only this module (and the PostgreSQL log reader in `events::pg`)
//! knows which database it is.
//!
//! SQLite (`:memory:` or a file): one connection behind a mutex; every check-and-write is one
//! immediate transaction. PostgreSQL (`postgres://`): a pool; every check-and-write is one
//! READ COMMITTED transaction that first locks the rows it depends on (the reservation, then
//! its rooms in id order), and an exclusion constraint guards no-overlap in the database
//! itself. Either way the change and its event-log row commit together.

mod conn;
mod models;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::Text;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use uuid::Uuid;

use crate::auth::Actor;
use crate::clock::Clock;
use crate::domain::{
    self, buffer_violation, check_cancellable, BookingRequest, ConflictMode, Features,
    OccurrenceConflict, OpeningHours, Owner, RescheduleRequest, Reservation, ReservationStatus,
    Room, RoomDetails, RoomPolicy, Series, SeriesBooking, SeriesRequest, Slot, Window,
};
use crate::error::{Error, Result};
use crate::events::{EventKind, EventLog, PreviousSlot, ReservationEvent};
pub use conn::Conn;
use models::{
    EventLogRow, EventRow, ListFilter, NewEventRow, ReservationRow, RoomRow, RoomRulesRow,
    SeriesRow, StoredStatus, StoredUuid,
};
pub use models::{RoomFilter, SERIES_PROBE_SQL};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const CONFIRMED: &str = "CONFIRMED";
const CANCELLED: &str = "CANCELLED";
const RELEASED: &str = "RELEASED";
/// Every status: what `includeCancelled` lists.
const STATUSES: [&str; 3] = [CONFIRMED, CANCELLED, RELEASED];
/// The advisory lock replicas take while migrating, so that several can start together.
const MIGRATION_LOCK: i64 = 0x726f_6f6d_626f_6f6b; // "roombook"
/// How many times a write refused by the exclusion constraint is tried again after the
/// reservation in the way turned out to be gone (cancelled meanwhile).
const CONSTRAINT_RETRIES: usize = 3;

/// How to open the database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// PostgreSQL: most pooled connections.
    pub pool_size: u32,
    /// PostgreSQL: how long a request waits for a pooled connection before `INTERNAL`.
    pub connect_timeout: Duration,
    /// How many events a subscriber may fall behind before it catches up from the log.
    pub event_capacity: usize,
    /// Where every write's `now` comes from.
    pub clock: Clock,
    /// Where each write transaction's duration is recorded (`/metrics`).
    pub transaction_seconds: TransactionTimer,
}

/// Records how long write transactions take; records nothing by default.
#[derive(Clone, Default)]
pub struct TransactionTimer(pub Option<metrics::Histogram>);

impl std::fmt::Debug for TransactionTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransactionTimer")
    }
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            pool_size: 4,
            connect_timeout: Duration::from_secs(3),
            event_capacity: EventLog::DEFAULT_CAPACITY,
            clock: Clock::default(),
            transaction_seconds: TransactionTimer::default(),
        }
    }
}

enum Backend {
    /// An in-memory SQLite database lives in its connection, so there is exactly one, and the
    /// mutex serializes every use of it: SQLite itself is built without per-call locking
    /// (`.cargo/config.toml`), so this mutex is what makes the connection safe to share.
    Sqlite {
        conn: Mutex<diesel::SqliteConnection>,
        /// A file database waits on the disk; an in-memory one only computes.
        on_disk: bool,
    },
    Pg {
        pool: Pool<ConnectionManager<PgConnection>>,
        /// The URL, for the log reader's own LISTEN connection.
        url: String,
    },
}

struct Inner {
    backend: Backend,
    log: Arc<EventLog>,
    clock: Clock,
    /// The release task's next deadline (microseconds; `i64::MAX`: none) and its wake-up.
    next_release: std::sync::atomic::AtomicI64,
    release_wake: tokio::sync::Notify,
    transaction_seconds: TransactionTimer,
}

/// The database handle: cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let redacted = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    // A password can also ride in the query string.
    let tail = tail
        .split('&')
        .map(|part| match part.split_once("password=") {
            Some((before, _)) => format!("{before}password=***"),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{scheme}://{redacted}{tail}")
}

/// A row of the log with the bounds of the snapshot it was read in.
#[derive(QueryableByName)]
struct LogRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Text)]
    xmin: String,
    #[diesel(sql_type = Text)]
    xmax: String,
}

fn parse_xid(s: &str) -> Result<u64> {
    s.parse::<u64>()
        .map_err(|e| Error::internal(format_args!("snapshot bound {s:?}: {e}")))
}

#[derive(QueryableByName)]
struct SnapshotBounds {
    #[diesel(sql_type = Text)]
    xmin: String,
    #[diesel(sql_type = Text)]
    xmax: String,
}

/// The transaction-id bounds of a PostgreSQL snapshot: every transaction below `xmin` has
/// ended; every one that has a transaction id at all is below `xmax`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub xmin: u64,
    pub xmax: u64,
}

fn snapshot(conn: &mut PgConnection) -> Result<Snapshot> {
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

impl Db {
    /// Opens `url` (`:memory:`, a file path, or `postgres://...`), migrates it, and readies
    /// the event log (on PostgreSQL: starts this process's log reader, so call it on a Tokio
    /// runtime). PostgreSQL unreachable: an error naming the URL without its password.
    pub fn open(url: &str, options: &DbOptions) -> Result<Self> {
        if is_postgres(url) {
            Self::open_pg(url, options)
        } else {
            Self::open_sqlite(url, options)
        }
    }

    fn open_sqlite(url: &str, options: &DbOptions) -> Result<Self> {
        let mut conn = diesel::SqliteConnection::establish(url)
            .map_err(|e| Error::internal(format_args!("opening database {url}: {e}")))?;
        let pragmas = if is_memory(url) {
            "PRAGMA foreign_keys = ON;"
        } else {
            // WAL with FULL sync: a commit is on disk before it is acknowledged.
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
        };
        conn.batch_execute(pragmas)
            .map_err(|e| Error::internal(format_args!("setting pragmas on {url}: {e}")))?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| Error::internal(format_args!("migrating {url}: {e}")))?;
        let (state, last) = {
            let mut c = Conn::Sqlite(&mut conn);
            (EventLogRow::get(&mut c)?, EventRow::last_seq(&mut c)?)
        };
        Ok(Db {
            inner: Arc::new(Inner {
                backend: Backend::Sqlite {
                    conn: Mutex::new(conn),
                    on_disk: !is_memory(url),
                },
                log: Arc::new(EventLog::new(
                    state.database_id,
                    last,
                    options.event_capacity,
                )),
                clock: options.clock.clone(),
                next_release: std::sync::atomic::AtomicI64::new(i64::MAX),
                release_wake: tokio::sync::Notify::new(),
                transaction_seconds: options.transaction_seconds.clone(),
            }),
        })
    }

    fn open_pg(url: &str, options: &DbOptions) -> Result<Self> {
        let unreachable = |e: &dyn std::fmt::Display| {
            Error::internal(format_args!(
                "cannot use PostgreSQL at {}: {}",
                redact(url),
                one_line(e)
            ))
        };
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            // A broken connection fails its request and is dropped then; a ping before every
            // checkout would cost each request a round trip.
            .test_on_check_out(false)
            .error_handler(Box::new(PoolErrorLog))
            .build(ConnectionManager::<PgConnection>::new(url))
            .map_err(|e| unreachable(&e))?;
        let mut conn = pool.get().map_err(|e| unreachable(&e))?;
        // Replicas starting together: one migrates, the others wait and then find nothing to do.
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .map_err(|e| unreachable(&e))?;
        let migrated = conn.run_pending_migrations(PG_MIGRATIONS).map(|_| ());
        let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
        migrated.map_err(|e| Error::internal(format_args!("migrating {}: {e}", redact(url))))?;
        unlocked.map_err(|e| unreachable(&e))?;
        let state = EventLogRow::get(&mut Conn::Pg(&mut conn))?;
        let start = Self::pg_log_start(&mut conn)?;
        drop(conn);
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::internal("the PostgreSQL backend runs its log reader on a Tokio runtime")
        })?;
        let db = Db {
            inner: Arc::new(Inner {
                backend: Backend::Pg {
                    pool,
                    url: url.to_owned(),
                },
                log: Arc::new(EventLog::new(
                    state.database_id,
                    start,
                    options.event_capacity,
                )),
                clock: options.clock.clone(),
                next_release: std::sync::atomic::AtomicI64::new(i64::MAX),
                release_wake: tokio::sync::Notify::new(),
                transaction_seconds: options.transaction_seconds.clone(),
            }),
        };
        let _guard = runtime.enter();
        crate::events::pg::spawn(&db);
        Ok(db)
    }

    /// Where this replica's log reader starts: the last event visible once every transaction
    /// that was running at start has ended. An event of such a transaction may carry a smaller
    /// sequence number than one already visible; it commits before this process serves, so
    /// no subscriber of this process is owed it, and everything after the start is read in
    /// order by the reader.
    fn pg_log_start(conn: &mut PgConnection) -> Result<i64> {
        let at_start = snapshot(conn)?;
        let last = EventRow::last_seq(&mut Conn::Pg(conn))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while snapshot(conn)?.xmin < at_start.xmax {
            if std::time::Instant::now() > deadline {
                tracing::warn!("a transaction older than this replica is still running; starting the event log anyway");
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(last)
    }

    /// The event log of this process: cursors, publishing, subscribing.
    /// The server's clock: every `now` of a rule comes from it.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Now, by the server's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn events(&self) -> &Arc<EventLog> {
        &self.inner.log
    }

    /// The PostgreSQL URL, when that is the backend.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.inner.backend {
            Backend::Pg { url, .. } => Some(url),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Whether the database answers now (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        match &self.inner.backend {
            Backend::Pg { pool, .. } => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    let mut c = pool.get_timeout(Duration::from_secs(1)).map_err(|e| {
                        Error::internal(format_args!("no database connection: {e}"))
                    })?;
                    Ok(conn::ping(&mut Conn::Pg(&mut c))?)
                })
                .await
                .map_err(|e| Error::internal(format_args!("database task failed: {e}")))?
            }
            Backend::Sqlite { .. } => self.interact(|c| Ok(conn::ping(c)?)).await,
        }
    }

    /// Runs `f` with a connection, never across an `.await`.
    ///
    /// SQLite, in memory: in place, under the lock: its statements are microseconds of CPU
    /// work, less than the two thread switches a trip to the blocking pool costs (README,
    /// Performance). SQLite on disk and PostgreSQL: on the blocking pool, since they wait on
    /// the disk or the network. A panic in `f` is caught either way and becomes `INTERNAL`.
    async fn interact<T, F>(&self, f: F) -> Result<T>
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
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| Error::internal(format_args!("database task failed: {e}")))?
    }

    /// Runs `f` in one transaction with the commit time, appending the events it returns to
    /// the log in that same transaction. After the commit: on SQLite, still under the lock,
    /// the events are published (so they follow commit order); on PostgreSQL the log reader
    /// is woken, and the other replicas are told.
    async fn write<T, F>(&self, f: F) -> Result<T>
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
    async fn guarded<T, F, P>(&self, f: F, probe: P) -> Result<T>
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

    /// Adds a room; its name must be unique among active rooms, ignoring case.
    pub async fn create_room(&self, details: RoomDetails) -> Result<Room> {
        self.write(move |conn, now| {
            let id = new_id();
            let key = details.name.key();
            if RoomRow::name_taken(conn, &key, "")? {
                return Err(name_taken(&details));
            }
            let row = room_row(id, domain::to_micros(now), &details, false);
            // Two replicas creating the same name at once: the unique index decides.
            unique_name(row.insert(conn), &details)?;
            RoomRow::set_features(conn, &row.id.0.to_string(), details.features.names())?;
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    /// Changes room `id` as `change` says, in one transaction. Reservations are not touched:
    /// a new policy applies to bookings from now on.
    pub async fn update_room<F>(&self, id: Uuid, change: F) -> Result<Room>
    where
        F: FnOnce(RoomDetails) -> RoomDetails + Send + 'static,
    {
        self.write(move |conn, _now| {
            let current = find_room_for_update(conn, id)?;
            let room = room_from_row(current.clone())?;
            let details = change(room.details()?);
            if !room.archived && RoomRow::name_taken(conn, &details.name.key(), &id.to_string())? {
                return Err(name_taken(&details));
            }
            let row = room_row(id, current.created_at, &details, room.archived);
            unique_name(row.update(conn), &details)?;
            if details.features != room.features {
                RoomRow::set_features(conn, &id.to_string(), details.features.names())?;
            }
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    /// Archives room `id`. CONFIRMED reservations that have not ended refuse it
    /// (`ROOM_IN_USE`) unless `cancel_future`, which cancels each (an event each) in the same
    /// transaction. An archived room is returned unchanged.
    pub async fn archive_room(&self, id: Uuid, cancel_future: bool) -> Result<Room> {
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            // Reservation rows before the room, as every other write locks them.
            let pending = ReservationRow::lock_not_ended(conn, &id.to_string(), at)?;
            let mut row = find_room_for_update(conn, id)?;
            if row.rules.archived {
                return Ok((room_from_row(row)?, Vec::new()));
            }
            // Read again under the room's lock: a booking that committed after the first read
            // is in it now, and none can be added until this transaction ends.
            let pending = match conn {
                Conn::Sqlite(_) => pending,
                Conn::Pg(_) => ReservationRow::lock_not_ended(conn, &id.to_string(), at)?,
            };
            if !pending.is_empty() && !cancel_future {
                return Err(Error::RoomInUse {
                    room: id,
                    total: pending.len(),
                    reservations: pending.iter().take(100).map(|r| r.id.0).collect(),
                });
            }
            let mut events = Vec::with_capacity(pending.len());
            for mut reservation in pending {
                reservation.status = StoredStatus(ReservationStatus::Cancelled);
                reservation.updated_at = at;
                reservation.auto_release_at = None;
                reservation.update(conn)?;
                let cancelled = reservation_from_row(reservation)?;
                events.push(event(EventKind::Cancelled, &cancelled, None, now));
            }
            row.rules.archived = true;
            row.update(conn)?;
            Ok((room_from_row(row)?, events))
        })
        .await
    }

    /// Undoes `archive_room`; `ALREADY_EXISTS` if an active room has taken the name meanwhile.
    pub async fn restore_room(&self, id: Uuid) -> Result<Room> {
        self.write(move |conn, _now| {
            let mut row = find_room_for_update(conn, id)?;
            if !row.rules.archived {
                return Ok((room_from_row(row)?, Vec::new()));
            }
            let details = room_from_row(row.clone())?.details()?;
            if RoomRow::name_taken(conn, &row.name_key, &id.to_string())? {
                return Err(name_taken(&details));
            }
            row.rules.archived = false;
            unique_name(row.update(conn), &details)?;
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    pub async fn room(&self, id: Uuid) -> Result<Option<Room>> {
        self.interact(move |conn| {
            RoomRow::find(conn, &id.to_string())?
                .map(room_from_row)
                .transpose()
        })
        .await
    }

    /// Rooms matching `filter`, sorted by name; more than `max` is refused.
    pub async fn rooms(&self, filter: RoomFilter, max: usize) -> Result<Vec<Room>> {
        self.interact(move |conn| {
            let (rows, more) = RoomRow::list_by_name(conn, &filter, max)?;
            if more {
                return Err(too_many(
                    "rooms",
                    max,
                    "narrow them with minCapacity, building or features",
                ));
            }
            rows.into_iter().map(room_from_row).collect()
        })
        .await
    }

    /// The rooms among `ids` that exist, by id.
    pub async fn rooms_by_id(&self, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Room>> {
        self.interact(move |conn| {
            let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
            RoomRow::find_many(conn, &ids)?
                .into_iter()
                .map(|row| room_from_row(row).map(|room| (room.id, room)))
                .collect()
        })
        .await
    }

    /// The active rooms matching `filter` where booking `slot` would succeed at `now`: every
    /// policy satisfied and nothing in the way, buffers included. One statement: the rooms,
    /// each with one correlated index probe of its calendar (a round trip per room would cost
    /// PostgreSQL 1,000 of them for 1,000 rooms). Sorted by capacity then name; more than `max`
    /// is refused.
    pub async fn available_rooms(
        &self,
        slot: Slot,
        filter: RoomFilter,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Room>> {
        if slot.start() < now {
            return Ok(Vec::new());
        }
        let (start, end) = micros(slot);
        self.interact(move |conn| {
            let filter = RoomFilter {
                include_archived: false,
                ..filter
            };
            let mut free = Vec::new();
            for (row, latest_end) in RoomRow::list_with_latest_end(conn, &filter, end)? {
                let room = room_from_row(row)?;
                if room.policy.check(slot, now, room.time_zone).is_err() {
                    continue;
                }
                if latest_end.is_some_and(|e| e + buffer_micros(&room.policy) > start) {
                    continue;
                }
                if free.len() == max {
                    return Err(too_many(
                        "rooms",
                        max,
                        "narrow them with minCapacity, building or features",
                    ));
                }
                free.push(room);
            }
            Ok(free)
        })
        .await
    }

    /// The start and end of every CONFIRMED reservation of `room` overlapping `window`, sorted;
    /// more than `max` is refused.
    pub async fn busy(&self, room: Uuid, window: Window, max: usize) -> Result<Vec<Slot>> {
        self.interact(move |conn| {
            let room = room.to_string();
            let (times, more) = ReservationRow::list_times(
                conn,
                &ListFilter {
                    room_id: Some(&room),
                    owner: None,
                    include_cancelled: false,
                    from: domain::to_micros(window.from),
                    to: domain::to_micros(window.to),
                },
                max,
            )?;
            if more {
                return Err(too_many("busy times", max, "ask for a shorter window"));
            }
            times.into_iter().map(slot_of).collect()
        })
        .await
    }

    /// `Room.freeSlots`: the maximal intervals of `window` in which a booking of `room`
    /// satisfies every rule at `now`, at least `min_minutes` long; more than `max` is refused.
    pub async fn free_slots(
        &self,
        room: Room,
        window: Window,
        min_minutes: i64,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Slot>> {
        if room.archived {
            return Ok(Vec::new());
        }
        // Every reservation of a year fits: one per minute of it is 527,040.
        const MOST_BUSY: usize = 600_000;
        self.interact(move |conn| {
            let id = room.id.to_string();
            let b = buffer_micros(&room.policy);
            let (times, more) = ReservationRow::list_times(
                conn,
                &ListFilter {
                    room_id: Some(&id),
                    owner: None,
                    include_cancelled: false,
                    from: domain::to_micros(window.from) - b,
                    to: domain::to_micros(window.to) + b,
                },
                MOST_BUSY,
            )?;
            if more {
                return Err(too_many(
                    "reservations",
                    MOST_BUSY,
                    "ask for a shorter window",
                ));
            }
            let busy = times.into_iter().map(slot_of).collect::<Result<Vec<_>>>()?;
            let slots = domain::free_slots(&domain::FreeSlotsQuery {
                from: window.from,
                to: window.to,
                now,
                policy: &room.policy,
                tz: room.time_zone,
                busy: &busy,
                min_minutes,
            });
            if slots.len() > max {
                return Err(too_many("free slots", max, "ask for a shorter window"));
            }
            Ok(slots)
        })
        .await
    }

    pub async fn reservation(&self, id: Uuid) -> Result<Option<Reservation>> {
        self.interact(move |conn| {
            ReservationRow::find(conn, &id.to_string())?
                .map(reservation_from_row)
                .transpose()
        })
        .await
    }

    /// Reservations overlapping `window`, sorted by start; only CONFIRMED ones unless
    /// `include_cancelled`. An unknown `room_id` is `NOT_FOUND`; more than `max` is refused.
    pub async fn reservations(
        &self,
        window: Window,
        room_id: Option<Uuid>,
        include_cancelled: bool,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        self.list(window, room_id, None, include_cancelled, max, true)
            .await
    }

    /// The reservations `owner` booked overlapping `window`, sorted by start; only CONFIRMED
    /// ones unless `include_cancelled`; more than `max` is refused.
    pub async fn reservations_owned(
        &self,
        owner: Owner,
        window: Window,
        include_cancelled: bool,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        self.list(window, None, Some(owner), include_cancelled, max, false)
            .await
    }

    /// The CONFIRMED reservations of `room` (just read, so known to exist: rooms are never
    /// deleted) overlapping `window`, sorted by start; more than `max` is refused.
    pub async fn reservations_of(
        &self,
        room: &Room,
        window: Window,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        self.list(window, Some(room.id), None, false, max, false)
            .await
    }

    async fn list(
        &self,
        window: Window,
        room_id: Option<Uuid>,
        owner: Option<Owner>,
        include_cancelled: bool,
        max: usize,
        check_room: bool,
    ) -> Result<Vec<Reservation>> {
        self.interact(move |conn| {
            let room = room_id.map(|id| id.to_string());
            if let Some(room) = room.as_ref().filter(|_| check_room) {
                if !RoomRow::exists(conn, room)? {
                    return Err(room_not_found(room));
                }
            }
            let filter = ListFilter {
                room_id: room.as_deref(),
                owner: owner.as_ref(),
                include_cancelled,
                from: domain::to_micros(window.from),
                to: domain::to_micros(window.to),
            };
            let (rows, more) = ReservationRow::list(conn, &filter, max)?;
            if more {
                return Err(too_many(
                    "reservations",
                    max,
                    "ask for a shorter window or one room",
                ));
            }
            rows.into_iter().map(reservation_from_row).collect()
        })
        .await
    }

    /// Books `req` if its room exists and the slot is free: check and write in one step.
    pub async fn book(&self, req: BookingRequest) -> Result<Reservation> {
        let slot = micros(req.slot);
        let room_id = req.room_id;
        let probe = move |conn: &mut Conn<'_>| {
            Ok(ReservationRow::conflict(
                conn,
                &room_id.to_string(),
                slot.0,
                slot.1,
                None,
            )?)
        };
        let write = move |conn: &mut Conn<'_>, now: DateTime<Utc>| {
            let rules = lock_room(conn, room_id)?;
            admit(conn, &rules, room_id, req.slot, None, now, Probe::AtWrite)?;
            let (start, end) = slot;
            let at = domain::to_micros(now);
            let row = ReservationRow {
                id: StoredUuid(new_id()),
                room_id: StoredUuid(room_id),
                start_at: start,
                end_at: end,
                title: req.title.clone(),
                organizer_name: req.organizer_name.clone(),
                organizer_email: req.organizer_email.clone(),
                status: StoredStatus(ReservationStatus::Confirmed),
                created_at: at,
                updated_at: at,
                series_id: None,
                checked_in_at: None,
                released_at: None,
                auto_release_at: release_deadline(req.slot, &rules),
                owner_subject: req.owner.as_ref().map(|o| o.subject.clone()),
                owner_issuer: req.owner.as_ref().map(|o| o.issuer.clone()),
            };
            guard_overlap(row.insert(conn))?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::Booked, &reservation, None, now);
            Ok((reservation, vec![event]))
        };
        let booked = self.guarded(write, probe).await?;
        self.deadline_set(booked.auto_release_at);
        Ok(booked)
    }

    /// Cancels reservation `id`: its slot is free again.
    pub async fn cancel(&self, id: Uuid, actor: Actor) -> Result<Reservation> {
        self.write(move |conn, now| {
            let mut row = find_reservation_for_update(conn, id)?;
            may_change(&actor, &row)?;
            lock_rooms(conn, &[row.room_id.0])?;
            check_cancellable(&reservation_from_row(row.clone())?, now)?;
            row.status = StoredStatus(ReservationStatus::Cancelled);
            row.updated_at = domain::to_micros(now);
            row.auto_release_at = None;
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::Cancelled, &reservation, None, now);
            Ok((reservation, vec![event]))
        })
        .await
    }

    /// Moves reservation `id` as `req` says, if the new slot obeys every booking rule; the
    /// reservation itself never blocks its new slot.
    pub async fn reschedule(
        &self,
        id: Uuid,
        req: RescheduleRequest,
        actor: Actor,
    ) -> Result<Reservation> {
        let req = Arc::new(req);
        let wanted = Arc::clone(&req);
        let clock = self.inner.clock.clone();
        // Only when the database's guard refused: the slot asked for, against what is stored.
        let probe = move |conn: &mut Conn<'_>| {
            let current = reservation_from_row(find_reservation(conn, id)?)?;
            let (room, slot) = wanted.apply(&current, clock.now())?;
            let (start, end) = micros(slot);
            Ok(ReservationRow::conflict(
                conn,
                &room.to_string(),
                start,
                end,
                Some(&id.to_string()),
            )?)
        };
        let write = move |conn: &mut Conn<'_>, now: DateTime<Utc>| {
            let mut row = find_reservation_for_update(conn, id)?;
            may_change(&actor, &row)?;
            let before = reservation_from_row(row.clone())?;
            let (room_id, slot) = req.apply(&before, now)?;
            let room = room_id.to_string();
            let mut rooms = vec![row.room_id.0, room_id];
            rooms.sort();
            rooms.dedup();
            let locked = lock_rooms(conn, &rooms)?;
            let rules = rooms
                .iter()
                .zip(locked)
                .find(|(id, _)| **id == room_id)
                .and_then(|(_, rules)| rules)
                .ok_or_else(|| room_not_found(&room))?;
            let rules = rules_from_row(rules)?;
            admit(
                conn,
                &rules,
                room_id,
                slot,
                Some(&row.id.0.to_string()),
                now,
                Probe::AtWrite,
            )?;
            let (start, end) = micros(slot);
            row.room_id = StoredUuid(room_id);
            row.start_at = start;
            row.end_at = end;
            row.updated_at = domain::to_micros(now);
            if row.checked_in_at.is_none() {
                row.auto_release_at = release_deadline(slot, &rules);
            }
            guard_overlap(row.update(conn))?;
            let reservation = reservation_from_row(row)?;
            let previous = PreviousSlot {
                start: before.start,
                end: before.end,
                room_id: before.room_id,
            };
            let event = event(EventKind::Rescheduled, &reservation, Some(previous), now);
            Ok((reservation, vec![event]))
        };
        let moved = self.guarded(write, probe).await?;
        self.deadline_set(moved.auto_release_at);
        Ok(moved)
    }

    /// Checks reservation `id` in (API.md, "Check-in and release"); checked in already: it is
    /// returned unchanged, with no event.
    pub async fn check_in(&self, id: Uuid, actor: Actor) -> Result<Reservation> {
        self.write(move |conn, now| {
            let mut row = find_reservation_for_update(conn, id)?;
            may_change(&actor, &row)?;
            let rules = lock_room(conn, row.room_id.0)?;
            let current = reservation_from_row(row.clone())?;
            match domain::check_in(&current, rules.policy.check_in_opens_minutes, now)? {
                domain::CheckIn::Already => Ok((current, Vec::new())),
                domain::CheckIn::Now => {
                    let at = domain::to_micros(now);
                    row.checked_in_at = Some(at);
                    row.auto_release_at = None;
                    row.updated_at = at;
                    row.update(conn)?;
                    let reservation = reservation_from_row(row)?;
                    let event = event(EventKind::CheckedIn, &reservation, None, now);
                    Ok((reservation, vec![event]))
                }
            }
        })
        .await
    }

    /// Ends reservation `id` now, while it is in progress: the rest of its slot is free.
    pub async fn check_out(&self, id: Uuid, actor: Actor) -> Result<Reservation> {
        self.write(move |conn, now| {
            let mut row = find_reservation_for_update(conn, id)?;
            may_change(&actor, &row)?;
            lock_rooms(conn, &[row.room_id.0])?;
            domain::check_out(&reservation_from_row(row.clone())?, now)?;
            let at = domain::to_micros(now);
            row.end_at = at;
            row.auto_release_at = None;
            row.updated_at = at;
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::CheckedOut, &reservation, None, now);
            Ok((reservation, vec![event]))
        })
        .await
    }

    /// Releases up to `limit` reservations whose check-in deadline has passed, in one
    /// transaction: each by a conditional update, so a racing check-in, or another replica
    /// releasing too, leaves it as that one made it, and only the writer whose update changed
    /// the row publishes `RELEASED`. Returns how many were due (released or not).
    pub async fn release_due(&self, limit: i64) -> Result<usize> {
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            let due = ReservationRow::lock_due(conn, at, limit)?;
            let mut rooms: Vec<Uuid> = due.iter().map(|r| r.room_id.0).collect();
            rooms.sort();
            rooms.dedup();
            lock_rooms(conn, &rooms)?;
            let mut events = Vec::new();
            for row in &due {
                if ReservationRow::release(conn, &row.id.0.to_string(), at)? {
                    let released = ReservationRow {
                        status: StoredStatus(ReservationStatus::Released),
                        released_at: Some(at),
                        auto_release_at: None,
                        updated_at: at,
                        ..row.clone()
                    };
                    let reservation = reservation_from_row(released)?;
                    events.push(event(EventKind::Released, &reservation, None, now));
                }
            }
            Ok((due.len(), events))
        })
        .await
    }

    /// The earliest check-in deadline still pending, if any; the release task sleeps until
    /// then (or until `deadline_set` wakes it).
    pub async fn next_release(&self) -> Result<Option<DateTime<Utc>>> {
        let next = self
            .interact(|conn| Ok(ReservationRow::next_release(conn)?))
            .await?;
        self.inner.next_release.store(
            next.unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        next.map(instant).transpose()
    }

    /// Resolves when a write set a deadline earlier than the one the release task sleeps for.
    pub async fn release_deadline_moved(&self) {
        self.inner.release_wake.notified().await;
    }

    /// A write set a check-in deadline: wakes the release task if it is sooner than the one it
    /// sleeps for.
    fn deadline_set(&self, at: Option<DateTime<Utc>>) {
        let Some(at) = at else { return };
        let next = self
            .inner
            .next_release
            .load(std::sync::atomic::Ordering::Relaxed);
        if domain::to_micros(at) < next {
            self.inner.release_wake.notify_one();
        }
    }

    /// Books every occurrence of the series `req` describes, in one transaction: each one is
    /// checked against every booking rule and policy as if booked alone (an index probe
    /// each). A refused one fails the whole series (`SERIES_CONFLICT`, listing every refused
    /// occurrence) or, with `ConflictMode::Skip`, is reported and left out. One BOOKED event
    /// per occurrence, in start order.
    pub async fn book_series(&self, req: SeriesRequest) -> Result<SeriesBooking> {
        let booking = self
            .write(move |conn, now| {
                let room_id = req.room_id;
                let rules = lock_room(conn, room_id)?;
                if rules.archived {
                    return Err(Error::RoomArchived(room_id));
                }
                let slots = req.recurrence.expand(req.first, rules.tz)?;
                domain::check_spacing(&slots, rules.policy.buffer_minutes)?;
                let near = near_slots(conn, room_id, &slots, buffer_micros(&rules.policy))?;
                let mut accepted = Vec::with_capacity(slots.len());
                let mut refused = Vec::new();
                for (i, &slot) in slots.iter().enumerate() {
                    let verdict = Slot::bookable(slot.start(), slot.end(), now).and_then(|_| {
                        if near.as_ref().is_some_and(|near| !near.contains(&i)) {
                            // Nothing within the buffer, so no overlap either: the policy decides.
                            rules.policy.check(slot, now, rules.tz)
                        } else {
                            admit(conn, &rules, room_id, slot, None, now, Probe::Now)
                        }
                    });
                    match verdict {
                        Ok(()) => accepted.push(slot),
                        Err(e) => match OccurrenceConflict::of(slot, &e) {
                            Some(conflict) => refused.push(conflict),
                            None => return Err(e),
                        },
                    }
                }
                if accepted.is_empty()
                    || (!refused.is_empty() && req.on_conflict == ConflictMode::Fail)
                {
                    return Err(Error::SeriesConflict {
                        total: slots.len(),
                        conflicts: refused,
                    });
                }
                let at = domain::to_micros(now);
                let first_day =
                    domain::Weekday::of(req.first.start().with_timezone(&rules.tz).date_naive());
                let series = SeriesRow {
                    id: StoredUuid(new_id()),
                    room_id: StoredUuid(room_id),
                    rrule: req.recurrence.rrule(first_day),
                    time_zone: rules.tz.name().to_owned(),
                    first_start: domain::to_micros(req.first.start()),
                    title: req.title.clone(),
                    organizer_name: req.organizer_name.clone(),
                    organizer_email: req.organizer_email.clone(),
                    created_at: at,
                    owner_subject: req.owner.as_ref().map(|o| o.subject.clone()),
                    owner_issuer: req.owner.as_ref().map(|o| o.issuer.clone()),
                };
                series.insert(conn)?;
                let rows: Vec<ReservationRow> = accepted
                    .iter()
                    .map(|&slot| {
                        let (start, end) = micros(slot);
                        ReservationRow {
                            id: StoredUuid(new_id()),
                            room_id: StoredUuid(room_id),
                            start_at: start,
                            end_at: end,
                            title: req.title.clone(),
                            organizer_name: req.organizer_name.clone(),
                            organizer_email: req.organizer_email.clone(),
                            status: StoredStatus(ReservationStatus::Confirmed),
                            created_at: at,
                            updated_at: at,
                            series_id: Some(series.id),
                            checked_in_at: None,
                            released_at: None,
                            auto_release_at: release_deadline(slot, &rules),
                            owner_subject: series.owner_subject.clone(),
                            owner_issuer: series.owner_issuer.clone(),
                        }
                    })
                    .collect();
                // Large series in chunks: SQLite binds at most 32,766 values per statement.
                for chunk in rows.chunks(500) {
                    ReservationRow::insert_many(conn, chunk)?;
                }
                let occurrences = rows
                    .into_iter()
                    .map(reservation_from_row)
                    .collect::<Result<Vec<_>>>()?;
                let events = occurrences
                    .iter()
                    .map(|r| event(EventKind::Booked, r, None, now))
                    .collect();
                let booking = SeriesBooking {
                    series: series_from_row(series)?,
                    occurrences,
                    skipped: refused,
                };
                Ok((booking, events))
            })
            .await?;
        let first = booking
            .occurrences
            .iter()
            .filter_map(|r| r.auto_release_at)
            .min();
        self.deadline_set(first);
        Ok(booking)
    }

    /// Cancels every CONFIRMED occurrence of series `id` starting at or after `from` (now if
    /// omitted or earlier: occurrences already started are kept), in one transaction, with a
    /// CANCELLED event each in start order.
    pub async fn cancel_series(
        &self,
        id: Uuid,
        from: Option<DateTime<Utc>>,
        actor: Actor,
    ) -> Result<Series> {
        self.write(move |conn, now| {
            let key = id.to_string();
            let series = SeriesRow::find(conn, &key)?.ok_or_else(|| series_not_found(id))?;
            let owner =
                Owner::from_columns(series.owner_subject.clone(), series.owner_issuer.clone());
            actor.may_change(owner.as_ref(), "series", id)?;
            let from = from.map_or(now, |f| f.max(now));
            let mut rows =
                ReservationRow::lock_of_series_from(conn, &key, domain::to_micros(from))?;
            let mut rooms: Vec<Uuid> = rows.iter().map(|r| r.room_id.0).collect();
            rooms.sort();
            rooms.dedup();
            lock_rooms(conn, &rooms)?;
            let at = domain::to_micros(now);
            let ids: Vec<String> = rows.iter().map(|r| r.id.0.to_string()).collect();
            for chunk in ids.chunks(500) {
                ReservationRow::set_status(
                    conn,
                    chunk,
                    StoredStatus(ReservationStatus::Cancelled),
                    at,
                )?;
            }
            let mut events = Vec::with_capacity(rows.len());
            for row in rows.drain(..) {
                let row = ReservationRow {
                    status: StoredStatus(ReservationStatus::Cancelled),
                    updated_at: at,
                    auto_release_at: None,
                    ..row
                };
                let reservation = reservation_from_row(row)?;
                events.push(event(EventKind::Cancelled, &reservation, None, now));
            }
            Ok((series_from_row(series)?, events))
        })
        .await
    }

    /// Series `id`, if there is one.
    pub async fn series(&self, id: Uuid) -> Result<Option<Series>> {
        self.interact(move |conn| {
            SeriesRow::find(conn, &id.to_string())?
                .map(series_from_row)
                .transpose()
        })
        .await
    }

    /// The series among `ids` that exist.
    pub async fn series_by_id(&self, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Series>> {
        self.interact(move |conn| {
            let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
            SeriesRow::find_many(conn, &keys)?
                .into_iter()
                .map(|row| series_from_row(row).map(|s| (s.id, s)))
                .collect()
        })
        .await
    }

    /// The occurrences of series `id`, by start: CONFIRMED ones, or every one.
    pub async fn series_occurrences(
        &self,
        id: Uuid,
        include_cancelled: bool,
    ) -> Result<Vec<Reservation>> {
        self.interact(move |conn| {
            let statuses: &[&str] = if include_cancelled {
                &STATUSES
            } else {
                &[CONFIRMED]
            };
            ReservationRow::of_series(conn, &id.to_string(), statuses)?
                .into_iter()
                .map(reservation_from_row)
                .collect()
        })
        .await
    }

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

/// Runs `f` with the locked SQLite connection. A lock poisoned by an earlier panic is taken
/// anyway: the connection rolled back any open transaction when the panicking closure unwound.
fn with_sqlite<T>(
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

/// Logs the pool's failures to (re)connect, without the URL's password (r2d2's own messages
/// carry only the driver's text).
#[derive(Debug)]
struct PoolErrorLog;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for PoolErrorLog {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(error = %one_line(&error), "PostgreSQL connection failed");
    }
}

/// A driver's message on one line (libpq adds indented hint lines).
fn one_line(message: &dyn std::fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Locks `rooms` (sorted by the caller) for the transaction; each one's rules, if it exists.
fn lock_rooms(conn: &mut Conn<'_>, rooms: &[Uuid]) -> Result<Vec<Option<RoomRulesRow>>> {
    let ids: Vec<String> = rooms.iter().map(Uuid::to_string).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(RoomRow::lock(conn, &refs)?)
}

/// Locks room `id` for the transaction and reads its rules; `NOT_FOUND` if there is none.
fn lock_room(conn: &mut Conn<'_>, id: Uuid) -> Result<Rules> {
    match RoomRow::lock(conn, &[&id.to_string()])?.pop().flatten() {
        Some(row) => rules_from_row(row),
        None => Err(room_not_found(&id.to_string())),
    }
}

/// What a booking checks of its room, parsed.
struct Rules {
    archived: bool,
    tz: chrono_tz::Tz,
    policy: RoomPolicy,
}

fn rules_from_row(row: RoomRulesRow) -> Result<Rules> {
    let tz = domain::parse_time_zone(&row.time_zone)
        .map_err(|_| Error::internal(format_args!("stored time zone {:?}", row.time_zone)))?;
    let opening_hours = match &row.opening_hours {
        None => None,
        Some(text) => Some(
            OpeningHours::from_stored(text)
                .ok_or_else(|| Error::internal(format_args!("stored opening hours {text:?}")))?,
        ),
    };
    Ok(Rules {
        archived: row.archived,
        tz,
        policy: RoomPolicy {
            min_duration_minutes: row.min_duration_minutes,
            max_duration_minutes: row.max_duration_minutes,
            buffer_minutes: row.buffer_minutes,
            booking_horizon_days: row.booking_horizon_days,
            opening_hours,
            check_in_required: row.check_in_required,
            check_in_opens_minutes: row.check_in_opens_minutes,
            auto_release_minutes: row.auto_release_minutes,
        },
    })
}

/// When a reservation of `slot` in a room with `rules` is released unless checked in.
fn release_deadline(slot: Slot, rules: &Rules) -> Option<i64> {
    domain::auto_release_at(slot.start(), &rules.policy).map(domain::to_micros)
}

fn buffer_micros(policy: &RoomPolicy) -> i64 {
    i64::from(policy.buffer_minutes) * 60_000_000
}

/// On PostgreSQL, which of `slots` have a CONFIRMED reservation of the room within `buffer`
/// (microseconds), found in one statement; `None` on SQLite, where each slot's own probe in
/// `admit` costs no round trip.
fn near_slots(
    conn: &mut Conn<'_>,
    room_id: Uuid,
    slots: &[Slot],
    buffer: i64,
) -> Result<Option<std::collections::HashSet<usize>>> {
    let Conn::Pg(c) = conn else {
        return Ok(None);
    };
    let (starts, ends): (Vec<i64>, Vec<i64>) = slots
        .iter()
        .map(|&slot| {
            let (start, end) = micros(slot);
            (start - buffer, end + buffer)
        })
        .unzip();
    let hits = ReservationRow::conflicting_slots_pg(c, &room_id.to_string(), &starts, &ends)?;
    Ok(Some(hits.into_iter().collect()))
}

/// How `admit` finds an overlap when the room has no buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// A single write: on PostgreSQL the exclusion constraint decides at the write.
    AtWrite,
    /// Always an explicit index probe, on both backends: the verdict is needed before any
    /// write (each occurrence of a series).
    Now,
}

/// Booking rules 3, 5 and 6 for `slot` in the locked room `room_id`, in API.md's order:
/// archived, overlap, the policy (durations, horizon, opening hours), then the buffer.
/// `except` is the reservation being moved.
///
/// One index probe on the success path, whatever the policy: in a room with a buffer the
/// probe looks `b` further on each side, which also finds any overlap, and only when it finds
/// something does a second probe tell an overlap from a reservation merely too close. On
/// PostgreSQL a single write to a room without a buffer leaves the overlap to the exclusion
/// constraint (see `check_overlap`); if the policy refuses such a slot, the overlap probe runs
/// first, so a slot that breaks both is `OVERLAP` on either backend.
fn admit(
    conn: &mut Conn<'_>,
    rules: &Rules,
    room_id: Uuid,
    slot: Slot,
    except: Option<&str>,
    now: DateTime<Utc>,
    probe: Probe,
) -> Result<()> {
    if rules.archived {
        return Err(Error::RoomArchived(room_id));
    }
    let room = room_id.to_string();
    let room = room.as_str();
    let (start, end) = micros(slot);
    let overlap = |conn: &mut Conn<'_>| {
        refuse_conflict(ReservationRow::conflict(conn, room, start, end, except)?)
    };
    let b = buffer_micros(&rules.policy);
    let deferred = b == 0 && probe == Probe::AtWrite && matches!(conn, Conn::Pg(_));
    let near = if b > 0 {
        ReservationRow::conflict(conn, room, start - b, end + b, except)?
    } else if probe == Probe::Now {
        overlap(conn)?;
        None
    } else {
        check_overlap(conn, room, start, end, except)?;
        None
    };
    if near.is_some() {
        overlap(conn)?;
    }
    if let Err(refused) = rules.policy.check(slot, now, rules.tz) {
        if deferred {
            overlap(conn)?;
        }
        return Err(refused);
    }
    match near {
        Some(other) => Err(buffer_violation(rules.policy.buffer_minutes, other)),
        None => Ok(()),
    }
}

fn find_room_for_update(conn: &mut Conn<'_>, id: Uuid) -> Result<RoomRow> {
    RoomRow::find_for_update(conn, &id.to_string())?.ok_or_else(|| room_not_found(&id.to_string()))
}

fn name_taken(details: &RoomDetails) -> Error {
    Error::AlreadyExists(format!(
        "a room named {:?} already exists (names are compared ignoring case)",
        details.name.as_str()
    ))
}

/// A write refused by the unique index on active rooms' names: `ALREADY_EXISTS`.
fn unique_name(written: QueryResult<usize>, details: &RoomDetails) -> Result<usize> {
    match written {
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(name_taken(details))
        }
        other => Ok(other?),
    }
}

/// The row storing room `id` as `details` say.
fn room_row(id: Uuid, created_at: i64, details: &RoomDetails, archived: bool) -> RoomRow {
    let p = &details.policy;
    RoomRow {
        id: StoredUuid(id),
        name: details.name.as_str().to_owned(),
        name_key: details.name.key(),
        capacity: details.capacity.get(),
        created_at,
        building: details.building.clone(),
        building_key: details.building.as_deref().map(str::to_lowercase),
        floor: details.floor.clone(),
        description: details.description.clone(),
        features: details.features.to_stored(),
        rules: RoomRulesRow {
            archived,
            time_zone: details.time_zone.name().to_owned(),
            min_duration_minutes: p.min_duration_minutes,
            max_duration_minutes: p.max_duration_minutes,
            buffer_minutes: p.buffer_minutes,
            booking_horizon_days: p.booking_horizon_days,
            opening_hours: p.opening_hours.as_deref().map(OpeningHours::to_stored),
            check_in_required: p.check_in_required,
            check_in_opens_minutes: p.check_in_opens_minutes,
            auto_release_minutes: p.auto_release_minutes,
        },
    }
}

fn slot_of((start, end): (i64, i64)) -> Result<Slot> {
    Slot::new(instant(start)?, instant(end)?)
        .map_err(|_| Error::internal(format_args!("stored slot {start}..{end}")))
}

/// Appends `events` to the log in order and sets their `seq`: from `next` on when the writer
/// knows it (SQLite), else as the identity assigns them (PostgreSQL: several in one statement,
/// so that a series' hundreds of events are one round trip).
fn append_events(
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

/// The database's exclusion constraint refused a write: `OVERLAP`, the reservation in the way
/// still to be found (see `Db::guarded`).
fn guard_overlap(written: QueryResult<usize>) -> Result<usize> {
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

/// A fresh, migrated in-memory connection, for unit tests of the queries.
#[cfg(test)]
pub(crate) fn test_connection() -> diesel::SqliteConnection {
    let mut conn = diesel::SqliteConnection::establish(":memory:").expect("in-memory sqlite");
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .expect("migrations");
    conn
}

/// A new row id: a UUID v7, whose leading bits are the time, so ids sort by creation and each
/// insert lands at the end of the primary-key index. A random v4 id lands on a random page of
/// it, and as the table grows most of those pages have fallen out of the CPU caches.
fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn is_memory(url: &str) -> bool {
    url == ":memory:" || url.contains("mode=memory")
}

fn micros(slot: Slot) -> (i64, i64) {
    (
        domain::to_micros(slot.start()),
        domain::to_micros(slot.end()),
    )
}

fn event(
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

/// A list longer than a client may ask for at once.
fn too_many(what: &str, max: usize, hint: &str) -> Error {
    Error::BadUserInput(format!(
        "more than {max} {what} match; at most {max} are returned at once: {hint}"
    ))
}

fn room_not_found(id: &str) -> Error {
    Error::NotFound(format!("no room with id {id}"))
}

/// Rule 3 inside a write. SQLite: one index probe. PostgreSQL: the exclusion constraint
/// decides when the row is written (the room is locked, so nothing can slip in between), and
/// the probe runs only if it refuses, to name the reservation in the way (`Db::guarded`):
/// most bookings succeed, and this saves each of them a statement.
fn check_overlap(
    conn: &mut Conn<'_>,
    room: &str,
    start: i64,
    end: i64,
    except: Option<&str>,
) -> Result<()> {
    match conn {
        Conn::Sqlite(_) => {
            refuse_conflict(ReservationRow::conflict(conn, room, start, end, except)?)
        }
        Conn::Pg(_) => Ok(()),
    }
}

fn refuse_conflict(conflict: Option<Uuid>) -> Result<()> {
    match conflict {
        None => Ok(()),
        Some(conflicting) => Err(Error::Overlap { conflicting }),
    }
}

fn find_reservation(conn: &mut Conn<'_>, id: Uuid) -> Result<ReservationRow> {
    ReservationRow::find(conn, &id.to_string())?
        .ok_or_else(|| Error::NotFound(format!("no reservation with id {id}")))
}

fn find_reservation_for_update(conn: &mut Conn<'_>, id: Uuid) -> Result<ReservationRow> {
    ReservationRow::find_for_update(conn, &id.to_string())?
        .ok_or_else(|| Error::NotFound(format!("no reservation with id {id}")))
}

fn instant(us: i64) -> Result<DateTime<Utc>> {
    domain::from_micros(us).ok_or_else(|| Error::internal(format_args!("stored instant {us}")))
}

fn room_from_row(row: RoomRow) -> Result<Room> {
    let rules = rules_from_row(row.rules)?;
    Ok(Room {
        id: row.id.0,
        name: row.name,
        capacity: row.capacity,
        created_at: instant(row.created_at)?,
        time_zone: rules.tz,
        building: row.building,
        floor: row.floor,
        features: Features::from_stored(&row.features),
        description: row.description,
        archived: rules.archived,
        policy: rules.policy,
    })
}

fn reservation_from_row(row: ReservationRow) -> Result<Reservation> {
    Ok(Reservation {
        id: row.id.0,
        room_id: row.room_id.0,
        start: instant(row.start_at)?,
        end: instant(row.end_at)?,
        title: row.title,
        organizer_name: row.organizer_name,
        organizer_email: row.organizer_email,
        status: row.status.0,
        created_at: instant(row.created_at)?,
        updated_at: instant(row.updated_at)?,
        series_id: row.series_id.map(|s| s.0),
        checked_in_at: row.checked_in_at.map(instant).transpose()?,
        released_at: row.released_at.map(instant).transpose()?,
        auto_release_at: row.auto_release_at.map(instant).transpose()?,
        owner: Owner::from_columns(row.owner_subject, row.owner_issuer),
    })
}

fn series_from_row(row: SeriesRow) -> Result<Series> {
    let time_zone = domain::parse_time_zone(&row.time_zone)
        .map_err(|_| Error::internal(format_args!("stored time zone {:?}", row.time_zone)))?;
    Ok(Series {
        id: row.id.0,
        room_id: row.room_id.0,
        rrule: row.rrule,
        time_zone,
        first_start: instant(row.first_start)?,
        title: row.title,
        organizer_name: row.organizer_name,
        organizer_email: row.organizer_email,
        created_at: instant(row.created_at)?,
        owner: Owner::from_columns(row.owner_subject, row.owner_issuer),
    })
}

/// The ownership check (`auth`) on a reservation about to change, before any rule of the
/// change: a caller who may not change it learns nothing more.
fn may_change(actor: &Actor, row: &ReservationRow) -> Result<()> {
    let owner = Owner::from_columns(row.owner_subject.clone(), row.owner_issuer.clone());
    actor.may_change(owner.as_ref(), "reservation", row.id.0)
}

fn series_not_found(id: Uuid) -> Error {
    Error::NotFound(format!("no series with id {id}"))
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;

    use super::*;

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// Ids grow with time, so each insert appends to the primary-key index (see `new_id`).
    #[test]
    fn new_ids_are_uuid_v7_in_creation_order() {
        let ids: Vec<Uuid> = (0..1000).map(|_| new_id()).collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        assert!(ids.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    }

    /// `.cargo/config.toml` builds SQLite without per-call connection locking (the mutex in
    /// `Db` serializes every use) and without memory statistics; a build that lost those
    /// flags would still work, only slower, so it is checked here.
    #[test]
    fn sqlite_is_built_with_the_options_in_cargo_config() {
        let mut conn = test_connection();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .expect("compile options")
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        for wanted in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
            assert!(
                options.iter().any(|o| o == wanted),
                "{wanted} not in {options:?}"
            );
        }
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn count(conn: &mut diesel::SqliteConnection, sql: &str) -> i64 {
        diesel::sql_query(sql)
            .get_result::<Count>(conn)
            .expect(sql)
            .n
    }

    /// A database from before rooms v2 keeps its rooms and reservations: the SQLite migration
    /// rebuilds `rooms`, and foreign keys must still hold (and be on) afterwards.
    #[test]
    fn a_v1_database_keeps_its_data_through_the_rooms_v2_migration() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
        for _ in 0..2 {
            conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        conn.batch_execute(
            "INSERT INTO rooms VALUES ('00000000-0000-4000-8000-000000000001', 'Oak', 'oak', 4, 0);
             INSERT INTO reservations VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000001', 10, 20, NULL, 'Ada', 'ada@example.com',
                                              'CONFIRMED', 0, 0);",
        )
        .unwrap();
        conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
        let room = RoomRow::find(
            &mut Conn::Sqlite(&mut conn),
            "00000000-0000-4000-8000-000000000001",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                room.name.as_str(),
                room.rules.time_zone.as_str(),
                room.rules.archived
            ),
            ("Oak", "UTC", false)
        );
        assert_eq!(
            count(&mut conn, "SELECT count(*) AS n FROM reservations WHERE room_id = '00000000-0000-4000-8000-000000000001'"),
            1
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM pragma_foreign_key_check"
            ),
            0
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT foreign_keys AS n FROM pragma_foreign_keys"
            ),
            1
        );
        // Active names stay unique; an archived room's name is free.
        assert!(conn
            .batch_execute("INSERT INTO rooms (id, name, name_key, capacity, created_at) VALUES ('00000000-0000-4000-8000-000000000002', 'OAK', 'oak', 2, 0)")
            .is_err());
        conn.batch_execute(
            "UPDATE rooms SET archived = TRUE WHERE id = '00000000-0000-4000-8000-000000000001';
             INSERT INTO rooms (id, name, name_key, capacity, created_at) VALUES ('00000000-0000-4000-8000-000000000002', 'OAK', 'oak', 2, 0);",
        )
        .unwrap();
        // A reservation of an unknown room is still refused.
        assert!(conn
            .batch_execute("INSERT INTO reservations VALUES ('00000000-0000-4000-8000-0000000000b2', 'nope', 10, 20, NULL, 'Ada', 'a@b.c', 'CONFIRMED', 0, 0)")
            .is_err());
    }

    #[test]
    fn postgres_urls_choose_postgres_and_everything_else_sqlite() {
        assert!(is_postgres("postgres://u@h/db"));
        assert!(is_postgres("postgresql://u@h/db"));
        assert!(!is_postgres(":memory:"));
        assert!(!is_postgres("roombook.db"));
        assert!(!is_postgres("./postgres.db"));
    }

    #[test]
    fn a_redacted_url_keeps_everything_but_the_password() {
        assert_eq!(
            redact("postgres://ada:s3cret@db.example:5432/roombook?sslmode=disable"),
            "postgres://ada:***@db.example:5432/roombook?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://ada@db/roombook"),
            "postgres://ada@db/roombook"
        );
        assert_eq!(
            redact("postgresql://h/db?user=ada&password=s3cret"),
            "postgresql://h/db?user=ada&password=***"
        );
        assert!(!redact("postgres://a:p%40ss@h/db").contains("p%40ss"));
    }
}
