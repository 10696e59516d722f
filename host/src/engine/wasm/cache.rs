//! The wasm engine's compiled-code cache: `<name>.<key>.cwasm` beside the module, checked
//! by an XXH3-128 checksum file before it is mapped, written atomically on a miss (which
//! also removes this module's cache files older than a day). Holds the host's one
//! `unsafe` block: loading a cache file this engine wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::Module;

use super::{compile, new_engine};
use crate::engine::EngineError;

/// The cache file's checksum file: `<cache>.cwasm.xxh3`, the hex XXH3-128 of the cache file.
pub(super) const SUM_EXTENSION: &str = "cwasm.xxh3";

/// The hex XXH3-128 checksum of `bytes`.
///
/// A checksum, not a signature: it finds a truncated, corrupted or mixed-up file. What
/// keeps others from planting code is that the cache file and its checksum file must
/// be ours and not writable by anyone else ([`trusted`]); whoever could rewrite one
/// could rewrite the other, so a cryptographic hash beside the file would add nothing.
/// XXH3 is ~4x faster than BLAKE3 here (BENCHMARKS.md, "--engine wasm").
pub(super) fn digest(bytes: &[u8]) -> String {
    sum_text(xxhash_rust::xxh3::xxh3_128(bytes))
}

/// A checksum as the checksum file holds it: 32 lowercase hex digits.
fn sum_text(sum: u128) -> String {
    format!("{sum:032x}")
}

/// The XXH3-128 checksum of an open file's content from where it stands, read through
/// a buffer (on the cache's hit path neither the module nor the cache file is ever held
/// in memory whole).
fn hash_of(file: &mut std::fs::File) -> Option<u128> {
    use std::io::Read;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hasher.digest128()),
            Ok(n) => hasher.update(buffer.get(..n)?),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The cache file for the module whose content hashes to `module` and this wasmtime
/// build (`engine`: the compiler-less engine, which is what loads cache files).
pub(super) fn cache_path(engine: &wasmtime::Engine, path: &Path, module: u128) -> PathBuf {
    use std::hash::Hash;
    let mut key = xxhash_rust::xxh3::Xxh3::new();
    key.update(&module.to_le_bytes());
    engine.precompile_compatibility_hash().hash(&mut key);
    key.update(env!("CARGO_PKG_VERSION").as_bytes());
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "module".into());
    path.with_file_name(format!("{stem}.{:016x}.cwasm", key.digest()))
}

/// A file this engine may trust: a regular file not writable by group or others.
fn trusted(meta: &std::fs::Metadata) -> bool {
    if !meta.file_type().is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o022 != 0 {
            return false;
        }
    }
    true
}

/// The cache file, opened, if it is one this engine wrote and its hash file matches:
/// the path is no symlink, the open file is the one looked at (same device and inode),
/// both it and the checksum file are trusted, and the XXH3-128 checksum of the open
/// file's content equals the checksum file's.
fn open_checked(cwasm: &Path, sum_path: &Path) -> Option<std::fs::File> {
    let sum_meta = std::fs::symlink_metadata(sum_path).ok()?;
    if !trusted(&sum_meta) {
        return None;
    }
    let (mut file, opened) = crate::settings::open_regular_as_seen(cwasm, std::fs::OpenOptions::new().read(true))?;
    if !trusted(&opened) {
        return None;
    }
    let sum = std::fs::read_to_string(sum_path).ok()?;
    (sum_text(hash_of(&mut file)?) == sum.trim()).then_some(file)
}

