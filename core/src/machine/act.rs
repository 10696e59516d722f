//! What to write for what the lookup found: the decision's writes (create, post,
//! broadcast, close) per rule, the incident chosen, and the texts they carry.

use crate::prelude::*;

use super::{Run, Write};
use crate::messages;
use crate::reactio::{self, CreateBody, Incident};
use crate::rules::{self, Decision, Episode};
use crate::step::{OutcomeKind, Step};
use crate::text::Decimal;

/// How recent an incident named as an alert's or a refresh's create must be to be taken
/// for that create: a gateway sender's retries come within seconds (the documented curl gives up
/// after 9), while a check fails, passes and fails again in no less than two of its
/// intervals, which are rarely under 10 s.
const OWN_CREATE_WINDOW_S: u64 = 15;

impl Run {
    /// The incident to act on: the oldest open one, else the oldest pending one.
    pub(super) fn chosen(&self) -> Option<Incident> {
        let oldest = |status: &str| reactio::oldest(&self.found, status);
        oldest("open").or_else(|| oldest("pend")).or_else(|| oldest("")).cloned()
    }

    pub(super) fn after_lookup(&mut self) -> Step {
        let found = self.chosen().filter(|i| !i.is_closed());
        // A failed create of ours that the lookup finds did reach the server; whatever
        // it did, the key has its incident now. So did one made moments ago and named
        // as this event's create would be: an earlier attempt's whose answer was lost (a
        // gateway's sender retrying has no other trace), or the same result delivered
        // twice.
        let unconfirmed = found.is_some() && core::mem::take(&mut self.create_unconfirmed);
        let ours = unconfirmed || found.as_ref().is_some_and(|inc| self.created_for_this_event(inc));
        if let Some(keep) = &found {
            self.heal_found(keep.id);
        }
        let closed_only = found.is_none() && self.found.iter().any(|i| self.closed_in_this_failure(i));
        let severity = self.event.severity();
        let key = self.event.key.clone();
        // The decision read in place (its fields copied out), not cloned whole.
        match (&self.decision, found) {
            (Decision::Alert(_) | Decision::Refresh { .. }, Some(inc)) if ours => {
                self.own_create_found(&inc, unconfirmed)
            }
            (Decision::Alert(alert), Some(inc)) => {
                let alert = *alert;
                self.alert_found(&alert, &inc);
            }
            (Decision::Alert(alert), None) => {
                let call = alert.call_on_create;
                self.create(None, call);
                self.code = "created";
            }
            (Decision::Refresh { round }, Some(inc)) => {
                let round = *round;
                self.refresh_found(round, &inc);
            }
            (Decision::Refresh { .. }, None) => {
                let headline = messages::recreated(&self.since());
                self.create(Some(headline), self.renotify_call());
                self.code = "created_again";
            }
            (Decision::Reconcile, Some(inc)) => {
                let open = format!("incident {} is open for {key}", Decimal(inc.id));
                if self.cleanup.is_empty() {
                    return self.finish_with(OutcomeKind::Skipped, "already_open", Some(inc.id), open);
                }
                self.set(inc.id, "already_open", open);
            }
            (Decision::Reconcile, None) if closed_only => {
                return self.finish(
                    OutcomeKind::Skipped,
                    "closed_by_person",
                    format!("skipped {key}: its incident was closed while the check still fails; the refresh rule opens a new one (with `refresh: 0`, none opens until it passes and fails again)"),
                );
            }
            (Decision::Reconcile, None) => {
                self.create(Some(messages::reconciled()), self.eff.settings.call.contains(&severity));
                self.code = "reconciled_created";
            }
            (Decision::Recovery, Some(inc)) => self.recovery_found(&inc),
            (Decision::Downgrade, Some(inc)) => {
                let headline =
                    messages::downgrade(self.event.previous_status().map(crate::Severity::from_status), severity);
                self.post(inc.id, &headline);
                // Not always down: warning to unknown is up, to a severity not acted on.
                let now = format!(": now {severity}, not an acted severity");
                self.did(inc.id, "posted_downgrade", "posted to", &now);
            }
            (Decision::Recovery | Decision::Downgrade, None) => {
                let assumed = self.assumed();
                return self.finish(
                    OutcomeKind::Skipped,
                    "no_open_incident",
                    format!("skipped {key}: no open incident to update{assumed}"),
                );
            }
            (Decision::Skip { code, reason }, _) => {
                let (code, reason) = (*code, reason.clone());
                return self.finish(OutcomeKind::Skipped, code, reason);
            }
        }
        self.next_write()
    }

