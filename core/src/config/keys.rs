//! The table of every setting: name, type, default, environment variable, flag,
//! whether an event may override it, and its documentation. The loader, the host's
//! flags and `docs/configuration.md` are all derived from this one table.

use crate::prelude::*;

use super::{DEFAULT_MESSAGE_TEMPLATE, DEFAULT_NAME_TEMPLATE, DEFAULT_NOTIFICATION_TEXT};

/// How a setting's raw value is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false` (strings: true/false/yes/no/1/0, any case).
    Bool,
    /// A non-negative whole number.
    Count,
    /// Seconds, a non-negative number (`0.5` allowed where milliseconds matter).
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

impl Kind {
    /// The type as shown in the reference and in error messages.
    pub fn label(self) -> String {
        match self {
            Kind::Bool => "bool".into(),
            Kind::Count => "count".into(),
            Kind::Seconds => "seconds".into(),
            Kind::Text => "text".into(),
            Kind::Secret => "secret".into(),
            Kind::Path => "path".into(),
            Kind::Url => "url".into(),
            Kind::Severities => "severities".into(),
            Kind::List => "list".into(),
            Kind::Template => "template".into(),
            Kind::Choice(words) => format!("one of {}", crate::text::join(words, ", ")),
            Kind::Offset => "utc offset".into(),
            Kind::Profiles => "profiles".into(),
        }
    }
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
}

impl KeySpec {
    /// One or two sentences for `--help` and the reference.
    pub fn doc(&self) -> &'static str {
        DOCS.iter().find(|(name, _)| *name == self.name).map_or("", |(_, doc)| doc)
    }
    /// `REACTIO_API_KEY` for `api_key`.
    pub fn env_var(&self) -> String {
        env_var(self.name)
    }
    /// `--api-key` for `api_key`.
    pub fn flag_name(&self) -> String {
        crate::text::replace(self.name, "_", "-")
    }
    /// `sensu.io/plugins/sensu-reactio-handler/config/<name>`.
    pub fn annotation(&self) -> String {
        format!("{}{}", crate::ANNOTATION_PREFIX, self.name)
    }
}

/// `REACTIO_API_KEY` for `api_key`: uppercased in place (std's `to_ascii_uppercase`
/// is a function of its own in the wasm builds, for these two callers).
pub(crate) fn env_var(name: &str) -> String {
    let mut out = String::from("REACTIO_");
    out.push_str(name);
    out.make_ascii_uppercase();
    out
}

/// The words `engine` accepts.
pub const ENGINES: &[&str] = &["native", "wasm"];

/// The words `close_on_resolve` accepts.
pub const CLOSE_ON_RESOLVE: &[&str] = &["unattended", "always", "never"];

const fn key(name: &'static str, kind: Kind, default: &'static str, per_event: bool) -> KeySpec {
    KeySpec { name, kind, default, per_event, flag: true }
}

/// Every setting, in documentation order: the single source of truth.
pub const KEYS: &[KeySpec] = &[
    key("api_key", Kind::Secret, "", false),
    key("api_key_file", Kind::Path, "", false),
    key("organization", Kind::Text, "", false),
    key("endpoint", Kind::Url, "https://<organization>.reactio.jp", false),
    key("ca_file", Kind::Path, "", false),
    key("allow_http", Kind::Bool, "false", false),
    key("deadline", Kind::Seconds, "8", false),
    key("request_timeout", Kind::Seconds, "3", false),
    key("spool_dir", Kind::Path, "(chosen by the handler)", false),
    key("dry_run", Kind::Bool, "false", false),
    key("engine", Kind::Choice(ENGINES), "native", false),
    key("profile", Kind::Text, "", true),
    KeySpec { name: "profiles", kind: Kind::Profiles, default: "{}", per_event: false, flag: false },
    key("severities", Kind::Severities, "critical", true),
    key("call", Kind::Severities, "", true),
    key("occurrences", Kind::Count, "1", true),
    key("refresh", Kind::Seconds, "1800", true),
    key("reconcile", Kind::Seconds, "300", true),
    key("max_renotify", Kind::Count, "10", true),
    key("call_on_renotify", Kind::Bool, "true", true),
    key("close_on_resolve", Kind::Choice(CLOSE_ON_RESOLVE), "unattended", true),
    key("topics", Kind::List, "", true),
    key("notification_text", Kind::Template, DEFAULT_NOTIFICATION_TEXT, true),
    key("name_template", Kind::Template, DEFAULT_NAME_TEMPLATE, true),
    key("message_template", Kind::Template, DEFAULT_MESSAGE_TEMPLATE, true),
    key("alert_when_silenced", Kind::Bool, "false", false),
    key("alert_when_flapping", Kind::Bool, "false", false),
    key("timezone_offset", Kind::Offset, "UTC", false),
];

