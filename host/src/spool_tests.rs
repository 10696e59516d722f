//! Tests of the spool directory and its entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

/// A fresh scratch directory, removed when dropped.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("reactio-spool-{name}-")).tempdir().unwrap()
}

fn entry(key: &str) -> Entry {
    Entry {
        version: 1,
        event: "{}".into(),
        key: key.into(),
        recovery: false,
        passing: false,
        received_at: 1,
        received_ns: None,
        attempts: 0,
        last_error: None,
        route: None,
        team: None,
        handler_failures: 0,
        unconfirmed_create_ms: None,
        notified_incident: None,
        cut_short: false,
        last_attempt_at: None,
        settings: None,
    }
}

#[test]
fn entries_sort_oldest_first_and_round_trip() {
    let scratch_dir = scratch("order");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let a = spool.add(&entry("a")).unwrap();
    let b = spool.add(&entry("b")).unwrap();
    let c = spool.add(&entry("c")).unwrap();
    assert_eq!(spool.list().unwrap(), vec![a.clone(), b, c]);
    assert_eq!(Spool::read(&a).unwrap(), entry("a"));
    let mode = std::fs::metadata(&a).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn an_entry_is_found_by_its_keys_name_and_an_older_name_may_hold_any_key() {
    let scratch_dir = scratch("names");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let web = spool.add(&entry("web01/check_http")).unwrap();
    let dead = spool.add_dead(&entry("db01/disk")).unwrap();
    assert!(Spool::may_hold(&web, "web01/check_http"));
    assert!(!Spool::may_hold(&web, "web01/check_http2"), "{}", web.display());
    assert!(Spool::may_hold(&dead, "db01/disk") && !Spool::may_hold(&dead, "web01/check_http"));
    // Named as before this version: time and process only.
    let old = spool.dir().join("01764000000000000000-0001234.json");
    std::fs::copy(&web, &old).unwrap();
    assert!(Spool::may_hold(&old, "web01/check_http") && Spool::may_hold(&old, "db01/disk"));
    assert_eq!(spool.list().unwrap(), vec![old, web]);
}

#[test]
fn bury_update_revive_and_remove() {
    let scratch_dir = scratch("bury");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let a = spool.add(&entry("a")).unwrap();
    let b = spool.add(&entry("b")).unwrap();
    let mut updated = entry("b");
    updated.attempts = 3;
    spool.update(&b, &updated).unwrap();
    assert_eq!(Spool::read(&b).unwrap().attempts, 3);
    let dead = spool.bury(&a).unwrap();
    assert_eq!(spool.list().unwrap(), vec![b.clone()]);
    assert_eq!(spool.list_dead().unwrap(), vec![dead]);
    let c = spool.bury(&spool.add(&entry("c")).unwrap()).unwrap();
    std::fs::write(spool.dead_dir().join("junk.json"), "not an entry").unwrap();
    let revived = spool.revive(|e| e.key != "c").unwrap();
    assert_eq!(revived, Revived { moved: 1, refused: 1, unreadable: 1, ..Revived::default() });
    assert_eq!(revived.left(), 2);
    assert_eq!(spool.list().unwrap().len(), 2);
    assert!(c.is_file(), "the refused entry stays dead-lettered");
    Spool::remove(&b).unwrap();
    assert_eq!(spool.list().unwrap(), vec![a]);
}

#[test]
fn missing_directory_is_an_empty_spool() {
    let scratch_dir = scratch("missing");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    assert!(spool.list().unwrap().is_empty());
    assert!(spool.list_dead().unwrap().is_empty());
}

#[test]
fn lock_is_exclusive() {
    let scratch_dir = scratch("lock");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let held = spool.try_lock().unwrap();
    assert!(held.is_some());
    assert!(spool.try_lock().unwrap().is_none());
    drop(held);
    assert!(spool.try_lock().unwrap().is_some());
}

#[test]
fn a_checks_lock_is_exclusive_and_apart_from_the_others() {
    let scratch_dir = scratch("key-lock");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let held = spool.try_lock_key("web01/check_http").unwrap();
    assert!(held.is_some());
    assert!(spool.try_lock_key("web01/check_http").unwrap().is_none());
    assert!(spool.try_lock_key("web01/check_disk").unwrap().is_some(), "another check's lock is its own");
    assert!(spool.try_lock().unwrap().is_some(), "and so is the spool's");
    drop(held);
    assert!(spool.try_lock_key("web01/check_http").unwrap().is_some());
    assert!(spool.list().unwrap().is_empty(), "lock files are not entries");
}

#[test]
fn a_checks_lock_file_is_there_only_while_held() {
    let scratch_dir = scratch("key-lock-file");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let keys = spool.dir().join(".keys");
    let files = || std::fs::read_dir(&keys).unwrap().count();
    let held = spool.try_lock_key("web01/check_http").unwrap().unwrap();
    assert_eq!(files(), 1);
    drop(held);
    assert_eq!(files(), 0, "a lock let go leaves no file behind");

    // A run that opened the file just before its holder removed it and let go locks
    // a file no longer at the path: that is no lock, and the run takes the new file's.
    let held = spool.try_lock_key("web01/check_http").unwrap().unwrap();
    let path = std::fs::read_dir(&keys).unwrap().next().unwrap().unwrap().path();
    let stale = File::open(&path).unwrap();
    drop(held);
    assert!(stale.try_lock().is_ok(), "the removed file's lock is free");
    assert!(!same_file(&stale, &path));
    let again = spool.try_lock_key("web01/check_http").unwrap();
    assert!(again.is_some(), "the lock is the file at the path, not the removed one");
    assert!(spool.try_lock_key("web01/check_http").unwrap().is_none(), "and it is exclusive");

    // A lock file left by a killed run is taken, and removed when let go.
    drop(again);
    std::fs::write(&path, "").unwrap();
    drop(spool.try_lock_key("web01/check_http").unwrap().unwrap());
    assert_eq!(files(), 0);
}

#[test]
fn a_checks_lock_stays_exclusive_while_its_file_comes_and_goes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Each `open` is its own open file description, so threads contend as runs do.
    let scratch_dir = scratch("key-lock-race");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let holders = AtomicUsize::new(0);
    let taken = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..2_000 {
                    if let Some(lock) = spool.try_lock_key("web01/check_http").unwrap() {
                        assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders of one check's lock");
                        taken.fetch_add(1, Ordering::SeqCst);
                        std::thread::yield_now();
                        holders.fetch_sub(1, Ordering::SeqCst);
                        drop(lock);
                    }
                }
            });
        }
    });
    assert!(taken.load(Ordering::SeqCst) > 0);
    assert_eq!(std::fs::read_dir(spool.dir().join(".keys")).unwrap().count(), 0);
}

