//! What people read: incident names, broadcast texts and timeline messages for one event.

use crate::prelude::*;

use alloc::borrow::Cow;

use crate::config::Effective;
use crate::event::Event;
use crate::reactio::{MESSAGE_MAX, NAME_MAX, NOTIFICATION_MAX, OUTPUT_MAX};
use crate::severity::Severity;
use crate::template::TemplateData;
use crate::text::{
    Decimal, cap_chars, cap_html, escape_html, format_duration, format_time, one_line, truncate_with_marker,
};

/// Renders texts for one event under its effective settings.
#[derive(Clone, Debug)]
pub(crate) struct Texts {
    data: TemplateData,
    offset: i32,
}

impl Texts {
    /// Takes the event's template fields (nothing else reads them).
    pub(crate) fn new(event: &mut Event, eff: &Effective, now: i64) -> Texts {
        let mut data = core::mem::take(&mut event.fields);
        let offset = eff.global.timezone_offset_minutes;
        data.set(".Severity", event.severity().name().to_owned());
        data.set(".Time", format_time(event.executed.unwrap_or(now), offset));
        let output =
            data.get(".Check.Output").map(|o| truncate_with_marker(&printable(o), OUTPUT_MAX)).unwrap_or_default();
        data.set(".Check.Output", output);
        Texts { data, offset }
    }

    /// The incident key (the event's, in its template field `.Key`).
    fn key(&self) -> &str {
        self.data.get(".Key").unwrap_or_default()
    }

    pub(crate) fn time(&self, epoch: i64) -> String {
        format_time(epoch, self.offset)
    }

    /// The incident name: the key, then the rest of the name template, on one line,
    /// capped without ever cutting into the key.
    pub(crate) fn name(&self, eff: &Effective) -> String {
        let tail = eff.settings.name_template.render_from(1, &self.data, false);
        let tail = one_line(&tail);
        let key = self.key();
        let room = NAME_MAX.saturating_sub(crate::text::char_count(key) + 1);
        if tail.is_empty() || room == 0 {
            key.to_owned()
        } else {
            format!("{key} {}", cap_chars(&tail, room).trim_ws_end())
        }
    }

    /// The broadcast text (read aloud on calls): one line, capped.
    pub(crate) fn notification(&self, eff: &Effective) -> String {
        let text = one_line(&eff.settings.notification_text.render(&self.data, false));
        let text = if text.is_empty() { self.key().to_owned() } else { text };
        cap_chars(&text, NOTIFICATION_MAX).to_owned()
    }

    /// A timeline message: an optional headline (our words, trusted HTML) above the
    /// message template (event values HTML-escaped), capped.
    pub(crate) fn message(&self, eff: &Effective, headline: Option<&str>) -> String {
        let body = eff.settings.message_template.render(&self.data, true);
        let text = match headline {
            Some(h) => format!("{h}<br>{body}"),
            None => body,
        };
        cap_html(&text, MESSAGE_MAX).to_owned()
    }

    /// The minimal message used after a 400 that blamed a length: severity and key only.
    pub(crate) fn minimal_message(&self) -> String {
        let severity = self.data.get(".Severity").unwrap_or_default();
        format!("<b>{}</b> {}", escape_html(severity), escape_html(self.key()))
    }

    /// The minimal broadcast after a 400 that blamed its length: severity and key, which
    /// is what a phone call must still say.
    pub(crate) fn minimal_notification(&self) -> String {
        let severity = self.data.get(".Severity").unwrap_or_default();
        cap_chars(&one_line(&format!("{severity} {}", self.key())), NOTIFICATION_MAX).to_owned()
    }

    /// A broadcast text shorter than `refused` (which a 400 blamed for its length):
    /// severity and key, or, when that is no shorter, the first half of `refused`;
    /// `refused` itself when there is nothing shorter to say.
    pub(crate) fn shorter_notification(&self, refused: &str) -> String {
        let length = crate::text::char_count(refused);
        let short = self.minimal_notification();
        if crate::text::char_count(&short) < length {
            return short;
        }
        let half = cap_chars(refused, length / 2).trim_ws_end();
        if half.is_empty() { refused.to_owned() } else { half.to_owned() }
    }

