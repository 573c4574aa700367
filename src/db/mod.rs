//! Storage: the one door to the database, and every read and write the service makes, as
//! domain values in and out. Only this module (and the PostgreSQL log reader in `events::pg`)
//! knows which database it is.
//!
//! SQLite (`:memory:` or a file): one connection behind a mutex; every check-and-write is one
//! immediate transaction. PostgreSQL (`postgres://`): a pool; every check-and-write is one
//! READ COMMITTED transaction that first locks the rows it depends on (the reservation, then
//! its rooms in id order), and an exclusion constraint guards no-overlap in the database
//! itself. Either way the change and its event-log row commit together.

mod admit;
mod approval;
mod conn;
mod event_log;
mod idempotency;
mod models;
mod open;
mod pcache;
mod release;
mod reservations;
mod rooms;
mod rows;
mod schema;
mod series;
mod tx;

use admit::*;
use event_log::*;
use idempotency::*;
pub use open::{is_postgres, redact};
use release::DeadlineWake;
use rooms::*;
use rows::*;
use tx::*;

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
    self, buffer_violation, check_cancellable, Approval, ApprovalRecord, BookingRequest,
    ConflictMode, Features, Managers, OccurrenceConflict, OnBehalf, Once, OpeningHours, Owner,
    RescheduleRequest, Reservation, ReservationSlot, ReservationStatus, Room, RoomDetails,
    RoomPolicy, Series, SeriesBooking, SeriesRequest, Slot, Window,
};
use crate::error::{Error, Result};
use crate::events::pg::Snapshot;
use crate::events::{EventKind, EventLog, PreviousSlot, ReservationEvent};
pub use approval::Decision;
pub use conn::Conn;
use models::{
    EventLogRow, EventRow, IdempotencyRow, ListFilter, NewEventRow, PageBounds, ReservationRow,
    RoomRow, RoomRulesRow, SeriesRow, SlotRow, StoredStatus, StoredUuid,
};
pub use models::{RoomFilter, SERIES_PROBE_SQL};
pub use reservations::{Booked, Held, ReservationList};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const CONFIRMED: &str = ReservationStatus::Confirmed.as_str();
const CANCELLED: &str = ReservationStatus::Cancelled.as_str();
const RELEASED: &str = ReservationStatus::Released.as_str();
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
        /// The URL and its TLS settings, for the log reader's own LISTEN connection.
        target: crate::pg_tls::PgTarget,
    },
}

struct Inner {
    backend: Backend,
    log: Arc<EventLog>,
    clock: Clock,
    /// When the release task wakes next, and the expiry task (approval deadlines).
    release_wake: DeadlineWake,
    expiry_wake: DeadlineWake,
    transaction_seconds: TransactionTimer,
    /// SQLite only: rooms' rules as last read (`lock_room`).
    rules: RulesCache,
}

/// The database handle: cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

/// A fresh, migrated in-memory connection, for unit tests of the queries.
#[cfg(test)]
pub(crate) fn test_connection() -> diesel::SqliteConnection {
    pcache::install();
    let mut conn = diesel::SqliteConnection::establish(":memory:").expect("in-memory sqlite");
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .expect("migrations");
    conn
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

    /// The stored statuses and approvals are spelled in Rust once (`ReservationStatus::as_str`,
    /// `Approval::as_str`); what SQL spells must agree: the CHECK constraint of the newest
    /// migration of each backend that sets one, and the literal in the series probe.
    #[test]
    fn sql_spells_every_status_as_the_domain_does() {
        let quoted = |spellings: Vec<&str>| -> Vec<String> {
            spellings.iter().map(|s| format!("'{s}'")).collect()
        };
        let stored = quoted(ReservationStatus::STORED.map(|s| s.as_str()).to_vec());
        let approvals = quoted(Approval::ALL.map(|a| a.as_str()).to_vec());
        for backend in ["sqlite", "postgres"] {
            assert_eq!(newest_check(backend, "CHECK (status "), stored, "{backend}");
            assert_eq!(
                newest_check(backend, "CHECK (approval "),
                approvals,
                "{backend}"
            );
        }
        assert!(SERIES_PROBE_SQL.contains(&format!("r.status = {}", stored[0])));
        assert_eq!(
            STATUSES.map(ReservationStatus::parse_stored),
            ReservationStatus::STORED.map(Some)
        );
        // What a PENDING, DECLINED or EXPIRED reservation is stored as, and shown as.
        for status in ReservationStatus::ALL {
            let (stored, approval) = match status {
                ReservationStatus::Pending => {
                    (ReservationStatus::Confirmed, Some(Approval::Pending))
                }
                ReservationStatus::Declined => {
                    (ReservationStatus::Cancelled, Some(Approval::Declined))
                }
                ReservationStatus::Expired => {
                    (ReservationStatus::Cancelled, Some(Approval::Expired))
                }
                other => (other, None),
            };
            assert!(ReservationStatus::STORED.contains(&stored));
            assert_eq!(ReservationStatus::shown(stored, approval), status);
            assert_eq!(stored == ReservationStatus::Confirmed, status.holds_slot());
        }
    }

    /// The quoted values of the first line holding `marker` (`x IN ('A', 'B')`) in the newest
    /// migration of `backend` that has one.
    fn newest_check(backend: &str, marker: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut migrations: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        migrations.sort();
        let check = migrations
            .iter()
            .rev()
            .filter_map(|m| std::fs::read_to_string(m.join("up.sql")).ok())
            .find_map(|sql| sql.lines().find(|l| l.contains(marker)).map(str::to_owned))
            .unwrap_or_else(|| panic!("{backend}: no {marker} in any migration"));
        check
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(|v| format!("'{v}'"))
            .collect()
    }

    /// `availableRooms` widens its probe by the buffer in SQL, bookings in Rust: one factor.
    #[test]
    fn sql_and_rust_turn_buffer_minutes_into_the_same_micros() {
        let factor = models::BUFFER_MICROS_SQL
            .rsplit('*')
            .next()
            .and_then(|f| f.trim().trim_end_matches(')').parse::<i64>().ok());
        assert_eq!(factor, Some(MICROS_PER_MINUTE));
        let policy = RoomPolicy {
            buffer_minutes: 15,
            ..RoomPolicy::default()
        };
        assert_eq!(buffer_micros(&policy), 15 * 60 * 1_000_000);
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
