//! Cursor connections (API.md "Pages"): the page arguments, cursors that name a position in
//! one list with one set of arguments (and are refused anywhere else), and the Connection, Edge
//! and PageInfo types. Which items a page holds is `domain::page`'s rule.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::*;
use crate::domain::page::{Direction, Page, PageRequest, MAX_PAGE};

/// Where a page starts and ends, and whether there is more either way.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Paging forward: items after the last edge (within `before`, if given); paging backward:
    /// any item after the last edge at all.
    has_next_page: bool,
    /// Paging backward: items before the first edge (within `after`, if given); paging forward:
    /// any item before the first edge at all (the `after` cursor's own item counts).
    has_previous_page: bool,
    /// The first edge's cursor; null for an empty page.
    start_cursor: Option<String>,
    /// The last edge's cursor; null for an empty page.
    end_cursor: Option<String>,
}

/// A page as built, before it takes its GraphQL type: each node with its position, the
/// list the positions belong to (cursors are written only when a client selects them).
pub(in crate::graphql) struct Built<N, K> {
    edges: Vec<(N, K)>,
    list: std::sync::Arc<ListId>,
    page_info: PageInfo,
    total: i32,
}

/// A connection type and its edge type for one node type (async-graphql's generic objects
/// cannot nest, so each pair is written out).
macro_rules! connection_types {
    ($connection:ident, $edge:ident, $node:ty, $key:ty, $items:literal) => {
        #[doc = concat!("One ", $items, " of a page, and the cursor of its position.")]
        pub struct $edge {
            node: $node,
            key: $key,
            list: std::sync::Arc<ListId>,
        }

        #[doc = concat!("One ", $items, " of a page, and the cursor of its position.")]
        #[Object]
        impl $edge {
            /// Opaque: pass it as `after` or `before` to the same field with the same arguments.
            async fn cursor(&self) -> String {
                self.list.cursor(&self.key)
            }

            async fn node(&self) -> &$node {
                &self.node
            }
        }

        impl EdgeParts for $edge {
            type Node = $node;
            fn node(&self) -> &$node {
                &self.node
            }
            fn cursor(&self) -> String {
                self.list.cursor(&self.key)
            }
        }

        #[doc = concat!("A page of ", $items, "s (the GraphQL Cursor Connections specification).")]
        #[derive(SimpleObject)]
        pub struct $connection {
            edges: Edges<$edge>,
            page_info: PageInfo,
            /// How many items the whole filtered list has (not the page).
            total_count: i32,
        }

        impl From<Built<$node, $key>> for $connection {
            fn from(b: Built<$node, $key>) -> Self {
                let list = b.list;
                $connection {
                    edges: Edges(
                        b.edges
                            .into_iter()
                            .map(|(node, key)| $edge {
                                node,
                                key,
                                list: list.clone(),
                            })
                            .collect(),
                    ),
                    page_info: b.page_info,
                    total_count: b.total,
                }
            }
        }
    };
}

/// What the fast path of `Edges` reads off an edge.
pub(in crate::graphql) trait EdgeParts: async_graphql::OutputType {
    type Node: async_graphql::OutputType;
    fn node(&self) -> &Self::Node;
    fn cursor(&self) -> String;
}

/// A connection's `edges` (`[XEdge!]!` in the schema). When a client selects plain fields on
/// each edge (no fragment, directive or repeated name: what Apollo and Relay send), each edge
/// object is written here, its nodes resolved concurrently as a list's items are, instead of
/// through the executor's general object machinery (one object per item more than the list
/// field: the difference between a page and a listing was a fifth of the time, `cargo bench
/// --bench load -- pages`). Anything else takes the general way.
pub struct Edges<E>(Vec<E>);

