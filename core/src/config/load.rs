//! Loading: defaults, settings file `reactio` scope, environment, flags -> [`Config`]
//! (precedence flag > environment > settings file > default), with the origin of
//! every value; the defaults; the key files the host must read.

use crate::prelude::*;

use alloc::collections::BTreeSet;

use serde_json::{Map, Value};

use super::connection::{RawConnection, check_http};
use super::keys::{KEYS, KeySpec, Kind};
use super::lint::{check_flags, check_scope_keys, lint_env, lint_handler};
use super::parse::{ParseError, Parsed, parse, suggestion};
use super::*;
use crate::template::Template;
use crate::text::Decimal;

/// The seed handler's broadcast text ("please respond").
pub const DEFAULT_NOTIFICATION_TEXT: &str = "対応をお願いします";
/// Default incident name: the key, then the check output.
pub const DEFAULT_NAME_TEMPLATE: &str = "{{.Key}} {{.Check.Output}}";
/// Default timeline message for an event.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "<b>{{.Severity}}</b> {{.Key}} at {{.Time}}<br>{{.Check.Output}}";
/// Default overall deadline (8 s).
pub const DEFAULT_DEADLINE_MS: u64 = 8000;
/// Default per-request timeout (3 s).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 3000;
/// Default handler name for the `handlers.<name>` lint.
pub const DEFAULT_HANDLER_NAME: &str = "reactio";

fn template(source: &str) -> Template {
    Template::parse(source).unwrap_or_else(|_| Template::parse("").unwrap_or_else(|_| unreachable_template()))
}

#[allow(clippy::panic)]
fn unreachable_template() -> Template {
    panic!("the empty template always parses")
}

impl Settings {
    /// The built-in defaults.
    pub fn defaults() -> Settings {
        Settings {
            profile: None,
            severities: crate::severity::SeveritySet::from([crate::Severity::Critical]),
            call: crate::severity::SeveritySet::new(),
            occurrences: 1,
            refresh: 1800,
            reconcile: 300,
            max_renotify: 10,
            call_on_renotify: true,
            close_on_resolve: CloseOnResolve::Unattended,
            topics: Vec::new(),
            notification_text: template(DEFAULT_NOTIFICATION_TEXT),
            name_template: template(DEFAULT_NAME_TEMPLATE),
            message_template: template(DEFAULT_MESSAGE_TEMPLATE),
        }
    }
}

impl ConfigError {
    /// A boxed error saying `message`, as the loader's `?` moves it ([`Failed`]): made
    /// in one place, not at each of the loader's and lint's many messages.
    #[inline(never)]
    pub(crate) fn new(message: String) -> Box<ConfigError> {
        Box::new(ConfigError { message, paths: Vec::new() })
    }

    /// The same error, about the setting at `path` in the settings files' `reactio` scope.
    pub(crate) fn at(mut self: Box<Self>, path: impl Into<String>) -> Box<ConfigError> {
        self.paths.push(path.into());
        self
    }

    /// [`ConfigError::at`] when the value came from the settings files (`origin`): one
    /// from the environment or a flag is in no file, even where a file sets it too.
    pub(crate) fn at_if_from_files(self: Box<Self>, path: &str, origin: Origin) -> Box<ConfigError> {
        if origin == Origin::SettingsFile { self.at(path) } else { self }
    }
}

/// Where a raw value came from, for messages and origins.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    pub origin: Origin,
    /// The setting's name, or for the settings files its path in the `reactio` scope.
    pub path: &'a str,
}

impl Source<'_> {
    /// "settings file `reactio.x`", "environment variable REACTIO_X", "flag --x".
    pub(crate) fn label(&self) -> String {
        origin_label(self.path, self.origin)
    }
}

pub(crate) fn file_source(path: &str) -> Source<'_> {
    Source { origin: Origin::SettingsFile, path }
}

/// `"<where>: expected X, got Y; fix the value or remove it to use the default (D)"`.
pub(crate) fn bad_value(spec: &KeySpec, source: &Source<'_>, e: &ParseError) -> Box<ConfigError> {
    let default = if spec.default.is_empty() { "none".to_owned() } else { format!("`{}`", spec.default) };
    ConfigError::new(format!(
        "{}: expected {}, got {}{}; fix the value or remove it to use the default ({default})",
        source.label(),
        e.expected,
        e.got,
        e.hint
    ))
    .at_if_from_files(source.path, source.origin)
}

/// How an origin is named in messages.
pub(crate) fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Default => "default",
        Origin::SettingsFile => "settings file",
        Origin::Environment => "environment",
        Origin::Flag => "flags",
        Origin::CheckAttribute => "check attribute",
        Origin::CheckReactio => "check `reactio` object",
        Origin::EntityAnnotation => "entity annotation",
        Origin::CheckAnnotation => "check annotation",
    }
}

