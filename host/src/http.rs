//! HTTP for the core's requests: one reqwest client per run on a single-thread tokio
//! runtime (no extra thread: cheaper to start than `reqwest::blocking`, see
//! BENCHMARKS.md), built only when the first request is due. rustls with compiled-in
//! roots (plus `ca_file`), redirects never followed, proxies from the environment but
//! never for loopback, plain `http://` only to loopback unless `allow_http`.

use std::time::Duration;

use reqwest::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{NoProxy, Proxy};
use sensu_reactio_core::step::API_KEY_HEADER;
use sensu_reactio_core::{Answer, Failure, FailureKind, Method, Request, Response};

use crate::error::HostError;
use crate::settings::EnvVars;

/// Answers larger than this are cut (Reactio's answers are small JSON).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Never sent through a proxy.
const LOOPBACK_NO_PROXY: &str = "127.0.0.0/8,::1,localhost";

/// What the client needs from the settings.
#[derive(Clone, Debug, Default)]
pub struct HttpSettings {
    /// Extra CA certificates (PEM), besides the compiled-in roots.
    pub ca_file: Option<String>,
    /// Allow plain http to non-loopback hosts.
    pub allow_http: bool,
    /// The CA file read ahead ([`HttpSettings::read_ca_ahead`]): its path, and its
    /// bytes or why they could not be read.
    pub ca_read: Option<(String, Result<Vec<u8>, String>)>,
}

impl HttpSettings {
    /// The extra CA file: `ca_file`, else `SSL_CERT_FILE`.
    fn ca_path(&self, env: &EnvVars) -> Option<String> {
        self.ca_file.clone().or_else(|| env.get("SSL_CERT_FILE").map(str::to_owned))
    }

    /// Read the CA file now rather than when the client is built: a root run that
    /// takes the identity of the spool's owner (`Spool::locate`) reads it as root, as
    /// it reads the settings and keys.
    pub fn read_ca_ahead(&mut self, env: &EnvVars) {
        if let Some(path) = self.ca_path(env) {
            let read =
                crate::settings::read_regular(std::path::Path::new(&path)).map_err(|e| crate::settings::io_reason(&e));
            self.ca_read = Some((path, read));
        }
    }
}

/// The run's one HTTP client (one connection reused for lookup and create) and the
/// current-thread runtime it runs on.
#[derive(Debug)]
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: Client,
    /// Connections are kept between requests (until one breaks: [`Http::stop_reusing`]).
    reusing: bool,
    /// The proxies from the environment: the client's (kept for [`Http::stop_reusing`]'s
    /// rebuild), and what a failure to connect names.
    proxies: Proxies,
}

/// The proxies from the environment, read once: what the client is built with, and
/// what a failure to connect names. `NO_PROXY` as the user wrote it (loopback is
/// never proxied besides).
#[derive(Debug, Default)]
struct Proxies {
    http: Option<EnvProxy>,
    https: Option<EnvProxy>,
    all: Option<EnvProxy>,
    no_proxy: Option<String>,
}

/// One proxy variable: its url, credentials and all (for reqwest only), and its name.
#[derive(PartialEq)]
struct EnvProxy {
    url: String,
    var: &'static str,
}

/// Never the credentials: a proxy is shown as its `host:port` ([`proxy_shown`]).
impl std::fmt::Debug for EnvProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {}", proxy_shown(&self.url), self.var)
    }
}

impl Proxies {
    fn from_env(env: &EnvVars) -> Proxies {
        let find = |names: [&'static str; 2]| {
            names.into_iter().find_map(|var| env.get(var).map(|url| EnvProxy { url: url.to_owned(), var }))
        };
        Proxies {
            http: find(["http_proxy", "HTTP_PROXY"]),
            https: find(["https_proxy", "HTTPS_PROXY"]),
            all: find(["all_proxy", "ALL_PROXY"]),
            no_proxy: env.get("NO_PROXY").or_else(|| env.get("no_proxy")).map(str::to_owned),
        }
    }

