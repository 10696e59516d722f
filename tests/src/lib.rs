//! Shared test support: the Reactio stand-in server ([`standin`]), a proxy stand-in
//! ([`proxy`]), the minimal HTTP wire code they share ([`http`]), a bare HTTP client
//! for tests ([`client`]), locating the built handler binary ([`bins`]), and running
//! it as a process ([`process`]).

pub mod bins;
pub mod client;
pub mod http;
pub mod process;
pub mod proxy;
pub mod standin;

pub use bins::handler_bin;
pub use proxy::{ProxyMode, ProxyStandin};
pub use standin::{Config, Fault, Match, Seed, Standin};
