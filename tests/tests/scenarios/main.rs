//! Scenario tests of the core: fixture files in, the whole state machine driven
//! against an in-process Reactio model, every step reviewed as a snapshot.
//!
//! Each `tests/fixtures/scenarios/*.json` names settings, the incidents Reactio
//! already has, scripted faults, and a list of events (literal, generated from a
//! status sequence, an upstream fixture, or raw bytes) with the outcome code each
//! must end in. Besides the snapshot, every scenario asserts: the expected codes,
//! byte-identical output on a second run, no more than one open incident per key,
//! and that the API key never appears in any outcome.
//!
//! Review changed snapshots with `cargo insta review` (or `INSTA_UPDATE=always`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

mod model;
mod sequence;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use sensu_reactio_core::{Answer, Config, ConfigInput, Context, Step, dry_run_answer, plan};

const API_KEY: &str = "scenario-secret-key-0123456789";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    /// Sensu settings JSON (with a `reactio` scope).
    #[serde(default)]
    settings: Value,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    flags: BTreeMap<String, String>,
    /// Do not add the default api key and organization flags.
    #[serde(default)]
    no_default_auth: bool,
    #[serde(default)]
    incidents: Vec<model::Incident>,
    #[serde(default)]
    faults: Vec<model::Fault>,
    #[serde(default)]
    page_cap: usize,
    /// The server lists every incident whatever `status` asks for.
    #[serde(default)]
    ignore_status_filter: bool,
    /// This many closed incidents of other checks before `incidents` (a project's
    /// history: ids from 100,000).
    #[serde(default)]
    closed_history: u64,
    /// How the server pages, where reactio-api.md leaves it open.
    #[serde(default)]
    paging: model::Paging,
    /// How the server writes its listings, where reactio-api.md leaves room.
    #[serde(default)]
    style: model::Style,
    /// Allow more than one open incident per key at the end (concurrency cases).
    #[serde(default)]
    allow_duplicates: bool,
    /// Seconds Reactio's clock is ahead of the handler's host (its `created_at`, and the
    /// `Date` of its listings, which it then sends).
    #[serde(default)]
    reactio_clock_ahead: i64,
    items: Vec<Item>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    sequence: Option<sequence::Sequence>,
    /// A person acts in Reactio: `{"close": 1}`, `{"take": 1}` (pend with a manager).
    #[serde(default)]
    person: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    now: Option<i64>,
    #[serde(default)]
    first_occurrence: bool,
    #[serde(default)]
    dry_run: bool,
    /// Expected outcome codes, one per event this item yields (`input_error` for a parse error).
    #[serde(default)]
    expect: Vec<String>,
    /// Faults added to the model just before this item.
    #[serde(default)]
    faults: Vec<model::Fault>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn load_config(s: &Scenario) -> Result<Config, String> {
    let mut flags = s.flags.clone();
    if !s.no_default_auth {
        flags.entry("api_key".into()).or_insert_with(|| API_KEY.into());
        flags.entry("organization".into()).or_insert_with(|| "demo".into());
    }
    let input = ConfigInput {
        settings: s.settings.clone(),
        env: s.env.clone(),
        flags,
        handler_name: None,
        key_files: BTreeMap::new(),
    };
    Config::load(&input).map_err(|e| e.to_string())
}

