//! Sensu events: JSON (Classic 1.x or Go 5.x/6.x, detected) parsed once into [`Event`].

use crate::prelude::*;

mod repair;
#[cfg(any(not(target_family = "wasm"), feature = "sparse-events"))]
mod sparse;
#[cfg(all(target_family = "wasm", not(feature = "sparse-events")))]
mod whole;
mod wire;

use serde_json::{Map, Value};

use crate::config::{Origin, OverrideLayer, Overrides};
use crate::severity::Severity;
use crate::template::TemplateData;
use crate::text::epoch_seconds;
use wire::{Obj, describe, describe_tree, history_entry, is_null, join, unknown_shape};

/// The annotation prefix for per-event overrides (sensu-plugin-sdk convention).
pub const ANNOTATION_PREFIX: &str = "sensu.io/plugins/sensu-reactio-handler/config/";

/// Sensu keeps at most this many history entries.
pub(crate) const HISTORY_CAP: usize = 21;

/// A reading of the event that may fail. Boxed inside this module: each `?` then moves
/// one pointer, not the whole error (~1.5 KB less code in the wasm builds); the box is
/// opened once, by [`Event::parse`].
type Failed<T> = Result<T, Box<InputError>>;

/// Why an event could not be understood (exit 65). Messages are lowercase, say
/// where and what was expected, and never quote more than a short prefix of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// Nothing at all (no bytes, or only white space).
    Empty,
    /// Not JSON at all.
    NotJson {
        /// serde_json's description, with line and column.
        detail: String,
    },
    /// JSON, but not an object.
    NotAnObject {
        /// What it was.
        got: String,
    },
    /// An object, but neither a Classic nor a Go event.
    UnknownShape {
        /// The top-level keys seen (at most 10).
        keys: Vec<String>,
    },
    /// A required field is missing or empty.
    Missing {
        /// Dotted path.
        path: String,
        /// Why it matters.
        hint: &'static str,
    },
    /// A field has the wrong type.
    WrongType {
        /// Dotted path.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        got: String,
    },
}

impl core::fmt::Display for InputError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InputError::Empty => f.write_str(
                "the event is empty (no bytes, or only white space): sensu pipes one json object on stdin; check that the handler is a `pipe` handler given the event",
            ),
            InputError::NotJson { detail } => {
                write!(f, "the event is not valid json: {detail}; sensu pipes one json object on stdin")
            }
            InputError::NotAnObject { got } => write!(f, "the event must be a json object, got {got}"),
            InputError::UnknownShape { keys } => {
                f.write_str("not a sensu event: expected `client` and `check` (sensu classic) or `entity` and `check` (sensu go), got keys [")?;
                // Written one by one: `join` over `String`s is code of its own in the wasm builds.
                for (i, key) in keys.iter().enumerate() {
                    f.write_str(if i == 0 { "" } else { ", " })?;
                    f.write_str(key)?;
                }
                f.write_str("]")
            }
            InputError::Missing { path, hint } => write!(f, "the event has no `{path}` ({hint})"),
            InputError::WrongType { path, expected, got } => {
                write!(f, "`{path}` in the event must be {expected}, got {got}")
            }
        }
    }
}

impl core::error::Error for InputError {}

impl InputError {
    /// A boxed [`InputError::Missing`], made in one place for its several readers.
    #[inline(never)]
    pub(crate) fn missing(path: &str, hint: &'static str) -> Box<InputError> {
        Box::new(InputError::Missing { path: path.to_owned(), hint })
    }
}

/// Which Sensu sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// Sensu Classic 1.x (has `action`).
    Classic,
    /// Sensu Go 5.x/6.x.
    Go,
}

/// Sensu Classic's `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Resolve,
    Flapping,
}

