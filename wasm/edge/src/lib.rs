//! The gateway driver (`sensu_reactio_wasi_http::driver`) for JS edge runtimes, as
//! wasm-bindgen exports: JS keeps only `fetch` and the clock (`wasm/js/edge/handle.js`).
//!
//! Built for `wasm32-unknown-unknown` by `scripts/build-gateways.sh` into
//! `wasm/js/edge/pkg/` (wasm-bindgen `--target web`: one `.wasm`, instantiated from a
//! precompiled `WebAssembly.Module` with `initSync`).
//!
//! Every output is JSON: `{"send":<request>}` (fetch it, then call `answer`) or
//! `{"reply":{"status":..,"headers":[[..]],"body":".."}}` (answer the caller; done).

use wasm_bindgen::prelude::wasm_bindgen;

use sensu_reactio_core::gateway::{self, GatewayConfig, error_reply};
use sensu_reactio_core::read;
use sensu_reactio_core::step::Answer;
use sensu_reactio_wasi_http::driver::{self, Driver, Inbound, Next};

/// One inbound request's event in progress (free it when done).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Gateway {
    config: Result<GatewayConfig, Next>,
    driver: Option<Driver>,
}

#[wasm_bindgen]
impl Gateway {
    /// `config`: the `SENSU_REACTIO_GATEWAY_CONFIG` text (`undefined` when unset);
    /// `vars`: a JSON object of the worker's string bindings (those named
    /// `REACTIO_*` join the core's environment).
    #[wasm_bindgen(constructor)]
    pub fn new(config: Option<String>, vars: &str) -> Gateway {
        let vars = read::parse_object(vars.as_bytes()).unwrap_or_default();
        let vars = vars.into_iter().filter_map(|(k, v)| match v {
            serde_json::Value::String(v) => Some((k, v)),
            _ => None,
        });
        let config = driver::load_config(config.as_deref(), vars).map_err(Next::Reply);
        Gateway { config, driver: None }
    }

    /// The reply for a request refused before its body is read (the gateway's
    /// configuration, the method, the token), as JSON; `None` when it may go on. So a
    /// caller without the token cannot make the gateway read a body.
    pub fn refuse(&self, method: &str, authorization: Option<String>) -> Option<String> {
        let config = match &self.config {
            Ok(config) => config,
            Err(reply) => return Some(reply.to_json()),
        };
        gateway::admit(config, method, authorization.as_deref(), 0).err().map(|reply| Next::Reply(reply).to_json())
    }

    /// Admit and plan the inbound request at `now` (epoch seconds): the first output.
    pub fn start(&mut self, method: &str, authorization: Option<String>, body: &[u8], now: f64) -> String {
        let config = match &self.config {
            Ok(config) => config,
            Err(reply) => return reply.to_json(),
        };
        let inbound = Inbound { method, authorization: authorization.as_deref(), body };
        // Seconds since the epoch fit an i64 exactly; the cast saturates on nonsense.
        #[allow(clippy::cast_possible_truncation)]
        let (driver, next) = driver::start(config, &inbound, now.floor() as i64);
        self.driver = driver;
        next.to_json()
    }

    /// The answer to the last `send` (a core answer as JSON): the next output.
    pub fn answer(&mut self, answer: &str) -> String {
        let answer = read::parse_value(answer.as_bytes()).and_then(|v| Answer::from_json(&v));
        let next = match (answer, self.driver.as_mut()) {
            (Ok(answer), Some(driver)) => driver.answer(answer),
            (Err(e), _) => Next::Reply(error_reply(
                500,
                "internal",
                &format!("the edge glue sent a bad answer: {e}; report this bug"),
            )),
            (_, None) => {
                Next::Reply(error_reply(500, "internal", "the edge glue answered before start; report this bug"))
            }
        };
        next.to_json()
    }
}
