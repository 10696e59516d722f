//! Sensu event + settings in, Reactio HTTP requests out: the pure, sans-I/O core.
//!
//! One entry point, [`plan`], turns an event (Sensu Classic 1.x or Sensu Go 5.x/6.x
//! JSON), a validated [`Config`] and a [`Context`] (the current time, passed in)
//! into a [`Machine`]. The machine hands out [`Step`]s: an HTTP [`Request`] to send,
//! a [`Wait`] before a retry, or the [`Outcome`]. The host hands each answer back with
//! [`Machine::handle`]. The core never reads a clock, the environment, a file or the
//! network; it holds no `HashMap` whose order could leak into output.
//!
//! ```
//! use sensu_reactio_core::{plan, Config, ConfigInput, Context, Step};
//! let config = Config::load(&ConfigInput::default()).unwrap();
//! let event = br#"{"client":{"name":"web01"},"check":{"name":"disk","status":0,"output":"OK"},"action":"create"}"#;
//! let machine = plan(event, &config, &Context { now: 1_764_000_000, ..Context::default() }).unwrap();
//! assert!(matches!(machine.step(), Step::Done(_)));
//! ```

#![no_std]
#![forbid(unsafe_code)]

// `no_std` (only `core` and `alloc`): the core cannot name a file, a socket, the
// environment or a clock, so "no I/O" holds by construction (ARCHITECTURE.md). It
// also keeps std's panic machinery out of the raw wasm module (its size budget).
extern crate alloc;
#[cfg(test)]
extern crate std;

/// The names std's prelude would bring, for the modules that build text and lists.
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::format;
    pub(crate) use alloc::string::String;
    // Only the tests (and the sparse reader, which names it) call `to_string`; elsewhere
    // `format!` makes the text, without `ToString`'s own instance per type (the raw wasm
    // module's size).
    #[cfg(test)]
    pub(crate) use alloc::string::ToString;
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;

    pub(crate) use crate::trim::TrimWs;
}

mod arith;
pub mod config;
mod dates;
mod event;
pub mod gateway;
pub mod json_api;
mod json_in;
mod json_out;
mod machine;
mod messages;
mod reactio;
pub mod read;
mod rules;
pub mod severity;
pub mod step;
mod suggest;
pub mod template;
pub mod text;
mod trim;

pub use config::{Config, ConfigError, ConfigInput, Secret};
pub use event::{ANNOTATION_PREFIX, EventSummary, InputError, inspect};
pub use machine::{CREATE_RETRY_WAIT_MS, DEADLINE_EXCEEDED, Machine, dry_run_answer, plan};
pub use reactio::not_taken;
pub use severity::Severity;
pub use step::{
    Answer, Context, Failure, FailureKind, IncidentRef, Method, Outcome, OutcomeKind, Purpose, Request, Response, Step,
    Wait,
};
pub use suggest::did_you_mean;
/// The gateways trim with it too: `str::trim`'s pattern searcher is code of its own in each.
pub use trim::TrimWs;

/// The largest event accepted, in bytes (decisions.md: up to 16 MiB; more is an input
/// error). The native host reads at most this much; the JSON API refuses more.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;
