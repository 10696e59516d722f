//! The wasm engine: the core's import-free module (`wasm/pkg/sensu_reactio_core.wasm`) under wasmtime.
//!
//! The module speaks the raw ABI documented at the top of `wasm/src/raw.rs`: JSON in
//! linear memory, one machine per instance. This engine
//! - finds the module ([`WasmOptions::module`], else `$SENSU_REACTIO_WASM_MODULE`,
//!   else `sensu_reactio_core.wasm` next to the executable, else the build output of
//!   this source tree); a missing module names the command that builds it;
//! - compiles it once, and keeps the compiled code in a cache file next to it
//!   (`<name>.<key>.cwasm`, key = hash of the module and of this wasmtime build), with
//!   an XXH3-128 checksum of the cache file beside it; a cache file is used only if it
//!   and its checksum file were written by this engine (not writable by others) and the
//!   checksum of the bytes read matches; otherwise it is recompiled and rewritten; a
//!   cache hit runs on an engine without a compiler (a third of the start-up); a
//!   miss also removes this module's cache files older than a day (earlier builds);
//! - runs every call under a memory cap and an epoch deadline, so a broken or hostile
//!   module (infinite loop, unbounded growth, out-of-bounds output) stops with an
//!   error saying so; after a trap the instance is dropped and the next event gets a
//!   fresh one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use sensu_reactio_core::{Answer, ConfigInput, Context, Step};
use serde::Deserialize;
use wasmtime::{Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc};

use super::{Engine, EngineError};

mod cache;

/// The module's file name (what `scripts/build-wasm.sh` writes to `wasm/pkg/`).
pub const MODULE_FILE: &str = "sensu_reactio_core.wasm";

/// The environment variable naming the module file.
pub const MODULE_ENV: &str = "SENSU_REACTIO_WASM_MODULE";

/// The raw ABI version this engine speaks.
pub const ABI_VERSION: u32 = 2;

/// The largest output a call may return (the module's own steps are a few KB).
const MAX_OUTPUT: usize = 16 << 20;

/// The fix for a module that is not the core's: the one shipped with the handler.
const REINSTALL: &str =
    "install the wasm module that came with this handler (in a source tree: `./x build`), or use --engine native";

/// How often the epoch ticks.
const TICK: Duration = Duration::from_millis(10);

/// The least time a call is given, even when the run's deadline is nearer: a plan or an
/// answer takes well under a millisecond, so a call that starts just before the run's
/// deadline (the answer that a request timed out) must finish and let the handler spool
/// the event, not be cut off as an engine failure; a looping module still stops within
/// this much of the run's deadline.
const MIN_CALL: Duration = Duration::from_millis(100);

/// Limits and where the module is.
#[derive(Clone, Debug)]
pub struct WasmOptions {
    /// The module file; `None`: `$SENSU_REACTIO_WASM_MODULE`, next to the
    /// executable, then this source tree's `wasm/pkg/`.
    pub module: Option<PathBuf>,
    /// The most linear memory the module may have, in bytes.
    pub memory_cap: usize,
    /// The longest one call (plan or handle) may run.
    pub deadline: Duration,
    /// Keep compiled code in a `.cwasm` file next to the module.
    pub cache: bool,
}

impl Default for WasmOptions {
    fn default() -> WasmOptions {
        // 256 MiB: a 16 MiB output, or ~16 MB of small history objects, fits as JSON
        // values; a dense array of tiny values (~8 MiB of numbers) does not: such an
        // event fails with a message pointing at --engine native, and is kept.
        WasmOptions { module: None, memory_cap: 256 << 20, deadline: Duration::from_secs(2), cache: true }
    }
}

/// The resource limiter: the memory cap, and whether a call hit it.
struct Limits {
    memory_cap: usize,
    hit: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// `sr_plan`'s signature.
type PlanFn = TypedFunc<(u32, u32, u32, u32, u32, u32), u32>;
/// `sr_resume`'s signature.
type ResumeFn = TypedFunc<(u32, u32, u32, u32, u32, u32, u32, u32), u32>;

/// One live instance and its exports.
struct Live {
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    result_ptr: TypedFunc<(), u32>,
    plan: PlanFn,
    handle: TypedFunc<(u32, u32), u32>,
    resume: ResumeFn,
}

/// The compiled module with its engine and epoch ticker; instantiate it with [`WasmModule::instance`].
pub struct WasmModule {
    engine: wasmtime::Engine,
    module: Module,
    path: PathBuf,
    options: WasmOptions,
    /// Dropping it stops the ticker thread.
    _stop_ticker: mpsc::Sender<()>,
}

impl std::fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmModule").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

fn engine_error(message: impl Into<String>) -> EngineError {
    EngineError::Engine(message.into())
}

/// Where to look for the module, in order.
fn candidates(options: &WasmOptions) -> Vec<PathBuf> {
    if let Some(path) = &options.module {
        return vec![path.clone()];
    }
    if let Some(path) = std::env::var_os(MODULE_ENV).filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        out.push(dir.join(MODULE_FILE));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("wasm").join("pkg").join(MODULE_FILE));
    out
}

