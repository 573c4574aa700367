//! The statements' query plans and results, on an in-memory SQLite database.

//! The costs that must not grow with history: each query is an index search.
use diesel::sql_types::{Integer, Text as SqlText};

use super::*;

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    id: i32,
    #[diesel(sql_type = SqlText)]
    detail: String,
}

fn plan<Q>(query: &Q) -> String
where
    Q: diesel::query_builder::QueryFragment<Sqlite>,
{
    let mut conn = crate::db::test_connection();
    let sql = diesel::debug_query::<Sqlite, _>(query).to_string();
    let sql = sql.split(" -- binds").next().unwrap_or_default();
    let rows: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|r| r.detail)
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_overlap_check_is_one_index_search() {
    let q = ReservationRow::latest_starting_before("room", "CONFIRMED", 10, "self").limit(1);
    let plan = plan(&q);
    assert!(
        plan.contains("SEARCH reservations USING INDEX reservations_room_status_start"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn listings_search_a_window_of_the_index() {
    for room in [Some("room"), None] {
        for include_cancelled in [false, true] {
            let f = ListFilter {
                room_id: room,
                owner: None,
                include_cancelled,
                from: 0,
                to: 10,
            };
            let q: reservations::BoxedQuery<'_, Sqlite> = list_query!(&f);
            let plan = plan(&q);
            assert!(plan.contains("SEARCH reservations USING INDEX"), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
            // The bound's subquery reads the longest length from its index.
            assert!(plan.contains("reservations_length"), "{plan}");
            if !include_cancelled {
                // Two status ranges are merged by a sort; the common case needs none.
                assert!(!plan.contains("TEMP B-TREE"), "{plan}");
            }
        }
    }
}

/// The common listing (`list_in_room`) is the boxed one's plan, and a static statement:
/// diesel keeps it prepared by its type instead of rebuilding its SQL on every call.
#[test]
fn a_room_s_listing_is_one_static_statement_on_the_index() {
    use diesel::query_builder::QueryId;
    let q = room_list_query!("room", 0, 10).select(ReservationRow::as_select());
    fn static_id<Q: QueryId>(_: &Q) -> bool {
        Q::HAS_STATIC_QUERY_ID
    }
    assert!(static_id(&q));
    let plan = plan(&q);
    assert!(plan.contains("SEARCH reservations USING INDEX"), "{plan}");
    assert!(plan.contains("reservations_length"), "{plan}");
    assert!(!plan.contains("SCAN"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

/// "Rooms with all of these features" probes `room_features` by its primary key per
/// required feature: no decoding of stored lists, no scan of the features table.
#[test]
fn the_features_filter_probes_the_features_key() {
    let f = RoomFilter {
        features: vec!["display".into(), "whiteboard".into()],
        building_key: Some("hq".into()),
        min_capacity: Some(4),
        include_archived: false,
    };
    let q = rooms_query!(&f)
        .order((rooms::name.asc(), rooms::id.asc()))
        .select(RoomRow::as_select());
    let plan = plan(&q);
    assert!(plan.contains("SEARCH room_features USING"), "{plan}");
    assert!(!plan.contains("SCAN room_features"), "{plan}");
}

/// `availableRooms` is one statement: each room's calendar is one index search inside it.
#[test]
fn available_rooms_probe_each_rooms_calendar_by_index() {
    let f = RoomFilter::default();
    let q = rooms_query!(&f)
        .order((rooms::capacity.asc(), rooms::name.asc(), rooms::id.asc()))
        .select((RoomRow::as_select(), latest_end_before!(10)));
    let plan = plan(&q);
    assert!(plan.contains("CORRELATED SCALAR SUBQUERY"), "{plan}");
    assert!(
        plan.contains("SEARCH reservations USING INDEX reservations_room_status_start"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN reservations"), "{plan}");
}

/// The buffer check is the overlap probe over a wider slot: the same single index search.
#[test]
fn the_buffer_check_is_the_same_index_search() {
    let q = ReservationRow::latest_starting_before("room", "CONFIRMED", 10 + 900, "").limit(1);
    assert!(plan(&q).contains("SEARCH reservations USING INDEX reservations_room_status_start"));
}

/// The release task's reads stay in the partial index of pending deadlines: the next
/// deadline is its first entry, the due ones its first range, however many future
/// reservations the table holds.
#[test]
fn the_release_task_reads_only_pending_deadlines() {
    let next = ReservationRow::pending_deadlines("CONFIRMED")
        .select(reservations::auto_release_at)
        .limit(1);
    let due = ReservationRow::pending_deadlines("CONFIRMED")
        .filter(reservations::auto_release_at.le(10))
        .filter(reservations::checked_in_at.is_null())
        .limit(500)
        .select(ReservationRow::as_select());
    for plan in [plan(&next), plan(&due)] {
        assert!(
            plan.contains("USING INDEX reservations_release_due"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

#[test]
fn replaying_a_room_reads_forward_from_the_cursor() {
    let q = events::table
        .filter(events::seq.gt(1))
        .filter(events::seq.lt(10))
        .filter(events::room_id.eq("r").or(events::previous_room_id.eq("r")))
        .order(events::seq.asc())
        .limit(10)
        .select(EventRow::as_select());
    let plan = plan(&q);
    assert!(
        plan.contains("SEARCH events USING INTEGER PRIMARY KEY"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn a_key_is_claimed_once_and_expired_ones_are_deleted() {
    let mut sqlite = crate::db::test_connection();
    let conn = &mut Conn::Sqlite(&mut sqlite);
    let row = |key: &str, at: i64| IdempotencyRow {
        scope: "iss\nada".into(),
        idem_key: key.into(),
        fingerprint: "f".into(),
        result_id: String::new(),
        detail: None,
        created_at: at,
    };
    assert!(row("old", 10).claim(conn).unwrap());
    assert!(!row("old", 11).claim(conn).unwrap(), "claimed already");
    assert!(row("new", 100).claim(conn).unwrap());
    let stored = IdempotencyRow::find_for_update(conn, "iss\nada", "old").unwrap();
    assert_eq!(stored.map(|r| r.created_at), Some(10));
    assert_eq!(IdempotencyRow::delete_expired(conn, 100).unwrap(), 1);
    assert!(IdempotencyRow::find_for_update(conn, "iss\nada", "old")
        .unwrap()
        .is_none());
    assert!(IdempotencyRow::find_for_update(conn, "iss\nada", "new")
        .unwrap()
        .is_some());
}

#[test]
fn a_quota_reads_one_persons_reservations_by_index() {
    let mut sqlite = crate::db::test_connection();
    let mut conn = Conn::Sqlite(&mut sqlite);
    assert!(
        ReservationRow::of_organizer(&mut conn, "r", "a@b.c", (0, 10))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ReservationRow::count_of_organizer_from(&mut conn, "r", "a@b.c", 0).unwrap(),
        0
    );
    // The same statements' shapes, planned.
    let rows = reservations::table
        .filter(reservations::room_id.eq("r"))
        .filter(lower(reservations::organizer_email).eq(lower("a@b.c")))
        .filter(reservations::status.eq(crate::db::CONFIRMED))
        .filter(reservations::start_at.ge(0))
        .filter(reservations::start_at.lt(10))
        .select(reservations::id);
    let plan = plan(&rows);
    assert!(
        plan.contains("USING INDEX reservations_room_organizer"),
        "{plan}"
    );
    let count = reservations::table
        .filter(reservations::room_id.eq("r"))
        .filter(lower(reservations::organizer_email).eq(lower("a@b.c")))
        .filter(reservations::status.eq(crate::db::CONFIRMED))
        .filter(reservations::start_at.ge(0))
        .count();
    let plan = super::tests::plan(&count);
    assert!(
        plan.contains("USING COVERING INDEX reservations_room_organizer"),
        "{plan}"
    );
}
