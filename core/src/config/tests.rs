//! Tests of loading, precedence, profiles, key files, `describe` and per-event overrides.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use crate::prelude::*;

use alloc::collections::BTreeMap;

use serde_json::{Value, json};

use super::keys::KEYS;
use super::*;

fn input(settings: Value) -> ConfigInput {
    ConfigInput { settings, ..ConfigInput::default() }
}

fn with(settings: Value, env: &[(&str, &str)], flags: &[(&str, &str)]) -> ConfigInput {
    ConfigInput {
        settings,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        flags: flags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..ConfigInput::default()
    }
}

fn load(settings: Value) -> Config {
    Config::load(&input(settings)).unwrap()
}

fn error(i: &ConfigInput) -> String {
    Config::load(i).unwrap_err().message
}

fn layer(origin: Origin, values: Value) -> OverrideLayer {
    let Value::Object(map) = values else { panic!("layer values must be an object") };
    OverrideLayer { origin, values: map.into_iter().collect() }
}

const SEED: &str = r#"{
  "reactio": { "api_key": "seed-key-0123", "organization": "demo" },
  "handlers": {
    "reactio": {
      "type": "pipe",
      "command": "/etc/sensu/handlers/reactio_handler.rb",
      "serverities": ["critical"]
    }
  }
}"#;

#[test]
fn no_settings_gives_the_defaults() {
    let c = Config::load(&ConfigInput::default()).unwrap();
    assert_eq!(c.settings, Settings::defaults());
    assert_eq!(c.host.deadline_ms, 8000);
    assert_eq!(c.global.request_timeout_ms, 3000);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.origins.len(), KEYS.len());
    assert!(c.origins.values().all(|o| *o == Origin::Default));
    assert!(c.connection.problem().unwrap().contains("reactio.organization"));
    assert!(c.key_files().is_empty());
}

#[test]
fn documented_defaults_are_the_built_in_ones() {
    // Giving every key its documented default as a flag changes nothing but origins.
    let flags: Vec<(&str, &str)> = KEYS
        .iter()
        .filter(|k| k.flag && !k.default.is_empty() && !matches!(k.name, "endpoint" | "spool_dir"))
        .map(|k| (k.name, k.default))
        .collect();
    let mut given = Config::load(&with(Value::Null, &[], &flags)).unwrap();
    let defaults = Config::load(&ConfigInput::default()).unwrap();
    assert!(given.origins.values().any(|o| *o == Origin::Flag));
    given.origins = defaults.origins.clone();
    assert_eq!(given, defaults);
}

#[test]
fn precedence_flag_then_env_then_file_then_default() {
    let file = json!({"reactio": {"occurrences": 2}});
    let c = Config::load(&with(file.clone(), &[("REACTIO_OCCURRENCES", "3")], &[("occurrences", "4")])).unwrap();
    assert_eq!((c.settings.occurrences, c.origins["occurrences"]), (4, Origin::Flag));
    let c = Config::load(&with(file.clone(), &[("REACTIO_OCCURRENCES", "3")], &[])).unwrap();
    assert_eq!((c.settings.occurrences, c.origins["occurrences"]), (3, Origin::Environment));
    let c = Config::load(&with(file, &[], &[])).unwrap();
    assert_eq!((c.settings.occurrences, c.origins["occurrences"]), (2, Origin::SettingsFile));
    let c = load(Value::Null);
    assert_eq!((c.settings.occurrences, c.origins["occurrences"]), (1, Origin::Default));
}