    /// The minimal name after a 400 that blamed a length: the key alone.
    pub(crate) fn minimal_name(&self) -> String {
        self.key().to_owned()
    }

    /// `name` made its own for a server that keeps names once used: the event's time
    /// after it, in brackets, with `name` cut to make room but never into the key.
    pub(crate) fn own_name(&self, name: &str) -> String {
        let at = self.data.get(".Time").unwrap_or_default();
        let char_count = crate::text::char_count;
        let room = NAME_MAX.saturating_sub(char_count(at) + 3).max(char_count(self.key()));
        format!("{} ({at})", cap_chars(name, room).trim_ws_end())
    }
}

/// The output without control characters other than newlines and tabs, end trimmed;
/// borrowed when there is none to drop (the common case: one byte scan, no copy of a
/// large output before it is cut to [`OUTPUT_MAX`]).
fn printable(output: &str) -> Cow<'_, str> {
    if !has_dropped_control(output) {
        return Cow::Borrowed(output.trim_ws_end());
    }
    let mut kept = String::with_capacity(output.len());
    for c in output.chars() {
        if !c.is_control() || c == '\n' || c == '\t' {
            kept.push(c);
        }
    }
    kept.truncate(kept.trim_ws_end().len());
    Cow::Owned(kept)
}

/// Whether `text` holds a control character (Unicode `Cc`: U+0000-U+001F and
/// U+007F-U+009F) other than a newline or a tab, by its UTF-8 bytes.
fn has_dropped_control(text: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let bytes = text.as_bytes();
    // Eight bytes at a time (a check's output can be megabytes): only a word holding a
    // byte below 0x20, a 0x7f or a 0xc2 is looked at byte by byte.
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
        if (below_space || has_zero(w ^ (ONES * 0x7f)) || has_zero(w ^ (ONES * 0xc2))) && dropped_in(bytes, at, at + 8)
        {
            return true;
        }
        at += 8;
    }
    dropped_in(bytes, at, bytes.len())
}

/// Whether `bytes[from..to]` holds such a control character, byte by byte. Out of line
/// (both calls share it) and over a range of unknown length: `at..at + 8` would be
/// unrolled into eight copies of the test.
#[inline(never)]
fn dropped_in(bytes: &[u8], from: usize, to: usize) -> bool {
    (from..to).any(|i| match bytes.get(i) {
        Some(&b) => {
            (b < 0x20 && b != b'\n' && b != b'\t')
                || b == 0x7f
                || (b == 0xc2 && bytes.get(i + 1).is_some_and(|next| (0x80..=0x9f).contains(next)))
        }
        None => false,
    })
}

/// Headlines for the timeline, one per kind of event.
pub(crate) fn status_change(from: Option<Severity>, to: Severity, broadcast: bool) -> String {
    let from = crate::text::wrapped(from.map(Severity::name), " from ", "");
    let tail = if broadcast { " (escalation: broadcast again)" } else { "" };
    format!("<b>status changed</b>{from} to {to}{tail}")
}

pub(crate) fn repeat_alert() -> String {
    "<b>still failing</b> (alert threshold reached again; the incident was already open)".to_owned()
}

pub(crate) fn refresh(round: u64, max: u64, streak: u64, since: &str, broadcast: bool) -> String {
    let (round, max, streak) = (Decimal(round), Decimal(max), Decimal(streak));
    let what = if broadcast {
        format!("re-notification {round} of at most {max}")
    } else {
        "someone has it: not broadcast".to_owned()
    };
    format!("<b>still failing</b> after {streak} results in a row (since {since}); {what}")
}

pub(crate) fn recreated(since: &str) -> String {
    format!(
        "<b>still failing</b> since {since}; no incident was open for it (closed while the check kept failing, or never opened), so this one is new"
    )
}

