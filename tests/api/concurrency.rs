use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;

/// Asserts no two CONFIRMED reservations of `room` overlap.
async fn assert_no_overlap(app: &TestApp, room: &str) -> usize {
    let body = app
        .graphql(
            "query($r: ID, $f: DateTime, $t: DateTime) { reservations(roomId: $r, from: $f, to: $t) { start end } }",
            json!({"r": room, "f": at(0), "t": at(300 * 24 * 60)}),
        )
        .await;
    let list = body["data"]["reservations"].as_array().unwrap().clone();
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            let overlap =
                a["start"].as_str() < b["end"].as_str() && b["start"].as_str() < a["end"].as_str();
            assert!(!overlap, "{a} overlaps {b}");
        }
    }
    list.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_fifty_concurrent_overlapping_bookings_exactly_one_wins() {
    let app = spawn_app().await;
    let room = app.create_room("Contended", 4).await;
    // 50 slots that all share the instant at(100), each a little different.
    let attempts = (0..50).map(|i| {
        let (app, room) = (&app, &room);
        async move { app.try_book(room, &at(50 + i), &at(101 + i)).await }
    });
    let results: Vec<Value> = join_all(attempts).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|r| r["data"]["bookRoom"].is_object())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one winner");
    let winner = winners[0]["data"]["bookRoom"]["id"].as_str().unwrap();
    for r in results
        .iter()
        .filter(|r| !r["data"]["bookRoom"].is_object())
    {
        let err = assert_refused(r, "OVERLAP");
        assert_eq!(err["extensions"]["conflictingReservationId"], winner);
    }
    assert_eq!(assert_no_overlap(&app, &room).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reschedules_onto_one_slot_leave_no_overlap() {
    let app = spawn_app().await;
    let room = app.create_room("Busy", 4).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            app.book(&room, &at(1000 + i * 60), &at(1030 + i * 60))
                .await,
        );
    }
    let moves = ids.iter().map(|id| {
        let app = &app;
        async move {
            app.reschedule(json!({"id": id, "start": at(100), "end": at(160)}))
                .await
        }
    });
    let results = join_all(moves).await;
    let moved = results
        .iter()
        .filter(|r| r["data"]["rescheduleReservation"].is_object())
        .count();
    assert_eq!(moved, 1, "exactly one reschedule wins");
    for r in results
        .iter()
        .filter(|r| !r["data"]["rescheduleReservation"].is_object())
    {
        assert_refused(r, "OVERLAP");
    }
    assert_eq!(assert_no_overlap(&app, &room).await, 20);
}

/// Buffers hold under concurrency too: 30 bookings of back-to-back hours sent at once into a
/// room with a 10-minute buffer. Neighbours are within the buffer of each other, so no two
/// adjacent hours may both win; every loser is refused with OVERLAP or BUFFER, never INTERNAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_never_leave_two_reservations_within_the_buffer() {
    let app = spawn_app().await;
    let body = app
        .graphql(
            r#"mutation { createRoom(input: {name: "Buffered", capacity: 4, policy: {bufferMinutes: 10}}) { id } }"#,
            json!({}),
        )
        .await;
    let room = body["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempts = (0..30).map(|i| {
        let (app, room) = (&app, &room);
        async move { app.try_book(room, &at(60 * i), &at(60 * i + 60)).await }
    });
    let results: Vec<Value> = join_all(attempts).await;
    for r in results
        .iter()
        .filter(|r| !r["data"]["bookRoom"].is_object())
    {
        let err = assert_refused(r, "POLICY_VIOLATION");
        assert_eq!(err["extensions"]["policy"], "BUFFER");
    }
    let listed = app
        .graphql(
            "query($r: ID, $f: DateTime, $t: DateTime) { reservations(roomId: $r, from: $f, to: $t) { start end } }",
            json!({"r": room, "f": at(0), "t": at(60 * 31)}),
        )
        .await;
    let list = listed["data"]["reservations"].as_array().unwrap();
    assert!(!list.is_empty());
    let buffer = chrono::Duration::minutes(10);
    let parse = |v: &Value| -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .into()
    };
    for pair in list.windows(2) {
        assert!(
            parse(&pair[1]["start"]) >= parse(&pair[0]["end"]) + buffer,
            "{} and {} are closer than the buffer",
            pair[0],
            pair[1]
        );
    }
}