#[test]
fn every_flag_key_loads_from_env_and_flags() {
    let samples: BTreeMap<&str, &str> = [
        ("api_key", "k"),
        ("api_key_file", "/k"),
        ("organization", "demo"),
        ("endpoint", "https://x.example"),
        ("ca_file", "/ca.pem"),
        ("allow_http", "yes"),
        ("deadline", "0.5"),
        ("request_timeout", "0.25"),
        ("spool_dir", "/var/spool"),
        ("dry_run", "1"),
        ("engine", "WASM"),
        ("severities", "critical,unknown"),
        ("call", "[\"critical\"]"),
        ("occurrences", "3"),
        ("refresh", "0"),
        ("reconcile", "60"),
        ("max_renotify", "2"),
        ("call_on_renotify", "false"),
        ("close_on_resolve", "never"),
        ("topics", "db,web"),
        ("notification_text", "{{.Key}} is down"),
        ("name_template", "{{.Key}}"),
        ("message_template", "{{.Check.Output}}"),
        ("alert_when_silenced", "TRUE"),
        ("alert_when_flapping", "no"),
        ("timezone_offset", "+09:00"),
    ]
    .into_iter()
    .collect();
    for k in KEYS.iter().filter(|k| k.flag && k.name != "profile") {
        let raw = samples.get(k.name).unwrap_or_else(|| panic!("no sample for {}", k.name));
        let var = k.env_var();
        // api_key and api_key_file from the same layer conflict; test them one at a time.
        let c = Config::load(&with(Value::Null, &[(var.as_str(), raw)], &[])).unwrap();
        assert_eq!(c.origins[k.name], Origin::Environment, "{}", k.name);
        let c = Config::load(&with(Value::Null, &[], &[(k.name, raw)])).unwrap();
        assert_eq!(c.origins[k.name], Origin::Flag, "{}", k.name);
    }
    let all: Vec<(&str, &str)> = samples.iter().filter(|(k, _)| **k != "api_key").map(|(k, v)| (*k, *v)).collect();
    let c = Config::load(&with(Value::Null, &[], &all)).unwrap();
    assert_eq!(c.host.deadline_ms, 500);
    assert_eq!(c.global.request_timeout_ms, 250);
    assert_eq!(c.global.timezone_offset_minutes, 540);
    assert_eq!(c.settings.refresh, 0);
    assert_eq!(c.settings.close_on_resolve, CloseOnResolve::Never);
    assert_eq!(c.settings.topics, ["db", "web"]);
    assert!(c.global.alert_when_silenced && !c.global.alert_when_flapping && c.host.allow_http && c.host.dry_run);
    assert_eq!(c.connection.endpoint.authority, "x.example");
    assert_eq!(c.host.engine, "wasm");
}

#[test]
fn bad_values_name_the_key_the_source_and_the_fix() {
    let e = error(&input(json!({"reactio": {"occurrences": "abc"}})));
    assert_eq!(
        e,
        "settings file `reactio.occurrences`: expected a count (a whole number, at least 1), got \"abc\"; fix the value or remove it to use the default (`1`)"
    );
    let e = error(&with(Value::Null, &[("REACTIO_DEADLINE", "soon")], &[]));
    assert!(e.starts_with("environment variable REACTIO_DEADLINE: expected a number of seconds"), "{e}");
    let e = error(&with(Value::Null, &[], &[("close_on_resolve", "allways")]));
    assert!(e.starts_with("flag --close-on-resolve: expected one of unattended, always, never"), "{e}");
    assert!(e.contains("did you mean `always`?"), "{e}");
    let e = error(&input(json!({"reactio": {"severities": ["critcal"]}})));
    assert!(e.contains("got `critcal`; did you mean `critical`?"), "{e}");
    let e = error(&input(json!({"reactio": {"timezone_offset": "JST"}})));
    assert!(e.contains("`+09:00`"), "{e}");
    let e = error(&input(json!({"reactio": {"organization": "demo.reactio.jp"}})));
    assert!(e.contains("organization name"), "{e}");
    assert!(error(&input(json!({"reactio": [1]}))).contains("`reactio` settings scope must be an object"));
    assert!(error(&input(json!([1]))).contains("must be a json object"));
}