pub(crate) fn reconciled() -> String {
    "<b>failing</b> with no open incident found (the first alert was silenced, flapping or lost); opened now".to_owned()
}

pub(crate) fn downgrade(from: Option<Severity>, to: Severity) -> String {
    let from = crate::text::wrapped(from.map(Severity::name), " from ", "");
    format!("<b>status changed</b>{from} to {to} (not an acted severity: not broadcast)")
}

/// What a recovery does with the incident it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterRecovery {
    /// Closes it.
    Close,
    /// Leaves it: a person has it (`pend`, or a manager).
    LeaveToPerson,
    /// Leaves it: `close_on_resolve` is `never`.
    LeaveBySetting,
}

pub(crate) fn recovery(streak: u64, interval: u64, force_resolve: bool, after: AfterRecovery) -> String {
    let length = if streak > 0 {
        let secs = i64::try_from(crate::arith::saturating_mul_u64(streak, interval)).unwrap_or(i64::MAX);
        format!(" after {} failing results (about {})", Decimal(streak), format_duration(secs))
    } else {
        String::new()
    };
    let forced = if force_resolve { "; resolved on request through the sensu api (force_resolve)" } else { "" };
    let close = match after {
        AfterRecovery::Close => "; closing the incident",
        AfterRecovery::LeaveToPerson => "; left open for the person handling it to close",
        AfterRecovery::LeaveBySetting => "; left open (`close_on_resolve` is `never`)",
    };
    format!("<b>recovered</b>{length}{forced}{close}")
}

pub(crate) fn duplicate_of(id: u64) -> String {
    let id = Decimal(id);
    format!("<b>duplicate</b> of incident {id} (two deliveries raced); closed automatically, continue there")
}

/// The note on a duplicate found by a later lookup (cause unknown: a race, a slow
/// create that landed late, or one opened by hand under the same name).
pub(crate) fn duplicate_found(id: u64) -> String {
    let id = Decimal(id);
    format!("<b>duplicate</b> of the older incident {id} for the same check; closed automatically, continue there")
}

/// The headline when a new failure finds the incident of an earlier one still open.
pub(crate) fn failing_again(from: Option<Severity>, to: Severity) -> String {
    let from = crate::text::wrapped(from.map(Severity::name), " from ", "");
    format!(
        "<b>failing again</b>: status changed{from} to {to}; this incident was still open from an earlier failure (broadcast again)"
    )
}

#[cfg(test)]
mod tests {
    use super::printable;
    use crate::prelude::*;

    /// What `printable` must equal: drop every `Cc` but newline and tab, trim the end.
    fn reference(output: &str) -> String {
        let kept: String = output.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
        kept.trim_ws_end().to_owned()
    }

    #[test]
    fn printable_drops_controls_and_borrows_when_there_are_none() {
        let cases = [
            "",
            "plain",
            "trailing  \n\t ",
            "tab\there\nnewline",
            "nul\u{0}in\u{1f}side",
            "del\u{7f}x",
            "c1 \u{80}\u{85}\u{9f} controls",
            "not c1: \u{a0}\u{c2}\u{a9}é日本",
            "ends with a control\u{1b}",
            "\u{1b}[31mred\u{1b}[0m  ",
        ];
        for case in cases {
            let got = printable(case);
            assert_eq!(got, reference(case), "{case:?}");
            let borrowed = matches!(got, alloc::borrow::Cow::Borrowed(_));
            assert_eq!(borrowed, !case.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{case:?}");
        }
        // Every code point in the first two UTF-8 ranges, one at a time.
        // ...and at every offset of an eight-byte word, across word boundaries too.
        for c in ('\u{0}'..='\u{7ff}').chain(['\u{2028}', '\u{feff}', '\u{10ffff}']) {
            for pad in 0..18 {
                let case = format!("{}{c}{}", "a".repeat(pad), "b".repeat(17 - pad));
                assert_eq!(printable(&case), reference(&case), "{c:?} after {pad} bytes");
            }
        }
    }
}
