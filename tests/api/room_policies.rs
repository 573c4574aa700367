//! Booking rules 5 and 6: archived rooms, and each room's policy (durations, horizon, opening
//! hours in its local time, buffers), in API.md's order, through bookRoom, rescheduling and
//! availableRooms.

use serde_json::{json, Value};

use crate::helpers::*;

const ROOM_FIELDS: &str = "id name capacity timeZone building floor features description archived \
    policy { minDurationMinutes maxDurationMinutes bufferMinutes bookingHorizonDays \
    openingHours { weekday opens closes } checkInRequired checkInOpensMinutes autoReleaseMinutes }";

/// Creates a room from a whole `CreateRoomInput`; returns the response body.
pub async fn try_create(app: &TestApp, input: Value) -> Value {
    app.graphql(
        &format!("mutation($i: CreateRoomInput!) {{ createRoom(input: $i) {{ {ROOM_FIELDS} }} }}"),
        json!({"i": input}),
    )
    .await
}

/// Creates a room with `policy` (and `extra` input fields); returns its id.
pub async fn room_with(app: &TestApp, name: &str, policy: Value, extra: Value) -> String {
    let mut input = json!({"name": name, "capacity": 8, "policy": policy});
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        i.extend(e.clone());
    }
    let body = try_create(app, input).await;
    body["data"]["createRoom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createRoom failed: {body}"))
        .to_owned()
}

fn weekdays(opens: &str, closes: &str) -> Vec<Value> {
    ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
        .iter()
        .map(|d| json!({"weekday": d, "opens": opens, "closes": closes}))
        .collect()
}

fn policy_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["policy"]
        .as_str()
        .unwrap_or("")
}

