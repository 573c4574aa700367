use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn health_is_ok() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn malformed_json_is_http_400_and_changes_nothing() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"query": "mutation { createRoom(input: {name: \"X\", capacity: 1}) { id } }""#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_refused(&body, "BAD_USER_INPUT");
    let rooms = app.graphql("{ rooms { id } }", json!({})).await;
    assert_eq!(rooms["data"]["rooms"], json!([]));
}

/// 413 with a GraphQL error body naming the limit, in the type the client asked for (it was
/// axum's plain-text "length limit exceeded").
#[tokio::test]
async fn a_body_over_the_limit_is_http_413_with_a_graphql_error() {
    let app = spawn_app().await;
    let query = format!("{{ rooms {{ id }} }} # {}", "x".repeat(70 * 1024));
    for (accept, content_type) in [
        ("application/json", "application/json; charset=utf-8"),
        (
            "application/graphql-response+json",
            "application/graphql-response+json; charset=utf-8",
        ),
    ] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("accept", accept)
            .json(&json!({"query": query}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413);
        assert_eq!(resp.headers()["content-type"], content_type);
        let body: serde_json::Value = resp.json().await.unwrap();
        let err = assert_refused(&body, "BAD_USER_INPUT");
        assert!(
            err["message"].as_str().unwrap().contains("65536 bytes"),
            "{body}"
        );
    }
    // An ordinary request is still served.
    let ok = app.graphql("{ rooms { id } }", json!({})).await;
    assert!(ok.get("errors").is_none());
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_validation_errors() {
    let app = spawn_app().await;
    let body = app.graphql("{ rooms { id colour } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    assert_refused(&body, "BAD_USER_INPUT");
    assert!(body.get("data").is_none(), "{body}");
    let body = app
        .graphql(
            "mutation($c: Int!) { createRoom(input: {name: \"X\", capacity: $c}) { id } }",
            json!({"c": "eight"}),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
    let body = app
        .graphql(
            r#"mutation { createRoom(input: {name: "X", capacity: 3, colour: "red"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
    let body = app.graphql("{ rooms { id ", json!({})).await;
    assert_refused(&body, "BAD_USER_INPUT");
    assert_eq!(
        app.graphql("{ rooms { id } }", json!({})).await["data"]["rooms"],
        json!([])
    );
}

/// Documents are validated once and kept (`graphql::Documents`); what a request's variables
/// decide is still checked on every request, and an invalid document is refused every time.
#[tokio::test]
async fn a_kept_document_still_has_each_request_s_variables_checked() {
    let app = spawn_app().await;
    let create = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }";
    for round in 0..3 {
        let ok = app
            .graphql(
                create,
                json!({"input": {"name": format!("R{round}"), "capacity": 4}}),
            )
            .await;
        assert!(ok["data"]["createRoom"]["id"].is_string(), "{ok}");
        for bad in [
            json!({"input": {"name": "X", "capacity": "eight"}}),
            json!({"input": {"name": "X"}}),
            json!({"input": {"name": "X", "capacity": 4, "colour": "red"}}),
        ] {
            let body = app.graphql(create, bad.clone()).await;
            assert_refused(&body, "BAD_USER_INPUT");
            assert!(body.get("data").is_none(), "{bad}: {body}");
        }
        // A required variable not given (refused when the field runs, as before).
        assert_refused(&app.graphql(create, json!({})).await, "BAD_USER_INPUT");
        // Invalid whatever the variables: refused on every request, not only the first.
        let body = app
            .graphql(
                "query($n: Int) { rooms(minCapacity: $n) { id colour } }",
                json!({"n": 1}),
            )
            .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("colour"),
            "{body}"
        );
        let body = app
            .graphql(
                "query($n: String) { rooms(minCapacity: $n) { id } }",
                json!({"n": "1"}),
            )
            .await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    let rooms = app.graphql("{ rooms { name } }", json!({})).await;
    assert_eq!(
        rooms["data"]["rooms"].as_array().unwrap().len(),
        3,
        "{rooms}"
    );
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_do_not() {
    let app = spawn_app().await;
    app.create_room("Oak", 2).await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ rooms { name } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["rooms"], json!([{"name": "Oak"}]));
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            r#"mutation { createRoom(input: {name: "Elm", capacity: 2}) { id } }"#,
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let rooms = app.graphql("{ rooms { name } }", json!({})).await;
    assert_eq!(rooms["data"]["rooms"], json!([{"name": "Oak"}]));
}

#[tokio::test]
async fn the_response_type_follows_accept() {
    let app = spawn_app().await;
    let post = |accept: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header(ACCEPT, accept)
            .json(&json!({"query": "{ rooms { id } }"}))
            .send()
    };
    let resp = post("application/graphql-response+json").await.unwrap();
    assert!(resp.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/graphql-response+json"));
    let resp = post("application/json").await.unwrap();
    assert!(resp.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

#[tokio::test]
async fn root_redirects_to_graphiql_which_a_browser_gets() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(app.url("/")).send().await.unwrap();
    assert!(resp.status().is_redirection());
    assert_eq!(resp.headers()["location"], "/graphql");
    let resp = client
        .get(app.url("/graphql"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("graphiql"));
}

#[tokio::test]
async fn invalid_request_parameters_are_http_400() {
    let app = spawn_app().await;
    for body in [
        json!({"qeury": "{ rooms { id } }"}),
        json!({"query": 42}),
        json!({"query": "{ rooms { id } }", "variables": "x"}),
        json!({"query": "{ rooms { id } }", "operationName": 1}),
        json!({"query": "{ rooms { id } }", "extensions": [1]}),
        json!("{ rooms { id } }"),
    ] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        assert_refused(&resp.json::<Value>().await.unwrap(), "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn a_post_without_a_json_content_type_is_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .body(r#"{"query": "{ rooms { id } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

#[tokio::test]
async fn request_errors_are_http_400_without_data_for_graphql_response_json() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({"query": "{ rooms { nope } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert_refused(&body, "BAD_USER_INPUT");
    // A refusal by a resolver is not a request error: 200 with data null.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({"query": "{ room(id: \"nope\") { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_standard_introspection_query_is_within_the_limits() {
    let app = spawn_app().await;
    // graphql-js getIntrospectionQuery() with every option on: what GraphiQL sends.
    let body = app
        .graphql(include_str!("introspection.graphql"), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    assert_eq!(
        body["data"]["__schema"]["subscriptionType"]["name"],
        "Subscription"
    );
}

#[tokio::test]
async fn a_query_nested_too_deep_is_refused() {
    let app = spawn_app().await;
    // rooms { reservations { room { ... id } } }: depth 2 + 2 per level.
    let nested = |levels: usize| {
        format!(
            "{{ rooms {{ {} id {} }} }}",
            "reservations { room { ".repeat(levels),
            "} } ".repeat(levels)
        )
    };
    let body = app.graphql(&nested(6), json!({})).await;
    assert!(body.get("errors").is_none(), "depth 14 is fine: {body}");
    let body = app.graphql(&nested(7), json!({})).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"].as_str().unwrap().contains("too deep"),
        "{body}"
    );
}

#[tokio::test]
async fn a_required_variable_without_a_value_is_a_request_error() {
    let app = spawn_app().await;
    let query = "query($id: ID!, $zone: String, $n: Int! = 3) { reservation(id: $id) { id start(timeZone: $zone) } rooms(minCapacity: $n) { id } }";
    for variables in [json!({}), json!({"id": null}), json!({"zone": "UTC"})] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header(ACCEPT, "application/graphql-response+json")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{variables}");
        let body: Value = resp.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        let err = assert_refused(&body, "BAD_USER_INPUT");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("`$id` of required type `ID!`"),
            "{body}"
        );
        assert!(err.get("path").is_none(), "{body}");
    }
    // A nullable variable, or a required one with a default, may be left out.
    let body = app
        .graphql(query, json!({"id": "0190a5e0-0000-7000-8000-000000000000"}))
        .await;
    assert_eq!(body, json!({"data": {"reservation": null, "rooms": []}}));
}
