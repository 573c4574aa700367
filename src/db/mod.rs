//! Storage: the one SQLite connection behind a mutex, and every read and write the service
//! makes, as domain values in and out. Only this module knows the database is SQLite.

mod models;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use uuid::Uuid;

use crate::domain::{
    self, check_cancellable, BookingRequest, Capacity, RescheduleRequest, Reservation,
    ReservationStatus, Room, RoomName, Slot, Window,
};
use crate::error::{Error, Result};
use crate::events::{EventBus, EventKind, PreviousSlot, ReservationEvent};
use models::{ListFilter, ReservationRow, RoomRow, StoredStatus, StoredUuid};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
const CONFIRMED: &str = "CONFIRMED";
const CANCELLED: &str = "CANCELLED";

/// The database handle: cheap to clone, one connection inside.
///
/// An in-memory SQLite database lives in its connection, so there is exactly one, and the
/// mutex serializes every use of it: SQLite itself is built without per-call locking
/// (`.cargo/config.toml`), so this mutex is what makes the connection safe to share.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<SqliteConnection>>,
    bus: EventBus,
    /// A file database waits on the disk; an in-memory one only computes.
    on_disk: bool,
}

impl Db {
    /// Opens `url` (`:memory:` or a file path), sets the pragmas and runs the migrations.
    /// Committed reservation changes are published on `bus`.
    pub fn open(url: &str, bus: EventBus) -> Result<Self> {
        let mut conn = SqliteConnection::establish(url)
            .map_err(|e| Error::internal(format_args!("opening database {url}: {e}")))?;
        let pragmas = if is_memory(url) {
            "PRAGMA foreign_keys = ON;"
        } else {
            // WAL with FULL sync: a commit is on disk before it is acknowledged.
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
        };
        conn.batch_execute(pragmas)
            .map_err(|e| Error::internal(format_args!("setting pragmas on {url}: {e}")))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| Error::internal(format_args!("migrating {url}: {e}")))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            bus,
            on_disk: !is_memory(url),
        })
    }

    /// The bus committed changes are published on.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Runs `f` with the connection, under the lock, never across an `.await`.
    ///
    /// A file database runs it on the blocking pool: a commit waits for the disk. An in-memory
    /// one runs it in place: its statements are microseconds of CPU work, less than the two
    /// thread switches a trip to the blocking pool costs (measured: see README, Performance).
    /// A panic in `f` is caught either way and becomes `INTERNAL`.
    async fn interact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        if self.on_disk {
            return tokio::task::spawn_blocking(move || with_connection(&conn, f))
                .await
                .map_err(|e| Error::internal(format_args!("database task failed: {e}")))?;
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_connection(&conn, f)))
            .map_err(|_| Error::internal("database work panicked"))?
    }

    /// Runs `f` in one immediate transaction with the commit time; after the commit, and
    /// still under the lock, publishes the event it returns, so events follow commit order.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection, DateTime<Utc>) -> Result<(T, Option<ReservationEvent>)>
            + Send
            + 'static,
    {
        let bus = self.bus.clone();
        self.interact(move |conn| {
            let now = domain::truncate_to_micros(Utc::now());
            let (value, event) = conn.immediate_transaction(|conn| f(conn, now))?;
            if let Some(event) = event {
                bus.publish(event);
            }
            Ok(value)
        })
        .await
    }

    pub async fn create_room(&self, name: RoomName, capacity: Capacity) -> Result<Room> {
        self.write(move |conn, now| {
            let key = name.key();
            if RoomRow::name_taken(conn, &key)? {
                return Err(Error::AlreadyExists(format!(
                    "a room named {:?} already exists (names are compared ignoring case)",
                    name.as_str()
                )));
            }
            let row = RoomRow {
                id: StoredUuid(new_id()),
                name: name.as_str().to_owned(),
                name_key: key,
                capacity: capacity.get(),
                created_at: domain::to_micros(now),
            };
            row.insert(conn)?;
            Ok((room_from_row(row)?, None))
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

    /// Rooms of at least `min_capacity`, sorted by name; more than `max` is refused.
    pub async fn rooms(&self, min_capacity: Option<i32>, max: usize) -> Result<Vec<Room>> {
        self.interact(move |conn| {
            let (rows, more) = RoomRow::list_by_name(conn, min_capacity, max)?;
            if more {
                return Err(too_many("rooms", max, "use minCapacity to narrow them"));
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

    /// Rooms of at least `min_capacity` with no CONFIRMED reservation overlapping `slot`,
    /// sorted by capacity then name; more than `max` is refused.
    pub async fn available_rooms(
        &self,
        slot: Slot,
        min_capacity: Option<i32>,
        max: usize,
    ) -> Result<Vec<Room>> {
        let (start, end) = (
            domain::to_micros(slot.start()),
            domain::to_micros(slot.end()),
        );
        self.interact(move |conn| {
            let mut free = Vec::new();
            for row in RoomRow::list_by_capacity(conn, min_capacity)? {
                let room = row.id.0.to_string();
                if ReservationRow::conflict(conn, &room, start, end, None)?.is_none() {
                    if free.len() == max {
                        return Err(too_many("rooms", max, "use minCapacity to narrow them"));
                    }
                    free.push(room_from_row(row)?);
                }
            }
            Ok(free)
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
        self.interact(move |conn| {
            let room = room_id.map(|id| id.to_string());
            if let Some(room) = &room {
                if !RoomRow::exists(conn, room)? {
                    return Err(room_not_found(room));
                }
            }
            let filter = ListFilter {
                room_id: room.as_deref(),
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
        self.write(move |conn, now| {
            let room = req.room_id.to_string();
            if !RoomRow::exists(conn, &room)? {
                return Err(room_not_found(&room));
            }
            let (start, end) = (
                domain::to_micros(req.slot.start()),
                domain::to_micros(req.slot.end()),
            );
            refuse_conflict(ReservationRow::conflict(conn, &room, start, end, None)?)?;
            let at = domain::to_micros(now);
            let row = ReservationRow {
                id: StoredUuid(new_id()),
                room_id: StoredUuid(req.room_id),
                start_at: start,
                end_at: end,
                title: req.title,
                organizer_name: req.organizer_name,
                organizer_email: req.organizer_email,
                status: StoredStatus(ReservationStatus::Confirmed),
                created_at: at,
                updated_at: at,
            };
            row.insert(conn)?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::Booked, &reservation, None, now);
            Ok((reservation, Some(event)))
        })
        .await
    }

    /// Cancels reservation `id`: its slot is free again.
    pub async fn cancel(&self, id: Uuid) -> Result<Reservation> {
        self.write(move |conn, now| {
            let mut row = find_reservation(conn, id)?;
            check_cancellable(&reservation_from_row(row.clone())?, now)?;
            row.status = StoredStatus(ReservationStatus::Cancelled);
            row.updated_at = domain::to_micros(now);
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::Cancelled, &reservation, None, now);
            Ok((reservation, Some(event)))
        })
        .await
    }

    /// Moves reservation `id` as `req` says, if the new slot obeys every booking rule; the
    /// reservation itself never blocks its new slot.
    pub async fn reschedule(&self, id: Uuid, req: RescheduleRequest) -> Result<Reservation> {
        self.write(move |conn, now| {
            let mut row = find_reservation(conn, id)?;
            let before = reservation_from_row(row.clone())?;
            let (room_id, slot) = req.apply(&before, now)?;
            let room = room_id.to_string();
            if room_id != row.room_id.0 && !RoomRow::exists(conn, &room)? {
                return Err(room_not_found(&room));
            }
            let (start, end) = (
                domain::to_micros(slot.start()),
                domain::to_micros(slot.end()),
            );
            refuse_conflict(ReservationRow::conflict(
                conn,
                &room,
                start,
                end,
                Some(&row.id.0.to_string()),
            )?)?;
            row.room_id = StoredUuid(room_id);
            row.start_at = start;
            row.end_at = end;
            row.updated_at = domain::to_micros(now);
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            let previous = PreviousSlot {
                start: before.start,
                end: before.end,
                room_id: before.room_id,
            };
            let event = event(EventKind::Rescheduled, &reservation, Some(previous), now);
            Ok((reservation, Some(event)))
        })
        .await
    }
}

/// Runs `f` with the locked connection. A lock poisoned by an earlier panic is taken anyway:
/// the connection rolled back any open transaction when the panicking closure unwound.
fn with_connection<T>(
    conn: &Mutex<SqliteConnection>,
    f: impl FnOnce(&mut SqliteConnection) -> Result<T>,
) -> Result<T> {
    let mut guard = conn.lock().unwrap_or_else(|poisoned| {
        tracing::error!("database mutex was poisoned; recovering");
        conn.clear_poison();
        poisoned.into_inner()
    });
    f(&mut guard)
}

/// A fresh, migrated in-memory connection, for unit tests of the queries.
#[cfg(test)]
pub(crate) fn test_connection() -> SqliteConnection {
    let mut conn = SqliteConnection::establish(":memory:").expect("in-memory sqlite");
    conn.run_pending_migrations(MIGRATIONS).expect("migrations");
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

fn event(
    kind: EventKind,
    reservation: &Reservation,
    previous: Option<PreviousSlot>,
    at: DateTime<Utc>,
) -> ReservationEvent {
    ReservationEvent {
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

fn refuse_conflict(conflict: Option<Uuid>) -> Result<()> {
    match conflict {
        None => Ok(()),
        Some(conflicting) => Err(Error::Overlap { conflicting }),
    }
}

fn find_reservation(conn: &mut SqliteConnection, id: Uuid) -> Result<ReservationRow> {
    ReservationRow::find(conn, &id.to_string())?
        .ok_or_else(|| Error::NotFound(format!("no reservation with id {id}")))
}

fn instant(us: i64) -> Result<DateTime<Utc>> {
    domain::from_micros(us).ok_or_else(|| Error::internal(format_args!("stored instant {us}")))
}

fn room_from_row(row: RoomRow) -> Result<Room> {
    Ok(Room {
        id: row.id.0,
        name: row.name,
        capacity: row.capacity,
        created_at: instant(row.created_at)?,
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
    })
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
}
