//! The decision rules of decisions.md, in order: an event and its effective settings in,
//! a [`Decision`] out. Pure arithmetic over the event's history; no requests here.

use crate::prelude::*;

use crate::config::Effective;
use crate::event::{Action, Event, HISTORY_CAP};
use crate::severity::Severity;
use crate::step::Context;
use crate::text::Decimal;

/// Interval assumed when the check has none (absent, 0, or cron), as sensu-plugin did.
pub(crate) const DEFAULT_INTERVAL: u64 = 30;

/// What to do for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No request at all.
    Skip { code: &'static str, reason: String },
    /// Rule 2: look up; found: post the recovery and close per `close_on_resolve`.
    Recovery,
    /// Rule 6 (threshold reached, status change, or a spooled key): look up;
    /// none: create; found: post, broadcast on escalation.
    Alert(Alert),
    /// Rule 6 (i): the n-th re-notification while still failing.
    Refresh { round: u64 },
    /// Rule 6 (ii): make sure an incident exists (the first alert may have been lost).
    Reconcile,
    /// Rule 7: a non-acted severity after an alerted episode: post only.
    Downgrade,
}

/// Details of an alert decided by rule 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Alert {
    /// Ring phones if this creates the incident.
    pub(crate) call_on_create: bool,
    /// When an incident is found: broadcast (an escalation).
    pub(crate) broadcast_if_found: bool,
    /// With that broadcast: ring phones.
    pub(crate) call_if_found: bool,
    /// The status changed (posted as such).
    pub(crate) status_changed: bool,
    /// This episode's first alert (no earlier result of it alerted): an open incident
    /// created before [`Alert::earlier_before`] belongs to an earlier failure, so this
    /// one is new to the people on it and is broadcast like a create (rule 6: "higher
    /// than any earlier in the episode" holds when none alerted).
    pub(crate) first_alert: bool,
    /// An incident created before this (epoch seconds, Reactio's clock) was opened for
    /// an earlier failure: [`Episode::earlier_before`].
    pub(crate) earlier_before: i64,
}

/// The most the clocks of Sensu (its agents) and Reactio may disagree by before a
/// replayed first alert takes its own incident for an earlier failure's.
pub(crate) const CLOCK_SLACK: i64 = 300;

/// How many results in a row end `statuses`: failing ones (`failing`), else passing ones.
pub(crate) fn run_at_end(statuses: &[i64], failing: bool) -> usize {
    let mut run = 0;
    for status in statuses.iter().rev() {
        if (*status != 0) != failing {
            break;
        }
        run += 1;
    }
    run
}

/// Rule 2's test: is this event a recovery?
pub(crate) fn is_recovery(event: &Event) -> bool {
    match event.action {
        Some(Action::Resolve) => true,
        Some(_) => false,
        None => event.status == 0 && event.previous_status().is_some_and(|s| s != 0),
    }
}

/// What the history says about the current failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Episode {
    /// Consecutive non-OK results ending with this one.
    pub(crate) streak: u64,
    /// Severities of the earlier results of this episode, oldest first, each with its streak.
    earlier: Vec<(Severity, u64)>,
    /// The previous result's status differs from this one.
    pub(crate) status_changed: bool,
    /// Seconds between runs for counting them (the check's, or 30: decisions.md).
    pub(crate) interval: u64,
    /// Seconds between runs for reckoning times ([`Event::pace`]).
    pub(crate) pace: u64,
    /// Seconds per run of the streak: [`Episode::interval`] when the streak was reckoned
    /// from `last_ok` by it, else [`Episode::pace`].
    unit: u64,
    /// How many passing results lie before this episode in the history, back to an
    /// earlier failing one or to the start of a full history (then the pass lasted at
    /// least that long); `None` when the history shows no earlier failure and is not
    /// full, or holds nothing before the episode.
    passes_before: Option<u64>,
    /// The streak is `max(21, occurrences)` with `occurrences` below 21 (a full failing
    /// history, no last pass, and `occurrences` restarted by a status change or never
    /// sent): 21 for every such result, so it cannot tell when a refresh or reconcile is
    /// due (each would be one). At 21 it is due once, as decisions.md counts it.
    pub(crate) stuck: bool,
}