/// Run one scenario; returns the trace and the codes each event ended in.
fn run(s: &Scenario) -> (String, Vec<String>, model::Model) {
    let mut trace = String::new();
    let mut codes = Vec::new();
    let history = (0..s.closed_history).map(|n| model::Incident {
        id: 100_000 + n,
        name: format!("db{n:04}/check_disk CheckDisk CRITICAL: 97% used"),
        status: "close".into(),
        manager: None,
        created_at: 1_700_000_000 + i64::try_from(n).unwrap_or(0) * 600,
        closed_at: Some(1_700_000_300 + i64::try_from(n).unwrap_or(0) * 600),
    });
    let mut model = model::Model {
        incidents: history.chain(s.incidents.iter().cloned()).collect(),
        faults: s.faults.clone(),
        page_cap: s.page_cap,
        ignore_status_filter: s.ignore_status_filter,
        paging: s.paging.clone(),
        style: s.style.clone(),
        clock_ahead: s.reactio_clock_ahead,
        ..Default::default()
    };
    let config = match load_config(s) {
        Ok(c) => c,
        Err(e) => {
            writeln!(trace, "config error: {e}").unwrap();
            return (trace, vec!["config_error".into()], model);
        }
    };
    for w in &config.warnings {
        writeln!(trace, "config warning: {w}").unwrap();
    }
    let mut n = 0;
    for item in &s.items {
        model.faults.extend(item.faults.iter().cloned());
        if let Some(person) = &item.person {
            for (act, id) in person {
                let closed_at = model.now + model.clock_ahead;
                let inc = model.incidents.iter_mut().find(|i| i.id == *id).expect("person acts on a known incident");
                match act.as_str() {
                    "close" => {
                        inc.status = "close".into();
                        inc.closed_at = Some(closed_at);
                    }
                    "take" => {
                        inc.status = "pend".into();
                        inc.manager = Some(7);
                    }
                    "manage" => inc.manager = Some(7),
                    other => panic!("unknown person act {other}"),
                }
                writeln!(trace, "\n== a person: {act} incident {id}").unwrap();
            }
            continue;
        }
        let events: Vec<(Vec<u8>, i64)> = if let Some(seq) = &item.sequence {
            sequence::generate(seq).into_iter().map(|g| (g.json.to_string().into_bytes(), g.executed + 1)).collect()
        } else if let Some(event) = &item.event {
            vec![(event.to_string().into_bytes(), 1_764_000_000)]
        } else if let Some(raw) = &item.raw {
            vec![(raw.clone().into_bytes(), 1_764_000_000)]
        } else if let Some(file) = &item.file {
            vec![(std::fs::read(fixtures().join(file)).expect("fixture file"), 1_764_000_000)]
        } else {
            panic!("an item needs event, raw, file, sequence or person");
        };
        for (bytes, default_now) in events {
            n += 1;
            let now = item.now.unwrap_or(default_now);
            model.now = now;
            let context =
                // As the native host: received now (a live event).
                Context {
                    now,
                    first_occurrence: item.first_occurrence,
                    dry_run: item.dry_run,
                    received: Some(now),
                    ..Context::default()
                };
            writeln!(trace, "\n== event {n} (now {now}){}", if item.dry_run { " dry run" } else { "" }).unwrap();
            let mut machine = match plan(&bytes, &config, &context) {
                Ok(m) => m,
                Err(e) => {
                    writeln!(trace, "input error: {e}").unwrap();
                    codes.push("input_error".into());
                    continue;
                }
            };
            let mut guard = 0;
            loop {
                guard += 1;
                assert!(guard < 200, "{}: the machine did not finish in 200 steps", s.description);
                match machine.step().clone() {
                    Step::Request(r) => {
                        writeln!(trace, "-> {} {} {}", r.method.as_str(), r.path, r.body).unwrap();
                        assert!(
                            r.headers.iter().any(|(n, v)| n == "x-api-key" && !v.is_empty()) || item.dry_run,
                            "requests carry the key"
                        );
                        let answer = if item.dry_run { dry_run_answer(&r) } else { model.answer(&r) };
                        match &answer {
                            Answer::Response(resp) => writeln!(
                                trace,
                                "<- {} {}",
                                resp.status,
                                sensu_reactio_core::text::cap_chars(&resp.body, 200)
                            )
                            .unwrap(),
                            Answer::Failure(f) => writeln!(trace, "<- failure {:?}", f.kind).unwrap(),
                            Answer::Waited => {}
                        }
                        machine.handle(answer);
                    }
                    Step::Wait(w) => {
                        writeln!(trace, ".. wait {} ms: {}", w.min_ms, w.reason).unwrap();
                        machine.handle(Answer::Waited);
                    }
                    Step::Done(outcome) => {
                        let json = serde_json::to_string(&outcome).unwrap();
                        assert!(!json.contains(API_KEY), "the outcome holds the api key: {json}");
                        writeln!(trace, "== outcome {json}").unwrap();
                        codes.push(outcome.code.clone());
                        break;
                    }
                }
            }
        }
    }
    (trace, codes, model)
}

