//! An in-process Reactio model for scenario tests: answers the core's requests from a
//! list of incidents, with scripted faults, and records what it was asked.

use serde_json::{Value, json};

use sensu_reactio_core::{Answer, Failure, FailureKind, Method, Purpose, Request, Response};

/// An incident as the model keeps it.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub(crate) struct Incident {
    pub(crate) id: u64,
    pub(crate) name: String,
    #[serde(default = "open")]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) manager: Option<u64>,
    #[serde(default)]
    pub(crate) created_at: i64,
    /// Set when the model closes it (a scenario's own incidents may give one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) closed_at: Option<i64>,
}

fn open() -> String {
    "open".into()
}

/// A scripted fault: the next request with this purpose (or any, when `purpose` is
/// absent) gets this answer instead of the model's.
#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct Fault {
    #[serde(default)]
    pub(crate) purpose: Option<Purpose>,
    #[serde(default)]
    pub(crate) status: Option<u16>,
    #[serde(default)]
    pub(crate) body: String,
    #[serde(default)]
    pub(crate) headers: Vec<(String, String)>,
    /// A transport failure instead of an answer.
    #[serde(default)]
    pub(crate) failure: Option<FailureKind>,
    /// Apply the request to the model first (e.g. created, then the answer is lost).
    #[serde(default)]
    pub(crate) after_applying: bool,
    /// Apply the request to the model only just before the n-th request after it is
    /// answered (a server slower than the timeout: the create lands late).
    #[serde(default)]
    pub(crate) applied_later: Option<usize>,
    /// Let this many matching requests through first (the fault hits a later one).
    #[serde(default)]
    pub(crate) skip: usize,
}

/// Liberties a server may take in paging, where reactio-api.md says nothing.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Paging {
    /// An empty page past the first answers this status (Django REST framework: 404
    /// "Invalid page.").
    #[serde(default)]
    pub(crate) past_end_status: Option<u16>,
    /// A `per_page` above this answers 400 (0: any is taken, capped by `page_cap`).
    #[serde(default)]
    pub(crate) max_per_page: usize,
    /// No incidents is written `null`, not `[]`.
    #[serde(default)]
    pub(crate) empty_as_null: bool,
    /// Pages are numbered from 0 (`page=1` is the second page); else from 1.
    #[serde(default)]
    pub(crate) from_zero: bool,
    /// A listing that names no `page` answers 400.
    #[serde(default)]
    pub(crate) page_required: bool,
    /// `page` is not read: every page is the first (`LIMIT` without `OFFSET`).
    #[serde(default)]
    pub(crate) ignores_page: bool,
    /// `from` is not read: a listing holds incidents of any age.
    #[serde(default)]
    pub(crate) ignores_from: bool,
}

/// Liberties a server may take in how it writes a listing, where reactio-api.md says
/// one thing and a stand-in written from it (or a framework's defaults) does another.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Style {
    /// Times as ISO 8601 (`2025-11-24T16:00:00Z`: Rails' and Django's default), not
    /// epoch seconds.
    #[serde(default)]
    pub(crate) iso_times: bool,
    /// With `iso_times`: written as Rails writes them in a zone this many minutes east
    /// of UTC, with milliseconds (`2025-11-25T01:01:01.000+09:00`); 0: `Z`, no fraction.
    #[serde(default)]
    pub(crate) iso_offset_minutes: i64,
    /// Times as decimals written as strings (`"1764300000.123"`: a `Decimal` or a
    /// float through `str()`).
    #[serde(default)]
    pub(crate) decimal_string_times: bool,
    /// Times this many seconds ahead of the server's own clock (a local wall clock,
    /// JST, written as if it were UTC).
    #[serde(default)]
    pub(crate) times_ahead_s: i64,
    /// Statuses in capitals (`OPEN`).
    #[serde(default)]
    pub(crate) status_upper: bool,
    /// No `status` member at all (the listing was asked for one).
    #[serde(default)]
    pub(crate) no_status: bool,
    /// The list wrapped in an object under this member (`incidents`, `data`).
    #[serde(default)]
    pub(crate) envelope: Option<String>,
    /// A UTF-8 byte order mark before the JSON.
    #[serde(default)]
    pub(crate) bom: bool,
    /// An empty listing answered 204 with no body.
    #[serde(default)]
    pub(crate) empty_as_204: bool,
}

