//! The Reactio stand-in: a real HTTP/1.1 server on `127.0.0.1` (ephemeral port) that
//! follows `shared/spec/reactio-api.md`, records every request, lets tests seed and
//! change incidents, and injects scripted faults. It stops when dropped.
//!
//! Built on `std::net` with a thread per connection (`TCP_NODELAY` on every accepted
//! socket, keep-alive, `Connection: close` honoured) rather than on an HTTP crate: see
//! [`crate::http`] for why (the faults need the raw socket).
//!
//! ```no_run
//! use sensu_reactio_tests::standin::{Standin, Seed, Fault, Match};
//! # fn main() -> std::io::Result<()> {
//! let server = Standin::new()?;            // API key: DEFAULT_API_KEY
//! let id = server.seed(Seed::pend("web1/check_disk").manager(7));
//! server.push_fault(Match::exact("POST", "/api/v1/incidents"), Fault::internal_error());
//! // ... run the handler against server.url() ...
//! assert_eq!(server.requests()[0].line(), "GET /api/v1/incidents");
//! # let _ = id; Ok(()) }
//! ```
//!
//! List semantics (`GET /api/v1/incidents`): filter by `status` exactly and by
//! `from <= created_at <= to`; newest (highest id) first by default
//! ([`ListOrder`]); `page` is 1-based; `per_page` defaults to 20 and is clamped to
//! 100 ([`Config::paging`]); the answer is a bare JSON array.

mod api;
mod config;
mod conn;
mod fault;
mod record;
mod state;

pub use config::{Config, DEFAULT_API_KEY, DEFAULT_PER_PAGE, Limits, ListOrder, MAX_PER_PAGE, Mode};
pub use fault::{AfterAct, Canned, Fault, Match, Rule};
pub use record::RecordedRequest;
pub use state::{Clock, Incident, Message, Notification, STATUSES, Seed, Store};

use conn::Signal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Locks a mutex, ignoring poisoning (a panicking test thread must not cascade).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Settings and state under one lock.
#[derive(Debug)]
struct World {
    config: Config,
    store: Store,
}

/// What the accept thread, the connection threads and the test share.
#[derive(Debug)]
struct Shared {
    world: Mutex<World>,
    faults: Mutex<Vec<Rule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    arrived: Condvar,
    request_count: AtomicU64,
    connection_count: AtomicU64,
    fast: AtomicBool,
    signal: Signal,
    sockets: Mutex<BTreeMap<u64, TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A running stand-in. Dropping it stops the server: stalls end, connections close.
#[derive(Debug)]
pub struct Standin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Standin {
    /// Starts a stand-in with the default settings ([`Config::default`]).
    pub fn new() -> io::Result<Standin> {
        Config::default().start()
    }

