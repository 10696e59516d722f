//! The Reactio API behaviour (routing, auth, validation, state changes), as pure
//! functions from a parsed request and the locked store to an answer. No sockets here.

use super::config::{Config, ListOrder};
use super::state::{STATUSES, Seed, Store};
use crate::http::{WireResponse, header_value, parse_query, split_target};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// One field error: `(field, code)`.
type FieldError = (&'static str, &'static str);

/// Builds Reactio's error body.
pub(super) fn error(status: u16, kind: &str, message: &str, errors: &[FieldError]) -> WireResponse {
    let errors: Vec<Value> = errors.iter().map(|(field, code)| json!({ "field": field, "code": code })).collect();
    let mut body = json!({ "type": kind, "message": message });
    if !errors.is_empty()
        && let Some(map) = body.as_object_mut()
    {
        map.insert("errors".into(), Value::Array(errors));
    }
    WireResponse::json(status, &body)
}

fn validation(errors: &[FieldError]) -> WireResponse {
    let message = match errors.first() {
        Some((field, "missing_field")) => format!("{field} is required"),
        Some((field, "too_long")) => format!("{field} is too long"),
        Some((field, _)) => format!("{field} is invalid"),
        None => "validation failed".to_owned(),
    };
    error(400, "validation_error", &message, errors)
}

/// A plan without phone calls ([`Config::without_phone_calls`]).
fn no_phone_calls() -> WireResponse {
    error(403, "forbidden", "phone calls are not available on this plan", &[])
}

fn not_found(what: &str) -> WireResponse {
    error(404, "not_found", &format!("{what} not found"), &[])
}

fn method_not_allowed(allow: &str) -> WireResponse {
    let mut answer = error(405, "method_not_allowed", "method not allowed", &[]);
    answer.headers.push(("Allow".into(), allow.into()));
    answer
}

/// The routes the API knows.
enum Route {
    Incidents,
    Incident(Option<u64>),
    Status(Option<u64>),
    Notifications,
    Messages,
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/api/v1/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let id = |s: &str| s.parse::<u64>().ok().filter(|n| *n > 0 && s.bytes().all(|b| b.is_ascii_digit()));
    match segments.as_slice() {
        ["incidents"] => Some(Route::Incidents),
        ["incidents", n] if !n.is_empty() => Some(Route::Incident(id(n))),
        ["incidents", n, "status"] if !n.is_empty() => Some(Route::Status(id(n))),
        ["notifications"] => Some(Route::Notifications),
        ["messages"] => Some(Route::Messages),
        _ => None,
    }
}

/// Answers one request with the full behaviour.
pub(super) fn handle(
    config: &Config,
    store: &mut Store,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> WireResponse {
    if header_value(headers, "x-api-key") != Some(config.api_key.as_str()) {
        return error(401, "authentication_error", "invalid api key", &[]);
    }
    let (path, query) = split_target(target);
    let Some(route) = route(path) else {
        return not_found("resource");
    };
    let (allow, allowed) = match route {
        Route::Incidents => ("GET, POST", method == "GET" || method == "POST"),
        Route::Incident(_) => ("GET", method == "GET"),
        _ => ("POST", method == "POST"),
    };
    if !allowed {
        return method_not_allowed(allow);
    }
    if method == "GET" {
        return match route {
            Route::Incident(id) => match id.and_then(|id| store.incident(id)) {
                Some(incident) => WireResponse::json(200, &incident.to_json(true)),
                None => not_found("incident"),
            },
            _ => list(config, store, query),
        };
    }
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return error(400, "validation_error", "request body must be a JSON object", &[]),
        Err(_) => return error(400, "validation_error", "request body is not valid JSON", &[]),
    };
    match route {
        Route::Incidents => create(config, store, &object),
        Route::Status(id) => status(store, id, &object),
        Route::Notifications => notify(config, store, &object),
        _ => message(config, store, &object),
    }
}

fn parse_int(pairs: &[(String, String)], name: &'static str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let (_, text) = pairs.iter().rev().find(|(k, _)| k == name)?;
    match text.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push((name, "invalid"));
            None
        }
    }
}