impl Style {
    /// One listed incident as this server writes it.
    fn incident(&self, i: &Incident) -> Value {
        let mut v = serde_json::to_value(i).unwrap_or_default();
        if self.iso_times {
            for key in ["created_at", "closed_at"] {
                if let Some(t) = v.get(key).and_then(Value::as_i64) {
                    v[key] = json!(iso(t, self.iso_offset_minutes));
                }
            }
        }
        for key in ["created_at", "closed_at"] {
            if let Some(t) = v.get(key).and_then(Value::as_i64) {
                let t = t + self.times_ahead_s;
                v[key] = if self.decimal_string_times { json!(format!("{t}.123")) } else { json!(t) };
            }
        }
        if self.status_upper {
            v["status"] = json!(i.status.to_uppercase());
        }
        if self.no_status
            && let Some(o) = v.as_object_mut()
        {
            o.remove("status");
        }
        v
    }

    /// A listing's answer.
    fn list(&self, list: &[&Incident], empty_as_null: bool) -> Answer {
        if list.is_empty() && self.empty_as_204 {
            return Answer::Response(Response { status: 204, headers: Vec::new(), body: String::new() });
        }
        let mut body = match list.is_empty() && empty_as_null {
            true => Value::Null,
            false => Value::Array(list.iter().map(|i| self.incident(i)).collect()),
        };
        if let Some(member) = &self.envelope {
            body = json!({ member.as_str(): body });
        }
        let bom = if self.bom { "\u{feff}" } else { "" };
        Answer::Response(Response { status: 200, headers: Vec::new(), body: format!("{bom}{body}") })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) incidents: Vec<Incident>,
    pub(crate) faults: Vec<Fault>,
    /// The server's page size cap (Reactio's is unknown; tests vary it).
    pub(crate) page_cap: usize,
    pub(crate) now: i64,
    pub(crate) notifications: Vec<Value>,
    pub(crate) messages: Vec<Value>,
    /// Listings hold every incident whatever their `status` filter asks for.
    pub(crate) ignore_status_filter: bool,
    pub(crate) paging: Paging,
    pub(crate) style: Style,
    /// Requests applied late: (requests still to come before it lands, request).
    pub(crate) landing: Vec<(usize, Request)>,
    /// Seconds the model's clock is ahead of `now` (the handler's); when set, its
    /// listings carry a `Date` header.
    pub(crate) clock_ahead: i64,
}

/// An HTTP date (IMF-fixdate) of epoch seconds `t`.
fn http_date(t: i64) -> String {
    let (weekday, day, month, year, secs) = civil(t);
    let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_name = names[(month - 1) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT", secs / 3600, secs / 60 % 60, secs % 60)
}

/// An ISO 8601 time of epoch seconds `t`: in UTC (`Z`), or at an offset of
/// `offset_minutes` east with milliseconds, as Rails writes it.
fn iso(t: i64, offset_minutes: i64) -> String {
    let (_, day, month, year, secs) = civil(t + offset_minutes * 60);
    let time = format!("{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if offset_minutes == 0 {
        return format!("{time}Z");
    }
    let (sign, east) = if offset_minutes < 0 { ('-', -offset_minutes) } else { ('+', offset_minutes) };
    format!("{time}.000{sign}{:02}:{:02}", east / 60, east % 60)
}

/// Weekday, day, month (1-12), year and seconds into the day of epoch seconds `t`.
fn civil(t: i64) -> (&'static str, i64, i64, i64, i64) {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    (weekday, day, month, year, secs)
}

fn query(path: &str, name: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_owned()))
}

fn respond(status: u16, body: Value) -> Answer {
    Answer::Response(Response { status, headers: Vec::new(), body: body.to_string() })
}

impl Model {
    pub(crate) fn answer(&mut self, request: &Request) -> Answer {
        for (left, _) in &mut self.landing {
            *left = left.saturating_sub(1);
        }
        let (landed, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.landing).into_iter().partition(|(n, _)| *n == 0);
        self.landing = waiting;
        for (_, late) in landed {
            let _ = self.apply(&late);
        }
        if let Some(i) = self.faults.iter().position(|f| f.purpose.is_none_or(|p| p == request.purpose)) {
            if let Some(waiting) = self.faults.get_mut(i).filter(|f| f.skip > 0) {
                waiting.skip -= 1;
                return self.apply(request);
            }
            let fault = self.faults.remove(i);
            if fault.after_applying {
                let _ = self.apply(request);
            }
            if let Some(n) = fault.applied_later {
                self.landing.push((n, request.clone()));
            }
            if let Some(kind) = fault.failure {
                return Answer::Failure(Failure { kind, detail: "scripted".into() });
            }
            return Answer::Response(Response {
                status: fault.status.unwrap_or(500),
                headers: fault.headers,
                body: fault.body,
            });
        }
        self.apply(request)
    }

