//! Load driver: starts the release `roombook` (pinned to CPU 0 when `taskset` exists) and
//! measures it over loopback. Prints numbers; asserts nothing about speed.
//!
//!     cargo bench --bench load                 # every workload
//!     cargo bench --bench load -- subscribe    # some: subscribe book history list pages race memory
//!                                              #       policy quota approval available
//!                                              #       series release
//!                                              #       idle-sockets half-open hostile
//!     BENCH_DATABASE=postgres://... cargo bench --bench load -- replicas
//!
//! Env: SUBSCRIBERS (1000), EVENTS (100), INTERVAL_MS (100), SECONDS (5), CONNS (32),
//! PREFILL (100000), ROOMS (1000, for `available`), ROUNDS (10 for `policy`, 6 for `series`),
//! SERIES_PER_SEC (10, for `series`; 0: back to back), RELEASES (1000, for `release`),
//! BENCH_DATABASE (the servers' --database; default in memory), IDLE_SOCKETS (1000) and
//! IDLE_SUBSCRIBE (1; 0: acked only) for `idle-sockets`, HALF_OPEN (2000) for `half-open`,
//! ROOMBOOK_BIN (a roombook binary to run instead of this build's).
//! `replicas` (only with a PostgreSQL BENCH_DATABASE, and not in the default set): the
//! subscribe workload with the subscribers on one replica and the bookings made through
//! another, so it measures delivery across replicas.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Days, DurationRound, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const BOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
    /// Secured mode: the `Authorization` every request carries.
    authorization: Option<String>,
}

/// The HS256 secret of `Server::start_secured` (benchmarks only).
const BENCH_SECRET: &str = "roombook-bench-secret-at-least-32-bytes-long";

impl Server {
    async fn start() -> Server {
        let database = std::env::var("BENCH_DATABASE").unwrap_or_else(|_| ":memory:".into());
        Server::start_on(&database, &[]).await
    }

    /// Secured mode (an HS256 secret), every request by member `bench` ("Bench",
    /// bench@example.com, as `book` names the organizer), and an admin's token for setting up.
    async fn start_secured() -> (Server, String) {
        let database = std::env::var("BENCH_DATABASE").unwrap_or_else(|_| ":memory:".into());
        let mut server = Server::start_on(&database, &["--jwt-secret", BENCH_SECRET]).await;
        let token = |sub: &str, roles: Value| {
            let exp = Utc::now().timestamp() + 86_400;
            let claims = json!({"sub": sub, "name": "Bench", "email": "bench@example.com",
                                "roles": roles, "exp": exp});
            let key = jsonwebtoken::EncodingKey::from_secret(BENCH_SECRET.as_bytes());
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("a token")
        };
        server.authorization = Some(format!("Bearer {}", token("bench", json!([]))));
        (
            server,
            format!("Bearer {}", token("root", json!(["roombook-admin"]))),
        )
    }

    async fn start_on(database: &str, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // `ROOMBOOK_BIN` runs another build (an older one, for a before/after in one session).
        let bin = std::env::var("ROOMBOOK_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_roombook").to_owned());
        let bin = bin.as_str();
        let addr = format!("127.0.0.1:{port}");
        let pinned = Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", bin]);
            c
        } else {
            Command::new(bin)
        };
        let child = cmd
            .args(["--addr", &addr, "--database", database])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("roombook starts");
        let server = Server {
            child,
            authorization: None,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
        };
        for _ in 0..200 {
            if server
                .client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("roombook did not come up on {addr}");
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        let mut req = self.client.post(format!("{}/graphql", self.base));
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        req.json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// Posts `body` as it is (extensions and all) and returns the answer.
    async fn gql_body(&self, body: &Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.base))
            .json(body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    async fn room(&self, name: &str) -> String {
        let v = self
            .gql(
                "mutation($n: String!) { createRoom(input: {name: $n, capacity: 10}) { id } }",
                json!({"n": name}),
            )
            .await;
        v["data"]["createRoom"]["id"]
            .as_str()
            .expect("room")
            .to_owned()
    }

    async fn book(&self, room: &str, start: DateTime<Utc>, minutes: i64, title: &str) -> Value {
        let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.gql(
            BOOK,
            json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(start + Days::minutes(minutes)),
                         "title": title, "organizerName": "Bench", "organizerEmail": "bench@example.com"}}),
        )
        .await
    }

    /// As `book`, for organizer `email`.
    async fn book_for(&self, room: &str, start: DateTime<Utc>, minutes: i64, email: &str) -> Value {
        let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.gql(
            BOOK,
            json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(start + Days::minutes(minutes)),
                         "title": "q", "organizerName": "Bench", "organizerEmail": email}}),
        )
        .await
    }

    fn rss_mb(&self) -> f64 {
        // The server is taskset's child when pinned: taskset execs, so the pid is the same.
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// CPU time the server has used (user + system), in milliseconds.
    fn cpu_ms(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command's closing parenthesis; utime and stime are 14th and 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        let ticks = 100.0; // USER_HZ on Linux
        f.get(11)
            .zip(f.get(12))
            .map_or(f64::NAN, |(u, s)| (u + s) * 1e3 / ticks)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn origin() -> DateTime<Utc> {
    (Utc::now() + Days::days(1))
        .duration_trunc(Days::hours(1))
        .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Books unique 30-minute slots from CONNS concurrent clients for SECONDS; returns ok/s.
async fn book_rate(
    server: &Arc<Server>,
    rooms: &Arc<Vec<String>>,
    offset_slots: u64,
) -> (f64, u64) {
    book_rate_every(server, rooms, offset_slots, 30).await
}

/// As `book_rate`, with each room's slots `spacing` minutes apart.
async fn book_rate_every(
    server: &Arc<Server>,
    rooms: &Arc<Vec<String>>,
    offset_slots: u64,
    spacing: i64,
) -> (f64, u64) {
    book_rate_as(server, rooms, offset_slots, spacing, 0).await
}

/// As `book_rate_every`, booked by `people` different organizers in turn (slot `n` by person
/// `n % people`: what a quota counts), or all by the bench's one organizer (`people` 0).
/// Bookings per second and refusals.
async fn book_rate_as(
    server: &Arc<Server>,
    rooms: &Arc<Vec<String>>,
    offset_slots: u64,
    spacing: i64,
    people: u64,
) -> (f64, u64) {
    let conns = env_num("CONNS", 32);
    let secs = env_num("SECONDS", 5);
    let next = Arc::new(AtomicU64::new(offset_slots));
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let base = origin();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (server, rooms, next) = (server.clone(), rooms.clone(), next.clone());
            let (ok, errors) = (ok.clone(), errors.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let room = &rooms[(n % rooms.len() as u64) as usize];
                    let slot = n / rooms.len() as u64;
                    let start = base + Days::minutes(spacing * slot as i64);
                    let v = match people {
                        0 => server.book(room, start, 30, "b").await,
                        _ => {
                            let email = format!("p{}@example.com", n % people);
                            server.book_for(room, start, 30, &email).await
                        }
                    };
                    if v["data"]["bookRoom"].is_object() {
                        ok.fetch_add(1, Ordering::Relaxed)
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed)
                    };
                }
            })
        })
        .collect();
    let started = Instant::now();
    futures_util::future::join_all(tasks).await;
    let rate = ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    (rate, errors.load(Ordering::Relaxed))
}

