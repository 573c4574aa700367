//! Field-level limits of API.md, each as a type that can only hold a valid value.

use crate::error::{Error, Result};

fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Trims `raw` and checks it holds `min..=max` characters and no control characters.
fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        let what = if min == 0 {
            format!("at most {max} characters")
        } else {
            format!("{min} to {max} characters")
        };
        return Err(Error::BadUserInput(format!(
            "{field} must be {what} after trimming (got {len})"
        )));
    }
    if has_control_chars(trimmed) {
        return Err(Error::BadUserInput(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// A room name: trimmed, 1-100 characters. Uniqueness ignores case: see [`RoomName::key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self> {
        bounded_text("name", raw, 1, 100).map(RoomName)
    }

    /// The case-folded form that must be unique among rooms.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room capacity: 1-10000 people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity(i32);

impl Capacity {
    pub const MAX: i32 = 10_000;

    pub fn parse(raw: i32) -> Result<Self> {
        if (1..=Self::MAX).contains(&raw) {
            Ok(Capacity(raw))
        } else {
            Err(Error::BadUserInput(format!(
                "capacity must be between 1 and {} (got {raw})",
                Self::MAX
            )))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// An optional reservation title: at most 200 characters; blank means none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(Option<String>);

impl Title {
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        match raw {
            None => Ok(Title(None)),
            Some(raw) => {
                let t = bounded_text("title", raw, 0, 200)?;
                Ok(Title(if t.is_empty() { None } else { Some(t) }))
            }
        }
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// The organizer's name: 1-100 characters after trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizerName(String);

impl OrganizerName {
    pub fn parse(raw: &str) -> Result<Self> {
        bounded_text("organizerName", raw, 1, 100).map(OrganizerName)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The organizer's email: at most 254 characters, shaped `local@domain.tld`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let e = raw.trim();
        let bad = || {
            Error::BadUserInput(format!(
                "organizerEmail must look like an address such as ada@example.com (got {e:?})"
            ))
        };
        if e.chars().count() > 254 {
            return Err(Error::BadUserInput(
                "organizerEmail must be at most 254 characters".into(),
            ));
        }
        let (local, domain) = e.split_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
        if labels_ok && local_ok {
            Ok(Email(e.to_owned()))
        } else {
            Err(bad())
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// How a building is compared: trimmed and case-folded. Stored beside the room (its
/// `building_key`) and applied to a `building` filter, so the two always fold alike.
pub fn building_key(building: &str) -> String {
    building.trim().to_lowercase()
}

/// A room's building or floor: trimmed, 1-100 characters.
pub fn place(field: &str, raw: &str) -> Result<String> {
    bounded_text(field, raw, 1, 100)
}

/// A room's description: at most 2000 characters; line breaks and tabs allowed.
pub fn description(raw: &str) -> Result<String> {
    let len = raw.chars().count();
    if len > 2000 {
        return Err(Error::BadUserInput(format!(
            "description must be at most 2000 characters (got {len})"
        )));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Error::BadUserInput(
            "description must not contain control characters other than line breaks and tabs"
                .into(),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_descriptions_have_limits() {
        assert_eq!(place("building", "  HQ ").unwrap(), "HQ");
        assert!(place("building", "  ").is_err());
        assert!(place("floor", &"x".repeat(101)).is_err());
        assert!(description("two\nlines").is_ok());
        assert!(description(&"x".repeat(2001)).is_err());
        assert!(description("bell\u{7}").is_err());
    }

    #[test]
    fn room_names_are_trimmed_and_compared_ignoring_case() {
        let n = RoomName::parse("  Blue Room ").unwrap();
        assert_eq!(n.as_str(), "Blue Room");
        assert_eq!(n.key(), RoomName::parse("BLUE ROOM").unwrap().key());
    }

    #[test]
    fn rejects_blank_and_overlong_room_names() {
        assert!(RoomName::parse("   ").is_err());
        assert!(RoomName::parse(&"x".repeat(101)).is_err());
        assert!(RoomName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn capacity_is_between_one_and_ten_thousand() {
        assert!(Capacity::parse(0).is_err());
        assert!(Capacity::parse(1).is_ok());
        assert!(Capacity::parse(10_000).is_ok());
        assert!(Capacity::parse(10_001).is_err());
        assert!(Capacity::parse(-5).is_err());
    }

    #[test]
    fn titles_are_optional_and_at_most_200_chars() {
        assert_eq!(Title::parse(None).unwrap().into_inner(), None);
        assert_eq!(Title::parse(Some("  ")).unwrap().into_inner(), None);
        assert!(Title::parse(Some(&"t".repeat(200))).is_ok());
        assert!(Title::parse(Some(&"t".repeat(201))).is_err());
    }

    #[test]
    fn organizer_name_needs_one_to_100_chars() {
        assert!(OrganizerName::parse(" ").is_err());
        assert!(OrganizerName::parse(&"n".repeat(101)).is_err());
        assert_eq!(OrganizerName::parse(" Ada ").unwrap().into_inner(), "Ada");
        assert!(OrganizerName::parse("Ada\u{0}").is_err());
    }

    #[test]
    fn emails_must_be_shaped_like_addresses() {
        for ok in ["ada@example.com", "a.b+tag@mail.example.org", "x@b-c.io"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@.com",
            "ada@example..com",
            ".ada@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert!(Email::parse(&long).is_err());
    }
}
