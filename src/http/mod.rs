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
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Auth, Principal};
use crate::calendar;
use crate::config::Limits;
use crate::db::Db;
use crate::graphiql;
use crate::graphql::{fill_codes, is_request_error, selected_operation, AppSchema, Documents};
use crate::metrics::{Live, Metrics};
use crate::ws::{self, WsState};

/// What every handler shares: one pointer to clone per request (axum's `State` clones it for
/// every handler call; cloning each field was ~1% of a booking).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of `AppState`.
pub struct Shared {
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
    /// The bearer secret `/metrics` requires, if any (`--metrics-token`).
    pub metrics_token: Option<String>,
}

/// The routes of roombook over `state`. The request log and the body limit wrap the whole
/// router (`app::serve`); `Track` is the one layer applied per route (a route layer is boxed
/// and cloned on every request, so there is one).
pub fn router(state: AppState) -> Router {
    let track = Track {
        metrics: state.metrics.clone(),
        timeout: Duration::from_millis(state.limits.request_timeout_ms),
    };
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
        .layer(track)
        .with_state(state)
}

/// Times every request out (408 with a GraphQL error body) and counts and times every
/// answer, 408 and 413 included: by GraphQL operation on `/graphql`, else by route. A
/// WebSocket is upgraded within the timeout and then lives on outside it.
#[derive(Clone)]
struct Track {
    metrics: Metrics,
    timeout: Duration,
}

impl<S> tower::Layer<S> for Track {
    type Service = Tracked<S>;
    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            track: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    track: Track,
}

impl<S> tower::Service<axum::extract::Request> for Tracked<S>
where
    S: tower::Service<axum::extract::Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        let began = std::time::Instant::now();
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .cloned();
        let answer = self.inner.call(req);
        let Track { metrics, timeout } = self.track.clone();
        Box::pin(async move {
            let resp = match tokio::time::timeout(timeout, answer).await {
                Ok(resp) => resp?,
                Err(_) => timed_out(timeout),
            };
            let status = resp.status().as_u16();
            let label = match (resp.extensions().get::<OperationLabel>(), &route) {
                (Some(label), _) => &*label.0,
                // Routes are few and fixed; an unmatched path shares one value.
                (None, Some(route)) => route.as_str(),
                (None, None) => "_unmatched",
            };
            metrics.request(label, status, began.elapsed());
            Ok(resp)
        })
    }
}

/// The timeout's 408, with a GraphQL error body like every other answer on `/graphql`.
fn timed_out(timeout: Duration) -> Response {
    let message = format!(
        "no answer within {} ms (--request-timeout-ms): the request body did not arrive in \
         full, or the operation took too long; a mutation may or may not have committed",
        timeout.as_millis()
    );
    let body = json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL"}}]});
    body_of(&body, StatusCode::REQUEST_TIMEOUT, MediaType::Json)
}

/// The GraphQL operation a response answered, for `/metrics` (bounded, see `Metrics`).
#[derive(Clone)]
struct OperationLabel(std::sync::Arc<str>);

/// `GET /metrics`: the Prometheus text exposition.
async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = &state.metrics_token {
        if !scraper_is_trusted(secret, &headers) {
            tracing::info!("a /metrics request without the metrics token was refused");
            let mut resp = (
                StatusCode::UNAUTHORIZED,
                "/metrics needs the metrics token\n",
            )
                .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="metrics""#),
            );
            return resp;
        }
    }
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

/// The request carries exactly one `Authorization: Bearer <secret>`, compared in constant
/// time (how long the comparison takes says nothing of how much of a guess was right).
fn scraper_is_trusted(secret: &str, headers: &HeaderMap) -> bool {
    let Ok(Some(value)) = authorization(headers) else {
        return false;
    };
    let Some(token) = crate::auth::bearer_token(value) else {
        return false;
    };
    let (a, b) = (token.as_bytes(), secret.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
