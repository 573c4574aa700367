use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_booking_is_confirmed_and_returned_in_utc() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let start = (base() + chrono::Duration::hours(1))
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
    let body = app.try_book(&room, &start.to_rfc3339(), &at(120)).await;
    let r = &body["data"]["bookRoom"];
    assert_eq!(r["status"], "CONFIRMED", "{body}");
    assert_eq!(r["start"], at(60));
    assert_eq!(r["end"], at(120));
    assert_eq!(r["title"], "Sync");
    assert_eq!(r["organizerName"], "Ada Lovelace");
    assert_eq!(r["organizerEmail"], "ada@example.com");
    assert_eq!(r["room"]["id"], room.as_str());
    assert_eq!(r["room"]["name"], "Blue");
}

#[tokio::test]
async fn a_time_without_an_offset_is_refused_saying_an_offset_is_required() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let local = at(60).trim_end_matches('Z').to_owned();
    let body = app.try_book(&room, &local, &at(120)).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("offset is required"), "{message}");
    // Inline literals are checked the same way.
    let body = app
        .graphql(
            &format!(
                r#"{{ availableRooms(start: "{local}", end: "{}") {{ id }} }}"#,
                at(120)
            ),
            json!({}),
        )
        .await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("offset is required"),
        "{body}"
    );
}

#[tokio::test]
async fn start_must_be_before_end() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    assert_refused(
        &app.try_book(&room, &at(120), &at(60)).await,
        "INVALID_TIME_RANGE",
    );
    assert_refused(
        &app.try_book(&room, &at(60), &at(60)).await,
        "INVALID_TIME_RANGE",
    );
}

#[tokio::test]
async fn nobody_books_in_the_past() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let past = fmt(chrono::Utc::now() - chrono::Duration::minutes(5));
    let body = app.try_book(&room, &past, &at(60)).await;
    assert_refused(&body, "IN_PAST");
}

async fn overlap_case(app: &TestApp, room: &str, existing: &str, start: i64, end: i64) {
    let body = app.try_book(room, &at(start), &at(end)).await;
    let err = assert_refused(&body, "OVERLAP");
    assert_eq!(
        err["extensions"]["conflictingReservationId"], existing,
        "[{start}, {end}) names the reservation in the way"
    );
}

#[tokio::test]
async fn overlapping_slots_are_refused_naming_the_reservation_in_the_way() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    // Existing: [60, 120)
    let existing = app.book(&room, &at(60), &at(120)).await;
    overlap_case(&app, &room, &existing, 60, 120).await; // the same slot
    overlap_case(&app, &room, &existing, 30, 61).await; // overlaps its start
    overlap_case(&app, &room, &existing, 119, 150).await; // overlaps its end
    overlap_case(&app, &room, &existing, 70, 80).await; // inside it
    overlap_case(&app, &room, &existing, 0, 200).await; // around it
}

#[tokio::test]
async fn back_to_back_bookings_are_fine() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    app.book(&room, &at(60), &at(120)).await;
    app.book(&room, &at(120), &at(180)).await; // starts as the first ends
    app.book(&room, &at(0), &at(60)).await; // ends as the first starts
}

#[tokio::test]
async fn the_same_slot_in_another_room_is_fine() {
    let app = spawn_app().await;
    let a = app.create_room("A", 6).await;
    let b = app.create_room("B", 6).await;
    app.book(&a, &at(60), &at(120)).await;
    app.book(&b, &at(60), &at(120)).await;
}

