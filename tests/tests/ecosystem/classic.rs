//! The Sensu Classic examples run the way sensu-server runs a pipe handler: the
//! handler definition's `command` through `/bin/sh -c`, the server's working directory
//! (unrelated), a minimal environment, settings only through `SENSU_LOADED_TEMPFILE`
//! naming the server's config.json and exactly the shipped conf.d files.

use std::path::{Path, PathBuf};

use sensu_reactio_tests::standin::Config;
use serde_json::{Value, json};

use crate::support::*;

const CONF_D: [&str; 3] = ["reactio.json", "check_http.json", "check_spool.json"];

/// A sensu-server set-up in a scratch directory: its config.json (where Reactio is: the
/// stand-in; where the spool is), the loaded-files list, a working directory, and the
/// environment the server passes on (PATH to the handler, the key file's path).
struct Server {
    dir: sensu_reactio_tests::process::Scratch,
    cwd: PathBuf,
    spool: PathBuf,
    loaded: PathBuf,
    key_file: PathBuf,
    path: String,
}

impl Server {
    fn new(name: &str, endpoint: &str) -> Server {
        let dir = scratch(name);
        let spool = dir.join("spool");
        let config = dir.join("config.json");
        let settings = json!({
            "api": {"host": "127.0.0.1", "port": 4567},
            "redis": {"host": "127.0.0.1"},
            "reactio": {"endpoint": endpoint, "spool_dir": path_str(&spool)},
        });
        std::fs::write(&config, settings.to_string()).unwrap();
        // The key file lives where the example says in production (/etc/sensu/reactio.key);
        // here the server's environment points the handler at a scratch copy instead
        // (environment beats the settings file).
        let key_file = key_file(&dir, "reactio.key");
        let conf_d = repo_path("examples/sensu-classic/conf.d");
        let mut files = vec![config.display().to_string()];
        files.extend(CONF_D.iter().map(|f| conf_d.join(f).display().to_string()));
        let loaded = dir.join("sensu-loaded-tempfile");
        std::fs::write(&loaded, files.join(":")).unwrap();
        let cwd = dir.join("server-cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        let path = format!("{}:/usr/bin:/bin", path_str(&handler_dir()));
        Server { dir, cwd, spool, loaded, key_file, path }
    }

    /// Runs `command` as sensu-server would.
    fn run(&self, command: &str, event: &[u8]) -> Run {
        let env = [
            ("PATH", self.path.as_str()),
            ("SENSU_LOADED_TEMPFILE", path_str(&self.loaded)),
            ("REACTIO_API_KEY_FILE", path_str(&self.key_file)),
            ("REACTIO_DEADLINE", "3"),
        ];
        sh(command, &self.cwd, &env, event)
    }
}

/// The shipped handler definition's command.
fn handler_command() -> String {
    let settings = read_json("examples/sensu-classic/conf.d/reactio.json");
    settings["handlers"]["reactio"]["command"].as_str().expect("handler command").to_owned()
}

/// A Classic event for the shipped `check_http` definition, as sensu-server hands it
/// over: the definition (with its `reactio` object) plus the result.
fn check_http_event(status: u8, history: &[&str], action: &str) -> Vec<u8> {
    let checks = read_json("examples/sensu-classic/conf.d/check_http.json");
    let mut check = checks["checks"]["check_http"].clone();
    let now = now();
    let output = if status == 0 { "CheckHttp OK: 200, 1 KB\n" } else { "CheckHttp CRITICAL: Connection refused ...\n" };
    let result = json!({
        "name": "check_http", "status": status, "output": output, "issued": now, "executed": now,
        "duration": 0.021, "history": history,
    });
    if let (Some(check), Value::Object(result)) = (check.as_object_mut(), result) {
        check.extend(result);
    }
    json!({
        "id": "3f1c2b8e-5a0d-4c1e-9b7a-2d4e6f8a0b1c",
        "client": {"name": "web01", "address": "10.0.0.11", "subscriptions": ["web"], "timestamp": now},
        "check": check,
        "occurrences": 1, "occurrences_watermark": 1, "last_ok": now - 60, "action": action,
        "timestamp": now, "last_state_change": now, "silenced": false, "silenced_by": [],
    })
    .to_string()
    .into_bytes()
}

fn assert_cwd_untouched(cwd: &Path) {
    assert!(std::fs::read_dir(cwd).unwrap().next().is_none(), "nothing written to the server's working directory");
}

#[test]
fn check_config_accepts_exactly_the_shipped_files() {
    let server = Server::new("classic-check-config", "http://127.0.0.1:9");
    let run = server.run("sensu-reactio-handler check-config", b"");
    assert_eq!(run.code, Some(0), "{}", run.all());
    for file in CONF_D {
        assert!(run.stdout.contains(file), "check-config lists {file}: {}", run.stdout);
    }
    assert!(run.stdout.contains("organization = demo"), "{}", run.stdout);
    assert!(run.stdout.contains("timezone_offset = +09:00"), "{}", run.stdout);
    assert!(run.stdout.contains("api_key = ********"), "{}", run.stdout);
    assert!(!run.all().contains("warning"), "the shipped files draw no warning: {}", run.all());
    assert_no_key(&run, &server.dir);
    assert_cwd_untouched(&server.cwd);
}

#[test]
fn a_critical_then_its_recovery_through_the_shipped_files() {
    let standin = Config::default().api_key(KEY).start().expect("start the stand-in");
    let server = Server::new("classic-critical", &standin.url());

    let run = server.run(&handler_command(), &check_http_event(2, &["0", "0", "2"], "create"));
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("created incident"), "{}", run.stdout);

