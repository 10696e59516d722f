//! The table of every setting: name, type, default, environment variable, flag,
//! whether an event may override it, and its documentation. The loader, the host's
//! flags and `docs/configuration.md` are all derived from this one table.

/// How a setting's raw value is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false` (strings: true/false/yes/no/1/0).
    Bool,
    /// A non-negative integer.
    Count,
    /// Seconds, a non-negative integer.
    Seconds,
    /// Free text.
    Text,
    /// A secret (never shown).
    Secret,
    /// A file path.
    Path,
    /// A URL.
    Url,
    /// A list of severities (`critical,warning` or a JSON array).
    Severities,
    /// A list of strings (comma-separated or a JSON array).
    List,
    /// A template (Go-template subset).
    Template,
    /// One of fixed words.
    Choice(&'static [&'static str]),
    /// `+09:00`, `-05:30` or `Z`.
    Offset,
    /// An object of named profiles (settings file only).
    Profiles,
}

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    /// snake_case name in the `reactio` scope and in annotations.
    pub name: &'static str,
    /// How it parses.
    pub kind: Kind,
    /// The default, as documented.
    pub default: &'static str,
    /// May an event (annotation, check `reactio` object) override it?
    pub per_event: bool,
    /// Can it be given as a flag and an environment variable? (`profiles` cannot.)
    pub flag: bool,
    /// One or two sentences for `--help` and the reference.
    pub doc: &'static str,
}

impl KeySpec {
    /// `REACTIO_API_KEY` for `api_key`.
    pub fn env_var(&self) -> String {
        format!("REACTIO_{}", self.name.to_ascii_uppercase())
    }
    /// `--api-key` for `api_key`.
    pub fn flag_name(&self) -> String {
        self.name.replace('_', "-")
    }
}
