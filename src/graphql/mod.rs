//! The GraphQL schema: its builder, its SDL, and the helpers its resolvers share.

mod codes;
mod documents;
mod loaders;
mod mutation;
mod query;
mod scalars;
mod subscription;
mod types;

use std::any::Any;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ErrorExtensions, Schema, SchemaBuilder, ID};
use uuid::Uuid;

use crate::db::Db;
use crate::error::Error;
pub use codes::{fill_codes, is_request_error};
pub use documents::{selected_operation, Documents};
pub use loaders::RoomLoader;
pub use mutation::Mutation;
pub use query::Query;
pub use scalars::{format_datetime, parse_datetime};
pub use subscription::Subscription;

/// The schema type served by roombook.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Limits on one operation, so no single request can exhaust the server. 15 is the least
/// depth that admits the introspection query GraphiQL and graphql-js clients send.
pub const MAX_DEPTH: usize = 15;
/// See [`MAX_DEPTH`].
pub const MAX_COMPLEXITY: usize = 2_000;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema over `db`, with its loaders.
pub fn build(db: Db) -> AppSchema {
    let rooms = DataLoader::new(RoomLoader(db.clone()), tokio::spawn);
    builder().data(db).data(rooms).finish()
}

/// The SDL of the schema, exactly what `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}

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
            "{:?} is not a valid {what} id: ids are UUIDs such as \"3f2b8c1e-5d4a-4c7b-9e1f-2a6d8b0c4e71\"",
            id.as_str()
        ))
    })
}
