//! Generates the events a Sensu server sends for a run of check results, so scenarios
//! can say `statuses: [0, 2, 2, 2, 1, 2, 0]` instead of spelling out each event.
//! Classic follows what a real Sensu Classic 1.9 server was seen to do
//! (sensu-contract.md): `create` on every failing result, one `resolve`, OK after OK
//! not sent, `occurrences` restarting at 1 on every status change. Go sends every
//! result (handlers may run without the `is_incident` filter).

use serde_json::{Map, Value, json};

#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct Sequence {
    pub(crate) flavour: String,
    #[serde(default = "default_entity")]
    pub(crate) entity: String,
    #[serde(default = "default_check")]
    pub(crate) check: String,
    #[serde(default = "default_namespace")]
    pub(crate) namespace: String,
    pub(crate) statuses: Vec<i64>,
    /// Seconds between runs (default 60; `null`... use `no_interval` for a cron check).
    #[serde(default = "default_interval")]
    pub(crate) interval: Option<i64>,
    /// Leave `interval` out of the events (cron checks, results from the API).
    #[serde(default)]
    pub(crate) no_interval: bool,
    #[serde(default = "default_start")]
    pub(crate) start: i64,
    /// Results before `statuses` (history only, never sent).
    #[serde(default)]
    pub(crate) prior: Vec<i64>,
    /// Indexes (into `statuses`) of results that are silenced / flapping.
    #[serde(default)]
    pub(crate) silenced_at: Vec<usize>,
    #[serde(default)]
    pub(crate) flapping_at: Vec<usize>,
    /// Extra fields merged into every event's `check` / top level.
    #[serde(default)]
    pub(crate) check_extra: Map<String, Value>,
    #[serde(default)]
    pub(crate) event_extra: Map<String, Value>,
    /// Go only: entity annotations.
    #[serde(default)]
    pub(crate) entity_annotations: Map<String, Value>,
    /// Send only these indexes (default: all that Sensu would send).
    #[serde(default)]
    pub(crate) only: Option<Vec<usize>>,
    /// Seconds the monitored host's clock is behind (negative: ahead): what its agent
    /// stamps (`executed`, `issued`, `last_ok`, history times) is off by that much;
    /// the event's `timestamp` and the handler's clock are not.
    #[serde(default)]
    pub(crate) host_clock_behind: i64,
}

fn default_entity() -> String {
    "web01".into()
}
fn default_check() -> String {
    "check_http".into()
}
fn default_namespace() -> String {
    "default".into()
}
fn default_interval() -> Option<i64> {
    Some(60)
}
fn default_start() -> i64 {
    1_764_000_000
}

/// One generated event and the time it was produced (by the true clock).
pub(crate) struct Generated {
    pub(crate) executed: i64,
    pub(crate) json: Value,
}

pub(crate) fn generate(seq: &Sequence) -> Vec<Generated> {
    let interval = seq.interval.unwrap_or(60);
    let step = if interval > 0 { interval } else { 60 };
    let all: Vec<i64> = seq.prior.iter().chain(seq.statuses.iter()).copied().collect();
    let mut out = Vec::new();
    let mut occurrences = 0i64;
    let mut watermark = 0i64;
    let mut last_ok: Option<i64> = None;
    let mut open_event = false;
    for (pos, status) in all.iter().enumerate() {
        let at = seq.start + step * i64::try_from(pos).unwrap_or(0);
        // The agent's clock: what it stamps (`at` is the true time: `timestamp`, now).
        let executed = at - seq.host_clock_behind;
        let previous = pos.checked_sub(1).and_then(|p| all.get(p)).copied();
        occurrences = if previous == Some(*status) { occurrences + 1 } else { 1 };
        let history: Vec<i64> = all[pos.saturating_sub(20)..=pos].to_vec();
        let Some(index) = pos.checked_sub(seq.prior.len()) else {
            if *status == 0 {
                last_ok = Some(executed);
                watermark = 0;
            } else {
                watermark = watermark.max(occurrences);
            }
            open_event = *status != 0;
            continue;
        };
        let flapping = seq.flapping_at.contains(&index);
        let silenced = seq.silenced_at.contains(&index);
        let send = seq.only.as_ref().map(|o| o.contains(&index));
        let event = if seq.flavour == "go" {
            if *status != 0 {
                watermark = watermark.max(occurrences);
            }
            let state = if flapping {
                "flapping"
            } else if *status == 0 {
                "passing"
            } else {
                "failing"
            };
            let mut check = json!({
                "metadata": {"name": seq.check, "namespace": seq.namespace},
                "status": status,
                "output": output(*status),
                "executed": executed,
                "issued": executed,
                "history": history.iter().enumerate().map(|(i, s)| json!({"status": s, "executed": executed - step * i64::try_from(history.len() - 1 - i).unwrap_or(0)})).collect::<Vec<_>>(),
                "occurrences": occurrences,
                "occurrences_watermark": watermark.max(1),
                "state": state,
                "is_silenced": silenced,
                "last_ok": last_ok.unwrap_or(0),
            });
            if let (Some(i), false) = (seq.interval, seq.no_interval) {
                check["interval"] = json!(i);
            }
            merge(&mut check, &seq.check_extra);
            let mut event = json!({
                // Sensu Go's agent stamps the event's time too.
                "timestamp": executed,
                "entity": {"metadata": {"name": seq.entity, "namespace": seq.namespace, "annotations": seq.entity_annotations}, "entity_class": "agent"},
                "check": check,
            });
            merge(&mut event, &seq.event_extra);
            if *status == 0 {
                last_ok = Some(executed);
                watermark = 0;
            }
            (send.unwrap_or(true)).then_some(event)
        } else {
            let action = if flapping {
                "flapping"
            } else if *status == 0 {
                "resolve"
            } else {
                "create"
            };
            let sensu_sends = *status != 0 || open_event || flapping;
            if *status != 0 {
                watermark = watermark.max(occurrences);
            }
            let event_occurrences = if *status == 0 { 1 } else { occurrences };
            let mut check = json!({
                "name": seq.check,
                "command": format!("{}.rb", seq.check),
                "status": status,
                "output": output(*status),
                "executed": executed,
                "issued": executed,
                "history": history.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            });
            if let (Some(i), false) = (seq.interval, seq.no_interval) {
                check["interval"] = json!(i);
            }
            merge(&mut check, &seq.check_extra);
            let mut event = json!({
                "id": "f4a9453f-ac70-4e91-a601-a97ff31c589a",
                "client": {"name": seq.entity, "address": "10.0.0.1", "subscriptions": ["web"]},
                "check": check,
                "occurrences": event_occurrences,
                "occurrences_watermark": watermark.max(1),
                "last_ok": last_ok,
                "action": action,
                "timestamp": at,
                "silenced": silenced,
                "silenced_by": if silenced { json!(["web01:check_http"]) } else { json!([]) },
            });
            merge(&mut event, &seq.event_extra);
            open_event = *status != 0;
            if *status == 0 {
                last_ok = Some(executed);
                watermark = 0;
            }
            send.unwrap_or(sensu_sends).then_some(event)
        };
        if let Some(json) = event {
            out.push(Generated { executed: at, json });
        }
    }
    out
}

fn output(status: i64) -> String {
    match status {
        0 => "CheckHttp OK: 200, 1234 bytes\n".into(),
        1 => "CheckHttp WARNING: slow response 4.2s\n".into(),
        2 => "CheckHttp CRITICAL: Connection refused ...\n".into(),
        s => format!("CheckHttp UNKNOWN: exit {s}\n"),
    }
}

fn merge(target: &mut Value, extra: &Map<String, Value>) {
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
}
