//! The `roombook` binary: parse the command line, then serve or print the schema.

use std::process::ExitCode;

use clap::Parser;
use roombook::auth::Auth;
use roombook::config::{Cli, Command, LogFormat, ServeConfig};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: a 100-row listing makes thousands of small
/// allocations (rows, strings, GraphQL values), and glibc's malloc/free were a quarter of its
/// time (perf). Measured: listings +37%, bookings unchanged (docs/design.md, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "roombook: {} (see roombook --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    match cli.into_command() {
        Command::PrintSchema => {
            print!("{}", roombook::graphql::sdl());
            ExitCode::SUCCESS
        }
        Command::Serve(config) => {
            // A secured mode that cannot work is refused before anything starts: one line, 2.
            let auth = match config.auth.build() {
                Ok(auth) => auth,
                Err(message) => {
                    eprintln!("roombook: {message}");
                    return ExitCode::from(2);
                }
            };
            let filter =
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
            match config.log_format {
                LogFormat::Text => {
                    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
                        && std::env::var_os("NO_COLOR").is_none();
                    tracing_subscriber::fmt()
                        .with_ansi(colour)
                        .with_env_filter(filter)
                        .init();
                }
                // One object a line: timestamp, level, target, the event's fields at the top
                // level, and the innermost span's (the request's, `request_id` included).
                LogFormat::Json => tracing_subscriber::fmt()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_env_filter(filter)
                    .init(),
            }
            match serve(*config, auth).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("roombook: {message}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(config: ServeConfig, auth: Auth) -> Result<(), String> {
    if auth.is_secured() {
        tracing::info!("secured mode: requests are authenticated by bearer tokens (JWT)");
    } else {
        tracing::warn!(
            "authentication is OFF (open mode): anyone who can reach this server may create rooms \
             and change any reservation; give --jwt-secret, --jwt-public-key-file or --jwks-file \
             to turn secured mode on"
        );
    }
    let app = roombook::app::build_with(&config, auth).map_err(|e| match e {
        roombook::Error::Internal(detail) => detail,
        other => other.to_string(),
    })?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    tracing::info!(%addr, database = %roombook::db::redact(&config.database), "roombook listening; GraphiQL at http://{addr}/graphql");
    roombook::app::serve(listener, app, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("roombook stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
