//! Housekeeping after the event's own writes: the verify listing's verdict and the
//! duplicate heal (note and close each newer open incident of the key), and what
//! happens when housekeeping fails (a warning; the event stays delivered).

use crate::prelude::*;

use super::{Phase, Run, Write};
use crate::messages;
use crate::reactio::Incident;
use crate::step::Step;
use crate::text::Decimal;

impl Run {
    /// Newer `open` incidents of the key beside `keep`, nobody's (no manager): noted as
    /// duplicates and closed after the event's own writes (decisions.md, Duplicates:
    /// "the next run heals it"). Incidents a person holds are left to them.
    pub(super) fn heal_found(&mut self, keep: u64) {
        let mut newer = Vec::new();
        for i in &self.found {
            if i.id != keep && i.status == "open" && !i.has_manager {
                newer.push(i.id);
            }
        }
        for &id in &newer {
            self.queue_duplicate(id, messages::duplicate_found(keep));
        }
    }

    /// Queue the housekeeping for one duplicate: `note` on its timeline, then close it.
    fn queue_duplicate(&mut self, id: u64, note: String) {
        self.cleanup.push(Write::Message { id, minimal: note.clone(), text: note });
        self.cleanup.push(Write::Close { id });
    }

    /// Forget the step in flight (its request, or the retry it waited for).
    fn drop_in_flight(&mut self) {
        self.in_flight = None;
        self.resume = None;
        self.phase = Phase::Writes;
    }

    /// Housekeeping that failed (`reason`) is given up with a warning: the event itself
    /// was delivered. A failed verify listing ends the verify; a failed write is skipped
    /// and the rest of the housekeeping still runs.
    pub(super) fn skip_housekeeping(&mut self, reason: String) -> Step {
        let what = match (&self.phase, &self.in_flight) {
            (Phase::Verify { .. }, _) => "the check for a duplicate incident after the create",
            (_, Some(Write::Close { .. })) => "closing a duplicate incident",
            _ => "noting a duplicate incident",
        };
        self.warnings.push(format!("{what} failed ({reason}); the next run heals any duplicate left open"));
        self.drop_in_flight();
        self.next_write()
    }

    /// The host's time is up (`detail` says how): in housekeeping the event stays
    /// handled, with a warning; before it, the run failed and may be replayed.
    pub(super) fn out_of_time(&mut self, detail: String) -> Step {
        if self.housekeeping {
            self.warnings.push(format!("stopped housekeeping: {detail}; the next run heals any duplicate left open"));
            self.cleanup.clear();
            self.writes.clear();
            self.drop_in_flight();
            return self.finish_handled();
        }
        let key = self.event.key.clone();
        self.fail(true, false, super::DEADLINE_EXCEEDED, format!("gave up on {key}: {detail}"))
    }

    pub(super) fn after_verify(&mut self, open: Vec<Incident>, created: Option<u64>) -> Step {
        let key = self.event.key.clone();
        // Keep the oldest; the others, in the order listed, are noted and closed.
        let keep = crate::reactio::oldest(&open, "").map(|i| i.id).or(created);
        if let Some(keep) = keep {
            self.incident = Some(keep);
            for newer in open.iter().filter(|i| i.id != keep && !i.has_manager) {
                self.queue_duplicate(newer.id, messages::duplicate_of(keep));
            }
        }
        self.summary = match keep {
            Some(id) if Some(id) != created && created.is_some() => {
                let id = Decimal(id);
                format!("created an incident for {key}, but incident {id} was older: kept it and closed the duplicate")
            }
            other => super::created_summary(other, &key),
        };
        self.next_write()
    }
}
