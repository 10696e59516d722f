//! Handling events: the live event from stdin and the spool before it (drained
//! oldest first within half the deadline, superseded alerts dropped, refused ones
//! dead-lettered), and what each outcome means for the spool and the exit code.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sensu_reactio_core::{CREATE_RETRY_WAIT_MS, Context, EventSummary, Outcome, OutcomeKind, Purpose, Request};

use crate::drive::{Budget, Transport, Write, not_applied, run_event};
use crate::engine::Engine;
use crate::error::{EXIT_CONFIG, EXIT_NOT_SPOOLED, EXIT_OK, EXIT_SPOOLED, HostError};
use crate::latest::{self, Arrival};
use crate::output::{Printer, Source};
use crate::route::Route;
use crate::spool::{Entry, Spool};

/// How often a run waiting for the spool's lock tries it again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// What to do about a dead letter: no run sends it on its own.
const DEAD_HINT: &str = "`replay --dead` sends it once the cause is fixed";

/// Attempts in a row after which a spooled event the engine keeps failing on is dead-lettered.
const ENGINE_ATTEMPTS: u32 = 3;

/// The current time, epoch seconds (only the host reads the clock).
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The current time, epoch milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// What a run works with.
pub struct Runner<'a> {
    /// The engine running the core.
    pub engine: Box<dyn Engine>,
    /// The HTTP side (client built on first use).
    pub transport: Transport<'a>,
    /// Output.
    pub printer: &'a Printer,
    /// The spool, when one could be chosen.
    pub spool: Result<Spool, HostError>,
    /// When the run started.
    pub start: Instant,
    /// The whole run's deadline.
    pub deadline: Duration,
    /// This configuration's route: spooled entries of another are left alone.
    pub route: Route,
    /// Deliver entries of any route too (`replay --adopt`).
    pub adopt: bool,
    /// A `replay`: entries kept under other settings (another `call`, say) are left for
    /// the handler's own runs, unless `adopt`.
    pub replaying: bool,
    /// Set when a SIGTERM arrives ([`note_sigterm`]).
    pub terminated: Arc<AtomicBool>,
}

/// Note SIGTERM instead of dying of it. It comes when the Sensu server's service stops
/// (systemd signals every process of the service) or from someone's `kill`; dying then
/// lost the event in flight. Noted, the run leaves the rest of the spool for the next
/// run and finishes its own event (delivered, or spooled), within its deadline, which
/// is shorter than any stop timeout. Taken after stdin is read: before that there is no
/// event to save. If the handler cannot be installed, SIGTERM stays fatal.
pub fn note_sigterm() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&flag));
    flag
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}

/// The event a run was started with, and when it came.
#[derive(Clone, Copy, Debug)]
pub struct Live<'a> {
    /// As read from stdin.
    pub event: &'a [u8],
    /// What the core made of it.
    pub summary: &'a EventSummary,
    /// When it reached the handler: as its run started.
    pub arrived: Arrival,
}

/// The incident a broadcast goes to (its body's `incident_id`).
fn notified_incident(request: &Request) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(&request.body).ok()?.get("incident_id")?.as_u64()
}

/// How much later one result came in than another, in words.
fn after(gap: Duration) -> String {
    format!("{:.3} s after it", gap.as_secs_f64())
}

/// Whether delivering an event (`recovery`: of that kind) with this outcome settles
/// its check's state as of that event: it retires the check's older entries it
/// supersedes, and makes stale the older results of the other kind still waiting
/// ([`latest`]). A failure the rules skipped (silenced, say) does not: a recovery
/// from before it still goes.
fn settles(outcome: &Outcome, recovery: bool) -> bool {
    outcome.result == OutcomeKind::Handled || (recovery && outcome.result == OutcomeKind::Skipped)
}

/// What the outcome means for the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Done with it.
    Done,
    /// Keep it for a later attempt.
    Retry,
    /// The server or the settings refused it for good: dead-letter.
    Dead,
    /// A configuration problem (not configured, key rejected): dead-letter, exit 78.
    DeadConfig,
}

fn fate(outcome: &Outcome) -> Fate {
    match outcome.result {
        OutcomeKind::Handled | OutcomeKind::Skipped => Fate::Done,
        OutcomeKind::Failed if outcome.auth_failed || outcome.code == "not_configured" => Fate::DeadConfig,
        OutcomeKind::Failed if outcome.retryable => Fate::Retry,
        OutcomeKind::Failed => Fate::Dead,
    }
}

/// The event as a spool entry keeps it: any secret in it (a check output that prints
/// the key, a key misplaced in an annotation) masked, except in the names that make the
/// event's key ([`NAME_MEMBERS`]). A JSON event is masked string by string and written
/// again (so an escape such as `\/` inside a key neither hides it nor is cut in two);
/// other text is masked as it is.
fn without_secrets(printer: &Printer, event: &[u8]) -> String {
    let text = String::from_utf8_lossy(event);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) => {
            if mask_strings(printer, &mut value) {
                value.to_string()
            } else {
                text.into_owned()
            }
        }
        Err(_) => printer.redact(&text),
    }
}

