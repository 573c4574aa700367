//! How answers are written: the negotiated media type, GraphQL error bodies and their status
//! codes, and the caller a request's `Authorization` proves (or the 401 when it proves nobody).

use super::*;

/// The two response media types of the GraphQL over HTTP specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MediaType {
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
pub(super) fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
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

pub(super) fn body_of(
    value: &impl serde::Serialize,
    status: StatusCode,
    ty: MediaType,
) -> Response {
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
pub(super) fn request_error(
    status: StatusCode,
    ty: MediaType,
    message: impl Into<String>,
) -> Response {
    let body =
        json!({"errors": [{"message": message.into(), "extensions": {"code": "BAD_USER_INPUT"}}]});
    body_of(&body, status, ty)
}

/// Serializes one response; a request error (parse, validation, variables: no field ran)
/// carries no `data`, and with `application/graphql-response+json` gets HTTP 400.
pub(super) fn graphql_response(mut resp: async_graphql::Response, ty: MediaType) -> Response {
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

pub(super) fn batch_response(resp: BatchResponse, ty: MediaType) -> Response {
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
pub(super) fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, String> {
    if !state.auth.is_secured() {
        return Ok(Principal::Open);
    }
    let value = authorization(headers)?;
    state.auth.authenticate(value).map_err(|refusal| refusal.0)
}

/// The request's one `Authorization` value, if any. Two of them are refused rather than one
/// picked (which one a proxy or a client library keeps differs), as is one that is not text.
pub(super) fn authorization(headers: &HeaderMap) -> Result<Option<&str>, String> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("the request has more than one Authorization header; send one".into());
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| "the Authorization header is not valid text".into())
}

pub(super) fn unauthorized(ty: MediaType, reason: &str) -> Response {
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

pub(super) fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accepts application/graphql-response+json or application/json responses",
    )
        .into_response()
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
