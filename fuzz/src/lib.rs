//! Shared pieces of the fuzz targets: fixed configurations, seed events, structured
//! (fuzzer-chosen) events and server answers, and one driver that runs a machine to
//! its end while checking the core's invariants on every step.
//!
//! Invariants checked (a violation panics, which libFuzzer records as a crash):
//! - the machine reaches `Step::Done` within a bound that depends only on how many
//!   incidents the answers listed (retries, pages and writes are all bounded);
//! - an answer that does not fit the step (a response while waiting, `Waited` while a
//!   request is out) leaves the step unchanged;
//! - every step survives a JSON round trip unchanged (the wasm builds speak that JSON);
//! - requests: path starts with `/`, GET has an empty body, POST bodies are JSON;
//! - the API key appears only as the `x-api-key` header value: never in a path, a
//!   body, another header, a wait reason, the outcome, or a redacted request
//!   (checked when the fuzzer's own input does not contain the key).

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use sensu_reactio_core::{
    Answer, Config, ConfigInput, Failure, FailureKind, Machine, Method, Outcome, Response, Step, dry_run_answer,
};
use serde_json::{Value, json};

/// The API key in every fuzz configuration; it must only ever appear in `x-api-key`.
pub const KEY: &str = "fz-secret-5e1d9c04b7a2f386";

/// Steps allowed on top of two per listed incident (duplicate healing posts and
/// closes each newer one). 10 pages x 3 listings, 4 retries, relookups and writes
/// fit well inside it.
pub const BASE_STEP_BOUND: usize = 400;

/// Every upstream fixture event (tests/fixtures/upstream), in a fixed order.
pub const SEED_EVENTS: &[&[u8]] = &[
    include_bytes!("../../tests/fixtures/upstream/classic-create-core-1.9-troubleshooting-log.json"),
    include_bytes!("../../tests/fixtures/upstream/classic-create-keepalive-core-1.9-events-reference.json"),
    include_bytes!("../../tests/fixtures/upstream/classic-create-warning-core-1.9-api-events.json"),
    include_bytes!("../../tests/fixtures/upstream/classic-minimal-sensu-plugin.json"),
    include_bytes!("../../tests/fixtures/upstream/classic-resolve-enterprise-3.8-servicenow-log.json"),
    include_bytes!("../../tests/fixtures/upstream/go-annotation-overrides-sdk.json"),
    include_bytes!("../../tests/fixtures/upstream/go-failing-pagerduty-handler-dupkeys.json"),
    include_bytes!("../../tests/fixtures/upstream/go-failing-proxy-entity-opsgenie.json"),
    include_bytes!("../../tests/fixtures/upstream/go-failing-slack-handler-example.json"),
    include_bytes!("../../tests/fixtures/upstream/go-minimal-resolution-sensu-plugin.json"),
    include_bytes!("../../tests/fixtures/upstream/go-passing-docs-6.14-events-reference.json"),
    include_bytes!("../../tests/fixtures/upstream/go-resolution-docs-6.14-api-events.json"),
    include_bytes!("../../examples/events/classic-critical.json"),
];

/// The settings files of the fixed configurations (the `reactio` scope of each).
fn config_settings() -> Vec<Value> {
    vec![
        json!({"reactio": {"api_key": KEY, "organization": "demo"}}),
        json!({"reactio": {
            "api_key": KEY, "endpoint": "http://127.0.0.1:8080/base",
            "severities": ["warning", "critical", "unknown"], "call": ["critical"],
            "occurrences": 3, "refresh": 60, "reconcile": 120, "max_renotify": 2,
            "close_on_resolve": "always", "topics": ["db", "<b>web</b>"],
            "timezone_offset": "+09:00", "alert_when_silenced": true, "alert_when_flapping": true
        }}),
        json!({"reactio": {
            "api_key": KEY, "organization": "demo",
            "name_template": "{{.Key}} {{.Check.Name}} on {{.Entity.Name}}",
            "message_template": "<i>{{.Severity}}</i> {{.Check.Output}} ({{.Check.Status}})",
            "notification_text": "{{.Entity.Name}} {{.Check.Name}} is down",
            "profiles": {"team-a": {"organization": "team-a", "api_key": KEY, "occurrences": 2, "call": ["warning"]}}
        }}),
        json!({"reactio": {"organization": "demo"}}),
        json!({"reactio": {
            "api_key": KEY, "organization": "demo", "refresh": 0, "reconcile": 0,
            "close_on_resolve": "never", "call": ["critical", "unknown"], "call_on_renotify": false,
            "severities": ["ok", "warning", "critical", "unknown"]
        }}),
        json!({"reactio": {"api_key": KEY, "organization": "demo", "profile": "team-a",
            "profiles": {"team-a": {"endpoint": "https://proxy.example/reactio", "api_key": KEY}}}}),
    ]
}

