//! Opening the database: connecting, pragmas, migrations (under an advisory lock on PostgreSQL),
//! the pool and its error log, and what the handle tells about itself.

use super::*;
use crate::pg_tls::PgTarget;

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

    pub(super) fn open_sqlite(url: &str, options: &DbOptions) -> Result<Self> {
        pcache::install();
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
                release_wake: DeadlineWake::default(),
                expiry_wake: DeadlineWake::default(),
                rules: RulesCache::default(),
                transaction_seconds: options.transaction_seconds.clone(),
            }),
        })
    }

    pub(super) fn open_pg(url: &str, options: &DbOptions) -> Result<Self> {
        let unreachable = |e: &dyn std::fmt::Display| {
            Error::internal(format_args!(
                "cannot use PostgreSQL at {}: {}",
                redact(url),
                // r2d2 words every failed first connection as a timeout; the cause follows.
                one_line(e).trim_start_matches("timed out waiting for connection: ")
            ))
        };
        let target = PgTarget::parse(url).map_err(|e| unreachable(&e))?;
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            // A broken connection fails its request and is dropped then; a ping before every
            // checkout would cost each request a round trip.
            .test_on_check_out(false)
            .error_handler(Box::new(PoolErrorLog))
            .build(ConnectionManager::<PgConnection>::new(target.libpq_url()))
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
                backend: Backend::Pg { pool, target },
                log: Arc::new(EventLog::new(
                    state.database_id,
                    start,
                    options.event_capacity,
                )),
                clock: options.clock.clone(),
                release_wake: DeadlineWake::default(),
                expiry_wake: DeadlineWake::default(),
                rules: RulesCache::default(),
                transaction_seconds: options.transaction_seconds.clone(),
            }),
        };
        let _guard = runtime.enter();
        crate::events::pg::spawn(&db).map_err(|e| {
            Error::internal(format_args!(
                "cannot use PostgreSQL at {}: {e}",
                redact(url)
            ))
        })?;
        Ok(db)
    }

    /// Where this replica's log reader starts: the last event visible once every transaction
    /// that was running at start has ended. An event of such a transaction may carry a smaller
    /// sequence number than one already visible; it commits before this process serves, so
    /// no subscriber of this process is owed it, and everything after the start is read in
    /// order by the reader.
    pub(super) fn pg_log_start(conn: &mut PgConnection) -> Result<i64> {
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

    /// The PostgreSQL database, when that is the backend.
    pub fn postgres(&self) -> Option<&PgTarget> {
        match &self.inner.backend {
            Backend::Pg { target, .. } => Some(target),
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

/// Logs the pool's failures to (re)connect, without the URL's password (r2d2's own messages
/// carry only the driver's text).
#[derive(Debug)]
pub(super) struct PoolErrorLog;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for PoolErrorLog {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(error = %one_line(&error), "PostgreSQL connection failed");
    }
}

/// A driver's message on one line (libpq adds indented hint lines).
pub(super) fn one_line(message: &dyn std::fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn is_memory(url: &str) -> bool {
    url == ":memory:" || url.contains("mode=memory")
}
