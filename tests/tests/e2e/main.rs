//! End-to-end tests of the native handler: the built `sensu-reactio-handler` run as a
//! process against the Reactio stand-in on 127.0.0.1 (build it first:
//! `cargo build --bin sensu-reactio-handler`; a missing binary fails the tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod cli;
mod delivery;
mod faults;
mod machine;
mod order;
mod sensu;
mod spool;
mod spool_turns;
mod support;
