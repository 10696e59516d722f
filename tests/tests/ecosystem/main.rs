//! Ecosystem tests: what a Sensu operator installs and copies works as shipped. The
//! Sensu Go asset (built by `packaging/build-asset.sh`, unpacked, run from its `bin/`),
//! every file under `examples/` (parsed, every setting name checked against the core's
//! key table, run through the handler the way Sensu runs it, against the Reactio
//! stand-in on 127.0.0.1), and the JS package's Node example.
//!
//! Needs the handler built (`cargo build --bin sensu-reactio-handler`), the musl target
//! and musl-gcc for the asset (`packaging/build-asset.sh --setup`), and the wasm-bindgen
//! package for the JS example (`./x build`). Anything missing fails with the command to run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod asset;
mod classic;
mod examples;
mod go;
mod js;
mod support;
