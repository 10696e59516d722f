//! The spool: undelivered events as one JSON file each, written atomically (a temp
//! file, then a rename), named so they sort oldest first; `dead/` for events the
//! server refused; a lock file held while draining. Entries hold the Sensu event, never the API key.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::HostError;
use crate::latest::Arrival;
use crate::settings::EnvVars;

/// The system-wide default, used when it is writable.
pub const SYSTEM_SPOOL: &str = "/var/spool/sensu-reactio";

/// One spooled event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version (1).
    pub version: u32,
    /// The Sensu event exactly as read from stdin (JSON text).
    pub event: String,
    /// The incident key.
    pub key: String,
    /// A recovery (supersedes earlier spooled alerts for the key).
    pub recovery: bool,
    /// A passing result that is not a recovery (ok after ok): neither an alert nor a
    /// recovery, it supersedes nothing and nothing supersedes it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub passing: bool,
    /// When the handler first received it, epoch seconds.
    pub received_at: i64,
    /// When the handler received it, epoch nanoseconds ([`Entry::arrived`]); `None` in
    /// entries kept by an earlier version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_ns: Option<Arrival>,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last failure, one line, no secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a later run last tried it, epoch seconds (`None`: only the run that kept
    /// it, at `received_at`): how old `last_error` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    /// Which handler configuration kept it ([`crate::route::Route`]): a digest of its
    /// profile, organization and key, never the key. `None`: kept for a key problem,
    /// or before any settings could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The digest of its profile and organization (the route without the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Attempts in a row on which the handler itself failed (the engine, not the
    /// network or Reactio): after three the entry is dead-lettered, so one event the
    /// engine cannot plan neither holds up the spool nor comes back for ever.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handler_failures: u32,
    /// When a run last sent this event's create and could not confirm it, epoch
    /// milliseconds: the next run looks it up no sooner than
    /// [`sensu_reactio_core::CREATE_RETRY_WAIT_MS`] after (the server may yet apply it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed_create_ms: Option<u64>,
    /// The incident a run last sent this event's broadcast to (marked before it went):
    /// a later attempt does not broadcast to it again (a run killed before the answer
    /// came left no other trace of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_incident: Option<u64>,
    /// Its last attempt ran out of the time it had while the server was answering it
    /// (a 2xx on the way: a slow server, pages of other incidents to look through; not
    /// one that is down or refusing): a run leaves it, and its check's later entries,
    /// until after its own live event, rather than spend on it, run after run, the
    /// time each new alert needs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cut_short: bool,
    /// The settings that shape what is sent (`call`, templates, …) of the run that kept
    /// it, each as a digest of its value ([`crate::route::Route::settings`]): `replay`
    /// leaves an entry kept under other settings than its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<std::collections::BTreeMap<String, String>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Entry {
    /// An alert: a failure of its check (supersedes earlier spooled recoveries).
    pub fn is_failure(&self) -> bool {
        !self.recovery && !self.passing
    }

    /// Whether an event of its check that came later (a `recovery`, a `failure`, or
    /// neither: a passing result) supersedes this one: a recovery supersedes an alert,
    /// a failure a recovery.
    pub fn superseded_by(&self, recovery: bool, failure: bool) -> bool {
        supersedes((recovery, failure), (self.recovery, self.is_failure()))
    }

    /// When its event reached the handler. An entry from an earlier version says only
    /// the second: the end of it, so it counts as after anything else that came in that
    /// second (as earlier versions, comparing seconds, counted it).
    pub fn arrived(&self) -> Arrival {
        self.received_ns.unwrap_or_else(|| {
            let second = u64::try_from(self.received_at).unwrap_or(0).saturating_add(1);
            Arrival(second.saturating_mul(1_000_000_000).saturating_sub(1))
        })
    }
}

/// Whether a later result of a check (`later`: recovery, failure) supersedes an
/// earlier one (`earlier`, the same): a recovery supersedes an alert, a failure a
/// recovery; a passing result that is neither supersedes nothing.
pub fn supersedes(later: (bool, bool), earlier: (bool, bool)) -> bool {
    (earlier.1 && later.0) || (earlier.0 && later.1)
}

