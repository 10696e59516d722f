//! Running the built handler as a process from the integration tests: a [`Handler`]
//! builder (cleared environment, cwd `/`, stdin piped in, a wall-clock limit), the
//! [`Run`] it leaves, scratch directories, and the secret-leak scan over runs and files.

// Failing the test is what these helpers are for.
#![allow(clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::handler_bin;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty scratch directory `sensu-reactio-<prefix>-<pid>-<n>-<name>` under
/// the system's temporary directory (`prefix` names the test binary), removed when the
/// returned guard is dropped.
pub fn scratch(prefix: &str, name: &str) -> Scratch {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sensu-reactio-{prefix}-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    Scratch(dir)
}

/// A scratch directory, removed with everything in it when this is dropped, unless the
/// test is failing (panicking): then it is kept, and its path printed, for the post-mortem.
/// A passing run leaves nothing in the temporary directory.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// The directory's path (owned; the directory lives as long as `self`).
    pub fn path_buf(&self) -> PathBuf {
        self.0.clone()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Test output is captured; the harness prints it with the failure.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("kept the failing test's scratch directory: {}", self.0.display());
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A path as `&str` (scratch and repository paths are UTF-8 here).
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Every regular file under `dir` (recursively), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

/// What a run left behind.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
    /// Whether the whole stdin was written (the process read it to EOF).
    pub stdin_drained: bool,
}

impl Run {
    /// stdout and stderr together, one line apart.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Fails the test if `secret` is in the output of any of `runs` or in any of `files`.
pub fn assert_no_secret(runs: &[&Run], files: &[PathBuf], secret: &str) {
    for run in runs {
        assert!(!run.all().contains(secret), "the api key leaked into the output:\n{}", run.all());
    }
    for file in files {
        let text = std::fs::read(file).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&text).contains(secret), "the api key leaked into {}", file.display());
    }
}

/// A check applied to each captured stream before the [`Run`] is built: the label of
/// the capture (`<label>: stdout`) and its bytes.
pub type OutputCheck = fn(&str, &[u8]);

/// A process invocation being set up: cleared environment (`PATH` only), cwd `/`.
#[derive(Debug)]
pub struct Handler {
    command: Command,
    stdin: Vec<u8>,
    label: String,
    limit: Duration,
    check: Option<OutputCheck>,
    held: Vec<Scratch>,
    pid: Option<Arc<AtomicU32>>,
    stdin_open: bool,
    gate: Option<std::sync::mpsc::Receiver<()>>,
}

impl Handler {
    /// The built handler binary, named `label` in failures, killed after 60 s.
    pub fn new(label: &str) -> Handler {
        Handler::new_under(label, &[])
    }

    /// The same, started by `wrapper` (a program and its arguments, which then runs the
    /// handler: `["prlimit", "--nofile=7"]`); none: started itself.
    pub fn new_under(label: &str, wrapper: &[&str]) -> Handler {
        let bin = handler_bin().unwrap_or_else(|e| panic!("{label}: {e}"));
        let mut command = match wrapper.split_first() {
            None => Command::new(bin),
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(bin);
                command
            }
        };
        command.env_clear().env("PATH", "/usr/bin:/bin").current_dir("/");
        Handler {
            command,
            stdin: Vec::new(),
            label: label.to_owned(),
            limit: Duration::from_secs(60),
            check: None,
            held: Vec::new(),
            pid: None,
            stdin_open: false,
            gate: None,
        }
    }

    /// Add arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Handler
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Add one argument.
    pub fn arg(&mut self, arg: &str) -> &mut Handler {
        self.command.arg(arg);
        self
    }

    /// Set an environment variable.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Handler {
        self.command.env(name, value);
        self
    }

    /// Set an environment variable to any bytes (not always UTF-8).
    pub fn env_os(&mut self, name: &str, value: &std::ffi::OsStr) -> &mut Handler {
        self.command.env(name, value);
        self
    }

    /// Keep `dir` (one the invocation uses) until this is dropped.
    pub fn hold(&mut self, dir: Scratch) -> &mut Handler {
        self.held.push(dir);
        self
    }

    /// The bytes to pipe in.
    pub fn stdin(&mut self, bytes: &[u8]) -> &mut Handler {
        self.stdin = bytes.to_vec();
        self
    }

    /// Leave stdin open after the bytes are written, until the process ends (a feeder
    /// that never closes it).
    pub fn keep_stdin_open(&mut self) -> &mut Handler {
        self.stdin_open = true;
        self
    }

    /// Write stdin only once `gate` gets a message (or its sender is dropped): a run
    /// that started before its event came in.
    pub fn stdin_after(&mut self, gate: std::sync::mpsc::Receiver<()>) -> &mut Handler {
        self.gate = Some(gate);
        self
    }

    /// How long [`Handler::run`] lets it run before killing it and failing the test.
    pub fn limit(&mut self, limit: Duration) -> &mut Handler {
        self.limit = limit;
        self
    }

    /// A check run on stdout and on stderr of every run (before the [`Run`] exists).
    pub fn check_output(&mut self, check: OutputCheck) -> &mut Handler {
        self.check = Some(check);
        self
    }

    /// Where to put the process id once it runs (to signal it from another thread).
    pub fn report_pid(&mut self, slot: Arc<AtomicU32>) -> &mut Handler {
        self.pid = Some(slot);
        self
    }

    /// Run it (killed after its limit).
    pub fn run(&mut self) -> Run {
        self.run_within(self.limit)
    }

    /// Run it, killed after `limit` (the test then fails).
    pub fn run_within(&mut self, limit: Duration) -> Run {
        let input = std::mem::take(&mut self.stdin);
        let what = format!("{}: the handler", self.label);
        let piped = Piped { input, keep_open: self.stdin_open, gate: self.gate.take() };
        let (output, stdin_drained, elapsed) = wait_piped(&mut self.command, piped, limit, &what, self.pid.as_deref());
        if let Some(check) = self.check {
            check(&format!("{}: stdout", self.label), &output.stdout);
            check(&format!("{}: stderr", self.label), &output.stderr);
        }
        run_of(&output, stdin_drained, elapsed)
    }
}

