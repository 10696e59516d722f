//! The state machine: hands out one [`Step`] at a time, is handed each [`Answer`].
//!
//! A decision runs in phases: *lookup* (paged lists of `open`, then `pend`, then for
//! reconcile recently `close`d incidents, matching the exact name), then a queue of
//! *writes* (create, message, notify, close) chosen from what the lookup found, then
//! after a create a *verify* listing that heals duplicates. Retryable answers become a
//! [`Step::Wait`] and the same request again, except a failed create, which goes back
//! through the lookup (the server may have created it).
//!
//! Healing duplicates (a note and a close for each newer open incident of the key, found
//! by the verify listing or by any lookup) is *housekeeping*: it runs after the event's
//! own writes, and when it fails the event still counts as handled, with a warning (the
//! next run heals what is left).

use crate::prelude::*;

mod act;
mod heal;
mod listing;
mod refused;

use crate::config::{Config, Effective};
use crate::event::{Event, InputError};
use crate::messages::Texts;
use crate::reactio::{self, Api, CreateBody, Incident, Verdict};
use crate::rules::{self, Decision};
use crate::step::{
    Answer, Context, Failure, FailureKind, IncidentRef, Method, Outcome, OutcomeKind, Purpose, Request, Response, Step,
    Wait,
};
use crate::text::Decimal;
use listing::Listing;

/// Retries per event at most (then the host spools it).
const MAX_RETRIES: u32 = 4;
/// Retries for housekeeping (the verify listing, duplicate notes and closes): one, at
/// once, so a blip is ridden out but a failing server does not hold a delivered event up.
const HOUSEKEEPING_RETRIES: u32 = 1;
/// Back-off schedule in milliseconds when the server names no `Retry-After`.
const BACKOFF_MS: [u64; 4] = [250, 500, 1000, 2000];

/// The least wait before the lookup that follows a failed create (an answer lost, or a
/// 5xx from a proxy in front of a server still at work): the server may yet apply it,
/// and a lookup too soon would miss it and create a second incident (each create
/// broadcasts, and may ring phones).
pub const CREATE_RETRY_WAIT_MS: u64 = 2000;

/// The outcome code of an event the deadline cut short (a host that ends a run at its
/// deadline without the core says the same).
pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";

/// One event's plan in progress. Drive it: `loop { match machine.step() { .. } }`.
#[derive(Clone, Debug)]
pub struct Machine {
    step: Step,
    run: Option<Box<Run>>,
}

/// Plan one event: parse it, apply the settings and rules, and return the machine
/// positioned at its first step (often [`Step::Done`] with a skip).
pub fn plan(event: &[u8], config: &Config, context: &Context) -> Result<Machine, InputError> {
    plan_boxed(event, config, context).map(|machine| *machine).map_err(|e| *e)
}

/// [`plan`] boxed, as the JSON API takes it: the error is not moved through an
/// unboxing and a `?` more, nor the machine through each of the API's results.
pub(crate) fn plan_boxed(event: &[u8], config: &Config, context: &Context) -> Result<Box<Machine>, Box<InputError>> {
    let (event, repaired) = Event::parse(event)?;
    // The configuration's warnings, then the repair's, then the overrides' (pushed
    // where they are made: no `Vec::append` of warnings in the wasm builds).
    let mut warnings = config.warnings.clone();
    for warning in repaired {
        warnings.push(warning);
    }
    let eff = config.effective_boxed(&event.overrides, &mut warnings);
    let decision = rules::decide(&event, &eff, context);
    let mut run = Run::new(event, eff, context.clone(), decision, warnings);
    let step = run.start();
    let run = (!matches!(step, Step::Done(_))).then(|| Box::new(run));
    Ok(Box::new(Machine { step, run }))
}

impl Machine {
    /// The current step. Calling it again without [`Machine::handle`] returns the same step.
    pub fn step(&self) -> &Step {
        &self.step
    }

