//! The binary as an operator meets it: help, bad input, signals, restarts.

use std::process::Command;

use serde_json::json;

use crate::helpers::{at, code};

use crate::process::{assert_kept, book_until_killed, Running, BIN};

#[test]
fn help_explains_every_flag_and_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let options =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/running.md")).unwrap();
    // Each option's entry runs from its `--flag` line to the next option.
    let mut flags = 0;
    for entry in help.split("\n      --").skip(1) {
        let flag = entry.split_whitespace().next().unwrap_or_default();
        if flag == "help" || flag == "version" {
            continue;
        }
        flags += 1;
        let entry = entry.split("\n  -").next().unwrap_or(entry);
        assert!(
            options.contains(&format!("`--{flag}")),
            "--{flag} is documented in docs/running.md's table of options"
        );
        assert!(
            entry.contains("[env: ROOMBOOK_") || entry.contains("[env: DATABASE_URL"),
            "--{flag} names its env variable:\n{entry}"
        );
    }
    assert!(flags >= 10, "found {flags} flags:\n{help}");
    for needle in ["RUST_LOG", "print-schema", "serve", "SIGTERM"] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn a_bad_flag_is_one_line_and_a_non_zero_exit() {
    for args in [
        &["--bogus"][..],
        &["--addr", "not-an-address"],
        &["--metrics-token", " "],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("roombook: "), "{err}");
    }
}

#[tokio::test]
async fn an_address_in_use_is_one_line_and_a_non_zero_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["--addr", &addr])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot listen on") && err.contains(&addr),
        "{err}"
    );
}

#[test]
fn an_unreachable_postgres_is_one_line_naming_it_without_its_password_and_exit_1() {
    let port = crate::process::free_port(); // nothing listens there
    let url = format!("postgres://ada:hunter2secret@127.0.0.1:{port}/roombook");
    let out = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--database", &url])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let log = String::from_utf8(out.stdout).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("postgres://ada:***@127.0.0.1:{port}/roombook")),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !log.contains("hunter2"),
        "{err}{log}"
    );
}