/// Runs `command` with `stdin` piped in (then EOF) and its output captured; after
/// `limit` it is killed and the test fails, naming it `what`.
pub fn run_piped(command: &mut Command, stdin: Vec<u8>, limit: Duration, what: &str) -> Run {
    let (output, stdin_drained, elapsed) =
        wait_piped(command, Piped { input: stdin, keep_open: false, gate: None }, limit, what, None);
    run_of(&output, stdin_drained, elapsed)
}

/// What goes to a process's stdin: bytes, then its end (unless `keep_open`: not
/// before the process ends).
struct Piped {
    input: Vec<u8>,
    keep_open: bool,
    gate: Option<std::sync::mpsc::Receiver<()>>,
}

/// Spawns `command`, writes `input` from another thread, waits for the output (killing
/// it and failing the test after `limit`): the output, whether all of `input` was
/// written, and how long it took. The process id goes to `pid_out` when given.
fn wait_piped(
    command: &mut Command,
    input: Piped,
    limit: Duration,
    what: &str,
    pid_out: Option<&AtomicU32>,
) -> (Output, bool, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    // Kept open, the pipe's end lives in the writer's result until it is joined.
    let writer = std::thread::spawn(move || {
        if let Some(gate) = input.gate {
            let _ = gate.recv();
        }
        let written = stdin.write_all(&input.input).is_ok();
        (written, input.keep_open.then_some(stdin))
    });
    let pid = child.id();
    if let Some(slot) = pid_out {
        slot.store(pid, Ordering::SeqCst);
    }
    let waiter = std::thread::spawn(move || child.wait_with_output());
    while !waiter.is_finished() {
        if started.elapsed() > limit {
            // Our own child, by its id.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{what} ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = waiter.join().expect("waiter").unwrap_or_else(|e| panic!("wait for {what}: {e}"));
    let stdin_drained = writer.join().map(|(written, _open)| written).unwrap_or(false);
    (output, stdin_drained, started.elapsed())
}

/// The [`Run`] of a finished process.
fn run_of(output: &Output, stdin_drained: bool, elapsed: Duration) -> Run {
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed,
        stdin_drained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_goes_with_its_guard() {
        let dir = scratch("unit", "dropped");
        std::fs::write(dir.join("file"), "x").expect("write");
        let path = dir.path_buf();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists(), "{} left behind", path.display());
    }

    #[test]
    fn a_failing_test_keeps_its_scratch_directory() {
        let kept = std::panic::catch_unwind(|| {
            let dir = scratch("unit", "failing");
            let path = dir.path_buf();
            std::panic::panic_any(path);
        });
        let payload = kept.expect_err("the closure panics");
        let path = payload.downcast_ref::<PathBuf>().expect("the path as payload");
        assert!(path.is_dir(), "{} removed although its test failed", path.display());
        std::fs::remove_dir_all(path).expect("clean up");
    }
}
