//! `reactio`'s readers and classifiers against hand-picked answers: ids, times,
//! managers, error bodies in a 2xx, and which answers say a write was not taken.

use super::{parse_created_id, parse_list};
use crate::prelude::*;

#[test]
fn ids_past_i64_are_read_whole_and_ids_past_u64_not_at_all() {
    let body = r#"[{"id":9223372036854775807},{"id":9223372036854775808},{"id":18446744073709551615},
        {"id":18446744073709551616},{"id":1.5},{"id":-1},{"id":"9223372036854775809"},{"id":42.0}]"#;
    let (incidents, count) = parse_list(body, "open").unwrap_or_default();
    assert_eq!(count, 8);
    let ids: Vec<u64> = incidents.iter().map(|i| i.id).collect();
    assert_eq!(ids, [i64::MAX as u64, 1 << 63, u64::MAX, (1 << 63) + 1, 42]);
    assert_eq!(parse_created_id(r#"{"id":9223372036854775808}"#), Some(1 << 63));
    assert_eq!(parse_created_id(r#"{"id":18446744073709551616}"#), None);
}

#[test]
fn a_success_is_taken_for_an_error_only_when_its_body_says_one_and_names_nothing_made() {
    let said = super::error_said_in;
    for body in [
        r#"{"id":1,"errors":[{"field":"name"}]}"#,
        r#"{"type":"incident","name":"x"}"#,
        r#"{"error":null,"errors":[]}"#,
        r#"{"success":true,"error":{}}"#,
        r#"{"error":false}"#,
        r#"{"error":""}"#,
        r#"{"incident":{"id":1}}"#,
        r#"{}"#,
        "[]",
        "",
        "ok",
    ] {
        assert_eq!(said(body), None, "{body}");
    }
    // A key refused in a 200: the key's advice and exit, as a 401 gets.
    assert_eq!(said(r#"{"type":"authentication_error","message":"invalid api key"}"#), Some(401));
    assert_eq!(said(r#"{"error":{"code":401,"message":"Invalid API key"}}"#), Some(400));
    assert_eq!(said(r#"{"type":"internal_server_error","message":"something went wrong"}"#), Some(500));
    assert_eq!(said(r#"{"type":"validation_error","errors":[{"field":"name","code":"too_long"}]}"#), Some(400));
    assert_eq!(said(r#"{"errors":[{"field":"cause","code":"missing_field"}]}"#), Some(400));
}

#[test]
fn a_create_refused_for_its_name_in_use_is_told_from_one_refused_for_its_length() {
    let answer = |status: u16, body: &str| crate::step::Response::from_bytes(status, Vec::new(), body.as_bytes());
    let taken = |code: &str, field: &str| {
        format!(r#"{{"type":"validation_error","errors":[{{"field":"{field}","code":"{code}"}}]}}"#)
    };
    for (code, field) in [
        ("taken", "name"),
        ("Taken", "incident.name"),
        ("unique", "incident[name]"),
        ("already_exists", "name"),
        ("duplicate_name", "name"),
        ("not_unique", "name"),
    ] {
        for status in [400, 422] {
            assert!(super::name_in_use(&answer(status, &taken(code, field))), "{status} {field}: {code}");
        }
    }
    assert!(super::name_in_use(&answer(409, r#"{"type":"conflict","message":"locked"}"#)));
    for (status, body) in [
        (400, taken("too_long", "name")),
        (400, taken("taken", "message")),
        (400, taken("taken", "name_template")),
        (422, r#"{"type":"validation_error","message":"name has already been taken"}"#.to_owned()),
        (400, "name taken".to_owned()),
        (400, String::new()),
    ] {
        assert!(!super::name_in_use(&answer(status, &body)), "{status} {body}");
    }
}

#[test]
fn a_write_is_not_taken_when_refused_rate_limited_or_never_forwarded() {
    use crate::step::Response;
    let answer = |status: u16, headers: &[(&str, &str)], body: &str| Response {
        status,
        headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        body: body.to_owned(),
    };
    let reset = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
    let failed = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
    for (response, not_taken) in [
        (answer(503, &[], "<html>No server is available to handle this request.</html>"), true),
        (answer(503, &[], "no healthy upstream"), true),
        (answer(503, &[], failed), true),
        // HTTP/2 REFUSED_STREAM: the server says it did not process the request.
        (answer(503, &[], &reset.replace("connection termination", "remote refused stream reset")), true),
        (answer(503, &[], reset), false),
        (answer(503, &[], &format!(r#"{{"code":503,"message":"{reset}"}}"#)), false),
        (answer(503, &[("Retry-After", "1")], reset), true),
        (answer(503, &[], r#"{"type":"service_unavailable","message":"maintenance"}"#), true),
        (answer(429, &[], ""), true),
        (answer(408, &[], ""), true),
        (answer(400, &[], ""), true),
        (answer(502, &[], ""), false),
        (answer(504, &[], ""), false),
        (answer(500, &[], ""), false),
        (answer(201, &[], r#"{"id":1}"#), false),
        (answer(200, &[], r#"{"type":"validation_error","errors":[{"field":"x"}]}"#), true),
        (answer(200, &[], r#"{"type":"internal_server_error"}"#), false),
        (answer(200, &[], r#"{"type":"authentication_error"}"#), true),
    ] {
        assert_eq!(super::not_taken(&response), not_taken, "{response:?}");
    }
}

#[test]
fn times_are_read_as_epoch_seconds_in_every_form() {
    let body = r#"[{"id":1,"created_at":1764000061,"closed_at":"1764000121"},
        {"id":2,"created_at":"1764000061.5","closed_at":1764000121000},
        {"id":3,"created_at":"2025-11-24T16:01:01.000Z","closed_at":"2025-11-25T01:02:01+09:00"},
        {"id":4,"created_at":"2025-11-24 16:01:01 UTC","closed_at":"2025-11-25 01:02:01 +0900"},
        {"id":5,"created_at":"2025-11-24T16:01:01","closed_at":"2025-02-30T16:01:01Z"},
        {"id":6,"created_at":null,"closed_at":"yesterday"}]"#;
    let (incidents, _) = parse_list(body, "close").unwrap_or_default();
    let times: Vec<(u64, i64, Option<i64>)> = incidents.iter().map(|i| (i.id, i.created_at, i.closed_at)).collect();
    let read = (1_764_000_061, Some(1_764_000_121));
    assert_eq!(
        times,
        [
            (1, read.0, read.1),
            (2, read.0, read.1),
            (3, read.0, read.1),
            (4, read.0, read.1),
            (5, 0, None),
            (6, 0, None)
        ]
    );
}

#[test]
fn the_page_size_asked_for_is_the_one_counted() {
    assert_eq!(super::PER_PAGE_QUERY, format!("&per_page={}", super::PER_PAGE));
    assert_eq!(super::WIDE_QUERY, format!("&per_page={}", super::PER_PAGE * super::MAX_PAGES as usize));
}

#[test]
fn an_empty_manager_is_nobody() {
    let body = r#"[{"id":1,"manager":{}},{"id":2,"manager":{"id":7}},{"id":3,"manager":[]},
        {"id":4,"manager":5},{"id":5,"manager":null},{"id":6,"manager":"0"},{"id":7},
        {"id":8,"manager":{"id":null,"name":null}},{"id":9,"manager":{"id":0,"name":""}},
        {"id":10,"manager":{"id":null,"name":"hanako"}},{"id":11,"manager":[null]},{"id":12,"manager":true},
        {"id":13,"manager":0.0},{"id":14,"manager":{"id":-0.0}},{"id":15,"manager":" NULL "},
        {"id":16,"manager":"None"},{"id":17,"manager":"nonesuch"},{"id":18,"manager":0.5}]"#;
    let (incidents, count) = parse_list(body, "open").unwrap_or_default();
    assert_eq!(count, 18);
    let held: Vec<(u64, bool)> = incidents.iter().map(|i| (i.id, i.has_manager)).collect();
    assert_eq!(
        held,
        [
            (1, false),
            (2, true),
            (3, false),
            (4, true),
            (5, false),
            (6, false),
            (7, false),
            (8, false),
            (9, false),
            (10, true),
            (11, false),
            (12, true),
            (13, false),
            (14, false),
            (15, false),
            (16, false),
            (17, true),
            (18, true)
        ]
    );
}
