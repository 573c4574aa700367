//! API.md v3, `node`/`nodes` (global object identification): rooms, reservations and series
//! found again by id alone, with the rights of their typed fields.

use serde_json::{json, Value};

use crate::helpers::{assert_refused, at, spawn_app, TestApp};
use crate::tokens::{admin, hs256, member, spawn_hs256};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id \
    ... on Room { name } ... on Reservation { start room { id } } ... on Series { rrule } } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

/// A room, a reservation in it and a series in it; their ids.
async fn one_of_each(app: &TestApp, token: Option<&str>) -> (String, String, String) {
    let ask = |q: &'static str, v: Value| async move {
        match token {
            Some(t) => app.graphql_as(Some(t), q, v).await,
            None => app.graphql(q, v).await,
        }
    };
    let room = ask(
        "mutation { createRoom(input: {name: \"Nodes\", capacity: 4}) { id } }",
        json!({}),
    )
    .await["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let organizer = json!({"organizerName": "Ada", "organizerEmail": "ada@example.com"});
    let mut input = json!({"roomId": room, "start": at(0), "end": at(30)});
    input
        .as_object_mut()
        .unwrap()
        .extend(organizer.as_object().unwrap().clone());
    let booked = ask(
        "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
        json!({"i": input}),
    )
    .await;
    let reservation = booked["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut input = json!({"roomId": room, "start": at(24 * 60), "end": at(24 * 60 + 30),
        "recurrence": {"frequency": "DAILY", "count": 2}});
    input
        .as_object_mut()
        .unwrap()
        .extend(organizer.as_object().unwrap().clone());
    let series = ask(
        "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id } } }",
        json!({"i": input}),
    )
    .await;
    let series = series["data"]["bookSeries"]["series"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("bookSeries: {series}"))
        .to_owned();
    (room, reservation, series)
}

#[tokio::test]
async fn node_finds_rooms_reservations_and_series_by_id_alone() {
    let app = spawn_app().await;
    let (room, reservation, series) = one_of_each(&app, None).await;
    let node = |id: &str| app.graphql(NODE, json!({"id": id}));
    let got = node(&room).await;
    assert_eq!(
        got["data"]["node"],
        json!({"__typename": "Room", "id": room, "name": "Nodes"})
    );
    let got = node(&reservation).await;
    assert_eq!(got["data"]["node"]["__typename"], "Reservation", "{got}");
    assert_eq!(got["data"]["node"]["start"], at(0));
    assert_eq!(got["data"]["node"]["room"]["id"], room);
    let got = node(&series).await;
    assert_eq!(got["data"]["node"]["__typename"], "Series", "{got}");
    assert!(got["data"]["node"]["rrule"]
        .as_str()
        .unwrap()
        .contains("DAILY"));
    // An id that names nothing: null, no error; an id that is not a UUID: BAD_USER_INPUT.
    let got = node("0190a5e0-0000-7000-8000-000000000000").await;
    assert_eq!(got, json!({"data": {"node": null}}));
    assert_refused(&node("room-1").await, "BAD_USER_INPUT");
    // A long one is quoted back cut short.
    let long = "x".repeat(20_000);
    let got = node(&long).await;
    let message = assert_refused(&got, "BAD_USER_INPUT")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.len() < 300 && message.contains("20000 bytes"),
        "{message}"
    );

    // nodes: in the order given, null for the unknown one.
    let unknown = "0190a5e0-0000-7000-8000-000000000001";
    let got = app
        .graphql(NODES, json!({"ids": [series, unknown, room, reservation]}))
        .await;
    assert_eq!(
        got,
        json!({"data": {"nodes": [
            {"__typename": "Series", "id": series},
            null,
            {"__typename": "Room", "id": room},
            {"__typename": "Reservation", "id": reservation},
        ]}})
    );
    let many: Vec<String> = (0..101).map(|_| room.clone()).collect();
    assert_refused(
        &app.graphql(NODES, json!({"ids": many})).await,
        "BAD_USER_INPUT",
    );
    let hundred: Vec<String> = (0..100).map(|_| room.clone()).collect();
    let got = app.graphql(NODES, json!({"ids": hundred})).await;
    assert_eq!(
        got["data"]["nodes"].as_array().map(Vec::len),
        Some(100),
        "{got}"
    );
}

#[tokio::test]
async fn node_needs_the_rights_of_the_typed_field() {
    let app = spawn_hs256().await;
    let root = hs256(&admin("root"));
    let (room, reservation, series) = one_of_each(&app, Some(&root)).await;
    // Anonymous: rooms yes; anything else refused, whether it exists or not (no probing).
    let anon = |id: String| app.graphql_as(None, NODE, json!({"id": id}));
    assert_eq!(anon(room.clone()).await["data"]["node"]["id"], room);
    for id in [
        reservation.clone(),
        series.clone(),
        "0190a5e0-0000-7000-8000-000000000002".to_owned(),
    ] {
        let got = anon(id).await;
        assert_eq!(got["data"]["node"], Value::Null, "{got}");
        assert_refused(&got, "UNAUTHENTICATED");
    }
    // nodes: each refusal is in its own place, the rest answer.
    let got = app
        .graphql_as(None, NODES, json!({"ids": [room, reservation]}))
        .await;
    assert_eq!(got["data"]["nodes"][0]["id"], room, "{got}");
    assert_eq!(got["data"]["nodes"][1], Value::Null, "{got}");
    assert_eq!(got["errors"][0]["path"], json!(["nodes", 1]), "{got}");
    assert_eq!(got["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // A member sees what `reservation` and `series` show them.
    let ada = hs256(&member("ada"));
    let got = app
        .graphql_as(Some(&ada), NODES, json!({"ids": [reservation, series]}))
        .await;
    assert_eq!(got["data"]["nodes"][0]["id"], reservation, "{got}");
    assert_eq!(got["data"]["nodes"][1]["id"], series, "{got}");
}
