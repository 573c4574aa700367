//! Output and input types of the schema, wrapping the domain values: one file per object
//! type (with the enums and inputs that belong to it), the rest of the inputs in `inputs`.

mod inputs;
mod node;
mod pages;
mod reservation;
mod room;
mod series;
mod viewer;

use crate::domain::page::Direction;
pub use inputs::*;
pub use node::*;
pub(in crate::graphql) use pages::{
    held_key, nodes_want_slots_only, reservation_key, reservations_connection, wants_total, ListId,
};
pub use pages::{ReservationConnection, RoomConnection};
pub use reservation::*;
pub use room::*;
pub use series::*;
pub use viewer::*;

use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, Enum, ErrorExtensions, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID,
};
use chrono::Utc;

use super::loaders::{RoomLoader, SeriesLoader};
use super::scalars::{LocalTimeScalar, Timestamp, Zoned};
use super::{data, GqlResultExt, ListLimit};
use crate::auth::{Need, Principal};
use crate::db::Db;
use crate::domain::{self, Window};
use crate::error::Error;

impl Zoned {
    fn new(t: chrono::DateTime<Utc>, zone: Option<&str>) -> Result<Self, Error> {
        let tz = zone.map(domain::parse_time_zone).transpose()?;
        Ok(Zoned(t, tz))
    }
}
