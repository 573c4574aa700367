//! `Series`, what `bookSeries` booked and skipped, and its inputs.

use super::*;

/// Meetings booked together by one recurrence rule (`bookSeries`). Each occurrence is an
/// ordinary reservation.
pub struct Series(pub domain::Series);

#[Object]
impl Series {
    pub(super) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The room the series was booked in (an occurrence may have moved since).
    async fn room(&self, ctx: &Context<'_>) -> Result<Room> {
        room_by_id(ctx, self.0.room_id).await
    }

    /// The RFC 5545 recurrence rule (`FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=10`, `UNTIL` in
    /// UTC). Its DTSTART is the first occurrence's start, at local wall-clock time in
    /// `timeZone`.
    async fn rrule(&self) -> &str {
        &self.0.rrule
    }

    /// The IANA zone the rule was expanded in: the room's when the series was booked.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn organizer_name(&self) -> &str {
        &self.0.organizer_name
    }

    async fn organizer_email(&self) -> &str {
        &self.0.organizer_email
    }

    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// The series' reservations, sorted by start: CONFIRMED ones, or with `includeCancelled`
    /// every one.
    async fn occurrences(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<Vec<Reservation>> {
        let list = data::<Db>(ctx)?
            .series_occurrences(self.0.id, include_cancelled.unwrap_or(false))
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation::from).collect())
    }

    /// `occurrences` as pages (API.md "Pages"): by start, then id; `first`/`after` forward,
    /// `last`/`before` backward (1-500).
    async fn occurrences_connection(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<ReservationConnection> {
        let include_cancelled = include_cancelled.unwrap_or(false);
        let id = ListId::new(
            "Series.occurrencesConnection",
            &[&self.0.id, &include_cancelled],
        );
        let req = id
            .request(first, after.as_deref(), last, before.as_deref())
            .gql()?;
        let mut list = data::<Db>(ctx)?
            .series_occurrences(self.0.id, include_cancelled)
            .await
            .gql()?;
        list.sort_by_key(reservation_key);
        let page = domain::page::page_of(list, reservation_key, &req);
        Ok(id
            .connection(page, reservation_key, Reservation::from)
            .into())
    }
}

/// What `bookSeries` booked and what it left out.
pub struct SeriesBooking(pub domain::SeriesBooking);

#[Object]
impl SeriesBooking {
    async fn series(&self) -> Series {
        Series(self.0.series.clone())
    }

    /// The booked occurrences, sorted by start.
    async fn occurrences(&self) -> Vec<Reservation> {
        self.0
            .occurrences
            .iter()
            .cloned()
            .map(Reservation::from)
            .collect()
    }

    /// The occurrences refused and not booked (`onConflict: SKIP`), sorted by start.
    async fn skipped(&self) -> Vec<SkippedOccurrence> {
        self.0
            .skipped
            .iter()
            .cloned()
            .map(SkippedOccurrence)
            .collect()
    }
}

/// An occurrence of a series that a booking rule or policy refused.
pub struct SkippedOccurrence(domain::OccurrenceConflict);

#[Object]
impl SkippedOccurrence {
    async fn start(&self) -> Timestamp {
        Timestamp(self.0.start)
    }

    async fn end(&self) -> Timestamp {
        Timestamp(self.0.end)
    }

    /// The error code booking it alone would get: `IN_PAST`, `OVERLAP` or `POLICY_VIOLATION`.
    async fn code(&self) -> &str {
        self.0.code
    }

    /// For `POLICY_VIOLATION`: which policy (`MIN_DURATION`, `BUFFER`, ...).
    async fn policy(&self) -> Option<&str> {
        self.0.policy.map(|p| p.as_str())
    }

    /// For `OVERLAP` and `BUFFER`: the reservation in the way.
    async fn conflicting_reservation_id(&self) -> Option<ID> {
        self.0.conflicting.map(|id| ID(id.to_string()))
    }
}

/// How often a series repeats.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl From<Frequency> for domain::Frequency {
    fn from(f: Frequency) -> Self {
        match f {
            Frequency::Daily => domain::Frequency::Daily,
            Frequency::Weekly => domain::Frequency::Weekly,
            Frequency::Monthly => domain::Frequency::Monthly,
        }
    }
}

/// What `bookSeries` does when some occurrences are refused.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConflictMode {
    /// Book nothing: `SERIES_CONFLICT` listing every refused occurrence.
    Fail,
    /// Book the others and report the refused ones in `skipped`.
    Skip,
}

impl From<ConflictMode> for domain::ConflictMode {
    fn from(m: ConflictMode) -> Self {
        match m {
            ConflictMode::Fail => domain::ConflictMode::Fail,
            ConflictMode::Skip => domain::ConflictMode::Skip,
        }
    }
}

/// When a series repeats, in the room's time zone: exactly one of `count` and `until`.
#[derive(InputObject)]
pub struct RecurrenceInput {
    pub frequency: Frequency,
    /// 1-99: every `interval` days, weeks or months.
    #[graphql(default = 1)]
    pub interval: i32,
    /// WEEKLY only: the weekdays it falls on (the first occurrence's must be one); default
    /// the first occurrence's weekday.
    pub by_weekday: Option<Vec<Weekday>>,
    /// 1-366 occurrences, the first included.
    pub count: Option<i32>,
    /// Inclusive: an occurrence starting at `until` is the last one.
    pub until: Option<Timestamp>,
}

impl RecurrenceInput {
    pub fn into_recurrence(self) -> Result<domain::Recurrence, Error> {
        domain::Recurrence::new(
            self.frequency.into(),
            Some(self.interval),
            self.by_weekday
                .map(|days| days.into_iter().map(Into::into).collect()),
            self.count,
            self.until.map(|t| t.0),
        )
    }
}

/// A recurring meeting: `start`/`end` are the first occurrence; the others start at the same
/// local wall-clock time in the room's zone and last as long.
#[derive(InputObject)]
pub struct BookSeriesInput {
    pub room_id: ID,
    pub start: Timestamp,
    /// After `start`.
    pub end: Timestamp,
    pub recurrence: RecurrenceInput,
    /// At most 200 characters.
    pub title: Option<String>,
    /// 1-100 characters after trimming. Required in open mode; in secured mode the token's
    /// `name` is used, and a member may only repeat it (admins book on behalf of anyone).
    pub organizer_name: Option<String>,
    /// At most 254 characters, shaped like an address. Required in open mode; in secured mode
    /// the token's `email` is used, and a member may only repeat it.
    pub organizer_email: Option<String>,
    #[graphql(default_with = "ConflictMode::Fail")]
    pub on_conflict: ConflictMode,
    /// 1-200 characters: a retry with the same key and input within 24 hours returns the
    /// series the first success booked and books nothing.
    pub idempotency_key: Option<String>,
}
