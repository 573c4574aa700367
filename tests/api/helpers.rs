//! Starts the real server on 127.0.0.1:0 with a fresh database of the backend under test and
//! talks to it over HTTP like a client.
//!
//! The backend is `ROOMBOOK_TEST_BACKEND`: `sqlite` (the default: a fresh in-memory database
//! per server) or `postgres` (a fresh database per server in the cluster that the `PG*`
//! variables name, as `pg_virtualenv` sets them; `scripts/test.sh` runs both).

use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, DurationRound, Utc};
use roombook::config::ServeConfig;
use roombook::db::Db;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The server's database handle, for looking at its event log.
    pub db: Db,
    /// The URL of its database.
    pub database: String,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    pub stopped: Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|c| c).await
}

/// Starts the server with a configuration adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(ServeConfig) -> ServeConfig) -> TestApp {
    let config = adjust(ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        database: fresh_database().await,
        db_pool_size: 4,
        ..ServeConfig::default()
    });
    let database = config.database.clone();
    let app = roombook::app::build(&config).expect("app builds");
    let db = app.db.clone();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(roombook::app::serve(listener, app, async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        database,
        stop: Mutex::new(Some(tx)),
        stopped: Mutex::new(Some(server)),
    }
}

impl TestApp {
    /// Starts a graceful shutdown, as Ctrl-C would.
    pub fn shut_down(&self) {
        if let Some(tx) = self.stop.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    /// Waits until `n` subscriptions listen to the event log.
    pub async fn wait_for_subscribers(&self, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.db.events().subscriber_count() != n {
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} subscribers, have {}",
                self.db.events().subscriber_count()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GETs `/graphql` with `params` (URL-encoded) and returns the JSON body.
    pub async fn get_graphql(&self, params: &[(&str, &str)]) -> Value {
        let url = reqwest::Url::parse_with_params(&self.url("/graphql"), params).expect("a URL");
        let resp = self.client.get(url).send().await.expect("request sent");
        resp.json().await.expect("JSON body")
    }

    /// POSTs an operation and returns the JSON body (data and/or errors).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 200, "POST /graphql status");
        resp.json().await.expect("JSON body")
    }

    pub async fn create_room(&self, name: &str, capacity: i32) -> String {
        let body = self
            .graphql(
                "mutation($n: String!, $c: Int!) { createRoom(input: {name: $n, capacity: $c}) { id } }",
                json!({"n": name, "c": capacity}),
            )
            .await;
        body["data"]["createRoom"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createRoom failed: {body}"))
            .to_owned()
    }

    /// Books and returns the whole response body.
    pub async fn try_book(&self, room: &str, start: &str, end: &str) -> Value {
        self.graphql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id start end status title organizerName organizerEmail room { id name } } }",
            json!({"i": {
                "roomId": room, "start": start, "end": end, "title": "Sync",
                "organizerName": "Ada Lovelace", "organizerEmail": "ada@example.com"
            }}),
        )
        .await
    }

    /// Books and returns the new reservation's id, failing the test if refused.
    pub async fn book(&self, room: &str, start: &str, end: &str) -> String {
        let body = self.try_book(room, start, end).await;
        body["data"]["bookRoom"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("bookRoom failed: {body}"))
            .to_owned()
    }

    pub async fn cancel(&self, id: &str) -> Value {
        self.graphql(
            "mutation($id: ID!) { cancelReservation(id: $id) { id status updatedAt } }",
            json!({"id": id}),
        )
        .await
    }

    pub async fn reschedule(&self, input: Value) -> Value {
        self.graphql(
            "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id start end status room { id } } }",
            json!({"i": input}),
        )
        .await
    }
}

/// The first error's `extensions.code`, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts the body is refused with `expected`, and returns the first error.
pub fn assert_refused<'a>(body: &'a Value, expected: &str) -> &'a Value {
    assert_eq!(code(body), Some(expected), "expected {expected}: {body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a refusal has a message: {body}"
    );
    &body["errors"][0]
}

/// A fixed hour two days ahead: every test's times are offsets from it.
pub fn base() -> DateTime<Utc> {
    static BASE: OnceLock<DateTime<Utc>> = OnceLock::new();
    *BASE.get_or_init(|| {
        (Utc::now() + Duration::days(2))
            .duration_trunc(Duration::hours(1))
            .unwrap()
    })
}

/// Moves `app`'s server clock to `to` (never back): deadline tasks run as if that time came.
pub fn advance_to(app: &TestApp, to: DateTime<Utc>) {
    let by = to - app.db.now();
    assert!(by > Duration::zero(), "the clock is already past {to}");
    app.db.clock().advance(by);
}

/// `base()` plus `minutes`, as RFC 3339 with `Z`.
pub fn at(minutes: i64) -> String {
    fmt(base() + Duration::minutes(minutes))
}

pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Whether this run tests the PostgreSQL backend.
pub fn on_postgres() -> bool {
    std::env::var("ROOMBOOK_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The URL of database `name` in the test cluster.
pub fn pg_url(name: &str) -> String {
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("ROOMBOOK_TEST_BACKEND=postgres needs {k}: run the tests with scripts/test.sh")
        })
    };
    format!(
        "postgres://{}:{}@{}:{}/{name}",
        var("PGUSER"),
        var("PGPASSWORD"),
        var("PGHOST"),
        var("PGPORT")
    )
}

/// A new, empty database of the backend under test: `:memory:`, or a new PostgreSQL database.
pub async fn fresh_database() -> String {
    if !on_postgres() {
        return ":memory:".into();
    }
    let name = format!("roombook_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&pg_url("postgres"), tokio_postgres::NoTls)
        .await
        .expect("the test cluster answers");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    drop(client);
    let _ = driver.await;
    pg_url(&name)
}

/// A database handle of the backend under test, on a fresh database.
pub async fn fresh_db(event_capacity: usize) -> roombook::db::Db {
    roombook::db::Db::open(
        &fresh_database().await,
        &roombook::db::DbOptions {
            pool_size: 4,
            event_capacity,
            ..Default::default()
        },
    )
    .expect("database opens")
}
