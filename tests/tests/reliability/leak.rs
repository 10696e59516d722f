//! API-key leak scans: the places a key could escape, provoked on purpose. Every run's
//! stdout and stderr are scanned by `support::scanned_handler`; here the spool and
//! dead-letter files are scanned too, after servers that echo the key back in error
//! bodies and redirect locations, keys given by flag, file, settings and profiles, a
//! key given in the wrong shape, dry runs, JSON output, `check-config`, `replay` and
//! `check-spool`.

use std::path::Path;
use std::sync::atomic::Ordering;

use sensu_reactio_tests::standin::{Fault, Match};

use crate::support::{
    Handler, KEY, Run, SCANNED_BYTES, SCANNED_CAPTURES, assert_no_key, assert_no_key_in_dir, classic, leaks_key, now,
    path_str, scratch, standin,
};

fn critical() -> Vec<u8> {
    classic("web01", "check_http", 2, &[0, 2], "create", now())
}

/// The handler against `url` with the key in the environment and a spool in `dir`.
fn against(url: &str, dir: &Path) -> Handler {
    let settings = dir.join("settings.json");
    if !settings.exists() {
        std::fs::write(&settings, "{}").unwrap();
    }
    let mut h = crate::support::scanned_handler("leak");
    h.env("REACTIO_API_KEY", KEY)
        .env("STATE_DIRECTORY", path_str(&dir.join("state")))
        .args(["--config", path_str(&settings), "--endpoint", url, "--deadline", "1", "--request-timeout", "0.3"])
        .args(["--spool-dir", path_str(&dir.join("spool"))]);
    h
}

#[test]
fn the_scan_finds_pieces_of_the_key() {
    assert!(leaks_key(KEY.as_bytes()));
    assert!(leaks_key(format!("masked? {}…", &KEY[..12]).as_bytes()));
    assert!(leaks_key(format!("…{}", &KEY[KEY.len() - 10..]).as_bytes()));
    assert!(!leaks_key(b"x-api-key: ********"));
    assert!(leaks_key(format!("?key={}", percent_encoded(KEY)).as_bytes()));
}

