//! Reactio's API: requests built from parts, answers classified, incidents read leniently.

use crate::prelude::*;

use serde::Serialize;
use serde_json::Value;

use crate::config::Connection;
use crate::json_out::Object;
use crate::step::{API_KEY_HEADER, Method, Purpose, Request, Response};
use crate::text::Decimal;

/// Incidents asked for per page (a server may answer fewer, or refuse to be asked:
/// see [`crate::machine`]).
pub(crate) const PER_PAGE: usize = 50;
/// [`PER_PAGE`] as a listing's query parameter.
const PER_PAGE_QUERY: &str = "&per_page=50";
/// Every page [`MAX_PAGES`] allows as one: asked once of a server that answers every
/// page as its first (`LIMIT` without `OFFSET`).
const WIDE_QUERY: &str = "&per_page=2000";

/// What a listing asks of `per_page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PerPage {
    /// [`PER_PAGE`].
    Asked,
    /// Not named (a server that refused it).
    Unasked,
    /// [`MAX_PAGES`] pages of [`PER_PAGE`] at once.
    Wide,
}
/// Pages read per status at most; past it the lookup is a retryable error, never "none".
/// 40 pages: 2,000 open incidents at 50 a page, 280 from a server that caps pages at 7;
/// a page on a kept-alive connection is milliseconds, well inside the run's deadline.
pub(crate) const MAX_PAGES: u32 = 40;
/// Longest incident name sent (characters).
pub(crate) const NAME_MAX: usize = 255;
/// Longest broadcast text (characters; it may be read aloud).
pub(crate) const NOTIFICATION_MAX: usize = 200;
/// Longest check output inside a timeline message (characters).
pub(crate) const OUTPUT_MAX: usize = 4000;
/// Longest timeline message (characters).
pub(crate) const MESSAGE_MAX: usize = 8000;

/// The fields of our writes that the minimal payload shortens or leaves out: a 400
/// that names one, whatever its code, is retried once with it (decisions.md
/// "Lengths"; `detection` is deprecated, and a server may refuse it). A refused
/// `notification_call: true` is dropped instead, so the broadcast still goes out.
const MINIMAL_FIELDS: [&str; 5] = ["name", "notification_text", "message", "topics", "detection"];

/// Sent as `user-agent`.
const USER_AGENT: &str = concat!("sensu-reactio/", env!("CARGO_PKG_VERSION"));

/// Builds requests for one connection.
#[derive(Clone, Debug)]
pub(crate) struct Api<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) timeout_ms: u64,
}

/// `POST /api/v1/incidents`: field order as the 2015 handler sent them, then ours.
/// (`Serialize`: what [`CreateBody::to_json`] is tested against.)
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CreateBody {
    pub(crate) name: String,
    /// Deprecated in Reactio's API: the minimal payload leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detection: Option<&'static str>,
    pub(crate) notification_text: String,
    pub(crate) notification_call: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) topics: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

impl CreateBody {
    /// The body as JSON (see [`crate::json_out`]).
    pub(crate) fn to_json(&self) -> String {
        let mut out = Object::new();
        out.str("name", &self.name);
        if let Some(detection) = self.detection {
            out.str("detection", detection);
        }
        out.str("notification_text", &self.notification_text);
        out.bool("notification_call", self.notification_call);
        if !self.topics.is_empty() {
            out.strs("topics", &self.topics);
        }
        if let Some(message) = &self.message {
            out.str("message", message);
        }
        out.end()
    }
}