    /// An alert's or a refresh's own earlier create found by the lookup (`unconfirmed`:
    /// the create's answer was uncertain): it carried the message and the broadcast
    /// already, so nothing is sent again.
    fn own_create_found(&mut self, inc: &Incident, unconfirmed: bool) {
        // Our create refused for its name, none of ours uncertain: another run's.
        let theirs = self.name_in_use && !unconfirmed;
        let how = match (unconfirmed, theirs) {
            (true, _) => "confirmed by a lookup after an uncertain answer",
            (false, true) => "another run's, made moments ago for this same alert: nothing sent again",
            (false, false) => "made moments ago for this same alert: nothing sent again",
        };
        if !theirs {
            self.act("created");
        }
        let (code, again) = if matches!(self.decision, Decision::Refresh { .. }) {
            ("created_again", " again")
        } else {
            ("created", "")
        };
        let done = if theirs { "found" } else { "created" };
        self.did(inc.id, code, done, &format!("{again} ({how})"));
    }

    /// An alert whose check has an incident open: its timeline message, and a
    /// broadcast when the rules ask for one (an escalation, or a failure new to the
    /// people of an incident left open from an earlier one).
    fn alert_found(&mut self, alert: &rules::Alert, inc: &Incident) {
        let severity = self.event.severity();
        let notification = self.texts.notification(&self.eff);
        let previous = self.event.previous_status().map(crate::Severity::from_status);
        // Left open from an earlier failure (`close_on_resolve: never`, a lost or
        // flapping recovery, a person still holding it): this failure is new to
        // its people, and rule 6 broadcasts it whoever holds the incident (unlike
        // the refresh rule's reminders). Which incidents count as earlier, with
        // slack for the clocks: `Episode::earlier_before`.
        let earlier_failure = alert.first_alert && inc.created_at > 0 && inc.created_at < alert.earlier_before;
        let headline = if earlier_failure {
            messages::failing_again(previous, severity)
        } else if alert.status_changed {
            messages::status_change(previous, severity, alert.broadcast_if_found)
        } else {
            messages::repeat_alert()
        };
        self.post(inc.id, &headline);
        if earlier_failure {
            self.writes.push(Write::Notify { id: inc.id, text: notification, call: alert.call_on_create });
            self.did(inc.id, "failing_again", "posted to", ", still open from an earlier failure, and broadcast");
        } else if alert.broadcast_if_found {
            self.writes.push(Write::Notify { id: inc.id, text: notification, call: alert.call_if_found });
            self.did(inc.id, "escalated", "posted to", " and broadcast the escalation");
        } else {
            self.did(inc.id, "posted", "posted to", "");
        }
    }

    /// A refresh (rule 7) with the incident still there: a reminder on its timeline,
    /// and a broadcast again when nobody has taken it.
    fn refresh_found(&mut self, round: u64, inc: &Incident) {
        let unattended = inc.status == "open" && !inc.has_manager;
        let since = self.since();
        let streak = Episode::of(&self.event, self.context.now).streak;
        let headline = messages::refresh(round, self.eff.settings.max_renotify, streak, &since, unattended);
        self.post(inc.id, &headline);
        if unattended {
            // The broadcast last, as everywhere: a write that fails after it
            // would send the whole event again, and ring phones again.
            let notification = self.texts.notification(&self.eff);
            self.writes.push(Write::Notify { id: inc.id, text: notification, call: self.renotify_call() });
            self.did(inc.id, "renotified", "re-notified", &format!(" (round {})", Decimal(round)));
        } else {
            self.did(inc.id, "posted", "posted to", " (someone has it)");
        }
    }

