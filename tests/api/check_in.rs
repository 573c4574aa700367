//! Check-in, check-out and auto-release (API.md, "Check-in and release"). The server's clock
//! is moved forward (`Clock::advance`) instead of waiting minutes; the release task runs for
//! real and is woken by it.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::room_policies::room_with;
use crate::ws_client::{WsClient, EVENTS};

const FIELDS: &str = "id status start end checkedInAt releasedAt updatedAt";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A room that requires check-in: open 10 minutes before the start, released 10 after.
async fn strict_room(app: &TestApp, name: &str) -> String {
    room_with(
        app,
        name,
        json!({"checkInRequired": true, "checkInOpensMinutes": 10, "autoReleaseMinutes": 10}),
        json!({}),
    )
    .await
}

async fn check_in(app: &TestApp, id: &str) -> Value {
    app.graphql(
        &format!("mutation($id: ID!) {{ checkIn(id: $id) {{ {FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await
}

async fn check_out(app: &TestApp, id: &str) -> Value {
    app.graphql(
        &format!("mutation($id: ID!) {{ checkOut(id: $id) {{ {FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await
}

async fn read(app: &TestApp, id: &str) -> Value {
    let body = app
        .graphql(
            &format!("query($id: ID!) {{ reservation(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await;
    body["data"]["reservation"].clone()
}

/// Waits (at most 10 s) until reservation `id` has `status`.
async fn until_status(app: &TestApp, id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    loop {
        let r = read(app, id).await;
        if r["status"] == status {
            return r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {r}, not {status}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn check_in_opens_before_the_start_and_is_idempotent() {
    let app = spawn_app().await;
    let strict = strict_room(&app, "Strict").await;
    let relaxed = room_with(
        &app,
        "Relaxed",
        json!({"checkInOpensMinutes": 5}),
        json!({}),
    )
    .await;
    let id = app.book(&strict, &at(0), &at(60)).await;
    let other = app.book(&relaxed, &at(0), &at(60)).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;

    advance_to(&app, base() - Duration::minutes(10) - Duration::seconds(5));
    let e = assert_refused(&check_in(&app, &id).await, "CHECK_IN_CLOSED").clone();
    assert!(e["message"].as_str().unwrap().contains("opens at"), "{e}");
    advance_to(&app, base() - Duration::minutes(10) + Duration::seconds(1));
    let body = check_in(&app, &id).await;
    let first = body["data"]["checkIn"].clone();
    assert_eq!(first["status"], "CONFIRMED", "{body}");
    let at_ = t(first["checkedInAt"].as_str().unwrap());
    assert!(at_ >= base() - Duration::minutes(10), "{first}");
    let event = ws.event("1").await;
    assert_eq!(event["kind"], "CHECKED_IN");
    assert_eq!(event["reservation"]["id"], id.as_str());
    // Again: unchanged, no event.
    let again = check_in(&app, &id).await;
    assert_eq!(again["data"]["checkIn"], first, "{again}");
    assert!(ws.try_recv(StdDuration::from_millis(200)).await.is_none());
    // The relaxed room opens 5 minutes before: not yet.
    assert_refused(&check_in(&app, &other).await, "CHECK_IN_CLOSED");
    // Without required check-in, it stays open until the end and nothing is released.
    advance_to(&app, base() + Duration::minutes(59));
    assert_eq!(
        check_in(&app, &other).await["data"]["checkIn"]["status"],
        "CONFIRMED"
    );
    advance_to(&app, base() + Duration::minutes(61));
    let late = app.book(&relaxed, &at(120), &at(180)).await;
    advance_to(&app, base() + Duration::minutes(181));
    assert_refused(&check_in(&app, &late).await, "CHECK_IN_CLOSED");
    assert_eq!(read(&app, &late).await["status"], "CONFIRMED");
    // The checked-in reservation was never released.
    assert_eq!(read(&app, &id).await["status"], "CONFIRMED");
    let body = check_in(&app, &uuid::Uuid::new_v4().to_string()).await;
    assert_refused(&body, "NOT_FOUND");
}

#[tokio::test]
async fn a_no_show_is_released_once_and_its_slot_is_free_at_once() {
    let app = spawn_app().await;
    let room = strict_room(&app, "No-show").await;
    let id = app.book(&room, &at(0), &at(60)).await;
    let kept = app.book(&room, &at(60), &at(120)).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({"room": room})).await;
    app.wait_for_subscribers(1).await;
    // Just before the deadline nothing happens; just after, it is released.
    advance_to(&app, base() + Duration::minutes(10) - Duration::seconds(2));
    assert!(ws.try_recv(StdDuration::from_millis(300)).await.is_none());
    assert_eq!(read(&app, &id).await["status"], "CONFIRMED");
    advance_to(&app, base() + Duration::minutes(10));
    let event = ws.event("1").await;
    assert_eq!(event["kind"], "RELEASED");
    assert_eq!(event["reservation"]["id"], id.as_str());
    assert_eq!(event["reservation"]["status"], "RELEASED");
    let released = until_status(&app, &id, "RELEASED").await;
    assert!(t(released["releasedAt"].as_str().unwrap()) >= base() + Duration::minutes(10));
    assert_eq!(released["checkedInAt"], Value::Null);
    // It blocks nothing: the rest of the slot can be booked right away.
    let again = app.book(&room, &at(11), &at(60)).await;
    // Released is final.
    assert_refused(&app.cancel(&id).await, "ALREADY_RELEASED");
    let moved = app
        .reschedule(json!({"id": id, "start": at(200), "end": at(230)}))
        .await;
    assert_refused(&moved, "ALREADY_RELEASED");
    assert_refused(&check_in(&app, &id).await, "CHECK_IN_CLOSED");
    let listed = app
        .graphql(
            "query($r: ID, $f: DateTime) { reservations(roomId: $r, from: $f) { id } all: reservations(roomId: $r, from: $f, includeCancelled: true) { id status } }",
            json!({"r": room, "f": at(0)}),
        )
        .await;
    assert_eq!(
        listed["data"]["reservations"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    assert!(listed["data"]["all"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str() && r["status"] == "RELEASED"));
    // The booking made meanwhile is the next event; nothing released twice.
    let next = ws.event("1").await;
    assert_eq!(next["kind"], "BOOKED");
    assert_eq!(next["reservation"]["id"], again.as_str());
    assert!(ws.try_recv(StdDuration::from_millis(300)).await.is_none());
    assert_eq!(read(&app, &kept).await["status"], "CONFIRMED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_ins_racing_the_release_each_end_one_way_with_one_event() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..24 {
        let room = strict_room(&app, &format!("Race {i}")).await;
        ids.push(app.book(&room, &at(0), &at(60)).await);
    }
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    // All 24 fall due at the same instant. Move to 48 ms before it and send the check-ins
    // 4 ms apart, so that they land on both sides of it while the release task runs.
    advance_to(
        &app,
        base() + Duration::minutes(10) - Duration::milliseconds(48),
    );
    let answers = join_all(ids.iter().enumerate().map(|(i, id)| {
        let app = &app;
        async move {
            tokio::time::sleep(StdDuration::from_millis(4 * i as u64)).await;
            check_in(app, id).await
        }
    }))
    .await;
    let mut events = Vec::new();
    while events.len() < ids.len() {
        events.push(ws.event("1").await);
    }
    assert!(ws.try_recv(StdDuration::from_millis(500)).await.is_none());
    let mut checked_in = 0;
    for (id, answer) in ids.iter().zip(&answers) {
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["reservation"]["id"] == id.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "one event for {id}: {events:?}");
        let stored = read(&app, id).await;
        if answer["data"]["checkIn"].is_object() {
            checked_in += 1;
            assert_eq!(mine[0]["kind"], "CHECKED_IN");
            assert_eq!(stored["status"], "CONFIRMED", "{stored}");
            assert!(stored["checkedInAt"].is_string() && stored["releasedAt"].is_null());
        } else {
            assert_refused(answer, "CHECK_IN_CLOSED");
            assert_eq!(mine[0]["kind"], "RELEASED");
            assert_eq!(stored["status"], "RELEASED", "{stored}");
            assert!(stored["checkedInAt"].is_null() && stored["releasedAt"].is_string());
        }
    }
    eprintln!(
        "{checked_in} of {} checked in before the release",
        ids.len()
    );
}

#[tokio::test]
async fn check_out_ends_the_meeting_now_and_frees_the_rest() {
    let app = spawn_app().await;
    let room = app.create_room("Short", 4).await;
    let id = app.book(&room, &at(0), &at(60)).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    let e = assert_refused(&check_out(&app, &id).await, "NOT_IN_PROGRESS").clone();
    assert!(
        e["message"].as_str().unwrap().contains("has not started"),
        "{e}"
    );
    advance_to(&app, base() + Duration::minutes(20));
    let body = check_out(&app, &id).await;
    let out = &body["data"]["checkOut"];
    let end = t(out["end"].as_str().unwrap_or_else(|| panic!("{body}")));
    assert!(
        end >= base() + Duration::minutes(20) && end < base() + Duration::minutes(21),
        "{out}"
    );
    assert_eq!(out["status"], "CONFIRMED");
    let event = ws.event("1").await;
    assert_eq!(event["kind"], "CHECKED_OUT");
    assert_eq!(event["reservation"]["end"], out["end"]);
    // The rest of the slot is free at once; the meeting has ended.
    app.book(&room, &at(30), &at(60)).await;
    assert_refused(&check_out(&app, &id).await, "NOT_IN_PROGRESS");
    assert_refused(&app.cancel(&id).await, "IN_PAST");
    let cancelled = app.book(&room, &at(90), &at(120)).await;
    app.cancel(&cancelled).await;
    advance_to(&app, base() + Duration::minutes(100));
    assert_refused(&check_out(&app, &cancelled).await, "NOT_IN_PROGRESS");
}

#[tokio::test]
async fn deadlines_follow_bookings_and_moves_not_later_policy_changes() {
    let app = spawn_app().await;
    let relaxed = app.create_room("Relaxed", 4).await;
    let strict = strict_room(&app, "Strict").await;
    let stays = app.book(&relaxed, &at(0), &at(30)).await;
    let moves = app.book(&relaxed, &at(60), &at(90)).await;
    // Requiring check-in later does not touch existing reservations (API.md, updateRoom).
    let body = app
        .graphql(
            "mutation($id: ID!) { updateRoom(input: {id: $id, policy: {checkInRequired: true, autoReleaseMinutes: 5}}) { id } }",
            json!({"id": relaxed}),
        )
        .await;
    assert!(body["data"]["updateRoom"].is_object(), "{body}");
    // A move into a room that requires check-in sets a deadline, sooner than any the task
    // knew of: it wakes up for it.
    let moved = app
        .reschedule(json!({"id": moves, "roomId": strict, "start": at(5), "end": at(35)}))
        .await;
    assert!(
        moved["data"]["rescheduleReservation"].is_object(),
        "{moved}"
    );
    let fresh = app.book(&relaxed, &at(120), &at(150)).await;
    advance_to(&app, base() + Duration::minutes(16));
    until_status(&app, &moves, "RELEASED").await;
    assert_eq!(read(&app, &stays).await["status"], "CONFIRMED");
    // Booked after the change, `fresh` follows the new policy.
    advance_to(&app, base() + Duration::minutes(126));
    until_status(&app, &fresh, "RELEASED").await;
}

#[tokio::test]
async fn what_fell_due_while_the_server_was_down_is_released_at_start() {
    let dir = std::env::temp_dir().join(format!("roombook-release-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = if on_postgres() {
        fresh_database().await
    } else {
        dir.join("roombook.db").to_string_lossy().into_owned()
    };
    let first = spawn_app_with(|c| roombook::config::ServeConfig {
        database: database.clone(),
        ..c
    })
    .await;
    let room = strict_room(&first, "Durable").await;
    let mut ws = WsClient::ready(&first).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    first.wait_for_subscribers(1).await;
    let id = first.book(&room, &at(0), &at(60)).await;
    let cursor = ws.event("1").await["cursor"].as_str().unwrap().to_owned();
    ws.close().await;
    first.shut_down();
    let stopped = first.stopped.lock().unwrap().take().unwrap();
    stopped.await.unwrap().unwrap();

    // Restarted an hour later: the reservation is long overdue.
    let clock = roombook::clock::Clock::default();
    clock.advance(base() + Duration::hours(1) - Utc::now());
    let second = spawn_app_with(|c| roombook::config::ServeConfig {
        database: database.clone(),
        clock,
        ..c
    })
    .await;
    let released = until_status(&second, &id, "RELEASED").await;
    assert!(t(released["releasedAt"].as_str().unwrap()) >= base() + Duration::hours(1));
    // The RELEASED event is in the log: a subscriber resuming after the booking gets it.
    let mut ws = WsClient::ready(&second).await;
    ws.subscribe("1", EVENTS, json!({"after": cursor})).await;
    let event = ws.event("1").await;
    assert_eq!(event["kind"], "RELEASED");
    assert_eq!(event["reservation"]["id"], id.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}
