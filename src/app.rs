//! Builds roombook: database, event log, background jobs, schema and router. `main` and the
//! tests both use it.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::auth::Auth;
use crate::config::ServeConfig;
use crate::db::{Db, DbOptions, TransactionTimer};
use crate::error::Result;
use crate::graphql;
use crate::http::{self, AppState};
use crate::jobs;
use crate::metrics::Metrics;
use crate::ws::{WsConfig, WsState};

/// How long shutdown waits for WebSocket connections to close.
const WS_CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long shutdown waits for in-flight requests to finish.
const REQUEST_GRACE: Duration = Duration::from_secs(10);

/// A built, not yet serving, roombook.
pub struct App {
    pub router: Router,
    pub db: Db,
    pub ws: WsState,
}

/// Opens the database of `config` and builds the router around it. A configuration of
/// secured mode that cannot work is `BAD_USER_INPUT` (main checks it first, with `auth`).
pub fn build(config: &ServeConfig) -> Result<App> {
    let auth = config.auth.build().map_err(crate::Error::BadUserInput)?;
    build_with(config, auth)
}

/// As `build`, with the authentication already made from `config.auth`.
pub fn build_with(config: &ServeConfig, auth: Auth) -> Result<App> {
    let metrics = Metrics::new();
    metrics.spawn_upkeep();
    let db = Db::open(
        &config.database,
        &DbOptions {
            pool_size: config.db_pool_size,
            clock: config.clock.clone(),
            transaction_seconds: TransactionTimer(Some(metrics.transaction_seconds())),
            ..DbOptions::default()
        },
    )?;
    jobs::spawn(&db, config.event_retention);
    let schema = graphql::build_with(
        db.clone(),
        &config.limits,
        config.default_time_zone,
        metrics.clone(),
    );
    let ws = WsState::new(
        WsConfig {
            init_timeout: Duration::from_millis(config.ws_init_timeout_ms),
            keepalive: Duration::from_millis(config.ws_keepalive_ms.max(1)),
            max_aliases: config.limits.max_aliases,
            ..WsConfig::default()
        },
        auth.clone(),
    );
    let router = http::router(AppState {
        schema,
        ws: ws.clone(),
        documents: Default::default(),
        limits: config.limits.clone(),
        db: db.clone(),
        auth,
        metrics,
    });
    let router = with_request_log(router);
    Ok(App { router, db, ws })
}

/// One line per request at INFO: method, path, GraphQL operation (recorded by the handler),
/// status and latency.
fn with_request_log(router: Router) -> Router {
    let layer = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<Body>| {
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                operation = tracing::field::Empty,
            )
        })
        .on_request(())
        .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
            tracing::info!(
                status = res.status().as_u16(),
                latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1e3),
                "served"
            );
        });
    router.layer(layer)
}

/// Serves `app` on `listener` until `shutdown` resolves: then stops accepting, closes
/// WebSockets (1001) and lets in-flight requests finish, waiting at most 10 s for them.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ws = app.ws.clone();
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        shutdown.await;
        ws.shutdown.cancel();
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, app.router).with_graceful_shutdown(stop);
    let deadline = async {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(REQUEST_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served?,
        () = deadline => tracing::warn!("in-flight requests did not finish within {REQUEST_GRACE:?}; stopping anyway"),
    }
    app.ws.close_all(WS_CLOSE_GRACE).await;
    Ok(())
}
