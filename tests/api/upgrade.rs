//! Rolling upgrades (API.md "Upgrades"): replicas of the previous release (`release/previous`,
//! built by `scripts/previous-release.sh`) serving and subscribed to on one PostgreSQL, replicas
//! of this build starting (and migrating) beside them, traffic through both, then the old ones
//! stopped one by one, as a deployment platform rolls a release out. And the rule that makes it
//! safe: migrations since the previous release only expand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::process::Running;
use crate::ws_client::*;

const BOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }";
const CANCEL: &str = "mutation($id: ID!) { cancelReservation(id: $id) { id status } }";

/// The previous release's binary, built by `scripts/previous-release.sh`.
fn previous_release() -> String {
    std::env::var("ROOMBOOK_PREVIOUS_BIN").expect(
        "ROOMBOOK_PREVIOUS_BIN (the previous release's binary): run the tests with scripts/test.sh",
    )
}

/// The replicas a load balancer sends traffic to: a replica leaves it before it is stopped.
#[derive(Clone, Default)]
struct Rotation(Arc<Mutex<Vec<(String, std::net::SocketAddr)>>>);

impl Rotation {
    fn add(&self, r: &Running) {
        self.0.lock().unwrap().push((r.base.clone(), r.addr));
    }
    fn remove(&self, r: &Running) {
        self.0.lock().unwrap().retain(|(b, _)| *b != r.base);
    }
    fn pick(&self, n: usize) -> (String, std::net::SocketAddr) {
        let list = self.0.lock().unwrap();
        list[n % list.len()].clone()
    }
}

/// What one client did: the ids it booked and cancelled (acknowledged), and every request that
/// failed for a reason other than the API's own rules.
#[derive(Default)]
struct Done {
    booked: Vec<String>,
    cancelled: Vec<String>,
    failures: Vec<String>,
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let resp = client
        .post(format!("{base}/graphql"))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .map_err(|e| format!("{base}: {e}"))?;
    resp.json::<Value>()
        .await
        .map_err(|e| format!("{base}: {e}"))
}

/// Client `me` books its own slots of `room` one after another through the rotation, and
/// cancels every other one through the next replica, until `stop`.
async fn client(me: usize, rotation: Rotation, room: String, stop: Arc<AtomicBool>) -> Done {
    let http = reqwest::Client::new();
    let mut done = Done::default();
    let mut k = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let minutes = 60 * (8 * k + me) as i64;
        let (base, _) = rotation.pick(k + me);
        let vars = json!({"i": {"roomId": room, "start": at(minutes), "end": at(minutes + 30),
                                "organizerName": "Roll", "organizerEmail": "roll@example.com"}});
        match post(&http, &base, BOOK, vars).await {
            Ok(v) => match v["data"]["bookRoom"]["id"].as_str() {
                Some(id) => {
                    done.booked.push(id.to_owned());
                    if k % 2 == 1 {
                        let (base, _) = rotation.pick(k + me + 1);
                        match post(&http, &base, CANCEL, json!({"id": id})).await {
                            Ok(v) if v["data"]["cancelReservation"]["status"] == "CANCELLED" => {
                                done.cancelled.push(id.to_owned())
                            }
                            Ok(v) => done.failures.push(format!("cancel via {base}: {v}")),
                            Err(e) => done.failures.push(format!("cancel: {e}")),
                        }
                    }
                }
                None => done.failures.push(format!("book via {base}: {v}")),
            },
            Err(e) => done.failures.push(format!("book: {e}")),
        }
        k += 1;
    }
    done
}

