//! Paged listings: which page to ask for next, what each answer adds, when a listing
//! ends, and a listing refused past its last page or for how it was asked.
//!
//! reactio-api.md names `page` and `per_page` and says a short page ends the list; it
//! does not say where pages start. So the first page is asked for without `page`
//! (every server answers its own first page to that, whether it numbers pages from 0
//! or from 1), and `page=2` after it, as a server numbering from 1 has it. Where the
//! numbering matters (a first page as full as the [`reactio::PER_PAGE`] asked for),
//! `page=1` is asked in between: a server numbering from 1 answers its first page
//! again, one numbering from 0 its second. A listing with fewer incidents than a page
//! (nearly every lookup) costs what it did when pages were numbered from 1. A server
//! that answers a later page with its first again (`LIMIT` without `OFFSET`) is asked
//! once for every page at once ([`reactio::PerPage::Wide`]).

use crate::prelude::*;

use super::{Phase, Run};
use crate::reactio::{self, Incident, MAX_PAGES, PerPage};
use crate::rules::{self, Decision, Episode};
use crate::step::{Purpose, Request, Response, Step};

/// A paged listing of one status.
#[derive(Clone, Debug)]
pub(super) struct Listing {
    pub(super) status: &'static str,
    pub(super) purpose: Purpose,
    from: Option<i64>,
    /// The page asked for, counted from 1 (the first page is asked without `page`).
    page: u32,
    /// The request out is `page=1`, asked after a full first page to learn whether
    /// the server numbers its pages from 0 or from 1.
    probe: bool,
    first_len: Option<usize>,
    /// Incidents on the page before this one.
    last_len: usize,
    /// Pages that held only incidents the listing's filters leave out: closed ones in
    /// an `open` or `pend` listing (a server that ignores the status filter lists a
    /// project's whole history), ones made and closed before `from` (a server that
    /// ignores `from` lists every closed incident). Not counted against
    /// [`MAX_PAGES`], which bounds pages of what was asked for.
    foreign_pages: u32,
    /// The request out asks for every page at once ([`PerPage::Wide`]): the server
    /// answered `page=2` with its first page again.
    wide: bool,
    /// A request of this listing failed once, and was asked again: the one for every
    /// page at once, or a `pend` listing refused.
    blipped: bool,
    pub(super) matches: Vec<Incident>,
    /// Ids seen so far (a list: pages are short and bounded).
    seen: Vec<u64>,
}

impl Listing {
    /// Boxed: the phase that holds it is replaced and matched as a pointer.
    pub(super) fn new(status: &'static str, purpose: Purpose, from: Option<i64>) -> Box<Listing> {
        Box::new(Listing {
            status,
            purpose,
            from,
            page: 1,
            probe: false,
            first_len: None,
            last_len: 0,
            foreign_pages: 0,
            wide: false,
            blipped: false,
            matches: Vec::new(),
            seen: Default::default(),
        })
    }

    /// The `page` query parameter of the request out: none for the first page (unless
    /// the server wants one: `pageless` off), `1` for the probe.
    fn page_param(&self, pageless: bool) -> Option<u32> {
        match (self.probe, self.page) {
            (true, _) => Some(1),
            (false, 1) if pageless => None,
            (false, page) => Some(page),
        }
    }
}

impl Run {
    /// The status to list after `done` when nothing matched yet, if any.
    pub(super) fn next_listing(&self, done: Purpose) -> Option<Box<Listing>> {
        match done {
            Purpose::LookupOpen => Some(Listing::new("pend", Purpose::LookupPend, None)),
            Purpose::LookupPend if self.decision == Decision::Reconcile => {
                // Closed since the failure began: its start as the streak puts it, less a
                // run and the clock slack (Reactio's clock against the host's), or the
                // last pass moved to the host's clock when that is earlier (a cron
                // check's streak, counted at 30 s a run, says little).
                let episode = Episode::of(&self.event, self.context.now);
                let arrived = self.event.arrived(self.context.received, self.context.now);
                let pace = i64::try_from(episode.pace).unwrap_or(0);
                let mut from = episode.started(arrived).saturating_sub(pace).saturating_sub(rules::CLOCK_SLACK);
                if let Some(last_pass) = self.last_pass() {
                    from = from.min(last_pass);
                }
                Some(Listing::new("close", Purpose::LookupClosed, Some(from)))
            }
            _ => None,
        }
    }

