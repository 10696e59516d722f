//! A tiny HTTP proxy stand-in on `127.0.0.1`: records every request it receives and
//! either forwards it (loopback targets only: tests may talk to nothing else) or
//! answers 502 with an HTML page. Point `HTTP_PROXY`/`HTTPS_PROXY` at [`ProxyStandin::url`]
//! to check that the handler uses a configured proxy, and that it bypasses the proxy
//! for loopback endpoints (then [`ProxyStandin::requests`] stays empty).
//!
//! Absolute-form requests (`GET http://127.0.0.1:port/path HTTP/1.1`) are forwarded
//! with `Connection: close` and the answer relayed; `CONNECT 127.0.0.1:port` opens a
//! byte tunnel. Each proxied connection serves one request and then closes.

use crate::http::{self, ReadError, WireRequest, WireResponse};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the proxy does with requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward to loopback targets (502 for any other host).
    #[default]
    Forward,
    /// Answer every request 502 with an HTML body.
    BadGateway,
}

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// Which accepted connection (1-based).
    pub connection: u64,
    /// `GET`, `POST`, `CONNECT`, ...
    pub method: String,
    /// As sent: `http://host:port/path?q` (absolute form) or `host:port` (`CONNECT`).
    pub target: String,
    /// Headers in order, names lowercased (including any `proxy-authorization`).
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// When it was read.
    pub at: Instant,
}

impl ProxiedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header_value(&self.headers, name)
    }
}

#[derive(Debug, Default)]
struct Shared {
    requests: Mutex<Vec<ProxiedRequest>>,
    sockets: Mutex<BTreeMap<u64, TcpStream>>,
    connections: AtomicU64,
    bad_gateway: AtomicBool,
    stopped: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running proxy stand-in; stops when dropped.
#[derive(Debug)]
pub struct ProxyStandin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ProxyStandin {
    /// Starts a proxy on `127.0.0.1` (ephemeral port).
    pub fn start(mode: ProxyMode) -> io::Result<ProxyStandin> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        shared.bad_gateway.store(mode == ProxyMode::BadGateway, Ordering::Relaxed);
        let for_thread = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("proxy-accept-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &for_thread))?;
        Ok(ProxyStandin { addr, shared, accept: Some(accept) })
    }

    /// `http://127.0.0.1:<port>`: the value for `HTTP_PROXY`/`HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many connections were accepted.
    pub fn connection_count(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Switches the mode.
    pub fn set_mode(&self, mode: ProxyMode) {
        self.shared.bad_gateway.store(mode == ProxyMode::BadGateway, Ordering::Relaxed);
    }
}

impl Drop for ProxyStandin {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        for socket in lock(&self.shared.sockets).values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok()
            && let Some(accept) = self.accept.take()
        {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.sockets).insert(id, clone);
        }
        let for_thread = Arc::clone(shared);
        let _ = std::thread::Builder::new().name(format!("proxy-conn-{id}")).spawn(move || {
            serve(&for_thread, stream, id);
            lock(&for_thread.sockets).remove(&id);
        });
    }
}

fn bad_gateway(why: &str) -> WireResponse {
    WireResponse {
        status: 502,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: format!("<html><body><h1>502 Bad Gateway</h1><p>{why}</p></body></html>\n").into_bytes(),
    }
}

/// `host:port` of a loopback target, or `None` for any other host.
fn loopback_authority(authority: &str) -> Option<String> {
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    let port: u16 = port.parse().ok()?;
    matches!(host, "127.0.0.1" | "localhost" | "[::1]").then(|| format!("{host}:{port}"))
}

fn serve(shared: &Shared, stream: TcpStream, connection: u64) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let request = match http::read_request(&mut reader, || writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")) {
        Ok(request) => request,
        Err(ReadError::Bad(why)) => {
            let _ = bad_gateway(&why).write_to(&mut writer, true);
            return;
        }
        Err(_) => return,
    };
    lock(&shared.requests).push(ProxiedRequest {
        connection,
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
        at: Instant::now(),
    });
    if shared.bad_gateway.load(Ordering::Relaxed) {
        let _ = bad_gateway("the proxy stand-in answers 502").write_to(&mut writer, true);
        return;
    }
    if request.method == "CONNECT" {
        tunnel(&request, reader, writer);
    } else if let Err(why) = forward(&request, &mut writer) {
        let _ = bad_gateway(&why).write_to(&mut writer, true);
    }
}

fn forward(request: &WireRequest, client: &mut TcpStream) -> Result<(), String> {
    let rest = request.target.strip_prefix("http://").ok_or("only absolute http:// targets are forwarded")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let upstream_authority = loopback_authority(authority).ok_or("only loopback targets are forwarded")?;
    let mut upstream = TcpStream::connect(&upstream_authority).map_err(|e| format!("connect: {e}"))?;
    let _ = upstream.set_nodelay(true);
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, path).into_bytes();
    for (name, value) in &request.headers {
        let hop = name.starts_with("proxy-")
            || matches!(name.as_str(), "connection" | "keep-alive" | "transfer-encoding" | "content-length");
        if !hop {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    if !request.body.is_empty() || request.method == "POST" {
        out.extend_from_slice(format!("content-length: {}\r\n", request.body.len()).as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&request.body);
    upstream.write_all(&out).map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).map_err(|e| format!("receive: {e}"))?;
    if answer.is_empty() {
        return Err("upstream closed without answering".into());
    }
    client.write_all(&answer).map_err(|e| format!("relay: {e}"))?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

fn tunnel(request: &WireRequest, mut reader: BufReader<TcpStream>, mut client: TcpStream) {
    let Some(authority) = loopback_authority(&request.target) else {
        let _ = bad_gateway("only loopback targets are tunnelled").write_to(&mut client, true);
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(&authority) else {
        let _ = bad_gateway("connect failed").write_to(&mut client, true);
        return;
    };
    let _ = upstream.set_nodelay(true);
    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
        return;
    }
    let buffered = reader.buffer().to_vec();
    reader.consume(buffered.len());
    if upstream.write_all(&buffered).is_err() {
        return;
    }
    let Ok(mut upstream_read) = upstream.try_clone() else {
        return;
    };
    let down = std::thread::spawn(move || {
        let _ = io::copy(&mut upstream_read, &mut client);
        let _ = client.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut reader, &mut upstream);
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = down.join();
}