#[test]
fn a_bad_value_under_a_better_one_only_warns() {
    let c = Config::load(&with(json!({"reactio": {"refresh": "often"}}), &[("REACTIO_REFRESH", "600")], &[])).unwrap();
    assert_eq!(c.settings.refresh, 600);
    assert!(
        c.warnings.iter().any(|w| w.contains("`reactio.refresh`") && w.contains("REACTIO_REFRESH takes precedence")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn bad_templates_are_errors_at_load() {
    let e = error(&input(json!({"reactio": {"name_template": "{{.Check.Name}} on {{.Key}}"}})));
    assert!(e.contains("starting with `{{.Key}}`"), "{e}");
    let e = error(&input(json!({"reactio": {"message_template": "{{.Check.Outptu}}"}})));
    assert!(e.starts_with("settings file `reactio.message_template`"), "{e}");
    assert!(e.contains("did you mean `{{.Check.Output}}`"), "{e}");
}

#[test]
fn unknown_keys_are_errors_with_did_you_mean() {
    assert_eq!(
        error(&input(json!({"reactio": {"severites": ["critical"]}}))),
        "unknown key `severites` in `reactio`, did you mean `severities`?"
    );
    let e = error(&input(json!({"reactio": {"command": "x"}})));
    assert!(e.contains("belongs in `handlers.reactio`"), "{e}");
    let e = error(&with(Value::Null, &[], &[("ocurrences", "2")]));
    assert_eq!(e, "unknown flag --ocurrences; did you mean --occurrences?");
    assert!(error(&with(Value::Null, &[], &[("profiles", "{}")])).contains("has no flag"));
}

#[test]
fn the_seed_settings_load_with_the_serverities_warning() {
    let c = load(serde_json::from_str(SEED).unwrap());
    assert_eq!(
        c.warnings,
        [
            "`handlers.reactio.serverities` is not a sensu key: sensu ignores it, so every severity reaches the handler, as it should (it applies `reactio.severities`, default [critical], itself); delete the line rather than correct it, as a sensu `severities` filter would hide results the handler posts"
        ]
    );
    assert_eq!(c.connection.api_key.as_ref().map(Secret::expose), Some("seed-key-0123"));
    assert_eq!(c.connection.endpoint.url(), "https://demo.reactio.jp");
    assert_eq!(c.origins["endpoint"], Origin::SettingsFile);
    assert_eq!(c.connection.problem(), None);
}

#[test]
fn sensu_filters_that_hide_results_from_the_handler_are_warned_about() {
    let c = load(json!({
        "reactio": {"api_key": "k", "organization": "demo"},
        "handlers": {"reactio": {"type": "pipe", "command": "x", "severities": ["critical"], "filters": ["occurrences"], "filter": "occurrences"}}
    }));
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings[0].starts_with("`handlers.reactio.severities`: sensu drops the results"), "{:?}", c.warnings);
    assert!(
        c.warnings[1].starts_with("`handlers.reactio.filters` names sensu's `occurrences` filter"),
        "{:?}",
        c.warnings
    );
    assert!(c.warnings[2].starts_with("`handlers.reactio.filter` names"), "{:?}", c.warnings);
    let c = load(json!({
        "reactio": {"api_key": "k", "organization": "demo"},
        "handlers": {"reactio": {"type": "pipe", "command": "x", "filters": ["production"]}}
    }));
    assert_eq!(c.warnings, Vec::<String>::new());
    let c = load(json!({
        "reactio": {"api_key": "k", "organization": "demo"},
        "handlers": {"reactio": {"type": "pipe", "command": "x", "severities": ["ok", "warning", "critical", "unknown"]}}
    }));
    assert_eq!(c.warnings, Vec::<String>::new(), "every severity: nothing is hidden");
}

#[test]
fn the_documented_example_loads_cleanly() {
    let c = load(serde_json::from_str(super::keys::EXAMPLE_CLASSIC).unwrap());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.key_files(), ["/etc/sensu/reactio-db.key", "/etc/sensu/reactio.key"]);
    let over = vec![layer(Origin::CheckReactio, json!({"profile": "db-team"}))];
    let (eff, w) = c.effective(&over);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        (eff.connection.endpoint.authority.as_str(), eff.settings.topics.as_slice()),
        ("demo-db.reactio.jp", &["db".to_owned()][..])
    );
}

#[test]
fn handler_lint_follows_the_handler_name_and_spots_our_keys() {
    let settings = json!({"handlers": {"rx": {"type": "pipe", "api_key": "x", "timout": 5, "weird": 1}}});
    let c = Config::load(&ConfigInput { handler_name: Some("rx".into()), ..input(settings.clone()) }).unwrap();
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("move it to `reactio.api_key`"));
    assert!(c.warnings[1].contains("`handlers.rx.timout`") && c.warnings[1].contains("did you mean `timeout`?"));
    assert!(c.warnings[2].ends_with("sensu ignores it"));
    assert!(!c.warnings.concat().contains("\"x\""));
    assert!(load(settings).warnings.is_empty());
}