/// A subscriber to `room`'s events, first on the replica at `first`; whenever its replica goes
/// away, it resumes on another one in the rotation with the last cursor it saw. Returns every
/// event it received, and how many times it resumed; `count` follows the events as they come.
async fn subscriber(
    first: std::net::SocketAddr,
    rotation: Rotation,
    room: String,
    stop: Arc<AtomicBool>,
    count: Arc<std::sync::atomic::AtomicUsize>,
) -> (Vec<Value>, usize) {
    let mut events: Vec<Value> = Vec::new();
    let mut resumed = 0;
    let mut addr = first;
    for turn in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if turn > 0 {
            addr = rotation.pick(turn).1;
            resumed += 1;
        }
        let after = events
            .last()
            .map(|e| e["cursor"].clone())
            .unwrap_or(Value::Null);
        let mut ws = WsClient::ready_at(addr).await;
        ws.subscribe("1", EVENTS, json!({"room": room, "after": after}))
            .await;
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(200), ws.recv_or_closed()).await {
                Err(_) => continue, // nothing yet: look at `stop` again
                Ok(None) => break,  // its replica stopped: resume elsewhere
                Ok(Some(msg)) => {
                    assert_eq!(msg["type"], "next", "{msg}");
                    events.push(msg["payload"]["data"]["reservationEvents"].clone());
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    (events, resumed)
}

/// 32 bookings of overlapping slots of `room` at once, spread over `via`: one wins, every
/// other is refused with `OVERLAP`. Returns a description of what was wrong, if anything.
async fn race(via: &[&Running], room: &str, round: i64) -> Option<String> {
    let http = reqwest::Client::new();
    let answers = futures_util::future::join_all((0..32).map(|i| {
        let base = via[i % via.len()].base.clone();
        let start = at(24 * 60 * 30 + 60 * round + (i as i64 % 10));
        let end = at(24 * 60 * 30 + 60 * round + 11 + (i as i64 % 7));
        let http = http.clone();
        let room = room.to_owned();
        async move {
            let vars = json!({"i": {"roomId": room, "start": start, "end": end,
                                    "organizerName": "Race", "organizerEmail": "race@example.com"}});
            post(&http, &base, BOOK, vars).await
        }
    }))
    .await;
    let mut won = 0;
    for a in &answers {
        match a {
            Ok(v) if v["data"]["bookRoom"]["id"].is_string() => won += 1,
            Ok(v) if v["errors"][0]["extensions"]["code"] == "OVERLAP" => {}
            other => return Some(format!("round {round}: {other:?}")),
        }
    }
    (won != 1).then(|| format!("round {round}: {won} winners"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_rolling_upgrade_from_the_previous_release_fails_no_request_and_loses_no_event() {
    assert!(on_postgres(), "PostgreSQL only: scripts/test.sh runs it");
    let previous = previous_release();
    let database = fresh_database().await;
    let args = ["--database", database.as_str(), "--db-pool-size", "4"];
    // Two replicas of the previous release: they create the schema as it was.
    let old: Vec<Running> =
        futures_util::future::join_all((0..2).map(|_| Running::start_bin(&previous, &args))).await;
    let room = old[0].create_room("Rolling").await;
    let contested = old[1].create_room("Contested").await;
    let rotation = Rotation::default();
    old.iter().for_each(|r| rotation.add(r));

    // Subscribers on each old replica, then four clients booking and cancelling.
    let stop_subscribers = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let subscribers: Vec<_> = old
        .iter()
        .map(|r| {
            tokio::spawn(subscriber(
                r.addr,
                rotation.clone(),
                room.clone(),
                stop_subscribers.clone(),
                counts.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await; // both subscribed
    let stop_clients = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|me| {
            tokio::spawn(client(
                me,
                rotation.clone(),
                room.clone(),
                stop_clients.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // The new release starts beside them (migrating the database) and takes traffic.
    let new_one = Running::start(&args).await;
    rotation.add(&new_one);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // Exactly one winner, with old and new deciding together.
    let mut wrong = Vec::new();
    for round in 0..5 {
        wrong.extend(race(&[&old[0], &old[1], &new_one], &contested, round).await);
    }
    let new_two = Running::start(&args).await;
    rotation.add(&new_two);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The old replicas leave the rotation, drain, and stop, one at a time.
    let mut old = old.into_iter();
    for victim in old.by_ref() {
        rotation.remove(&victim);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(victim.terminate(), Some(0), "the old replica exits cleanly");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    for round in 5..8 {
        wrong.extend(race(&[&new_one, &new_two], &contested, round).await);
    }
    stop_clients.store(true, Ordering::Relaxed);
    let mut done = Done::default();
    for c in clients {
        let d = c.await.unwrap();
        done.booked.extend(d.booked);
        done.cancelled.extend(d.cancelled);
        done.failures.extend(d.failures);
    }
    assert!(
        done.failures.is_empty(),
        "failed requests: {:#?}",
        done.failures
    );
    assert!(wrong.is_empty(), "races: {wrong:#?}");
    assert!(
        done.booked.len() >= 20,
        "only {} bookings",
        done.booked.len()
    );

    // Every acknowledged change reaches both subscribers exactly once, in the same order.
    let expected = done.booked.len() + done.cancelled.len();
    // Delivery may trail the changes (four debug builds and PostgreSQL share two cores here):
    // wait until both subscribers have as many events as there were changes, or 30 s.
    let caught_up = std::time::Instant::now();
    while counts.load(Ordering::Relaxed) < 2 * expected
        && caught_up.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_subscribers.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for s in subscribers {
        seen.push(s.await.unwrap());
    }
    for (events, resumed) in &seen {
        assert!(*resumed >= 1, "a subscriber never moved off an old replica");
        let mut kinds: HashMap<(String, String), usize> = HashMap::new();
        for e in events {
            let id = e["reservation"]["id"].as_str().unwrap().to_owned();
            *kinds
                .entry((e["kind"].as_str().unwrap().to_owned(), id))
                .or_default() += 1;
        }
        for id in &done.booked {
            assert_eq!(
                kinds.get(&("BOOKED".into(), id.clone())),
                Some(&1),
                "BOOKED {id}"
            );
        }
        for id in &done.cancelled {
            assert_eq!(
                kinds.get(&("CANCELLED".into(), id.clone())),
                Some(&1),
                "CANCELLED {id}"
            );
        }
        assert_eq!(
            events.len(),
            expected,
            "events beyond the acknowledged changes"
        );
    }
    let cursors =
        |events: &[Value]| -> Vec<Value> { events.iter().map(|e| e["cursor"].clone()).collect() };
    assert_eq!(
        cursors(&seen[0].0),
        cursors(&seen[1].0),
        "both subscribers, same order"
    );
    eprintln!(
        "rolling upgrade: {} bookings, {} cancellations, {} events to each subscriber \
         ({:?} after the last change)",
        done.booked.len(),
        done.cancelled.len(),
        expected,
        caught_up.elapsed()
    );
}

/// The release recorded in `release/previous`: (version, commit).
fn previous_commit() -> (String, String) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/release/previous"))
        .expect("release/previous");
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .expect("a version and a commit in release/previous");
    let mut words = line.split_whitespace();
    let (Some(version), Some(commit)) = (words.next(), words.next()) else {
        panic!("release/previous: expected `VERSION COMMIT`, found {line:?}");
    };
    (version.to_owned(), commit.to_owned())
}

/// Why `statement` (one SQL statement of an `up.sql`) would break a replica of the previous
/// release still running on the migrated database, if it would: it removes, renames or
/// retypes something, or makes a column the previous release does not write required.
/// A statement after a `-- contract: WHY` comment line is a deliberate contraction (of what
/// the previous release no longer uses) and passes.
fn contracts(statement: &str) -> Option<&'static str> {
    if statement
        .lines()
        .any(|l| l.trim_start().starts_with("-- contract:"))
    {
        return None;
    }
    let code: String = statement
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let words: Vec<&str> = code
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
    if has(&["DROP"]) {
        return Some("drops something the previous release may use");
    }
    if has(&["RENAME"]) {
        return Some("renames something the previous release uses by its old name");
    }
    if has(&["TRUNCATE"]) {
        return Some("empties a table the previous release reads");
    }
    if has(&["ALTER", "COLUMN"]) && (has(&["TYPE"]) || has(&["SET", "NOT", "NULL"])) {
        return Some("changes a column the previous release writes");
    }
    if has(&["ADD", "COLUMN"]) && has(&["NOT", "NULL"]) && !has(&["DEFAULT"]) {
        return Some("adds a required column the previous release's INSERTs leave out");
    }
    None
}

/// The existing tables a migration's statements lock (`ALTER TABLE t`, `CREATE INDEX ... ON
/// t`), in order of first use.
fn tables_locked(up: &str) -> Vec<String> {
    let code: String = up
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let words: Vec<&str> = code
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut tables: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let table = match (*w, words.get(i + 1)) {
            ("alter", Some(&"table")) => words.get(i + 2),
            ("on", _) if words[..i].iter().rev().take(8).any(|w| *w == "index") => words.get(i + 1),
            _ => None,
        };
        if let Some(t) = table {
            if !tables.iter().any(|x| x == t) {
                tables.push((*t).to_owned());
            }
        }
    }
    tables
}

#[test]
fn a_migration_locking_two_tables_is_caught() {
    assert_eq!(
        tables_locked(
            "ALTER TABLE rooms ADD COLUMN a INT;\nALTER TABLE reservations ADD COLUMN b INT;"
        ),
        ["rooms", "reservations"]
    );
    assert_eq!(
        tables_locked("-- ALTER TABLE rooms\nALTER TABLE reservations ADD COLUMN b INT;\nCREATE INDEX x ON reservations (b) WHERE b IS NOT NULL;"),
        ["reservations"]
    );
    assert_eq!(
        tables_locked("CREATE INDEX reservations_room_organizer\n    ON reservations (room_id);\nALTER TABLE rooms ADD COLUMN a INT;"),
        ["reservations", "rooms"]
    );
}

#[test]
fn the_expand_only_check_catches_what_breaks_a_previous_release_replica() {
    for bad in [
        "ALTER TABLE reservations DROP COLUMN title",
        "DROP INDEX reservations_owner_start",
        "ALTER TABLE rooms RENAME COLUMN name TO label",
        "ALTER TABLE rooms ALTER COLUMN capacity TYPE BIGINT",
        "ALTER TABLE rooms ALTER COLUMN building SET NOT NULL",
        "ALTER TABLE reservations ADD COLUMN approver TEXT NOT NULL",
        "alter table reservations\n  add column approver text\n  not null",
    ] {
        assert!(contracts(bad).is_some(), "{bad}");
    }
    for fine in [
        "ALTER TABLE reservations ADD COLUMN approver TEXT",
        "ALTER TABLE reservations ADD COLUMN attempts INT NOT NULL DEFAULT 0",
        "CREATE TABLE idempotency (key TEXT PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE INDEX reservations_pending ON reservations (status) WHERE status = 'PENDING'",
        "-- the room's name no longer...\nALTER TABLE rooms ADD COLUMN x TEXT -- not null later",
        "-- contract: 3.0.0 reads `label`; 2.0.0 was the last to read `name`\nALTER TABLE rooms DROP COLUMN name",
    ] {
        assert_eq!(contracts(fine), None, "{fine}");
    }
}

/// API.md "Upgrades": a release's PostgreSQL migrations only expand, so replicas of the release
/// before it keep working on the migrated database (SQLite is one process: its upgrade is a
/// restart, and its migrations may rebuild tables). Compares with the migrations the previous
/// release shipped (`git ls-tree` of its commit).
#[test]
fn postgres_migrations_since_the_previous_release_only_expand() {
    let (version, commit) = previous_commit();
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("git")
        .args([
            "-C",
            root,
            "ls-tree",
            "--name-only",
            &commit,
            "migrations/postgres/",
        ])
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "the previous release {version} ({commit}) is not in this clone's history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped: std::collections::HashSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("migrations/postgres/").to_owned())
        .collect();
    assert!(!shipped.is_empty(), "{version} shipped no migrations?");
    let mut broken = Vec::new();
    for entry in std::fs::read_dir(format!("{root}/migrations/postgres")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if shipped.contains(&name) {
            continue;
        }
        let up =
            std::fs::read_to_string(format!("{root}/migrations/postgres/{name}/up.sql")).unwrap();
        for statement in up.split(';') {
            if let Some(why) = contracts(statement) {
                broken.push(format!("{name}: {why}: {}", statement.trim()));
            }
        }
        let locked = tables_locked(&up);
        if locked.len() > 1 {
            broken.push(format!(
                "{name}: locks {locked:?} in one transaction, while running replicas lock \
                 tables in both orders (a cancel: reservations, then rooms; a booking: rooms, \
                 then reservations): a deadlock; one table per migration"
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "migrations since {version} that a {version} replica would not survive (expand now, \
         contract a release later, marked `-- contract: WHY`):\n{}",
        broken.join("\n")
    );
}
