//! Settings: raw layers (files, environment, flags, per-event overrides) in, one validated value out.
//!
//! Precedence, highest first (decisions.md): check annotation > entity annotation >
//! Classic check `reactio` object > Classic check `occurrences`/`refresh` attributes >
//! flag > environment > settings file > default. The first four are per-event
//! layers applied by [`Config::effective`]; the rest are merged by [`Config::load`].

use crate::prelude::*;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use serde::Serialize;

use crate::severity::SeveritySet;
use crate::template::Template;

mod connection;
mod describe;
mod effective;
mod endpoint;
pub mod keys;
mod lint;
mod load;
mod parse;
mod profiles;
#[cfg(test)]
mod tests;
pub use endpoint::is_loopback;
pub use load::{
    DEFAULT_DEADLINE_MS, DEFAULT_HANDLER_NAME, DEFAULT_MESSAGE_TEMPLATE, DEFAULT_NAME_TEMPLATE,
    DEFAULT_NOTIFICATION_TEXT, DEFAULT_REQUEST_TIMEOUT_MS, origin_label,
};

/// Everything the host gathered about settings, as plain values (the core reads no
/// file and no environment itself). `Debug` masks the API keys and key files'
/// contents; `Serialize` does not (it carries the input to the wasm core).
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfigInput {
    /// The Sensu settings files deep-merged (objects merged, arrays concatenated,
    /// later scalars win), or `null`. The core takes the `reactio` scope from it and
    /// lints `handlers.<handler_name>`.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Environment variables the host read (names starting `REACTIO_`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Command-line flags given: setting name (snake_case) -> raw value.
    #[serde(default)]
    pub flags: BTreeMap<String, String>,
    /// The handler name for the `handlers.<name>` typo lint (default `reactio`).
    #[serde(default)]
    pub handler_name: Option<String>,
    /// Contents of the `api_key_file`s the host read, by path (see [`Config::key_files`]).
    #[serde(default)]
    pub key_files: BTreeMap<String, String>,
}

/// What [`Config::load`] reads, borrowed: a [`ConfigInput`]'s members, or the JSON
/// API's configuration input read in place ([`crate::read`]), whose objects of strings
/// are not first copied into `ConfigInput`'s maps (another map type: ~4.5 KB of the raw
/// wasm module).
pub(crate) struct Layers<'a> {
    pub(crate) settings: &'a serde_json::Value,
    pub(crate) env: &'a dyn Strings,
    pub(crate) flags: &'a dyn Strings,
    pub(crate) handler_name: Option<&'a str>,
    pub(crate) key_files: &'a dyn Strings,
}

/// Named strings (environment variables, flags, key files' contents) as
/// [`Config::load`] reads them.
pub(crate) trait Strings {
    /// The value given for `name`, if any.
    fn value(&self, name: &str) -> Option<&str>;
    /// The names given, sorted.
    fn names(&self) -> Vec<&str>;
}

impl Strings for BTreeMap<String, String> {
    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }

    fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for name in self.keys() {
            out.push(name.as_str());
        }
        out
    }
}

/// A JSON object of strings (its members checked to be strings by [`crate::read`]).
impl Strings for serde_json::Map<String, serde_json::Value> {
    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(serde_json::Value::as_str)
    }

    fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for name in self.keys() {
            out.push(name.as_str());
        }
        out
    }
}

/// A secret (API key). Never printed: `Debug`, `Display` and `Serialize` mask it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself, for the one place that needs it (the request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(crate::step::MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::step::MASK)
    }
}

/// Where a Reactio API lives: `scheme://authority[base_path]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `https` or `http`.
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// Path prefix without trailing slash (usually empty).
    pub base_path: String,
}

/// How to reach one Reactio project (the default one or a named profile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Organization (the `<organization>.reactio.jp` subdomain).
    pub organization: Option<String>,
    /// API endpoint (default `https://<organization>.reactio.jp`).
    pub endpoint: Endpoint,
    /// The API key, once resolved (from `api_key`, or the content of `api_key_file`).
    pub api_key: Option<Secret>,
    /// Path of a file holding the key (read by the host).
    pub api_key_file: Option<String>,
}

/// What to do with an incident when its check recovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseOnResolve {
    /// Close only an `open` incident with no manager (default).
    Unattended,
    /// Always close.
    Always,
    /// Never close; post only.
    Never,
}

/// The settings an event may override (the per-event allowlist).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    /// Named profile to route through (`None`: the default connection).
    pub profile: Option<String>,
    /// Severities acted on (default `[critical]`).
    pub severities: SeveritySet,
    /// Severities that ring phones (default `[]`).
    pub call: SeveritySet,
    /// Results in a row before alerting (default 1, at least 1).
    pub occurrences: u64,
    /// Seconds between re-notifications while failing (default 1800, 0 = never).
    pub refresh: u64,
    /// Seconds of streak between reconcile lookups (default 300, 0 = off).
    pub reconcile: u64,
    /// Re-notifications per episode at most (default 10).
    pub max_renotify: u64,
    /// Re-notifications ring phones too (default true).
    pub call_on_renotify: bool,
    /// See [`CloseOnResolve`] (default `unattended`).
    pub close_on_resolve: CloseOnResolve,
    /// Topics opened with a new incident (default none).
    pub topics: Vec<String>,
    /// The broadcast text (a template; default `対応をお願いします`).
    pub notification_text: Template,
    /// The incident name; must start with `{{.Key}}` (default `{{.Key}} {{.Check.Output}}`).
    pub name_template: Template,
    /// Timeline message for an event (default in [`crate::template`]).
    pub message_template: Template,
}

