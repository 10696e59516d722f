//! A proxy-wasm HTTP filter (Envoy 1.35+, Istio `WasmPlugin`, Envoy Gateway) that runs
//! the core's state machine: `POST` a Sensu event to the filter's route, it performs
//! the Reactio calls through an Envoy cluster and answers with the outcome.
//!
//! Thin glue: admission and every reply come from `sensu_reactio_core::gateway`, every
//! step from the core's `Machine`. `glue.rs` holds the host-testable mapping;
//! `filter.rs` (built only for `wasm32`) wires it to the proxy-wasm callbacks. Build
//! with `scripts/build-gateways.sh`; configuration and examples in
//! `docs/gateway-envoy.md`.

pub mod glue;

#[cfg(target_arch = "wasm32")]
mod filter;
