//! What only PostgreSQL has: the log reader's ordering across concurrent transactions, the
//! listener connection, the database's own overlap guard, and the database going away. These
//! need the PostgreSQL backend; `scripts/test.sh` runs them (with `--include-ignored`).

use std::time::Duration;

use serde_json::{json, Value};
use tokio_postgres::{Client, NoTls};

use crate::helpers::*;
use crate::ws_client::*;

const PG_ONLY: &str = "PostgreSQL only: scripts/test.sh runs it";

/// A plain connection to `url`, as another program (or a replica mid-transaction) would hold.
async fn raw(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("raw connection");
    tokio::spawn(connection);
    client
}

fn seq_of(cursor: &Value) -> i64 {
    cursor
        .as_str()
        .unwrap()
        .rsplit('.')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn app_with_subscriber() -> (TestApp, String, WsClient) {
    assert!(on_postgres(), "{PG_ONLY}");
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    (app, room, ws)
}

/// Opens a transaction on `client` that holds the next event `seq` without having written its
/// row yet, as a slow writer does between taking its identity value and committing.
async fn hold_next_seq(client: &Client) -> i64 {
    client.batch_execute("BEGIN").await.unwrap();
    // A transaction id first, as every roombook writer has one (its row locks) before its seq.
    client
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('events', 'seq'))",
            &[],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn an_event_that_commits_before_an_earlier_one_waits_for_it() {
    let (app, room, mut ws) = app_with_subscriber().await;
    let slow = raw(&app.database).await;
    let held = hold_next_seq(&slow).await;
    // A later seq commits first.
    let id = app.book(&room, &at(0), &at(30)).await;
    assert!(
        ws.try_recv(Duration::from_millis(500)).await.is_none(),
        "delivered past a seq that may still commit"
    );
    // The slow writer commits its event (a copy of the booking's) with the earlier seq.
    slow.execute(
        "INSERT INTO events (seq, room_id, previous_room_id, payload) OVERRIDING SYSTEM VALUE \
         SELECT $1::bigint, room_id, previous_room_id, payload FROM events WHERE seq = $1::bigint + 1",
        &[&held],
    )
    .await
    .unwrap();
    slow.batch_execute("COMMIT").await.unwrap();
    let first = ws.event("1").await;
    let second = ws.event("1").await;
    assert_eq!(seq_of(&first["cursor"]), held, "the earlier seq first");
    assert_eq!(seq_of(&second["cursor"]), held + 1);
    assert_eq!(second["reservation"]["id"], id.as_str());
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_seq_left_unused_by_a_rollback_does_not_stall_the_feed() {
    let (app, room, mut ws) = app_with_subscriber().await;
    let slow = raw(&app.database).await;
    let held = hold_next_seq(&slow).await;
    let id = app.book(&room, &at(0), &at(30)).await;
    assert!(ws.try_recv(Duration::from_millis(300)).await.is_none());
    slow.batch_execute("ROLLBACK").await.unwrap();
    let event = ws.event("1").await;
    assert_eq!(event["reservation"]["id"], id.as_str());
    assert_eq!(seq_of(&event["cursor"]), held + 1);
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_dropped_listener_connection_costs_latency_not_events() {
    assert!(on_postgres(), "{PG_ONLY}");
    // Two replicas in this process, one database.
    let a = spawn_app().await;
    let database = a.database.clone();
    let b = spawn_app_with(|c| roombook::config::ServeConfig { database, ..c }).await;
    let room = a.create_room("A", 4).await;
    let mut ws = WsClient::ready(&b).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    b.wait_for_subscribers(1).await;
    let admin = raw(&a.database).await;
    let mut booked = Vec::new();
    for i in 0..6 {
        if i % 2 == 0 {
            let killed = admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND application_name = $1",
                    &[&roombook::events::pg::LISTENER_NAME],
                )
                .await
                .unwrap();
            assert!(!killed.is_empty() || i > 0, "no listener connection found");
        }
        booked.push(a.book(&room, &at(60 * i), &at(60 * i + 30)).await);
    }
    for id in &booked {
        assert_eq!(ws.event("1").await["reservation"]["id"], id.as_str());
    }
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn the_database_itself_refuses_overlapping_confirmed_reservations() {
    assert!(on_postgres(), "{PG_ONLY}");
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    app.book(&room, &at(0), &at(60)).await;
    let c = raw(&app.database).await;
    let insert = |status: &'static str, start: i64, end: i64| {
        let room = room.clone();
        let c = &c;
        async move {
            c.execute(
                "INSERT INTO reservations (id, room_id, start_at, end_at, organizer_name, \
                 organizer_email, status, created_at, updated_at) \
                 SELECT $1, $2, start_at + $3, start_at + $4, 'X', 'x@example.com', $5, 0, 0 \
                 FROM reservations WHERE room_id = $2 AND organizer_name <> 'X'",
                &[
                    &uuid::Uuid::new_v4().to_string(),
                    &room,
                    &start,
                    &end,
                    &status,
                ],
            )
            .await
        }
    };
    let minute = 60_000_000i64;
    // Bypassing the application's check: an overlap is refused by the exclusion constraint.
    let err = insert("CONFIRMED", 30 * minute, 90 * minute)
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23P01"), "{err}");
    // Back to back is fine, and a CANCELLED one never blocks.
    insert("CONFIRMED", 60 * minute, 90 * minute).await.unwrap();
    insert("CANCELLED", 0, 60 * minute).await.unwrap();
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn while_the_database_is_away_requests_fail_promptly_and_it_recovers_by_itself() {
    assert!(on_postgres(), "{PG_ONLY}");
    let app = spawn_app().await;
    let room = app.create_room("A", 4).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    let name = app.database.rsplit('/').next().unwrap().to_owned();
    let admin = raw(&pg_url("postgres")).await;
    let away = |allow: bool| {
        let (admin, name) = (&admin, name.clone());
        async move {
            admin
                .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}"))
                .await
                .unwrap();
            if !allow {
                admin
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .await
                    .unwrap();
            }
        }
    };
    away(false).await;
    // Refused as INTERNAL (not held until the request timeout, which would be HTTP 408).
    let body = app.try_book(&room, &at(0), &at(30)).await;
    assert_eq!(code(&body), Some("INTERNAL"), "{body}");
    let detail = body.to_string();
    assert!(
        !detail.contains("postgres") && !detail.contains("terminat"),
        "{detail}"
    );
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    away(true).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let id = loop {
        let body = app.try_book(&room, &at(60), &at(90)).await;
        if let Some(id) = body["data"]["bookRoom"]["id"].as_str() {
            break id.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never recovered: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // The subscriber, connected throughout, gets the booking made after the outage.
    assert_eq!(ws.event("1").await["reservation"]["id"], id.as_str());
}

/// A series' occurrences are probed in one statement on PostgreSQL, still one ordered index
/// probe per occurrence (stopping at the first row), never a scan of the room's calendar.
#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_series_probes_each_occurrence_through_the_index() {
    let app = spawn_app().await;
    let mut rooms = Vec::new();
    for r in 0..10 {
        let room = app.create_room(&format!("History {r}"), 4).await;
        let body = crate::series::try_series(
            &app,
            json!({"roomId": room, "start": at(0), "end": at(30),
                   "recurrence": {"frequency": "DAILY", "count": 100}}),
        )
        .await;
        assert!(body["data"]["bookSeries"].is_object(), "{body}");
        rooms.push(room);
    }
    let client = raw(&app.database).await;
    client.batch_execute("ANALYZE").await.unwrap();
    let base_us = base().timestamp_micros();
    let day = 86_400_000_000i64;
    let starts: Vec<i64> = (0..52)
        .map(|w| base_us + 3_600_000_000 + w * 7 * day)
        .collect();
    let ends: Vec<i64> = starts.iter().map(|s| s + 1_800_000_000).collect();
    let plan: Vec<String> = client
        .query(
            &format!(
                "EXPLAIN (ANALYZE, COSTS OFF) {}",
                roombook::db::SERIES_PROBE_SQL
            ),
            &[&rooms[3], &starts, &ends],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Scan Backward"), "{plan}");
    assert!(plan.contains("loops=52"), "{plan}");
    assert!(!plan.contains("Seq Scan on reservations"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
}

/// Two replicas on one database, both of whose release tasks wake at the same deadline:
/// every no-show is released once, with one RELEASED event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn two_replicas_release_each_no_show_exactly_once() {
    let a = spawn_app().await;
    let b = spawn_app_with(|c| roombook::config::ServeConfig {
        database: a.database.clone(),
        ..c
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let via = if i % 2 == 0 { &a } else { &b };
        let room = crate::room_policies::room_with(
            via,
            &format!("Shared {i}"),
            json!({"checkInRequired": true, "autoReleaseMinutes": 10}),
            json!({}),
        )
        .await;
        ids.push(via.book(&room, &at(0), &at(60)).await);
    }
    let mut ws = WsClient::ready(&a).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    a.wait_for_subscribers(1).await;
    let due = base() + chrono::Duration::minutes(10) + chrono::Duration::seconds(1);
    for app in [&a, &b] {
        app.db.clock().advance(due - app.db.now());
    }
    let mut released = std::collections::HashMap::new();
    while released.len() < ids.len() {
        let e = ws.event("1").await;
        assert_eq!(e["kind"], "RELEASED", "{e}");
        let id = e["reservation"]["id"].as_str().unwrap().to_owned();
        assert!(released.insert(id, ()).is_none(), "released twice: {e}");
    }
    assert!(ws.try_recv(Duration::from_millis(700)).await.is_none());
    for id in &ids {
        assert!(released.contains_key(id), "{id} never released");
    }
}
