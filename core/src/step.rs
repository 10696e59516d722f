//! The protocol between the core and any host: requests and waits out, answers in.
//!
//! Every value here is plain data with a stable JSON form (the wasm builds speak
//! exactly this JSON), so a host in any language can drive the state machine:
//!
//! ```text
//! host                                core (Machine)
//!  |  plan(event, config, context) ->  |
//!  |  <- Step::Request / Wait / Done    |
//!  |  handle(Answer::Response{..}) ->   |   (or Failure, or Waited)
//!  |  <- next Step                      |
//! ```

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::json_out::Object;

/// An HTTP request the host must send, kept in separate parts because gateway
/// hosts (proxy-wasm, wasi:http) need method, scheme, authority and path apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: Method,
    /// `https` (or `http` for a configured plain endpoint).
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query, starting with `/`, already percent-encoded.
    pub path: String,
    /// Header names in lowercase, in the order to send them. Contains the API key
    /// (`x-api-key`): print requests only through [`Request::redacted`].
    pub headers: Vec<(String, String)>,
    /// The body: always UTF-8 JSON text, empty for `GET`.
    pub body: String,
    /// How long the host may wait for this answer, in milliseconds.
    pub timeout_ms: u64,
    /// What this request is for (`lookup_open`, `create`, ...), stable codes for logs.
    pub purpose: Purpose,
}

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// What a secret is shown as.
pub const MASK: &str = "********";

/// The shortest piece of an API key masked where an answer quotes it.
const KEY_PIECE: usize = 8;

impl Request {
    /// The request as JSON, as its `Serialize` impl writes it (written by the private `json_out` module).
    pub fn to_json(&self) -> String {
        let mut out = Object::new();
        self.write_json(&mut out);
        out.end()
    }

    /// The request's members, as its `Serialize` impl writes them.
    fn write_json(&self, out: &mut Object) {
        out.str("method", self.method.as_str());
        out.str("scheme", &self.scheme);
        out.str("authority", &self.authority);
        out.str("path", &self.path);
        out.pairs("headers", &self.headers);
        out.str("body", &self.body);
        out.num("timeout_ms", self.timeout_ms);
        out.str("purpose", self.purpose.name());
    }

    /// The full URL (`scheme://authority/path`).
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    /// The API key this request carries, if any.
    pub(crate) fn api_key(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(API_KEY_HEADER))
            .map(|(_, v)| v.as_str())
            .filter(|k| !k.is_empty())
    }

    /// `text` (a message quoting an answer to this request) with any piece of 8 or
    /// more bytes of the request's API key masked: a server may echo a key cut short.
    pub(crate) fn scrub_echo(&self, text: String) -> String {
        match self.api_key() {
            Some(key) => crate::text::mask_fragments(&text, key, KEY_PIECE, MASK),
            None => text,
        }
    }

    /// A copy with the API key masked, safe to print or log.
    pub fn redacted(&self) -> Request {
        let mut copy = self.clone();
        for (name, value) in &mut copy.headers {
            if name.eq_ignore_ascii_case(API_KEY_HEADER) {
                *value = MASK.to_owned();
            }
        }
        copy
    }
}

/// HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// `GET`
    #[serde(rename = "GET")]
    Get,
    /// `POST`
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Why a request is sent; stable codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// List incidents with status `open`.
    LookupOpen,
    /// List incidents with status `pend`.
    LookupPend,
    /// List recently closed incidents (reconcile).
    LookupClosed,
    /// Create an incident.
    Create,
    /// List open incidents after a create, to heal duplicates.
    VerifyCreate,
    /// Post a message to an incident's timeline.
    Message,
    /// Broadcast (and maybe call) again for an existing incident.
    Notify,
    /// Change an incident's status (close).
    Close,
}

impl Purpose {
    /// The code as written in the JSON (serde's name for it).
    pub fn name(self) -> &'static str {
        match self {
            Purpose::LookupOpen => "lookup_open",
            Purpose::LookupPend => "lookup_pend",
            Purpose::LookupClosed => "lookup_closed",
            Purpose::Create => "create",
            Purpose::VerifyCreate => "verify_create",
            Purpose::Message => "message",
            Purpose::Notify => "notify",
            Purpose::Close => "close",
        }
    }
}

/// One step of the state machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Send this request, then hand the answer to [`crate::Machine::handle`].
    Request(Request),
    /// Wait at least this long, then hand [`Answer::Waited`] to the machine. A native
    /// host adds jitter and enforces its deadline; a gateway that cannot sleep
    /// answers its caller 503 with `Retry-After` instead.
    Wait(Wait),
    /// Finished.
    Done(Outcome),
}