/// What `paired_rates` measured: ratios b/a per pair of rounds (sorted), mean rates, refusals.
struct Paired {
    ratios: Vec<f64>,
    a: f64,
    b: f64,
    refused: u64,
}

/// Booking rates of room sets `a` and `b` (slots an hour apart; `people` as in
/// `book_rate_as`) in ROUNDS rounds of SECONDS each, in one server. The order flips every
/// round (a b, b a, a b, ...): the database grows as each side books, so whichever went second
/// in a round would always book into a bigger one (measured: an A/A pair ran 0.85 when `b`
/// always went second, and its per-round ratios alternate 0.8 / 1.25 when the order flips).
async fn paired_rates(
    server: &Arc<Server>,
    a: &Arc<Vec<String>>,
    b: &Arc<Vec<String>>,
    people: u64,
) -> Paired {
    let rounds = env_num("ROUNDS", 10);
    let secs = env_num("SECONDS", 5) as f64;
    let mut offsets = [0u64, 0u64];
    let mut out = Paired {
        ratios: Vec::new(),
        a: 0.0,
        b: 0.0,
        refused: 0,
    };
    for round in 0..rounds {
        let mut rates = [0.0, 0.0];
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let rooms = if side == 0 { a } else { b };
            let (rate, refused) = book_rate_as(server, rooms, offsets[side], 60, people).await;
            offsets[side] += (rate * secs) as u64 + 10_000;
            rates[side] = rate;
            out.refused += refused;
        }
        out.a += rates[0] / rounds as f64;
        out.b += rates[1] / rounds as f64;
        out.ratios.push(rates[1] / rates[0]);
    }
    // One ratio per pair of rounds (a b then b a): their geometric mean, in which the order's
    // effect cancels (an odd last round stands alone).
    out.ratios = out
        .ratios
        .chunks(2)
        .map(|pair| pair.iter().product::<f64>().powf(1.0 / pair.len() as f64))
        .collect();
    out.ratios.sort_by(f64::total_cmp);
    out
}

async fn rooms(server: &Server, n: usize) -> Arc<Vec<String>> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(server.room(&format!("bench-{i}")).await);
    }
    Arc::new(v)
}

/// Ten rooms `{prefix}-{i}` with `fields` (time zone, policy, ...) besides name and capacity.
async fn rooms_with(server: &Server, prefix: &str, fields: Value) -> Arc<Vec<String>> {
    rooms_by(server, None, prefix, fields).await
}

