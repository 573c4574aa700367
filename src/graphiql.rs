//! GraphiQL, served entirely by roombook: the page at `GET /graphql` (for browsers) and its
//! scripts and styles under `/graphiql/`, embedded in the binary (see assets/graphiql/README.md).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ty:literal) => {
        Asset {
            name: $name,
            content_type: $ty,
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/graphiql/",
                $name
            )),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("graphiql.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql.min.css", "text/css; charset=utf-8"),
    asset!("react.production.min.js", "text/javascript; charset=utf-8"),
    asset!(
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("graphql-ws.min.js", "text/javascript; charset=utf-8"),
];

/// `GET /graphiql/{file}`: one embedded asset.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The query GraphiQL opens with: it works against an empty server.
const DEFAULT_QUERY: &str = r#"# Welcome to roombook. Press the run button (or Ctrl-Enter).
# The Docs pane (top left) shows every query, mutation and subscription.
# Secured server? Put {"Authorization": "Bearer <your token>"} in the Headers tab below;
# it is sent with every request and subscription.
#
# Try next:
#   mutation { createRoom(input: {name: "Blue Room", capacity: 8, timeZone: "Europe/Berlin", building: "HQ", features: ["display"], policy: {bufferMinutes: 10, maxDurationMinutes: 240, openingHours: [{weekday: MONDAY, opens: "08:00", closes: "18:00"}]}}) { id name } }
#   { availableRooms(start: "2030-01-21T09:00:00Z", end: "2030-01-21T10:00:00Z", features: ["display"]) { name building } }
#   mutation { bookSeries(input: {roomId: "ROOM-ID", start: "2030-01-21T09:00:00+01:00", end: "2030-01-21T09:30:00+01:00", recurrence: {frequency: WEEKLY, byWeekday: [MONDAY], count: 10}, organizerName: "Ada", organizerEmail: "ada@example.com"}) { series { id rrule } occurrences { start(timeZone: "Europe/Berlin") } skipped { start code policy } } }
#   { me { subject name roles isAdmin reservations { id start room { name } } } }
#   { reservationsConnection(first: 20) { totalCount edges { cursor node { id start room { name } } } pageInfo { hasNextPage endCursor } } }
#   (the next page: the same with after: "<endCursor>"; every list that grows has a ...Connection)
#   subscription { reservationEvents { kind at cursor reservation { id start end room { name } } } }
#   (reconnecting? pass the last cursor you saw: reservationEvents(after: "...") misses nothing)

query Rooms {
  rooms {
    id
    name
    capacity
    building
    features
    timeZone
    policy {
      bufferMinutes
      maxDurationMinutes
      openingHours { weekday opens closes }
    }
    freeSlots(minDurationMinutes: 60) { start end }
  }
}
"#;

/// The GraphiQL page. `?query=` opens with that operation instead of the default.
pub fn page() -> Html<String> {
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".into());
    Html(PAGE.replace("__DEFAULT_QUERY__", &default_query))
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>roombook · GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphql-ws.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script>
    const http = new URL('/graphql', window.location.href).href;
    const ws = http.replace(/^http/, 'ws');
    // The Headers tab's Authorization goes with HTTP requests (createFetcher sends the tab's
    // headers) and, since a browser WebSocket cannot carry headers, in connection_init: one
    // WebSocket client per Authorization value. Nothing secret is in this page.
    const fetchers = new Map();
    function fetcherFor(authorization) {
      if (!fetchers.has(authorization)) {
        const connectionParams = authorization ? { Authorization: authorization } : {};
        fetchers.set(authorization, GraphiQL.createFetcher({
          url: http,
          wsClient: graphqlWs.createClient({ url: ws, lazy: true, connectionParams }),
        }));
      }
      return fetchers.get(authorization);
    }
    const fetcher = (params, opts) => {
      const headers = (opts && opts.headers) || {};
      const key = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
      return fetcherFor(key ? String(headers[key]) : '')(params, opts);
    };
    const params = new URLSearchParams(window.location.search);
    const props = { fetcher, defaultQuery: __DEFAULT_QUERY__, defaultEditorToolsVisibility: true };
    if (params.has('query')) props.query = params.get('query');
    ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
  </script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::DEFAULT_QUERY;
    use crate::auth::Principal;

    /// The page's default query, and the queries and mutations its comments suggest, run
    /// without an error on a fresh server (subscriptions are checked by the browser test).
    #[tokio::test]
    async fn the_default_query_and_its_suggestions_run() {
        let db = crate::db::Db::open(":memory:", &Default::default()).expect("database");
        let schema =
            crate::graphql::build(db, &crate::config::Limits::default(), chrono_tz::Tz::UTC);
        let suggested = DEFAULT_QUERY
            .lines()
            .filter_map(|l| l.strip_prefix("#   "))
            .filter(|l| l.starts_with("mutation") || l.starts_with('{'));
        // ROOM-ID in a suggestion is the room the first suggestion creates.
        let mut room = String::new();
        let mut ran = 0;
        for op in suggested.chain([DEFAULT_QUERY]) {
            let op = op.replace("ROOM-ID", &room);
            let request = async_graphql::Request::new(op.as_str()).data(Principal::Open);
            let resp = schema.execute(request).await;
            assert!(resp.errors.is_empty(), "{op}: {:?}", resp.errors);
            let data = resp.data.into_json().expect("JSON data");
            if let Some(id) = data["createRoom"]["id"].as_str() {
                room = id.to_owned();
            }
            if let Some(booked) = data["bookSeries"]["occurrences"].as_array() {
                assert_eq!(booked.len(), 10, "{data}");
            }
            ran += 1;
        }
        assert_eq!(ran, 6);
    }
}
