use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn cancelling_frees_the_slot_and_twice_is_refused() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let body = app.cancel(&id).await;
    assert_eq!(body["data"]["cancelReservation"]["status"], "CANCELLED");
    assert_refused(&app.cancel(&id).await, "ALREADY_CANCELLED");
    app.book(&room, &at(60), &at(120)).await;
}

#[tokio::test]
async fn cancelling_an_unknown_or_malformed_id_is_refused() {
    let app = spawn_app().await;
    assert_refused(
        &app.cancel(&uuid::Uuid::new_v4().to_string()).await,
        "NOT_FOUND",
    );
    assert_refused(&app.cancel("abc").await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_ended_reservation_cannot_be_cancelled_or_moved() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let start = Utc::now() + Duration::milliseconds(400);
    let id = app
        .book(
            &room,
            &fmt(start),
            &fmt(start + Duration::milliseconds(300)),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert_refused(&app.cancel(&id).await, "IN_PAST");
    let body = app
        .reschedule(json!({"id": id, "start": at(60), "end": at(120)}))
        .await;
    assert_refused(&body, "IN_PAST");
}

#[tokio::test]
async fn rescheduling_moves_the_slot_and_frees_the_old_one() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let body = app
        .reschedule(json!({"id": id, "start": at(180), "end": at(240)}))
        .await;
    let r = &body["data"]["rescheduleReservation"];
    assert_eq!(
        (r["start"].as_str(), r["end"].as_str()),
        (Some(&*at(180)), Some(&*at(240))),
        "{body}"
    );
    assert_eq!(r["status"], "CONFIRMED");
    app.book(&room, &at(60), &at(120)).await;
}

#[tokio::test]
async fn omitted_fields_keep_their_value() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let body = app.reschedule(json!({"id": id, "end": at(150)})).await;
    let r = &body["data"]["rescheduleReservation"];
    assert_eq!(r["start"], at(60), "{body}");
    assert_eq!(r["end"], at(150));
    assert_eq!(r["room"]["id"], room.as_str());
    let body = app.reschedule(json!({"id": id, "start": at(30)})).await;
    let r = &body["data"]["rescheduleReservation"];
    assert_eq!(
        (r["start"].clone(), r["end"].clone()),
        (json!(at(30)), json!(at(150)))
    );
}

#[tokio::test]
async fn a_reschedule_must_change_something() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    assert_refused(&app.reschedule(json!({"id": id})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_reservation_never_blocks_its_own_new_slot() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    // Onto itself, and onto a slot overlapping where it was.
    let same = app
        .reschedule(json!({"id": id, "start": at(60), "end": at(120)}))
        .await;
    assert_eq!(
        same["data"]["rescheduleReservation"]["start"],
        at(60),
        "{same}"
    );
    let shifted = app
        .reschedule(json!({"id": id, "start": at(90), "end": at(150)}))
        .await;
    assert_eq!(
        shifted["data"]["rescheduleReservation"]["start"],
        at(90),
        "{shifted}"
    );
}

#[tokio::test]
async fn rescheduling_onto_another_reservation_is_an_overlap() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let other = app.book(&room, &at(120), &at(180)).await;
    let body = app.reschedule(json!({"id": id, "end": at(121)})).await;
    let err = assert_refused(&body, "OVERLAP");
    assert_eq!(
        err["extensions"]["conflictingReservationId"],
        other.as_str()
    );
    // The refused move changed nothing.
    let q = "query($id: ID!) { reservation(id: $id) { start end } }";
    let body = app.graphql(q, json!({"id": id})).await;
    assert_eq!(
        body["data"]["reservation"],
        json!({"start": at(60), "end": at(120)})
    );
}

#[tokio::test]
async fn rescheduling_into_another_room() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let id = app.book(&a, &at(60), &at(120)).await;
    let in_b = app.book(&b, &at(200), &at(260)).await;
    let body = app.reschedule(json!({"id": id, "roomId": b})).await;
    assert_eq!(
        body["data"]["rescheduleReservation"]["room"]["id"],
        b.as_str(),
        "{body}"
    );
    app.book(&a, &at(60), &at(120)).await; // the old room is free again
    let body = app
        .reschedule(json!({"id": id, "start": at(230), "end": at(290)}))
        .await;
    assert_eq!(
        assert_refused(&body, "OVERLAP")["extensions"]["conflictingReservationId"],
        in_b.as_str()
    );
    let body = app
        .reschedule(json!({"id": id, "roomId": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_refused(&body, "NOT_FOUND");
    assert_refused(
        &app.reschedule(json!({"id": id, "roomId": "B"})).await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn a_reschedule_obeys_every_booking_rule() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    assert_refused(
        &app.reschedule(json!({"id": id, "start": at(120)})).await,
        "INVALID_TIME_RANGE",
    );
    assert_refused(
        &app.reschedule(json!({"id": id, "end": at(10)})).await,
        "INVALID_TIME_RANGE",
    );
    let past = fmt(Utc::now() - Duration::minutes(1));
    assert_refused(
        &app.reschedule(json!({"id": id, "start": past})).await,
        "IN_PAST",
    );
    let local = at(30).trim_end_matches('Z').to_owned();
    let body = app.reschedule(json!({"id": id, "start": local})).await;
    assert!(assert_refused(&body, "BAD_USER_INPUT")["message"]
        .as_str()
        .unwrap()
        .contains("offset"));
}

#[tokio::test]
async fn rescheduling_a_cancelled_or_unknown_reservation_is_refused() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    app.cancel(&id).await;
    assert_refused(
        &app.reschedule(json!({"id": id, "start": at(0)})).await,
        "ALREADY_CANCELLED",
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_refused(
        &app.reschedule(json!({"id": unknown, "start": at(0)})).await,
        "NOT_FOUND",
    );
    assert_refused(
        &app.reschedule(json!({"id": "x", "start": at(0)})).await,
        "BAD_USER_INPUT",
    );
}
