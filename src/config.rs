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
    /// SQLite database: `:memory:` (the default) keeps data in memory until exit; a file
    /// path keeps it across restarts.
    #[arg(long, env = "DATABASE_URL", default_value = ":memory:")]
    pub database: String,
    /// Milliseconds a WebSocket client has to send `connection_init` before it is closed
    /// with 4408.
    #[arg(long, env = "ROOMBOOK_WS_INIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub ws_init_timeout_ms: u64,
    /// Milliseconds between the server's keep-alive pings on WebSocket connections.
    #[arg(long, env = "ROOMBOOK_WS_KEEPALIVE_MS", default_value_t = 15_000)]
    pub ws_keepalive_ms: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            database: ":memory:".into(),
            ws_init_timeout_ms: 3_000,
            ws_keepalive_ms: 15_000,
        }
    }
}

impl Cli {
    /// The subcommand to run, `serve` when none is named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}
