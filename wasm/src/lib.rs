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

#[cfg(feature = "bindgen")]
pub mod bindgen;
#[cfg(feature = "raw")]
#[allow(unsafe_code)]
pub mod raw;
