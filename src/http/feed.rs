//! `GET /calendar/rooms/{roomId}.ics`: a room's iCalendar feed, with ETag and 304.

use super::*;

/// Most reservations one feed lists (a room booked every 15 minutes around the clock for
/// the feed's 396 days has 38,016).
pub(super) const MAX_FEED: usize = 50_000;

/// `GET /calendar/rooms/{roomId}.ics`: the room's iCalendar feed, with an ETag that
/// `If-None-Match` is answered against (304). Anonymous callers in secured mode see busy
/// times only; a bad token is 401 as on `/graphql`.
pub(super) async fn room_calendar(
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

pub(super) fn feed_failed(e: &crate::Error) -> Response {
    tracing::error!(error = ?e, "calendar feed failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "internal error",
    )
        .into_response()
}