fn reactio_scope(settings: &Value) -> Failed<Option<&Map<String, Value>>> {
    let root = match settings {
        Value::Null => return Ok(None),
        Value::Object(root) => root,
        other => {
            return Err(ConfigError::new(format!(
                "the merged sensu settings must be a json object, got {}; check the settings files",
                super::parse::show(other, false)
            )));
        }
    };
    match root.get("reactio") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(scope)) => Ok(Some(scope)),
        Some(other) => Err(ConfigError::new(format!(
            "the `reactio` settings scope must be an object such as {{\"organization\": \"demo\"}}, got {}",
            super::parse::show(other, false)
        ))
        .at("")),
    }
}

/// The raw values given for one key, highest precedence first.
fn layers(
    k: &KeySpec,
    scope: Option<&Map<String, Value>>,
    input: &Layers<'_>,
    warnings: &mut Vec<String>,
) -> Vec<(Source<'static>, Value)> {
    let mut out = Vec::new();
    if k.flag {
        if let Some(v) = input.flags.value(k.name) {
            out.push((Source { origin: Origin::Flag, path: k.name }, Value::String(v.to_owned())));
        }
        let var = k.env_var();
        match input.env.value(&var) {
            Some(v) if v.trim_ws().is_empty() => {
                warnings.push(format!("environment variable {var} is set but empty; ignored"))
            }
            Some(v) => out.push((Source { origin: Origin::Environment, path: k.name }, Value::String(v.to_owned()))),
            None => {}
        }
    }
    if let Some(v) = scope.and_then(|s| s.get(k.name)).filter(|v| !v.is_null()) {
        out.push((file_source(k.name), crate::text::copy_json(v)));
    }
    out
}

impl Config {
    /// Validate the gathered settings into one value.
    pub fn load(input: &ConfigInput) -> Result<Config, ConfigError> {
        Config::load_layers(&Layers {
            settings: &input.settings,
            env: &input.env,
            flags: &input.flags,
            handler_name: input.handler_name.as_deref(),
            key_files: &input.key_files,
        })
        .map(|config| *config)
        .map_err(|e| *e)
    }

