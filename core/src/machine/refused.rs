//! Final refusals (a 4xx that a retry cannot fix): a rejected key, a wrong address,
//! the one retry with the minimal payload after a 400 that blamed a field it mends, a
//! refused timeline message that the event's broadcast or close does not wait on, a
//! close refused because the incident is closed already, a create refused for a name
//! in use (a listing refused past its last page or for how it was asked:
//! [`super::listing`]).

use crate::prelude::*;

use super::{Run, Write};
use crate::step::{Method, Purpose, Request, Response, Step};

impl Run {
    /// The API key was refused: a configuration problem, said with what to check.
    pub(super) fn auth_refused(&mut self, detail: &str) -> Step {
        let check = match self.eff.settings.profile.as_deref() {
            Some(p) => format!(
                "check profile `{p}`'s key (`profiles.{p}.api_key` or `api_key_file`; without them, the default `api_key`), and that its `organization` (or `endpoint`)"
            ),
            None => "check `api_key` (or `api_key_file`), and that `organization` (or `endpoint`)".to_owned(),
        };
        self.fail(
            false,
            true,
            "auth_failed",
            format!("reactio refused the api key {detail}; {check} names the project the key belongs to"),
        )
    }

    /// A final refusal of `request`: retried once minimal where a 400, 413 or 422 blamed
    /// a length, or without its call where the call was refused (`length_fields`), given
    /// up for a timeline message with writes after it, else the run fails as rejected.
    pub(super) fn refused(
        &mut self,
        request: &Request,
        response: &Response,
        mut reason: String,
        length_fields: &[String],
    ) -> Step {
        // Listings and the create have no id in their path: their 404 is a wrong address.
        if response.status == 404 && (request.method == Method::Get || request.purpose == Purpose::Create) {
            let check = match self.eff.settings.profile.as_deref() {
                Some(p) => format!(
                    "profile `{p}`'s `endpoint` (and its path) and `organization` (in `profiles.{p}`; without them, the default ones)"
                ),
                None => "`endpoint` (and its path) and `organization`".to_owned(),
            };
            let path = crate::text::before(&request.path, "?");
            let (scheme, authority) = (&request.scheme, &request.authority);
            let why = format!("{reason}; the api is not at {scheme}://{authority}{path}: check {check}");
            return self.fail(false, false, "rejected", why);
        }
        if !length_fields.is_empty()
            && !self.minimal_used
            && let Some(minimal) = self.minimal_retry(length_fields, &reason)
        {
            self.minimal_used = true;
            return minimal;
        }
        if let Some(left) = self.skip_refused_message() {
            self.warnings
                .push(format!("{reason}; the timeline message was not posted, and the {left} went ahead without it"));
            self.summary.push_str(" (its timeline message was refused)");
            return self.next_write();
        }
        if request.purpose == Purpose::Create && crate::reactio::name_in_use(response) {
            reason.push_str(" with the event's time in its name too: rename the incident of that name in reactio");
        }
        if request.purpose == Purpose::Close {
            // Its recovery is on the timeline already; people must know who closes it.
            reason.push_str("; the incident stays open: close it in reactio");
        }
        self.fail(false, false, "rejected", reason)
    }

    /// A close answered 409: the incident is taken as closed already (by a person,
    /// since the lookup), said in a warning, and the run goes on; nothing is kept to
    /// send again.
    pub(super) fn closed_already(&mut self, reason: &str) -> Step {
        self.in_flight = None;
        self.warnings.push(format!("{reason}; taken as closed already: if it is still open, close it in reactio"));
        if !self.housekeeping {
            // Not closed by this run: the 409 may say another conflict (a lock).
            self.summary = crate::text::replace(&self.summary, "recovered: closed", "recovered: posted to");
            self.summary.push_str(" (its close was answered 409: taken as closed already)");
        }
        self.next_write()
    }

    /// A create answered 409, or refused for its name in use in Reactio's error shape
    /// (a 400 or 422 naming `name` as `taken`: [`crate::reactio::name_in_use`]): the
    /// server has an incident of that name, which the lookup did not find (one another
    /// run made since, or a closed one whose name a server keeps). The lookup runs
    /// again: an incident it finds is acted on as found; when it finds none, the create
    /// goes once more with a name of its own, and a second such refusal is final (after
    /// the minimal payload's one try, where it blamed the name).
    pub(super) fn name_taken(&mut self, reason: String) -> Step {
        self.in_flight = None;
        self.name_in_use = true;
        self.warnings
            .push(format!("{reason}; looked it up again (with none open, created with the event's time in its name)"));
        self.begin_lookup()
    }

    /// The in-flight write again with its minimal payload, if it has one that differs:
    /// a create keeps the key as its name, its broadcast and call, and drops the
    /// message, topics and the deprecated `detection`; a message keeps its headline,
    /// severity and key; a broadcast says severity and key, or half the refused text
    /// when that is no shorter. A broadcast text is cut down only where the 400 blamed it
    /// (`length_fields`; `*`: a length, no field named; `body`: a 413): the text people
    /// chose is what a phone call reads aloud. A write refused for its call
    /// (`notification_call`) goes again whole, without the call. The warning says which.
    fn minimal_retry(&mut self, length_fields: &[String], reason: &str) -> Option<Step> {
        let blamed = |field: &str| length_fields.iter().any(|f| f == field || f == "*");
        // Only where named: a length refused is no reason to ring nobody. The same
        // write goes again without the call (a create keeps its name and message).
        let no_call = length_fields.iter().any(|f| f == "notification_call");
        let write = match self.in_flight.take()? {
            Write::Create { mut body, minimal } if no_call => {
                body.notification_call = false;
                Write::Create { body, minimal }
            }
            Write::Create { mut minimal, .. } => {
                if blamed("notification_text") {
                    minimal.notification_text = self.texts.shorter_notification(&minimal.notification_text);
                }
                Write::Create { body: minimal.clone(), minimal }
            }
            Write::Message { id, minimal, text } if text != minimal => {
                Write::Message { id, text: minimal.clone(), minimal }
            }
            Write::Notify { id, text, call } if no_call && call => Write::Notify { id, text, call: false },
            Write::Notify { id, text, call } => {
                let short = self.texts.shorter_notification(&text);
                if short == text {
                    self.in_flight = Some(Write::Notify { id, text, call });
                    return None;
                }
                Write::Notify { id, text: short, call }
            }
            other => {
                self.in_flight = Some(other);
                return None;
            }
        };
        let how = if no_call { "without the phone call" } else { "with the minimal payload" };
        self.warnings.push(format!("{reason}; retried once {how}"));
        Some(self.send_write(write))
    }

    /// A timeline message refused for good while the event's broadcast or close still
    /// waits: those are what the people on call need, so the message is given up and
    /// they go ahead (a recovery closes its incident, an escalation still rings).
    /// Returns what goes ahead; `None` when the message was the event's last write.
    fn skip_refused_message(&mut self) -> Option<&'static str> {
        if !matches!(self.in_flight, Some(Write::Message { .. })) {
            return None;
        }
        let left = self.writes.iter().find_map(|w| match w {
            Write::Notify { call: true, .. } => Some("broadcast and call"),
            Write::Notify { .. } => Some("broadcast"),
            Write::Close { .. } => Some("close"),
            Write::Create { .. } | Write::Message { .. } => None,
        })?;
        self.in_flight = None;
        Some(left)
    }
}
