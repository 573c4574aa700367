//! The scalars: `DateTime` (RFC 3339 with an explicit offset in, UTC with `Z` out unless a
//! field's `timeZone` asks otherwise) and `LocalTime` (`HH:MM`).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::domain;

/// An instant. Input must carry an offset; output is UTC with `Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

// `Timestamp` and `Zoned` are one GraphQL scalar, `DateTime`: their descriptions must match
// word for word (whichever registers first describes it; `tests/schema.rs` checks the SDL).

/// An RFC 3339 date-time with an explicit UTC offset, e.g. `2026-01-20T10:00:00Z` or
/// `2026-01-20T12:00:00+02:00`. Returned in UTC with `Z`, unless a field's `timeZone`
/// argument asks for that zone's offset. Precision is one microsecond.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_datetime(s)
                .map(Timestamp)
                .map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(format_datetime(self.0))
    }
}

/// An instant written with the offset of a time zone at that instant (UTC with `Z` without
/// one): what `start(timeZone:)` returns. Output only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zoned(pub DateTime<Utc>, pub Option<Tz>);

/// An RFC 3339 date-time with an explicit UTC offset, e.g. `2026-01-20T10:00:00Z` or
/// `2026-01-20T12:00:00+02:00`. Returned in UTC with `Z`, unless a field's `timeZone`
/// argument asks for that zone's offset. Precision is one microsecond.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for Zoned {
    fn parse(value: Value) -> InputValueResult<Self> {
        Timestamp::parse(value)
            .map(|t| Zoned(t.0, None))
            .map_err(InputValueError::propagate)
    }

    fn to_value(&self) -> Value {
        Value::String(match self.1 {
            None => format_datetime(self.0),
            Some(tz) => format_in_zone(self.0, tz),
        })
    }
}

/// `t` with `tz`'s offset at that instant (`+00:00` rather than `Z` for a zone at UTC).
pub fn format_in_zone(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .fixed_offset()
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A wall-clock time of day in a room's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTimeScalar(pub domain::LocalTime);

/// A time of day, `"HH:MM"` on a 24-hour clock from `00:00` to `24:00` (midnight at the end
/// of the day), read in a room's time zone.
#[Scalar(name = "LocalTime")]
impl ScalarType for LocalTimeScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => domain::LocalTime::parse(s)
                .map(LocalTimeScalar)
                .map_err(|e| InputValueError::custom(e.to_string())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Parses an RFC 3339 date-time that names its offset; one without gets a message saying so.
pub fn parse_datetime(s: &str) -> Result<DateTime<Utc>, String> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(domain::truncate_to_micros(t.with_timezone(&Utc))),
        Err(_) if looks_local(s) => Err(format!(
            "{s:?} has no UTC offset; an offset is required, e.g. \"{s}Z\" or \"{s}+02:00\""
        )),
        Err(e) => Err(format!(
            "{s:?} is not an RFC 3339 date-time with an offset, such as \"2026-01-20T10:00:00Z\" ({e})"
        )),
    }
}

fn looks_local(s: &str) -> bool {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok())
}

/// UTC with `Z`, fractional seconds only when there are any: the domain's one format of an
/// instant (the one error messages use too).
pub fn format_datetime(t: DateTime<Utc>) -> String {
    domain::fmt_instant(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_z_and_numeric_offsets_and_returns_utc() {
        let t = parse_datetime("2026-01-20T12:00:00+02:00").unwrap();
        assert_eq!(format_datetime(t), "2026-01-20T10:00:00Z");
        let z = parse_datetime("2026-01-20T10:00:00Z").unwrap();
        assert_eq!(t, z);
        let neg = parse_datetime("2026-01-20T05:30:00-04:30").unwrap();
        assert_eq!(format_datetime(neg), "2026-01-20T10:00:00Z");
    }

    #[test]
    fn says_an_offset_is_required_when_there_is_none() {
        let e = parse_datetime("2026-01-20T10:00:00").unwrap_err();
        assert!(e.contains("offset is required"), "{e}");
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        for bad in ["", "tomorrow", "2026-13-01T00:00:00Z", "2026-01-20"] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_zone_writes_its_offset_at_that_instant() {
        let berlin = domain::parse_time_zone("Europe/Berlin").unwrap();
        let winter = parse_datetime("2030-01-20T09:00:00Z").unwrap();
        let summer = parse_datetime("2030-07-20T08:00:00Z").unwrap();
        assert_eq!(format_in_zone(winter, berlin), "2030-01-20T10:00:00+01:00");
        assert_eq!(format_in_zone(summer, berlin), "2030-07-20T10:00:00+02:00");
        let utc = domain::parse_time_zone("UTC").unwrap();
        assert_eq!(format_in_zone(winter, utc), "2030-01-20T09:00:00+00:00");
    }

    #[test]
    fn keeps_microseconds_and_drops_what_is_finer() {
        let t = parse_datetime("2026-01-20T10:00:00.123456789Z").unwrap();
        assert_eq!(format_datetime(t), "2026-01-20T10:00:00.123456Z");
    }
}
