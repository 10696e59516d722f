//! Shared benchmark material: the events (small, typical, large; Classic and Go), the
//! configuration, the scripted answers of a first critical, and a minimal fast HTTP
//! server ([`server`]) so that the end-to-end benchmark measures the handler, not the server.

pub mod server;

use sensu_reactio_core::{Answer, ConfigInput, Context, Response};
use serde_json::{Value, json};

/// The API key every benchmark uses.
pub const KEY: &str = "sk-bench-0123456789abcdef";

/// The incident key of every benchmark event (Classic form).
pub const CLASSIC_KEY: &str = "web01/check_http";

/// A fixed "now" for the in-process benchmarks (the events are dated just before it).
pub const NOW: i64 = 1_764_092_855;

/// How big an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// The fields the core needs and little else (~250 bytes).
    Small,
    /// What Sensu sends for an ordinary check (~0.8-1.2 KB: 3-entry history, one-line output).
    Typical,
    /// A chatty check: 21-entry history, ~60 KB of output, many labels (under the 64 KiB of the RSS budget).
    Large,
}

impl Size {
    /// All sizes, smallest first.
    pub const ALL: [Size; 3] = [Size::Small, Size::Typical, Size::Large];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Typical => "typical",
            Size::Large => "large",
        }
    }
}

/// The check output for a size (large: ~60 KB of lines).
fn output(size: Size, status: u8) -> String {
    let head = match status {
        0 => "CheckHttp OK: 200, 1043 bytes",
        2 => "CheckHttp CRITICAL: Connection refused ...",
        _ => "CheckHttp WARNING: slow answer",
    };
    match size {
        Size::Small | Size::Typical => format!("{head}\n"),
        Size::Large => {
            let mut out = format!("{head}\n");
            let mut i = 0;
            while out.len() < 60_000 {
                out.push_str(&format!(
                    "line {i}: GET http://localhost/health -> connect ECONNREFUSED 127.0.0.1:80 (attempt {i}, 0.{i:03}s)\n"
                ));
                i += 1;
            }
            out
        }
    }
}

/// Classic history strings ending with `status`, `previous` before it.
fn classic_history(size: Size, previous: &[u8], status: u8) -> Vec<String> {
    let mut history: Vec<String> = match size {
        Size::Large => std::iter::repeat_n("0".to_owned(), 21usize.saturating_sub(previous.len() + 1)).collect(),
        _ => Vec::new(),
    };
    history.extend(previous.iter().map(u8::to_string));
    history.push(status.to_string());
    history
}

/// A Sensu Classic event: `status` now, `previous` results before it, `action`.
pub fn classic(size: Size, status: u8, previous: &[u8], action: &str, now: i64) -> Vec<u8> {
    let event = match size {
        Size::Small => json!({
            "client": {"name": "web01"},
            "check": {"name": "check_http", "status": status, "interval": 60,
                      "output": output(size, status), "history": classic_history(size, previous, status)},
            "occurrences": 1,
            "action": action,
        }),
        _ => {
            let mut client = json!({"name": "web01", "address": "10.0.0.11", "subscriptions": ["web", "base"],
                                    "timestamp": now, "version": "1.9.0"});
            if size == Size::Large
                && let Some(obj) = client.as_object_mut()
            {
                for i in 0..40 {
                    obj.insert(format!("attr_{i}"), json!({"team": "web", "rack": i, "tags": ["a", "b", "c"]}));
                }
            }
            json!({
                "id": "3f1c2b8e-5a0d-4c1e-9b7a-2d4e6f8a0b1c",
                "client": client,
                "check": {"name": "check_http", "command": "check-http.rb -u http://localhost/", "interval": 60,
                          "handlers": ["reactio"], "status": status, "output": output(size, status),
                          "issued": now, "executed": now, "duration": 0.021,
                          "history": classic_history(size, previous, status)},
                "occurrences": 1,
                "occurrences_watermark": 1,
                "last_ok": now - 60,
                "action": action,
                "timestamp": now,
                "last_state_change": now,
                "silenced": false,
                "silenced_by": [],
            })
        }
    };
    event.to_string().into_bytes()
}

