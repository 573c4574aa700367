//! Rooms' attributes and house rules: time zones, features, opening hours, the policy of
//! booking rule 6, and the free slots they leave.

mod features;
mod free_slots;
mod local_time;
mod managers;
mod opening_hours;
mod policy;
mod quota;
#[cfg(test)]
mod tests;

pub use features::*;
pub use free_slots::*;
pub use local_time::*;
pub use managers::*;
pub use opening_hours::*;
pub use policy::*;
pub use quota::iso_weeks;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::slot::{fmt, Slot};
use crate::error::{Error, Result};

/// An IANA time zone from the bundled database (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<Tz> {
    Tz::from_str(name.trim()).map_err(|_| {
        Error::BadUserInput(format!(
            "{name:?} is not a known IANA time zone; use a name such as \"Europe/Berlin\", \
             \"America/New_York\" or \"UTC\""
        ))
    })
}
