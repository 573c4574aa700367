//! Builds roombook: database, event bus, schema and router. `main` and the tests both use it.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;
use crate::db::Db;
use crate::error::Result;
use crate::events::EventBus;
use crate::graphql;
use crate::http::{self, AppState};
use crate::ws::{WsConfig, WsState};

/// How long shutdown waits for WebSocket connections to close.
const WS_CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A built, not yet serving, roombook.
pub struct App {
    pub router: Router,
    pub db: Db,
    pub ws: WsState,
}

/// Opens the database of `config` and builds the router around it.
pub fn build(config: &ServeConfig) -> Result<App> {
    let db = Db::open(&config.database, EventBus::default())?;
    let schema = graphql::build(db.clone());
    let ws = WsState::new(WsConfig {
        init_timeout: Duration::from_millis(config.ws_init_timeout_ms),
        keepalive: Duration::from_millis(config.ws_keepalive_ms.max(1)),
        ..WsConfig::default()
    });
    let router = http::router(AppState {
        schema,
        ws: ws.clone(),
    })
    .layer(TraceLayer::new_for_http());
    Ok(App { router, db, ws })
}

/// Serves `app` on `listener` until `shutdown` resolves; then closes WebSockets (1001) and
/// lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ws = app.ws.clone();
    let stop = async move {
        shutdown.await;
        ws.shutdown.cancel();
    };
    axum::serve(listener, app.router)
        .with_graceful_shutdown(stop)
        .await?;
    app.ws.close_all(WS_CLOSE_GRACE).await;
    Ok(())
}