/// One or two sentences per setting for `--help` and the reference, in [`KEYS`] order.
/// Kept apart from [`KEYS`] so that builds which never show them (the wasm modules)
/// do not carry the text; a test checks that both tables name the same settings.
const DOCS: &[(&str, &str)] = &[
    (
        "api_key",
        "Reactio API key (project settings > API). Prefer `api_key_file` or the environment variable so it stays out of `ps` and settings files.",
    ),
    (
        "api_key_file",
        "File holding the API key (surrounding whitespace ignored); read by the handler. Used when `api_key` is not set at a higher level (flag, environment, settings file); both in the same level is an error.",
    ),
    ("organization", "Reactio organization: the `<organization>` in `https://<organization>.reactio.jp`."),
    (
        "endpoint",
        "Base URL of the Reactio API (`http` or `https`, optional path prefix; no user info, query or fragment), e.g. a proxy or a test server.",
    ),
    ("ca_file", "PEM file of extra CA certificates trusted besides the compiled-in roots."),
    (
        "allow_http",
        "Allow a plain `http://` endpoint on a host other than loopback (the API key would travel unencrypted).",
    ),
    (
        "deadline",
        "Overall time for one run, retries included; keep it below Sensu's handler timeout so a failed delivery can still be spooled. Fractions allowed (`0.5`).",
    ),
    ("request_timeout", "Time allowed for one HTTP request (within the deadline). Fractions allowed."),
    ("spool_dir", "Directory where undelivered events wait for the next run or `replay`."),
    ("dry_run", "Print the requests instead of sending them; every lookup finds nothing."),
    (
        "engine",
        "How the handler runs the core: `native` (linked in) or `wasm` (the core's wasm module under wasmtime); the decisions are the same.",
    ),
    ("profile", "Name of the entry in `profiles` to route through (none: the default connection)."),
    (
        "profiles",
        "Named connections, settings file only: `{\"team-a\": {\"organization\": \"a\", \"api_key_file\": \"/etc/sensu/a.key\", \"occurrences\": 3}}`. Each may set `api_key`, `api_key_file`, `organization`, `endpoint` and any per-event setting except `profile`; those settings apply between the handler's settings and the event's overrides. A profile that sets neither `organization` nor `endpoint` uses the default ones; one that sets neither `api_key` nor `api_key_file` uses the default key.",
    ),
    (
        "severities",
        "Severities that open incidents (ok, warning, critical, unknown). Applied by the handler itself. A later result of a higher severity in the same failure broadcasts again (an escalation), in the order ok < warning < unknown < critical.",
    ),
    ("call", "Severities whose notifications also ring phones (the text is read aloud)."),
    (
        "occurrences",
        "Failing results in a row before alerting (at least 1). Classic checks' own `occurrences` attribute is honoured.",
    ),
    (
        "refresh",
        "Seconds between re-notifications while a check keeps failing (0 = never). Classic checks' own `refresh` attribute is honoured.",
    ),
    (
        "reconcile",
        "Seconds of failing between checks that an incident exists (creates one if the first alert was lost; 0 = off).",
    ),
    ("max_renotify", "Re-notifications per failing episode at most."),
    ("call_on_renotify", "Re-notifications ring phones too (for severities in `call`)."),
    (
        "close_on_resolve",
        "On recovery: `unattended` closes only an open incident nobody has taken, `always` closes it, `never` only posts (the incident stays open, and a new failure later broadcasts on it again).",
    ),
    ("topics", "Topics a new incident is opened with."),
    ("notification_text", "The broadcast text (a template)."),
    (
        "name_template",
        "The incident name. Must start with `{{.Key}}`, followed by a space or nothing: incidents are found again by that prefix.",
    ),
    ("message_template", "Timeline message for an event (values are HTML-escaped)."),
    ("alert_when_silenced", "Act on silenced checks (recoveries are always handled)."),
    ("alert_when_flapping", "Act on flapping checks (recoveries are always handled)."),
    ("timezone_offset", "Offset for times shown in messages: `+09:00`, `-05:30`, `Z` or `UTC`."),
];

