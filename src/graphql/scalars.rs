//! The `DateTime` scalar: RFC 3339 with an explicit offset in, UTC with `Z` out.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::domain;

/// An instant. Input must carry an offset; output is always UTC with `Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

/// An RFC 3339 date-time with an explicit UTC offset, e.g. `2026-01-20T10:00:00Z` or
/// `2026-01-20T12:00:00+02:00`. Always returned in UTC with `Z`. Precision is one microsecond.
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

/// UTC with `Z`, fractional seconds only when there are any.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
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
    fn keeps_microseconds_and_drops_what_is_finer() {
        let t = parse_datetime("2026-01-20T10:00:00.123456789Z").unwrap();
        assert_eq!(format_datetime(t), "2026-01-20T10:00:00.123456Z");
    }
}