#[test]
fn unknown_and_empty_environment_variables_warn() {
    let c = Config::load(&with(
        Value::Null,
        &[("REACTIO_OCCURENCES", "3"), ("REACTIO_PROFILES", "{}"), ("REACTIO_TOPICS", " ")],
        &[],
    ))
    .unwrap();
    assert_eq!(
        c.warnings,
        [
            "environment variable REACTIO_OCCURENCES is not a setting (did you mean REACTIO_OCCURRENCES?); ignored",
            "environment variable REACTIO_PROFILES is ignored: `profiles` can only be set in the settings file",
            "environment variable REACTIO_TOPICS is set but empty; ignored",
        ]
    );
}

#[test]
fn endpoints_and_plain_http() {
    let c = load(json!({"reactio": {"organization": "Demo", "endpoint": "http://127.0.0.1:9000/base/"}}));
    assert_eq!(
        c.connection.endpoint,
        Endpoint { scheme: "http".into(), authority: "127.0.0.1:9000".into(), base_path: "/base".into() }
    );
    assert_eq!(load(json!({"reactio": {"organization": "Demo"}})).connection.endpoint.authority, "demo.reactio.jp");
    let e = error(&input(json!({"reactio": {"endpoint": "http://proxy.example"}})));
    assert!(e.contains("plain http") && e.contains("allow_http"), "{e}");
    assert!(
        Config::load(&input(json!({"reactio": {"endpoint": "http://proxy.example", "allow_http": "true"}}))).is_ok()
    );
    // Names that only look local may resolve anywhere: the key would go there in
    // clear. The gateways and the JS package have no other check than this one.
    for looks_local in ["http://127.0.0.1.nip.example", "http://127.attacker.example:80", "http://app.localhost"] {
        let e = error(&input(json!({"reactio": {"endpoint": looks_local}})));
        assert!(e.contains("plain http to a host other than loopback"), "{looks_local}: {e}");
    }
    for local in ["http://localhost:4567", "http://127.1.2.3", "http://[::1]:9000"] {
        assert!(Config::load(&input(json!({"reactio": {"endpoint": local}}))).is_ok(), "{local}");
    }
    let e = error(&input(json!({"reactio": {"endpoint": "https://me:pa55word@x.example"}})));
    assert!(!e.contains("pa55word") && e.contains("user info"), "{e}");
}

#[test]
fn key_files_round_trip() {
    let settings = json!({"reactio": {
        "organization": "demo",
        "api_key_file": "/etc/sensu/reactio.key",
        "profiles": {
            "db": {"organization": "db", "api_key_file": "/etc/sensu/db.key"},
            "web": {"organization": "web"}
        }
    }});
    let first = load(settings.clone());
    assert_eq!(first.key_files(), ["/etc/sensu/db.key", "/etc/sensu/reactio.key"]);
    assert!(first.connection.api_key.is_none());
    assert!(first.connection.problem().unwrap().contains("/etc/sensu/reactio.key"));
    let mut second = input(settings.clone());
    second.key_files = BTreeMap::from([("/etc/sensu/reactio.key".to_owned(), " main-key\n".to_owned())]);
    let c = Config::load(&second).unwrap();
    assert_eq!(c.connection.api_key.as_ref().map(Secret::expose), Some("main-key"));
    assert_eq!(
        c.profiles["web"].connection.api_key.as_ref().map(Secret::expose),
        Some("main-key"),
        "inherits the default key"
    );
    assert!(c.profiles["db"].connection.api_key.is_none(), "its own file was not handed back");
    assert_eq!(c.origins["api_key"], Origin::SettingsFile);
    second.key_files.insert("/etc/sensu/db.key".into(), "\n".into());
    let e = error(&second);
    assert!(e.contains("`/etc/sensu/db.key`") && e.contains("is empty"), "{e}");
}

#[test]
fn api_key_against_api_key_file() {
    let c = Config::load(&with(json!({"reactio": {"api_key_file": "/k"}}), &[("REACTIO_API_KEY", "from-env")], &[]))
        .unwrap();
    assert_eq!(c.connection.api_key.as_ref().map(Secret::expose), Some("from-env"));
    assert!(c.key_files().is_empty());
    assert!(c.warnings.iter().any(|w| w.contains("takes precedence over `api_key_file`")), "{:?}", c.warnings);
    let e = error(&input(json!({"reactio": {"api_key": "x", "api_key_file": "/k"}})));
    assert!(e.contains("keep only one"), "{e}");
}

