//! Global object identification (Relay's `Node`): rooms, reservations and series found again
//! by their id alone (`node`, `nodes`). Ids are UUIDs, unique across the three types.

use super::*;
use crate::auth::principal;
use crate::graphql::parse_id;

/// Anything `node(id:)` finds again by its id.
#[derive(async_graphql::Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "A UUID, unique across rooms, reservations and series."
))]
pub enum Node {
    Room(Room),
    Reservation(Reservation),
    Series(Series),
}

/// The most ids one `nodes` takes.
pub const MAX_NODE_IDS: usize = 100;

/// The object with `id`, with the rights its typed field needs: a room is anyone's to see;
/// a reservation or series needs a signed-in caller, and an anonymous caller is refused for
/// any id that is not a room's, whether or not it exists (as `reservation(id:)` refuses
/// without looking). `field` names the field in the refusal.
pub async fn find(ctx: &Context<'_>, id: &ID, field: &str) -> Result<Option<Node>> {
    let uuid = parse_id(id, "node").gql()?;
    let db = data::<Db>(ctx)?;
    if let Some(room) = db.room(uuid).await.gql()? {
        return Ok(Some(Node::Room(Room(room))));
    }
    principal(ctx)?.require(Need::Member, field).gql()?;
    if let Some(reservation) = db.reservation(uuid).await.gql()? {
        return Ok(Some(Node::Reservation(Reservation::from(reservation))));
    }
    Ok(db
        .series(uuid)
        .await
        .gql()?
        .map(|s| Node::Series(Series(s))))
}

/// `find` for each of `ids`, in order: `None` for an unknown id, an error in place of one the
/// caller may not see (the others still answer).
pub async fn find_each(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Result<Node>>>> {
    if ids.len() > MAX_NODE_IDS {
        return Err(Error::BadUserInput(format!(
            "`nodes` takes at most {MAX_NODE_IDS} ids; {} were given",
            ids.len()
        )))
        .gql();
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.push(match find(ctx, id, "nodes").await {
            Ok(node) => node.map(Ok),
            Err(e) => Some(Err(e)),
        });
    }
    Ok(found)
}
