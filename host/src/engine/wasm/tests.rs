//! Tests of the wasm engine: hostile modules stopped and reported, the deadline and the
//! memory cap, and the compiled-code cache (checked, replaced when corrupt, swept).

use super::cache::{STALE_AFTER, SUM_EXTENSION, cache_path, digest};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A module file in a scratch directory (removed when this is dropped).
struct TestModule {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// `text` (WAT) compiled into a module file of a fresh scratch directory.
fn test_module(name: &str, text: &str) -> Result<TestModule, Box<dyn std::error::Error>> {
    let dir = tempfile::Builder::new().prefix(&format!("sensu-reactio-wasm-test-{name}-")).tempdir()?;
    let path = dir.path().join(MODULE_FILE);
    std::fs::write(&path, wat::parse_str(text)?)?;
    Ok(TestModule { _dir: dir, path })
}

/// A module with the raw ABI's exports; `plan` is the body of `sr_plan`.
fn hostile(name: &str, plan: &str, result_ptr: &str) -> Result<TestModule, Box<dyn std::error::Error>> {
    let text = format!(
        r#"(module
          (memory (export "memory") 1)
          (func (export "sr_abi_version") (result i32) i32.const 2)
          (func (export "sr_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "sr_dealloc") (param i32 i32))
          (func (export "sr_result_ptr") (result i32) {result_ptr})
          (func (export "sr_plan") (param i32 i32 i32 i32 i32 i32) (result i32) {plan})
          (func (export "sr_handle") (param i32 i32) (result i32) i32.const 0)
          (func (export "sr_resume") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) i32.const 0))"#
    );
    test_module(name, &text)
}

/// An engine result for `?` in a test.
fn ok<T>(result: Result<T, EngineError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

fn options(path: &Path) -> WasmOptions {
    WasmOptions {
        module: Some(path.to_path_buf()),
        memory_cap: 4 << 20,
        deadline: Duration::from_millis(200),
        cache: false,
    }
}

fn plan_error(path: &Path) -> String {
    let result = Wasm::with_options(&ConfigInput::default(), options(path))
        .and_then(|mut wasm| wasm.plan(b"{}", &Context::default()));
    match result {
        Err(EngineError::Engine(message)) => message,
        other => format!("not an engine error: {other:?}"),
    }
}

#[test]
fn a_missing_module_names_the_build_command() {
    let message = plan_error(Path::new("/nonexistent/sensu_reactio_core.wasm"));
    assert!(
        message.starts_with("the wasm module is missing (looked for /nonexistent/sensu_reactio_core.wasm)"),
        "{message}"
    );
    assert!(message.contains("`./x build`"), "{message}");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() -> TestResult {
    let started = std::time::Instant::now();
    let message = plan_error(&hostile("loop", "(loop $l (br $l)) i32.const 0", "i32.const 0")?.path);
    assert!(message.contains("was stopped while planning: it ran past its deadline of 200 ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped in time: {:?}", started.elapsed());
    Ok(())
}

#[test]
fn a_call_at_the_run_deadline_gets_its_minimum_and_no_more() -> TestResult {
    // 80 million loop turns: ~20 ms here, two epoch ticks, a fifth of MIN_CALL.
    let busy = "(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) \
                (br_if $l (i32.lt_u (local.get $i) (i32.const 80000000)))) i32.const 0";
    let late = hostile("late", busy, "i32.const 0")?;
    let module = Arc::new(ok(WasmModule::load(options(&late.path)))?);
    let mut instance = ok(module.instance())?;
    instance.until = Some(std::time::Instant::now());
    // Not stopped before its minimum: on a loaded machine the 20 ms can take longer
    // than MIN_CALL of wall time, and a stop after it is then right.
    let started = std::time::Instant::now();
    match instance.plan_json(b"{}", b"{}", b"{}") {
        Ok(out) => assert_eq!(out, "", "a short call past the run's deadline finishes"),
        Err(e) => assert!(
            started.elapsed() >= MIN_CALL,
            "a short call past the run's deadline was stopped after {:?}, before its minimum {MIN_CALL:?}: {e}",
            started.elapsed()
        ),
    }

    let late_loop = hostile("late-loop", "(loop $l (br $l)) i32.const 0", "i32.const 0")?;
    let looping = Arc::new(ok(WasmModule::load(options(&late_loop.path)))?);
    let mut instance = ok(looping.instance())?;
    instance.until = Some(std::time::Instant::now());
    let started = std::time::Instant::now();
    let message = match instance.plan_json(b"{}", b"{}", b"{}") {
        Err(e) => e.to_string(),
        Ok(out) => format!("not stopped: {out}"),
    };
    assert!(message.contains("it ran past its deadline of 100 ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped in time: {:?}", started.elapsed());
    Ok(())
}

#[test]
fn unbounded_memory_growth_is_stopped_by_the_cap() -> TestResult {
    let grow =
        "(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $l))) unreachable";
    let message = plan_error(&hostile("grow", grow, "i32.const 0")?.path);
    assert!(message.contains("was stopped while planning: it needed more than its memory cap of 4 MiB"), "{message}");
    Ok(())
}

#[test]
fn an_output_outside_memory_is_refused() -> TestResult {
    let message = plan_error(&hostile("oob", "i32.const 100", "i32.const 65500")?.path);
    assert!(
        message.contains("returned an output outside its memory (address 65500, 100 bytes) while planning"),
        "{message}"
    );
    let message = plan_error(&hostile("huge", "i32.const -1", "i32.const 0")?.path);
    assert!(message.contains("returned an output of 4294967295 bytes"), "{message}");
    Ok(())
}

#[test]
fn garbage_output_and_imports_are_refused() -> TestResult {
    let message = plan_error(&hostile("garbage", "i32.const 8", "i32.const 0")?.path);
    assert!(message.contains("returned a malformed step"), "{message}");

    let module = test_module("imports", r#"(module (import "env" "now" (func)) (memory (export "memory") 1))"#)?;
    let message = plan_error(&module.path);
    assert!(message.contains("imports env.now but must import nothing"), "{message}");
    Ok(())
}

#[test]
fn the_cache_is_written_checked_and_replaced_when_corrupt() -> TestResult {
    let module_file = hostile("cache", "i32.const 0", "i32.const 0")?;
    let path = &module_file.path;
    let with_cache = || WasmOptions { cache: true, ..options(path) };
    ok(WasmModule::load(with_cache()))?;
    let cwasm = cache_path(&ok(new_engine(false))?, path, xxhash_rust::xxh3::xxh3_128(&std::fs::read(path)?));
    let sum = cwasm.with_extension(SUM_EXTENSION);
    assert!(cwasm.is_file() && sum.is_file(), "{} written", cwasm.display());
    let written = std::fs::read(&cwasm)?;
    assert_eq!(std::fs::read_to_string(&sum)?, digest(&written));

    // Loaded from the cache (into an engine without a compiler): the file is not
    // rewritten, and the module runs.
    let before = std::fs::metadata(&cwasm)?.modified()?;
    std::thread::sleep(Duration::from_millis(20));
    let cached = Arc::new(ok(WasmModule::load(with_cache()))?);
    assert_eq!(std::fs::metadata(&cwasm)?.modified()?, before);
    assert_eq!(ok(ok(cached.instance())?.plan_json(b"{}", b"{}", b"{}"))?, "");

    // Corrupt it: the hash no longer matches, so it is recompiled and rewritten.
    let mut corrupt = written.clone();
    if let Some(byte) = corrupt.last_mut() {
        *byte ^= 0xff;
    }
    std::fs::write(&cwasm, &corrupt)?;
    let module = Arc::new(ok(WasmModule::load(with_cache()))?);
    assert_eq!(std::fs::read(&cwasm)?, written);
    // An empty output from `sr_plan` is not JSON: the module ran (it was usable).
    let out = ok(ok(module.instance())?.plan_json(b"{}", b"{}", b"{}"))?;
    assert_eq!(out, "");
    Ok(())
}

#[test]
fn a_miss_removes_stale_cache_files_of_this_module_only() -> TestResult {
    let module_file = hostile("sweep", "i32.const 0", "i32.const 0")?;
    let dir = module_file.path.parent().ok_or("no parent")?;
    let day_and_more = std::time::SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
    let place = |name: &str, old: bool| -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path)?;
        if old {
            file.set_modified(day_and_more)?;
        }
        Ok(path)
    };
    let stale = [
        place("sensu_reactio_core.0123456789abcdef.cwasm", true)?,
        place("sensu_reactio_core.0123456789abcdef.cwasm.xxh3", true)?,
        place("sensu_reactio_core.fedcba9876543210.tmp4242", true)?,
        place("sensu_reactio_core.fedcba9876543210.cwasm.tmp4242", true)?,
    ];
    let kept = [
        // Another version's, written recently: it may be in use right now.
        place("sensu_reactio_core.1111111111111111.cwasm", false)?,
        // Not names this engine writes, or another module's.
        place("sensu_reactio_core.0123456789ABCDEF.cwasm", true)?,
        place("sensu_reactio_core.0123.cwasm", true)?,
        place("sensu_reactio_core.0123456789abcdef.cwasm.bak", true)?,
        place("other.0123456789abcdef.cwasm", true)?,
        place("notes.txt", true)?,
    ];
    ok(WasmModule::load(WasmOptions { cache: true, ..options(&module_file.path) }))?;
    for path in &stale {
        assert!(!path.exists(), "{} removed", path.display());
    }
    for path in &kept {
        assert!(path.exists(), "{} kept", path.display());
    }
    let fresh = cache_path(
        &ok(new_engine(false))?,
        &module_file.path,
        xxhash_rust::xxh3::xxh3_128(&std::fs::read(&module_file.path)?),
    );
    assert!(fresh.is_file() && fresh.with_extension(SUM_EXTENSION).is_file(), "{} written", fresh.display());
    Ok(())
}

/// Steps of each kind, as the module writes them (tag first) and with the tag last,
/// read back to the same step: the tag-first shortcut and serde's general path agree.
#[test]
fn steps_read_back_whether_or_not_the_tag_comes_first() -> TestResult {
    let mut input = ConfigInput::default();
    input.flags.insert("api_key".into(), "sk-test-key".into());
    input.flags.insert("endpoint".into(), "https://demo.reactio.jp".into());
    let config = sensu_reactio_core::Config::load(&input)?;
    let critical: &[u8] = include_bytes!("../../../../examples/events/classic-critical.json");
    let now = Context { now: 1_764_092_860, ..Context::default() };
    let request = sensu_reactio_core::plan(critical, &config, &now)?.step().clone();
    let warning = String::from_utf8(critical.to_vec())?
        .replace(r#""status":2"#, r#""status":1"#)
        .replace(r#""history":["0","0","2"]"#, r#""history":["0","0","1"]"#);
    let done = sensu_reactio_core::plan(warning.as_bytes(), &config, &now)?.step().clone();
    let wait = Step::Wait(sensu_reactio_core::Wait { min_ms: 1500, reason: "answered 503 \"busy\"".into() });
    assert!(matches!(request, Step::Request(_)), "{request:?}");
    assert!(matches!(done, Step::Done(_)), "{done:?}");
    for step in [request, wait, done] {
        let written = serde_json::to_string(&step)?;
        assert!(written.starts_with(r#"{"step":""#), "{written}");
        assert_eq!(read_step(&written)?, step, "tag first: {written}");
        // The same object with its tag moved to the end.
        let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&written)?;
        let tag = object.remove("step").ok_or("no tag")?;
        let mut tag_last = serde_json::to_string(&object)?;
        tag_last.truncate(tag_last.len() - 1);
        tag_last.push_str(&format!(r#","step":{tag}}}"#));
        assert!(!tag_last.starts_with(r#"{"step""#), "{tag_last}");
        assert_eq!(read_step(&tag_last)?, step, "tag last: {tag_last}");
    }
    // A step the shortcut reads is checked like any other: a malformed one is refused.
    assert!(read_step(r#"{"step":"wait","min_ms":"soon","reason":""}"#).is_err());
    assert!(read_step(r#"{"step":"later","min_ms":1}"#).is_err());
    Ok(())
}