#[tokio::test]
async fn sigterm_exits_zero_and_a_file_database_keeps_what_was_acknowledged() {
    let dir = std::env::temp_dir().join(format!("roombook-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("rooms.db");
    let db = db.to_str().unwrap();

    let server = Running::start(&["--database", db]).await;
    let room = server
        .gql(
            r#"mutation { createRoom(input: {name: "Kept", capacity: 3}) { id } }"#,
            json!({}),
        )
        .await["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let booked = server
        .gql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
            json!({"i": {"roomId": room, "start": at(60), "end": at(120), "organizerName": "Ada", "organizerEmail": "ada@example.com"}}),
        )
        .await;
    let id = booked["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.terminate(), Some(0), "SIGTERM exits 0");

    let again = Running::start(&["--database", db]).await;
    let body = again
        .gql(
            "query($id: ID!) { reservation(id: $id) { id room { name } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        body["data"]["reservation"]["room"]["name"], "Kept",
        "{body}"
    );
    // The rules hold across the restart too.
    let body = again
        .gql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
            json!({"i": {"roomId": room, "start": at(90), "end": at(100), "organizerName": "Bo", "organizerEmail": "bo@example.com"}}),
        )
        .await;
    assert_eq!(code(&body), Some("OVERLAP"));
    assert_eq!(again.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_in_memory_default_starts_empty_each_time() {
    let server = Running::start(&[]).await;
    server
        .gql(
            r#"mutation { createRoom(input: {name: "Gone", capacity: 3}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(server.terminate(), Some(0));
    let again = Running::start(&[]).await;
    assert_eq!(
        again.gql("{ rooms { id } }", json!({})).await["data"]["rooms"],
        json!([])
    );
    again.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_stream_loses_no_acknowledged_booking() {
    let dir = std::env::temp_dir().join(format!("roombook-kill-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("rooms.db");
    let db = db.to_str().unwrap().to_owned();
    let server = Running::start(&["--database", &db]).await;
    let room = server
        .gql(
            r#"mutation { createRoom(input: {name: "Busy", capacity: 3}) { id } }"#,
            json!({}),
        )
        .await["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Four clients race for the same slots, one after another, until the server dies.
    let pid = server.child.id().to_string();
    let acked = book_until_killed(&server, &room, || {
        assert!(Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success());
    })
    .await;
    drop(server);

    let again = Running::start(&["--database", &db]).await;
    assert_kept(&again, &room, &acked).await;
    again.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_secured_mode_that_cannot_work_is_refused_at_start_in_one_line_with_exit_2() {
    let key = crate::tokens::fixture("rsa-public.pem");
    let key = key.to_str().unwrap();
    let not_a_key = crate::tokens::fixture("README.md");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--jwt-secret", "too-short"], "at least 32 bytes"),
        (
            vec!["--jwt-public-key-file", key],
            "--jwt-issuer and --jwt-audience",
        ),
        (
            vec!["--jwt-public-key-file", key, "--jwt-issuer", "https://id"],
            "--jwt-audience",
        ),
        (
            vec!["--jwks-file", key, "--jwt-audience", "a"],
            "--jwt-issuer",
        ),
        (
            vec![
                "--jwt-public-key-file",
                not_a_key.to_str().unwrap(),
                "--jwt-issuer",
                "i",
                "--jwt-audience",
                "a",
            ],
            "not a PEM public key",
        ),
        (
            vec![
                "--jwt-public-key-file",
                "/nonexistent/key.pem",
                "--jwt-issuer",
                "i",
                "--jwt-audience",
                "a",
            ],
            "/nonexistent/key.pem",
        ),
        (
            vec![
                "--jwks-file",
                key,
                "--jwt-issuer",
                "i",
                "--jwt-audience",
                "a",
            ],
            "not a JWKS document",
        ),
        (
            vec![
                "--jwt-secret",
                "a-secret-that-is-long-enough-for-hs256!!",
                "--jwt-public-key-file",
                key,
            ],
            "cannot be used with",
        ),
    ];
    for (args, says) in cases {
        let out = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0"])
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("roombook: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("long-enough-for-hs256"),
            "the secret is never printed: {err}"
        );
    }
}

/// Starts the binary with `args` and `RUST_LOG=debug`, its log going to a file; the log.
async fn run_logging(args: &[&str], env: &[(&str, &str)], work: impl AsyncFnOnce(&str)) -> String {
    let port = crate::process::free_port();
    let log = std::env::temp_dir().join(format!("roombook-log-{}.txt", uuid::Uuid::new_v4()));
    let mut child = Command::new(BIN)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    work(&base).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    text
}

#[tokio::test]
async fn open_mode_warns_at_start_that_authentication_is_off() {
    let log = run_logging(&[], &[], async |_| {}).await;
    assert!(
        log.contains("WARN") && log.contains("authentication is OFF"),
        "{log}"
    );
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_the_log() {
    use crate::tokens::{hs256, member, unsigned, with, SECRET};
    let good = hs256(&member("ada"));
    let expired = hs256(&with(member("ada"), "exp", json!(0)));
    let forged = unsigned(&member("ada"));
    let tokens = [good.clone(), expired.clone(), forged.clone()];
    let log = run_logging(
        &[
            "--jwt-issuer",
            crate::tokens::ISSUER,
            "--jwt-audience",
            crate::tokens::AUDIENCE,
        ],
        &[("ROOMBOOK_JWT_SECRET", SECRET)],
        async |base| {
            let client = reqwest::Client::new();
            for token in &tokens {
                let _ = client
                    .post(format!("{base}/graphql"))
                    .header("Authorization", format!("Bearer {token}"))
                    .json(&json!({"query": "{ me { subject } }"}))
                    .send()
                    .await
                    .unwrap();
            }
        },
    )
    .await;
    assert!(log.contains("secured mode"), "{log}");
    assert!(
        log.contains("token refused"),
        "the refusals are logged: {log}"
    );
    for secret in [SECRET, &good, &expired, &forged] {
        // Any long piece of a token would do; its signature is the part that matters most.
        let tail = &secret[secret.len().saturating_sub(20)..];
        assert!(!log.contains(tail), "{tail} in the log:\n{log}");
    }
}
