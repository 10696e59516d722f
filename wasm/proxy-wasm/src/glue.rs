//! The filter's glue as plain functions over core types, so it is unit-tested on the
//! host: the plugin configuration, admission, one exchange (machine + replies), and
//! the mapping between core requests/answers and proxy-wasm HTTP calls.
//!
//! No decision is made here: admission and replies come from
//! `sensu_reactio_core::gateway`, every step from the core's `Machine`.

use std::time::Duration;

use sensu_reactio_core::gateway::{self, GatewayConfig, Reply};
use sensu_reactio_core::{
    Answer, Config, Context, Failure, FailureKind, Machine, Request, Response, Step, dry_run_answer, plan,
};
use sensu_reactio_core::{TrimWs, read, text};

/// The cluster the filter sends Reactio calls to when `cluster` is not set.
pub const DEFAULT_CLUSTER: &str = "reactio";

/// What the plugin configuration holds (a JSON string in Envoy's `configuration`):
/// `cluster` (the Envoy cluster that reaches Reactio, default [`DEFAULT_CLUSTER`]),
/// `continue_on_headers` (continue on request headers instead of pausing: only for
/// hosts that cannot set `allow_on_headers_stop_iteration` (Istio); the
/// `authorization` header is removed first, but the other request headers reach the
/// route's upstream) and `gateway` (token + the core's configuration). Read by hand
/// with the core's readers (no serde-derived code in the module); unknown members are
/// refused.
struct PluginConfig {
    cluster: String,
    continue_on_headers: bool,
    gateway: GatewayConfig,
}

impl PluginConfig {
    fn parse(bytes: &[u8]) -> Result<PluginConfig, String> {
        let map = read::parse_object(bytes)?;
        let fields = read::Fields::new(&map, "");
        fields.deny_unknown(&["cluster", "continue_on_headers", "gateway"])?;
        Ok(PluginConfig {
            cluster: fields.opt_string("cluster")?.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned()),
            continue_on_headers: fields.bool("continue_on_headers")?,
            gateway: match fields.object("gateway")? {
                Some(map) => GatewayConfig::from_json(map, "gateway.")?,
                None => GatewayConfig::default(),
            },
        })
    }
}

/// A loaded, validated plugin configuration.
#[derive(Debug)]
pub struct Plugin {
    /// The upstream cluster for Reactio calls.
    pub cluster: String,
    /// See `continue_on_headers` in the configuration.
    pub continue_on_headers: bool,
    /// Token and core configuration input.
    pub gateway: GatewayConfig,
    /// The core's validated configuration.
    pub config: Config,
}

const CONFIG_FIX: &str = r#"pass a json object {"cluster":"reactio","gateway":{"token":"..","config":{"flags":{"api_key":"..","organization":".."}}}} as the filter's configuration (a google.protobuf.StringValue)"#;

/// Load the plugin configuration; the `500` reply every request gets when it is invalid.
pub fn load_plugin(bytes: Option<&[u8]>) -> Result<Plugin, Reply> {
    let bytes = bytes.unwrap_or_default();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(config_reply(&format!("the filter has no configuration; {CONFIG_FIX}")));
    }
    // The readers name the member and the kind of value, never the value (the token
    // or the api key).
    let parsed = PluginConfig::parse(bytes)
        .map_err(|what| config_reply(&format!("the filter configuration is not valid: {what}; {CONFIG_FIX}")))?;
    if parsed.cluster.trim_ws().is_empty() {
        return Err(config_reply(&format!(
            "`cluster` is empty; name the envoy cluster that reaches reactio; {CONFIG_FIX}"
        )));
    }
    let config = Config::load(&parsed.gateway.config).map_err(|e| config_reply(&e.message))?;
    Ok(Plugin {
        cluster: parsed.cluster,
        continue_on_headers: parsed.continue_on_headers,
        gateway: parsed.gateway,
        config,
    })
}

fn config_reply(message: &str) -> Reply {
    gateway::error_reply(500, "config", message)
}

