//! Engines that run the core's state machine: `native` (linked in) or `wasm` (the
//! core's import-free module under wasmtime). Both hand out the same steps, byte for byte.

use sensu_reactio_core::{Answer, Config, Context, Machine, Step};

/// Why an engine could not go on.
#[derive(Debug)]
pub enum EngineError {
    /// The event is not one we understand (exit 65); the core's message.
    Input(String),
    /// The configuration is invalid (exit 78); the core's message.
    Config(String),
    /// The engine itself failed (a wasm trap, fuel/epoch deadline, memory cap, bad module).
    Engine(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Input(m) | EngineError::Config(m) | EngineError::Engine(m) => f.write_str(m),
        }
    }
}

/// Runs the core for one event at a time.
pub trait Engine {
    /// Plan one event; returns the first step.
    fn plan(&mut self, event: &[u8], context: &Context) -> Result<Step, EngineError>;
    /// Hand the answer to the current step; returns the next step.
    fn handle(&mut self, answer: Answer) -> Result<Step, EngineError>;
}

/// The core linked into this binary.
#[derive(Debug)]
pub struct Native {
    config: Config,
    machine: Option<Machine>,
}

impl Native {
    /// An engine over an already validated configuration.
    pub fn new(config: Config) -> Native {
        Native { config, machine: None }
    }
}

impl Engine for Native {
    fn plan(&mut self, event: &[u8], context: &Context) -> Result<Step, EngineError> {
        let machine = sensu_reactio_core::plan(event, &self.config, context).map_err(|e| EngineError::Input(e.to_string()))?;
        let step = machine.step().clone();
        self.machine = Some(machine);
        Ok(step)
    }

    fn handle(&mut self, answer: Answer) -> Result<Step, EngineError> {
        let machine = self.machine.as_mut().ok_or_else(|| EngineError::Engine("handle called before plan".into()))?;
        machine.handle(answer);
        Ok(machine.step().clone())
    }
}
