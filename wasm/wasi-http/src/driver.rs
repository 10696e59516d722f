//! The gateway driver every gateway build shares (the wasi:http component, the JS edge
//! module): configuration from host values, admission, and the core's machine stepped
//! until it needs the network or has an answer for the caller. Pure: the host sends
//! the requests and feeds the answers back.
//!
//! Every decision (who is admitted, which status a step or error becomes) is the
//! core's: `sensu_reactio_core::gateway` and the machine. This module only moves
//! values between them.

use serde::Serialize;

use sensu_reactio_core::gateway::{self, GatewayConfig, Reply, error_reply};
use sensu_reactio_core::read;
use sensu_reactio_core::step::{Answer, Context, Request, Step};
use sensu_reactio_core::{Config, Machine, TrimWs, dry_run_answer, plan};

/// The environment variable (or JS binding) holding the gateway configuration as JSON.
pub const CONFIG_VAR: &str = "SENSU_REACTIO_GATEWAY_CONFIG";

/// Host variables with this prefix are handed to the core as its environment.
pub const ENV_PREFIX: &str = "REACTIO_";

/// What the host does next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// Send this request, then call [`Driver::answer`] with what came back.
    Send(Request),
    /// Answer the caller with this; the event is finished (or must be retried).
    Reply(Reply),
}

impl Next {
    /// `{"send":<request>}` or `{"reply":<reply>}`, as its `Serialize` impl writes it.
    pub fn to_json(&self) -> String {
        match self {
            Next::Send(request) => format!("{{\"send\":{}}}", request.to_json()),
            Next::Reply(reply) => format!("{{\"reply\":{}}}", reply.to_json()),
        }
    }
}

/// The gateway configuration from the host's JSON text (`None`: not set) and its
/// variables: those named `REACTIO_*` go to `config.env` unless already set there.
/// A missing or invalid configuration is a 500 reply saying how to fix it (never
/// echoing the text, which holds secrets).
pub fn load_config<I, K, V>(text: Option<&str>, vars: I) -> Result<GatewayConfig, Reply>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    const SHAPE: &str = r#"{"token":"<shared token>","config":{"settings":{"reactio":{"organization":".."}}}}"#;
    let text = text.map(str::trim_ws).filter(|t| !t.is_empty()).ok_or_else(|| {
        error_reply(
            500,
            "config",
            &format!("{CONFIG_VAR} is not set; set it to the gateway configuration as json, e.g. {SHAPE}"),
        )
    })?;
    // The readers name the member and the kind of value, never the value (values are secrets).
    let mut config =
        read::parse_object(text.as_bytes()).and_then(|map| GatewayConfig::from_json(&map, "")).map_err(|e| {
            error_reply(
                500,
                "config",
                &format!(
                    "{CONFIG_VAR} is not a valid gateway configuration: {e}; set it to a json object like {SHAPE}"
                ),
            )
        })?;
    for (name, value) in vars {
        let name = name.into();
        if name.starts_with(ENV_PREFIX) {
            config.config.env.entry(name).or_insert_with(|| value.into());
        }
    }
    Ok(config)
}

/// One inbound request as the host received it.
#[derive(Clone, Copy, Debug)]
pub struct Inbound<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
    /// The whole body (the host stops reading past [`gateway::MAX_BODY`]).
    pub body: &'a [u8],
}

/// One event in progress.
#[derive(Debug)]
pub struct Driver {
    machine: Machine,
    /// `dry_run` set in the gateway's configuration: the requests are answered as a dry
    /// run answers them, never sent.
    dry_run: bool,
}

/// Admit the inbound request, plan its event at `now` (epoch seconds) and say what
/// to do first. `None` when there is nothing to drive (the reply says why).
pub fn start(config: &GatewayConfig, inbound: &Inbound<'_>, now: i64) -> (Option<Driver>, Next) {
    if let Err(reply) = gateway::admit(config, inbound.method, inbound.authorization, inbound.body.len()) {
        return (None, Next::Reply(reply));
    }
    let loaded = match Config::load(&config.config) {
        Ok(loaded) => loaded,
        Err(e) => return (None, Next::Reply(error_reply(500, "config", &e.message))),
    };
    // A gateway runs as the event arrives (its sender's retries within seconds).
    let dry_run = loaded.host.dry_run;
    let context = Context { now, received: Some(now), dry_run, ..Context::default() };
    match plan(inbound.body, &loaded, &context) {
        Ok(machine) => {
            let mut driver = Driver { machine, dry_run };
            driver.settle_dry_run();
            let next = next_of(driver.machine.step());
            (Some(driver), next)
        }
        Err(e) => (None, Next::Reply(error_reply(400, "input", &format!("{e}")))),
    }
}

impl Driver {
    /// Hand the answer to the last [`Next::Send`] to the machine; what to do next.
    pub fn answer(&mut self, answer: Answer) -> Next {
        if matches!(self.machine.step(), Step::Request(_)) {
            self.machine.handle(answer);
        }
        self.settle_dry_run();
        next_of(self.machine.step())
    }

    /// In a dry run, answer each request as [`dry_run_answer`] does, so none is sent.
    fn settle_dry_run(&mut self) {
        while self.dry_run
            && let Step::Request(request) = self.machine.step()
        {
            let answer = dry_run_answer(request);
            self.machine.handle(answer);
        }
    }
}

