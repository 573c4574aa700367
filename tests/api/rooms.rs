use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn create_room_trims_the_name_and_returns_the_room() {
    let app = spawn_app().await;
    let body = app
        .graphql(
            r#"mutation { createRoom(input: {name: "  Blue Room  ", capacity: 8}) { id name capacity createdAt } }"#,
            json!({}),
        )
        .await;
    let room = &body["data"]["createRoom"];
    assert_eq!(room["name"], "Blue Room");
    assert_eq!(room["capacity"], 8);
    assert!(uuid::Uuid::parse_str(room["id"].as_str().unwrap()).is_ok());
    assert!(room["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn room_names_are_unique_ignoring_case() {
    let app = spawn_app().await;
    app.create_room("Blue Room", 8).await;
    let body = app
        .graphql(
            r#"mutation { createRoom(input: {name: " blue ROOM", capacity: 4}) { id } }"#,
            json!({}),
        )
        .await;
    assert_refused(&body, "ALREADY_EXISTS");
    assert_eq!(body["data"], serde_json::Value::Null);
}

#[tokio::test]
async fn room_fields_outside_their_limits_are_bad_user_input() {
    let app = spawn_app().await;
    let q =
        "mutation($n: String!, $c: Int!) { createRoom(input: {name: $n, capacity: $c}) { id } }";
    for (name, capacity) in [
        ("   ", 5),
        (&*"x".repeat(101), 5),
        ("Room", 0),
        ("Room", 10_001),
        ("Room", -1),
    ] {
        let body = app.graphql(q, json!({"n": name, "c": capacity})).await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    assert_eq!(
        app.graphql("{ rooms { id } }", json!({})).await["data"]["rooms"],
        json!([])
    );
    // The limits themselves are accepted.
    app.create_room(&"x".repeat(100), 10_000).await;
    app.create_room("y", 1).await;
}

#[tokio::test]
async fn rooms_are_sorted_by_name_and_filtered_by_capacity() {
    let app = spawn_app().await;
    app.create_room("Cedar", 4).await;
    app.create_room("Apple", 12).await;
    app.create_room("Birch", 6).await;
    let body = app.graphql("{ rooms { name } }", json!({})).await;
    assert_eq!(
        body["data"]["rooms"],
        json!([{"name": "Apple"}, {"name": "Birch"}, {"name": "Cedar"}])
    );
    let body = app
        .graphql("{ rooms(minCapacity: 6) { name capacity } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["rooms"],
        json!([{"name": "Apple", "capacity": 12}, {"name": "Birch", "capacity": 6}])
    );
}

#[tokio::test]
async fn room_by_id_is_null_when_unknown_and_refuses_a_non_uuid() {
    let app = spawn_app().await;
    let id = app.create_room("Oak", 3).await;
    let q = "query($id: ID!) { room(id: $id) { id name } }";
    let body = app.graphql(q, json!({"id": id})).await;
    assert_eq!(body["data"]["room"]["name"], "Oak");
    let body = app
        .graphql(q, json!({"id": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_eq!(body["data"]["room"], serde_json::Value::Null);
    assert!(body.get("errors").is_none(), "{body}");
    let body = app.graphql(q, json!({"id": "room-1"})).await;
    assert_refused(&body, "BAD_USER_INPUT");
}

#[tokio::test]
async fn available_rooms_are_the_free_ones_by_capacity_then_name() {
    let app = spawn_app().await;
    let big = app.create_room("Hall", 50).await;
    let _b = app.create_room("Beta", 4).await;
    let _a = app.create_room("Alpha", 4).await;
    let small = app.create_room("Booth", 1).await;
    app.book(&big, &at(60), &at(120)).await;
    let cancelled = app.book(&small, &at(60), &at(120)).await;
    app.cancel(&cancelled).await;
    let q = "query($s: DateTime!, $e: DateTime!, $m: Int) { availableRooms(start: $s, end: $e, minCapacity: $m) { name } }";
    let body = app.graphql(q, json!({"s": at(90), "e": at(150)})).await;
    assert_eq!(
        body["data"]["availableRooms"],
        json!([{"name": "Booth"}, {"name": "Alpha"}, {"name": "Beta"}])
    );
    // Touching the booked slot's end leaves the hall free.
    let body = app
        .graphql(q, json!({"s": at(120), "e": at(180), "m": 5}))
        .await;
    assert_eq!(body["data"]["availableRooms"], json!([{"name": "Hall"}]));
    let body = app.graphql(q, json!({"s": at(120), "e": at(120)})).await;
    assert_refused(&body, "INVALID_TIME_RANGE");
}
