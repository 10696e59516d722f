//! Bad inbound requests get the documented status and the same clear message in
//! every host, and nothing reaches Reactio: no token, a wrong token, not JSON, a
//! 2 MiB body, the wrong method, an event of unknown shape.

use sensu_reactio_core::gateway::Reply;
use serde_json::Value;

use crate::support::{TOKEN, assert_no_secrets, first_critical, gateway_config, standin};
use crate::{HOSTS, Inbound};

struct Case {
    name: &'static str,
    inbound: Inbound,
    status: u16,
    kind: &'static str,
    /// A part of the message every host must give.
    says: &'static str,
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

fn cases() -> Vec<Case> {
    let event = first_critical();
    vec![
        Case {
            name: "no token",
            inbound: Inbound { method: "POST", authorization: None, body: event.clone() },
            status: 401,
            kind: "auth",
            says: "missing `authorization: bearer <token>`",
        },
        Case {
            name: "wrong token",
            inbound: Inbound { method: "POST", authorization: bearer("tok-not-this-one"), body: event.clone() },
            status: 401,
            kind: "auth",
            says: "the bearer token is wrong",
        },
        Case {
            name: "not json",
            inbound: Inbound { method: "POST", authorization: bearer(TOKEN), body: b"status=2&check=disk".to_vec() },
            status: 400,
            kind: "input",
            says: "not valid json",
        },
        Case {
            name: "2 MiB body",
            inbound: Inbound { method: "POST", authorization: bearer(TOKEN), body: vec![b' '; 2 * 1024 * 1024] },
            status: 413,
            kind: "too_large",
            says: "at most 1048576 are accepted",
        },
        Case {
            name: "wrong method",
            inbound: Inbound { method: "PUT", authorization: bearer(TOKEN), body: event },
            status: 405,
            kind: "method",
            says: "use post with a sensu event as json, not put",
        },
        Case {
            name: "unknown event shape",
            inbound: Inbound {
                method: "POST",
                authorization: bearer(TOKEN),
                body: br#"{"alert":{"host":"web01"}}"#.to_vec(),
            },
            status: 400,
            kind: "input",
            says: "",
        },
    ]
}

fn error_of(reply: &Reply) -> (String, String) {
    let value: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let field = |name: &str| value["error"][name].as_str().unwrap_or_default().to_owned();
    (field("kind"), field("message"))
}

#[test]
fn bad_inbound_requests_get_the_documented_status_and_message_in_every_host() {
    let server = standin();
    let mut hosts: Vec<_> = HOSTS
        .iter()
        .map(|(name, start)| start(&gateway_config(&server)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    let mut failures = Vec::new();
    for case in cases() {
        let mut messages = Vec::new();
        for host in &mut hosts {
            let reply = host.post(&case.inbound);
            assert_no_secrets(host.name(), &reply);
            let (kind, message) = error_of(&reply);
            let ok = reply.status == case.status
                && kind == case.kind
                && message.contains(case.says)
                && !message.is_empty()
                && message.chars().next().is_some_and(|c| !c.is_uppercase());
            if !ok {
                failures.push(format!(
                    "{}, {}: expected {} {}, got {reply:?}",
                    host.name(),
                    case.name,
                    case.status,
                    case.kind
                ));
            }
            if case.status == 405 && !reply.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("allow") && v == "POST")
            {
                failures.push(format!("{}, {}: 405 without `allow: POST`", host.name(), case.name));
            }
            messages.push((host.name(), message));
        }
        if let Some((first_host, first)) = messages.first() {
            for (host, message) in &messages {
                if message != first {
                    failures.push(format!("{}: {host} says {message:?}, {first_host} says {first:?}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(server.requests().is_empty(), "a refused request reached reactio: {:?}", server.request_lines());
}
