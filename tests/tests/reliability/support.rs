//! Running the built handler as a process, scratch directories, and the API-key scan
//! applied to everything a test captures.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use sensu_reactio_tests::process::{self, Handler, Run, files_under, path_str};
use sensu_reactio_tests::standin::{Config, Standin};

/// The API key of every test here: distinctive, so a leak of any piece is found.
pub(crate) const KEY: &str = "sk-reliab-3c9e71d05a4b8f26";

/// A piece of the key this long anywhere counts as a leak.
const PIECE: usize = 10;

/// Captures scanned and bytes scanned, for the figures printed by the leak test.
pub(crate) static SCANNED_CAPTURES: AtomicU64 = AtomicU64::new(0);
pub(crate) static SCANNED_BYTES: AtomicU64 = AtomicU64::new(0);

/// Whether `text` holds the key or any [`PIECE`]-character piece of it.
pub(crate) fn leaks_key(text: &[u8]) -> bool {
    let holds = |text: &[u8]| KEY.as_bytes().windows(PIECE).any(|piece| text.windows(PIECE).any(|w| w == piece));
    // Also as a URL would carry it, percent-encoded.
    holds(text) || holds(sensu_reactio_core::text::percent_decode(&String::from_utf8_lossy(text)).as_bytes())
}

/// Fails the test if `text` (what `label` names) holds any piece of the key.
pub(crate) fn assert_no_key(label: &str, text: &[u8]) {
    SCANNED_CAPTURES.fetch_add(1, Ordering::Relaxed);
    SCANNED_BYTES.fetch_add(text.len() as u64, Ordering::Relaxed);
    assert!(!leaks_key(text), "the api key leaked into {label}:\n{}", String::from_utf8_lossy(text));
}

/// Scans every file under `dir` (spool entries, dead letters, locks) for the key.
pub(crate) fn assert_no_key_in_dir(dir: &Path) -> usize {
    let files = files_under(dir);
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        assert_no_key(&format!("spool file {}", file.display()), &bytes);
    }
    files.len()
}

/// A stand-in accepting [`KEY`].
pub(crate) fn standin() -> Standin {
    Config::default().api_key(KEY).start().expect("start the reactio stand-in")
}

/// A fresh, empty scratch directory.
pub(crate) fn scratch(name: &str) -> sensu_reactio_tests::process::Scratch {
    process::scratch("rel", name)
}

/// The built handler (cleared environment, cwd `/`, killed after 60 s) whose stdout
/// and stderr are scanned for the key on every run.
pub(crate) fn scanned_handler(label: &str) -> Handler {
    let mut handler = Handler::new(label);
    handler.check_output(assert_no_key);
    handler
}

/// A Sensu Classic event (compact JSON, as sensu-server pipes it).
pub(crate) fn classic(client: &str, check: &str, status: u8, history: &[u8], action: &str, now: i64) -> Vec<u8> {
    let output = match status {
        0 => "CheckHttp OK: 200\n".to_owned(),
        2 => "CheckHttp CRITICAL: Connection refused\n".to_owned(),
        s => format!("status {s}\n"),
    };
    let history: Vec<String> = history.iter().map(|s| s.to_string()).collect();
    let occurrences = history.iter().rev().take_while(|s| **s == status.to_string()).count().max(1);
    serde_json::json!({
        "id": "3f1c2b8e-5a0d-4c1e-9b7a-2d4e6f8a0b1c",
        "client": {"name": client, "address": "10.0.0.11", "subscriptions": ["web"]},
        "check": {"name": check, "command": "check-http.rb", "interval": 60, "status": status,
                  "output": output, "issued": now, "executed": now, "history": history},
        "occurrences": occurrences, "occurrences_watermark": occurrences,
        "action": action, "timestamp": now, "last_ok": now - 60, "silenced": false,
    })
    .to_string()
    .into_bytes()
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}
