//! The Sensu Go examples run the way sensu-backend runs a pipe handler: the Handler's
//! `command` through `/bin/sh -c`, with its `env_vars` and `secrets` as the environment,
//! on events made from the shipped CheckConfig and Entity resources (their annotations
//! are what the backend copies into the event).

use std::path::PathBuf;

use sensu_reactio_tests::standin::Config;
use serde_json::{Value, json};

use crate::support::*;

/// The handler's environment as the backend builds it: `env_vars`, each secret as a
/// variable (the key), and the asset's `bin/` on PATH. `replace` swaps variables the
/// test must point elsewhere (the spool directory of a real backend host).
fn backend_env(handler: &Value, replace: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = vec![("PATH".to_owned(), format!("{}:/usr/bin:/bin", path_str(&handler_dir())))];
    for entry in handler["spec"]["env_vars"].as_array().into_iter().flatten() {
        let (name, value) = entry.as_str().expect("NAME=value").split_once('=').expect("NAME=value");
        env.push((name.to_owned(), value.to_owned()));
    }
    for secret in handler["spec"]["secrets"].as_array().into_iter().flatten() {
        assert_eq!(secret["name"], "REACTIO_API_KEY", "the only secret is the key");
        env.push(("REACTIO_API_KEY".to_owned(), KEY.to_owned()));
    }
    for (name, value) in replace {
        env.retain(|(n, _)| n != name);
        env.push(((*name).to_owned(), value.clone()));
    }
    env
}

fn run_with(command: &str, cwd: &std::path::Path, env: &[(String, String)], event: &[u8]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    sh(command, cwd, &env, event)
}

/// The check's annotations as the agent's token substitution leaves them, for the raw
/// strings the examples use to escape templates: ``{{`X`}}`` becomes `X`.
fn agent_substituted(annotations: &Value) -> Value {
    let unescape = |text: &str| {
        let mut out = String::new();
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("{{`") {
            let (literal, tail) = after.split_once("`}}").expect("a closed raw string");
            out.push_str(before);
            out.push_str(literal);
            rest = tail;
        }
        out + rest
    };
    match annotations {
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (k.clone(), v.as_str().map_or(v.clone(), |s| Value::from(unescape(s))))).collect(),
        ),
        other => other.clone(),
    }
}

/// A Sensu Go event for `check` on `entity` with `statuses` as its history (the last is
/// the current result), carrying the resources' annotations as the backend does.
fn go_event(entity: &str, entity_annotations: &Value, check: &Value, statuses: &[u8]) -> Vec<u8> {
    let now = now();
    let status = *statuses.last().expect("a status");
    let n = i64::try_from(statuses.len()).expect("small");
    let history: Vec<Value> =
        statuses.iter().zip(0..).map(|(s, i)| json!({"status": s, "executed": now - 60 * (n - 1 - i)})).collect();
    let streak = statuses.iter().rev().take_while(|s| **s != 0).count();
    let event = json!({
        "timestamp": now,
        "entity": {
            "entity_class": "agent",
            "system": {"hostname": entity, "os": "linux", "arch": "amd64"},
            "metadata": {"name": entity, "namespace": "default", "annotations": entity_annotations},
        },
        "check": {
            "command": check["spec"]["command"], "interval": check["spec"]["interval"],
            "handlers": check["spec"]["handlers"], "status": status,
            "output": if status == 0 { "OK\n" } else { "CRITICAL: connection refused\n" },
            "state": if status == 0 { "passing" } else { "failing" },
            "occurrences": streak.max(1), "occurrences_watermark": streak.max(1),
            "is_silenced": false, "executed": now, "issued": now, "last_ok": now - 60 * i64::try_from(streak).unwrap_or(0),
            "history": history,
            "metadata": {"name": check["metadata"]["name"], "namespace": "default", "annotations": agent_substituted(&check["metadata"]["annotations"])},
        },
        "id": "0c5a3e0e-2f7d-4a55-bb0c-6d2b9a8f1e11",
    });
    event.to_string().into_bytes()
}

#[test]
fn the_shipped_handler_and_annotated_check_open_one_incident_as_annotated() {
    let standin = Config::default().api_key(KEY).start().expect("start the stand-in");
    let dir = scratch("go-handler");
    let spool = dir.join("spool");
    let handler = resource("examples/sensu-go/handler.yml", "Handler");
    let check = resource("examples/sensu-go/check-with-annotations.yml", "CheckConfig");
    let command = handler["spec"]["command"].as_str().expect("command");
    // Where a real backend reaches Reactio is https://demo.reactio.jp; here the stand-in.
    let env = backend_env(
        &handler,
        &[("REACTIO_ENDPOINT", standin.url()), ("REACTIO_SPOOL_DIR", path_str(&spool).to_owned())],
    );

    // The check's annotation asks for 3 failing results in a row (the default is 1).
    let first = run_with(command, &dir, &env, &go_event("db01", &json!({}), &check, &[0, 2]));
    assert_eq!(first.code, Some(0), "{}", first.all());
    assert!(standin.incidents().is_empty(), "occurrences 3 from the annotation: {}", first.all());

    let third = run_with(command, &dir, &env, &go_event("db01", &json!({}), &check, &[0, 2, 2, 2]));
    assert_eq!(third.code, Some(0), "{}", third.all());
    let incidents = standin.incidents();
    assert_eq!(incidents.len(), 1, "{:?}", standin.request_lines());
    let incident = &incidents[0];
    assert_eq!(incident.name, "default/db01/check_postgres CRITICAL: connection refused");
    assert_eq!(incident.topics, ["db", "postgres"]);
    assert_eq!(incident.create_body["notification_text"], "db01: PostgreSQL is down, please respond");
    assert_eq!(incident.create_body["notification_call"], true);
    assert!(third.stdout.contains("created incident"), "{}", third.stdout);

    // Recovery: `is_incident` lets it through; the handler closes the unattended incident.
    let ok = run_with(command, &dir, &env, &go_event("db01", &json!({}), &check, &[0, 2, 2, 2, 0]));
    assert_eq!(ok.code, Some(0), "{}", ok.all());
    assert_eq!(standin.incidents()[0].status, "close");
    for run in [&first, &third, &ok] {
        assert_no_key(run, &dir);
    }
}

