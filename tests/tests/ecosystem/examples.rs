//! Every shipped example parses, names only settings the handler knows (checked against
//! the core's key table, so a renamed setting fails here), and follows the Sensu rules
//! of `decisions.md`: Classic handlers set `handle_silenced`/`handle_flapping`, Go
//! handlers use the `is_incident` filter only, timeouts exceed the handler's deadline.

use std::collections::BTreeSet;
use std::path::Path;

use sensu_reactio_core::ANNOTATION_PREFIX;
use sensu_reactio_core::config::keys::{KEYS, KeySpec, spec};
use serde_json::Value;

use crate::support::*;

/// Every example file, relative to the repository root.
fn example_files() -> Vec<String> {
    let root = repo();
    files_under(&root.join("examples"))
        .iter()
        .map(|p| p.strip_prefix(&root).expect("under the repo").to_string_lossy().into_owned())
        .collect()
}

/// Every example as JSON values (one per YAML document).
fn all_documents() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    for file in example_files() {
        if file.ends_with(".json") {
            docs.push((file.clone(), read_json(&file)));
        } else if file.ends_with(".yml") || file.ends_with(".yaml") {
            docs.extend(read_yaml(&file).into_iter().map(|d| (file.clone(), d)));
        }
    }
    docs
}

/// Calls `f` for every object in `value`, depth first.
fn walk<'a>(value: &'a Value, f: &mut impl FnMut(&'a serde_json::Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            map.values().for_each(|child| walk(child, f));
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, f)),
        _ => {}
    }
}

/// Settings a profile may hold (docs/configuration.md, `profiles`).
fn allowed_in_profile(name: &str) -> bool {
    matches!(name, "api_key" | "api_key_file" | "organization" | "endpoint")
        || spec(name).is_some_and(|s| s.per_event && s.name != "profile")
}

/// The default deadline in seconds, from the key table.
fn default_deadline() -> f64 {
    spec("deadline").expect("deadline is a setting").default.parse().expect("deadline default is a number")
}

fn env_var_known(name: &str) -> bool {
    KEYS.iter().filter(|k| k.flag).any(|k| k.env_var() == name)
}

#[test]
fn every_example_parses_and_there_are_the_expected_ones() {
    let files = example_files();
    for expected in [
        "examples/events/classic-critical.json",
        "examples/events/classic-resolve.json",
        "examples/events/go-critical.json",
        "examples/sensu-go/handler.yml",
        "examples/sensu-go/check-with-annotations.yml",
        "examples/sensu-go/profiles.yml",
        "examples/sensu-go/reactio-settings.json",
        "examples/sensu-go/check-spool.yml",
        "examples/sensu-classic/conf.d/reactio.json",
        "examples/sensu-classic/conf.d/check_http.json",
        "examples/sensu-classic/conf.d/check_spool.json",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} is missing from examples/");
    }
    for file in &files {
        assert!(
            // .toml (Spin) and .capnp (workerd) are the gateway examples, run by the gateway tests.
            [".json", ".yml", ".yaml", ".md", ".toml", ".capnp"].iter().any(|ext| file.ends_with(ext)),
            "{file}: unexpected kind of example file"
        );
    }
    // Parsing happens here; a YAML file without its leading comment fails too.
    let parsed = files.iter().filter(|f| [".json", ".yml", ".yaml"].iter().any(|ext| f.ends_with(ext))).count();
    assert!(all_documents().len() >= parsed);
}

