//! `/graphql` over HTTP: POST (single and batched), GET, other methods; reading the request,
//! admitting its documents, answering by the GraphQL over HTTP rules.

use super::*;

pub(super) async fn graphql_post(
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
                if let Err(error) = state.documents.admit(request, principal.is_admin()) {
                    return graphql_response(refusal(error), ty);
                }
            }
            let mut batch = batch.data(principal);
            let name = match &mut batch {
                BatchRequest::Single(request) => record_operation(request),
                BatchRequest::Batch(_) => None,
            };
            let answer = state.schema.execute_batch(batch).await;
            let name = name.filter(|_| validated(&answer));
            let label = OperationLabel(state.metrics.operation_label(name.as_deref()));
            let mut resp = batch_response(answer, ty);
            resp.extensions_mut().insert(label);
            resp
        }
        Err(message) => request_error(StatusCode::BAD_REQUEST, ty, message),
    }
}

/// The (single) operation parsed and validated, so its name may have a metrics label of its
/// own: names from documents that never ran cannot use up the label slots.
fn validated(answer: &BatchResponse) -> bool {
    match answer {
        BatchResponse::Single(resp) => !is_request_error(resp),
        BatchResponse::Batch(_) => false,
    }
}

/// A request error: nothing ran.
pub(super) fn refusal(error: async_graphql::ServerError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![error])
}

/// The request(s) in a POST body, straight from the bytes. async-graphql takes a missing
/// `query` for `""`, so an empty query is refused here as a missing one; anything that does not
/// deserialize is looked at again for a message that says what is wrong.
pub(super) fn parse_body(body: &[u8]) -> Result<BatchRequest, String> {
    let read = read_batch(body).map(|mut batch| {
        with_document_ids(body, &mut batch);
        batch
    });
    match read {
        Ok(batch)
            if batch.iter().any(|r| {
                r.query.is_empty()
                    && !r.extensions.contains_key("persistedQuery")
                    && !r.extensions.contains_key("documentId")
            }) =>
        {
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

/// Puts each request's top-level `documentId` (trusted documents) in its extensions, where
/// `Documents::admit` reads it on every transport; async-graphql's `Request` has no field for
/// it. Bodies that do not mention it (almost all) are not read again.
fn with_document_ids(body: &[u8], batch: &mut BatchRequest) {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "documentId")]
        document_id: Option<String>,
    }
    // One SIMD search rather than a 12-byte compare at every offset (~300 per booking body).
    if memchr::memmem::find(body, b"\"documentId\"").is_none() {
        return;
    }
    let ids: Vec<Option<String>> = match batch {
        BatchRequest::Single(_) => serde_json::from_slice::<Named>(body)
            .map(|n| vec![n.document_id])
            .unwrap_or_default(),
        BatchRequest::Batch(_) => serde_json::from_slice::<Vec<Named>>(body)
            .map(|list| list.into_iter().map(|n| n.document_id).collect())
            .unwrap_or_default(),
    };
    for (request, id) in batch.iter_mut().zip(ids) {
        if let Some(id) = id {
            crate::graphql::name_document(request, id);
        }
    }
}

/// A single request or a non-empty list of them, read as what the first byte says it is:
/// `BatchRequest`'s own (untagged) deserializer buffers the whole body into a generic tree to
/// try each shape in turn, which was ~2% of a booking.
fn read_batch(body: &[u8]) -> serde_json::Result<BatchRequest> {
    use serde::de::Error as _;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let list = serde_json::from_slice::<Vec<Request>>(body)?;
            if list.is_empty() {
                return Err(serde_json::Error::invalid_length(
                    0,
                    &"a non-empty sequence",
                ));
            }
            Ok(BatchRequest::Batch(list))
        }
        _ => serde_json::from_slice::<Request>(body).map(BatchRequest::Single),
    }
}

/// The GraphQL over HTTP request parameters: `query` a string (required), `operationName` a
/// string, `variables` and `extensions` maps; each optional one may be null. A batch is a
/// list of such requests.
pub(super) fn check_params(v: &serde_json::Value) -> Result<(), String> {
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
pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html") && !a.contains("json"))
}

/// Names the request's operation in the request's log line: its name, else its kind.
/// Reads the document `Documents::admit` left in the request; parses nothing. Returns the
/// operation's name, if it has one.
pub(super) fn record_operation(request: &mut Request) -> Option<String> {
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
pub(super) fn is_mutation(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    request
        .parsed_query()
        .ok()
        .and_then(|doc| selected_operation(doc, name.as_deref()))
        .is_some_and(|(_, ty)| ty == OperationType::Mutation)
}

/// Any other method on `/graphql`: 405 with `Allow`, and a GraphQL error body like every
/// other answer there.
pub(super) async fn graphql_other(headers: HeaderMap) -> Response {
    let ty = negotiate(&headers).unwrap_or(MediaType::Json);
    let message = "/graphql takes GET (queries) and POST (any operation)";
    method_not_allowed(ty, message, "GET, POST")
}

/// 405 with `Allow` and a GraphQL error body.
pub(super) fn method_not_allowed(ty: MediaType, message: &str, allow: &'static str) -> Response {
    let mut resp = request_error(StatusCode::METHOD_NOT_ALLOWED, ty, message);
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

pub(super) async fn graphql_get(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Ok(upgrade) = upgrade {
        // Refused at `connection_init` if it is bad: the socket must not become anonymous.
        let authorization = authorization(&headers).map(|v| v.map(str::to_owned));
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
    if query.contains("documentId=") {
        let id = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "documentId");
        if let Some((_, id)) = id {
            crate::graphql::name_document(&mut request, id.into_owned());
        }
    }
    if let Err(error) = state.documents.admit(&mut request, principal.is_admin()) {
        return graphql_response(refusal(error), ty);
    }
    let name = record_operation(&mut request);
    if is_mutation(&mut request) {
        let mut resp = method_not_allowed(ty, "mutations must be sent with POST", "POST");
        let label = OperationLabel(state.metrics.operation_label(None));
        resp.extensions_mut().insert(label);
        return resp;
    }
    let answer = state.schema.execute(request.data(principal)).await;
    let name = name.filter(|_| !is_request_error(&answer));
    let label = OperationLabel(state.metrics.operation_label(name.as_deref()));
    let mut resp = graphql_response(answer, ty);
    resp.extensions_mut().insert(label);
    resp
}
