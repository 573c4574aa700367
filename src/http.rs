//! HTTP routes: `/graphql` (POST, GET, GraphiQL, WebSocket), `/` and `/healthz`, with the GraphQL over
//! HTTP rules for media types and status codes.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::graphiql;
use crate::graphql::AppSchema;
use crate::ws::{self, WsState};

/// Largest request body accepted, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub ws: WsState,
}

/// The routes of roombook over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
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

fn body_of(value: &serde_json::Value, status: StatusCode, ty: MediaType) -> Response {
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
fn graphql_response(resp: async_graphql::Response, ty: MediaType) -> Response {
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    let mut value = serde_json::to_value(&resp).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serializing a response");
        json!({"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]})
    });
    let status = if request_error {
        if let Some(obj) = value.as_object_mut() {
            obj.remove("data");
        }
        match ty {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        }
    } else {
        StatusCode::OK
    };
    body_of(&value, status, ty)
}

fn batch_response(resp: BatchResponse, ty: MediaType) -> Response {
    match resp {
        BatchResponse::Single(r) => graphql_response(r, ty),
        BatchResponse::Batch(list) => {
            let value = serde_json::to_value(&list).unwrap_or_else(|e| {
                tracing::error!(error = %e, "serializing a batch response");
                json!([])
            });
            body_of(&value, StatusCode::OK, ty)
        }
    }
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accepts application/graphql-response+json or application/json responses",
    )
        .into_response()
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
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
    let parsed = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| format!("the body is not JSON: {e}"))
        .and_then(|v| {
            check_params(&v)?;
            serde_json::from_value::<BatchRequest>(v)
                .map_err(|e| format!("the body is not a GraphQL request: {e}"))
        });
    match parsed {
        Ok(batch) => {
            if let BatchRequest::Single(request) = &batch {
                record_operation(request);
            }
            batch_response(state.schema.execute_batch(batch).await, ty)
        }
        Err(message) => request_error(StatusCode::BAD_REQUEST, ty, message),
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

/// Names the request's operation in the request's log line: its `operationName`, else the
/// first operation's name, else its kind (`query`, `mutation`, `subscription`).
fn record_operation(request: &Request) {
    let span = tracing::Span::current();
    match request.operation_name.as_deref() {
        Some(name) => span.record("operation", name),
        None => span.record("operation", operation_label(&request.query)),
    };
}

/// A cheap look at the start of a document, without parsing it twice: the words before its
/// first `{` or `(`, comments skipped.
fn operation_label(query: &str) -> String {
    let mut head = String::new();
    for line in query.lines() {
        let code = line.split('#').next().unwrap_or("");
        match code.find(['{', '(']) {
            Some(i) => {
                head.push_str(&code[..i]);
                break;
            }
            None => {
                head.push_str(code);
                head.push(' ');
            }
        }
    }
    let mut words = head.split_whitespace();
    match (words.next(), words.next()) {
        (Some("query" | "mutation" | "subscription"), Some(name)) => name.to_owned(),
        (Some(kind @ ("query" | "mutation" | "subscription")), None) => kind.to_owned(),
        _ => "query".to_owned(),
    }
}

/// The operation `request` would run is a mutation.
fn is_mutation(request: &Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false; // executing it reports the syntax error
    };
    let ty = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    };
    ty == Some(OperationType::Mutation)
}

async fn graphql_get(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Ok(upgrade) = upgrade {
        return ws::upgrade(upgrade, state.schema.clone(), state.ws.clone());
    }
    let query = query.unwrap_or_default();
    // A browser navigating here gets GraphiQL, opened on `?query=` if it names one.
    if wants_html(&headers) {
        return graphiql::page().into_response();
    }
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                ty,
                format!("the query string is not a GraphQL request: {e}"),
            )
        }
    };
    record_operation(&request);
    if is_mutation(&request) {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            ty,
            "mutations must be sent with POST",
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    graphql_response(state.schema.execute(request).await, ty)
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
    fn labels_operations_by_name_or_kind() {
        assert_eq!(operation_label("mutation Book($i: X) { a }"), "Book");
        assert_eq!(operation_label("# hi\n  query { a }"), "query");
        assert_eq!(operation_label("{ rooms { id } }"), "query");
        assert_eq!(operation_label("subscription Live{ a }"), "Live");
        assert_eq!(operation_label("mutation { a }"), "mutation");
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
