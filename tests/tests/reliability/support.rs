//! Running the built handler as a process, scratch directories, and the API-key scan
//! applied to everything a test captures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sensu_reactio_tests::handler_bin;
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
    KEY.as_bytes().windows(PIECE).any(|piece| text.windows(PIECE).any(|w| w == piece))
}

/// Fails the test if `text` (what `label` names) holds any piece of the key.
pub(crate) fn assert_no_key(label: &str, text: &[u8]) {
    SCANNED_CAPTURES.fetch_add(1, Ordering::Relaxed);
    SCANNED_BYTES.fetch_add(text.len() as u64, Ordering::Relaxed);
    assert!(!leaks_key(text), "the api key leaked into {label}:\n{}", String::from_utf8_lossy(text));
}

/// Every regular file under `dir` (recursively).
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
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

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty scratch directory.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sensu-reactio-rel-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The path as `&str` (scratch paths are UTF-8).
pub(crate) fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// What a handler run left behind.
#[derive(Debug)]
pub(crate) struct Run {
    /// Exit code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
    /// How long it took.
    pub(crate) elapsed: Duration,
    /// Whether the whole stdin was written (the handler read it to EOF).
    pub(crate) stdin_drained: bool,
}

impl Run {
    /// stdout and stderr together.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A handler invocation being set up: cleared environment (`PATH` only), cwd `/`.
#[derive(Debug)]
pub(crate) struct Handler {
    command: Command,
    stdin: Vec<u8>,
    label: String,
}

impl Handler {
    /// The built handler binary.
    pub(crate) fn new(label: &str) -> Handler {
        let bin = handler_bin().unwrap_or_else(|e| panic!("{e}"));
        let mut command = Command::new(bin);
        command.env_clear().env("PATH", "/usr/bin:/bin").current_dir("/");
        Handler { command, stdin: Vec::new(), label: label.to_owned() }
    }

    /// Add arguments.
    pub(crate) fn args<I, S>(&mut self, args: I) -> &mut Handler
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Add one argument.
    pub(crate) fn arg(&mut self, arg: &str) -> &mut Handler {
        self.command.arg(arg);
        self
    }

    /// Set an environment variable.
    pub(crate) fn env(&mut self, name: &str, value: &str) -> &mut Handler {
        self.command.env(name, value);
        self
    }

    /// The bytes to pipe in.
    pub(crate) fn stdin(&mut self, bytes: Vec<u8>) -> &mut Handler {
        self.stdin = bytes;
        self
    }

    /// Run it (killed after `limit`); stdout and stderr are scanned for the key.
    pub(crate) fn run_within(&mut self, limit: Duration) -> Run {
        let started = Instant::now();
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the handler");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || stdin.write_all(&input).is_ok());
        let pid = child.id();
        let waiter = std::thread::spawn(move || child.wait_with_output());
        while !waiter.is_finished() {
            if started.elapsed() > limit {
                // Our own child, by its id.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                panic!("{}: the handler ran for more than {limit:?}", self.label);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let output = waiter.join().expect("waiter").expect("wait for the handler");
        let stdin_drained = writer.join().unwrap_or(false);
        assert_no_key(&format!("{}: stdout", self.label), &output.stdout);
        assert_no_key(&format!("{}: stderr", self.label), &output.stderr);
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
            stdin_drained,
        }
    }

    /// Run it (killed after 60 s).
    pub(crate) fn run(&mut self) -> Run {
        self.run_within(Duration::from_secs(60))
    }
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
