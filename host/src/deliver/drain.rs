//! Draining the spool: what waits goes out oldest first, each entry under its check's
//! lock, superseded and stale ones dropped, refused ones dead-lettered, and a create or
//! broadcast marked on its entry before it is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sensu_reactio_core::{CREATE_RETRY_WAIT_MS, Context, Failure, FailureKind, Outcome, Purpose, Request};

use super::{Fate, Live, Runner, after, fate, now, now_ms, settles};
use crate::drive::{Write, cut_short, not_applied, run_event};
use crate::error::HostError;
use crate::latest;
use crate::output::Source;
use crate::spool::{Entry, Spool};

/// Attempts in a row after which a spooled event the engine keeps failing on is dead-lettered.
const ENGINE_ATTEMPTS: u32 = 3;

/// Which spooled entries a drain takes, by the check whose lock the caller holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    /// Every check's.
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

/// A listed entry the drain goes through, and whether a later event of its check
/// supersedes it (it is dropped then, under its check's lock).
struct Pending {
    path: PathBuf,
    entry: Entry,
    superseded: bool,
}

/// Where the drain goes after an entry.
enum Flow {
    /// On to the next entry.
    Next,
    /// The entry was kept for a later attempt: the server is not taking events now,
    /// or not this one (the drain tries other checks' entries once more, then stops).
    Stop,
    /// The machine cannot give the run what it needs (a `machine error`): the drain
    /// stops at once; every entry waits.
    Halt,
}

/// The incident a broadcast goes to (its body's `incident_id`).
fn notified_incident(request: &Request) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(&request.body).ok()?.get("incident_id")?.as_u64()
}

