//! The adversarial corpus (tests/fixtures/adversarial/expected.json) through the built
//! handler: each case's documented exit code, one `reactio: ` line naming what is wrong
//! and where, stdin read to EOF, no raw control characters in the output, no key, and
//! nothing silently dropped (exit 0 prints what it did; a configuration error keeps
//! the event in the dead-letter folder).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::support::{KEY, Run, assert_no_key_in_dir, files_under, path_str, scratch};

/// At least this many cases (issue 5 asks for 40).
const MIN_CASES: usize = 40;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("adversarial")
}

/// A valid critical Classic event with `check` members replaced by `extra`.
fn critical_with(extra: Value) -> Value {
    let mut event = json!({
        "client": {"name": "web01"},
        "check": {"name": "check_http", "status": 2, "output": "CRITICAL: down\n", "history": ["0", "2"], "interval": 60},
        "occurrences": 1, "action": "create", "timestamp": 1_764_000_000,
    });
    if let (Some(check), Value::Object(extra)) = (event.get_mut("check").and_then(Value::as_object_mut), extra) {
        check.extend(extra);
    }
    event
}

/// Pad a JSON document with trailing spaces to exactly `size` bytes.
fn padded(event: &Value, size: usize) -> Vec<u8> {
    let mut bytes = event.to_string().into_bytes();
    assert!(bytes.len() <= size);
    bytes.resize(size, b' ');
    bytes
}