#[test]
fn scenarios() {
    let dir = fixtures().join("scenarios");
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("tests/fixtures/scenarios").map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    assert!(paths.len() >= 20, "the scenario corpus shrank to {}", paths.len());
    let mut failures = Vec::new();
    let mut total_events = 0;
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let scenario: Scenario =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (trace, codes, model) = run(&scenario);
        let (again, _, _) = run(&scenario);
        assert_eq!(trace, again, "{name}: not deterministic");
        assert!(!trace.contains(API_KEY), "{name}: the trace holds the api key");
        total_events += codes.len();
        let expected: Vec<String> = scenario.items.iter().flat_map(|i| i.expect.iter().cloned()).collect();
        if codes != expected {
            failures.push(format!(
                "{name}: expected codes {expected:?}\n{:>width$}got {codes:?}",
                "",
                width = name.len() + 11
            ));
        }
        if !scenario.allow_duplicates {
            let mut open: BTreeMap<String, u32> = BTreeMap::new();
            for inc in model.incidents.iter().filter(|i| i.status != "close") {
                let key = inc.name.split(' ').next().unwrap_or_default().to_owned();
                *open.entry(key).or_default() += 1;
            }
            assert!(open.values().all(|n| *n <= 1), "{name}: more than one open incident per key: {open:?}");
        }
        let snapshot = format!("{}\n{trace}", scenario.description);
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, snapshot);
        });
    }
    assert!(total_events >= 60, "the corpus holds {total_events} events; decisions.md needs at least 60");
    assert!(failures.is_empty(), "outcome codes differ:\n{}", failures.join("\n"));
}

/// Issue acceptance: the seed's settings file and a first critical give the seed's
/// request fields (name with the output's trailing whitespace trimmed).
#[test]
fn seed_request_fields_match_the_2015_handler() {
    let settings = serde_json::json!({
        "reactio": {"api_key": API_KEY, "organization": "demo"},
        "handlers": {"reactio": {"type": "pipe", "command": "/etc/sensu/handlers/reactio_handler.rb", "serverities": ["critical"]}}
    });
    let input = ConfigInput { settings, ..Default::default() };
    let config = Config::load(&input).expect("the seed's settings load");
    assert!(
        config.warnings.iter().any(|w| w.contains("serverities")),
        "no warning about `serverities`: {:?}",
        config.warnings
    );
    let event = std::fs::read(fixtures().join("../../examples/events/classic-critical.json")).unwrap();
    let mut machine = plan(&event, &config, &Context { now: 1_764_092_856, ..Context::default() }).unwrap();
    let create = loop {
        match machine.step().clone() {
            Step::Request(r) if r.purpose == sensu_reactio_core::Purpose::Create => break r,
            Step::Request(_) => machine.handle(Answer::Response(sensu_reactio_core::Response {
                status: 200,
                headers: vec![],
                body: "[]".into(),
            })),
            other => panic!("expected a create, got {other:?}"),
        }
    };
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", "/api/v1/incidents"));
    assert_eq!(create.authority, "demo.reactio.jp");
    let header = |name: &str| create.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("x-api-key"), Some(API_KEY));
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("accept"), Some("application/json"));
    let body: Value = serde_json::from_str(&create.body).unwrap();
    assert_eq!(body["name"], "web01/check_http CheckHttp CRITICAL: Connection refused ...");
    assert_eq!(body["detection"], "internal");
    assert_eq!(body["notification_text"], "対応をお願いします");
    assert_eq!(body["notification_call"], false);
    assert!(create.body.contains("対応をお願いします"), "UTF-8 must not be escaped: {}", create.body);
}

/// The configuration of the tests below: organization `demo`, the test key.
fn demo_config() -> Config {
    Config::load(&ConfigInput {
        flags: [("api_key".to_owned(), API_KEY.to_owned()), ("organization".to_owned(), "demo".to_owned())].into(),
        ..Default::default()
    })
    .unwrap()
}