impl Runner<'_> {
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
    pub(super) fn drain_scoped(
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
        let spool_lock = if held || scope == Scope::Own { None } else { Some(spool.try_lock()?) };
        if matches!(spool_lock, Some(None)) {
            self.printer.warning("another run is delivering the spool; leaving it to that run");
            return Ok(report);
        }
        spool.check_removable()?;
        if unfinished {
            self.take_in_unfinished(&spool);
        }
        let entries = self.listed(&spool, scope, own_check, end, &mut report)?;
        let pending = pending(entries, live, &mut report);
        let mut busy: Vec<String> = Vec::new();
        let mut kept_one = false;
        let mut put_off = 0;
        for (index, item) in pending.iter().enumerate() {
            if busy.contains(&item.entry.key) {
                report.left += 1;
                continue;
            }
            // Before a live event, another check's entry that ran out of time on its
            // last attempt waits until after it: against a slow server it would run
            // out again, and take the live event's time with it (each new alert late
            // by a run). Dropping a superseded one costs nothing and goes on.
            let other_check = live.is_some_and(|l| l.summary.key != item.entry.key);
            if other_check && item.entry.cut_short && !item.superseded {
                // Its check's later entries wait behind it (in order).
                busy.push(item.entry.key.clone());
                put_off += 1;
                report.left += 1;
                continue;
            }
            let stop = if Instant::now() >= end {
                "the spool's share of the deadline is used up"
            } else if self.terminated.load(Ordering::Relaxed) {
                "asked to stop (sigterm or sighup); this run finishes only what it has started"
            } else {
                ""
            };
            if !stop.is_empty() {
                report.left += pending.len() - index;
                self.printer.warning(&format!("{} left for the next run: {stop}", spooled(report.left)));
                break;
            }
            let flow = self.deliver_pending(&spool, item, end, own_check, &mut busy, &mut report)?;
            if let Flow::Halt = flow {
                report.left += pending.len() - index - 1;
                break;
            }
            if let Flow::Stop = flow {
                // One entry kept for a retry may be its own trouble (an event the
                // server fails on, every time), not the server's: the entries of other
                // checks after it get one more try, and a second entry kept stops the
                // drain (the server is not taking events now). Its check's later
                // entries wait behind it.
                if kept_one {
                    report.left += pending.len() - index;
                    break;
                }
                kept_one = true;
                report.left += 1;
                busy.push(item.entry.key.clone());
            }
        }
        if put_off > 0 {
            self.printer.info(&format!(
                "put off {} of other checks (and their checks' later ones) until after this run's own event: their last attempt ran out of time while the server was answering (slow); they go when a run has time left after its event, or with `replay`",
                spooled(put_off)
            ));
        }
        Ok(report)
    }

    /// The spool's entries in `scope` that this configuration delivers, oldest first.
    /// What it leaves (another configuration's entries; in a replay, those kept under
    /// other settings) is counted and said; an entry that cannot be read is
    /// dead-lettered.
    fn listed(
        &self,
        spool: &Spool,
        scope: Scope,
        own_check: Option<&str>,
        end: Instant,
        report: &mut DrainReport,
    ) -> Result<Vec<(PathBuf, Entry)>, HostError> {
        let in_scope = |entry: &Entry| match scope {
            Scope::All => true,
            Scope::Own => own_check == Some(entry.key.as_str()),
            Scope::Others => own_check != Some(entry.key.as_str()),
        };
        let mut entries = Vec::new();
        let mut others = 0;
        let mut other_settings = std::collections::BTreeSet::new();
        let mut left_for_settings = 0;
        let mut foreign: Option<(usize, u32)> = None;
        // A check's own entries are found by name; the rest are read while the drain's
        // share of the deadline lasts (a spool an outage filled holds thousands): what
        // is not read waits for the next run.
        let mut listing = spool.list()?;
        if scope == Scope::Own {
            listing.retain(|path| own_check.is_some_and(|key| Spool::may_hold(path, key)));
        }
        for (index, path) in listing.iter().enumerate() {
            if Instant::now() >= end {
                let unread = listing.len() - index;
                report.left += unread;
                self.printer.warning(&format!(
                    "{} left unread for the next run: the spool's share of the deadline is used up",
                    spooled(unread)
                ));
                break;
            }
            // Another user's entry is left before it is read: entries are written 0600,
            // so this user could not read it, nor bury it in a sticky folder.
            if let Some(owner) = Spool::others_entry(path) {
                foreign = Some((foreign.map_or(0, |(n, _)| n) + 1, owner));
                continue;
            }
            match Spool::read(path) {
                Ok(entry) if !in_scope(&entry) => {}
                Ok(entry) if !self.ours(&entry) => others += 1,
                Ok(entry) => {
                    // A replay leaves what was kept under other settings (unless adopting).
                    let differ =
                        if self.replaying && !self.adopt { self.route.settings_differ(&entry) } else { Vec::new() };
                    if differ.is_empty() {
                        entries.push((path.clone(), entry));
                    } else {
                        other_settings.extend(differ);
                        left_for_settings += 1;
                    }
                }
                // Delivered or retired by another run since it was listed.
                Err(_) if !path.exists() => {}
                // Unreadable: dead-lettered, or, where it cannot be moved, left (and the
                // entries after it still read).
                Err(why) => match spool.bury(path) {
                    Ok(_) => {
                        self.printer.warning(&format!("{why}; moved to the dead-letter folder"));
                        report.dead += 1;
                    }
                    Err(e) => {
                        self.printer.warning(&format!("{why}; left where it is: {e}"));
                        report.left += 1;
                    }
                },
            }
        }
        if let Some((n, owner)) = foreign {
            report.left += n;
            self.printer.warning_once(&format!(
                "left {} of user {owner}, which this user can neither mark as sent nor remove once delivered (each would go again every run): run `replay` as that user, or chown {} to the user sensu runs handlers as",
                spooled(n),
                them(n)
            ));
        }
        if left_for_settings > 0 {
            let names: Vec<String> = other_settings.iter().map(|n| format!("`{n}`")).collect();
            self.printer.warning(&format!(
                "left {} kept under other settings than this replay's ({}): the handler's next run sends {them} with its own settings; to send {them} now, run `replay` with the handler's environment and settings, or `replay --adopt` if these are the handler's settings now (they changed since)",
                spooled(left_for_settings),
                names.join(", "),
                them = them(left_for_settings)
            ));
            report.left += left_for_settings;
        }
        if others > 0 {
            self.printer.warning(&format!(
                "{} {} kept by another handler configuration (another profile, project or api key): left for it; `replay --adopt` sends {} with this one",
                spooled(others),
                if others == 1 { "was" } else { "were" },
                them(others)
            ));
        }
        Ok(entries)
    }

    /// One pending entry, under its check's lock (unless the caller holds it): left
    /// when another run is delivering its check, else sent if it still may be
    /// ([`Runner::ready`]), and what came of it recorded.
    fn deliver_pending(
        &mut self,
        spool: &Spool,
        item: &Pending,
        end: Instant,
        own_check: Option<&str>,
        busy: &mut Vec<String>,
        report: &mut DrainReport,
    ) -> Result<Flow, HostError> {
        let key = &item.entry.key;
        // Its check's lock (the caller may hold it already); an error taking it
        // goes on without.
        let _check = if own_check == Some(key.as_str()) {
            None
        } else {
            match spool.try_lock_key(key) {
                Ok(None) => {
                    self.printer.info(&format!(
                        "left the spooled events for {key} for later: another run is delivering an event of its check"
                    ));
                    busy.push(key.clone());
                    report.left += 1;
                    return Ok(Flow::Next);
                }
                Ok(lock) => lock,
                Err(_) => None,
            }
        };
        let Some(mut entry) = self.ready(spool, item, end, busy, report)? else {
            return Ok(Flow::Next);
        };
        let answers_before = self.transport.answers();
        let (result, sent_create) = self.attempt(spool, &item.path, &mut entry, end);
        let answered = self.transport.answers() > answers_before;
        self.record(spool, &item.path, entry, result, (sent_create, answered), report)
    }

    /// The entry as it is now, if it is to be sent now. `None` when another run sent
    /// or dropped it since the list was read (sending it again would ring twice, or
    /// open an incident for a check that recovered); when a later result of its check
    /// makes it stale or supersedes it (dropped here); or when the wait for its
    /// unconfirmed create does not fit (left for the next run). That wait is made here.
    fn ready(
        &self,
        spool: &Spool,
        item: &Pending,
        end: Instant,
        busy: &mut Vec<String>,
        report: &mut DrainReport,
    ) -> Result<Option<Entry>, HostError> {
        let path = &item.path;
        let entry = match Spool::read(path) {
            Ok(entry) => entry,
            Err(_) if !path.exists() => return Ok(None),
            Err(_) => item.entry.clone(),
        };
        // A later result of the other kind was delivered while it waited (it
        // was kept by a run that gave up waiting for the run delivering that one).
        // Not for entries of an earlier version: they say only the second they came in.
        let stale = |arrived| latest::stale(spool, &entry.key, entry.recovery, entry.is_failure(), arrived);
        if let Some(later) = entry.received_ns.and_then(stale) {
            let note = format!(", and was delivered since (it came in {})", after(later.after));
            return self.retire(path, &entry, &note, report);
        }
        // An alert superseded by a recovery, with its create unconfirmed: that
        // create may yet land, so it is dropped only once the wait for it is over
        // (or left, with the recovery behind it): a recovery looking up sooner
        // finds nothing to close, and the incident the create then makes stays open.
        let after_wait = item.superseded && entry.unconfirmed_create_ms.is_some() && entry.is_failure();
        if item.superseded && !after_wait {
            return self.retire(path, &entry, "", report);
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
                return Ok(None);
            }
            self.transport.pause(wait);
        }
        if after_wait {
            let note = " (after the wait for its unconfirmed create, so the recovery finds what it made)";
            return self.retire(path, &entry, note, report);
        }
        Ok(Some(entry))
    }

    /// Send a spooled entry: the core's plan for it, run until `end`, each create and
    /// broadcast marked on the entry before it goes. The result, and whether this
    /// attempt sent a create; `entry` is updated with the attempt (its count, when,
    /// and the incident its broadcast went to).
    fn attempt(
        &mut self,
        spool: &Spool,
        path: &Path,
        entry: &mut Entry,
        end: Instant,
    ) -> (Result<Outcome, HostError>, bool) {
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
        let (arrived, recovery, failure) = (entry.arrived(), entry.recovery, entry.is_failure());
        let mut on_write = |write: Write<'_>| {
            // A later result that supersedes it was spooled since the list was read.
            if let Write::Sending(..) = write
                && let Some(later) = Runner::superseded_meanwhile(
                    spool,
                    (&self.route, self.adopt),
                    &entry.key,
                    arrived,
                    recovery,
                    failure,
                )
            {
                return Some(later);
            }
            let what = match write {
                Write::Sending(request, allowed) if request.purpose == Purpose::Create => {
                    let allowed_ms = u64::try_from(allowed.as_millis()).unwrap_or(u64::MAX);
                    marked.unconfirmed_create_ms = Some(now_ms().saturating_add(allowed_ms));
                    "created"
                }
                Write::Sending(request, _) => {
                    let incident = notified_incident(request);
                    if incident.is_some() && incident == entry.notified_incident {
                        let detail =
                            "sent by an earlier attempt of this spooled event, whose run ended before its answer";
                        return Some(Failure { kind: FailureKind::Other, detail: detail.to_owned() });
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
            let Err(e) = spool.update(path, &marked) else { return None };
            self.printer
                .warning_once(&format!("could not mark the spooled event for {} as being {what}: {e}", entry.key));
            // Not sent unmarked: a later run could not tell that it went, and would
            // create or broadcast again (a second incident, a second call). The event
            // waits in the spool; the run stops as at its deadline.
            let sending = matches!(write, Write::Sending(..));
            sending.then(|| Failure {
                kind: FailureKind::Deadline,
                detail: format!("not sent: the spool could not record that it was being {what} ({e})"),
            })
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
        (result, self.transport.creates_sent() > creates_before)
    }

    /// What came of an attempt, for the entry: removed once delivered, kept with its
    /// error for a retry ([`Flow::Stop`]: the drain stops at the second), or dead-lettered when
    /// refused for good, when it is no valid event, or after the engine failed on it
    /// [`ENGINE_ATTEMPTS`] times in a row.
    fn record(
        &self,
        spool: &Spool,
        path: &Path,
        mut entry: Entry,
        result: Result<Outcome, HostError>,
        (sent_create, answered): (bool, bool),
        report: &mut DrainReport,
    ) -> Result<Flow, HostError> {
        match result {
            Ok(outcome) => match fate(&outcome) {
                Fate::Done => {
                    if settles(&outcome, entry.recovery) {
                        self.note(spool, &entry.key, entry.recovery, entry.is_failure(), entry.arrived());
                    }
                    Spool::remove(path)?;
                    self.printer.outcome(&outcome, Source::Spool, None, None);
                    report.delivered += 1;
                }
                Fate::Retry => {
                    entry.last_error = Some(self.printer.redact(&outcome.message));
                    entry.handler_failures = 0;
                    entry.cut_short = cut_short(&outcome, answered);
                    // Still unconfirmed: since now if this attempt sent a create,
                    // else since the earlier attempt's.
                    entry.unconfirmed_create_ms = match entry.unconfirmed_create_ms {
                        Some(earlier) if !sent_create => outcome.create_unconfirmed.then_some(earlier),
                        _ => outcome.create_unconfirmed.then(now_ms),
                    };
                    // Unconfirmed first: the live event behind it must wait even when
                    // the spool cannot record the attempt (a full disk), or it would
                    // look up at once and create a second incident.
                    if outcome.create_unconfirmed {
                        report.unresolved.push(entry.key.clone());
                    }
                    let kept = match spool.update(path, &entry) {
                        Ok(()) => "kept in the spool".to_owned(),
                        Err(e) => format!("kept in the spool as it was (this attempt could not be recorded: {e})"),
                    };
                    self.printer.outcome(&outcome, Source::Spool, Some(&kept), None);
                    return Ok(Flow::Stop);
                }
                Fate::Dead | Fate::DeadConfig => {
                    entry.last_error = Some(self.printer.redact(&outcome.message));
                    spool.update(path, &entry)?;
                    let dead = spool.bury(path)?;
                    self.printer.outcome(&outcome, Source::Spool, Some(&format!("moved to {}", dead.display())), None);
                    report.dead += 1;
                }
            },
            Err(HostError::Input(why)) => {
                entry.last_error = Some(self.printer.redact(&why));
                spool.update(path, &entry)?;
                spool.bury(path)?;
                self.printer.warning(&format!(
                    "spooled event for {} is not a valid event ({why}); moved to the dead-letter folder",
                    entry.key
                ));
                report.dead += 1;
            }
            Err(e @ HostError::Machine(_)) => {
                // The machine, not this entry: kept as it is, and the rest wait too.
                entry.last_error = Some(self.printer.redact(&e.to_string()));
                spool.update(path, &entry)?;
                self.printer
                    .warning(&format!("kept the spooled event for {} ({e}); the rest of the spool waits", entry.key));
                report.left += 1;
                return Ok(Flow::Halt);
            }
            Err(e) => {
                // One event the engine cannot plan (e.g. one too large for the wasm
                // module's memory) must not hold up the others, nor come back for
                // ever: after the third attempt in a row that fails so (attempts that
                // reach the network do not count) it is dead-lettered.
                entry.last_error = Some(self.printer.redact(&e.to_string()));
                entry.handler_failures += 1;
                spool.update(path, &entry)?;
                if entry.handler_failures >= ENGINE_ATTEMPTS {
                    let dead = spool.bury(path)?;
                    self.printer.warning(&format!(
                        "the engine failed on the spooled event for {} {ENGINE_ATTEMPTS} times ({e}); moved to {} (`replay --dead` sends it once that is fixed, or with `--engine native`)",
                        entry.key,
                        dead.display()
                    ));
                    report.dead += 1;
                } else {
                    self.printer
                        .warning(&format!("kept the spooled event for {} ({e}); going on with the spool", entry.key));
                    report.left += 1;
                }
            }
        }
        Ok(Flow::Next)
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

    /// Drop a spooled entry a later event of its check supersedes, saying so (`note`
    /// after the reason) and counting it; nothing is left to send (`None`).
    fn retire(
        &self,
        path: &Path,
        entry: &Entry,
        note: &str,
        report: &mut DrainReport,
    ) -> Result<Option<Entry>, HostError> {
        Spool::remove(path)?;
        let (what, by) = if entry.recovery { ("recovery", "failure") } else { ("alert", "recovery") };
        self.printer.info(&format!("dropped a spooled {what} for {}: a later {by} supersedes it{note}", entry.key));
        report.superseded += 1;
        Ok(None)
    }
}

/// The listed entries a drain goes through, in order, with whether a later event of
/// their check supersedes them; a recovery that must wait is left (counted in `report`).
///
/// A later recovery supersedes an alert (dropped). A recovery spooled before the live
/// failure of its check waits (neither sent nor dropped): it must not close the incident
/// of the failure going on; once that failure is delivered it is dropped, and if the
/// failure is not acted on (silenced, say) a later run sends it. Likewise a failure
/// spooled after a recovery of its check supersedes that recovery. A passing result that
/// is not a recovery (ok after ok) is neither kind. A superseded entry is dropped in the
/// drain's loop, holding its check's lock (a run sending that check's events itself,
/// without the spool's lock, may have sent or dropped it since this list was read: the
/// entry is read again under the lock).
fn pending(entries: Vec<(PathBuf, Entry)>, live: Option<Live<'_>>, report: &mut DrainReport) -> Vec<Pending> {
    // What each key's later entries hold (a recovery, a failure), newest first: one
    // pass back through the list, not every entry set against every later one (a spool
    // an outage filled holds thousands, and a quadratic look at them ran a run past
    // its deadline).
    let mut later: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    let mut superseded = vec![false; entries.len()];
    for (i, (_, entry)) in entries.iter().enumerate().rev() {
        let seen = later.entry(entry.key.as_str()).or_default();
        let by_later = entry.superseded_by(seen.0, seen.1);
        let by_live = entry.is_failure() && live.is_some_and(|l| l.summary.recovery && l.summary.key == entry.key);
        if let Some(flag) = superseded.get_mut(i) {
            *flag = by_later || by_live;
        }
        seen.0 |= entry.recovery;
        seen.1 |= entry.is_failure();
    }
    let waits = |entry: &Entry| {
        entry.recovery
            && live.is_some_and(|l| l.summary.failure && l.summary.key == entry.key && entry.arrived() < l.arrived)
    };
    let mut pending = Vec::new();
    for ((path, entry), superseded) in entries.into_iter().zip(superseded) {
        if !superseded && waits(&entry) {
            report.left += 1;
        } else {
            pending.push(Pending { path, entry, superseded });
        }
    }
    pending
}

/// "1 spooled event" or "N spooled events": the drain's counts, in words.
fn spooled(n: usize) -> String {
    if n == 1 { "1 spooled event".to_owned() } else { format!("{n} spooled events") }
}

/// The pronoun for that many spooled events.
fn them(n: usize) -> &'static str {
    if n == 1 { "it" } else { "them" }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_of_spooled_events_agree_in_number() {
        assert_eq!(super::spooled(1), "1 spooled event");
        assert_eq!(super::spooled(0), "0 spooled events");
        assert_eq!(super::spooled(2), "2 spooled events");
        assert_eq!(super::them(1), "it");
        assert_eq!(super::them(3), "them");
    }
}
