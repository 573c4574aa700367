// @generated automatically by Diesel CLI.

diesel::table! {
    reservations (id) {
        id -> Text,
        room_id -> Text,
        start_at -> BigInt,
        end_at -> BigInt,
        title -> Nullable<Text>,
        organizer_name -> Text,
        organizer_email -> Text,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        series_id -> Nullable<Text>,
        checked_in_at -> Nullable<BigInt>,
        released_at -> Nullable<BigInt>,
        auto_release_at -> Nullable<BigInt>,
        owner_subject -> Nullable<Text>,
        owner_issuer -> Nullable<Text>,
        approval -> Nullable<Text>,
        approval_deadline -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    rooms (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        capacity -> Integer,
        created_at -> BigInt,
        time_zone -> Text,
        building -> Nullable<Text>,
        building_key -> Nullable<Text>,
        floor -> Nullable<Text>,
        description -> Nullable<Text>,
        features -> Text,
        archived -> Bool,
        min_duration_minutes -> Nullable<Integer>,
        max_duration_minutes -> Nullable<Integer>,
        buffer_minutes -> Integer,
        booking_horizon_days -> Nullable<Integer>,
        opening_hours -> Nullable<Text>,
        check_in_required -> Bool,
        check_in_opens_minutes -> Integer,
        auto_release_minutes -> Integer,
        managers -> Text,
        max_hours_per_person_per_week -> Nullable<Integer>,
        max_active_reservations_per_person -> Nullable<Integer>,
        approval_required -> Bool,
        approval_timeout_hours -> Integer,
    }
}

diesel::table! {
    room_features (room_id, feature) {
        room_id -> Text,
        feature -> Text,
    }
}

diesel::joinable!(room_features -> rooms (room_id));

diesel::joinable!(reservations -> rooms (room_id));

diesel::table! {
    series (id) {
        id -> Text,
        room_id -> Text,
        rrule -> Text,
        time_zone -> Text,
        first_start -> BigInt,
        title -> Nullable<Text>,
        organizer_name -> Text,
        organizer_email -> Text,
        created_at -> BigInt,
        owner_subject -> Nullable<Text>,
        owner_issuer -> Nullable<Text>,
    }
}

diesel::joinable!(reservations -> series (series_id));
diesel::joinable!(series -> rooms (room_id));

diesel::table! {
    events (seq) {
        seq -> BigInt,
        room_id -> Text,
        previous_room_id -> Nullable<Text>,
        payload -> Text,
    }
}

diesel::table! {
    event_log (id) {
        id -> Integer,
        database_id -> Text,
        pruned_through -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    event_log,
    events,
    reservations,
    room_features,
    rooms,
    series,
);

diesel::table! {
    idempotency_keys (scope, idem_key) {
        scope -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        result_id -> Text,
        detail -> Nullable<Text>,
        created_at -> BigInt,
    }
}