/// A Sensu Classic settings file, shown in the reference (and loaded by a test).
pub const EXAMPLE_CLASSIC: &str = r#"{
  "reactio": {
    "organization": "demo",
    "api_key_file": "/etc/sensu/reactio.key",
    "severities": ["critical", "unknown"],
    "call": ["critical"],
    "occurrences": 2,
    "profiles": {
      "db-team": { "organization": "demo-db", "api_key_file": "/etc/sensu/reactio-db.key", "topics": ["db"] }
    }
  },
  "handlers": {
    "reactio": {
      "type": "pipe",
      "command": "sensu-reactio-handler",
      "timeout": 10,
      "handle_silenced": true,
      "handle_flapping": true
    }
  }
}"#;

/// The setting called `name`, if any.
pub fn spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// The names of every setting, for did-you-mean.
pub fn names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

/// `docs/configuration.md`, generated from [`KEYS`].
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from core/src/config/keys.rs (KEYS). Do not edit: run\n     \
         UPDATE_DOCS=1 cargo test -p sensu-reactio-core --test config_reference -->\n\
         # Configuration reference\n\n\
         Every setting of `sensu-reactio-handler`. Each has a settings-file key in the\n\
         `reactio` scope (Sensu Classic), an environment variable and a command-line flag\n\
         (Sensu Go); settings marked per-event can also be overridden by one event.\n\n\
         ## Precedence\n\n\
         Highest first:\n\n\
         1. check annotation `sensu.io/plugins/sensu-reactio-handler/config/<key>` (Sensu Go)\n\
         2. entity annotation, same name (Sensu Go)\n\
         3. the check's `reactio` object (Sensu Classic)\n\
         4. the check's own `occurrences` and `refresh` attributes (Sensu Classic)\n\
         5. the chosen profile's settings (`profiles.<name>`)\n\
         6. command-line flag\n\
         7. environment variable\n\
         8. settings file (`reactio` scope)\n\
         9. default\n\n\
         Layers 1 to 5 may set only the per-event settings; anything else there is ignored\n\
         with a warning. A bad per-event value is ignored with a warning and the configured\n\
         value is used, so the alert is never lost. A bad value anywhere else, an unknown key\n\
         in the `reactio` scope or a template that does not parse stops the handler with\n\
         exit code 78 and a message saying how to fix it.\n\n\
         ## Value syntax\n\n\
         - bool: `true`/`false`, also `yes`/`no`/`1`/`0` as strings (any case).\n\
         - count: a whole number (`\"3\"` as a string is fine too).\n\
         - seconds: a number of seconds; `deadline` and `request_timeout` accept fractions (`0.5`).\n\
         - severities, list: a JSON array, or a comma-separated string (`critical,warning`).\n\
         - utc offset: `+09:00`, `-05:30`, `Z` or `UTC`.\n\
         - template: Go template syntax over the event; the fields are\n",
    );
    let fields: Vec<String> = crate::template::FIELDS.iter().map(|f| format!("`{{{{{f}}}}}`")).collect();
    out.push_str(&format!("  {}.\n", fields.join(", ")));
    out.push_str(
        "  A Go raw string prints as it is: ``{{`{{.Entity.Name}}`}}`` is how a template in a Sensu\n  \
         Go check annotation is escaped from the agent's token substitution (docs/sensu-go.md).\n\n",
    );
    out.push_str(
        "## Example (Sensu Classic)\n\n\
         A file in `/etc/sensu/conf.d/`. `handle_silenced` and `handle_flapping` let Sensu\n\
         deliver the recovery of a silenced or flapping check, so its incident is closed; the\n\
         handler itself skips silenced and flapping failures (see `alert_when_silenced`).\n\
         A check routes to the `db-team` profile with `\"reactio\": {\"profile\": \"db-team\"}`\n\
         in its definition; in Sensu Go, with the annotation\n\
         `sensu.io/plugins/sensu-reactio-handler/config/profile: db-team`.\n\n```json\n",
    );
    out.push_str(EXAMPLE_CLASSIC);
    out.push_str("\n```\n\n## Settings\n");
    for k in KEYS {
        out.push_str(&format!("\n### `{}`\n\n{}\n\n", k.name, k.doc()));
        out.push_str(&format!("- type: {}\n", k.kind.label()));
        let default = if k.default.is_empty() { "(none)".to_owned() } else { format!("`{}`", k.default) };
        out.push_str(&format!("- default: {default}\n"));
        if k.flag {
            out.push_str(&format!("- environment: `{}`\n- flag: `--{}`\n", k.env_var(), k.flag_name()));
        } else {
            out.push_str("- environment, flag: none (settings file only)\n");
        }
        if k.per_event {
            out.push_str(&format!("- per event: yes, annotation `{}`\n", k.annotation()));
        } else {
            out.push_str("- per event: no\n");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = alloc::collections::BTreeSet::new();
        for k in KEYS {
            assert!(seen.insert(k.name), "duplicate key {}", k.name);
            assert!(k.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", k.name);
            assert!(k.doc().ends_with('.'), "doc of {} should be a sentence", k.name);
        }
        let documented: Vec<&str> = DOCS.iter().map(|(name, _)| *name).collect();
        assert_eq!(documented, names().collect::<Vec<_>>(), "DOCS must list every key of KEYS, in order");
    }

    #[test]
    fn per_event_allowlist_matches_decisions() {
        let per_event: Vec<&str> = KEYS.iter().filter(|k| k.per_event).map(|k| k.name).collect();
        assert_eq!(
            per_event,
            [
                "profile",
                "severities",
                "call",
                "occurrences",
                "refresh",
                "reconcile",
                "max_renotify",
                "call_on_renotify",
                "close_on_resolve",
                "topics",
                "notification_text",
                "name_template",
                "message_template"
            ]
        );
    }

    #[test]
    fn env_flag_and_annotation_names() {
        let k = spec("api_key_file").unwrap();
        assert_eq!(k.env_var(), "REACTIO_API_KEY_FILE");
        assert_eq!(k.flag_name(), "api-key-file");
        assert_eq!(k.annotation(), "sensu.io/plugins/sensu-reactio-handler/config/api_key_file");
        assert!(!spec("profiles").unwrap().flag);
        assert!(spec("nope").is_none());
    }

    #[test]
    fn reference_lists_every_key() {
        let md = reference_markdown();
        for k in KEYS {
            assert!(md.contains(&format!("### `{}`", k.name)), "{}", k.name);
        }
        assert!(md.contains("`REACTIO_OCCURRENCES`"));
        assert!(md.contains("`--max-renotify`"));
        assert!(md.contains("annotation `sensu.io/plugins/sensu-reactio-handler/config/topics`"));
    }
}
