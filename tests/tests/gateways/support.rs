//! What every gateway test shares: the stand-in and the configuration pointing at it,
//! events, a bare HTTP poster for hosts that listen on 127.0.0.1, scratch directories.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sensu_reactio_core::ConfigInput;
use sensu_reactio_core::gateway::{GatewayConfig, Reply};
use sensu_reactio_tests::Standin;
use sensu_reactio_tests::standin::Config;
use serde_json::{Value, json};

use crate::Inbound;

/// Each gateway adapter module's size budget (decisions.md, "Budgets": 300 KB, 1,000
/// bytes each; decisions.md writes KiB where it means 1,024).
pub(crate) const ADAPTER_BUDGET: u64 = 300 * 1000;

/// The adapters' goal (decisions.md, "Budgets": 200 KB), asserted for each adapter
/// that has met it (the JS edge module, the proxy-wasm filter and the wasi:http
/// component) so that it stays met.
pub(crate) const ADAPTER_GOAL: u64 = 200 * 1000;

/// The API key the stand-in accepts; it must never appear in any answer.
pub(crate) const KEY: &str = "sk-gw-5d1e8a37c0b9f246";
/// The gateways' inbound token; it must never appear in any answer either.
pub(crate) const TOKEN: &str = "tok-gw-0c4f7b21e9a8d356";

/// A stand-in accepting [`KEY`].
pub(crate) fn standin() -> Standin {
    Config::default().api_key(KEY).start().expect("start the reactio stand-in")
}

/// The `reactio` settings every host gets: the stand-in's endpoint and a short
/// per-request timeout (the stalled scenario waits for it).
pub(crate) fn settings(server: &Standin) -> Value {
    json!({"reactio": {"endpoint": server.url(), "request_timeout": 0.4}})
}

/// The gateway configuration for `server`: [`TOKEN`], the settings, the key as the
/// core's environment.
pub(crate) fn gateway_config(server: &Standin) -> GatewayConfig {
    let mut config = ConfigInput { settings: settings(server), ..ConfigInput::default() };
    config.env.insert("REACTIO_API_KEY".into(), KEY.into());
    GatewayConfig { token: Some(TOKEN.into()), allow_unauthenticated: false, config }
}

/// A `POST` with the right token.
pub(crate) fn post(body: &[u8]) -> Inbound {
    Inbound { method: "POST", authorization: Some(format!("Bearer {TOKEN}")), body: body.to_vec() }
}

/// Send one inbound request over a fresh connection to a host listening on `addr`
/// and read its answer. The body is written from another thread, so a host that
/// answers (413) before reading it all is still heard.
pub(crate) fn http_post(addr: SocketAddr, inbound: &Inbound) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{} /events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        inbound.method,
        inbound.body.len()
    );
    if let Some(auth) = &inbound.authorization {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    let mut writer = stream.try_clone()?;
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&inbound.body);
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let raw = read_reply_bytes(&mut stream)?;
    let _ = sender.join();
    parse_reply(&raw)
}

/// The answer's bytes: up to the end of a `content-length` body, else to the close
/// (so a host's lingering close does not count as latency).
fn read_reply_bytes(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0_u8; 16 * 1024];
    loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim() == "content-length")
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| raw.len() >= split + 4 + n) {
                return Ok(raw);
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(raw),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if raw.is_empty() => return Err(e),
            Err(_) => return Ok(raw),
        }
    }
}

fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |why: &str| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{why}: {}", String::from_utf8_lossy(raw)))
    };
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no http head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Ok(Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A header of a reply.
pub(crate) fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A fresh, empty scratch directory.
pub(crate) fn scratch(name: &str) -> sensu_reactio_tests::process::Scratch {
    sensu_reactio_tests::process::scratch("gw", name)
}

/// A port where nothing listens now.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Wait until something accepts connections on `addr` (or `timeout` passes).
pub(crate) fn wait_listening(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A Sensu Classic event for `web01/check_http`, compact JSON.
pub(crate) fn classic(status: u8, history: &[&str], action: &str, occurrences: u64, extra_check: Value) -> Vec<u8> {
    let now = 1_764_000_000_u64;
    let output = if status == 0 { "CheckHttp OK: 200\n" } else { "CheckHttp CRITICAL: Connection refused ...\n" };
    let mut check = json!({
        "name": "check_http", "command": "check-http.rb -u http://localhost/", "interval": 60,
        "handlers": ["reactio"], "status": status, "output": output, "issued": now, "executed": now,
        "duration": 0.021, "history": history,
    });
    if let (Some(obj), Value::Object(extra)) = (check.as_object_mut(), extra_check) {
        obj.extend(extra);
    }
    json!({
        "id": "3f1c2b8e-5a0d-4c1e-9b7a-2d4e6f8a0b1c",
        "client": {"name": "web01", "address": "10.0.0.11", "subscriptions": ["web"], "timestamp": now},
        "check": check, "occurrences": occurrences, "occurrences_watermark": occurrences,
        "last_ok": now - 60, "action": action, "timestamp": now, "last_state_change": now,
        "silenced": false, "silenced_by": [],
    })
    .to_string()
    .into_bytes()
}

/// The first critical.
pub(crate) fn first_critical() -> Vec<u8> {
    classic(2, &["0", "0", "2"], "create", 1, json!({}))
}

/// Still critical, the second time.
pub(crate) fn repeat() -> Vec<u8> {
    classic(2, &["0", "2", "2"], "create", 2, json!({}))
}

/// Still critical at a refresh point (interval 60, refresh 120, third failure).
pub(crate) fn refresh() -> Vec<u8> {
    classic(2, &["0", "2", "2", "2"], "create", 3, json!({"refresh": 120}))
}

/// The recovery.
pub(crate) fn resolve() -> Vec<u8> {
    classic(0, &["0", "2", "2", "0"], "resolve", 1, json!({}))
}

/// No answer of a host may hold the key or the token.
pub(crate) fn assert_no_secrets(host: &str, reply: &Reply) {
    let all = format!("{:?}", reply);
    assert!(!all.contains(KEY), "{host}: the api key leaked into an answer: {all}");
    assert!(!all.contains(TOKEN), "{host}: the inbound token leaked into an answer: {all}");
}
