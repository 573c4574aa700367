//! The command line: flags with environment fallbacks, and the subcommands.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// roombook: a meeting-room reservation server speaking GraphQL.
#[derive(Debug, Parser)]
#[command(
    name = "roombook",
    version,
    about,
    long_about = None,
    after_help = "Logs go to stdout, one line per request (method, path, GraphQL operation, status, \
latency); RUST_LOG sets the level (default: info). Ctrl-C or SIGTERM stops accepting, closes \
WebSockets, lets in-flight requests finish (at most 10 s) and exits 0."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve(ServeConfig),
    /// Print the schema's SDL: exactly what schema.graphql holds.
    PrintSchema,
}

/// How to serve.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ROOMBOOK_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// The database: `:memory:` (the default, SQLite) keeps data in memory until exit; a file
    /// path (SQLite) keeps it across restarts; `postgres://user:password@host:port/db` (or
    /// `postgresql://`) uses PostgreSQL 14+, which several replicas can share.
    #[arg(long, env = "DATABASE_URL", default_value = ":memory:")]
    pub database: String,
    /// PostgreSQL: most connections in this replica's pool (plus one for LISTEN). Few is
    /// faster: every transaction holds its room's lock only briefly, and PostgreSQL serves a
    /// few busy backends better than many (README, Running several replicas).
    #[arg(long, env = "ROOMBOOK_DB_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,
    /// How many of the newest events the log keeps for resuming subscriptions (`after`);
    /// older ones are pruned in the background.
    #[arg(long, env = "ROOMBOOK_EVENT_RETENTION", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub event_retention: u64,
    /// The IANA time zone of rooms created without one (`Europe/Berlin`, `UTC`).
    #[arg(long, env = "ROOMBOOK_DEFAULT_TIME_ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub default_time_zone: chrono_tz::Tz,
    /// Milliseconds a WebSocket client has to send `connection_init` before it is closed
    /// with 4408.
    #[arg(long, env = "ROOMBOOK_WS_INIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub ws_init_timeout_ms: u64,
    /// Milliseconds between the server's keep-alive pings on WebSocket connections.
    #[arg(long, env = "ROOMBOOK_WS_KEEPALIVE_MS", default_value_t = 15_000)]
    pub ws_keepalive_ms: u64,
    #[command(flatten)]
    pub limits: Limits,
    /// The server's clock (tests move it forward); not a flag.
    #[arg(skip)]
    pub clock: crate::clock::Clock,
}

/// What one client may ask of the server at once (OWASP's GraphQL cheat sheet). The defaults
/// let every operation of README.md and API.md, and GraphiQL's introspection, through.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest nesting of selections in one operation (15 admits the standard introspection
    /// query).
    #[arg(long, env = "ROOMBOOK_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Highest complexity of one operation (each field counts 1).
    #[arg(long, env = "ROOMBOOK_MAX_COMPLEXITY", default_value_t = 1_000)]
    pub max_complexity: usize,
    /// Most aliased fields in one operation.
    #[arg(long, env = "ROOMBOOK_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most operations in one batched POST.
    #[arg(long, env = "ROOMBOOK_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,
    /// Largest request body in bytes; larger ones get HTTP 413.
    #[arg(long, env = "ROOMBOOK_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Most items one list field returns; a query that would return more is refused.
    #[arg(long, env = "ROOMBOOK_MAX_LIST", default_value_t = 5_000)]
    pub max_list: usize,
    /// Milliseconds an HTTP request may take before it is answered with 408.
    #[arg(long, env = "ROOMBOOK_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 15,
            max_complexity: 1_000,
            max_aliases: 30,
            max_batch: 10,
            max_body_bytes: 64 * 1024,
            max_list: 5_000,
            request_timeout_ms: 10_000,
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            database: ":memory:".into(),
            db_pool_size: 4,
            event_retention: 100_000,
            default_time_zone: chrono_tz::Tz::UTC,
            ws_init_timeout_ms: 3_000,
            ws_keepalive_ms: 15_000,
            limits: Limits::default(),
            clock: crate::clock::Clock::default(),
        }
    }
}

fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    crate::domain::parse_time_zone(name).map_err(|e| e.to_string())
}

impl Cli {
    /// The subcommand to run, `serve` when none is named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}
