//! The JSON-level API every non-Rust host speaks (the wasm builds, gateways, tests).
//!
//! Bytes of JSON in, one JSON string out, so the wasm glue stays thin and every build
//! (native, wasmtime, JS) produces the same bytes by construction: they all call
//! these functions.
//!
//! Inputs:
//! - `config_input`: a [`crate::ConfigInput`] object (`{"settings":..,"env":{..},"flags":{..},
//!   "handler_name":..,"key_files":{..}}`, every member optional);
//! - `event`: the Sensu event as piped by Sensu (Classic or Go JSON);
//! - `context`: a [`Context`] object (`{"now":<epoch seconds>,"first_occurrence":false,"dry_run":false,"create_unconfirmed":false,"received":<epoch seconds>}`, all but `now` optional);
//! - `answer`: an [`Answer`] (`{"answer":"response","status":200,"headers":[],"body":".."}`,
//!   `{"answer":"failure","kind":"timeout","detail":".."}` or `{"answer":"waited"}`).
//!
//! Output: the current [`Step`] as JSON (`{"step":"request",..}`, `{"step":"wait",..}`
//! or `{"step":"done",..}`), or an error object:
//!
//! ```json
//! {"error":{"kind":"input"|"config"|"protocol","message":"<one lowercase line with the fix>"}}
//! ```
//!
//! `input`: the event is not understood (a native host exits 65); `config`: the
//! configuration is invalid (exit 78); `protocol`: the caller broke this protocol
//! (bad context or answer JSON, an answer with no machine, a finished machine).

use crate::prelude::*;

use serde::Serialize;

use crate::config::Config;
use crate::machine::{Machine, plan_boxed};
use crate::read;
use crate::step::{Answer, Context, Purpose, Request, Step};

/// The kinds of error this API reports, as they appear in the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The event is not understood.
    Input,
    /// The configuration is invalid.
    Config,
    /// The caller broke the protocol.
    Protocol,
}

