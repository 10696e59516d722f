//! Parity: every fixture and scenario event, and malformed inputs, through the native core, the wasmtime module and the JS package: identical bytes.
//!
//! Answers are recorded once natively (from the scenario model of `tests/scenarios`, or
//! dry-run answers), then the same inputs and answers are replayed through
//! `sensu_reactio_core::json_api` (native), the raw module under the host's wasmtime
//! engine, and the npm package under Node (`wasm/js/tools/parity.mjs`). Every output
//! (steps and errors) must match byte for byte. A missing artifact fails, naming the
//! command that builds it.

// The shared scenario model and sequence generator index freely (their own crate allows it).
#![allow(clippy::indexing_slicing)]

#[path = "../scenarios/model.rs"]
#[allow(dead_code)]
mod model;
#[path = "../scenarios/sequence.rs"]
#[allow(dead_code)]
mod sequence;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use sensu_reactio_core::json_api::Session;
use sensu_reactio_core::{Answer, ConfigInput, Step, dry_run_answer};
use sensu_reactio_host::engine::wasm::{MODULE_FILE, WasmModule, WasmOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const API_KEY: &str = "parity-secret-key-0123456789";
const NOW: i64 = 1_764_000_000;

/// One run: inputs, the answers to hand over in order, and the answers for a final `resume`.
#[derive(Clone, Debug, serde::Serialize)]
struct Case {
    #[serde(skip)]
    name: String,
    config: String,
    /// Lossy for the JS side; `js` says whether it is exact.
    event: String,
    #[serde(skip)]
    event_bytes: Vec<u8>,
    context: String,
    answers: Vec<String>,
    resume: Option<String>,
    /// The event is valid UTF-8, so a JS string can carry it exactly.
    #[serde(skip)]
    js: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn artifact(relative: &str) -> Result<PathBuf, String> {
    let path = root().join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is missing: run `./x build` (it runs scripts/build-wasm.sh)", path.display()))
    }
}

fn config_json(
    settings: Value,
    env: BTreeMap<String, String>,
    mut flags: BTreeMap<String, String>,
    default_auth: bool,
) -> String {
    if default_auth {
        flags.entry("api_key".into()).or_insert_with(|| API_KEY.into());
        flags.entry("organization".into()).or_insert_with(|| "demo".into());
    }
    let input = ConfigInput { settings, env, flags, handler_name: None, key_files: BTreeMap::new() };
    serde_json::to_string(&input).unwrap_or_default()
}

fn context_json(now: i64, first_occurrence: bool, dry_run: bool) -> String {
    json!({"now": now, "first_occurrence": first_occurrence, "dry_run": dry_run}).to_string()
}

/// Run natively, answering requests from `answer`; returns the answers handed over.
fn record(config: &str, event: &[u8], context: &str, answer: &mut dyn FnMut(&Step) -> Answer) -> Vec<String> {
    let mut session = Session::new();
    let mut out = session.plan(config.as_bytes(), event, context.as_bytes());
    let mut answers = Vec::new();
    for _ in 0..300 {
        let Ok(step) = serde_json::from_str::<Step>(&out) else { break };
        if matches!(step, Step::Done(_)) {
            break;
        }
        let text = serde_json::to_string(&answer(&step)).unwrap_or_default();
        out = session.handle(text.as_bytes());
        answers.push(text);
    }
    answers
}

fn case(name: String, config: String, event: Vec<u8>, context: String, answers: Vec<String>) -> Case {
    let resume = Some(format!("[{}]", answers.join(",")));
    Case {
        name,
        config,
        event: String::from_utf8_lossy(&event).into_owned(),
        js: std::str::from_utf8(&event).is_ok(),
        event_bytes: event,
        context,
        answers,
        resume,
    }
}

fn dry(step: &Step) -> Answer {
    match step {
        Step::Request(request) => dry_run_answer(request),
        _ => Answer::Waited,
    }
}

/// Cases from `tests/fixtures/scenarios/*.json`, answered by the scenario model.
fn scenario_cases() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let dir = root().join("tests/fixtures/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let s: Value = serde_json::from_slice(&std::fs::read(&file)?)?;
        let map = |key: &str| -> BTreeMap<String, String> {
            serde_json::from_value(s.get(key).cloned().unwrap_or(json!({}))).unwrap_or_default()
        };
        let config = config_json(
            s.get("settings").cloned().unwrap_or(Value::Null),
            map("env"),
            map("flags"),
            !s.get("no_default_auth").and_then(Value::as_bool).unwrap_or(false),
        );
        let mut model = model::Model {
            incidents: serde_json::from_value(s.get("incidents").cloned().unwrap_or(json!([])))?,
            faults: serde_json::from_value(s.get("faults").cloned().unwrap_or(json!([])))?,
            page_cap: s.get("page_cap").and_then(Value::as_u64).unwrap_or(0) as usize,
            ..Default::default()
        };
        let items = s.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let faults: Vec<model::Fault> = serde_json::from_value(item.get("faults").cloned().unwrap_or(json!([])))?;
            model.faults.extend(faults);
            if let Some(person) = item.get("person").and_then(Value::as_object) {
                for (act, id) in person {
                    if let Some(incident) = model.incidents.iter_mut().find(|inc| Some(inc.id) == id.as_u64()) {
                        match act.as_str() {
                            "close" => incident.status = "close".into(),
                            "take" => {
                                incident.status = "pend".into();
                                incident.manager = Some(7);
                            }
                            _ => incident.manager = Some(7),
                        }
                    }
                }
                continue;
            }
            let events: Vec<(Vec<u8>, i64)> = if let Some(seq) = item.get("sequence") {
                let seq: sequence::Sequence = serde_json::from_value(seq.clone())?;
                sequence::generate(&seq)
                    .into_iter()
                    .map(|g| (g.json.to_string().into_bytes(), g.executed + 1))
                    .collect()
            } else if let Some(event) = item.get("event") {
                vec![(event.to_string().into_bytes(), NOW)]
            } else if let Some(raw) = item.get("raw").and_then(Value::as_str) {
                vec![(raw.as_bytes().to_vec(), NOW)]
            } else if let Some(file) = item.get("file").and_then(Value::as_str) {
                vec![(std::fs::read(root().join("tests/fixtures").join(file))?, NOW)]
            } else {
                continue;
            };
            let dry_run = item.get("dry_run").and_then(Value::as_bool).unwrap_or(false);
            let first = item.get("first_occurrence").and_then(Value::as_bool).unwrap_or(false);
            for (n, (event, default_now)) in events.into_iter().enumerate() {
                let now = item.get("now").and_then(Value::as_i64).unwrap_or(default_now);
                model.now = now;
                let context = context_json(now, first, dry_run);
                let answers = record(&config, &event, &context, &mut |step| match step {
                    Step::Request(request) if !dry_run => model.answer(request),
                    other => dry(other),
                });
                cases.push(case(format!("{name} item {i} event {n}"), config.clone(), event, context, answers));
            }
        }
    }
    Ok(cases)
}