/// One event, validated; the rules see only this.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    pub(crate) flavour: Flavour,
    /// The incident identity.
    pub(crate) key: String,
    pub(crate) status: i64,
    /// Statuses, oldest first, ending with the current one, at most 21.
    pub(crate) history: Vec<i64>,
    /// The event carried a history (else the streak is Sensu's `occurrences`).
    pub(crate) history_known: bool,
    /// Sensu's own count of results with this status in a row (at least 1).
    pub(crate) occurrences: u64,
    pub(crate) occurrences_watermark: u64,
    pub(crate) action: Option<Action>,
    pub(crate) silenced: bool,
    pub(crate) flapping: bool,
    /// `check.alert` (default true).
    pub(crate) alert: bool,
    /// Seconds between runs as configured on the check (None: absent, 0 or cron).
    pub(crate) interval: Option<u64>,
    /// Seconds between runs as the history's times show them (Sensu Go's entries carry
    /// `executed`): the mean gap, for a check without `interval` (a cron check, results
    /// pushed to the agent). See [`Event::pace`].
    pub(crate) history_pace: Option<u64>,
    /// When this result was produced, epoch seconds (the monitored host's clock).
    pub(crate) executed: Option<i64>,
    /// The event's `timestamp`: when Sensu made the event, epoch seconds (Sensu
    /// Classic: its server's clock).
    pub(crate) timestamp: Option<i64>,
    /// When the check last passed, epoch seconds.
    pub(crate) last_ok: Option<i64>,
    pub(crate) force_resolve: bool,
    /// Per-event override layers, highest precedence first.
    pub(crate) overrides: Overrides,
    /// Values for templates (without `.Severity` and `.Time`, set by the rules).
    pub(crate) fields: TemplateData,
}

impl Event {
    /// When this result came in, by the clock nearest Reactio's: when the host received
    /// it (`received`, the handler's clock), else the event's `timestamp` (Sensu
    /// Classic's server; Sensu Go's agent), else `executed` (the monitored host's, which
    /// may be far off), else `now`. What the episode's start is reckoned back from when
    /// it is set against Reactio's times (an incident's `created_at`).
    pub(crate) fn arrived(&self, received: Option<i64>, now: i64) -> i64 {
        received.or(self.timestamp).or(self.executed).unwrap_or(now)
    }

    /// Seconds between this check's runs, for reckoning times (when the failure began,
    /// how far apart two results came): the check's `interval`, else the pace its
    /// history's times show, else the 30 s sensu-plugin assumed. Counting runs (the
    /// refresh and reconcile rules) keeps decisions.md's interval (30 s when absent).
    pub(crate) fn pace(&self) -> u64 {
        self.interval.or(self.history_pace).unwrap_or(crate::rules::DEFAULT_INTERVAL)
    }

    pub(crate) fn severity(&self) -> Severity {
        Severity::from_status(self.status)
    }

    /// The status before this result, if history shows one.
    pub(crate) fn previous_status(&self) -> Option<i64> {
        self.history.len().checked_sub(2).and_then(|i| self.history.get(i)).copied()
    }
}

/// What a host needs to know about an event without planning it (spool bookkeeping).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EventSummary {
    /// The incident key.
    pub key: String,
    /// True for a recovery (it supersedes spooled alerts for the same key).
    pub recovery: bool,
    /// True for a failure (a non-zero status): an alert, which supersedes spooled
    /// recoveries for the same key. A passing result that is not a recovery (ok after
    /// ok) is neither.
    pub failure: bool,
}

/// Parse an event just far enough to know its key and whether it is a recovery.
pub fn inspect(bytes: &[u8]) -> Result<EventSummary, InputError> {
    let (event, _) = Event::parse(bytes).map_err(|e| *e)?;
    Ok(EventSummary { recovery: crate::rules::is_recovery(&event), failure: event.status != 0, key: event.key })
}