    /// [`Config::load`] of what it reads, borrowed; boxed, so that the JSON API's
    /// results and cache move a pointer, not the configuration.
    pub(crate) fn load_layers(input: &Layers<'_>) -> Failed<Box<Config>> {
        let mut warnings = Vec::new();
        let scope = reactio_scope(input.settings)?;
        if let Some(scope) = scope {
            check_scope_keys(scope)?;
        } else if let Some(near) = input
            .settings
            .as_object()
            .and_then(|root| crate::suggest::did_you_mean("reactio", root.keys().map(String::as_str)))
        {
            warnings.push(format!(
                "the settings have no `reactio` scope but a `{near}` one, which is not read: did you mean `reactio`?"
            ));
        }
        check_flags(input.flags)?;
        lint_env(input.env, &mut warnings);

        let mut settings = Settings::defaults();
        let mut global = Global {
            alert_when_silenced: false,
            alert_when_flapping: false,
            timezone_offset_minutes: 0,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
        };
        let mut host = HostSettings {
            deadline_ms: DEFAULT_DEADLINE_MS,
            spool_dir: None,
            ca_file: None,
            allow_http: false,
            dry_run: false,
            engine: "native".into(),
        };
        let mut raw = RawConnection::default();
        let mut origins = Origins::default();
        for k in KEYS.iter().filter(|k| k.kind != Kind::Profiles) {
            let given = layers(k, scope, input, &mut warnings);
            let mut chosen: Option<(Parsed, &Source<'_>)> = None;
            for (source, value) in &given {
                match (parse(k, value), &chosen) {
                    (Ok(v), None) => chosen = Some((v, source)),
                    (Ok(_), Some(_)) => {}
                    (Err(e), None) => return Err(bad_value(k, source, &e)),
                    (Err(e), Some((_, over))) => warnings.push(format!(
                        "{}: expected {}, got {}{} (ignored: {} takes precedence)",
                        source.label(),
                        e.expected,
                        e.got,
                        e.hint,
                        over.label()
                    )),
                }
            }
            let origin = match chosen {
                None => Origin::Default,
                Some((value, &Source { origin, .. })) => {
                    let applied = super::effective::apply_setting(&mut settings, k.name, value)
                        .or_else(|value| apply_global(&mut global, &mut host, k.name, value))
                        .or_else(|value| raw.set(k.name, value, origin));
                    if applied.is_err() {
                        return Err(ConfigError::new(format!("internal: `{}` parsed to an unexpected type", k.name)));
                    }
                    origin
                }
            };
            origins.insert(k.name, origin);
        }
        // Only a timeout someone set: the default's is cut to a shorter deadline silently.
        let timeout_set = origins.get("request_timeout").is_some_and(|o| *o != Origin::Default);
        if timeout_set && global.request_timeout_ms > host.deadline_ms {
            warnings.push(format!(
                "`request_timeout` ({} ms) is longer than `deadline` ({} ms): each request is cut to the time left",
                Decimal(global.request_timeout_ms),
                Decimal(host.deadline_ms)
            ));
        }

        let (connection, key_origin) = raw.resolve("", input.key_files, &mut warnings)?;
        if let Some(origin) = key_origin {
            origins.insert("api_key", origin);
        }
        if let (None, Some((_, origin))) = (&raw.endpoint, &raw.organization) {
            origins.insert("endpoint", *origin);
        }
        check_http(
            &connection,
            host.allow_http,
            "endpoint",
            origins.get("endpoint").copied().unwrap_or(Origin::Default),
        )?;

        let profiles = match scope.and_then(|s| s.get("profiles")).filter(|v| !v.is_null()) {
            None => Profiles::default(),
            Some(value) => {
                origins.insert("profiles", Origin::SettingsFile);
                super::profiles::load(value, &raw, input.key_files, host.allow_http, &mut warnings)?
            }
        };
        if origins.get("profiles").is_none() {
            origins.insert("profiles", Origin::Default);
        }
        if let Some(name) = settings.profile.as_ref().filter(|name| !profiles.contains_key(name)) {
            let origin = origins.get("profile").copied().unwrap_or(Origin::Default);
            let error = ConfigError::new(unknown_profile(&origin_label("profile", origin), name, &profiles));
            return Err(error.at_if_from_files("profile", origin));
        }

        if settings.severities.is_empty() {
            let label = origin_label("severities", origins.get("severities").copied().unwrap_or(Origin::Default));
            warnings.push(format!(
                "{label} is empty: no failure opens an incident or calls anyone (each is skipped); remove it to act on the default [critical]"
            ));
        }
        let handler = input.handler_name.unwrap_or(DEFAULT_HANDLER_NAME);
        let severities = match origins.get("severities") {
            Some(Origin::Default) | None => "default [critical]".to_owned(),
            _ => format!("configured [{}]", settings.severities.names()),
        };
        lint_handler(input.settings, handler, &severities, &mut warnings);

        Ok(Box::new(Config { settings, global, connection, profiles, host, origins, warnings }))
    }

    /// The key files the host must read and hand back in [`ConfigInput::key_files`]:
    /// the default connection's and every profile's, each once, sorted.
    pub fn key_files(&self) -> Vec<String> {
        let files: BTreeSet<&String> = core::iter::once(&self.connection)
            .chain(self.profiles.values().map(|p| &p.connection))
            .filter_map(|c| c.api_key_file.as_ref())
            .collect();
        files.into_iter().cloned().collect()
    }
}

/// "flag --profile" and so on, for a key whose value came from `origin` (what messages
/// say of where a setting was set).
pub fn origin_label(name: &str, origin: Origin) -> String {
    match origin {
        Origin::Flag => format!("flag --{}", crate::text::replace(name, "_", "-")),
        Origin::Environment => format!("environment variable {}", super::keys::env_var(name)),
        _ => format!("settings file `reactio.{name}`"),
    }
}

/// `"<where>: no profile x, did you mean y?; the profiles are a, b"`.
pub(crate) fn unknown_profile(label: &str, name: &str, profiles: &Profiles) -> String {
    if profiles.is_empty() {
        return format!(
            "{label}: profile `{name}` is not defined (no `reactio.profiles` are); define it or remove the setting"
        );
    }
    let hint = suggestion(name, profiles.keys().map(String::as_str));
    let mut all = String::new();
    for profile in profiles.keys() {
        crate::text::push_joined(&mut all, ", ", profile);
    }
    format!("{label}: profile `{name}` is not defined{hint}; the profiles are {all}")
}

fn apply_global(global: &mut Global, host: &mut HostSettings, name: &str, value: Parsed) -> Result<(), Parsed> {
    // By kind, then by name (as `apply_setting`).
    match value {
        Parsed::Bool(b) if name == "alert_when_silenced" => global.alert_when_silenced = b,
        Parsed::Bool(b) if name == "alert_when_flapping" => global.alert_when_flapping = b,
        Parsed::Offset(m) if name == "timezone_offset" => global.timezone_offset_minutes = m,
        Parsed::Millis(ms) if name == "request_timeout" => global.request_timeout_ms = ms,
        Parsed::Millis(ms) if name == "deadline" => host.deadline_ms = ms,
        Parsed::Text(p) if name == "spool_dir" => host.spool_dir = Some(p),
        Parsed::Text(p) if name == "ca_file" => host.ca_file = Some(p),
        Parsed::Bool(b) if name == "allow_http" => host.allow_http = b,
        Parsed::Bool(b) if name == "dry_run" => host.dry_run = b,
        Parsed::Choice(w) if name == "engine" => host.engine = w.to_owned(),
        value => return Err(value),
    }
    Ok(())
}

/// Check a profile's per-event setting, as a settings-file value.
pub(crate) fn check_profile_setting(k: &KeySpec, value: &Value, path: &str) -> Failed<()> {
    parse(k, value).map(|_| ()).map_err(|e| bad_value(k, &file_source(path), &e))
}
