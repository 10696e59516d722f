//! The main loop for one event: plan, then send each request, sleep each wait (with
//! jitter), hand every answer back, until the outcome; all within one deadline.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use sensu_reactio_core::{
    Answer, Context, DEADLINE_EXCEEDED, Failure, FailureKind, Outcome, OutcomeKind, Purpose, Request, Step,
    dry_run_answer,
};

use crate::engine::{Engine, EngineError};
use crate::error::HostError;
use crate::http::{Http, HttpSettings, check_policy};
use crate::output::Printer;
use crate::settings::EnvVars;

/// More steps than this for one event means the engine is looping: a bug.
const MAX_STEPS: usize = 1000;

/// Jitter added to each wait, as a fraction of it (0.2 = up to 20% more).
const JITTER_PERCENT: u64 = 20;

/// Sends requests for the engine; builds the HTTP client on first use only.
#[derive(Debug)]
pub struct Transport<'a> {
    http: Option<Http>,
    settings: HttpSettings,
    env: &'a EnvVars,
    dry_run: bool,
    /// Creates sent so far (whatever their answer).
    creates_sent: u32,
    /// Successful (2xx) HTTP answers received so far.
    answers: u32,
}

impl<'a> Transport<'a> {
    /// A transport that has not built its client yet.
    pub fn new(settings: HttpSettings, env: &'a EnvVars, dry_run: bool) -> Transport<'a> {
        Transport { http: None, settings, env, dry_run, creates_sent: 0, answers: 0 }
    }

    /// How many creates were sent so far (whatever their answer).
    pub fn creates_sent(&self) -> u32 {
        self.creates_sent
    }

    /// How many successful (2xx) HTTP answers came so far: the server was there and
    /// working (a proxy's 502s and a server's 429s do not count).
    pub fn answers(&self) -> u32 {
        self.answers
    }

    /// Wait `duration`; on the client's runtime once it is built, so that its
    /// connections see a close the server sends meanwhile.
    pub fn pause(&self, duration: Duration) {
        match &self.http {
            Some(http) => http.pause(duration),
            None => std::thread::sleep(duration),
        }
    }

    /// Send `request`; after a connection broke under one, every later request of the
    /// run goes on a new connection.
    fn send(&mut self, request: &Request, timeout: Duration) -> Result<Answer, HostError> {
        let answer = self.client()?.send(request, timeout)?;
        if let (Answer::Failure(failure), Some(http)) = (&answer, self.http.as_mut())
            && failure.kind == FailureKind::Reset
        {
            http.stop_reusing(&self.settings, self.env)?;
        }
        Ok(answer)
    }

    /// Let the client go, with its connections and the runtime's descriptors: the run
    /// sends nothing more, and keeping its event may need a file descriptor (a process
    /// at its open-file limit could not spool while it held them).
    pub fn close(&mut self) {
        self.http = None;
    }

    /// Was the HTTP client built (a request was really due)?
    pub fn client_built(&self) -> bool {
        self.http.is_some()
    }

    fn client(&mut self) -> Result<&Http, HostError> {
        if self.http.is_none() {
            self.http = Some(Http::build(&self.settings, self.env)?);
        }
        self.http.as_ref().ok_or_else(|| HostError::Internal("the http client vanished".into()))
    }
}

/// Engine errors as host errors (exit codes).
pub fn engine_error(e: EngineError) -> HostError {
    match e {
        EngineError::Input(m) => HostError::Input(m),
        EngineError::Config(m) => HostError::Config(m),
        EngineError::Engine(m) => HostError::Internal(format!("the engine failed: {m}")),
        EngineError::Machine(m) => HostError::Machine(m),
    }
}

fn jitter_ms(max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
    );
    hasher.finish() % (max + 1)
}