/// Cases from the upstream Sensu fixtures (dry run and live against an empty model), and malformed inputs.
fn fixture_and_malformed_cases() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let config = config_json(
        json!({"reactio": {"severities": ["critical", "warning", "unknown"]}}),
        BTreeMap::new(),
        BTreeMap::new(),
        true,
    );
    let dir = root().join("tests/fixtures/upstream");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the upstream fixtures in {}", dir.display());
    let mut cases = Vec::new();
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let event = std::fs::read(file)?;
        for dry_run in [true, false] {
            let context = context_json(NOW, false, dry_run);
            let mut model = model::Model { now: NOW, ..Default::default() };
            let answers = record(&config, &event, &context, &mut |step| match step {
                Step::Request(request) if !dry_run => model.answer(request),
                other => dry(other),
            });
            cases.push(case(format!("{name} dry_run={dry_run}"), config.clone(), event.clone(), context, answers));
        }
    }

    // Malformed events.
    let context = context_json(NOW, false, false);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not json", b"not json".to_vec()),
        ("truncated", br#"{"client":{"name":"web01"},"check":{"na"#.to_vec()),
        ("array", b"[1,2]".to_vec()),
        ("null", b"null".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("bom", b"\xef\xbb\xbf{}".to_vec()),
        ("invalid utf-8", b"{\"client\":{\"name\":\"w\xff\"},\"check\":{\"name\":\"c\",\"status\":2}}".to_vec()),
        ("wrong types", br#"{"client":{"name":7},"check":{"name":"disk","status":"two"},"action":"create"}"#.to_vec()),
        // Shapes where the sparse reader (native, the JS package) and the whole one (the
        // raw module) walk different trees: they must still agree byte for byte.
        ("invalid utf-8 and broken", b"{\"client\":{\"name\":\"w\xff\"},\"check\":{\"name\":\"c\",}}".to_vec()),
        ("lone surrogate and broken", br#"{"client":{"name":"w\ud800"},"check":{"name":"c" "status":2}}"#.to_vec()),
        ("duplicate keys", br#"{"client":{"name":"a","name":"b"},"check":{"name":"c","status":0,"status":2},"check":{"name":"d","status":2}}"#.to_vec()),
        ("check an array", br#"{"client":{"name":"web01"},"check":[1,{"name":"x"}]}"#.to_vec()),
        ("history an object", br#"{"client":{"name":"web01"},"check":{"name":"c","status":2,"history":{"0":"2"}}}"#.to_vec()),
        ("history mixed", br#"{"client":{"name":"web01"},"check":{"name":"c","status":2,"history":["0",1,null,{"status":2},"x",[2]]}}"#.to_vec()),
        ("go metadata wrong", br#"{"entity":{"metadata":["web01"]},"check":{"metadata":{"name":"c","annotations":[1]},"status":2}}"#.to_vec()),
        ("go annotations", br#"{"entity":{"metadata":{"name":"web01","namespace":"ops","labels":{"x":"y"}},"system":{"os":"linux","network":{"interfaces":[{"name":"lo"}]}}},"check":{"metadata":{"name":"c","annotations":{"sensu.io/plugins/reactio/config/severities":"critical","reactio.severities":"warning,critical"}},"status":1,"history":[{"status":0,"executed":1},{"status":1,"executed":2}],"occurrences":1}}"#.to_vec()),
        ("metrics only", br#"{"entity":{"metadata":{"name":"web01"}},"metrics":{"points":[{"name":"x","value":1.5e300}]}}"#.to_vec()),
        ("number out of range in a skipped member", br#"{"client":{"name":"web01","labels":{"x":1e999}},"check":{"name":"c","status":2}}"#.to_vec()),
        ("huge output", format!(r#"{{"client":{{"name":"web01"}},"check":{{"name":"disk","status":2,"output":"{}"}},"action":"create"}}"#, "x".repeat(200_000)).into_bytes()),
    ];
    for (name, event) in malformed {
        let answers = record(&config, &event, &context, &mut dry);
        cases.push(case(format!("malformed event: {name}"), config.clone(), event, context.clone(), answers));
    }

    // Malformed configuration and context, and protocol misuse.
    let event = std::fs::read(root().join("examples/events/classic-critical.json"))?;
    for (name, bad_config) in [
        ("array", "[]".to_owned()),
        ("not json", "{".to_owned()),
        (
            "unknown key",
            config_json(json!({"reactio": {"organisation": "demo"}}), BTreeMap::new(), BTreeMap::new(), true),
        ),
        (
            "bad value",
            config_json(
                Value::Null,
                BTreeMap::new(),
                BTreeMap::from([("occurrences".to_owned(), "many".to_owned())]),
                true,
            ),
        ),
        ("no key", config_json(Value::Null, BTreeMap::new(), BTreeMap::new(), false)),
    ] {
        cases.push(case(format!("config: {name}"), bad_config, event.clone(), context.clone(), Vec::new()));
    }
    for (name, bad_context) in
        [("empty object", "{}"), ("now as text", r#"{"now":"soon"}"#), ("array", "[1]"), ("empty", "")]
    {
        cases.push(case(format!("context: {name}"), config.clone(), event.clone(), bad_context.to_owned(), Vec::new()));
    }
    let answers = record(&config, &event, &context, &mut dry);
    let mut misuse =
        case("misuse: bad answers".into(), config.clone(), event.clone(), context.clone(), answers.clone());
    misuse.answers = ["{\"answer\":\"nope\"}".to_owned(), "[]".to_owned(), String::new()]
        .into_iter()
        .chain(answers)
        .chain(["{\"answer\":\"waited\"}".to_owned()])
        .collect();
    cases.push(misuse);
    let mut resume =
        case("misuse: resume past done".into(), config.clone(), event, context, answers_plus_one(&config)?);
    resume.answers.clear();
    cases.push(resume);
    Ok(cases)
}

fn answers_plus_one(config: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let event = std::fs::read(root().join("examples/events/classic-critical.json"))?;
    let mut answers = record(config, &event, &context_json(NOW, false, false), &mut dry);
    answers.push("{\"answer\":\"waited\"}".into());
    Ok(answers)
}

fn native(case: &Case) -> Vec<String> {
    let mut session = Session::new();
    let mut outputs = vec![session.plan(case.config.as_bytes(), &case.event_bytes, case.context.as_bytes())];
    for answer in &case.answers {
        outputs.push(session.handle(answer.as_bytes()));
    }
    if let Some(resume) = &case.resume {
        outputs.push(sensu_reactio_core::json_api::resume_json(
            case.config.as_bytes(),
            &case.event_bytes,
            case.context.as_bytes(),
            resume.as_bytes(),
        ));
    }
    outputs
}

fn wasmtime(module: &Arc<WasmModule>, case: &Case) -> Result<Vec<String>, String> {
    let mut instance = module.instance().map_err(|e| e.to_string())?;
    let mut outputs = vec![
        instance
            .plan_json(case.config.as_bytes(), &case.event_bytes, case.context.as_bytes())
            .map_err(|e| e.to_string())?,
    ];
    for answer in &case.answers {
        outputs.push(instance.handle_json(answer.as_bytes()).map_err(|e| e.to_string())?);
    }
    if let Some(resume) = &case.resume {
        outputs.push(
            instance
                .resume_json(case.config.as_bytes(), &case.event_bytes, case.context.as_bytes(), resume.as_bytes())
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(outputs)
}

fn js(cases: &[&Case]) -> Result<Vec<Vec<String>>, Box<dyn std::error::Error>> {
    artifact("wasm/js/pkg/sensu_reactio_bg.wasm")?;
    let driver = root().join("wasm/js/tools/parity.mjs");
    let input = std::env::temp_dir().join(format!("sensu-reactio-parity-{}.json", std::process::id()));
    std::fs::write(&input, serde_json::to_vec(cases)?)?;
    let out = Command::new("node")
        .arg(&driver)
        .arg(&input)
        .output()
        .map_err(|e| format!("cannot run node ({e}): install Node.js 18+ and run `./x setup`"))?;
    let _ = std::fs::remove_file(&input);
    if !out.status.success() {
        return Err(format!("node {} failed: {}", driver.display(), String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn first_difference(name: &str, host: &str, expected: &[String], got: &[String]) -> Option<String> {
    if expected == got {
        return None;
    }
    let at = expected.iter().zip(got).position(|(a, b)| a != b).unwrap_or(expected.len().min(got.len()));
    Some(format!(
        "{name}: {host} differs from native at output {at} (if the core changed since the last build, run `./x build`)\n  native: {}\n  {host}: {}",
        expected.get(at).map_or("<none>", String::as_str),
        got.get(at).map_or("<none>", String::as_str)
    ))
}

#[test]
fn native_wasmtime_and_js_give_identical_bytes() -> TestResult {
    let module_path = artifact(&format!("wasm/pkg/{MODULE_FILE}"))?;
    let module = Arc::new(
        WasmModule::load(WasmOptions { module: Some(module_path), ..WasmOptions::default() })
            .map_err(|e| e.to_string())?,
    );
    let mut cases = scenario_cases()?;
    cases.extend(fixture_and_malformed_cases()?);
    assert!(cases.len() > 100, "{} cases", cases.len());

    let expected: Vec<Vec<String>> = cases.iter().map(native).collect();
    // The cases must exercise every kind of output.
    let all: Vec<&String> = expected.iter().flatten().collect();
    for needle in [
        r#"{"step":"request""#,
        r#"{"step":"wait""#,
        r#"{"step":"done""#,
        r#"{"error":{"kind":"input""#,
        r#"{"error":{"kind":"config""#,
        r#"{"error":{"kind":"protocol""#,
    ] {
        assert!(all.iter().any(|o| o.starts_with(needle)), "no output starts with {needle}");
    }

    let mut failures = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        match wasmtime(&module, case) {
            Ok(got) => failures.extend(first_difference(&case.name, "wasmtime", want, &got)),
            Err(e) => failures.push(format!("{}: wasmtime failed: {e}", case.name)),
        }
    }
    let js_cases: Vec<&Case> = cases.iter().filter(|c| c.js).collect();
    assert_eq!(
        js_cases.len() + 2,
        cases.len(),
        "every case but the two events that are not utf-8 (they cannot be JS strings) runs under node"
    );
    let js_out = js(&js_cases)?;
    assert_eq!(js_out.len(), js_cases.len());
    for (case, got) in js_cases.iter().zip(&js_out) {
        let want = &expected[cases.iter().position(|c| std::ptr::eq(c, *case)).unwrap_or_default()];
        failures.extend(first_difference(&case.name, "js", want, got));
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    Ok(())
}

#[test]
fn the_raw_module_imports_nothing_and_fits_its_budget() -> TestResult {
    /// decisions.md's budget for the raw import-free core module: 200 KB, 1,000 bytes
    /// each (decisions.md writes KiB where it means 1,024).
    const BUDGET: u64 = 200 * 1000;
    let path = artifact(&format!("wasm/pkg/{MODULE_FILE}"))?;
    let module = WasmModule::load(WasmOptions { module: Some(path.clone()), ..WasmOptions::default() })
        .map_err(|e| e.to_string())?;
    let imports: Vec<String> = module.module().imports().map(|i| format!("{}.{}", i.module(), i.name())).collect();
    assert!(imports.is_empty(), "imports: {imports:?}");
    let exports: Vec<&str> = module.module().exports().map(|e| e.name()).collect();
    for name in
        ["memory", "sr_abi_version", "sr_alloc", "sr_dealloc", "sr_plan", "sr_handle", "sr_resume", "sr_result_ptr"]
    {
        assert!(exports.contains(&name), "export {name} in {exports:?}");
    }
    let size = std::fs::metadata(&path)?.len();
    println!("raw module: {size} bytes (budget {BUDGET}, goal {})", 150 * 1000);
    assert!(size <= BUDGET, "{} is {size} bytes, over its budget of {BUDGET}", path.display());
    Ok(())
}

#[test]
fn bad_pointers_get_a_protocol_error_from_the_raw_module() -> TestResult {
    let path = artifact(&format!("wasm/pkg/{MODULE_FILE}"))?;
    let module =
        WasmModule::load(WasmOptions { module: Some(path), ..WasmOptions::default() }).map_err(|e| e.to_string())?;
    let mut store = wasmtime::Store::new(module.module().engine(), ());
    store.set_epoch_deadline(1_000);
    let instance = wasmtime::Instance::new(&mut store, module.module(), &[])?;
    let plan = instance.get_typed_func::<(u32, u32, u32, u32, u32, u32), u32>(&mut store, "sr_plan")?;
    let result_ptr = instance.get_typed_func::<(), u32>(&mut store, "sr_result_ptr")?;
    let memory = instance.get_memory(&mut store, "memory").ok_or("no memory")?;
    // An input pointer that no sr_alloc handed out (and one past the end of memory).
    for (ptr, len) in [(8u32, 16u32), (u32::MAX - 4, 100)] {
        let n = plan.call(&mut store, (ptr, len, 0, 0, 0, 0))?;
        let at = result_ptr.call(&mut store, ())?;
        let mut out = vec![0; n as usize];
        memory.read(&store, at as usize, &mut out)?;
        let out = String::from_utf8(out)?;
        assert!(
            out.starts_with(r#"{"error":{"kind":"protocol","message":"the configuration input (address "#),
            "{out}"
        );
        assert!(out.contains("is not inside a buffer from sr_alloc"), "{out}");
    }
    Ok(())
}