/// A requested pause before a retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// Minimum wait in milliseconds (from `Retry-After` or the back-off schedule).
    pub min_ms: u64,
    /// Why (the failure being retried), one line, no secrets.
    pub reason: String,
}

impl Step {
    /// The step as JSON, as its `Serialize` impl writes it (written by the private `json_out` module).
    pub(crate) fn to_json(&self) -> String {
        let mut out = Object::new();
        match self {
            Step::Request(request) => {
                out.str("step", "request");
                request.write_json(&mut out);
            }
            Step::Wait(wait) => {
                out.str("step", "wait");
                out.num("min_ms", wait.min_ms);
                out.str("reason", &wait.reason);
            }
            Step::Done(outcome) => {
                out.str("step", "done");
                outcome.write_json(&mut out);
            }
        }
        out.end()
    }
}

/// What the host hands back to the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// An HTTP answer arrived (any status).
    Response(Response),
    /// No HTTP answer: the request failed in transport.
    Failure(Failure),
    /// The wait asked for by [`Step::Wait`] is over.
    Waited,
}

impl Answer {
    /// The answer as JSON, as its `Serialize` impl writes it (written by the private `json_out` module).
    pub(crate) fn to_json(&self) -> String {
        let mut out = Object::new();
        match self {
            Answer::Response(response) => {
                out.str("answer", "response");
                out.num("status", u64::from(response.status));
                out.pairs("headers", &response.headers);
                out.str("body", &response.body);
            }
            Answer::Failure(failure) => {
                out.str("answer", "failure");
                out.str("kind", failure.kind.label());
                out.str("detail", &failure.detail);
            }
            Answer::Waited => out.str("answer", "waited"),
        }
        out.end()
    }
}

/// An HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (names in any case); `retry-after` and `date` are read (by `Response::header`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as text (hosts convert bytes lossily to UTF-8; the core does the
    /// same for byte input so every host sees identical text).
    #[serde(default)]
    pub body: String,
}

/// `bytes` as text, each invalid sequence replaced with U+FFFD (what
/// `String::from_utf8_lossy` does, in less code for the wasm builds): answers' bodies,
/// and an event that is not UTF-8 (the gateways read their bodies with it too, so
/// std's leaves their modules).
pub fn lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    loop {
        match core::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(core::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                bytes = rest.get(e.error_len().unwrap_or(rest.len())..).unwrap_or_default();
            }
        }
    }
}

impl Response {
    /// Build a response from raw body bytes (invalid UTF-8 is replaced, as every
    /// host must do, so native, wasmtime and JS builds see identical text).
    pub fn from_bytes(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Response {
        Response { status, headers, body: lossy(body) }
    }

    /// The first header named `name` (any case), trimmed.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim_ws())
    }
}

/// A transport failure, fed back as a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// One line from the host (no secrets), for the operator.
    #[serde(default)]
    pub detail: String,
}

/// Kinds of transport failure. All are retryable; `Timeout` after a create is
/// uncertain (the server may have created it), so the core looks up again.
/// `Deadline` is the host's own: its time for the event is up (handed instead of an
/// answer, or instead of waiting), and the core ends the run: failed and retryable,
/// unless what was left was housekeeping (then handled, with a warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Could not connect (refused, unreachable, DNS).
    Connect,
    /// No complete answer within the request's timeout.
    Timeout,
    /// The connection broke mid-way.
    Reset,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The host refused to send it (policy, e.g. a redirect or plain http).
    Refused,
    /// Anything else.
    Other,
    /// The host's deadline for the event: no more requests, no more waiting.
    Deadline,
}

impl FailureKind {
    /// Whether the request may have reached the server and been acted on: sent, but
    /// its answer never came whole (not a refused connection, TLS or the host's policy).
    pub fn maybe_delivered(self) -> bool {
        matches!(self, FailureKind::Timeout | FailureKind::Reset | FailureKind::Other)
    }

    /// Every kind, in the order declared (the order of [`FailureKind::LABELS`]).
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Connect,
        FailureKind::Timeout,
        FailureKind::Reset,
        FailureKind::Tls,
        FailureKind::Refused,
        FailureKind::Other,
        FailureKind::Deadline,
    ];

    /// Every kind's name in messages and in the JSON answers (serde's name for it), in
    /// [`FailureKind::ALL`] order.
    pub const LABELS: [&'static str; 7] = ["connect", "timeout", "reset", "tls", "refused", "other", "deadline"];

    /// The kind's name in messages and in the JSON answers (see [`FailureKind::LABELS`]).
    pub fn label(self) -> &'static str {
        Self::LABELS.get(self as usize).copied().unwrap_or("other")
    }
}