/// The fixed configurations, loaded once.
pub fn configs() -> &'static [Config] {
    static CONFIGS: OnceLock<Vec<Config>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        config_settings()
            .into_iter()
            .map(|settings| {
                let input = ConfigInput { settings, ..ConfigInput::default() };
                Config::load(&input).unwrap_or_else(|e| panic!("fuzz config does not load: {}", e.message))
            })
            .collect()
    })
}

/// One of the fixed configurations.
pub fn config(index: u8) -> &'static Config {
    let all = configs();
    &all[usize::from(index) % all.len()]
}

/// Whether any of these byte strings contains the key (then the key may lawfully be
/// echoed, e.g. in an incident name, and the leak check is off).
pub fn mentions_key(parts: &[&[u8]]) -> bool {
    parts.iter().any(|p| p.windows(KEY.len()).any(|w| w == KEY.as_bytes()))
}

fn check_no_key(what: &str, text: &str) {
    assert!(!text.contains(KEY), "the api key leaked into {what}: {text:?}");
}

/// The checks made on every step.
pub fn check_step(step: &Step, check_key: bool) {
    let json = serde_json::to_string(step).expect("a step serializes");
    let back: Step = serde_json::from_str(&json).expect("a step's json parses back");
    assert_eq!(&back, step, "a step changed in its json round trip");
    match step {
        Step::Request(r) => {
            assert!(r.path.starts_with('/'), "path must start with /: {:?}", r.path);
            match r.method {
                Method::Get => assert!(r.body.is_empty(), "a GET with a body: {:?}", r.body),
                Method::Post => {
                    serde_json::from_str::<Value>(&r.body).expect("a POST body is json");
                }
            }
            if check_key {
                for (name, value) in &r.headers {
                    if name != "x-api-key" {
                        check_no_key("a header", value);
                    }
                }
                check_no_key("a path", &r.path);
                check_no_key("a body", &r.body);
                check_no_key("a redacted request", &format!("{:?}", r.redacted()));
            }
        }
        Step::Wait(w) => {
            if check_key {
                check_no_key("a wait reason", &w.reason);
            }
        }
        Step::Done(o) => {
            assert!(!o.message.is_empty(), "an outcome without a message: {o:?}");
            if check_key {
                check_no_key("the outcome", &format!("{o:?}"));
            }
        }
    }
}

/// Run `machine` to its end: `answer` is asked for the answer to each request (it
/// also reports how many incidents it listed). Waits are answered `Waited`. Checks
/// the invariants above; returns the outcome and the steps seen.
pub fn drive(
    machine: &mut Machine,
    check_key: bool,
    mut answer: impl FnMut(&sensu_reactio_core::Request) -> (Answer, usize),
) -> (Outcome, Vec<Step>) {
    let mut steps = Vec::new();
    let mut listed = 0usize;
    loop {
        let step = machine.step().clone();
        check_step(&step, check_key);
        steps.push(step.clone());
        assert!(
            steps.len() <= BASE_STEP_BOUND + 2 * listed,
            "no end after {} steps ({listed} incidents listed); last step: {step:?}",
            steps.len()
        );
        match &step {
            Step::Done(outcome) => {
                // Anything after the end is ignored.
                machine.handle(Answer::Waited);
                assert_eq!(machine.step(), &step, "a done machine moved");
                return (outcome.clone(), steps);
            }
            Step::Wait(_) => {
                // A misfit answer first: ignored.
                machine.handle(Answer::Response(Response { status: 200, headers: Vec::new(), body: "[]".into() }));
                assert_eq!(machine.step(), &step, "a response to a wait moved the machine");
                machine.handle(Answer::Waited);
            }
            Step::Request(request) => {
                machine.handle(Answer::Waited);
                assert_eq!(machine.step(), &step, "`waited` for a request moved the machine");
                let (a, n) = answer(request);
                listed += n;
                machine.handle(a);
            }
        }
    }
}

