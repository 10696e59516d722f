//! Gateway parity: the same Sensu events posted to every gateway host (JS edge in
//! workerd, the proxy-wasm filter in Envoy, the wasi:http component under wasmtime)
//! make the Reactio stand-in receive the same requests as the native handler,
//! compared per attempt; and bad inbound requests get the same documented status in
//! every host (see `sensu_reactio_core::gateway`).
//!
//! Each host is a module implementing [`Gateway`], listed in [`HOSTS`]; a host whose
//! runtime or artifact is missing FAILS naming the command that provides it
//! (`./x build`, `./x setup`), never skips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::print_stderr)] // latency figures for BENCHMARKS.md

mod envoy;
mod inbound;
mod native;
mod parity;
mod support;
mod wasi_http;
mod workerd;

use sensu_reactio_core::gateway::{GatewayConfig, Reply};

/// One inbound request to a gateway.
#[derive(Clone, Debug)]
pub(crate) struct Inbound {
    pub(crate) method: &'static str,
    pub(crate) authorization: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// A running gateway host under test, configured with a [`GatewayConfig`] whose
/// `config` points the core at the stand-in (its endpoint and key).
pub(crate) trait Gateway {
    /// The host's name in failure messages (`workerd`, `envoy`, `wasi-http`).
    fn name(&self) -> &'static str;
    /// Send one inbound request; the gateway's answer.
    fn post(&mut self, inbound: &Inbound) -> Reply;
}

/// How to start a host for a configuration (the stand-in runs on 127.0.0.1).
pub(crate) type Start = fn(&GatewayConfig) -> std::io::Result<Box<dyn Gateway>>;

/// Every gateway host, by name. A host added here runs in every parity and inbound test.
pub(crate) const HOSTS: &[(&str, Start)] =
    &[("wasi-http", wasi_http::start), ("workerd", workerd::start), ("envoy", envoy::start)];
