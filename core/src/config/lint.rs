//! Lints of the raw input: unknown keys in `reactio` and unknown flags (errors),
//! unknown `REACTIO_*` variables and non-Sensu keys in `handlers.<name>` (warnings).

use crate::prelude::*;

use serde_json::{Map, Value};

use super::keys::{KEYS, spec};
use super::load::DEFAULT_HANDLER_NAME;
use super::*;

/// The handler attributes Sensu Classic knows (everything else there is ignored by Sensu).
const SENSU_HANDLER_KEYS: &[&str] = &[
    "type",
    "command",
    "severities",
    "filters",
    "filter",
    "mutator",
    "timeout",
    "handle_silenced",
    "handle_flapping",
    "subdue",
    "socket",
    "pipe",
    "handlers",
    "exchange",
];

pub(crate) fn check_scope_keys(scope: &Map<String, Value>) -> Failed<()> {
    let mut unknown = Vec::new();
    for name in scope.keys() {
        if spec(name).is_none() {
            unknown.push(name);
        }
    }
    // The problems, `; `-separated.
    let mut problems = String::new();
    for name in &unknown {
        let problem = match crate::did_you_mean(name, super::keys::names()) {
            Some(s) => format!("unknown key `{name}` in `reactio`, did you mean `{s}`?"),
            None if SENSU_HANDLER_KEYS.contains(&name.as_str()) => format!(
                "unknown key `{name}` in `reactio`: `{name}` is a sensu handler attribute, it belongs in `handlers.{DEFAULT_HANDLER_NAME}`"
            ),
            None => format!("unknown key `{name}` in `reactio`; the keys are listed in docs/configuration.md"),
        };
        crate::text::push_joined(&mut problems, "; ", &problem);
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut error = ConfigError::new(problems);
    for name in &unknown {
        error = error.at(name.as_str());
    }
    Err(error)
}

pub(crate) fn check_flags(flags: &dyn Strings) -> Failed<()> {
    for &name in &flags.names() {
        match spec(name) {
            Some(k) if k.flag => {}
            Some(k) => {
                return Err(ConfigError::new(format!("`{}` has no flag; set it in the settings file", k.name)));
            }
            // A JSON API host's `flags` written the command line's way: keyed by setting.
            None if spec(&crate::text::replace(name, "-", "_")).is_some() => {
                return Err(ConfigError::new(format!(
                    "unknown flag `{name}` in `flags`: flags are keyed by their setting's name, `{}`",
                    crate::text::replace(name, "-", "_")
                )));
            }
            None => {
                let mut flag_names = Vec::new();
                for k in KEYS.iter().filter(|k| k.flag) {
                    flag_names.push(k.flag_name());
                }
                let flag = crate::text::replace(name, "_", "-");
                let hint = crate::did_you_mean(&flag, flag_names.iter().map(String::as_str));
                let hint = crate::text::wrapped(hint, "; did you mean --", "?");
                return Err(ConfigError::new(format!("unknown flag --{flag}{hint}")));
            }
        }
    }
    Ok(())
}

pub(crate) fn lint_env(env: &dyn Strings, warnings: &mut Vec<String>) {
    let mut known = Vec::new();
    for k in KEYS.iter().filter(|k| k.flag) {
        known.push(k.env_var());
    }
    for &name in &env.names() {
        if !name.starts_with("REACTIO_") || known.iter().any(|k| k == name) {
            continue;
        }
        if name == "REACTIO_PROFILES" {
            warnings.push(
                "environment variable REACTIO_PROFILES is ignored: `profiles` can only be set in the settings file"
                    .into(),
            );
            continue;
        }
        let hint = crate::did_you_mean(name, known.iter().map(String::as_str));
        let hint = crate::text::wrapped(hint, " (did you mean ", "?)");
        warnings.push(format!("environment variable {name} is not a setting{hint}; ignored"));
    }
}

pub(crate) fn lint_handler(settings: &Value, handler: &str, severities: &str, warnings: &mut Vec<String>) {
    // Map lookups, not `Value::get` (`reactio::member` says why).
    let Some(Value::Object(definition)) =
        settings.as_object().and_then(|s| s.get("handlers")).and_then(Value::as_object).and_then(|h| h.get(handler))
    else {
        return;
    };
    let at = |name: &str| format!("`handlers.{handler}.{name}`");
    for name in definition.keys() {
        if SENSU_HANDLER_KEYS.contains(&name.as_str()) {
            continue;
        }
        let at = format!("{} is not a sensu key", at(name));
        let warning = match crate::did_you_mean(name, SENSU_HANDLER_KEYS.iter().copied()) {
            // The Ruby handler's documented typo: correcting it would hide results.
            Some("severities") => format!(
                "{at}: sensu ignores it, so every severity reaches the handler, as it should (it applies \
                 `reactio.severities`, {severities}, itself); delete the line rather than correct it, as a sensu \
                 `severities` filter would hide results the handler posts"
            ),
            Some(s) => format!("{at} (did you mean `{s}`?): sensu ignores it"),
            None if spec(name).is_some() => {
                format!(
                    "{at}: sensu ignores it and the handler reads its settings from `reactio`; move it to `reactio.{name}`"
                )
            }
            None => format!("{at}: sensu ignores it"),
        };
        warnings.push(warning);
    }
    let every = |v: &Value| {
        let items = v.as_array().map_or(&[][..], Vec::as_slice);
        ["ok", "warning", "critical", "unknown"].iter().all(|s| holds_word(items, s))
    };
    if definition.get("severities").is_some_and(|v| !every(v)) {
        warnings.push(format!(
            "{}: sensu drops the results of the severities it leaves out before the handler sees them (a \
             downgrade is then never posted); delete it and set `reactio.severities` instead",
            at("severities")
        ));
    }
    let names = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s == "occurrences",
        Some(Value::Array(a)) => holds_word(a, "occurrences"),
        _ => false,
    };
    for &key in &["filters", "filter"] {
        if !names(definition.get(key)) {
            continue;
        }
        warnings.push(format!(
            "{} names sensu's `occurrences` filter: it counts differently from the handler, which applies \
             `occurrences` and `refresh` itself; remove the filter",
            at(key)
        ));
    }
}

/// Whether `items` holds the string `word`: one loop for both lints above.
fn holds_word(items: &[Value], word: &str) -> bool {
    for item in items {
        if item.as_str() == Some(word) {
            return true;
        }
    }
    false
}
