//! [`Config::describe`]: every setting's value in force and where it came from, for
//! `check-config`. Secrets are shown as `********`; keys are in a fixed order.

use crate::prelude::*;

use alloc::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::effective::setting_value;
use super::keys::KEYS;
use super::parse::show_offset;
use super::*;
use crate::step::MASK;

fn seconds(ms: u64) -> Value {
    if ms.is_multiple_of(1000) { Value::from(ms / 1000) } else { Value::from(ms as f64 / 1000.0) }
}

fn connection(c: &Connection) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("api_key".into(), c.api_key.as_ref().map_or(Value::Null, |_| MASK.into()));
    out.insert("api_key_file".into(), c.api_key_file.clone().into());
    out.insert("organization".into(), c.organization.clone().into());
    out.insert("endpoint".into(), if c.endpoint.authority.is_empty() { Value::Null } else { c.endpoint.url().into() });
    out
}

impl Config {
    /// The settings in force, one entry per key of [`KEYS`]:
    /// `{"<key>": {"value": ..., "origin": "settings_file"}}`. The API key is never
    /// shown (`"********"` when set, `null` when not); profiles show their connection
    /// (masked the same way) and their settings.
    pub fn describe(&self) -> Value {
        let conn = connection(&self.connection);
        let mut out = Map::new();
        for k in KEYS {
            let value = match k.name {
                "api_key" | "api_key_file" | "organization" | "endpoint" => {
                    conn.get(k.name).map(crate::text::copy_json).unwrap_or(Value::Null)
                }
                "ca_file" => self.host.ca_file.clone().into(),
                "allow_http" => self.host.allow_http.into(),
                "deadline" => seconds(self.host.deadline_ms),
                "request_timeout" => seconds(self.global.request_timeout_ms),
                "spool_dir" => self.host.spool_dir.clone().into(),
                "dry_run" => self.host.dry_run.into(),
                "engine" => self.host.engine.clone().into(),
                "alert_when_silenced" => self.global.alert_when_silenced.into(),
                "alert_when_flapping" => self.global.alert_when_flapping.into(),
                "timezone_offset" => show_offset(self.global.timezone_offset_minutes).into(),
                "profiles" => Value::Object(
                    self.profiles
                        .iter()
                        .map(|(name, p)| {
                            let mut entry = connection(&p.connection);
                            entry.insert("settings".into(), Value::Object(p.settings.clone().into_iter().collect()));
                            (name.clone(), Value::Object(entry))
                        })
                        .collect(),
                ),
                name => setting_value(&self.settings, name),
            };
            let origin = self.origins.get(k.name).copied().unwrap_or(Origin::Default);
            out.insert(k.name.to_owned(), json!({ "value": value, "origin": origin }));
        }
        Value::Object(out)
    }
}

/// `settings` with `reactio.api_key` and every `reactio.profiles.*.api_key` masked.
fn masked_settings(settings: &Value) -> Value {
    let mut copy = settings.clone();
    if let Some(scope) = copy.get_mut("reactio").and_then(Value::as_object_mut) {
        mask_key(scope);
        if let Some(profiles) = scope.get_mut("profiles").and_then(Value::as_object_mut) {
            profiles.values_mut().filter_map(Value::as_object_mut).for_each(mask_key);
        }
    }
    copy
}

fn mask_key(object: &mut Map<String, Value>) {
    if let Some(key) = object.get_mut("api_key") {
        *key = MASK.into();
    }
}

impl core::fmt::Debug for ConfigInput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let env: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), if k == "REACTIO_API_KEY" { MASK } else { v.as_str() }))
            .collect();
        let key_files: BTreeMap<&str, &str> = self.key_files.keys().map(|k| (k.as_str(), MASK)).collect();
        let flags: BTreeMap<&str, &str> =
            self.flags.iter().map(|(k, v)| (k.as_str(), if k == "api_key" { MASK } else { v.as_str() })).collect();
        f.debug_struct("ConfigInput")
            .field("settings", &masked_settings(&self.settings))
            .field("env", &env)
            .field("flags", &flags)
            .field("handler_name", &self.handler_name)
            .field("key_files", &key_files)
            .finish()
    }
}