impl Api<'_> {
    fn request(&self, method: Method, path: core::fmt::Arguments<'_>, body: String, purpose: Purpose) -> Request {
        let endpoint = &self.connection.endpoint;
        // One allocation: the longest path (a listing's) is under 80 bytes.
        let mut full = String::with_capacity(endpoint.base_path.len() + 80);
        full.push_str(&endpoint.base_path);
        // Writing to a String cannot fail.
        let _ = core::fmt::Write::write_fmt(&mut full, path);
        let mut headers = Vec::with_capacity(4);
        if let Some(key) = &self.connection.api_key {
            headers.push((API_KEY_HEADER.to_owned(), key.expose().to_owned()));
        }
        headers.push(("accept".to_owned(), "application/json".to_owned()));
        if method == Method::Post {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        headers.push(("user-agent".to_owned(), USER_AGENT.to_owned()));
        Request {
            method,
            scheme: endpoint.scheme.clone(),
            authority: endpoint.authority.clone(),
            path: full,
            headers,
            body,
            timeout_ms: self.timeout_ms,
            purpose,
        }
    }

    /// `GET /api/v1/incidents?status=..[&page=..][&per_page=..][&from=..]`; `page`
    /// `None` asks for the server's first page, however it numbers its pages.
    pub(crate) fn list(
        &self,
        status: &str,
        page: Option<u32>,
        from: Option<i64>,
        purpose: Purpose,
        per_page: PerPage,
    ) -> Request {
        // `&page=`, `&from=` written by text::push_u64 and push_i64: no `core::fmt` code
        // for integers.
        let mut query = String::new();
        if let Some(page) = page {
            query.push_str("&page=");
            crate::text::push_u64(&mut query, u64::from(page), 1);
        }
        match per_page {
            PerPage::Asked => query.push_str(PER_PAGE_QUERY),
            PerPage::Wide => query.push_str(WIDE_QUERY),
            PerPage::Unasked => {}
        }
        if let Some(from) = from {
            query.push_str("&from=");
            crate::text::push_i64(&mut query, from, 1);
        }
        let path = format_args!("/api/v1/incidents?status={status}{query}");
        self.request(Method::Get, path, String::new(), purpose)
    }

    pub(crate) fn create(&self, body: &CreateBody) -> Request {
        self.request(Method::Post, format_args!("/api/v1/incidents"), body.to_json(), Purpose::Create)
    }

    pub(crate) fn message(&self, incident_id: u64, message: &str) -> Request {
        let mut body = Object::new();
        body.num("incident_id", incident_id);
        body.str("message", message);
        self.request(Method::Post, format_args!("/api/v1/messages"), body.end(), Purpose::Message)
    }

    pub(crate) fn notify(&self, incident_id: u64, text: &str, call: bool) -> Request {
        let mut body = Object::new();
        body.num("incident_id", incident_id);
        body.str("notification_text", text);
        body.bool("notification_call", call);
        self.request(Method::Post, format_args!("/api/v1/notifications"), body.end(), Purpose::Notify)
    }

    pub(crate) fn close(&self, incident_id: u64) -> Request {
        let incident_id = Decimal(incident_id);
        let path = format_args!("/api/v1/incidents/{incident_id}/status");
        self.request(Method::Post, path, r#"{"status":"close"}"#.to_owned(), Purpose::Close)
    }

    /// The incident's page for people.
    pub(crate) fn incident_url(&self, id: u64) -> String {
        let e = &self.connection.endpoint;
        format!("{}://{}{}/incident/{}", e.scheme, e.authority, e.base_path, Decimal(id))
    }
}

/// An incident as listed, read leniently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Incident {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) has_manager: bool,
    pub(crate) created_at: i64,
    /// When it was closed (epoch seconds, Reactio's clock), if the server says.
    pub(crate) closed_at: Option<i64>,
}

/// The oldest of `incidents` with `status` (any status: `""`): the earliest created, then
/// the lowest id; the first listed of equals.
pub(crate) fn oldest<'a>(incidents: &'a [Incident], status: &str) -> Option<&'a Incident> {
    let mut best: Option<&Incident> = None;
    for i in incidents {
        if (status.is_empty() || i.status == status) && best.is_none_or(|b| (i.created_at, i.id) < (b.created_at, b.id))
        {
            best = Some(i);
        }
    }
    best
}

/// A time of an incident's as it came: epoch seconds (or milliseconds: [`Incident::from_json`]).
fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        // `"1764300000"`, or `"1764300000.123"` (a decimal written as a string), or an
        // ISO 8601 time (`"2026-11-28T12:00:00.000Z"`: Rails' and Django's default).
        Value::String(s) => {
            crate::text::parse_i64(crate::text::before(s.trim_ws(), ".")).or_else(|| crate::dates::parse_iso_time(s))
        }
        _ => None,
    }
}

