//! Property tests over the core (CI's guard; the long runs are the cargo-fuzz targets
//! in `fuzz/`): no panic on arbitrary bytes or on mutated fixture events, and driven
//! with arbitrary server answers every machine reaches `Step::Done` within a bound,
//! ignores answers that do not fit its step, and never puts the key anywhere but the
//! `x-api-key` header.

use std::path::Path;

use proptest::prelude::*;
use sensu_reactio_core::{
    Answer, Config, ConfigInput, Context, Failure, FailureKind, Machine, Method, Outcome, Response, Step, inspect, plan,
};
use serde_json::{Value, json};

use crate::support::{KEY, leaks_key};

/// Steps allowed besides two per listed incident (duplicate healing posts to and
/// closes each newer one): a lookup is at most 3 listings of at most 40 pages, there
/// are at most 5 lookups (the first and a relookup per retry after an uncertain
/// create), then a verify listing, 4 retries and the writes: 5 x 120 + 40 + 4 + a few.
const BASE_STEPS: usize = 700;

/// A fixed "now" (2025-11-24).
const NOW: i64 = 1_764_000_000;

fn configs() -> Vec<Config> {
    [
        json!({"reactio": {"api_key": KEY, "organization": "demo"}}),
        json!({"reactio": {"api_key": KEY, "endpoint": "http://127.0.0.1:9/base",
            "severities": ["warning", "critical", "unknown"], "call": ["critical"], "occurrences": 2,
            "refresh": 60, "reconcile": 120, "max_renotify": 2, "close_on_resolve": "always",
            "topics": ["db"], "timezone_offset": "+09:00", "alert_when_silenced": true, "alert_when_flapping": true}}),
        json!({"reactio": {"api_key": KEY, "organization": "demo", "refresh": 0, "reconcile": 0,
            "close_on_resolve": "never", "call": ["critical"], "call_on_renotify": false,
            "name_template": "{{.Key}} {{.Check.Name}}", "message_template": "<i>{{.Check.Output}}</i>",
            "profiles": {"team-a": {"organization": "a", "api_key": KEY}}}}),
        json!({"reactio": {"organization": "demo"}}),
    ]
    .into_iter()
    .map(|settings| Config::load(&ConfigInput { settings, ..ConfigInput::default() }).expect("test config loads"))
    .collect()
}

/// The upstream fixtures and the shipped example events.
fn seed_events() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("fixtures/upstream"))
        .into_iter()
        .flatten()
        .chain(std::fs::read_dir(root.join("../examples/events")).into_iter().flatten())
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let events: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).expect("read fixture")).collect();
    assert!(events.len() >= 12, "the upstream fixtures are missing ({} found)", events.len());
    events
}

/// A server answer, decided before the key is known.
#[derive(Clone, Debug)]
enum ArbAnswer {
    Response { status: u16, retry_after: Option<String>, body: ArbBody },
    Failure { kind: usize, detail: String },
}

#[derive(Clone, Debug)]
enum ArbBody {
    Text(String),
    /// Incidents: (name kind, suffix, status index, manager, created_at, id).
    List(Vec<(u8, String, u8, Option<i64>, i64, i64)>),
    Created(Value),
    Error(String, String, Vec<(String, String)>),
}

fn arb_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        prop::collection::vec(any::<i8>(), 0..4).prop_map(|v| json!(v)),
    ]
}

fn arb_body() -> impl Strategy<Value = ArbBody> {
    let incident =
        (0u8..4, ".{0,8}", 0u8..4, prop::option::of(-1i64..3), any::<i64>(), prop_oneof![1i64..20, any::<i64>()]);
    prop_oneof![
        ".{0,40}".prop_map(ArbBody::Text),
        Just(ArbBody::Text("[]".into())),
        prop::collection::vec(incident, 0..60).prop_map(ArbBody::List),
        arb_json().prop_map(ArbBody::Created),
        (".{0,10}", ".{0,30}", prop::collection::vec(("[a-z_]{0,8}", "[a-z_]{0,10}"), 0..3))
            .prop_map(|(t, m, f)| ArbBody::Error(t, m, f)),
    ]
}