/// A server that behaves: the dry-run answers (every list empty, every write ok).
pub fn quiet_server(request: &sensu_reactio_core::Request) -> (Answer, usize) {
    (dry_run_answer(request), 0)
}

// --- structured inputs ------------------------------------------------------------

/// An event for the machine: a seed fixture, one built from fuzzer-chosen fields, or raw bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum EventChoice {
    /// One of [`SEED_EVENTS`].
    Seed(u8),
    /// A seed fixture with one field replaced by a fuzzer-chosen JSON value.
    Mutated(u8, PathChoice, JsonChoice),
    /// A Classic or Go event built from chosen fields.
    Built(BuiltEvent),
    /// Anything.
    Raw(Vec<u8>),
}

/// Where in an event a mutation goes.
#[derive(Arbitrary, Debug, Clone)]
pub enum PathChoice {
    /// A top-level member.
    Top(u8),
    /// A member of `check`.
    Check(u8),
    /// A member of `client` / `entity`.
    Client(u8),
    /// A member of `entity.metadata` / `check.metadata`.
    Metadata(u8),
}

const TOP_FIELDS: &[&str] = &[
    "action",
    "occurrences",
    "occurrences_watermark",
    "last_ok",
    "timestamp",
    "silenced",
    "id",
    "client",
    "check",
    "entity",
];
const CHECK_FIELDS: &[&str] = &[
    "status",
    "output",
    "history",
    "interval",
    "refresh",
    "occurrences",
    "name",
    "executed",
    "issued",
    "alert",
    "is_silenced",
    "state",
    "last_ok",
    "occurrences_watermark",
    "proxy_entity_name",
    "reactio",
    "force_resolve",
    "metadata",
    "ttl",
    "handlers",
];
const CLIENT_FIELDS: &[&str] = &["name", "metadata", "address", "subscriptions"];
const METADATA_FIELDS: &[&str] = &["name", "namespace", "annotations", "labels"];

/// A JSON value the fuzzer picks.
#[derive(Arbitrary, Debug, Clone)]
pub enum JsonChoice {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A large unsigned integer.
    Big(u64),
    /// A float (NaN and infinities become null in JSON).
    Float(f64),
    /// A string.
    Text(String),
    /// A list of small values.
    List(Vec<i64>),
    /// A list of strings.
    Strings(Vec<String>),
    /// An object of strings.
    Object(Vec<(String, String)>),
    /// A deep nesting of arrays.
    Deep(u16),
}

impl JsonChoice {
    /// As a JSON value.
    pub fn value(&self) -> Value {
        match self {
            JsonChoice::Null => Value::Null,
            JsonChoice::Bool(b) => json!(b),
            JsonChoice::Int(i) => json!(i),
            JsonChoice::Big(u) => json!(u),
            JsonChoice::Float(f) => json!(f),
            JsonChoice::Text(s) => json!(s),
            JsonChoice::List(l) => json!(l),
            JsonChoice::Strings(l) => json!(l),
            JsonChoice::Object(pairs) => Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            JsonChoice::Deep(n) => {
                let mut v = json!(1);
                for _ in 0..(*n % 200) {
                    v = json!([v]);
                }
                v
            }
        }
    }
}

/// A Sensu event from chosen fields.
#[derive(Arbitrary, Debug, Clone)]
pub struct BuiltEvent {
    /// Go (true) or Classic.
    pub go: bool,
    /// Entity / client name.
    pub entity: String,
    /// Check name.
    pub check: String,
    /// Namespace (Go).
    pub namespace: Option<String>,
    /// Proxy entity (Go).
    pub proxy: Option<String>,
    /// Status.
    pub status: i64,
    /// History statuses, oldest first (the current one is appended).
    pub history: Vec<u8>,
    /// `occurrences`.
    pub occurrences: u64,
    /// `occurrences_watermark`.
    pub watermark: u64,
    /// Classic `action`: 0 create, 1 resolve, 2 flapping, else none.
    pub action: u8,
    /// Check interval.
    pub interval: Option<u32>,
    /// Check refresh (Classic attribute).
    pub refresh: Option<u32>,
    /// Check occurrences (Classic attribute).
    pub check_occurrences: Option<u32>,
    /// Executed, as an offset from now (seconds).
    pub executed_offset: i32,
    /// Milliseconds instead of seconds.
    pub millis: bool,
    /// last_ok, as an offset from now.
    pub last_ok_offset: Option<i32>,
    /// Silenced.
    pub silenced: bool,
    /// Go state: 0 passing, 1 failing, 2 flapping, else none.
    pub state: u8,
    /// `check.alert`.
    pub alert: Option<bool>,
    /// `check.force_resolve`.
    pub force_resolve: bool,
    /// Output text.
    pub output: String,
    /// Overrides: (setting index, value) as annotations (Go) or `reactio` (Classic).
    pub overrides: Vec<(u8, String)>,
    /// Entity-level overrides (Go).
    pub entity_overrides: Vec<(u8, String)>,
}