/// An incident id: a JSON integer from 0 to 2^64 - 1, or a string of its digits. A
/// number that is not a whole one in that range is no id (a float only where it is
/// exact, below 2^53): never rounded to a neighbour's, which would send one check's
/// writes, calls and close to another check's incident.
fn id_of(value: &Value) -> Option<u64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| (0.0..EXACT).contains(f) && (*f as u64) as f64 == *f).map(|f| f as u64)),
        Value::String(s) => crate::text::parse_u64(s.trim_ws()),
        _ => None,
    }
}

impl Incident {
    /// Closed (`close`; also `closed`, in any case): no open incident, whatever listing
    /// it came in.
    pub(crate) fn is_closed(&self) -> bool {
        self.status.eq_ignore_ascii_case("close") || self.status.eq_ignore_ascii_case("closed")
    }

    fn from_json(value: &Value) -> Option<Incident> {
        let obj = value.as_object()?;
        let id = obj.get("id").and_then(id_of)?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let time = |k: &str| obj.get(k).and_then(int_of).map(crate::text::epoch_seconds);
        let has_manager = obj.get("manager").is_some_and(names_someone);
        Some(Incident {
            id,
            name: text("name"),
            // `OPEN`, `Open`: the document's `open` (an absent one: [`parse_list`]).
            status: text("status").to_ascii_lowercase(),
            has_manager,
            created_at: time("created_at").unwrap_or(0),
            closed_at: time("closed_at"),
        })
    }

    /// The exact-name rule: equal to the key, or the key then a space.
    pub(crate) fn matches(&self, key: &str) -> bool {
        self.name == key || self.name.strip_prefix(key).is_some_and(|rest| rest.starts_with(' '))
    }
}

/// A `manager` that names a person: not `null`, `false`, `0` (`0.0`), `""`, `"0"`,
/// `"null"` or `"none"`, nor an object or list of only those (`{"id": null, "name":
/// null}`: nobody has it).
fn names_someone(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => {
            let s = s.trim_ws();
            !(s.is_empty() || s == "0" || s.eq_ignore_ascii_case("null") || s.eq_ignore_ascii_case("none"))
        }
        Value::Object(o) => {
            // A loop: `any` over the map's values costs the wasm module its own code.
            for (_, member) in o {
                if names_someone(member) {
                    return true;
                }
            }
            false
        }
        Value::Array(a) => {
            for item in a {
                if names_someone(item) {
                    return true;
                }
            }
            false
        }
        Value::Bool(true) => true,
    }
}

/// Whether a 429 or 503 is the server's own word that it took nothing: a 429 always;
/// a 503 when it says when to come back (`Retry-After`) or in Reactio's error shape (a
/// `type`). Another 503, `{}` or a proxy's JSON included, may be a proxy's sent after
/// it forwarded the request (Envoy's "upstream ... reset before headers"), so what it
/// answers for may have been done.
pub(crate) fn said_not_taken(response: &Response) -> bool {
    response.status == 429
        || (response.status == 503
            && (response.header("retry-after").is_some()
                || (answer_json(&response.body).is_some_and(|v| member(&v, "type").is_some())
                    && !reset_after_forwarding(response))))
}

/// Whether an answer says its write was certainly not acted on (for a broadcast, which
/// rings phones: whether it may go again): a refusal (a 4xx, or a 2xx whose body is
/// one), a 408 or 429, or a 503 that is not a proxy's after the server was reached.
pub fn not_taken(response: &Response) -> bool {
    match response.status {
        // `said_not_taken` adds nothing here: its JSON 503 counts only when it is no
        // proxy's after forwarding, which is already enough. So the body is lowercased
        // and searched once, not parsed as JSON too.
        503 => response.header("retry-after").is_some() || !reset_after_forwarding(response),
        400..=499 => true,
        200..=299 => matches!(error_said_in(&response.body), Some(400 | 401)),
        _ => false,
    }
}

