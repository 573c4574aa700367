use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws_client::*;

#[tokio::test]
async fn booked_rescheduled_and_cancelled_arrive_in_commit_order() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;

    let id = app.book(&a, &at(60), &at(120)).await;
    app.reschedule(json!({"id": id, "roomId": b, "start": at(180), "end": at(240)}))
        .await;
    app.cancel(&id).await;

    let booked = ws.event("1").await;
    assert_eq!(booked["kind"], "BOOKED");
    assert_eq!(booked["reservation"]["id"], id.as_str());
    assert_eq!(booked["reservation"]["status"], "CONFIRMED");
    assert_eq!(booked["reservation"]["room"]["name"], "A");
    assert_eq!(booked["previousStart"], Value::Null);
    assert_eq!(booked["previousRoom"], Value::Null);

    let moved = ws.event("1").await;
    assert_eq!(moved["kind"], "RESCHEDULED");
    assert_eq!(moved["reservation"]["start"], at(180));
    assert_eq!(moved["reservation"]["room"]["name"], "B");
    assert_eq!(moved["previousStart"], at(60));
    assert_eq!(moved["previousEnd"], at(120));
    assert_eq!(moved["previousRoom"]["name"], "A");

    let cancelled = ws.event("1").await;
    assert_eq!(cancelled["kind"], "CANCELLED");
    assert_eq!(cancelled["reservation"]["status"], "CANCELLED");

    let times: Vec<&str> = [&booked, &moved, &cancelled]
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times.iter().all(|t| t.ends_with('Z')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_arrive_in_the_same_order_for_everyone() {
    let app = spawn_app().await;
    let rooms: Vec<String> = futures_util::future::join_all((0..4).map(|i| {
        let app = &app;
        async move { app.create_room(&format!("R{i}"), 4).await }
    }))
    .await;
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        let mut ws = WsClient::ready(&app).await;
        ws.subscribe("s", EVENTS, json!({})).await;
        subscribers.push(ws);
    }
    app.wait_for_subscribers(3).await;
    let bookings = (0..40).map(|i| {
        let (app, room) = (&app, &rooms[i % 4]);
        async move {
            app.book(room, &at(60 * i as i64), &at(60 * i as i64 + 30))
                .await
        }
    });
    futures_util::future::join_all(bookings).await;
    let mut orders = Vec::new();
    for ws in &mut subscribers {
        let mut order = Vec::new();
        for _ in 0..40 {
            let e = ws.event("s").await;
            order.push((
                e["at"].as_str().unwrap().to_owned(),
                e["reservation"]["id"].as_str().unwrap().to_owned(),
                e["reservation"]["room"]["id"].as_str().unwrap().to_owned(),
            ));
        }
        // One SQLite process commits one change at a time: one global order. On PostgreSQL,
        // changes to different rooms commit concurrently; each room keeps its commit order.
        for room in &rooms {
            // As instants: RFC 3339 strings with and without fractional seconds do not sort
            // as text ("...:00Z" > "...:00.5Z").
            let times: Vec<chrono::DateTime<chrono::Utc>> = order
                .iter()
                .filter(|e| on_postgres() && &e.2 == room || !on_postgres())
                .map(|e| chrono::DateTime::parse_from_rfc3339(&e.0).unwrap().into())
                .collect();
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "commit times never go back: {times:?}"
            );
        }
        orders.push(order);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "every subscriber sees one order"
    );
}

