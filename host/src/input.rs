//! Reading the event from stdin: to EOF, at most 16 MiB kept; from a pipe or file,
//! within a bound, and without waiting for an EOF that does not come once a whole
//! event is in.

use std::io::Read;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::error::HostError;

/// How long stdin may stay quiet, a whole event read but not closed, before the run
/// goes on with it (Sensu writes the event and closes stdin at once).
const QUIET: Duration = Duration::from_millis(500);

/// How long stdin may take to bring a whole event: the default deadline of a run.
pub const STDIN_BOUND: Duration = Duration::from_secs(8);

/// The largest event accepted (decisions.md: up to 16 MiB; the core's limit).
pub const MAX_EVENT_BYTES: u64 = sensu_reactio_core::MAX_EVENT_BYTES as u64;

/// Read everything from `source` to EOF. More than [`MAX_EVENT_BYTES`] is an input
/// error, but the rest is still drained so Sensu's pipe never breaks.
pub fn read_event_from(mut source: impl Read) -> Result<Vec<u8>, HostError> {
    let mut event = Vec::with_capacity(8 * 1024);
    let kept = (&mut source)
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut event)
        .map_err(|e| HostError::Input(format!("could not read the event from stdin: {e}")))?;
    if kept as u64 > MAX_EVENT_BYTES {
        let rest = std::io::copy(&mut source, &mut std::io::sink()).unwrap_or(0);
        return Err(too_large(kept as u64 + rest));
    }
    Ok(event)
}

/// What [`read_stdin`] read.
#[derive(Debug)]
pub struct Stdin {
    /// The event's bytes.
    pub event: Vec<u8>,
    /// Stdin was still open after a whole event (the run went on without its end).
    pub left_open: bool,
}

/// Read the event from stdin (a pipe or a file, not a terminal): to its end; or, when
/// stdin stays open, once it has been quiet for half a second with a whole JSON value
/// in; no whole event within `bound` is an input error (a run must not hang on a pipe
/// nobody closes).
pub fn read_stdin(bound: Duration) -> Result<Stdin, HostError> {
    let stdin = std::io::stdin();
    // Read from the descriptor itself, not through std's buffered lock: what poll(2)
    // says is ready is then all there is.
    let fd = stdin.as_fd();
    let end = Instant::now() + bound;
    let mut event = Vec::with_capacity(8 * 1024);
    let mut beyond = 0_u64;
    let failed = |e: std::io::Error| HostError::Input(format!("could not read the event from stdin: {e}"));
    let mut scratch = [0_u8; 8 * 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if !readable(fd, left.min(QUIET)).map_err(failed)? {
            // Quiet, and stdin still open: what came so far is looked at.
            let read_so_far = if beyond > 0 || event.is_empty() { None } else { Some(as_json(&event)) };
            match read_so_far {
                Some(Ok(())) => return Ok(Stdin { event, left_open: true }),
                // More will not mend it (not an end cut short: text after a whole value, say).
                Some(Err(e)) if !e.is_eof() => {
                    return Err(HostError::Input(format!(
                        "what came on stdin is not one json event ({e}; {} bytes read, and stdin still open): sensu pipes one json event and closes stdin; check the handler's command and what feeds it",
                        event.len()
                    )));
                }
                _ if left.is_zero() && beyond > 0 => {
                    return Err(HostError::Input(format!(
                        "the event is more than the 16 MiB accepted ({} bytes read in {} s, and stdin still open); sensu pipes one json event, check the handler's input",
                        event.len() as u64 + beyond,
                        bound.as_secs()
                    )));
                }
                _ if left.is_zero() => {
                    return Err(HostError::Input(format!(
                        "no whole event on stdin within {} s ({} bytes read, and stdin still open): sensu pipes one json event and closes stdin; check the handler's command and what feeds it",
                        bound.as_secs(),
                        event.len()
                    )));
                }
                _ => continue,
            }
        }
        // Into the event's own room (grown as a `Vec` grows); past the limit, into a
        // scratch buffer that is only counted (the rest is drained: Sensu's pipe never breaks).
        let read = if beyond == 0 {
            if event.capacity() - event.len() < 8 * 1024 {
                event.reserve(event.len().max(8 * 1024));
            }
            let len = event.len();
            event.resize(event.capacity(), 0);
            let read = rustix::io::read(fd, event.get_mut(len..).unwrap_or_default());
            event.truncate(len + *read.as_ref().unwrap_or(&0));
            read
        } else {
            rustix::io::read(fd, &mut scratch)
        };
        let n = match read {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
            Err(e) => return Err(failed(e.into())),
        };
        if n == 0 {
            break;
        }
        if beyond > 0 {
            beyond += n as u64;
        } else if event.len() as u64 > MAX_EVENT_BYTES {
            beyond = event.len() as u64 - MAX_EVENT_BYTES;
            event.truncate(MAX_EVENT_BYTES as usize);
        }
    }
    if beyond > 0 {
        return Err(too_large(event.len() as u64 + beyond));
    }
    Ok(Stdin { event, left_open: false })
}

/// Whether stdin has something to read (or its end, or an error) within `wait`.
fn readable(fd: std::os::fd::BorrowedFd<'_>, wait: Duration) -> std::io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout =
        Timespec { tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX), tv_nsec: i64::from(wait.subsec_nanos()) };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether `bytes` hold one whole JSON value (and nothing but space after it); if
/// not, why (an end cut short: [`serde_json::Error::is_eof`]).
fn as_json(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map(|_| ())
}

fn too_large(size: u64) -> HostError {
    HostError::Input(format!(
        "the event is {size} bytes, more than the 16 MiB accepted; sensu pipes one json event, check the handler's input"
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn reads_to_eof() {
        let got = read_event_from(&b"{\"a\":1}"[..]).unwrap();
        assert_eq!(got, b"{\"a\":1}");
    }

    #[test]
    fn too_large_is_an_input_error_and_drains_everything() {
        let big = vec![b' '; (MAX_EVENT_BYTES + 10) as usize];
        let mut cursor = std::io::Cursor::new(big);
        let err = read_event_from(&mut cursor).unwrap_err();
        assert!(matches!(err, HostError::Input(_)));
        assert_eq!(cursor.position(), MAX_EVENT_BYTES + 10);
        assert!(err.to_string().contains("16 MiB"));
    }
}