#[test]
fn every_setting_name_in_the_examples_is_in_the_key_table() {
    let mut annotations = 0;
    let mut scopes = 0;
    let mut env_vars = 0;
    for (file, doc) in all_documents() {
        walk(&doc, &mut |map| {
            for (key, value) in map {
                if let Some(name) = key.strip_prefix(ANNOTATION_PREFIX) {
                    annotations += 1;
                    let spec = spec(name).unwrap_or_else(|| panic!("{file}: annotation {key}: no setting `{name}`"));
                    assert!(spec.per_event, "{file}: `{name}` cannot be set per event; the handler would ignore {key}");
                    assert!(value.is_string(), "{file}: {key}: Sensu annotation values are strings (quote it)");
                }
            }
            for (key, value) in map {
                if key == "env_vars" {
                    for entry in value.as_array().expect("env_vars is a list") {
                        let entry = entry.as_str().expect("env_vars entries are NAME=value strings");
                        let (name, _) = entry.split_once('=').expect("NAME=value");
                        env_vars += 1;
                        assert!(env_var_known(name), "{file}: {name} is not one of the handler's variables");
                    }
                }
                if key == "secrets" {
                    for secret in value.as_array().expect("secrets is a list") {
                        let name = secret["name"].as_str().expect("secret name");
                        assert!(env_var_known(name), "{file}: secret {name} is not one of the handler's variables");
                    }
                }
            }
        });
    }
    for (file, doc) in all_documents() {
        let mut scope_list: Vec<(String, &serde_json::Map<String, Value>, bool)> = Vec::new();
        if let Some(scope) = doc.get("reactio").and_then(Value::as_object) {
            scope_list.push(("reactio".to_owned(), scope, false));
        }
        for (name, check) in doc.get("checks").and_then(Value::as_object).into_iter().flatten() {
            if let Some(scope) = check.get("reactio").and_then(Value::as_object) {
                scope_list.push((format!("checks.{name}.reactio"), scope, true));
            }
        }
        for (at, scope, per_event_only) in scope_list {
            scopes += 1;
            for name in scope.keys() {
                let spec = spec(name).unwrap_or_else(|| panic!("{file}: `{at}.{name}` is not a setting"));
                assert!(!per_event_only || spec.per_event, "{file}: `{at}.{name}` cannot be overridden by a check");
            }
            if let Some(Value::Object(profiles)) = scope.get("profiles") {
                for (profile, settings) in profiles {
                    let settings = settings.as_object().expect("a profile is an object");
                    for name in settings.keys() {
                        assert!(allowed_in_profile(name), "{file}: profile {profile}: `{name}` is not allowed");
                    }
                }
            }
        }
    }
    assert!(annotations >= 8, "the Go examples show annotation overrides ({annotations} found)");
    assert!(scopes >= 3, "the Classic examples and the Go settings file have `reactio` scopes ({scopes} found)");
    assert!(env_vars >= 4, "the Go examples use REACTIO_* variables ({env_vars} found)");
    // The table itself: a setting that only a settings file may hold is `profiles`.
    let no_flag: Vec<&KeySpec> = KEYS.iter().filter(|k| !k.flag).collect();
    assert!(no_flag.iter().all(|k| k.name == "profiles"));
}

#[test]
fn every_handler_command_in_the_examples_is_accepted_by_the_handler() {
    // `--help` after the command's own arguments: clap rejects an unknown flag or
    // subcommand before it prints help, so exit 0 means every argument is known.
    let dir = scratch("commands");
    let path = format!("{}:/usr/bin:/bin", path_str(&handler_dir()));
    let mut commands = BTreeSet::new();
    for (file, doc) in all_documents() {
        walk(&doc, &mut |map| {
            if let Some(Value::String(command)) = map.get("command")
                && command.starts_with("sensu-reactio-handler")
            {
                commands.insert((file.clone(), command.clone()));
            }
        });
    }
    assert!(commands.len() >= 5, "{commands:?}");
    assert!(commands.iter().filter(|(_, c)| c.contains("check-spool")).count() >= 2, "check-spool for both flavours");
    for (file, command) in &commands {
        let run = sh(&format!("{command} --help"), &dir, &[("PATH", &path)], b"");
        assert_eq!(run.code, Some(0), "{file}: `{command}` is refused:\n{}", run.all());
    }
}

#[test]
fn classic_handler_definition_lets_sensu_deliver_every_recovery() {
    let settings = read_json("examples/sensu-classic/conf.d/reactio.json");
    let handler = &settings["handlers"]["reactio"];
    assert_eq!(handler["type"], "pipe");
    assert_eq!(handler["handle_silenced"], true, "else Sensu never delivers a silenced check's resolve");
    assert_eq!(handler["handle_flapping"], true, "else Sensu never delivers a flapping check's resolve");
    assert!(handler["timeout"].as_f64().expect("timeout") > default_deadline());
    for sensu_filter in ["filters", "filter", "severities", "serverities"] {
        assert!(handler.get(sensu_filter).is_none(), "the handler filters by itself; no `{sensu_filter}`");
    }
    assert!(settings["reactio"].get("api_key").is_none(), "the example keeps the key in a file");
}

