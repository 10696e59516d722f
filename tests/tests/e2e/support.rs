//! Running the built handler as a process: scratch directories, events, and the
//! checks every test makes (what the server received, no API key in any output).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sensu_reactio_tests::Standin;
pub(crate) use sensu_reactio_tests::process::{self, Handler, Run, Scratch, assert_no_secret, files_under, path_str};
use sensu_reactio_tests::standin::Config;
use serde_json::{Value, json};

/// The API key every test's stand-in accepts; it must never appear in any output.
pub(crate) const KEY: &str = "sk-e2e-7f3a9c2d41b8e605";

/// A short overall deadline for tests (seconds).
pub(crate) const DEADLINE: &str = "1.5";

/// A stand-in accepting [`KEY`].
pub(crate) fn standin() -> Standin {
    standin_with(Config::default())
}

/// A stand-in accepting [`KEY`] with `config`'s other settings.
pub(crate) fn standin_with(config: Config) -> Standin {
    config.api_key(KEY).start().expect("start the reactio stand-in")
}

/// A fresh, empty scratch directory.
pub(crate) fn scratch(name: &str) -> Scratch {
    process::scratch("e2e", name)
}

/// A directory with an empty `settings.json` (so no test reads the machine's
/// /etc/sensu), and that file's path.
pub(crate) fn empty_settings() -> (Scratch, PathBuf) {
    let dir = scratch("settings");
    let file = dir.join("settings.json");
    std::fs::write(&file, "{}").expect("write settings");
    (dir, file)
}

/// A spool directory under `dir` that cannot be created (its parent is a file).
pub(crate) fn unwritable_spool(dir: &Path) -> PathBuf {
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    file.join("spool")
}

/// A port where nothing listens (connection refused; [`sensu_reactio_tests::refused_url`]).
pub(crate) fn closed_port_url() -> String {
    sensu_reactio_tests::refused_url()
}

/// A Sensu Classic event, compact JSON, no trailing newline (as sensu-server sends).
pub(crate) fn classic(
    client: &str,
    check: &str,
    status: u8,
    history: &[&str],
    action: &str,
    occurrences: u64,
) -> Vec<u8> {
    classic_with(client, check, status, history, action, occurrences, json!({}))
}

/// A Sensu Classic event with extra check attributes merged in.
pub(crate) fn classic_with(
    client: &str,
    check: &str,
    status: u8,
    history: &[&str],
    action: &str,
    occurrences: u64,
    extra_check: Value,
) -> Vec<u8> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let output = match status {
        0 => "CheckHttp OK: 200\n".to_owned(),
        2 => "CheckHttp CRITICAL: Connection refused ...\n".to_owned(),
        _ => format!("status {status}\n"),
    };
    let mut check_obj = json!({
        "name": check,
        "command": "check-http.rb -u http://localhost/",
        "interval": 60,
        "handlers": ["reactio"],
        "status": status,
        "output": output,
        "issued": now,
        "executed": now,
        "duration": 0.021,
        "history": history,
    });
    if let (Some(obj), Value::Object(extra)) = (check_obj.as_object_mut(), extra_check) {
        obj.extend(extra);
    }
    let event = json!({
        "id": "3f1c2b8e-5a0d-4c1e-9b7a-2d4e6f8a0b1c",
        "client": {"name": client, "address": "10.0.0.11", "subscriptions": ["web"], "timestamp": now},
        "check": check_obj,
        "occurrences": occurrences,
        "occurrences_watermark": occurrences,
        "last_ok": now - 60,
        "action": action,
        "timestamp": now,
        "last_state_change": now,
        "silenced": false,
        "silenced_by": [],
    });
    event.to_string().into_bytes()
}

/// The first critical of `web01/check_http`.
pub(crate) fn first_critical() -> Vec<u8> {
    classic("web01", "check_http", 2, &["0", "0", "2"], "create", 1)
}

/// The recovery of `web01/check_http`.
pub(crate) fn resolve() -> Vec<u8> {
    classic("web01", "check_http", 0, &["0", "2", "2", "0"], "resolve", 1)
}

/// The built handler with a cleared environment (only `PATH`), cwd = `/`, killed
/// after 30 s.
pub(crate) fn handler() -> Handler {
    handler_under(&[])
}

/// [`handler`], started by `wrapper` ([`Handler::new_under`]).
pub(crate) fn handler_under(wrapper: &[&str]) -> Handler {
    let mut handler = Handler::new_under("e2e", wrapper);
    handler.limit(Duration::from_secs(30));
    // A spool of last resort, so no test writes to /var/spool (a test's own
    // --spool-dir or STATE_DIRECTORY takes precedence).
    let state = scratch("state");
    handler.env("STATE_DIRECTORY", path_str(&state)).hold(state);
    // `SENSU_REACTIO_E2E_ENGINE=wasm cargo test --test e2e` runs every case through the wasm engine.
    if let Ok(engine) = std::env::var("SENSU_REACTIO_E2E_ENGINE") {
        handler.env("REACTIO_ENGINE", &engine);
    }
    handler
}