impl Episode {
    /// Count the streak and the episode from the event's history (decisions.md "streak").
    pub(crate) fn of(event: &Event, now: i64) -> Episode {
        let interval = event.interval.unwrap_or(DEFAULT_INTERVAL);
        let history = &event.history;
        let trailing = run_at_end(history, true);
        let trailing_u = trailing as u64;
        let pace = event.pace();
        let mut unit = pace;
        let mut stuck = false;
        let streak = if event.status == 0 {
            0
        } else if !event.history_known {
            event.occurrences
        } else if trailing == history.len() && history.len() >= HISTORY_CAP {
            match event.last_ok {
                Some(last_ok) => {
                    let executed = event.executed.unwrap_or(now);
                    let elapsed = executed.saturating_sub(last_ok).max(0) as u64;
                    let runs = (elapsed + interval / 2) / interval;
                    unit = interval;
                    event.occurrences.max(runs)
                }
                None => {
                    stuck = event.occurrences < HISTORY_CAP as u64;
                    event.occurrences.max(HISTORY_CAP as u64)
                }
            }
        } else {
            trailing_u
        };
        // Earlier results of the episode (excluding the current one), with their streaks.
        let earlier_count = trailing.saturating_sub(1);
        let start = history.len() - trailing;
        let mut earlier = Vec::with_capacity(earlier_count);
        for (i, s) in history.iter().skip(start).take(earlier_count).enumerate() {
            let back = (earlier_count - i) as u64;
            earlier.push((Severity::from_status(*s), streak.saturating_sub(back)));
        }
        // Passing results before the episode, back to an earlier failing one; or all of
        // them when the history is full (Sensu keeps 21: the pass began before it).
        // A shorter history with no failure before the episode is the check's whole
        // life: there was no earlier failure to measure from.
        let before = history.get(..start).unwrap_or_default();
        let passes = run_at_end(before, false);
        let bounded = passes < before.len() || history.len() >= HISTORY_CAP;
        let passes_before = (!before.is_empty() && event.history_known && bounded).then_some(passes as u64);
        Episode {
            streak,
            earlier,
            status_changed: event.previous_status().is_some_and(|p| p != event.status),
            interval,
            pace,
            unit,
            passes_before,
            stuck,
        }
    }

    /// Did an earlier result of this episode alert (acted, streak reached the threshold)?
    pub(crate) fn alerted(&self, eff: &Effective) -> bool {
        let s = &eff.settings;
        self.earlier.iter().any(|(sev, streak)| s.severities.contains(sev) && *streak >= s.occurrences)
    }

    /// Did an earlier result of this episode ring phones?
    fn called(&self, eff: &Effective) -> bool {
        let s = &eff.settings;
        self.earlier
            .iter()
            .any(|(sev, streak)| s.severities.contains(sev) && s.call.contains(sev) && *streak >= s.occurrences)
    }

    /// The worst severity earlier in the episode.
    fn previous_worst(&self) -> Option<Severity> {
        self.earlier.iter().map(|(sev, _)| *sev).max()
    }

    /// When the episode started (approximately), epoch seconds: its runs reckoned
    /// back from when this result came in (`arrived`: [`Event::arrived`]).
    pub(crate) fn started(&self, arrived: i64) -> i64 {
        let runs = i64::try_from(self.streak.saturating_sub(1)).unwrap_or(i64::MAX);
        let span = crate::arith::saturating_mul_i64(runs, i64::try_from(self.unit).unwrap_or(i64::MAX));
        arrived.saturating_sub(span)
    }

    /// An incident created before this (epoch seconds) was opened for an earlier
    /// failure, not for this episode: the episode's start less [`CLOCK_SLACK`] for the
    /// clocks, but no earlier than halfway through the pass before the episode, as long
    /// as the history shows it (to an earlier failing result, or to the history's start
    /// when the pass is longer): a failure back after a short pass is new too, and a
    /// clock off by less than half the pass cannot mistake one episode's incident for
    /// the other's.
    pub(crate) fn earlier_before(&self, arrived: i64) -> i64 {
        let started = self.started(arrived);
        let pace = i64::try_from(self.pace).unwrap_or(i64::MAX);
        let slack = match self.passes_before {
            Some(passes) => {
                let gap =
                    crate::arith::saturating_mul_i64(i64::try_from(passes.saturating_add(1)).unwrap_or(i64::MAX), pace);
                CLOCK_SLACK.min(gap / 2)
            }
            None => CLOCK_SLACK,
        };
        started.saturating_sub(slack)
    }
}

