//! HTTP routes: `/graphql` (POST, GET, GraphiQL, WebSocket), `/`, `/healthz`, `/readyz` and the room
//! calendars, with the GraphQL over
//! HTTP rules for media types and status codes.

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

/// Most reservations one feed lists (a room booked every 15 minutes around the clock for
/// the feed's 396 days has 38,016).
const MAX_FEED: usize = 50_000;

/// `GET /calendar/rooms/{roomId}.ics`: the room's iCalendar feed, with an ETag that
/// `If-None-Match` is answered against (304). Anonymous callers in secured mode see busy
/// times only; a bad token is 401 as on `/graphql`.
async fn room_calendar(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no room with that id: the feed is /calendar/rooms/<room id>.ics",
        )
            .into_response()
    };
    let Some(id) = file
        .strip_suffix(".ics")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
    else {
        return not_found();
    };
    let view = match caller(&state, &headers) {
        Ok(Principal::Anonymous) => calendar::View::BusyOnly,
        Ok(_) => calendar::View::Full,
        Err(reason) => return unauthorized(MediaType::Json, &reason),
    };
    let room = match state.db.room(id).await {
        Ok(Some(room)) => room,
        Ok(None) => return not_found(),
        Err(e) => return feed_failed(&e),
    };
    let window = calendar::window(state.db.now());
    let reservations = match state.db.reservations_of(&room, window, MAX_FEED).await {
        Ok(list) => list,
        Err(e) => return feed_failed(&e),
    };
    let body = calendar::feed(&room, &reservations, view);
    let etag = calendar::etag(&body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| calendar::none_match(inm, &etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // What a caller sees depends on its token; a cache must ask again each time.
    h.insert(header::VARY, HeaderValue::from_static("authorization"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    resp
}

fn feed_failed(e: &crate::Error) -> Response {
    tracing::error!(error = ?e, "calendar feed failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "internal error",
    )
        .into_response()
}

/// The two response media types of the GraphQL over HTTP specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept` by quality; none acceptable is `None` (406).
/// No `Accept`, or only wildcards, means `application/json`, which every client reads.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let mut best: Option<(f32, u8, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        // Ties prefer the specific over the wildcard, and graphql-response+json over json.
        let (rank, ty) = match essence.as_str() {
            "application/graphql-response+json" => (3, MediaType::GraphqlResponseJson),
            "application/json" => (2, MediaType::Json),
            "application/*" | "*/*" => (1, MediaType::Json),
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        if best.is_none_or(|(bq, br, _)| q > bq || (q == bq && rank > br)) {
            best = Some((q, rank, ty));
        }
    }
    best.map(|(_, _, ty)| ty)
}

fn body_of(value: &impl serde::Serialize, status: StatusCode, ty: MediaType) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serializing a response");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    });
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ty.as_str()))],
        body,
    )
        .into_response()
}

/// A request-level failure (nothing executed): a GraphQL error body without `data`.
fn request_error(status: StatusCode, ty: MediaType, message: impl Into<String>) -> Response {
    let body =
        json!({"errors": [{"message": message.into(), "extensions": {"code": "BAD_USER_INPUT"}}]});
    body_of(&body, status, ty)
}

/// Serializes one response; a request error (parse, validation, variables: no field ran)
/// carries no `data`, and with `application/graphql-response+json` gets HTTP 400.
fn graphql_response(mut resp: async_graphql::Response, ty: MediaType) -> Response {
    fill_codes(&mut resp);
    if !is_request_error(&resp) {
        return body_of(&resp, StatusCode::OK, ty);
    }
    if let Some(first) = resp.errors.first() {
        tracing::info!(error = %first.message, "request refused");
    }
    let status = match ty {
        MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    };
    body_of(&json!({ "errors": resp.errors }), status, ty)
}

fn batch_response(resp: BatchResponse, ty: MediaType) -> Response {
    match resp {
        BatchResponse::Single(r) => graphql_response(r, ty),
        BatchResponse::Batch(mut list) => {
            list.iter_mut().for_each(fill_codes);
            body_of(&list, StatusCode::OK, ty)
        }
    }
}