/// Every byte of `text` as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// (label, status, headers, body) of one echoing answer.
type Echo = (&'static str, u16, Vec<(String, String)>, String);

/// Bodies and redirect locations that echo the key back, as a misconfigured proxy or
/// a debugging gateway might: (label, status, headers, body).
fn echoing_answers() -> Vec<Echo> {
    let json = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    vec![
        (
            "500 json echoing the key",
            500,
            json.clone(),
            format!(r#"{{"type":"internal_server_error","message":"bad request with x-api-key: {KEY}"}}"#),
        ),
        ("401 echoing the key", 401, Vec::new(), format!("invalid api key {KEY}")),
        (
            "502 html echoing the key",
            502,
            vec![("Content-Type".into(), "text/html".into())],
            format!("<html>upstream said {KEY}</html>"),
        ),
        // The core quotes 60 characters of a non-json body: the key is cut in the middle.
        ("503 text cutting the key", 503, Vec::new(), format!("{}{KEY}", "x".repeat(45))),
        // Only a piece of the key comes back, as servers that "helpfully" show its tail do.
        (
            "401 json echoing the key's tail",
            401,
            json.clone(),
            format!(r#"{{"type":"authentication_error","message":"no key ending in {}"}}"#, &KEY[KEY.len() - 12..]),
        ),
        ("400 text echoing the key's head", 400, Vec::new(), format!("bad key {}...", &KEY[..12])),
        ("200 lookup that is no list, echoing a piece", 200, Vec::new(), format!("debug: key={}", &KEY[4..16])),
        (
            "302 location with the key percent-encoded",
            302,
            vec![("Location".into(), format!("https://other.example/api?api_key={}", percent_encoded(KEY)))],
            String::new(),
        ),
        (
            "302 location with the key",
            302,
            vec![("Location".into(), format!("https://other.example/api?key={KEY}"))],
            String::new(),
        ),
    ]
}

#[test]
fn servers_that_echo_the_key_do_not_get_it_into_output_or_spool() {
    let server = standin();
    let mut leaks = Vec::new();
    for (label, status, headers, body) in echoing_answers() {
        let dir = scratch("echo");
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        server.push_fault_times(Match::Next, Fault::respond(status, &headers, body.as_bytes()), 50);
        let run: Run = against(&server.url(), &dir).stdin(&critical()).run();
        server.clear_faults();
        assert!(matches!(run.code, Some(75 | 78)), "{label}: {}", run.all());
        // Scan what the run left before anything delivers it.
        let files = crate::support::files_under(&dir);
        assert!(
            files.iter().any(|f| f.extension().is_some_and(|x| x == "json") && !f.ends_with("settings.json")),
            "{label}: nothing kept"
        );
        for file in files.iter().filter(|f| !f.ends_with("settings.json")) {
            let text = std::fs::read(file).unwrap_or_default();
            if leaks_key(&text) {
                leaks.push(format!("{label}: {}: {}", file.display(), String::from_utf8_lossy(&text)));
            }
        }
        // Replay against a well-behaved server, then check-spool.
        let run = against(&server.url(), &dir).args(["replay", "--dead"]).run();
        assert!(matches!(run.code, Some(0 | 75)), "{label}: {}", run.all());
        let run = against(&server.url(), &dir).args(["check-spool"]).run();
        assert!(run.code.is_some(), "{}", run.all());
        let _ = std::fs::remove_dir_all(&dir);
    }
    for request in server.requests() {
        assert_eq!(request.header("x-api-key"), Some(KEY), "the key travels only in its header");
    }
    assert!(leaks.is_empty(), "the api key reached spool files:\n{}", leaks.join("\n"));
}

#[test]
fn a_key_inside_the_event_is_masked_in_the_spool() {
    // A check that prints the key, and the key misplaced in a check attribute.
    let mut event: serde_json::Value = serde_json::from_slice(&critical()).unwrap();
    event["check"]["output"] = format!("CRITICAL: login with token {KEY} refused\n").into();
    event["check"]["reactio"] = serde_json::json!({ "api_key": KEY });
    let event = serde_json::to_vec(&event).unwrap();
    let server = standin();
    let dir = scratch("event-key");
    server.push_fault_times(Match::Next, Fault::respond(503, &[], b"busy"), 50);
    let run = against(&server.url(), &dir).stdin(&event).run();
    server.clear_faults();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(assert_no_key_in_dir(&dir.join("spool")) > 0, "nothing spooled: {}", run.all());
    // The masked event is still the event: the replay delivers it.
    let replayed = against(&server.url(), &dir).args(["replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(server.incidents().len(), 1, "{}", replayed.all());
}

#[test]
fn every_way_of_giving_the_key_stays_masked() {
    let server = standin();
    let dir = scratch("ways");
    let key_file = dir.join("reactio.key");
    std::fs::write(&key_file, format!("  {KEY}\n")).unwrap();
    let settings_with_key = dir.join("with-key.json");
    std::fs::write(
        &settings_with_key,
        serde_json::json!({"reactio": {"api_key": KEY, "organization": "demo",
            "profiles": {"team-a": {"api_key": KEY, "organization": "a"}, "team-b": {"api_key_file": path_str(&key_file)}}}})
        .to_string(),
    )
    .unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let state = dir.join("state");
    let spool = dir.join("spool");
    let base = |label: &str| {
        let mut h = crate::support::scanned_handler(label);
        h.env("STATE_DIRECTORY", path_str(&state)).args(["--spool-dir", path_str(&spool)]);
        h
    };

    // Flag (visible in ps: the printer still masks it), dry run, text and json output.
    for output in ["text", "json"] {
        let run = base("flag dry run")
            .args(["--config", path_str(&empty), "--api-key", KEY, "--dry-run", "--output", output])
            .stdin(&critical())
            .run();
        assert_eq!(run.code, Some(0), "{}", run.all());
        assert!(run.stdout.contains("********"), "the dry run shows the masked header: {}", run.stdout);
    }
    // Key file, live against the stand-in, json output.
    let run = base("key file")
        .args([
            "--config",
            path_str(&empty),
            "--api-key-file",
            path_str(&key_file),
            "--endpoint",
            &server.url(),
            "--output",
            "json",
        ])
        .stdin(&critical())
        .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    // Settings file and profiles: check-config in both formats.
    for output in ["text", "json"] {
        let run = base("check-config")
            .args(["--config", path_str(&settings_with_key), "--output", output, "check-config"])
            .run();
        assert_eq!(run.code, Some(0), "{}", run.all());
    }
    // Environment, through a profile chosen by flag.
    let run = base("env profile")
        .env("REACTIO_API_KEY", KEY)
        .args(["--config", path_str(&settings_with_key), "--profile", "team-b", "--dry-run"])
        .stdin(&critical())
        .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_key_given_in_the_wrong_shape_is_not_echoed_in_the_error() {
    let dir = scratch("shape");
    let cases = [
        ("array", serde_json::json!({"reactio": {"api_key": [KEY]}})),
        ("object", serde_json::json!({"reactio": {"api_key": {"value": KEY}}})),
        ("in a typo'd key", serde_json::json!({"reactio": {"api_kee": KEY}})),
        ("as the endpoint", serde_json::json!({"reactio": {"endpoint": format!("https://u:{KEY}@x.example")}})),
        ("in a profile", serde_json::json!({"reactio": {"profiles": {"a": {"api_key": [KEY], "organization": "a"}}}})),
        (
            "in the handlers definition",
            serde_json::json!({"handlers": {"reactio": {"api_key": KEY, "serverities": ["critical"]}}}),
        ),
    ];
    for (label, settings) in cases {
        let file = dir.join("settings.json");
        std::fs::write(&file, settings.to_string()).unwrap();
        let run = crate::support::scanned_handler(label)
            .env("STATE_DIRECTORY", path_str(&dir.join("state")))
            .args(["--config", path_str(&file), "--dry-run"])
            .stdin(&critical())
            .run();
        assert!(matches!(run.code, Some(0 | 78)), "{label}: {}", run.all());
        // Environment values in the wrong shape.
        let run = crate::support::scanned_handler(label)
            .env("STATE_DIRECTORY", path_str(&dir.join("state")))
            .env("REACTIO_API_KEY", KEY)
            .env("REACTIO_ORGANIZATION", &format!("{KEY}/"))
            .env("REACTIO_API_KEEY", KEY)
            .args(["--config", path_str(&file), "check-config"])
            .run();
        assert!(run.code.is_some(), "{label}: {}", run.all());
    }
    // The settings files hold the key on purpose; what the handler wrote must not.
    assert_no_key_in_dir(&dir.join("state"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scan_figures() {
    // Runs alongside the others; it reports what has been scanned so far in this binary.
    assert_no_key("the scan's own figures", b"");
    println!(
        "key scan so far: {} captures, {} bytes",
        SCANNED_CAPTURES.load(Ordering::Relaxed),
        SCANNED_BYTES.load(Ordering::Relaxed)
    );
}
