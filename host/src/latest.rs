//! The newest result of each check that a run acted on, a failure and a recovery
//! apart: what tells a run that waited for its check's lock (or an entry kept
//! meanwhile) that a result of the other kind which reached the handler after it has
//! been delivered since, so it is stale. One small file per check in the spool's
//! `.latest/`, named by a digest of its key, written under the check's lock; files
//! not written for a day go.
//!
//! Results of one check are ordered by when they reached the handler (its clock, in
//! nanoseconds, as each run started): the order Sensu handed them over in. Runs
//! waiting for one check's lock take it in no set order; that is what is undone. Not
//! `check.executed`: the clocks of the monitored hosts (round-robin and proxy checks
//! run on several) may be off by more than a check's interval, and ordering by them
//! dropped recoveries and alerts that came in their right order.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::spool::{Spool, key_digest};

/// How long a record is kept after it was last written. A stale result comes from a
/// run that was waiting when the later one was delivered, or from the spool's
/// backlog behind it: both are settled within minutes, unless Reactio stays down.
const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// When a result reached the handler: epoch nanoseconds, as its run started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Arrival(pub u64);

impl Arrival {
    /// Now.
    pub fn now() -> Arrival {
        Arrival::since(Instant::now())
    }

    /// When the run that started at `start` started.
    pub fn since(start: Instant) -> Arrival {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Arrival(now.saturating_sub(u64::try_from(start.elapsed().as_nanos()).unwrap_or(0)))
    }

    /// Epoch seconds.
    pub fn secs(self) -> i64 {
        i64::try_from(self.0 / 1_000_000_000).unwrap_or(i64::MAX)
    }
}

/// A check's record.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// The incident key (a digest names the file; two keys could share one).
    key: String,
    /// When the newest failure acted on arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Arrival>,
    /// When the newest recovery acted on arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery: Option<Arrival>,
    /// When it was written, by the wall clock and by the clock since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    written: Option<Clocks>,
    /// [`Record::digest`] of the fields above, as written (none in records of versions
    /// that replaced every record as a new file: those are never written over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum: Option<u64>,
}

impl Record {
    /// A digest of the record's fields. A run that could not take the check's lock
    /// reads the record without it, and so may read it while [`rewrite`] writes over
    /// it: bytes of both records, which could still be JSON. The digest tells.
    fn digest(&self) -> u64 {
        // Numbers in decimal, `-` for none (not `Debug`, whose text Rust does not promise).
        let text = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let (wall, boot) = (self.written.map(|w| w.wall), self.written.map(|w| w.boot));
        let (failure, recovery) = (self.failure.map(|a| a.0), self.recovery.map(|a| a.0));
        key_digest(&format!("{}\n{}\n{}\n{}\n{}", self.key, text(failure), text(recovery), text(wall), text(boot)))
    }
}

/// The wall clock and the clock since boot (which no one sets), nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Clocks {
    wall: u64,
    boot: u64,
}

/// How far the wall clock may have moved apart from the clock since boot before a
/// record written then is not believed: the wall clock was stepped since (or the host
/// rebooted), and the record's times are not this clock's. NTP's slewing moves it by
/// at most 0.5 ms a second.
const MAX_STEP: Duration = Duration::from_secs(2);

impl Clocks {
    fn now() -> Clocks {
        let boot = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        let boot = u64::try_from(boot.tv_sec).unwrap_or(0).saturating_mul(1_000_000_000)
            + u64::try_from(boot.tv_nsec).unwrap_or(0);
        Clocks { wall: Arrival::now().0, boot }
    }

    /// Whether the wall clock was stepped (or the host rebooted) since `self`.
    fn stepped_since(self, now: Clocks) -> bool {
        let (wall, boot) = (i128::from(now.wall) - i128::from(self.wall), i128::from(now.boot) - i128::from(self.boot));
        boot < 0 || (wall - boot).unsigned_abs() > MAX_STEP.as_nanos()
    }
}

fn dir(spool: &Spool) -> PathBuf {
    spool.dir().join(".latest")
}

/// A check's record: not `.json`, so that nothing looking for spool entries by their
/// name takes it for one.
fn path(spool: &Spool, key: &str) -> PathBuf {
    dir(spool).join(format!("{:016x}.rec", key_digest(key)))
}

