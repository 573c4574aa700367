//! The built binary as a child process: started on a free loopback port, spoken to over HTTP,
//! stopped with a signal.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::at;

pub const BIN: &str = env!("CARGO_BIN_EXE_roombook");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (at most 20 s) until the server at `base` answers `/healthz`.
pub async fn wait_until_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub struct Running {
    pub child: Child,
    pub base: String,
    pub addr: std::net::SocketAddr,
}

impl Running {
    /// Starts the binary with `args` and waits until `/healthz` answers.
    pub async fn start(args: &[&str]) -> Running {
        Running::start_bin(BIN, args).await
    }

    /// Starts `bin` (another build of roombook, say the previous release) with `args`. Its
    /// log (written to stdout) is dropped unless `ROOMBOOK_TEST_SERVER_LOG` is set (then it
    /// goes to the test's output).
    pub async fn start_bin(bin: &str, args: &[&str]) -> Running {
        let port = free_port();
        let log = || match std::env::var_os("ROOMBOOK_TEST_SERVER_LOG") {
            Some(_) => Stdio::inherit(),
            None => Stdio::null(),
        };
        let child = Command::new(bin)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(log())
            .stderr(log())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_until_healthy(&base).await;
        Running {
            child,
            base,
            addr: ([127, 0, 0, 1], port).into(),
        }
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Creates a room named `name` (open mode) and returns its id.
    pub async fn create_room(&self, name: &str) -> String {
        let body = self
            .gql(
                "mutation($n: String!) { createRoom(input: {name: $n, capacity: 4}) { id } }",
                json!({"n": name}),
            )
            .await;
        body["data"]["createRoom"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned()
    }

    /// Sends SIGTERM and returns the exit code.
    pub fn terminate(self) -> Option<i32> {
        self.signal("-TERM")
    }

    /// Sends `signal` (as `kill` spells it) and returns the exit code, if any.
    pub fn signal(mut self, signal: &str) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "did not exit after {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that fails midway must not leave servers behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Four clients book ever later, overlapping slots of `room` through `victim` until `kill`
/// (say, a SIGKILL of it) has happened 700 ms in; returns the ids acknowledged before.
pub async fn book_until_killed(victim: &Running, room: &str, kill: impl FnOnce()) -> Vec<String> {
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (acked, base, room) = (acked.clone(), victim.base.clone(), room.to_owned());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for slot in 0..100_000i64 {
                    let body = json!({"query": "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
                        "variables": {"i": {"roomId": room, "start": at(30 * slot), "end": at(30 * slot + 45),
                                            "organizerName": "Kill", "organizerEmail": "kill@example.com"}}});
                    let Ok(resp) = client.post(format!("{base}/graphql")).json(&body).send().await else { break };
                    let Ok(v) = resp.json::<Value>().await else { break };
                    if let Some(id) = v["data"]["bookRoom"]["id"].as_str() {
                        acked.lock().unwrap().push(id.to_owned());
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    kill();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 5,
        "only {} bookings were acknowledged before the kill",
        acked.len()
    );
    eprintln!("{} bookings acknowledged before SIGKILL", acked.len());
    acked
}

/// Every id in `acked` is a CONFIRMED reservation on `server`, and `room` has no overlap.
pub async fn assert_kept(server: &Running, room: &str, acked: &[String]) {
    for id in acked {
        let body = server
            .gql(
                "query($id: ID!) { reservation(id: $id) { status } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            body["data"]["reservation"]["status"], "CONFIRMED",
            "acknowledged {id} was lost: {body}"
        );
    }
    let body = server
        .gql(
            "query($r: ID, $f: DateTime, $t: DateTime) { reservations(roomId: $r, from: $f, to: $t) { start end } }",
            json!({"r": room, "f": at(0), "t": at(300 * 24 * 60)}),
        )
        .await;
    let list = body["data"]["reservations"].as_array().unwrap();
    assert!(
        list.len() >= acked.len(),
        "{} stored, {} acknowledged",
        list.len(),
        acked.len()
    );
    for pair in list.windows(2) {
        assert!(
            pair[0]["end"].as_str() <= pair[1]["start"].as_str(),
            "overlap: {pair:?}"
        );
    }
}
