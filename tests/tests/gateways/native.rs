//! The reference: the native handler (`sensu-reactio-handler`) as a process, one run
//! per event, with the same settings and key the gateways get. It sleeps through the
//! core's waits itself, so one run covers every attempt.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sensu_reactio_tests::{Standin, handler_bin};

use crate::support::{KEY, scratch, settings};

/// What one run left.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

/// Run the handler once with `event` against `server` (hermetic: empty environment
/// but the key, a settings file with the gateways' settings, a scratch spool).
pub(crate) fn run(server: &Standin, event: &[u8]) -> Run {
    let bin = handler_bin().unwrap_or_else(|e| panic!("native: {e}"));
    let dir = scratch("native");
    let settings_file = dir.join("settings.json");
    std::fs::write(&settings_file, settings(server).to_string()).expect("write settings");
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("STATE_DIRECTORY", dir.join("state"))
        .env("REACTIO_API_KEY", KEY)
        .args(["--config", settings_file.to_str().expect("utf-8"), "--deadline", "10"])
        .args(["--spool-dir", dir.join("spool").to_str().expect("utf-8")])
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the handler");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(event).expect("write the event");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for the handler");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}