    pub(super) fn send_listing(&mut self) -> Step {
        let Some(l) = self.phase.listing_mut() else {
            return self.next_write();
        };
        let (status, page, from, purpose) = (l.status, l.page_param(self.pageless), l.from, l.purpose);
        let per_page = match (self.per_page, l.wide) {
            (false, _) => PerPage::Unasked,
            (true, false) => PerPage::Asked,
            (true, true) => PerPage::Wide,
        };
        Step::Request(self.api().list(status, page, from, purpose, per_page))
    }

    // `iter().any`: `<[u64]>::contains` is an unrolled search of its own in the wasm builds.
    #[allow(clippy::manual_contains)]
    pub(super) fn on_page(&mut self, request: &Request, response: &Response) -> Step {
        // Reactio's clock, from the answer's `Date`: its `created_at` read on the host's.
        if let Some(date) = response.header("date") {
            self.reactio_ahead = crate::dates::parse_http_date(date).map(|at| at.saturating_sub(self.context.now));
        }
        let status = self.phase.listing_mut().map_or("", |l| l.status);
        // 204: no content, so no incidents.
        let parsed =
            if response.status == 204 { Some((Vec::new(), 0)) } else { reactio::parse_list(&response.body, status) };
        let Some((incidents, count)) = parsed else {
            let excerpt = crate::text::cap_chars(&crate::text::one_line(&response.body), 60).to_owned();
            let reason = request.scrub_echo(format!(
                "lookup: reactio answered {} with a body that is not a json list: \"{excerpt}\"",
                u32::from(response.status) // no u16 formatting (see reactio::classify_raw)
            ));
            return self.retry(reason, None, request, true);
        };
        let key = self.event.key.clone();
        let Some(listing) = self.phase.listing_mut() else {
            return self.next_write();
        };
        // A server that ignores `page` repeats itself: a page with nothing new ends the list.
        let mut fresh = 0;
        let mut foreign = 0;
        for incident in incidents {
            if listing.seen.iter().any(|&id| id == incident.id) {
                continue;
            }
            listing.seen.push(incident.id);
            fresh += 1;
            // A server that ignores the status filter lists closed incidents in the open and
            // pending listings too: those are no open incident.
            let wanted = listing.status == "close" || !incident.is_closed();
            // One that ignores `from` lists closed incidents of any age (still matched:
            // `from` may be read on either time).
            let before = |at: i64| listing.from.is_some_and(|from| at < from);
            foreign += usize::from(!wanted || before(incident.created_at) && incident.closed_at.is_none_or(before));
            if incident.matches(&key) && wanted {
                listing.matches.push(incident);
            }
        }
        let probed = core::mem::take(&mut listing.probe);
        if probed && count > 0 && fresh * 2 < count {
            // `page=1` answered (mostly: incidents made meanwhile shift a page) the
            // first page again: pages are numbered from 1, and `page=2` is next.
            listing.page = 2;
            return self.send_listing();
        }
        let repeated = count > 0 && fresh == 0;
        if repeated && listing.page > 1 && count >= reactio::PER_PAGE && self.per_page && !listing.wide {
            // A later page as full as asked for and nothing new: a server that answers
            // every page as its first (`LIMIT` without `OFFSET`) would hide every
            // incident past it, and a second incident would open with a call. Once:
            // every page at once.
            listing.wide = true;
            listing.page = 1;
            return self.send_listing();
        }
        let first_len = *listing.first_len.get_or_insert(count);
        let last_page = count == 0 || count < first_len || repeated || listing.wide;
        if fresh > 0 && foreign == fresh {
            listing.foreign_pages += 1;
        }
        if !last_page {
            // At most ten times the bound in all: the run's deadline is the other.
            if listing.page >= MAX_PAGES + listing.foreign_pages.min(9 * MAX_PAGES) {
                if listing.matches.is_empty() {
                    let status = listing.status;
                    if self.housekeeping {
                        return self.skip_housekeeping(format!("more than {MAX_PAGES} pages of `{status}` incidents"));
                    }
                    return self.fail(
                        true,
                        false,
                        "lookup_overflow",
                        format!("lookup: more than {MAX_PAGES} pages of `{status}` incidents and none named `{key}`; gave up rather than guess \"none\"; close the ones no longer needed in reactio"),
                    );
                }
            } else {
                // After a first page as full as asked for, `page=1` tells how the server
                // numbers pages; else (or after it: numbered from 0) the next page.
                listing.probe =
                    !probed && listing.page == 1 && self.pageless && self.per_page && count >= reactio::PER_PAGE;
                if !listing.probe {
                    listing.page += 1;
                }
                listing.last_len = count;
                return self.send_listing();
            }
        }
        self.listing_done()
    }

