//! DataLoaders: one batched query for the rooms (or series) of a list of reservations.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{Room, Series};
use crate::error::Error;

/// Loads rooms by id, many at a time.
pub struct RoomLoader(pub Db);

impl Loader<Uuid> for RoomLoader {
    type Value = Room;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Room>, Self::Error> {
        self.0.rooms_by_id(keys.to_vec()).await.map_err(Arc::new)
    }
}

/// Loads series by id, many at a time.
pub struct SeriesLoader(pub Db);

impl Loader<Uuid> for SeriesLoader {
    type Value = Series;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Series>, Self::Error> {
        self.0.series_by_id(keys.to_vec()).await.map_err(Arc::new)
    }
}
