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