impl Event {
    /// Parse JSON bytes. Duplicate keys: the last wins (as Go and Ruby do). JSON whose
    /// text is broken (not UTF-8, lone surrogate escapes) is repaired and parsed again:
    /// the event, and the warnings to give (it was repaired; overrides it carries in
    /// the wrong shape were ignored). The error stays boxed until the caller opens
    /// it: each unboxing and `?` in between moved it, and the event, again.
    pub(crate) fn parse(bytes: &[u8]) -> Failed<(Box<Event>, Vec<String>)> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(InputError::Empty.into());
        }
        let mut warnings = Vec::new();
        let event = match Event::parse_exact(bytes, &mut warnings) {
            Err(error) if matches!(*error, InputError::NotJson { .. }) => match repair::repair(bytes) {
                Some((fixed, what)) => {
                    // The repair's warning first, then the repaired event's own.
                    warnings = vec![format!("the event {what}")];
                    // Still refused once repaired: what stops the repaired text is the
                    // problem to report, not the bytes or escapes the repair replaced.
                    Event::parse_exact(&fixed, &mut warnings)?
                }
                None => return Err(error),
            },
            other => other?,
        };
        Ok((event, warnings))
    }

    fn parse_exact(bytes: &[u8], warnings: &mut Vec<String>) -> Failed<Box<Event>> {
        let tree = wire::parse(bytes).map_err(|detail| InputError::NotJson { detail })?;
        let Some(root) = Obj::root(&tree) else {
            return Err(InputError::NotAnObject { got: describe_tree(&tree) }.into());
        };
        let check = match root.obj("check", "check")? {
            Some(check) => check,
            None if root.node("metrics").is_some() => {
                return Err(InputError::missing(
                    "check",
                    "it is a metrics-only event; the handler acts on check results, and sensu go's \
                     built-in `is_incident` filter in front of it drops metrics-only events",
                ));
            }
            None if root.node("entity").is_some() || root.node("client").is_some() => {
                return Err(InputError::missing("check", "the check result is what the handler acts on"));
            }
            None => return Err(unknown_shape(&root, bytes).into()),
        };
        if let Some(entity) = root.obj("entity", "entity")? {
            parse_go(root, entity, check, warnings)
        } else if let Some(client) = root.obj("client", "client")? {
            parse_classic(root, client, check, warnings)
        } else if check.node("metadata").is_some() {
            Err(InputError::missing("entity", "a sensu go event names its entity"))
        } else {
            Err(unknown_shape(&root, bytes).into())
        }
    }
}

/// History statuses, normalised: the last entry is the current status (appended
/// when the history lags behind), at most [`HISTORY_CAP`] entries.
fn history(check: &Obj<'_>, status: i64) -> Failed<History> {
    let mut statuses = Vec::new();
    let mut last_executed = None;
    let mut times = Times::default();
    if let Some(entries) = check.array("history")? {
        for (i, entry) in entries.iter().enumerate() {
            if is_null(entry) {
                continue;
            }
            let (s, executed) = history_entry(entry, || format!("{}[{i}]", join(check.path, "history")))?;
            times.note(statuses.len(), time(executed));
            statuses.push(s);
            last_executed = executed.or(last_executed);
        }
    }
    let known = !statuses.is_empty();
    if statuses.last() != Some(&status) {
        statuses.push(status);
    }
    let excess = statuses.len().saturating_sub(HISTORY_CAP);
    if excess > 0 {
        // A copy of the kept tail: smaller code in the wasm builds than `Vec::drain`.
        statuses = statuses.get(excess..).unwrap_or_default().to_vec();
    }
    Ok(History { statuses, known, last_executed, pace: times.pace() })
}

/// What [`history`] reads from `check.history`.
struct History {
    statuses: Vec<i64>,
    known: bool,
    last_executed: Option<i64>,
    /// Seconds between runs, as the entries' times show it (see [`Event::pace`]).
    pace: Option<u64>,
}

/// The first and last history entries with a time (Sensu Go's `executed`), by their
/// place among the statuses, for the pace of the runs between them.
#[derive(Default)]
struct Times {
    first: Option<(usize, i64)>,
    last: Option<(usize, i64)>,
    /// Every time was later than the one before it.
    ordered: bool,
}

impl Times {
    fn note(&mut self, at: usize, executed: Option<i64>) {
        let Some(t) = executed else { return };
        match self.last {
            None => {
                self.first = Some((at, t));
                self.ordered = true;
            }
            Some((_, previous)) => self.ordered &= t > previous,
        }
        self.last = Some((at, t));
    }

    /// The mean gap between the first and last timed entries, rounded, when they are
    /// two or more in order; else nothing (Classic's history has no times).
    fn pace(&self) -> Option<u64> {
        let ((i, t0), (j, t1)) = (self.first?, self.last?);
        let runs = u64::try_from(j.checked_sub(i).filter(|r| *r > 0)?).ok()?;
        let span = u64::try_from(t1.checked_sub(t0)?).ok()?;
        self.ordered.then_some((span + runs / 2) / runs).filter(|p| *p > 0)
    }
}

fn positive(v: Option<i64>) -> Option<u64> {
    v.and_then(|i| u64::try_from(i).ok()).filter(|i| *i > 0)
}