#[tokio::test]
async fn overlap_is_judged_on_instants_whatever_the_offset() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let existing = app.book(&room, &at(60), &at(120)).await;
    // at(90) written in +02:00 is the same instant.
    let plus2 = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    let start = (base() + chrono::Duration::minutes(90))
        .with_timezone(&plus2)
        .to_rfc3339();
    let end = (base() + chrono::Duration::minutes(150))
        .with_timezone(&plus2)
        .to_rfc3339();
    assert!(start.ends_with("+02:00"));
    let body = app.try_book(&room, &start, &end).await;
    assert_eq!(
        assert_refused(&body, "OVERLAP")["extensions"]["conflictingReservationId"],
        existing.as_str()
    );
    let minus5 = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
    let start = (base() + chrono::Duration::minutes(120))
        .with_timezone(&minus5)
        .to_rfc3339();
    let end = (base() + chrono::Duration::minutes(180))
        .with_timezone(&minus5)
        .to_rfc3339();
    let body = app.try_book(&room, &start, &end).await;
    assert_eq!(body["data"]["bookRoom"]["start"], at(120), "{body}");
}

#[tokio::test]
async fn cancelled_reservations_never_block() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let first = app.book(&room, &at(60), &at(120)).await;
    assert_eq!(
        app.cancel(&first).await["data"]["cancelReservation"]["status"],
        "CANCELLED"
    );
    let again = app.book(&room, &at(60), &at(120)).await;
    assert_ne!(first, again);
    // A new overlap names the confirmed one, not the cancelled one.
    let body = app.try_book(&room, &at(90), &at(100)).await;
    assert_eq!(
        assert_refused(&body, "OVERLAP")["extensions"]["conflictingReservationId"],
        again.as_str()
    );
}

#[tokio::test]
async fn booking_an_unknown_room_is_not_found_and_a_non_uuid_is_bad_input() {
    let app = spawn_app().await;
    let body = app
        .try_book(&uuid::Uuid::new_v4().to_string(), &at(60), &at(120))
        .await;
    assert_refused(&body, "NOT_FOUND");
    let body = app.try_book("blue-room", &at(60), &at(120)).await;
    assert_refused(&body, "BAD_USER_INPUT");
}

async fn book_with(app: &TestApp, room: &str, title: Value, name: &str, email: &str) -> Value {
    app.graphql(
        "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id title organizerName organizerEmail } }",
        json!({"i": {"roomId": room, "start": at(60), "end": at(120), "title": title,
                     "organizerName": name, "organizerEmail": email}}),
    )
    .await
}

#[tokio::test]
async fn booking_fields_outside_their_limits_are_bad_user_input() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let long_title = json!("t".repeat(201));
    for (title, name, email) in [
        (long_title, "Ada", "ada@example.com"),
        (json!(null), "   ", "ada@example.com"),
        (json!(null), &*"n".repeat(101), "ada@example.com"),
        (json!(null), "Ada", "not-an-email"),
        (json!(null), "Ada", "ada@localhost"),
        (
            json!(null),
            "Ada",
            &*format!("{}@example.com", "a".repeat(250)),
        ),
    ] {
        let body = book_with(&app, &room, title, name, email).await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    // Nothing was written by the refusals.
    let list = app
        .graphql(
            "query($r: ID) { reservations(roomId: $r) { id } }",
            json!({"r": room}),
        )
        .await;
    assert_eq!(list["data"]["reservations"], json!([]));
    // At the limits, and trimmed; the title may be omitted.
    let body = book_with(
        &app,
        &room,
        json!("t".repeat(200)),
        " Ada ",
        " ada@example.com ",
    )
    .await;
    assert_eq!(body["data"]["bookRoom"]["organizerName"], "Ada", "{body}");
    assert_eq!(
        body["data"]["bookRoom"]["organizerEmail"],
        "ada@example.com"
    );
}

#[tokio::test]
async fn the_title_is_optional() {
    let app = spawn_app().await;
    let room = app.create_room("Blue", 6).await;
    let body = app
        .graphql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { title } }",
            json!({"i": {"roomId": room, "start": at(60), "end": at(120),
                         "organizerName": "Ada", "organizerEmail": "ada@example.com"}}),
        )
        .await;
    assert_eq!(body["data"]["bookRoom"]["title"], Value::Null, "{body}");
}
