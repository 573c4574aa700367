//! axum answering every POST /graphql with one fixed body: the harness's raw request rate.
use axum::{routing::post, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = ceiling::addr();
    let body = r#"{"data":{"__typename":"Query"}}"#;
    let app = Router::new().route(
        "/graphql",
        post(move || async move { ([("content-type", "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
