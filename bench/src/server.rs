//! A minimal fast HTTP/1.1 server for the end-to-end benchmark: 127.0.0.1 only,
//! `TCP_NODELAY`, keep-alive, one thread per connection, every answer written in one
//! send, canned bodies. It counts connections and requests, and answers the first
//! page of `open` incidents with a configurable list (so a recovery finds its incident);
//! every other list is `[]`, a POST is `201` with an incident, any other GET `200`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread;

/// What the connection threads share.
#[derive(Debug, Default)]
struct Shared {
    connections: AtomicU64,
    requests: AtomicU64,
    open_list: RwLock<Arc<Vec<u8>>>,
    stop: AtomicBool,
}

/// A running fast server; stops accepting when dropped.
#[derive(Debug)]
pub struct FastServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FastServer {
    /// Listen on an ephemeral port of 127.0.0.1.
    pub fn start() -> io::Result<FastServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { open_list: RwLock::new(Arc::new(b"[]".to_vec())), ..Shared::default() });
        let accept = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                accept.connections.fetch_add(1, Ordering::Relaxed);
                let shared = Arc::clone(&accept);
                thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Ok(FastServer { addr, shared })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The body of the first page of `open` incidents from now on.
    pub fn set_open_list(&self, body: &str) {
        *self.shared.open_list.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(body.as_bytes().to_vec());
    }
}

impl Drop for FastServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

const INCIDENT: &str = r#"{"id":101,"name":"web01/check_http","status":"open","manager":null,"created_at":1764092795,"updated_at":1764092795,"pended_at":null,"closed_at":null,"topics":[],"files":[],"users":[]}"#;

fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut out = Vec::with_capacity(1024);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        io::copy(&mut (&mut reader).take(length as u64), &mut io::sink())?;
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let list = target.starts_with("/api/v1/incidents?");
        let open_list;
        let (status, body): (&str, &[u8]) = if list {
            if target.contains("status=open") && !target.contains("&page=") {
                open_list = Arc::clone(&shared.open_list.read().unwrap_or_else(PoisonError::into_inner));
                ("200 OK", open_list.as_slice())
            } else {
                ("200 OK", b"[]")
            }
        } else if method == "GET" {
            ("200 OK", INCIDENT.as_bytes())
        } else {
            ("201 Created", INCIDENT.as_bytes())
        };
        out.clear();
        write!(
            out,
            "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n{}\r\n",
            body.len(),
            if close { "connection: close\r\n" } else { "" }
        )?;
        out.extend_from_slice(body);
        writer.write_all(&out)?;
        if close {
            return Ok(());
        }
    }
}
