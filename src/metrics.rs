//! `GET /metrics`: what roombook counts and times, in the Prometheus text format. Recorded
//! through the `metrics` crate into a recorder of this app's own (no global: two apps in one
//! process, as in the tests, do not mix), rendered by `metrics-exporter-prometheus`.
//! Gauges that are a count of something alive (WebSockets, subscriptions) and the process's
//! CPU and memory are read when scraped.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{
    Counter, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// How many distinct operation names get a label value of their own; later ones, and
/// unnamed operations, share [`OTHER`], so random names cannot grow memory.
pub const MAX_OPERATION_NAMES: usize = 100;
/// The label value of unnamed operations and of names beyond the cap.
pub const OTHER: &str = "_other";

const REQUESTS: &str = "roombook_http_requests_total";
const REQUEST_SECONDS: &str = "roombook_http_request_duration_seconds";
const BOOKINGS: &str = "roombook_bookings_total";
const WS_CONNECTIONS: &str = "roombook_websocket_connections";
const SUBSCRIPTIONS: &str = "roombook_subscriptions";
const EVENTS_PUBLISHED: &str = "roombook_events_published_total";
const TRANSACTION_SECONDS: &str = "roombook_db_transaction_duration_seconds";

/// Seconds: from a fraction of a millisecond (a booking on SQLite) to the request timeout.
const BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The app's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    /// Operation names that have a label value of their own.
    operations: RwLock<HashMap<Box<str>, Arc<str>>>,
    /// The handles of each label value's series, so a request costs a read lock and a few
    /// atomic adds rather than building keys and looking them up in the registry.
    requests: RwLock<HashMap<Arc<str>, RequestSeries>>,
    bookings: RwLock<HashMap<&'static str, Counter>>,
    other: Arc<str>,
    events_published: Counter,
}

/// One operation's (or route's) request duration and its count by status.
struct RequestSeries {
    seconds: Histogram,
    by_status: Vec<(u16, Counter)>,
}

