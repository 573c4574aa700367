use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

const LIST: &str = "query($from: DateTime, $to: DateTime, $room: ID, $all: Boolean) {
    reservations(from: $from, to: $to, roomId: $room, includeCancelled: $all) { id start status room { name } } }";

fn ids(body: &Value) -> Vec<&str> {
    body["data"]["reservations"]
        .as_array()
        .unwrap_or_else(|| panic!("no list: {body}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn reservations_are_sorted_by_start_and_filtered_by_window() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let late = app.book(&a, &at(300), &at(360)).await;
    let early = app.book(&b, &at(60), &at(120)).await;
    let middle = app.book(&a, &at(100), &at(200)).await;
    let body = app.graphql(LIST, json!({})).await;
    assert_eq!(
        ids(&body),
        vec![early.as_str(), middle.as_str(), late.as_str()]
    );
    assert_eq!(body["data"]["reservations"][0]["room"]["name"], "B");
    // [120, 300): `early` ends as the window starts, `late` starts as it ends: neither
    // overlaps; `middle` reaches into it from before.
    let body = app
        .graphql(LIST, json!({"from": at(120), "to": at(300)}))
        .await;
    assert_eq!(ids(&body), vec![middle.as_str()]);
}

#[tokio::test]
async fn the_default_window_is_the_next_thirty_days() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let soon = app.book(&room, &at(60), &at(120)).await;
    let day = 24 * 60;
    let within = app.book(&room, &at(26 * day), &at(26 * day + 60)).await;
    let beyond = app.book(&room, &at(29 * day), &at(29 * day + 60)).await; // > now + 30 days
    let body = app.graphql(LIST, json!({})).await;
    assert_eq!(ids(&body), vec![soon.as_str(), within.as_str()]);
    // `to` alone counts back from now; `from` alone reaches 30 days past it.
    let body = app.graphql(LIST, json!({"from": at(25 * day)})).await;
    assert_eq!(ids(&body), vec![within.as_str(), beyond.as_str()]);
    let body = app.graphql(LIST, json!({"to": at(61)})).await;
    assert_eq!(ids(&body), vec![soon.as_str()]);
}

#[tokio::test]
async fn cancelled_reservations_are_listed_only_when_asked_for() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let kept = app.book(&room, &at(120), &at(180)).await;
    let gone = app.book(&room, &at(60), &at(120)).await;
    app.cancel(&gone).await;
    assert_eq!(
        ids(&app.graphql(LIST, json!({})).await),
        vec![kept.as_str()]
    );
    assert_eq!(
        ids(&app.graphql(LIST, json!({"all": false})).await),
        vec![kept.as_str()]
    );
    let body = app.graphql(LIST, json!({"all": true})).await;
    assert_eq!(ids(&body), vec![gone.as_str(), kept.as_str()]);
    assert_eq!(body["data"]["reservations"][0]["status"], "CANCELLED");
}

