//! Resuming a subscription with `after: <cursor>`: every matching event committed after that
//! one, in order, then the live feed, with no gap and no duplicate; on both protocols.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws_client::*;

/// Subscribes on `ws` as operation `id` and waits until the server listens.
async fn subscribe(app: &TestApp, ws: &mut WsClient, id: &str, vars: Value, listening: usize) {
    ws.subscribe(id, EVENTS, vars).await;
    app.wait_for_subscribers(listening).await;
}

fn reservation_id(event: &Value) -> String {
    event["reservation"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn resuming_after_a_cursor_replays_what_came_after_it_then_goes_live_once_each() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "1", json!({}), 1).await;
    let first = app.book(&room, &at(0), &at(30)).await;
    let seen = ws.event("1").await;
    assert_eq!(reservation_id(&seen), first);
    let cursor = seen["cursor"].as_str().unwrap().to_owned();
    ws.close().await;
    app.wait_for_subscribers(0).await;

    // While nobody listens: a booking, a move and a cancellation.
    let second = app.book(&room, &at(60), &at(90)).await;
    app.reschedule(json!({"id": first, "start": at(120), "end": at(150)}))
        .await;
    app.cancel(&second).await;

    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "2", json!({"after": cursor}), 1).await;
    let third = app.book(&room, &at(200), &at(230)).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let e = ws.event("2").await;
        got.push((e["kind"].as_str().unwrap().to_owned(), reservation_id(&e)));
    }
    assert_eq!(
        got,
        vec![
            ("BOOKED".into(), second.clone()),
            ("RESCHEDULED".into(), first.clone()),
            ("CANCELLED".into(), second.clone()),
            ("BOOKED".into(), third.clone()),
        ]
    );
    // Nothing twice: the next event is the next change.
    let fourth = app.book(&room, &at(300), &at(330)).await;
    assert_eq!(reservation_id(&ws.event("2").await), fourth);
}

#[tokio::test]
async fn resuming_one_room_replays_only_that_rooms_events_moves_included() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "1", json!({"room": a}), 1).await;
    let first = app.book(&a, &at(0), &at(30)).await;
    let cursor = ws.event("1").await["cursor"].as_str().unwrap().to_owned();
    ws.close().await;
    app.wait_for_subscribers(0).await;

    let in_b = app.book(&b, &at(0), &at(30)).await;
    let moved = app
        .reschedule(json!({"id": first, "roomId": b, "start": at(40), "end": at(50)}))
        .await; // leaves A
    assert!(moved.get("errors").is_none(), "{moved}");
    app.cancel(&in_b).await;
    let back = app.book(&a, &at(60), &at(90)).await;

    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "1", json!({"room": a, "after": cursor}), 1).await;
    let moved = ws.event("1").await;
    assert_eq!(moved["kind"], "RESCHEDULED");
    assert_eq!(moved["previousRoom"]["id"], a.as_str());
    assert_eq!(reservation_id(&ws.event("1").await), back);
    let live = app.book(&a, &at(120), &at(150)).await;
    assert_eq!(reservation_id(&ws.event("1").await), live);
}

#[tokio::test]
async fn the_legacy_protocol_resumes_alike() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "1", json!({}), 1).await;
    app.book(&room, &at(0), &at(30)).await;
    let cursor = ws.event("1").await["cursor"].as_str().unwrap().to_owned();
    ws.close().await;
    app.wait_for_subscribers(0).await;
    let missed = app.book(&room, &at(60), &at(90)).await;

    let mut ws = WsClient::connect(&app, Some(LEGACY)).await;
    ws.send(json!({"type": "connection_init", "payload": {}}))
        .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.send(json!({"type": "start", "id": "7", "payload": {"query": EVENTS, "variables": {"after": cursor}}}))
        .await;
    assert_eq!(reservation_id(&ws.event("7").await), missed);
}

async fn refusal_of(app: &TestApp, after: &str) -> Value {
    let mut ws = WsClient::ready(app).await;
    ws.subscribe("1", EVENTS, json!({"after": after})).await;
    let msg = ws.recv().await;
    assert!(msg["type"] == "next" || msg["type"] == "error", "{msg}");
    let errors = if msg["type"] == "error" {
        msg["payload"].clone()
    } else {
        msg["payload"]["errors"].clone()
    };
    errors[0].clone()
}

#[tokio::test]
async fn a_cursor_from_another_database_or_not_a_cursor_is_refused_with_a_hint_to_refetch() {
    let one = spawn_app().await;
    let other = spawn_app().await;
    let room = other.create_room("A", 4).await;
    let mut ws = WsClient::ready(&other).await;
    subscribe(&other, &mut ws, "1", json!({}), 1).await;
    other.book(&room, &at(0), &at(30)).await;
    let foreign = ws.event("1").await["cursor"].as_str().unwrap().to_owned();
    for bad in [foreign.as_str(), "not-a-cursor", ""] {
        let err = refusal_of(&one, bad).await;
        assert_eq!(
            err["extensions"]["code"], "BAD_USER_INPUT",
            "{bad:?}: {err}"
        );
        assert!(
            err["message"].as_str().unwrap().contains("refetch"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_is_refused_with_a_hint_to_refetch() {
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        event_retention: 3,
        ..c
    })
    .await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::ready(&app).await;
    subscribe(&app, &mut ws, "1", json!({}), 1).await;
    app.book(&room, &at(0), &at(30)).await;
    let old = ws.event("1").await["cursor"].as_str().unwrap().to_owned();
    for i in 1..10 {
        app.book(&room, &at(60 * i), &at(60 * i + 30)).await;
    }
    // The background pruning runs within seconds; until it has, the cursor still works.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let err = refusal_of(&app, &old).await;
        if err["extensions"]["code"] == "BAD_USER_INPUT" {
            assert!(
                err["message"].as_str().unwrap().contains("refetch"),
                "{err}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never pruned: {err}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
