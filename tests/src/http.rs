//! A minimal HTTP/1.1 wire layer (request parsing, response writing) shared by the
//! Reactio stand-in and the proxy stand-in.
//!
//! Why not a crate (hyper, tiny_http, ...): the stand-ins exist to misbehave on
//! purpose. They must reset a connection after reading a request, stall with the
//! socket open, send headers and then dribble the body, write raw bytes that are not
//! HTTP at all, or perform an action and then drop the answer. A server framework
//! hides exactly the socket these faults need, and pulls an async runtime into every
//! test. The subset spoken here is small and fully under test: request line, headers,
//! `Content-Length` and `chunked` request bodies, `Expect: 100-continue`, persistent
//! connections (HTTP/1.1 default, `Connection: close` honoured, HTTP/1.0 closes unless
//! it asks for keep-alive).

use std::io::{self, BufRead, Read, Write};

/// Largest request head (request line plus headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted (the handler caps far below this).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// One parsed request as read from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRequest {
    /// The method, as sent (`GET`, `POST`, ...).
    pub method: String,
    /// The request target as sent: origin form (`/path?query`), or absolute form
    /// (`http://host/path`) for a proxy, or authority form (`host:port`) for `CONNECT`.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers in the order received, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when it was sent chunked.
    pub body: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl WireRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The raw query (without `?`; empty when none).
    pub fn query(&self) -> &str {
        split_target(&self.target).1
    }

    /// The decoded query pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(self.query())
    }

    /// The last value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// All values of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `"POST /api/v1/incidents"`: handy for asserting a sequence of calls.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path())
    }

    /// Whether the connection stays open after the answer.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").map(str::to_ascii_lowercase).unwrap_or_default();
        let tokens: Vec<&str> = connection.split(',').map(str::trim).collect();
        if tokens.contains(&"close") {
            return false;
        }
        if self.version == "HTTP/1.0" {
            return tokens.contains(&"keep-alive");
        }
        true
    }
}

/// The first value of `name` in a lowercase-named header list.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection cleanly before sending a byte (normal end of a
    /// keep-alive connection).
    Closed,
    /// The socket failed (reset, shut down by the server being dropped, ...).
    Io(io::Error),
    /// The bytes were not a request this parser accepts; the text says why.
    Bad(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads one request. `on_continue` is called (to write `100 Continue`) when the
/// request asked for it, before the body is read.
pub fn read_request<R: BufRead>(
    reader: &mut R,
    mut on_continue: impl FnMut() -> io::Result<()>,
) -> Result<WireRequest, ReadError> {
    let mut budget = MAX_HEAD;
    let mut line = read_line(reader, &mut budget)?;
    // Tolerate empty lines before the request line (RFC 9112 section 2.2).
    while line.is_empty() {
        line = read_line(reader, &mut budget)?;
    }
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(format!("malformed request line {line:?}")));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Bad(format!("unsupported version {version:?}")));
    }
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ReadError::Bad(format!("malformed method {method:?}")));
    }
    let mut headers = Vec::new();
    loop {
        let header_line = match read_line(reader, &mut budget) {
            Err(ReadError::Closed) => return Err(ReadError::Bad("connection closed inside the head".into())),
            other => other?,
        };
        if header_line.is_empty() {
            break;
        }
        let Some((name, value)) = header_line.split_once(':') else {
            return Err(ReadError::Bad(format!("malformed header line {header_line:?}")));
        };
        if name.is_empty() || name.contains(' ') {
            return Err(ReadError::Bad(format!("malformed header name {name:?}")));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = WireRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
        body: Vec::new(),
        chunked: false,
    };
    let chunked = request.header("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("content-length") {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_BODY => Some(n),
            Ok(_) => return Err(ReadError::Bad("body too large".into())),
            Err(_) => return Err(ReadError::Bad(format!("malformed content-length {v:?}"))),
        },
    };
    let has_body = chunked || length.is_some_and(|n| n > 0);
    if has_body && request.header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        on_continue()?;
    }
    if chunked {
        request.body = read_chunked(reader)?;
        request.chunked = true;
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        reader.read_exact(&mut body).map_err(eof_is_bad)?;
        request.body = body;
    }
    Ok(request)
}

fn eof_is_bad(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::Bad("connection closed inside the body".into())
    } else {
        ReadError::Io(e)
    }
}

/// Reads one CRLF- (or LF-) terminated line, without the terminator.
fn read_line<R: BufRead>(reader: &mut R, budget: &mut usize) -> Result<String, ReadError> {
    let mut buf = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    let n = reader.by_ref().take(limit).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(if *budget == 0 { ReadError::Bad("request head too large".into()) } else { ReadError::Closed });
    }
    *budget = budget.saturating_sub(n);
    if buf.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            ReadError::Bad("request head too large".into())
        } else {
            ReadError::Bad("connection closed inside a line".into())
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| ReadError::Bad("non-UTF-8 bytes in the request head".into()))
}

fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line = match read_line(reader, &mut budget) {
            Err(ReadError::Closed) => return Err(ReadError::Bad("connection closed inside a chunked body".into())),
            other => other?,
        };
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Bad(format!("malformed chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                match read_line(reader, &mut budget) {
                    Ok(trailer) if trailer.is_empty() => return Ok(body),
                    Ok(_) => {}
                    Err(ReadError::Closed) => return Err(ReadError::Bad("connection closed in trailers".into())),
                    Err(e) => return Err(e),
                }
            }
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(ReadError::Bad("body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        let chunk = body.get_mut(start..).unwrap_or_default();
        reader.read_exact(chunk).map_err(eof_is_bad)?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(eof_is_bad)?;
        if &crlf != b"\r\n" {
            return Err(ReadError::Bad("chunk not followed by CRLF".into()));
        }
    }
}

/// Reads one response (skipping `1xx` interim ones). The body is framed by
/// `Content-Length`, `chunked`, or the end of the connection; a `HEAD` request's
/// answer has none (pass `head: true`).
pub fn read_response<R: BufRead>(reader: &mut R, head: bool) -> Result<WireResponse, ReadError> {
    loop {
        let mut budget = MAX_HEAD;
        let line = read_line(reader, &mut budget)?;
        let mut parts = line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return Err(ReadError::Bad(format!("malformed status line {line:?}")));
        };
        let status: u16 = match code.parse() {
            Ok(status) if version.starts_with("HTTP/1.") => status,
            _ => return Err(ReadError::Bad(format!("malformed status line {line:?}"))),
        };
        let mut headers = Vec::new();
        loop {
            let header_line = read_line(reader, &mut budget)?;
            if header_line.is_empty() {
                break;
            }
            let Some((name, value)) = header_line.split_once(':') else {
                return Err(ReadError::Bad(format!("malformed header line {header_line:?}")));
            };
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        if (100..200).contains(&status) {
            continue;
        }
        let mut body = Vec::new();
        let chunked =
            header_value(&headers, "transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if head || status == 204 || status == 304 {
        } else if chunked {
            body = read_chunked(reader)?;
        } else if let Some(length) = header_value(&headers, "content-length") {
            let n: usize =
                length.parse().map_err(|_| ReadError::Bad(format!("malformed content-length {length:?}")))?;
            body = vec![0; n.min(MAX_BODY)];
            reader.read_exact(&mut body).map_err(eof_is_bad)?;
        } else {
            reader.take(u64::try_from(MAX_BODY).unwrap_or(u64::MAX)).read_to_end(&mut body)?;
        }
        return Ok(WireResponse { status, headers, body });
    }
}

/// An answer to write: status, headers, body. `Content-Length` is added when the
/// headers do not already carry one (or `Transfer-Encoding`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireResponse {
    /// The status code.
    pub status: u16,
    /// Headers in the order to send them.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl WireResponse {
    /// A JSON answer (`Content-Type: application/json; charset=utf-8`).
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        WireResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// The status line and headers (with `Connection: close` when `close`), ending
    /// in the empty line.
    pub fn head_bytes(&self, close: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        let framed = header_value(&self.headers, "content-length").is_some()
            || header_value(&self.headers, "transfer-encoding").is_some();
        if !framed {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        if close && header_value(&self.headers, "connection").is_none() {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Writes the whole answer in one `write_all` (one segment with `TCP_NODELAY`).
    pub fn write_to<W: Write>(&self, out: &mut W, close: bool) -> io::Result<()> {
        let mut bytes = self.head_bytes(close);
        bytes.extend_from_slice(&self.body);
        out.write_all(&bytes)?;
        out.flush()
    }
}

/// The reason phrase for a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Splits a target into path and query (`/a?b=1` -> `("/a", "b=1")`).
pub fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// Decodes a query string into pairs, percent-decoding and `+` as space.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes (lossy on bad UTF-8; malformed escapes are kept as is).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn parse(bytes: &[u8]) -> Result<WireRequest, ReadError> {
        read_request(&mut io::BufReader::new(bytes), || Ok(()))
    }

    #[test]
    fn parses_content_length_and_chunked() {
        let r = parse(b"POST /x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str(), r.body.as_slice()), ("POST", "/x?a=1", &b"abc"[..]));
        assert_eq!(r.header("HOST"), Some("h"));
        let r =
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n1\r\nc\r\n0\r\nT: 1\r\n\r\n")
                .unwrap();
        assert_eq!(r.body, b"abc");
        assert!(r.chunked);
    }

    #[test]
    fn rejects_garbage_and_reports_clean_close() {
        assert!(matches!(parse(b""), Err(ReadError::Closed)));
        assert!(matches!(parse(b"\x16\x03\x01 hello\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), Err(ReadError::Bad(_))));
    }

    #[test]
    fn keep_alive_rules() {
        let r = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!r.keep_alive());
        let r = parse(b"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n").unwrap();
        assert!(!r.keep_alive());
        let r = parse(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        assert!(r.keep_alive());
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=1&b=x%20y+z&c"),
            vec![("a".into(), "1".into()), ("b".into(), "x y z".into()), ("c".into(), String::new())]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