/// A Sensu Go event: `status` now, `previous` results before it.
pub fn go(size: Size, status: u8, previous: &[u8], now: i64) -> Vec<u8> {
    let mut statuses: Vec<u8> = match size {
        Size::Large => vec![0; 21usize.saturating_sub(previous.len() + 1)],
        _ => Vec::new(),
    };
    statuses.extend_from_slice(previous);
    statuses.push(status);
    let count = statuses.len() as i64;
    let history: Vec<Value> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"status": s, "executed": now - 60 * (count - 1 - i as i64)}))
        .collect();
    let event = match size {
        Size::Small => json!({
            "entity": {"metadata": {"name": "web01", "namespace": "default"}},
            "check": {"metadata": {"name": "check_http", "namespace": "default"}, "status": status,
                      "interval": 60, "output": output(size, status), "history": history, "occurrences": 1},
        }),
        _ => {
            let mut labels = json!({"team": "web"});
            if size == Size::Large
                && let Some(obj) = labels.as_object_mut()
            {
                for i in 0..200 {
                    obj.insert(format!("label_{i}"), json!(format!("value-{i}-xxxxxxxxxxxxxxxx")));
                }
            }
            json!({
                "timestamp": now,
                "entity": {"entity_class": "agent",
                           "system": {"hostname": "web01", "os": "linux", "platform": "debian", "arch": "amd64"},
                           "subscriptions": ["web", "entity:web01"],
                           "metadata": {"name": "web01", "namespace": "default", "labels": labels}},
                "check": {"command": "check-http -u http://localhost/", "handlers": ["reactio"], "interval": 60,
                          "subscriptions": ["web"], "status": status, "output": output(size, status),
                          "state": if status == 0 { "passing" } else { "failing" },
                          "occurrences": 1, "occurrences_watermark": 1, "is_silenced": false,
                          "issued": now, "executed": now, "duration": 0.021, "last_ok": now - 60,
                          "history": history, "proxy_entity_name": "",
                          "metadata": {"name": "check_http", "namespace": "default",
                                       "annotations": {"sensu.io/plugins/sensu-reactio-handler/config/topics": "web,http"}}},
                "metadata": {"namespace": "default"},
                "id": "7d6c9c5e-6f0b-4f0e-9d55-3a1f1a2b8c41",
            })
        }
    };
    event.to_string().into_bytes()
}

/// The first critical of `web01/check_http` (OK, OK, then critical).
pub fn first_critical_classic(size: Size, now: i64) -> Vec<u8> {
    classic(size, 2, &[0, 0], "create", now)
}

/// The first critical in Sensu Go form.
pub fn first_critical_go(size: Size, now: i64) -> Vec<u8> {
    go(size, 2, &[0, 0], now)
}

/// A repeat within the refresh period (critical, critical: nothing to send).
pub fn repeat_classic(size: Size, now: i64) -> Vec<u8> {
    classic(size, 2, &[0, 2], "create", now)
}

/// A warning (not in the default severities: skipped, no request).
pub fn skipped_classic(size: Size, now: i64) -> Vec<u8> {
    classic(size, 1, &[0, 0], "create", now)
}

/// The recovery (OK after critical).
pub fn resolve_classic(size: Size, now: i64) -> Vec<u8> {
    classic(size, 0, &[0, 2, 2], "resolve", now)
}

/// The configuration input every in-process benchmark uses: the key and an endpoint.
pub fn config_input(endpoint: &str) -> ConfigInput {
    let mut input = ConfigInput::default();
    input.flags.insert("api_key".into(), KEY.into());
    input.flags.insert("endpoint".into(), endpoint.into());
    input
}

/// The context at [`NOW`].
pub fn context() -> Context {
    Context { now: NOW, ..Context::default() }
}

/// A canned JSON incident named `name`.
pub fn incident_json(id: u64, name: &str, status: &str) -> String {
    json!({"id": id, "name": name, "status": status, "manager": null, "created_at": NOW - 60,
           "updated_at": NOW - 60, "pended_at": null, "closed_at": null, "topics": [], "files": [], "users": []})
    .to_string()
}

fn response(status: u16, body: String) -> Answer {
    Answer::Response(Response { status, headers: vec![("content-type".into(), "application/json".into())], body })
}

/// What Reactio answers, in order, to a first critical: the open and pending lists
/// empty, the create, then the verify listing (the new incident, then an empty page).
pub fn first_critical_answers(key: &str) -> Vec<Answer> {
    let created = incident_json(101, key, "open");
    vec![
        response(200, "[]".into()),
        response(200, "[]".into()),
        response(201, created.clone()),
        response(200, format!("[{created}]")),
        response(200, "[]".into()),
    ]
}
