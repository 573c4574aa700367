//! Several replicas: real processes of the built binary on one PostgreSQL database, started
//! together (each migrates at start). `scripts/test.sh` runs these.

use std::collections::{HashMap, HashSet};

use chrono::DurationRound;
use roombook::events::EventKind;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::process::{assert_kept, book_until_killed, Running};
use crate::ws_client::*;

const BOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }";

/// `n` replicas on one fresh database, started at the same time.
async fn replicas(n: usize) -> (Vec<Running>, String) {
    assert!(on_postgres(), "PostgreSQL only: scripts/test.sh runs it");
    let database = fresh_database().await;
    let args = ["--database", database.as_str(), "--db-pool-size", "8"];
    let started = futures_util::future::join_all((0..n).map(|_| Running::start(&args))).await;
    (started, database)
}

fn book_vars(room: &str, start: &str, end: &str) -> Value {
    json!({"i": {"roomId": room, "start": start, "end": end,
                 "organizerName": "Ada", "organizerEmail": "ada@example.com"}})
}

/// Waits until the subscription `ws` just asked for is live (another process cannot be asked):
/// books probes in `room` (a year ahead) through `via` until one arrives, then drains any
/// other. Returns the last event seen.
async fn until_live(ws: &mut WsClient, via: &Running, room: &str) -> Value {
    let year = 365 * 24 * 60;
    for probe in 0..50 {
        let v = via
            .gql(
                BOOK,
                book_vars(room, &at(year + 60 * probe), &at(year + 60 * probe + 30)),
            )
            .await;
        assert!(v["errors"].is_null(), "{v}");
        if let Some(mut last) = ws.try_recv(std::time::Duration::from_millis(300)).await {
            while let Some(more) = ws.try_recv(std::time::Duration::from_millis(300)).await {
                last = more;
            }
            return last["payload"]["data"]["reservationEvents"].clone();
        }
    }
    panic!("the subscription never went live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn sixty_four_overlapping_bookings_over_three_replicas_have_one_winner_every_round() {
    let (replicas, _) = replicas(3).await;
    let room = replicas[0].create_room("Contested").await;
    let client = reqwest::Client::new();
    let rounds = 50;
    let mut bad_rounds = Vec::new();
    for round in 0..rounds {
        // 64 slots that all contain the minute at 10 past the round's hour.
        let requests = (0..64).map(|i| {
            let replica = &replicas[i % 3];
            let start = at(60 * round + (i as i64 % 10));
            let end = at(60 * round + 11 + (i as i64 % 7));
            let body = json!({"query": BOOK, "variables": book_vars(&room, &start, &end)});
            let client = client.clone();
            async move {
                let v: Value = client
                    .post(format!("{}/graphql", replica.base))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v
            }
        });
        let results = futures_util::future::join_all(requests).await;
        let won = results
            .iter()
            .filter(|v| v["data"]["bookRoom"]["id"].is_string())
            .count();
        let overlaps = results
            .iter()
            .filter(|v| code(v) == Some("OVERLAP"))
            .count();
        if won != 1 || overlaps != 63 {
            bad_rounds.push((round, won, overlaps));
        }
    }
    eprintln!(
        "64-way race on 3 replicas: {} of {rounds} rounds with other than one winner",
        bad_rounds.len()
    );
    assert!(
        bad_rounds.is_empty(),
        "rounds (round, winners, overlaps): {bad_rounds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_subscriber_on_one_replica_gets_every_change_through_the_others_once_in_room_order() {
    let (replicas, _) = replicas(3).await;
    let rooms = [
        replicas[1].create_room("East").await,
        replicas[2].create_room("West").await,
    ];
    let mut ws = WsClient::ready_at(replicas[0].addr).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    until_live(&mut ws, &replicas[1], &rooms[0]).await;
    let mut expected = HashSet::new();

    // Concurrent bookings through replicas 1 and 2, then a move and a cancel of each.
    let writes = (0..30).map(|i| {
        let (replica, room) = (&replicas[1 + i % 2], &rooms[i % 2]);
        async move {
            let v = replica.gql(BOOK, book_vars(room, &at(60 * i as i64), &at(60 * i as i64 + 30))).await;
            let id = v["data"]["bookRoom"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
            let moved = replica
                .gql(
                    "mutation($id: ID!, $s: DateTime) { rescheduleReservation(input: {id: $id, start: $s}) { id } }",
                    json!({"id": id, "s": at(60 * i as i64 + 10)}),
                )
                .await;
            assert!(moved["errors"].is_null(), "{moved}");
            let cancelled = replica
                .gql("mutation($id: ID!) { cancelReservation(id: $id) { id } }", json!({"id": id}))
                .await;
            assert!(cancelled["errors"].is_null(), "{cancelled}");
            id
        }
    });
    let ids = futures_util::future::join_all(writes).await;
    for id in &ids {
        for kind in ["BOOKED", "RESCHEDULED", "CANCELLED"] {
            expected.insert((kind.to_owned(), id.clone()));
        }
    }
    let mut got = Vec::new();
    for _ in 0..expected.len() {
        got.push(ws.event("1").await);
    }
    assert!(
        ws.try_recv(std::time::Duration::from_millis(300))
            .await
            .is_none(),
        "an event twice"
    );
    let received: HashSet<(String, String)> = got
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["reservation"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(received, expected, "every change once");
    // Per room: each reservation's changes in the order they were made, times never back.
    let mut per_room: HashMap<String, Vec<&Value>> = HashMap::new();
    for e in &got {
        per_room
            .entry(e["reservation"]["room"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(e);
    }
    for events in per_room.values() {
        // As instants: RFC 3339 strings with 3 and 6 fractional digits do not sort as text
        // (".120Z" > ".120871Z").
        let instant =
            |e: &Value| chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
        assert!(events.windows(2).all(|w| instant(w[0]) <= instant(w[1])));
        let mut stage: HashMap<&str, usize> = HashMap::new();
        for e in events {
            let order = ["BOOKED", "RESCHEDULED", "CANCELLED"];
            let k = order.iter().position(|k| e["kind"] == *k).unwrap();
            let s = stage
                .entry(e["reservation"]["id"].as_str().unwrap())
                .or_insert(0);
            assert_eq!(*s, k, "out of commit order: {e}");
            *s += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_cursor_from_one_replica_resumes_on_another() {
    let (replicas, _) = replicas(3).await;
    let room = replicas[0].create_room("A").await;
    let mut ws = WsClient::ready_at(replicas[0].addr).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    let seen = until_live(&mut ws, &replicas[1], &room).await;
    let cursor = seen["cursor"].as_str().unwrap().to_owned();
    ws.close().await;
    let mut missed = Vec::new();
    for i in 1..6 {
        let v = replicas[1]
            .gql(BOOK, book_vars(&room, &at(60 * i), &at(60 * i + 30)))
            .await;
        missed.push(v["data"]["bookRoom"]["id"].as_str().unwrap().to_owned());
    }
    let mut ws = WsClient::ready_at(replicas[2].addr).await;
    ws.subscribe("1", EVENTS, json!({"after": cursor})).await;
    for id in &missed {
        assert_eq!(ws.event("1").await["reservation"]["id"], id.as_str());
    }
    let live = replicas[0]
        .gql(BOOK, book_vars(&room, &at(600), &at(630)))
        .await;
    assert_eq!(
        ws.event("1").await["reservation"]["id"],
        live["data"]["bookRoom"]["id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_replica_killed_mid_stream_loses_no_acknowledged_booking() {
    let (mut replicas, _) = replicas(2).await;
    let survivor = replicas.pop().unwrap();
    let victim = replicas.pop().unwrap();
    let room = victim.create_room("Busy").await;
    let pid = victim.child.id().to_string();
    let acked = book_until_killed(&victim, &room, || {
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        assert!(killed.unwrap().success());
    })
    .await;
    assert_kept(&survivor, &room, &acked).await;
}

/// API.md "Idempotent mutations": 32 concurrent `bookRoom` with one key, spread over three
/// replicas, make one reservation and one BOOKED event, and all 32 get the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn one_idempotency_key_over_three_replicas_books_once() {
    let (replicas, _) = replicas(3).await;
    let room = replicas[0].create_room("Retried").await;
    let mut ws = WsClient::ready_at(replicas[2].addr).await;
    ws.subscribe(
        "1",
        "subscription($r: ID!) { reservationEvents(roomId: $r) { kind reservation { id } } }",
        json!({"r": room}),
    )
    .await;
    let probe = until_live(&mut ws, &replicas[0], &room).await;
    let client = reqwest::Client::new();
    for round in 0..5 {
        let key = format!("retry-{round}");
        let mut vars = book_vars(&room, &at(60 * round), &at(60 * round + 30));
        vars["i"]["idempotencyKey"] = json!(key);
        let body = json!({"query": BOOK, "variables": vars});
        let answers = futures_util::future::join_all((0..32).map(|i| {
            let (client, body) = (client.clone(), body.clone());
            let url = format!("{}/graphql", replicas[i % 3].base);
            async move {
                let v: Value = client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v
            }
        }))
        .await;
        assert!(answers[0]["errors"].is_null(), "{}", answers[0]);
        assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
        let id = answers[0]["data"]["bookRoom"]["id"].clone();
        let event = ws.event("1").await;
        assert_eq!(event["kind"], "BOOKED");
        assert_eq!(event["reservation"]["id"], id);
    }
    // Nothing more was booked: the next event is the probe's.
    let listed = replicas[1]
        .gql(
            "query($r: ID!, $f: DateTime!, $t: DateTime!) { reservations(roomId: $r, from: $f, to: $t) { id } }",
            json!({"r": room, "f": at(0), "t": at(60 * 5)}),
        )
        .await;
    assert_eq!(
        listed["data"]["reservations"].as_array().map(Vec::len),
        Some(5),
        "{listed} (probe {probe})"
    );
    assert!(ws
        .try_recv(std::time::Duration::from_millis(500))
        .await
        .is_none());
}

/// API.md "Quotas": 16 concurrent bookings by one person over two replicas, in a room that
/// allows 3 active reservations per person: exactly 3 succeed, in each of 20 rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_quota_holds_for_concurrent_bookings_over_two_replicas() {
    let (replicas, _) = replicas(2).await;
    let client = reqwest::Client::new();
    for round in 0..20 {
        let room = replicas[0]
            .gql(
                "mutation($n: String!) { createRoom(input: {name: $n, capacity: 4, policy: {maxActiveReservationsPerPerson: 3}}) { id } }",
                json!({"n": format!("Quota {round}")}),
            )
            .await["data"]["createRoom"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let answers = futures_util::future::join_all((0..16).map(|i| {
            let body = json!({"query": BOOK, "variables": book_vars(&room, &at(60 * i), &at(60 * i + 30))});
            let (client, url) = (client.clone(), format!("{}/graphql", replicas[i as usize % 2].base));
            async move {
                let v: Value = client.post(url).json(&body).send().await.unwrap().json().await.unwrap();
                v
            }
        }))
        .await;
        let ok = answers.iter().filter(|a| a["errors"].is_null()).count();
        let refused = answers
            .iter()
            .filter(|a| a["errors"][0]["extensions"]["policy"] == "QUOTA_ACTIVE")
            .count();
        assert_eq!((ok, refused), (3, 13), "round {round}: {answers:?}");
    }
}

/// API.md "Room managers and approval": two replicas expiring the same 30 PENDING reservations
/// (booked through both, all with one deadline), each exactly once; and for every third one an
/// approval sent through the other replica as the deadline passes, racing the expiries: one
/// winner each, one event each, the approval's answer agreeing with the outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn two_replicas_expire_thirty_pending_reservations_once_each() {
    use crate::tokens::{admin, hs256, member, AUDIENCE, ISSUER, SECRET};
    assert!(on_postgres(), "PostgreSQL only: scripts/test.sh runs it");
    let database = fresh_database().await;
    let args = [
        "--database",
        database.as_str(),
        "--jwt-secret",
        SECRET,
        "--jwt-issuer",
        ISSUER,
        "--jwt-audience",
        AUDIENCE,
    ];
    let replicas = futures_util::future::join_all((0..2).map(|_| Running::start(&args))).await;
    let client = reqwest::Client::new();
    let post = |n: usize, token: String, query: &'static str, variables: Value| {
        let (client, url) = (client.clone(), format!("{}/graphql", replicas[n % 2].base));
        async move {
            let v: Value = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let (root, ada, mia) = (
        hs256(&admin("root")),
        hs256(&member("ada")),
        hs256(&member("mia")),
    );
    let rooms = futures_util::future::join_all((0..30).map(|i| {
        post(
            i,
            root.clone(),
            "mutation($n: String!) { createRoom(input: {name: $n, capacity: 4, managers: [\"mia\"], policy: {approvalRequired: true, approvalTimeoutHours: 1}}) { id } }",
            json!({"n": format!("Approval {i}")}),
        )
    }))
    .await;
    // Each booking starts at `start`, a few seconds from now: its deadline (the earlier of its
    // start and an hour from now) is `start`, the same for all 30.
    let start = (chrono::Utc::now() + chrono::Duration::seconds(4))
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap();
    let end = start + chrono::Duration::minutes(30);
    let booked = futures_util::future::join_all(rooms.iter().enumerate().map(|(i, r)| {
        let room = r["data"]["createRoom"]["id"].clone();
        post(
            i,
            ada.clone(),
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id status approvalDeadline } }",
            json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(end)}}),
        )
    }))
    .await;
    let ids: Vec<String> = booked
        .iter()
        .map(|b| {
            assert_eq!(b["data"]["bookRoom"]["status"], "PENDING", "{b}");
            assert_eq!(b["data"]["bookRoom"]["approvalDeadline"], fmt(start), "{b}");
            b["data"]["bookRoom"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    // Approvals of every third one, 40 ms before to 40 ms after the deadline, through the
    // replica that did not book it.
    let racing: Vec<usize> = (0..30).step_by(3).collect();
    let wait = (start - chrono::Utc::now() - chrono::Duration::milliseconds(40))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    let answers = futures_util::future::join_all(racing.iter().map(|&i| {
        let call = post(
            i + 1,
            mia.clone(),
            "mutation($id: ID!) { approveReservation(id: $id) { id status } }",
            json!({"id": ids[i]}),
        );
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(8 * i as u64 / 3)).await;
            call.await
        }
    }))
    .await;
    // Every one decided, within the API's 5 seconds of the deadline (waited for up to 60).
    let read = "query($id: ID!) { reservation(id: $id) { status } }";
    let mut statuses = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let status = loop {
            let v = post(i, root.clone(), read, json!({"id": id})).await;
            let s = v["data"]["reservation"]["status"]
                .as_str()
                .unwrap()
                .to_owned();
            if s != "PENDING" || chrono::Utc::now() > start + chrono::Duration::seconds(60) {
                break s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        statuses.push(status);
    }
    // The log, as stored: one decision event per reservation, agreeing with its status.
    let db = roombook::db::Db::open(&database, &roombook::db::DbOptions::default()).unwrap();
    let log = db.replay(0, i64::MAX, None, 100_000).await.unwrap();
    let (mut approved, mut expired) = (0, 0);
    for (i, id) in ids.iter().enumerate() {
        let decided: Vec<(EventKind, String)> = log
            .iter()
            .filter(|e| e.reservation.id.to_string() == *id && e.kind != EventKind::Booked)
            .map(|e| (e.kind, e.reservation.status.as_str().to_owned()))
            .collect();
        match (statuses[i].as_str(), racing.iter().position(|r| *r == i)) {
            ("EXPIRED", answer) => {
                expired += 1;
                assert_eq!(
                    decided,
                    vec![(EventKind::Expired, "EXPIRED".to_owned())],
                    "{i}"
                );
                if let Some(a) = answer {
                    let code = &answers[a]["errors"][0]["extensions"]["code"];
                    assert_eq!(code, "NOT_PENDING", "{}", answers[a]);
                }
            }
            ("CONFIRMED", Some(a)) => {
                approved += 1;
                assert_eq!(decided, vec![(EventKind::Approved, "CONFIRMED".to_owned())]);
                assert_eq!(
                    answers[a]["data"]["approveReservation"]["status"],
                    "CONFIRMED"
                );
            }
            (other, answer) => panic!("reservation {i}: {other} (approval: {answer:?})"),
        }
    }
    eprintln!("30 pending over 2 replicas: {expired} expired, {approved} approved in the race");
    assert_eq!(expired + approved, 30);
    assert!(expired >= 20);
}
