//! Shared helpers: the repository's paths, scratch directories, reading the shipped
//! examples (JSON and multi-document YAML), and running a command the way Sensu does
//! (`/bin/sh -c`, an unrelated working directory, only the environment given).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub(crate) use sensu_reactio_tests::process::{self, Run, assert_no_secret, files_under, path_str, run_piped};
use serde::Deserialize;
use serde_json::Value;

/// The API key the stand-in accepts; it must never appear in any output.
pub(crate) const KEY: &str = "sk-ecosystem-5e1d0a93c7b2f864";

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A path under the repository root.
pub(crate) fn repo_path(relative: &str) -> PathBuf {
    repo().join(relative)
}

/// A fresh, empty scratch directory.
pub(crate) fn scratch(name: &str) -> sensu_reactio_tests::process::Scratch {
    process::scratch("eco", name)
}

/// A JSON file of the repository.
pub(crate) fn read_json(relative: &str) -> Value {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative} is not valid JSON: {e}"))
}

/// Every document of a YAML file of the repository, as JSON values.
pub(crate) fn read_yaml(relative: &str) -> Vec<Value> {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(text.starts_with("# "), "{relative} must start with a comment saying what it is for");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The one document of `kind` (`type:`) in a YAML example.
pub(crate) fn resource(relative: &str, kind: &str) -> Value {
    let docs: Vec<Value> = read_yaml(relative).into_iter().filter(|d| d["type"] == kind).collect();
    assert_eq!(docs.len(), 1, "{relative}: expected one {kind}");
    docs.into_iter().next().expect("one")
}

/// The built handler's directory (for `PATH`, as an installed handler is found).
pub(crate) fn handler_dir() -> PathBuf {
    let bin = sensu_reactio_tests::handler_bin().unwrap_or_else(|e| panic!("{e}"));
    bin.parent().expect("bin dir").to_path_buf()
}

/// Runs `command` as Sensu does: `/bin/sh -c`, working directory `cwd`, an environment
/// of exactly `env`, the event on stdin without a trailing newline, then EOF. Killed
/// after 120 s.
pub(crate) fn sh(command: &str, cwd: &Path, env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command).env_clear().current_dir(cwd);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let input = stdin.strip_suffix(b"\n").unwrap_or(stdin).to_vec();
    run_piped(&mut cmd, input, Duration::from_secs(120), &format!("`{command}`"))
}

/// A key file holding [`KEY`] in `dir/keys/` (the one place the key may be on disk).
pub(crate) fn key_file(dir: &Path, name: &str) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("create keys dir");
    let file = keys.join(name);
    std::fs::write(&file, format!("{KEY}\n")).expect("write key file");
    // As the docs say to keep it: readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).expect("chmod key file");
    file
}

/// The key is in no output and no file under `dir` (except its `keys/` folder).
pub(crate) fn assert_no_key(run: &Run, dir: &Path) {
    let files: Vec<PathBuf> = files_under(dir).into_iter().filter(|f| !f.starts_with(dir.join("keys"))).collect();
    assert_no_secret(&[run], &files, KEY);
}

/// Epoch seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