#[test]
fn location_order_and_no_relative_dirs() {
    let env = EnvVars::from_pairs([("STATE_DIRECTORY", "/var/lib/x:/var/lib/y")]);
    assert_eq!(Spool::locate(Some("/s"), &env, Path::new("/nope")).unwrap().dir(), Path::new("/s"));
    // Relative: where no `spool_dir` would put it, and a note saying so.
    let relative = Spool::locate(Some("spool"), &env, Path::new("/nope")).unwrap();
    assert_eq!(relative.dir(), Path::new("/var/lib/x"));
    assert!(relative.notes().any(|n| n.contains("must be an absolute path") && n.contains("/var/lib/x")));
    assert_eq!(Spool::locate(None, &env, Path::new("/nope")).unwrap().dir(), Path::new("/var/lib/x"));
    let scratch_dir = scratch("sys");
    let writable_root = scratch_dir.path();
    let system = writable_root.join("sensu-reactio");
    let chosen = Spool::locate(None, &EnvVars::default(), &system).unwrap();
    assert_eq!(chosen.dir(), system);
    assert!(chosen.fallback_note.is_none());
    let chosen = Spool::locate(None, &EnvVars::default(), Path::new("/proc/none/sensu-reactio")).unwrap();
    assert!(chosen.dir().is_absolute());
    assert!(chosen.fallback_note.unwrap().contains("not writable"));
    // TMPDIR when absolute; a relative one (under whatever folder the run started in,
    // where `replay` from elsewhere would not look) is not taken.
    for (tmpdir, parent) in [("/var/tmp", "/var/tmp"), ("tmp", "/tmp"), ("./x", "/tmp")] {
        let env = EnvVars::from_pairs([("TMPDIR", tmpdir)]);
        let chosen = Spool::locate(None, &env, Path::new("/proc/none/sensu-reactio")).unwrap();
        assert_eq!(chosen.dir().parent(), Some(Path::new(parent)), "TMPDIR={tmpdir}");
    }
}

#[test]
fn check_writable_probes_without_leaving_anything_and_makes_no_directory() {
    let scratch_dir = scratch("writable");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    spool.check_writable().unwrap();
    assert!(!spool.dir().exists(), "a missing spool is not made by the check");
    std::fs::create_dir(spool.dir()).unwrap();
    spool.check_writable().unwrap();
    assert_eq!(std::fs::read_dir(spool.dir()).unwrap().count(), 0, "the probe is removed");
    assert!(Spool::at("/proc/self/fdinfo").check_writable().is_err());
    let dangling = scratch_dir.path().join("dangling");
    std::os::unix::fs::symlink(scratch_dir.path().join("nowhere"), &dangling).unwrap();
    assert!(Spool::at(&dangling).check_writable().unwrap_err().to_string().contains("a symlink to nothing"));
}

#[test]
fn root_sees_a_spool_owned_by_another_user_as_foreign() {
    let scratch_dir = scratch("foreign");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    std::fs::create_dir(spool.dir()).unwrap();
    if me().is_none_or(|(uid, _)| uid != 0) {
        // Only root can give a directory away; as anyone else it is never foreign.
        assert_eq!(spool.foreign_owner(), None);
        return;
    }
    assert_eq!(spool.foreign_owner(), None, "root's own spool");
    std::os::unix::fs::chown(spool.dir(), Some(65534), Some(65534)).unwrap();
    assert_eq!(spool.foreign_owner(), Some((65534, 65534)));
    // What root makes there is that user's, so their handler is never shut out.
    let entry_path = spool.add(&entry("a")).unwrap();
    let lock = spool.try_lock().unwrap();
    let dead = spool.add_dead(&entry("b")).unwrap();
    drop(lock);
    for path in [entry_path, spool.dir().join(".lock"), spool.dead_dir(), dead] {
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), 65534, "{} is the spool owner's", path.display());
    }
}

