//! The webhook contract every gateway adapter shares (JS edge, proxy-wasm, wasi:http):
//! who may post an event, and what HTTP answer each step or outcome becomes.
//!
//! A gateway receives `POST` with a Sensu event as JSON, admits it with [`admit`],
//! runs the core's machine performing the requests through its own outbound HTTP,
//! and answers with [`reply_for_step`] when the machine ends or asks for a wait (a
//! gateway cannot sleep: a wait becomes `503` with `Retry-After`, and the sender
//! retries; the core's lookup makes a retried event safe). Status codes:
//!
//! | status | when |
//! |---|---|
//! | 200 | handled or skipped (the body is the outcome JSON) |
//! | 400 | the event is not understood (the core's message) |
//! | 401 | the `Authorization: Bearer` token is missing or wrong |
//! | 405 | not `POST` |
//! | 413 | the body is larger than [`MAX_BODY`] |
//! | 500 | the gateway's configuration is invalid or incomplete (no API key or organization) |
//! | 422 | Reactio refused the event for good (e.g. the API key): not a status senders retry (curl retries 502, which would post the same event again) |
//! | 503 | Reactio could not be reached now: retry after `Retry-After` seconds |
//!
//! 200 and 422 carry the outcome JSON (so does a 503 for a run that ended retryable); the
//! others `{"error":{"kind","message"}}`.
//!
//! No answer ever contains the API key or the inbound token.

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::config::ConfigInput;
use crate::json_out::Object;
use crate::step::{Outcome, OutcomeKind, Step};

/// The largest event a gateway accepts (1 MiB; Sensu events are a few KiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// A gateway's configuration: the core's configuration plus the inbound token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayConfig {
    /// The shared secret senders present as `Authorization: Bearer <token>`.
    #[serde(default)]
    pub token: Option<String>,
    /// Run without a token (refused unless set: an open gateway can be made to
    /// ring phones by anyone who can reach it).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// The core's configuration (the same value the native handler builds).
    #[serde(default)]
    pub config: ConfigInput,
}

impl core::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("token", &self.token.as_ref().map(|_| crate::step::MASK))
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .field("config", &self.config)
            .finish()
    }
}

/// An HTTP answer for the gateway's caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (lowercase names), always with `content-type`.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: String,
}

impl Reply {
    /// The reply as JSON, as its `Serialize` impl writes it (written by the private `json_out` module).
    pub fn to_json(&self) -> String {
        let mut out = Object::new();
        out.num("status", u64::from(self.status));
        out.pairs("headers", &self.headers);
        out.str("body", &self.body);
        out.end()
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".to_owned(), "application/json".to_owned())]
}

/// An error reply: `{"error":{"kind":..,"message":..}}`.
pub fn error_reply(status: u16, kind: &str, message: &str) -> Reply {
    Reply { status, headers: json_headers(), body: crate::json_out::error(kind, message) }
}

/// Constant-time comparison (length leaks, content does not).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Admit an inbound request, or say why not. `authorization` is the header's value,
/// `body_len` the body's length in bytes (or the `content-length` announced).
pub fn admit(config: &GatewayConfig, method: &str, authorization: Option<&str>, body_len: usize) -> Result<(), Reply> {
    if !method.eq_ignore_ascii_case("POST") {
        let mut reply = error_reply(
            405,
            "method",
            &format!("use post with a sensu event as json, not {}", method.to_ascii_lowercase()),
        );
        reply.headers.push(("allow".to_owned(), "POST".to_owned()));
        return Err(reply);
    }
    match config.token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => {
            // The scheme is case-insensitive (RFC 9110): `bearer` is `Bearer`.
            let presented = authorization
                .map(str::trim_ws)
                .and_then(|h| h.split_at_checked(7))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer "))
                .map(|(_, token)| token.trim_ws());
            match presented {
                None => {
                    return Err(error_reply(
                        401,
                        "auth",
                        "missing `authorization: bearer <token>`; send the gateway's shared token",
                    ));
                }
                Some(p) if !same(p.as_bytes(), token.as_bytes()) => {
                    return Err(error_reply(401, "auth", "the bearer token is wrong; send the gateway's shared token"));
                }
                Some(_) => {}
            }
        }
        None if config.allow_unauthenticated => {}
        None => {
            return Err(error_reply(
                500,
                "config",
                "the gateway has no inbound token configured; set `token` (or `allow_unauthenticated: true` if you really mean anyone may post)",
            ));
        }
    }
    if body_len > MAX_BODY {
        return Err(error_reply(
            413,
            "too_large",
            // A host may stop reading at `MAX_BODY + 1` bytes (the JS edge does).
            &format!("the body has more than {MAX_BODY} bytes; at most {MAX_BODY} are accepted"),
        ));
    }
    Ok(())
}

/// The longest `Retry-After` a gateway asks of its sender, in seconds: under the 15 s
/// within which a retry finds the incident its lost create made as its own
/// (`machine::act`); a sender honouring a longer wait (Reactio's own `Retry-After: 20`,
/// say) would find it as another's, and broadcast and call again.
pub const MAX_RETRY_AFTER_S: u64 = 10;