/// The largest record read (one is ~100 bytes): a bigger one is not a record.
const MAX_RECORD_BYTES: u64 = 4096;

/// A check's record, if one that is its own can be read. Only a regular file is
/// opened: a fifo or a device there would hold the run past its deadline.
fn read(spool: &Spool, key: &str) -> Option<Record> {
    let text = crate::settings::read_regular_at_most(&path(spool, key), MAX_RECORD_BYTES).ok()?;
    let record = serde_json::from_slice::<Record>(&text).ok().filter(|r| r.key == key)?;
    if record.sum.is_some_and(|sum| sum != record.digest()) {
        return None; // Read while written over: as if not there yet.
    }
    // Written before a step of the wall clock: its times are not this clock's. A
    // result kept while the clock ran ahead would otherwise make every result of the
    // other kind that waits look older than it once the clock has caught up.
    (!record.written.is_some_and(|w| w.stepped_since(Clocks::now()))).then_some(record)
}

/// A result of the other kind, delivered, that came in after the one asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Later {
    /// `recovery` or `failure`.
    pub what: &'static str,
    /// How long after the one asked about it came in.
    pub after: Duration,
}

/// What delivered since makes a result of `key` stale (`recovery`, `failure`: its
/// kind; `arrived`: when it came): a recovery that came after a failure, a failure
/// after a recovery. `None`: it is not stale (a passing result never is). A record
/// from the future by this host's clock, or written before the clock was stepped, is
/// not believed: every result would look older than it until the clock caught up.
pub fn stale(spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) -> Option<Later> {
    if !recovery && !failure {
        return None;
    }
    let record = read(spool, key)?;
    let (later, what) = if failure { (record.recovery, "recovery") } else { (record.failure, "failure") };
    let later = later.filter(|later| *later <= Arrival::now())?;
    let after = Duration::from_nanos(later.0.checked_sub(arrived.0)?);
    (!after.is_zero()).then_some(Later { what, after })
}

/// Note that a result of `key` (a `recovery`, a `failure`, or neither) that came at
/// `arrived` was acted on. What went wrong, if it could not be noted: the results
/// this one overtook are then not known to be stale.
pub fn note(spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) -> std::io::Result<()> {
    if !recovery && !failure {
        return Ok(());
    }
    let existing = read(spool, key);
    let fresh = existing.is_none();
    let summed = existing.as_ref().is_some_and(|r| r.sum.is_some());
    let mut record = existing.unwrap_or_else(|| Record { key: key.to_owned(), ..Record::default() });
    let slot = if failure { &mut record.failure } else { &mut record.recovery };
    if slot.is_some_and(|kept| kept >= arrived) {
        return Ok(());
    }
    *slot = Some(arrived);
    record.written = Some(Clocks::now());
    record.sum = Some(record.digest());
    let text = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
    let target = path(spool, key);
    if summed && rewrite(&target, &text) {
        return Ok(());
    }
    let dir = dir(spool);
    spool.ensure_folder(&dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    let temp = dir.join(format!(".tmp-{}-{:016x}", std::process::id(), key_digest(key)));
    // No fsync: a record matters for the minutes around a delivery, not across a crash.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&text))
        .and_then(|()| {
            spool.hand_over(&temp);
            // The old record goes first: ext4 flushes a file renamed over another
            // (0.13 ms here, most of what noting cost a run); renamed to a free name it
            // does not (0.03 ms). Between the two, a reader finds no record: as if
            // nothing were noted, so nothing is dropped (the drain, under the check's
            // lock, as the writer is, never sees that moment).
            match std::fs::remove_file(&target) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => std::fs::rename(&temp, &target),
            }
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        // The kind and the OS error stay: the warning's advice depends on them (a full
        // disk, or no descriptor left, is no matter of permissions).
        return Err(std::io::Error::new(e.kind(), WriteError { path: target.display().to_string(), cause: e }));
    }
    if fresh {
        prune(&dir);
    }
    Ok(())
}

/// Write `text` over the check's record where it stands: one write, no file made or
/// removed (making the new record beside it and renaming it over cost a run ~60 µs
/// more, most of it ext4 making one inode and freeing another; docs/performance-history.md). Padded
/// with spaces, which JSON allows after its value, to the old record's length, so none
/// of the old bytes are left to read. Only a regular file with no other name, the one
/// looked at, is written (not a symlink's or a hard link's target: a root run writes in
/// another user's spool); `false` when it is not, or the write failed, and the caller
/// replaces the record as a new one. Only records with a [`Record::digest`] are written
/// over, so a read that met the write finds a record that does not match its digest
/// (or no JSON): as if none were noted yet, as a read between removing the old record
/// and renaming the new one did. A run killed in it leaves the old bytes or the new
/// ones (one write of a few hundred bytes into one page); a crash may tear the record.
fn rewrite(target: &std::path::Path, text: &[u8]) -> bool {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let opened = crate::settings::open_regular_as_seen(target, std::fs::OpenOptions::new().write(true));
    let Some((file, opened)) = opened else { return false };
    if opened.nlink() != 1 || opened.len() > MAX_RECORD_BYTES {
        return false;
    }
    let mut bytes = text.to_vec();
    bytes.resize(bytes.len().max(usize::try_from(opened.len()).unwrap_or(usize::MAX)), b' ');
    file.write_all_at(&bytes, 0).is_ok()
}

/// A record not written, said with its path; the OS error stays inside, for the advice.
#[derive(Debug)]
struct WriteError {
    path: String,
    cause: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not write {}: {}", self.path, self.cause)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// What to do when a record could not be written, by why: a full disk (or no inode
/// left, or a quota), or no file descriptor left, is no matter of permissions.
pub fn fix_for(spool: &Spool, error: &std::io::Error) -> String {
    let records = dir(spool);
    match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            format!("free space (or inodes) on the disk that holds {}", records.display())
        }
        _ => match crate::error::out_of_files_fix(error) {
            Some(fix) => fix.to_owned(),
            None => format!("make {} a directory this user can write", records.display()),
        },
    }
}

