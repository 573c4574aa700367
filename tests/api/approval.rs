//! API.md "Room managers and approval" (approval): PENDING reservations hold their slot
//! everywhere a CONFIRMED one does, managers approve and decline them (one by one or a whole
//! series), an undecided one expires at its deadline exactly once, a reschedule waits again,
//! and an approval racing the expiry has one winner.

use chrono::Duration;
use roombook::events::EventKind;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::tokens::*;

const CREATE: &str = "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id policy { approvalRequired approvalTimeoutHours } } }";
const FIELDS: &str =
    "id status start end createdAt updatedAt approvalDeadline decidedAt decisionReason";
const APPROVE: &str =
    "mutation($id: ID!) { approveReservation(id: $id) { id status approvalDeadline decidedAt } }";
const DECLINE: &str = "mutation($id: ID!, $r: String) { declineReservation(id: $id, reason: $r) { id status decidedAt decisionReason } }";
const PENDING: &str =
    "query($r: ID) { pendingApprovals(roomId: $r) { id status approvalDeadline } }";

fn root() -> String {
    hs256(&admin("root"))
}

fn ada() -> String {
    hs256(&member("ada"))
}

fn mia() -> String {
    hs256(&member("mia"))
}

fn t(s: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap_or_else(|| panic!("{s}")))
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// An approval room managed by `mia`, with `policy` added to its policy.
async fn approval_room(app: &TestApp, name: &str, policy: Value) -> String {
    let mut p = json!({"approvalRequired": true});
    p.as_object_mut()
        .unwrap()
        .extend(policy.as_object().unwrap().clone());
    let input = json!({"name": name, "capacity": 6, "managers": ["mia"], "policy": p});
    let v = app
        .graphql_as(Some(&root()), CREATE, json!({ "i": input }))
        .await;
    assert_eq!(
        v["data"]["createRoom"]["policy"]["approvalRequired"], true,
        "{v}"
    );
    v["data"]["createRoom"]["id"].as_str().unwrap().to_owned()
}

async fn book(app: &TestApp, token: &str, room: &str, from: i64, to: i64) -> Value {
    let v = app
        .graphql_as(
            Some(token),
            &format!("mutation($i: BookRoomInput!) {{ bookRoom(input: $i) {{ {FIELDS} }} }}"),
            json!({"i": {"roomId": room, "start": at(from), "end": at(to)}}),
        )
        .await;
    v["data"]["bookRoom"].clone()
}

async fn try_book(app: &TestApp, token: &str, room: &str, from: i64, to: i64) -> Value {
    app.graphql_as(
        Some(token),
        "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id status } }",
        json!({"i": {"roomId": room, "start": at(from), "end": at(to)}}),
    )
    .await
}

async fn read(app: &TestApp, id: &str) -> Value {
    let v = app
        .graphql_as(
            Some(&root()),
            &format!("query($id: ID!) {{ reservation(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await;
    v["data"]["reservation"].clone()
}

/// The logged events of `room`: (kind, reservation id, its status then).
async fn events(app: &TestApp, room: &str) -> Vec<(EventKind, String, String)> {
    let room = uuid::Uuid::parse_str(room).unwrap();
    app.db
        .replay(0, i64::MAX, Some(room), 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.kind,
                e.reservation.id.to_string(),
                e.reservation.status.as_str().to_owned(),
            )
        })
        .collect()
}

/// Cancelling `id` (as its owner, ada) is `ALREADY_CANCELLED`, the message saying `why`.
async fn cancel_is_refused_as(app: &TestApp, id: &str, why: &str) {
    let v = app
        .graphql_as(
            Some(&ada()),
            "mutation($id: ID!) { cancelReservation(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_refused(&v, "ALREADY_CANCELLED");
    let message = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{v}");
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("{v}")).to_owned()
}