#[test]
fn profiles_are_validated_and_selected() {
    let base = json!({"reactio": {"organization": "demo", "api_key": "k0", "profile": "db", "profiles": {
        "db": {"organization": "db-team", "api_key": "k1", "occurrences": 3}
    }}});
    let c = load(base);
    assert_eq!(c.settings.profile.as_deref(), Some("db"));
    assert_eq!(c.profiles["db"].connection.endpoint.authority, "db-team.reactio.jp");
    let (eff, w) = c.effective(&Vec::new());
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(eff.connection.api_key.as_ref().map(Secret::expose), Some("k1"));
    assert_eq!(eff.settings.occurrences, 3);

    let e = error(&with(json!({"reactio": {"profiles": {"db": {"organization": "x"}}}}), &[], &[("profile", "dbs")]));
    assert!(e.starts_with("flag --profile: profile `dbs` is not defined; did you mean `db`?"), "{e}");
    let e = error(&input(json!({"reactio": {"profiles": {"db": {"organisation": "x"}}}})));
    assert_eq!(e, "unknown key `organisation` in `reactio.profiles.db`, did you mean `organization`?");
    let e = error(&input(json!({"reactio": {"profiles": {"db": {"deadline": 3}}}})));
    assert!(e.contains("cannot be set per profile"), "{e}");
    let e = error(&input(json!({"reactio": {"profiles": {"db": {"organization": "x", "occurrences": 0}}}})));
    assert!(e.starts_with("settings file `reactio.profiles.db.occurrences`"), "{e}");
    let e = error(&input(json!({"reactio": {"profiles": {"db": {"api_key": "x"}}}})));
    assert!(e.contains("no `organization` or `endpoint`"), "{e}");
    assert!(
        error(&input(json!({"reactio": {"profiles": {"db": {"profile": "x"}}}})))
            .contains("cannot choose another profile")
    );
}

#[test]
fn secrets_never_leave() {
    let secret = "Sup3r-S3cret-Key";
    let c = Config::load(&with(
        json!({"reactio": {"organization": "demo", "profiles": {"p": {"api_key": secret}}}}),
        &[("REACTIO_API_KEY", secret)],
        &[],
    ))
    .unwrap();
    assert!(!format!("{c:?}").contains(secret));
    let mut i = with(
        json!({"reactio": {"api_key": secret, "profiles": {"p": {"api_key": secret}}}}),
        &[("REACTIO_API_KEY", secret), ("REACTIO_ORGANIZATION", "demo")],
        &[("api_key", secret)],
    );
    i.key_files.insert("/k".into(), secret.into());
    let shown = format!("{i:?}");
    assert!(!shown.contains(secret) && shown.contains("demo") && shown.contains("/k"), "{shown}");
    assert!(!serde_json::to_string(&c).unwrap().contains(secret));
    let described = c.describe().to_string();
    assert!(!described.contains(secret), "{described}");
    assert_eq!(c.describe()["api_key"]["value"], "********");
    assert_eq!(c.describe()["profiles"]["value"]["p"]["api_key"], "********");
    let e = error(&input(json!({"reactio": {"api_key": [secret]}})));
    assert!(!e.contains(secret) && e.contains("`reactio.api_key`"), "{e}");
    let over = vec![layer(Origin::CheckAnnotation, json!({"api_key": secret, "api_kye": secret}))];
    let (_, w) = c.effective(&over);
    assert_eq!(w.len(), 2);
    assert!(!w.concat().contains(secret), "{w:?}");
}

#[test]
fn describe_is_complete_and_ordered() {
    let c =
        Config::load(&with(json!({"reactio": {"organization": "demo"}}), &[("REACTIO_DEADLINE", "0.5")], &[])).unwrap();
    let d = c.describe();
    let obj = d.as_object().unwrap();
    assert_eq!(obj.len(), KEYS.len());
    assert_eq!(d["deadline"], json!({"value": 0.5, "origin": "environment"}));
    assert_eq!(d["endpoint"], json!({"value": "https://demo.reactio.jp", "origin": "settings_file"}));
    assert_eq!(d["api_key"], json!({"value": null, "origin": "default"}));
    assert_eq!(d["severities"]["value"], json!(["critical"]));
    assert_eq!(d["timezone_offset"]["value"], "UTC");
    assert_eq!(d["close_on_resolve"]["value"], "unattended");
    assert_eq!(d.to_string(), c.clone().describe().to_string());
}