/// The settings an event may try to override (allowed or not).
const OVERRIDE_KEYS: &[&str] = &[
    "profile",
    "severities",
    "call",
    "occurrences",
    "refresh",
    "reconcile",
    "max_renotify",
    "call_on_renotify",
    "close_on_resolve",
    "topics",
    "notification_text",
    "name_template",
    "message_template",
    "api_key",
    "endpoint",
    "deadline",
    "spool_dir",
    "dry_run",
    "organization",
    "unknown_setting",
];

/// A fixed "now" for every fuzz run (2025-11-24).
pub const NOW: i64 = 1_764_000_000;

impl BuiltEvent {
    /// The event as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let executed = NOW.saturating_add(i64::from(self.executed_offset));
        let stamp = |t: i64| if self.millis { t.saturating_mul(1000) } else { t };
        let overrides = |list: &[(u8, String)]| -> serde_json::Map<String, Value> {
            list.iter()
                .map(|(k, v)| (OVERRIDE_KEYS[usize::from(*k) % OVERRIDE_KEYS.len()].to_owned(), json!(v)))
                .collect()
        };
        if self.go {
            let annotations = |list: &[(u8, String)]| -> Value {
                Value::Object(
                    overrides(list)
                        .into_iter()
                        .map(|(k, v)| (format!("{}{k}", sensu_reactio_core::ANNOTATION_PREFIX), v))
                        .collect(),
                )
            };
            let history: Vec<Value> = self
                .history
                .iter()
                .map(|s| i64::from(*s % 4))
                .chain(std::iter::once(self.status))
                .enumerate()
                .map(|(i, s)| json!({"status": s, "executed": stamp(executed - 60 * (self.history.len() - i) as i64)}))
                .collect();
            let mut check = json!({
                "metadata": {"name": self.check, "namespace": self.namespace, "annotations": annotations(&self.overrides)},
                "status": self.status, "output": self.output, "history": history,
                "occurrences": self.occurrences, "occurrences_watermark": self.watermark,
                "executed": stamp(executed), "interval": self.interval, "is_silenced": self.silenced,
                "proxy_entity_name": self.proxy,
            });
            let obj = check.as_object_mut().expect("object");
            if let Some(state) = ["passing", "failing", "flapping"].get(usize::from(self.state)) {
                obj.insert("state".into(), json!(state));
            }
            if let Some(last_ok) = self.last_ok_offset {
                obj.insert("last_ok".into(), json!(stamp(NOW.saturating_add(i64::from(last_ok)))));
            }
            if let Some(alert) = self.alert {
                obj.insert("alert".into(), json!(alert));
            }
            let entity = json!({"metadata": {"name": self.entity, "namespace": self.namespace,
                "annotations": annotations(&self.entity_overrides)}, "entity_class": "agent"});
            json!({"entity": entity, "check": check, "timestamp": stamp(NOW), "id": "x"}).to_string().into_bytes()
        } else {
            let history: Vec<Value> = self
                .history
                .iter()
                .map(|s| i64::from(*s % 4))
                .chain(std::iter::once(self.status))
                .map(|s| json!(s.to_string()))
                .collect();
            let mut check = json!({
                "name": self.check, "status": self.status, "output": self.output, "history": history,
                "executed": stamp(executed), "interval": self.interval, "reactio": overrides(&self.overrides),
            });
            let obj = check.as_object_mut().expect("object");
            if let Some(r) = self.refresh {
                obj.insert("refresh".into(), json!(r));
            }
            if let Some(o) = self.check_occurrences {
                obj.insert("occurrences".into(), json!(o));
            }
            if let Some(alert) = self.alert {
                obj.insert("alert".into(), json!(alert));
            }
            if self.force_resolve {
                obj.insert("force_resolve".into(), json!(true));
            }
            let mut event = json!({
                "client": {"name": self.entity}, "check": check, "occurrences": self.occurrences,
                "occurrences_watermark": self.watermark, "silenced": self.silenced, "timestamp": stamp(NOW),
                "last_ok": self.last_ok_offset.map(|o| stamp(NOW.saturating_add(i64::from(o)))),
            });
            if let Some(action) = ["create", "resolve", "flapping"].get(usize::from(self.action)) {
                event.as_object_mut().expect("object").insert("action".into(), json!(action));
            }
            event.to_string().into_bytes()
        }
    }
}

