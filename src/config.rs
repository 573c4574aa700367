//! The command line: flags with environment fallbacks, and the subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    Serve(Box<ServeConfig>),
    /// Print the schema's SDL: exactly what schema.graphql holds.
    PrintSchema,
}

/// The log's format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// How to serve.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ROOMBOOK_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// The database: `:memory:` (the default, SQLite) keeps data in memory until exit; a file
    /// path (SQLite) keeps it across restarts; `postgres://user:password@host:port/db` (or
    /// `postgresql://`) uses PostgreSQL 14+, which several replicas can share; it takes libpq's
    /// `sslmode`, `sslrootcert`, `sslcert` and `sslkey` (e.g. `?sslmode=verify-full&sslrootcert=ca.pem`).
    #[arg(long, env = "DATABASE_URL", default_value = ":memory:")]
    pub database: String,
    /// PostgreSQL: most connections in this replica's pool (plus one for LISTEN). Few is
    /// faster: every transaction holds its room's lock only briefly, and PostgreSQL serves a
    /// few busy backends better than many (docs/running.md, Running several replicas).
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
    /// Automatic persisted queries: how many documents named by their SHA-256 this process
    /// keeps (the oldest half is forgotten when full; clients then send the document again).
    #[arg(long, env = "ROOMBOOK_PERSISTED_CACHE_SIZE", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub persisted_cache_size: u32,
    /// Trusted documents: a JSON object of SHA-256 hashes to documents (graphql-codegen's
    /// `persisted-documents.json`, Relay's `--persist-output` with sha256); requests may name
    /// them by `documentId`. Every entry is checked at start.
    #[arg(long, env = "ROOMBOOK_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<std::path::PathBuf>,
    /// With --trusted-documents: non-admins may run only those documents
    /// (DOCUMENT_NOT_TRUSTED otherwise).
    #[arg(
        long,
        env = "ROOMBOOK_TRUSTED_DOCUMENTS_ONLY",
        requires = "trusted_documents"
    )]
    pub trusted_documents_only: bool,
    /// How log lines are written to stdout: `text` for people, `json` for machines (one
    /// object a line, the request's fields and `request_id` on each line it causes).
    #[arg(long, env = "ROOMBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A bearer secret `GET /metrics` requires (`Authorization: Bearer <secret>`, as
    /// Prometheus' `authorization` scrape setting sends it); without one, /metrics is open.
    #[arg(long, env = "ROOMBOOK_METRICS_TOKEN", hide_env_values = true, value_parser = parse_metrics_token)]
    pub metrics_token: Option<Secret>,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// The server's clock (tests move it forward); not a flag.
    #[arg(skip)]
    pub clock: crate::clock::Clock,
}

/// What one client may ask of the server at once (OWASP's GraphQL cheat sheet). The defaults
/// let every operation of README.md, docs/api.md and API.md, and GraphiQL's introspection, through.
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
    /// Milliseconds a client has to send a request's headers, counted from when the server
    /// starts waiting for them: a slow or silent client is cut off after it, and so is a
    /// keep-alive connection idle that long.
    #[arg(long, env = "ROOMBOOK_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,
    /// Most connections open at once (HTTP and WebSocket); a connection beyond it is answered
    /// 503 at once and closed. Default: 90% of the process's file-descriptor limit.
    #[arg(long, env = "ROOMBOOK_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
}

impl Limits {
    /// `--max-connections`, or 90% of the soft limit on open files (the rest: the database,
    /// the log, a margin), at least 16.
    pub fn connection_cap(&self) -> usize {
        match self.max_connections {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => (open_files_limit() / 10 * 9).max(16),
        }
    }
}

/// The soft limit on this process's open files (1024 if it cannot be read).
fn open_files_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given, which lives here.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !ok || limit.rlim_cur == libc::RLIM_INFINITY {
        return 1024;
    }
    usize::try_from(limit.rlim_cur).unwrap_or(1024)
}

/// Secured mode (API.md, "Identity and permissions"): giving one verification key turns it
/// on; without one the server runs in open mode and says so at start.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HS256 secret of at least 32 bytes; tokens signed with it are trusted.
    #[arg(long, env = "ROOMBOOK_JWT_SECRET", hide_env_values = true, conflicts_with_all = ["jwt_public_key_file", "jwks_file"])]
    pub jwt_secret: Option<Secret>,
    /// PEM file of the public key tokens are signed with: RSA (RS256), EC P-256 (ES256) or
    /// Ed25519 (EdDSA). Needs --jwt-issuer and --jwt-audience.
    #[arg(
        long,
        env = "ROOMBOOK_JWT_PUBLIC_KEY_FILE",
        conflicts_with = "jwks_file"
    )]
    pub jwt_public_key_file: Option<PathBuf>,
    /// JWKS file (`{"keys": [...]}`): a token's `kid` picks its key. Needs --jwt-issuer and
    /// --jwt-audience.
    #[arg(long, env = "ROOMBOOK_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// The `iss` tokens must carry.
    #[arg(long, env = "ROOMBOOK_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` tokens must carry (one of, if a list).
    #[arg(long, env = "ROOMBOOK_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    #[arg(long, env = "ROOMBOOK_JWT_LEEWAY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub jwt_leeway_seconds: u64,
    /// The role (in the token's `roles` claim) that makes its bearer an admin.
    #[arg(long, env = "ROOMBOOK_ADMIN_ROLE", default_value = "roombook-admin")]
    pub admin_role: String,
}

impl Default for AuthArgs {
    fn default() -> Self {
        AuthArgs {
            jwt_secret: None,
            jwt_public_key_file: None,
            jwks_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway_seconds: 60,
            admin_role: "roombook-admin".into(),
        }
    }
}

impl AuthArgs {
    /// The server's authentication: open mode without a key, else secured mode with it; or
    /// why the flags do not make a working configuration.
    pub fn build(&self) -> Result<crate::auth::Auth, String> {
        use crate::auth::{read_key_file, Auth, KeyConfig};
        if self.jwt_secret.is_none()
            && self.jwt_public_key_file.is_none()
            && self.jwks_file.is_none()
        {
            return Ok(Auth::open());
        }
        Auth::secured(&KeyConfig {
            secret: self.jwt_secret.as_ref().map(|s| s.0.as_bytes().to_vec()),
            public_key_pem: self
                .jwt_public_key_file
                .as_deref()
                .map(|p| read_key_file(p, "--jwt-public-key-file"))
                .transpose()?,
            jwks: self
                .jwks_file
                .as_deref()
                .map(|p| read_key_file(p, "--jwks-file"))
                .transpose()?,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway_seconds: self.jwt_leeway_seconds,
            admin_role: self.admin_role.clone(),
        })
    }
}

/// A secret from the command line or environment; never printed (its `Debug` is redacted).
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
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
            header_read_timeout_ms: 10_000,
            max_connections: None,
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
            metrics_token: None,
            persisted_cache_size: 10_000,
            trusted_documents: None,
            trusted_documents_only: false,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            auth: AuthArgs::default(),
            clock: crate::clock::Clock::default(),
        }
    }
}

fn parse_metrics_token(value: &str) -> Result<Secret, String> {
    if value.trim().is_empty() {
        return Err("the secret scrapers must send is empty".into());
    }
    Ok(Secret(value.to_owned()))
}

fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    crate::domain::parse_time_zone(name).map_err(|e| e.to_string())
}

impl Cli {
    /// The subcommand to run, `serve` when none is named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(Box::new(self.serve)))
    }
}
