//! The state machine: hands out one [`Step`] at a time, is handed each [`Answer`].
//!
//! A decision runs in phases: *lookup* (paged lists of `open`, then `pend`, then for
//! reconcile recently `close`d incidents, matching the exact name), then a queue of
//! *writes* (create, message, notify, close) chosen from what the lookup found, then
//! after a create a *verify* listing that heals duplicates. Retryable answers become a
//! [`Step::Wait`] and the same request again, except a failed create, which goes back
//! through the lookup (the server may have created it).

use std::collections::VecDeque;

use crate::config::{Config, Effective};
use crate::event::{Event, InputError};
use crate::messages::{self, Texts};
use crate::reactio::{self, Api, CreateBody, Incident, MAX_PAGES, Verdict};
use crate::rules::{self, Decision, Episode};
use crate::step::{Answer, Context, IncidentRef, Method, Outcome, OutcomeKind, Purpose, Request, Response, Step, Wait};

/// Retries per event at most (then the host spools it).
const MAX_RETRIES: u32 = 4;
/// Back-off schedule in milliseconds when the server names no `Retry-After`.
const BACKOFF_MS: [u64; 4] = [250, 500, 1000, 2000];

/// One event's plan in progress. Drive it: `loop { match machine.step() { .. } }`.
#[derive(Clone, Debug)]
pub struct Machine {
    step: Step,
    run: Option<Box<Run>>,
}