    /// The proxy a request to `scheme://authority` goes through, if any (as reqwest
    /// picks it: the scheme's own, else `ALL_PROXY`; `NO_PROXY`'s names and their
    /// subdomains, or `*`, go direct).
    fn through(&self, scheme: &str, authority: &str) -> Option<&EnvProxy> {
        let host = host_of(authority).trim_matches(['[', ']']).to_ascii_lowercase();
        let exempt = is_loopback(authority)
            || self.no_proxy.as_deref().unwrap_or_default().split(',').any(|e| {
                let e = e.trim().trim_start_matches('.').to_ascii_lowercase();
                e == "*"
                    || (!e.is_empty() && (host == e || host.strip_suffix(e.as_str()).is_some_and(|h| h.ends_with('.'))))
            });
        let own = if scheme == "http" { &self.http } else { &self.https };
        if exempt { None } else { own.as_ref().or(self.all.as_ref()) }
    }
}

/// A proxy url as said: its `host:port`, without a scheme or credentials.
fn proxy_shown(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('/').next().unwrap_or_default().to_owned()
}

/// The host part of `host[:port]` (IPv6 in brackets).
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Is `host[:port]` this machine (`localhost`, 127.0.0.0/8 in four decimal numbers,
/// `[::1]`)? The core's rule, which its configuration check applies first: one rule
/// for the plain-http policy and the proxy exemption, whichever engine runs.
pub fn is_loopback(authority: &str) -> bool {
    sensu_reactio_core::config::is_loopback(authority)
}

/// Refuse plain http to another host unless allowed (the key would travel in clear).
pub fn check_policy(request: &Request, settings: &HttpSettings) -> Result<(), HostError> {
    if request.scheme.eq_ignore_ascii_case("http") && !settings.allow_http && !is_loopback(&request.authority) {
        return Err(HostError::Config(format!(
            "refusing plain http to {}: the api key would travel unencrypted; use an https endpoint, or set allow_http (--allow-http) if this is intended",
            request.authority
        )));
    }
    Ok(())
}

/// A connection idle this long is not used again: a server's keep-alive close may be
/// on its way (gunicorn closes after 2 s, Node and Apache after 5 s), and a request
/// written into a connection the server closed fails with nothing answered, which
/// for a write cannot be told from one the server took. Back-to-back requests (the
/// lookup and the create) still share one connection.
const REUSE_IDLE: Duration = Duration::from_millis(500);

/// How long a connection may take to open (the name, TCP, TLS). Without it, the
/// first of a name's addresses that drops packets took a request's whole timeout, run
/// after run, though the next answered; hyper-util shares this out among the
/// addresses (docs/reliability.md finding 73).
const CONNECT_WITHIN: Duration = Duration::from_secs(2);

/// A client on `runtime`; `reuse: false` keeps no connection between requests.
fn new_client(
    runtime: &tokio::runtime::Runtime,
    settings: &HttpSettings,
    env: &EnvVars,
    proxies: &Proxies,
    reuse: bool,
) -> Result<Client, HostError> {
    let mut builder = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sensu-reactio/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(REUSE_IDLE)
        .connect_timeout(CONNECT_WITHIN)
        .dns_resolver(std::sync::Arc::new(crate::resolve::Resolver))
        .no_proxy();
    if !reuse {
        builder = builder.pool_max_idle_per_host(0);
    }
    let no_proxy = match &proxies.no_proxy {
        Some(user) => format!("{LOOPBACK_NO_PROXY},{user}"),
        None => LOOPBACK_NO_PROXY.to_owned(),
    };
    for (proxy, scheme) in [(&proxies.http, "http"), (&proxies.https, "https"), (&proxies.all, "all")] {
        let Some(EnvProxy { url, .. }) = proxy else { continue };
        let proxy = match scheme {
            "http" => Proxy::http(url),
            "https" => Proxy::https(url),
            _ => Proxy::all(url),
        }
        .map_err(|e| HostError::Config(format!("the {scheme} proxy from the environment is not a valid url: {e}")))?;
        builder = builder.proxy(proxy.no_proxy(NoProxy::from_string(&no_proxy)));
    }
    let ca = match &settings.ca_read {
        Some((path, read)) => Some((path.clone(), read.clone())),
        None => settings.ca_path(env).map(|path| {
            let read =
                crate::settings::read_regular(std::path::Path::new(&path)).map_err(|e| crate::settings::io_reason(&e));
            (path, read)
        }),
    };
    if let Some((path, read)) = ca {
        let pem = read.map_err(|e| {
            HostError::Config(format!(
                "could not read ca_file {path}: {e}; point ca_file (or SSL_CERT_FILE) at a pem bundle of ca certificates readable by the user sensu runs handlers as"
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| HostError::Config(format!("ca_file {path} is not a pem bundle: {e}")))?;
        if certs.is_empty() {
            return Err(HostError::Config(format!("ca_file {path} holds no certificate; expected pem blocks")));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let _inside = runtime.enter();
    builder.build().map_err(|e| HostError::Internal(format!("could not build the http client: {}", chain(&e))))
}

impl Http {
    /// Build the client (the costly part: the runtime and the root store).
    pub fn build(settings: &HttpSettings, env: &EnvVars) -> Result<Http, HostError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(|e| {
            let fix = crate::error::out_of_files_fix(&e).unwrap_or("it goes once the machine has room again");
            HostError::Machine(format!("could not start the http runtime: {e}; the event is kept: {fix}"))
        })?;
        let proxies = Proxies::from_env(env);
        let client = new_client(&runtime, settings, env, &proxies, true)?;
        Ok(Http { runtime, client, reusing: true, proxies })
    }

    /// From now on, every request goes on a new connection: one broke under a request
    /// (a server that closes connections without saying so, or one the runtime had
    /// not yet seen closed), and the next request on it could break the same way.
    /// Idempotent: only the first call builds a client.
    pub fn stop_reusing(&mut self, settings: &HttpSettings, env: &EnvVars) -> Result<(), HostError> {
        if self.reusing {
            self.client = new_client(&self.runtime, settings, env, &self.proxies, false)?;
            self.reusing = false;
        }
        Ok(())
    }

    /// Wait `duration` on the client's runtime, so that its connections see a close
    /// the server sends meanwhile (an idle timeout) and are not used after it.
    pub fn pause(&self, duration: Duration) {
        self.runtime.block_on(async move { tokio::time::sleep(duration).await });
    }

    /// Send one request within `timeout`; transport trouble becomes an
    /// [`Answer::Failure`]. A header the api key cannot be sent in is a config error.
    pub fn send(&self, request: &Request, timeout: Duration) -> Result<Answer, HostError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HostError::Internal(format!("the core asked for an invalid header name `{name}`")))?;
            let secret = name.eq_ignore_ascii_case(API_KEY_HEADER);
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                if secret {
                    HostError::Config("the api key holds characters an http header cannot carry (a newline?); check api_key or api_key_file".into())
                } else {
                    HostError::Internal(format!("the core asked for an invalid value of header `{name}`"))
                }
            })?;
            value.set_sensitive(secret);
            headers.append(header, value);
        }
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, request.url()).headers(headers).timeout(timeout);
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let proxy = self.proxies.through(&request.scheme, &request.authority);
        // A write other than a create, taken: its status says all (sent again, a
        // message would be posted again, or a broadcast taken as maybe gone out).
        let taken_by_status = request.method == Method::Post && request.purpose != sensu_reactio_core::Purpose::Create;
        self.runtime.block_on(async move {
            let mut response = match builder.send().await {
                Ok(response) => response,
                // Every retry would meet the same limit: a machine error.
                Err(e) if crate::resolve::is_no_thread(&e) => return Err(HostError::Machine(root_cause(&e))),
                Err(e) => {
                    let mut failure = failure(&e);
                    if let (Some(EnvProxy { url, var }), FailureKind::Connect) = (proxy, failure.kind) {
                        // The error names the endpoint's host, though the connection
                        // that failed may be the proxy's.
                        failure.detail = format!(
                            "{} (through the proxy {} from {var}: if it is the proxy that cannot be reached, fix {var}, or add {} to NO_PROXY)",
                            failure.detail,
                            proxy_shown(url),
                            host_of(&request.authority)
                        );
                    }
                    return Ok(Answer::Failure(failure));
                }
            };
            let status = response.status().as_u16();
            let answer_headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let mut body = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
                        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                        if body.len() >= MAX_ANSWER_BYTES {
                            if taken_by_status && (200..300).contains(&status) {
                                break;
                            }
                            // Said as such: cut there, a listing would read as "not a
                            // json list", and a create's id as missing.
                            return Ok(Answer::Failure(Failure {
                                kind: FailureKind::Other,
                                detail: format!(
                                    "the answer ({status}) is larger than the 4 MiB read of one; it was cut there"
                                ),
                            }));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The request's timeout also covers the body: a stall there is one.
                        let kind = if e.is_timeout() {
                            FailureKind::Timeout
                        } else {
                            io_kind(&e).unwrap_or(FailureKind::Reset)
                        };
                        return Ok(Answer::Failure(Failure {
                            kind,
                            detail: format!("reading the answer ({status}) failed: {}", chain(&e)),
                        }));
                    }
                }
            }
            Ok(Answer::Response(Response::from_bytes(status, answer_headers, &body)))
        })
    }
}

