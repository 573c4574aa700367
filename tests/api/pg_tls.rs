//! TLS to PostgreSQL: the URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey` protect both
//! connections a replica opens (the pool's and the listener's), and a server that is not who it
//! should be fails the start in one line. `scripts/test.sh` runs the cluster with `ssl = on`, a
//! certificate for `localhost` from a CA it makes for the run (`scripts/make-test-certs.sh`),
//! and hands the tests that directory.

use std::process::Command;
use std::time::{Duration, Instant};

use roombook::pg_tls::PgTarget;
use serde_json::json;
use tokio_postgres::NoTls;

use crate::helpers::*;
use crate::process::{Running, BIN};

const PG_ONLY: &str = "PostgreSQL only: scripts/test.sh runs it";

/// The file `name` in the run's certificate directory.
fn cert(name: &str) -> String {
    let dir = std::env::var("ROOMBOOK_TEST_PG_TLS").expect(
        "ROOMBOOK_TEST_PG_TLS (the certificates' directory): run the tests with scripts/test.sh",
    );
    format!("{dir}/{name}")
}

/// `url` (from `pg_url`, host `localhost`) with `host` instead and `params` appended.
fn with(url: &str, host: &str, params: &str) -> String {
    format!(
        "{}?{params}",
        url.replacen("@localhost:", &format!("@{host}:"), 1)
    )
}

/// What `pg_stat_ssl` says of every session on database `name`, once the listener is among
/// them: (application_name, ssl, client_dn).
async fn sessions(name: &str) -> Vec<(String, bool, Option<String>)> {
    let (client, connection) = tokio_postgres::connect(&pg_url("postgres"), NoTls)
        .await
        .expect("the test cluster answers");
    tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = client
            .query(
                "SELECT coalesce(a.application_name, ''), s.ssl, s.client_dn \
                   FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
                &[&name],
            )
            .await
            .expect("pg_stat_ssl");
        let found: Vec<_> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        if found
            .iter()
            .any(|(app, _, _): &(String, bool, Option<String>)| {
                app == roombook::events::pg::LISTENER_NAME
            })
        {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the listener never connected: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh database's URL and its name.
async fn database() -> (String, String) {
    assert!(on_postgres(), "{PG_ONLY}");
    let url = fresh_database().await;
    let name = url.rsplit('/').next().unwrap().to_owned();
    (url, name)
}

/// Serves a booking on `url`, then returns what `pg_stat_ssl` says of its sessions.
async fn serve_and_look(url: &str, name: &str) -> Vec<(String, bool, Option<String>)> {
    let server = Running::start(&["--database", url]).await;
    let room = server
        .gql(
            "mutation { createRoom(input: {name: \"Vault\", capacity: 2}) { id } }",
            json!({}),
        )
        .await;
    let room = room["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let booked = server
        .gql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
            json!({"i": {"roomId": room, "start": at(60), "end": at(90),
                         "organizerName": "Ada", "organizerEmail": "ada@example.com"}}),
        )
        .await;
    assert!(booked["errors"].is_null(), "{booked}");
    sessions(name).await
}

/// Starts the binary on `url` expecting it to refuse: its exit code and standard error.
fn refused_start(url: &str) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--database", url])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn verify_full_with_the_right_ca_encrypts_both_connections_and_presents_the_client_cert() {
    let (url, name) = database().await;
    let url = with(
        &url,
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}&application_name=roombook-pool",
            cert("ca.crt"),
            cert("client.crt"),
            cert("client.key")
        ),
    );
    let seen = serve_and_look(&url, &name).await;
    assert!(
        seen.iter().any(|(app, _, _)| app == "roombook-pool"),
        "{seen:?}"
    );
    for (app, ssl, client) in &seen {
        assert!(ssl, "{app} is not encrypted: {seen:?}");
        assert_eq!(
            client.as_deref(),
            Some("/CN=roombook-client"),
            "{app} did not present the client certificate: {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn require_works_without_a_ca_and_still_encrypts() {
    let (url, name) = database().await;
    let seen = serve_and_look(&with(&url, "localhost", "sslmode=require"), &name).await;
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.iter().all(|(_, ssl, _)| *ssl), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn disable_means_no_tls_on_either_connection() {
    let (url, name) = database().await;
    let seen = serve_and_look(&with(&url, "localhost", "sslmode=disable"), &name).await;
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.iter().all(|(_, ssl, _)| !*ssl), "{seen:?}");
}

#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn a_wrong_ca_or_a_wrong_host_name_fails_the_start_in_one_line() {
    let (url, _) = database().await;
    let cases = [
        (
            with(
                &url,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={}", cert("wrong-ca.crt")),
            ),
            "certificate verify failed",
        ),
        (
            with(
                &url,
                "localhost",
                &format!("sslmode=verify-ca&sslrootcert={}", cert("wrong-ca.crt")),
            ),
            "certificate verify failed",
        ),
        // The certificate names `localhost`; 127.0.0.1 is the same server, not the same name.
        (
            with(
                &url,
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={}", cert("ca.crt")),
            ),
            "does not match host name",
        ),
        (
            with(&url, "localhost", "sslmode=verify-full"),
            "needs sslrootcert",
        ),
    ];
    for (url, says) in cases {
        let (code, err) = refused_start(&url);
        assert_eq!(code, Some(1), "{url}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{url}: {err}");
        assert!(err.contains(says), "{url}: expected {says:?} in {err}");
        assert!(!err.contains(&password()), "{err}");
    }
    // verify-ca checks the chain only: the right CA works under another host name.
    let (url, name) = database().await;
    let seen = serve_and_look(
        &with(
            &url,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={}", cert("ca.crt")),
        ),
        &name,
    )
    .await;
    assert!(seen.iter().all(|(_, ssl, _)| *ssl), "{seen:?}");
}

/// The listener verifies on its own (libpq's pool fails first at start, so this is the only
/// way to see it refuse): the right CA and name connect, a wrong CA or name does not.
#[tokio::test]
#[ignore = "PostgreSQL only: scripts/test.sh runs it"]
async fn the_listener_connection_verifies_as_libpq_does() {
    let (url, _) = database().await;
    let connect = |url: String| async move {
        let target = PgTarget::parse(&url).unwrap();
        let (config, tls) = target.listener().unwrap();
        config.connect(tls).await.map(|_| ()).map_err(|e| {
            use std::error::Error;
            format!("{e}: {:?}", e.source())
        })
    };
    let ca = cert("ca.crt");
    let wrong = cert("wrong-ca.crt");
    connect(with(
        &url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap();
    connect(with(
        &url,
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ))
    .await
    .unwrap();
    connect(with(&url, "127.0.0.1", "sslmode=require"))
        .await
        .unwrap();
    for (url, says) in [
        (
            with(
                &url,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={wrong}"),
            ),
            "certificate verify failed",
        ),
        (
            with(
                &url,
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "certificate verify failed",
        ),
        // libpq's rule: `require` with a root certificate verifies the chain.
        (
            with(
                &url,
                "localhost",
                &format!("sslmode=require&sslrootcert={wrong}"),
            ),
            "certificate verify failed",
        ),
    ] {
        let e = connect(url.clone()).await.unwrap_err();
        assert!(e.contains(says), "{url}: {e}");
    }
}

fn password() -> String {
    std::env::var("PGPASSWORD").unwrap()
}