/// The caller of a request, or the answer to an `Authorization` header that proves nobody:
/// 401 with `WWW-Authenticate` (RFC 6750) and one `UNAUTHENTICATED` error. A bad token is
/// never taken for anonymous. The reason is logged; the token never is.
fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, String> {
    if !state.auth.is_secured() {
        return Ok(Principal::Open);
    }
    let value = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "the Authorization header is not valid text".to_owned())?,
        ),
    };
    state.auth.authenticate(value).map_err(|refusal| refusal.0)
}

fn unauthorized(ty: MediaType, reason: &str) -> Response {
    tracing::info!(%reason, "token refused");
    let message = format!("{reason}; send `Authorization: Bearer <token>` with a valid token, or no token to act anonymously");
    let body = json!({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]});
    let mut resp = body_of(&body, StatusCode::UNAUTHORIZED, ty);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    resp
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accepts application/graphql-response+json or application/json responses",
    )
        .into_response()
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match caller(&state, &headers) {
        Ok(p) => p,
        Err(reason) => return unauthorized(ty, &reason),
    };
    // Over the limit: 413, with a GraphQL error body a client can read like any other.
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!(
                "the request body is larger than {} bytes, the most this server accepts \
                 (--max-body-bytes)",
                state.limits.max_body_bytes
            );
            tracing::info!(%message, "request refused");
            return request_error(StatusCode::PAYLOAD_TOO_LARGE, ty, message);
        }
        Err(rejection) => {
            let message = format!(
                "the request body could not be read: {}",
                rejection.body_text()
            );
            tracing::info!(%message, "request refused");
            return request_error(rejection.status(), ty, message);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        Some("application/json") => {}
        Some(other) => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ty,
                format!("POST bodies must be application/json, not {other}"),
            )
        }
        None => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ty,
                "POST bodies must be JSON with Content-Type: application/json",
            )
        }
    }
    match parse_body(&body) {
        Ok(mut batch) => {
            if let BatchRequest::Batch(list) = &batch {
                if list.len() > state.limits.max_batch {
                    let message = format!(
                        "the batch has {} operations; at most {} are allowed",
                        list.len(),
                        state.limits.max_batch
                    );
                    tracing::info!(%message, "request refused");
                    return request_error(StatusCode::BAD_REQUEST, ty, message);
                }
            }
            for request in batch.iter_mut() {
                if let Err(error) = state.documents.admit(request) {
                    return graphql_response(refusal(error), ty);
                }
            }
            let mut batch = batch.data(principal);
            let name = match &mut batch {
                BatchRequest::Single(request) => record_operation(request),
                BatchRequest::Batch(_) => None,
            };
            let mut resp = batch_response(state.schema.execute_batch(batch).await, ty);
            let label = OperationLabel(state.metrics.operation_label(name.as_deref()));
            resp.extensions_mut().insert(label);
            resp
        }
        Err(message) => request_error(StatusCode::BAD_REQUEST, ty, message),
    }
}

/// A request error: nothing ran.
fn refusal(error: async_graphql::ServerError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![error])
}

/// The request(s) in a POST body, straight from the bytes. async-graphql takes a missing
/// `query` for `""`, so an empty query is refused here as a missing one; anything that does not
/// deserialize is looked at again for a message that says what is wrong.
fn parse_body(body: &[u8]) -> Result<BatchRequest, String> {
    match serde_json::from_slice::<BatchRequest>(body) {
        Ok(batch) if batch.iter().any(|r| r.query.is_empty()) => {
            Err("the request needs a `query` string".into())
        }
        Ok(batch) => Ok(batch),
        Err(e) => {
            let value = serde_json::from_slice::<serde_json::Value>(body)
                .map_err(|e| format!("the body is not JSON: {e}"))?;
            check_params(&value)?;
            Err(format!("the body is not a GraphQL request: {e}"))
        }
    }
}

