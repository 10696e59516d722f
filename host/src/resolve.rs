//! Name resolution for the HTTP client that cannot panic: `getaddrinfo` on a thread of
//! its own, awaited under the request's timeout.
//!
//! reqwest's default resolver runs `getaddrinfo` through tokio's blocking pool, and
//! tokio panics when that pool cannot start a thread. A Sensu server's user at its
//! process or thread limit (a leak elsewhere on a sick machine) then aborted the run
//! with its event: nothing sent, nothing spooled (docs/reliability.md finding 72).
//! Here a thread that cannot be started fails the lookup, said as such: nothing is
//! sent, and the event is kept for the next run. It is not
//! resolved on the run's own thread instead: a DNS server that does not answer would
//! then hold the run, whose timers cannot fire, past Sensu's kill (finding 73); a name
//! this machine's /etc/hosts gives (`localhost`, a stand-in's) is read from it, which
//! cannot hang. Without a thread, the run is a machine error: retries would meet the
//! same limit (the event is kept at once, and the drain stops).

use std::net::{SocketAddr, ToSocketAddrs};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The resolver given to every client.
#[derive(Debug, Default)]
pub struct Resolver;

fn lookup(host: &str) -> std::io::Result<Vec<SocketAddr>> {
    (host, 0).to_socket_addrs().map(Iterator::collect).map_err(|e| unresolved(host, &e))
}

/// What every "no thread" lookup error starts with, for [`is_no_thread`].
const NO_THREAD: &str = "could not start a thread to resolve";

/// Whether `error` (a failed request's, its causes in turn) is a lookup that had no
/// thread to run on.
pub fn is_no_thread(error: &dyn std::error::Error) -> bool {
    crate::http::chain(error).contains(NO_THREAD)
}

/// The addresses /etc/hosts gives `host`, read without a thread (a file: no network).
fn from_hosts_file(host: &str) -> Option<Vec<SocketAddr>> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    from_hosts(&text, host)
}

/// The addresses of `host` in `text`, an /etc/hosts: lines of an address and its names,
/// `#` to the end of a line a comment, names in any case.
fn from_hosts(text: &str, host: &str) -> Option<Vec<SocketAddr>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<std::net::IpAddr>) else { continue };
        if fields.any(|name| name.eq_ignore_ascii_case(host)) {
            found.push(SocketAddr::new(ip, 0));
        }
    }
    (!found.is_empty()).then_some(found)
}

/// No thread for the lookup: the limit to raise. Of kind `Other`, as every failed
/// lookup here: nothing was sent, so it must not read as a timeout (`EAGAIN`'s kind),
/// which says a request may have gone out (a broadcast would not be sent again).
fn no_thread(host: &str, error: &std::io::Error) -> std::io::Error {
    std::io::Error::other(format!(
        "{NO_THREAD} {host} ({}): the handler's user is at its process or thread limit; raise it for the sensu service (systemd: LimitNPROC= or TasksMax=; else `ulimit -u`)",
        error.to_string().to_lowercase()
    ))
}

/// A failed lookup said with where to look: getaddrinfo's own words ("temporary
/// failure in name resolution") name neither the setting nor the file at fault.
fn unresolved(host: &str, error: &std::io::Error) -> std::io::Error {
    let fix = if host.eq_ignore_ascii_case("localhost") {
        "this machine's /etc/hosts has no line for it: give `endpoint` as 127.0.0.1 (or [::1])".to_owned()
    } else {
        format!(
            "check `organization` or `endpoint`, and this machine's resolver (/etc/resolv.conf, /etc/hosts) for {host}"
        )
    };
    std::io::Error::other(format!("could not resolve the name ({}): {fix}", error.to_string().to_lowercase()))
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new().name("resolve".into()).spawn({
                let host = host.clone();
                move || {
                    let _ = tx.send(lookup(&host));
                }
            });
            // Awaited, the lookup leaves the runtime's timers running: one that hangs
            // still meets the request's timeout, and its thread is left to end alone.
            let found = match spawned {
                Ok(_) => rx.await.unwrap_or_else(|_| Err(std::io::Error::other("the lookup's thread ended early"))),
                Err(e) => from_hosts_file(&host).ok_or_else(|| no_thread(&host, &e)),
            };
            let addrs: Addrs = Box::new(found?.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(host: &str) -> Result<Vec<SocketAddr>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let name: Name = host.parse().map_err(|_| format!("{host} is not a name"))?;
        runtime.block_on(Resolver.resolve(name)).map(Iterator::collect).map_err(|e| e.to_string())
    }

    #[test]
    fn a_name_that_does_not_resolve_says_where_to_look() {
        let cause = std::io::Error::other("Temporary failure in name resolution");
        let said = unresolved("localhost", &cause).to_string();
        assert!(said.contains("temporary failure in name resolution") && said.contains("/etc/hosts"), "{said}");
        assert!(said.contains("127.0.0.1"), "{said}");
        let said = unresolved("demo.reactio.jp", &cause).to_string();
        assert!(said.contains("`organization` or `endpoint`") && said.contains("/etc/resolv.conf"), "{said}");
        assert!(!said.contains("127.0.0.1"), "{said}");
    }

    #[test]
    fn a_hosts_file_gives_every_address_of_a_name_in_any_case() {
        let hosts = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # both\n# 10.0.0.9 reactio.test\n\
                     10.1.2.3 Reactio.TEST reactio\nnot-an-address reactio.test\n";
        let ips = |host| from_hosts(hosts, host).map(|a| a.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>());
        assert_eq!(ips("localhost"), Some(vec!["127.0.0.1".to_owned(), "::1".to_owned()]));
        assert_eq!(ips("reactio.test"), Some(vec!["10.1.2.3".to_owned()]));
        assert_eq!(ips("ip6-LOCALHOST"), Some(vec!["::1".to_owned()]));
        assert_eq!(ips("demo.reactio.jp"), None);
        assert_eq!(ips("both"), None, "a comment names nothing");
    }

    #[test]
    fn no_thread_for_a_lookup_is_no_timeout_and_names_the_limit() {
        let eagain = std::io::Error::from_raw_os_error(11);
        assert_eq!(eagain.kind(), std::io::ErrorKind::WouldBlock, "EAGAIN reads as a timeout");
        let said = no_thread("demo.reactio.jp", &eagain);
        assert_eq!(said.kind(), std::io::ErrorKind::Other, "nothing was sent: no timeout");
        assert!(said.to_string().contains("process or thread limit"), "{said}");
        assert!(is_no_thread(&said));
        assert!(!is_no_thread(&unresolved("demo.reactio.jp", &eagain)));
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        // Names that must not resolve are not tried: that would ask the system's DNS
        // server, another host.
        let found = resolve("localhost").expect("localhost resolves");
        assert!(!found.is_empty() && found.iter().all(|a| a.ip().is_loopback()), "{found:?}");
    }
}