impl<E: EdgeParts> async_graphql::OutputType for Edges<E> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        <Vec<E> as async_graphql::OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<E> as async_graphql::OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        <Vec<E> as async_graphql::OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &async_graphql::ContextSelectionSet<'_>,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        use async_graphql::parser::types::Selection;
        use async_graphql::Value;
        let items = &ctx.item.node.items;
        let mut keys = Vec::with_capacity(items.len());
        // (Schema extensions would not see these edges' fields: roombook's schema has none,
        // `graphql::build`.)
        let plain = items.iter().all(|s| match &s.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.as_str();
                let fresh = !keys.contains(&key);
                keys.push(key);
                fresh
                    && f.node.directives.is_empty()
                    && matches!(f.node.name.node.as_str(), "node" | "cursor" | "__typename")
            }
            _ => false,
        });
        if !plain {
            return async_graphql::resolver_utils::resolve_list(
                ctx,
                field,
                &self.0,
                Some(self.0.len()),
            )
            .await;
        }
        let edges = self.0.iter().enumerate().map(|(idx, edge)| {
            let ctx_idx = ctx.with_index(idx);
            async move {
                let mut object = async_graphql::indexmap::IndexMap::with_capacity(items.len());
                for selection in items {
                    let Selection::Field(f) = &selection.node else {
                        continue;
                    };
                    let ctx_field = ctx_idx.with_field(f);
                    let value = match f.node.name.node.as_str() {
                        "node" => {
                            let inner = ctx_field.with_selection_set(&f.node.selection_set);
                            edge.node()
                                .resolve(&inner, f)
                                .await
                                .map_err(|e| ctx_field.set_error_path(e))?
                        }
                        "cursor" => Value::String(edge.cursor()),
                        _ => Value::String(E::type_name().into_owned()),
                    };
                    object.insert(f.node.response_key().node.clone(), value);
                }
                Ok::<_, async_graphql::ServerError>(Value::Object(object))
            }
        });
        Ok(Value::List(
            futures_util::future::try_join_all(edges).await?,
        ))
    }
}

connection_types!(
    ReservationConnection,
    ReservationEdge,
    Reservation,
    (i64, uuid::Uuid),
    "reservation"
);
connection_types!(RoomConnection, RoomEdge, Room, (String, uuid::Uuid), "room");

/// What a cursor's position is made of: the list's sort key and the id that breaks ties.
pub(in crate::graphql) trait CursorKey: Sized {
    fn write(&self) -> String;
    fn read(text: &str) -> Option<Self>;
}

/// Reservations: (start in microseconds, id).
impl CursorKey for (i64, uuid::Uuid) {
    fn write(&self) -> String {
        format!("{}.{}", self.0, self.1)
    }
    fn read(text: &str) -> Option<Self> {
        let (start, id) = text.split_once('.')?;
        Some((start.parse().ok()?, uuid::Uuid::parse_str(id).ok()?))
    }
}

/// Rooms: (name, id), the id first (a name may hold any character).
impl CursorKey for (String, uuid::Uuid) {
    fn write(&self) -> String {
        format!("{}.{}", self.1, self.0)
    }
    fn read(text: &str) -> Option<Self> {
        let (id, name) = text.split_once('.')?;
        Some((name.to_owned(), uuid::Uuid::parse_str(id).ok()?))
    }
}

const CURSOR_VERSION: &str = "rbp1";

/// One list with one set of arguments: the field and every argument that selects its items
/// (as given, so a defaulted `from` is the same list on every page).
pub(in crate::graphql) struct ListId(String);

impl ListId {
    pub fn new(field: &str, arguments: &[&dyn std::fmt::Debug]) -> ListId {
        let mut hash = Sha256::new();
        hash.update(field.as_bytes());
        for a in arguments {
            hash.update(b"\x1f");
            hash.update(format!("{a:?}").as_bytes());
        }
        let digest = hash.finalize();
        ListId(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
    }

    fn cursor<K: CursorKey>(&self, key: &K) -> String {
        let text = format!("{CURSOR_VERSION}|{}|{}", self.0, key.write());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    fn position<K: CursorKey>(&self, cursor: &str, which: &str) -> Result<K, Error> {
        let refused = || {
            Error::BadUserInput(format!(
                "the `{which}` cursor {} is not a position in this list with these arguments \
                 (cursors belong to the field and arguments that returned them): start again \
                 without `{which}`",
                crate::error::quoted(cursor)
            ))
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| refused())?;
        let text = String::from_utf8(bytes).map_err(|_| refused())?;
        let mut parts = text.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(CURSOR_VERSION), Some(list), Some(key)) if list == self.0 => {
                K::read(key).ok_or_else(refused)
            }
            _ => Err(refused()),
        }
    }

