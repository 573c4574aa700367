//! API.md "Idempotent mutations": a retry with the same key and input returns the first
//! success's result and changes nothing; another input under the key is refused; keys belong
//! to their caller; concurrent duplicates make one change; a failed attempt stores nothing.

use std::io::Write;

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::tokens::*;

const BOOK: &str =
    "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id status start end updatedAt } }";
const CANCEL: &str = "mutation($id: ID!, $k: String) { cancelReservation(id: $id, idempotencyKey: $k) { id status updatedAt } }";
const RESCHEDULE: &str = "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id start end updatedAt } }";
const SERIES: &str = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id } occurrences { id status } skipped { start code } } }";

fn booking(room: &str, from: i64, to: i64, key: Option<&str>) -> Value {
    json!({"i": {"roomId": room, "start": at(from), "end": at(to), "title": "Retry",
                 "organizerName": "Ada", "organizerEmail": "ada@example.com",
                 "idempotencyKey": key}})
}

/// Every event logged for `room`, as (kind, reservation id).
async fn events_of(app: &TestApp, room: &str) -> Vec<(String, String)> {
    let room = uuid::Uuid::parse_str(room).unwrap();
    app.db
        .replay(0, i64::MAX, Some(room), 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let v = serde_json::to_value(e.kind).unwrap();
            (v.as_str().unwrap().to_owned(), e.reservation.id.to_string())
        })
        .collect()
}