/// The GraphQL over HTTP request parameters: `query` a string (required), `operationName` a
/// string, `variables` and `extensions` maps; each optional one may be null. A batch is a
/// list of such requests.
fn check_params(v: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    match v {
        Value::Array(list) if !list.is_empty() => list.iter().try_for_each(check_params),
        Value::Object(map) => {
            if !matches!(map.get("query"), Some(Value::String(_))) {
                return Err("the request needs a `query` string".into());
            }
            if !matches!(
                map.get("operationName"),
                None | Some(Value::Null | Value::String(_))
            ) {
                return Err("`operationName` must be a string or null".into());
            }
            for key in ["variables", "extensions"] {
                if !matches!(map.get(key), None | Some(Value::Null | Value::Object(_))) {
                    return Err(format!("`{key}` must be a map or null"));
                }
            }
            Ok(())
        }
        _ => Err("the body must be a JSON object {query, variables, operationName}".into()),
    }
}

/// A browser's navigation: it asks for HTML and names no GraphQL response type.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html") && !a.contains("json"))
}

/// Names the request's operation in the request's log line: its name, else its kind.
/// Reads the document `Documents::admit` left in the request; parses nothing. Returns the
/// operation's name, if it has one.
fn record_operation(request: &mut Request) -> Option<String> {
    let name = request.operation_name.clone();
    let (label, named) = match request.parsed_query() {
        Ok(doc) => match selected_operation(doc, name.as_deref()) {
            Some((Some(op), _)) => (op.to_owned(), Some(op.to_owned())),
            Some((None, ty)) => (name.clone().unwrap_or_else(|| ty.to_string()), None),
            None => (name.clone().unwrap_or_default(), None),
        },
        Err(_) => (name.clone().unwrap_or_default(), None),
    };
    tracing::Span::current().record("operation", label);
    named
}

/// The operation `request` would run is a mutation.
fn is_mutation(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    request
        .parsed_query()
        .ok()
        .and_then(|doc| selected_operation(doc, name.as_deref()))
        .is_some_and(|(_, ty)| ty == OperationType::Mutation)
}

/// Any other method on `/graphql`: 405 with `Allow`, and a GraphQL error body like every
/// other answer there.
async fn graphql_other(headers: HeaderMap) -> Response {
    let ty = negotiate(&headers).unwrap_or(MediaType::Json);
    let message = "/graphql takes GET (queries) and POST (any operation)";
    method_not_allowed(ty, message, "GET, POST")
}

/// 405 with `Allow` and a GraphQL error body.
fn method_not_allowed(ty: MediaType, message: &str, allow: &'static str) -> Response {
    let mut resp = request_error(StatusCode::METHOD_NOT_ALLOWED, ty, message);
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn graphql_get(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Ok(upgrade) = upgrade {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return ws::upgrade(
            upgrade,
            state.schema.clone(),
            state.ws.clone(),
            authorization,
        );
    }
    let query = query.unwrap_or_default();
    // A browser navigating here gets GraphiQL, opened on `?query=` if it names one.
    if wants_html(&headers) {
        return graphiql::page().into_response();
    }
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match caller(&state, &headers) {
        Ok(p) => p,
        Err(reason) => return unauthorized(ty, &reason),
    };
    let mut request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                ty,
                format!("the query string is not a GraphQL request: {e}"),
            )
        }
    };
    if let Err(error) = state.documents.admit(&mut request) {
        return graphql_response(refusal(error), ty);
    }
    let name = record_operation(&mut request);
    let label = OperationLabel(state.metrics.operation_label(name.as_deref()));
    if is_mutation(&mut request) {
        let mut resp = method_not_allowed(ty, "mutations must be sent with POST", "POST");
        resp.extensions_mut().insert(label);
        return resp;
    }
    let mut resp = graphql_response(state.schema.execute(request.data(principal)).await, ty);
    resp.extensions_mut().insert(label);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiates_by_quality_and_specificity() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("text/html")), None);
    }
}