impl WasmModule {
    /// Find, check and compile (or load from the cache) the module.
    pub fn load(options: WasmOptions) -> Result<WasmModule, EngineError> {
        let tried = candidates(&options);
        let Some(path) = tried.iter().find(|p| p.is_file()).cloned() else {
            let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            return Err(engine_error(format!(
                "the wasm module is missing (looked for {}); build it with `./x build` (or scripts/build-wasm.sh), or name it with ${MODULE_ENV}",
                list.join(", ")
            )));
        };
        let read_module = || {
            std::fs::read(&path).map_err(|e| {
                engine_error(format!(
                    "cannot read the wasm module {}: {e}; check the path and its permissions",
                    path.display()
                ))
            })
        };

        let (engine, module) = if options.cache {
            cache::compile_cached(&path, read_module)?
        } else {
            let engine = new_engine(true)?;
            let module = compile(&engine, &path, &read_module()?)?;
            (engine, module)
        };
        check_imports(&module, &path)?;

        let (stop, stopped) = mpsc::channel::<()>();
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    ticker.increment_epoch();
                }
            })
            .map_err(|e| {
                EngineError::Machine(format!(
                    "cannot start the wasm deadline timer: {e}; the event is kept: the sensu user is at its process or thread limit (LimitNPROC, TasksMax), or use --engine native"
                ))
            })?;
        Ok(WasmModule { engine, module, path, options, _stop_ticker: stop })
    }

    /// The module file in use.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The compiled module (for inspection: imports, exports).
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A fresh instance (one machine).
    pub fn instance(self: &Arc<Self>) -> Result<WasmInstance, EngineError> {
        let mut store = Store::new(&self.engine, Limits { memory_cap: self.options.memory_cap, hit: false });
        store.limiter(|limits| limits);
        let mut instance =
            WasmInstance { owner: Arc::clone(self), store, live: None, until: None, allowed: self.options.deadline };
        instance.arm();
        let created =
            Instance::new(&mut instance.store, &self.module, &[]).map_err(|e| instance.failure("instantiating", &e))?;
        let live = instance.exports(&created)?;
        instance.live = Some(live);
        let version = instance.call_version(&created)?;
        if version != ABI_VERSION {
            return Err(engine_error(format!(
                "the wasm module {} speaks raw abi version {version}, this handler speaks {ABI_VERSION}; {REINSTALL}",
                self.path.display()
            )));
        }
        Ok(instance)
    }
}

/// A wasmtime engine; `compiler: false` gives one that can only load compiled code
/// (the cache's hit path: no Cranelift set-up, ~30 instead of ~100 µs here).
fn new_engine(compiler: bool) -> Result<wasmtime::Engine, EngineError> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    // A handler process runs a handful of calls and exits, so keep start-up small:
    // no native unwind tables to register (the module calls no host function, and
    // traps are found by wasmtime's own trap tables, not by unwinding), no address
    // map (wasm backtraces keep function names; the cache file is a third
    // smaller), and data segments copied at instantiation instead of a memfd image
    // per process. Measured in BENCHMARKS.md ("--engine wasm"). Both engines share
    // these settings: a cache file loads only into an engine with the same ones.
    config.native_unwind_info(false);
    config.generate_address_map(false);
    config.memory_init_cow(false);
    if !compiler {
        config.enable_compiler(false);
    }
    wasmtime::Engine::new(&config).map_err(|e| engine_error(format!("cannot start wasmtime: {e}")))
}

fn compile(engine: &wasmtime::Engine, path: &Path, bytes: &[u8]) -> Result<Module, EngineError> {
    if !bytes.starts_with(b"\0asm") {
        let got: String = bytes.iter().take(4).flat_map(|b| std::ascii::escape_default(*b)).map(char::from).collect();
        return Err(engine_error(format!(
            "{} is not a wasm module (a wasm module starts with the bytes \"\\0asm\", this one with \"{got}\"); {REINSTALL}",
            path.display()
        )));
    }
    Module::from_binary(engine, bytes)
        .map_err(|e| engine_error(format!("the wasm module {} does not compile: {e:#}; {REINSTALL}", path.display())))
}

