//! Builds roombook: database, event bus, schema and router. `main` and the tests both use it.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;
use crate::db::Db;
use crate::error::Result;
use crate::events::EventBus;
use crate::graphql;
use crate::http::{self, AppState};

/// A built, not yet serving, roombook.
pub struct App {
    pub router: Router,
    pub db: Db,
}

/// Opens the database of `config` and builds the router around it.
pub fn build(config: &ServeConfig) -> Result<App> {
    let db = Db::open(&config.database, EventBus::default())?;
    let schema = graphql::build(db.clone());
    let router = http::router(AppState { schema }).layer(TraceLayer::new_for_http());
    Ok(App { router, db })
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests end.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