fn booked(body: &Value) -> &str {
    body["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("bookRoom refused: {body}"))
}

#[tokio::test]
async fn a_room_keeps_every_v2_field_normalised() {
    let app = spawn_app().await;
    let body = try_create(
        &app,
        json!({
            "name": "Ada", "capacity": 6, "timeZone": "Europe/Berlin",
            "building": " HQ ", "floor": "3", "features": ["Display ", "whiteboard", "display"],
            "description": "Corner room,\nby the kitchen",
            "policy": {"minDurationMinutes": 15, "maxDurationMinutes": 240, "bufferMinutes": 5,
                       "bookingHorizonDays": 90, "openingHours": weekdays("08:00", "18:00"),
                       "checkInRequired": true, "checkInOpensMinutes": 5, "autoReleaseMinutes": 15}
        }),
    )
    .await;
    let room = &body["data"]["createRoom"];
    assert_eq!(room["timeZone"], "Europe/Berlin", "{body}");
    assert_eq!(room["building"], "HQ");
    assert_eq!(room["floor"], "3");
    assert_eq!(room["features"], json!(["display", "whiteboard"]));
    assert_eq!(room["description"], "Corner room,\nby the kitchen");
    assert_eq!(room["archived"], false);
    let p = &room["policy"];
    assert_eq!(p["minDurationMinutes"], 15);
    assert_eq!(p["maxDurationMinutes"], 240);
    assert_eq!(p["bufferMinutes"], 5);
    assert_eq!(p["bookingHorizonDays"], 90);
    assert_eq!(p["openingHours"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        p["openingHours"][0],
        json!({"weekday": "MONDAY", "opens": "08:00", "closes": "18:00"})
    );
    assert_eq!(p["checkInRequired"], true);
    assert_eq!(p["checkInOpensMinutes"], 5);
    assert_eq!(p["autoReleaseMinutes"], 15);
    // Read back, the same.
    let id = room["id"].as_str().unwrap();
    let read = app
        .graphql(
            &format!("query($id: ID!) {{ room(id: $id) {{ {ROOM_FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(&read["data"]["room"], room);
}

#[tokio::test]
async fn a_room_without_v2_fields_gets_the_defaults() {
    let app = spawn_app().await;
    let body = try_create(&app, json!({"name": "Plain", "capacity": 2})).await;
    let room = &body["data"]["createRoom"];
    assert_eq!(room["timeZone"], "UTC");
    assert_eq!(room["building"], Value::Null);
    assert_eq!(room["features"], json!([]));
    assert_eq!(
        room["policy"],
        json!({"minDurationMinutes": null, "maxDurationMinutes": null, "bufferMinutes": 0,
               "bookingHorizonDays": null, "openingHours": null, "checkInRequired": false,
               "checkInOpensMinutes": 10, "autoReleaseMinutes": 10})
    );
}

#[tokio::test]
async fn the_default_time_zone_is_configurable() {
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        default_time_zone: "America/New_York".parse().unwrap(),
        ..c
    })
    .await;
    let body = try_create(&app, json!({"name": "NY", "capacity": 2})).await;
    assert_eq!(body["data"]["createRoom"]["timeZone"], "America/New_York");
}

#[tokio::test]
async fn bad_room_input_is_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let bad = [
        json!({"timeZone": "Mars/Olympus"}),
        json!({"features": ["white board"]}),
        json!({"features": [""]}),
        json!({"building": "  "}),
        json!({"floor": "x".repeat(101)}),
        json!({"description": "x".repeat(2001)}),
        json!({"policy": {"minDurationMinutes": 60, "maxDurationMinutes": 30}}),
        json!({"policy": {"maxDurationMinutes": 10081}}),
        json!({"policy": {"bufferMinutes": 241}}),
        json!({"policy": {"bookingHorizonDays": 0}}),
        json!({"policy": {"checkInOpensMinutes": 121}}),
        json!({"policy": {"autoReleaseMinutes": 0}}),
        json!({"policy": {"openingHours": [{"weekday": "MONDAY", "opens": "18:00", "closes": "08:00"}]}}),
        json!({"policy": {"openingHours": (0..6).flat_map(|_| weekdays("08:00", "09:00")).collect::<Vec<_>>()}}),
    ];
    for extra in bad {
        let mut input = json!({"name": "Bad", "capacity": 2});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = try_create(&app, input).await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    // A malformed local time is refused by the scalar itself.
    let body = try_create(
        &app,
        json!({"name": "Bad", "capacity": 2, "policy": {"openingHours": [{"weekday": "MONDAY", "opens": "8:00", "closes": "25:00"}]}}),
    )
    .await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("HH:MM"));
    let rooms = app
        .graphql("{ rooms(includeArchived: true) { id } }", json!({}))
        .await;
    assert_eq!(rooms["data"]["rooms"], json!([]));
}

#[tokio::test]
async fn durations_outside_the_policy_are_refused_and_the_limits_themselves_pass() {
    let app = spawn_app().await;
    let room = room_with(
        &app,
        "Timed",
        json!({"minDurationMinutes": 30, "maxDurationMinutes": 120}),
        json!({}),
    )
    .await;
    let body = app.try_book(&room, &at(0), &at(29)).await;
    assert_refused(&body, "POLICY_VIOLATION");
    assert_eq!(policy_of(&body), "MIN_DURATION");
    let body = app.try_book(&room, &at(0), &at(121)).await;
    assert_refused(&body, "POLICY_VIOLATION");
    assert_eq!(policy_of(&body), "MAX_DURATION");
    booked(&app.try_book(&room, &at(0), &at(30)).await);
    booked(&app.try_book(&room, &at(30), &at(150)).await);
}

#[tokio::test]
async fn the_booking_horizon_limits_how_far_ahead_a_booking_starts() {
    let app = spawn_app().await;
    let room = room_with(&app, "Near", json!({"bookingHorizonDays": 3}), json!({})).await;
    // base() is two days ahead: within 3 days.
    booked(&app.try_book(&room, &at(0), &at(60)).await);
    let body = app
        .try_book(&room, &at(24 * 60 + 60), &at(24 * 60 + 120))
        .await;
    assert_refused(&body, "POLICY_VIOLATION");
    assert_eq!(policy_of(&body), "BOOKING_HORIZON");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("3 days"));
}

