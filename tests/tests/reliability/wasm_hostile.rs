//! Hostile wasm modules under the handler's wasm engine (`--engine wasm`, the module
//! named by `SENSU_REACTIO_WASM_MODULE`): an infinite loop, unbounded memory growth,
//! runaway recursion, a trap, bad pointers and lengths, wrong or missing exports,
//! imports, and bytes that are not wasm. Each run must end within its deadline with
//! exit 75 and one `reactio: internal error: ` line naming the module and
//! what it did, the event kept in the spool, and no key in any output.

use std::path::Path;
use std::time::Duration;

use crate::support::{KEY, assert_no_key_in_dir, classic, now, path_str, scratch};

/// The handler's documented exit code for a broken engine: the event is spooled (75).
const EXIT_ENGINE_FAILED: i32 = 75;

/// The engine stops one call after its per-call deadline (2 s, `WasmOptions::deadline`);
/// the handler's own deadline is 1.5 s here. A stopped module must be reported within
/// the engine's deadline plus process start, compile and spooling. (The per-call
/// deadline is not yet cut to the time left of the handler's deadline: reported.)
const WALL_LIMIT: Duration = Duration::from_secs(6);

/// A module with every export of the raw ABI; the arguments are the bodies.
fn module(plan: &str, result_ptr: &str, alloc: &str, extra: &str) -> String {
    format!(
        r#"(module
          (memory (export "memory") 1)
          {extra}
          (func (export "sr_abi_version") (result i32) i32.const 2)
          (func (export "sr_alloc") (param i32) (result i32) {alloc})
          (func (export "sr_dealloc") (param i32 i32))
          (func (export "sr_result_ptr") (result i32) {result_ptr})
          (func (export "sr_plan") (param i32 i32 i32 i32 i32 i32) (result i32) {plan})
          (func (export "sr_handle") (param i32 i32) (result i32) i32.const 0)
          (func (export "sr_resume") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) i32.const 0))"#
    )
}

const ALLOC: &str = "i32.const 1024";

/// Cases whose error line does not name the module file yet (reported to the wasm
/// engine's owner: `parse_output` has no path).
const UNNAMED: &[&str] = &["garbage output"];

