//! Which handler configuration keeps a spool entry, so handlers sharing one spool
//! directory (one per team, say) deliver only their own events.
//!
//! Two digests (64-bit FNV-1a, hex; no way back to the key): the *team* (the
//! handler-level profile and the lowercased organization of the connection it
//! selects) and the *route* (the team and that connection's API key). An entry carries
//! both. A run delivers an entry of its own route; an entry kept because of the key
//! itself (rejected or missing) carries only its team, so the team's handler delivers
//! it once the key is fixed; an entry kept when the configuration is unknown (settings
//! unreadable, a wrong command line) carries neither and is anyone's. `replay --adopt`
//! delivers every entry (also what a wrong organization left behind: stranded and
//! reported by `check-spool` rather than sent to another team's project). Superseding
//! (a delivered event retiring older entries for its check) works within a team, so a
//! rotated key does not keep stale alerts alive.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use sensu_reactio_core::{Config, Secret};

use crate::spool::Entry;

/// A handler configuration's identity for the spool.
#[derive(Clone, Debug)]
pub struct Route {
    /// Digest of profile and organization.
    pub team: String,
    /// Digest of profile, organization and API key.
    pub full: String,
    /// The configuration has its API key (`check-spool`, run as an agent's check,
    /// often has not: it can then tell other teams' entries only).
    keyed: bool,
    /// The configuration names its organization (`check-spool` may name none: with
    /// neither it nor the key, it cannot tell whose an entry is).
    organized: bool,
    /// The configuration names its organization or its endpoint ([`Route::addressed`]).
    addressed: bool,
    /// The configuration, for [`Route::settings`] (`None`: no settings recorded).
    config: Option<Arc<Config>>,
    /// The settings that shape what is sent, each as a digest of its value, made the
    /// first time an entry is kept or compared: a run that keeps nothing pays nothing.
    settings: OnceLock<BTreeMap<String, String>>,
}

/// Settings left out of the digest: the connection's (in the route), the host's own,
/// and `profiles` (routing; a change to another profile, or a profile's key file
/// found again, must not hold back the entries of this one).
const HOST_ONLY: &[&str] = &[
    "profiles",
    "api_key",
    "api_key_file",
    "organization",
    "endpoint",
    "ca_file",
    "allow_http",
    "deadline",
    "request_timeout",
    "spool_dir",
    "dry_run",
    "engine",
];

/// The digests of the settings that shape what is sent ([`Route::settings`]).
fn settings_of(config: &Config) -> BTreeMap<String, String> {
    let serde_json::Value::Object(described) = config.describe() else { return BTreeMap::new() };
    described
        .into_iter()
        .filter(|(name, _)| !HOST_ONLY.contains(&name.as_str()))
        .map(|(name, entry)| {
            let value = entry.get("value").map(serde_json::Value::to_string).unwrap_or_default();
            (name, digest(&[&value]))
        })
        .collect()
}