/// Issue acceptance: huge and deeply nested input gives a typed error or a bounded
/// result, never a panic; a 16 MiB output is truncated for Reactio.
#[test]
fn huge_and_deep_inputs() {
    let config = demo_config();
    let context = Context { now: 1_764_000_000, ..Context::default() };
    let output = "ア".repeat(16 * 1024 * 1024 / 3);
    let event = serde_json::json!({"client": {"name": "a"}, "check": {"name": "b", "status": 2, "output": output, "history": ["0", "2"]}, "action": "create"});
    let mut machine = plan(event.to_string().as_bytes(), &config, &context).unwrap();
    let mut largest = 0;
    while let Step::Request(r) = machine.step().clone() {
        largest = largest.max(r.body.len());
        machine.handle(dry_run_answer(&r));
    }
    assert!(matches!(machine.step(), Step::Done(o) if o.code == "created"));
    assert!(largest < 64 * 1024, "a request body of {largest} bytes: the output was not truncated");
    let deep = format!("{{\"client\":{}}}", "[".repeat(100_000));
    assert!(plan(deep.as_bytes(), &config, &context).is_err());
}

/// A host's failure detail that quotes the key (a fetch refusing a header value, say)
/// is masked in every message; a key no header can carry is refused before any request.
#[test]
fn keys_in_failure_details_are_masked_and_keys_with_newlines_refused() {
    let load = |key: &str| {
        Config::load(&ConfigInput {
            flags: [("api_key".to_owned(), key.to_owned()), ("organization".to_owned(), "demo".to_owned())].into(),
            ..Default::default()
        })
        .unwrap()
    };
    let context = Context { now: 1_764_092_856, ..Context::default() };
    let event = std::fs::read(fixtures().join("../../examples/events/classic-critical.json")).unwrap();
    let mut machine = plan(&event, &load(API_KEY), &context).unwrap();
    let detail = format!("Headers.append: \"{API_KEY}\" is an invalid header value");
    for _ in 0..10 {
        match machine.step().clone() {
            Step::Request(_) => machine.handle(Answer::Failure(sensu_reactio_core::Failure {
                kind: sensu_reactio_core::FailureKind::Other,
                detail: detail.clone(),
            })),
            Step::Wait(_) => machine.handle(Answer::Waited),
            Step::Done(_) => break,
        }
    }
    let Step::Done(outcome) = machine.step() else { panic!("the run did not end: {:?}", machine.step()) };
    let text = serde_json::to_string(outcome).unwrap();
    assert!(text.contains("invalid header value"), "{text}");
    assert!(!text.to_ascii_lowercase().contains(&API_KEY.to_ascii_lowercase()[..12]), "{text}");

    let two_lines = format!("{API_KEY}\nan-older-key-0123456789");
    let machine = plan(&event, &load(&two_lines), &context).unwrap();
    let Step::Done(outcome) = machine.step() else { panic!("a request with a key no header can carry") };
    assert_eq!(outcome.code, "not_configured", "{outcome:?}");
    assert!(outcome.message.contains("an http header cannot carry"), "{}", outcome.message);
    assert!(!serde_json::to_string(outcome).unwrap().contains("an-older-key"));
}

/// A gateway host's outbound policy refusing a request (Spin without the Reactio host
/// in `allowed_outbound_hosts`) meets the same refusal on every retry: the run ends at
/// once as the host's configuration to fix (a gateway answers 500), not as "reactio is
/// not answering" (503, retried for ever).
#[test]
fn a_request_the_host_refuses_by_policy_ends_as_its_configuration() {
    let config = demo_config();
    let context = Context { now: 1_764_092_856, ..Context::default() };
    let event = std::fs::read(fixtures().join("../../examples/events/classic-critical.json")).unwrap();
    let mut machine = plan(&event, &config, &context).unwrap();
    assert!(matches!(machine.step(), Step::Request(_)), "{:?}", machine.step());
    machine.handle(Answer::Failure(sensu_reactio_core::Failure {
        kind: sensu_reactio_core::FailureKind::Refused,
        detail: "wasi:http: httprequestdenied".into(),
    }));
    let Step::Done(outcome) = machine.step() else { panic!("the run went on: {:?}", machine.step()) };
    assert_eq!((outcome.code.as_str(), outcome.retryable), ("not_configured", false), "{outcome:?}");
    assert!(
        outcome.message.contains("the host refused to send the lookup (open) to demo.reactio.jp"),
        "{}",
        outcome.message
    );
    assert!(outcome.message.contains("allowed_outbound_hosts"), "{}", outcome.message);
    let reply = sensu_reactio_core::gateway::reply_for_step(machine.step()).unwrap();
    assert_eq!(reply.status, 500, "{reply:?}");
}
