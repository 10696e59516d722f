//! One accepted connection: read requests in a keep-alive loop, record them, apply a
//! queued fault or the normal behaviour, write the answer. Also the stop signal that
//! stalls and slow bodies wait on, so dropping the stand-in ends them at once.

use super::fault::{self, AfterAct, Fault};
use super::record::RecordedRequest;
use super::{Shared, api, lock};
use crate::http::{self, ReadError, WireRequest, WireResponse};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// A one-way "stop" flag that sleepers can wait on.
#[derive(Debug, Default)]
pub(super) struct Signal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Signal {
    /// Sets the flag and wakes every sleeper.
    pub(super) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    /// Whether `stop` was called.
    pub(super) fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `duration` (`None`: until stopped). Returns true when stopped.
    pub(super) fn sleep(&self, duration: Option<Duration>) -> bool {
        let deadline = duration.map(|d| Instant::now() + d);
        let mut stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stopped {
                return true;
            }
            match deadline {
                None => stopped = self.wake.wait(stopped).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    stopped = self.wake.wait_timeout(stopped, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
                }
            }
        }
    }
}

/// Sets `SO_LINGER` to 0 so that closing the socket sends RST instead of FIN.
fn arm_reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// The normal answer (full behaviour or the fast mode's canned one).
fn normal(shared: &Shared, request: &WireRequest) -> WireResponse {
    if shared.fast.load(Ordering::Relaxed) {
        return api::fast(&request.method, &request.target);
    }
    let mut world = lock(&shared.world);
    let world = &mut *world;
    api::handle(&world.config, &mut world.store, &request.method, &request.target, &request.headers, &request.body)
}

fn record(shared: &Shared, request: &WireRequest, connection: u64) {
    let mut requests = lock(&shared.requests);
    let seq = u64::try_from(requests.len()).unwrap_or(u64::MAX);
    requests.push(RecordedRequest {
        seq,
        connection,
        request: request.clone(),
        at: Instant::now(),
        wall: SystemTime::now(),
    });
    drop(requests);
    shared.arrived.notify_all();
}

/// What to do with the connection after one exchange.
enum Next {
    Continue,
    Close,
    Reset,
}

/// Serves one connection until it closes, a fault ends it, or the stand-in stops.
pub(super) fn serve(shared: &Shared, stream: TcpStream, connection: u64) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let (idle_close, close_after_answer) = {
        let world = lock(&shared.world);
        (world.config.idle_close, world.config.close_after_answer)
    };
    // An idle connection's next request not begun in time ends it (a FIN).
    if idle_close.is_some() && read_half.set_read_timeout(idle_close).is_err() {
        return;
    }
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        if shared.signal.is_stopped() {
            break;
        }
        let read = http::read_request(&mut reader, || writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n"));
        let request = match read {
            Ok(request) => request,
            Err(ReadError::Closed | ReadError::Io(_)) => break,
            Err(ReadError::Bad(why)) => {
                let answer = api::error(400, "validation_error", &format!("malformed request: {why}"), &[]);
                let _ = answer.write_to(&mut writer, true);
                break;
            }
        };
        shared.request_count.fetch_add(1, Ordering::Relaxed);
        if !shared.fast.load(Ordering::Relaxed) {
            record(shared, &request, connection);
        }
        let queued = fault::take(&mut lock(&shared.faults), &request.method, &request.target);
        match exchange(shared, &request, &mut writer, queued) {
            Next::Continue => {
                if let Some(delay) = close_after_answer {
                    // A request the client sent meanwhile goes unread: the close is a RST.
                    shared.signal.sleep(Some(delay));
                    break;
                }
            }
            Next::Close => break,
            Next::Reset => {
                arm_reset(&writer);
                break;
            }
        }
    }
    lock(&shared.sockets).remove(&connection);
}

fn write_normal(shared: &Shared, request: &WireRequest, writer: &mut TcpStream) -> Next {
    let close = !request.keep_alive();
    match normal(shared, request).write_to(writer, close) {
        Ok(()) if !close => Next::Continue,
        _ => Next::Close,
    }
}

fn after_act(shared: &Shared, after: AfterAct) -> Next {
    match after {
        AfterAct::Close => Next::Close,
        AfterAct::Reset => Next::Reset,
        AfterAct::Stall(duration) => {
            shared.signal.sleep(duration);
            Next::Close
        }
    }
}

fn exchange(shared: &Shared, request: &WireRequest, writer: &mut TcpStream, queued: Option<Fault>) -> Next {
    let Some(fault) = queued else {
        return write_normal(shared, request, writer);
    };
    match fault {
        Fault::Respond(canned) => {
            let answer = canned.to_wire();
            let asked_close =
                http::header_value(&answer.headers, "connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
            let close = asked_close || !request.keep_alive();
            match answer.write_to(writer, close) {
                Ok(()) if !close => Next::Continue,
                _ => Next::Close,
            }
        }
        Fault::Delay(duration) => {
            if shared.signal.sleep(Some(duration)) {
                return Next::Close;
            }
            write_normal(shared, request, writer)
        }
        Fault::Close => Next::Close,
        Fault::Reset => Next::Reset,
        Fault::Stall(duration) => {
            shared.signal.sleep(duration);
            Next::Close
        }
        Fault::SlowBody { chunk, interval } => slow_body(shared, request, writer, chunk, interval),
        Fault::ActThen(after) => {
            let _ = normal(shared, request);
            after_act(shared, after)
        }
        Fault::Raw(bytes) => {
            let _ = writer.write_all(&bytes);
            let _ = writer.flush();
            Next::Close
        }
    }
}

fn slow_body(shared: &Shared, request: &WireRequest, writer: &mut TcpStream, chunk: usize, interval: Duration) -> Next {
    let close = !request.keep_alive();
    let answer = normal(shared, request);
    if writer.write_all(&answer.head_bytes(close)).is_err() {
        return Next::Close;
    }
    for piece in answer.body.chunks(chunk.max(1)) {
        if shared.signal.sleep(Some(interval)) || writer.write_all(piece).is_err() {
            return Next::Close;
        }
    }
    if close { Next::Close } else { Next::Continue }
}