/// Admit a request from its headers (`content-length` when announced; a chunked body
/// is checked again by [`admit_body`]).
pub fn admit_headers(
    plugin: &Result<Plugin, Reply>,
    method: &str,
    authorization: Option<&str>,
    content_length: Option<&str>,
) -> Result<(), Reply> {
    let plugin = plugin.as_ref().map_err(Clone::clone)?;
    // The core's `parse_u64`, not `str::parse`: each of its instances is ~0.5 KB.
    let announced =
        content_length.and_then(|v| text::parse_u64(v.trim_ws())).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    gateway::admit(&plugin.gateway, method, authorization, announced)
}

/// Admit the body received so far (its size only; method and token passed already).
pub fn admit_body(plugin: &Plugin, authorization: Option<&str>, body_len: usize) -> Result<(), Reply> {
    gateway::admit(&plugin.gateway, "POST", authorization, body_len)
}

/// What the filter does next.
#[derive(Debug)]
pub enum Next<'a> {
    /// Send this request (the machine's own, borrowed: never copied) through the
    /// cluster and feed the answer back.
    Call(&'a Request),
    /// Answer the caller and stop.
    Reply(Reply),
}

/// One inbound event being handled: the core's machine.
#[derive(Debug)]
pub struct Exchange {
    machine: Machine,
}

impl Exchange {
    /// Plan the event (`now`: epoch seconds from the host's clock); [`Exchange::next`]
    /// says what to do first.
    pub fn start(plugin: &Plugin, body: &[u8], now: i64) -> Result<Exchange, Reply> {
        // A gateway runs as the event arrives (its sender's retries within seconds).
        let dry_run = plugin.config.host.dry_run;
        let context = Context { now, received: Some(now), dry_run, ..Context::default() };
        // `format!`, not `to_string`: `ToString`'s own instance (and its panic) is ~0.3 KB
        // of the filter.
        let mut machine =
            plan(body, &plugin.config, &context).map_err(|e| gateway::error_reply(400, "input", &format!("{e}")))?;
        // `dry_run` in the filter's configuration: each request answered as a dry run
        // answers it, none sent.
        while dry_run && let Step::Request(request) = machine.step() {
            let answer = dry_run_answer(request);
            machine.handle(answer);
        }
        Ok(Exchange { machine })
    }

    /// The current step as what to do.
    pub fn next(&self) -> Next<'_> {
        match self.machine.step() {
            Step::Request(request) => Next::Call(request),
            step => Next::Reply(gateway::reply_for_step(step).unwrap_or_else(lost_step)),
        }
    }

    /// Hand the answer to the current request to the machine; [`Exchange::next`] says
    /// what to do then.
    pub fn answer(&mut self, answer: Answer) {
        self.machine.handle(answer);
    }
}

/// The reply when the filter has no step to act on (a bug).
pub fn lost_step() -> Reply {
    gateway::error_reply(500, "internal", "the filter lost its step; report this bug")
}