fn list(config: &Config, store: &Store, query: &str) -> WireResponse {
    let pairs = parse_query(query);
    let mut errors = Vec::new();
    let status = pairs.iter().rev().find(|(k, _)| k == "status").map(|(_, v)| v.as_str());
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        errors.push(("status", "invalid"));
    }
    let from = parse_int(&pairs, "from", &mut errors);
    let to = parse_int(&pairs, "to", &mut errors);
    let page = parse_int(&pairs, "page", &mut errors).unwrap_or(config.first_page);
    if page < config.first_page {
        errors.push(("page", "invalid"));
    }
    let per_page = parse_int(&pairs, "per_page", &mut errors).unwrap_or(config.default_per_page as i64);
    if per_page < 1 {
        errors.push(("per_page", "invalid"));
    }
    if !errors.is_empty() {
        return validation(&errors);
    }
    let per_page = usize::try_from(per_page).unwrap_or(usize::MAX).min(config.max_per_page);
    let skip = usize::try_from(page.saturating_sub(config.first_page)).unwrap_or(usize::MAX).saturating_mul(per_page);
    let matching = store.incidents.iter().filter(|i| {
        status.is_none_or(|s| i.status == s)
            && from.is_none_or(|f| i.created_at >= f)
            && to.is_none_or(|t| i.created_at <= t)
    });
    let page_items: Vec<Value> = match config.order {
        ListOrder::NewestFirst => matching.rev().skip(skip).take(per_page).map(|i| i.to_json(false)).collect(),
        ListOrder::OldestFirst => matching.skip(skip).take(per_page).map(|i| i.to_json(false)).collect(),
    };
    WireResponse::json(200, &Value::Array(page_items))
}

/// Reads an optional string field; `null` counts as absent, another type is invalid.
fn opt_str(body: &Map<String, Value>, field: &'static str, errors: &mut Vec<FieldError>) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push((field, "invalid"));
            None
        }
    }
}

fn opt_bool(body: &Map<String, Value>, field: &'static str, errors: &mut Vec<FieldError>) -> bool {
    match body.get(field) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push((field, "invalid"));
            false
        }
    }
}

fn check_len(text: Option<&str>, limit: Option<usize>, field: &'static str, errors: &mut Vec<FieldError>) {
    if let (Some(text), Some(limit)) = (text, limit)
        && text.chars().count() > limit
    {
        errors.push((field, "too_long"));
    }
}

fn required_id(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<u64> {
    match body.get("incident_id") {
        None | Some(Value::Null) => {
            errors.push(("incident_id", "missing_field"));
            None
        }
        Some(v) => {
            let id = v.as_u64();
            if id.is_none() {
                errors.push(("incident_id", "invalid"));
            }
            id
        }
    }
}

fn required_text(body: &Map<String, Value>, field: &'static str, errors: &mut Vec<FieldError>) -> Option<String> {
    match body.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errors.push((field, "missing_field"));
            None
        }
        Some(_) => {
            errors.push((field, "invalid"));
            None
        }
    }
}

