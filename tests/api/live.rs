//! Live delivery (`graphql::Live`): what the WebSocket endpoint sends a `reservationEvents`
//! subscriber must be exactly what running the subscription through async-graphql yields,
//! event for event, byte for byte once parsed, including errors, catch-up and missed events.
//! In process, side by side on one database: the point is the rendering, not the transport
//! (the WebSocket tests in `subscriptions.rs` run through it too).

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Response, Variables};
use chrono::Duration as Span;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{json, Value};

use roombook::auth::{Actor, Identity, Principal};
use roombook::db::Db;
use roombook::domain::{BookingRequest, Capacity, RescheduleRequest, RoomDetails, RoomName, Slot};
use roombook::graphql::{fill_codes, AppSchema, Live, LiveSubscription, Started};

use crate::helpers::*;

struct Side {
    schema: AppSchema,
    live: Live,
    db: Db,
}

async fn side(capacity: usize) -> Side {
    let db = fresh_db(capacity).await;
    let limits = roombook::config::Limits::default();
    let zone = chrono_tz::Tz::UTC;
    Side {
        schema: roombook::graphql::build(db.clone(), &limits, zone),
        live: Live::new(db.clone(), &limits, zone, roombook::metrics::Metrics::new()),
        db,
    }
}

async fn room(db: &Db, name: &str) -> uuid::Uuid {
    db.create_room(RoomDetails::named(
        RoomName::parse(name).unwrap(),
        Capacity::parse(4).unwrap(),
    ))
    .await
    .unwrap()
    .id
}

/// Books `room` for 30 minutes at `base()` + `hour` hours.
async fn book(db: &Db, room: uuid::Uuid, hour: i64, title: &str) -> uuid::Uuid {
    let start = base() + Span::hours(hour);
    db.book(
        BookingRequest {
            room_id: room,
            slot: Slot::new(start, start + Span::minutes(30)).unwrap(),
            title: Some(title.into()),
            organizer_name: "Ada, \"the\" first".into(),
            organizer_email: "ada@example.com".into(),
            owner: None,
            on_behalf: None,
        },
        roombook::auth::Actor::Anyone,
        None,
    )
    .await
    .unwrap()
    .reservation
    .id
}

fn request(query: &str, variables: Value) -> Request {
    Request::new(query).variables(Variables::from_json(variables))
}

/// The subscription run as async-graphql runs it.
fn executed(side: &Side, req: Request) -> BoxStream<'static, Response> {
    side.schema
        .execute_stream(req.data(Principal::Open))
        .map(|mut r| {
            fill_codes(&mut r);
            r
        })
        .boxed()
}

/// The same subscription through live delivery.
async fn live(side: &Side, req: Request, principal: Principal) -> LiveSubscription {
    match side.live.start(&side.schema, req, principal).await {
        Started::Live(sub) => sub,
        Started::Responses(mut r) => panic!("not live: {:?}", r.next().await),
    }
}

async fn next_executed(stream: &mut BoxStream<'static, Response>) -> Value {
    let r = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on");
    serde_json::to_value(&r).unwrap()
}

async fn next_live(sub: &mut LiveSubscription) -> Value {
    let payload = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an event within 10 s")
        .expect("the feed goes on");
    serde_json::from_str(&payload).expect("a JSON payload")
}