/// The error and its sources on one line, at most 300 characters.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = e.to_string().replace(['\n', '\r'], " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    let line = parts.join(": ");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", line.get(..cut).unwrap_or(&line)),
        None => line,
    }
}

fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<FailureKind> {
    use std::io::ErrorKind as K;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
                    return Some(FailureKind::Connect);
                }
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return Some(FailureKind::Reset);
                }
                K::TimedOut | K::WouldBlock => return Some(FailureKind::Timeout),
                _ => {}
            }
        }
        current = e.source();
    }
    None
}

/// The innermost cause, one line (the part an operator can act on).
pub fn root_cause(error: &dyn std::error::Error) -> String {
    let mut current: &dyn std::error::Error = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string().replace(['\n', '\r'], " ")
}

/// What to do about a TLS failure whose words (rustls') do not say it.
fn tls_hint(lower: &str) -> Option<&'static str> {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["unknownissuer", "unknown issuer"]) {
        Some(
            "the server's certificate is not signed by a root this handler trusts: for a private ca, name its root certificate (pem) in `ca_file`",
        )
    } else if has(&["causedasendentity", "caused as end entity", "ca used as end entity"]) {
        Some(
            "the server presents a ca certificate as its own (as `openssl req -x509` makes one): give it a certificate issued by a ca, and name that ca in `ca_file`",
        )
    } else if has(&["invalidcontenttype", "corrupt message"]) {
        Some(
            "the server does not speak tls there: check the scheme and port of `endpoint` (plain http only to loopback, or with `allow_http`)",
        )
    } else {
        None
    }
}