fn arb_answer() -> impl Strategy<Value = ArbAnswer> {
    let status = prop_oneof![
        4 => Just(200u16), 2 => Just(201u16), 1 => Just(204u16), 1 => Just(302u16), 1 => Just(400u16),
        1 => Just(401u16), 1 => Just(403u16), 1 => Just(404u16), 1 => Just(408u16), 1 => Just(429u16),
        2 => Just(500u16), 1 => Just(502u16), 1 => Just(503u16), 1 => any::<u16>(),
    ];
    let retry_after = prop::option::of(prop_oneof![
        any::<u32>().prop_map(|s| s.to_string()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Mon, 24 Nov 2025 16:00:30 GMT".to_owned()),
        ".{0,30}",
    ]);
    prop_oneof![
        4 => (status, retry_after, arb_body()).prop_map(|(status, retry_after, body)| ArbAnswer::Response { status, retry_after, body }),
        1 => (0usize..6, ".{0,30}").prop_map(|(kind, detail)| ArbAnswer::Failure { kind, detail }),
    ]
}

impl ArbAnswer {
    /// The answer for the event with `key`; also how many incidents it lists.
    fn answer(&self, key: &str) -> (Answer, usize) {
        match self {
            ArbAnswer::Failure { kind, detail } => (
                Answer::Failure(Failure {
                    kind: FailureKind::ALL[kind % FailureKind::ALL.len()],
                    detail: detail.clone(),
                }),
                0,
            ),
            ArbAnswer::Response { status, retry_after, body } => {
                let headers = retry_after.iter().map(|v| ("Retry-After".to_owned(), v.clone())).collect();
                let (body, listed) = match body {
                    ArbBody::Text(t) => (t.clone(), 0),
                    ArbBody::List(items) => {
                        let list: Vec<Value> = items
                            .iter()
                            .map(|(kind, suffix, status, manager, created, id)| {
                                let name = match kind {
                                    0 => key.to_owned(),
                                    1 => format!("{key} {suffix}"),
                                    2 => format!("{key}{suffix}"),
                                    _ => suffix.clone(),
                                };
                                let status = ["open", "pend", "close", "other"][usize::from(*status) % 4];
                                json!({"id": id, "name": name, "status": status, "manager": manager, "created_at": created})
                            })
                            .collect();
                        (Value::Array(list).to_string(), items.len())
                    }
                    ArbBody::Created(id) => (json!({"id": id}).to_string(), 0),
                    ArbBody::Error(t, m, fields) => {
                        let errors: Vec<Value> = fields.iter().map(|(f, c)| json!({"field": f, "code": c})).collect();
                        (json!({"type": t, "message": m, "errors": errors}).to_string(), 0)
                    }
                };
                (Answer::Response(Response { status: *status, headers, body }), listed)
            }
        }
    }
}

/// Checks on one step.
fn check_step(step: &Step, check_key: bool) {
    let text = serde_json::to_string(step).expect("a step serializes");
    let back: Step = serde_json::from_str(&text).expect("a step parses back");
    assert_eq!(&back, step, "a step changed in its json round trip");
    match step {
        Step::Request(r) => {
            assert!(r.path.starts_with('/'));
            if r.method == Method::Post {
                serde_json::from_str::<Value>(&r.body).expect("a POST body is json");
            } else {
                assert!(r.body.is_empty());
            }
            if check_key {
                let others: Vec<&(String, String)> = r.headers.iter().filter(|(n, _)| n != "x-api-key").collect();
                assert!(
                    !leaks_key(format!("{others:?} {} {}", r.path, r.body).as_bytes()),
                    "key outside its header: {r:?}"
                );
                assert!(!leaks_key(format!("{:?}", r.redacted()).as_bytes()), "key in a redacted request");
            }
        }
        Step::Wait(w) => assert!(!check_key || !leaks_key(w.reason.as_bytes()), "key in a wait reason: {w:?}"),
        Step::Done(o) => {
            assert!(!o.message.is_empty());
            assert!(!check_key || !leaks_key(format!("{o:?}").as_bytes()), "key in the outcome: {o:?}");
        }
    }
}

/// Drive `machine` to its end with the answers (cycled); waits get `Waited`, and a
/// misfit answer is offered first at every step and must change nothing.
fn drive(machine: &mut Machine, key: &str, answers: &[ArbAnswer], check_key: bool) -> Outcome {
    let mut steps = 0usize;
    let mut listed = 0usize;
    let mut next = answers.iter().cycle();
    loop {
        let step = machine.step().clone();
        check_step(&step, check_key);
        steps += 1;
        assert!(steps <= BASE_STEPS + 2 * listed, "no end after {steps} steps ({listed} listed): {step:?}");
        match &step {
            Step::Done(outcome) => {
                machine.handle(Answer::Waited);
                assert_eq!(machine.step(), &step, "a done machine moved");
                return outcome.clone();
            }
            Step::Wait(_) => {
                machine.handle(Answer::Response(Response { status: 200, headers: Vec::new(), body: "[]".into() }));
                assert_eq!(machine.step(), &step, "a response to a wait moved the machine");
                machine.handle(Answer::Waited);
            }
            Step::Request(_) => {
                machine.handle(Answer::Waited);
                assert_eq!(machine.step(), &step, "`waited` for a request moved the machine");
                let (answer, n) = match next.next() {
                    Some(a) => a.answer(key),
                    None => (Answer::Response(Response { status: 200, headers: Vec::new(), body: "[]".into() }), 0),
                };
                listed += n;
                machine.handle(answer);
            }
        }
    }
}

/// Plan `event` with every config (live, first occurrence, dry run) and drive each run.
fn exercise(event: &[u8], answers: &[ArbAnswer]) {
    let summary = inspect(event);
    let check_key = !leaks_key(event) && !leaks_key(format!("{answers:?}").as_bytes());
    for (i, config) in configs().iter().enumerate() {
        let context = Context { now: NOW, first_occurrence: i == 1, dry_run: i == 2, ..Context::default() };
        let planned = plan(event, config, &context);
        assert_eq!(planned.is_ok(), summary.is_ok(), "inspect and plan disagree");
        match (planned, &summary) {
            (Ok(mut machine), Ok(summary)) => {
                let outcome = drive(&mut machine, &summary.key, answers, check_key);
                assert_eq!(outcome.key, summary.key);
            }
            (Err(e), _) => {
                let message = e.to_string();
                assert!(!message.is_empty() && !message.contains('\n'), "an input error is one line: {message:?}");
            }
            _ => {}
        }
    }
}

/// Byte-level mutations of a fixture.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(event: &mut Vec<u8>, mutation: &Mutation) {
    let len = event.len().max(1);
    match mutation {
        Mutation::Truncate(i) => event.truncate(i % len),
        Mutation::Flip(i, b) => {
            if let Some(byte) = event.get_mut(i % len) {
                *byte ^= b | 1;
            }
        }
        Mutation::Insert(i, bytes) => {
            let at = (i % len).min(event.len());
            event.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = (i % len).min(event.len());
            let end = (at + n).min(event.len());
            event.drain(at..end);
        }
    }
}

