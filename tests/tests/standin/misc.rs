//! The proxy stand-in, the binary locator, and the `reactio-standin` binary.

use sensu_reactio_tests::bins::workspace_bin;
use sensu_reactio_tests::client::{Client, json_of};
use sensu_reactio_tests::proxy::{ProxyMode, ProxyStandin};
use sensu_reactio_tests::standin::Standin;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn proxy_forwards_absolute_form_to_loopback_and_records() {
    let server = Standin::new().unwrap();
    let proxy = ProxyStandin::start(ProxyMode::Forward).unwrap();
    let mut client = Client::connect(proxy.addr()).unwrap();
    let target = format!("{}/api/v1/incidents", server.url());
    let key = server.api_key();
    let body = json!({"name": "via proxy"}).to_string();
    let answer = client
        .request(
            "POST",
            &target,
            &[("X-Api-Key", key.as_str()), ("Proxy-Authorization", "Basic eDp5")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(answer.status, 201);
    assert_eq!(json_of(&answer)["name"], "via proxy");
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, target);
    assert_eq!(seen[0].header("proxy-authorization"), Some("Basic eDp5"));
    let upstream = &server.requests()[0];
    assert_eq!(upstream.target, "/api/v1/incidents", "forwarded in origin form");
    assert!(upstream.header("proxy-authorization").is_none());
}

#[test]
fn proxy_refuses_non_loopback_and_can_answer_502() {
    let proxy = ProxyStandin::start(ProxyMode::Forward).unwrap();
    let mut client = Client::connect(proxy.addr()).unwrap();
    let answer = client.get("http://example.reactio.jp/api/v1/incidents").unwrap();
    assert_eq!(answer.status, 502);
    assert!(String::from_utf8_lossy(&answer.body).contains("<html>"));

    proxy.set_mode(ProxyMode::BadGateway);
    let server = Standin::new().unwrap();
    let mut client = Client::connect(proxy.addr()).unwrap();
    let answer = client.get(&format!("{}/api/v1/incidents", server.url())).unwrap();
    assert_eq!(answer.status, 502);
    assert_eq!(server.request_count(), 0);
    assert_eq!(proxy.requests().len(), 2);
}

#[test]
fn proxy_tunnels_connect_to_loopback() {
    let server = Standin::new().unwrap();
    let proxy = ProxyStandin::start(ProxyMode::Forward).unwrap();
    let mut client = Client::connect(proxy.addr()).unwrap();
    let authority = server.authority();
    client.send_raw(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes()).unwrap();
    let established = client.read_bytes(39).unwrap();
    assert_eq!(established, b"HTTP/1.1 200 Connection established\r\n\r\n");
    let key = server.api_key();
    let answer = client.request("GET", "/api/v1/incidents", &[("X-Api-Key", key.as_str())], b"").unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"[]"[..]));
    assert_eq!(proxy.requests()[0].method, "CONNECT");
}

#[test]
fn missing_binary_is_an_error_naming_the_build_command() {
    let err = workspace_bin("no-such-binary-here").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cargo build") && text.contains("--bin no-such-binary-here"), "{text}");
    // The stand-in binary of this package is built for these tests, so it is found.
    let found = workspace_bin("reactio-standin").unwrap();
    assert!(found.is_file());
}

#[test]
fn standin_binary_prints_its_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reactio-standin"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--api-key", "k1", "--exit-on-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim();
    let addr = url.strip_prefix("http://").unwrap().parse().unwrap();
    let mut client = Client::with_key(addr, "k1").unwrap();
    assert_eq!(client.post_json("/api/v1/incidents", &json!({"name": "n"})).unwrap().status, 201);
    assert_eq!(client.get("/api/v1/incidents/1").unwrap().status, 200);
    let mut stdin = child.stdin.take().unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn standin_binary_refuses_other_bind_addresses() {
    let output = Command::new(env!("CARGO_BIN_EXE_reactio-standin")).args(["--bind", "0.0.0.0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only 127.0.0.1"));
}
