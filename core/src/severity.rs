//! Severities: Sensu exit statuses named ok(0), warning(1), critical(2), unknown(anything else).

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
        let name = name.trim();
        Severity::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