    /// Hand the answer to the current step; the machine moves to the next step. An
    /// answer that does not fit the step (a response while waiting, anything after
    /// the end) is ignored and the step stays as it was.
    pub fn handle(&mut self, answer: Answer) {
        let Some(run) = self.run.as_mut() else { return };
        // A host's words about a failure may quote the request, key and all (a fetch
        // refusing a key no header can carry): masked like an answer's.
        let answer = match (&self.step, answer) {
            (Step::Request(request), Answer::Failure(failure)) => {
                Answer::Failure(Failure { detail: request.scrub_echo(failure.detail), ..failure })
            }
            (_, answer) => answer,
        };
        let next = match (&self.step, answer) {
            // The answer goes on as it came: its data (incident names, ids, error fields)
            // must reach the readers whole. Every text made from it is masked where it is
            // made (`Request::scrub_echo`), so a server echoing the key shows none of it.
            (Step::Request(request), Answer::Response(response)) => run.on_response(request, &response),
            (Step::Request(_) | Step::Wait(_), Answer::Failure(failure)) if failure.kind == FailureKind::Deadline => {
                run.out_of_time(failure.detail)
            }
            // A broadcast is not sent again once it may have gone out: each one rings
            // phones, and no listing can tell whether it did.
            (Step::Request(request), Answer::Failure(failure))
                if request.purpose == Purpose::Notify && failure.kind.maybe_delivered() =>
            {
                run.notify_unconfirmed(&failure.detail)
            }
            // The host's own policy refused it (a gateway host's outbound allow-list):
            // every retry meets the same refusal, so it is the host's configuration to
            // fix, said as such (a gateway answers 500), not "reactio is not answering".
            (Step::Request(request), Answer::Failure(failure))
                if failure.kind == FailureKind::Refused && !run.housekeeping =>
            {
                let message = format!(
                    "the host refused to send the {} to {} ({}): allow that host in its outbound policy (spin: `allowed_outbound_hosts`)",
                    request.purpose_label(),
                    request.authority,
                    failure.detail
                );
                run.fail(false, false, "not_configured", message)
            }
            (Step::Request(request), Answer::Failure(failure)) => {
                let reason =
                    format!("{}: {} failure: {}", request.purpose_label(), failure.kind.label(), failure.detail);
                if failure.kind == FailureKind::Timeout
                    && let Some(step) = run.wide_failed(&reason, None, true)
                {
                    step
                } else {
                    run.retry(reason, None, request, true)
                }
            }
            (Step::Wait(_), Answer::Waited) => run.after_wait(),
            _ => return,
        };
        if matches!(next, Step::Done(_)) {
            self.run = None;
        }
        self.step = next;
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

/// A write still to send.
#[derive(Clone, Debug)]
enum Write {
    /// Boxed: the bodies would make every write (queued, shifted, in flight) their size.
    Create {
        body: Box<CreateBody>,
        minimal: Box<CreateBody>,
    },
    Message {
        id: u64,
        text: String,
        minimal: String,
    },
    Notify {
        id: u64,
        text: String,
        call: bool,
    },
    Close {
        id: u64,
    },
}

#[derive(Clone, Debug)]
enum Phase {
    /// Listing statuses in order (open, pend, then for reconcile close) until one matches.
    Lookup { current: Box<Listing> },
    /// Sending writes.
    Writes,
    /// Listing open incidents after a create.
    Verify { current: Box<Listing>, created: Option<u64> },
}

impl Phase {
    /// The listing under way (none while sending writes).
    fn listing_mut(&mut self) -> Option<&mut Listing> {
        match self {
            Phase::Lookup { current } | Phase::Verify { current, .. } => Some(current),
            Phase::Writes => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Run {
    event: Box<Event>,
    eff: Box<Effective>,
    context: Context,
    decision: Decision,
    texts: Texts,
    warnings: Vec<String>,
    actions: Vec<String>,
    retries: u32,
    phase: Phase,
    found: Vec<Incident>,
    writes: Vec<Write>,
    /// Housekeeping writes, sent after `writes`: notes and closes for duplicates.
    cleanup: Vec<Write>,
    /// The event's own requests are done; what runs now is housekeeping.
    housekeeping: bool,
    /// Retries spent on housekeeping (at most [`HOUSEKEEPING_RETRIES`]).
    housekeeping_retries: u32,
    in_flight: Option<Write>,
    minimal_used: bool,
    /// A request of this run was answered 2xx: a 401 or 403 after it refuses a request,
    /// not the key.
    key_worked: bool,
    incident: Option<u64>,
    code: &'static str,
    summary: String,
    /// The request to send again when the wait is over; `None`: look up again (after a
    /// failed create, which the server may have applied).
    resume: Option<Request>,
    /// A create failed and no answer or lookup since has confirmed it: the lookup after
    /// it decides, and a run that ends first says so ([`Outcome::create_unconfirmed`]).
    create_unconfirmed: bool,
    /// Seconds Reactio's clock is ahead of the host's, by the last listing's `Date`.
    reactio_ahead: Option<i64>,
    /// Listings ask for [`reactio::PER_PAGE`] a page; off once a first page asking
    /// for it was refused (the server's own page size is used instead).
    per_page: bool,
    /// A first page is asked for without `page` (see [`listing`]); off once a server
    /// refused that (it wants `page=1`).
    pageless: bool,
    /// A create was refused for a name in use (a 409, or a 400 or 422 saying `name:
    /// taken`: [`crate::reactio::name_in_use`]): the lookup runs again, a create after
    /// it goes with a name of its own ([`crate::messages::Texts::own_name`]), and a
    /// second such refusal is final.
    name_in_use: bool,
}

impl Run {
    fn new(
        mut event: Box<Event>,
        eff: Box<Effective>,
        context: Context,
        decision: Decision,
        warnings: Vec<String>,
    ) -> Run {
        let texts = Texts::new(&mut event, &eff, context.now);
        let create_unconfirmed = context.create_unconfirmed;
        Run {
            event,
            eff,
            context,
            decision,
            texts,
            warnings,
            actions: Vec::new(),
            retries: 0,
            phase: Phase::Writes,
            found: Vec::new(),
            writes: Vec::new(),
            cleanup: Vec::new(),
            housekeeping: false,
            housekeeping_retries: 0,
            in_flight: None,
            minimal_used: false,
            key_worked: false,
            incident: None,
            code: "",
            summary: String::new(),
            resume: None,
            create_unconfirmed,
            reactio_ahead: None,
            per_page: true,
            pageless: true,
            name_in_use: false,
        }
    }

    fn api(&self) -> Api<'_> {
        Api { connection: &self.eff.connection, timeout_ms: self.eff.global.request_timeout_ms }
    }

    fn start(&mut self) -> Step {
        if let Decision::Skip { code, reason } = &self.decision {
            let (code, reason) = (*code, reason.clone());
            return self.finish(OutcomeKind::Skipped, code, format!("skipped {}: {reason}", self.event.key));
        }
        if !self.context.dry_run {
            if let Some(problem) = self.eff.connection.problem() {
                let which = match self.eff.settings.profile.as_deref() {
                    Some(p) => format!("profile `{p}`"),
                    None => "the default connection".to_owned(),
                };
                // Not retryable: the same event fails the same way until the settings change.
                return self.fail(false, false, "not_configured", format!("{which}: {problem}"));
            }
        } else if self.eff.connection.endpoint.authority.is_empty() {
            // A dry run without an organization shows where the requests would go.
            // A copy, not `Arc::make_mut` (~0.6 KB of the raw module for a dry run's name).
            let mut connection = (*self.eff.connection).clone();
            connection.endpoint.authority = "your-organization.reactio.jp".to_owned();
            self.eff.connection = connection.into();
        }
        self.begin_lookup()
    }

    fn begin_lookup(&mut self) -> Step {
        self.found.clear();
        self.writes.clear();
        self.cleanup.clear();
        self.housekeeping = false;
        self.in_flight = None;
        self.phase = Phase::Lookup { current: Listing::new("open", Purpose::LookupOpen, None) };
        self.send_listing()
    }

    /// The check's last pass (`last_ok`) moved to the host's clock, when the event has it.
    fn last_pass(&self) -> Option<i64> {
        let arrived = self.event.arrived(self.context.received, self.context.now);
        let (last_ok, executed) = (self.event.last_ok?, self.event.executed?);
        Some(last_ok.saturating_add(arrived.saturating_sub(executed)))
    }

    fn on_response(&mut self, request: &Request, response: &Response) -> Step {
        let verdict = reactio::classify(request, response, self.context.now, self.key_worked);
        // A listing refused for good may only say its page or page size was not to
        // the server's liking.
        if request.method == Method::Get
            && matches!(verdict, Verdict::Fatal { .. })
            && let Some(step) = self.listing_refused(request, response)
        {
            return step;
        }
        match verdict {
            Verdict::Success => self.on_success(request, response),
            // A server error (a proxy's 502 or 504, say, or a 200 whose body says one) may
            // come after the broadcast went out; a 408, a 429, or a 503 says it was not
            // taken, unless the 503 is a proxy's after the server was reached.
            Verdict::Retry { reason, .. } if request.purpose == Purpose::Notify && !reactio::not_taken(response) => {
                self.notify_unconfirmed(&reason)
            }
            // A create the server says it did not take is sent again as it is, not
            // looked for (it cannot have landed).
            Verdict::Retry { reason, retry_after_ms } => {
                let maybe_taken = !reactio::said_not_taken(response);
                self.retry(reason, retry_after_ms, request, maybe_taken)
            }
            // A close refused as a conflict: the incident is closed already (a person
            // closed it after the lookup). The recovery is on its timeline.
            Verdict::Fatal { reason, .. } if request.purpose == Purpose::Close && response.status == 409 => {
                self.closed_already(&reason)
            }
            // A create refused as a conflict, or for its name in use (a 400 or 422 in
            // Reactio's error shape, `name: taken`): an incident has that name.
            Verdict::Fatal { reason, .. }
                if request.purpose == Purpose::Create && !self.name_in_use && reactio::name_in_use(response) =>
            {
                self.name_taken(reason)
            }
            Verdict::Auth { detail } if self.housekeeping => {
                self.skip_housekeeping(format!("reactio refused the api key {detail}"))
            }
            Verdict::Fatal { reason, .. } if self.housekeeping => self.skip_housekeeping(reason),
            Verdict::Auth { detail } => self.auth_refused(&detail),
            Verdict::Fatal { reason, length_fields } => self.refused(request, response, reason, &length_fields),
        }
    }

    fn on_success(&mut self, request: &Request, response: &Response) -> Step {
        self.key_worked = true;
        if request.method == Method::Get {
            return self.on_page(request, response);
        }
        match self.in_flight.take() {
            Some(Write::Create { body, .. }) => {
                self.create_unconfirmed = false;
                let created = reactio::parse_created_id(&response.body);
                self.act("created");
                if body.notification_call {
                    self.act("called");
                }
                self.incident = created;
                self.summary = created_summary(created, &self.event.key);
                // The incident exists and its broadcast is out: what follows is housekeeping.
                self.housekeeping = true;
                let current = Listing::new("open", Purpose::VerifyCreate, None);
                self.phase = Phase::Verify { current, created };
                if self.context.dry_run {
                    self.incident = None;
                    self.summary = format!("would create an incident for {}", self.event.key);
                    self.phase = Phase::Writes;
                    return self.next_write();
                }
                self.send_listing()
            }
            Some(Write::Message { .. }) => {
                if !self.housekeeping {
                    self.act("posted");
                }
                self.next_write()
            }
            Some(Write::Notify { call, .. }) => {
                self.act("broadcast");
                if call {
                    self.act("called");
                }
                self.next_write()
            }
            Some(Write::Close { .. }) => {
                self.act(if self.housekeeping { "healed_duplicate" } else { "closed" });
                self.next_write()
            }
            None => self.next_write(),
        }
    }

    /// Note an action taken, for the outcome's `actions`.
    #[inline(never)]
    fn act(&mut self, action: &str) {
        self.actions.push(action.to_owned());
    }

    fn renotify_call(&self) -> bool {
        self.eff.settings.call_on_renotify && self.eff.settings.call.contains(&self.event.severity())
    }

    fn next_write(&mut self) -> Step {
        // Each write gets its own one retry with the minimal payload.
        self.minimal_used = false;
        if let Some(write) = first_out(&mut self.writes) {
            return self.send_write(write);
        }
        match first_out(&mut self.cleanup) {
            Some(write) => {
                self.housekeeping = true;
                self.send_write(write)
            }
            None => self.finish_handled(),
        }
    }

    fn send_write(&mut self, write: Write) -> Step {
        let api = self.api();
        let request = match &write {
            Write::Create { body, .. } => api.create(body),
            Write::Message { id, text, .. } => api.message(*id, text),
            Write::Notify { id, text, call } => api.notify(*id, text, *call),
            Write::Close { id } => api.close(*id),
        };
        self.in_flight = Some(write);
        Step::Request(request)
    }

    /// `maybe_taken`: the server may have acted on `request` (no answer, or one that
    /// does not say it refused): a create is then unconfirmed and looked for again.
    fn retry(&mut self, reason: String, retry_after_ms: Option<u64>, request: &Request, maybe_taken: bool) -> Step {
        if let Some(step) = self.wide_failed(&reason, retry_after_ms, false) {
            return step;
        }
        if self.housekeeping {
            // One retry at once, never a wait: a delivered event is not held up for
            // housekeeping, nor turned into a 503 by a gateway (which cannot sleep) and
            // sent again by its sender.
            self.housekeeping_retries += 1;
            if self.housekeeping_retries > HOUSEKEEPING_RETRIES || retry_after_ms.is_some_and(|ms| ms > 0) {
                return self.skip_housekeeping(reason);
            }
            return Step::Request(request.clone());
        }
        // A create refused for now after an earlier attempt went unanswered is looked
        // for still: that attempt may yet land.
        let maybe_landed = request.purpose == Purpose::Create && (maybe_taken || self.create_unconfirmed);
        if maybe_landed {
            // Unconfirmed from now on, whether or not a retry follows.
            self.create_unconfirmed = true;
        }
        self.retries += 1;
        if self.retries > MAX_RETRIES {
            return self.fail(
                true,
                false,
                "retries_exhausted",
                format!("gave up after {MAX_RETRIES} retries: {reason}"),
            );
        }
        let index = usize::try_from(self.retries - 1).unwrap_or(0).min(BACKOFF_MS.len() - 1);
        let mut backoff = BACKOFF_MS.get(index).copied().unwrap_or(2000);
        if maybe_landed {
            // The server may have created it: the retry goes through the lookup again.
            self.resume = None;
            backoff = backoff.max(CREATE_RETRY_WAIT_MS);
        } else {
            self.resume = Some(request.clone());
        }
        // `Retry-After` is a minimum, and so is the backoff: a server that says 0 (or a
        // date gone by) is not retried back to back.
        Step::Wait(Wait { min_ms: retry_after_ms.map_or(backoff, |ms| ms.max(backoff)), reason })
    }

    /// The broadcast in flight may have gone out (its answer was lost, or was a server
    /// error): noted, not sent again, and the run goes on with its other writes.
    fn notify_unconfirmed(&mut self, detail: &str) -> Step {
        let what = match self.in_flight.take() {
            Some(Write::Notify { call: true, .. }) => "broadcast and call",
            _ => "broadcast",
        };
        self.warnings.push(crate::text::one_line(&format!(
            "the {what} for {} may have gone out but was not confirmed ({detail}); not sent again, so that phones do not ring twice",
            self.event.key
        )));
        self.summary.push_str(" (not confirmed)");
        self.next_write()
    }

    fn after_wait(&mut self) -> Step {
        match self.resume.take() {
            Some(request) => Step::Request(request),
            None => self.begin_lookup(),
        }
    }

    fn outcome(&self, result: OutcomeKind, code: &str, incident: Option<u64>, message: String) -> Outcome {
        let api = self.api();
        let dry = if self.context.dry_run { "dry run: " } else { "" };
        Outcome {
            result,
            retryable: false,
            auth_failed: false,
            code: code.to_owned(),
            key: self.event.key.clone(),
            incident: incident.map(|id| IncidentRef { id, url: api.incident_url(id) }),
            actions: self.actions.clone(),
            message: format!("{dry}{message}"),
            warnings: self.warnings.clone(),
            dry_run: self.context.dry_run,
            create_unconfirmed: self.create_unconfirmed && result == OutcomeKind::Failed,
        }
    }

    fn finish(&mut self, result: OutcomeKind, code: &str, message: String) -> Step {
        Step::Done(self.outcome(result, code, None, message))
    }

    fn finish_with(&mut self, result: OutcomeKind, code: &str, incident: Option<u64>, message: String) -> Step {
        Step::Done(self.outcome(result, code, incident, message))
    }

    fn finish_handled(&mut self) -> Step {
        let message =
            if self.summary.is_empty() { format!("handled {}", self.event.key) } else { self.summary.clone() };
        let suffix = self.assumed();
        Step::Done(self.outcome(OutcomeKind::Handled, self.code, self.incident, format!("{message}{suffix}")))
    }

    /// What a dry run's message adds: it took every lookup to find nothing.
    fn assumed(&self) -> &'static str {
        if self.context.dry_run { " (lookups assumed to find nothing)" } else { "" }
    }

    fn fail(&mut self, retryable: bool, auth_failed: bool, code: &str, message: String) -> Step {
        let mut outcome = self.outcome(OutcomeKind::Failed, code, self.incident, message);
        outcome.retryable = retryable;
        outcome.auth_failed = auth_failed;
        Step::Done(outcome)
    }
}

/// The first of a queue of writes, taken out. A queue holds a handful, so a `Vec`
/// (shifted) rather than a `VecDeque`, whose code cost the wasm module ~730 bytes.
fn first_out(queue: &mut Vec<Write>) -> Option<Write> {
    (!queue.is_empty()).then(|| queue.remove(0))
}

/// The summary of a create: "created incident N for KEY", or without the id when the
/// answer had none (one copy for the create's answer and its verification).
fn created_summary(id: Option<u64>, key: &str) -> String {
    match id {
        Some(id) => format!("created incident {} for {key}", Decimal(id)),
        None => format!("created an incident for {key} (its id was not in the answer)"),
    }
}
