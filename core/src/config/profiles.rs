//! `reactio.profiles`: named connections (key, organization, endpoint) with optional
//! per-event settings, validated at load so a routing typo is an error, not a lost alert.

use crate::prelude::*;

use alloc::collections::BTreeMap;

use serde_json::Value;

use super::connection::{RawConnection, resolve_profile, set_profile_connection};
use super::keys::{KEYS, spec};
use super::load::check_profile_setting;
use super::{ConfigError, Failed, Profile, Profiles, Strings};

/// The connection keys a profile may set.
const CONNECTION_KEYS: &[&str] = &["api_key", "api_key_file", "organization", "endpoint"];

/// Validate `reactio.profiles` into named profiles.
pub(crate) fn load(
    value: &Value,
    base: &RawConnection,
    key_files: &dyn Strings,
    allow_http: bool,
    warnings: &mut Vec<String>,
) -> Failed<Profiles> {
    let Value::Object(map) = value else {
        return Err(ConfigError::new(format!(
            "settings file `reactio.profiles`: expected an object of named profiles such as {{\"team-a\": {{\"organization\": \"a\"}}}}, got {}",
            super::parse::show(value, false)
        ))
        .at("profiles"));
    };
    // Pushed one by one, not `to_vec`: the `push` below is compiled in anyway.
    let mut allowed: Vec<&str> = Vec::new();
    for name in CONNECTION_KEYS {
        allowed.push(name);
    }
    for k in KEYS.iter().filter(|k| k.per_event && k.name != "profile") {
        allowed.push(k.name);
    }
    let mut profiles = Profiles::default();
    for (name, body) in map {
        if name.trim_ws().is_empty() || name.trim_ws() != name {
            return Err(ConfigError::new(format!(
                "settings file `reactio.profiles`: profile name {} is empty or has spaces around it; rename it",
                crate::text::quoted(name)
            )));
        }
        let Value::Object(fields) = body else {
            return Err(ConfigError::new(format!(
                "settings file `reactio.profiles.{name}`: expected an object such as {{\"organization\": \"a\", \"api_key_file\": \"/etc/sensu/a.key\"}}, got {}",
                super::parse::show(body, false)
            )));
        };
        let mut own = RawConnection::default();
        let mut settings = BTreeMap::new();
        for (key, raw) in fields.iter().filter(|(_, v)| !v.is_null()) {
            let path = format!("profiles.{name}.{key}");
            match spec(key) {
                Some(k) if CONNECTION_KEYS.contains(&k.name) => set_profile_connection(&mut own, k, raw, &path)?,
                Some(k) if allowed.contains(&k.name) => {
                    check_profile_setting(k, raw, &path)?;
                    settings.insert(key.clone(), crate::text::copy_json(raw));
                }
                Some(k) if k.name == "profile" => {
                    return Err(ConfigError::new(format!(
                        "settings file `reactio.{path}`: a profile cannot choose another profile; remove `profile` here"
                    ))
                    .at(path));
                }
                Some(k) => {
                    return Err(ConfigError::new(format!(
                            "settings file `reactio.{path}`: `{}` cannot be set per profile; set it at the top of `reactio`",
                            k.name
                        ))
                    .at(path));
                }
                None => {
                    let hint = crate::did_you_mean(key, allowed.iter().copied());
                    let hint = crate::text::wrapped(hint, ", did you mean `", "`?");
                    return Err(
                        ConfigError::new(format!("unknown key `{key}` in `reactio.profiles.{name}`{hint}")).at(path)
                    );
                }
            }
        }
        let connection = resolve_profile(own, base, name, key_files, allow_http, warnings)?;
        profiles.insert(name, Profile { connection, settings });
    }
    Ok(profiles)
}