/// Replace the value at a path chosen by `picks` (walking objects and arrays); a
/// scalar on the way, or the end of the picks, is where the value goes.
fn replace_somewhere(node: &mut Value, picks: &[usize], value: Value) {
    let Some((pick, rest)) = picks.split_first() else {
        *node = value;
        return;
    };
    let child = match node {
        Value::Object(map) if !map.is_empty() => {
            let n = map.len();
            map.values_mut().nth(pick % n)
        }
        Value::Array(list) if !list.is_empty() => {
            let n = list.len();
            list.get_mut(pick % n)
        }
        _ => None,
    };
    match child {
        Some(child) if child.is_object() || child.is_array() => replace_somewhere(child, rest, value),
        Some(child) => *child = value,
        None => *node = value,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), answers in prop::collection::vec(arb_answer(), 1..12)) {
        exercise(&bytes, &answers);
    }

    #[test]
    fn arbitrary_text_that_looks_like_an_event_never_panics(text in r#"\{("(client|check|entity|name|status|history|action|metadata|output)":( |\{|\[|"[a-z0-9 ]{0,6}"|[0-9-]{1,4}|null|true|,|\]|\}){0,6}){0,8}"#) {
        exercise(text.as_bytes(), &[]);
    }

    #[test]
    fn byte_mutated_fixtures_never_panic(seed in any::<usize>(), mutations in prop::collection::vec(arb_mutation(), 1..6), answers in prop::collection::vec(arb_answer(), 1..16)) {
        let seeds = seed_events();
        let mut event = seeds[seed % seeds.len()].clone();
        for m in &mutations {
            apply(&mut event, m);
        }
        exercise(&event, &answers);
    }

    #[test]
    fn value_mutated_fixtures_never_panic_and_always_finish(
        seed in any::<usize>(),
        edits in prop::collection::vec((prop::collection::vec(any::<usize>(), 1..5), arb_json()), 1..5),
        answers in prop::collection::vec(arb_answer(), 1..24),
    ) {
        let seeds = seed_events();
        let mut event: Value = serde_json::from_slice(&seeds[seed % seeds.len()]).expect("fixtures are json");
        for (picks, value) in edits {
            replace_somewhere(&mut event, &picks, value);
        }
        exercise(event.to_string().as_bytes(), &answers);
    }

    #[test]
    fn valid_fixtures_finish_against_any_server(seed in any::<usize>(), answers in prop::collection::vec(arb_answer(), 1..40)) {
        let seeds = seed_events();
        exercise(&seeds[seed % seeds.len()], &answers);
    }
}