/// A 503 a broadcast may have gone out before: Envoy's after the upstream reset or
/// closed before its headers came ("reset reason: connection termination", a remote
/// reset). Not one that never reached a server: a connect failure or timeout, an
/// overflow, a stream the server refused (HTTP/2's REFUSED_STREAM: "remote refused
/// stream reset", which says the request was not processed), "no healthy upstream",
/// a balancer's "no server is available" (taken as not taken, the broadcast goes
/// again: a lost call is worse than a second one).
pub(crate) fn reset_after_forwarding(response: &Response) -> bool {
    let body = response.body.to_ascii_lowercase();
    crate::text::split_once(&body, "reset reason:").is_some_and(|(_, why)| {
        ["failure", "timeout", "overflow", "refused"].iter().all(|w| crate::text::find(why, w).is_none())
    })
}

/// An answer's JSON, past a UTF-8 byte order mark a server may put first.
fn answer_json(body: &str) -> Option<Value> {
    crate::json_in::parse(body.strip_prefix("\u{feff}").unwrap_or(body).as_bytes()).ok()
}

/// Members a server may wrap its list in, where reactio-api.md says a bare array.
const LIST_ENVELOPES: [&str; 4] = ["incidents", "data", "items", "results"];

/// A list answer to a listing of `status`: every incident (unreadable entries are
/// counted, not guessed at; one without a status is taken at the filter's word).
pub(crate) fn parse_list(body: &str, status: &str) -> Option<(Vec<Incident>, usize)> {
    let value = answer_json(body)?;
    // `null` for no incidents (a server that writes an empty list as its nil).
    if value.is_null() {
        return Some((Vec::new(), 0));
    }
    let items = match &value {
        Value::Array(items) => items,
        _ => LIST_ENVELOPES.iter().find_map(|m| member(&value, m).and_then(Value::as_array))?,
    };
    let mut incidents = Vec::with_capacity(items.len());
    for item in items {
        if let Some(mut incident) = Incident::from_json(item) {
            if incident.status.is_empty() {
                status.clone_into(&mut incident.status);
            }
            incidents.push(incident);
        }
    }
    Some((incidents, items.len()))
}

/// A member of a JSON object (`None` for a value that is not one): through the map's
/// own lookup, which the readers use anyway, not `Value::get`'s (its own ~290 B). Out of
/// line: the opt-level 2 builds would inline the search at each call (JS +1.6 KB).
#[inline(never)]
fn member<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object()?.get(key)
}

/// The id in a create answer (`{"id": 42, ...}`), if readable.
pub(crate) fn parse_created_id(body: &str) -> Option<u64> {
    let value = answer_json(body)?;
    member(&value, "id").and_then(id_of)
}

/// What an HTTP answer means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx.
    Success,
    /// Worth trying again after at least `retry_after_ms` (if the server said).
    Retry { reason: String, retry_after_ms: Option<u64> },
    /// The API key was refused: `detail` is `(<status> <what the body said>)`.
    Auth { detail: String },
    /// A final refusal; `length_fields` names fields a 400, 413 or 422 blamed (minimal
    /// retry), or `notification_call` for a call refused (sent again without it).
    Fatal { reason: String, length_fields: Vec<String> },
}

/// `type: message` from Reactio's error body, or a short excerpt of a non-JSON body.
fn describe_error(body: &str) -> String {
    let json = answer_json(body);
    if let Some(v) = &json
        && (member(v, "type").is_some() || member(v, "message").is_some() || !error_fields(v).is_empty())
    {
        let t = member(v, "type").and_then(Value::as_str).unwrap_or("error");
        let text = |key| member(v, key).and_then(Value::as_str);
        let m = text("message").or_else(|| text("error")).unwrap_or("");
        // ` (field: code, field: code)`, or nothing.
        let mut fields = String::new();
        for &(field, code) in &error_fields(v) {
            fields.push_str(if fields.is_empty() { " (" } else { ", " });
            fields.push_str(field);
            fields.push_str(": ");
            fields.push_str(code);
        }
        if !fields.is_empty() {
            fields.push(')');
        }
        let sep = if m.is_empty() { "" } else { ": " };
        return crate::text::one_line(&format!("{t}{sep}{m}{fields}"));
    }
    // Json, but not Reactio's error shape, or not json: quoted, on one line (made once
    // for both).
    let flat = crate::text::one_line(body);
    let shown = crate::text::cap_chars(&flat, 60);
    match json {
        Some(_) => format!("a json body {shown}"),
        None if flat.is_empty() => "an empty body".to_owned(),
        None => format!("a non-json body \"{shown}\""),
    }
}

