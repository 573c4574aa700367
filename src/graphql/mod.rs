//! The GraphQL schema: its builder, its SDL, and the helpers its resolvers share.

mod codes;
mod documents;
mod guard;
mod live;
mod loaders;
mod mutation;
mod persisted;
mod query;
mod scalars;
mod subscription;
mod types;

use std::any::Any;

use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ErrorExtensions, ObjectType, Schema, SchemaBuilder, SubscriptionType, ID,
};
use uuid::Uuid;

use crate::config::Limits;
use crate::db::Db;
use crate::error::Error;
use crate::metrics::Metrics;
pub use codes::{fill_codes, is_request_error};
pub use documents::{count_aliases, selected_operation, DocumentLimits, Documents};
pub use guard::MAX_NESTING;
pub use live::{Live, LiveSubscription, Started};
pub use loaders::{RoomLoader, SeriesLoader};
pub use mutation::Mutation;
pub use persisted::{name_document, sha256_hex, Persisted, Trusted};
pub use query::Query;
pub use scalars::{format_datetime, parse_datetime};
pub use subscription::Subscription;

/// The schema type served by roombook.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder(limits: &Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
}

/// The schema over `db`, with its loaders and `limits`; rooms created without a time zone
/// get `default_zone`. Its metrics go nowhere (see `build_with`).
pub fn build(db: Db, limits: &Limits, default_zone: chrono_tz::Tz) -> AppSchema {
    build_with(db, limits, default_zone, Metrics::new())
}

/// As `build`, counting bookings in `metrics`.
pub fn build_with(
    db: Db,
    limits: &Limits,
    default_zone: chrono_tz::Tz,
    metrics: Metrics,
) -> AppSchema {
    with_data(builder(limits), db, limits, default_zone, metrics).finish()
}

/// What resolvers read from the schema: the database, its loaders, the default zone, the
/// list limit and the metrics (the main schema and `live`'s share it).
fn with_data<Q, M, S>(
    builder: SchemaBuilder<Q, M, S>,
    db: Db,
    limits: &Limits,
    default_zone: chrono_tz::Tz,
    metrics: Metrics,
) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let rooms = DataLoader::new(RoomLoader(db.clone()), tokio::spawn);
    let series = DataLoader::new(SeriesLoader(db.clone()), tokio::spawn);
    builder
        .data(db)
        .data(rooms)
        .data(series)
        .data(DefaultTimeZone(default_zone))
        .data(ListLimit(limits.max_list))
        .data(metrics)
}

/// The zone of rooms created without one (`--default-time-zone`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DefaultTimeZone(pub chrono_tz::Tz);

/// The SDL of the schema, exactly what `schema.graphql` holds. `@specifiedBy` is printed on
/// the scalars that have it, as introspection reports it (`specifiedByURL`).
pub fn sdl() -> String {
    builder(&Limits::default())
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// The most items a list field returns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListLimit(pub usize);

/// Turns roombook's errors into GraphQL errors with their `extensions.code`.
pub(crate) trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// Shared state from the schema; its absence is a bug, reported as `INTERNAL`.
pub(crate) fn data<'a, T: Any + Send + Sync>(ctx: &Context<'a>) -> async_graphql::Result<&'a T> {
    ctx.data::<T>()
        .map_err(|e| Error::internal(e.message).extend())
}

/// A UUID from an `ID` argument, or `BAD_USER_INPUT` naming what it should have been.
pub(crate) fn parse_id(id: &ID, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| {
        Error::BadUserInput(format!(
            "{} is not a valid {what} id: ids are UUIDs such as \"3f2b8c1e-5d4a-4c7b-9e1f-2a6d8b0c4e71\"",
            crate::error::quoted(id.as_str())
        ))
    })
}
