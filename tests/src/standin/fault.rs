//! Scripted faults: what to do instead of (or after) the normal answer, and which
//! requests a queued fault applies to. Queued faults are consumed in order: the first
//! rule whose matcher accepts the request is used (and its count decremented).

use crate::http::{WireResponse, split_target};
use serde_json::{Value, json};
use std::time::Duration;

/// Which requests a fault applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// The next request, whatever it is.
    Next,
    /// A method (`*` for any) and a path prefix (the query is not part of the path).
    Prefix {
        /// `GET`, `POST` or `*`.
        method: String,
        /// E.g. `/api/v1/incidents` (also matches `/api/v1/incidents/3/status`).
        path: String,
    },
    /// A method (`*` for any) and an exact path (without the query).
    Exact {
        /// `GET`, `POST` or `*`.
        method: String,
        /// E.g. `/api/v1/incidents`.
        path: String,
    },
}

impl Match {
    /// `Match::Prefix`.
    pub fn prefix(method: &str, path: &str) -> Match {
        Match::Prefix { method: method.to_owned(), path: path.to_owned() }
    }

    /// `Match::Exact`.
    pub fn exact(method: &str, path: &str) -> Match {
        Match::Exact { method: method.to_owned(), path: path.to_owned() }
    }

    /// Whether this matcher accepts a request.
    pub fn accepts(&self, method: &str, target: &str) -> bool {
        let (path, _) = split_target(target);
        match self {
            Match::Next => true,
            Match::Prefix { method: m, path: p } => (m == "*" || m == method) && path.starts_with(p.as_str()),
            Match::Exact { method: m, path: p } => (m == "*" || m == method) && path == p,
        }
    }
}

/// How to drop an answer after the real action was performed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterAct {
    /// Close the connection (FIN) without answering.
    Close,
    /// Reset the connection (RST, via `SO_LINGER` 0).
    Reset,
    /// Keep the connection open without answering for the duration (`None`: until
    /// the stand-in is dropped), then close it.
    Stall(Option<Duration>),
}

/// A canned answer: status, headers and raw body, sent as given (`Content-Length`
/// added unless the headers carry framing). A `Connection: close` header closes the
/// connection after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canned {
    /// The status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Canned {
    /// As a wire answer.
    pub fn to_wire(&self) -> WireResponse {
        WireResponse { status: self.status, headers: self.headers.clone(), body: self.body.clone() }
    }
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this instead; no state changes.
    Respond(Canned),
    /// Wait this long, then behave normally (a slow server within the deadline).
    Delay(Duration),
    /// Close the connection without answering (FIN); no state changes.
    Close,
    /// Reset the connection (RST via `SO_LINGER` 0); no state changes.
    Reset,
    /// Do not answer for the duration (`None`: until the stand-in is dropped), then
    /// close the connection; no state changes.
    Stall(Option<Duration>),
    /// Perform the real action, send the head at once, then the body `chunk` bytes
    /// at a time with `interval` between pieces.
    SlowBody {
        /// Bytes per piece (at least 1).
        chunk: usize,
        /// Pause before each piece.
        interval: Duration,
    },
    /// Perform the real action (the incident is created), then lose the answer: the
    /// "created server-side, timed out client-side" case.
    ActThen(AfterAct),
    /// Write these bytes (anything, not necessarily HTTP), then close.
    Raw(Vec<u8>),
}

impl Fault {
    /// Any status with headers and a raw body.
    pub fn respond(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Fault {
        Fault::Respond(Canned {
            status,
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            body: body.to_vec(),
        })
    }

    /// A JSON answer with the given status.
    pub fn json(status: u16, body: &Value) -> Fault {
        Fault::respond(status, &[("Content-Type", "application/json; charset=utf-8")], body.to_string().as_bytes())
    }

    /// 500 `internal_server_error`, as Reactio documents it.
    pub fn internal_error() -> Fault {
        Fault::json(500, &json!({ "type": "internal_server_error", "message": "internal server error" }))
    }

    /// 429 with `Retry-After: <retry_after>` (seconds or an HTTP date) and a JSON body.
    pub fn rate_limited(retry_after: &str) -> Fault {
        let body = json!({ "type": "rate_limit_error", "message": "too many requests" }).to_string();
        Fault::respond(
            429,
            &[("Content-Type", "application/json; charset=utf-8"), ("Retry-After", retry_after)],
            body.as_bytes(),
        )
    }

    /// 503 with `Retry-After` and a JSON body.
    pub fn unavailable(retry_after: &str) -> Fault {
        let body = json!({ "type": "service_unavailable", "message": "service unavailable" }).to_string();
        Fault::respond(
            503,
            &[("Content-Type", "application/json; charset=utf-8"), ("Retry-After", retry_after)],
            body.as_bytes(),
        )
    }

    /// 502 with an HTML body, as a proxy in front would answer.
    pub fn bad_gateway_html() -> Fault {
        Fault::respond(
            502,
            &[("Content-Type", "text/html")],
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n",
        )
    }

    /// 400 `validation_error` naming one field and code (e.g. `("name", "too_long")`).
    pub fn validation(field: &str, code: &str) -> Fault {
        Fault::json(
            400,
            &json!({
                "type": "validation_error",
                "message": format!("{field} is invalid"),
                "errors": [{ "field": field, "code": code }],
            }),
        )
    }

    /// A redirect (301/302/303/307/308) to `location`, with an empty body.
    pub fn redirect(status: u16, location: &str) -> Fault {
        Fault::respond(status, &[("Location", location)], b"")
    }

    /// `Stall(None)`: hang until the stand-in is dropped.
    pub fn hang() -> Fault {
        Fault::Stall(None)
    }
}

/// A queued fault with how many more requests it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Which requests.
    pub matcher: Match,
    /// What to do.
    pub fault: Fault,
    /// How many more matching requests get it.
    pub remaining: usize,
}

/// Takes the fault for a request from the queue, if any rule matches.
pub(super) fn take(queue: &mut Vec<Rule>, method: &str, target: &str) -> Option<Fault> {
    let index = queue.iter().position(|r| r.remaining > 0 && r.matcher.accepts(method, target))?;
    let rule = queue.get_mut(index)?;
    rule.remaining -= 1;
    let fault = rule.fault.clone();
    if rule.remaining == 0 {
        queue.remove(index);
    }
    Some(fault)
}
