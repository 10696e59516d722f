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

/// A URL on 127.0.0.1 where connections are refused. Its port stays bound, never
/// listening, for the rest of the test process: a port bound and let go (as this was
/// first done) could be taken by a stand-in another test started meanwhile, and the
/// "down" server then answered.
// Failing the test is what this helper is for.
#[allow(clippy::expect_used)]
pub fn refused_url() -> String {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&any_port.into()).expect("bind 127.0.0.1");
    let port = socket.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port()).expect("its port");
    std::mem::forget(socket);
    format!("http://127.0.0.1:{port}")
}
