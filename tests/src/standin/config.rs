//! The stand-in's settings: API key, clock, list order and paging, length limits,
//! phone calls, how long connections are kept, and the fast benchmark mode. Built
//! with chained setters, then `start()`.

use super::Standin;
use super::state::Clock;
use std::io;
use std::time::Duration;

/// The API key a default stand-in accepts.
pub const DEFAULT_API_KEY: &str = "standin-key";
/// `per_page` when the query gives none.
pub const DEFAULT_PER_PAGE: usize = 20;
/// The largest `per_page` honoured; larger values are clamped to it.
pub const MAX_PER_PAGE: usize = 100;

/// The order of `GET /api/v1/incidents`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Highest id (latest created) first: the default, as incident lists usually are.
    #[default]
    NewestFirst,
    /// Lowest id first, to check a client does not depend on the order.
    OldestFirst,
}

/// Optional length limits, in characters (Unicode scalar values). Exceeding one
/// answers 400 `validation_error` with `{"field": <field>, "code": "too_long"}`.
/// Reactio documents none; these exist to test the handler's caps and its
/// "retry once with the minimal payload" rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// `name` on create.
    pub name: Option<usize>,
    /// `message` on create and on `POST /api/v1/messages`.
    pub message: Option<usize>,
    /// `notification_text` on create and on `POST /api/v1/notifications`.
    pub notification_text: Option<usize>,
}

/// What the stand-in answers with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// The full Reactio behaviour with state, auth and validation.
    #[default]
    Full,
    /// Benchmarks: no auth, no state, no recording (only counting); canned answers
    /// (`[]` for every GET list, 201 with a fixed incident for every POST).
    Fast,
}

/// Settings for a stand-in. `Config::default()` then setters, then [`Config::start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The only accepted `X-Api-Key` value.
    pub api_key: String,
    /// Where `created_at` etc. come from.
    pub clock: Clock,
    /// List order.
    pub order: ListOrder,
    /// `per_page` when absent.
    pub default_per_page: usize,
    /// `per_page` above this is clamped.
    pub max_per_page: usize,
    /// The number of the first page (and `page` when absent): 1, or 0 for a server
    /// that numbers pages from 0 (reactio-api.md does not say).
    pub first_page: i64,
    /// Length limits.
    pub limits: Limits,
    /// The project's plan has phone calls: without them, a create or broadcast that
    /// asks for one answers 403 (the key is good; the request is not allowed).
    pub phone_calls: bool,
    /// An incident's name is kept once used, closed or not: a create with a name in use
    /// answers 409 (reactio-api.md documents no such rule; some servers keep names
    /// unique).
    pub unique_names: bool,
    /// Full or fast.
    pub mode: Mode,
    /// Close a keep-alive connection idle this long (with a FIN, as gunicorn after 2 s
    /// or Node after 5 s do); `None`: keep it open.
    pub idle_close: Option<Duration>,
    /// Close every connection this long after its answer, without saying so in a
    /// `Connection: close` (a server that breaks RFC 9112's "MUST"); `None`: keep it.
    pub close_after_answer: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: DEFAULT_API_KEY.to_owned(),
            clock: Clock::Real,
            order: ListOrder::NewestFirst,
            default_per_page: DEFAULT_PER_PAGE,
            max_per_page: MAX_PER_PAGE,
            first_page: 1,
            limits: Limits::default(),
            phone_calls: true,
            unique_names: false,
            mode: Mode::Full,
            idle_close: None,
            close_after_answer: None,
        }
    }
}

impl Config {
    /// Sets the accepted API key.
    #[must_use]
    pub fn api_key(mut self, key: &str) -> Self {
        key.clone_into(&mut self.api_key);
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the list order.
    #[must_use]
    pub fn order(mut self, order: ListOrder) -> Self {
        self.order = order;
        self
    }

    /// Sets the default and the maximum `per_page` (the maximum is at least 1 and at
    /// least the default).
    #[must_use]
    pub fn paging(mut self, default_per_page: usize, max_per_page: usize) -> Self {
        self.default_per_page = default_per_page.max(1);
        self.max_per_page = max_per_page.max(self.default_per_page);
        self
    }

    /// Numbers pages from 0: `page=0` (or none) is the first page, `page=1` the second.
    #[must_use]
    pub fn pages_from_zero(mut self) -> Self {
        self.first_page = 0;
        self
    }

    /// A project whose plan has no phone calls: `notification_call: true` answers 403.
    #[must_use]
    pub fn without_phone_calls(mut self) -> Self {
        self.phone_calls = false;
        self
    }

    /// Keeps an incident's name once used: a create with a name in use answers 409.
    #[must_use]
    pub fn unique_names(mut self) -> Self {
        self.unique_names = true;
        self
    }

    /// Sets the length limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the mode.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Closes keep-alive connections left idle for `idle`.
    #[must_use]
    pub fn closes_idle_connections_after(mut self, idle: Duration) -> Self {
        self.idle_close = Some(idle);
        self
    }

    /// Closes every connection `delay` after its first answer, without a
    /// `Connection: close` header.
    #[must_use]
    pub fn closes_every_connection_after_answer(mut self, delay: Duration) -> Self {
        self.close_after_answer = Some(delay);
        self
    }

    /// Starts a stand-in with these settings on `127.0.0.1:0`.
    pub fn start(self) -> io::Result<Standin> {
        Standin::start_with(self, 0)
    }
}
