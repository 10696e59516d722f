//! [`Config::effective`]: the settings in force for one event. The event's override
//! layers (allowlist only) and the chosen profile's settings are applied over the
//! configured values; a bad or forbidden override warns and never loses the alert.

use crate::prelude::*;

use serde_json::Value;

use super::keys::{KEYS, spec};
use super::load::origin_name;
use super::parse::{Parsed, parse, show, suggestion};
use super::*;

/// Set one per-event setting; the value back when `name`/`value` is not one (for the
/// next setter to try: no copy of it is made).
pub(crate) fn apply_setting(s: &mut Settings, name: &str, value: Parsed) -> Result<(), Parsed> {
    // By kind, then by name: each name is compared only against its kind's settings.
    match value {
        Parsed::Text(p) if name == "profile" => s.profile = Some(p),
        Parsed::Severities(v) if name == "severities" => s.severities = v,
        Parsed::Severities(v) if name == "call" => s.call = v,
        Parsed::Count(n) if name == "occurrences" => s.occurrences = n,
        Parsed::Count(n) if name == "max_renotify" => s.max_renotify = n,
        Parsed::Millis(ms) if name == "refresh" => s.refresh = ms / 1000,
        Parsed::Millis(ms) if name == "reconcile" => s.reconcile = ms / 1000,
        Parsed::Bool(b) if name == "call_on_renotify" => s.call_on_renotify = b,
        Parsed::Choice(w) if name == "close_on_resolve" => {
            s.close_on_resolve = match w {
                "always" => CloseOnResolve::Always,
                "never" => CloseOnResolve::Never,
                _ => CloseOnResolve::Unattended,
            }
        }
        Parsed::List(v) if name == "topics" => s.topics = v,
        Parsed::Template(t) if name == "notification_text" => s.notification_text = t,
        Parsed::Template(t) if name == "name_template" => s.name_template = t,
        Parsed::Template(t) if name == "message_template" => s.message_template = t,
        value => return Err(value),
    }
    Ok(())
}

/// A per-event setting's value as JSON (templates as their source).
pub(crate) fn setting_value(s: &Settings, name: &str) -> Value {
    let list = |set: &crate::severity::SeveritySet| {
        let mut names = Vec::new();
        for severity in crate::severity::SeveritySet::ORDER {
            if set.contains(&severity) {
                names.push(Value::from(severity.name()));
            }
        }
        Value::Array(names)
    };
    match name {
        "profile" => s.profile.clone().map_or(Value::Null, Value::from),
        "severities" => list(&s.severities),
        "call" => list(&s.call),
        "occurrences" => s.occurrences.into(),
        "refresh" => s.refresh.into(),
        "reconcile" => s.reconcile.into(),
        "max_renotify" => s.max_renotify.into(),
        "call_on_renotify" => s.call_on_renotify.into(),
        "close_on_resolve" => match s.close_on_resolve {
            // As it serializes (snake_case), without serde_json's value serializer.
            CloseOnResolve::Unattended => "unattended".into(),
            CloseOnResolve::Always => "always".into(),
            CloseOnResolve::Never => "never".into(),
        },
        "topics" => {
            // Pushed one by one: `Value::from(Vec<String>)` collects, more wasm code.
            let mut topics = Vec::new();
            for topic in &s.topics {
                topics.push(Value::from(topic.as_str()));
            }
            Value::Array(topics)
        }
        "notification_text" => s.notification_text.source().into(),
        "name_template" => s.name_template.source().into(),
        "message_template" => s.message_template.source().into(),
        _ => Value::Null,
    }
}

fn layer_name(origin: Origin) -> &'static str {
    origin_name(origin)
}

/// A bad override, reported once the value in force is known.
struct Bad {
    origin: Origin,
    key: &'static str,
    got: String,
    expected: String,
    hint: String,
}

