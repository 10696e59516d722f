//! Severities: Sensu exit statuses named ok(0), warning(1), critical(2), unknown(anything else), and sets of them.

use crate::prelude::*;

use serde::Serialize;

/// A check result's severity, ordered from least to most severe for escalation
/// (`ok < warning < unknown < critical`: unknown is worse than a warning, not as
/// bad as a known critical).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Status 0.
    Ok,
    /// Status 1.
    Warning,
    /// Status 3 and anything else.
    Unknown,
    /// Status 2.
    Critical,
}

impl Severity {
    /// Every severity, for did-you-mean and listings.
    pub const ALL: [Severity; 4] = [Severity::Ok, Severity::Warning, Severity::Critical, Severity::Unknown];

    /// The severity of an exit status.
    pub fn from_status(status: i64) -> Severity {
        match status {
            0 => Severity::Ok,
            1 => Severity::Warning,
            2 => Severity::Critical,
            _ => Severity::Unknown,
        }
    }

    /// Lowercase name as written in settings.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Unknown => "unknown",
        }
    }

    /// Parse a name as written in settings (case-insensitive, surrounding spaces ignored).
    pub fn parse(name: &str) -> Option<Severity> {
        let name = name.trim_ws();
        Severity::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl core::fmt::Display for Severity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of severities: a bitset that behaves like a sorted set (iteration from least
/// to most severe, `Debug` and `Serialize` as a set/list in that order). Smaller in
/// the wasm builds than a `BTreeSet<Severity>`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeveritySet(u8);

impl SeveritySet {
    /// The empty set.
    pub const fn new() -> SeveritySet {
        SeveritySet(0)
    }

    fn bit(severity: Severity) -> u8 {
        1 << (severity as u8)
    }

    /// Add a severity; true when it was not in the set yet.
    pub fn insert(&mut self, severity: Severity) -> bool {
        let new = !self.contains(&severity);
        self.0 |= SeveritySet::bit(severity);
        new
    }

    /// Whether the severity is in the set.
    pub fn contains(&self, severity: &Severity) -> bool {
        self.0 & SeveritySet::bit(*severity) != 0
    }

    /// Every severity, from least to most severe: the order of [`SeveritySet::iter`].
    pub(crate) const ORDER: [Severity; 4] = [Severity::Ok, Severity::Warning, Severity::Unknown, Severity::Critical];

    /// The severities in the set, from least to most severe.
    pub fn iter(&self) -> impl Iterator<Item = Severity> + '_ {
        SeveritySet::ORDER.into_iter().filter(|s| self.contains(s))
    }

    /// The names in order, comma-separated (`warning, critical`), for messages.
    pub fn names(&self) -> String {
        let mut out = String::new();
        // Over the order, not `iter()`: its filter is more wasm code than this `if`.
        for severity in SeveritySet::ORDER {
            if self.contains(&severity) {
                crate::text::push_joined(&mut out, ", ", severity.name());
            }
        }
        out
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// How many severities the set holds.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }
}

impl<const N: usize> From<[Severity; N]> for SeveritySet {
    fn from(list: [Severity; N]) -> SeveritySet {
        let mut set = SeveritySet::new();
        for severity in list {
            set.insert(severity);
        }
        set
    }
}

impl FromIterator<Severity> for SeveritySet {
    fn from_iter<I: IntoIterator<Item = Severity>>(iter: I) -> SeveritySet {
        let mut set = SeveritySet::new();
        for severity in iter {
            set.insert(severity);
        }
        set
    }
}

impl core::fmt::Debug for SeveritySet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for SeveritySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_severity_set_behaves_like_a_sorted_set() {
        let all = [Severity::Critical, Severity::Ok, Severity::Unknown, Severity::Warning];
        let set: SeveritySet = all.into_iter().collect();
        let tree: alloc::collections::BTreeSet<Severity> = all.into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), tree.iter().copied().collect::<Vec<_>>());
        assert_eq!(format!("{set:?}"), format!("{tree:?}"));
        assert_eq!(serde_json::to_string(&set).ok(), serde_json::to_string(&tree).ok());
        let mut one = SeveritySet::from([Severity::Critical]);
        assert!(!one.insert(Severity::Critical));
        assert!(one.insert(Severity::Warning));
        assert_eq!((one.len(), one.is_empty(), SeveritySet::new().is_empty()), (2, false, true));
        assert!(one.contains(&Severity::Warning) && !one.contains(&Severity::Ok));
    }
}