/// Whether the deadline cut this event short while the server was answering it
/// (`answered`: a 2xx on its way; slow, not down nor refusing):
/// [`crate::spool::Entry::cut_short`].
pub fn cut_short(outcome: &Outcome, answered: bool) -> bool {
    answered && outcome.code == DEADLINE_EXCEEDED
}

/// The outcome when the deadline ends the run before the core does.
pub fn deadline_outcome(key: &str, deadline: Duration, why: &str, context: &Context) -> Outcome {
    Outcome {
        result: OutcomeKind::Failed,
        retryable: true,
        auth_failed: false,
        code: DEADLINE_EXCEEDED.into(),
        key: key.to_owned(),
        incident: None,
        actions: Vec::new(),
        message: format!("gave up on {key}: the {:.1} s deadline would pass ({why})", deadline.as_secs_f64()),
        warnings: Vec::new(),
        dry_run: context.dry_run,
        create_unconfirmed: false,
    }
}

/// The deadline ends the run: the core is told (a `deadline` failure) and says how it
/// ended: failed and retryable, or handled when only housekeeping was left (a delivered
/// event must not be spooled and sent again). [`deadline_outcome`] if it says nothing.
fn out_of_time(
    engine: &mut dyn Engine,
    key: &str,
    total: Duration,
    why: &str,
    context: &Context,
) -> Result<Outcome, HostError> {
    let detail = format!("the {:.1} s deadline would pass ({why})", total.as_secs_f64());
    // An engine that cannot say (it failed, or it went on) leaves the host's own outcome.
    match engine.handle(Answer::Failure(Failure { kind: FailureKind::Deadline, detail })) {
        Ok(Step::Done(outcome)) => Ok(outcome),
        _ => Ok(deadline_outcome(key, total, why, context)),
    }
}

/// The time one event may use.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// When it ends.
    pub end: Instant,
    /// Its length (for messages).
    pub total: Duration,
}

/// A create or a broadcast ([`run_event`]'s `on_write`): about to be sent, with the
/// time allowed for its answer, or answered.
#[derive(Debug)]
pub enum Write<'a> {
    /// About to be sent.
    Sending(&'a Request, Duration),
    /// Its answer came (or its failure).
    Answered(&'a Request, &'a Answer),
}

/// Whether `answer` says its request certainly had no effect: it never reached the
/// server, or the server refused it or was unavailable (the core's own rule, by which
/// a broadcast may go again: [`sensu_reactio_core::not_taken`]).
pub fn not_applied(answer: &Answer) -> bool {
    match answer {
        Answer::Failure(failure) => !failure.kind.maybe_delivered(),
        Answer::Response(response) => sensu_reactio_core::not_taken(response),
        Answer::Waited => false,
    }
}