/// The shipped settings file with its key-file paths pointed at scratch files holding
/// `KEY` (in production they are /etc/sensu/reactio*.key); every other value as shipped.
fn settings_with_scratch_keys(dir: &std::path::Path) -> PathBuf {
    let mut settings = read_json("examples/sensu-go/reactio-settings.json");
    let mut n = 0;
    let mut point = |slot: &mut Value| {
        if slot.get("api_key_file").is_some() {
            n += 1;
            let file = key_file(dir, &format!("key-{n}"));
            slot["api_key_file"] = json!(path_str(&file));
        }
    };
    point(&mut settings["reactio"]);
    for profile in settings["reactio"]["profiles"].as_object_mut().expect("profiles").values_mut() {
        point(profile);
    }
    assert_eq!(n, 3, "the default key and one per team");
    let path = dir.join("reactio.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

#[test]
fn the_shipped_profiles_route_each_team_to_its_own_project() {
    let dir = scratch("go-profiles");
    let handler = resource("examples/sensu-go/profiles.yml", "Handler");
    let entity = resource("examples/sensu-go/profiles.yml", "Entity");
    let check = resource("examples/sensu-go/profiles.yml", "CheckConfig");
    let settings = settings_with_scratch_keys(&dir);
    let command = handler["spec"]["command"].as_str().expect("command");
    assert!(command.contains("--config /etc/sensu/reactio.json"), "{command}");
    let command = command.replace("/etc/sensu/reactio.json", path_str(&settings));
    let env = backend_env(
        &handler,
        &[("REACTIO_DRY_RUN", "true".to_owned()), ("REACTIO_SPOOL_DIR", path_str(&dir.join("spool")).to_owned())],
    );
    let plain_check = json!({"metadata": {"name": "check_disk", "annotations": {}}, "spec": {"interval": 60}});
    let db_entity = entity["metadata"]["annotations"].clone();

    // db01's checks go to db-team (organization demo-db), whose profile acts on warnings.
    let db = run_with(&command, &dir, &env, &go_event("db01", &db_entity, &plain_check, &[0, 1]));
    assert_eq!(db.code, Some(0), "{}", db.all());
    assert!(db.stdout.contains("POST https://demo-db.reactio.jp/api/v1/incidents"), "{}", db.stdout);
    assert!(db.stdout.contains(r#""topics":["db"]"#), "{}", db.stdout);

    // check_http's own annotation (web-team) beats the entity's; web-team waits for 2.
    let web_once = run_with(&command, &dir, &env, &go_event("db01", &db_entity, &check, &[0, 2]));
    assert_eq!(web_once.code, Some(0), "{}", web_once.all());
    assert!(!web_once.stdout.contains("POST https://"), "web-team's occurrences 2: {}", web_once.stdout);
    let web = run_with(&command, &dir, &env, &go_event("db01", &db_entity, &check, &[0, 2, 2]));
    assert!(web.stdout.contains("POST https://demo-web.reactio.jp/api/v1/incidents"), "{}", web.stdout);
    assert!(web.stdout.contains(r#""topics":["web"]"#), "{}", web.stdout);

    // Neither: the default connection, which does not act on warnings.
    let other = run_with(&command, &dir, &env, &go_event("app01", &json!({}), &plain_check, &[0, 2]));
    assert!(other.stdout.contains("POST https://demo.reactio.jp/api/v1/incidents"), "{}", other.stdout);
    let other_warning = run_with(&command, &dir, &env, &go_event("app01", &json!({}), &plain_check, &[0, 1]));
    assert_eq!(other_warning.code, Some(0), "{}", other_warning.all());
    assert!(!other_warning.stdout.contains("POST https://"), "{}", other_warning.stdout);
    for run in [&db, &web_once, &web, &other, &other_warning] {
        assert_no_key(run, &dir);
    }
}

#[test]
fn the_shipped_check_spool_check_runs_with_its_env() {
    let dir = scratch("go-check-spool");
    let check = resource("examples/sensu-go/check-spool.yml", "CheckConfig");
    let command = check["spec"]["command"].as_str().expect("command");
    let handler = resource("examples/sensu-go/handler.yml", "Handler");
    // The check watches the directory the handler spools to.
    let spool_of = |v: &Value| -> Option<String> {
        v["spec"]["env_vars"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find_map(|e| e.strip_prefix("REACTIO_SPOOL_DIR=").map(str::to_owned))
    };
    assert_eq!(spool_of(&check), spool_of(&handler), "check-spool.yml and handler.yml name the same spool");
    assert!(spool_of(&check).is_some());
    let env = backend_env(&check, &[("REACTIO_SPOOL_DIR", path_str(&dir.join("spool")).to_owned())]);
    let run = run_with(command, &dir, &env, b"");
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("OK"), "{}", run.stdout);
}