fn next_of(step: &Step) -> Next {
    match (step, gateway::reply_for_step(step)) {
        (_, Some(reply)) => Next::Reply(reply),
        (Step::Request(request), None) => Next::Send(request.clone()),
        // reply_for_step answers every step but a request.
        (_, None) => Next::Reply(error_reply(500, "internal", "the gateway lost its step; report this bug")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use sensu_reactio_core::step::{Failure, FailureKind, Response};

    const EVENT: &[u8] =
        br#"{"client":{"name":"web01"},"check":{"name":"disk","status":2,"output":"CRITICAL","history":["0","2"]},"action":"create","occurrences":1}"#;
    const CONFIG: &str = r#"{"token":"tok-9f2","config":{"settings":{"reactio":{"organization":"demo","endpoint":"http://127.0.0.1:9"}}}}"#;

    fn inbound(body: &[u8]) -> Inbound<'_> {
        Inbound { method: "POST", authorization: Some("Bearer tok-9f2"), body }
    }

    #[test]
    fn a_missing_or_bad_configuration_is_500_without_echoing_it() {
        let none = || -> [(String, String); 0] { [] };
        let reply = load_config(None, none()).unwrap_err();
        assert_eq!(reply.status, 500);
        assert!(reply.body.contains("SENSU_REACTIO_GATEWAY_CONFIG is not set"), "{}", reply.body);
        let reply = load_config(Some(r#"{"token":"sek-ret","allow_unauthenticated":"sek-ret2"}"#), none()).unwrap_err();
        assert_eq!(reply.status, 500);
        assert!(!reply.body.contains("sek-ret"), "{}", reply.body);
        assert!(reply.body.contains("`allow_unauthenticated` must be true or false, got a string"), "{}", reply.body);
    }

    #[test]
    fn reactio_variables_join_the_core_env_without_overriding() {
        let text = r#"{"token":"t","config":{"env":{"REACTIO_ORGANIZATION":"set"}}}"#;
        let vars = [("REACTIO_API_KEY", "k1"), ("REACTIO_ORGANIZATION", "other"), ("HOME", "/root")];
        let config = load_config(Some(text), vars).unwrap();
        assert_eq!(config.config.env.get("REACTIO_API_KEY").map(String::as_str), Some("k1"));
        assert_eq!(config.config.env.get("REACTIO_ORGANIZATION").map(String::as_str), Some("set"));
        assert!(!config.config.env.contains_key("HOME"));
    }

    #[test]
    fn admission_and_bad_events_come_from_the_core() {
        let mut config = load_config(Some(CONFIG), [("REACTIO_API_KEY", "key-1")]).unwrap();
        let (driver, next) = start(&config, &Inbound { authorization: None, ..inbound(EVENT) }, 1_764_000_000);
        assert!(driver.is_none());
        assert!(matches!(next, Next::Reply(ref r) if r.status == 401), "{next:?}");
        let (_, next) = start(&config, &inbound(b"not json"), 1_764_000_000);
        assert!(matches!(next, Next::Reply(ref r) if r.status == 400 && r.body.contains("not valid json")), "{next:?}");
        config.config.settings = serde_json::json!({"reactio": {"no_such_setting": 1}});
        let (_, next) = start(&config, &inbound(EVENT), 1_764_000_000);
        assert!(matches!(next, Next::Reply(ref r) if r.status == 500), "{next:?}");
    }

    #[test]
    fn a_failure_becomes_503_with_retry_after() {
        let config = load_config(Some(CONFIG), [("REACTIO_API_KEY", "key-1")]).unwrap();
        let (driver, next) = start(&config, &inbound(EVENT), 1_764_000_000);
        let Next::Send(request) = next else { panic!("{next:?}") };
        assert_eq!(request.method.as_str(), "GET");
        let mut driver = driver.unwrap();
        let next = driver.answer(Answer::Failure(Failure { kind: FailureKind::Connect, detail: "refused".into() }));
        let Next::Reply(reply) = next else { panic!("{next:?}") };
        assert_eq!(reply.status, 503);
        assert!(reply.headers.iter().any(|(n, _)| n == "retry-after"));
        assert!(!reply.body.contains("key-1"));
        // A further answer is ignored: the machine waits, it takes no response.
        let again = driver.answer(Answer::Response(Response::from_bytes(200, vec![], b"[]")));
        assert!(matches!(again, Next::Reply(ref r) if r.status == 503), "{again:?}");
    }

    #[test]
    fn next_is_written_as_serde_writes_it() {
        let config = load_config(Some(CONFIG), [("REACTIO_API_KEY", "key-1")]).unwrap();
        let (driver, send) = start(&config, &inbound(EVENT), 1_764_000_000);
        let text = "a \"quoted\" \\ line\nand tab\t, \u{1} / <b>é</b> 対応 😀";
        let mut reply = error_reply(503, "retry", text);
        reply.headers.push(("retry-after".to_owned(), text.to_owned()));
        let done = driver.unwrap().answer(Answer::Failure(Failure { kind: FailureKind::Connect, detail: text.into() }));
        for next in [send, Next::Reply(reply), done] {
            assert_eq!(next.to_json(), serde_json::to_string(&next).unwrap());
        }
    }
}
