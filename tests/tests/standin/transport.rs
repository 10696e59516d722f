//! HTTP transport: keep-alive on one connection, `Connection: close`, chunked and
//! `Expect: 100-continue` bodies, malformed requests, recording, fast mode.

use super::setup;
use sensu_reactio_tests::client::{Client, json_of};
use sensu_reactio_tests::standin::{Config, Mode};
use serde_json::json;
use std::time::Duration;

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let (server, mut client) = setup();
    for i in 0..5 {
        let answer = client.post_json("/api/v1/incidents", &json!({"name": format!("n{i}")})).unwrap();
        assert_eq!(answer.status, 201);
        assert!(answer.headers.iter().all(|(n, _)| n != "connection"), "no Connection: close on keep-alive");
    }
    assert_eq!(client.get("/api/v1/incidents").unwrap().status, 200);
    assert_eq!(server.connection_count(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().all(|r| r.connection == 1));
    assert_eq!(requests.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn connection_close_is_honoured() {
    let (server, mut client) = setup();
    let answer = client.request("GET", "/api/v1/incidents", &[("Connection", "close")], b"").unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.headers.iter().any(|(n, v)| n == "connection" && v == "close"));
    client.stream().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(client.read_to_end().unwrap(), b"", "the server closed the connection");
    // HTTP/1.0 without keep-alive closes too.
    let mut old = Client::connect(server.addr()).unwrap();
    old.send_raw(format!("GET /api/v1/incidents HTTP/1.0\r\nX-Api-Key: {}\r\n\r\n", server.api_key()).as_bytes())
        .unwrap();
    assert_eq!(old.read_response().unwrap().status, 200);
    assert_eq!(old.read_to_end().unwrap(), b"");
}

#[test]
fn chunked_and_expect_continue_bodies_are_accepted() {
    let (server, mut client) = setup();
    let key = server.api_key();
    let raw = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nX-Api-Key: {key}\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/json\r\n\r\n5\r\n{{\"nam\r\nA\r\ne\": \"chu\"}}\r\n0\r\n\r\n"
    );
    client.send_raw(raw.as_bytes()).unwrap();
    let answer = client.read_response().unwrap();
    assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(json_of(&answer)["name"], "chu");
    assert!(server.requests()[0].chunked);

    let body = br#"{"name":"continued"}"#;
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nX-Api-Key: {key}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    client.send_raw(head.as_bytes()).unwrap();
    assert_eq!(client.read_bytes(25).unwrap(), b"HTTP/1.1 100 Continue\r\n\r\n");
    client.send_raw(body).unwrap();
    assert_eq!(json_of(&client.read_response().unwrap())["name"], "continued");
}

#[test]
fn malformed_requests_get_400_and_a_closed_connection() {
    let (server, mut client) = setup();
    client.send_raw(b"\x16\x03\x01\x02\x00 not http\r\n\r\n").unwrap();
    let answer = client.read_response().unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(client.read_to_end().unwrap(), b"");
    assert!(server.requests().is_empty());
}

#[test]
fn requests_are_recorded_with_lowercase_headers_query_and_body() {
    let (server, mut client) = setup();
    client.request("GET", "/api/v1/incidents?status=open&page=2", &[("Accept", "application/json")], b"").unwrap();
    client.post_json("/api/v1/messages", &json!({"incident_id": 1, "message": "m"})).unwrap();
    let requests = server.requests();
    let get = &requests[0];
    assert_eq!(get.line(), "GET /api/v1/incidents");
    assert_eq!(get.target, "/api/v1/incidents?status=open&page=2");
    assert_eq!(get.query_param("page").as_deref(), Some("2"));
    assert_eq!(get.header("ACCEPT"), Some("application/json"));
    assert!(get.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
    assert_eq!(get.header("x-api-key"), Some(server.api_key().as_str()));
    assert_eq!(requests[1].json().unwrap()["message"], "m");
    assert!(requests[1].at >= get.at);
    assert_eq!(server.request_lines(), ["GET /api/v1/incidents", "POST /api/v1/messages"]);
    server.clear_requests();
    assert!(server.requests().is_empty());
    assert_eq!(server.request_count(), 2);
}

#[test]
fn wait_for_requests_times_out_and_succeeds() {
    let (server, mut client) = setup();
    assert!(!server.wait_for_requests(1, Duration::from_millis(50)));
    client.get("/api/v1/incidents").unwrap();
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));
}

#[test]
fn fast_mode_counts_and_answers_canned_bodies() {
    let server = Config::default().mode(Mode::Fast).start().unwrap();
    let mut client = Client::connect(server.addr()).unwrap();
    let list = client.get("/api/v1/incidents?status=open").unwrap();
    assert_eq!((list.status, list.body.as_slice()), (200, &b"[]"[..]));
    let created = client.post_json("/api/v1/incidents", &json!({"name": "x"})).unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(json_of(&created)["id"], 1);
    assert_eq!(client.post_json("/api/v1/messages", &json!({})).unwrap().status, 201);
    assert_eq!(server.request_count(), 3);
    assert!(server.requests().is_empty(), "fast mode does not record");
    assert!(server.incidents().is_empty());
    server.set_mode(Mode::Full);
    assert_eq!(client.get("/api/v1/incidents").unwrap().status, 401, "full mode checks the key again");
}
