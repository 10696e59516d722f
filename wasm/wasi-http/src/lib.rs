//! The sensu-reactio gateway for `wasi:http/proxy` hosts (wasmtime serve, Spin, wasmCloud):
//! thin glue that maps the component's incoming and outgoing HTTP onto the core.
//!
//! Two parts:
//! - [`driver`]: target-independent, pure. Reads the [`GatewayConfig`] a host passes
//!   (JSON text plus `REACTIO_*` variables), admits the inbound request and runs the
//!   core's machine one step at a time, every decision taken by
//!   `sensu_reactio_core::gateway`. The JS edge module (`wasm/edge`) drives the same code.
//! - `component` (only for `wasm32-wasip2`): exports `wasi:http/incoming-handler`,
//!   sends the core's requests through `wasi:http/outgoing-handler` (with
//!   `content-length` always set and the step's timeout as a deadline) and answers.
//!
//! Configuration (see `docs/gateways.md`): the environment variable
//! `SENSU_REACTIO_GATEWAY_CONFIG` holds the gateway configuration as JSON
//! (`{"token":"..","config":{"settings":{"reactio":{..}}}}`); variables named
//! `REACTIO_*` (e.g. `REACTIO_API_KEY`) are added to `config.env` unless set there.
//!
//! [`GatewayConfig`]: sensu_reactio_core::gateway::GatewayConfig

pub mod driver;

#[cfg(all(target_os = "wasi", target_env = "p2"))]
mod component;