/// The spool directory chosen for this run.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Set when the per-user fallback is used: why (printed when writing there).
    pub fallback_note: Option<String>,
    /// Set when `spool_dir` was relative and this directory chosen instead: why
    /// (printed when writing, and by `check-config`).
    pub setting_note: Option<String>,
    /// When this run chose its spool (at its start, epoch nanoseconds): the name of the
    /// entry it keeps, so entries sort by when their events arrived, not by when their
    /// runs gave up (a run that waited on a slow server must not sort after the next
    /// event of its check, kept by a run that started later).
    opened_ns: u128,
}

/// The current time, epoch nanoseconds.
fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// The effective user and group of this process (owner of `/proc/self`), looked up once.
fn me() -> Option<(u32, u32)> {
    static ME: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *ME.get_or_init(|| std::fs::metadata("/proc/self").ok().map(|m| (m.uid(), m.gid())))
}

fn writable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    if !meta.is_dir() {
        return false;
    }
    let mode = meta.mode();
    match me() {
        Some((0, _)) => true,
        Some((uid, gid)) => {
            (meta.uid() == uid && mode & 0o200 != 0) || (meta.gid() == gid && mode & 0o020 != 0) || mode & 0o002 != 0
        }
        None => !meta.permissions().readonly(),
    }
}

/// What `replay --dead` did with the dead letters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Revived {
    /// Moved back into the spool.
    pub moved: usize,
    /// Left where they are: the filter refused them (another configuration's).
    pub refused: usize,
    /// Left where they are: not a spool entry this handler can read.
    pub unreadable: usize,
    /// Left where they are: the move back failed (the first failure's reason in
    /// `move_error`).
    pub unmoved: usize,
    /// Why the first move back failed.
    pub move_error: Option<String>,
}

impl Revived {
    /// Dead letters asked for and left where they are, for whatever reason.
    pub fn left(&self) -> usize {
        self.refused + self.unreadable + self.unmoved
    }
}

