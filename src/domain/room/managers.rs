//! A room's managers (API.md "Room managers and approval"): token subjects, or `role:<name>`
//! for everyone holding that role.

use super::*;

/// The people who run a room; sorted, distinct, at most 50 entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Managers(Vec<String>);

impl Managers {
    pub const MAX: usize = 50;
    /// Entries are at most this many characters.
    pub const MAX_CHARS: usize = 300;
    const ROLE: &'static str = "role:";

    /// Validates `entries`: each trimmed, non-empty, at most 300 characters, no line break; a
    /// `role:` entry names a role.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let mut list = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.trim();
            let role = entry.strip_prefix(Self::ROLE);
            if entry.is_empty()
                || entry.chars().count() > Self::MAX_CHARS
                || entry.contains(['\n', '\r'])
                || role.is_some_and(|r| r.trim().is_empty())
            {
                return Err(Error::BadUserInput(format!(
                    "managers: each entry is a token subject or `role:<name>`, 1-{} characters \
                     without line breaks (got {})",
                    Self::MAX_CHARS,
                    crate::error::quoted(entry)
                )));
            }
            list.push(entry.to_owned());
        }
        list.sort();
        list.dedup();
        if list.len() > Self::MAX {
            return Err(Error::BadUserInput(format!(
                "a room has at most {} managers (got {})",
                Self::MAX,
                list.len()
            )));
        }
        Ok(Managers(list))
    }

    /// As stored: one entry per line.
    pub fn to_stored(&self) -> String {
        self.0.join("\n")
    }

    pub fn from_stored(text: &str) -> Self {
        Managers(
            text.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn entries(&self) -> &[String] {
        &self.0
    }

    /// Whether the bearer of `subject` and `roles` is one of them.
    pub fn include(&self, subject: Option<&str>, roles: &[String]) -> bool {
        self.0
            .iter()
            .any(|entry| match entry.strip_prefix(Self::ROLE) {
                Some(role) => roles.iter().any(|r| r == role),
                None => subject == Some(entry.as_str()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn managers(entries: &[&str]) -> Result<Managers> {
        Managers::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_manager_is_named_by_subject_or_by_role() {
        let m = managers(&["ada", "role:facilities"]).unwrap();
        assert!(m.include(Some("ada"), &[]));
        assert!(m.include(Some("bob"), &["facilities".into()]));
        assert!(!m.include(Some("bob"), &["role:facilities".into(), "ada".into()]));
        assert!(!m.include(None, &[]));
        assert!(
            !m.include(Some("facilities"), &[]),
            "a subject is not a role"
        );
    }

    #[test]
    fn entries_are_checked_and_kept_sorted() {
        let m = managers(&[" bob ", "ada", "ada"]).unwrap();
        assert_eq!(m.entries(), ["ada", "bob"]);
        assert_eq!(Managers::from_stored(&m.to_stored()), m);
        assert_eq!(Managers::from_stored(""), Managers::default());
        for bad in ["", " ", "role:", "a\nb"] {
            assert!(managers(&[bad]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
        assert!(Managers::parse(&many).is_err());
    }
}