#[tokio::test]
async fn opening_hours_are_read_in_the_rooms_local_time_in_winter_and_summer() {
    let app = spawn_app().await;
    let room = room_with(
        &app,
        "Berlin",
        json!({"openingHours": weekdays("08:00", "18:00")}),
        json!({"timeZone": "Europe/Berlin"}),
    )
    .await;
    // Monday 2031-01-06, UTC+1: open 07:00Z-17:00Z.
    booked(
        &app.try_book(&room, "2031-01-06T07:00:00Z", "2031-01-06T17:00:00Z")
            .await,
    );
    let body = app
        .try_book(&room, "2031-01-13T06:00:00Z", "2031-01-13T08:00:00Z")
        .await;
    assert_refused(&body, "POLICY_VIOLATION");
    assert_eq!(policy_of(&body), "OPENING_HOURS");
    // Monday 2031-07-07, UTC+2: open 06:00Z-16:00Z.
    booked(
        &app.try_book(&room, "2031-07-07T06:00:00Z", "2031-07-07T16:00:00Z")
            .await,
    );
    let body = app
        .try_book(&room, "2031-07-14T15:00:00Z", "2031-07-14T17:00:00Z")
        .await;
    assert_eq!(policy_of(&body), "OPENING_HOURS");
    // Saturday: closed.
    let body = app
        .try_book(&room, "2031-01-04T09:00:00Z", "2031-01-04T10:00:00Z")
        .await;
    assert_eq!(policy_of(&body), "OPENING_HOURS");
}

#[tokio::test]
async fn opening_hours_with_a_lunch_break_and_until_midnight() {
    let app = spawn_app().await;
    let mut hours = weekdays("08:00", "12:00");
    hours.extend(weekdays("13:00", "17:00"));
    hours.push(json!({"weekday": "SATURDAY", "opens": "18:00", "closes": "24:00"}));
    hours.push(json!({"weekday": "SUNDAY", "opens": "00:00", "closes": "06:00"}));
    let room = room_with(&app, "Lunch", json!({"openingHours": hours}), json!({})).await;
    booked(
        &app.try_book(&room, "2031-01-06T08:00:00Z", "2031-01-06T12:00:00Z")
            .await,
    );
    // Across the break, or inside it.
    for (s, e) in [
        ("2031-01-07T11:00:00Z", "2031-01-07T14:00:00Z"),
        ("2031-01-07T12:00:00Z", "2031-01-07T13:00:00Z"),
    ] {
        let body = app.try_book(&room, s, e).await;
        assert_eq!(policy_of(&body), "OPENING_HOURS", "{s}: {body}");
    }
    // "24:00" is midnight: Saturday evening until then is one interval.
    booked(
        &app.try_book(&room, "2031-01-04T20:00:00Z", "2031-01-05T00:00:00Z")
            .await,
    );
    // Saturday night into Sunday spans two days' intervals.
    let body = app
        .try_book(&room, "2031-01-11T23:00:00Z", "2031-01-12T01:00:00Z")
        .await;
    assert_eq!(policy_of(&body), "OPENING_HOURS");
}

#[tokio::test]
async fn opening_hours_on_dst_days_follow_the_wall_clock() {
    let app = spawn_app().await;
    let room = room_with(
        &app,
        "Sunday",
        json!({"openingHours": [{"weekday": "SUNDAY", "opens": "00:00", "closes": "24:00"}]}),
        json!({"timeZone": "Europe/Berlin"}),
    )
    .await;
    // 2031-03-30 has 23 hours in Berlin: 23:00Z the day before to 22:00Z.
    booked(
        &app.try_book(&room, "2031-03-29T23:00:00Z", "2031-03-30T22:00:00Z")
            .await,
    );
    let body = app
        .try_book(&room, "2031-04-05T22:00:00Z", "2031-04-06T23:00:00Z")
        .await;
    assert_eq!(policy_of(&body), "OPENING_HOURS", "{body}");
    // 2031-10-26 has 25: 22:00Z the day before to 23:00Z.
    booked(
        &app.try_book(&room, "2031-10-25T22:00:00Z", "2031-10-26T23:00:00Z")
            .await,
    );
}

#[tokio::test]
async fn buffers_refuse_slots_too_close_and_allow_exactly_the_buffer() {
    let app = spawn_app().await;
    let room = room_with(&app, "Buffered", json!({"bufferMinutes": 15}), json!({})).await;
    let held = app.book(&room, &at(60), &at(120)).await;
    for (s, e) in [(0, 46), (134, 200), (119, 121)] {
        let body = app.try_book(&room, &at(s), &at(e)).await;
        let expected = if s < 120 && e > 60 {
            "OVERLAP"
        } else {
            "POLICY_VIOLATION"
        };
        let err = assert_refused(&body, expected);
        if expected == "POLICY_VIOLATION" {
            assert_eq!(policy_of(&body), "BUFFER");
        }
        assert_eq!(err["extensions"]["conflictingReservationId"], held.as_str());
    }
    // Exactly the buffer away, on either side.
    booked(&app.try_book(&room, &at(0), &at(45)).await);
    booked(&app.try_book(&room, &at(135), &at(200)).await);
    // A cancelled reservation keeps no buffer.
    app.cancel(&held).await;
    booked(&app.try_book(&room, &at(60), &at(120)).await);
}