/// The handler pointed at `server` with the key in `REACTIO_API_KEY`, spooling
/// to `spool`, with settings only from an empty settings file (hermetic).
pub(crate) fn against(server_url: &str, spool: &Path) -> Handler {
    against_under(server_url, spool, &[])
}

/// [`against`], started by `wrapper` ([`Handler::new_under`]).
pub(crate) fn against_under(server_url: &str, spool: &Path, wrapper: &[&str]) -> Handler {
    let (dir, settings) = empty_settings();
    let mut handler = handler_under(wrapper);
    handler
        .hold(dir)
        .env("REACTIO_API_KEY", KEY)
        .args(["--config", path_str(&settings), "--endpoint", server_url, "--deadline", DEADLINE])
        .args(["--spool-dir", path_str(spool)]);
    handler
}

/// Spooled entries (not dead-lettered).
pub(crate) fn spooled(spool: &Path) -> Vec<PathBuf> {
    files_under(spool)
        .into_iter()
        .filter(|p| p.parent() == Some(spool) && p.extension().is_some_and(|x| x == "json"))
        .collect()
}

/// Dead-lettered entries.
pub(crate) fn dead(spool: &Path) -> Vec<PathBuf> {
    files_under(&spool.join("dead"))
}

/// The key is in no output and no file under `dir`.
pub(crate) fn assert_no_key(runs: &[&Run], dir: &Path) {
    assert_no_secret(runs, &files_under(dir), KEY);
}

/// `METHOD /path` lines the server received.
pub(crate) fn lines(server: &Standin) -> Vec<String> {
    server.request_lines()
}

/// How many creates the server received.
pub(crate) fn creates(server: &Standin) -> usize {
    lines(server).iter().filter(|l| *l == "POST /api/v1/incidents").count()
}

/// Wait (up to 10 s) until the server has received a create: a run started before is
/// then in the middle of it (a test that delays creates starts the next run here).
pub(crate) fn until_a_create_arrives(server: &Standin) {
    let started = std::time::Instant::now();
    while creates(server) == 0 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `handler` run and sent `signal` (`-TERM`, `-HUP`, `-KILL`) once `ready` says the
/// moment has come (asked every 5 ms, for at most 10 s): the run it ended or let finish.
pub(crate) fn signalled(mut handler: Handler, signal: &str, ready: impl Fn() -> bool) -> Run {
    use std::sync::{Arc, atomic};
    let pid = Arc::new(atomic::AtomicU32::new(0));
    handler.report_pid(Arc::clone(&pid));
    std::thread::scope(|s| {
        let run = s.spawn(move || handler.run());
        let started = std::time::Instant::now();
        while !ready() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let pid = pid.load(atomic::Ordering::SeqCst).to_string();
        let sent = std::process::Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(sent.success(), "kill {signal} {pid}");
        run.join().expect("the signalled run")
    })
}

/// How many status changes (closes) the server received.
pub(crate) fn closes(server: &Standin) -> usize {
    lines(server).iter().filter(|l| l.starts_with("POST /api/v1/incidents/") && l.ends_with("/status")).count()
}

/// Every request carried the key (sent only where it belongs).
pub(crate) fn assert_key_sent(server: &Standin) {
    for request in server.requests() {
        assert_eq!(request.header("x-api-key"), Some(KEY), "{}", request.line());
    }
}

/// Put an entry for `event` (web01/check_http's) into `spool` by hand, as a run that
/// came in at `nanos` (epoch nanoseconds) would have kept it, with `fields` merged in
/// (`recovery`, `passing`, `received_ns`: an earlier version wrote none of the last).
pub(crate) fn keep_by_hand(spool: &Path, event: Vec<u8>, nanos: u128, fields: Value) {
    let mut entry = json!({
        "version": 1,
        "event": String::from_utf8(event).expect("utf-8"),
        "key": "web01/check_http",
        "recovery": false,
        "received_at": u64::try_from(nanos / 1_000_000_000).expect("seconds"),
        "attempts": 1,
    });
    if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
        entry.extend(fields);
    }
    std::fs::create_dir_all(spool).expect("the spool");
    std::fs::write(spool.join(format!("{nanos:020}-0000001.json")), entry.to_string()).expect("write the entry");
}

/// `check-spool` over `spool` (with `extra` arguments), settings from an empty file.
pub(crate) fn check_spool(spool: &Path, extra: &[&str]) -> Run {
    let (dir, settings) = empty_settings();
    let mut handler = handler();
    handler.hold(dir).args(["check-spool", "--spool-dir", path_str(spool), "--config", path_str(&settings)]);
    handler.args(extra.iter().copied());
    handler.run()
}

/// Whether the tests run as root (CI does).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// [`is_root`], saying why a test that needs root (to mount, make namespaces or run
/// the handler as another user) passes without running.
pub(crate) fn as_root(needs: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("skipped: needs root, {needs}");
    }
    root
}

/// A wrapper ([`against_under`]) that runs the handler as `nobody`.
pub(crate) const NOBODY: [&str; 4] = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