#[tokio::test]
async fn the_room_filter_keeps_a_rooms_events_including_moves_in_and_out() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    let mut only_a = WsClient::ready(&app).await;
    only_a.subscribe("a", EVENTS, json!({"room": a})).await;
    let mut only_b = WsClient::ready(&app).await;
    only_b.subscribe("b", EVENTS, json!({"room": b})).await;
    app.wait_for_subscribers(2).await;

    let in_b = app.book(&b, &at(0), &at(30)).await;
    let in_a = app.book(&a, &at(60), &at(120)).await;
    app.reschedule(json!({"id": in_a, "roomId": b})).await;

    let e = only_a.event("a").await;
    assert_eq!(
        (e["kind"].as_str(), e["reservation"]["id"].as_str()),
        (Some("BOOKED"), Some(in_a.as_str()))
    );
    let e = only_a.event("a").await;
    assert_eq!(e["kind"], "RESCHEDULED", "moving out of A concerns A");

    let e = only_b.event("b").await;
    assert_eq!(e["reservation"]["id"], in_b.as_str());
    let e = only_b.event("b").await;
    assert_eq!(e["kind"], "RESCHEDULED", "moving into B concerns B");
    assert_eq!(e["previousRoom"]["name"], "A");
}

#[tokio::test]
async fn a_refused_mutation_publishes_nothing() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let first = app.book(&room, &at(60), &at(120)).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    assert_refused(&app.try_book(&room, &at(90), &at(150)).await, "OVERLAP");
    assert_refused(
        &app.reschedule(json!({"id": first, "end": at(10)})).await,
        "INVALID_TIME_RANGE",
    );
    assert_refused(
        &app.cancel(&uuid::Uuid::new_v4().to_string()).await,
        "NOT_FOUND",
    );
    let ok = app.book(&room, &at(120), &at(180)).await;
    let e = ws.event("1").await;
    assert_eq!(
        e["reservation"]["id"],
        ok.as_str(),
        "the first event is the first success"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_subscribers_each_receive_the_event() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut clients = Vec::new();
    for _ in 0..200 {
        let mut ws = WsClient::ready(&app).await;
        ws.subscribe("1", EVENTS, json!({"room": room})).await;
        clients.push(ws);
    }
    app.wait_for_subscribers(200).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let received = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|ws| async move { ws.event("1").await }),
    )
    .await;
    assert_eq!(received.len(), 200);
    for e in received {
        assert_eq!(e["kind"], "BOOKED");
        assert_eq!(e["reservation"]["id"], id.as_str());
    }
}

#[tokio::test]
async fn closed_and_vanished_clients_free_their_subscriptions() {
    let app = spawn_app().await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut ws = WsClient::ready(&app).await;
        ws.subscribe("1", EVENTS, json!({})).await;
        clients.push(ws);
    }
    app.wait_for_subscribers(20).await;
    // Half say goodbye, half just vanish (the TCP connection drops).
    for (i, ws) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            ws.close().await;
        } else {
            drop(ws);
        }
    }
    app.wait_for_subscribers(0).await;
    // Completing one operation frees it while the connection stays.
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    ws.subscribe("2", EVENTS, json!({})).await;
    app.wait_for_subscribers(2).await;
    ws.send(json!({"type": "complete", "id": "1"})).await;
    app.wait_for_subscribers(1).await;
    // ...and its id can be used again.
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(2).await;
}

/// A fan-out of 4 events, a subscription that does not read while 10 bookings commit, and
/// the first event it is then given. In process: the point is the feed, not the transport.
async fn lagging_subscriber() -> (
    roombook::db::Db,
    impl futures_util::Stream<Item = async_graphql::Response>,
) {
    let db = crate::helpers::fresh_db(4).await;
    let schema = roombook::graphql::build(
        db.clone(),
        &roombook::config::Limits::default(),
        chrono_tz::Tz::UTC,
    );
    let room = db
        .create_room(roombook::domain::RoomDetails::named(
            roombook::domain::RoomName::parse("A").unwrap(),
            roombook::domain::Capacity::parse(2).unwrap(),
        ))
        .await
        .unwrap();
    // Before the subscription: never sent to it, not even when it catches up from the log.
    book_hour(&db, room.id, 30).await;
    let mut stream = Box::pin(
        schema.execute_stream(
            async_graphql::Request::new(
                "subscription { reservationEvents { kind reservation { start } } }",
            )
            .data(roombook::auth::Principal::Open),
        ),
    );
    // The subscription is live once its first poll has run; poll it while nothing is published.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), stream.next())
            .await
            .is_err()
    );
    assert_eq!(db.events().subscriber_count(), 1);
    for i in 0..10 {
        book_hour(&db, room.id, i).await;
    }
    // Every event has reached the fan-out (on PostgreSQL through the log reader).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while db.events().published() < 11 {
        assert!(std::time::Instant::now() < deadline, "events not published");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (db, stream)
}