/// As `rooms_with`, created with `authorization` (an admin's, in secured mode) if given.
async fn rooms_by(
    server: &Server,
    authorization: Option<&str>,
    prefix: &str,
    fields: Value,
) -> Arc<Vec<String>> {
    let mut v = Vec::new();
    for i in 0..10 {
        let mut input = fields.clone();
        input["name"] = json!(format!("{prefix}-{i}"));
        input["capacity"] = json!(10);
        let mut req = server.client.post(format!("{}/graphql", server.base));
        if let Some(auth) = authorization {
            req = req.header("Authorization", auth);
        }
        let body = json!({"query": "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                          "variables": { "i": input }});
        let created: Value = req
            .json(&body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let id = created["data"]["createRoom"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a room: {created}"));
        v.push(id.to_owned());
    }
    Arc::new(v)
}

async fn bench_book() {
    let server = Arc::new(Server::start().await);
    let rooms = rooms(&server, 10).await;
    let (rate, errors) = book_rate(&server, &rooms, 0).await;
    println!(
        "book: {rate:.0} bookings/s (unique 30-min slots, 10 rooms, {} conns), {errors} refused",
        env_num("CONNS", 32)
    );
}

/// Opening hours that keep a room open around the clock, yet are evaluated on every booking.
fn open_all_day() -> Vec<Value> {
    [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ]
    .iter()
    .map(|d| json!({"weekday": d, "opens": "00:00", "closes": "24:00"}))
    .collect()
}

/// Both quotas set (API.md "Quotas"; limits no booking reaches) against none, 500 people
/// booking, alternating rounds in one server: the issue's bar is 0.85 of a plain booking.
async fn bench_quota() {
    let server = Arc::new(Server::start().await);
    let plain = rooms(&server, 10).await;
    let quotas = json!({
        "maxHoursPerPersonPerWeek": (env_num("QUOTA_HOURS", 168) > 0).then_some(168),
        "maxActiveReservationsPerPerson": (env_num("QUOTA_ACTIVE", 1000) > 0).then_some(1000)});
    let limited = rooms_with(
        &server,
        "quota",
        json!({"timeZone": "Europe/Berlin", "policy": quotas}),
    )
    .await;
    let rounds = env_num("ROUNDS", 10);
    let Paired {
        ratios, refused, ..
    } = paired_rates(&server, &plain, &limited, 500).await;
    let median = percentile(&ratios, 0.5);
    println!(
        "quota: both quotas / none, ratios per pair of rounds {:.3}..{:.3} median {median:.3} \
         (bar 0.85{}; 10 rooms each, 500 people, {rounds} alternating rounds), {refused} refused",
        ratios[0],
        ratios[ratios.len() - 1],
        if median < 0.85 { ": BELOW" } else { "" }
    );
}

/// Booking into rooms that need approval (each booking PENDING, API.md "Room managers and
/// approval") against plain rooms, by one member in secured mode, alternating rounds in one
/// server: the issue's bar is 0.85 of a plain booking.
async fn bench_approval() {
    let (server, admin) = Server::start_secured().await;
    let server = Arc::new(server);
    let plain = rooms_by(&server, Some(&admin), "plain", json!({})).await;
    // APPROVAL=0: the second set plain too, the bench's own A/A control.
    let required = env_num("APPROVAL", 1) > 0;
    let approval = json!({"policy": {"approvalRequired": required}, "managers": ["someone-else"]});
    let waiting = rooms_by(&server, Some(&admin), "approval", approval).await;
    // Far from the slots the rounds book: each booking there waits for approval.
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let start = origin() - Days::hours(1);
    let first = server
        .gql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { status } }",
            json!({"i": {"roomId": waiting[0], "start": fmt(start), "end": fmt(start + Days::minutes(30))}}),
        )
        .await;
    let expected = if required { "PENDING" } else { "CONFIRMED" };
    assert_eq!(first["data"]["bookRoom"]["status"], expected, "{first}");
    let rounds = env_num("ROUNDS", 10);
    let Paired {
        ratios, refused, ..
    } = paired_rates(&server, &plain, &waiting, 0).await;
    let median = percentile(&ratios, 0.5);
    println!(
        "approval: PENDING bookings / plain, ratios per pair of rounds {:.3}..{:.3} median {median:.3} \
         (bar 0.85{}; 10 rooms each, one member, {rounds} alternating rounds), {refused} refused",
        ratios[0],
        ratios[ratios.len() - 1],
        if median < 0.85 { ": BELOW" } else { "" }
    );
}

/// Every policy set (buffer, durations, horizon, opening hours in a DST zone) against none,
/// in one server, alternating rounds so drift hits both alike. Slots an hour apart, so the
/// 15-minute buffer refuses nothing and both sets book the same way.
async fn bench_policy() {
    let server = Arc::new(Server::start().await);
    let plain = rooms(&server, 10).await;
    let every_day = open_all_day();
    let policy = json!({"minDurationMinutes": 15, "maxDurationMinutes": 240, "bufferMinutes": 15,
                        "bookingHorizonDays": 3650, "openingHours": every_day});
    let strict = rooms_with(
        &server,
        "strict",
        json!({"timeZone": "Europe/Berlin", "policy": policy}),
    )
    .await;
    // ROUNDS short alternating rounds of SECONDS each, so that the machine's
    // drift lands on both sides alike; the ratio is of the totals.
    let rounds = env_num("ROUNDS", 10);
    let Paired {
        ratios,
        a: plain_rate,
        b: strict_rate,
        refused,
    } = paired_rates(&server, &plain, &strict, 0).await;
    println!(
        "policy: no policy {plain_rate:.0} bookings/s, every policy {strict_rate:.0} bookings/s \
         (ratio {:.3}, ratios per pair of rounds {:.3}..{:.3} median {:.3}; 10 rooms each, {} conns, \
         {rounds} alternating rounds of {} s), {refused} refused",
        strict_rate / plain_rate,
        ratios[0],
        ratios[ratios.len() - 1],
        percentile(&ratios, 0.5),
        env_num("CONNS", 32),
        env_num("SECONDS", 5)
    );
}

/// `availableRooms` over ROOMS (1000) rooms with 100 reservations each: half the rooms are
/// busy at the asked half hour; every fourth has a buffer and opening hours.
async fn bench_available() {
    let n_rooms = env_num("ROOMS", 1000) as usize;
    let server = Arc::new(Server::start().await);
    let base = origin();
    let mut ids = Vec::with_capacity(n_rooms);
    let every_day = open_all_day();
    for i in 0..n_rooms {
        let policy = if i % 4 == 0 {
            json!({"bufferMinutes": 0, "maxDurationMinutes": 480, "openingHours": every_day})
        } else {
            json!({})
        };
        let v = server
            .gql(
                "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                json!({"i": {"name": format!("r-{i:04}"), "capacity": 2 + (i % 20) as i32, "policy": policy}}),
            )
            .await;
        ids.push(
            v["data"]["createRoom"]["id"]
                .as_str()
                .expect("room")
                .to_owned(),
        );
    }
    let ids = Arc::new(ids);
    // 100 half-hour reservations per room, an hour apart; odd rooms half an hour later.
    let t = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let total = (n_rooms * 100) as u64;
    let tasks: Vec<_> = (0..env_num("CONNS", 32))
        .map(|_| {
            let (server, ids, next) = (server.clone(), ids.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    let room = (n % ids.len() as u64) as usize;
                    let k = (n / ids.len() as u64) as i64;
                    let start = base + Days::minutes(60 * k + 30 * (room % 2) as i64);
                    let v = server.book(&ids[room], start, 30, "a").await;
                    assert!(v["data"]["bookRoom"].is_object(), "{v}");
                }
            })
        })
        .collect();
    futures_util::future::join_all(tasks).await;
    let prefill = t.elapsed().as_secs_f64();
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, e) = (
        fmt(base + Days::hours(50)),
        fmt(base + Days::minutes(50 * 60 + 30)),
    );
    let q = "query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e) { id name capacity } }";
    let free = server.gql(q, json!({"s": s, "e": e})).await["data"]["availableRooms"]
        .as_array()
        .map_or(0, Vec::len);
    let done = Arc::new(AtomicU64::new(0));
    let conns = env_num("CONNS", 32).min(8);
    let deadline = Instant::now() + Duration::from_secs(env_num("SECONDS", 5));
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (server, s, e, done) = (server.clone(), s.clone(), e.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let v = server.gql(q, json!({"s": s, "e": e})).await;
                    assert_eq!(
                        v["data"]["availableRooms"].as_array().map(Vec::len),
                        Some(free)
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    futures_util::future::join_all(tasks).await;
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!(
        "available: {rate:.0} availableRooms requests/s over {n_rooms} rooms x 100 reservations \
         ({free} rooms free in the slot and returned; {conns} conns; prefill {prefill:.1}s)"
    );
}

async fn bench_history() {
    let prefill = env_num("PREFILL", 100_000);
    let empty = {
        let server = Arc::new(Server::start().await);
        let rooms = rooms(&server, 10).await;
        book_rate(&server, &rooms, 0).await.0
    };
    let server = Arc::new(Server::start().await);
    let rooms = rooms(&server, 10).await;
    let idle = server.rss_mb();
    let t = Instant::now();
    // Prefill through the API, CONNS at a time, until `prefill` are stored.
    let next = Arc::new(AtomicU64::new(0));
    let base = origin();
    let tasks: Vec<_> = (0..env_num("CONNS", 32))
        .map(|_| {
            let (server, rooms, next) = (server.clone(), rooms.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= prefill {
                        break;
                    }
                    let room = &rooms[(n % 10) as usize];
                    server
                        .book(room, base + Days::minutes(30 * (n / 10) as i64), 30, "p")
                        .await;
                }
            })
        })
        .collect();
    futures_util::future::join_all(tasks).await;
    let full = server.rss_mb();
    let (rate, _) = book_rate(&server, &rooms, prefill).await;
    println!("history: prefilled {prefill} in {:.1}s; booking at 0: {empty:.0}/s, at {prefill}: {rate:.0}/s ({:.0}%)", t.elapsed().as_secs_f64(), 100.0 * rate / empty);
    println!("memory: {idle:.1} MB resident idle, {full:.1} MB with {prefill} reservations");
}