/// The inputs the test builds (too large or too regular to keep as files).
fn generate(name: &str) -> Vec<u8> {
    const MIB: usize = 1024 * 1024;
    match name {
        "output-1.5-mib" => {
            let output = "CRITICAL: é<b>x</b> ".repeat(MIB * 3 / 2 / 20);
            critical_with(json!({ "output": output })).to_string().into_bytes()
        }
        "history-100k-entries" => {
            let history: Vec<String> = (0..100_000).map(|i| ["0", "2"][i % 2].to_owned()).collect();
            critical_with(json!({ "history": history })).to_string().into_bytes()
        }
        "exactly-16-mib" => padded(&critical_with(json!({})), 16 * MIB),
        "16-mib-plus-1" => padded(&critical_with(json!({})), 16 * MIB + 1),
        "40-mib-garbage" => vec![b'A'; 40 * MIB],
        "nesting-100k-arrays" => vec![b'['; 100_000],
        "nesting-100k-objects-in-output" => {
            let mut text =
                String::from(r#"{"client":{"name":"web01"},"check":{"name":"check_http","status":2,"output":"#);
            text.push_str(&r#"{"a":"#.repeat(100_000));
            text.push('1');
            text.push_str(&"}".repeat(100_002));
            text.into_bytes()
        }
        "nul-bytes" => vec![0u8; 1000],
        "many-keys-200k" => {
            let extra: serde_json::Map<String, Value> = (0..200_000).map(|i| (format!("k{i}"), json!(i))).collect();
            critical_with(Value::Object(extra)).to_string().into_bytes()
        }
        other => panic!("expected.json names an unknown generated input `{other}`"),
    }
}

/// C0 and C1 control characters and DEL, which must not reach Sensu's log raw (a
/// newline ends a line; U+2028 is left alone: Sensu's log splits on `\n` only).
fn control_chars(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_control() && *c != '\n').collect()
}

/// Everything a case needs, and its label.
struct Case {
    label: String,
    spec: Value,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("read expected.json");
    let doc: Value = serde_json::from_str(&text).expect("expected.json is json");
    let list = doc["cases"].as_array().expect("expected.json has `cases`").clone();
    list.into_iter()
        .map(|spec| {
            let mut label = spec["input"].as_str().or(spec["generate"].as_str()).unwrap_or("?").to_owned();
            if let Some(s) = spec["settings"].as_str() {
                label = format!("{label} with {s}");
            }
            if let Some(env) = spec["env"].as_object() {
                let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
                label = format!("{label} with {}", pairs.join(" "));
            }
            Case { label, spec }
        })
        .collect()
}

/// Run one case; returns a failure description (or `None`).
fn check(case: &Case) -> Option<String> {
    let spec = &case.spec;
    let dir = scratch("adv");
    let state = dir.join("state");
    let empty = dir.join("empty-settings.json");
    std::fs::write(&empty, "{}").expect("write settings");
    let settings = match spec["settings"].as_str() {
        Some(s) => fixtures().join(s),
        None => empty,
    };
    let stdin = match (spec["input"].as_str(), spec["generate"].as_str()) {
        (Some(input), _) => std::fs::read(fixtures().join(input)).expect("read the input"),
        (None, Some(name)) => generate(name),
        _ => return Some("neither `input` nor `generate`".into()),
    };
    let removed: Vec<&str> = spec["env_remove"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut handler = crate::support::scanned_handler(&case.label);
    handler.env("STATE_DIRECTORY", path_str(&state)).args(["--config", path_str(&settings)]);
    // A dry run never spools: the cases that must keep the event run live (their
    // configuration error stops them before any request; no organization is set, so
    // nothing could be sent anyway).
    if spec["dead_letter"].as_bool() == Some(true) {
        handler.args(["--spool-dir", path_str(&state)]);
    } else {
        handler.arg("--dry-run");
    }
    if !removed.contains(&"REACTIO_API_KEY") {
        handler.env("REACTIO_API_KEY", KEY);
    }
    for (name, value) in spec["env"].as_object().into_iter().flatten() {
        let value = value.as_str().unwrap_or_default().replace("<fixtures>", path_str(&fixtures()));
        handler.env(name, &value);
    }
    let run = handler.stdin(&stdin).run();
    let failure = judge(spec, &run, &settings, &state);
    assert_no_key_in_dir(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    failure.map(|f| {
        format!(
            "{}: {f}\n  exit {:?}\n  stdout: {}\n  stderr: {}",
            case.label,
            run.code,
            tail(&run.stdout),
            tail(&run.stderr)
        )
    })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(4);
    lines[start..].iter().map(|l| l.chars().take(300).collect::<String>()).collect::<Vec<_>>().join("\n          ")
}

fn judge(spec: &Value, run: &Run, settings: &Path, state: &Path) -> Option<String> {
    let expected_exit = spec["exit"].as_i64()?;
    if run.code != Some(i32::try_from(expected_exit).ok()?) {
        return Some(format!("exit {:?}, documented {expected_exit}", run.code));
    }
    if !run.stdin_drained {
        return Some("stdin was not read to eof (sensu would log a broken pipe)".into());
    }
    let stream = if spec["stream"].as_str() == Some("stdout") { &run.stdout } else { &run.stderr };
    let message = spec["message"].as_str()?.replace("<settings>", path_str(settings));
    let lines: Vec<&str> = stream.lines().filter(|l| l.contains(&message)).collect();
    let Some(line) = lines.first() else {
        return Some(format!("no line on {} says {message:?}", spec["stream"]));
    };
    if !line.starts_with("reactio: ") {
        return Some(format!("the line is not prefixed `reactio: `: {line:?}"));
    }
    if spec["allow_control_chars"].is_null() {
        let raw = control_chars(&run.all());
        if !raw.is_empty() {
            return Some(format!("raw control characters in the output: {raw:?}"));
        }
    }
    let spooled = files_under(state);
    match expected_exit {
        0 => {
            let last = run.stdout.lines().last().unwrap_or_default();
            if !(last.starts_with("reactio: ") && (last.contains("would ") || last.contains("skipped "))) {
                return Some(format!("exit 0 without a line saying what was done: {last:?}"));
            }
            if run.stdout.len() > 256 * 1024 {
                return Some(format!("{} bytes on stdout for one event", run.stdout.len()));
            }
        }
        65 | 78 => {
            let prefix = if expected_exit == 65 { "reactio: bad event: " } else { "reactio: configuration error: " };
            let errors = run.stderr.lines().filter(|l| l.starts_with(prefix)).count();
            if errors != 1 {
                return Some(format!("{errors} lines start with {prefix:?}, want exactly one"));
            }
        }
        _ => {}
    }
    if expected_exit == 65 && !spooled.is_empty() {
        return Some(format!("an event we do not understand was spooled: {spooled:?}"));
    }
    if spec["dead_letter"].as_bool() == Some(true) {
        let dead: Vec<&PathBuf> = spooled.iter().filter(|p| p.parent().is_some_and(|d| d.ends_with("dead"))).collect();
        let kept = dead.iter().any(|p| std::fs::read_to_string(p).unwrap_or_default().contains("check_http"));
        if !kept {
            return Some(format!("the event was not kept in the dead-letter folder (files: {spooled:?})"));
        }
    }
    None
}

#[test]
fn every_adversarial_input_gets_its_documented_exit_code_and_one_clear_line() {
    let cases = cases();
    assert!(cases.len() >= MIN_CASES, "only {} adversarial cases", cases.len());
    let files: Vec<PathBuf> =
        files_under(&fixtures().join("events")).into_iter().chain(files_under(&fixtures().join("settings"))).collect();
    let listed = std::fs::read_to_string(fixtures().join("expected.json")).unwrap_or_default();
    for file in &files {
        let rel = file.strip_prefix(fixtures()).unwrap_or(file).to_string_lossy().into_owned();
        assert!(listed.contains(&rel), "{rel} is in the corpus but not in expected.json");
    }
    let queue = Mutex::new(cases.iter().collect::<Vec<_>>());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                    if let Some(f) = check(case) {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(f);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let by_exit = |code: i64| cases.iter().filter(|c| c.spec["exit"].as_i64() == Some(code)).count();
    println!(
        "adversarial corpus: {} cases ({} exit 0, {} exit 65, {} exit 78), {} failed",
        cases.len(),
        by_exit(0),
        by_exit(65),
        by_exit(78),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn control_characters_are_found_by_the_output_check() {
    assert_eq!(control_chars("reactio: ok\n"), Vec::<char>::new());
    assert_eq!(control_chars("web01\u{1b}]0;t\u{7}"), vec!['\u{1b}', '\u{7}']);
    assert_eq!(control_chars("a\rb\u{85}\u{7f}"), vec!['\r', '\u{85}', '\u{7f}']);
}