#[tokio::test]
async fn refusals_come_in_the_order_api_md_gives() {
    let app = spawn_app().await;
    let room = room_with(
        &app,
        "Strict",
        json!({"minDurationMinutes": 30, "bufferMinutes": 10, "openingHours": weekdays("08:00", "18:00")}),
        json!({}),
    )
    .await;
    // Monday 2031-01-06 (UTC).
    let held = app
        .book(&room, "2031-01-06T10:00:00Z", "2031-01-06T11:00:00Z")
        .await;
    let cases = [
        // rule 1 before rule 2 and the policy
        (
            "2031-01-06T10:00:00Z",
            "2031-01-06T09:00:00Z",
            "INVALID_TIME_RANGE",
            "",
        ),
        // a real overlap that is also too short: OVERLAP
        (
            "2031-01-06T10:30:00Z",
            "2031-01-06T10:40:00Z",
            "OVERLAP",
            "",
        ),
        // too short and outside the opening hours: the duration first
        (
            "2031-01-06T19:00:00Z",
            "2031-01-06T19:10:00Z",
            "POLICY_VIOLATION",
            "MIN_DURATION",
        ),
        // outside the opening hours and within the buffer: opening hours first
        (
            "2031-01-06T07:00:00Z",
            "2031-01-06T09:55:00Z",
            "POLICY_VIOLATION",
            "OPENING_HOURS",
        ),
        (
            "2031-01-06T11:05:00Z",
            "2031-01-06T12:00:00Z",
            "POLICY_VIOLATION",
            "BUFFER",
        ),
    ];
    for (s, e, code, policy) in cases {
        let body = app.try_book(&room, s, e).await;
        assert_refused(&body, code);
        assert_eq!(policy_of(&body), policy, "{s}-{e}: {body}");
    }
    // Rule 2 before the policy: a past, too short slot is IN_PAST.
    let past = fmt(chrono::Utc::now() - chrono::Duration::hours(1));
    let body = app.try_book(&room, &past, &at(0)).await;
    assert_refused(&body, "IN_PAST");
    // Unknown room: NOT_FOUND; archived: ROOM_ARCHIVED before any policy.
    let body = app
        .try_book("00000000-0000-4000-8000-000000000000", &at(0), &at(60))
        .await;
    assert_refused(&body, "NOT_FOUND");
    app.graphql(
        "mutation($id: ID!) { archiveRoom(id: $id, cancelFutureReservations: true) { id } }",
        json!({"id": room}),
    )
    .await;
    let body = app
        .try_book(&room, "2031-01-06T19:00:00Z", "2031-01-06T19:10:00Z")
        .await;
    assert_refused(&body, "ROOM_ARCHIVED");
    let _ = held;
}