    /// A recovery with the incident open: its timeline message, then the close, unless
    /// a person holds the incident (`close_on_resolve: unattended`) or the setting is
    /// `never`.
    fn recovery_found(&mut self, inc: &Incident) {
        use messages::AfterRecovery;
        let held = inc.status != "open" || inc.has_manager;
        let after = match self.eff.settings.close_on_resolve {
            crate::config::CloseOnResolve::Always => AfterRecovery::Close,
            crate::config::CloseOnResolve::Never => AfterRecovery::LeaveBySetting,
            crate::config::CloseOnResolve::Unattended if held => AfterRecovery::LeaveToPerson,
            crate::config::CloseOnResolve::Unattended => AfterRecovery::Close,
        };
        let headline = messages::recovery(self.recovery_streak(), self.event.pace(), self.event.force_resolve, after);
        self.post(inc.id, &headline);
        let left = match after {
            AfterRecovery::Close => {
                self.writes.push(Write::Close { id: inc.id });
                self.did(inc.id, "closed", "recovered: closed", "");
                return;
            }
            AfterRecovery::LeaveToPerson => "left for the person who has it to close",
            AfterRecovery::LeaveBySetting => "left open (`close_on_resolve` is `never`)",
        };
        self.did(inc.id, "posted_recovery", "recovered: posted to", &format!(", {left}"));
    }

    /// [`Run::set`] with the summary `"<done> incident <id> for <key><rest>"`.
    fn did(&mut self, id: u64, code: &'static str, done: &str, rest: &str) {
        let summary = format!("{done} incident {} for {}{rest}", Decimal(id), self.event.key);
        self.set(id, code, summary);
    }

    pub(super) fn set(&mut self, id: u64, code: &'static str, summary: String) {
        self.incident = Some(id);
        self.code = code;
        self.summary = summary;
    }

    /// When the failure started, for messages.
    pub(super) fn since(&self) -> String {
        let executed = self.event.executed.unwrap_or(self.context.now);
        let started = Episode::of(&self.event, self.context.now).started(executed);
        self.texts.time(started)
    }

    /// The failing run's length for a recovery message.
    pub(super) fn recovery_streak(&self) -> u64 {
        let h = &self.event.history;
        let before = h.len().saturating_sub(1);
        let failing = crate::rules::run_at_end(h.get(..before).unwrap_or_default(), true) as u64;
        if !self.event.history_known || (failing as usize == before && before + 1 >= crate::event::HISTORY_CAP) {
            failing.max(self.event.occurrences_watermark)
        } else {
            failing
        }
    }

    /// Whether a closed incident the reconcile's lookup found is this failure's (a
    /// person closed it while the check still fails: the refresh rule reopens), not an
    /// earlier failure's closed by its recovery, which is no reason to wait (rule 6
    /// (ii): "none at all ... create"). This failure's: made no earlier than
    /// [`Episode::earlier_before`] or the last pass (on the host's clock; a cron check's
    /// streak, counted at 30 s a run, says little), or closed after this failure began
    /// (less half an interval for the clocks), as an earlier one left open can be.
    ///
    /// A server that gives neither time (null, or in a form not read) leaves decisions.md's
    /// own rule: a closed incident found means a person closed it.
    fn closed_in_this_failure(&self, inc: &Incident) -> bool {
        if inc.created_at <= 0 && inc.closed_at.is_none() {
            return true;
        }
        let episode = Episode::of(&self.event, self.context.now);
        let arrived = self.event.arrived(self.context.received, self.context.now);
        let ahead = self.reactio_ahead.unwrap_or(0);
        let mut made_after = episode.earlier_before(arrived);
        if let Some(last_pass) = self.last_pass() {
            made_after = made_after.min(last_pass);
        }
        let half = i64::try_from(episode.pace / 2).unwrap_or(i64::MAX);
        inc.created_at.saturating_sub(ahead) >= made_after
            || inc.closed_at.is_some_and(|c| c.saturating_sub(ahead) >= episode.started(arrived).saturating_sub(half))
    }