/// Run one event through the engine until its outcome or the deadline. `on_write` is
/// told of each create and each broadcast before it is sent and once it is answered;
/// before, `Some(failure)` means it is not sent, and the engine hears `failure` as its
/// answer: an earlier attempt sent that one already (a run killed before its answer:
/// the engine hears the answer was lost, as when a broadcast's answer is lost in one
/// run, so phones ring once), or it could not be recorded as sent (the run stops there,
/// as at its deadline, and the event waits).
#[allow(clippy::too_many_arguments)]
pub fn run_event(
    engine: &mut dyn Engine,
    transport: &mut Transport<'_>,
    printer: &Printer,
    event: &[u8],
    key: &str,
    context: &Context,
    budget: Budget,
    on_write: &mut dyn FnMut(Write<'_>) -> Option<Failure>,
) -> Result<Outcome, HostError> {
    let Budget { end, total } = budget;
    engine.set_deadline(end);
    let mut step = engine.plan(event, context).map_err(engine_error)?;
    let mut last = String::from("no answer yet");
    for _ in 0..MAX_STEPS {
        let answer = match step {
            Step::Done(outcome) => return Ok(outcome),
            Step::Request(request) => {
                if transport.dry_run {
                    printer.dry_run_request(&request);
                    dry_run_answer(&request)
                } else {
                    check_policy(&request, &transport.settings)?;
                    let remaining = end.saturating_duration_since(Instant::now());
                    if remaining < Duration::from_millis(1) {
                        return out_of_time(engine, key, total, &last, context);
                    }
                    let timeout = remaining.min(Duration::from_millis(request.timeout_ms.max(1)));
                    let write = matches!(request.purpose, Purpose::Create | Purpose::Notify);
                    let earlier = if write { on_write(Write::Sending(&request, timeout)) } else { None };
                    if request.purpose == Purpose::Create && earlier.is_none() {
                        transport.creates_sent += 1;
                    }
                    let answer = match earlier {
                        Some(failure) => Answer::Failure(failure),
                        None => {
                            let answer = transport.send(&request, timeout)?;
                            if write {
                                on_write(Write::Answered(&request, &answer));
                            }
                            answer
                        }
                    };
                    if let Answer::Response(r) = &answer
                        && (200..300).contains(&r.status)
                    {
                        transport.answers += 1;
                    }
                    last = match &answer {
                        Answer::Response(r) => format!("last answer: http {}", r.status),
                        Answer::Failure(f) => format!("last failure: {}", f.detail),
                        Answer::Waited => String::new(),
                    };
                    answer
                }
            }
            Step::Wait(wait) => {
                if !transport.dry_run {
                    let remaining = end.saturating_duration_since(Instant::now());
                    let min = Duration::from_millis(wait.min_ms);
                    if min >= remaining {
                        let why = format!("a retry was due in {} ms: {}", wait.min_ms, wait.reason);
                        return out_of_time(engine, key, total, &why, context);
                    }
                    let jitter = Duration::from_millis(jitter_ms(wait.min_ms * JITTER_PERCENT / 100));
                    // Leave a little time for the retried request itself.
                    let sleep = (min + jitter).min(remaining.saturating_sub(Duration::from_millis(50)).max(min));
                    transport.pause(sleep);
                }
                Answer::Waited
            }
        };
        step = engine.handle(answer).map_err(engine_error)?;
    }
    Err(HostError::Internal(format!("the engine did not finish {key} within {MAX_STEPS} steps")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use sensu_reactio_core::{Method, Purpose, Request, Wait};

    /// [`run_event`] of an empty event under key `k`, with no create hook.
    fn run_script(engine: &mut Script, transport: &mut Transport<'_>, budget: Budget) -> Result<Outcome, HostError> {
        run_event(engine, transport, &Printer::default(), b"{}", "k", &Context::default(), budget, &mut |_| None)
    }

    /// A scripted engine: hands out the given steps in order, records the answers.
    struct Script {
        steps: Vec<Step>,
        answers: Vec<Answer>,
    }

    impl Engine for Script {
        fn plan(&mut self, _event: &[u8], _context: &Context) -> Result<Step, EngineError> {
            Ok(self.steps.remove(0))
        }
        fn handle(&mut self, answer: Answer) -> Result<Step, EngineError> {
            self.answers.push(answer);
            Ok(self.steps.remove(0))
        }
    }

    fn done() -> Step {
        Step::Done(Outcome {
            result: OutcomeKind::Handled,
            retryable: false,
            auth_failed: false,
            code: "created".into(),
            key: "k".into(),
            incident: None,
            actions: vec![],
            message: "ok".into(),
            warnings: vec![],
            dry_run: false,
            create_unconfirmed: false,
        })
    }

    #[test]
    fn a_wait_past_the_deadline_gives_up_retryable_without_sleeping() {
        let mut engine = Script {
            // Answers the deadline with another wait: the host's own outcome stands in.
            steps: vec![
                Step::Wait(Wait { min_ms: 60_000, reason: "http 503".into() }),
                Step::Wait(Wait { min_ms: 1, reason: "x".into() }),
            ],
            answers: vec![],
        };
        let env = EnvVars::default();
        let mut transport = Transport::new(HttpSettings::default(), &env, false);
        let started = Instant::now();
        let total = Duration::from_millis(500);
        let budget = Budget { end: started + total, total };
        let outcome = run_script(&mut engine, &mut transport, budget).unwrap();
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(outcome.result, OutcomeKind::Failed);
        assert!(outcome.retryable);
        assert!(outcome.message.contains("http 503"), "{}", outcome.message);
        assert!(!transport.client_built());
        // The engine was told first, with the reason.
        assert!(
            matches!(&engine.answers[..], [Answer::Failure(f)] if f.kind == FailureKind::Deadline && f.detail.contains("0.5 s deadline would pass (a retry was due in 60000 ms: http 503)")),
            "{:?}",
            engine.answers
        );
    }

    #[test]
    fn the_core_decides_how_a_run_out_of_time_ends() {
        // A core that says "handled" (only housekeeping was left) is believed.
        let mut engine = Script {
            steps: vec![Step::Wait(Wait { min_ms: 60_000, reason: "verify after create".into() }), done()],
            answers: vec![],
        };
        let env = EnvVars::default();
        let mut transport = Transport::new(HttpSettings::default(), &env, false);
        let total = Duration::from_millis(200);
        let budget = Budget { end: Instant::now() + total, total };
        let outcome = run_script(&mut engine, &mut transport, budget).unwrap();
        assert_eq!((outcome.result, outcome.code.as_str()), (OutcomeKind::Handled, "created"));
    }

    #[test]
    fn a_short_wait_sleeps_at_least_its_minimum() {
        let mut engine =
            Script { steps: vec![Step::Wait(Wait { min_ms: 30, reason: "r".into() }), done()], answers: vec![] };
        let env = EnvVars::default();
        let mut transport = Transport::new(HttpSettings::default(), &env, false);
        let started = Instant::now();
        let total = Duration::from_secs(5);
        let budget = Budget { end: started + total, total };
        let outcome = run_script(&mut engine, &mut transport, budget).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(outcome.code, "created");
        assert_eq!(engine.answers, vec![Answer::Waited]);
    }

    #[test]
    fn dry_run_feeds_dry_run_answers_and_builds_no_client() {
        let request = Request {
            method: Method::Get,
            scheme: "https".into(),
            authority: "demo.reactio.jp".into(),
            path: "/api/v1/incidents?status=open".into(),
            headers: vec![("x-api-key".into(), "secret-key".into())],
            body: String::new(),
            timeout_ms: 3000,
            purpose: Purpose::LookupOpen,
        };
        let mut engine = Script { steps: vec![Step::Request(request.clone()), done()], answers: vec![] };
        let env = EnvVars::default();
        let mut transport = Transport::new(HttpSettings::default(), &env, true);
        let budget = Budget { end: Instant::now() + Duration::from_secs(1), total: Duration::from_secs(1) };
        run_script(&mut engine, &mut transport, budget).unwrap();
        assert_eq!(engine.answers, vec![dry_run_answer(&request)]);
        assert!(!transport.client_built());
    }

    #[test]
    fn plain_http_elsewhere_is_refused_before_sending() {
        let request = Request {
            method: Method::Get,
            scheme: "http".into(),
            authority: "demo.reactio.jp".into(),
            path: "/".into(),
            headers: vec![],
            body: String::new(),
            timeout_ms: 3000,
            purpose: Purpose::LookupOpen,
        };
        let mut engine = Script { steps: vec![Step::Request(request), done()], answers: vec![] };
        let env = EnvVars::default();
        let mut transport = Transport::new(HttpSettings::default(), &env, false);
        let budget = Budget { end: Instant::now() + Duration::from_secs(1), total: Duration::from_secs(1) };
        let err = run_script(&mut engine, &mut transport, budget).unwrap_err();
        assert!(matches!(err, HostError::Config(_)));
        assert!(!transport.client_built());
    }
}