impl Spool {
    /// A spool at this directory.
    pub fn at(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into(), fallback_note: None, setting_note: None, opened_ns: now_ns() }
    }

    /// Choose the directory: `spool_dir`, else `$STATE_DIRECTORY`, else
    /// `/var/spool/sensu-reactio` when writable, else `<tmp>/sensu-reactio-<uid>`.
    /// Nothing depends on the working directory. Root in a spool another user owns
    /// acts as that user from here on (`act_as_owner`).
    pub fn locate(configured: Option<&str>, env: &EnvVars, system: &Path) -> Result<Spool, HostError> {
        let spool = Spool::choose(configured, env, system)?;
        spool.act_as_owner()?;
        Ok(spool)
    }

    /// Root (run by hand, or a handler set to run as root) in a spool another user
    /// owns: this thread, the one that touches the spool, takes that user's identity
    /// for files (effective user and group, no other groups) for the rest of the run.
    /// Root would otherwise follow what that user can put in the spool: a symlink in
    /// place of a lock, a record or a temporary file pointing at `/etc/shadow` was
    /// written, or given to them, as root (the owner's user could make itself root).
    /// As them, the run can do there only what they could, and what it makes is
    /// theirs. Settings, keys, the CA file and the engine are read before. It cannot
    /// switch: no spool.
    fn act_as_owner(&self) -> Result<(), HostError> {
        use rustix::thread::{Gid, Uid};
        let Some((uid, gid)) = self.foreign_owner() else { return Ok(()) };
        let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
        rustix::thread::set_thread_groups(&[gid])
            .and_then(|()| rustix::thread::set_thread_res_gid(None, gid, None))
            .and_then(|()| rustix::thread::set_thread_res_uid(None, uid, None))
            .map_err(|e| {
                HostError::Spool(format!(
                    "the spool {} belongs to uid {}, and this run (as root) could not take that user's identity to use it: {e}; run the handler as that user",
                    self.dir.display(),
                    uid.as_raw()
                ))
            })
    }

    fn choose(configured: Option<&str>, env: &EnvVars, system: &Path) -> Result<Spool, HostError> {
        if let Some(dir) = configured.filter(|d| !d.trim().is_empty()) {
            if !Path::new(dir).is_absolute() {
                // Relative to a working directory Sensu chooses: the spool where a run
                // with no `spool_dir` keeps it instead, so that events are still kept
                // (and `replay` and `check-spool` find them), with a warning.
                let mut spool = Spool::choose(None, env, system)?;
                spool.setting_note = Some(format!(
                    "spool_dir must be an absolute path (sensu runs handlers from its own working directory), got `{dir}`, so the spool is {}; set spool_dir to an absolute path",
                    spool.dir.display()
                ));
                return Ok(spool);
            }
            return Ok(Spool::at(dir));
        }
        if let Some(state) =
            env.get("STATE_DIRECTORY").and_then(|s| s.split(':').next()).filter(|s| Path::new(s).is_absolute())
        {
            return Ok(Spool::at(state));
        }
        let usable = if system.exists() { writable(system) } else { system.parent().is_some_and(writable) };
        if usable {
            return Ok(Spool::at(system));
        }
        let uid = me().map(|(uid, _)| uid.to_string()).unwrap_or_else(|| "user".into());
        // A relative TMPDIR would put it under a working directory that `replay` and
        // `check-spool`, run from elsewhere, do not look in (std's `temp_dir` takes it).
        let tmp = env.get("TMPDIR").filter(|t| Path::new(t).is_absolute()).unwrap_or("/tmp");
        let fallback = Path::new(tmp).join(format!("sensu-reactio-{uid}"));
        let note = format!(
            "{} is not writable, so the spool is {}; set spool_dir (or create {} writable by this user) to keep undelivered events across reboots",
            system.display(),
            fallback.display(),
            system.display()
        );
        Ok(Spool { dir: fallback, fallback_note: Some(note), setting_note: None, opened_ns: now_ns() })
    }

    /// Why this directory and not the one configured, or not a lasting one (printed
    /// when writing to it).
    pub fn notes(&self) -> impl Iterator<Item = &String> {
        self.setting_note.iter().chain(&self.fallback_note)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The dead-letter folder.
    pub fn dead_dir(&self) -> PathBuf {
        self.dir.join("dead")
    }

    /// Make a folder of the spool (the spool too) as [`Spool::add`] makes its own.
    pub fn ensure_folder(&self, dir: &Path) -> Result<(), HostError> {
        self.ensure(&self.dir)?;
        self.ensure(dir)
    }

    /// What this run made in the spool goes to the spool's owner (see `give_to_owner`).
    pub fn hand_over(&self, path: &Path) {
        self.give_to_owner(path);
    }

    fn ensure(&self, dir: &Path) -> Result<(), HostError> {
        let existed = dir.is_dir();
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| {
            HostError::Spool(format!(
                "could not create spool directory {}: {e}; set spool_dir to a writable directory",
                dir.display()
            ))
        })?;
        if !existed && dir != self.dir {
            self.give_to_owner(dir);
        }
        if self.fallback_note.is_some() {
            // A shared temp dir: refuse a directory someone else owns (or a symlink).
            let meta = std::fs::symlink_metadata(&self.dir).map_err(|e| {
                HostError::Spool(format!("could not check spool directory {}: {e}", self.dir.display()))
            })?;
            if !meta.is_dir() || me().is_some_and(|(uid, _)| uid != meta.uid()) {
                return Err(HostError::Spool(format!(
                    "spool directory {} is not a directory owned by this user; remove it or set spool_dir",
                    self.dir.display()
                )));
            }
        }
        Ok(())
    }

    fn list_in(dir: &Path) -> Result<Vec<PathBuf>, HostError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(HostError::Spool(format!("could not list spool directory {}: {e}", dir.display()))),
        };
        let mut files: Vec<PathBuf> = entries.flatten().filter(is_entry).map(|e| e.path()).collect();
        // One folder: by the bytes of the whole path, which is by name (`Path`'s own
        // order walks the components of each pair, slow over thousands).
        files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        Ok(files)
    }

    /// The probe file of [`Spool::check_writable`] and [`Spool::check_removable`]: a dot
    /// file, which the drain ignores.
    fn probe_path(&self) -> PathBuf {
        self.dir.join(format!(".probe-{}", std::process::id()))
    }

    /// Open the probe file: truncated, not created anew, so a probe left by a killed
    /// run whose process id came back does not fail it.
    fn open_probe(probe: &Path) -> std::io::Result<File> {
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(probe)
    }

    /// Can a delivered entry be removed (a file made and removed in the spool folder)?
    /// One that cannot would be sent again by every run (docs/reliability.md finding 72).
    pub fn check_removable(&self) -> Result<(), HostError> {
        let probe = self.probe_path();
        match Spool::open_probe(&probe).and_then(|_| std::fs::remove_file(&probe)) {
            // A full disk, or no inode left, still lets an entry be removed.
            Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) => {
                Err(HostError::Spool(format!(
                    "entries cannot be removed from {} ({e}), so each would be sent again by every run; none is sent until this user may write the folder (chmod u+w, or chown it to the user sensu runs handlers as)",
                    self.dir.display()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether a live run could keep an event here: a 4 KiB file can be written in it (a
    /// probe, removed at once; the drain ignores dot files), or, while it does not
    /// exist, this user may create it. What `check-spool` reports as critical when not.
    pub fn check_writable(&self) -> Result<(), HostError> {
        if !self.dir.exists() && std::fs::symlink_metadata(&self.dir).is_ok() {
            return Err(HostError::Spool(format!(
                "the spool directory {} is a symlink to nothing; an event that cannot be delivered would be lost (exit 74): point it at a directory, or set spool_dir",
                self.dir.display()
            )));
        }
        if !self.dir.exists() {
            // Not made here (a check run by another user would make it theirs): the
            // first event kept makes it, if this user may.
            let parent = self.dir.ancestors().skip(1).find(|p| p.exists());
            // Permission bits do not show a read-only mount (or /proc): the first folder
            // that would be made is made and removed at once.
            let first = self.dir.ancestors().find(|p| p.parent() == parent);
            let makes = |first: &Path| std::fs::create_dir(first).and_then(|()| std::fs::remove_dir(first)).is_ok();
            return match parent {
                Some(parent) if writable(parent) && first.is_some_and(makes) => Ok(()),
                _ => Err(HostError::Spool(format!(
                    "the spool directory {} does not exist and this user cannot create it; an event that cannot be delivered would be lost (exit 74): create it writable by the user the handler runs as, or set spool_dir",
                    self.dir.display()
                ))),
            };
        }
        // As much as a small entry, so a full disk fails too (an empty file needs no
        // block).
        let probe = self.probe_path();
        let written = Spool::open_probe(&probe)
            .and_then(|mut file| file.write_all(&[b' '; 4096]).and_then(|()| file.sync_data()));
        let _ = std::fs::remove_file(&probe);
        written.map_err(|e| {
            HostError::Spool(format!(
                "cannot write to the spool directory {}: {e}; an event that cannot be delivered would be lost (exit 74): make it writable by the user the handler runs as (and give it room), or set spool_dir",
                self.dir.display()
            ))
        })
    }

    /// The spool's owner (user and group), when this process runs as root and the spool
    /// belongs to another user: what root makes there is given to them
    /// (`give_to_owner`), and `replay` refuses to run as root there.
    pub fn foreign_owner(&self) -> Option<(u32, u32)> {
        // Only root's: any other user owns what it makes (no look at the spool then).
        me().filter(|(uid, _)| *uid == 0)?;
        let meta = std::fs::metadata(&self.dir).ok()?;
        (meta.uid() != 0).then(|| (meta.uid(), meta.gid()))
    }

    /// Spooled entries, oldest first.
    pub fn list(&self) -> Result<Vec<PathBuf>, HostError> {
        Spool::list_in(&self.dir)
    }

    /// Dead-lettered entries, oldest first.
    pub fn list_dead(&self) -> Result<Vec<PathBuf>, HostError> {
        Spool::list_in(&self.dead_dir())
    }

    /// Read one entry.
    pub fn read(path: &Path) -> Result<Entry, String> {
        let text = std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| format!("{} is not a spool entry: {e}", path.display()))
    }

    /// Run as root in a spool another user owns (a handler started by hand, say): what
    /// root makes there (its lock, entries, the dead-letter folder) is given to that
    /// user, so the handler running as them is never shut out of its own spool.
    fn give_to_owner(&self, path: &Path) {
        if let Some((uid, gid)) = self.foreign_owner() {
            let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
        }
    }

    /// Write `entry` as `dir/name`: first to a dot file named by `kind` and `name`
    /// ([`Unfinished`]: what a run killed before the rename leaves), then renamed.
    fn write_atomically(&self, dir: &Path, name: &str, entry: &Entry, kind: Unfinished) -> Result<PathBuf, HostError> {
        let target = dir.join(name);
        let temp = dir.join(format!("{}{name}", kind.prefix()));
        let text = serde_json::to_vec_pretty(entry)
            .map_err(|e| HostError::Spool(format!("could not encode a spool entry: {e}")))?;
        let result = (|| -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            self.give_to_owner(&temp);
            std::fs::rename(&temp, &target)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            HostError::Spool(format!("could not write spool entry {}: {e}", target.display()))
        })?;
        Ok(target)
    }

    /// The name of a new entry for `key`: the run's first by when it started (see
    /// `opened_ns`), any later one (a run keeps one event; tests keep more) by now,
    /// after it; then the process and the key's digest ([`Spool::may_hold`]).
    fn fresh_name(&self, key: &str) -> String {
        static WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let later = WRITTEN.swap(true, std::sync::atomic::Ordering::Relaxed);
        let nanos = if later { now_ns() } else { self.opened_ns };
        format!("{nanos:020}-{:07}-{:016x}.json", std::process::id(), key_digest(key))
    }

    /// The owner of the entry at `path` when it is another user's and this one is not
    /// root: one this user may not mark as being sent, nor remove once delivered (in a
    /// sticky folder, as /tmp is), so every run would send it again, or never.
    pub fn others_entry(path: &Path) -> Option<u32> {
        let (me, _) = me().filter(|(uid, _)| *uid != 0)?;
        let owner = std::fs::symlink_metadata(path).ok()?.uid();
        (owner != me).then_some(owner)
    }

    /// Whether the entry at `path` may be `key`'s, by its name alone: its name carries
    /// the digest of its key, so a run finds its check's entries without reading every
    /// other's (a spool an outage filled holds thousands). A name without one (written
    /// by an earlier version) may hold any key; so may one whose digest matches, which
    /// only reading it settles.
    pub fn may_hold(path: &Path, key: &str) -> bool {
        let digest = path.file_stem().and_then(|n| n.to_str()).and_then(|n| n.splitn(3, '-').nth(2));
        digest.and_then(|d| u64::from_str_radix(d, 16).ok()).is_none_or(|d| d == key_digest(key))
    }

    /// `key`'s entries among `paths` (a listing of the spool or of its dead letters),
    /// read: found by name first ([`Spool::may_hold`]), so the other checks' entries are
    /// not read; one that cannot be read is passed over.
    pub fn of_key<'k>(paths: Vec<PathBuf>, key: &'k str) -> impl Iterator<Item = (PathBuf, Entry)> + 'k {
        paths.into_iter().filter(move |path| Spool::may_hold(path, key)).filter_map(move |path| {
            let entry = Spool::read(&path).ok().filter(|entry| entry.key == key)?;
            Some((path, entry))
        })
    }

    /// Add an entry to the spool.
    pub fn add(&self, entry: &Entry) -> Result<PathBuf, HostError> {
        self.ensure(&self.dir)?;
        self.write_atomically(&self.dir, &self.fresh_name(&entry.key), entry, Unfinished::New)
    }

    /// Add an entry straight to the dead-letter folder.
    pub fn add_dead(&self, entry: &Entry) -> Result<PathBuf, HostError> {
        let dead = self.dead_dir();
        self.ensure(&dead)?;
        self.write_atomically(&dead, &self.fresh_name(&entry.key), entry, Unfinished::New)
    }

    /// Rewrite an entry in place (same name, so its place in the order is kept).
    pub fn update(&self, path: &Path, entry: &Entry) -> Result<(), HostError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| HostError::Spool(format!("bad entry name {}", path.display())))?;
        self.write_atomically(&self.dir, name, entry, Unfinished::Update).map(|_| ())
    }

    /// Move an entry to the dead-letter folder.
    pub fn bury(&self, path: &Path) -> Result<PathBuf, HostError> {
        let dead = self.dead_dir();
        self.ensure(&dead)?;
        let target = dead.join(path.file_name().unwrap_or_default());
        std::fs::rename(path, &target)
            .map_err(|e| HostError::Spool(format!("could not move {} to {}: {e}", path.display(), dead.display())))?;
        Ok(target)
    }

    /// Move the dead-lettered entries `which` accepts back into the spool (`replay --dead`);
    /// how many moved, and how many stayed because `which` refused them or they cannot be read.
    pub fn revive(&self, which: impl Fn(&Entry) -> bool) -> Result<Revived, HostError> {
        let mut revived = Revived::default();
        for path in self.list_dead()? {
            match Spool::read(&path) {
                Ok(entry) if which(&entry) => {
                    let target = self.dir.join(path.file_name().unwrap_or_default());
                    // One that cannot be moved does not hold back the others.
                    match std::fs::rename(&path, &target) {
                        Ok(()) => revived.moved += 1,
                        Err(e) => {
                            revived.unmoved += 1;
                            revived.move_error.get_or_insert_with(|| format!("{}: {e}", path.display()));
                        }
                    }
                }
                Ok(_) => revived.refused += 1,
                Err(_) => revived.unreadable += 1,
            }
        }
        Ok(revived)
    }

    /// Remove a delivered or superseded entry.
    pub fn remove(path: &Path) -> Result<(), HostError> {
        match std::fs::remove_file(path) {
            // Retired by another run meanwhile (a later event of its check superseded it).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => {
                other.map_err(|e| HostError::Spool(format!("could not remove delivered entry {}: {e}", path.display())))
            }
        }
    }

    /// Take the drain lock without waiting; `None` when another run holds it.
    pub fn try_lock(&self) -> Result<Option<File>, HostError> {
        self.try_lock_file(&self.dir, ".lock")
    }

    /// Take the lock of one check (its incident key) without waiting; `None` when
    /// another run holds it. A run holds it while it delivers that check's event, so
    /// the check's next event (its recovery, say) waits instead of looking up before a
    /// create in flight lands. One empty file per key, in `.keys/` (named by a digest),
    /// there only while a run holds it: [`KeyLock`] removes it when let go.
    pub fn try_lock_key(&self, key: &str) -> Result<Option<KeyLock>, HostError> {
        let digest = key_digest(key);
        let dir = self.dir.join(".keys");
        let name = format!("{digest:016x}.lock");
        let path = dir.join(&name);
        // A lock taken on a file its holder removed as it let go (this run opened it
        // just before) locks nothing: only the file at the path counts, so open again.
        for _ in 0..3 {
            let Some(file) = self.try_lock_file(&dir, &name)? else { return Ok(None) };
            if same_file(&file, &path) {
                return Ok(Some(KeyLock { path, _file: file }));
            }
        }
        Ok(None)
    }

    /// A lock file's lock, without waiting. The file is made when it is not there (with
    /// its folder, when that is missing too); what root makes in another user's spool
    /// is handed to that user.
    fn try_lock_file(&self, dir: &Path, name: &str) -> Result<Option<File>, HostError> {
        let path = dir.join(name);
        if self.fallback_note.is_some() {
            // The shared temporary directory: its ownership is checked every time.
            self.ensure(dir)?;
        }
        let open = || OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path);
        let opened = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.ensure(dir)?;
                open()
            }
            other => other,
        };
        let file =
            opened.map_err(|e| HostError::Spool(format!("could not open spool lock {}: {e}", path.display())))?;
        self.give_to_owner(&path);
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(HostError::Spool(format!("could not lock {}: {e}", path.display())))
            }
        }
    }
}

