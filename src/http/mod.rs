//! HTTP routes: `/graphql` (POST, GET, GraphiQL, WebSocket), `/`, `/healthz`, `/readyz`, `/metrics`
//! and the room calendars. The router, the shared state and the small handlers live here;
//! `graphql` serves `/graphql` over HTTP, `respond` writes answers by the GraphQL over HTTP
//! rules (media types, error bodies, status codes) and decides the caller, `feed` serves the
//! calendars.

mod feed;
mod graphql;
mod respond;

use feed::*;
use graphql::*;
use respond::*;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

use std::time::Duration;

use tower_http::timeout::TimeoutLayer;

use crate::auth::{Auth, Principal};
use crate::calendar;
use crate::config::Limits;
use crate::db::Db;
use crate::graphiql;
use crate::graphql::{fill_codes, is_request_error, selected_operation, AppSchema, Documents};
use crate::metrics::{Live, Metrics};
use crate::ws::{self, WsState};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub ws: WsState,
    /// Parsed operations by query text.
    pub documents: Arc<Documents>,
    pub limits: Limits,
    /// For `/readyz`.
    pub db: Db,
    /// Who is calling (open or secured mode).
    pub auth: Auth,
    /// What `/metrics` reports.
    pub metrics: Metrics,
}

/// The routes of roombook over `state`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    let timeout = Duration::from_millis(state.limits.request_timeout_ms);
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route(
            "/graphql",
            get(graphql_get).post(graphql_post).fallback(graphql_other),
        )
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/calendar/rooms/{file}", get(room_calendar))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(body_limit))
        // A WebSocket is upgraded within this time and then lives on outside it.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.limits.request_timeout_ms,
            timed_out,
        ))
        // Outermost: counts every answer, 408 and 413 included.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            track,
        ))
        .with_state(state)
}

/// The timeout's 408 gets a GraphQL error body, like every other answer on `/graphql`.
async fn timed_out(State(ms): State<u64>, resp: Response) -> Response {
    if resp.status() != StatusCode::REQUEST_TIMEOUT {
        return resp;
    }
    let message = format!(
        "no answer within {ms} ms (--request-timeout-ms): the request body did not arrive in \
         full, or the operation took too long; a mutation may or may not have committed"
    );
    let body = json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL"}}]});
    body_of(&body, StatusCode::REQUEST_TIMEOUT, MediaType::Json)
}

/// The GraphQL operation a response answered, for `/metrics` (bounded, see `Metrics`).
#[derive(Clone)]
struct OperationLabel(std::sync::Arc<str>);

/// Counts and times every request: by GraphQL operation on `/graphql`, else by route.
async fn track(
    State(metrics): State<Metrics>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let began = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    match (resp.extensions().get::<OperationLabel>(), &route) {
        (Some(label), _) => metrics.request(&label.0, status, began.elapsed()),
        // Routes are few and fixed; an unmatched path shares one value.
        (None, Some(route)) => metrics.request(route.as_str(), status, began.elapsed()),
        (None, None) => metrics.request("_unmatched", status, began.elapsed()),
    }
    resp
}

/// `GET /metrics`: the Prometheus text exposition.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(Live {
        websocket_connections: state.ws.connections.len(),
        subscriptions: state.db.events().subscriber_count(),
        events_published: state.db.events().published_total(),
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the database answers, 503 (with the reason logged, not sent) when it does not.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::warn!(error = ?e, "not ready: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "the database does not answer"})),
            )
        }
    }
}
