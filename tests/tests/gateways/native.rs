//! The reference: the native handler (`sensu-reactio-handler`) as a process, one run
//! per event, with the same settings and key the gateways get. It sleeps through the
//! core's waits itself, so one run covers every attempt.

use std::time::Duration;

use sensu_reactio_tests::Standin;
pub(crate) use sensu_reactio_tests::process::Run;
use sensu_reactio_tests::process::{Handler, path_str};

use crate::support::{KEY, scratch, settings};

/// Run the handler once with `event` against `server` (hermetic: empty environment
/// but the key, a settings file with the gateways' settings, a scratch spool).
pub(crate) fn run(server: &Standin, event: &[u8]) -> Run {
    let dir = scratch("native");
    let settings_file = dir.join("settings.json");
    std::fs::write(&settings_file, settings(server).to_string()).expect("write settings");
    let run = Handler::new("native")
        .env("STATE_DIRECTORY", path_str(&dir.join("state")))
        .env("REACTIO_API_KEY", KEY)
        .args(["--config", path_str(&settings_file), "--deadline", "10"])
        .args(["--spool-dir", path_str(&dir.join("spool"))])
        .stdin(event)
        .run_within(Duration::from_secs(120));
    assert!(run.stdin_drained, "write the event");
    run
}
