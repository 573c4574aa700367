//! API.md v3, "Field errors and null": a field that fails is null with its error (and `path`)
//! in `errors`; a Non-Null one makes its nearest nullable parent null, up to `data: null`;
//! every other selected field is there. The same over every transport.

use serde_json::{json, Value};

use crate::helpers::{assert_refused, at, spawn_app, TestApp};
use crate::tokens::spawn_hs256;
use crate::ws_client::WsClient;

const BAD_ZONE: &str = "Nowhere/Land";

/// A room with two reservations (at `at(0)` and `at(60)`); the room's and the first's ids.
async fn room_with_two(app: &TestApp) -> (String, String) {
    let room = app.create_room("Errors", 4).await;
    let first = app.book(&room, &at(0), &at(30)).await;
    app.book(&room, &at(60), &at(90)).await;
    (room, first)
}

fn paths(body: &Value) -> Vec<Value> {
    body["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["path"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_non_null_field_nulls_its_nearest_nullable_parent() {
    let app = spawn_app().await;
    let (room, first) = room_with_two(&app).await;
    let window =
        json!({"room": room, "from": at(-60), "to": at(600), "zone": BAD_ZONE, "id": first});

    // reservation (nullable) -> start (Non-Null) fails: reservation is null, not an object
    // without its start; the sibling root field answers.
    let body = app
        .graphql(
            "query($id: ID!, $zone: String) { reservation(id: $id) { id start(timeZone: $zone) } rooms { id } }",
            window.clone(),
        )
        .await;
    assert_eq!(body["data"]["reservation"], Value::Null, "{body}");
    assert_eq!(body["data"]["rooms"][0]["id"], room, "{body}");
    assert_eq!(paths(&body), [json!(["reservation", "start"])], "{body}");
    assert_refused(&body, "BAD_USER_INPUT");

    // Through a Non-Null list of Non-Null items: room (nullable) is null. The first item to
    // fail propagates (the others' resolution may be cut short), its error at its own path.
    let body = app
        .graphql(
            "query($room: ID!, $from: DateTime, $to: DateTime, $zone: String) {
               room(id: $room) { id name reservations(from: $from, to: $to) { id start(timeZone: $zone) } } }",
            window.clone(),
        )
        .await;
    assert_eq!(body["data"], json!({"room": null}), "{body}");
    let got = paths(&body);
    assert!(!got.is_empty(), "{body}");
    for path in got {
        let index = &path[2];
        assert!(index == 0 || index == 1, "{body}");
        assert_eq!(
            path,
            json!(["room", "reservations", index, "start"]),
            "{body}"
        );
    }

    // All the way up: `rooms` is Non-Null at the root, so data is null.
    let body = app
        .graphql(
            "query($from: DateTime, $to: DateTime, $zone: String) {
               rooms { id reservations(from: $from, to: $to) { start(timeZone: $zone) } } }",
            window.clone(),
        )
        .await;
    assert_eq!(body["data"], Value::Null, "{body}");
    assert!(!paths(&body).is_empty(), "{body}");

    // A nullable field that fails is null in place; its object stays.
    let body = app
        .graphql(
            "query($id: ID!) { reservation(id: $id) { id room { id } series { id } } }",
            window.clone(),
        )
        .await;
    assert_eq!(body["data"]["reservation"]["id"], first, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn an_anonymous_caller_gets_a_null_room_not_one_without_its_reservations() {
    let app = spawn_hs256().await;
    let root = crate::tokens::hs256(&crate::tokens::admin("root"));
    let room = app
        .graphql_as(
            Some(&root),
            "mutation { createRoom(input: {name: \"Secured\", capacity: 2}) { id } }",
            json!({}),
        )
        .await["data"]["createRoom"]["id"]
        .clone();
    let body = app
        .graphql_as(
            None,
            "query($r: ID!) { room(id: $r) { id reservations { id } } rooms { id } }",
            json!({"r": room}),
        )
        .await;
    assert_eq!(body["data"]["room"], Value::Null, "{body}");
    assert_eq!(body["data"]["rooms"][0]["id"], room, "{body}");
    assert_eq!(paths(&body), [json!(["room", "reservations"])], "{body}");
    assert_refused(&body, "UNAUTHENTICATED");
}

#[tokio::test]
async fn every_transport_propagates_null_the_same_way() {
    let app = spawn_app().await;
    let (_, first) = room_with_two(&app).await;
    let query = "query($id: ID!) { reservation(id: $id) { id start(timeZone: \"Nowhere/Land\") } }";
    let vars = json!({"id": first});
    let want = json!({"reservation": null});
    // POST, and a batch of two.
    assert_eq!(app.graphql(query, vars.clone()).await["data"], want);
    let batch: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([{"query": query, "variables": vars}, {"query": "{ rooms { id } }"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch[0]["data"], want, "{batch}");
    assert!(batch[1]["data"]["rooms"].is_array(), "{batch}");
    // GET.
    let got = app
        .get_graphql(&[("query", query), ("variables", &vars.to_string())])
        .await;
    assert_eq!(got["data"], want, "{got}");
    // Both WebSocket protocols, as an operation.
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", query, vars.clone()).await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["payload"]["data"], want, "{msg}");
    let mut legacy = WsClient::connect(&app, Some(crate::ws_client::LEGACY)).await;
    legacy.send(json!({"type": "connection_init"})).await;
    assert_eq!(legacy.recv().await["type"], "connection_ack");
    legacy
        .send(json!({"type": "start", "id": "1", "payload": {"query": query, "variables": vars}}))
        .await;
    let msg = legacy.recv().await;
    assert_eq!(msg["type"], "data", "{msg}");
    assert_eq!(msg["payload"]["data"], want, "{msg}");
}

#[tokio::test]
async fn a_live_event_whose_field_fails_arrives_as_data_null() {
    let app = spawn_app().await;
    let room = app.create_room("Live errors", 4).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe(
        "1",
        "subscription($r: ID) { reservationEvents(roomId: $r) { kind reservation { id start(timeZone: \"Nowhere/Land\") } } }",
        json!({"r": room}),
    )
    .await;
    app.wait_for_subscribers(1).await;
    app.book(&room, &at(0), &at(30)).await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "next", "{msg}");
    // reservation and the event are Non-Null, and so is the subscription field.
    assert_eq!(msg["payload"]["data"], Value::Null, "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["path"],
        json!(["reservationEvents", "reservation", "start"]),
        "{msg}"
    );
}
