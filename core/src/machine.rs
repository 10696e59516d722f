//! The state machine: hands out one [`Step`] at a time, is handed each [`Answer`].

use crate::config::Config;
use crate::event::{Event, InputError};
use crate::step::{Answer, Context, Method, Outcome, OutcomeKind, Request, Response, Step};

/// One event's plan in progress. Drive it: `loop { match machine.step() { .. } }`.
#[derive(Clone, Debug)]
pub struct Machine {
    step: Step,
}

/// Plan one event: parse it, apply the settings and rules, and return the machine
/// positioned at its first step (often [`Step::Done`] with a skip).
pub fn plan(event: &[u8], config: &Config, context: &Context) -> Result<Machine, InputError> {
    let event = Event::parse(event)?;
    let _ = (config, context);
    Ok(Machine {
        step: Step::Done(Outcome {
            result: OutcomeKind::Skipped,
            retryable: false,
            auth_failed: false,
            code: "not_implemented".into(),
            key: event.key,
            incident: None,
            actions: Vec::new(),
            message: "placeholder".into(),
            warnings: Vec::new(),
            dry_run: context.dry_run,
        }),
    })
}

impl Machine {
    /// The current step. Calling it again without [`Machine::handle`] returns the same step.
    pub fn step(&self) -> &Step {
        &self.step
    }

    /// Hand the answer to the current step; the machine moves to the next step.
    pub fn handle(&mut self, answer: Answer) {
        let _ = answer;
    }
}

/// The answer a dry run feeds back for a request: every lookup finds nothing, every
/// write succeeds (a create answers incident id 0).
pub fn dry_run_answer(request: &Request) -> Answer {
    let body = match request.method {
        Method::Get => "[]".to_owned(),
        Method::Post => r#"{"id":0,"status":"open"}"#.to_owned(),
    };
    Answer::Response(Response { status: 200, headers: Vec::new(), body })
}