/// The headers of an HTTP call for `request`: the pseudo-headers Envoy requires, then
/// the core's headers in order.
pub fn call_headers(request: &Request) -> Vec<(&str, &str)> {
    let mut headers = vec![
        (":method", request.method.as_str()),
        (":path", request.path.as_str()),
        (":authority", request.authority.as_str()),
        (":scheme", request.scheme.as_str()),
    ];
    headers.extend(request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    headers
}

/// The call's timeout.
pub fn call_timeout(request: &Request) -> Duration {
    Duration::from_millis(request.timeout_ms)
}

/// The kind of transport failure behind one of Envoy's own replies (its router's
/// local replies carry no `x-envoy-upstream-service-time`), by status and body.
fn envoy_failure(status: u16, body: &str) -> Option<FailureKind> {
    match status {
        504 if body.starts_with("upstream request timeout") => Some(FailureKind::Timeout),
        503 if body.starts_with("upstream connect error or disconnect/reset before headers") => {
            // The core's plain scan, not `str::contains`: std's two-way searcher brings the
            // only `str` slicing left in the filter, whose panic message formats chars with
            // Unicode's printable tables (~9 KB in all).
            let connect = text::find(body, "connection failure").is_some();
            Some(if connect { FailureKind::Connect } else { FailureKind::Reset })
        }
        503 if body.starts_with("no healthy upstream") => Some(FailureKind::Connect),
        _ => None,
    }
}

/// The answer for an HTTP call's result: the response headers (with `:status`) and
/// body as the host reports them. No `:status` (the call failed), or Envoy's own
/// timeout/connect reply, is a transport failure, as the native handler sees it.
pub fn call_answer(mut headers: Vec<(String, String)>, body: &[u8]) -> Answer {
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| text::parse_u64(v))
        .and_then(|n| u16::try_from(n).ok());
    let Some(status) = status else {
        return Answer::Failure(Failure {
            kind: FailureKind::Other,
            detail: "envoy reported the call as failed without an answer".to_owned(),
        });
    };
    let from_upstream = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-envoy-upstream-service-time"));
    if !from_upstream {
        let text = sensu_reactio_core::step::lossy(body);
        if let Some(kind) = envoy_failure(status, &text) {
            return Answer::Failure(Failure { kind, detail: format!("envoy: {}", text.trim_ws()) });
        }
    }
    // In place, not a filtered copy (`collect`'s in-place specialisation): the same
    // headers, less code.
    headers.retain(|(n, _)| !n.starts_with(':'));
    Answer::Response(Response::from_bytes(status, headers, body))
}

/// The reply when Envoy refuses to dispatch a call (no such cluster, bad headers).
pub fn dispatch_refused(cluster: &str, status: &str) -> Reply {
    gateway::error_reply(
        500,
        "config",
        &format!(
            "envoy refused to send the reactio call through cluster `{cluster}` ({status}); define that cluster in envoy's configuration or set `cluster` in the filter's configuration"
        ),
    )
}

