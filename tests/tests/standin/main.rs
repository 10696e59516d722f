//! Tests of the Reactio stand-in itself (API behaviour, transport, faults), the proxy
//! stand-in, the binary locator and the `reactio-standin` binary, driven by the bare
//! std `TcpStream` client in `sensu_reactio_tests::client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod api;
mod faults;
mod misc;
mod transport;

use sensu_reactio_tests::client::Client;
use sensu_reactio_tests::standin::{Clock, Config, Standin};

/// A stand-in with a fixed clock at 1_700_000_000 and a client holding its key.
fn setup() -> (Standin, Client) {
    let server = Config::default().clock(Clock::fixed(1_700_000_000)).start().unwrap();
    let client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    (server, client)
}