#[inline(never)] // one copy: read_common alone calls it five times
fn time(v: Option<i64>) -> Option<i64> {
    v.filter(|t| *t > 0).map(epoch_seconds)
}

/// Per-event overrides: an object of settings. Anything else there is a mistake in the
/// check's (or entity's) definition, not in the result: it is ignored with a warning,
/// and the event goes on with the configured settings (an alert is never lost over an
/// override).
fn override_map<'a>(obj: &Obj<'a>, key: &str, warnings: &mut Vec<String>) -> Option<&'a Map<String, Value>> {
    obj.map(key)
        .inspect_err(|e| {
            warnings.push(format!("{e}; ignored, so the configured settings apply (fix it in the definition)"))
        })
        .ok()
        .flatten()
}

fn annotation_layer(metadata: &Obj<'_>, origin: Origin, warnings: &mut Vec<String>) -> Option<OverrideLayer> {
    let annotations = override_map(metadata, "annotations", warnings)?;
    // One meant for this handler under another prefix would be dropped without a word.
    for (name, _) in annotations.iter() {
        if !name.starts_with(ANNOTATION_PREFIX) && crate::text::find(name, "reactio").is_some() {
            warnings
                .push(format!("annotation `{name}` is not read: this handler reads `{ANNOTATION_PREFIX}<setting>`"));
        }
    }
    let mut values = Map::new();
    for (name, value) in annotations.iter() {
        if let Some(name) = name.strip_prefix(ANNOTATION_PREFIX) {
            values.insert(name.to_owned(), crate::text::copy_json(value));
        }
    }
    (!values.is_empty()).then_some(OverrideLayer { origin, values })
}

/// The incident key: the names joined with `/`, in one allocation.
fn incident_key(names: &[&str]) -> String {
    let mut key = String::with_capacity(names.iter().map(|n| n.len() + 1).sum());
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            key.push('/');
        }
        key.push_str(name);
    }
    key
}

/// The template fields (`.Check.Output` lives only here).
fn fields(names: [String; 4], output: String, event: &Event) -> TemplateData {
    let [key, entity, namespace, check] = names;
    let mut data = TemplateData::for_fields();
    data.set(".Key", key);
    data.set(".Entity.Name", entity);
    data.set(".Entity.Namespace", namespace);
    data.set(".Check.Name", check);
    data.set(".Check.Output", output);
    data.set(".Check.Status", crate::text::int(event.status));
    data.set(".Check.Occurrences", crate::text::uint(event.occurrences));
    data.set(".Check.Interval", event.interval.map(crate::text::uint).unwrap_or_default());
    data
}

fn required_status(check: &Obj<'_>) -> Failed<i64> {
    check
        .int("status")?
        .ok_or_else(|| InputError::missing(&join(check.path, "status"), "the result's exit status decides everything"))
}

impl Event {
    /// An event of these statuses, the rest of it at its defaults until read. Boxed
    /// from the start: the readers' and the plan's results move a pointer, not the event.
    fn new(flavour: Flavour, status: i64, history: Vec<i64>, history_known: bool, overrides: Overrides) -> Box<Event> {
        Box::new(Event {
            flavour,
            status,
            history,
            history_known,
            occurrences: 1,
            occurrences_watermark: 1,
            action: None,
            silenced: false,
            flapping: false,
            alert: true,
            interval: None,
            history_pace: None,
            executed: None,
            timestamp: None,
            last_ok: None,
            force_resolve: false,
            overrides,
            fields: TemplateData::default(),
            key: String::new(),
        })
    }
}

/// What both flavours read alike, in the order a bad value is reported: `at` holds the
/// counts, the silence (member `silenced`) and the last pass (Classic: the event; Go:
/// the check). `executed` falls back on the last history entry's, `issued`, then the
/// event's `timestamp` (read once, for both fields).
fn read_common(
    event: &mut Event,
    at: &Obj<'_>,
    check: &Obj<'_>,
    root: &Obj<'_>,
    silenced: &str,
    history_executed: Option<i64>,
) -> Failed<()> {
    event.occurrences = positive(at.int("occurrences")?).unwrap_or(1);
    event.occurrences_watermark = positive(at.int("occurrences_watermark")?).unwrap_or(1);
    event.silenced = at.boolean(silenced)?.unwrap_or(false);
    event.alert = check.boolean("alert")?.unwrap_or(true);
    event.interval = positive(check.int("interval")?);
    let executed = time(check.int("executed")?).or(time(history_executed)).or(time(check.int("issued")?));
    event.timestamp = time(root.int("timestamp")?);
    event.executed = executed.or(event.timestamp);
    event.last_ok = time(at.int("last_ok")?);
    Ok(())
}

