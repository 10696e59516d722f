//! Reliability and security tests (issue 5): no panic on arbitrary input (proptest),
//! the adversarial corpus through the built handler, a fault soak against the
//! stand-in with spool replay, API-key leak scans over everything captured, and
//! hostile wasm modules under the handler's wasm engine.
//!
//! Every handler run goes through [`support::scanned_handler`], which scans its stdout
//! and stderr for the API key (any 10-character piece of it); tests that use a spool
//! scan every file in it with [`support::assert_no_key_in_dir`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

mod adversarial;
mod leak;
mod paging;
mod proptests;
mod soak;
mod support;
mod wasm_hostile;