/// Plan one event: parse it, apply the settings and rules, and return the machine
/// positioned at its first step (often [`Step::Done`] with a skip).
pub fn plan(event: &[u8], config: &Config, context: &Context) -> Result<Machine, InputError> {
    let event = Event::parse(event)?;
    let (eff, mut warnings) = config.effective(&event.overrides);
    warnings.splice(0..0, config.warnings.iter().cloned());
    let decision = rules::decide(&event, &eff, context);
    let mut run = Run::new(event, eff, context.clone(), decision, warnings);
    let step = run.start();
    let run = (!matches!(step, Step::Done(_))).then(|| Box::new(run));
    Ok(Machine { step, run })
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
        let next = match (&self.step, answer) {
            (Step::Request(request), Answer::Response(response)) => {
                let response = scrub_key(request, response);
                run.on_response(&request.clone(), &response)
            }
            (Step::Request(request), Answer::Failure(failure)) => {
                let reason =
                    format!("{}: {} failure: {}", request.purpose_label(), failure.kind.label(), failure.detail);
                run.retry(reason.to_ascii_lowercase(), None, &request.clone())
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

/// The answer with the request's API key masked wherever a server echoed it (an error
/// page, a redirect location): excerpts of answers end up in messages and logs.
fn scrub_key(request: &Request, response: Response) -> Response {
    let Some(key) = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(crate::step::API_KEY_HEADER))
        .map(|(_, v)| v.as_str())
        .filter(|k| !k.is_empty())
    else {
        return response;
    };
    let contains = |text: &str| crate::text::find(text, key).is_some();
    if !contains(&response.body) && !response.headers.iter().any(|(_, v)| contains(v)) {
        return response;
    }
    let mask = |text: &str| crate::text::replace(text, key, crate::step::MASK);
    Response {
        status: response.status,
        headers: response.headers.iter().map(|(n, v)| (n.clone(), mask(v))).collect(),
        body: mask(&response.body),
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

/// A paged listing of one status.
#[derive(Clone, Debug)]
struct Listing {
    status: &'static str,
    purpose: Purpose,
    from: Option<i64>,
    page: u32,
    first_len: Option<usize>,
    matches: Vec<Incident>,
    /// Ids seen so far (a list: pages are short and bounded).
    seen: Vec<u64>,
}

impl Listing {
    fn new(status: &'static str, purpose: Purpose, from: Option<i64>) -> Listing {
        Listing { status, purpose, from, page: 1, first_len: None, matches: Vec::new(), seen: Default::default() }
    }
}

/// A write still to send.
#[derive(Clone, Debug)]
enum Write {
    Create { body: CreateBody, minimal: CreateBody },
    Message { id: u64, text: String, minimal: String },
    Notify { id: u64, text: String, call: bool },
    Close { id: u64 },
}

#[derive(Clone, Debug)]
enum Phase {
    /// Listing statuses in order (open, pend, then for reconcile close) until one matches.
    Lookup { current: Listing },
    /// Sending writes.
    Writes,
    /// Listing open incidents after a create.
    Verify { current: Listing, created: Option<u64> },
}

#[derive(Clone, Debug)]
struct Run {
    event: Event,
    eff: Effective,
    context: Context,
    decision: Decision,
    texts: Texts,
    warnings: Vec<String>,
    actions: Vec<String>,
    retries: u32,
    phase: Phase,
    found: Vec<Incident>,
    writes: VecDeque<Write>,
    in_flight: Option<Write>,
    minimal_used: bool,
    incident: Option<u64>,
    code: &'static str,
    summary: String,
    resume: Option<Resume>,
    /// A create got no clear answer; the lookup after it decides.
    create_uncertain: bool,
}

/// What to do when a wait is over.
#[derive(Clone, Debug)]
enum Resume {
    Resend(Request),
    Relookup,
}

impl Run {
    fn new(mut event: Event, eff: Effective, context: Context, decision: Decision, warnings: Vec<String>) -> Run {
        let texts = Texts::new(&mut event, &eff, context.now);
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
            writes: VecDeque::new(),
            in_flight: None,
            minimal_used: false,
            incident: None,
            code: "",
            summary: String::new(),
            resume: None,
            create_uncertain: false,
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
                return self.fail(true, false, "not_configured", format!("{which}: {problem}; the event was kept"));
            }
        } else if self.eff.connection.endpoint.authority.is_empty() {
            // A dry run without an organization shows where the requests would go.
            std::sync::Arc::make_mut(&mut self.eff.connection).endpoint.authority =
                "your-organization.reactio.jp".to_owned();
        }
        self.begin_lookup()
    }

    fn begin_lookup(&mut self) -> Step {
        self.found.clear();
        self.writes.clear();
        self.in_flight = None;
        self.phase = Phase::Lookup { current: Listing::new("open", Purpose::LookupOpen, None) };
        self.send_listing()
    }

    /// The status to list after `done` when nothing matched yet, if any.
    fn next_listing(&self, done: Purpose) -> Option<Listing> {
        match done {
            Purpose::LookupOpen => Some(Listing::new("pend", Purpose::LookupPend, None)),
            Purpose::LookupPend if self.decision == Decision::Reconcile => {
                let executed = self.event.executed.unwrap_or(self.context.now);
                let episode = Episode::of(&self.event, self.context.now);
                let from = episode.started(executed).saturating_sub(i64::try_from(episode.interval).unwrap_or(0));
                Some(Listing::new("close", Purpose::LookupClosed, Some(from)))
            }
            _ => None,
        }
    }

    fn send_listing(&mut self) -> Step {
        let l = match &self.phase {
            Phase::Lookup { current } | Phase::Verify { current, .. } => current,
            Phase::Writes => return self.next_write(),
        };
        Step::Request(self.api().list(l.status, l.page, l.from, l.purpose))
    }

    fn on_response(&mut self, request: &Request, response: &Response) -> Step {
        match reactio::classify(request, response, self.context.now) {
            Verdict::Success => self.on_success(request, response),
            Verdict::Retry { reason, retry_after_ms } => self.retry(reason, retry_after_ms, request),
            Verdict::Auth { reason } => self.fail(false, true, "auth_failed", reason),
            Verdict::Fatal { reason, length_fields } => {
                if !length_fields.is_empty()
                    && !self.minimal_used
                    && let Some(minimal) = self.minimal_retry()
                {
                    self.minimal_used = true;
                    self.warnings.push(format!("{reason}; retried once with the minimal payload"));
                    return minimal;
                }
                self.fail(false, false, "rejected", reason)
            }
        }
    }

    /// The in-flight write again with its minimal payload, if it has one.
    fn minimal_retry(&mut self) -> Option<Step> {
        let write = match self.in_flight.take()? {
            Write::Create { minimal, .. } => Write::Create { body: minimal.clone(), minimal },
            Write::Message { id, minimal, .. } => Write::Message { id, text: minimal.clone(), minimal },
            other => {
                self.in_flight = Some(other);
                return None;
            }
        };
        Some(self.send_write(write))
    }

    fn on_success(&mut self, request: &Request, response: &Response) -> Step {
        if request.method == Method::Get {
            return self.on_page(request, response);
        }
        match self.in_flight.take() {
            Some(Write::Create { .. }) => {
                let created = reactio::parse_created_id(&response.body);
                self.actions.push("created".into());
                if self.decision_calls_on_create() {
                    self.actions.push("called".into());
                }
                self.incident = created;
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
                self.actions.push("posted".into());
                self.next_write()
            }
            Some(Write::Notify { call, .. }) => {
                self.actions.push("broadcast".into());
                if call {
                    self.actions.push("called".into());
                }
                self.next_write()
            }
            Some(Write::Close { .. }) => {
                self.actions.push("closed".into());
                self.next_write()
            }
            None => self.next_write(),
        }
    }

    fn decision_calls_on_create(&self) -> bool {
        match &self.decision {
            Decision::Alert(a) => a.call_on_create,
            Decision::Refresh { .. } => self.renotify_call(),
            Decision::Reconcile => self.eff.settings.call.contains(&self.event.severity()),
            _ => false,
        }
    }

    fn renotify_call(&self) -> bool {
        self.eff.settings.call_on_renotify && self.eff.settings.call.contains(&self.event.severity())
    }

    fn on_page(&mut self, request: &Request, response: &Response) -> Step {
        let Some((incidents, count)) = reactio::parse_list(&response.body) else {
            let excerpt = crate::text::cap_chars(&crate::text::one_line(&response.body), 60).to_owned();
            let reason = format!(
                "lookup: reactio answered {} with a body that is not a json list: \"{excerpt}\"",
                response.status
            );
            return self.retry(reason, None, request);
        };
        let key = self.event.key.clone();
        let listing = match &mut self.phase {
            Phase::Lookup { current } | Phase::Verify { current, .. } => current,
            Phase::Writes => return self.next_write(),
        };
        // A server that ignores `page` repeats itself: a page with nothing new ends the list.
        let mut fresh = Vec::new();
        for incident in incidents {
            if !listing.seen.contains(&incident.id) {
                listing.seen.push(incident.id);
                fresh.push(incident);
            }
        }
        let repeated = count > 0 && fresh.is_empty();
        listing.matches.extend(fresh.into_iter().filter(|i| i.matches(&key)));
        let first_len = *listing.first_len.get_or_insert(count);
        let last_page = count == 0 || count < first_len || repeated;
        if !last_page {
            if listing.page >= MAX_PAGES {
                if listing.matches.is_empty() {
                    let status = listing.status;
                    return self.fail(
                        true,
                        false,
                        "lookup_overflow",
                        format!("lookup: more than {MAX_PAGES} pages of `{status}` incidents and none named `{key}`; gave up rather than guess \"none\""),
                    );
                }
            } else {
                listing.page += 1;
                return self.send_listing();
            }
        }
        // This listing is complete.
        match std::mem::replace(&mut self.phase, Phase::Writes) {
            Phase::Lookup { current } => {
                self.found.extend(current.matches);
                if self.found.is_empty()
                    && let Some(next) = self.next_listing(current.purpose)
                {
                    self.phase = Phase::Lookup { current: next };
                    return self.send_listing();
                }
                self.after_lookup()
            }
            Phase::Verify { current, created } => self.after_verify(current.matches, created),
            Phase::Writes => self.next_write(),
        }
    }

    /// The incident to act on: the oldest open one, else the oldest pending one.
    fn chosen(&self) -> Option<Incident> {
        let oldest = |status: &str| {
            self.found
                .iter()
                .filter(|i| i.status == status || status.is_empty())
                .min_by_key(|i| (i.created_at, i.id))
                .cloned()
        };
        oldest("open").or_else(|| oldest("pend")).or_else(|| oldest(""))
    }

    fn after_lookup(&mut self) -> Step {
        let found = self.chosen().filter(|i| i.status != "close");
        let closed_only = found.is_none() && !self.found.is_empty();
        let severity = self.event.severity();
        let notification = self.texts.notification(&self.eff);
        let key = self.event.key.clone();
        match (self.decision.clone(), found) {
            (Decision::Alert(_), Some(inc)) if self.create_uncertain => {
                // Our earlier create did reach the server: it carried the message and
                // the broadcast already.
                self.actions.push("created".into());
                self.set(
                    inc.id,
                    "created",
                    format!("created incident {} for {key} (confirmed by a lookup after an uncertain answer)", inc.id),
                );
            }
            (Decision::Alert(alert), Some(inc)) => {
                let previous = self.event.previous_status().map(crate::Severity::from_status);
                let headline = if alert.status_changed {
                    messages::status_change(previous, severity, alert.broadcast_if_found)
                } else {
                    messages::repeat_alert()
                };
                self.post(inc.id, &headline);
                if alert.broadcast_if_found {
                    self.writes.push_back(Write::Notify { id: inc.id, text: notification, call: alert.call_if_found });
                    self.set(
                        inc.id,
                        "escalated",
                        format!("posted to incident {} for {key} and broadcast the escalation", inc.id),
                    );
                } else {
                    self.set(inc.id, "posted", format!("posted to incident {} for {key}", inc.id));
                }
            }
            (Decision::Alert(alert), None) => {
                self.create(None, alert.call_on_create);
                self.code = "created";
            }
            (Decision::Refresh { round }, Some(inc)) => {
                let unattended = inc.status == "open" && !inc.has_manager;
                let since = self.since();
                let streak = Episode::of(&self.event, self.context.now).streak;
                let headline = messages::refresh(round, self.eff.settings.max_renotify, streak, &since, unattended);
                if unattended {
                    self.writes.push_back(Write::Notify { id: inc.id, text: notification, call: self.renotify_call() });
                    self.post(inc.id, &headline);
                    self.set(
                        inc.id,
                        "renotified",
                        format!("re-notified incident {} for {key} (round {round})", inc.id),
                    );
                } else {
                    self.post(inc.id, &headline);
                    self.set(inc.id, "posted", format!("posted to incident {} for {key} (someone has it)", inc.id));
                }
            }
            (Decision::Refresh { .. }, None) => {
                let headline = messages::recreated(&self.since());
                self.create(Some(headline), self.renotify_call());
                self.code = "created_again";
            }
            (Decision::Reconcile, Some(inc)) => {
                return self.finish_with(
                    OutcomeKind::Skipped,
                    "already_open",
                    Some(inc.id),
                    format!("incident {} is open for {key}", inc.id),
                );
            }
            (Decision::Reconcile, None) if closed_only => {
                return self.finish(
                    OutcomeKind::Skipped,
                    "closed_by_person",
                    format!("skipped {key}: its incident was closed while the check still fails; the refresh rule opens a new one"),
                );
            }
            (Decision::Reconcile, None) => {
                self.create(Some(messages::reconciled()), self.eff.settings.call.contains(&severity));
                self.code = "reconciled_created";
            }
            (Decision::Recovery, Some(inc)) => {
                let close = match self.eff.settings.close_on_resolve {
                    crate::config::CloseOnResolve::Always => true,
                    crate::config::CloseOnResolve::Never => false,
                    crate::config::CloseOnResolve::Unattended => inc.status == "open" && !inc.has_manager,
                };
                let headline =
                    messages::recovery(self.recovery_streak(), self.interval(), self.event.force_resolve, close);
                self.post(inc.id, &headline);
                if close {
                    self.writes.push_back(Write::Close { id: inc.id });
                    self.set(inc.id, "closed", format!("recovered: closed incident {} for {key}", inc.id));
                } else {
                    self.set(
                        inc.id,
                        "posted_recovery",
                        format!("recovered: posted to incident {} for {key}, left for its owner to close", inc.id),
                    );
                }
            }
            (Decision::Downgrade, Some(inc)) => {
                let headline =
                    messages::downgrade(self.event.previous_status().map(crate::Severity::from_status), severity);
                self.post(inc.id, &headline);
                self.set(inc.id, "posted_downgrade", format!("posted the downgrade to incident {} for {key}", inc.id));
            }
            (Decision::Recovery | Decision::Downgrade, None) => {
                return self.finish(
                    OutcomeKind::Skipped,
                    "no_open_incident",
                    format!("skipped {key}: no open incident to update"),
                );
            }
            (Decision::Skip { code, reason }, _) => return self.finish(OutcomeKind::Skipped, code, reason),
        }
        self.next_write()
    }

    fn set(&mut self, id: u64, code: &'static str, summary: String) {
        self.incident = Some(id);
        self.code = code;
        self.summary = summary;
    }

    fn interval(&self) -> u64 {
        self.event.interval.unwrap_or(rules::DEFAULT_INTERVAL)
    }

    /// When the failure started, for messages.
    fn since(&self) -> String {
        let executed = self.event.executed.unwrap_or(self.context.now);
        let started = Episode::of(&self.event, self.context.now).started(executed);
        self.texts.time(started)
    }

    /// The failing run's length for a recovery message.
    fn recovery_streak(&self) -> u64 {
        let h = &self.event.history;
        let before = h.len().saturating_sub(1);
        let failing = h.iter().take(before).rev().take_while(|s| **s != 0).count() as u64;
        if !self.event.history_known || (failing as usize == before && before + 1 >= crate::event::HISTORY_CAP) {
            failing.max(self.event.occurrences_watermark)
        } else {
            failing
        }
    }

    fn post(&mut self, id: u64, headline: &str) {
        let text = self.texts.message(&self.eff, Some(headline));
        let minimal = format!("{headline}<br>{}", self.texts.minimal_message());
        self.writes.push_back(Write::Message { id, text, minimal });
    }

    fn create(&mut self, headline: Option<String>, call: bool) {
        let notification = self.texts.notification(&self.eff);
        let body = CreateBody {
            name: self.texts.name(&self.eff),
            detection: "internal",
            notification_text: notification.clone(),
            notification_call: call,
            topics: self.eff.settings.topics.clone(),
            message: Some(self.texts.message(&self.eff, headline.as_deref())),
        };
        let minimal = CreateBody {
            name: self.texts.minimal_name(),
            detection: "internal",
            notification_text: notification,
            notification_call: call,
            topics: Vec::new(),
            message: None,
        };
        self.writes.push_back(Write::Create { body, minimal });
    }

    fn next_write(&mut self) -> Step {
        match self.writes.pop_front() {
            Some(write) => self.send_write(write),
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

    fn after_verify(&mut self, open: Vec<Incident>, created: Option<u64>) -> Step {
        let key = self.event.key.clone();
        // Keep the oldest; the others, in the order listed, are noted and closed.
        let keep = open.iter().min_by_key(|i| (i.created_at, i.id)).map(|i| i.id).or(created);
        if let Some(keep) = keep {
            self.incident = Some(keep);
            for newer in open.iter().filter(|i| i.id != keep) {
                let text = messages::duplicate_of(keep);
                self.writes.push_back(Write::Message { id: newer.id, minimal: text.clone(), text });
                self.writes.push_back(Write::Close { id: newer.id });
                self.actions.push("healed_duplicate".into());
            }
        }
        self.summary = match keep {
            Some(id) if Some(id) != created && created.is_some() => {
                format!("created an incident for {key}, but incident {id} was older: kept it and closed the duplicate")
            }
            Some(id) => format!("created incident {id} for {key}"),
            None => format!("created an incident for {key} (its id was not in the answer)"),
        };
        self.next_write()
    }

    fn retry(&mut self, reason: String, retry_after_ms: Option<u64>, request: &Request) -> Step {
        self.retries += 1;
        if self.retries > MAX_RETRIES {
            return self.fail(
                true,
                false,
                "retries_exhausted",
                format!("gave up after {MAX_RETRIES} retries: {reason}"),
            );
        }
        self.resume = Some(if request.purpose == Purpose::Create {
            // The server may have created it: the retry goes through the lookup again.
            Resume::Relookup
        } else {
            Resume::Resend(request.clone())
        });
        let index = usize::try_from(self.retries - 1).unwrap_or(0).min(BACKOFF_MS.len() - 1);
        let backoff = BACKOFF_MS.get(index).copied().unwrap_or(2000);
        Step::Wait(Wait { min_ms: retry_after_ms.unwrap_or(backoff), reason })
    }

    fn after_wait(&mut self) -> Step {
        match self.resume.take() {
            Some(Resume::Resend(request)) => Step::Request(request),
            Some(Resume::Relookup) => {
                self.create_uncertain = true;
                self.begin_lookup()
            }
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
        let suffix = if self.context.dry_run { " (lookups assumed to find nothing)" } else { "" };
        Step::Done(self.outcome(OutcomeKind::Handled, self.code, self.incident, format!("{message}{suffix}")))
    }

    fn fail(&mut self, retryable: bool, auth_failed: bool, code: &str, message: String) -> Step {
        let mut outcome = self.outcome(OutcomeKind::Failed, code, self.incident, message);
        outcome.retryable = retryable;
        outcome.auth_failed = auth_failed;
        Step::Done(outcome)
    }
}
