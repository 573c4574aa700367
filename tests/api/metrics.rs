//! API.md, "Metrics": `GET /metrics` in the Prometheus text format, with the names it lists,
//! operation labels that a client cannot multiply, and bookings by outcome.

use serde_json::json;

use crate::helpers::{at, spawn_app, spawn_app_with, TestApp};
use crate::ws_client::{WsClient, EVENTS};

/// `GET /metrics` of `app`: 200, Prometheus text.
pub async fn scrape(app: &TestApp) -> String {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    resp.text().await.unwrap()
}

/// The value of the sample line starting with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_bookings_events_sockets_and_the_process() {
    let app = spawn_app().await;
    let room = app.create_room("Counted", 4).await;
    app.graphql("query Rooms { rooms { id } }", json!({})).await;
    app.graphql("query Rooms { rooms { id } }", json!({})).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;
    app.book(&room, &at(0), &at(30)).await;
    app.try_book(&room, &at(10), &at(20)).await; // OVERLAP
    app.try_book(&room, &at(60), &at(50)).await; // INVALID_TIME_RANGE
    ws.event("1").await;

    let text = scrape(&app).await;
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    };
    expect(
        r#"roombook_http_requests_total{operation="Rooms",status="200"}"#,
        2.0,
    );
    expect(
        r#"roombook_http_request_duration_seconds_count{operation="Rooms"}"#,
        2.0,
    );
    expect(r#"roombook_bookings_total{outcome="booked"}"#, 1.0);
    expect(r#"roombook_bookings_total{outcome="OVERLAP"}"#, 1.0);
    expect(
        r#"roombook_bookings_total{outcome="INVALID_TIME_RANGE"}"#,
        1.0,
    );
    expect("roombook_websocket_connections", 1.0);
    expect("roombook_subscriptions", 1.0);
    expect("roombook_events_published_total", 1.0);
    assert!(sample(&text, "roombook_db_transaction_duration_seconds_count").unwrap() >= 2.0);
    assert!(text.contains("# TYPE roombook_http_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE roombook_db_transaction_duration_seconds histogram"));
    assert!(
        sample(&text, "process_resident_memory_bytes").unwrap() > 1e6,
        "{text}"
    );
    assert!(text.contains("process_cpu_seconds_total"), "{text}");
    // Other routes are counted by route.
    app.client.get(app.url("/healthz")).send().await.unwrap();
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"roombook_http_requests_total{operation="/healthz",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    ws.close().await;
}

#[tokio::test]
async fn random_operation_names_cannot_grow_the_label_set() {
    let app = spawn_app().await;
    for i in 0..130 {
        app.graphql(&format!("query Random{i} {{ rooms {{ id }} }}"), json!({}))
            .await;
    }
    app.graphql("{ rooms { id } }", json!({})).await;
    let text = scrape(&app).await;
    let labels: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("roombook_http_requests_total{"))
        .filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        labels.len() <= 100 + 2,
        "{} labels: {labels:?}",
        labels.len()
    );
    // The 30 names past the cap and the unnamed operation share `_other`.
    assert_eq!(
        sample(
            &text,
            r#"roombook_http_requests_total{operation="_other",status="200"}"#
        ),
        Some(31.0),
        "{text}"
    );
}

/// The operation labels of `roombook_http_requests_total` in a scrape.
fn operation_labels(text: &str) -> std::collections::HashSet<String> {
    text.lines()
        .filter(|l| l.starts_with("roombook_http_requests_total{"))
        .filter_map(|l| {
            Some(
                l.split("operation=\"")
                    .nth(1)?
                    .split('"')
                    .next()?
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn only_operations_that_ran_name_a_label() {
    let app = spawn_app().await;
    // 120 named documents that do not validate (unknown fields, bad arguments): none of
    // them takes a label slot.
    for i in 0..120 {
        let query = if i % 2 == 0 {
            format!("query Junk{i} {{ nope }}")
        } else {
            format!("query Junk{i} {{ room(id: true) {{ id }} }}")
        };
        let body = app.graphql(&query, json!({})).await;
        assert!(body["errors"].is_array(), "{body}");
    }
    // A mutation sent with GET does not run either.
    let resp = app
        .client
        .get(app.url("/graphql?query=mutation%20Sneaky%20%7B%20archiveRoom(id%3A%221%22)%20%7B%20id%20%7D%20%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    app.graphql("query Good { rooms { id } }", json!({})).await;
    let text = scrape(&app).await;
    let labels = operation_labels(&text);
    assert!(labels.contains("Good"), "{labels:?}");
    assert!(
        !labels
            .iter()
            .any(|l| l.starts_with("Junk") || l == "Sneaky"),
        "{labels:?}"
    );
    assert_eq!(
        sample(
            &text,
            r#"roombook_http_requests_total{operation="_other",status="200"}"#
        ),
        Some(120.0),
        "{text}"
    );
}

#[tokio::test]
async fn a_metrics_token_keeps_the_scrape_to_those_who_have_it() {
    const TOKEN: &str = "scraper-secret-0123456789";
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        metrics_token: Some(roombook::config::Secret(TOKEN.into())),
        ..c
    })
    .await;
    let get = |auth: Vec<String>| {
        let mut req = app.client.get(app.url("/metrics"));
        for a in auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    for (what, auth) in [
        ("none", vec![]),
        (
            "a wrong secret",
            vec!["Bearer scraper-secret-0123456780".to_owned()],
        ),
        ("a prefix of it", vec!["Bearer scraper-secret".to_owned()]),
        ("another scheme", vec![format!("Basic {TOKEN}")]),
        (
            "the secret twice",
            vec![format!("Bearer {TOKEN}"), format!("Bearer {TOKEN}")],
        ),
    ] {
        let resp = get(auth).await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        assert!(resp.headers().contains_key("www-authenticate"), "{what}");
        let text = resp.text().await.unwrap();
        assert!(!text.contains("roombook_"), "{what}: {text}");
    }
    let resp = get(vec![format!("Bearer {TOKEN}")]).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("roombook_http_requests_total"));
    // The rest of the server is not behind it.
    let body = app.graphql("{ rooms { id } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}