/// The ids of every reservation of `room` (any status).
async fn reservations_of(app: &TestApp, room: &str) -> Vec<String> {
    let v = app
        .graphql(
            "query($r: ID!, $f: DateTime!) { reservations(roomId: $r, from: $f, includeCancelled: true) { id } }",
            json!({"r": room, "f": at(-60)}),
        )
        .await;
    v["data"]["reservations"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_retried_booking_returns_the_first_reservation_and_books_nothing_more() {
    let app = spawn_app().await;
    let room = app.create_room("Retry", 4).await;
    let first = app.graphql(BOOK, booking(&room, 0, 30, Some("k-1"))).await;
    let second = app.graphql(BOOK, booking(&room, 0, 30, Some("k-1"))).await;
    assert!(first["errors"].is_null(), "{first}");
    assert_eq!(
        first, second,
        "the retry answers exactly as the first attempt"
    );
    let id = first["data"]["bookRoom"]["id"].as_str().unwrap();
    assert_eq!(reservations_of(&app, &room).await, [id]);
    assert_eq!(events_of(&app, &room).await, [("BOOKED".into(), id.into())]);
    // Without a key, the same input is a new booking (refused: the slot is taken).
    assert_refused(
        &app.graphql(BOOK, booking(&room, 0, 30, None)).await,
        "OVERLAP",
    );
    // The retry answers with the reservation as it is now.
    app.cancel(id).await;
    let third = app.graphql(BOOK, booking(&room, 0, 30, Some("k-1"))).await;
    assert_eq!(third["data"]["bookRoom"]["id"], id, "{third}");
    assert_eq!(third["data"]["bookRoom"]["status"], "CANCELLED", "{third}");
    assert_eq!(events_of(&app, &room).await.len(), 2);
    let metrics = crate::metrics::scrape(&app).await;
    assert!(
        metrics.contains("roombook_bookings_total{outcome=\"replayed\"} 2"),
        "retries are counted apart from bookings: {metrics}"
    );
}

#[tokio::test]
async fn a_key_used_for_another_input_or_mutation_is_refused() {
    let app = spawn_app().await;
    let room = app.create_room("Reuse", 4).await;
    let first = app.graphql(BOOK, booking(&room, 0, 30, Some("k"))).await;
    let id = first["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
    let other = app.graphql(BOOK, booking(&room, 60, 90, Some("k"))).await;
    let e = assert_refused(&other, "IDEMPOTENCY_KEY_REUSED");
    assert!(e["message"].as_str().unwrap().contains("\"k\""), "{e}");
    let cancel = app.graphql(CANCEL, json!({"id": id, "k": "k"})).await;
    assert_refused(&cancel, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(reservations_of(&app, &room).await, [id.as_str()]);
    for key in ["", &"k".repeat(201)] {
        let v = app.graphql(BOOK, booking(&room, 120, 150, Some(key))).await;
        assert_refused(&v, "BAD_USER_INPUT");
    }
    let v = app
        .graphql(BOOK, booking(&room, 120, 150, Some(&"é".repeat(200))))
        .await;
    assert!(v["errors"].is_null(), "200 characters is a key: {v}");
}

#[tokio::test]
async fn a_failed_attempt_stores_nothing() {
    let app = spawn_app().await;
    let room = app.create_room("Fails", 4).await;
    let blocker = app.book(&room, &at(0), &at(60)).await;
    let refused = app.graphql(BOOK, booking(&room, 30, 90, Some("try"))).await;
    assert_refused(&refused, "OVERLAP");
    app.cancel(&blocker).await;
    let booked = app.graphql(BOOK, booking(&room, 30, 90, Some("try"))).await;
    assert!(
        booked["errors"].is_null(),
        "the key was not used up: {booked}"
    );
    // ... and a failed attempt with another input does not count as a reuse either.
    let app2 = spawn_app().await;
    let room2 = app2.create_room("Fails", 4).await;
    let v = app2.graphql(BOOK, booking(&room2, 30, 10, Some("x"))).await;
    assert_refused(&v, "INVALID_TIME_RANGE");
    let v = app2.graphql(BOOK, booking(&room2, 30, 60, Some("x"))).await;
    assert!(v["errors"].is_null(), "{v}");
}

#[tokio::test]
async fn cancel_and_reschedule_retries_change_nothing_more() {
    let app = spawn_app().await;
    let room = app.create_room("Moves", 4).await;
    let id = app.book(&room, &at(0), &at(30)).await;
    let moving = json!({"i": {"id": id, "start": at(60), "end": at(90), "idempotencyKey": "m"}});
    let first = app.graphql(RESCHEDULE, moving.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    // Someone else moves it meanwhile; the retry does not move it back.
    app.reschedule(json!({"id": id, "start": at(120), "end": at(150)}))
        .await;
    let retry = app.graphql(RESCHEDULE, moving).await;
    assert_eq!(
        retry["data"]["rescheduleReservation"]["start"],
        at(120),
        "{retry}"
    );
    let cancel = json!({"id": id, "k": "c"});
    let first = app.graphql(CANCEL, cancel.clone()).await;
    let retry = app.graphql(CANCEL, cancel).await;
    assert!(first["errors"].is_null(), "{first}");
    assert_eq!(first, retry, "a retried cancel is not ALREADY_CANCELLED");
    let kinds: Vec<String> = events_of(&app, &room)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, ["BOOKED", "RESCHEDULED", "RESCHEDULED", "CANCELLED"]);
}

#[tokio::test]
async fn a_retried_series_returns_the_first_series_with_what_it_skipped() {
    let app = spawn_app().await;
    let room = app.create_room("Weekly", 4).await;
    app.book(&room, &at(7 * 24 * 60), &at(7 * 24 * 60 + 30))
        .await;
    let input = json!({"i": {"roomId": room, "start": at(0), "end": at(30),
        "recurrence": {"frequency": "WEEKLY", "count": 4}, "onConflict": "SKIP",
        "organizerName": "Ada", "organizerEmail": "ada@example.com", "idempotencyKey": "s"}});
    let first = app.graphql(SERIES, input.clone()).await;
    let retry = app.graphql(SERIES, input.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    assert_eq!(first["data"]["bookSeries"]["skipped"][0]["code"], "OVERLAP");
    assert_eq!(first, retry);
    assert_eq!(events_of(&app, &room).await.len(), 1 + 3);
    let mut changed = input;
    changed["i"]["onConflict"] = json!("FAIL");
    assert_refused(
        &app.graphql(SERIES, changed).await,
        "IDEMPOTENCY_KEY_REUSED",
    );
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_hs256().await;
    let room = crate::identity::room_of(&app, "Mine").await;
    let book = |from: i64| json!({"i": {"roomId": room, "start": at(from), "end": at(from + 30), "idempotencyKey": "same"}});
    let ada = hs256(&member("ada"));
    let bob = hs256(&member("bob"));
    let a = app.graphql_as(Some(&ada), BOOK, book(0)).await;
    let b = app.graphql_as(Some(&bob), BOOK, book(60)).await;
    assert!(a["errors"].is_null() && b["errors"].is_null(), "{a} {b}");
    assert_ne!(a["data"]["bookRoom"]["id"], b["data"]["bookRoom"]["id"]);
    // Bob's retry is his; Ada's key with Bob's input is a reuse of hers.
    assert_eq!(app.graphql_as(Some(&bob), BOOK, book(60)).await, b);
    assert_refused(
        &app.graphql_as(Some(&ada), BOOK, book(60)).await,
        "IDEMPOTENCY_KEY_REUSED",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_make_one_booking_and_give_one_answer() {
    let app = spawn_app().await;
    let room = app.create_room("Burst", 4).await;
    let answers = futures_util::future::join_all(
        (0..32).map(|_| app.graphql(BOOK, booking(&room, 0, 30, Some("burst")))),
    )
    .await;
    assert!(answers[0]["errors"].is_null(), "{}", answers[0]);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(reservations_of(&app, &room).await.len(), 1);
    assert_eq!(events_of(&app, &room).await.len(), 1);
}

#[tokio::test]
async fn a_retry_after_the_answer_was_lost_finds_the_booking() {
    let app = spawn_app().await;
    let room = app.create_room("Lossy", 4).await;
    let body = json!({"query": BOOK, "variables": booking(&room, 0, 30, Some("lost"))}).to_string();
    // The client sends the request and hangs up before reading any answer.
    let mut stream = std::net::TcpStream::connect(app.addr).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    )
    .unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);
    // Whether or not the server got to it, the retry books exactly once.
    let mut retry = Value::Null;
    for _ in 0..20 {
        retry = app.graphql(BOOK, booking(&room, 0, 30, Some("lost"))).await;
        assert!(retry["errors"].is_null(), "{retry}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let ids = reservations_of(&app, &room).await;
    assert_eq!(ids, [retry["data"]["bookRoom"]["id"].as_str().unwrap()]);
    assert_eq!(events_of(&app, &room).await.len(), 1);
}

#[tokio::test]
async fn a_key_answers_for_a_day_and_then_is_new() {
    let app = spawn_app().await;
    let room = app.create_room("Daily", 4).await;
    let soon = chrono::Utc::now() + Duration::minutes(10);
    let input = |key: &str| {
        json!({"i": {"roomId": room, "start": fmt(soon), "end": fmt(soon + Duration::minutes(30)),
                     "organizerName": "Ada", "organizerEmail": "ada@example.com",
                     "idempotencyKey": key}})
    };
    let first = app.graphql(BOOK, input("day")).await;
    let id = first["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
    // Past the slot's start, the retry still gets its reservation (not IN_PAST) ...
    app.db.clock().advance(Duration::hours(1));
    let late = app.graphql(BOOK, input("day")).await;
    assert_eq!(late, first);
    // ... and with another input under the key, it is a reuse, not IN_PAST.
    let v = app.graphql(BOOK, booking(&room, 0, 30, Some("day"))).await;
    assert_refused(&v, "IDEMPOTENCY_KEY_REUSED");
    // A day after the first success the key is new again.
    app.db.clock().advance(Duration::hours(23));
    let v = app.graphql(BOOK, booking(&room, 0, 30, Some("day"))).await;
    assert!(v["errors"].is_null(), "an expired key is new: {v}");
    assert_ne!(v["data"]["bookRoom"]["id"], id.as_str());
    // The cleanup job forgets it (it runs when the clock moves).
    assert_eq!(
        app.db.forget_expired_keys().await.unwrap(),
        0,
        "the new use is kept"
    );
}