fn check_imports(module: &Module, path: &Path) -> Result<(), EngineError> {
    let imports: Vec<String> = module.imports().map(|i| format!("{}.{}", i.module(), i.name())).collect();
    if imports.is_empty() {
        return Ok(());
    }
    Err(engine_error(format!(
        "the wasm module {} imports {} but must import nothing; it is not the core's raw module: {REINSTALL}",
        path.display(),
        imports.join(", ")
    )))
}

/// One instance of the module: one machine at a time. Calls return the core's JSON text.
pub struct WasmInstance {
    owner: Arc<WasmModule>,
    store: Store<Limits>,
    live: Option<Live>,
    /// The run's deadline, when the host set one: no call runs past it.
    until: Option<std::time::Instant>,
    /// What the current call was allowed (for the message when it runs past it).
    allowed: Duration,
}

impl std::fmt::Debug for WasmInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmInstance").field("module", &self.owner.path).field("live", &self.live.is_some()).finish()
    }
}

impl WasmInstance {
    /// Set the deadline for the next call.
    fn arm(&mut self) {
        let mut allowed = self.owner.options.deadline;
        if let Some(until) = self.until {
            let left = until.saturating_duration_since(std::time::Instant::now());
            allowed = allowed.min(left.max(MIN_CALL));
        }
        self.allowed = allowed;
        let ticks = (allowed.as_millis() / TICK.as_millis()).max(1);
        self.store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        self.store.data_mut().hit = false;
    }

