//! Criterion: the same planning through the raw wasm module under wasmtime, using the
//! host's wasm engine (`sensu_reactio_host::engine::wasm`), beside the native engine
//! behind the same `Engine` trait (what `--engine wasm|native` runs per event):
//! - `engine_plan`: one event planned to its first request, native vs wasm, small,
//!   typical and large events of both formats (Sensu Classic and Sensu Go);
//! - `engine_first_critical`: plan + the 5 scripted answers, native vs wasm;
//! - `raw_call`: the same plan as JSON in and JSON out on both sides, the module's
//!   `sr_plan` (`WasmInstance::plan_json`) against `json_api::Session::plan` natively
//!   (what the Node comparison takes as native): the module's own work, without the
//!   host's encoding of the context and parsing of the step;
//! - `module_load`: loading the module with the precompiled `.cwasm` cache (what every
//!   run after the first does) and compiling it from scratch (cache off), plus one
//!   fresh instance.
//!
//! Needs `wasm/pkg/sensu_reactio_core.wasm` (`scripts/build-wasm.sh`); the module is
//! copied to a scratch directory so the benchmark's cache files stay there
//! (`SENSU_REACTIO_BENCH_MODULE=path` benchmarks another build of it).
//! `cargo bench -p sensu-reactio-bench --bench wasm`.

// A benchmark whose setup is broken stops loudly.
#![allow(clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sensu_reactio_bench::{
    CLASSIC_KEY, NOW, Size, config_input, context, first_critical_answers, first_critical_classic, first_critical_go,
};
use sensu_reactio_core::{Config, Step, json_api};
use sensu_reactio_host::engine::wasm::{MODULE_FILE, Wasm, WasmModule, WasmOptions};
use sensu_reactio_host::engine::{Engine, Native};
use sensu_reactio_tests::process::{Scratch, scratch};

const ENDPOINT: &str = "https://demo.reactio.jp";

/// The module copied into a fresh scratch directory (its cache files land there; the
/// directory goes when the guard is dropped), and the copy's path.
fn module_copy() -> (Scratch, PathBuf) {
    let source = std::env::var_os("SENSU_REACTIO_BENCH_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wasm/pkg").join(MODULE_FILE));
    assert!(source.is_file(), "{} is missing: run scripts/build-wasm.sh first", source.display());
    let dir = scratch("bench", "wasm");
    let copy = dir.join(MODULE_FILE);
    std::fs::copy(&source, &copy).unwrap_or_else(|e| panic!("copy the module: {e}"));
    (dir, copy)
}

fn options(module: &Path, cache: bool) -> WasmOptions {
    WasmOptions { module: Some(module.to_path_buf()), cache, ..WasmOptions::default() }
}

fn engines(module: &Path) -> Vec<(&'static str, Box<dyn Engine>)> {
    let input = config_input(ENDPOINT);
    let config = Config::load(&input).unwrap_or_else(|e| panic!("config: {e}"));
    let wasm = Wasm::with_options(&input, options(module, true)).unwrap_or_else(|e| panic!("wasm engine: {e}"));
    vec![("native", Box::new(Native::new(config))), ("wasm", Box::new(wasm))]
}

fn engine_plan(c: &mut Criterion) {
    let (_dir, module) = module_copy();
    let ctx = context();
    let mut group = c.benchmark_group("engine_plan");
    for (name, mut engine) in engines(&module) {
        for size in Size::ALL {
            for (format, event) in
                [("classic", first_critical_classic(size, NOW)), ("go", first_critical_go(size, NOW))]
            {
                let step = engine.plan(&event, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
                assert!(matches!(step, Step::Request(_)), "{step:?}");
                group.throughput(Throughput::Elements(1));
                group.bench_function(format!("{name}/{format}/{}", size.name()), |b| {
                    b.iter(|| engine.plan(black_box(&event), &ctx).unwrap_or_else(|e| panic!("plan: {e}")))
                });
            }
        }
    }
    group.finish();
}

fn engine_first_critical(c: &mut Criterion) {
    let (_dir, module) = module_copy();
    let ctx = context();
    let answers = first_critical_answers(CLASSIC_KEY);
    let event = first_critical_classic(Size::Typical, NOW);
    let mut group = c.benchmark_group("engine_first_critical");
    for (name, mut engine) in engines(&module) {
        let mut step = engine.plan(&event, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
        for answer in &answers {
            step = engine.handle(answer.clone()).unwrap_or_else(|e| panic!("handle: {e}"));
        }
        assert!(matches!(&step, Step::Done(o) if o.code == "created"), "{step:?}");
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{name}/classic/typical"), |b| {
            b.iter_batched(
                || answers.clone(),
                |answers| {
                    let mut step = engine.plan(black_box(&event), &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
                    for answer in answers {
                        step = engine.handle(answer).unwrap_or_else(|e| panic!("handle: {e}"));
                    }
                    step
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn raw_call(c: &mut Criterion) {
    let (_dir, module) = module_copy();
    let config = serde_json::to_vec(&config_input(ENDPOINT)).unwrap_or_else(|e| panic!("config: {e}"));
    let ctx = serde_json::to_vec(&context()).unwrap_or_else(|e| panic!("context: {e}"));
    let event = first_critical_classic(Size::Typical, NOW);
    let loaded = Arc::new(WasmModule::load(options(&module, true)).unwrap_or_else(|e| panic!("load: {e}")));
    let mut instance = loaded.instance().unwrap_or_else(|e| panic!("instance: {e}"));
    let mut session = json_api::Session::new();
    let native = session.plan(&config, &event, &ctx);
    let wasm = instance.plan_json(&config, &event, &ctx).unwrap_or_else(|e| panic!("plan: {e}"));
    assert!(native.starts_with(r#"{"step":"request""#), "{native}");
    assert_eq!(native, wasm, "the module and the native JSON API disagree");
    let mut group = c.benchmark_group("raw_call");
    group.throughput(Throughput::Elements(1));
    group.bench_function("native_json_api/classic/typical", |b| {
        b.iter(|| session.plan(black_box(&config), black_box(&event), &ctx))
    });
    group.bench_function("wasm_sr_plan/classic/typical", |b| {
        b.iter(|| {
            instance.plan_json(black_box(&config), black_box(&event), &ctx).unwrap_or_else(|e| panic!("plan: {e}"))
        })
    });
    group.finish();
}

fn module_load(c: &mut Criterion) {
    let (_dir, module) = module_copy();
    // Warm the cache once.
    drop(WasmModule::load(options(&module, true)).unwrap_or_else(|e| panic!("load: {e}")));
    let mut group = c.benchmark_group("module_load");
    group.sample_size(10);
    group.bench_function("precompiled_cwasm+instance", |b| {
        b.iter(|| {
            let loaded = Arc::new(WasmModule::load(options(&module, true)).unwrap_or_else(|e| panic!("load: {e}")));
            loaded.instance().unwrap_or_else(|e| panic!("instance: {e}"))
        })
    });
    group.bench_function("compile_from_wasm+instance", |b| {
        b.iter_batched(
            || (),
            |()| {
                let loaded =
                    Arc::new(WasmModule::load(options(&module, false)).unwrap_or_else(|e| panic!("load: {e}")));
                loaded.instance().unwrap_or_else(|e| panic!("instance: {e}"))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, engine_plan, engine_first_critical, raw_call, module_load);
criterion_main!(benches);