/// Map a reqwest error to the core's failure kinds; the detail names the host and
/// the innermost cause (never a header, so never the key).
pub fn failure(error: &reqwest::Error) -> Failure {
    // The causes only: reqwest's own words carry the url ("error sending request for
    // url (https://tls-gw.example/...)"), whose host or path may hold "tls",
    // "certificate" or "handshake" and would turn every failure into a TLS one (a
    // broadcast that timed out after it was sent would then be sent again).
    let lower = std::error::Error::source(error).map(chain).unwrap_or_default().to_lowercase();
    let host = error.url().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_owned(),
        })
    });
    let cause =
        if error.is_timeout() && !lower.contains("timed out") { "timed out".to_owned() } else { root_cause(error) };
    let mut detail = match host {
        Some(host) => format!("{host}: {cause}"),
        None => cause,
    };
    let hint = tls_hint(&lower);
    if let Some(hint) = hint {
        detail = format!("{detail}; {hint}");
    }
    let kind =
        if hint.is_some() || lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            FailureKind::Tls
        } else if error.is_connect() {
            // No connection, so nothing sent: a connect that timed out or was reset too
            // (read as a timeout, a broadcast would be taken as maybe gone out, and not
            // sent again).
            FailureKind::Connect
        } else if error.is_timeout() {
            FailureKind::Timeout
        } else if let Some(kind) = io_kind(error) {
            kind
        } else if lower.contains("connection closed") || lower.contains("incomplete") || error.is_body() {
            FailureKind::Reset
        } else {
            FailureKind::Other
        };
    Failure { kind, detail }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use sensu_reactio_core::Purpose;

    #[test]
    fn tls_failures_rustls_words_get_what_to_do() {
        let hint = |words: &str| tls_hint(&words.to_lowercase()).unwrap_or_default();
        assert!(hint("invalid peer certificate: UnknownIssuer").contains("`ca_file`"));
        assert!(hint("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))").contains("openssl req -x509"));
        assert!(hint("received corrupt message of type InvalidContentType").contains("does not speak tls"));
        assert_eq!(tls_hint("invalid peer certificate: expired"), None, "rustls says that one plainly");
    }

    fn request(scheme: &str, authority: &str) -> Request {
        Request {
            method: Method::Get,
            scheme: scheme.into(),
            authority: authority.into(),
            path: "/api/v1/incidents".into(),
            headers: vec![],
            body: String::new(),
            timeout_ms: 100,
            purpose: Purpose::LookupOpen,
        }
    }

    #[test]
    fn loopback_detection() {
        for yes in ["127.0.0.1:8080", "127.9.9.9", "[::1]:80", "localhost:1", "LOCALHOST"] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in ["10.0.0.1:80", "demo.reactio.jp", "[2001:db8::1]:443", "localhost.evil.com", "127.0.0.1.evil.com"] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn a_proxy_that_cannot_be_reached_is_named_without_its_credentials() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let proxy = format!("http://someone:pr0xy-secret@127.0.0.1:{port}/");
        let env = EnvVars::from_pairs([("HTTP_PROXY", proxy.as_str())]);
        let http = Http::build(&HttpSettings::default(), &env).unwrap();
        // Never resolved: the proxy is asked for it, and the proxy is not there.
        match http.send(&request("http", "reactio.test"), Duration::from_secs(2)).unwrap() {
            Answer::Failure(f) => {
                assert_eq!(f.kind, FailureKind::Connect, "{}", f.detail);
                let said = format!("through the proxy 127.0.0.1:{port} from HTTP_PROXY");
                assert!(f.detail.contains(&said) && f.detail.contains("NO_PROXY"), "{}", f.detail);
                assert!(!f.detail.contains("pr0xy-secret") && !f.detail.contains("someone"), "{}", f.detail);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_proxy_a_request_goes_through_follows_its_scheme_and_no_proxy() {
        let env = |pairs: &[(&str, &str)]| Proxies::from_env(&EnvVars::from_pairs(pairs.iter().copied()));
        let shown = |p: Option<&EnvProxy>| p.map(|p| format!("{} {}", proxy_shown(&p.url), p.var));
        let all = env(&[
            ("ALL_PROXY", "socks5://p:1080"),
            ("https_proxy", "https://u:pw@q:3128"),
            ("NO_PROXY", ".corp,x.test"),
        ]);
        assert_eq!(shown(all.through("http", "demo.reactio.jp")).as_deref(), Some("p:1080 ALL_PROXY"));
        assert_eq!(shown(all.through("https", "demo.reactio.jp")).as_deref(), Some("q:3128 https_proxy"));
        for exempt in ["reactio.corp", "x.test:443", "127.0.0.1:9", "[::1]:80", "localhost"] {
            assert_eq!(all.through("https", exempt), None, "{exempt}");
        }
        assert!(all.through("https", "notx.test").is_some());
        assert_eq!(env(&[("https_proxy", "q:3128"), ("no_proxy", "*")]).through("https", "demo.reactio.jp"), None);
        assert_eq!(env(&[]).through("https", "demo.reactio.jp"), None);
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        let settings = HttpSettings::default();
        assert!(check_policy(&request("http", "127.0.0.1:9"), &settings).is_ok());
        assert!(check_policy(&request("https", "demo.reactio.jp"), &settings).is_ok());
        let err = check_policy(&request("http", "demo.reactio.jp"), &settings).unwrap_err();
        assert!(matches!(err, HostError::Config(_)));
        assert!(err.to_string().contains("allow_http"));
        let allowed = HttpSettings { allow_http: true, ..HttpSettings::default() };
        assert!(check_policy(&request("http", "demo.reactio.jp"), &allowed).is_ok());
    }

    #[test]
    fn connection_refused_is_a_connect_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let http = Http::build(&HttpSettings::default(), &EnvVars::default()).unwrap();
        let answer = http.send(&request("http", &format!("127.0.0.1:{port}")), Duration::from_millis(500)).unwrap();
        match answer {
            Answer::Failure(f) => assert_eq!(f.kind, FailureKind::Connect, "{}", f.detail),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_answer_larger_than_the_cap_is_said_as_cut_not_read_as_cut() {
        let listing = request("http", "");
        match answer_of_more_than_the_cap(listing, 200) {
            Answer::Failure(f) => {
                assert_eq!(f.kind, FailureKind::Other, "{}", f.detail);
                assert!(f.detail.contains("larger than the 4 MiB"), "{}", f.detail);
            }
            other => panic!("{other:?}"),
        }
        // A write other than a create is taken by its status: sent again, a message
        // would be posted again, and a broadcast taken as maybe gone out.
        let message = Request { method: Method::Post, purpose: Purpose::Message, ..request("http", "") };
        match answer_of_more_than_the_cap(message, 201) {
            Answer::Response(r) => assert_eq!((r.status, r.body.len()), (201, MAX_ANSWER_BYTES)),
            other => panic!("{other:?}"),
        }
    }

    /// `request`'s answer from a server that answers `status` with more than
    /// [`MAX_ANSWER_BYTES`].
    fn answer_of_more_than_the_cap(mut request: Request, status: u16) -> Answer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        request.authority = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let body = vec![b' '; MAX_ANSWER_BYTES + 1024];
            let head = format!(
                "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        });
        let http = Http::build(&HttpSettings::default(), &EnvVars::default()).unwrap();
        let answer = http.send(&request, Duration::from_secs(5)).unwrap();
        drop(http);
        let _ = server.join();
        answer
    }

    #[test]
    fn a_timeout_is_no_tls_failure_for_the_words_in_its_url() {
        // reqwest's own words carry the url: "tls" in a host or path made every
        // timeout a TLS failure (not sent), and a broadcast that went out was sent again.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let held = listener.accept();
            std::thread::sleep(Duration::from_millis(800));
            drop(held);
        });
        let http = Http::build(&HttpSettings::default(), &EnvVars::default()).unwrap();
        let request = Request { path: "/tls/certificate/handshake".into(), ..request("http", &authority) };
        match http.send(&request, Duration::from_millis(300)).unwrap() {
            Answer::Failure(f) => assert_eq!(f.kind, FailureKind::Timeout, "{}", f.detail),
            other => panic!("{other:?}"),
        }
        drop(http);
        let _ = server.join();
    }

    #[test]
    fn a_connection_that_does_not_open_fails_within_the_connect_time_as_not_sent() {
        // A listener whose accept queue is full: the kernel drops further SYNs, as a
        // blackholed address does.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(50)) {
                Ok(stream) => queued.push(stream),
                Err(_) => break,
            }
        }
        let http = Http::build(&HttpSettings::default(), &EnvVars::default()).unwrap();
        let started = std::time::Instant::now();
        let answer = http.send(&request("http", &address.to_string()), Duration::from_secs(6)).unwrap();
        let took = started.elapsed();
        match answer {
            Answer::Failure(f) => {
                assert_eq!(f.kind, FailureKind::Connect, "nothing was sent: {}", f.detail);
                assert!(took < Duration::from_secs(4), "{took:?}: {}", f.detail);
            }
            other => panic!("{other:?}"),
        }
        drop(queued);
    }

    #[test]
    fn unreadable_ca_file_is_a_config_error_naming_it() {
        let settings = HttpSettings { ca_file: Some("/nonexistent/ca.pem".into()), allow_http: false, ca_read: None };
        let err = Http::build(&settings, &EnvVars::default()).unwrap_err();
        assert!(matches!(err, HostError::Config(_)));
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }
}