#[test]
fn request_timeout_longer_than_deadline_warns() {
    let c = Config::load(&with(Value::Null, &[], &[("deadline", "2"), ("request_timeout", "3")])).unwrap();
    assert!(c.warnings[0].contains("longer than `deadline`"), "{:?}", c.warnings);
}

mod effective {
    use super::*;

    fn configured() -> Config {
        load(json!({"reactio": {"organization": "demo", "occurrences": 3, "profiles": {
            "db": {"organization": "db", "refresh": 60, "topics": ["db"]}
        }}}))
    }

    #[test]
    fn no_overrides_is_the_configuration() {
        let c = configured();
        let (eff, w) = c.effective(&Vec::new());
        assert!(w.is_empty());
        assert_eq!(eff.settings, c.settings);
        assert_eq!(eff.connection, c.connection);
        assert_eq!(eff.global, c.global);
    }

    #[test]
    fn layers_apply_highest_first() {
        let over = vec![
            layer(Origin::CheckAnnotation, json!({"occurrences": "7"})),
            layer(Origin::EntityAnnotation, json!({"occurrences": "6", "refresh": "120"})),
            layer(Origin::CheckReactio, json!({"occurrences": 5, "refresh": 90, "topics": ["a"]})),
            layer(Origin::CheckAttribute, json!({"occurrences": 4, "refresh": 30, "max_renotify": 1})),
        ];
        let (eff, w) = configured().effective(&over);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((eff.settings.occurrences, eff.settings.refresh), (7, 120));
        assert_eq!(eff.settings.topics, ["a"]);
        let (eff, _) = configured().effective(&over[2..].to_vec());
        assert_eq!((eff.settings.occurrences, eff.settings.refresh), (5, 90));
        let (eff, _) = configured().effective(&over[3..].to_vec());
        assert_eq!((eff.settings.occurrences, eff.settings.max_renotify), (4, 1));
    }

    #[test]
    fn only_the_allowlist_may_be_overridden() {
        let over = vec![layer(Origin::CheckAnnotation, json!({"endpoint": "https://evil.example", "occurences": "2"}))];
        let (eff, w) = configured().effective(&over);
        assert_eq!(eff.connection.endpoint.authority, "demo.reactio.jp");
        assert_eq!(eff.settings.occurrences, 3);
        assert_eq!(
            w,
            [
                "check annotation sets `endpoint`, which events may not override; ignored (set it in the handler's settings)",
                "check annotation sets `occurences`, which is not a setting (did you mean `occurrences`?); ignored",
            ]
        );
    }

    #[test]
    fn a_bad_override_keeps_the_configured_value() {
        let over = vec![
            layer(Origin::CheckAnnotation, json!({"occurrences": "abc", "name_template": "{{.Check.Name}}"})),
            layer(Origin::CheckReactio, json!({"severities": "critical,warnng"})),
        ];
        let (eff, w) = configured().effective(&over);
        assert_eq!(eff.settings.occurrences, 3);
        assert_eq!(eff.settings.name_template.source(), DEFAULT_NAME_TEMPLATE);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().any(|l| l.starts_with("check annotation `occurrences` = \"abc\" is not a count")
            && l.ends_with("; using the configured 3")));
        assert!(w.iter().any(|l| l.starts_with("check `reactio` object `severities` = `warnng` is not severities")
            && l.contains("did you mean `warning`?")
            && l.ends_with("using the configured [\"critical\"]")));
        assert!(w.iter().any(|l| l.starts_with("check annotation `name_template`")));
    }

    #[test]
    fn a_bad_value_below_a_good_one_still_warns_but_the_good_one_wins() {
        let over = vec![
            layer(Origin::CheckAnnotation, json!({"occurrences": "2"})),
            layer(Origin::EntityAnnotation, json!({"occurrences": "x"})),
        ];
        let (eff, w) = configured().effective(&over);
        assert_eq!(eff.settings.occurrences, 2);
        assert_eq!(
            w,
            [
                "entity annotation `occurrences` = \"x\" is not a count (a whole number, at least 1); using the configured 2"
            ]
        );
    }

    #[test]
    fn profile_by_annotation_brings_its_connection_and_settings() {
        let over = vec![layer(Origin::CheckAnnotation, json!({"profile": "db", "topics": "x"}))];
        let (eff, w) = configured().effective(&over);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(eff.settings.profile.as_deref(), Some("db"));
        assert_eq!(eff.connection.endpoint.authority, "db.reactio.jp");
        assert_eq!(eff.settings.refresh, 60, "the profile's layer applies");
        assert_eq!(eff.settings.topics, ["x"], "the event beats the profile");
        assert_eq!(eff.settings.occurrences, 3, "the rest stays configured");
    }

    #[test]
    fn an_unknown_profile_warns_and_uses_the_default_connection() {
        let over = vec![layer(Origin::EntityAnnotation, json!({"profile": "dbs"}))];
        let (eff, w) = configured().effective(&over);
        assert_eq!(eff.settings.profile, None);
        assert_eq!(eff.connection.endpoint.authority, "demo.reactio.jp");
        assert_eq!(
            w,
            [
                "entity annotation `profile` = \"dbs\" is not a defined profile (did you mean `db`?); using the default connection"
            ]
        );
    }
}

