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
    for args in [&["--bogus"][..], &["--addr", "not-an-address"]] {
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
