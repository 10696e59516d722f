//! Connections: the key (inline or from a key file the host read), organization and
//! endpoint of the default connection and of each profile, resolved and checked.

use crate::prelude::*;

use serde_json::Value;

use super::keys::KeySpec;
use super::load::{bad_value, file_source, origin_name};
use super::parse::{Parsed, parse};
use super::*;

/// The connection settings as given, before the key file and endpoint are resolved.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawConnection {
    pub(crate) api_key: Option<(Secret, Origin)>,
    pub(crate) api_key_file: Option<(String, Origin)>,
    pub(crate) organization: Option<(String, Origin)>,
    pub(crate) endpoint: Option<(Endpoint, Origin)>,
}

impl RawConnection {
    /// Set one connection setting; the value back when `name`/`value` is not one.
    pub(crate) fn set(&mut self, name: &str, value: Parsed, origin: Origin) -> Result<(), Parsed> {
        match (name, value) {
            ("api_key", Parsed::Secret(s)) => self.api_key = Some((s, origin)),
            ("api_key_file", Parsed::Text(p)) => self.api_key_file = Some((p, origin)),
            ("organization", Parsed::Text(o)) => self.organization = Some((o, origin)),
            ("endpoint", Parsed::Endpoint(e)) => self.endpoint = Some((*e, origin)),
            (_, value) => return Err(value),
        }
        Ok(())
    }

    /// The profile's own fields, each pair inherited from `base` when it sets neither.
    fn inherit(mut self, base: &RawConnection) -> RawConnection {
        if self.api_key.is_none() && self.api_key_file.is_none() {
            self.api_key = base.api_key.clone();
            self.api_key_file = base.api_key_file.clone();
        }
        if self.organization.is_none() && self.endpoint.is_none() {
            self.organization = base.organization.clone();
            self.endpoint = base.endpoint.clone();
        }
        self
    }

    /// Resolve the key (inline or from the key file's content) and the endpoint.
    pub(crate) fn resolve(
        &self,
        scope: &str,
        key_files: &dyn Strings,
        warnings: &mut Vec<String>,
    ) -> Failed<(Arc<Connection>, Option<Origin>)> {
        let (api_key, api_key_file, key_origin) = match (&self.api_key, &self.api_key_file) {
            (Some((_, ko)), Some((_, fo))) if ko == fo => {
                return Err(ConfigError::new(format!(
                    "both `{scope}api_key` and `{scope}api_key_file` are set in the {}; keep only one",
                    origin_name(*ko)
                ))
                .at(format!("{scope}api_key"))
                .at(format!("{scope}api_key_file")));
            }
            (Some((key, ko)), Some((_, fo))) if ko > fo => {
                warnings.push(format!(
                    "`{scope}api_key` ({}) takes precedence over `{scope}api_key_file` ({}), which is not read",
                    origin_name(*ko),
                    origin_name(*fo)
                ));
                (Some(key.clone()), None, Some(*ko))
            }
            (_, Some((path, fo))) => {
                let key = match key_files.value(path) {
                    None => None,
                    Some(content) if content.trim_ws().is_empty() => {
                        return Err(ConfigError::new(format!(
                            "the api key file `{path}` (`{scope}api_key_file`) is empty; write the api key into it"
                        )));
                    }
                    Some(content) => Some(Secret::new(content.trim_ws())),
                };
                (key, Some(path.clone()), Some(*fo))
            }
            (Some((key, ko)), None) => (Some(key.clone()), None, Some(*ko)),
            (None, None) => (None, None, None),
        };
        let endpoint = match (&self.endpoint, &self.organization) {
            (Some((e, _)), _) => e.clone(),
            (None, Some((org, _))) => Endpoint {
                scheme: "https".into(),
                authority: format!("{}.reactio.jp", org.to_ascii_lowercase()),
                base_path: String::new(),
            },
            (None, None) => Endpoint { scheme: "https".into(), authority: String::new(), base_path: String::new() },
        };
        let organization = self.organization.as_ref().map(|(o, _)| o.clone());
        Ok((Arc::new(Connection { organization, endpoint, api_key, api_key_file }), key_origin))
    }
}

impl Endpoint {
    /// `scheme://authority/base_path` (empty authority: not configured).
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

impl Connection {
    /// What still keeps this connection from sending anything, with the fix
    /// (`None`: organization or endpoint and an API key are all known).
    pub fn problem(&self) -> Option<String> {
        if self.endpoint.authority.is_empty() {
            return Some(
                "no reactio organization or endpoint is configured; set `reactio.organization` (REACTIO_ORGANIZATION, --organization)".into(),
            );
        }
        match &self.api_key {
            None => Some(match &self.api_key_file {
                Some(path) => format!("the api key file `{path}` was not read; check that it exists and is readable"),
                None => "no reactio api key is configured; set `reactio.api_key_file` or REACTIO_API_KEY".into(),
            }),
            // What an HTTP header can carry: visible ASCII, spaces and tabs.
            Some(key) if !key.expose().bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) => Some(
                "the api key holds characters an http header cannot carry (a newline, or a second line in its key file?); check api_key or api_key_file".into(),
            ),
            Some(_) => None,
        }
    }
}

/// Plain http only to loopback unless `allow_http`.
/// `path`: the endpoint's setting (`endpoint`, `profiles.a.endpoint`), and `origin`
/// where its value came from, for the message (and, from a settings file, for the host
/// to name the file).
pub(crate) fn check_http(connection: &Connection, allow_http: bool, path: &str, origin: Origin) -> Failed<()> {
    let e = &connection.endpoint;
    if e.scheme == "http" && !allow_http && !super::endpoint::is_loopback(&e.authority) {
        return Err(ConfigError::new(format!(
            "{}: {} is plain http to a host other than loopback, so the api key would travel unencrypted; use https, or set `allow_http: true` (REACTIO_ALLOW_HTTP, --allow-http) if you mean it",
            super::load::origin_label(path, origin),
            e.url()
        ))
        .at_if_from_files(path, origin));
    }
    Ok(())
}

/// Parse one profile field into a raw connection (used by `profiles`).
pub(crate) fn set_profile_connection(raw: &mut RawConnection, k: &KeySpec, value: &Value, path: &str) -> Failed<()> {
    let source = file_source(path);
    let parsed = parse(k, value).map_err(|e| bad_value(k, &source, &e))?;
    let _ = raw.set(k.name, parsed, Origin::SettingsFile);
    Ok(())
}

/// Resolve a profile's connection over the default one.
pub(crate) fn resolve_profile(
    own: RawConnection,
    base: &RawConnection,
    name: &str,
    key_files: &dyn Strings,
    allow_http: bool,
    warnings: &mut Vec<String>,
) -> Failed<Arc<Connection>> {
    let scope = format!("profiles.{name}.");
    let (connection, _) = own.inherit(base).resolve(&scope, key_files, warnings)?;
    if connection.endpoint.authority.is_empty() {
        return Err(ConfigError::new(format!(
            "profile `{name}` has no `organization` or `endpoint`, and neither has the default connection; set `reactio.profiles.{name}.organization`"
        )));
    }
    check_http(&connection, allow_http, &format!("profiles.{name}.endpoint"), Origin::SettingsFile)?;
    Ok(connection)
}