/// Books `room` for 30 minutes at `base()` + `hour` hours, in process.
async fn book_hour(db: &roombook::db::Db, room: uuid::Uuid, hour: i64) {
    let start = base() + chrono::Duration::hours(hour);
    let slot = roombook::domain::Slot::new(start, start + chrono::Duration::minutes(30)).unwrap();
    db.book(
        roombook::domain::BookingRequest {
            room_id: room,
            slot,
            title: None,
            organizer_name: "Ada".into(),
            organizer_email: "ada@example.com".into(),
            owner: None,
            on_behalf: None,
        },
        roombook::auth::Actor::Anyone,
        None,
    )
    .await
    .unwrap();
}

fn start_of(response: async_graphql::Response) -> Value {
    assert!(response.errors.is_empty(), "{response:?}");
    response.data.into_json().unwrap()["reservationEvents"]["reservation"]["start"].clone()
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_catches_up_from_the_log() {
    let (_db, mut stream) = lagging_subscriber().await;
    // The fan-out kept only 4 of the 10; the other 6 come from the log, in order.
    for i in 0..10 {
        let next = stream.next().await.unwrap();
        assert_eq!(start_of(next), fmt(base() + chrono::Duration::hours(i)));
    }
}

#[tokio::test]
async fn a_subscriber_behind_what_the_log_keeps_is_told_how_many_events_it_missed() {
    let (db, mut stream) = lagging_subscriber().await;
    // The log keeps only the last 2 of the 11 events now.
    db.prune_events(2).await.unwrap();
    let lag = stream.next().await.unwrap();
    assert_eq!(lag.errors.len(), 1, "{lag:?}");
    let err = serde_json::to_value(&lag.errors[0]).unwrap();
    assert_eq!(err["extensions"]["missedEvents"], 10, "{err}");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("missed 10 events"));
    // The feed goes on live.
    let room = db.rooms(Default::default(), 10).await.unwrap()[0].id;
    book_hour(&db, room, 20).await;
    let next = stream.next().await.unwrap();
    assert_eq!(start_of(next), fmt(base() + chrono::Duration::hours(20)));
}

#[tokio::test]
async fn a_subscription_to_an_unknown_or_malformed_room_is_refused() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe(
        "1",
        EVENTS,
        json!({"room": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(ws.recv().await, json!({"type": "complete", "id": "1"}));
    ws.subscribe("2", EVENTS, json!({"room": "room-a"})).await;
    let msg = ws.recv().await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{msg}"
    );
}

// ---- graphql-transport-ws, by its PROTOCOL.md

#[tokio::test]
async fn ping_is_answered_with_pong_carrying_the_payload() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
    ws.send(json!({"type": "ping", "payload": {"n": 1}})).await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "pong", "payload": {"n": 1}})
    );
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn an_invalid_message_closes_with_4400() {
    let app = spawn_app().await;
    for bad in [
        "not json",
        r#"{"type": "subscribe"}"#,
        r#"{"type": "hello"}"#,
        r#"{"id": "1"}"#,
    ] {
        let mut ws = WsClient::ready(&app).await;
        ws.send_text(bad).await;
        assert_eq!(ws.closed().await.code, 4400, "{bad}");
    }
}

#[tokio::test]
async fn subscribe_before_ack_closes_with_4401() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(
        ws.closed().await,
        Closed {
            code: 4401,
            reason: "Unauthorized".into()
        }
    );
}

#[tokio::test]
async fn no_connection_init_in_time_closes_with_4408() {
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        ws_init_timeout_ms: 200,
        ..c
    })
    .await;
    let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
    let closed = ws.closed().await;
    assert_eq!(closed.code, 4408, "{closed:?}");
    assert_eq!(closed.reason, "Connection initialisation timeout");
}

