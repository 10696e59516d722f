//! The raw ABI: an import-free `wasm32-unknown-unknown` module driven by JSON in linear memory.
//!
//! # Protocol (ABI version 2)
//!
//! The module imports nothing. All numbers are `i32` (addresses and lengths are
//! unsigned 32-bit values). Exports:
//!
//! | export | signature | what |
//! |---|---|---|
//! | `memory` | memory | the module's linear memory |
//! | `sr_abi_version` | `() -> i32` | `2` for this protocol (2 added the `deadline` failure kind) |
//! | `sr_alloc` | `(len) -> ptr` | a buffer of `len` bytes for an input; `0` when out of memory |
//! | `sr_dealloc` | `(ptr, len)` | free a buffer from `sr_alloc` (unknown buffers are ignored) |
//! | `sr_plan` | `(cfg_ptr, cfg_len, event_ptr, event_len, ctx_ptr, ctx_len) -> len` | plan an event |
//! | `sr_handle` | `(answer_ptr, answer_len) -> len` | hand an answer to the machine |
//! | `sr_resume` | `(cfg_ptr, cfg_len, event_ptr, event_len, ctx_ptr, ctx_len, answers_ptr, answers_len) -> len` | stateless: plan and replay answers |
//! | `sr_result_ptr` | `() -> ptr` | where the last call's output starts |
//!
//! **Memory ownership.** The host owns input buffers: it gets each from
//! `sr_alloc(len)`, writes the bytes, passes `(ptr, len)` to a call, and frees them with
//! `sr_dealloc(ptr, len)` when it likes (the module copies inputs at the start of each
//! call and never keeps a pointer to them). An input must lie inside one live
//! `sr_alloc` buffer; an empty input (`len` 0) may use any pointer. The module owns
//! the output: each of `sr_plan`, `sr_handle`, `sr_resume` returns the output's length
//! in bytes, and `sr_result_ptr()` gives its address; it stays valid until the next
//! call to one of those three. The host copies it out and must not free it.
//!
//! **Sessions.** One instance holds at most one machine: `sr_plan` replaces it (a
//! failed plan leaves none); `sr_handle` moves it on. Use one instance per concurrent
//! event, or the stateless `sr_resume`, which keeps no machine (and leaves the one
//! `sr_plan` made alone).
//!
//! **Configuration kept (implementation note).** The instance keeps a copy of the last
//! configuration input that loaded (its bytes, and its validated form: a few KB), and
//! when the next `sr_plan` or `sr_resume` passes the same bytes it skips parsing and
//! validating them again. Outputs are exactly as without it: other bytes are loaded
//! anew, and a configuration that fails to load is never kept (it fails every time).
//!
//! **JSON in and out** (UTF-8), exactly as `sensu_reactio_core::json_api` documents:
//! config = `ConfigInput` object, context = `{"now":<epoch s>,"first_occurrence":false,"dry_run":false,"create_unconfirmed":false,"received":<epoch s>}` (all but `now` optional),
//! answer = `{"answer":"response","status":200,"headers":[["name","value"]],"body":".."}`
//! | `{"answer":"failure","kind":"timeout","detail":".."}` | `{"answer":"waited"}`,
//! answers = a JSON array of answers. Output: the step (`{"step":"request"|"wait"|"done",..}`)
//! or an error:
//!
//! ```json
//! {"error":{"kind":"input"|"config"|"protocol","message":"<one lowercase line with the fix>"}}
//! ```
//!
//! An input outside the `sr_alloc` buffers is answered with a `protocol` error, never
//! read. The module never panics on bad input; if it ever traps, the host treats the
//! instance as broken and reports it.

extern crate alloc;

use alloc::alloc::{Layout, alloc, dealloc};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use sensu_reactio_core::json_api::{self, ErrorKind, Session};

// Talc instead of std's dlmalloc: the same `GlobalAlloc` contract (freed memory is
// reused and coalesced, so long-lived gateway instances do not grow), less code.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The protocol version `sr_abi_version` reports.
const ABI_VERSION: u32 = 2;

