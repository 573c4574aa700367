//! Builds roombook: database, event log, background jobs, schema and router. `main` and the
//! tests both use it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::auth::Auth;
use crate::config::ServeConfig;
use crate::db::{Db, DbOptions, TransactionTimer};
use crate::error::Result;
use crate::graphql;
use crate::http::{self, AppState, Shared};
use crate::jobs;
use crate::metrics::Metrics;
use crate::socket::Socket;
use crate::ws::{WsConfig, WsState};

/// How long shutdown waits for WebSocket connections to close.
const WS_CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long shutdown waits for in-flight requests to finish.
const REQUEST_GRACE: Duration = Duration::from_secs(10);

/// A built, not yet serving, roombook.
pub struct App {
    pub router: Router,
    /// The most a request body may hold (`--max-body-bytes`).
    pub max_body_bytes: usize,
    pub db: Db,
    pub ws: WsState,
    /// How connections are held to account (`serve`).
    pub connections: ConnectionLimits,
}

/// The limits `serve` puts on connections.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    /// Most connections open at once, WebSockets included.
    pub max: usize,
}

/// Opens the database of `config` and builds the router around it. A configuration of
/// secured mode that cannot work is `BAD_USER_INPUT` (main checks it first, with `auth`).
pub fn build(config: &ServeConfig) -> Result<App> {
    let auth = config.auth.build().map_err(crate::Error::BadUserInput)?;
    build_with(config, auth)
}

/// As `build`, with the authentication already made from `config.auth`.
pub fn build_with(config: &ServeConfig, auth: Auth) -> Result<App> {
    // A file of trusted documents that cannot be used stops the start, naming the entry.
    let trusted = config
        .trusted_documents
        .as_deref()
        .map(|path| graphql::Trusted::load(path, config.trusted_documents_only))
        .transpose()
        .map_err(crate::Error::BadUserInput)?;
    let metrics = Metrics::new();
    metrics.spawn_upkeep();
    let db = Db::open(
        &config.database,
        &DbOptions {
            pool_size: config.db_pool_size,
            clock: config.clock.clone(),
            transaction_seconds: TransactionTimer(Some(metrics.transaction_seconds())),
            ..DbOptions::default()
        },
    )?;
    jobs::spawn(&db, config.event_retention);
    let schema = graphql::build_with(
        db.clone(),
        &config.limits,
        config.default_time_zone,
        metrics.clone(),
    );
    let live = graphql::Live::new(
        db.clone(),
        &config.limits,
        config.default_time_zone,
        metrics.clone(),
    );
    // One cache and one guard for every document, over HTTP and WebSocket.
    let documents = std::sync::Arc::new(
        graphql::Documents::new(
            512,
            graphql::DocumentLimits::from(&config.limits),
            Some(schema.clone()),
        )
        .with_persisted_capacity(config.persisted_cache_size as usize)
        .with_trusted(trusted),
    );
    let ws = WsState::new(
        WsConfig {
            init_timeout: Duration::from_millis(config.ws_init_timeout_ms),
            keepalive: Duration::from_millis(config.ws_keepalive_ms.max(1)),
            ..WsConfig::default()
        },
        auth.clone(),
        std::sync::Arc::new(live),
        documents.clone(),
    );
    let router = http::router(AppState::new(Shared {
        schema,
        ws: ws.clone(),
        documents,
        limits: config.limits.clone(),
        db: db.clone(),
        auth,
        metrics,
        metrics_token: config.metrics_token.as_ref().map(|t| t.0.clone()),
    }));
    let connections = ConnectionLimits {
        header_read_timeout: Duration::from_millis(config.limits.header_read_timeout_ms),
        max: config.limits.connection_cap(),
    };
    Ok(App {
        router,
        max_body_bytes: config.limits.max_body_bytes,
        db,
        ws,
        connections,
    })
}

/// The header naming a request: the caller's (a proxy's) when it is a plain token of at most
/// 64 characters, else one the server makes; returned on the response, and on every log line
/// the request causes (the request span's `request_id`).
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// Gives `req` a usable `x-request-id`: its own if it sent one plain token (letters, digits,
/// `-`, `_`, `.`, at most 64), else a new one: this process's random prefix and a count, unique
/// across replicas and restarts without a random draw per request.
fn with_request_id(mut req: Request<Incoming>) -> Request<Body> {
    fn plain(v: &axum::http::HeaderValue) -> bool {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
    }
    let mut given = req.headers().get_all(REQUEST_ID).iter();
    let usable = matches!((given.next(), given.next()), (Some(v), None) if plain(v));
    if !usable {
        static PREFIX: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{}-{n:x}", *PREFIX)) {
            req.headers_mut().insert(REQUEST_ID, v);
        }
    }
    req.map(Body::new)
}