    /// The page `first`/`after`/`last`/`before` ask for: exactly one of `first` and `last`,
    /// 1..=500, and cursors of this list only.
    pub fn request<K: CursorKey>(
        &self,
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> Result<PageRequest<K>, Error> {
        let (direction, count, name) =
            match (first, last) {
                (Some(n), None) => (Direction::Forward, n, "first"),
                (None, Some(n)) => (Direction::Backward, n, "last"),
                _ => return Err(Error::BadUserInput(
                    "give `first` (to page forward, with `after`) or `last` (to page backward, \
                     with `before`): exactly one of them"
                        .into(),
                )),
            };
        let limit = usize::try_from(count)
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                Error::BadUserInput(format!("`{name}` must be 1 to {MAX_PAGE}, not {count}"))
            })?;
        Ok(PageRequest {
            direction,
            limit,
            after: after.map(|c| self.position(c, "after")).transpose()?,
            before: before.map(|c| self.position(c, "before")).transpose()?,
        })
    }

    /// The connection of `page`, each item's position read by `key`.
    pub fn connection<T, N, K: CursorKey>(
        self,
        page: Page<T>,
        key: impl Fn(&T) -> K,
        node: impl Fn(T) -> N,
    ) -> Built<N, K> {
        let edges: Vec<(N, K)> = page
            .items
            .into_iter()
            .map(|item| {
                let k = key(&item);
                (node(item), k)
            })
            .collect();
        Built {
            page_info: PageInfo {
                has_next_page: page.has_next,
                has_previous_page: page.has_previous,
                start_cursor: edges.first().map(|e| self.cursor(&e.1)),
                end_cursor: edges.last().map(|e| self.cursor(&e.1)),
            },
            edges,
            list: std::sync::Arc::new(self),
            total: page
                .total
                .map_or(0, |t| i32::try_from(t).unwrap_or(i32::MAX)),
        }
    }
}

/// An empty connection (a list that has nothing for this caller).
pub(in crate::graphql) fn empty<N, K>(list: ListId) -> Built<N, K> {
    Built {
        edges: Vec::new(),
        list: std::sync::Arc::new(list),
        page_info: PageInfo {
            has_next_page: false,
            has_previous_page: false,
            start_cursor: None,
            end_cursor: None,
        },
        total: 0,
    }
}

/// Whether the client selected `totalCount` (counting costs a query; skipped when unread).
pub(in crate::graphql) fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// A reservation's position: (start in microseconds, id).
pub(in crate::graphql) fn reservation_key(r: &domain::Reservation) -> (i64, uuid::Uuid) {
    (domain::to_micros(r.start), r.id)
}

/// A page-read reservation's position.
pub(in crate::graphql) fn held_key(h: &crate::db::Held) -> (i64, uuid::Uuid) {
    match h {
        crate::db::Held::Full(r) => (domain::to_micros(r.start), r.id),
        crate::db::Held::Slot(s) => (domain::to_micros(s.start), s.id),
    }
}

/// Whether the connection being resolved selects, on its nodes, only what a reservation's
/// slot answers (as `Reservation::wanted_slots_only` for a list field).
pub(in crate::graphql) fn nodes_want_slots_only(ctx: &Context<'_>) -> bool {
    ctx.field()
        .selection_set()
        .filter(|f| f.name() == "edges")
        .all(|edges| {
            edges
                .selection_set()
                .filter(|f| f.name() == "node")
                .all(|node| {
                    node.selection_set()
                        .all(|f| Reservation::is_slot_field(f.name()))
                })
        })
}

/// A page of reservations: `list` in `window`, as `first`/`after`/`last`/`before` ask.
#[allow(clippy::too_many_arguments)]
pub(in crate::graphql) async fn reservations_connection(
    ctx: &Context<'_>,
    id: ListId,
    list: crate::db::ReservationList,
    window: Window,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ReservationConnection> {
    let req = id
        .request(first, after.as_deref(), last, before.as_deref())
        .gql()?;
    let page = data::<Db>(ctx)?
        .reservations_page(list, window, req, wants_total(ctx))
        .await
        .gql()?;
    Ok(id
        .connection(page, reservation_key, Reservation::from)
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_list() {
        let a = ListId::new("reservations", &[&Some(1), &"x"]);
        let b = ListId::new("reservations", &[&Some(1), &"y"]);
        let key = (1_700_000_000_000_000i64, uuid::Uuid::nil());
        let c = a.cursor(&key);
        assert_eq!(a.position::<(i64, uuid::Uuid)>(&c, "after").unwrap(), key);
        assert!(b.position::<(i64, uuid::Uuid)>(&c, "after").is_err());
        assert!(a.position::<(i64, uuid::Uuid)>("bm9wZQ", "after").is_err());
        let room = (String::from("Room.with|dots"), uuid::Uuid::nil());
        assert_eq!(
            a.position::<(String, uuid::Uuid)>(&a.cursor(&room), "before")
                .unwrap(),
            room
        );
    }

    #[test]
    fn exactly_one_of_first_and_last_from_1_to_500() {
        let l = ListId::new("rooms", &[]);
        let ok = |f, la| l.request::<(i64, uuid::Uuid)>(f, None, la, None).is_ok();
        assert!(ok(Some(1), None) && ok(None, Some(500)));
        assert!(!ok(None, None) && !ok(Some(1), Some(1)));
        assert!(!ok(Some(0), None) && !ok(Some(501), None) && !ok(None, Some(-1)));
    }
}