/// Leave `entry` as a killed run's unfinished write of `name` (`prefix`: `.new-` or
/// `.tmp-`), `age_s` seconds old; the dot file.
fn unfinished(dir: &Path, prefix: &str, name: &str, text: &[u8], age_s: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{prefix}{name}"));
    std::fs::write(&path, text).unwrap();
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age_s);
    File::options().write(true).open(&path).unwrap().set_modified(then).unwrap();
    path
}

#[test]
fn writes_killed_runs_left_unfinished_are_taken_in() {
    let scratch_dir = scratch("unfinished");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    let whole = serde_json::to_vec(&entry("a")).unwrap();
    let old = UNFINISHED_AFTER.as_secs() + 5;
    // A new entry's write, whole: its event is in no other file.
    unfinished(spool.dir(), ".new-", "01-1.json", &whole, old);
    // The same in the dead-letter folder.
    unfinished(&spool.dead_dir(), ".new-", "02-1.json", &whole, old);
    // A new entry cut short: left for a person, and named.
    let cut = unfinished(spool.dir(), ".new-", "03-1.json", &whole[..10], old);
    // A write that may still be going on: not touched.
    let young = unfinished(spool.dir(), ".new-", "04-1.json", &whole, 1);
    // An update of an entry delivered since: it goes.
    let stale_update = unfinished(spool.dir(), ".tmp-", "05-1.json", &whole, old);
    // An update of an entry still there: it replaces it.
    let kept = spool.dir().join("06-1.json");
    std::fs::write(&kept, serde_json::to_vec(&entry("b")).unwrap()).unwrap();
    let mut newer = entry("b");
    newer.attempts = 4;
    unfinished(spool.dir(), ".tmp-", "06-1.json", &serde_json::to_vec(&newer).unwrap(), old);
    assert_eq!(spool.unfinished().len(), 5, "{:?}", spool.unfinished());
    let taken = spool.take_in_unfinished();
    assert_eq!(taken, TakenIn { entries: 2, updates: 1, dropped: 1, left: 0, broken: 1 });
    assert_eq!(spool.list().unwrap(), vec![spool.dir().join("01-1.json"), kept.clone()]);
    assert_eq!(Spool::read(&kept).unwrap().attempts, 4);
    assert_eq!(spool.list_dead().unwrap(), vec![spool.dead_dir().join("02-1.json")]);
    assert!(cut.is_file() && young.is_file() && !stale_update.exists());
    assert_eq!(spool.unfinished(), vec![(cut, Unfinished::New)]);
}

#[test]
fn a_new_entry_is_written_under_its_own_unfinished_name() {
    // What `take_in_unfinished` tells apart: a new entry's write from an update's.
    let scratch_dir = scratch("unfinished-names");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    // A directory where the new entry's dot file would go makes the write fail there.
    let name = spool.fresh_name("a");
    std::fs::create_dir_all(spool.dir().join(format!(".new-{name}"))).unwrap();
    let written = spool.write_atomically(spool.dir(), &name, &entry("a"), Unfinished::New);
    assert!(written.is_err(), "{written:?}");
    std::fs::create_dir_all(spool.dir().join(format!(".tmp-{name}"))).unwrap();
    std::fs::remove_dir(spool.dir().join(format!(".new-{name}"))).unwrap();
    assert!(spool.write_atomically(spool.dir(), &name, &entry("a"), Unfinished::New).is_ok());
    assert!(spool.update(&spool.dir().join(&name), &entry("a")).is_err());
}

#[test]
fn a_spool_waits_with_an_entry_or_an_old_unfinished_write_only() {
    let scratch_dir = scratch("waits");
    let spool = Spool::at(scratch_dir.path().join("spool"));
    assert!(!spool.waits(), "no folder yet");
    for folder in [".keys", ".latest", "dead"] {
        std::fs::create_dir_all(spool.dir().join(folder)).unwrap();
    }
    let whole = serde_json::to_vec(&entry("a")).unwrap();
    let young = unfinished(spool.dir(), ".new-", "01-1.json", &whole, 1);
    assert!(!spool.waits(), "locks, records, an empty dead-letter folder and a write going on");
    std::fs::remove_file(young).unwrap();
    let old = unfinished(&spool.dead_dir(), ".new-", "02-1.json", &whole, UNFINISHED_AFTER.as_secs() + 5);
    assert!(spool.waits(), "an old unfinished write");
    std::fs::remove_file(old).unwrap();
    spool.add(&entry("b")).unwrap();
    assert!(spool.waits(), "an entry");
}