/// Members whose string is a name the event's key is made of (Classic `client.name`,
/// `check.name`, `check.source`; Go `metadata.name`, `metadata.namespace`,
/// `check.proxy_entity_name`). Never masked: a piece of a key chosen by hand
/// (`production-key-1`) or a short one (`test`) is as likely part of a name
/// (`production-db01`, `test-web01`), and masked there the replay would act for
/// another check.
const NAME_MEMBERS: [&str; 4] = ["name", "namespace", "source", "proxy_entity_name"];

/// Mask the secrets in every string (and object key) of `value`, names aside
/// ([`NAME_MEMBERS`]); whether any changed.
fn mask_strings(printer: &Printer, value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let masked = printer.redact(s);
            let changed = masked != *s;
            *s = masked;
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| mask_strings(printer, item) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                if !(item.is_string() && NAME_MEMBERS.contains(&key.as_str())) {
                    changed |= mask_strings(printer, &mut item);
                }
                let masked = printer.redact(&key);
                changed |= masked != key;
                map.insert(masked, item);
            }
            changed
        }
        _ => false,
    }
}

/// The spool entry for a live event, kept by `route` (`None`: no settings could be
/// read) for a key problem or not ([`Route::stamp`]).
pub fn entry_for(
    printer: &Printer,
    live: Live<'_>,
    error: Option<String>,
    route: Option<&Route>,
    key_problem: bool,
) -> Entry {
    let summary = live.summary;
    let mut entry = Entry {
        version: 1,
        event: without_secrets(printer, live.event),
        key: summary.key.clone(),
        recovery: summary.recovery,
        passing: !summary.recovery && !summary.failure,
        received_at: live.arrived.secs(),
        received_ns: Some(live.arrived),
        attempts: 1,
        last_error: error,
        route: None,
        team: None,
        handler_failures: 0,
        unconfirmed_create_ms: None,
        notified_incident: None,
        last_attempt_at: None,
        settings: None,
    };
    if let Some(route) = route {
        route.stamp(&mut entry, key_problem);
    }
    entry
}