/// The reply's headers as the host takes them.
pub fn reply_headers(reply: &Reply) -> Vec<(&str, &str)> {
    reply.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// Epoch seconds for the host's clock.
pub fn epoch_seconds(now: std::time::SystemTime) -> i64 {
    now.duration_since(std::time::UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proxy-wasm-unit-0123";
    const TOKEN: &str = "inbound-token-unit-456";

    fn plugin_json(extra: &str) -> String {
        format!(
            r#"{{"cluster":"reactio",{extra}"gateway":{{"token":"{TOKEN}","config":{{"flags":{{"api_key":"{KEY}","organization":"demo","endpoint":"http://127.0.0.1:9"}}}}}}}}"#
        )
    }

    fn plugin() -> Plugin {
        load_plugin(Some(plugin_json("").as_bytes())).unwrap()
    }

    const CRITICAL: &[u8] =
        br#"{"client":{"name":"web01"},"check":{"name":"disk","status":2,"output":"CRITICAL","history":["0","2"]},"occurrences":1,"action":"create"}"#;

    #[test]
    fn configuration_errors_are_500_with_the_fix_and_no_secret() {
        for bad in [
            None,
            Some(&b"  "[..]),
            Some(&b"not json"[..]),
            Some(&br#"{"cluster":""}"#[..]),
            Some(&br#"{"gateway":{"token":"x","config":{"flags":{"api_key":1234567}}}}"#[..]),
            Some(&br#"{"clustr":"reactio"}"#[..]),
        ] {
            let reply = load_plugin(bad).unwrap_err();
            assert_eq!(reply.status, 500, "{}", reply.body);
            assert!(reply.body.contains(r#""kind":"config""#), "{}", reply.body);
            assert!(!reply.body.contains("1234567"), "{}", reply.body);
        }
        let unknown = load_plugin(Some(br#"{"clustr":"reactio"}"#)).unwrap_err();
        assert!(unknown.body.contains("unknown field `clustr`"), "{}", unknown.body);
        let p = plugin();
        assert_eq!(p.cluster, "reactio");
        assert!(!p.continue_on_headers);
        let istio = load_plugin(Some(plugin_json(r#""continue_on_headers":true,"#).as_bytes())).unwrap();
        assert!(istio.continue_on_headers);
        assert!(!format!("{p:?}").contains(TOKEN));
    }

    #[test]
    fn admission_comes_from_the_contract() {
        let p = Ok(plugin());
        let bearer = format!("Bearer {TOKEN}");
        assert!(admit_headers(&p, "POST", Some(&bearer), Some("10")).is_ok());
        assert_eq!(admit_headers(&p, "GET", Some(&bearer), None).unwrap_err().status, 405);
        assert_eq!(admit_headers(&p, "POST", None, None).unwrap_err().status, 401);
        assert_eq!(admit_headers(&p, "POST", Some("Bearer nope"), None).unwrap_err().status, 401);
        assert_eq!(admit_headers(&p, "POST", Some(&bearer), Some("2097152")).unwrap_err().status, 413);
        let p = plugin();
        assert_eq!(admit_body(&p, Some(&bearer), gateway::MAX_BODY + 1).unwrap_err().status, 413);
        let broken = load_plugin(None);
        assert_eq!(admit_headers(&broken, "POST", Some(&bearer), None).unwrap_err().status, 500);
    }

    #[test]
    fn a_bad_event_is_400_with_the_core_message() {
        let reply = Exchange::start(&plugin(), b"not json", 1_764_000_000).unwrap_err();
        assert_eq!(reply.status, 400);
        assert!(reply.body.contains("the event is not valid json"), "{}", reply.body);
    }

    #[test]
    fn a_critical_calls_through_the_cluster_and_a_failure_becomes_503() {
        let mut exchange = Exchange::start(&plugin(), CRITICAL, 1_764_000_000).unwrap();
        let Next::Call(request) = exchange.next() else { panic!("expected a call") };
        let headers = call_headers(request);
        assert_eq!(headers[0], (":method", "GET"));
        assert!(headers[1].1.starts_with("/api/v1/incidents"), "{headers:?}");
        assert_eq!(headers[2], (":authority", "127.0.0.1:9"));
        assert!(headers.contains(&("x-api-key", KEY)));
        assert!(call_timeout(request) > Duration::ZERO);
        let answer = call_answer(vec![(":status".into(), "504".into())], b"upstream request timeout");
        assert!(matches!(answer, Answer::Failure(Failure { kind: FailureKind::Timeout, .. })), "{answer:?}");
        exchange.answer(answer);
        let Next::Reply(reply) = exchange.next() else { panic!("a wait becomes a reply") };
        assert_eq!(reply.status, 503);
        assert!(reply.headers.iter().any(|(n, _)| n == "retry-after"));
        assert!(!reply.body.contains(KEY) && !reply.body.contains(TOKEN));
    }

    #[test]
    fn call_answers_keep_upstream_statuses() {
        let upstream = vec![
            (":status".to_owned(), "503".to_owned()),
            ("x-envoy-upstream-service-time".to_owned(), "1".to_owned()),
            ("retry-after".to_owned(), "3".to_owned()),
        ];
        let Answer::Response(r) = call_answer(upstream, b"no healthy upstream") else { panic!() };
        assert_eq!((r.status, r.headers.len()), (503, 2));
        assert!(matches!(call_answer(Vec::new(), b""), Answer::Failure(_)));
        let connect = call_answer(
            vec![(":status".into(), "503".into())],
            b"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
        );
        assert!(matches!(connect, Answer::Failure(Failure { kind: FailureKind::Connect, .. })));
        let reset = call_answer(
            vec![(":status".into(), "503".into())],
            b"upstream connect error or disconnect/reset before headers. reset reason: connection termination",
        );
        assert!(matches!(reset, Answer::Failure(Failure { kind: FailureKind::Reset, .. })));
    }

    #[test]
    fn dispatch_refusal_names_the_cluster() {
        let reply = dispatch_refused("reactio", "BadArgument");
        assert_eq!(reply.status, 500);
        assert!(reply.body.contains("cluster `reactio`"));
    }
}
