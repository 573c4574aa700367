//! Delivery of `reservationEvents` to WebSocket subscribers without an execution each.
//!
//! async-graphql's `execute_stream` keeps, for every subscription, the parsed document, its
//! query environment and the stream around the resolver: ~6 KB a subscriber, most of what an
//! idle subscribed socket costs. A room-panel fleet is thousands of sockets running the same
//! document as the same caller, so the endpoint runs a lone `reservationEvents` subscription
//! in two halves:
//!
//! - **Start**: the request runs through the real schema (`execute_stream`) as before, so
//!   parsing, validation, limits, the guard and every argument check give exactly the same
//!   errors. The resolver, seeing a [`Capture`] in the request data, hands its started
//!   [`Feed`] over instead of returning it as a stream, and the execution ends there.
//! - **Delivery**: the subscriber keeps only its feed (its place in the log: room, cursor,
//!   catch-up, what committed before it started) and a shared [`Plan`]: the document as a
//!   query against a small schema whose root field returns the event at hand, with the
//!   variables and the caller. Each event is resolved and serialized once per plan, however
//!   many subscribers share it; each subscriber's feed still decides, alone, which events it
//!   is owed and in which order, so ordering, `after`, lag and "committed after it started"
//!   are the feed's, unchanged.
//!
//! Everything else (several root fields, several operations, uploads) runs as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Object, Request, Response, Schema, Variables, ID,
};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::OnceCell;

use super::subscription::{Capture, Feed, ReservationEvent};
use super::{data, fill_codes, with_data, AppSchema};
use crate::auth::{Principal, SameCaller};
use crate::config::Limits;
use crate::db::Db;
use crate::events;
use crate::metrics::Metrics;

/// The root field whose subscriptions are delivered here.
const FIELD: &str = "reservationEvents";

/// The schema events are resolved against: one root field returning the event at hand.
type DeliverySchema = Schema<Delivery, EmptyMutation, EmptySubscription>;

/// Live delivery of `reservationEvents`: the delivery schema and the plans in use.
pub struct Live {
    schema: DeliverySchema,
    plans: Mutex<Plans>,
}

#[derive(Default)]
struct Plans {
    map: HashMap<PlanKey, Weak<Plan>>,
    /// Forget plans nobody uses once the map is this big.
    sweep_at: usize,
}

/// What makes two subscriptions render every event identically.
#[derive(Hash, PartialEq, Eq)]
struct PlanKey {
    query: String,
    operation_name: Option<String>,
    variables: String,
    caller: SameCaller,
}

/// One document, with its variables, run by one caller: how its subscribers' events render.
struct Plan {
    schema: DeliverySchema,
    /// The subscription as a query of the delivery schema.
    document: ExecutableDocument,
    operation_name: Option<String>,
    variables: Variables,
    principal: Principal,
    /// Whether the delivery schema runs the document as the real schema would (see `fits`).
    fits: OnceCell<bool>,
    /// The last event rendered, by sequence number: its subscribers all want it next.
    last: Mutex<Option<(i64, Rendering)>>,
}

/// One event's payload, rendered by whichever subscriber gets to it first.
type Rendering = Arc<OnceCell<Arc<str>>>;

/// How an operation started.
pub enum Started {
    /// A `reservationEvents` subscription, live: its payloads come from [`LiveSubscription::next`].
    Live(LiveSubscription),
    /// Anything else, or a refusal: the responses of the execution.
    Responses(BoxStream<'static, Response>),
}

/// One started subscription: its feed and the plan its events render with.
pub struct LiveSubscription {
    feed: Feed,
    plan: Arc<Plan>,
}

impl LiveSubscription {
    /// The next payload (a GraphQL response, serialized), or `None` once the feed ends.
    pub async fn next(&mut self) -> Option<Arc<str>> {
        // Rendering is boxed: the future of a subscription waiting for its next event should
        // not carry room for a GraphQL execution.
        Some(match self.feed.next().await? {
            Ok(event) => Box::pin(self.plan.render_event(event.0)).await,
            Err(error) => Box::pin(self.plan.render(Delivered::Failed(error))).await,
        })
    }
}

impl Live {
    pub fn new(db: Db, limits: &Limits, default_zone: chrono_tz::Tz, metrics: Metrics) -> Self {
        let builder = Schema::build(Delivery, EmptyMutation, EmptySubscription);
        Live {
            schema: with_data(builder, db, limits, default_zone, metrics).finish(),
            plans: Mutex::default(),
        }
    }

    /// Starts `request` as `principal`: a lone `reservationEvents` subscription that starts
    /// becomes [`Started::Live`]; anything else runs on `schema` as it would have.
    pub async fn start(
        &self,
        schema: &AppSchema,
        mut request: Request,
        principal: Principal,
    ) -> Started {
        let plan = match self.plan(&mut request, &principal) {
            Some(plan) if plan.fits().await => plan,
            _ => return Started::Responses(schema.execute_stream(request.data(principal)).boxed()),
        };
        let capture = Capture::default();
        let mut responses = Vec::new();
        {
            let request = request.data(principal).data(capture.clone());
            let mut stream = schema.execute_stream(request);
            while let Some(response) = stream.next().await {
                responses.push(response);
            }
        }
        match capture.take() {
            Some(feed) => Started::Live(LiveSubscription { feed, plan }),
            // Refused, or skipped by a directive: what the execution said.
            None => Started::Responses(stream::iter(responses).boxed()),
        }
    }