fn parse_classic(root: Obj<'_>, client: Obj<'_>, check: Obj<'_>, warnings: &mut Vec<String>) -> Failed<Box<Event>> {
    let entity = client.name("name")?;
    let check_name = check.name("name")?;
    let status = required_status(&check)?;
    let History { statuses: history, known: history_known, .. } = history(&check, status)?;
    let action = match root.string("action")? {
        None => None,
        Some("create") => Some(Action::Create),
        Some("resolve") => Some(Action::Resolve),
        Some("flapping") => Some(Action::Flapping),
        Some(other) => {
            return Err(InputError::WrongType {
                path: "action".into(),
                expected: "one of `create`, `resolve`, `flapping`",
                got: describe(&Value::String(other.to_owned())),
            }
            .into());
        }
    };
    let mut overrides = Vec::new();
    if let Some(reactio) = override_map(&check, "reactio", warnings) {
        overrides.push(OverrideLayer { origin: Origin::CheckReactio, values: crate::text::copy_map(reactio) });
    }
    let mut attributes = Map::new();
    for &name in &["occurrences", "refresh"] {
        if let Some(value) = check.get(name) {
            attributes.insert(name.to_owned(), crate::text::copy_json(value));
        }
    }
    if !attributes.is_empty() {
        overrides.push(OverrideLayer { origin: Origin::CheckAttribute, values: attributes });
    }
    let key = incident_key(&[&entity, &check_name]);
    let output = check.text("output")?.unwrap_or_default();
    let mut event = Event::new(Flavour::Classic, status, history, history_known, overrides);
    event.action = action;
    event.flapping = action == Some(Action::Flapping);
    read_common(&mut event, &root, &check, &root, "silenced", None)?;
    event.force_resolve = check.boolean("force_resolve")?.unwrap_or(false);
    event.fields = fields([key.clone(), entity, String::new(), check_name], output, &event);
    event.key = key;
    Ok(event)
}