async fn bench_memory_idle() {
    let server = Server::start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("memory: {:.1} MB resident idle", server.rss_mb());
}

async fn bench_list() {
    let server = Arc::new(Server::start().await);
    let room = server.room("list").await;
    let base = origin();
    for i in 0..100 {
        server
            .book(&room, base + Days::minutes(30 * i), 30, "l")
            .await;
    }
    let q = "query($r: ID, $f: DateTime) { reservations(roomId: $r, from: $f) { id start end title status } }";
    let from = base.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(env_num("SECONDS", 5));
    let tasks: Vec<_> = (0..env_num("CONNS", 32))
        .map(|_| {
            let (server, room, from, done) =
                (server.clone(), room.clone(), from.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let v = server.gql(q, json!({"r": room, "f": from})).await;
                    assert_eq!(
                        v["data"]["reservations"].as_array().map(Vec::len),
                        Some(100)
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t = Instant::now();
    futures_util::future::join_all(tasks).await;
    println!(
        "list: {:.0} 100-row listings/s",
        done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
    );
}

/// Requests answered per second when `conns` clients send `body` back to back for `secs`;
/// each answer must hold no error (checked on its bytes, so the client parses nothing).
async fn rate_of(server: &Arc<Server>, body: Arc<String>, conns: u64, secs: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (server, body, done) = (server.clone(), body.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let bytes = server
                        .client
                        .post(format!("{}/graphql", server.base))
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await
                        .expect("request")
                        .bytes()
                        .await
                        .expect("body");
                    assert!(
                        !bytes.windows(8).any(|w| w == b"\"errors\""),
                        "{}",
                        String::from_utf8_lossy(&bytes)
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t = Instant::now();
    futures_util::future::join_all(tasks).await;
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

/// A request naming `query` (operation `name`) by its SHA-256, Apollo's automatic persisted
/// queries; with the document too when `with_query` (which registers the hash).
fn apq_body(name: &str, query: &str, variables: &Value, with_query: bool) -> Value {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(query.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut body = json!({"operationName": name, "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}});
    if with_query {
        body["query"] = json!(query);
    }
    body
}

/// Issue 25's two numbers, interleaved in one server: a 100-row room listing through
/// `reservationsConnection(first: 100)` against the list field (the harness's `list` query),
/// and the list field's named query sent as an APQ hash against the same sent in full.
/// ROUNDS (5) rounds of SECONDS (3) each per variant; prints medians and per-round ratios.
async fn bench_pages() {
    let server = Arc::new(Server::start().await);
    let room = server.room("pages").await;
    let base = origin();
    for i in 0..100 {
        server
            .book(&room, base + Days::minutes(30 * i), 30, "p")
            .await;
    }
    let from = base.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (base + Days::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let vars = json!({"id": room, "from": from, "to": to});
    let list = "query List($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { reservations(from: $from, to: $to) { id start end } } }";
    let page = "query Page($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { reservationsConnection(first: 100, from: $from, to: $to) { edges { node { id start end } } pageInfo { hasNextPage endCursor } } } }";
    // Register the hash, and check each variant answers 100 rows.
    let registered = server.gql_body(&apq_body("List", list, &vars, true)).await;
    assert_eq!(
        registered["data"]["room"]["reservations"]
            .as_array()
            .map(Vec::len),
        Some(100)
    );
    let paged = server.gql(page, vars.clone()).await;
    assert_eq!(
        paged["data"]["room"]["reservationsConnection"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(100),
        "{paged}"
    );
    // A page as Apollo Client writes it (a fragment, `__typename` on every object), in full and
    // by APQ hash: a client's real document, longer than the list query.
    let client = "query RoomPage($id: ID!, $from: DateTime!, $to: DateTime!, $after: String) {\n  room(id: $id) {\n    id\n    name\n    reservationsConnection(first: 100, after: $after, from: $from, to: $to) {\n      edges {\n        cursor\n        node {\n          ...ReservationSlot\n          __typename\n        }\n        __typename\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n        __typename\n      }\n      __typename\n    }\n    __typename\n  }\n}\n\nfragment ReservationSlot on Reservation {\n  id\n  start\n  end\n  status\n}";
    let registered = server
        .gql_body(&apq_body("RoomPage", client, &vars, true))
        .await;
    assert!(registered["errors"].is_null(), "{registered}");
    let bodies = [
        (
            "list field",
            json!({"query": list, "operationName": "List", "variables": vars}),
        ),
        (
            "connection",
            json!({"query": page, "operationName": "Page", "variables": vars}),
        ),
        ("list by APQ hash", apq_body("List", list, &vars, false)),
        (
            "client page in full",
            json!({"query": client, "operationName": "RoomPage", "variables": vars}),
        ),
        (
            "client page by APQ hash",
            apq_body("RoomPage", client, &vars, false),
        ),
    ]
    .map(|(name, b)| (name, Arc::new(b.to_string())));
    let (rounds, secs, conns) = (
        env_num("ROUNDS", 5),
        env_num("SECONDS", 3),
        env_num("CONNS", 32),
    );
    let mut rates = vec![Vec::new(); bodies.len()];
    for _ in 0..rounds {
        for (i, (_, body)) in bodies.iter().enumerate() {
            rates[i].push(rate_of(&server, body.clone(), conns, secs).await);
        }
    }
    let median = |xs: &mut Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let ratio = |a: usize, b: usize| {
        let mut r: Vec<f64> = rates[a].iter().zip(&rates[b]).map(|(x, y)| x / y).collect();
        median(&mut r)
    };
    let (connection, by_hash, client_by_hash) = (ratio(1, 0), ratio(2, 0), ratio(4, 3));
    for (i, (name, _)) in bodies.iter().enumerate() {
        println!(
            "pages: {name}: {:.0} 100-row answers/s (median of {rounds})",
            median(&mut rates[i].clone())
        );
    }
    println!("pages: connection / list field = {connection:.3} (bar 0.9); APQ hash / full document = {by_hash:.3} (list query), {client_by_hash:.3} (Apollo's page document) (bar 1.0)");
}

async fn bench_race() {
    let server = Arc::new(Server::start().await);
    let room = server.room("race").await;
    let base = origin();
    let (rounds, racers) = (50, 50);
    let mut exact = 0;
    for r in 0..rounds {
        let start = base + Days::hours(r);
        let tries = (0..racers).map(|_| {
            let (server, room) = (server.clone(), room.clone());
            async move { server.book(&room, start, 30, "race").await }
        });
        let winners = futures_util::future::join_all(tries)
            .await
            .iter()
            .filter(|v| v["data"]["bookRoom"].is_object())
            .count();
        if winners == 1 {
            exact += 1
        } else {
            println!("race: round {r} had {winners} winners")
        }
    }
    println!("race: {exact}/{rounds} rounds of {racers} concurrent same-slot bookings had exactly one winner");
}

async fn bench_subscribe() {
    let server = Arc::new(Server::start().await);
    subscribe_through("subscribe", server.clone(), server).await;
}

/// Subscribers on one replica, bookings through another, one PostgreSQL database.
async fn bench_replicas() {
    let Some(database) = std::env::var("BENCH_DATABASE")
        .ok()
        .filter(|d| d.starts_with("postgres"))
    else {
        println!("replicas: skipped, needs BENCH_DATABASE=postgres://...");
        return;
    };
    let booker = Arc::new(Server::start_on(&database, &[]).await);
    let listener = Arc::new(Server::start_on(&database, &[]).await);
    subscribe_through("replicas", booker, listener).await;
}

/// Latency from a booking (through `booker`) to its event at every subscriber (of `listener`).
async fn subscribe_through(label: &str, booker: Arc<Server>, listener: Arc<Server>) {
    let subscribers = env_num("SUBSCRIBERS", 1000) as usize;
    let events = env_num("EVENTS", 100) as usize;
    let interval = Duration::from_millis(env_num("INTERVAL_MS", 100));
    let server = booker;
    let room = server.room(&format!("live-{}", std::process::id())).await;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers);
    let url = format!("{}/graphql", listener.base.replace("http", "ws"));
    let clients: Vec<_> = (0..subscribers).map(|_| {
        let (url, ready_tx) = (url.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
            ws.send(Message::text(r#"{"type":"connection_init"}"#)).await.unwrap();
            ws.send(Message::text(r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { reservationEvents { kind at reservation { id title } } }"}}"#)).await.unwrap();
            let mut got: Vec<Option<Instant>> = vec![None; events];
            let mut ready = false;
            let mut missed = 0u64;
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(t) = msg else { continue };
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                if v["type"] == "next" {
                    if let Some(m) = v["payload"]["errors"][0]["extensions"]["missedEvents"].as_u64() { missed += m; }
                    let title = v["payload"]["data"]["reservationEvents"]["reservation"]["title"].as_str().unwrap_or_default();
                    if title.starts_with("probe") && !ready {
                        ready = true;
                        let _ = ready_tx.send(()).await;
                    }
                    if let Some(i) = title.strip_prefix("ev-").and_then(|n| n.parse::<usize>().ok()) {
                        if i < events { got[i] = Some(Instant::now()); }
                        if i + 1 == events { break; }
                    }
                }
            }
            (got, missed)
        })
    }).collect();
    // Every subscription is live once it has seen a probe booking: book probes until all have.
    let base = origin();
    let (mut ready, mut probe) = (0, 0i64);
    while ready < subscribers {
        server
            .book(
                &room,
                base - Days::minutes(30 * (probe + 1)) + Days::days(300),
                30,
                &format!("probe-{probe}"),
            )
            .await;
        probe += 1;
        let until = tokio::time::Instant::now() + Duration::from_millis(300);
        while ready < subscribers {
            match tokio::time::timeout_at(until, ready_rx.recv()).await {
                Ok(Some(())) => ready += 1,
                _ => break,
            }
        }
    }
    let mut sent = Vec::with_capacity(events);
    let mut answered = Vec::with_capacity(events);
    for i in 0..events {
        let t = Instant::now();
        let v = server
            .book(
                &room,
                base + Days::minutes(30 * i as i64),
                30,
                &format!("ev-{i}"),
            )
            .await;
        assert!(v["data"]["bookRoom"].is_object(), "{v}");
        sent.push(t);
        answered.push(Instant::now());
        tokio::time::sleep(interval).await;
    }
    let mut from_response = Vec::new();
    let mut from_request = Vec::new();
    let (mut missing, mut missed_total) = (0usize, 0u64);
    for c in clients {
        let (got, missed) = tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("subscribers finish")
            .expect("task");
        missed_total += missed;
        for (i, g) in got.iter().enumerate() {
            match g {
                Some(at) => {
                    from_response
                        .push(at.saturating_duration_since(answered[i]).as_secs_f64() * 1e3);
                    from_request.push(at.duration_since(sent[i]).as_secs_f64() * 1e3);
                }
                None => missing += 1,
            }
        }
    }
    from_response.sort_by(f64::total_cmp);
    from_request.sort_by(f64::total_cmp);
    println!(
        "{label}: {subscribers} subscribers x {events} events {} ms apart: delivered {}/{}, missed {missed_total}; \
         booking response -> event p50 {:.1} ms p99 {:.1} ms max {:.1} ms; booking request -> event p50 {:.1} ms p99 {:.1} ms",
        interval.as_millis(), from_response.len(), subscribers * events,
        percentile(&from_response, 0.5), percentile(&from_response, 0.99), from_response.last().copied().unwrap_or(f64::NAN),
        percentile(&from_request, 0.5), percentile(&from_request, 0.99),
    );
    if missing > 0 {
        println!("{label}: {missing} events never arrived");
    }
}

const SERIES: &str =
    "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { occurrences { id } } }";

/// Books a series of `count` occurrences of 30 minutes from `start`; the latency in ms, or
/// `None` if it was refused.
async fn book_series(
    server: &Server,
    room: &str,
    start: DateTime<Utc>,
    frequency: &str,
    count: u64,
) -> Option<f64> {
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let t0 = Instant::now();
    let v = server
        .gql(
            SERIES,
            json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(start + Days::minutes(30)),
                         "recurrence": {"frequency": frequency, "count": count},
                         "title": "series", "organizerName": "Bench", "organizerEmail": "bench@example.com"}}),
        )
        .await;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let booked = v["data"]["bookSeries"]["occurrences"]
        .as_array()
        .map_or(0, Vec::len);
    (booked as u64 == count).then_some(ms)
}

/// `bookSeries` latency (52 weekly occurrences, p50 over 100 calls; 366 daily ones, over 20)
/// and single bookings/s alone vs while series are booked alongside, alternating rounds.
async fn bench_series() {
    let server = Arc::new(Server::start().await);
    let base = origin();
    series_latency(&server, "fresh", base).await;
    if let Ok(url) = std::env::var("BENCH_DATABASE") {
        if url.starts_with("postgres") {
            // A fresh database has no statistics until autovacuum's first ANALYZE, and the
            // planner guesses a room's reservations are few; measure again as it runs later.
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("the bench database answers");
            tokio::spawn(conn);
            client.batch_execute("ANALYZE").await.expect("ANALYZE");
            series_latency(&server, "after ANALYZE", base + Days::days(800)).await;
        }
    }
    // Singles into 10 rooms, alone and while one client books 52-week series into 10 others,
    // SERIES_PER_SEC of them (0: back to back); ROUNDS alternating rounds.
    let per_sec = env_num("SERIES_PER_SEC", 10);
    let singles = rooms_named(&server, "singles", 10).await;
    let busy = rooms_named(&server, "series-load", 10).await;
    let rounds = env_num("ROUNDS", 6);
    let (mut alone, mut alongside, mut series_done) = (0.0, 0.0, 0u64);
    let mut offset = 0;
    let mut next_series = 0u64;
    for _ in 0..rounds {
        let (a, _) = book_rate(&server, &singles, offset).await;
        offset += (a * env_num("SECONDS", 5) as f64) as u64 + 10_000;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let loader = {
            let (server, busy, stop) = (server.clone(), busy.clone(), stop.clone());
            let first = next_series;
            tokio::spawn(async move {
                let mut n = first;
                let mut tick = (per_sec > 0)
                    .then(|| tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec as f64)));
                while !stop.load(Ordering::Relaxed) {
                    if let Some(t) = tick.as_mut() {
                        t.tick().await;
                    }
                    let room = &busy[(n % 10) as usize];
                    let start = base + Days::minutes(30 * (n / 10) as i64);
                    book_series(&server, room, start, "WEEKLY", 52).await;
                    n += 1;
                }
                n
            })
        };
        let (b, _) = book_rate(&server, &singles, offset).await;
        offset += (b * env_num("SECONDS", 5) as f64) as u64 + 10_000;
        stop.store(true, Ordering::Relaxed);
        let last = loader.await.unwrap_or(next_series);
        series_done += last - next_series;
        next_series = last;
        alone += a / rounds as f64;
        alongside += b / rounds as f64;
    }
    println!(
        "series: single bookings {alone:.0}/s alone, {alongside:.0}/s while series are booked \
         (ratio {:.3}; {series_done} series of 52 booked alongside, {:.1}/s, asked {per_sec}/s; {} conns, \
         {rounds} alternating rounds of {} s)",
        alongside / alone,
        series_done as f64 / (rounds * env_num("SECONDS", 5)) as f64,
        env_num("CONNS", 32),
        env_num("SECONDS", 5)
    );
}

/// Prints `bookSeries` latency: 52 weekly occurrences (100 calls into 10 rooms), 366 daily
/// ones (20 calls, a room each), from `base`.
async fn series_latency(server: &Server, label: &str, base: DateTime<Utc>) {
    let weekly_rooms = rooms_named(server, &format!("weekly {label}"), 10).await;
    let mut weekly = Vec::new();
    for i in 0..100u64 {
        let room = &weekly_rooms[(i % 10) as usize];
        let start = base + Days::minutes(30 * (i / 10) as i64);
        weekly.extend(book_series(server, room, start, "WEEKLY", 52).await);
    }
    weekly.sort_by(f64::total_cmp);
    let daily_rooms = rooms_named(server, &format!("daily {label}"), 20).await;
    let mut daily = Vec::new();
    for room in daily_rooms.iter() {
        daily.extend(book_series(server, room, base, "DAILY", 366).await);
    }
    daily.sort_by(f64::total_cmp);
    println!(
        "series ({label}): bookSeries of 52 weekly p50 {:.2} ms p99 {:.2} ms ({} of 100 \
         booked); 366 daily p50 {:.2} ms max {:.2} ms ({} of 20 booked)",
        percentile(&weekly, 0.5),
        percentile(&weekly, 0.99),
        weekly.len(),
        percentile(&daily, 0.5),
        percentile(&daily, 1.0),
        daily.len()
    );
}

async fn rooms_named(server: &Server, prefix: &str, n: usize) -> Arc<Vec<String>> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(server.room(&format!("{prefix}-{i}")).await);
    }
    Arc::new(v)
}

/// Seconds of CPU (user + system) the server process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name's closing parenthesis: fields 3.. ; utime and stime are 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0 // USER_HZ
}

/// Auto-release with PREFILL (100,000) future reservations in check-in rooms: the server's
/// CPU while nothing falls due, then RELEASES (1,000) no-shows whose deadlines fall within
/// ten seconds of each other, timed from each deadline to its RELEASED event.
async fn bench_release() {
    let server = Arc::new(Server::start().await);
    let prefill = env_num("PREFILL", 100_000);
    let releases = env_num("RELEASES", 1_000) as usize;
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut rooms = Vec::new();
    for i in 0..100 {
        let v = server
            .gql(
                "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                json!({"i": {"name": format!("checkin-{i}"), "capacity": 8,
                             "policy": {"checkInRequired": true, "autoReleaseMinutes": 1}}}),
            )
            .await;
        rooms.push(
            v["data"]["createRoom"]["id"]
                .as_str()
                .expect("room")
                .to_owned(),
        );
    }
    let rooms = Arc::new(rooms);
    // The prefill starts a week ahead, so none of it falls due during the bench.
    let far = origin() + Days::days(7);
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (server, rooms, next) = (server.clone(), rooms.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= prefill {
                        break;
                    }
                    let room = &rooms[(n % 100) as usize];
                    let start = far + Days::minutes(30 * (n / 100) as i64);
                    server.book(room, start, 30, "future").await;
                }
            })
        })
        .collect();
    futures_util::future::join_all(tasks).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = (cpu_seconds(pid) - cpu0) / t0.elapsed().as_secs_f64() * 100.0;

    // A subscriber for the RELEASED events, then the no-shows: starts 5-15 s from now, each
    // room's a second apart.
    let url = format!("{}/graphql", server.base.replace("http", "ws"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
    ws.send(Message::text(r#"{"type":"connection_init"}"#))
        .await
        .unwrap();
    ws.send(Message::text(r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { reservationEvents { kind reservation { id releasedAt } } }"}}"#)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = Utc::now() + Days::seconds(5);
    let mut deadlines = std::collections::HashMap::new();
    for i in 0..releases {
        let start = first + Days::milliseconds((10_000 * i / releases) as i64);
        let room = &rooms[i % 100];
        let v = server
            .gql(
                BOOK,
                json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(start + Days::milliseconds(900)),
                             "organizerName": "Bench", "organizerEmail": "bench@example.com"}}),
            )
            .await;
        let id = v["data"]["bookRoom"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("booking refused: {v}"))
            .to_owned();
        deadlines.insert(id, start + Days::minutes(1));
    }
    let mut delays = Vec::with_capacity(releases);
    let mut lateness = Vec::with_capacity(releases);
    let give_up = Instant::now() + Duration::from_secs(120);
    while delays.len() < releases && Instant::now() < give_up {
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(5), ws.next()).await
        else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
        let e = &v["payload"]["data"]["reservationEvents"];
        if e["kind"] != "RELEASED" {
            continue;
        }
        if let Some(deadline) = e["reservation"]["id"]
            .as_str()
            .and_then(|id| deadlines.get(id))
        {
            let ms = |d: Days| d.num_microseconds().unwrap_or(0) as f64 / 1e3;
            delays.push(ms(Utc::now() - *deadline));
            if let Some(at) = e["reservation"]["releasedAt"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            {
                lateness.push(ms(at.with_timezone(&Utc) - *deadline));
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    lateness.sort_by(f64::total_cmp);
    println!(
        "release: deadline -> releasedAt (the server's own lateness) p50 {:.1} ms p99 {:.1} ms",
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.99)
    );
    println!(
        "release: {prefill} future reservations in 100 check-in rooms: server CPU {idle:.2}% \
         while idle (10 s), RSS {:.1} MB; {} of {releases} no-shows released, deadline -> \
         RELEASED event p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        server.rss_mb(),
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(f64::NAN)
    );
}

/// RSS of the server per idle WebSocket: `IDLE_SOCKETS` (1,000) graphql-transport-ws
/// connections, each acknowledged and subscribed to `reservationEvents`, then nothing.
async fn bench_idle_sockets() {
    let n = env_num("IDLE_SOCKETS", 1000) as usize;
    let server = Server::start().await;
    let ws_url = server.base.replace("http://", "ws://") + "/graphql";
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_mb();
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let mut req = ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connects");
        ws.send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .unwrap();
        let _ack = ws.next().await;
        if env_num("IDLE_SUBSCRIBE", 1) == 1 {
            let sub = json!({"type": "subscribe", "id": format!("{i}"),
                "payload": {"query": "subscription { reservationEvents { kind reservation { id title } } }"}});
            ws.send(Message::text(sub.to_string())).await.unwrap();
        }
        sockets.push(ws);
    }
    // Let every subscription start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_mb();
    println!(
        "idle-sockets: {n} subscribed sockets; RSS {before:.1} -> {after:.1} MB: {:.1} KB per socket",
        (after - before) * 1024.0 / n as f64
    );
    drop(sockets);
}

/// Connections that sent half a request's headers (`HALF_OPEN`, 2,000): the server's memory
/// per connection, and how long normal requests take while they are held.
async fn bench_half_open() {
    use tokio::io::AsyncWriteExt;
    let n = env_num("HALF_OPEN", 2000) as usize;
    let server = Server::start().await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let probe = |label: &'static str| {
        let server = &server;
        async move {
            let mut took = Vec::new();
            for _ in 0..200 {
                let t = Instant::now();
                server.gql("{ rooms { id } }", json!({})).await;
                took.push(t.elapsed().as_secs_f64() * 1e3);
            }
            took.sort_by(f64::total_cmp);
            println!(
                "half-open: {label}: normal request p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                took[100], took[198], took[199]
            );
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    probe("without them").await;
    let before = server.rss_mb();
    let opened = Instant::now();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connects");
        s.write_all(b"POST /graphql HTTP/1.1\r\nHost: roombook\r\nContent-Type: appli")
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.rss_mb();
    println!(
        "half-open: {n} held; RSS {before:.1} -> {after:.1} MB: {:.1} KB per connection",
        (after - before) * 1024.0 / n as f64
    );
    probe(&*Box::leak(format!("with {n} half-open").into_boxed_str())).await;
    // Until the server has closed them all (the header-read timeout, 10 s by default).
    let mut closed = 0;
    for s in &mut held {
        let mut buf = [0u8; 256];
        loop {
            use tokio::io::AsyncReadExt;
            match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    println!(
        "half-open: {closed} of {n} closed by the server, the last {:.1} s after they were opened",
        opened.elapsed().as_secs_f64()
    );
}

/// Hostile documents (`hostile`): what each refusal costs the server, and `/healthz`'s
/// latency alone and while 4 clients send nothing but such documents. The shapes: fragment
/// fan-outs of 25, 40 and 64 levels (2^levels fields if expanded), and lists, objects and
/// selection sets nested 30,000 deep (as deep as the default 64 KiB body allows).
async fn bench_hostile() {
    let server = Server::start().await;
    let fan_out = |levels: usize| {
        let mut q = "{ ...L0 }".to_owned();
        for i in 0..levels {
            q += &format!(" fragment L{i} on Query {{ ...L{n} ...L{n} }}", n = i + 1);
        }
        q + &format!(" fragment L{levels} on Query {{ __typename }}")
    };
    let n = 30_000;
    let shapes: Vec<(String, String)> = vec![
        ("fan-out 25".into(), fan_out(25)),
        ("fan-out 40".into(), fan_out(40)),
        ("fan-out 64".into(), fan_out(64)),
        (
            format!("list {n} deep"),
            format!(
                "{{ rooms(features: {}\"a\"{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ),
        (
            "object 12,000 deep".into(),
            format!(
                "mutation {{ createRoom(input: {}1{}) {{ id }} }}",
                "{a:".repeat(12_000),
                "}".repeat(12_000)
            ),
        ),
        (
            "selections 20,000 deep".into(),
            format!("{}{}", "{a".repeat(20_000), "}".repeat(20_000)),
        ),
    ];
    let health = |label: String| {
        let server = &server;
        async move {
            // For 2 s, one probe every 2 ms or so.
            let mut took = Vec::new();
            let began = Instant::now();
            while began.elapsed() < Duration::from_secs(2) {
                let t = Instant::now();
                let ok = server
                    .client
                    .get(format!("{}/healthz", server.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                assert!(ok, "/healthz answers");
                took.push(t.elapsed().as_secs_f64() * 1e3);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            took.sort_by(f64::total_cmp);
            let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
            println!(
                "hostile: /healthz {label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} probes)",
                at(0.5),
                at(0.99),
                at(1.0),
                took.len()
            );
        }
    };
    health("alone".into()).await;
    for (name, query) in &shapes {
        let body = json!({ "query": query });
        let count = 200;
        let cpu = server.cpu_ms();
        let mut took = Vec::new();
        for _ in 0..count {
            let t = Instant::now();
            let v: Value = server
                .client
                .post(format!("{}/graphql", server.base))
                .json(&body)
                .send()
                .await
                .expect("answered")
                .json()
                .await
                .expect("JSON");
            took.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(v.get("data").is_none(), "{name}: refused, nothing ran: {v}");
        }
        let cpu_each = (server.cpu_ms() - cpu) / count as f64;
        took.sort_by(f64::total_cmp);
        println!(
            "hostile: {name} ({} KB): refused in p50 {:.2} ms, p99 {:.2} ms; server CPU {cpu_each:.2} ms each",
            query.len() / 1024,
            took[count / 2],
            took[count * 99 / 100]
        );
    }
    // /healthz while four clients send ordinary queries as fast as they can, then while they
    // send nothing but hostile documents: a refusal should cost no more than a small query.
    for (label, docs) in [
        (
            "ordinary queries ({ rooms { id } })",
            vec!["{ rooms { id } }".to_owned()],
        ),
        (
            "hostile documents",
            shapes.iter().map(|(_, q)| q.clone()).collect(),
        ),
    ] {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut senders = Vec::new();
        for c in 0..4 {
            let (client, base) = (server.client.clone(), server.base.clone());
            let body = json!({ "query": docs[c % docs.len()] });
            let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
            senders.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let _ = client
                        .post(format!("{base}/graphql"))
                        .json(&body)
                        .send()
                        .await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let began = Instant::now();
        let before = sent.load(Ordering::Relaxed);
        health(format!("with 4 clients sending {label}")).await;
        let during = sent.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            let _ = s.await;
        }
        println!(
            "hostile:   meanwhile {during} answered ({:.0}/s)",
            during as f64 / began.elapsed().as_secs_f64()
        );
    }
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if runs("memory") {
            bench_memory_idle().await;
        }
        if runs("book") {
            bench_book().await;
        }
        if runs("list") {
            bench_list().await;
        }
        if runs("pages") {
            bench_pages().await;
        }
        if runs("policy") {
            bench_policy().await;
        }
        if runs("quota") {
            bench_quota().await;
        }
        if runs("approval") {
            bench_approval().await;
        }
        if runs("available") {
            bench_available().await;
        }
        if runs("series") {
            bench_series().await;
        }
        if runs("release") {
            bench_release().await;
        }
        if runs("race") {
            bench_race().await;
        }
        if runs("subscribe") {
            bench_subscribe().await;
        }
        if runs("idle-sockets") {
            bench_idle_sockets().await;
        }
        if runs("half-open") {
            bench_half_open().await;
        }
        if runs("history") {
            bench_history().await;
        }
        if runs("hostile") {
            bench_hostile().await;
        }
        if wanted.iter().any(|w| w == "replicas") {
            bench_replicas().await;
        }
    });
}