fn digest(parts: &[&str]) -> String {
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            digest = (digest ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{digest:016x}")
}

impl Route {
    /// The route of a loaded configuration: which Reactio project its events go to
    /// unless an event's own annotations choose a profile. Not the endpoint: it names a
    /// server, not a project (and moves, e.g. behind a proxy).
    pub fn of(config: &Config) -> Route {
        let profile = config.settings.profile.as_deref().unwrap_or_default();
        let connection = config.profiles.get(profile).map_or(&config.connection, |p| &p.connection);
        let organization = connection.organization.as_deref().unwrap_or_default().to_ascii_lowercase();
        let key = connection.api_key.as_ref().map(Secret::expose).unwrap_or_default();
        Route {
            team: digest(&[profile, &organization]),
            full: digest(&[profile, &organization, key]),
            keyed: connection.api_key.is_some(),
            organized: !organization.is_empty(),
            addressed: !organization.is_empty() || !connection.endpoint.authority.is_empty(),
            config: Some(Arc::new(config.clone())),
            settings: OnceLock::new(),
        }
    }

    /// The settings that shape what is sent, each as a digest of its value (what
    /// `replay` compares with the run that kept an entry: a replay without the
    /// handler's `call`, say, would create without the phone call).
    pub fn settings(&self) -> &BTreeMap<String, String> {
        self.settings.get_or_init(|| self.config.as_deref().map(settings_of).unwrap_or_default())
    }

    /// The settings (names) that `entry` was kept under with other values than this
    /// configuration's; none for an entry that recorded none.
    pub fn settings_differ(&self, entry: &Entry) -> Vec<String> {
        let Some(kept) = &entry.settings else { return Vec::new() };
        let own = self.settings();
        let names: std::collections::BTreeSet<&String> = kept.keys().chain(own.keys()).collect();
        names.into_iter().filter(|name| kept.get(*name) != own.get(*name)).cloned().collect()
    }

    /// Mark `entry` as kept by this configuration; `key_problem`: kept because the key
    /// was rejected or missing (then any handler of the team may deliver it).
    pub fn stamp(&self, entry: &mut Entry, key_problem: bool) {
        entry.settings = Some(self.settings().clone());
        entry.route = (!key_problem).then(|| self.full.clone());
        entry.team = Some(self.team.clone());
    }

    /// Whether the configuration says where its events go (an organization or an
    /// endpoint): an entry kept with neither is sent, once the organization is set,
    /// only by `replay --adopt` (a team's identity includes its organization).
    pub fn addressed(&self) -> bool {
        self.addressed
    }

    /// Whether a run of this configuration delivers `entry` (`adopt`: any).
    pub fn delivers(&self, entry: &Entry, adopt: bool) -> bool {
        adopt
            || match (&entry.route, &entry.team) {
                (Some(route), _) => *route == self.full,
                (None, Some(team)) => *team == self.team,
                (None, None) => true,
            }
    }

    /// Whether this configuration's runs leave `entry` for another, as far as it can
    /// tell: by the whole route when it has its key, else by team (profile and
    /// organization) when it has its organization, else not at all (a `check-spool`
    /// given only the spool's directory must not call the handler's own entries
    /// another configuration's).
    pub fn leaves(&self, entry: &Entry) -> bool {
        match (self.keyed, self.organized) {
            (true, _) => !self.delivers(entry, false),
            (false, true) => entry.team.as_ref().is_some_and(|team| *team != self.team),
            (false, false) => false,
        }
    }

    /// Whether an event delivered by this configuration supersedes `entry`'s kind for
    /// its check (same team, whatever the key; or an entry of no team).
    pub fn supersedes(&self, entry: &Entry) -> bool {
        entry.team.as_ref().is_none_or(|team| *team == self.team)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(route: Option<&str>, team: Option<&str>) -> Entry {
        Entry {
            version: 1,
            event: "{}".into(),
            key: "k".into(),
            recovery: false,
            passing: false,
            received_at: 1,
            received_ns: None,
            attempts: 1,
            last_error: None,
            route: route.map(str::to_owned),
            team: team.map(str::to_owned),
            handler_failures: 0,
            unconfirmed_create_ms: None,
            notified_incident: None,
            cut_short: false,
            last_attempt_at: None,
            settings: None,
        }
    }

    /// Team `t`, route `r`, knowing its key and its organization or not.
    fn route(keyed: bool, organized: bool) -> Route {
        Route {
            team: "t".into(),
            full: "r".into(),
            keyed,
            organized,
            addressed: organized,
            config: None,
            settings: OnceLock::new(),
        }
    }

    #[test]
    fn a_run_delivers_its_own_its_teams_key_problems_and_the_unmarked() {
        let ours = route(true, true);
        assert!(ours.delivers(&entry(Some("r"), Some("t")), false));
        assert!(!ours.delivers(&entry(Some("other"), Some("t")), false), "another key of the team");
        assert!(ours.delivers(&entry(None, Some("t")), false), "kept for a key problem");
        assert!(!ours.delivers(&entry(None, Some("u")), false), "another team's key problem");
        assert!(ours.delivers(&entry(None, None), false));
        assert!(ours.delivers(&entry(Some("other"), Some("u")), true), "adopt");
        assert!(ours.supersedes(&entry(Some("other"), Some("t"))));
        assert!(!ours.supersedes(&entry(Some("other"), Some("u"))));
    }

    #[test]
    fn a_configuration_tells_others_entries_only_as_far_as_it_knows_itself() {
        let another_key = entry(Some("other"), Some("t"));
        let another_team = entry(Some("other"), Some("u"));
        assert!(route(true, true).leaves(&another_key) && route(true, true).leaves(&another_team));
        assert!(!route(false, true).leaves(&another_key) && route(false, true).leaves(&another_team));
        // Only the spool's directory (the shipped Sensu Go check): no guess at whose.
        assert!(!route(false, false).leaves(&another_key) && !route(false, false).leaves(&another_team));
    }

    #[test]
    fn digests_differ_by_part_and_ignore_organization_case() {
        assert_ne!(digest(&["a", "b"]), digest(&["ab", ""]));
        assert_eq!(digest(&["p", "demo"]), digest(&["p", &"Demo".to_ascii_lowercase()]));
    }
}
