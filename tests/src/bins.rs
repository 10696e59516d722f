//! Locating built binaries of the workspace from this package's tests (Cargo only
//! provides `CARGO_BIN_EXE_<name>` for binaries of the package under test).

use std::env::consts::EXE_SUFFIX;
use std::io;
use std::path::{Path, PathBuf};

/// The native handler's binary name.
pub const HANDLER_BIN: &str = "sensu-reactio-handler";
/// Overrides the search: the path of the handler binary to use.
pub const HANDLER_BIN_ENV: &str = "SENSU_REACTIO_HANDLER_BIN";

/// The profile directory the running test binary was built into: the parent of
/// `deps/` for a test executable (`target/debug/deps/x-123`), else its own directory.
fn profile_dir_of_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}

/// Candidate directories for built binaries, in search order.
fn candidate_dirs() -> Vec<PathBuf> {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let mut dirs = Vec::new();
    if let Some(dir) = profile_dir_of_current_exe() {
        dirs.push(dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(target).join(profile));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(root) = manifest.parent() {
        dirs.push(root.join("target").join(profile));
    }
    dirs
}

/// Finds a built workspace binary by name (without the platform suffix) in the
/// profile directory of the running test, then `$CARGO_TARGET_DIR/<profile>`, then
/// `<workspace>/target/<profile>`. Missing: an error naming the build command.
pub fn workspace_bin(name: &str) -> io::Result<PathBuf> {
    let file = format!("{name}{EXE_SUFFIX}");
    let dirs = candidate_dirs();
    if let Some(found) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let release = if cfg!(debug_assertions) { "" } else { " --release" };
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "{file} is not built (searched {}): run `cargo build{release} --bin {name}` first",
            searched.join(", ")
        ),
    ))
}

/// The native handler binary (`sensu-reactio-handler`), or the path in
/// `SENSU_REACTIO_HANDLER_BIN` when set. Never skips: a missing binary is an error
/// telling to run `cargo build --bin sensu-reactio-handler`.
pub fn handler_bin() -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os(HANDLER_BIN_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, format!("{HANDLER_BIN_ENV}={} is not a file", path.display())))
        };
    }
    workspace_bin(HANDLER_BIN)
}