/// One line per request at INFO: method, path, GraphQL operation (recorded by the handler),
/// request id, status and latency.
type RequestLog = TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&Request<Body>) -> Span,
    (),
    fn(&Response<Body>, Duration, &Span),
>;

fn request_log() -> RequestLog {
    fn span(req: &Request<Body>) -> Span {
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            operation = tracing::field::Empty,
            request_id = id,
        )
    }
    fn served(res: &Response<Body>, latency: Duration, _span: &Span) {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1e3),
            "served"
        );
    }
    TraceLayer::new_for_http()
        .make_span_with(span as fn(&Request<Body>) -> Span)
        .on_request(())
        .on_response(served as fn(&Response<Body>, Duration, &Span))
}

/// What serves one connection: the router inside the request log and the body limit, which
/// wrap it whole rather than route by route (a layer on a `Router` is boxed per route and
/// cloned on every request).
fn connection_service(
    router: Router,
    max_body_bytes: usize,
) -> TowerToHyperService<
    impl tower::Service<
            Request<Incoming>,
            Response = Response<Body>,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    TowerToHyperService::new(
        tower::ServiceBuilder::new()
            .map_request(with_request_id as fn(Request<Incoming>) -> Request<Body>)
            .layer(tower_http::request_id::PropagateRequestIdLayer::new(
                REQUEST_ID,
            ))
            .layer(request_log())
            .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
            .service(router)
            .map_response(|res: Response<_>| res.map(Body::new)),
    )
}

/// Serves `app` on `listener` until `shutdown` resolves: then stops accepting, closes
/// WebSockets (1001) and lets in-flight requests finish, waiting at most 10 s for them.
///
/// Its own accept loop (hyper's connection builder, as `axum::serve` uses) for two things
/// `axum::serve` lacks: a header-read timeout, so a client that sends its headers slowly or
/// never, or leaves a keep-alive connection idle, is cut off; and a cap on open connections,
/// beyond which a new one is told 503 at once instead of queueing behind everyone.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1 only: sniffing for HTTP/2's preface (hyper-util's auto builder) happens before
    // the header-read timer starts, so a client that sends nothing would never be cut off.
    // Browsers speak HTTP/2 only over TLS, which roombook leaves to a proxy in front.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(app.connections.header_read_timeout);
    // Shutdown: each connection finishes the request it serves, then closes.
    let stopping = CancellationToken::new();
    let tracker = TaskTracker::new();
    let cap = app.connections.max;
    let http = Arc::new(Semaphore::new(cap));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Upgraded WebSockets no longer hold an HTTP permit; they count here.
        let open = cap - http.available_permits() + app.ws.connections.len();
        let permit = match Arc::clone(&http).try_acquire_owned() {
            Ok(permit) if open < cap => permit,
            _ => {
                // Told 503 while few are being told; beyond that, closed at once.
                if let Ok(turn) = Arc::clone(&refusing).try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream).await;
                        drop(turn);
                    });
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = connection_service(app.router.clone(), app.max_body_bytes);
        let connection = builder
            .serve_connection(TokioIo::new(Socket::new(stream)), service)
            .with_upgrades();
        let stopping = stopping.clone();
        tracker.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            // A client that went away or timed out: nothing to report.
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopping.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    app.ws.shutdown.cancel();
    stopping.cancel();
    tracker.close();
    if tokio::time::timeout(REQUEST_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight requests did not finish within {REQUEST_GRACE:?}; stopping anyway"
        );
    }
    app.ws.close_all(WS_CLOSE_GRACE).await;
    Ok(())
}

/// Connections over the cap being answered at once; more are closed unanswered.
const MAX_REFUSING: usize = 256;

/// Answers a connection over the cap: reads its request's head (an HTTP client does not
/// expect an answer before it has asked), then 503 and close. At most a second each way, so
/// a client that sends or reads slowly cannot hold it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    const BODY: &str = "the server has as many connections open as it allows; retry shortly\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