/// Polls a fresh execution once, so it has started (subscribed) before anything commits.
async fn started(mut stream: BoxStream<'static, Response>) -> BoxStream<'static, Response> {
    assert!(
        tokio::time::timeout(Duration::from_millis(50), stream.next())
            .await
            .is_err(),
        "nothing to send yet"
    );
    stream
}

const DOCUMENTS: &[(&str, &str)] = &[
    (
        "every field",
        "subscription { reservationEvents { kind at cursor previousStart previousEnd \
         previousRoom { id name } reservation { id title organizerName organizerEmail status \
         start end createdAt updatedAt checkedInAt releasedAt series { id } \
         room { id name capacity timeZone features policy { bufferMinutes } } } } }",
    ),
    (
        "named, aliased, with fragments, variables, directives and a nested argument",
        "subscription Panel($room: ID, $tz: String, $withRoom: Boolean!) { \
         ev: reservationEvents(roomId: $room) { __typename ...What \
         previousRoom @include(if: $withRoom) { name } \
         reservation { local: start(timeZone: $tz) ... on Reservation { utc: start } } } } \
         fragment What on ReservationEvent { kind reservation { id title } }",
    ),
    (
        "an error in a nested field, every time",
        "subscription { reservationEvents { kind reservation { id start(timeZone: \"Mars/Olympus\") } } }",
    ),
    (
        "a list under the event",
        "subscription { reservationEvents { kind reservation { room { name busy { start end } reservations { id } } } } }",
    ),
];

#[tokio::test]
async fn live_delivery_sends_what_an_execution_yields() {
    let side = side(4096).await;
    let a = room(&side.db, "A").await;
    let b = room(&side.db, "B").await;
    let vars = json!({"room": a.to_string(), "tz": "Europe/Berlin", "withRoom": true});
    let mut executions = Vec::new();
    let mut lives = Vec::new();
    for (_, doc) in DOCUMENTS {
        executions.push(started(executed(&side, request(doc, vars.clone()))).await);
        lives.push(live(&side, request(doc, vars.clone()), Principal::Open).await);
    }
    let id = book(&side.db, a, 1, "Plan; review, \\ \"Q4\" — naïve").await;
    side.db
        .reschedule(
            id,
            RescheduleRequest::new(None, None, Some(b)).unwrap(),
            Actor::Anyone,
            None,
        )
        .await
        .unwrap();
    side.db.cancel(id, Actor::Anyone, None).await.unwrap();
    for (i, (what, _)) in DOCUMENTS.iter().enumerate() {
        // The room filter of the second document passes the booking and the move out of A,
        // not the cancellation in B; the others see all three.
        let n = if i == 1 { 2 } else { 3 };
        for k in 0..n {
            let want = next_executed(&mut executions[i]).await;
            let got = next_live(&mut lives[i]).await;
            assert_eq!(got, want, "{what}, event {k}");
            if i == 2 {
                // The nested error, path and all, with its code.
                assert_eq!(want["errors"][0]["path"][1], "reservation", "{want}");
                assert_eq!(
                    want["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{want}"
                );
            } else {
                assert!(want.get("errors").is_none(), "{what}: {want}");
            }
        }
    }
}

#[tokio::test]
async fn live_delivery_catches_up_and_reports_missed_events_as_an_execution_does() {
    for prune in [false, true] {
        // A fan-out of 4: both fall behind 10 bookings and catch up from the log.
        let side = side(4).await;
        let a = room(&side.db, "A").await;
        // Before both: never sent, not even when catching up.
        book(&side.db, a, 30, "before").await;
        let doc = "subscription { reservationEvents { kind reservation { title start } } }";
        let mut executed = started(executed(&side, request(doc, json!({})))).await;
        let mut live = live(&side, request(doc, json!({})), Principal::Open).await;
        for i in 0..10 {
            book(&side.db, a, i, &format!("#{i}")).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while side.db.events().published() < 11 {
            assert!(std::time::Instant::now() < deadline, "events not published");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if prune {
            // The log keeps only the last 2: both are told they missed 10, then go on live.
            side.db.prune_events(2).await.unwrap();
            let want = next_executed(&mut executed).await;
            assert_eq!(
                want["errors"][0]["extensions"]["missedEvents"], 10,
                "{want}"
            );
            assert_eq!(next_live(&mut live).await, want);
            book(&side.db, a, 20, "after").await;
            let want = next_executed(&mut executed).await;
            assert_eq!(
                want["data"]["reservationEvents"]["reservation"]["title"],
                "after"
            );
            assert_eq!(next_live(&mut live).await, want);
        } else {
            for i in 0..10 {
                let want = next_executed(&mut executed).await;
                let title = format!("#{i}");
                assert_eq!(
                    want["data"]["reservationEvents"]["reservation"]["title"],
                    title.as_str()
                );
                assert_eq!(next_live(&mut live).await, want, "event {i}");
            }
        }
    }
}

fn member(subject: &str) -> Principal {
    Principal::Token(Arc::new(Identity {
        subject: Some(subject.into()),
        issuer: "https://issuer.example".into(),
        name: Some(subject.into()),
        email: Some(format!("{subject}@example.com")),
        roles: vec![],
        admin: false,
        expires_at: i64::MAX,
    }))
}

#[tokio::test]
async fn subscribers_of_one_document_and_caller_share_one_plan() {
    let side = side(4096).await;
    let a = room(&side.db, "A").await;
    let doc = "subscription($room: ID) { reservationEvents(roomId: $room) { kind reservation { id title } } }";
    let all = json!({});
    let mut subs = Vec::new();
    for _ in 0..20 {
        subs.push(live(&side, request(doc, all.clone()), Principal::Open).await);
    }
    assert_eq!(side.live.plans(), 1);
    // Other variables, another caller, another document: a plan each.
    subs.push(
        live(
            &side,
            request(doc, json!({"room": a.to_string()})),
            Principal::Open,
        )
        .await,
    );
    subs.push(live(&side, request(doc, all.clone()), member("ada")).await);
    subs.push(live(&side, request(doc, all.clone()), member("bob")).await);
    let other = "subscription { reservationEvents { kind } }";
    subs.push(live(&side, request(other, all.clone()), Principal::Open).await);
    assert_eq!(side.live.plans(), 5);
    // Every subscriber still gets every event it is owed, in order.
    let first = book(&side.db, a, 1, "one").await;
    let second = book(&side.db, a, 2, "two").await;
    for sub in subs.iter_mut().take(23) {
        for id in [first, second] {
            let got = next_live(sub).await;
            assert_eq!(
                got["data"]["reservationEvents"]["reservation"]["id"],
                id.to_string().as_str()
            );
        }
    }
    drop(subs);
    assert_eq!(side.live.plans(), 0);
}

#[tokio::test]
async fn what_live_delivery_does_not_take_runs_as_before() {
    let side = side(4096).await;
    for (doc, operation) in [
        // Two operations, two root fields, a query: not a lone reservationEvents subscription.
        (
            "subscription A { reservationEvents { kind } } query B { rooms { id } }",
            Some("A"),
        ),
        (
            "subscription { reservationEvents { kind } __typename }",
            None,
        ),
        ("{ rooms { id } }", None),
        // Its one field skipped: the execution has nothing to run, and says so by ending.
        (
            "subscription { reservationEvents @include(if: false) { kind } }",
            None,
        ),
    ] {
        let mut req = request(doc, json!({}));
        req.operation_name = operation.map(str::to_owned);
        match side.live.start(&side.schema, req, Principal::Open).await {
            Started::Responses(mut r) if doc.contains("@include") => {
                assert!(r.next().await.is_none(), "{doc}: nothing, then the end");
            }
            Started::Responses(_) => {}
            Started::Live(_) => panic!("{doc} went live"),
        }
    }
    // Refused at the start: the execution's own error, and no feed left running.
    let refused = "subscription { reservationEvents(roomId: \"nope\") { kind } }";
    match side
        .live
        .start(&side.schema, request(refused, json!({})), Principal::Open)
        .await
    {
        Started::Responses(mut r) => {
            let r = r.next().await.expect("an error");
            assert_eq!(
                r.errors[0].extensions.as_ref().unwrap().get("code"),
                Some(&async_graphql::Value::from("BAD_USER_INPUT"))
            );
        }
        Started::Live(_) => panic!("a malformed room id went live"),
    }
    assert_eq!(side.db.events().subscriber_count(), 0);
    assert_eq!(side.live.plans(), 0);
}

#[tokio::test]
async fn over_a_socket_both_kinds_of_subscription_stream_events() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let mut ws = crate::ws_client::WsClient::ready(&app).await;
    // Live delivery, and a document it does not take (two operations).
    ws.subscribe(
        "live",
        "subscription { reservationEvents { kind reservation { id } } }",
        json!({}),
    )
    .await;
    ws.send(json!({"type": "subscribe", "id": "run", "payload": {
        "query": "query Q { rooms { id } } subscription S { reservationEvents { kind reservation { id } } }",
        "operationName": "S"}}))
        .await;
    app.wait_for_subscribers(2).await;
    let id = app.book(&a, &at(60), &at(120)).await;
    let mut got = std::collections::HashMap::new();
    for _ in 0..2 {
        let msg = ws.recv().await;
        assert_eq!(msg["type"], "next", "{msg}");
        got.insert(
            msg["id"].as_str().unwrap().to_owned(),
            msg["payload"].clone(),
        );
    }
    let want =
        json!({"data": {"reservationEvents": {"kind": "BOOKED", "reservation": {"id": id}}}});
    assert_eq!(got["live"], want);
    assert_eq!(got["run"], want);
    // Completing either ends it alone.
    ws.send(json!({"type": "complete", "id": "live"})).await;
    app.wait_for_subscribers(1).await;
}