struct State {
    /// Live `sr_alloc` buffers: (address, length); a handful at a time, so a `Vec`
    /// (smaller code than a map).
    buffers: Vec<(usize, usize)>,
    session: Session,
    /// The last call's output.
    result: String,
}

/// The instance's one state (a const initializer: no lazy-initialization code).
static STATE: Single =
    Single(RefCell::new(State { buffers: Vec::new(), session: Session::new(), result: String::new() }));

/// A cell for a module that runs on one thread.
struct Single(RefCell<State>);

// SAFETY: the module is built only for wasm32 without the `atomics` feature (lib.rs
// refuses any other build), where there is one thread and no way to start another,
// so `STATE` is never reached from two threads. Re-entry cannot happen either: the
// module imports nothing, so no export runs while another is running.
unsafe impl Sync for Single {}

impl Single {
    fn with_borrow<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.0.borrow())
    }

    fn with_borrow_mut<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}

/// A panic (a bug: bad input is answered, never panicked on) traps, and the host
/// treats the instance as broken. No message is formatted: there is nowhere to send it.
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// One input as the host passed it.
#[derive(Clone, Copy)]
struct Input {
    /// An address in linear memory.
    ptr: usize,
    len: usize,
}

impl State {
    /// Copy an input out of its buffer, if it lies inside a live one.
    fn read(&self, which: &str, input: Input) -> Result<Vec<u8>, String> {
        if input.len == 0 {
            return Ok(Vec::new());
        }
        let start = input.ptr;
        let end = start.checked_add(input.len);
        let inside = self.buffers.iter().any(|&(base, len)| start >= base && end.is_some_and(|end| end - base <= len));
        if !inside {
            return Err(format!(
                "the {which} (address {start}, {} bytes) is not inside a buffer from sr_alloc; write each input into memory from sr_alloc(len)",
                input.len
            ));
        }
        let ptr = core::ptr::with_exposed_provenance::<u8>(start);
        // SAFETY: `[start, start + len)` lies inside a live allocation made by
        // `sr_alloc` (checked just above against `buffers`, which holds exactly the
        // allocations not yet freed, whose provenance `sr_alloc` exposed), so `ptr` is
        // valid for reads of `len` bytes; `u8` has no alignment or validity
        // requirements. The slice is copied at once and not kept, so later writes by
        // the host cannot alias it.
        let bytes = unsafe { core::slice::from_raw_parts(ptr, input.len) };
        Ok(bytes.to_vec())
    }

    /// Copy every input into its slot of `out`, or answer a protocol error naming the
    /// first bad one. Slices, not a const-generic array: one copy of this loop in the
    /// module for the exports' 1, 3 and 4 inputs, not three (~0.5 KB).
    fn read_all(&self, inputs: &[(&str, Input)], out: &mut [Vec<u8>]) -> Result<(), String> {
        for (slot, &(which, input)) in out.iter_mut().zip(inputs) {
            *slot = self.read(which, input)?;
        }
        Ok(())
    }

    /// Store the output; its length is the call's return value.
    fn answer(&mut self, out: String) -> usize {
        self.result = out;
        self.result.len()
    }
}

fn bad_input(message: &str) -> String {
    json_api::error_json(ErrorKind::Protocol, message)
}

/// Which of the three calls [`call`] makes.
#[derive(Clone, Copy)]
enum Call {
    Plan,
    Handle,
    Resume,
}

/// Copy the call's inputs, make the call (or answer a protocol error naming the first
/// bad input) and store its output. One body for `sr_plan`, `sr_handle` and `sr_resume`
/// (less code than one closure each).
fn call(which: Call, inputs: &[(&str, Input)]) -> usize {
    STATE.with_borrow_mut(|state| {
        let mut read = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        let out = match state.read_all(inputs, &mut read) {
            Ok(()) => {
                let [first, second, third, fourth] = &read;
                match which {
                    Call::Plan => state.session.plan(first, second, third),
                    Call::Handle => state.session.handle(first),
                    Call::Resume => state.session.resume(first, second, third, fourth),
                }
            }
            Err(message) => bad_input(&message),
        };
        state.answer(out)
    })
}