/// The bound is not vacuous: a server that always fails ends in `retries_exhausted`,
/// one that pages forever ends in `lookup_overflow`, and neither leaks the key.
#[test]
fn hostile_servers_end_with_the_documented_failures() {
    let critical = br#"{"client":{"name":"web01"},"check":{"name":"check_http","status":2,"output":"down","history":["0","2"]},"occurrences":1,"action":"create"}"#;
    let config = &configs()[0];
    let always_500 = [ArbAnswer::Response { status: 500, retry_after: None, body: ArbBody::Text("oops".into()) }];
    let mut machine = plan(critical, config, &Context { now: NOW, ..Context::default() }).expect("plans");
    let outcome = drive(&mut machine, "web01/check_http", &always_500, true);
    assert_eq!((outcome.code.as_str(), outcome.retryable), ("retries_exhausted", true), "{outcome:?}");

    // Pages of 50 fresh, non-matching incidents forever (ids differ on every page).
    let mut machine = plan(critical, config, &Context { now: NOW, ..Context::default() }).expect("plans");
    let mut page = 0i64;
    let mut steps = 0;
    let outcome = loop {
        steps += 1;
        assert!(steps < 100, "paging did not stop");
        match machine.step().clone() {
            Step::Done(o) => break o,
            Step::Wait(_) => machine.handle(Answer::Waited),
            Step::Request(_) => {
                page += 1;
                let list: Vec<Value> =
                    (0..50).map(|i| json!({"id": page * 100 + i, "name": "other/check", "status": "open"})).collect();
                machine.handle(Answer::Response(Response {
                    status: 200,
                    headers: Vec::new(),
                    body: Value::Array(list).to_string(),
                }));
            }
        }
    };
    assert_eq!(outcome.code, "lookup_overflow", "{outcome:?}");
    assert!(outcome.retryable);
}