#[test]
fn go_handlers_use_only_is_incident_and_outlast_the_deadline() {
    let mut handlers = 0;
    for file in ["examples/sensu-go/handler.yml", "examples/sensu-go/profiles.yml"] {
        let handler = resource(file, "Handler");
        handlers += 1;
        let spec = &handler["spec"];
        assert_eq!(spec["type"], "pipe", "{file}");
        assert_eq!(spec["filters"], serde_json::json!(["is_incident"]), "{file}: not_silenced would drop recoveries");
        let timeout = spec["timeout"].as_f64().expect("timeout");
        assert!(
            timeout > default_deadline(),
            "{file}: timeout {timeout} must exceed the {} s deadline",
            default_deadline()
        );
        assert_eq!(spec["runtime_assets"], serde_json::json!(["sensu-reactio/sensu-reactio-handler"]), "{file}");
    }
    assert_eq!(handlers, 2);
    // The key comes from a secret, defined in the same file, never inline.
    let handler = resource("examples/sensu-go/handler.yml", "Handler");
    let secret = resource("examples/sensu-go/handler.yml", "Secret");
    let refs = handler["spec"]["secrets"].as_array().expect("secrets");
    assert!(refs.iter().any(|s| s["name"] == "REACTIO_API_KEY" && s["secret"] == secret["metadata"]["name"]));
    let env = handler["spec"]["env_vars"].as_array().expect("env_vars");
    assert!(env.iter().all(|e| !e.as_str().unwrap_or("").starts_with("REACTIO_API_KEY")));
    // The asset name the handlers need is the one the build script's Asset defines.
    let script = std::fs::read_to_string(repo_path("packaging/build-asset.sh")).expect("build script");
    assert!(script.contains("name: sensu-reactio/sensu-reactio-handler"));
}

#[test]
fn every_example_event_goes_through_a_dry_run() {
    let dir = scratch("events");
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let path = format!("{}:/usr/bin:/bin", path_str(&handler_dir()));
    let events: Vec<String> = example_files().into_iter().filter(|f| f.starts_with("examples/events/")).collect();
    assert!(events.len() >= 3);
    for event in &events {
        let body = std::fs::read(repo_path(event)).unwrap();
        let command = format!("sensu-reactio-handler --dry-run --organization demo --config {}", path_str(&empty));
        let run = sh(&command, &dir, &[("PATH", &path), ("REACTIO_SPOOL_DIR", path_str(&dir.join("spool")))], &body);
        assert_eq!(run.code, Some(0), "{event}:\n{}", run.all());
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        let key = if parsed.get("client").is_some() { "web01/check_http" } else { "default/web01/check_http" };
        assert!(run.stdout.contains(key), "{event}: {}", run.stdout);
        if parsed["check"]["status"] == 2 {
            assert!(run.stdout.contains("would create an incident"), "{event}: {}", run.stdout);
        }
    }
    assert!(!Path::new(&dir.join("spool")).join("dead").exists(), "nothing dead-lettered by a dry run");
}

#[test]
fn the_install_docs_link_only_to_files_that_exist() {
    let docs =
        ["docs/sensu-go.md", "docs/sensu-classic.md", "docs/migration-from-ruby-handler.md", "examples/README.md"];
    let mut links = 0;
    for doc in docs {
        let path = repo_path(doc);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let base = path.parent().expect("a folder");
        for target in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            if target.starts_with("http") {
                continue;
            }
            links += 1;
            assert!(base.join(target).exists(), "{doc}: the link ({target}) points nowhere");
        }
    }
    assert!(links >= 10, "{links} links checked");
    // The migration note names the typo'd key the seed's settings carry.
    let migration = std::fs::read_to_string(repo_path("docs/migration-from-ruby-handler.md")).unwrap();
    assert!(migration.contains("serverities"));
}
