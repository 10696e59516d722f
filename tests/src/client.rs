//! A bare HTTP/1.1 client over one `TcpStream`, for tests that need exact control of
//! what is sent (keep-alive reuse, chunked bodies, raw bytes) without an HTTP crate.

use crate::http::{self, ReadError, WireResponse};
use serde_json::Value;
use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One connection to a server; requests go out one at a time on it.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Headers added to every request (e.g. `X-Api-Key`).
    pub default_headers: Vec<(String, String)>,
}

fn to_io(e: ReadError) -> io::Error {
    match e {
        ReadError::Io(e) => e,
        ReadError::Closed => io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before an answer"),
        ReadError::Bad(why) => io::Error::new(io::ErrorKind::InvalidData, why),
    }
}

impl Client {
    /// Connects (with `TCP_NODELAY` and a 10 s read timeout).
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client { reader: BufReader::new(stream.try_clone()?), writer: stream, default_headers: Vec::new() })
    }

    /// Connects and sends `X-Api-Key: key` with every request.
    pub fn with_key(addr: SocketAddr, key: &str) -> io::Result<Client> {
        let mut client = Client::connect(addr)?;
        client.default_headers.push(("X-Api-Key".into(), key.into()));
        Ok(client)
    }

    /// The underlying stream (to set timeouts, shut down, ...).
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Reads until the server closes the connection (through the client's buffer).
    pub fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest)?;
        Ok(rest)
    }

    /// Reads exactly `n` raw bytes (through the client's buffer).
    pub fn read_bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0; n];
        self.reader.read_exact(&mut bytes)?;
        Ok(bytes)
    }

    /// Reads one answer.
    pub fn read_response(&mut self) -> io::Result<WireResponse> {
        http::read_response(&mut self.reader, false).map_err(to_io)
    }

    /// Sends a request (with `Host`, the default headers, `extra` headers and a
    /// `Content-Length` body) and reads the answer.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<WireResponse> {
        let host = self.writer.peer_addr()?;
        let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n").into_bytes();
        for (name, value) in &self.default_headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        for (name, value) in extra {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if !body.is_empty() || method == "POST" {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        self.send_raw(&out)?;
        self.read_response()
    }

    /// `GET target`.
    pub fn get(&mut self, target: &str) -> io::Result<WireResponse> {
        self.request("GET", target, &[], b"")
    }

    /// `POST target` with a JSON body.
    pub fn post_json(&mut self, target: &str, body: &Value) -> io::Result<WireResponse> {
        self.request("POST", target, &[("Content-Type", "application/json")], body.to_string().as_bytes())
    }
}

/// The answer's body as JSON (`Value::Null` when it is not JSON).
pub fn json_of(answer: &WireResponse) -> Value {
    serde_json::from_slice(&answer.body).unwrap_or(Value::Null)
}
