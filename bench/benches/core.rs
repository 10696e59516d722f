//! Criterion: the core's planning per event, native. Small, typical and large events
//! in both formats, through to the first request step (`plan`); a full first critical
//! with scripted answers (plan + 5 answers to `Done`); the same through `json_api`
//! (what the wasm builds run), also as the JS package calls it (one `Session`); and
//! loading the configuration once.
//!
//! `cargo bench -p sensu-reactio-bench --bench core` (see BENCHMARKS.md).

// A benchmark whose setup is broken stops loudly.
#![allow(clippy::panic)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sensu_reactio_bench::{
    CLASSIC_KEY, NOW, Size, config_input, context, first_critical_answers, first_critical_classic, first_critical_go,
    skipped_classic,
};
use sensu_reactio_core::{Config, Step, json_api, plan};

const ENDPOINT: &str = "https://demo.reactio.jp";

/// examples/events/classic-critical.json (what the Node benchmark plans).
fn example_event() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/events/classic-critical.json");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn plan_first_request(c: &mut Criterion) {
    let config = Config::load(&config_input(ENDPOINT)).unwrap_or_else(|e| panic!("config: {e}"));
    let ctx = context();
    let mut group = c.benchmark_group("plan_to_first_request");
    for size in Size::ALL {
        for (format, event) in [("classic", first_critical_classic(size, NOW)), ("go", first_critical_go(size, NOW))] {
            let machine = plan(&event, &config, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
            assert!(matches!(machine.step(), Step::Request(_)), "{format} {}: {:?}", size.name(), machine.step());
            group.throughput(Throughput::Elements(1));
            group.bench_function(format!("{format}/{}/{}B", size.name(), event.len()), |b| {
                b.iter(|| plan(black_box(&event), &config, &ctx))
            });
        }
    }
    group.finish();
}

fn skipped(c: &mut Criterion) {
    let config = Config::load(&config_input(ENDPOINT)).unwrap_or_else(|e| panic!("config: {e}"));
    let ctx = context();
    let event = skipped_classic(Size::Typical, NOW);
    let machine = plan(&event, &config, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
    assert!(matches!(machine.step(), Step::Done(_)));
    let mut group = c.benchmark_group("plan_skipped");
    group.throughput(Throughput::Elements(1));
    group.bench_function("classic/typical", |b| b.iter(|| plan(black_box(&event), &config, &ctx)));
    group.finish();
}

fn full_first_critical(c: &mut Criterion) {
    let config = Config::load(&config_input(ENDPOINT)).unwrap_or_else(|e| panic!("config: {e}"));
    let ctx = context();
    let answers = first_critical_answers(CLASSIC_KEY);
    let mut group = c.benchmark_group("first_critical_full_run");
    for size in Size::ALL {
        let event = first_critical_classic(size, NOW);
        // Check once that the script leads to a created incident.
        let mut machine = plan(&event, &config, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
        for answer in &answers {
            machine.handle(answer.clone());
        }
        match machine.step() {
            Step::Done(outcome) => assert_eq!(outcome.code, "created", "{outcome:?}"),
            other => panic!("not done after the script: {other:?}"),
        }
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("classic/{}", size.name()), |b| {
            b.iter_batched(
                || answers.clone(),
                |answers| {
                    let mut machine = plan(black_box(&event), &config, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
                    for answer in answers {
                        machine.handle(answer);
                    }
                    machine
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn json_api_plan(c: &mut Criterion) {
    let input = serde_json::to_vec(&config_input(ENDPOINT)).unwrap_or_default();
    let ctx = serde_json::to_vec(&context()).unwrap_or_default();
    let mut group = c.benchmark_group("json_api_plan");
    for size in Size::ALL {
        let event = first_critical_classic(size, NOW);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("classic/{}", size.name()), |b| {
            b.iter(|| json_api::plan_json(black_box(&input), black_box(&event), &ctx))
        });
    }
    // The same event as the Node benchmark (wasm/js/bench/plan.mjs), for the ratio.
    let example = example_event();
    group.bench_function("example", |b| b.iter(|| json_api::plan_json(black_box(&input), black_box(&example), &ctx)));
    let answers: Vec<Vec<u8>> =
        first_critical_answers(CLASSIC_KEY).iter().map(|a| serde_json::to_vec(a).unwrap_or_default()).collect();
    group.bench_function("example_first_critical", |b| {
        b.iter(|| {
            let (machine, out) = json_api::plan_json(black_box(&input), black_box(&example), &ctx);
            let mut machine = machine.unwrap_or_else(|| panic!("plan: {out}"));
            for answer in &answers {
                json_api::handle_json(&mut machine, answer);
            }
            machine
        })
    });
    group.finish();
}

/// The JS package's calls, natively: a `json_api::Session` (configuration kept between
/// plans) fed exactly the inputs of wasm/js/bench/plan.mjs, so the Node figures have a
/// like-for-like native baseline (JSON in, JSON out, the same session).
fn json_api_session(c: &mut Criterion) {
    let config = br#"{"flags":{"api_key":"sk-bench-0123456789abcdef","endpoint":"https://demo.reactio.jp"}}"#;
    let context = br#"{"now":1764092855}"#;
    let event = example_event();
    let incident = r#"{"id":101,"name":"web01/check_http","status":"open","manager":null,"created_at":1764092795,"updated_at":1764092795,"pended_at":null,"closed_at":null,"topics":[],"files":[],"users":[]}"#;
    let response = |status: u16, body: &str| {
        serde_json::json!({"answer": "response", "status": status, "headers": [["content-type", "application/json"]], "body": body})
            .to_string()
    };
    let answers = [
        response(200, "[]"),
        response(200, "[]"),
        response(201, incident),
        response(200, &format!("[{incident}]")),
        response(200, "[]"),
    ];
    let mut session = json_api::Session::new();
    session.plan(config, &event, context);
    let last = answers.iter().map(|a| session.handle(a.as_bytes())).last().unwrap_or_default();
    assert!(last.contains(r#""code":"created""#), "the script creates: {last}");

    let mut group = c.benchmark_group("json_api_session");
    group.bench_function("example_plan", |b| b.iter(|| session.plan(config, black_box(&event), context)));
    group.bench_function("example_first_critical", |b| {
        b.iter(|| {
            session.plan(config, black_box(&event), context);
            answers.iter().map(|a| session.handle(a.as_bytes()).len()).sum::<usize>()
        })
    });
    group.finish();
}

fn config_load(c: &mut Criterion) {
    let input = config_input(ENDPOINT);
    c.bench_function("config_load/flags_only", |b| b.iter(|| Config::load(black_box(&input))));
}

criterion_group!(
    benches,
    plan_first_request,
    skipped,
    full_first_critical,
    json_api_plan,
    json_api_session,
    config_load
);
criterion_main!(benches);