/// How it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `handled`, `skipped` or `failed`.
    pub result: OutcomeKind,
    /// For `failed`: true when a later replay may succeed (spool it); false when
    /// the answer was final (dead-letter it).
    #[serde(default)]
    pub retryable: bool,
    /// For `failed`: the API key was rejected (401/403), a configuration problem.
    #[serde(default)]
    pub auth_failed: bool,
    /// Stable reason code (`created`, `posted`, `closed`, `below_threshold`,
    /// `silenced`, `ok_after_ok`, `auth_failed`, `retries_exhausted`, ...).
    pub code: String,
    /// The incident key (`<client>/<check>` or `<ns>/<entity>/<check>`), when known.
    pub key: String,
    /// The incident acted on, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub incident: Option<IncidentRef>,
    /// What was done, in order (`created`, `broadcast`, `called`, `posted`,
    /// `closed`, `healed_duplicate`).
    #[serde(default)]
    pub actions: Vec<String>,
    /// One human line, lowercase, no secrets (what the host prints).
    pub message: String,
    /// Warnings collected while planning (bad overrides, ignored keys, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// True when this ran as a dry run (lookups assumed to find nothing).
    #[serde(default)]
    pub dry_run: bool,
    /// For `failed`: a create was sent and neither its answer nor a lookup after it
    /// confirmed it, so the server may yet apply it. Until a lookup settles that, a host
    /// sends nothing else for this key (it would look up too soon and create again).
    #[serde(default, skip_serializing_if = "is_false")]
    pub create_unconfirmed: bool,
}

impl Outcome {
    /// The outcome as JSON, as its `Serialize` impl writes it (written by the private `json_out` module).
    pub fn to_json(&self) -> String {
        let mut out = Object::new();
        self.write_json(&mut out);
        out.end()
    }

    /// The outcome's members, as its `Serialize` impl writes them.
    fn write_json(&self, out: &mut Object) {
        out.str("result", self.result.name());
        out.bool("retryable", self.retryable);
        out.bool("auth_failed", self.auth_failed);
        out.str("code", &self.code);
        out.str("key", &self.key);
        if let Some(incident) = &self.incident {
            let mut nested = Object::new();
            nested.num("id", incident.id);
            nested.str("url", &incident.url);
            out.raw("incident", &nested.end());
        }
        out.strs("actions", &self.actions);
        out.str("message", &self.message);
        out.strs("warnings", &self.warnings);
        out.bool("dry_run", self.dry_run);
        if self.create_unconfirmed {
            out.bool("create_unconfirmed", true);
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The three ways an event can end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Requests were sent and succeeded.
    Handled,
    /// Nothing to do (no request at all, or a lookup found nothing to act on).
    Skipped,
    /// Delivery failed; see [`Outcome::retryable`] and [`Outcome::auth_failed`].
    Failed,
}

impl OutcomeKind {
    /// The kind as written in the JSON (serde's name for it).
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Handled => "handled",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Failed => "failed",
        }
    }
}

/// An incident reference for the output line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRef {
    /// Reactio's incident id.
    pub id: u64,
    /// The incident's page for people.
    pub url: String,
}

/// What the host tells the core besides the event and the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Current time, epoch seconds (the core never reads a clock).
    pub now: i64,
    /// The key has an undelivered spooled entry: treat this event as a first
    /// occurrence so it is not skipped as a repeat.
    #[serde(default)]
    pub first_occurrence: bool,
    /// Dry run: the host feeds [`crate::dry_run_answer`] instead of sending.
    #[serde(default)]
    pub dry_run: bool,
    /// An earlier attempt at this event sent its create and could not confirm it (a
    /// spooled event): an incident the lookup finds for the key is that create's, which
    /// carried the broadcast already, as within one run.
    #[serde(default)]
    pub create_unconfirmed: bool,
    /// When the host received the event, epoch seconds by its clock (a spooled event:
    /// when its first run read it): what its episode is reckoned back from against
    /// Reactio's times. `None`: the event's `timestamp` (Sensu Go's agent stamps it, so
    /// a monitored host's clock then counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::FailureKind;
    use crate::prelude::*;

    #[test]
    fn failure_kind_labels_are_their_json_names() {
        for kind in FailureKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.label()), "{kind:?}");
        }
    }
}