/// Load the compiled code from the cache if it checks out (into an engine without a
/// compiler), else compile it (with one) and write it; the module and its engine.
/// Holds the host's one `unsafe` block (see its SAFETY note).
#[allow(unsafe_code)]
pub(super) fn compile_cached(
    path: &Path,
    read_module: impl FnOnce() -> Result<Vec<u8>, EngineError>,
) -> Result<(wasmtime::Engine, Module), EngineError> {
    let loader = new_engine(false)?;
    let cached = std::fs::File::open(path).ok().as_mut().and_then(hash_of).map(|hash| cache_path(&loader, path, hash));
    if let Some(cwasm) = cached
        && let Some(file) = open_checked(&cwasm, &cwasm.with_extension(SUM_EXTENSION))
    {
        // SAFETY: wasmtime runs deserialized code as native code, so it must be
        // output of `Module::serialize` from a compatible engine (wasmtime checks the
        // file's record of its settings and CPU features), and the file must not
        // change while the module lives (it is mapped, not copied). Cache files are
        // written only by this function (a temporary file, then a rename, with a
        // checksum beside it), so an inode once named here is never written again;
        // its name carries a hash of this module and of this engine's compatibility
        // key; neither it nor its checksum file is writable by group or others
        // (`trusted`, checked on the open file); and the checksum of the very
        // inode mapped here matches, so a truncated, corrupted or swapped file is
        // never loaded.
        if let Ok(module) = unsafe { Module::deserialize_open_file(&loader, file) } {
            return Ok((loader, module));
        }
    }
    // A miss: compile the bytes read now, and name the cache file after them (not
    // after what was hashed above, in case the module was replaced in between).
    let compiler = new_engine(true)?;
    let bytes = read_module()?;
    let module = compile(&compiler, path, &bytes)?;
    let cwasm = cache_path(&loader, path, xxhash_rust::xxh3::xxh3_128(&bytes));
    let sum_path = cwasm.with_extension(SUM_EXTENSION);
    if let Ok(code) = module.serialize() {
        // Best effort: an unwritable directory only costs a compile per run.
        if write_private(&cwasm, &code).and_then(|()| write_private(&sum_path, digest(&code).as_bytes())).is_ok() {
            sweep_stale(&cwasm, std::time::SystemTime::now());
        }
    }
    Ok((compiler, module))
}

/// How old another cache file must be before a miss removes it.
///
/// Removing only old ones keeps two handler versions (or module builds) that run side
/// by side during an upgrade from removing each other's fresh file on every run: each
/// misses once, writes its own, and from then on both hit.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// After a miss wrote `fresh`, remove the cache files of earlier module builds or
/// handler versions beside it (`<stem>.<16 hex digits>.cwasm`, their checksum files and
/// temporary files left by an interrupted write) that were last written more than
/// [`STALE_AFTER`] ago, so they do not pile up next to the module. Best effort: a file
/// that cannot be removed stays, and only names this engine writes are ever touched.
fn sweep_stale(fresh: &Path, now: std::time::SystemTime) {
    let (Some(dir), Some(fresh_name)) = (fresh.parent(), fresh.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    // `<stem>.<key>.cwasm`: the stem is what comes before the key.
    let Some(stem) = fresh_name.strip_suffix(".cwasm").and_then(|s| s.rsplit_once('.')).map(|(stem, _)| stem) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == fresh_name || !is_cache_name(stem, name) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|written| now.duration_since(written).is_ok_and(|age| age > STALE_AFTER));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether `name` is one this engine writes for the module `<stem>.wasm`: the cache file
/// `<stem>.<16 hex>.cwasm`, its checksum file (`.cwasm.xxh3`), or a temporary file of
/// either (`.tmp<pid>`, `.cwasm.tmp<pid>`).
fn is_cache_name(stem: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let Some((key, tail)) = rest.split_at_checked(16) else { return false };
    if !key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return false;
    }
    let temporary =
        |t: &str| t.strip_prefix(".tmp").is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    match tail.strip_prefix(".cwasm") {
        Some(after) => after.is_empty() || after == ".xxh3" || temporary(after),
        None => temporary(tail),
    }
}

/// Write a file atomically (temporary file + rename), readable by all, writable by us only.
/// On any failure the temporary file goes too: a write cut short by a full disk would
/// otherwise keep the room the spool entry needs (docs/reliability.md finding 72).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| {
        std::fs::write(&tmp, bytes)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
        }
        std::fs::rename(&tmp, path)
    })();
    written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
