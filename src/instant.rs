//! Instants as the API writes them: the one home of that format, below everything that
//! writes one (values, error messages, the event log's readers).

use chrono::{DateTime, Utc};

/// An instant as the API writes it: RFC 3339 in UTC with `Z`, fractional seconds only when
/// there are any. The one home of that format (`DateTime` values and error messages alike).
///
/// Written digit by digit: a listing writes two per row, and chrono's general formatter was
/// ~1% of one. Exactly `to_rfc3339_opts(SecondsFormat::AutoSi, true)` (a test holds them
/// together), which years outside 0..=9999 and leap seconds are left to.
pub fn format(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let nanos = t.timestamp_subsec_nanos();
    let year = t.year();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    }
    fn put(out: &mut Vec<u8>, n: u32, digits: u32) {
        for k in (0..digits).rev() {
            out.push(b'0' + (n / 10u32.pow(k) % 10) as u8);
        }
    }
    let mut out = Vec::with_capacity(30);
    put(&mut out, year.unsigned_abs(), 4);
    out.push(b'-');
    put(&mut out, t.month(), 2);
    out.push(b'-');
    put(&mut out, t.day(), 2);
    out.push(b'T');
    put(&mut out, t.hour(), 2);
    out.push(b':');
    put(&mut out, t.minute(), 2);
    out.push(b':');
    put(&mut out, t.second(), 2);
    if nanos != 0 {
        out.push(b'.');
        match (nanos % 1_000_000, nanos % 1_000) {
            (0, _) => put(&mut out, nanos / 1_000_000, 3),
            (_, 0) => put(&mut out, nanos / 1_000, 6),
            _ => put(&mut out, nanos, 9),
        }
    }
    out.push(b'Z');
    // Only ASCII digits and punctuation were written.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_are_written_exactly_as_chrono_writes_rfc_3339() {
        let chrono = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut instants = vec![
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::UNIX_EPOCH,
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
        ];
        for _ in 0..20_000 {
            let secs = (next() % 400_000_000_000) as i64 - 100_000_000_000;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1_000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1_000,
                _ => (next() % 1_000_000_000) as u32,
            };
            instants.push(DateTime::from_timestamp(secs, nanos).unwrap());
        }
        for t in instants {
            assert_eq!(format(t), chrono(t));
        }
    }
}