#[test]
fn a_misspelt_scope_gets_a_did_you_mean() {
    let config = Config::load(&input(json!({"reactoi": {"organization": "demo"}, "redis": {}}))).unwrap();
    assert!(
        config.warnings.iter().any(|w| w.contains("a `reactoi` one, which is not read: did you mean `reactio`?")),
        "{:?}",
        config.warnings
    );
    let config = Config::load(&input(json!({"redis": {}, "api": {}}))).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn a_request_timeout_over_the_deadline_is_warned_about_only_when_set() {
    let warnings = |flags: &[(&str, &str)]| Config::load(&with(Value::Null, &[], flags)).unwrap().warnings;
    assert_eq!(warnings(&[("deadline", "2")]), Vec::<String>::new(), "the default timeout is cut silently");
    assert_eq!(
        warnings(&[("deadline", "2"), ("request_timeout", "3")]),
        ["`request_timeout` (3000 ms) is longer than `deadline` (2000 ms): each request is cut to the time left"]
    );
}

#[test]
fn flags_written_the_command_lines_way_name_the_key_to_use() {
    let err = Config::load(&with(Value::Null, &[], &[("dry-run", "true")])).unwrap_err();
    assert_eq!(err.message, "unknown flag `dry-run` in `flags`: flags are keyed by their setting's name, `dry_run`");
    let err = Config::load(&with(Value::Null, &[], &[("dry_rn", "true")])).unwrap_err();
    assert!(err.message.starts_with("unknown flag --dry-rn"), "{}", err.message);
}

#[test]
fn empty_severities_load_with_a_warning_that_nothing_will_be_acted_on() {
    let c = load(json!({"reactio": {"organization": "demo", "severities": []}}));
    assert!(c.settings.severities.is_empty());
    let warning = c.warnings.iter().find(|w| w.contains("is empty")).expect("a warning");
    assert!(
        warning.starts_with("settings file `reactio.severities` is empty: no failure opens an incident"),
        "{warning}"
    );
    let c = Config::load(&with(json!({}), &[("REACTIO_SEVERITIES", "[]")], &[])).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.starts_with("environment variable REACTIO_SEVERITIES is empty")),
        "{:?}",
        c.warnings
    );
    assert!(!load(json!({"reactio": {"severities": ["warning"]}})).warnings.iter().any(|w| w.contains("is empty")));
}

#[test]
fn range_messages_state_the_range() {
    let e = error(&with(json!({}), &[], &[("deadline", "1e300")]));
    assert!(e.contains("expected a number of seconds from 0.001 to 1e9 (fractions allowed), got \"1e300\""), "{e}");
    let e = error(&with(json!({}), &[], &[("refresh", "-5")]));
    assert!(e.contains("expected a whole number of seconds from 0 to 1e9, got \"-5\""), "{e}");
    let e = error(&input(json!({"reactio": {"api_key": ""}})));
    assert!(e.contains("got an empty string"), "{e}");
    let e = error(&input(json!({"reactio": {"api_key": ["k"]}})));
    assert!(e.contains("got an array (not shown)"), "{e}");
}
