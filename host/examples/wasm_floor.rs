//! `wasm_floor`: the least `--engine wasm` can cost a process, measured by `bench-e2e
//! --wasm-floor` (BENCHMARKS.md, "What limits each figure").
//!
//! It runs the handler's own wasm engine ([`WasmModule::load`] with its cache, the
//! epoch ticker, [`WasmModule::instance`] with its ABI version call) on a module that
//! has the raw ABI's exports and does nothing. Whatever a process running the core's
//! module costs over a native run, at least this much of it comes with wasmtime
//! itself, whatever the module: so it bounds from below what any smaller or faster
//! core module could gain.
//!
//! ```text
//! cargo build --release --target x86_64-unknown-linux-musl -p sensu-reactio-host --example wasm_floor
//! wasm_floor prepare DIR    # writes DIR/sensu_reactio_core.wasm and compiles it into its cache
//! wasm_floor run DIR        # one process: the engine, the module from the cache, an instance
//! wasm_floor none           # one process that exits at once: the same binary's own start
//! ```

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use sensu_reactio_host::engine::wasm::{ABI_VERSION, MODULE_FILE, WasmModule, WasmOptions};

/// The handler's allocator (host/src/main.rs), so that the floor starts as it does.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A module with the raw ABI's exports (the engine checks for every one) that does nothing.
fn idle_module() -> String {
    format!(
        r#"(module
          (memory (export "memory") 1)
          (func (export "sr_abi_version") (result i32) i32.const {ABI_VERSION})
          (func (export "sr_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "sr_dealloc") (param i32 i32))
          (func (export "sr_result_ptr") (result i32) i32.const 0)
          (func (export "sr_plan") (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 0)
          (func (export "sr_handle") (param i32 i32) (result i32) i32.const 0)
          (func (export "sr_resume") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) i32.const 0))"#
    )
}

/// The engine on the module in `dir`, as `--engine wasm` loads it (the cache on).
fn load_and_instantiate(dir: &Path) -> Result<(), String> {
    let options = WasmOptions { module: Some(dir.join(MODULE_FILE)), ..WasmOptions::default() };
    let module = Arc::new(WasmModule::load(options).map_err(|e| e.to_string())?);
    module.instance().map_err(|e| e.to_string())?;
    Ok(())
}

fn prepare(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let bytes = wat::parse_str(idle_module()).map_err(|e| format!("the idle module does not assemble: {e}"))?;
    let path = dir.join(MODULE_FILE);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // The first load compiles the module and writes its cache; `run` loads from it.
    load_and_instantiate(dir)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["none"] => Ok(()),
        ["prepare", dir] => prepare(&PathBuf::from(dir)),
        ["run", dir] => load_and_instantiate(&PathBuf::from(dir)),
        _ => Err("usage: wasm_floor prepare DIR | run DIR | none".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm_floor: {e}");
            ExitCode::from(2)
        }
    }
}