impl ErrorKind {
    /// The kind as written in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Input => "input",
            ErrorKind::Config => "config",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// The error object `{"error":{"kind":..,"message":..}}` as a string.
pub fn error_json(kind: ErrorKind, message: &str) -> String {
    crate::json_out::error(kind.as_str(), message)
}

/// The step as JSON.
pub fn step_json(step: &Step) -> String {
    step.to_json()
}

/// Parse and validate the configuration input.
pub fn load_config(config_input: &[u8]) -> Result<Config, (ErrorKind, String)> {
    load_boxed(config_input).map(|config| *config)
}

/// [`load_config`] boxed, as the cache keeps it.
fn load_boxed(config_input: &[u8]) -> Result<Box<Config>, (ErrorKind, String)> {
    const FIX: &str = "pass a json object with optional `settings`, `env`, `flags`, `handler_name` and `key_files`";
    let map = read::parse_object(config_input);
    let input = map
        .as_ref()
        .map_err(String::clone)
        .and_then(|map| read::InputJson::read(map, ""))
        .map_err(|e| (ErrorKind::Config, format!("the configuration input is not valid: {e}; {FIX}")))?;
    input.load().map_err(|e| (ErrorKind::Config, e.message))
}

/// Parse the context.
pub fn parse_context(context: &[u8]) -> Result<Context, (ErrorKind, String)> {
    read::parse_object(context).and_then(|map| Context::from_json(&map)).map_err(|e| {
        (ErrorKind::Protocol, format!("the context is not valid: {e}; pass a json object like {{\"now\":1764000000,\"first_occurrence\":false,\"dry_run\":false}}"))
    })
}

/// Parse an answer.
pub fn parse_answer(answer: &[u8]) -> Result<Answer, (ErrorKind, String)> {
    match crate::json_in::parse(answer) {
        Ok(value) => Answer::from_json(&value).map_err(answer_error),
        Err(e) => Err(answer_error(e)),
    }
}

fn answer_error(e: String) -> (ErrorKind, String) {
    (
        ErrorKind::Protocol,
        format!(
            "the answer is not valid: {e}; pass {{\"answer\":\"response\",\"status\":200,\"headers\":[],\"body\":\"..\"}}, {{\"answer\":\"failure\",\"kind\":\"timeout\",\"detail\":\"..\"}} or {{\"answer\":\"waited\"}}"
        ),
    )
}

/// Plan one event from JSON inputs: the machine (on success) and the first step's
/// JSON, or `None` and the error JSON.
pub fn plan_json(config_input: &[u8], event: &[u8], context: &[u8]) -> (Option<Machine>, String) {
    let (machine, out) = plan_boxed_json(config_input, event, context);
    (machine.map(|machine| *machine), out)
}

/// [`plan_json`] with the machine boxed, as the session keeps it.
fn plan_boxed_json(config_input: &[u8], event: &[u8], context: &[u8]) -> (Option<Box<Machine>>, String) {
    planned(load_boxed(config_input).and_then(|config| plan_loaded(&config, event, context)))
}

/// The machine and its first step's JSON, or `None` and the error JSON.
fn planned(result: Result<Box<Machine>, (ErrorKind, String)>) -> (Option<Box<Machine>>, String) {
    match result {
        Ok(machine) => {
            let out = step_json(machine.step());
            (Some(machine), out)
        }
        Err((kind, message)) => (None, error_json(kind, &message)),
    }
}

/// Plan with a configuration already loaded (the context is read after it, so the
/// errors come in the same order as ever: configuration, context, event).
fn plan_loaded(config: &Config, event: &[u8], context: &[u8]) -> Result<Box<Machine>, (ErrorKind, String)> {
    if event.len() > crate::MAX_EVENT_BYTES {
        // As the native handler refuses it (decisions.md: up to 16 MiB).
        return Err((
            ErrorKind::Input,
            format!(
                "the event is {} bytes, more than the 16 MiB accepted; sensu pipes one json event, check the handler's input",
                event.len()
            ),
        ));
    }
    let context = parse_context(context)?;
    // `format!`, not `to_string`: the shared formatting path, without `ToString`'s own
    // instance for the error (and its "Display returned an error" panic).
    plan_boxed(event, config, &context).map_err(|e| (ErrorKind::Input, format!("{e}")))
}

/// The last configuration input that loaded, byte for byte, and its validated
/// [`Config`]: a host passes the same configuration with every plan, and loading it
/// (parse and validate) costs about as much as planning a typical event.
///
/// [`ConfigCache::load`] answers exactly what [`load_config`] would: loading is pure,
/// so the same bytes give the same `Config`, and different bytes (compared in full,
/// not hashed) are loaded anew. A configuration that fails to load is never kept, so
/// it fails on every call.
#[derive(Clone, Debug, Default)]
pub struct ConfigCache {
    /// Boxed: the cache's take, match and insert move a pointer, not a `Config`.
    last: Option<(Vec<u8>, Box<Config>)>,
}

impl ConfigCache {
    /// An empty cache.
    pub const fn new() -> ConfigCache {
        ConfigCache { last: None }
    }

    /// The loaded configuration for these bytes: the kept one when they are the
    /// same bytes as last time, else [`load_config`]'s answer (kept when valid).
    pub fn load(&mut self, config_input: &[u8]) -> Result<&Config, (ErrorKind, String)> {
        let last = match self.last.take() {
            Some(kept) if kept.0 == config_input => kept,
            old => {
                // Drop the old one first: never two held at once.
                drop(old);
                (config_input.to_vec(), load_boxed(config_input)?)
            }
        };
        Ok(&self.last.insert(last).1)
    }

