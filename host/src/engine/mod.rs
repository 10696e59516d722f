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
    /// The machine could not give the engine what it needs (a thread, address space).
    Machine(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Input(m) | EngineError::Config(m) | EngineError::Engine(m) | EngineError::Machine(m) => {
                f.write_str(m)
            }
        }
    }
}

/// Runs the core for one event at a time.
pub trait Engine {
    /// Plan one event; returns the first step.
    fn plan(&mut self, event: &[u8], context: &Context) -> Result<Step, EngineError>;
    /// Hand the answer to the current step; returns the next step.
    fn handle(&mut self, answer: Answer) -> Result<Step, EngineError>;
    /// The run's deadline: an engine that can be interrupted (wasm) stops no later.
    fn set_deadline(&mut self, _end: std::time::Instant) {}
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
        let machine =
            sensu_reactio_core::plan(event, &self.config, context).map_err(|e| EngineError::Input(e.to_string()))?;
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

#[cfg(feature = "wasm-engine")]
pub mod wasm;

/// Build the chosen engine over the loaded configuration.
pub fn build(
    choice: crate::cli::EngineChoice,
    config: &Config,
    input: &sensu_reactio_core::ConfigInput,
) -> Result<Box<dyn Engine>, EngineError> {
    match choice {
        crate::cli::EngineChoice::Native => Ok(Box::new(Native::new(config.clone()))),
        #[cfg(feature = "wasm-engine")]
        crate::cli::EngineChoice::Wasm => Ok(Box::new(wasm::Wasm::new(input)?)),
        #[cfg(not(feature = "wasm-engine"))]
        crate::cli::EngineChoice::Wasm => {
            let _ = input;
            Err(EngineError::Engine(
                "this build has no wasm engine: rebuild with the `wasm-engine` cargo feature, or use --engine native"
                    .into(),
            ))
        }
    }
}
