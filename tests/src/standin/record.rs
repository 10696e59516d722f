//! What the stand-in remembers of each request it received, for tests to assert on:
//! the request as read from the wire, plus where and when it arrived.

use crate::http::WireRequest;
use std::ops::Deref;
use std::time::{Instant, SystemTime};

/// One received request, recorded (in full mode) before any fault or answer. It
/// dereferences to the [`WireRequest`] it was read as (`method`, `target`, headers,
/// body, `path()`, `query_param()`, `json()`, `line()`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// 0-based position among all recorded requests.
    pub seq: u64,
    /// Which accepted connection carried it (1-based, in accept order): equal ids
    /// mean a reused (keep-alive) connection.
    pub connection: u64,
    /// The request as read (the body de-chunked).
    pub request: WireRequest,
    /// When the whole request had been read (monotonic; compare two requests to
    /// check a retry waited).
    pub at: Instant,
    /// The same moment on the wall clock.
    pub wall: SystemTime,
}

impl Deref for RecordedRequest {
    type Target = WireRequest;

    fn deref(&self) -> &WireRequest {
        &self.request
    }
}