#[tokio::test]
async fn listing_one_room() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let in_a = app.book(&a, &at(60), &at(120)).await;
    app.book(&b, &at(60), &at(120)).await;
    assert_eq!(
        ids(&app.graphql(LIST, json!({"room": a})).await),
        vec![in_a.as_str()]
    );
    let body = app
        .graphql(LIST, json!({"room": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_refused(&body, "NOT_FOUND");
    assert_refused(
        &app.graphql(LIST, json!({"room": "A"})).await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn the_window_must_run_forward_for_at_most_366_days() {
    let app = spawn_app().await;
    assert_refused(
        &app.graphql(LIST, json!({"from": at(60), "to": at(60)}))
            .await,
        "INVALID_TIME_RANGE",
    );
    assert_refused(
        &app.graphql(LIST, json!({"from": at(60), "to": at(0)}))
            .await,
        "INVALID_TIME_RANGE",
    );
    // `to` before the default `from` (now).
    let past = fmt(Utc::now() - Duration::hours(1));
    assert_refused(
        &app.graphql(LIST, json!({"to": past})).await,
        "INVALID_TIME_RANGE",
    );
    let day = 24 * 60;
    let ok = app
        .graphql(LIST, json!({"from": at(0), "to": at(366 * day)}))
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    assert_refused(
        &app.graphql(LIST, json!({"from": at(0), "to": at(366 * day + 1)}))
            .await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn a_rooms_reservations_follow_the_same_rules() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let other = app.create_room("B", 4).await;
    let second = app.book(&room, &at(120), &at(180)).await;
    let first = app.book(&room, &at(60), &at(120)).await;
    let cancelled = app.book(&room, &at(200), &at(260)).await;
    app.cancel(&cancelled).await;
    app.book(&other, &at(60), &at(120)).await;
    app.book(&room, &at(40 * 24 * 60), &at(40 * 24 * 60 + 60))
        .await; // past 30 days
    let q = "query($id: ID!, $from: DateTime, $to: DateTime) { room(id: $id) { reservations(from: $from, to: $to) { id } } }";
    let body = app.graphql(q, json!({"id": room})).await;
    let list: Vec<&str> = body["data"]["room"]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(list, vec![first.as_str(), second.as_str()]);
    let body = app
        .graphql(q, json!({"id": room, "from": at(60), "to": at(0)}))
        .await;
    assert_refused(&body, "INVALID_TIME_RANGE");
}

#[tokio::test]
async fn a_reservation_is_found_by_id_in_any_status() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    app.cancel(&id).await;
    let q = "query($id: ID!) { reservation(id: $id) { id status start end room { name } } }";
    let body = app.graphql(q, json!({"id": id})).await;
    assert_eq!(body["data"]["reservation"]["status"], "CANCELLED");
    assert_eq!(body["data"]["reservation"]["room"]["name"], "A");
    let body = app
        .graphql(q, json!({"id": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_eq!(body["data"]["reservation"], Value::Null);
    assert_refused(&app.graphql(q, json!({"id": "42"})).await, "BAD_USER_INPUT");
}

/// A room's listing that asks only where its reservations are reads only that (a slot-only
/// row); asking anything more, directly or through a fragment, reads them whole. Both answer
/// the same for the fields they share.
#[tokio::test]
async fn a_room_s_listing_reads_what_its_fields_need_and_answers_the_same() {
    let app = spawn_app().await;
    let room = app.create_room("Slots", 4).await;
    let first = app.book(&room, &at(60), &at(90)).await;
    let second = app.book(&room, &at(120), &at(150)).await;
    let list = |fields: &str| {
        let mut query = format!(
            "query($id: ID!) {{ room(id: $id) {{ reservations(from: \"{}\", to: \"{}\") {{ {fields} }} }} }}",
            at(0),
            at(600)
        );
        if fields.contains("...Who") {
            query.push_str(" fragment Who on Reservation { organizerName createdAt }");
        }
        query
    };
    let slots = "id start end status room { name } __typename ... on Reservation { id }";
    let body = app.graphql(&list(slots), json!({"id": room})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let listed = &body["data"]["room"]["reservations"];
    assert_eq!(listed[0]["id"], first.as_str());
    assert_eq!(listed[1]["id"], second.as_str());
    assert_eq!(listed[0]["start"], at(60));
    assert_eq!(listed[1]["end"], at(150));
    assert_eq!(listed[0]["status"], "CONFIRMED");
    assert_eq!(listed[0]["room"]["name"], "Slots");
    // Every other field, named, in an inline fragment or in a named one.
    for more in [
        "title",
        "... on Reservation { organizerEmail }",
        "...Who",
        "updatedAt",
        "checkedInAt",
        "releasedAt",
        "series { id }",
    ] {
        let body = app
            .graphql(&list(&format!("{slots} {more}")), json!({"id": room}))
            .await;
        assert!(body.get("errors").is_none(), "{more}: {body}");
        let full = &body["data"]["room"]["reservations"];
        for key in ["id", "start", "end", "status", "room", "__typename"] {
            assert_eq!(full[0][key], listed[0][key], "{more}: {key}");
            assert_eq!(full[1][key], listed[1][key], "{more}: {key}");
        }
    }
    let body = app.graphql(&list("id ...Who"), json!({"id": room})).await;
    let whole = &body["data"]["room"]["reservations"][0];
    assert_eq!(whole["organizerName"], "Ada Lovelace", "{body}");
    assert!(whole["createdAt"].is_string(), "{body}");
}
