//! Loading: defaults, settings file `reactio` scope, environment, flags -> [`Config`].
//! (Minimal placeholder: defaults only. The full loader replaces this file.)

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::template::Template;

/// The seed handler's broadcast text ("please respond").
pub const DEFAULT_NOTIFICATION_TEXT: &str = "対応をお願いします";
/// Default incident name: the key, then the check output.
pub const DEFAULT_NAME_TEMPLATE: &str = "{{.Key}} {{.Check.Output}}";
/// Default timeline message for an event.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "<b>{{.Severity}}</b> {{.Key}} at {{.Time}}<br>{{.Check.Output}}";

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
            severities: BTreeSet::from([crate::Severity::Critical]),
            call: BTreeSet::new(),
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

impl Config {
    /// Validate the gathered settings into one value.
    pub fn load(_input: &ConfigInput) -> Result<Config, ConfigError> {
        Ok(Config {
            settings: Settings::defaults(),
            global: Global { alert_when_silenced: false, alert_when_flapping: false, timezone_offset_minutes: 0, request_timeout_ms: 3000 },
            connection: Connection {
                organization: None,
                endpoint: Endpoint { scheme: "https".into(), authority: "example.reactio.jp".into(), base_path: String::new() },
                api_key: None,
                api_key_file: None,
            },
            profiles: BTreeMap::new(),
            host: HostSettings { deadline_ms: 8000, spool_dir: None, ca_file: None, allow_http: false, dry_run: false },
            origins: BTreeMap::new(),
            warnings: Vec::new(),
        })
    }

    /// The key files the host must read and hand back in [`ConfigInput::key_files`].
    pub fn key_files(&self) -> Vec<String> {
        Vec::new()
    }

    /// The settings in force for one event: its override layers applied over the
    /// configured values (allowlist only; bad values warn and keep the configured one).
    pub fn effective(&self, _overrides: &Overrides) -> (Effective, Vec<String>) {
        (Effective { settings: self.settings.clone(), global: self.global.clone(), connection: self.connection.clone() }, Vec::new())
    }
}