impl Config {
    /// The settings in force for one event: its override layers (highest precedence
    /// first) applied over the chosen profile's settings and the configured values.
    /// Keys outside the allowlist, unknown keys and bad values are ignored with a
    /// warning (never showing a value of a key that is not per-event).
    pub fn effective(&self, overrides: &Overrides) -> (Effective, Vec<String>) {
        let mut warnings = Vec::new();
        let effective = self.effective_boxed(overrides, &mut warnings);
        (*effective, warnings)
    }

    /// [`Config::effective`] boxed, as the machine keeps it (moved as a pointer).
    pub(crate) fn effective_boxed(&self, overrides: &Overrides, warnings: &mut Vec<String>) -> Box<Effective> {
        let mut valid: Vec<(&'static str, Parsed)> = Vec::new();
        let mut bad: Vec<Bad> = Vec::new();
        let mut profile_choice: Option<(Origin, String)> = None;
        for layer in overrides {
            let at = layer_name(layer.origin);
            for (key, raw) in layer.values.iter().filter(|(_, v)| !v.is_null()) {
                let Some(k) = spec(key) else {
                    let hint = crate::did_you_mean(key, KEYS.iter().filter(|k| k.per_event).map(|k| k.name));
                    let hint = crate::text::wrapped(hint, " (did you mean `", "`?)");
                    warnings.push(format!("{at} sets `{key}`, which is not a setting{hint}; ignored"));
                    continue;
                };
                if !k.per_event {
                    warnings.push(format!(
                        "{at} sets `{key}`, which events may not override; ignored (set it in the handler's settings)"
                    ));
                    continue;
                }
                match parse(k, raw) {
                    Ok(Parsed::Text(name)) if k.name == "profile" => {
                        if self.profiles.contains_key(&name) {
                            profile_choice.get_or_insert((layer.origin, name));
                        } else {
                            let hint = suggestion(&name, self.profiles.keys().map(String::as_str));
                            bad.push(Bad {
                                origin: layer.origin,
                                key: k.name,
                                got: show(raw, false),
                                expected: "a defined profile".into(),
                                hint,
                            });
                        }
                    }
                    Ok(value) => valid.push((k.name, value)),
                    Err(e) => bad.push(Bad {
                        origin: layer.origin,
                        key: k.name,
                        got: e.got,
                        expected: e.expected,
                        hint: e.hint,
                    }),
                }
            }
        }

        let mut settings = self.settings.clone();
        let chosen = profile_choice.map(|(_, name)| name).or_else(|| settings.profile.clone());
        let profile = chosen.as_ref().and_then(|name| self.profiles.get(name).map(|p| (name, p)));
        settings.profile = profile.map(|(name, _)| name.clone());
        if let Some((name, p)) = profile {
            for (key, raw) in &p.settings {
                let applied = match spec(key).map(|k| parse(k, raw)) {
                    Some(Ok(value)) => apply_setting(&mut settings, key, value).is_ok(),
                    _ => false,
                };
                if !applied {
                    warnings.push(format!("profile `{name}`: `{key}` could not be applied; ignored"));
                }
            }
        }
        // Last first, so the highest-precedence layer's value is applied last.
        while let Some((key, value)) = valid.pop() {
            let _ = apply_setting(&mut settings, key, value);
        }
        for b in &bad {
            let using = match b.key {
                "profile" => match &settings.profile {
                    Some(name) => format!("using the configured profile `{name}`"),
                    None => "using the default connection".into(),
                },
                key => format!("using the configured {}", crate::text::show_json(&setting_value(&settings, key))),
            };
            let hint = b.hint.strip_prefix("; ").map_or(b.hint.clone(), |h| format!(" ({h})"));
            warnings.push(format!(
                "{} `{}` = {} is not {}{hint}; {using}",
                layer_name(b.origin),
                b.key,
                b.got,
                b.expected
            ));
        }

        let connection = profile.map_or_else(|| self.connection.clone(), |(_, p)| p.connection.clone());
        Box::new(Effective { settings, global: self.global.clone(), connection })
    }
}