/// (name, module text or raw bytes, what the error line must say).
fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let wat = |text: String| wat::parse_str(text).expect("valid wat");
    let grow =
        "(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $l))) unreachable";
    vec![
        (
            "infinite loop",
            wat(module("(loop $l (br $l)) i32.const 0", "i32.const 0", ALLOC, "")),
            "ran past its deadline",
        ),
        (
            "infinite loop at start",
            wat(module("i32.const 0", "i32.const 0", ALLOC, "(func $spin (loop $l (br $l))) (start $spin)")),
            "ran past its deadline",
        ),
        ("memory growth", wat(module(grow, "i32.const 0", ALLOC, "")), "memory cap"),
        (
            "runaway recursion",
            wat(module("call $deep", "i32.const 0", ALLOC, "(func $deep (result i32) call $deep)")),
            "failed while planning",
        ),
        ("trap", wat(module("unreachable", "i32.const 0", ALLOC, "")), "failed while planning"),
        ("output outside memory", wat(module("i32.const 4096", "i32.const 65000", ALLOC, "")), "outside its memory"),
        (
            "output length -1",
            wat(module("i32.const -1", "i32.const 0", ALLOC, "")),
            "returned an output of 4294967295 bytes",
        ),
        (
            "input buffer outside memory",
            wat(module("i32.const 0", "i32.const 0", "i32.const -16", "")),
            "outside its memory",
        ),
        ("out of memory for input", wat(module("i32.const 0", "i32.const 0", "i32.const 0", "")), "ran out of memory"),
        ("garbage output", wat(module("i32.const 64", "i32.const 0", ALLOC, "")), "malformed"),
        (
            "missing export",
            wat(r#"(module (memory (export "memory") 1) (func (export "sr_abi_version") (result i32) i32.const 1))"#
                .into()),
            "has no usable export",
        ),
        (
            "wrong signature",
            wat(module("i32.const 0", "i32.const 0", ALLOC, "").replace(
                r#"(func (export "sr_handle") (param i32 i32) (result i32) i32.const 0)"#,
                r#"(func (export "sr_handle") (param i64) (result i32) i32.const 0)"#,
            )),
            "has no usable export `sr_handle`",
        ),
        (
            "no memory",
            wat(module("i32.const 0", "i32.const 0", ALLOC, "")
                .replace(r#"(memory (export "memory") 1)"#, "(memory 1)")),
            "`memory`",
        ),
        (
            "wrong abi version",
            wat(module("i32.const 0", "i32.const 0", ALLOC, "").replace("i32.const 2)\n", "i32.const 99)\n")),
            "abi version 99",
        ),
        (
            "imports",
            wat(r#"(module (import "env" "now" (func)) (memory (export "memory") 1))"#.into()),
            "must import nothing",
        ),
        ("not wasm", b"\0asm\x01\0\0\0garbage that is not a module".to_vec(), "does not compile"),
    ]
}

fn run_with(module_path: &Path, dir: &Path, label: &str) -> crate::support::Run {
    handler_with(module_path, dir, label)
        .stdin(&classic("web01", "check_http", 2, &[0, 2], "create", now()))
        .run_within(WALL_LIMIT + Duration::from_secs(20))
}

fn handler_with(module_path: &Path, dir: &Path, label: &str) -> crate::support::Handler {
    let settings = dir.join("settings.json");
    std::fs::write(&settings, "{}").unwrap();
    let mut handler = crate::support::scanned_handler(label);
    handler
        .env("REACTIO_API_KEY", KEY)
        .env("SENSU_REACTIO_WASM_MODULE", path_str(module_path))
        .env("STATE_DIRECTORY", path_str(&dir.join("state")))
        .args(["--config", path_str(&settings), "--engine", "wasm", "--organization", "demo"])
        .args(["--deadline", "1.5", "--spool-dir", path_str(&dir.join("spool"))]);
    handler
}

#[test]
fn a_spooled_event_the_engine_keeps_failing_on_is_dead_lettered_after_three_failures_in_a_row() {
    let dir = scratch("wasm-dead");
    let path = dir.join("sensu_reactio_core.wasm");
    std::fs::write(&path, wat::parse_str(module("unreachable", "i32.const 0", ALLOC, "")).unwrap()).unwrap();
    let run = run_with(&path, &dir, "trap-live");
    assert_eq!(run.code, Some(EXIT_ENGINE_FAILED), "{}", run.all());
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.join("spool"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
            .unwrap_or_default()
    };
    let [entry] = entries().try_into().expect("one spooled entry");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    assert_eq!(json["handler_failures"], 1, "{json}");
    // Earlier attempts that reached the network (Reactio down) do not count.
    json["attempts"] = 7.into();
    json["handler_failures"] = 0.into();
    std::fs::write(&entry, json.to_string()).unwrap();
    let dead = || crate::support::files_under(&dir.join("spool").join("dead")).len();
    for (round, failures) in [(1, 1), (2, 2)] {
        let run = handler_with(&path, &dir, "trap-replay").args(["replay"]).run_within(WALL_LIMIT);
        assert!(run.stderr.contains("going on with the spool"), "round {round}: {}", run.all());
        assert_eq!(dead(), 0, "round {round}: {}", run.all());
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
        assert_eq!(json["handler_failures"], failures, "{json}");
    }
    let run = handler_with(&path, &dir, "trap-replay").args(["replay"]).run_within(WALL_LIMIT);
    assert!(run.stderr.contains("3 times"), "{}", run.all());
    assert!(entries().is_empty(), "{}", run.all());
    assert_eq!(dead(), 1, "{}", run.all());
    assert_no_key_in_dir(&dir);
}

#[test]
fn hostile_modules_are_stopped_and_reported_and_the_event_is_kept() {
    let mut failures = Vec::new();
    for (name, bytes, says) in hostile() {
        let dir = scratch("wasm");
        let path = dir.join("sensu_reactio_core.wasm");
        std::fs::write(&path, &bytes).unwrap();
        let run = run_with(&path, &dir, name);
        let line = run.stderr.lines().find(|l| l.contains(says)).unwrap_or_default().to_owned();
        let spooled = crate::support::files_under(&dir.join("spool"))
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .count()
            + crate::support::files_under(&dir.join("state")).len();
        let mut problems = Vec::new();
        if run.code != Some(EXIT_ENGINE_FAILED) {
            problems.push(format!("exit {:?}, documented {EXIT_ENGINE_FAILED}", run.code));
        }
        if line.is_empty() {
            problems.push(format!("no line says {says:?}"));
        } else if !line.starts_with("reactio: ") {
            problems.push(format!("the line does not start with `reactio: `: {line:?}"));
        } else if !line.contains(path_str(&path)) && !UNNAMED.contains(&name) {
            problems.push(format!("the line does not name the module: {line:?}"));
        }
        if let Some(stray) = run.stderr.lines().find(|l| !l.starts_with("reactio: ")) {
            problems.push(format!("a stderr line without the `reactio: ` prefix (a multi-line error?): {stray:?}"));
        }
        if run.elapsed > WALL_LIMIT {
            problems.push(format!("took {:?}", run.elapsed));
        }
        if spooled == 0 {
            problems.push("the event was not kept in the spool".into());
        }
        assert_no_key_in_dir(&dir);
        println!(
            "hostile wasm `{name}`: exit {:?} in {:.2} s: {}",
            run.code,
            run.elapsed.as_secs_f64(),
            line.chars().take(200).collect::<String>()
        );
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n  stderr: {}", problems.join("; "), run.stderr.trim()));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{} hostile modules were not handled:\n{}", failures.len(), failures.join("\n"));
}