    /// [`plan_json`] with the configuration loaded through this cache.
    fn plan(&mut self, config_input: &[u8], event: &[u8], context: &[u8]) -> (Option<Box<Machine>>, String) {
        planned(self.load(config_input).and_then(|config| plan_loaded(config, event, context)))
    }
}

/// Hand an answer (JSON) to the machine: the next step's JSON, or the error JSON (the
/// machine is unchanged on error).
pub fn handle_json(machine: &mut Machine, answer: &[u8]) -> String {
    match handle_inner(machine, answer) {
        Ok(()) => step_json(machine.step()),
        Err((kind, message)) => error_json(kind, &message),
    }
}

fn handle_inner(machine: &mut Machine, answer: &[u8]) -> Result<(), (ErrorKind, String)> {
    if matches!(machine.step(), Step::Done(_)) {
        return Err((
            ErrorKind::Protocol,
            "the machine is done and takes no answer; call plan for the next event".to_owned(),
        ));
    }
    let answer = parse_answer(answer)?;
    if let Some(why) = misfit(machine.step(), &answer) {
        return Err((ErrorKind::Protocol, why));
    }
    machine.handle(answer);
    Ok(())
}

/// Why `answer` does not fit `step`, if it does not: a host that answers a request with
/// `waited` (or a wait with a response) has lost track of the steps, and would otherwise
/// get the same step back, and may send a create twice.
fn misfit(step: &Step, answer: &Answer) -> Option<String> {
    match (step, answer) {
        (Step::Request(_), Answer::Waited) => Some(
            "answer `waited` does not fit a request step; send the request and pass its `response` or `failure`"
                .to_owned(),
        ),
        (Step::Wait(_), Answer::Response(_)) => {
            Some("a `response` does not fit a wait step; wait `min_ms`, then pass {\"answer\":\"waited\"}".to_owned())
        }
        (Step::Wait(_), Answer::Failure(f)) if f.kind != crate::FailureKind::Deadline => Some(
            "a `failure` does not fit a wait step (only kind `deadline` does); wait `min_ms`, then pass {\"answer\":\"waited\"}"
                .to_owned(),
        ),
        _ => None,
    }
}

/// Stateless, one-shot: plan the event, feed it the answers given so far (a JSON
/// array of answers, in order), and return the step reached. A gateway that cannot
/// keep a machine between callbacks keeps only the answer list instead.
pub fn resume_json(config_input: &[u8], event: &[u8], context: &[u8], answers: &[u8]) -> String {
    resume_with(answers, || plan_boxed_json(config_input, event, context))
}

/// [`resume_json`] with the plan made by `plan` (after the answers are read).
fn resume_with(answers: &[u8], plan: impl FnOnce() -> (Option<Box<Machine>>, String)) -> String {
    let answers = match crate::json_in::parse(answers).and_then(|value| match value {
        serde_json::Value::Array(list) => Ok(list),
        other => Err(format!("expected a json array, got {}", read::kind(&other))),
    }) {
        Ok(list) => list,
        Err(e) => {
            return error_json(
                ErrorKind::Protocol,
                &format!(
                    "the answers are not valid: {e}; pass a json array of answers, in order ([] before the first)"
                ),
            );
        }
    };
    let (machine, first) = plan();
    let Some(mut machine) = machine else { return first };
    let mut out = first;
    for (i, answer) in answers.iter().enumerate() {
        if matches!(machine.step(), Step::Done(_)) {
            let message = format!(
                "answer {i} came after the machine was done; pass only the answers to the steps before `done` ({i} of them)"
            );
            return error_json(ErrorKind::Protocol, &message);
        }
        let answer = match Answer::from_json(answer).map_err(answer_error) {
            Ok(answer) => answer,
            Err((kind, message)) => return error_json(kind, &format!("answer {i}: {message}")),
        };
        if let Some(why) = misfit(machine.step(), &answer) {
            return error_json(ErrorKind::Protocol, &format!("answer {i}: {why}"));
        }
        machine.handle(answer);
        out = step_json(machine.step());
    }
    out
}

/// The answer a dry run feeds back for a request step (see [`crate::dry_run_answer`]),
/// as JSON; a protocol error for anything but a request step.
pub fn dry_run_answer_json(step: &[u8]) -> String {
    match read::parse_object(step).and_then(|map| read::step_kind(&map)) {
        Ok((_, Some(method))) => {
            // Only the method decides the dry-run answer.
            let request = Request {
                method,
                scheme: String::new(),
                authority: String::new(),
                path: String::new(),
                headers: Vec::new(),
                body: String::new(),
                timeout_ms: 0,
                purpose: Purpose::Create,
            };
            crate::machine::dry_run_answer(&request).to_json()
        }
        Ok((1, None)) => Answer::Waited.to_json(),
        Ok(_) => error_json(ErrorKind::Protocol, "a done step takes no answer; call plan for the next event"),
        Err(e) => error_json(
            ErrorKind::Protocol,
            &format!("the step is not valid: {e}; pass a step exactly as plan or handle returned it"),
        ),
    }
}

/// One machine at a time behind the JSON API: what a wasm instance or a JS object holds.
///
/// It also keeps the last valid configuration input and its loaded [`Config`]
/// ([`ConfigCache`]), so that plans passing the same configuration bytes skip loading
/// it; the output is the same either way.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Boxed: planned and kept without moving the machine through each result.
    machine: Option<Box<Machine>>,
    config: ConfigCache,
}