#[tokio::test]
async fn a_reschedule_obeys_the_policy_of_the_room_it_lands_in() {
    let app = spawn_app().await;
    let plain = app.create_room("Plain", 4).await;
    let short = room_with(&app, "Short", json!({"maxDurationMinutes": 60}), json!({})).await;
    let buffered = room_with(&app, "Buffered", json!({"bufferMinutes": 30}), json!({})).await;
    let long = app.book(&plain, &at(0), &at(120)).await;
    let body = app.reschedule(json!({"id": long, "roomId": short})).await;
    assert_refused(&body, "POLICY_VIOLATION");
    assert_eq!(policy_of(&body), "MAX_DURATION");
    // A reservation never keeps a buffer from itself.
    let own = app.book(&buffered, &at(300), &at(360)).await;
    let body = app
        .reschedule(json!({"id": own, "start": at(310), "end": at(380)}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = app
        .reschedule(json!({"id": long, "roomId": buffered, "start": at(200), "end": at(290)}))
        .await;
    assert_eq!(policy_of(&body), "BUFFER");
    assert_eq!(
        body["errors"][0]["extensions"]["conflictingReservationId"],
        own.as_str()
    );
}

#[tokio::test]
async fn a_policy_change_leaves_existing_reservations_alone() {
    let app = spawn_app().await;
    let room = app.create_room("Changing", 4).await;
    let two_hours = app.book(&room, &at(0), &at(120)).await;
    let next = app.book(&room, &at(125), &at(185)).await;
    let body = app
        .graphql(
            "mutation($i: UpdateRoomInput!) { updateRoom(input: $i) { policy { maxDurationMinutes bufferMinutes } } }",
            json!({"i": {"id": room, "policy": {"maxDurationMinutes": 60, "bufferMinutes": 30}}}),
        )
        .await;
    assert_eq!(
        body["data"]["updateRoom"]["policy"],
        json!({"maxDurationMinutes": 60, "bufferMinutes": 30}),
        "{body}"
    );
    let listed = app
        .graphql(
            "query($r: ID!) { reservations(roomId: $r) { id status start end } }",
            json!({"r": room}),
        )
        .await;
    let listed = listed["data"]["reservations"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], two_hours.as_str());
    assert_eq!(listed[0]["end"], at(120).as_str());
    assert!(listed.iter().all(|r| r["status"] == "CONFIRMED"));
    // New bookings obey the new policy.
    let body = app.try_book(&room, &at(300), &at(420)).await;
    assert_eq!(policy_of(&body), "MAX_DURATION");
    let body = app.try_book(&room, &at(200), &at(230)).await;
    assert_eq!(policy_of(&body), "BUFFER");
    assert_eq!(
        body["errors"][0]["extensions"]["conflictingReservationId"],
        next.as_str()
    );
}

#[tokio::test]
async fn available_rooms_are_those_where_booking_would_succeed() {
    let app = spawn_app().await;
    let plain = app.create_room("Plain", 4).await;
    let _buffered = room_with(&app, "Buffered", json!({"bufferMinutes": 30}), json!({})).await;
    let _short = room_with(&app, "Short", json!({"maxDurationMinutes": 30}), json!({})).await;
    let _near = room_with(&app, "Near", json!({"bookingHorizonDays": 1}), json!({})).await;
    let _closed = room_with(
        &app,
        "Closed",
        json!({"openingHours": [{"weekday": "SUNDAY", "opens": "00:00", "closes": "01:00"}]}),
        json!({}),
    )
    .await;
    let buffered = _buffered.clone();
    app.book(&buffered, &at(0), &at(60)).await;
    app.book(&plain, &at(200), &at(260)).await;
    let q = "query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e) { name } }";
    // 80-140: the buffered room's buffer reaches 90; Short allows 30 minutes; base() is two
    // days ahead, past Near's horizon; Closed is closed.
    let body = app.graphql(q, json!({"s": at(80), "e": at(140)})).await;
    assert_eq!(
        body["data"]["availableRooms"],
        json!([{"name": "Plain"}]),
        "{body}"
    );
    let body = app.graphql(q, json!({"s": at(90), "e": at(120)})).await;
    assert_eq!(
        body["data"]["availableRooms"],
        json!([{"name": "Plain"}, {"name": "Buffered"}, {"name": "Short"}])
    );
    // Every room listed is one bookRoom accepts, and every other one is refused.
    for (s, e) in [(80, 140), (90, 120), (190, 210)] {
        let body = app.graphql(q, json!({"s": at(s), "e": at(e)})).await;
        let available: Vec<String> = body["data"]["availableRooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        let rooms = app.graphql("{ rooms { id name } }", json!({})).await;
        for r in rooms["data"]["rooms"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            let id = r["id"].as_str().unwrap();
            let booking = app.try_book(id, &at(s), &at(e)).await;
            let accepted = booking.get("errors").is_none();
            assert_eq!(
                accepted,
                available.iter().any(|a| a == name),
                "{name} {s}-{e}: {booking}"
            );
            if accepted {
                let rid = booking["data"]["bookRoom"]["id"].as_str().unwrap();
                app.cancel(rid).await;
            }
        }
    }
    // A past slot is bookable nowhere.
    let past = fmt(chrono::Utc::now() - chrono::Duration::hours(2));
    let body = app.graphql(q, json!({"s": past, "e": at(0)})).await;
    assert_eq!(body["data"]["availableRooms"], json!([]));
}
