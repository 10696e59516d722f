//! The native host of sensu-reactio: stdin, settings files, environment, clock,
//! HTTP (reqwest), spool and exit codes around the pure core. The binary
//! `sensu-reactio-handler` is [`app::run`] behind a command line ([`cli`]).

#![deny(unsafe_code)]

pub mod app;
pub mod checks;
pub mod cli;
pub mod deliver;
pub mod drive;
pub mod engine;
pub mod error;
pub mod http;
pub mod input;
pub mod latest;
pub mod output;
pub mod resolve;
pub mod route;
pub mod settings;
pub mod spool;