/// Replace one field of a JSON event (if it is an object) with `value`.
pub fn mutate(event: &[u8], path: &PathChoice, value: Value) -> Vec<u8> {
    let Ok(mut root) = serde_json::from_slice::<Value>(event) else { return event.to_vec() };
    let pick = |list: &[&str], i: u8| list[usize::from(i) % list.len()].to_owned();
    let target: Option<(&mut Value, String)> = match path {
        PathChoice::Top(i) => Some((&mut root, pick(TOP_FIELDS, *i))),
        PathChoice::Check(i) => root.get_mut("check").map(|c| (c, pick(CHECK_FIELDS, *i))),
        PathChoice::Client(i) => {
            let has_client = root.get("client").is_some();
            root.get_mut(if has_client { "client" } else { "entity" }).map(|c| (c, pick(CLIENT_FIELDS, *i)))
        }
        PathChoice::Metadata(i) => {
            let parent = if i % 2 == 0 { "entity" } else { "check" };
            root.get_mut(parent).and_then(|p| p.get_mut("metadata")).map(|m| (m, pick(METADATA_FIELDS, *i / 2)))
        }
    };
    if let Some((Value::Object(obj), field)) = target {
        obj.insert(field, value);
    }
    root.to_string().into_bytes()
}

impl EventChoice {
    /// The event bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            EventChoice::Seed(i) => SEED_EVENTS[usize::from(*i) % SEED_EVENTS.len()].to_vec(),
            EventChoice::Mutated(i, path, value) => {
                mutate(SEED_EVENTS[usize::from(*i) % SEED_EVENTS.len()], path, value.value())
            }
            EventChoice::Built(built) => built.to_bytes(),
            EventChoice::Raw(bytes) => bytes.clone(),
        }
    }
}

/// A server answer the fuzzer picks.
#[derive(Arbitrary, Debug, Clone)]
pub enum AnswerChoice {
    /// An HTTP answer.
    Response {
        /// Status: a common one by index, or any u16.
        status: StatusChoice,
        /// Extra headers (`retry-after` is the one read).
        retry_after: Option<RetryAfter>,
        /// Other headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: BodyChoice,
    },
    /// A transport failure.
    Failure {
        /// The kind, by index.
        kind: u8,
        /// The host's detail.
        detail: String,
    },
}

/// A status code.
#[derive(Arbitrary, Debug, Clone)]
pub enum StatusChoice {
    /// A common status by index.
    Common(u8),
    /// Any.
    Any(u16),
}

const COMMON_STATUSES: &[u16] = &[200, 201, 204, 301, 302, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504];

/// A `Retry-After` value.
#[derive(Arbitrary, Debug, Clone)]
pub enum RetryAfter {
    /// Delta seconds.
    Seconds(u64),
    /// An HTTP date (formatted from parts, possibly invalid).
    Date(u8, u8, u16, u8, u8, u8),
    /// Anything.
    Text(String),
}

/// A response body.
#[derive(Arbitrary, Debug, Clone)]
pub enum BodyChoice {
    /// Any text.
    Text(String),
    /// A JSON list of incidents.
    List(Vec<IncidentChoice>),
    /// A create answer with this id value.
    Created(JsonChoice),
    /// A Reactio error body.
    Error {
        /// `type`.
        kind: String,
        /// `message`.
        message: String,
        /// `errors[]` as (field, code).
        fields: Vec<(String, String)>,
    },
}

/// One listed incident.
#[derive(Arbitrary, Debug, Clone)]
pub struct IncidentChoice {
    /// The id value (may be a string, negative, huge).
    pub id: JsonChoice,
    /// How its name relates to the event's key.
    pub name: NameChoice,
    /// Status by index: open, pend, close, other.
    pub status: u8,
    /// `manager` value.
    pub manager: JsonChoice,
    /// `created_at` value.
    pub created_at: JsonChoice,
}