impl Runner<'_> {
    fn budget_until(&self, end: Instant) -> Budget {
        Budget { end, total: end.saturating_duration_since(self.start) }
    }

    /// Deliver what is spooled, oldest first, until `end`. `live` is the event that
    /// follows: its recovery supersedes spooled
    /// alerts for its key; its failure holds back (unsent, kept) the recoveries spooled
    /// before it arrived.
    /// `held`: the caller holds the spool's lock (else it is taken here, without
    /// waiting); `own_check`: the key whose check lock the caller holds. An entry whose
    /// check another run is delivering now is left for later, with the entries of its
    /// check after it (each entry is sent holding its check's lock).
    /// Problems are reported, never fatal: the live event still goes.
    pub fn drain(
        &mut self,
        end: Instant,
        live: Option<Live<'_>>,
        held: bool,
        own_check: Option<&str>,
    ) -> Result<DrainReport, HostError> {
        self.drain_scoped(end, live, held, own_check, Scope::All)
    }

    /// [`Runner::drain`] over the entries `scope` takes: with [`Scope::Own`] those of
    /// `own_check` alone, whose lock the caller holds: no other run sends them
    /// meanwhile, so the spool's lock is not needed (a run delivering the rest of the
    /// spool must not hold up this check's events, nor the live event behind them).
    fn drain_scoped(
        &mut self,
        end: Instant,
        live: Option<Live<'_>>,
        held: bool,
        own_check: Option<&str>,
        scope: Scope,
    ) -> Result<DrainReport, HostError> {
        let spool = match &self.spool {
            Ok(spool) => spool.clone(),
            Err(e) => return Err(HostError::Spool(e.to_string())),
        };
        let mut report = DrainReport::default();
        // Writes of killed runs, taken in by a run delivering the whole spool.
        let unfinished = scope != Scope::Own && !spool.unfinished().is_empty();
        if spool.list()?.is_empty() && !unfinished {
            return Ok(report);
        }
        let in_scope = |entry: &Entry| match scope {
            Scope::All => true,
            Scope::Own => own_check == Some(entry.key.as_str()),
            Scope::Others => own_check != Some(entry.key.as_str()),
        };
        let spool_lock = if held || scope == Scope::Own { None } else { Some(spool.try_lock()?) };
        if matches!(spool_lock, Some(None)) {
            self.printer.warning("another run is delivering the spool; leaving it to that run");
            return Ok(report);
        }
        if unfinished {
            self.take_in_unfinished(&spool);
        }
        let mut entries = Vec::new();
        let mut others = 0;
        let mut other_settings = std::collections::BTreeSet::new();
        let mut left_for_settings = 0;
        for path in spool.list()? {
            match Spool::read(&path) {
                Ok(entry) if !in_scope(&entry) => {}
                Ok(entry) if !self.ours(&entry) => others += 1,
                Ok(entry) => {
                    // A replay leaves what was kept under other settings (unless adopting).
                    let differ =
                        if self.replaying && !self.adopt { self.route.settings_differ(&entry) } else { Vec::new() };
                    if differ.is_empty() {
                        entries.push((path, entry));
                    } else {
                        other_settings.extend(differ);
                        left_for_settings += 1;
                    }
                }
                // Delivered or retired by another run since it was listed.
                Err(_) if !path.exists() => {}
                Err(why) => {
                    self.printer.warning(&format!("{why}; moved to the dead-letter folder"));
                    spool.bury(&path)?;
                    report.dead += 1;
                }
            }
        }
        if left_for_settings > 0 {
            let names: Vec<String> = other_settings.iter().map(|n| format!("`{n}`")).collect();
            self.printer.warning(&format!(
                "left {left_for_settings} spooled events kept under other settings than this replay's ({}): the handler's next run sends them with its own settings; to send them now, run `replay` with the handler's environment and settings, or `replay --adopt` if these are the handler's settings now (they changed since)",
                names.join(", ")
            ));
            report.left += left_for_settings;
        }
        if others > 0 {
            self.printer.warning(&format!(
                "{others} spooled events were kept by another handler configuration (another profile, project or api key): left for it; `replay --adopt` sends them with this one"
            ));
        }
        // A later recovery supersedes an alert (dropped). A recovery spooled before the
        // live failure of its check waits (neither sent nor dropped): it must not close
        // the incident of the failure going on; once that failure is delivered it is
        // dropped, and if the failure is not acted on (silenced, say) a later run sends it.
        // Likewise a failure spooled after a recovery of its check supersedes that recovery.
        // A passing result that is not a recovery (ok after ok) is neither kind.
        let superseded = |i: usize, entry: &Entry| {
            entries
                .iter()
                .skip(i + 1)
                .any(|(_, later)| later.key == entry.key && entry.superseded_by(later.recovery, later.is_failure()))
                || (entry.is_failure() && live.is_some_and(|l| l.summary.recovery && l.summary.key == entry.key))
        };
        let waits = |entry: &Entry| {
            entry.recovery
                && live.is_some_and(|l| l.summary.failure && l.summary.key == entry.key && entry.arrived() < l.arrived)
        };
        // Each entry goes through the loop below with whether a later event of its check
        // supersedes it: it is dropped there, holding its check's lock (a run sending
        // that check's events itself, without the spool's lock, may have sent or dropped
        // it since this list was read: the entry is read again under the lock).
        let mut pending = Vec::new();
        for (i, (path, entry)) in entries.iter().enumerate() {
            if superseded(i, entry) {
                pending.push((path.clone(), entry.clone(), true));
            } else if waits(entry) {
                report.left += 1;
            } else {
                pending.push((path.clone(), entry.clone(), false));
            }
        }
        let mut busy: Vec<String> = Vec::new();
        for (index, (path, listed, superseded)) in pending.iter().cloned().enumerate() {
            if busy.contains(&listed.key) {
                report.left += 1;
                continue;
            }
            let stop = if Instant::now() >= end {
                "the spool's share of the deadline is used up"
            } else if self.terminated.load(Ordering::Relaxed) {
                "asked to stop (sigterm); this run finishes only what it has started"
            } else {
                ""
            };
            if !stop.is_empty() {
                report.left += pending.len() - index;
                self.printer.warning(&format!("{} spooled events left for the next run: {stop}", report.left));
                break;
            }
            // Its check's lock (the caller may hold it already); an error taking it
            // goes on without.
            let _check = if own_check == Some(listed.key.as_str()) {
                None
            } else {
                match spool.try_lock_key(&listed.key) {
                    Ok(None) => {
                        self.printer.info(&format!(
                            "left the spooled events for {} for later: another run is delivering an event of its check",
                            listed.key
                        ));
                        busy.push(listed.key.clone());
                        report.left += 1;
                        continue;
                    }
                    Ok(lock) => lock,
                    Err(_) => None,
                }
            };
            // As it is now: gone when another run sent or dropped it since the list was
            // read (sending it again would ring twice, or open an incident for a check
            // that recovered).
            let mut entry = match Spool::read(&path) {
                Ok(entry) => entry,
                Err(_) if !path.exists() => continue,
                Err(_) => listed,
            };
            // A later result of the other kind was delivered while it waited (it
            // was kept by a run that gave up waiting for the run delivering that one).
            // Not for entries of an earlier version: they say only the second they came in.
            let stale = |arrived| latest::stale(&spool, &entry.key, entry.recovery, entry.is_failure(), arrived);
            if let Some(later) = entry.received_ns.and_then(stale) {
                let note = format!(", and was delivered since (it came in {})", after(later.after));
                self.retire(&path, &entry, &note)?;
                report.superseded += 1;
                continue;
            }
            // An alert superseded by a recovery, with its create unconfirmed: that
            // create may yet land, so it is dropped only once the wait for it is over
            // (or left, with the recovery behind it): a recovery looking up sooner
            // finds nothing to close, and the incident the create then makes stays open.
            let after_wait = superseded && entry.unconfirmed_create_ms.is_some() && entry.is_failure();
            if superseded && !after_wait {
                self.retire(&path, &entry, "")?;
                report.superseded += 1;
                continue;
            }
            // A create an earlier run sent but could not confirm: the server may still be
            // applying it, so its lookup waits as a retry within one run would. When the
            // wait does not fit, its check is left for the next run (as a busy check is)
            // and the other checks go on.
            if let Some(sent) = entry.unconfirmed_create_ms {
                let wait = Duration::from_millis(sent.saturating_add(CREATE_RETRY_WAIT_MS).saturating_sub(now_ms()));
                if Instant::now() + wait >= end {
                    self.printer.info(&format!(
                        "left the spooled events for {} for the next run: its create, sent by an earlier run, may still be landing",
                        entry.key
                    ));
                    report.unresolved.push(entry.key.clone());
                    busy.push(entry.key.clone());
                    report.left += 1;
                    continue;
                }
                std::thread::sleep(wait);
            }
            if after_wait {
                self.retire(
                    &path,
                    &entry,
                    " (after the wait for its unconfirmed create, so the recovery finds what it made)",
                )?;
                report.superseded += 1;
                continue;
            }
            let context = Context {
                now: now(),
                first_occurrence: true,
                dry_run: false,
                create_unconfirmed: entry.unconfirmed_create_ms.is_some(),
                received: Some(entry.received_at),
            };
            let budget = self.budget_until(end);
            let creates_before = self.transport.creates_sent();
            // Before each create or broadcast goes out, the entry says so: a run killed
            // (SIGKILL, Sensu's timeout) before the answer leaves it marked. The next
            // run waits for a create and looks it up rather than create again (a second
            // call), as of when its answer would have been given up on (a run that lives
            // gives the server that long too); and it does not send the broadcast to the
            // same incident again (a second call).
            let mut marked = entry.clone();
            let mut on_write = |write: Write<'_>| {
                let what = match write {
                    Write::Sending(request, allowed) if request.purpose == Purpose::Create => {
                        let allowed_ms = u64::try_from(allowed.as_millis()).unwrap_or(u64::MAX);
                        marked.unconfirmed_create_ms = Some(now_ms().saturating_add(allowed_ms));
                        "created"
                    }
                    Write::Sending(request, _) => {
                        let incident = notified_incident(request);
                        if incident.is_some() && incident == entry.notified_incident {
                            let why =
                                "sent by an earlier attempt of this spooled event, whose run ended before its answer";
                            return Some(why.to_owned());
                        }
                        marked.notified_incident = incident;
                        "broadcast"
                    }
                    // A broadcast that certainly did not go out is no longer marked.
                    Write::Answered(request, answer)
                        if request.purpose == Purpose::Notify
                            && not_applied(answer)
                            && marked.notified_incident.is_some() =>
                    {
                        marked.notified_incident = None;
                        "broadcast"
                    }
                    Write::Answered(..) => return None,
                };
                if let Err(e) = spool.update(&path, &marked) {
                    self.printer
                        .warning(&format!("could not mark the spooled event for {} as being {what}: {e}", entry.key));
                }
                None
            };
            let result = run_event(
                self.engine.as_mut(),
                &mut self.transport,
                self.printer,
                entry.event.as_bytes(),
                &entry.key,
                &context,
                budget,
                &mut on_write,
            );
            entry.notified_incident = marked.notified_incident;
            entry.attempts += 1;
            entry.last_attempt_at = Some(now());
            match result {
                Ok(outcome) => match fate(&outcome) {
                    Fate::Done => {
                        if settles(&outcome, entry.recovery) {
                            self.note(&spool, &entry.key, entry.recovery, entry.is_failure(), entry.arrived());
                        }
                        Spool::remove(&path)?;
                        self.printer.outcome(&outcome, Source::Spool, None, None);
                        report.delivered += 1;
                    }
                    Fate::Retry => {
                        entry.last_error = Some(self.printer.redact(&outcome.message));
                        entry.handler_failures = 0;
                        // Still unconfirmed: since now if this attempt sent a create,
                        // else since the earlier attempt's.
                        let sent = self.transport.creates_sent() > creates_before;
                        entry.unconfirmed_create_ms = match entry.unconfirmed_create_ms {
                            Some(earlier) if !sent => outcome.create_unconfirmed.then_some(earlier),
                            _ => outcome.create_unconfirmed.then(now_ms),
                        };
                        spool.update(&path, &entry)?;
                        self.printer.outcome(&outcome, Source::Spool, Some("kept in the spool"), None);
                        if outcome.create_unconfirmed {
                            report.unresolved.push(entry.key.clone());
                        }
                        report.left += pending.len() - index;
                        break;
                    }
                    Fate::Dead | Fate::DeadConfig => {
                        entry.last_error = Some(self.printer.redact(&outcome.message));
                        spool.update(&path, &entry)?;
                        let dead = spool.bury(&path)?;
                        self.printer.outcome(
                            &outcome,
                            Source::Spool,
                            Some(&format!("moved to {}", dead.display())),
                            None,
                        );
                        report.dead += 1;
                    }
                },
                Err(HostError::Input(why)) => {
                    entry.last_error = Some(self.printer.redact(&why));
                    spool.update(&path, &entry)?;
                    spool.bury(&path)?;
                    self.printer.warning(&format!(
                        "spooled event for {} is not a valid event ({why}); moved to the dead-letter folder",
                        entry.key
                    ));
                    report.dead += 1;
                }
                Err(e) => {
                    // One event the engine cannot plan (e.g. one too large for the wasm
                    // module's memory) must not hold up the others, nor come back for
                    // ever: after the third attempt in a row that fails so (attempts that
                    // reach the network do not count) it is dead-lettered.
                    entry.last_error = Some(self.printer.redact(&e.to_string()));
                    entry.handler_failures += 1;
                    spool.update(&path, &entry)?;
                    if entry.handler_failures >= ENGINE_ATTEMPTS {
                        let dead = spool.bury(&path)?;
                        self.printer.warning(&format!(
                            "the engine failed on the spooled event for {} {ENGINE_ATTEMPTS} times ({e}); moved to {} (`replay --dead` sends it once that is fixed, or with `--engine native`)",
                            entry.key,
                            dead.display()
                        ));
                        report.dead += 1;
                    } else {
                        self.printer.warning(&format!(
                            "kept the spooled event for {} ({e}); going on with the spool",
                            entry.key
                        ));
                        report.left += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Take in the writes killed runs left unfinished ([`Spool::take_in_unfinished`]),
    /// saying what was found.
    fn take_in_unfinished(&self, spool: &Spool) {
        let taken = spool.take_in_unfinished();
        if taken.entries + taken.updates > 0 {
            self.printer.warning(&format!(
                "took in {} spooled events and {} updates of spooled events that runs killed while writing them had left unfinished in {} (the events go out as any spooled event)",
                taken.entries,
                taken.updates,
                spool.dir().display()
            ));
        }
        if taken.broken > 0 {
            self.printer.warning(&format!(
                "{} unfinished spool files in {} are not whole entries (a run was killed while writing them): `check-spool` names them; what is readable of their events is for a person to resend, then remove them",
                taken.broken,
                spool.dir().display()
            ));
        }
    }

    /// Deal with a live event's outcome: spool or dead-letter it as needed; the exit code.
    fn settle(&self, live: Live<'_>, outcome: &Outcome) -> u8 {
        match fate(outcome) {
            Fate::Done => {
                self.printer.outcome(outcome, Source::Live, None, Some(EXIT_OK));
                EXIT_OK
            }
            Fate::Retry => self.keep(live, outcome, false, EXIT_SPOOLED),
            Fate::Dead => self.keep(live, outcome, true, EXIT_SPOOLED),
            Fate::DeadConfig => self.keep(live, outcome, true, EXIT_CONFIG),
        }
    }

    /// Drop a spooled entry a later event of its check supersedes, saying so (`note`
    /// after the reason).
    fn retire(&self, path: &std::path::Path, entry: &Entry, note: &str) -> Result<(), HostError> {
        Spool::remove(path)?;
        let (what, by) = if entry.recovery { ("recovery", "failure") } else { ("alert", "recovery") };
        self.printer.info(&format!("dropped a spooled {what} for {}: a later {by} supersedes it{note}", entry.key));
        Ok(())
    }

    /// After a drain before the live event (`drained`): the exit code of keeping the
    /// live event behind its check's spooled event whose create is unconfirmed (the
    /// next run sends both, in order), or `None`: the live event goes (as a first
    /// occurrence when its check still has events waiting: one the server put off, say).
    fn behind_unresolved(&self, drained: Result<DrainReport, HostError>, live: Live<'_>) -> Option<u8> {
        match drained {
            Ok(report) if report.unresolved.contains(&live.summary.key) => {
                let why = format!(
                    "kept the event for {} behind its check's spooled event, whose create was sent but not confirmed (the server may yet apply it); the next run delivers both, in order",
                    live.summary.key
                );
                Some(self.keep_behind(live, why))
            }
            Ok(_) => None,
            Err(e) => {
                self.printer.warning(&format!("the spool was not delivered: {e}"));
                None
            }
        }
    }

    /// Keep the live event for the next run, behind what it must not overtake (`why`
    /// says what): a spooled create this run sent but could not confirm (the server may
    /// yet apply it, and a lookup now could miss it and open a second incident), or an
    /// event of its check another run was still delivering.
    fn keep_behind(&self, live: Live<'_>, why: String) -> u8 {
        let entry = entry_for(self.printer, live, Some(why.clone()), Some(&self.route), false);
        match self.store(&entry, false) {
            Ok(path) if self.stale_once_kept(live, &path) => EXIT_OK,
            Ok(path) => {
                self.printer.info(&format!("{why}: spooled as {}", path.display()));
                EXIT_SPOOLED
            }
            Err(e) => {
                self.printer.error(&format!("{why}, but could not spool it: {e}"), EXIT_NOT_SPOOLED);
                dump_event(self.printer, live.event);
                EXIT_NOT_SPOOLED
            }
        }
    }

    /// Spool (or dead-letter) the live event; print the line; the exit code.
    fn keep(&self, live: Live<'_>, outcome: &Outcome, dead: bool, code: u8) -> u8 {
        let message = Some(self.printer.redact(&outcome.message));
        let mut entry = entry_for(self.printer, live, message, Some(&self.route), code == EXIT_CONFIG);
        entry.unconfirmed_create_ms = outcome.create_unconfirmed.then(now_ms);
        match self.store(&entry, dead) {
            Ok(path) if !dead && self.stale_once_kept(live, &path) => EXIT_OK,
            Ok(path) => {
                // An entry's team includes its organization (`Route`): kept under none,
                // or under one the fix may change, only an adopting replay sends it.
                let note = if dead {
                    let hint = if !self.route.addressed() {
                        "`replay --dead --adopt` sends it once the organization is set: it was kept under none"
                            .to_owned()
                    } else if outcome.auth_failed {
                        format!("{DEAD_HINT}; `replay --dead --adopt` if the fix is another organization")
                    } else {
                        DEAD_HINT.to_owned()
                    };
                    format!("dead-lettered as {} ({hint})", path.display())
                } else {
                    format!("spooled as {}", path.display())
                };
                self.printer.outcome(outcome, Source::Live, Some(&note), Some(code));
                code
            }
            Err(e) => {
                self.printer.outcome(
                    outcome,
                    Source::Live,
                    Some(&format!("could not spool: {e}")),
                    Some(EXIT_NOT_SPOOLED),
                );
                dump_event(self.printer, live.event);
                EXIT_NOT_SPOOLED
            }
        }
    }

    /// After the live event was kept in the spool (as `path`): when a later result of
    /// its check, of the other kind, was delivered while this run waited (another run
    /// held the check's lock), the event is stale and goes again, said in a line.
    /// Looked up after the write: the run delivering that result notes it before it
    /// looks for stale entries in the spool, so one of the two runs sees the other.
    fn stale_once_kept(&self, live: Live<'_>, path: &std::path::Path) -> bool {
        let Some(later) = self.stale_live(live) else { return false };
        if Spool::remove(path).is_err() {
            return false;
        }
        self.drop_stale(live, later);
        true
    }

    /// What makes the live event stale ([`latest::stale`]): a later result of its
    /// check, of the other kind, was delivered since it came.
    fn stale_live(&self, live: Live<'_>) -> Option<latest::Later> {
        let spool = self.spool.as_ref().ok()?;
        let summary = live.summary;
        latest::stale(spool, &summary.key, summary.recovery, summary.failure, live.arrived)
    }

    /// Say that the live event is dropped as stale (an outcome: one line, or one JSON
    /// object with `code` `stale`); the exit code (0: nothing is left to do for it).
    fn drop_stale(&self, live: Live<'_>, later: latest::Later) -> u8 {
        let summary = live.summary;
        let what = if summary.recovery { "recovery" } else { "alert" };
        let message = format!(
            "dropped the {what} for {}: a {} of its check that came in {} was delivered already (runs of one check take their turns in no set order)",
            summary.key,
            later.what,
            after(later.after)
        );
        let outcome = Outcome {
            result: OutcomeKind::Skipped,
            retryable: false,
            auth_failed: false,
            code: "stale".into(),
            key: summary.key.clone(),
            incident: None,
            actions: Vec::new(),
            message,
            warnings: Vec::new(),
            dry_run: false,
            create_unconfirmed: false,
        };
        self.printer.outcome(&outcome, Source::Live, None, Some(EXIT_OK));
        EXIT_OK
    }

    /// Note a delivered result ([`latest::note`]); a warning when it cannot be.
    fn note(&self, spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) {
        if let Err(e) = latest::note(spool, key, recovery, failure, arrived) {
            self.printer.warning(&format!(
                "could not note the delivery for {key} ({e}): a result of its check that came in before it and is still waiting could be sent after it; make {} a directory this user can write",
                spool.dir().join(".latest").display()
            ));
        }
    }

    fn store(&self, entry: &Entry, dead: bool) -> Result<std::path::PathBuf, HostError> {
        let spool = self.spool.as_ref().map_err(|e| HostError::Spool(e.to_string()))?;
        for note in spool.notes() {
            self.printer.warning(note);
        }
        if dead { spool.add_dead(entry) } else { spool.add(entry) }
    }

    /// Keep the live event after a host error (exit code by the error).
    pub fn keep_after_error(&self, live: Live<'_>, error: &HostError) -> u8 {
        let (dead, code) = match error {
            HostError::Config(_) => (true, EXIT_CONFIG),
            HostError::Internal(_) => (false, EXIT_SPOOLED),
            HostError::Spool(_) | HostError::Input(_) => (false, error.exit_code()),
        };
        self.printer.error(&error.to_string(), code);
        if matches!(error, HostError::Input(_)) {
            return code;
        }
        let stored = self.spool.as_ref().map_err(|e| HostError::Spool(e.to_string()));
        keep_event(self.printer, stored, live, error, dead, code, Some(&self.route))
    }

    /// The live event: drain the spool first (half the deadline), then the event.
    pub fn handle_live(&mut self, live: Live<'_>, dry_run: bool) -> u8 {
        let (event, summary) = (live.event, live.summary);
        let mut spool_lock = None;
        let mut check_lock = None;
        let mut backlog = false;
        if !dry_run {
            let half = self.start + self.deadline / 2;
            // Another run may be delivering an event of this check (its create not yet
            // applied, its recovery not yet closing): this one waits for it, and holds the
            // check's lock through its own delivery so the check's next event waits in turn.
            let check = self.lock_until(half, |spool| spool.try_lock_key(&summary.key));
            match self.held_or_kept(check, live, "for the next run: another run was still delivering an event of its check when this run's share of the deadline for waiting ran out") {
                Ok(lock) => check_lock = lock,
                Err(code) => return code,
            }
            // While this run waited for its check, the run holding it may have
            // delivered a later result of the other kind (runs waiting for one check
            // take it in no set order).
            if let Some(later) = self.stale_live(live) {
                return self.drop_stale(live, later);
            }
            let own_check = check_lock.is_some().then_some(summary.key.as_str());
            // Events of this check wait in the spool: they go first. Holding the check's
            // lock, this run sends them itself, whatever run is delivering the rest of the
            // spool (waiting for that run kept a burst's live events behind a slow
            // spool until their recoveries retired them); what it cannot send in its
            // share of the deadline stays for the next run. Without the check's
            // lock (it could not be taken), it waits for the spool's and holds it
            // through this event.
            // Nothing waits in the spool (the common case): one look at its folder.
            backlog = self.spool.as_ref().is_ok_and(Spool::waits);
            let mut rest = Scope::All;
            if backlog && self.spool_holds(&summary.key) {
                if own_check.is_some() {
                    let own = self.drain_scoped(half, Some(live), false, own_check, Scope::Own);
                    if let Some(code) = self.behind_unresolved(own, live) {
                        return code;
                    }
                    rest = Scope::Others;
                } else {
                    let spool = self.lock_until(half, Spool::try_lock);
                    match self.held_or_kept(spool, live, "behind its check's spooled events, which another run was still delivering when this run's share of the deadline for the spool ran out; the next run delivers them in order") {
                        Ok(lock) => spool_lock = lock,
                        Err(code) => return code,
                    }
                }
            }
            if backlog {
                let all = self.drain_scoped(half, Some(live), spool_lock.is_some(), own_check, rest);
                if let Some(code) = self.behind_unresolved(all, live) {
                    return code;
                }
            }
        }
        let first_occurrence = backlog && self.spool_holds(&summary.key);
        let received = now();
        let context = Context {
            now: received,
            first_occurrence,
            dry_run,
            create_unconfirmed: false,
            received: Some(live.arrived.secs()),
        };
        let budget = self.budget_until(self.start + self.deadline);
        match run_event(
            self.engine.as_mut(),
            &mut self.transport,
            self.printer,
            event,
            &summary.key,
            &context,
            budget,
            &mut |_| None,
        ) {
            Ok(outcome) if dry_run => {
                self.printer.outcome(&outcome, Source::Live, None, None);
                match fate(&outcome) {
                    Fate::DeadConfig => EXIT_CONFIG,
                    _ => EXIT_OK,
                }
            }
            Ok(outcome) => {
                // Delivered: handled, or a recovery that found nothing left to close.
                // Noted first, then the spool looked at: a run that gave up waiting for
                // this check keeps its event, then looks at the note (one sees the other).
                drop(spool_lock);
                if settles(&outcome, summary.recovery) {
                    if let Ok(spool) = &self.spool {
                        self.note(spool, &summary.key, summary.recovery, summary.failure, live.arrived);
                    }
                    self.drop_superseded_by(live, check_lock.is_some());
                }
                self.settle(live, &outcome)
            }
            Err(e) if dry_run => {
                self.printer.error(&e.to_string(), e.exit_code());
                e.exit_code()
            }
            Err(e) => self.keep_after_error(live, &e),
        }
    }

    /// After the `live` event was delivered: the entries it supersedes
    /// ([`Entry::superseded_by`]) kept for its key from before it arrived
    /// seconds), in the spool or its dead-letter folder, by this team, are dropped.
    /// A stale recovery must not close the incident of a newer failure, nor a stale
    /// alert (`replay --dead`, `--adopt`) open one for a check that has recovered since.
    /// Entries of the same kind stay (a spooled escalation still has its call to make).
    /// The spooled ones go when the run holds the check's lock (`check_locked`: no other
    /// run sends them meanwhile, and one that listed them reads them again under it);
    /// the dead-lettered ones, and all of them without that lock, only when the spool's
    /// lock is free (a `replay --dead` may be moving them back).
    fn drop_superseded_by(&self, live: Live<'_>, check_locked: bool) {
        let Ok(spool) = &self.spool else { return };
        let (key, recovery) = (live.summary.key.as_str(), live.summary.recovery);
        let stale = |path: &std::path::PathBuf| {
            Spool::read(path).is_ok_and(|e| {
                e.key == key
                    && e.superseded_by(live.summary.recovery, live.summary.failure)
                    && e.arrived() < live.arrived
                    && self.route.supersedes(&e)
            })
        };
        let spooled: Vec<_> = spool.list().unwrap_or_default().into_iter().filter(stale).collect();
        let dead: Vec<_> = spool.list_dead().unwrap_or_default().into_iter().filter(stale).collect();
        if spooled.is_empty() && dead.is_empty() {
            return;
        }
        let lock = spool.try_lock().ok().flatten();
        let (spooled, dead) = match (&lock, check_locked) {
            (Some(_), _) => (spooled, dead),
            (None, true) => (spooled, Vec::new()),
            (None, false) => return,
        };
        let (what, by) = if recovery { ("alert", "its recovery") } else { ("recovery", "a later failure") };
        for (paths, folder) in [(spooled, "spooled"), (dead, "dead-lettered")] {
            for path in paths {
                if Spool::remove(&path).is_ok() {
                    self.printer.info(&format!("dropped a {folder} {what} for {key}: {by} was delivered since"));
                }
            }
        }
    }

    /// What a wait for a lock came to: the lock (`None`: it could not be taken for
    /// another reason, said in a warning, and the run goes on without it), or the exit
    /// code of keeping the event for the next run (`why`: where, after `kept the event
    /// for <key> `) because another run still held it.
    fn held_or_kept<L>(
        &self,
        waited: Result<Option<L>, HostError>,
        live: Live<'_>,
        why: &str,
    ) -> Result<Option<L>, u8> {
        let key = &live.summary.key;
        match waited {
            Ok(Some(lock)) => Ok(Some(lock)),
            Ok(None) => Err(self.keep_behind(live, format!("kept the event for {key} {why}"))),
            Err(e) => {
                self.printer.warning(&format!("going on without waiting for other runs of {key}: {e}"));
                Ok(None)
            }
        }
    }

    /// A lock of the spool (`try`: which), waiting for another run to let go of it
    /// until `end`; `None` when it still holds it then.
    fn lock_until<L>(
        &self,
        end: Instant,
        try_lock: impl Fn(&Spool) -> Result<Option<L>, HostError>,
    ) -> Result<Option<L>, HostError> {
        let spool = self.spool.as_ref().map_err(|e| HostError::Spool(e.to_string()))?;
        loop {
            if let Some(lock) = try_lock(spool)? {
                return Ok(Some(lock));
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(left.min(LOCK_POLL));
        }
    }

    fn spool_holds(&self, key: &str) -> bool {
        let Ok(spool) = &self.spool else { return false };
        spool.list().unwrap_or_default().iter().any(|p| Spool::read(p).is_ok_and(|e| e.key == key && self.ours(&e)))
    }

    /// Whether this configuration delivers `entry`: one it spooled, one spooled before
    /// routes were recorded (or when no settings could be read), or any with `--adopt`.
    fn ours(&self, entry: &Entry) -> bool {
        self.route.delivers(entry, self.adopt)
    }
}

/// Keep an event that could not be delivered because of `error`: into the spool (or
/// its dead-letter folder), else on stderr. Returns the exit code (`code`, or 74 when
/// even the spool failed).
pub fn keep_event(
    printer: &Printer,
    spool: Result<&Spool, HostError>,
    live: Live<'_>,
    error: &HostError,
    dead: bool,
    code: u8,
    route: Option<&Route>,
) -> u8 {
    let summary = live.summary;
    let mut entry = entry_for(printer, live, Some(printer.redact(&error.to_string())), route, code == EXIT_CONFIG);
    if matches!(error, HostError::Internal(_)) {
        entry.handler_failures = 1;
    }
    let stored = spool.and_then(|spool| {
        for note in spool.notes() {
            printer.warning(note);
        }
        if dead { spool.add_dead(&entry) } else { spool.add(&entry) }
    });
    match stored {
        Ok(path) => {
            let (what, hint) =
                if dead { ("dead-lettered as", format!(" ({DEAD_HINT})")) } else { ("spooled as", String::new()) };
            printer.info(&format!("the event for {} was {what} {}{hint}", summary.key, path.display()));
            code
        }
        Err(e) => {
            printer.error(&format!("could not spool the event for {}: {e}", summary.key), EXIT_NOT_SPOOLED);
            dump_event(printer, live.event);
            EXIT_NOT_SPOOLED
        }
    }
}

/// Which spooled entries a drain takes, by the check whose lock the caller holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    All,
    /// That check's alone (the spool's lock is not needed).
    Own,
    /// Every other check's (that check's were tried already).
    Others,
}

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Delivered (or skipped) and removed.
    pub delivered: usize,
    /// Dropped because a later recovery supersedes them.
    pub superseded: usize,
    /// Moved to the dead-letter folder.
    pub dead: usize,
    /// Still waiting.
    pub left: usize,
    /// Keys of the entries tried this run and kept with a create sent but unconfirmed
    /// ([`Outcome::create_unconfirmed`]): the server may yet apply it, so the live event
    /// of such a key waits behind it.
    pub unresolved: Vec<String>,
}

/// Last resort: the event (a Sensu event, no secrets) on stderr, so it survives in
/// Sensu's log.
pub fn dump_event(printer: &Printer, event: &[u8]) {
    use std::io::Write;
    // Masked as a spool entry's event is: string by string, so an escaped key is found.
    let text = without_secrets(printer, event);
    let _ = writeln!(
        std::io::stderr().lock(),
        "reactio: undelivered event follows (resend it with: sensu-reactio-handler < event.json)\n{text}"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn spooled_events_hold_no_secret_even_escaped_and_stay_json() {
        let mut printer = Printer::default();
        printer.add_secret("Ab3dE/Fg7hIj+Kl9==");
        // JSON may write `/` as `\/`: the key is not in the text as it is.
        let event = br#"{"check":{"output":"login failed for token Ab3dE\/Fg7hIj+Kl9== (401)","status":2}}"#;
        let kept = without_secrets(&printer, event);
        let value: serde_json::Value = serde_json::from_str(&kept).unwrap();
        assert_eq!(value["check"]["output"], "login failed for token ******** (401)");
        assert_eq!(value["check"]["status"], 2);
        // Nothing to mask: the event is kept byte for byte.
        let plain = br#"{"check": {"output": "fine", "status": 0}}"#;
        assert_eq!(without_secrets(&printer, plain).as_bytes(), plain);
        // Not JSON: masked as text.
        assert_eq!(without_secrets(&printer, b"token Ab3dE/Fg7hIj+Kl9=="), "token ********");
    }

    #[test]
    fn a_spooled_event_keeps_names_that_hold_a_piece_of_the_key() {
        let mut printer = Printer::default();
        printer.add_secret("production-key-1");
        printer.add_secret("test");
        let event = br#"{"client":{"name":"production-db01"},"check":{"name":"test_http","output":"token production-key-1, test"}}"#;
        let value: serde_json::Value = serde_json::from_str(&without_secrets(&printer, event)).unwrap();
        // Masked, these would be another check's names: its incident, not this one's.
        assert_eq!(value["client"]["name"], "production-db01");
        assert_eq!(value["check"]["name"], "test_http");
        assert_eq!(value["check"]["output"], "token ********, ********");
    }
}