    let incidents = standin.incidents();
    assert_eq!(incidents.len(), 1, "exactly one incident: {:?}", standin.request_lines());
    let incident = &incidents[0];
    assert_eq!(incident.name, "web01/check_http CheckHttp CRITICAL: Connection refused ...");
    assert_eq!(incident.status, "open");
    let body = &incident.create_body;
    assert_eq!(body["detection"], "internal");
    // The check's `reactio` object: it rings phones (the handler-wide `call` is empty),
    // opens the topics and sends its own text, rendered for this client.
    assert_eq!(body["notification_call"], true, "the check's `call` override: {body}");
    assert_eq!(incident.topics, ["web", "http"]);
    assert_eq!(body["notification_text"], "web01 の Web サーバーが応答しません。対応をお願いします");
    // The handler-wide timezone_offset from conf.d/reactio.json shows in the message.
    assert!(body["message"].as_str().unwrap_or("").contains("+09:00"), "{body}");
    for request in standin.requests() {
        assert_eq!(request.header("x-api-key"), Some(KEY), "{}", request.line());
    }

    // The same failure again: no second incident (one per episode).
    let again = server.run(&handler_command(), &check_http_event(2, &["0", "0", "2", "2"], "create"));
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert_eq!(standin.incidents().len(), 1);

    // The recovery closes it.
    let resolve = server.run(&handler_command(), &check_http_event(0, &["0", "2", "2", "0"], "resolve"));
    assert_eq!(resolve.code, Some(0), "{}", resolve.all());
    assert_eq!(standin.incidents()[0].status, "close", "{}", resolve.all());
    assert!(standin.open_incidents().is_empty());

    for r in [&run, &again, &resolve] {
        assert_no_key(r, &server.dir);
    }
    assert!(files_under(&server.spool).iter().all(|f| f.extension().is_none_or(|x| x != "json")), "nothing spooled");
    assert_cwd_untouched(&server.cwd);
}

#[test]
fn the_shipped_check_spool_check_reports_waiting_alerts() {
    // Reactio down: the alert is spooled (exit 75), and the shipped check-spool check,
    // run by the client with the same settings files, turns warning.
    let server = Server::new("classic-spool", &closed_port_url());
    let checks = read_json("examples/sensu-classic/conf.d/check_spool.json");
    let check_command = checks["checks"]["reactio_spool"]["command"].as_str().expect("command").to_owned();

    let ok = server.run(&check_command, b"");
    assert_eq!(ok.code, Some(0), "{}", ok.all());

    let handled = server.run(&handler_command(), &check_http_event(2, &["0", "0", "2"], "create"));
    assert_eq!(handled.code, Some(75), "{}", handled.all());

    let warn = server.run(&check_command, b"");
    assert_eq!(warn.code, Some(1), "one entry younger than --warning-age: warning by count: {}", warn.all());
    assert!(warn.stdout.contains("1 spooled"), "{}", warn.stdout);
    assert_no_key(&handled, &server.dir);
}

/// A port where nothing listens (connection refused; [`sensu_reactio_tests::refused_url`]).
fn closed_port_url() -> String {
    sensu_reactio_tests::refused_url()
}