impl Session {
    /// A session with no machine yet.
    pub const fn new() -> Session {
        Session { machine: None, config: ConfigCache::new() }
    }

    /// Plan an event; replaces any machine in progress. See [`plan_json`].
    pub fn plan(&mut self, config_input: &[u8], event: &[u8], context: &[u8]) -> String {
        self.machine = None;
        let (machine, out) = self.config.plan(config_input, event, context);
        self.machine = machine;
        out
    }

    /// Hand an answer to the machine in progress. See [`handle_json`].
    pub fn handle(&mut self, answer: &[u8]) -> String {
        match self.machine.as_mut() {
            Some(machine) => handle_json(machine, answer),
            None => error_json(
                ErrorKind::Protocol,
                "no event is planned; call plan first (an event that failed to plan leaves no machine)",
            ),
        }
    }

    /// Stateless as far as the machine goes (the one in progress is untouched): see
    /// [`resume_json`]; only the configuration is kept, as for [`Session::plan`].
    pub fn resume(&mut self, config_input: &[u8], event: &[u8], context: &[u8], answers: &[u8]) -> String {
        resume_with(answers, || self.config.plan(config_input, event, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }

    const EVENT: &[u8] =
        br#"{"client":{"name":"web01"},"check":{"name":"disk","status":2,"output":"CRITICAL"},"action":"create"}"#;
    const CONTEXT: &[u8] = br#"{"now":1764000000}"#;

    #[test]
    fn plan_returns_a_step() {
        let (machine, out) = plan_json(b"{}", EVENT, CONTEXT);
        assert!(machine.is_some());
        assert!(out.starts_with(r#"{"step":"#), "{out}");
    }

    #[test]
    fn errors_have_kind_and_lowercase_message() {
        let (machine, out) = plan_json(b"{}", b"not json", CONTEXT);
        assert!(machine.is_none());
        assert!(out.starts_with(r#"{"error":{"kind":"input","message":"the event is not valid json"#), "{out}");

        let (_, out) = plan_json(b"[1]", EVENT, CONTEXT);
        assert!(out.starts_with(r#"{"error":{"kind":"config","message":"the configuration input is not valid: expected a json object, got an array; pass a json object"#), "{out}");

        let (_, out) = plan_json(b"{}", EVENT, b"{}");
        assert!(
            out.starts_with(r#"{"error":{"kind":"protocol","message":"the context is not valid: missing field `now`"#),
            "{out}"
        );
    }

    #[test]
    fn handle_without_plan_is_a_protocol_error() {
        let mut session = Session::new();
        let out = session.handle(br#"{"answer":"waited"}"#);
        assert_eq!(
            out,
            r#"{"error":{"kind":"protocol","message":"no event is planned; call plan first (an event that failed to plan leaves no machine)"}}"#
        );
        // A failed plan drops the previous machine too.
        assert!(session.plan(b"{}", EVENT, CONTEXT).starts_with(r#"{"step":"#));
        assert!(session.plan(b"{}", b"[]", CONTEXT).starts_with(r#"{"error":{"kind":"input""#));
        assert!(session.handle(br#"{"answer":"waited"}"#).contains("no event is planned"));
    }

    #[test]
    fn a_bad_answer_is_a_protocol_error_and_keeps_the_machine() {
        let (machine, first) = plan_json(b"{}", EVENT, CONTEXT);
        assert!(machine.is_some(), "{first}");
        let Some(mut machine) = machine else { return };
        if matches!(machine.step(), Step::Done(_)) {
            assert!(handle_json(&mut machine, br#"{"answer":"waited"}"#).contains("the machine is done"));
        } else {
            let out = handle_json(&mut machine, br#"{"answer":"nope"}"#);
            assert!(
                out.starts_with(
                    r#"{"error":{"kind":"protocol","message":"the answer is not valid: unknown variant `nope`"#
                ),
                "{out}"
            );
            assert_eq!(step_json(machine.step()), first);
        }
    }

    #[test]
    fn an_answer_that_does_not_fit_the_step_is_a_protocol_error() {
        let config = br#"{"settings":{"reactio":{"organization":"demo","api_key":"k-0123456789"}}}"#;
        let (machine, first) = plan_json(config, EVENT, CONTEXT);
        let Some(mut machine) = machine else { panic!("{first}") };
        assert!(first.starts_with(r#"{"step":"request""#), "{first}");
        let out = handle_json(&mut machine, br#"{"answer":"waited"}"#);
        assert!(out.contains("answer `waited` does not fit a request step"), "{out}");
        assert_eq!(step_json(machine.step()), first, "the machine is unchanged");
        // The same through the stateless form.
        let out = resume_json(config, EVENT, CONTEXT, br#"[{"answer":"waited"}]"#);
        assert!(out.contains("answer 0: answer `waited` does not fit"), "{out}");
        // A wait takes `waited`, or a deadline failure, and nothing else.
        let busy = br#"{"answer":"response","status":503,"headers":[],"body":"busy"}"#;
        let wait = handle_json(&mut machine, busy);
        assert!(wait.starts_with(r#"{"step":"wait""#), "{wait}");
        assert!(handle_json(&mut machine, busy).contains("a `response` does not fit a wait step"));
        let timeout = br#"{"answer":"failure","kind":"timeout","detail":"x"}"#;
        assert!(handle_json(&mut machine, timeout).contains("a `failure` does not fit a wait step"));
        assert_eq!(step_json(machine.step()), wait);
        let deadline = br#"{"answer":"failure","kind":"deadline","detail":"x"}"#;
        assert!(handle_json(&mut machine, deadline).starts_with(r#"{"step":"done""#));
    }

    #[test]
    fn an_event_over_16_mib_is_refused_as_the_native_handler_does() {
        let mut big = EVENT.to_vec();
        big.resize(crate::MAX_EVENT_BYTES + 1, b' ');
        let (machine, out) = plan_json(b"{}", &big, CONTEXT);
        assert!(machine.is_none());
        assert!(out.contains("more than the 16 MiB accepted"), "{out}");
    }

    #[test]
    fn dry_run_answers_by_step() {
        let get = br#"{"step":"request","method":"GET","scheme":"https","authority":"a","path":"/","headers":[],"body":"","timeout_ms":1,"purpose":"lookup_open"}"#;
        assert_eq!(dry_run_answer_json(get), r#"{"answer":"response","status":200,"headers":[],"body":"[]"}"#);
        assert_eq!(dry_run_answer_json(br#"{"step":"wait","min_ms":5,"reason":"x"}"#), r#"{"answer":"waited"}"#);
        assert!(
            dry_run_answer_json(b"{}").starts_with(r#"{"error":{"kind":"protocol","message":"the step is not valid"#)
        );
    }

    #[test]
    fn resume_replays_answers_like_a_session() {
        let mut session = Session::new();
        let mut answers = Vec::new();
        let mut out = session.plan(b"{}", EVENT, CONTEXT);
        assert_eq!(resume_json(b"{}", EVENT, CONTEXT, b"[]"), out);
        // Drive with dry-run answers until done (bounded).
        for _ in 0..20 {
            let step = serde_json::from_str::<Step>(&out);
            assert!(step.is_ok(), "{out}");
            let Ok(step) = step else { return };
            let answer = match step {
                Step::Request(request) => crate::dry_run_answer(&request),
                Step::Wait(_) => Answer::Waited,
                Step::Done(_) => break,
            };
            let text = to_json(&answer);
            out = session.handle(text.as_bytes());
            answers.push(answer);
            assert_eq!(resume_json(b"{}", EVENT, CONTEXT, to_json(&answers).as_bytes()), out);
        }
        assert!(out.starts_with(r#"{"step":"done""#), "{out}");
        answers.push(Answer::Waited);
        let out = resume_json(b"{}", EVENT, CONTEXT, to_json(&answers).as_bytes());
        assert!(out.starts_with(r#"{"error":{"kind":"protocol","message":"answer "#), "{out}");
        assert!(out.contains("came after the machine was done"), "{out}");
        assert!(resume_json(b"{}", EVENT, CONTEXT, b"{}").contains("the answers are not valid"));
    }

    #[test]
    fn a_session_reuses_the_configuration_and_answers_as_plan_json() {
        let good: &[u8] = br#"{"flags":{"api_key":"sk-0123456789abcdef","endpoint":"https://demo.reactio.jp"}}"#;
        let other: &[u8] = br#"{"flags":{"api_key":"sk-0123456789abcdef","endpoint":"https://other.reactio.jp"}}"#;
        let bad: &[u8] = br#"{"flags":{"endpoint":"ftp://nope"}}"#;
        let mut session = Session::new();
        let mut resumed = Session::new();
        // Same bytes twice (kept), a bad one (never kept: it fails every time), a
        // change and back, a syntax error, bad context and event with a good one.
        let calls: [(&[u8], &[u8], &[u8]); 11] = [
            (good, EVENT, CONTEXT),
            (good, EVENT, CONTEXT),
            (bad, EVENT, CONTEXT),
            (bad, EVENT, CONTEXT),
            (good, EVENT, CONTEXT),
            (other, EVENT, CONTEXT),
            (good, EVENT, CONTEXT),
            (b"{", EVENT, CONTEXT),
            (good, EVENT, b"{}"),
            (good, b"[]", CONTEXT),
            (bad, b"[]", b"{}"),
        ];
        for (config, event, context) in calls {
            let (_, expected) = plan_json(config, event, context);
            assert_eq!(session.plan(config, event, context), expected);
            assert_eq!(resumed.resume(config, event, context, b"[]"), resume_json(config, event, context, b"[]"));
        }
        assert!(session.plan(bad, EVENT, CONTEXT).starts_with(r#"{"error":{"kind":"config""#));
        assert!(session.plan(good, EVENT, CONTEXT).starts_with(r#"{"step":"#));
        // `resume` leaves the session's machine alone.
        let next = session.handle(br#"{"answer":"waited"}"#);
        assert!(!next.contains("no event is planned"), "{next}");
        assert!(resumed.handle(br#"{"answer":"waited"}"#).contains("no event is planned"));
    }
}
