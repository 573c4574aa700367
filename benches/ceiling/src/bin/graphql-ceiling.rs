//! A minimal async-graphql 7 + axum 0.8 server over an in-process map, no database: the
//! roughly-what-the-framework-allows yardstick for roombook's benchmarks. It answers the
//! harness's workloads (createRoom, bookRoom, room { reservations }) with the three booking
//! rules checked by a linear scan of the room's list, nothing more.
use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::{
    Context, EmptySubscription, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use async_graphql_axum::GraphQL;
use axum::Router;
use chrono::{DateTime, FixedOffset, Utc};
use uuid::Uuid;

#[derive(Clone, SimpleObject)]
struct Reservation {
    id: ID,
    room_id: ID,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    title: Option<String>,
    organizer_name: String,
    organizer_email: String,
}

#[derive(Clone)]
struct Room {
    id: Uuid,
    name: String,
    capacity: i32,
}

#[derive(Default)]
struct Store {
    rooms: HashMap<Uuid, Room>,
    reservations: HashMap<Uuid, Vec<Reservation>>,
}

fn store<'a>(ctx: &'a Context<'_>) -> Result<std::sync::MutexGuard<'a, Store>> {
    ctx.data::<Mutex<Store>>()?
        .lock()
        .map_err(|_| "store poisoned".into())
}

#[Object]
impl Room {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn capacity(&self) -> i32 {
        self.capacity
    }
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Result<Vec<Reservation>> {
        let store = store(ctx)?;
        let mut out: Vec<Reservation> = store
            .reservations
            .get(&self.id)
            .map(|list| {
                list.iter()
                    .filter(|r| r.start < to && r.end > from)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|r| r.start);
        Ok(out)
    }
}

struct Query;

#[Object]
impl Query {
    async fn room(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Room>> {
        let id: Uuid = id.parse()?;
        Ok(store(ctx)?.rooms.get(&id).cloned())
    }
}

#[derive(InputObject)]
struct CreateRoomInput {
    name: String,
    capacity: i32,
}

#[derive(InputObject)]
struct BookRoomInput {
    room_id: ID,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    title: Option<String>,
    organizer_name: String,
    organizer_email: String,
}

struct Mutation;

#[Object]
impl Mutation {
    async fn create_room(&self, ctx: &Context<'_>, input: CreateRoomInput) -> Result<Room> {
        let room = Room {
            id: Uuid::new_v4(),
            name: input.name,
            capacity: input.capacity,
        };
        store(ctx)?.rooms.insert(room.id, room.clone());
        Ok(room)
    }

    async fn book_room(&self, ctx: &Context<'_>, input: BookRoomInput) -> Result<Reservation> {
        let room_id: Uuid = input.room_id.parse()?;
        let (start, end) = (input.start.to_utc(), input.end.to_utc());
        if start >= end {
            return Err("start must be before end".into());
        }
        if start < Utc::now() {
            return Err("start is in the past".into());
        }
        let mut store = store(ctx)?;
        if !store.rooms.contains_key(&room_id) {
            return Err("no such room".into());
        }
        let list = store.reservations.entry(room_id).or_default();
        if list.iter().any(|r| r.start < end && r.end > start) {
            return Err("overlap".into());
        }
        let reservation = Reservation {
            id: ID(Uuid::new_v4().to_string()),
            room_id: ID(room_id.to_string()),
            start,
            end,
            title: input.title,
            organizer_name: input.organizer_name,
            organizer_email: input.organizer_email,
        };
        list.push(reservation.clone());
        Ok(reservation)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = ceiling::addr();
    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .data(Mutex::new(Store::default()))
        .finish();
    let app = Router::new().route_service("/graphql", GraphQL::new(schema));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