/// Archiving with cancelFutureReservations while bookings pour into the room: each booking
/// either lands before the archive (and is cancelled by it) or is refused with ROOM_ARCHIVED;
/// no CONFIRMED reservation is left ahead in the archived room.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archiving_while_bookings_arrive_leaves_nothing_confirmed_ahead() {
    let app = spawn_app().await;
    let room = app.create_room("Closing", 4).await;
    app.book(&room, &at(0), &at(30)).await;
    let bookings = join_all((1..40).map(|i| {
        let (app, room) = (&app, &room);
        async move { app.try_book(room, &at(60 * i), &at(60 * i + 30)).await }
    }));
    let archive = app.graphql(
        "mutation($id: ID!) { archiveRoom(id: $id, cancelFutureReservations: true) { archived } }",
        json!({"id": room}),
    );
    let (results, archived) = futures_util::future::join(bookings, archive).await;
    assert_eq!(
        archived["data"]["archiveRoom"]["archived"], true,
        "{archived}"
    );
    for r in results.iter().filter(|r| r.get("errors").is_some()) {
        assert_refused(r, "ROOM_ARCHIVED");
    }
    let left = app
        .graphql(
            "query($r: ID, $f: DateTime, $t: DateTime) { reservations(roomId: $r, from: $f, to: $t) { id } }",
            json!({"r": room, "f": at(0), "t": at(60 * 41)}),
        )
        .await;
    assert_eq!(left["data"]["reservations"], json!([]), "{left}");
}

/// Series sent at once, each colliding with the others in one occurrence or more: every one
/// either books all its occurrences or (FAIL) changes nothing, and no two CONFIRMED
/// reservations of the room overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn colliding_series_sent_at_once_are_all_or_nothing() {
    let app = spawn_app().await;
    let room = app.create_room("Series race", 4).await;
    // 12 daily series of 10, starting a quarter hour apart: series i and j collide on every
    // day when |i - j| < 4 (each lasts an hour).
    let attempts = (0..12).map(|i| {
        let (app, room) = (&app, &room);
        async move {
            let body = crate::series::try_series(
                app,
                json!({"roomId": room, "start": at(15 * i), "end": at(15 * i + 60),
                       "recurrence": {"frequency": "DAILY", "count": 10}}),
            )
            .await;
            (i, body)
        }
    });
    let results = join_all(attempts).await;
    let mut won = Vec::new();
    for (i, body) in &results {
        if body["data"]["bookSeries"].is_object() {
            assert_eq!(
                body["data"]["bookSeries"]["occurrences"]
                    .as_array()
                    .unwrap()
                    .len(),
                10
            );
            won.push(*i);
        } else {
            let e = assert_refused(body, "SERIES_CONFLICT");
            let listed = e["extensions"]["conflicts"].as_array().unwrap();
            assert!(listed.iter().all(|c| c["code"] == "OVERLAP"), "{body}");
        }
    }
    assert!(!won.is_empty());
    assert_eq!(assert_no_overlap(&app, &room).await, 10 * won.len());
}

/// A stream of single bookings racing a series over the same days: afterwards the series is
/// either whole or absent, every booking that won is in place, and nothing overlaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_bookings_racing_a_series_never_overlap_it() {
    let app = spawn_app().await;
    let room = app.create_room("Series vs singles", 4).await;
    let day = 24 * 60;
    let singles = join_all((0..30).map(|i| {
        let (app, room) = (&app, &room);
        // Every third one lands on an occurrence of the series (day i/3 at 10:00 after base).
        let start = if i % 3 == 0 {
            (i / 3) * day + 600
        } else {
            (i / 3) * day + 300 + i * 5
        };
        async move { app.try_book(room, &at(start), &at(start + 30)).await }
    }));
    let series = crate::series::try_series(
        &app,
        json!({"roomId": room, "start": at(600), "end": at(660),
               "recurrence": {"frequency": "DAILY", "count": 10}}),
    );
    let (singles, series) = futures_util::future::join(singles, series).await;
    let singles_won = singles
        .iter()
        .filter(|b| b["data"]["bookRoom"].is_object())
        .count();
    for b in singles
        .iter()
        .filter(|b| !b["data"]["bookRoom"].is_object())
    {
        assert_refused(b, "OVERLAP");
    }
    let series_won = if series["data"]["bookSeries"].is_object() {
        10
    } else {
        assert_refused(&series, "SERIES_CONFLICT");
        0
    };
    assert_eq!(
        assert_no_overlap(&app, &room).await,
        singles_won + series_won
    );
}
