//! Handling events: the live event from stdin and the spool before it (drained
//! oldest first, its check's own entries within the deadline and the rest within
//! half of it, those a slow server cut short after it; superseded alerts dropped,
//! refused ones dead-lettered), and what each outcome means for the spool and the
//! exit code.
//!
//! `live.rs` takes the live event through its check's turn, the spool and its own
//! delivery; `drain.rs` sends what the spool holds; `mask.rs` is what a kept event
//! holds of its secrets (nothing). Here: the run's state and what both share.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use sensu_reactio_core::{EventSummary, Failure, FailureKind, Outcome, OutcomeKind};

use crate::drive::{Budget, Transport};
use crate::engine::Engine;
use crate::error::HostError;
use crate::latest::{self, Arrival};
use crate::output::Printer;
use crate::route::Route;
use crate::spool::{self, Entry, Spool};

mod drain;
mod live;
mod mask;

pub use drain::DrainReport;
use drain::Scope;
pub use live::{dump_event, entry_for, keep_event};

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
    /// Set when a SIGTERM or SIGHUP arrives ([`note_sigterm`]).
    pub terminated: Arc<AtomicBool>,
}

/// Note SIGTERM instead of dying of it. It comes when the Sensu server's service stops
/// (systemd signals every process of the service) or from someone's `kill`; dying then
/// lost the event in flight. Noted, the run leaves the rest of the spool for the next
/// run and finishes its own event (delivered, or spooled), within its deadline, which
/// is shorter than any stop timeout. Taken after stdin is read: before that there is no
/// event to save. SIGHUP is taken alike: it comes when the terminal or session of a
/// Sensu server started by hand closes. If the handler cannot be installed, the signal
/// stays fatal. SIGINT stays fatal: a person at a terminal means it.
pub fn note_sigterm() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
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
        OutcomeKind::Failed if crate::output::configuration_problem(outcome) => Fate::DeadConfig,
        OutcomeKind::Failed if outcome.retryable => Fate::Retry,
        OutcomeKind::Failed => Fate::Dead,
    }
}

impl Runner<'_> {
    fn budget_until(&self, end: Instant) -> Budget {
        Budget { end, total: end.saturating_duration_since(self.start) }
    }

    /// Note a delivered result ([`latest::note`]); a warning when it cannot be.
    fn note(&self, spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) {
        if let Err(e) = latest::note(spool, key, recovery, failure, arrived) {
            let fix = latest::fix_for(spool, &e);
            self.printer.warning_once(&format!(
                "could not note the delivery for {key} ({e}): a result of its check that came in before it and is still waiting could be sent after it; {fix}"
            ));
        }
    }

    /// A create or broadcast for an event of `key` (`recovery` or `failure`, arrived
    /// then) that must not go out: a later result of its check that supersedes it (a
    /// recovery after a failure, say) waits in the spool, kept by a run that gave up
    /// waiting for this check while this run was still at it (a 429's wait, a slow
    /// server). Phones would ring for a check that has recovered: the event is kept
    /// instead (as at its deadline), and the drain drops it as superseded. `route`
    /// and `adopt` say which entries are this configuration's ([`Runner::ours`]).
    fn superseded_meanwhile(
        spool: &Spool,
        (route, adopt): (&Route, bool),
        key: &str,
        arrived: Arrival,
        recovery: bool,
        failure: bool,
    ) -> Option<Failure> {
        let later = Spool::of_key(spool.list().unwrap_or_default(), key).find_map(|(_, entry)| {
            let supersedes = spool::supersedes((entry.recovery, entry.is_failure()), (recovery, failure));
            // Only one this configuration delivers: the drain drops the kept event
            // for it then (another's would block this one's writes run after run).
            let ours = route.supersedes(&entry) && route.delivers(&entry, adopt);
            (supersedes && entry.arrived() > arrived && ours).then_some(entry.recovery)
        })?;
        let what = if later { "recovery" } else { "failure" };
        Some(Failure {
            kind: FailureKind::Deadline,
            detail: format!("not sent: a later {what} of its check came in meanwhile and waits in the spool"),
        })
    }

    /// Whether this configuration delivers `entry`: one it spooled, one spooled before
    /// routes were recorded (or when no settings could be read), or any with `--adopt`.
    fn ours(&self, entry: &Entry) -> bool {
        self.route.delivers(entry, self.adopt)
    }
}