/// What keeps the records from being kept, in words (`check-spool` warns of it): the
/// folder is not a directory, or this user cannot write in it. `None`: no problem,
/// or no folder yet (the first record makes it).
pub fn problem(spool: &Spool) -> Option<String> {
    let dir = dir(spool);
    std::fs::symlink_metadata(&dir).ok()?;
    let why = match std::fs::metadata(&dir) {
        Err(e) => format!("cannot be used ({e})"),
        Ok(meta) if !meta.is_dir() => "is not a directory".to_owned(),
        Ok(_) => {
            let probe = dir.join(format!(".probe-{}", std::process::id()));
            let written = std::fs::write(&probe, b"");
            let _ = std::fs::remove_file(&probe);
            written.err().map(|e| format!("cannot be written ({e})"))?
        }
    };
    Some(format!(
        "{} {why}: a check's result that waits for its turn could be sent after a later one of the other kind (an alert after its recovery); remove it, or make it a directory the handler's user can write",
        dir.display()
    ))
}

/// Remove the records not written for [`KEEP_FOR`]: when a record is first made, at
/// most once an hour (a marker file's time says when it last ran), so keys that churn
/// (short-lived entities) do not pile up and a run does not look at every check's
/// record each time a new check comes.
fn prune(dir: &std::path::Path) {
    let marker = dir.join(".pruned");
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(60 * 60));
    if recent || std::fs::write(&marker, b"").is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok());
        if old.is_some_and(|age| age > KEEP_FOR) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dir_of(spool: &Spool) -> PathBuf {
        dir(spool)
    }

    fn at(s: u64) -> Arrival {
        Arrival(s * 1_000_000_000)
    }

    /// An empty spool of this test process, in a folder named after `test`.
    fn fresh_spool(test: &str) -> (PathBuf, Spool) {
        let dir = std::env::temp_dir().join(format!("sensu-reactio-latest-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::at(&dir);
        (dir, spool)
    }

    #[test]
    fn a_record_not_written_on_a_full_disk_or_without_descriptors_is_not_said_as_permissions() {
        let (_dir, spool) = fresh_spool("fix");
        for full in [std::io::ErrorKind::StorageFull, std::io::ErrorKind::QuotaExceeded] {
            let fix = fix_for(&spool, &std::io::Error::from(full));
            assert!(fix.starts_with("free space") && !fix.contains("can write"), "{fix}");
        }
        for emfile in [23, 24] {
            let fix = fix_for(&spool, &std::io::Error::from_raw_os_error(emfile));
            assert!(fix.contains("open-file limit") && !fix.contains("can write"), "{fix}");
            // As `note` returns it: said with its path.
            let cause = std::io::Error::from_raw_os_error(emfile);
            let said = std::io::Error::new(cause.kind(), WriteError { path: "x.rec".into(), cause });
            assert!(said.to_string().starts_with("could not write x.rec: "), "{said}");
            let fix = fix_for(&spool, &said);
            assert!(fix.contains("open-file limit") && !fix.contains("can write"), "{fix}");
        }
        let fix = fix_for(&spool, &std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(fix.contains("a directory this user can write"), "{fix}");
    }

    #[test]
    fn a_run_arrives_when_it_started() {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let (started, now) = (Arrival::since(start), Arrival::now());
        assert!(now.0 - started.0 >= 20_000_000, "{started:?} {now:?}");
    }

    #[test]
    fn a_result_is_stale_only_behind_a_later_one_of_the_other_kind() {
        let (dir, spool) = fresh_spool("stale");
        let now = 1_700_000_000;
        let (key, other) = ("web01/check_http", "db01/check_disk");
        let what = |later: Option<Later>| later.map(|l| (l.what, l.after.as_secs()));
        assert_eq!(stale(&spool, key, false, true, at(now)), None, "no record yet");
        note(&spool, key, true, false, at(now + 5)).unwrap();
        let before = stale(&spool, key, false, true, at(now));
        assert_eq!(what(before), Some(("recovery", 5)), "a failure from before");
        assert_eq!(stale(&spool, key, false, true, at(now + 6)), None, "a failure from after");
        assert_eq!(stale(&spool, key, true, false, at(now)), None, "a recovery is not stale behind one");
        assert_eq!(stale(&spool, key, false, false, at(now)), None, "a passing result never is");
        assert_eq!(stale(&spool, other, false, true, at(now)), None, "another check's");
        // Long before: still older.
        assert_eq!(what(stale(&spool, key, false, true, at(now - 120))), Some(("recovery", 125)));
        // An older recovery noted late does not move the record back.
        note(&spool, key, true, false, at(now + 1)).unwrap();
        assert_eq!(what(stale(&spool, key, false, true, at(now + 3))), Some(("recovery", 2)));
        note(&spool, key, false, true, at(now + 7)).unwrap();
        assert_eq!(what(stale(&spool, key, true, false, at(now + 6))), Some(("failure", 1)));
        // A record from the future (the clock was stepped back since): not believed.
        let ahead = Arrival::now().0 / 1_000_000_000 + 9 * 3600;
        note(&spool, other, true, false, at(ahead)).unwrap();
        assert_eq!(stale(&spool, other, false, true, Arrival::now()), None);
        // Written while the wall clock ran 20 s ahead of now, stepped back since: not
        // believed once the clock has passed it either.
        let now_clocks = Clocks::now();
        let skewed = Clocks { wall: now_clocks.wall + 20_000_000_000, boot: now_clocks.boot };
        let record = Record { key: other.into(), failure: Some(at(now)), written: Some(skewed), ..Record::default() };
        std::fs::write(path(&spool, other), serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(stale(&spool, other, true, false, at(now - 1)), None, "a clock step since");
        let record = Record { written: Some(now_clocks), ..record };
        std::fs::write(path(&spool, other), serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(what(stale(&spool, other, true, false, at(now - 1))), Some(("failure", 1)), "no step");
        // A file of another key under this key's name (a digest collision) is not its.
        std::fs::write(path(&spool, other), br#"{"key":"x","recovery":9999999999999999999}"#).unwrap();
        assert_eq!(stale(&spool, other, false, true, at(now)), None);
        // Not a regular file (a fifo would block the read): no record.
        std::fs::remove_file(path(&spool, other)).unwrap();
        std::fs::create_dir(path(&spool, other)).unwrap();
        assert_eq!(stale(&spool, other, false, true, at(now)), None);
        assert!(note(&spool, other, true, false, at(now)).unwrap_err().to_string().contains("could not write"));
        // A fifo in a record's place is not opened (the read would wait for a writer).
        std::fs::remove_dir(path(&spool, other)).unwrap();
        let made = std::process::Command::new("mkfifo").arg(path(&spool, other)).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(stale(&spool, other, false, true, at(now)), None);
        }
        // The folder in a state no record can be kept in is a problem to report.
        assert_eq!(problem(&spool), None);
        std::fs::remove_dir_all(dir_of(&spool)).unwrap();
        std::fs::write(dir_of(&spool), b"").unwrap();
        assert!(problem(&spool).unwrap().contains(".latest is not a directory"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_record_is_rewritten_where_it_stands_and_only_there() {
        use std::os::unix::fs::MetadataExt;
        let (dir, spool) = fresh_spool("rewrite");
        let now = 1_700_000_000;
        let key = "web01/check_http";
        let record = path(&spool, key);
        let inode = || std::fs::symlink_metadata(&record).unwrap().ino();
        let later = |arrived| stale(&spool, key, false, true, at(arrived)).map(|l| (l.what, l.after.as_secs()));
        note(&spool, key, false, true, at(now)).unwrap();
        let first = inode();
        note(&spool, key, true, false, at(now + 5)).unwrap();
        assert_eq!(inode(), first, "the same file, written over");
        assert_eq!(later(now), Some(("recovery", 5)));
        // A longer old record: the new one is padded over all of it.
        let wide = serde_json::to_string_pretty(&read(&spool, key).unwrap()).unwrap().replace("  ", "          ");
        std::fs::write(&record, &wide).unwrap();
        note(&spool, key, true, false, at(now + 9)).unwrap();
        let bytes = std::fs::read(&record).unwrap();
        assert_eq!((inode(), bytes.len()), (first, wide.len()));
        let end = bytes.iter().rposition(|b| *b != b' ').unwrap();
        assert_eq!(bytes.get(end), Some(&b'}'), "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(later(now), Some(("recovery", 9)));
        // The digest's text is fixed: records written by one build are read by the next.
        let pinned = Record { key: "k".into(), failure: Some(Arrival(7)), ..Record::default() };
        assert_eq!(pinned.digest(), key_digest("k\n7\n-\n-\n-"));
        // A record that does not match its digest (read while written over) is none yet.
        let mut mixed = read(&spool, key).unwrap();
        mixed.recovery = Some(at(now + 1));
        std::fs::write(&record, serde_json::to_vec(&mixed).unwrap()).unwrap();
        assert_eq!(later(now), None, "bytes of two records");
        // One from before records had digests is read, and replaced rather than written over.
        mixed.sum = None;
        std::fs::write(&record, serde_json::to_vec(&mixed).unwrap()).unwrap();
        let (old, unsummed) = (inode(), read(&spool, key).map(|r| r.recovery));
        assert_eq!(unsummed, Some(Some(at(now + 1))));
        note(&spool, key, true, false, at(now + 10)).unwrap();
        assert_ne!(inode(), old, "replaced");
        assert_eq!(later(now), Some(("recovery", 10)));
        // Not through a symlink or into a file with another name: the record is replaced.
        for (link, arrived) in [("symlink", now + 20), ("hard link", now + 30)] {
            let victim = dir.join(format!("victim-{}", link.len()));
            std::fs::copy(&record, &victim).unwrap();
            std::fs::remove_file(&record).unwrap();
            if link == "symlink" {
                std::os::unix::fs::symlink(&victim, &record).unwrap();
            } else {
                std::fs::hard_link(&victim, &record).unwrap();
            }
            let before = std::fs::read(&victim).unwrap();
            assert!(read(&spool, key).is_some(), "{link}: read as the record");
            note(&spool, key, true, false, at(arrived)).unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), before, "{link}: its target is not written");
            let meta = std::fs::symlink_metadata(&record).unwrap();
            assert!(meta.file_type().is_file() && meta.nlink() == 1, "{link}: replaced by a record of its own");
            assert_eq!(later(now), Some(("recovery", arrived - now)), "{link}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