/// Settings no event may override, besides connections.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Global {
    /// Act on silenced checks (default false).
    pub alert_when_silenced: bool,
    /// Act on flapping checks (default false).
    pub alert_when_flapping: bool,
    /// Offset for times shown in messages, minutes east of UTC (default 0 = UTC).
    pub timezone_offset_minutes: i32,
    /// Per-request timeout, milliseconds (default 3000).
    pub request_timeout_ms: u64,
}

/// Settings only the native host uses (the core validates and reports them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostSettings {
    /// Overall deadline, milliseconds (default 8000).
    pub deadline_ms: u64,
    /// Spool directory (default chosen by the host: an absolute path).
    pub spool_dir: Option<String>,
    /// Extra CA certificates (PEM file) trusted besides the compiled-in roots.
    pub ca_file: Option<String>,
    /// Allow plain `http://` to hosts other than loopback (default false).
    pub allow_http: bool,
    /// Print the requests instead of sending them (default false).
    pub dry_run: bool,
    /// How the host runs the core: `native` (default) or `wasm`.
    pub engine: String,
}

/// A named profile: its own connection, and optionally its own settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// How to reach this profile's project (shared with the events routed through it).
    pub connection: Arc<Connection>,
    /// Per-event settings this profile sets (validated at load, raw JSON by key),
    /// applied between the configured settings and the event's overrides.
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// Where a value came from (for `check-config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The Sensu settings files (`reactio` scope).
    SettingsFile,
    /// An environment variable.
    Environment,
    /// A command-line flag.
    Flag,
    /// A Classic check attribute (`occurrences`, `refresh`).
    CheckAttribute,
    /// A Classic check's `reactio` object.
    CheckReactio,
    /// An entity annotation.
    EntityAnnotation,
    /// A check annotation.
    CheckAnnotation,
}

/// A map from name to `V` kept as a `Vec` sorted by name: the configuration's few
/// dozen entries need no tree, and this is less wasm code than a `BTreeMap`. It looks
/// up, iterates, prints (`Debug`) and serializes like the sorted map it stands for.
#[derive(Clone, PartialEq, Eq)]
pub struct Named<V>(Vec<(String, V)>);

/// Where each setting's value came from, by setting name.
pub type Origins = Named<Origin>;

/// Named profiles, by name.
pub type Profiles = Named<Profile>;

impl<V> Default for Named<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Named<V> {
    /// The value for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.find(name).ok().and_then(|i| self.0.get(i)).map(|(_, v)| v)
    }

    /// Whether `name` has a value.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Set the value for `name`, replacing an earlier one.
    pub fn insert(&mut self, name: &str, value: V) {
        match self.find(name) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = value;
                }
            }
            Err(i) => self.0.insert(i, (name.to_owned(), value)),
        }
    }

    /// How many names have a value.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no name has a value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The values in name order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// (name, value) pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Where `name` is, or where it would go. A walk, not a binary search: a few dozen
    /// names at most, and less code in the wasm builds (it is compiled once per `V`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        for (i, (n, _)) in self.0.iter().enumerate() {
            match n.as_str().cmp(name) {
                core::cmp::Ordering::Less => {}
                core::cmp::Ordering::Equal => return Ok(i),
                core::cmp::Ordering::Greater => return Err(i),
            }
        }
        Err(self.0.len())
    }
}

impl<'a, V> IntoIterator for &'a Named<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = core::iter::Map<core::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl<V> core::ops::Index<&str> for Named<V> {
    type Output = V;

    /// Panics when `name` has no value, like a map's index (tests only).
    #[allow(clippy::panic)]
    fn index(&self, name: &str) -> &V {
        match self.get(name) {
            Some(value) => value,
            None => panic!("no entry `{name}`"),
        }
    }
}

impl<V: core::fmt::Debug> core::fmt::Debug for Named<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(n, v)| (n, v))).finish()
    }
}

impl<V: Serialize> Serialize for Named<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(n, v)| (n, v)))
    }
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// Overridable settings.
    pub settings: Settings,
    /// Non-overridable settings.
    pub global: Global,
    /// The default connection (shared with the events that use it).
    pub connection: Arc<Connection>,
    /// Named profiles.
    pub profiles: Profiles,
    /// Host-only settings.
    pub host: HostSettings,
    /// Where each setting's value came from.
    pub origins: Origins,
    /// Warnings found while loading (typos in `handlers.<name>`, ...), one line each.
    pub warnings: Vec<String>,
}

/// The settings in force for one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective {
    /// Overridable settings after the event's overrides.
    pub settings: Settings,
    /// Non-overridable settings.
    pub global: Global,
    /// The connection of the chosen profile (the configuration's, shared).
    pub connection: Arc<Connection>,
}

/// One per-event override layer, highest precedence first in [`Overrides`].
#[derive(Clone, Debug, PartialEq)]
pub struct OverrideLayer {
    /// Which layer.
    pub origin: Origin,
    /// Setting name -> raw value (annotation strings arrive as JSON strings). A JSON
    /// object's own map type: a check's `reactio` object is kept as it is, not copied
    /// pair by pair into a map of another type (code in the wasm builds).
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// The per-event override layers, highest precedence first.
pub type Overrides = Vec<OverrideLayer>;

/// A step of loading that may fail. Boxed inside the crate: each `?` then moves one
/// pointer, not the whole error (less code in the wasm builds); [`Config::load`] opens it.
pub(crate) type Failed<T> = Result<T, Box<ConfigError>>;

/// A configuration error: what is wrong, where, and how to fix it (exit 78).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// One lowercase line, no secrets.
    pub message: String,
    /// The settings at fault in the settings files' `reactio` scope (`occurrences`,
    /// `profiles.a.organization`), for a host to name the files that set them; empty
    /// when the error is about no such setting; `""` is the `reactio` scope itself.
    pub paths: Vec<String>,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for ConfigError {}
