//! Size budgets from decisions.md ("Budgets"), checked on the built artifacts: the raw
//! import-free core module at most 200 KB and, since the fifteenth session met it, at
//! most its 150 KB goal (issue 13's target: kept there, not only reported),
//! the JS package's module at most 300 KB, and the release handler's size reported.
//! Timings are never asserted here: they belong to the benchmarks (`bench/`,
//! BENCHMARKS.md).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};

/// decisions.md: the raw import-free core module, 200 KB. decisions.md writes KiB where
/// it means 1,024 bytes ("events up to 64 KiB"), so KB is 1,000 bytes: the stricter
/// reading, as the parity test reads it too.
const RAW_MODULE_BUDGET: u64 = 200 * 1000;
/// decisions.md: its goal (150 KB), issue 13's target; asserted since it was met.
const RAW_MODULE_GOAL: u64 = 150 * 1000;
/// The JS package's module (wasm-bindgen, built for speed at opt-level 2): held to the
/// gateway adapters' budget (decisions.md: 300 KB), as the JS edge runs the same code.
const JS_MODULE_BUDGET: u64 = 300 * 1000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn gzipped_len(bytes: &[u8]) -> Option<usize> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gzip").arg("-9c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    child.stdin.take()?.write_all(bytes).ok()?;
    Some(child.wait_with_output().ok()?.stdout.len())
}

/// A built wasm artifact (relative to the workspace): its path, its size, and `", N
/// gzipped"` when gzip is at hand; missing, an error naming the build command.
fn built(relative: &str) -> Result<(PathBuf, u64, String), String> {
    let path = root().join(relative);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{}: {e}; run `./x build` (it runs scripts/build-wasm.sh)", path.display()))?;
    let gz = gzipped_len(&bytes).map(|n| format!(", {n} gzipped")).unwrap_or_default();
    Ok((path, bytes.len() as u64, gz))
}

#[test]
fn raw_core_module_is_within_its_size_budget() {
    let (path, size, gz) = built("wasm/pkg/sensu_reactio_core.wasm").unwrap_or_else(|e| panic!("{e}"));
    println!(
        "raw core module: {size} bytes{gz}; budget {RAW_MODULE_BUDGET}, goal {RAW_MODULE_GOAL} ({} spare)",
        RAW_MODULE_GOAL.saturating_sub(size)
    );
    assert!(
        size <= RAW_MODULE_BUDGET,
        "{} is {size} bytes, over its budget of {RAW_MODULE_BUDGET} (decisions.md, Budgets)",
        path.display()
    );
    assert!(
        size <= RAW_MODULE_GOAL,
        "{} is {size} bytes, over its goal of {RAW_MODULE_GOAL} (decisions.md, Budgets; issue 13), which it met \
         and is held to: find room first (BENCHMARKS.md, \"What limits each figure\", and \
         docs/performance-history.md say what each byte cost)",
        path.display()
    );
}

#[test]
fn js_package_module_is_within_the_adapter_budget() {
    let (path, size, gz) = built("wasm/js/pkg/sensu_reactio_bg.wasm").unwrap_or_else(|e| panic!("{e}"));
    println!("js package module: {size} bytes{gz}; budget {JS_MODULE_BUDGET}");
    assert!(
        size <= JS_MODULE_BUDGET,
        "{} is {size} bytes, over the {JS_MODULE_BUDGET}-byte adapter budget (decisions.md, Budgets); \
         build it smaller (the `wasm-js` profile in Cargo.toml)",
        path.display()
    );
}

#[test]
fn release_handler_size_is_reported() {
    let path = root().join("target/release/sensu-reactio-handler");
    match std::fs::metadata(&path) {
        Ok(meta) => println!("release handler: {} bytes ({})", meta.len(), path.display()),
        Err(_) => println!("release handler not built ({}): `cargo build --release` to see its size", path.display()),
    }
}
