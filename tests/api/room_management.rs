//! Running rooms: updateRoom, archiveRoom, restoreRoom, the rooms filters, free slots, busy
//! times and local-time rendering.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::room_policies::{room_with, try_create};
use crate::ws_client::*;

async fn update(app: &TestApp, input: Value) -> Value {
    app.graphql(
        "mutation($i: UpdateRoomInput!) { updateRoom(input: $i) { id name capacity timeZone building floor features description policy { bufferMinutes maxDurationMinutes } } }",
        json!({"i": input}),
    )
    .await
}

async fn archive(app: &TestApp, id: &str, cancel: Option<bool>) -> Value {
    let vars = match cancel {
        Some(c) => json!({"id": id, "c": c}),
        None => json!({"id": id}),
    };
    app.graphql(
        "mutation($id: ID!, $c: Boolean) { archiveRoom(id: $id, cancelFutureReservations: $c) { id name archived } }",
        vars,
    )
    .await
}

async fn restore(app: &TestApp, id: &str) -> Value {
    app.graphql(
        "mutation($id: ID!) { restoreRoom(id: $id) { id name archived } }",
        json!({"id": id}),
    )
    .await
}

async fn room_names(app: &TestApp, args: &str) -> Vec<String> {
    let body = app
        .graphql(&format!("{{ rooms{args} {{ name }} }}"), json!({}))
        .await;
    body["data"]["rooms"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn update_room_changes_what_is_given_and_keeps_the_rest() {
    let app = spawn_app().await;
    let id = room_with(
        &app,
        "Ada",
        json!({"bufferMinutes": 5}),
        json!({"building": "HQ", "floor": "2", "features": ["display"], "description": "old"}),
    )
    .await;
    let body = update(
        &app,
        json!({"id": id, "capacity": 12, "floor": null, "features": ["Whiteboard", "video-conf"], "timeZone": "Asia/Tokyo"}),
    )
    .await;
    let room = &body["data"]["updateRoom"];
    assert_eq!(room["name"], "Ada", "{body}");
    assert_eq!(room["capacity"], 12);
    assert_eq!(room["building"], "HQ");
    assert_eq!(room["floor"], Value::Null);
    assert_eq!(room["features"], json!(["video-conf", "whiteboard"]));
    assert_eq!(room["description"], "old");
    assert_eq!(room["timeZone"], "Asia/Tokyo");
    assert_eq!(room["policy"]["bufferMinutes"], 5);
    // A given policy replaces the whole policy.
    let body = update(
        &app,
        json!({"id": id, "policy": {"maxDurationMinutes": 60}}),
    )
    .await;
    assert_eq!(
        body["data"]["updateRoom"]["policy"],
        json!({"bufferMinutes": 0, "maxDurationMinutes": 60})
    );
    // The features filter follows the change.
    assert_eq!(
        room_names(&app, r#"(features: ["whiteboard"])"#).await,
        ["Ada"]
    );
    assert!(room_names(&app, r#"(features: ["display"])"#)
        .await
        .is_empty());
    for bad in [
        json!({"id": id, "timeZone": "Nowhere/City"}),
        json!({"id": id, "capacity": 0}),
        json!({"id": id, "name": " "}),
        json!({"id": id, "features": ["a b"]}),
    ] {
        assert_refused(&update(&app, bad).await, "BAD_USER_INPUT");
    }
    let unknown = update(
        &app,
        json!({"id": "00000000-0000-4000-8000-000000000000", "capacity": 3}),
    )
    .await;
    assert_refused(&unknown, "NOT_FOUND");
}

#[tokio::test]
async fn renaming_keeps_names_unique_ignoring_case() {
    let app = spawn_app().await;
    let a = app.create_room("Alpha", 4).await;
    app.create_room("Beta", 4).await;
    let body = update(&app, json!({"id": a, "name": "BETA "})).await;
    assert_refused(&body, "ALREADY_EXISTS");
    // Its own name in another case is fine.
    let body = update(&app, json!({"id": a, "name": "ALPHA"})).await;
    assert_eq!(body["data"]["updateRoom"]["name"], "ALPHA", "{body}");
    let body = update(&app, json!({"id": a, "name": "Gamma"})).await;
    assert_eq!(body["data"]["updateRoom"]["name"], "Gamma");
    // The old name is free again.
    app.create_room("alpha", 2).await;
}

#[tokio::test]
async fn archiving_an_unused_room_hides_it_and_refuses_bookings() {
    let app = spawn_app().await;
    let id = app.create_room("Old", 4).await;
    let body = archive(&app, &id, None).await;
    assert_eq!(body["data"]["archiveRoom"]["archived"], true, "{body}");
    assert!(room_names(&app, "").await.is_empty());
    assert_eq!(room_names(&app, "(includeArchived: true)").await, ["Old"]);
    let one = app
        .graphql(
            "query($id: ID!) { room(id: $id) { archived } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(one["data"]["room"]["archived"], true);
    let avail = app
        .graphql(
            "query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e) { id } }",
            json!({"s": at(0), "e": at(60)}),
        )
        .await;
    assert_eq!(avail["data"]["availableRooms"], json!([]));
    assert_refused(&app.try_book(&id, &at(0), &at(60)).await, "ROOM_ARCHIVED");
    // Nor can a reservation move into it.
    let elsewhere = app.create_room("New", 4).await;
    let moving = app.book(&elsewhere, &at(0), &at(60)).await;
    assert_refused(
        &app.reschedule(json!({"id": moving, "roomId": id})).await,
        "ROOM_ARCHIVED",
    );
    // Again: unchanged.
    let again = archive(&app, &id, Some(true)).await;
    assert_eq!(again["data"]["archiveRoom"], body["data"]["archiveRoom"]);
    assert_refused(
        &archive(&app, "00000000-0000-4000-8000-000000000000", None).await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn archiving_a_room_in_use_is_refused_naming_the_reservations() {
    let app = spawn_app().await;
    let id = app.create_room("Busy", 4).await;
    let first = app.book(&id, &at(0), &at(60)).await;
    let second = app.book(&id, &at(60), &at(120)).await;
    let cancelled = app.book(&id, &at(200), &at(260)).await;
    app.cancel(&cancelled).await;
    let body = archive(&app, &id, Some(false)).await;
    let err = assert_refused(&body, "ROOM_IN_USE");
    let mut ids: Vec<&str> = err["extensions"]["reservationIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    // Nothing changed.
    assert_eq!(room_names(&app, "").await, ["Busy"]);
    let r = app
        .graphql(
            "query($id: ID!) { reservation(id: $id) { status } }",
            json!({"id": first}),
        )
        .await;
    assert_eq!(r["data"]["reservation"]["status"], "CONFIRMED");
}

#[tokio::test]
async fn archiving_with_cancel_future_reservations_cancels_them_with_events() {
    let app = spawn_app().await;
    let id = app.create_room("Closing", 4).await;
    let other = app.create_room("Staying", 4).await;
    let a = app.book(&id, &at(0), &at(60)).await;
    let b = app.book(&id, &at(120), &at(180)).await;
    let kept = app.book(&other, &at(0), &at(60)).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    let body = archive(&app, &id, Some(true)).await;
    assert_eq!(body["data"]["archiveRoom"]["archived"], true, "{body}");
    for expected in [&a, &b] {
        let e = ws.event("1").await;
        assert_eq!(e["kind"], "CANCELLED");
        assert_eq!(e["reservation"]["id"], expected.as_str());
        assert_eq!(e["reservation"]["status"], "CANCELLED");
    }
    assert!(ws
        .try_recv(std::time::Duration::from_millis(200))
        .await
        .is_none());
    let r = app
        .graphql(
            "query($id: ID!) { reservation(id: $id) { status } }",
            json!({"id": kept}),
        )
        .await;
    assert_eq!(r["data"]["reservation"]["status"], "CONFIRMED");
}

#[tokio::test]
async fn restoring_a_room_whose_name_was_taken_is_refused() {
    let app = spawn_app().await;
    let old = app.create_room("Lab", 4).await;
    archive(&app, &old, None).await;
    // The archived room's name is free for another room.
    let new = app.create_room("LAB", 6).await;
    assert_refused(&restore(&app, &old).await, "ALREADY_EXISTS");
    // Once the other gives it up, it comes back, bookable.
    update(&app, json!({"id": new, "name": "Lab 2"})).await;
    let body = restore(&app, &old).await;
    assert_eq!(body["data"]["restoreRoom"]["archived"], false, "{body}");
    app.book(&old, &at(0), &at(60)).await;
    // Restoring an active room returns it unchanged.
    assert_eq!(restore(&app, &old).await, body);
    assert_eq!(room_names(&app, "").await, ["Lab", "Lab 2"]);
}

#[tokio::test]
async fn rooms_filter_by_building_features_and_capacity_together() {
    let app = spawn_app().await;
    for (name, cap, building, features) in [
        ("A", 4, "HQ", vec!["display", "whiteboard"]),
        ("B", 8, "hq", vec!["display"]),
        ("C", 12, "Annex", vec!["display", "whiteboard"]),
        ("D", 2, "HQ", vec![]),
    ] {
        let body = try_create(
            &app,
            json!({"name": name, "capacity": cap, "building": building, "features": features}),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(
        room_names(&app, r#"(building: "hq")"#).await,
        ["A", "B", "D"]
    );
    assert_eq!(
        room_names(&app, r#"(building: "H")"#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        room_names(&app, r#"(features: [" Display", "whiteboard"])"#).await,
        ["A", "C"]
    );
    assert_eq!(
        room_names(
            &app,
            r#"(building: "HQ", features: ["display"], minCapacity: 5)"#
        )
        .await,
        ["B"]
    );
    assert_eq!(
        room_names(&app, r#"(features: ["projector"])"#).await,
        Vec::<String>::new()
    );
    let body = app
        .graphql(r#"{ rooms(features: ["no way"]) { name } }"#, json!({}))
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
    let body = app
        .graphql(
            r#"query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e, building: "HQ", features: ["display"]) { name } }"#,
            json!({"s": at(0), "e": at(60)}),
        )
        .await;
    assert_eq!(
        body["data"]["availableRooms"],
        json!([{"name": "A"}, {"name": "B"}])
    );
}

#[tokio::test]
async fn free_slots_are_the_bookable_gaps_and_busy_shows_only_times() {
    let app = spawn_app().await;
    let room = room_with(&app, "Gaps", json!({"bufferMinutes": 15}), json!({})).await;
    let held = app.book(&room, &at(60), &at(120)).await;
    let cancelled = app.book(&room, &at(180), &at(200)).await;
    app.cancel(&cancelled).await;
    let q = "query($r: ID!, $f: DateTime, $t: DateTime, $m: Int) { room(id: $r) { freeSlots(from: $f, to: $t, minDurationMinutes: $m) { start end } busy(from: $f, to: $t) { start end } } }";
    let body = app
        .graphql(q, json!({"r": room, "f": at(0), "t": at(240)}))
        .await;
    let r = &body["data"]["room"];
    assert_eq!(
        r["freeSlots"],
        json!([{"start": at(0), "end": at(45)}, {"start": at(135), "end": at(240)}]),
        "{body}"
    );
    assert_eq!(r["busy"], json!([{"start": at(60), "end": at(120)}]));
    // Booking inside each free slot succeeds, at its edges.
    app.book(&room, &at(0), &at(45)).await;
    app.book(&room, &at(135), &at(240)).await;
    // minDurationMinutes drops shorter slots and is 1-1440.
    app.cancel(&held).await;
    let body = app
        .graphql(q, json!({"r": room, "f": at(0), "t": at(240), "m": 60}))
        .await;
    assert_eq!(
        body["data"]["room"]["freeSlots"],
        json!([{"start": at(60), "end": at(120)}])
    );
    for m in [0, 1441] {
        let body = app
            .graphql(q, json!({"r": room, "f": at(0), "t": at(240), "m": m}))
            .await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn free_slots_follow_opening_hours_now_and_the_horizon() {
    let app = spawn_app().await;
    let room = room_with(
        &app,
        "Office",
        json!({"openingHours": [
            {"weekday": "MONDAY", "opens": "09:00", "closes": "12:00"},
            {"weekday": "MONDAY", "opens": "13:00", "closes": "17:00"}]}),
        json!({"timeZone": "America/New_York"}),
    )
    .await;
    let q = "query($r: ID!, $f: DateTime, $t: DateTime) { room(id: $r) { freeSlots(from: $f, to: $t) { start end } } }";
    // Monday 2031-01-06 in New York (UTC-5), and 2031-07-07 (UTC-4).
    let body = app
        .graphql(
            q,
            json!({"r": room, "f": "2031-01-06T00:00:00Z", "t": "2031-01-07T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        body["data"]["room"]["freeSlots"],
        json!([
            {"start": "2031-01-06T14:00:00Z", "end": "2031-01-06T17:00:00Z"},
            {"start": "2031-01-06T18:00:00Z", "end": "2031-01-06T22:00:00Z"}
        ]),
        "{body}"
    );
    let body = app
        .graphql(
            q,
            json!({"r": room, "f": "2031-07-07T15:00:00Z", "t": "2031-07-08T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        body["data"]["room"]["freeSlots"],
        json!([
            {"start": "2031-07-07T15:00:00Z", "end": "2031-07-07T16:00:00Z"},
            {"start": "2031-07-07T17:00:00Z", "end": "2031-07-07T21:00:00Z"}
        ])
    );
    // Not in the past, and cut at the horizon.
    let near = room_with(&app, "Near", json!({"bookingHorizonDays": 3}), json!({})).await;
    let body = app
        .graphql(
            "query($r: ID!) { room(id: $r) { freeSlots(from: \"2020-01-01T00:00:00Z\", to: \"2020-01-10T00:00:00Z\") { start } } }",
            json!({"r": near}),
        )
        .await;
    assert_eq!(body["data"]["room"]["freeSlots"], json!([]));
    let body = app
        .graphql(
            "query($r: ID!) { room(id: $r) { freeSlots { start end } } }",
            json!({"r": near}),
        )
        .await;
    let slots = body["data"]["room"]["freeSlots"].as_array().unwrap();
    assert_eq!(slots.len(), 1, "{body}");
    let start = parse(slots[0]["start"].as_str().unwrap());
    let end = parse(slots[0]["end"].as_str().unwrap());
    let now = chrono::Utc::now();
    assert!(start <= now && now - start < chrono::Duration::seconds(30));
    assert!(
        (end - start - chrono::Duration::days(3))
            .num_seconds()
            .abs()
            < 1
    );
    // An archived room has none.
    archive_quietly(&app, &near).await;
    let body = app
        .graphql(
            "query($r: ID!) { room(id: $r) { freeSlots { start } } }",
            json!({"r": near}),
        )
        .await;
    assert_eq!(body["data"]["room"]["freeSlots"], json!([]));
}

fn parse(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().into()
}

async fn archive_quietly(app: &TestApp, id: &str) {
    let body = archive(app, id, Some(true)).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn start_and_end_render_in_a_time_zone_in_winter_and_summer() {
    let app = spawn_app().await;
    let room = app.create_room("Zones", 4).await;
    let winter = app
        .book(&room, "2031-01-20T09:00:00Z", "2031-01-20T10:30:00Z")
        .await;
    let summer = app
        .book(&room, "2031-07-20T08:00:00Z", "2031-07-20T09:00:00Z")
        .await;
    let q = r#"query($id: ID!, $z: String) { reservation(id: $id) { utc: start start(timeZone: $z) end(timeZone: $z) } }"#;
    let body = app
        .graphql(q, json!({"id": winter, "z": "Europe/Berlin"}))
        .await;
    assert_eq!(
        body["data"]["reservation"],
        json!({"utc": "2031-01-20T09:00:00Z", "start": "2031-01-20T10:00:00+01:00", "end": "2031-01-20T11:30:00+01:00"})
    );
    let body = app
        .graphql(q, json!({"id": summer, "z": "Europe/Berlin"}))
        .await;
    assert_eq!(
        body["data"]["reservation"]["start"],
        "2031-07-20T10:00:00+02:00"
    );
    let body = app
        .graphql(q, json!({"id": summer, "z": "America/New_York"}))
        .await;
    assert_eq!(
        body["data"]["reservation"]["start"],
        "2031-07-20T04:00:00-04:00"
    );
    let body = app.graphql(q, json!({"id": summer, "z": "Berlin"})).await;
    assert_refused(&body, "BAD_USER_INPUT");
}

/// Every change of a room reaches the very next booking: archiving, restoring and new rules,
/// each right after bookings that read the old ones (SQLite keeps rooms' rules once read).
#[tokio::test]
async fn each_change_of_a_room_applies_to_the_next_booking() {
    let app = spawn_app().await;
    let id = app.create_room("Changes", 4).await;
    let first = app.book(&id, &at(0), &at(60)).await;
    let body = archive(&app, &id, Some(true)).await;
    assert_eq!(body["data"]["archiveRoom"]["archived"], true, "{body}");
    assert_refused(
        &app.try_book(&id, &at(120), &at(180)).await,
        "ROOM_ARCHIVED",
    );
    let body = restore(&app, &id).await;
    assert_eq!(body["data"]["restoreRoom"]["archived"], false, "{body}");
    let second = app.book(&id, &at(120), &at(180)).await;
    assert_ne!(first, second);
    let body = update(
        &app,
        json!({"id": id, "policy": {"minDurationMinutes": 90}}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = app.try_book(&id, &at(240), &at(300)).await;
    assert_refused(&body, "POLICY_VIOLATION");
    app.book(&id, &at(240), &at(330)).await;
}