/// What `/metrics` reads from the rest of the app when it is scraped.
pub struct Live {
    pub websocket_connections: usize,
    pub subscriptions: usize,
    pub events_published: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, what: &'static str| {
            recorder.describe_counter(
                KeyName::from_const_str(name),
                unit,
                SharedString::const_str(what),
            );
        };
        describe(
            REQUESTS,
            None,
            "HTTP requests by GraphQL operation (or route) and status",
        );
        describe(
            REQUEST_SECONDS,
            Some(Unit::Seconds),
            "HTTP request duration by GraphQL operation (or route)",
        );
        describe(
            BOOKINGS,
            None,
            "bookRoom calls by outcome: booked, PENDING, replayed, QUOTA_HOURS, QUOTA_ACTIVE, or the error code",
        );
        describe(WS_CONNECTIONS, None, "open WebSocket connections");
        describe(
            SUBSCRIPTIONS,
            None,
            "running reservationEvents subscriptions",
        );
        describe(
            EVENTS_PUBLISHED,
            None,
            "reservation events published to this process's subscribers",
        );
        describe(
            TRANSACTION_SECONDS,
            Some(Unit::Seconds),
            "duration of write transactions, commit included",
        );
        let events_published =
            recorder.register_counter(&Key::from_static_name(EVENTS_PUBLISHED), &METADATA);
        let process = metrics_process::Collector::default();
        metrics::with_local_recorder(&recorder, || process.describe());
        Metrics {
            inner: Arc::new(Inner {
                recorder,
                handle,
                process,
                operations: RwLock::new(HashMap::new()),
                requests: RwLock::new(HashMap::new()),
                bookings: RwLock::new(HashMap::new()),
                other: Arc::from(OTHER),
                events_published,
            }),
        }
    }

    /// The label value of an operation named `name` (`None`: unnamed): the name itself for
    /// the first [`MAX_OPERATION_NAMES`] names seen, else [`OTHER`].
    pub fn operation_label(&self, name: Option<&str>) -> Arc<str> {
        let inner = &self.inner;
        let Some(name) = name else {
            return Arc::clone(&inner.other);
        };
        if let Some(known) = inner
            .operations
            .read()
            .ok()
            .and_then(|k| k.get(name).cloned())
        {
            return known;
        }
        let Ok(mut known) = inner.operations.write() else {
            return Arc::clone(&inner.other);
        };
        if known.len() >= MAX_OPERATION_NAMES || name.len() > 100 || name == OTHER {
            return Arc::clone(&inner.other);
        }
        let label: Arc<str> = Arc::from(name);
        known.insert(Box::from(name), Arc::clone(&label));
        label
    }

    /// Counts and times one HTTP request answered for `operation` (a label value from
    /// `operation_label`, or a route).
    pub fn request(&self, operation: &str, status: u16, elapsed: Duration) {
        let inner = &self.inner;
        if let Ok(requests) = inner.requests.read() {
            if let Some(series) = requests.get(operation) {
                if let Some((_, counter)) = series.by_status.iter().find(|(s, _)| *s == status) {
                    counter.increment(1);
                    series.seconds.record(elapsed.as_secs_f64());
                    return;
                }
            }
        }
        // First request of this operation and status: register its series.
        let Ok(mut requests) = inner.requests.write() else {
            return;
        };
        let op = Label::new("operation", operation.to_owned());
        let series = requests
            .entry(Arc::from(operation))
            .or_insert_with(|| RequestSeries {
                seconds: inner.recorder.register_histogram(
                    &Key::from_parts(REQUEST_SECONDS, vec![op.clone()]),
                    &METADATA,
                ),
                by_status: Vec::new(),
            });
        let counter = match series.by_status.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => counter.clone(),
            None => {
                let key =
                    Key::from_parts(REQUESTS, vec![op, Label::new("status", status.to_string())]);
                let counter = inner.recorder.register_counter(&key, &METADATA);
                series.by_status.push((status, counter.clone()));
                counter
            }
        };
        counter.increment(1);
        series.seconds.record(elapsed.as_secs_f64());
    }

    /// Counts one `bookRoom` by its outcome: `booked`, `PENDING`, `replayed`, a quota, or the
    /// error code.
    pub fn booking(&self, outcome: &'static str) {
        let inner = &self.inner;
        if let Some(counter) = inner
            .bookings
            .read()
            .ok()
            .and_then(|b| b.get(outcome).cloned())
        {
            counter.increment(1);
            return;
        }
        let Ok(mut bookings) = inner.bookings.write() else {
            return;
        };
        bookings
            .entry(outcome)
            .or_insert_with(|| {
                let key =
                    Key::from_parts(BOOKINGS, vec![Label::from_static_parts("outcome", outcome)]);
                inner.recorder.register_counter(&key, &METADATA)
            })
            .increment(1);
    }

    /// The histogram write transactions are timed into.
    pub fn transaction_seconds(&self) -> Histogram {
        self.inner
            .recorder
            .register_histogram(&Key::from_static_name(TRANSACTION_SECONDS), &METADATA)
    }

    /// The text exposition, with `live` and the process's CPU and memory as of now.
    pub fn render(&self, live: Live) -> String {
        let inner = &self.inner;
        let gauge = |name: &'static str, value: usize| {
            inner
                .recorder
                .register_gauge(&Key::from_static_name(name), &METADATA)
                .set(value as f64);
        };
        gauge(WS_CONNECTIONS, live.websocket_connections);
        gauge(SUBSCRIPTIONS, live.subscriptions);
        inner.events_published.absolute(live.events_published);
        metrics::with_local_recorder(&inner.recorder, || inner.process.collect());
        inner.handle.render()
    }

    /// Drains the histograms' samples into their buckets every few seconds, so memory stays
    /// flat between scrapes (or without any).
    pub fn spawn_upkeep(&self) {
        let handle = self.inner.handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_beyond_the_cap_and_unnamed_ones_share_one_label() {
        let m = Metrics::new();
        assert_eq!(&*m.operation_label(None), OTHER);
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(
                &*m.operation_label(Some(&format!("Op{i}"))),
                format!("Op{i}")
            );
        }
        assert_eq!(&*m.operation_label(Some("Op0")), "Op0");
        assert_eq!(&*m.operation_label(Some("OneTooMany")), OTHER);
        assert_eq!(&*m.operation_label(Some(&"x".repeat(101))), OTHER);
    }

    #[test]
    fn renders_every_name_api_md_lists() {
        let m = Metrics::new();
        m.request("Rooms", 200, Duration::from_millis(3));
        m.request("Rooms", 200, Duration::from_millis(30));
        m.request("Rooms", 400, Duration::from_millis(3));
        m.booking("booked");
        m.booking("OVERLAP");
        m.transaction_seconds().record(0.001);
        let text = m.render(Live {
            websocket_connections: 2,
            subscriptions: 1,
            events_published: 7,
        });
        for needle in [
            "roombook_http_requests_total{operation=\"Rooms\",status=\"200\"} 2",
            "roombook_http_requests_total{operation=\"Rooms\",status=\"400\"} 1",
            "roombook_http_request_duration_seconds_bucket{operation=\"Rooms\",le=\"0.005\"} 2",
            "roombook_http_request_duration_seconds_count{operation=\"Rooms\"} 3",
            "roombook_bookings_total{outcome=\"booked\"} 1",
            "roombook_bookings_total{outcome=\"OVERLAP\"} 1",
            "roombook_websocket_connections 2",
            "roombook_subscriptions 1",
            "roombook_events_published_total 7",
            "roombook_db_transaction_duration_seconds_count 1",
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