/// A check's name on disk: FNV-1a of its incident key, stable across builds and
/// versions (std's hashers promise neither).
pub fn key_digest(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Whether `path` is a spool entry: a `.json` file whose name is not a dot file (a
/// lock, a probe, a write not finished yet).
/// A spooled entry: a regular file named `*.json`, not a dot file. Its type comes from
/// the listing itself: no `stat` per entry (a spool an outage filled holds thousands,
/// and every run lists it).
fn is_entry(entry: &std::fs::DirEntry) -> bool {
    let path = entry.path();
    path.extension().is_some_and(|x| x == "json")
        && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.'))
        && entry.file_type().is_ok_and(|t| t.is_file())
}

/// Whether `file` (open) is the file at `path` now.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// A check's lock (see [`Spool::try_lock_key`]): held while this lives. Its file is
/// removed as it is let go, while still held, so `.keys/` keeps no file per check
/// ever seen; a run killed while holding one leaves it for the check's next run,
/// which removes it in turn.
#[derive(Debug)]
pub struct KeyLock {
    path: PathBuf,
    /// Closed after the file is removed (fields drop after `drop`): the lock is let go last.
    _file: File,
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[path = "spool_unfinished.rs"]
mod unfinished;
pub use unfinished::{TakenIn, UNFINISHED_AFTER, Unfinished};

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
