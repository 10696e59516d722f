//! What the stand-in remembers of each request it received, for tests to assert on.

use crate::http::{header_value, parse_query, split_target};
use serde_json::Value;
use std::time::{Instant, SystemTime};

/// One received request, recorded (in full mode) before any fault or answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// 0-based position among all recorded requests.
    pub seq: u64,
    /// Which accepted connection carried it (1-based, in accept order): equal ids
    /// mean a reused (keep-alive) connection.
    pub connection: u64,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query, as sent (`/api/v1/incidents?status=open&page=1`).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers in the order received, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// Whether the body was sent chunked.
    pub chunked: bool,
    /// When the whole request had been read (monotonic; compare two requests to
    /// check a retry waited).
    pub at: Instant,
    /// The same moment on the wall clock.
    pub wall: SystemTime,
}

impl RecordedRequest {
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
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `"POST /api/v1/incidents"`: handy for asserting a sequence of calls.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path())
    }
}