#[tokio::test]
async fn a_second_operation_with_an_id_in_use_closes_with_4409() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    assert_eq!(
        ws.closed().await,
        Closed {
            code: 4409,
            reason: "Subscriber for same already exists".into()
        }
    );
    app.wait_for_subscribers(0).await;
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(
        ws.closed().await,
        Closed {
            code: 4429,
            reason: "Too many initialisation requests".into()
        }
    );
}

#[tokio::test]
async fn a_subscription_that_does_not_validate_gets_an_error_message() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe(
        "1",
        "subscription { reservationEvents { colour } }",
        json!({}),
    )
    .await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["id"], "1");
    assert!(msg["payload"][0]["message"]
        .as_str()
        .unwrap()
        .contains("colour"));
    assert_eq!(msg["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // The id is free again, and the connection still works.
    ws.subscribe("1", "{ rooms { id } }", json!({})).await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "next", "id": "1", "payload": {"data": {"rooms": []}}})
    );
    assert_eq!(ws.recv().await, json!({"type": "complete", "id": "1"}));
}

#[tokio::test]
async fn the_server_pings_idle_connections() {
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        ws_keepalive_ms: 100,
        ..c
    })
    .await;
    let mut ws = WsClient::ready(&app).await;
    // recv() skips keep-alives, so read raw: a ping arrives without any client traffic.
    let raw = ws.recv_raw_type().await;
    assert_eq!(raw, "ping");
}

#[tokio::test]
async fn a_connection_without_a_known_subprotocol_closes_with_4406() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, None).await;
    assert_eq!(ws.closed().await.code, 4406);
}

#[tokio::test]
async fn shutting_down_closes_websockets_cleanly() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    app.shut_down();
    assert_eq!(
        ws.closed().await,
        Closed {
            code: 1001,
            reason: "server shutting down".into()
        }
    );
    let server = app.stopped.lock().unwrap().take().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "the server stops cleanly: {result:?}"
    );
}

// ---- legacy graphql-ws (subscriptions-transport-ws)

#[tokio::test]
async fn the_legacy_protocol_acks_streams_data_and_stops() {
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::connect(&app, Some(LEGACY)).await;
    ws.send(json!({"type": "connection_init", "payload": {}}))
        .await;
    assert_eq!(ws.recv().await, json!({"type": "connection_ack"}));
    ws.send(json!({"type": "start", "id": "7", "payload": {"query": EVENTS, "variables": {"room": room}}})).await;
    app.wait_for_subscribers(1).await;
    let id = app.book(&room, &at(60), &at(120)).await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "data", "{msg}");
    assert_eq!(
        msg["payload"]["data"]["reservationEvents"]["reservation"]["id"],
        id.as_str()
    );
    ws.send(json!({"type": "stop", "id": "7"})).await;
    assert_eq!(ws.recv().await, json!({"type": "complete", "id": "7"}));
    app.wait_for_subscribers(0).await;
    ws.send(json!({"type": "start", "id": "8", "payload": {"query": "{ rooms { name } }"}}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "data", "id": "8", "payload": {"data": {"rooms": [{"name": "A"}]}}})
    );
    assert_eq!(ws.recv().await, json!({"type": "complete", "id": "8"}));
    ws.send(json!({"type": "connection_terminate"})).await;
    assert_eq!(ws.closed().await.code, 1000);
}

#[tokio::test]
async fn the_legacy_protocol_reports_bad_messages_without_closing() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, Some(LEGACY)).await;
    ws.send(json!({"type": "start", "id": "1", "payload": {"query": "{ rooms { id } }"}}))
        .await;
    let msg = ws.recv().await;
    assert_eq!(
        (msg["type"].as_str(), msg["id"].as_str()),
        (Some("error"), Some("1")),
        "start before init: {msg}"
    );
    ws.send_text("{oops").await;
    assert_eq!(ws.recv().await["type"], "error");
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
}