/// Whether a refused create says an incident has its name: a 409, or a refusal that
/// says so in its body ([`name_said_taken`]).
pub(crate) fn name_in_use(response: &Response) -> bool {
    response.status == 409 || name_said_taken(&response.body)
}

/// Whether a refused create's body says its name is in use, as a server that keeps
/// names unique says it in Reactio's error shape rather than with a 409 (`{"type":
/// "validation_error", "errors": [{"field": "name", "code": "taken"}]}`, a 400 or 422:
/// Rails' `taken`, Django's and Laravel's `unique`, `already_exists`, `duplicate`).
fn name_said_taken(body: &str) -> bool {
    let Some(value) = answer_json(body) else { return false };
    for (field, code) in error_fields(&value) {
        let code = code.to_ascii_lowercase();
        if field_name(field) == "name"
            && ["taken", "unique", "exist", "duplicate"].iter().any(|w| crate::text::find(&code, w).is_some())
        {
            return true;
        }
    }
    false
}

/// A field as an error names it, without what it is nested in (`incident.name`,
/// `incident[name]`: `name`).
fn field_name(field: &str) -> &str {
    let last = crate::text::rfind_byte(field, b'.').max(crate::text::rfind_byte(field, b'['));
    let name = field.get(last.map_or(0, |i| i + 1)..).unwrap_or_default();
    name.strip_suffix("]").unwrap_or(name)
}

fn error_fields(v: &Value) -> Vec<(&str, &str)> {
    let mut fields = Vec::new();
    for e in member(v, "errors").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        if let Some(field) = member(e, "field").and_then(Value::as_str) {
            let code = member(e, "code").and_then(Value::as_str).unwrap_or("invalid");
            fields.push((field, code));
        }
    }
    fields
}

/// `Retry-After` in milliseconds: delta seconds, or an HTTP date against `now`.
fn retry_after_ms(response: &Response, now: i64) -> Option<u64> {
    let value = response.header("retry-after")?;
    if let Some(seconds) = crate::text::parse_u64(value) {
        return Some(crate::arith::saturating_mul_u64(seconds, 1000));
    }
    let at = crate::dates::parse_http_date(value)?;
    Some(crate::arith::saturating_mul_u64(u64::try_from(at.saturating_sub(now)).unwrap_or(0), 1000))
}

/// The status a write's 2xx answer means when its body is an error and no incident,
/// notification or message (Reactio's error shape, or an `error` member, and no `id`):
/// 500 for Reactio's `internal_server_error`, 401 for its `authentication_error` (the
/// key's advice and exit), else 400. A server that answers every request 200 must not
/// have a refused create taken for an incident made.
fn error_said_in(body: &str) -> Option<u32> {
    let value = answer_json(body)?;
    let object = value.as_object()?;
    let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
    let said = |key| match object.get(key) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    let find = crate::text::find;
    if object.contains_key("id") || (find(kind, "error").is_none() && !said("errors") && !said("error")) {
        return None;
    }
    Some(if find(kind, "server").is_some() {
        500
    } else if find(kind, "auth").is_some() {
        401
    } else {
        400
    })
}

/// Classify an answer (decisions.md; reactio-api.md "Errors"). The reason quotes the
/// answer with any piece of the API key it echoed masked.
///
/// `key_worked`: a request of this run was answered 2xx, so a 401 or 403 refuses this
/// request (a project without phone calls, a close the key may not make), not the key:
/// it is final, and a write that carries a call may go once more without it.
pub(crate) fn classify(request: &Request, response: &Response, now: i64, key_worked: bool) -> Verdict {
    match classify_raw(request, response, now, key_worked) {
        Verdict::Retry { reason, retry_after_ms } => {
            Verdict::Retry { reason: request.scrub_echo(reason), retry_after_ms }
        }
        Verdict::Auth { detail } => Verdict::Auth { detail: request.scrub_echo(detail) },
        Verdict::Fatal { reason, length_fields } => {
            Verdict::Fatal { reason: request.scrub_echo(reason), length_fields }
        }
        Verdict::Success => Verdict::Success,
    }
}