    /// The current listing is complete: the next status, or what the lookup found.
    pub(super) fn listing_done(&mut self) -> Step {
        match core::mem::replace(&mut self.phase, Phase::Writes) {
            Phase::Lookup { mut current } => {
                self.found.append(&mut current.matches);
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

    /// The request for every page at once ([`Listing::wide`]) failed in a way a retry
    /// might mend (no answer in time, a 5xx, a body cut short): retried, it would fail
    /// the same way in every run, and no alert of the project would go out. The list
    /// stands as read, as for a refusal ([`Run::listing_refused`]), and a warning says
    /// what may be missing. `None`: the request out is no such one.
    pub(super) fn wide_failed(&mut self, reason: &str, retry_after_ms: Option<u64>, timed_out: bool) -> Option<Step> {
        let current = self.phase.listing_mut()?;
        if !current.wide {
            return None;
        }
        // One blip that asks for a second at most (a 429 or 503 with `Retry-After`, a
        // reset, a 5xx) is asked again once: the wide request is the fourth listing in
        // moments. Not a timeout, which would cost the run a second request timeout.
        if !timed_out && !core::mem::replace(&mut current.blipped, true) && retry_after_ms.is_none_or(|ms| ms <= 1000) {
            return None;
        }
        self.warnings.push(format!(
            "{reason}; every page at once was asked for after a page came again (a server that ignores `page`): the listing stands as read, and an incident past its first page may not be found"
        ));
        Some(self.listing_done())
    }

    /// A listing page refused for good (a 4xx that neither the key nor a retry
    /// explains: [`crate::reactio::classify`]'s `Fatal`). After a page shorter than the
    /// [`crate::reactio::PER_PAGE`] asked for, it ends the list: a server that knows
    /// only the pages it has calls the one past the last invalid (Django REST
    /// framework's 404 "Invalid page"). After a full page it says nothing of the end
    /// (a proxy's blip, a page 2 of 50 and more): retried, never "none", which would
    /// open a second incident with a call. A refused `page=1` probe says nothing of the
    /// numbering: pages are taken as numbered from 1. A first page that asked for
    /// `per_page` and got 400 or 422 (a server whose pages are smaller) is asked again
    /// without it, and one that still gets them with `page=1` (a server that wants a
    /// page named), with and without `per_page`; every later listing of the run is
    /// asked as the first that was answered. A `pend` listing refused twice (its open
    /// listing was answered as asked) is taken as none: the server knows no taken
    /// state. `None`: classify it as any answer.
    pub(super) fn listing_refused(&mut self, request: &Request, response: &Response) -> Option<Step> {
        let status = u32::from(response.status); // see classify_raw: no u16 formatting
        // A redirect is said as such.
        if !(400..500).contains(&status) {
            return None;
        }
        let current = self.phase.listing_mut()?;
        if current.wide {
            // Every page at once refused (a server that caps `per_page`): the list
            // stands as it was.
            return Some(self.listing_done());
        }
        if core::mem::take(&mut current.probe) {
            current.page = 2;
            return Some(self.send_listing());
        }
        if current.page > 1 {
            if self.per_page && current.last_len < crate::reactio::PER_PAGE {
                return Some(self.listing_done());
            }
            let reason = format!("lookup: reactio answered {status} for page {} after a full page", current.page);
            return Some(self.retry(reason, None, request, true));
        }
        if current.purpose == Purpose::LookupPend {
            // The open listing before it was answered as this one is asked: what is
            // refused (400, 404, 405, 410, ...) is `status=pend`, and a server that
            // knows no taken state has no taken incidents (before: every alert
            // refused, and dead-lettered). Asked once more first: one refusal may be
            // a proxy's blip, and a taken incident missed would be opened again.
            if !core::mem::replace(&mut current.blipped, true) {
                let reason = format!("lookup (pend): reactio answered {status}");
                return Some(self.retry(reason, None, request, false));
            }
            self.warnings.push(format!(
                "reactio refused the listing of taken (`pend`) incidents with {status}: taken as none, since its open ones were listed"
            ));
            return Some(self.listing_done());
        }
        if !matches!(status, 400 | 422) {
            return None;
        }
        // Asked in turn: without `page`, with and without `per_page`; then `page=1`,
        // with and without it.
        match (self.pageless, self.per_page) {
            (_, true) => self.per_page = false,
            (true, false) => (self.pageless, self.per_page) = (false, true),
            (false, false) => return None,
        }
        Some(self.send_listing())
    }
}