/// The ABI version (see the protocol above).
// SAFETY (`no_mangle`): the symbol name `sr_abi_version` is unique in this module
// and in everything it links.
#[unsafe(no_mangle)]
pub extern "C" fn sr_abi_version() -> u32 {
    ABI_VERSION
}

/// A buffer of `len` bytes for an input, or null (0) when out of memory.
// SAFETY (`no_mangle`): the symbol name `sr_alloc` is unique.
#[unsafe(no_mangle)]
pub extern "C" fn sr_alloc(len: usize) -> usize {
    if len == 0 {
        // Any non-zero address does for an empty input: it is never read.
        return 1;
    }
    let Ok(layout) = Layout::from_size_align(len, 1) else { return 0 };
    // SAFETY: `layout` has a non-zero size (checked above), as `alloc` requires.
    let ptr = unsafe { alloc(layout) };
    if ptr.is_null() {
        return 0;
    }
    let addr = ptr.expose_provenance();
    STATE.with_borrow_mut(|state| state.buffers.push((addr, len)));
    addr
}

/// Free a buffer from `sr_alloc`; buffers not live (or a wrong length) are ignored.
// SAFETY (`no_mangle`): the symbol name `sr_dealloc` is unique.
#[unsafe(no_mangle)]
pub extern "C" fn sr_dealloc(addr: usize, len: usize) {
    let known = STATE.with_borrow_mut(|state| match state.buffers.iter().position(|&buffer| buffer == (addr, len)) {
        Some(index) => {
            state.buffers.swap_remove(index);
            true
        }
        None => false,
    });
    if !known {
        return;
    }
    let Ok(layout) = Layout::from_size_align(len, 1) else { return };
    let ptr = core::ptr::with_exposed_provenance_mut::<u8>(addr);
    // SAFETY: `addr` was returned by `sr_alloc` (which exposed its provenance) with
    // this exact layout (size `len`, align 1: recorded in `buffers` and checked above)
    // and is not yet freed (it was live in `buffers` and has just been removed, so it
    // cannot be freed twice).
    unsafe { dealloc(ptr, layout) }
}

/// Where the last call's output starts.
// SAFETY (`no_mangle`): the symbol name `sr_result_ptr` is unique.
#[unsafe(no_mangle)]
pub extern "C" fn sr_result_ptr() -> usize {
    STATE.with_borrow(|state| state.result.as_ptr().expose_provenance())
}

/// Plan an event; returns the output length.
// SAFETY (`no_mangle`): the symbol name `sr_plan` is unique.
#[unsafe(no_mangle)]
pub extern "C" fn sr_plan(
    cfg_ptr: usize,
    cfg_len: usize,
    event_ptr: usize,
    event_len: usize,
    ctx_ptr: usize,
    ctx_len: usize,
) -> usize {
    call(
        Call::Plan,
        &[
            ("configuration input", Input { ptr: cfg_ptr, len: cfg_len }),
            ("event", Input { ptr: event_ptr, len: event_len }),
            ("context", Input { ptr: ctx_ptr, len: ctx_len }),
        ],
    )
}

/// Hand an answer to the machine; returns the output length.
// SAFETY (`no_mangle`): the symbol name `sr_handle` is unique.
#[unsafe(no_mangle)]
pub extern "C" fn sr_handle(answer_ptr: usize, answer_len: usize) -> usize {
    call(Call::Handle, &[("answer", Input { ptr: answer_ptr, len: answer_len })])
}

/// Stateless: plan and replay the answers; returns the output length.
// SAFETY (`no_mangle`): the symbol name `sr_resume` is unique.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn sr_resume(
    cfg_ptr: usize,
    cfg_len: usize,
    event_ptr: usize,
    event_len: usize,
    ctx_ptr: usize,
    ctx_len: usize,
    answers_ptr: usize,
    answers_len: usize,
) -> usize {
    call(
        Call::Resume,
        &[
            ("configuration input", Input { ptr: cfg_ptr, len: cfg_len }),
            ("event", Input { ptr: event_ptr, len: event_len }),
            ("context", Input { ptr: ctx_ptr, len: ctx_len }),
            ("answers", Input { ptr: answers_ptr, len: answers_len }),
        ],
    )
}
