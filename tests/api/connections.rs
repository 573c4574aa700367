//! Slow, idle and too many clients: a header-read timeout cuts off clients that send their
//! headers slowly or never (and keep-alive connections left idle), and a cap on open
//! connections answers the one too many at once with 503.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, TestApp};

async fn spawn_with(header_read_timeout_ms: u64, max_connections: Option<u64>) -> TestApp {
    spawn_app_with(|mut c| {
        c.limits.header_read_timeout_ms = header_read_timeout_ms;
        c.limits.max_connections = max_connections;
        c
    })
    .await
}

/// A connection that sent half a request's headers.
async fn half_open(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /graphql HTTP/1.1\r\nHost: roombook\r\nContent-Type: appli")
        .await
        .unwrap();
    s
}

/// Whether the server has closed `s` (reads EOF or a reset) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or similar before the close
        }
    }
}

#[tokio::test]
async fn half_open_connections_are_cut_off_and_a_normal_client_is_served_meanwhile() {
    let app = spawn_with(1_500, None).await;
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(half_open(&app).await);
    }
    // While they are held (none has timed out yet), a normal request is answered.
    let body = app.graphql("{ rooms { id } }", json!({})).await;
    assert_eq!(body["data"]["rooms"], json!([]));
    assert!(
        !closed_within(&mut held[0], Duration::from_millis(10)).await,
        "cut off too soon"
    );
    // Then every one of them is closed by the server.
    for (i, s) in held.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(15)).await,
            "connection {i} still open"
        );
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_and_an_idle_keep_alive_one_are_closed() {
    let app = spawn_with(1_000, None).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: roombook\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive after the response; closed once idle for the timeout.
    assert!(closed_within(&mut idle, Duration::from_secs(15)).await);
    assert!(closed_within(&mut silent, Duration::from_secs(15)).await);
}

#[tokio::test]
async fn beyond_the_connection_cap_a_client_gets_503_at_once_and_room_comes_back() {
    let app = spawn_with(60_000, Some(8)).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(half_open(&app).await);
    }
    // Accepted in order: wait until the server counts all eight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("an answer, not a stall");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    drop(held);
    // Once they are gone, clients are served again.
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fresh = reqwest::Client::new();
        if fresh
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            served = true;
            break;
        }
    }
    assert!(served, "still refusing after the held connections closed");
}

#[tokio::test]
async fn websockets_count_toward_the_cap() {
    let app = spawn_with(60_000, Some(3)).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(crate::ws_client::WsClient::ready(&app).await);
    }
    let fresh = reqwest::Client::new();
    let resp = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    for s in sockets {
        s.close().await;
    }
}