    /// Why a call into the module failed, in words; the instance is dropped.
    fn failure(&mut self, doing: &str, error: &wasmtime::Error) -> EngineError {
        self.live = None;
        let path = self.owner.path.display();
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return engine_error(format!(
                "the wasm module {path} was stopped while {doing}: it ran past its deadline of {} ms; {REINSTALL}",
                self.allowed.as_millis()
            ));
        }
        if self.store.data().hit {
            return engine_error(format!(
                "the wasm module {path} was stopped while {doing}: it needed more than its memory cap of {} MiB (a very large event can; --engine native handles it)",
                self.owner.options.memory_cap >> 20
            ));
        }
        let text = format!("{error:#}");
        if text.contains("mmap failed") || text.contains("Cannot allocate memory") {
            // wasmtime reserves the 4 GiB a 32-bit memory can address, and guard pages.
            return EngineError::Machine(format!(
                "the wasm module {path} could not start while {doing}: {text}; the wasm engine reserves over 4 GiB of address space: raise the process's address-space limit (ulimit -v, LimitAS=) or use --engine native"
            ));
        }
        engine_error(format!("the wasm module {path} failed while {doing}: {text}; {REINSTALL}"))
    }

    fn exports(&mut self, instance: &Instance) -> Result<Live, EngineError> {
        let path = self.owner.path.display().to_string();
        let missing = |name: &str, e: wasmtime::Error| {
            engine_error(format!("the wasm module {path} has no usable export `{name}` ({e:#}); {REINSTALL}"))
        };
        let store = &mut self.store;
        Ok(Live {
            memory: instance
                .get_memory(&mut *store, "memory")
                .ok_or_else(|| missing("memory", wasmtime::Error::msg("not a memory")))?,
            alloc: instance.get_typed_func(&mut *store, "sr_alloc").map_err(|e| missing("sr_alloc", e))?,
            dealloc: instance.get_typed_func(&mut *store, "sr_dealloc").map_err(|e| missing("sr_dealloc", e))?,
            result_ptr: instance
                .get_typed_func(&mut *store, "sr_result_ptr")
                .map_err(|e| missing("sr_result_ptr", e))?,
            plan: instance.get_typed_func(&mut *store, "sr_plan").map_err(|e| missing("sr_plan", e))?,
            handle: instance.get_typed_func(&mut *store, "sr_handle").map_err(|e| missing("sr_handle", e))?,
            resume: instance.get_typed_func(&mut *store, "sr_resume").map_err(|e| missing("sr_resume", e))?,
        })
    }

    fn call_version(&mut self, instance: &Instance) -> Result<u32, EngineError> {
        let path = self.owner.path.display().to_string();
        let version: TypedFunc<(), u32> = instance.get_typed_func(&mut self.store, "sr_abi_version").map_err(|e| {
            engine_error(format!("the wasm module {path} has no usable export `sr_abi_version` ({e:#}); {REINSTALL}"))
        })?;
        self.arm();
        version.call(&mut self.store, ()).map_err(|e| self.failure("reporting its abi version", &e))
    }

    /// The live instance (a fresh one after a trap dropped the last), borrowed apart
    /// from its store and the module's path: a call needs all three at once, and
    /// cloning the export handles instead costs a reference on wasmtime's type
    /// registry each.
    fn live(&mut self) -> Result<(&Live, &mut Store<Limits>, &Path), EngineError> {
        if self.live.is_none() {
            let fresh = self.owner.instance()?;
            self.store = fresh.store;
            self.live = fresh.live;
        }
        let live = self.live.as_ref().ok_or_else(|| engine_error("the wasm instance is gone"))?;
        Ok((live, &mut self.store, &self.owner.path))
    }

    /// Copy the inputs in, call, copy the output out, free the inputs.
    fn call<const N: usize>(&mut self, doing: &str, inputs: [&[u8]; N]) -> Result<String, EngineError> {
        self.arm();
        match self.call_inner(doing, &inputs) {
            Ok(out) => Ok(out),
            Err(CallError::Trap(e)) => Err(self.failure(doing, &e)),
            Err(CallError::Engine(e)) => {
                self.live = None;
                Err(e)
            }
        }
    }

    /// The export is chosen by the number of inputs: 3 `sr_plan`, 1 `sr_handle`, 4 `sr_resume`.
    fn call_inner(&mut self, doing: &str, inputs: &[&[u8]]) -> Result<String, CallError> {
        let (live, store, path) = self.live().map_err(CallError::Engine)?;
        let bad = |what: String| {
            CallError::Engine(engine_error(format!(
                "the wasm module {} {what} while {doing}; {REINSTALL}",
                path.display()
            )))
        };

        let mut args = [0u32; 8];
        let mut buffers = Vec::with_capacity(inputs.len());
        for (input, slots) in inputs.iter().zip(args.chunks_exact_mut(2)) {
            let len = u32::try_from(input.len())
                .map_err(|_| bad(format!("was handed an input of {} bytes, more than 4 GiB", input.len())))?;
            let ptr = live.alloc.call(&mut *store, len).map_err(CallError::Trap)?;
            if ptr == 0 && len != 0 {
                return Err(bad("ran out of memory for its input".into()));
            }
            if len != 0 {
                live.memory.write(&mut *store, ptr as usize, input).map_err(|_| {
                    bad(format!("gave an input buffer outside its memory (address {ptr}, {len} bytes)"))
                })?;
            }
            buffers.push((ptr, len));
            slots.copy_from_slice(&[ptr, len]);
        }
        let [a, b, c, d, e, f, g, h] = args;
        let len = match inputs.len() {
            3 => live.plan.call(&mut *store, (a, b, c, d, e, f)),
            1 => live.handle.call(&mut *store, (a, b)),
            _ => live.resume.call(&mut *store, (a, b, c, d, e, f, g, h)),
        }
        .map_err(CallError::Trap)?;
        let ptr = live.result_ptr.call(&mut *store, ()).map_err(CallError::Trap)?;
        let len = len as usize;
        if len > MAX_OUTPUT {
            return Err(bad(format!("returned an output of {len} bytes (more than {} MiB)", MAX_OUTPUT >> 20)));
        }
        let mut out = vec![0u8; len];
        live.memory
            .read(&*store, ptr as usize, &mut out)
            .map_err(|_| bad(format!("returned an output outside its memory (address {ptr}, {len} bytes)")))?;
        for (ptr, len) in buffers {
            live.dealloc.call(&mut *store, (ptr, len)).map_err(CallError::Trap)?;
        }
        String::from_utf8(out).map_err(|_| bad("returned an output that is not utf-8".into()))
    }

    /// Plan an event: the first step's JSON or the core's error JSON, byte for byte
    /// what `sensu_reactio_core::json_api` returns.
    pub fn plan_json(&mut self, config_input: &[u8], event: &[u8], context: &[u8]) -> Result<String, EngineError> {
        self.call("planning", [config_input, event, context])
    }

    /// Hand an answer (JSON) to the machine: the next step's JSON or the error JSON.
    pub fn handle_json(&mut self, answer: &[u8]) -> Result<String, EngineError> {
        self.call("handling an answer", [answer])
    }

    /// Stateless: plan and replay the answers (a JSON array); the step reached.
    pub fn resume_json(
        &mut self,
        config_input: &[u8],
        event: &[u8],
        context: &[u8],
        answers: &[u8],
    ) -> Result<String, EngineError> {
        self.call("resuming", [config_input, event, context, answers])
    }
}