    /// Starts a stand-in with `config` on `127.0.0.1:<port>` (0: an ephemeral port).
    pub fn start_with(config: Config, port: u16) -> io::Result<Standin> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let addr = listener.local_addr()?;
        let fast = config.mode == Mode::Fast;
        let store = Store::new(config.clock);
        let shared = Arc::new(Shared {
            world: Mutex::new(World { config, store }),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            request_count: AtomicU64::new(0),
            connection_count: AtomicU64::new(0),
            fast: AtomicBool::new(fast),
            signal: Signal::default(),
            sockets: Mutex::new(BTreeMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("standin-accept-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &for_thread))?;
        Ok(Standin { addr, shared, accept: Some(accept) })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash): the endpoint to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// The accepted API key.
    pub fn api_key(&self) -> String {
        lock(&self.shared.world).config.api_key.clone()
    }

    // --- recorded requests -------------------------------------------------------

    /// Every request received so far (full mode), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// `"METHOD /path"` of every request so far, in order.
    pub fn request_lines(&self) -> Vec<String> {
        lock(&self.shared.requests).iter().map(|r| r.line()).collect()
    }

    /// Forgets the recorded requests (counters are kept).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Waits until at least `n` requests are recorded or `timeout` passes; returns
    /// whether they arrived.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.shared.requests);
        while requests.len() < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            requests =
                self.shared.arrived.wait_timeout(requests, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// How many requests were read (also counted in fast mode, and for faulted ones).
    pub fn request_count(&self) -> u64 {
        self.shared.request_count.load(Ordering::Relaxed)
    }

    /// How many connections were accepted.
    pub fn connection_count(&self) -> u64 {
        self.shared.connection_count.load(Ordering::Relaxed)
    }

    // --- state ---------------------------------------------------------------------

    /// All incidents, by id ascending.
    pub fn incidents(&self) -> Vec<Incident> {
        lock(&self.shared.world).store.incidents.clone()
    }

    /// One incident.
    pub fn incident(&self, id: u64) -> Option<Incident> {
        lock(&self.shared.world).store.incident(id).cloned()
    }

    /// Incidents with status `open` or `pend`, by id ascending.
    pub fn open_incidents(&self) -> Vec<Incident> {
        lock(&self.shared.world).store.incidents.iter().filter(|i| i.is_open()).cloned().collect()
    }

    /// Every broadcast, in order.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.shared.world).store.notifications.clone()
    }

    /// Every timeline message, in order.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.shared.world).store.messages.clone()
    }

    /// The timeline messages of one incident, in order.
    pub fn messages_for(&self, incident_id: u64) -> Vec<Message> {
        lock(&self.shared.world).store.messages.iter().filter(|m| m.incident_id == incident_id).cloned().collect()
    }

    /// Adds an incident; returns its id.
    pub fn seed(&self, seed: Seed) -> u64 {
        lock(&self.shared.world).store.insert(seed)
    }

    /// Adds an `open` incident with no manager; returns its id.
    pub fn seed_open(&self, name: &str) -> u64 {
        self.seed(Seed::open(name))
    }

    /// Adds a `pend` incident held by `manager`; returns its id.
    pub fn seed_pend(&self, name: &str, manager: impl Into<Value>) -> u64 {
        self.seed(Seed::pend(name).manager(manager))
    }

    /// Adds a closed incident; returns its id.
    pub fn seed_closed(&self, name: &str) -> u64 {
        self.seed(Seed::closed(name))
    }

    /// Changes an incident in place (`updated_at` is not touched); false if missing.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Incident)) -> bool {
        match lock(&self.shared.world).store.incident_mut(id) {
            Some(incident) => {
                change(incident);
                true
            }
            None => false,
        }
    }

    /// Sets the status as a person would (stamping the times); false if missing.
    pub fn set_status(&self, id: u64, status: &str) -> bool {
        let mut world = lock(&self.shared.world);
        let now = world.store.now();
        match world.store.incident_mut(id) {
            Some(incident) => {
                incident.set_status(status, now);
                true
            }
            None => false,
        }
    }

    /// A person closes the incident.
    pub fn close(&self, id: u64) -> bool {
        self.set_status(id, "close")
    }

    /// A person takes the incident: `pend` with them as manager.
    pub fn take(&self, id: u64, manager: impl Into<Value>) -> bool {
        let manager = manager.into();
        self.set_status(id, "pend") && self.update(id, |i| i.manager = Some(manager))
    }

    // --- clock ---------------------------------------------------------------------

    /// Replaces the clock.
    pub fn set_clock(&self, clock: Clock) {
        lock(&self.shared.world).store.clock = clock;
    }

    /// Fixes the clock at `now` (epoch seconds).
    pub fn set_time(&self, now: i64) {
        self.set_clock(Clock::fixed(now));
    }

    /// Moves a fake clock forward by `seconds`; a real clock becomes a fixed fake one
    /// at the real time plus `seconds`.
    pub fn advance(&self, seconds: i64) {
        let mut world = lock(&self.shared.world);
        let clock = &mut world.store.clock;
        *clock = match *clock {
            Clock::Fake { now, step } => Clock::Fake { now: now.saturating_add(seconds), step },
            Clock::Real => Clock::fixed(Clock::Real.read().saturating_add(seconds)),
        };
    }

    // --- faults and modes ------------------------------------------------------------

    /// Queues a fault for the next request `matcher` accepts.
    pub fn push_fault(&self, matcher: Match, fault: Fault) {
        self.push_fault_times(matcher, fault, 1);
    }

    /// Queues a fault for the next `times` requests `matcher` accepts.
    pub fn push_fault_times(&self, matcher: Match, fault: Fault, times: usize) {
        if times > 0 {
            lock(&self.shared.faults).push(Rule { matcher, fault, remaining: times });
        }
    }

    /// Queues a fault for the very next request.
    pub fn fault_next(&self, fault: Fault) {
        self.push_fault(Match::Next, fault);
    }

    /// Queues a fault for the next request with this method and path prefix.
    pub fn fault_on(&self, method: &str, path_prefix: &str, fault: Fault) {
        self.push_fault(Match::prefix(method, path_prefix), fault);
    }

    /// How many fault applications are still queued (0: all were consumed).
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).iter().map(|r| r.remaining).sum()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Switches between the full behaviour and the fast benchmark mode.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.fast.store(mode == Mode::Fast, Ordering::Relaxed);
        lock(&self.shared.world).config.mode = mode;
    }

    /// Replaces the length limits.
    pub fn set_limits(&self, limits: Limits) {
        lock(&self.shared.world).config.limits = limits;
    }

    /// Replaces the list order.
    pub fn set_order(&self, order: ListOrder) {
        lock(&self.shared.world).config.order = order;
    }
}

fn shutdown_sockets(shared: &Shared) {
    for socket in lock(&shared.sockets).values() {
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.shared.signal.stop();
        shutdown_sockets(&self.shared);
        // Wake the blocking accept.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(accept) = self.accept.take()
            && woke
        {
            let _ = accept.join();
        }
        shutdown_sockets(&self.shared);
        let threads: Vec<JoinHandle<()>> = lock(&self.shared.threads).drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.signal.is_stopped() {
            break;
        }
        let Ok(stream) = stream else {
            // E.g. out of file descriptors: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = shared.connection_count.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.sockets).insert(id, clone);
        }
        let for_thread = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("standin-conn-{id}"))
            .spawn(move || conn::serve(&for_thread, stream, id));
        let mut threads = lock(&shared.threads);
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(_) => {
                lock(&shared.sockets).remove(&id);
            }
        }
    }
}
