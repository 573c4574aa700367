//! A room's features: normalised names, as stored and filtered on.

use super::*;

/// A room's features: each trimmed and lower-cased, 1-50 characters of `a-z`, `0-9` and `-`;
/// at most 50 distinct ones; kept sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features(Vec<String>);

impl Features {
    pub const MAX: usize = 50;
    pub const MAX_LEN: usize = 50;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self> {
        let mut names = Vec::with_capacity(raw.len());
        for r in raw {
            names.push(Self::parse_one(r.as_ref())?);
        }
        names.sort();
        names.dedup();
        if names.len() > Self::MAX {
            return Err(Error::BadUserInput(format!(
                "a room has at most {} features (got {} distinct ones)",
                Self::MAX,
                names.len()
            )));
        }
        Ok(Features(names))
    }

    /// One feature name, normalised: `" Projector "` is `projector`.
    pub fn parse_one(raw: &str) -> Result<String> {
        let name = raw.trim().to_lowercase();
        let len = name.chars().count();
        if len == 0 || len > Self::MAX_LEN {
            return Err(Error::BadUserInput(format!(
                "feature {raw:?} must be 1 to {} characters after trimming",
                Self::MAX_LEN
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::BadUserInput(format!(
                "feature {raw:?} may hold only letters a-z, digits and '-'"
            )));
        }
        Ok(name)
    }

    /// As stored: comma-separated (no feature holds a comma).
    pub fn to_stored(&self) -> String {
        self.0.join(",")
    }

    pub fn from_stored(s: &str) -> Self {
        Features(
            s.split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}