fn parse_go(root: Obj<'_>, entity: Obj<'_>, check: Obj<'_>, warnings: &mut Vec<String>) -> Failed<Box<Event>> {
    let entity_meta = entity.obj("metadata", "entity.metadata")?;
    let check_meta = check.obj("metadata", "check.metadata")?;
    let Some(entity_meta) = entity_meta else {
        return Err(InputError::missing("entity.metadata", "it holds the entity's name"));
    };
    let Some(check_meta) = check_meta else {
        return Err(InputError::missing("check.metadata", "it holds the check's name"));
    };
    let namespace = match entity_meta.string("namespace")?.or(check_meta.string("namespace")?) {
        Some(ns) if !ns.trim_ws().is_empty() => ns.trim_ws().to_owned(),
        _ => "default".to_owned(),
    };
    let entity_name = match check.string("proxy_entity_name")? {
        Some(proxy) if !proxy.trim_ws().is_empty() => proxy.trim_ws().to_owned(),
        _ => entity_meta.name("name")?,
    };
    let check_name = check_meta.name("name")?;
    let status = required_status(&check)?;
    let History { statuses: history, known: history_known, last_executed: history_executed, pace } =
        history(&check, status)?;
    let state = check.string("state")?;
    // Check annotations win over entity annotations.
    let mut overrides = Vec::new();
    for &(meta, origin) in &[(&check_meta, Origin::CheckAnnotation), (&entity_meta, Origin::EntityAnnotation)] {
        if let Some(layer) = annotation_layer(meta, origin, warnings) {
            overrides.push(layer);
        }
    }
    let key = incident_key(&[&namespace, &entity_name, &check_name]);
    let output = check.text("output")?.unwrap_or_default();
    let mut event = Event::new(Flavour::Go, status, history, history_known, overrides);
    event.flapping = state == Some("flapping");
    read_common(&mut event, &check, &check, &root, "is_silenced", history_executed)?;
    event.history_pace = pace;
    event.fields = fields([key.clone(), entity_name, namespace, check_name], output, &event);
    event.key = key;
    Ok(event)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::prelude::*;

    fn summary(status: i64, history: &str, action: &str) -> (bool, bool) {
        let event = format!(
            r#"{{"client":{{"name":"a"}},"check":{{"name":"b","status":{status},"history":{history}}}{action}}}"#
        );
        let summary = super::inspect(event.as_bytes()).unwrap();
        (summary.recovery, summary.failure)
    }

    #[test]
    fn inspect_tells_recoveries_failures_and_passing_results_apart() {
        assert_eq!(summary(2, r#"["0","2"]"#, r#","action":"create""#), (false, true), "a failure");
        assert_eq!(summary(0, r#"["2","0"]"#, r#","action":"resolve""#), (true, false), "a recovery");
        assert_eq!(summary(0, r#"["2","0"]"#, ""), (true, false), "a recovery without `action`");
        assert_eq!(summary(0, r#"["0","0"]"#, ""), (false, false), "ok after ok: neither");
        assert_eq!(summary(0, r#"["2","0"]"#, r#","action":"create""#), (false, false), "a classic create with 0");
    }

    fn pace(check_extra: &str) -> (Option<u64>, u64) {
        let event = format!(
            r#"{{"entity":{{"metadata":{{"name":"e"}}}},"check":{{"metadata":{{"name":"c"}},"status":2{check_extra}}}}}"#
        );
        let (event, _) = super::Event::parse(event.as_bytes()).unwrap();
        (event.history_pace, event.pace())
    }

    /// A Go check without `interval` (cron, results pushed to the agent) runs at the pace
    /// its history's times show; anything else keeps the interval, or the 30 s assumed.
    #[test]
    fn a_go_historys_times_give_the_pace_of_a_check_without_interval() {
        let h = |times: &[&str]| {
            let entries: Vec<String> = times.iter().map(|t| format!(r#"{{"status":2,"executed":{t}}}"#)).collect();
            format!(r#","history":[{}]"#, entries.join(","))
        };
        assert_eq!(pace(&h(&["1000", "1005", "1010"])), (Some(5), 5), "every 5 s");
        assert_eq!(pace(&h(&["1000", "1004", "1011"])), (Some(6), 6), "irregular: the mean, rounded");
        assert_eq!(pace(&h(&["1764000000000", "1764000010000"])), (Some(10), 10), "milliseconds");
        assert_eq!(
            pace(&h(&["1000", "null", "1020"])),
            (Some(10), 10),
            "an entry without a time still counts as a run"
        );
        assert_eq!(
            pace(&format!(r#"{},"interval":60"#, h(&["1000", "1005"]))),
            (Some(5), 60),
            "the check's interval wins"
        );
        assert_eq!(pace(&h(&["1000"])), (None, 30), "one time: no pace");
        assert_eq!(pace(&h(&["1000", "1000"])), (None, 30), "no time between runs");
        assert_eq!(pace(&h(&["1010", "1000", "1020"])), (None, 30), "times out of order");
        assert_eq!(pace(&h(&["0", "1000"])), (None, 30), "a zero time is no time");
        assert_eq!(pace(""), (None, 30), "no history");
    }

    /// Broken text (not UTF-8, a lone surrogate escape) is repaired and parsed again;
    /// when that parse fails too, its error is the one shown: what stops the event.
    #[test]
    fn a_repaired_event_still_refused_reports_what_stops_it() {
        let cases: [(&[u8], &str); 2] = [
            (
                b"{\"check\":{\"name\":\"disk\",\"output\":\"caf\xe9\",}}",
                "{\"check\":{\"name\":\"disk\",\"output\":\"caf\u{fffd}\",}}",
            ),
            (br#"{"check":{"output":"\ud800 x" "status":2}}"#, r#"{"check":{"output":"\ufffd x" "status":2}}"#),
        ];
        for (event, repaired) in cases {
            let want = serde_json::from_str::<serde_json::Value>(repaired).unwrap_err().to_string();
            match super::Event::parse(event).map_err(|e| *e) {
                Err(super::InputError::NotJson { detail }) => assert_eq!(detail, want),
                other => panic!("{other:?}"),
            }
        }
    }
}
