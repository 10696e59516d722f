//! wasm-bindgen exports: the core's JSON API with strings in and out (wrapped by `wasm/js/api.js`).
//!
//! Every function returns the core's JSON text: a step, or an error object
//! `{"error":{"kind":..,"message":..}}` that the package's JS wrapper turns into a
//! thrown `SensuReactioError`. Returning the text (rather than throwing here) keeps
//! the error bytes identical to the native core's.

use std::cell::RefCell;

use sensu_reactio_core::json_api;
use wasm_bindgen::prelude::wasm_bindgen;

/// One machine at a time: `plan` an event, then `handle` each answer. It keeps the
/// last valid configuration too (see `json_api::Session`).
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Session(json_api::Session);

#[wasm_bindgen]
impl Session {
    /// A session with no machine yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session(json_api::Session::new())
    }

    /// Plan an event: the first step's JSON, or the error JSON.
    pub fn plan(&mut self, config_input: &str, event: &str, context: &str) -> String {
        self.0.plan(config_input.as_bytes(), event.as_bytes(), context.as_bytes())
    }

    /// Hand an answer to the machine: the next step's JSON, or the error JSON.
    pub fn handle(&mut self, answer: &str) -> String {
        self.0.handle(answer.as_bytes())
    }
}

thread_local! {
    /// `resume`'s session: it keeps no machine, only the last valid configuration
    /// (see `json_api::ConfigCache`), so that calls with the same one skip loading it.
    static RESUME: RefCell<json_api::Session> = const { RefCell::new(json_api::Session::new()) };
}

/// Stateless: plan, replay the answers (a JSON array), return the step reached.
#[wasm_bindgen]
pub fn resume(config_input: &str, event: &str, context: &str, answers: &str) -> String {
    RESUME.with_borrow_mut(|session| {
        session.resume(config_input.as_bytes(), event.as_bytes(), context.as_bytes(), answers.as_bytes())
    })
}

/// The answer a dry run feeds back for a step (a request or a wait), as JSON.
#[wasm_bindgen(js_name = dryRunAnswer)]
pub fn dry_run_answer(step: &str) -> String {
    json_api::dry_run_answer_json(step.as_bytes())
}