/// The reply for a step the gateway stops at: the end, or a wait it cannot sleep
/// through. `None` for a request (the gateway sends it and goes on).
pub fn reply_for_step(step: &Step) -> Option<Reply> {
    match step {
        Step::Request(_) => None,
        Step::Wait(wait) => {
            let seconds = crate::text::uint(wait.min_ms.div_ceil(1000).clamp(1, MAX_RETRY_AFTER_S));
            let mut reply = error_reply(
                503,
                "retry",
                &format!("reactio is not answering now ({}); retry after {seconds} s", wait.reason),
            );
            reply.headers.push(("retry-after".to_owned(), seconds));
            Some(reply)
        }
        Step::Done(outcome) => Some(reply_for_outcome(outcome)),
    }
}

/// The reply for an outcome.
pub fn reply_for_outcome(outcome: &Outcome) -> Reply {
    let failed = outcome.result == OutcomeKind::Failed;
    if failed && outcome.code == "not_configured" {
        // The gateway's own settings (no key, no organization): not Reactio's doing.
        return error_reply(500, "config", &outcome.message);
    }
    let mut reply = Reply { status: 200, headers: json_headers(), body: outcome.to_json() };
    if failed {
        if outcome.retryable && !outcome.auth_failed {
            reply.status = 503;
            reply.headers.push(("retry-after".to_owned(), "5".to_owned()));
        } else {
            reply.status = 422;
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Wait;

    fn with_token() -> GatewayConfig {
        GatewayConfig { token: Some("s3cret-token".into()), ..GatewayConfig::default() }
    }

    #[test]
    fn admits_only_post_with_the_right_token_and_size() {
        let c = with_token();
        assert!(admit(&c, "POST", Some("Bearer s3cret-token"), 10).is_ok());
        assert_eq!(admit(&c, "GET", Some("Bearer s3cret-token"), 10).unwrap_err().status, 405);
        assert_eq!(admit(&c, "POST", None, 10).unwrap_err().status, 401);
        assert_eq!(admit(&c, "POST", Some("Bearer wrong"), 10).unwrap_err().status, 401);
        assert!(admit(&c, "POST", Some("bearer s3cret-token"), 10).is_ok(), "the scheme in any case");
        assert_eq!(admit(&c, "POST", Some("Basic s3cret-token"), 10).unwrap_err().status, 401);
        assert_eq!(admit(&c, "POST", Some("Bearer s3cret-token"), MAX_BODY + 1).unwrap_err().status, 413);
        let open = GatewayConfig::default();
        assert_eq!(admit(&open, "POST", None, 10).unwrap_err().status, 500);
        let allowed = GatewayConfig { allow_unauthenticated: true, ..GatewayConfig::default() };
        assert!(admit(&allowed, "POST", None, 10).is_ok());
    }

    #[test]
    fn replies_never_hold_the_token() {
        let c = with_token();
        for reply in [admit(&c, "POST", Some("Bearer wrong"), 1).unwrap_err(), admit(&c, "PUT", None, 1).unwrap_err()] {
            assert!(!reply.body.contains("s3cret-token"));
        }
        assert!(!format!("{c:?}").contains("s3cret-token"));
    }

    #[test]
    fn a_wait_becomes_503_with_retry_after_rounded_up() {
        let reply = reply_for_step(&Step::Wait(Wait { min_ms: 1500, reason: "http 500".into() })).unwrap();
        assert_eq!(reply.status, 503);
        assert!(reply.headers.contains(&("retry-after".to_owned(), "2".to_owned())));
        // Reactio's own `Retry-After: 20` is passed on as at most 10 s: a sender that
        // waits longer finds its lost create's incident as another's, and calls again.
        let reply = reply_for_step(&Step::Wait(Wait { min_ms: 20_000, reason: "http 502".into() })).unwrap();
        assert!(reply.headers.contains(&("retry-after".to_owned(), "10".to_owned())), "{:?}", reply.headers);
        assert!(reply.body.contains("retry after 10 s"), "{}", reply.body);
    }

    #[test]
    fn outcomes_become_the_documented_statuses() {
        let outcome = |code: &str, retryable: bool, auth_failed: bool| Outcome {
            result: OutcomeKind::Failed,
            retryable,
            auth_failed,
            code: code.into(),
            key: "k".into(),
            incident: None,
            actions: Vec::new(),
            message: String::new(),
            warnings: Vec::new(),
            dry_run: false,
            create_unconfirmed: false,
        };
        assert_eq!(reply_for_outcome(&outcome("not_configured", true, false)).status, 500);
        assert_eq!(reply_for_outcome(&outcome("retries_exhausted", true, false)).status, 503);
        assert_eq!(reply_for_outcome(&outcome("auth_failed", false, true)).status, 422);
        assert_eq!(reply_for_outcome(&outcome("rejected", false, false)).status, 422);
        // The bodies are written as serde writes them.
        let failed = outcome("rejected", false, false);
        assert_eq!(reply_for_outcome(&failed).body, serde_json::to_string(&failed).unwrap_or_default());
        let error = serde_json::json!({"error": {"kind": "config", "message": "a \"b\"\n"}});
        assert_eq!(error_reply(500, "config", "a \"b\"\n").body, error.to_string());
        let reply = reply_for_outcome(&outcome("retries_exhausted", true, false));
        assert_eq!(reply.to_json(), serde_json::to_string(&reply).unwrap_or_default());
    }
}
