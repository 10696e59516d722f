//! The live event (the one on stdin): its check's turn and the spool before it, its
//! delivery, and keeping it (spooled, dead-lettered, or on stderr) when it does not go.

use std::time::{Duration, Instant};

use sensu_reactio_core::{Context, Outcome, OutcomeKind};

use super::mask::without_secrets;
use super::{DrainReport, Fate, Live, Runner, Scope, after, fate, now, now_ms, settles};
use crate::drive::{Write, cut_short, run_event};
use crate::error::{EXIT_CONFIG, EXIT_NOT_SPOOLED, EXIT_OK, EXIT_SPOOLED, HostError};
use crate::latest;
use crate::output::{Printer, Source};
use crate::route::Route;
use crate::spool::{Entry, Spool};

/// How often a run waiting for the spool's lock tries it again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// The least time left after a live event worth a look at the spool (less is not
/// enough to deliver one entry, and would only say that it was not read).
const AFTER_AT_LEAST: Duration = Duration::from_millis(500);

/// What to do about a dead letter: no run sends it on its own.
const DEAD_HINT: &str = "`replay --dead` sends it once the cause is fixed";

impl Runner<'_> {
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
            // share of the deadline stays for the next run. Their share is the whole
            // deadline, not the half the rest of the spool gets: this event goes only
            // after them, and a slow server (each answer a second, pages of other
            // incidents to look through) left a check's spooled alert cut at the half,
            // run after run, with the live one behind it. Without the check's
            // lock (it could not be taken), it waits for the spool's and holds it
            // through this event.
            // Nothing waits in the spool (the common case): one look at its folder.
            backlog = self.spool.as_ref().is_ok_and(Spool::waits);
            let mut rest = Scope::All;
            if backlog && self.spool_holds(&summary.key) {
                if own_check.is_some() {
                    let own = self.drain_scoped(self.start + self.deadline, Some(live), false, own_check, Scope::Own);
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
        let (key, arrived) = (summary.key.as_str(), live.arrived);
        let (recovery, failure) = (summary.recovery, summary.failure);
        let (spool, route) = (self.spool.as_ref().ok(), (&self.route, self.adopt));
        let mut on_write = |write: Write<'_>| match (write, spool) {
            (Write::Sending(..), Some(spool)) if !dry_run => {
                Runner::superseded_meanwhile(spool, route, key, arrived, recovery, failure)
            }
            _ => None,
        };
        let answers_before = self.transport.answers();
        let delivered = run_event(
            self.engine.as_mut(),
            &mut self.transport,
            self.printer,
            event,
            &summary.key,
            &context,
            budget,
            &mut on_write,
        );
        let answered = self.transport.answers() > answers_before;
        match delivered {
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
                let done = fate(&outcome) == Fate::Done;
                if !(backlog && done) {
                    // No request follows (no drain after the event): the client's
                    // descriptors go back before the note and the spool are written,
                    // which a run short of them needs (docs/reliability.md finding 73).
                    self.transport.close();
                }
                if settles(&outcome, summary.recovery) {
                    if let Ok(spool) = &self.spool {
                        self.note(spool, &summary.key, summary.recovery, summary.failure, live.arrived);
                    }
                    self.drop_superseded_by(live, check_lock.is_some());
                }
                let code = self.settle(live, &outcome, answered);
                if backlog && done {
                    // The check's next event need not wait for this.
                    drop(check_lock);
                    self.drain_after(live);
                }
                code
            }
            Err(e) if dry_run => {
                self.printer.error(&e.to_string(), e.exit_code());
                e.exit_code()
            }
            Err(e) => self.keep_after_error(live, &e),
        }
    }

    /// After the `live` event was delivered: the entries it supersedes
    /// ([`Entry::superseded_by`]) kept for its key from before it arrived, in the spool
    /// or its dead-letter folder, by this team, are dropped.
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
        let stale = |paths: Vec<std::path::PathBuf>| -> Vec<std::path::PathBuf> {
            Spool::of_key(paths, key)
                .filter(|(_, e)| {
                    e.superseded_by(live.summary.recovery, live.summary.failure)
                        && e.arrived() < live.arrived
                        && self.route.supersedes(e)
                })
                .map(|(path, _)| path)
                .collect()
        };
        let spooled = stale(spool.list().unwrap_or_default());
        let dead = stale(spool.list_dead().unwrap_or_default());
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

    /// Deal with a live event's outcome: spool or dead-letter it as needed (`answered`:
    /// the server answered it with a 2xx at least once); the exit code.
    fn settle(&self, live: Live<'_>, outcome: &Outcome, answered: bool) -> u8 {
        match fate(outcome) {
            Fate::Done => {
                self.printer.outcome(outcome, Source::Live, None, Some(EXIT_OK));
                EXIT_OK
            }
            Fate::Retry => self.keep(live, outcome, false, EXIT_SPOOLED, answered),
            Fate::Dead => self.keep(live, outcome, true, EXIT_SPOOLED, answered),
            Fate::DeadConfig => self.keep(live, outcome, true, EXIT_CONFIG, answered),
        }
    }

    /// After the live event was delivered: the time left goes to the other checks'
    /// entries, those put off until now among them ([`Entry::cut_short`]); the live
    /// event's exit code stands. Its own check's entries went before it.
    fn drain_after(&mut self, live: Live<'_>) {
        let end = self.start + self.deadline;
        let Ok(spool) = self.spool.as_ref().map(Spool::clone) else { return };
        // Asked to stop: the drain before the event said what is left.
        if Instant::now() + AFTER_AT_LEAST >= end
            || self.terminated.load(std::sync::atomic::Ordering::Relaxed)
            || !spool.waits()
        {
            return;
        }
        // Another run delivering the spool has it in hand: nothing to say.
        let Ok(Some(_held)) = spool.try_lock() else { return };
        let own = Some(live.summary.key.as_str());
        if let Err(e) = self.drain_scoped(end, None, true, own, Scope::Others) {
            // Said once: the drain before the event met the same trouble, as a rule.
            self.printer.warning_once(&format!("the spool was not delivered: {e}"));
        }
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
                self.printer.warning_once(&format!("the spool was not delivered: {e}"));
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
    fn keep(&self, live: Live<'_>, outcome: &Outcome, dead: bool, code: u8, answered: bool) -> u8 {
        let message = Some(self.printer.redact(&outcome.message));
        let mut entry = entry_for(self.printer, live, message, Some(&self.route), code == EXIT_CONFIG);
        entry.unconfirmed_create_ms = outcome.create_unconfirmed.then(now_ms);
        entry.cut_short = cut_short(outcome, answered);
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

    /// Keep the live event after a host error (exit code by the error).
    pub fn keep_after_error(&self, live: Live<'_>, error: &HostError) -> u8 {
        let (dead, code) = match error {
            HostError::Config(_) => (true, EXIT_CONFIG),
            HostError::Internal(_) | HostError::Machine(_) => (false, EXIT_SPOOLED),
            HostError::Spool(_) | HostError::Input(_) => (false, error.exit_code()),
        };
        self.printer.error(&error.to_string(), code);
        if matches!(error, HostError::Input(_)) {
            return code;
        }
        let stored = self.spool.as_ref().map_err(|e| HostError::Spool(e.to_string()));
        keep_event(self.printer, stored, live, error, dead, code, Some(&self.route))
    }

    /// Spool (or dead-letter) an entry, saying first what the spool had to say about itself.
    fn store(&self, entry: &Entry, dead: bool) -> Result<std::path::PathBuf, HostError> {
        let spool = self.spool.as_ref().map_err(|e| HostError::Spool(e.to_string()))?;
        for note in spool.notes() {
            self.printer.warning(note);
        }
        if dead { spool.add_dead(entry) } else { spool.add(entry) }
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

    /// Whether the spool holds an entry of this configuration for `key`.
    fn spool_holds(&self, key: &str) -> bool {
        let Ok(spool) = &self.spool else { return false };
        Spool::of_key(spool.list().unwrap_or_default(), key).any(|(_, e)| self.ours(&e))
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
        cut_short: false,
        last_attempt_at: None,
        settings: None,
    };
    if let Some(route) = route {
        route.stamp(&mut entry, key_problem);
    }
    entry
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