fn create(config: &Config, store: &mut Store, body: &Map<String, Value>) -> WireResponse {
    let mut errors = Vec::new();
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => {
            errors.push(("name", "missing_field"));
            None
        }
    };
    check_len(name.as_deref(), config.limits.name, "name", &mut errors);
    let status = opt_str(body, "status", &mut errors).unwrap_or_else(|| "open".to_owned());
    if !STATUSES.contains(&status.as_str()) {
        errors.push(("status", "invalid"));
    }
    let topics = match body.get("topics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(_) => {
            errors.push(("topics", "invalid"));
            Vec::new()
        }
    };
    let text = opt_str(body, "notification_text", &mut errors);
    check_len(text.as_deref(), config.limits.notification_text, "notification_text", &mut errors);
    let call = opt_bool(body, "notification_call", &mut errors);
    if call && !config.phone_calls {
        return no_phone_calls();
    }
    let first_message = opt_str(body, "message", &mut errors);
    check_len(first_message.as_deref(), config.limits.message, "message", &mut errors);
    let mut echoed = Vec::new();
    for field in ["detection", "cause", "cause_supplement", "point", "scale", "pend_text", "close_text"] {
        echoed.push(opt_str(body, field, &mut errors));
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return validation(&errors);
    };
    if config.unique_names && store.incidents.iter().any(|i| i.name == name) {
        return error(409, "conflict", "name has already been taken", &[("name", "taken")]);
    }
    let seed = Seed { name, status, manager: None, topics, created_at: None, create_body: Value::Object(body.clone()) };
    let id = store.insert(seed);
    if let Some(incident) = store.incident_mut(id) {
        let mut echoed = echoed.into_iter();
        for slot in [
            &mut incident.detection,
            &mut incident.cause,
            &mut incident.cause_supplement,
            &mut incident.point,
            &mut incident.scale,
            &mut incident.pend_text,
            &mut incident.close_text,
        ] {
            *slot = echoed.next().flatten();
        }
    }
    if let Some(first) = first_message.filter(|m| !m.is_empty()) {
        store.post(id, first);
    }
    let notification = text.filter(|t| !t.is_empty()).map(|t| store.notify(id, t, call));
    let mut answer = store.incident(id).map(|i| i.to_json(true)).unwrap_or(Value::Null);
    if let (Some(notification), Some(map)) = (notification, answer.as_object_mut()) {
        map.insert("notifications".into(), notification.to_json());
    }
    WireResponse::json(201, &answer)
}

fn status(store: &mut Store, id: Option<u64>, body: &Map<String, Value>) -> WireResponse {
    let new_status = match body.get("status") {
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => s.clone(),
        None | Some(Value::Null) => return validation(&[("status", "missing_field")]),
        Some(_) => return validation(&[("status", "invalid")]),
    };
    let Some(id) = id.filter(|id| store.incident(*id).is_some()) else {
        return not_found("incident");
    };
    let now = store.now();
    match store.incident_mut(id) {
        Some(incident) => {
            incident.set_status(&new_status, now);
            WireResponse::json(200, &incident.to_json(true))
        }
        None => not_found("incident"),
    }
}

fn notify(config: &Config, store: &mut Store, body: &Map<String, Value>) -> WireResponse {
    let mut errors = Vec::new();
    let id = required_id(body, &mut errors);
    let text = required_text(body, "notification_text", &mut errors);
    check_len(text.as_deref(), config.limits.notification_text, "notification_text", &mut errors);
    let call = opt_bool(body, "notification_call", &mut errors);
    if call && !config.phone_calls {
        return no_phone_calls();
    }
    let (Some(id), Some(text), true) = (id, text, errors.is_empty()) else {
        return validation(&errors);
    };
    if store.incident(id).is_none() {
        return not_found("incident");
    }
    WireResponse::json(201, &store.notify(id, text, call).to_json())
}

fn message(config: &Config, store: &mut Store, body: &Map<String, Value>) -> WireResponse {
    let mut errors = Vec::new();
    let id = required_id(body, &mut errors);
    let text = required_text(body, "message", &mut errors);
    check_len(text.as_deref(), config.limits.message, "message", &mut errors);
    let (Some(id), Some(text), true) = (id, text, errors.is_empty()) else {
        return validation(&errors);
    };
    if store.incident(id).is_none() {
        return not_found("incident");
    }
    WireResponse::json(201, &store.post(id, text).to_json())
}

static FAST_INCIDENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    json!({
        "id": 1, "name": "standin", "status": "open", "manager": null,
        "created_at": 0, "updated_at": 0, "pended_at": null, "closed_at": null,
        "topics": [], "files": [], "users": [],
    })
    .to_string()
    .into_bytes()
});

/// The fast mode's canned answer: `[]` for a GET list, a fixed incident otherwise
/// (201 for POST, 200 for GET of one incident).
pub(super) fn fast(method: &str, target: &str) -> WireResponse {
    let (path, _) = split_target(target);
    let headers = vec![("Content-Type".to_owned(), "application/json; charset=utf-8".to_owned())];
    match (method, route(path)) {
        ("GET", Some(Route::Incidents)) => WireResponse { status: 200, headers, body: b"[]".to_vec() },
        ("GET", _) => WireResponse { status: 200, headers, body: FAST_INCIDENT.clone() },
        _ => WireResponse { status: 201, headers, body: FAST_INCIDENT.clone() },
    }
}