#[tokio::test]
async fn a_pending_reservation_holds_its_slot_everywhere_until_a_manager_approves_it() {
    let app = spawn_hs256().await;
    let policy = json!({"bufferMinutes": 15, "approvalTimeoutHours": 168});
    let room = approval_room(&app, "Boardroom", policy).await;
    let pending = book(&app, &ada(), &room, 60, 120).await;
    assert_eq!(pending["status"], "PENDING", "{pending}");
    let id = str_of(&pending["id"]);
    // Deadline: its start, earlier than booking time + 168 h.
    assert_eq!(pending["approvalDeadline"], at(60));
    assert_eq!(pending["decidedAt"], Value::Null);

    // It blocks an overlap and counts for the buffer, as CONFIRMED does.
    let v = try_book(&app, &hs256(&member("bob")), &room, 90, 150).await;
    assert_refused(&v, "OVERLAP");
    assert_eq!(
        v["errors"][0]["extensions"]["conflictingReservationId"],
        id.as_str()
    );
    let v = try_book(&app, &hs256(&member("bob")), &room, 125, 150).await;
    assert_refused(&v, "POLICY_VIOLATION");
    // Listed, busy, not free, not available, in the feed as TENTATIVE.
    let v = app
        .graphql_as(
            Some(&ada()),
            "query($r: ID!, $f: DateTime, $to: DateTime, $s: DateTime!, $e: DateTime!) {
               reservations(roomId: $r, from: $f) { id status }
               room(id: $r) { busy(from: $f, to: $to) { start end }
                              freeSlots(from: $f, to: $to) { start end } }
               availableRooms(start: $s, end: $e) { id } }",
            json!({"r": room, "f": at(0), "to": at(240), "s": at(60), "e": at(120)}),
        )
        .await;
    assert_eq!(
        v["data"]["reservations"],
        json!([{"id": id, "status": "PENDING"}]),
        "{v}"
    );
    assert_eq!(
        v["data"]["room"]["busy"],
        json!([{"start": at(60), "end": at(120)}])
    );
    assert_eq!(
        v["data"]["room"]["freeSlots"],
        json!([{"start": at(0), "end": at(45)}, {"start": at(135), "end": at(240)}])
    );
    assert_eq!(v["data"]["availableRooms"], json!([]));
    let feed = app
        .client
        .get(app.url(&format!("/calendar/rooms/{room}.ics")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("STATUS:TENTATIVE\r\n"), "{feed}");
    // It cannot be checked in to.
    advance_to(&app, base() + Duration::minutes(55));
    let v = app
        .graphql_as(
            Some(&ada()),
            "mutation($id: ID!) { checkIn(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_refused(&v, "CHECK_IN_CLOSED");

    // Only the room's managers and admins decide, and see it waiting.
    for token in [ada(), hs256(&member("otto"))] {
        assert_refused(
            &app.graphql_as(Some(&token), APPROVE, json!({"id": id}))
                .await,
            "FORBIDDEN",
        );
        assert_refused(
            &app.graphql_as(Some(&token), DECLINE, json!({"id": id}))
                .await,
            "FORBIDDEN",
        );
        let v = app.graphql_as(Some(&token), PENDING, json!({})).await;
        assert_eq!(v["data"]["pendingApprovals"], json!([]), "{v}");
        let v = app
            .graphql_as(Some(&token), PENDING, json!({"r": room}))
            .await;
        assert_refused(&v, "FORBIDDEN");
    }
    assert_refused(
        &app.graphql_as(None, PENDING, json!({})).await,
        "UNAUTHENTICATED",
    );
    for token in [mia(), root()] {
        let v = app
            .graphql_as(Some(&token), PENDING, json!({"r": room}))
            .await;
        assert_eq!(v["data"]["pendingApprovals"][0]["id"], id.as_str(), "{v}");
    }
    let v = app
        .graphql_as(Some(&mia()), APPROVE, json!({"id": id}))
        .await;
    let approved = &v["data"]["approveReservation"];
    assert_eq!(approved["status"], "CONFIRMED", "{v}");
    assert_eq!(approved["approvalDeadline"], Value::Null);
    assert!(approved["decidedAt"].is_string());
    // Decided once: again, either way, is NOT_PENDING.
    assert_refused(
        &app.graphql_as(Some(&mia()), APPROVE, json!({"id": id}))
            .await,
        "NOT_PENDING",
    );
    assert_refused(
        &app.graphql_as(Some(&root()), DECLINE, json!({"id": id}))
            .await,
        "NOT_PENDING",
    );
    let v = app.graphql_as(Some(&mia()), PENDING, json!({})).await;
    assert_eq!(v["data"]["pendingApprovals"], json!([]));
    // Approved, it can be checked in to.
    let v = app
        .graphql_as(
            Some(&ada()),
            "mutation($id: ID!) { checkIn(id: $id) { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(v["data"]["checkIn"]["status"], "CONFIRMED", "{v}");
    assert_eq!(
        events(&app, &room).await,
        vec![
            (EventKind::Booked, id.clone(), "PENDING".into()),
            (EventKind::Approved, id.clone(), "CONFIRMED".into()),
            (EventKind::CheckedIn, id.clone(), "CONFIRMED".into()),
        ]
    );
}

#[tokio::test]
async fn managers_and_admins_book_an_approval_room_confirmed_and_plain_rooms_never_wait() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Board", json!({})).await;
    // Booking time + 48 h (the default timeout), when that is before the start.
    let waits = book(&app, &ada(), &room, 600, 630).await;
    assert_eq!(
        t(&waits["approvalDeadline"]),
        t(&waits["createdAt"]) + Duration::hours(48)
    );
    for (n, token) in [(0, mia()), (1, root())] {
        let v = book(&app, &token, &room, 60 * n, 60 * n + 30).await;
        assert_eq!(v["status"], "CONFIRMED", "{v}");
        assert_eq!(v["approvalDeadline"], Value::Null);
    }
    let plain = app
        .graphql_as(
            Some(&root()),
            CREATE,
            json!({"i": {"name": "Plain", "capacity": 4}}),
        )
        .await;
    assert_eq!(
        plain["data"]["createRoom"]["policy"]["approvalRequired"],
        false
    );
    assert_eq!(
        plain["data"]["createRoom"]["policy"]["approvalTimeoutHours"],
        48
    );
    let plain = str_of(&plain["data"]["createRoom"]["id"]);
    assert_eq!(
        book(&app, &ada(), &plain, 0, 30).await["status"],
        "CONFIRMED"
    );
    let metrics = crate::metrics::scrape(&app).await;
    assert!(
        metrics.contains("roombook_bookings_total{outcome=\"PENDING\"} 1")
            && metrics.contains("roombook_bookings_total{outcome=\"booked\"} 3"),
        "a booking that waits is an outcome of its own: {metrics}"
    );
    // The deadline is never after the start; timeouts are 1-168 hours.
    let soon = approval_room(&app, "Soon", json!({"approvalTimeoutHours": 168})).await;
    let v = book(&app, &ada(), &soon, 0, 30).await;
    assert_eq!(v["approvalDeadline"], at(0), "{v}");
    for bad in [0, 169] {
        let v = app
            .graphql_as(
                Some(&root()),
                CREATE,
                json!({"i": {"name": format!("Bad {bad}"), "capacity": 4,
                             "policy": {"approvalRequired": true, "approvalTimeoutHours": bad}}}),
            )
            .await;
        assert_refused(&v, "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn a_declined_reservation_frees_its_slot_keeps_the_reason_and_is_final() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Decline", json!({})).await;
    let id = str_of(&book(&app, &ada(), &room, 0, 60).await["id"]);
    let long = "n".repeat(501);
    let v = app
        .graphql_as(Some(&mia()), DECLINE, json!({"id": id, "r": long}))
        .await;
    assert_refused(&v, "BAD_USER_INPUT");
    let v = app
        .graphql_as(
            Some(&mia()),
            DECLINE,
            json!({"id": id, "r": " Board meeting "}),
        )
        .await;
    let declined = &v["data"]["declineReservation"];
    assert_eq!(declined["status"], "DECLINED", "{v}");
    assert_eq!(declined["decisionReason"], "Board meeting");
    // The slot is free: someone else's booking there waits in turn.
    let bob = book(&app, &hs256(&member("bob")), &room, 0, 60).await;
    assert_eq!(bob["status"], "PENDING", "{bob}");
    // Final: cancel and reschedule say it was declined.
    cancel_is_refused_as(&app, &id, "declined").await;
    let v = app
        .graphql_as(
            Some(&ada()),
            "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id } }",
            json!({"i": {"id": id, "start": at(120), "end": at(180)}}),
        )
        .await;
    assert_refused(&v, "ALREADY_CANCELLED");
    // Listed with includeCancelled only.
    let v = app
        .graphql_as(
            Some(&ada()),
            "query($r: ID!, $f: DateTime) { open: reservations(roomId: $r, from: $f) { id status }
               all: reservations(roomId: $r, from: $f, includeCancelled: true) { id status } }",
            json!({"r": room, "f": at(-10)}),
        )
        .await;
    let bob_id = str_of(&bob["id"]);
    assert_eq!(
        v["data"]["open"],
        json!([{"id": bob_id, "status": "PENDING"}]),
        "{v}"
    );
    assert_eq!(v["data"]["all"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        events(&app, &room).await,
        vec![
            (EventKind::Booked, id.clone(), "PENDING".into()),
            (EventKind::Declined, id.clone(), "DECLINED".into()),
            (EventKind::Booked, bob_id.clone(), "PENDING".into()),
        ]
    );
    // Its owner may cancel a PENDING one.
    let v = app
        .graphql_as(
            Some(&hs256(&member("bob"))),
            "mutation($id: ID!) { cancelReservation(id: $id) { status approvalDeadline } }",
            json!({"id": bob_id}),
        )
        .await;
    assert_eq!(v["data"]["cancelReservation"]["status"], "CANCELLED", "{v}");
    assert_eq!(
        v["data"]["cancelReservation"]["approvalDeadline"],
        Value::Null
    );
    let v = app.graphql_as(Some(&mia()), PENDING, json!({})).await;
    assert_eq!(v["data"]["pendingApprovals"], json!([]));
}

#[tokio::test]
async fn an_undecided_reservation_expires_at_its_deadline_once_and_frees_its_slot() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Expiry", json!({"approvalTimeoutHours": 1})).await;
    let early = book(&app, &ada(), &room, 0, 60).await;
    let later = book(&app, &ada(), &room, 120, 180).await;
    let deadline = t(&early["approvalDeadline"]);
    assert_eq!(deadline, t(&early["createdAt"]) + Duration::hours(1));
    let (early, later) = (str_of(&early["id"]), str_of(&later["id"]));
    advance_to(&app, deadline - Duration::seconds(2));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(read(&app, &early).await["status"], "PENDING");
    // Past the deadline, a decision is too late even before the job has run.
    advance_to(
        &app,
        t(&read(&app, &later).await["approvalDeadline"]) + Duration::seconds(1),
    );
    let expired = loop {
        let r = read(&app, &early).await;
        if r["status"] != "PENDING" {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(expired["status"], "EXPIRED", "{expired}");
    assert_eq!(expired["approvalDeadline"], Value::Null);
    assert!(t(&expired["decidedAt"]) >= deadline);
    assert_refused(
        &app.graphql_as(Some(&mia()), APPROVE, json!({"id": early}))
            .await,
        "NOT_PENDING",
    );
    cancel_is_refused_as(&app, &early, "expired").await;
    // Both expired, each once; their slots are free.
    while read(&app, &later).await["status"] == "PENDING" {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        book(&app, &mia(), &room, 0, 180).await["status"],
        "CONFIRMED"
    );
    let expiries: Vec<String> = events(&app, &room)
        .await
        .into_iter()
        .filter(|(k, _, _)| *k == EventKind::Expired)
        .map(|(_, id, status)| {
            assert_eq!(status, "EXPIRED");
            id
        })
        .collect();
    assert_eq!(expiries, vec![early, later]);
}

#[tokio::test]
async fn a_reschedule_by_the_owner_waits_again_and_one_by_a_manager_does_not() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Moves", json!({})).await;
    let plain = app
        .graphql_as(
            Some(&root()),
            CREATE,
            json!({"i": {"name": "Plain", "capacity": 4}}),
        )
        .await;
    let plain = str_of(&plain["data"]["createRoom"]["id"]);
    const MOVE: &str = "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id status approvalDeadline updatedAt } }";
    let id = str_of(&book(&app, &ada(), &room, 0, 60).await["id"]);
    app.graphql_as(Some(&mia()), APPROVE, json!({"id": id}))
        .await;
    assert_eq!(read(&app, &id).await["status"], "CONFIRMED");
    // The owner moves it: PENDING again, its deadline counted from the move.
    advance_to(&app, app.db.now() + Duration::minutes(5));
    let v = app
        .graphql_as(
            Some(&ada()),
            MOVE,
            json!({"i": {"id": id, "start": at(600), "end": at(660)}}),
        )
        .await;
    let moved = &v["data"]["rescheduleReservation"];
    assert_eq!(moved["status"], "PENDING", "{v}");
    assert_eq!(
        t(&moved["approvalDeadline"]),
        t(&moved["updatedAt"]) + Duration::hours(48)
    );
    // A manager moves it a day earlier: still PENDING, the deadline never after the new start
    // (which is sooner than the 48 hours).
    let v = app
        .graphql_as(
            Some(&mia()),
            MOVE,
            json!({"i": {"id": id, "start": at(-1800), "end": at(-1740)}}),
        )
        .await;
    let moved = &v["data"]["rescheduleReservation"];
    assert_eq!(moved["status"], "PENDING", "{v}");
    assert_eq!(moved["approvalDeadline"], at(-1800));
    // Into an approval room from a plain one: PENDING.
    let other = str_of(&book(&app, &ada(), &plain, 0, 60).await["id"]);
    let v = app
        .graphql_as(
            Some(&ada()),
            MOVE,
            json!({"i": {"id": other, "roomId": room, "start": at(300), "end": at(360)}}),
        )
        .await;
    assert_eq!(
        v["data"]["rescheduleReservation"]["status"], "PENDING",
        "{v}"
    );
}

#[tokio::test]
async fn a_series_in_an_approval_room_waits_and_is_decided_at_once() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Weekly", json!({})).await;
    const SERIES: &str = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id } occurrences { id status } } }";
    let mut ids = Vec::new();
    for n in 0..2 {
        let v = app
            .graphql_as(
                Some(&ada()),
                SERIES,
                json!({"i": {"roomId": room, "start": at(60 * n), "end": at(60 * n + 30),
                             "recurrence": {"frequency": "WEEKLY", "count": 3}}}),
            )
            .await;
        let occ = v["data"]["bookSeries"]["occurrences"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"));
        assert!(occ.iter().all(|o| o["status"] == "PENDING"), "{v}");
        ids.push(str_of(&v["data"]["bookSeries"]["series"]["id"]));
    }
    const DECIDE: &str =
        "mutation($id: ID!) { approveSeries(id: $id) { id occurrences { status } } }";
    assert_refused(
        &app.graphql_as(Some(&ada()), DECIDE, json!({"id": ids[0]}))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .graphql_as(Some(&mia()), DECIDE, json!({"id": ids[0]}))
        .await;
    assert_eq!(
        v["data"]["approveSeries"]["occurrences"],
        json!([{"status": "CONFIRMED"}, {"status": "CONFIRMED"}, {"status": "CONFIRMED"}]),
        "{v}"
    );
    assert_refused(
        &app.graphql_as(Some(&mia()), DECIDE, json!({"id": ids[0]}))
            .await,
        "NOT_PENDING",
    );
    let v = app
        .graphql_as(
            Some(&mia()),
            "mutation($id: ID!) { declineSeries(id: $id, reason: \"no\") { occurrences(includeCancelled: true) { status decisionReason } } }",
            json!({"id": ids[1]}),
        )
        .await;
    let occ = v["data"]["declineSeries"]["occurrences"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(occ.len(), 3);
    assert!(
        occ.iter()
            .all(|o| o["status"] == "DECLINED" && o["decisionReason"] == "no"),
        "{v}"
    );
    let kinds: Vec<EventKind> = events(&app, &room).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Approved).count(),
        3
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Declined).count(),
        3
    );
}

