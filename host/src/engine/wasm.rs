//! The wasm engine (the core's import-free module under wasmtime): not built in yet.

use sensu_reactio_core::{Answer, ConfigInput, Context, Step};

use super::{Engine, EngineError};

/// The core as a wasm module. This build has no wasm engine.
#[derive(Debug)]
pub struct Wasm {
    _private: (),
}

impl Wasm {
    /// Load the module for this configuration input.
    pub fn new(_input: &ConfigInput) -> Result<Wasm, EngineError> {
        Err(EngineError::Engine("the wasm engine is not built in".into()))
    }
}

impl Engine for Wasm {
    fn plan(&mut self, _event: &[u8], _context: &Context) -> Result<Step, EngineError> {
        Err(EngineError::Engine("the wasm engine is not built in".into()))
    }

    fn handle(&mut self, _answer: Answer) -> Result<Step, EngineError> {
        Err(EngineError::Engine("the wasm engine is not built in".into()))
    }
}
