//! WebAssembly glue over the core's JSON API (`sensu_reactio_core::json_api`): no logic here.
//!
//! One crate, two builds for `wasm32-unknown-unknown` (see `scripts/build-wasm.sh`):
//! - feature `raw`: the import-free module for wasmtime and gateways; its ABI is
//!   documented at the top of `raw.rs`, the one file with `unsafe` code;
//! - feature `bindgen`: the wasm-bindgen exports behind the npm package in `wasm/js/`.
//!
//! Both only move bytes between the host and `json_api`, so every build answers with
//! the same bytes as the native core.

#![deny(unsafe_code)]
// The raw module is `no_std` (like the core): std's panic machinery, its messages
// and its source paths stay out of the module (its size budget, decisions.md); a
// panic traps, as it did under std with `panic = "abort"`.
#![cfg_attr(feature = "raw", no_std)]

#[cfg(all(feature = "raw", any(feature = "bindgen", not(target_arch = "wasm32"), target_feature = "atomics")))]
compile_error!(
    "feature `raw` builds only the import-free module: for wasm32-unknown-unknown, without `bindgen` and without atomics (scripts/build-wasm.sh builds each package on its own)"
);

#[cfg(feature = "bindgen")]
pub mod bindgen;
#[cfg(feature = "raw")]
#[allow(unsafe_code)]
pub mod raw;