/// An approval and the expiry racing for one reservation: the server's clock passes its
/// deadline while a manager's approval is on its way. Exactly one wins: one event (APPROVED
/// or EXPIRED), and the status agrees with it and with the approval's answer.
#[tokio::test]
async fn an_approval_racing_the_expiry_has_one_winner_and_one_event() {
    let app = spawn_hs256().await;
    let room = approval_room(&app, "Race", json!({"approvalTimeoutHours": 1})).await;
    let (mut approved, mut expired) = (0, 0);
    for round in 0..24 {
        let r = book(&app, &ada(), &room, 60 * round, 60 * round + 30).await;
        let id = str_of(&r["id"]);
        let deadline = t(&r["approvalDeadline"]);
        let by = deadline - app.db.now() + Duration::milliseconds(1);
        // The clock passes the deadline from another thread, 0 to 1.2 ms after the approval
        // is sent: early rounds expire first, late ones approve first, some meet.
        let clock = app.db.clock().clone();
        let delay = std::time::Duration::from_micros(50 * round as u64);
        let racer = std::thread::spawn(move || {
            let sent = std::time::Instant::now();
            while sent.elapsed() < delay {
                std::hint::spin_loop();
            }
            clock.advance(by);
        });
        let answer = app
            .graphql_as(Some(&mia()), APPROVE, json!({"id": id}))
            .await;
        racer.join().unwrap();
        let status = loop {
            let s = read(&app, &id).await["status"].clone();
            if s != "PENDING" {
                break s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        let decided: Vec<EventKind> = events(&app, &room)
            .await
            .into_iter()
            .filter(|(k, r, _)| *r == id && *k != EventKind::Booked)
            .map(|e| e.0)
            .collect();
        match status.as_str() {
            Some("CONFIRMED") => {
                approved += 1;
                assert!(answer["errors"].is_null(), "{answer}");
                assert_eq!(decided, vec![EventKind::Approved]);
            }
            Some("EXPIRED") => {
                expired += 1;
                assert_refused(&answer, "NOT_PENDING");
                assert_eq!(decided, vec![EventKind::Expired]);
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    eprintln!("approval vs expiry: {approved} approved, {expired} expired");
    assert_eq!(approved + expired, 24);
}
