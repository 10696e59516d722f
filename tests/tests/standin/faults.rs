//! Scripted faults: canned answers, matching and consumption, resets, closes, stalls,
//! slow bodies, "acted then lost the answer", redirects, raw bytes.

use super::setup;
use sensu_reactio_tests::client::{Client, json_of};
use sensu_reactio_tests::standin::{AfterAct, Fault, Match};
use serde_json::json;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

fn header<'a>(answer: &'a sensu_reactio_tests::http::WireResponse, name: &str) -> Option<&'a str> {
    sensu_reactio_tests::http::header_value(&answer.headers, name)
}

#[test]
fn canned_answers_are_consumed_in_order_by_matching_requests() {
    let (server, mut client) = setup();
    server.fault_on("POST", "/api/v1/incidents", Fault::rate_limited("1"));
    server.fault_on("POST", "/api/v1/incidents", Fault::internal_error());
    server.push_fault(Match::exact("GET", "/api/v1/incidents"), Fault::bad_gateway_html());
    assert_eq!(server.pending_faults(), 3);

    // A GET of one incident does not match the exact GET rule.
    assert_eq!(client.get("/api/v1/incidents/1").unwrap().status, 404);
    let list = client.get("/api/v1/incidents?status=open").unwrap();
    assert_eq!(list.status, 502);
    assert_eq!(header(&list, "content-type"), Some("text/html"));
    assert!(String::from_utf8_lossy(&list.body).contains("<h1>502 Bad Gateway</h1>"));

    let first = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap();
    assert_eq!((first.status, header(&first, "retry-after")), (429, Some("1")));
    let second = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap();
    assert_eq!(second.status, 500);
    assert_eq!(json_of(&second)["type"], "internal_server_error");
    assert!(server.incidents().is_empty(), "canned answers change nothing");
    let third = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap();
    assert_eq!(third.status, 201);
    assert_eq!(server.pending_faults(), 0);
    assert_eq!(server.connection_count(), 1, "canned answers keep the connection alive");
    assert_eq!(server.requests().len(), 5, "faulted requests are recorded too");
}

#[test]
fn next_request_and_repeated_faults() {
    let (server, mut client) = setup();
    server.push_fault_times(Match::prefix("*", "/api/v1/"), Fault::validation("name", "too_long"), 2);
    server.fault_next(Fault::json(418, &json!({"teapot": true})));
    // The first queued rule that matches wins: the prefix rule, twice.
    for _ in 0..2 {
        let answer = client.get("/api/v1/incidents").unwrap();
        assert_eq!(answer.status, 400);
        assert_eq!(json_of(&answer)["errors"], json!([{"field": "name", "code": "too_long"}]));
    }
    assert_eq!(client.get("/anything").unwrap().status, 418);
    assert_eq!(client.get("/api/v1/incidents").unwrap().status, 200);
    server.fault_next(Fault::internal_error());
    server.clear_faults();
    assert_eq!(client.get("/api/v1/incidents").unwrap().status, 200);
}

#[test]
fn close_and_reset_end_the_connection_without_an_answer() {
    let (server, mut client) = setup();
    server.fault_next(Fault::Close);
    let err = client.get("/api/v1/incidents").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");

    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    server.fault_next(Fault::Reset);
    let err = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(server.incidents().is_empty());
}

#[test]
fn act_then_lose_the_answer_creates_server_side() {
    let (server, mut client) = setup();
    server.fault_on("POST", "/api/v1/incidents", Fault::ActThen(AfterAct::Reset));
    let err = client.post_json("/api/v1/incidents", &json!({"name": "uncertain"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(server.incidents()[0].name, "uncertain");

    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    client.stream().set_read_timeout(Some(Duration::from_millis(150))).unwrap();
    server.fault_on("POST", "/api/v1/messages", Fault::ActThen(AfterAct::Stall(None)));
    let err = client.post_json("/api/v1/messages", &json!({"incident_id": 1, "message": "m"})).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn stall_times_out_the_client_then_closes() {
    let (server, mut client) = setup();
    server.fault_next(Fault::Stall(Some(Duration::from_millis(400))));
    client.stream().set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let err = client.get("/api/v1/incidents").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    client.stream().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    assert_eq!(client.read_to_end().unwrap(), b"");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn hang_ends_when_the_server_is_dropped() {
    let (server, mut client) = setup();
    server.fault_next(Fault::hang());
    client.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let result = client.get("/api/v1/incidents");
        (result.map(|a| a.status), started.elapsed())
    });
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));
    let dropped = Instant::now();
    drop(server);
    assert!(dropped.elapsed() < Duration::from_secs(2), "drop does not wait for the stall");
    let (result, elapsed) = waiter.join().unwrap();
    assert!(result.is_err(), "no answer, only a closed connection");
    assert!(elapsed < Duration::from_secs(5));
}

#[test]
fn delay_then_answer_normally() {
    let (server, mut client) = setup();
    server.fault_next(Fault::Delay(Duration::from_millis(120)));
    let started = Instant::now();
    let answer = client.post_json("/api/v1/incidents", &json!({"name": "late"})).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(120));
    assert_eq!(answer.status, 201);
    assert_eq!(server.incidents().len(), 1);
}

#[test]
fn slow_body_arrives_whole_but_late() {
    let (server, mut client) = setup();
    server.fault_next(Fault::SlowBody { chunk: 100, interval: Duration::from_millis(30) });
    let started = Instant::now();
    let answer = client.post_json("/api/v1/incidents", &json!({"name": "slow"})).unwrap();
    let pieces = answer.body.len().div_ceil(100) as u32;
    assert!(pieces >= 2, "the body is long enough to be split");
    assert!(started.elapsed() >= Duration::from_millis(30) * pieces);
    assert_eq!(json_of(&answer)["name"], "slow");
    assert_eq!(client.get("/api/v1/incidents/1").unwrap().status, 200, "still keep-alive after");
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn redirects_and_raw_bytes() {
    let (server, mut client) = setup();
    server.fault_next(Fault::redirect(307, "http://127.0.0.1:9/elsewhere"));
    let answer = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap();
    assert_eq!((answer.status, header(&answer, "location")), (307, Some("http://127.0.0.1:9/elsewhere")));
    assert!(server.incidents().is_empty());

    server.fault_next(Fault::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()));
    let err = client.get("/api/v1/incidents").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "a truncated body: {err}");

    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    server.fault_next(Fault::Raw(b"garbage".to_vec()));
    client.send_raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(client.read_to_end().unwrap(), b"garbage");
}