fn classify_raw(request: &Request, response: &Response, now: i64, key_worked: bool) -> Verdict {
    // Widened: messages then write it with the integer formatting they share (u16's
    // own costs the wasm module its code).
    let shown = u32::from(response.status);
    let what = format!("{} {}", request.method.as_str(), request.purpose_label());
    // A write answered 2xx with an error in its body is taken at the body's word.
    let status = match shown {
        200..=299 if request.method == Method::Post => error_said_in(&response.body).unwrap_or(shown),
        _ => shown,
    };
    match status {
        200..=299 => Verdict::Success,
        // What to check is said by the machine, which knows the profile in use.
        401 | 403 if !key_worked => Verdict::Auth { detail: format!("({shown} {})", describe_error(&response.body)) },
        408 | 429 | 500..=599 => Verdict::Retry {
            reason: format!("{what}: reactio answered {shown} with {}", describe_error(&response.body)),
            retry_after_ms: retry_after_ms(response, now),
        },
        300..=399 => {
            let location = response
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("location"))
                .map(|(_, v)| crate::text::cap_chars(&crate::text::percent_decode(v), 80).to_owned())
                .unwrap_or_default();
            Verdict::Fatal {
                reason: format!(
                    "{what}: reactio answered {status} redirect to \"{location}\"; redirects are not followed so the api key never travels to another host: set `endpoint` to the final url"
                ),
                length_fields: Vec::new(),
            }
        }
        _ => {
            let parsed = crate::json_in::parse(response.body.as_bytes()).ok();
            let about_length = |text: &str| {
                let t = text.to_ascii_lowercase();
                ["long", "length", "size", "max"].iter().any(|w| crate::text::find(&t, w).is_some())
            };
            // A field the minimal payload mends is blamed whatever the code says (a
            // server need not say "length"), named as sent or nested
            // (`incident.name`, `incident[name]`).
            let mut length_fields = Vec::new();
            // A write that rings phones (as our writer writes it).
            let calls = crate::text::find(&request.body, "\"notification_call\":true").is_some();
            let named = parsed.as_ref().map(error_fields).unwrap_or_default();
            for &(field, code) in &named {
                let name = field_name(field);
                let blamed = match name {
                    "notification_call" => calls,
                    _ => MINIMAL_FIELDS.contains(&name) || about_length(code),
                };
                if blamed {
                    length_fields.push(name.to_owned());
                }
            }
            let message =
                parsed.as_ref().and_then(|v| member(v, "message")).and_then(Value::as_str).unwrap_or_default();
            // A refusal that names no field may be about any of ours, in words of its
            // own ("must be 100 characters or fewer", "100文字以内"), or in a
            // framework's shape (`{"name": [...]}`): the minimal payload is worth its
            // one try. One that names only fields it does not mend is final.
            if length_fields.is_empty() && (about_length(message) || (named.is_empty() && status != 413)) {
                length_fields.push("*".to_owned());
            }
            // 422 is what many frameworks answer a request they cannot take; 413, one
            // too large for the server: the minimal payload is what it may take.
            // (`body`: no field of ours to cut down, a broadcast text included.)
            if status == 413 && length_fields.is_empty() {
                length_fields.push("body".to_owned());
            }
            if !matches!(status, 400 | 413 | 422) {
                length_fields.clear();
            }
            let mut reason = format!("{what}: reactio refused it ({shown} {})", describe_error(&response.body));
            if matches!(status, 401 | 403) {
                reason.push_str(", though the api key worked earlier in this run");
                if calls {
                    length_fields.push("notification_call".to_owned());
                }
            }
            Verdict::Fatal { reason, length_fields }
        }
    }
}

impl Request {
    /// A short label for messages: `lookup_open`, `create`, ...
    pub(crate) fn purpose_label(&self) -> &'static str {
        match self.purpose {
            Purpose::LookupOpen => "lookup (open)",
            Purpose::LookupPend => "lookup (pend)",
            Purpose::LookupClosed => "lookup (closed)",
            Purpose::Create => "create",
            Purpose::VerifyCreate => "verify after create",
            Purpose::Message => "timeline message",
            Purpose::Notify => "notification",
            Purpose::Close => "close",
        }
    }
}

#[cfg(test)]
#[path = "reactio_tests.rs"]
mod tests;