enum CallError {
    Trap(wasmtime::Error),
    Engine(EngineError),
}

#[derive(Deserialize)]
struct ErrorOut {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    kind: String,
    message: String,
}

/// Turn the module's JSON into a step, or its error into an [`EngineError`].
fn parse_output(out: &str, module: &std::path::Path) -> Result<Step, EngineError> {
    let module = module.display();
    if out.starts_with(r#"{"error":"#) {
        let parsed: ErrorOut = serde_json::from_str(out).map_err(|e| {
            engine_error(format!("the wasm module {module} returned a malformed error ({e}); {REINSTALL}"))
        })?;
        let ErrorBody { kind, message } = parsed.error;
        return Err(match kind.as_str() {
            "input" => EngineError::Input(message),
            "config" => EngineError::Config(message),
            _ => EngineError::Engine(message),
        });
    }
    read_step(out)
        .map_err(|e| engine_error(format!("the wasm module {module} returned a malformed step ({e}); {REINSTALL}")))
}

/// A step from the module's JSON. The module writes the tag first (`{"step":"request",…`:
/// the core's `json_out`), so the rest is the variant's own object, which is read
/// directly; serde's path for an internally tagged enum would first copy the whole
/// output into a buffered tree (twice the time of a typical step). Any other shape takes
/// that general path.
fn read_step(out: &str) -> serde_json::Result<Step> {
    const REQUEST: &str = r#"{"step":"request","#;
    const WAIT: &str = r#"{"step":"wait","#;
    const DONE: &str = r#"{"step":"done","#;
    // The variant's fields as an object of their own: `{` in place of the comma after the tag.
    let fields = |prefix: &str| out.strip_prefix(prefix).map(|rest| ["{", rest].concat());
    if let Some(fields) = fields(REQUEST) {
        return serde_json::from_str(&fields).map(Step::Request);
    }
    if let Some(fields) = fields(WAIT) {
        return serde_json::from_str(&fields).map(Step::Wait);
    }
    if let Some(fields) = fields(DONE) {
        return serde_json::from_str(&fields).map(Step::Done);
    }
    serde_json::from_str(out)
}

/// The wasm engine: one instance of the module, and the configuration input it is
/// handed with each plan (the module validates it as the native host did).
pub struct Wasm {
    instance: WasmInstance,
    config_json: Vec<u8>,
    planned: bool,
}

impl std::fmt::Debug for Wasm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wasm").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl Wasm {
    /// The engine with the default options (module found as [`WasmOptions::module`] says).
    pub fn new(input: &ConfigInput) -> Result<Wasm, EngineError> {
        Wasm::with_options(input, WasmOptions::default())
    }

    /// The engine with these options.
    pub fn with_options(input: &ConfigInput, options: WasmOptions) -> Result<Wasm, EngineError> {
        let config_json = serde_json::to_vec(input)
            .map_err(|e| engine_error(format!("cannot encode the configuration for the wasm module: {e}")))?;
        let module = Arc::new(WasmModule::load(options)?);
        Ok(Wasm { instance: module.instance()?, config_json, planned: false })
    }
}

impl Engine for Wasm {
    fn set_deadline(&mut self, end: std::time::Instant) {
        self.instance.until = Some(end);
    }

    fn plan(&mut self, event: &[u8], context: &Context) -> Result<Step, EngineError> {
        let context = serde_json::to_vec(context)
            .map_err(|e| engine_error(format!("cannot encode the context for the wasm module: {e}")))?;
        self.planned = false;
        let out = self.instance.plan_json(&self.config_json, event, &context)?;
        let step = parse_output(&out, &self.instance.owner.path)?;
        self.planned = true;
        Ok(step)
    }

    fn handle(&mut self, answer: Answer) -> Result<Step, EngineError> {
        if !self.planned {
            return Err(engine_error("handle called before plan"));
        }
        let answer = serde_json::to_vec(&answer)
            .map_err(|e| engine_error(format!("cannot encode the answer for the wasm module: {e}")))?;
        let out = self.instance.handle_json(&answer)?;
        parse_output(&out, &self.instance.owner.path)
    }
}

#[cfg(test)]
mod tests;