fn skip(code: &'static str, reason: impl Into<String>) -> Decision {
    Decision::Skip { code, reason: reason.into() }
}

/// Apply the rules in order (decisions.md "Order of rules"); first match wins.
pub(crate) fn decide(event: &Event, eff: &Effective, context: &Context) -> Decision {
    let s = &eff.settings;
    let g = &eff.global;
    // Rule 2: recoveries pass rules 3 and 4 (an incident must not stay open because
    // the check recovered while silenced or flapping).
    if is_recovery(event) {
        return Decision::Recovery;
    }
    if event.silenced && !g.alert_when_silenced {
        return skip("silenced", "the check is silenced (set `alert_when_silenced` to act anyway)");
    }
    if event.flapping && !g.alert_when_flapping {
        return skip("flapping", "the check is flapping (set `alert_when_flapping` to act anyway)");
    }
    if !event.alert {
        return skip("alert_disabled", "the check sets `alert: false`");
    }
    let severity = event.severity();
    if severity == Severity::Ok {
        return match event.action {
            Some(_) => skip("not_a_failure", "status 0 without `action: resolve` is not a recovery"),
            None if event.previous_status().is_none() => skip(
                "ok_after_ok",
                "the check passes and the event carries no earlier result that failed: nothing to do",
            ),
            None => skip("ok_after_ok", "the check passes and passed before: nothing to do"),
        };
    }
    let episode = Episode::of(event, context.now);
    if !s.severities.contains(&severity) {
        if episode.status_changed && episode.alerted(eff) {
            return Decision::Downgrade;
        }
        return skip("severity_not_acted", format!("{severity} is not in `severities` [{}]", s.severities.names()));
    }
    let occ = s.occurrences;
    let streak = episode.streak;
    let first = context.first_occurrence || streak == occ;
    if !first && streak < occ {
        return skip("below_threshold", format!("{} of {} results in a row", Decimal(streak), Decimal(occ)));
    }
    if first || episode.status_changed {
        let previous_worst = episode.previous_worst();
        let escalation = previous_worst.is_none_or(|worst| severity > worst);
        return Decision::Alert(Alert {
            call_on_create: s.call.contains(&severity),
            // A first alert that finds an incident (a replay, a retried create) was
            // already broadcast when that incident was created: post only.
            broadcast_if_found: escalation && episode.status_changed && previous_worst.is_some(),
            call_if_found: escalation && s.call.contains(&severity) && !episode.called(eff),
            status_changed: episode.status_changed,
            first_alert: !episode.alerted(eff),
            earlier_before: episode.earlier_before(event.arrived(context.received, context.now)),
        });
    }
    let since = streak - occ;
    if episode.stuck {
        let streak = Decimal(streak);
        return skip(
            "repeat",
            format!(
                "an earlier result of this failure was the one to alert; the history is all failures and shows no last pass (`last_ok`), so refresh and reconcile wait until `occurrences` reaches {streak}"
            ),
        );
    }
    if s.refresh > 0 {
        let every = (s.refresh / episode.interval).max(1);
        if since.is_multiple_of(every) {
            let round = since / every;
            if round <= s.max_renotify {
                return Decision::Refresh { round };
            }
        }
    }
    if s.reconcile > 0 {
        let every = (s.reconcile / episode.interval).max(1);
        if since.is_multiple_of(every) {
            return Decision::Reconcile;
        }
    }
    // "Alerted" is what the rules decided then: that result may have been silenced,
    // flapping or lost, which the reconcile lookup finds out.
    let check =
        if s.reconcile > 0 { "; the `reconcile` lookup opens its incident if that alert never went out" } else { "" };
    let streak = Decimal(streak);
    skip(
        "repeat",
        format!("an earlier result of this failure was the one to alert ({streak} in a row now); nothing new{check}"),
    )
}