    fn apply(&mut self, request: &Request) -> Answer {
        let path = request.path.split('?').next().unwrap_or_default().to_owned();
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        match (request.method, path.as_str()) {
            (Method::Get, "/api/v1/incidents") => {
                let status = query(&request.path, "status");
                let first = usize::from(!self.paging.from_zero);
                let page = query(&request.path, "page").and_then(|p| p.parse::<usize>().ok());
                if page.is_none() && self.paging.page_required {
                    let error = json!({"type": "validation_error", "message": "page is required",
                        "errors": [{"field": "page", "code": "missing_field"}]});
                    return respond(400, error);
                }
                let page = if self.paging.ignores_page { 0 } else { page.unwrap_or(first).max(first) - first };
                let asked: Option<usize> = query(&request.path, "per_page").and_then(|p| p.parse().ok());
                let max = self.paging.max_per_page;
                if asked.is_some_and(|n| max != 0 && n > max) {
                    let error = json!({"type": "validation_error", "message": format!("per_page must be at most {max}"),
                        "errors": [{"field": "per_page", "code": "too_large"}]});
                    return respond(400, error);
                }
                let per_page = asked.unwrap_or(if max == 0 { 20 } else { max });
                let per_page = per_page.min(if self.page_cap == 0 { usize::MAX } else { self.page_cap });
                let from: Option<i64> = query(&request.path, "from").and_then(|p| p.parse().ok());
                let list: Vec<&Incident> = self
                    .incidents
                    .iter()
                    .rev()
                    .filter(|i| self.ignore_status_filter || status.as_deref().is_none_or(|s| s == i.status))
                    .filter(|i| self.paging.ignores_from || from.is_none_or(|f| i.created_at >= f))
                    .skip(page * per_page)
                    .take(per_page)
                    .collect();
                if list.is_empty()
                    && let Some(status) = self.paging.past_end_status.filter(|_| page > 0)
                {
                    return respond(status, json!({"detail": "Invalid page."}));
                }
                let mut answer = self.style.list(&list, self.paging.empty_as_null);
                if let Answer::Response(r) = &mut answer
                    && self.clock_ahead != 0
                {
                    r.headers.push(("date".into(), http_date(self.now + self.clock_ahead)));
                }
                answer
            }
            (Method::Post, "/api/v1/incidents") => {
                let id = self.incidents.iter().map(|i| i.id).max().unwrap_or(0) + 1;
                let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let created_at = self.now + self.clock_ahead;
                let incident = Incident { id, name, status: "open".into(), manager: None, created_at, closed_at: None };
                self.incidents.push(incident.clone());
                respond(201, json!({"id": id, "name": incident.name, "status": "open", "created_at": created_at}))
            }
            (Method::Post, "/api/v1/messages") => {
                self.messages.push(body);
                respond(201, json!({"id": self.messages.len()}))
            }
            (Method::Post, "/api/v1/notifications") => {
                self.notifications.push(body);
                respond(201, json!({"id": self.notifications.len()}))
            }
            (Method::Post, p) if p.starts_with("/api/v1/incidents/") && p.ends_with("/status") => {
                let id: u64 =
                    p.trim_start_matches("/api/v1/incidents/").trim_end_matches("/status").parse().unwrap_or(0);
                let status = body.get("status").and_then(Value::as_str).unwrap_or("close").to_owned();
                match self.incidents.iter_mut().find(|i| i.id == id) {
                    Some(i) => {
                        i.closed_at = (status == "close").then_some(self.now + self.clock_ahead);
                        i.status = status;
                        respond(200, json!({"id": id, "status": i.status}))
                    }
                    None => respond(404, json!({"type": "not_found", "message": "no such incident"})),
                }
            }
            _ => respond(404, json!({"type": "not_found", "message": "unknown path"})),
        }
    }
}

#[test]
fn http_dates_are_written_as_rfc_9110_has_them() {
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(1_764_000_000), "Mon, 24 Nov 2025 16:00:00 GMT");
    assert_eq!(iso(1_764_000_000, 0), "2025-11-24T16:00:00Z");
    assert_eq!(iso(1_764_000_000, 540), "2025-11-25T01:00:00.000+09:00");
    assert_eq!(iso(1_764_000_000, -330), "2025-11-24T10:30:00.000-05:30");
}