    /// The plan of `request`, if it is a lone `reservationEvents` subscription.
    fn plan(&self, request: &mut Request, principal: &Principal) -> Option<Arc<Plan>> {
        if !request.uploads.is_empty() {
            return None;
        }
        let key = PlanKey {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).ok()?,
            caller: SameCaller(principal.clone()),
        };
        if let Some(plan) = self.lock().map.get(&key).and_then(Weak::upgrade) {
            return Some(plan);
        }
        let document = as_delivery_query(request.parsed_query().ok()?)?;
        let plan = Arc::new(Plan {
            schema: self.schema.clone(),
            document,
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
            principal: principal.clone(),
            fits: OnceCell::new(),
            last: Mutex::new(None),
        });
        let mut plans = self.lock();
        if plans.map.len() >= plans.sweep_at {
            plans.map.retain(|_, p| p.strong_count() > 0);
            plans.sweep_at = plans.map.len() * 2 + 64;
        }
        plans.map.insert(key, Arc::downgrade(&plan));
        Some(plan)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plans> {
        self.plans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many plans subscribers hold (distinct document, variables and caller).
    pub fn plans(&self) -> usize {
        self.lock()
            .map
            .values()
            .filter(|p| p.strong_count() > 0)
            .count()
    }
}

/// `document` as a query of the delivery schema, if its one operation is a subscription
/// whose one root field is `reservationEvents`.
fn as_delivery_query(document: &ExecutableDocument) -> Option<ExecutableDocument> {
    let operation = match &document.operations {
        DocumentOperations::Single(op) => op,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => ops.values().next()?,
        DocumentOperations::Multiple(_) => return None,
    };
    if operation.node.ty != OperationType::Subscription {
        return None;
    }
    match operation.node.selection_set.node.items.as_slice() {
        [one] => match &one.node {
            Selection::Field(field) if field.node.name.node == FIELD => {}
            _ => return None,
        },
        _ => return None,
    }
    let mut document = document.clone();
    match &mut document.operations {
        DocumentOperations::Single(op) => op.node.ty = OperationType::Query,
        DocumentOperations::Multiple(ops) => ops
            .values_mut()
            .for_each(|op| op.node.ty = OperationType::Query),
    }
    Some(document)
}

impl Plan {
    /// `event`, rendered once for every subscriber of this plan that is at it.
    async fn render_event(&self, event: Arc<events::ReservationEvent>) -> Arc<str> {
        let seq = event.seq;
        let cell = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            match &*last {
                Some((s, cell)) if *s == seq => Arc::clone(cell),
                // This subscriber is behind the others (catching up): render it alone.
                Some((s, _)) if *s > seq => Arc::new(OnceCell::new()),
                _ => {
                    let cell = Arc::new(OnceCell::new());
                    *last = Some((seq, Arc::clone(&cell)));
                    cell
                }
            }
        };
        let payload = cell.get_or_init(|| self.render(Delivered::Event(event)));
        Arc::clone(payload.await)
    }

    /// Whether the delivery schema takes the document as the real schema did: a dry run whose
    /// root field fails must report that failure and nothing else. Anything else (a directive
    /// skipping the field, or a rule the two schemas would judge differently) runs as an
    /// execution instead, so a subscriber never gets errors live delivery made.
    async fn fits(&self) -> bool {
        let fits = self.fits.get_or_init(|| async {
            const PROBE: &str = "live delivery probe";
            let response = self
                .execute(Delivered::Failed(async_graphql::Error::new(PROBE)))
                .await;
            let fits = matches!(response.errors.as_slice(),
                [e] if e.message == PROBE && !e.path.is_empty());
            if !fits {
                tracing::info!(errors = ?response.errors, "a subscription runs as an execution");
            }
            fits
        });
        *fits.await
    }

    async fn execute(&self, delivered: Delivered) -> Response {
        let mut request = Request::new(String::new());
        request.set_parsed_query(self.document.clone());
        request.operation_name = self.operation_name.clone();
        request.variables = self.variables.clone();
        let request = request.data(self.principal.clone()).data(delivered);
        Box::pin(self.schema.execute(request)).await
    }

    /// Resolves the document against `delivered`: the response a subscription stream would
    /// have yielded for it, serialized.
    async fn render(&self, delivered: Delivered) -> Arc<str> {
        let mut response = self.execute(delivered).await;
        fill_codes(&mut response);
        match serde_json::to_string(&response) {
            Ok(json) => json.into(),
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a subscription payload");
                r#"{"data":null,"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.into()
            }
        }
    }
}

/// What the delivery schema's root field returns this time.
enum Delivered {
    Event(Arc<events::ReservationEvent>),
    /// The feed's error (it missed events).
    Failed(async_graphql::Error),
}

/// The delivery schema's root, named as the subscription root it stands for.
pub struct Delivery;

#[Object(name = "Subscription")]
impl Delivery {
    /// The event at hand. The arguments are the subscription's, already applied by its feed.
    async fn reservation_events(
        &self,
        ctx: &Context<'_>,
        room_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<ReservationEvent> {
        let _ = (room_id, after);
        match data::<Delivered>(ctx)? {
            Delivered::Event(event) => Ok(ReservationEvent(Arc::clone(event))),
            Delivered::Failed(error) => Err(error.clone()),
        }
    }
}