/// An incident name relative to the key.
#[derive(Arbitrary, Debug, Clone)]
pub enum NameChoice {
    /// Exactly the key.
    Key,
    /// The key, a space, then text.
    KeyThen(String),
    /// The key directly followed by text (not a match).
    KeyGlued(String),
    /// Anything.
    Other(String),
}

impl AnswerChoice {
    /// The answer for a request, given the event's key; also how many incidents it lists.
    pub fn answer(&self, key: &str, now: i64) -> (Answer, usize) {
        match self {
            AnswerChoice::Failure { kind, detail } => {
                let kind = FailureKind::ALL[usize::from(*kind) % FailureKind::ALL.len()];
                (Answer::Failure(Failure { kind, detail: detail.clone() }), 0)
            }
            AnswerChoice::Response { status, retry_after, headers, body } => {
                let status = match status {
                    StatusChoice::Common(i) => COMMON_STATUSES[usize::from(*i) % COMMON_STATUSES.len()],
                    StatusChoice::Any(s) => *s,
                };
                let mut headers = headers.clone();
                if let Some(r) = retry_after {
                    let value = match r {
                        RetryAfter::Seconds(s) => s.to_string(),
                        RetryAfter::Date(d, m, y, h, mi, s) => {
                            let months = [
                                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
                                "Foo",
                            ];
                            let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
                            format!(
                                "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
                                days[usize::from(*d) % days.len()],
                                d % 40,
                                months[usize::from(*m) % months.len()],
                                y,
                                h % 30,
                                mi % 70,
                                s % 70
                            )
                        }
                        RetryAfter::Text(t) => t.clone(),
                    };
                    headers.push(("Retry-After".into(), value));
                }
                let (body, listed) = match body {
                    BodyChoice::Text(t) => (t.clone(), 0),
                    BodyChoice::List(items) => {
                        let list: Vec<Value> = items.iter().map(|i| i.value(key, now)).collect();
                        (Value::Array(list).to_string(), items.len())
                    }
                    BodyChoice::Created(id) => (json!({"id": id.value(), "status": "open"}).to_string(), 0),
                    BodyChoice::Error { kind, message, fields } => {
                        let errors: Vec<Value> = fields.iter().map(|(f, c)| json!({"field": f, "code": c})).collect();
                        (json!({"type": kind, "message": message, "errors": errors}).to_string(), 0)
                    }
                };
                (Answer::Response(Response { status, headers, body }), listed)
            }
        }
    }
}

impl IncidentChoice {
    fn value(&self, key: &str, now: i64) -> Value {
        let name = match &self.name {
            NameChoice::Key => key.to_owned(),
            NameChoice::KeyThen(t) => format!("{key} {t}"),
            NameChoice::KeyGlued(t) => format!("{key}{t}"),
            NameChoice::Other(t) => t.clone(),
        };
        let status = ["open", "pend", "close"].get(usize::from(self.status)).copied().unwrap_or("other");
        let created_at = match &self.created_at {
            JsonChoice::Null => json!(now - 100),
            other => other.value(),
        };
        json!({"id": self.id.value(), "name": name, "status": status, "manager": self.manager.value(), "created_at": created_at})
    }
}

/// Turn raw bytes into a `ConfigInput`: `settings JSON \xff env lines \xff flag lines \xff key file`.
/// Lines are `NAME=value`. Settings bytes that are not JSON become a JSON string.
pub fn config_input_from_bytes(data: &[u8]) -> ConfigInput {
    let mut parts = data.split(|b| *b == 0xff);
    let settings = parts.next().unwrap_or_default();
    let settings = serde_json::from_slice::<Value>(settings)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(settings).into_owned()));
    let pairs = |bytes: &[u8]| -> BTreeMap<String, String> {
        String::from_utf8_lossy(bytes)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let env = pairs(parts.next().unwrap_or_default());
    let flags = pairs(parts.next().unwrap_or_default());
    let key_file = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mut key_files = BTreeMap::new();
    key_files.insert("/etc/sensu/reactio.key".to_owned(), key_file);
    ConfigInput { settings, env, flags, handler_name: None, key_files }
}