    pub(super) fn post(&mut self, id: u64, headline: &str) {
        let text = self.texts.message(&self.eff, Some(headline));
        let minimal = format!("{headline}<br>{}", self.texts.minimal_message());
        self.writes.push(Write::Message { id, text, minimal });
    }

    /// Whether `inc` is this event's own create: the event is one that creates when it
    /// finds nothing (an alert, a refresh), and the incident was made within
    /// [`OWN_CREATE_WINDOW_S`] of now (not after it), with the name its create carries (in full or
    /// minimal). By the host's clock against Reactio's, not the event's times: a
    /// monitored host's clock can be far off (and Sensu Go's agent stamps `timestamp`),
    /// and an earlier failure's incident must never be taken for this one's.
    ///
    /// Nor may an earlier result's: a first alert's own create is no older than
    /// [`rules::Alert::earlier_before`] (before it, an earlier failure's). Any other create (an
    /// escalation's, a refresh's) is no older than half an interval before this result
    /// came in: the results before it, which alerted, came in an interval or more earlier
    /// (a 10 s check's warning made the incident its critical must post to and broadcast).
    fn created_for_this_event(&self, inc: &Incident) -> bool {
        let floor = match &self.decision {
            Decision::Alert(alert) if alert.first_alert => alert.earlier_before,
            Decision::Alert(_) | Decision::Refresh { .. } => {
                let half = i64::try_from(self.event.pace() / 2).unwrap_or(i64::MAX);
                self.event.arrived(self.context.received, self.context.now).saturating_sub(half)
            }
            _ => return false,
        };
        // On the host's clock: Reactio's ahead by seconds moved a warning's incident,
        // made an interval before, into an escalation's half interval.
        let created = inc.created_at.saturating_sub(self.reactio_ahead.unwrap_or(0));
        // Only a name that says more than the key: the bare key (a create's minimal
        // payload after a 400, or a name template of `{{.Key}}` alone) is what every
        // result of the check would be named, and a warning's incident made moments
        // before by a replay of the spool is not its critical's create (the critical
        // would then neither post nor call).
        let name = self.texts.name(&self.eff);
        // Within the window either side of now: not one made "after now" (a server
        // whose times run hours ahead of its `Date`).
        // Or the name a server that keeps names once used had it made with: the
        // event's time after it (a second delivery of the same result).
        created >= floor
            && created.abs_diff(self.context.now) <= OWN_CREATE_WINDOW_S
            && name != self.texts.minimal_name()
            && (inc.name == name || inc.name == self.texts.own_name(&name))
    }

    pub(super) fn create(&mut self, headline: Option<String>, call: bool) {
        let notification = self.texts.notification(&self.eff);
        let (mut name, mut minimal_name) = (self.texts.name(&self.eff), self.texts.minimal_name());
        if self.name_in_use {
            name = self.texts.own_name(&name);
            minimal_name = self.texts.own_name(&minimal_name);
        }
        let body = CreateBody {
            name,
            detection: Some("internal"),
            notification_text: notification.clone(),
            notification_call: call,
            topics: self.eff.settings.topics.clone(),
            message: Some(self.texts.message(&self.eff, headline.as_deref())),
        };
        let minimal = CreateBody {
            name: minimal_name,
            detection: None,
            notification_text: notification,
            notification_call: call,
            topics: Vec::new(),
            message: None,
        };
        self.writes.push(Write::Create { body: Box::new(body), minimal: Box::new(minimal) });
    }
}
