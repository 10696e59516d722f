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
}

fn dir(spool: &Spool) -> PathBuf {
    spool.dir().join(".latest")
}

fn path(spool: &Spool, key: &str) -> PathBuf {
    dir(spool).join(format!("{:016x}.json", key_digest(key)))
}

fn read(spool: &Spool, key: &str) -> Option<Record> {
    let text = std::fs::read(path(spool, key)).ok()?;
    serde_json::from_slice::<Record>(&text).ok().filter(|r| r.key == key)
}

/// What delivered since makes a result of `key` stale (`recovery`, `failure`: its
/// kind; `arrived`: when it came): a recovery that came after a failure, a failure
/// after a recovery. `None`: it is not stale (a passing result never is).
pub fn stale(spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) -> Option<&'static str> {
    if !recovery && !failure {
        return None;
    }
    let record = read(spool, key)?;
    let (later, what) = if failure { (record.recovery, "recovery") } else { (record.failure, "failure") };
    later.filter(|later| arrived < *later).map(|_| what)
}

/// Note that a result of `key` (a `recovery`, a `failure`, or neither) that came at
/// `arrived` was acted on. Best effort: a record that cannot be written only loses
/// the check of the results this one overtook.
pub fn note(spool: &Spool, key: &str, recovery: bool, failure: bool, arrived: Arrival) {
    if !recovery && !failure {
        return;
    }
    let existing = read(spool, key);
    let fresh = existing.is_none();
    let mut record = existing.unwrap_or_else(|| Record { key: key.to_owned(), ..Record::default() });
    let slot = if failure { &mut record.failure } else { &mut record.recovery };
    if slot.is_some_and(|kept| kept >= arrived) {
        return;
    }
    *slot = Some(arrived);
    let Ok(text) = serde_json::to_vec(&record) else { return };
    let dir = dir(spool);
    if spool.ensure_folder(&dir).is_err() {
        return;
    }
    let target = path(spool, key);
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
            std::fs::rename(&temp, &target)
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    if fresh {
        prune(&dir);
    }
}

/// Remove the records not written for [`KEEP_FOR`] (when a record is first made: the
/// folder holds one per check acted on in the last day; keys that churn, such as
/// short-lived entities, do not pile up).
fn prune(dir: &std::path::Path) {
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

    fn at(s: u64) -> Arrival {
        Arrival(s * 1_000_000_000)
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
        let dir = std::env::temp_dir().join(format!("sensu-reactio-latest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::at(&dir);
        let now = 1_800_000_000;
        let (key, other) = ("web01/check_http", "db01/check_disk");
        assert_eq!(stale(&spool, key, false, true, at(now)), None, "no record yet");
        note(&spool, key, true, false, at(now + 5));
        assert_eq!(stale(&spool, key, false, true, at(now)), Some("recovery"), "a failure from before");
        assert_eq!(stale(&spool, key, false, true, at(now + 6)), None, "a failure from after");
        assert_eq!(stale(&spool, key, true, false, at(now)), None, "a recovery is not stale behind one");
        assert_eq!(stale(&spool, key, false, false, at(now)), None, "a passing result never is");
        assert_eq!(stale(&spool, other, false, true, at(now)), None, "another check's");
        // An older recovery noted late does not move the record back.
        note(&spool, key, true, false, at(now + 1));
        assert_eq!(stale(&spool, key, false, true, at(now + 3)), Some("recovery"));
        note(&spool, key, false, true, at(now + 7));
        assert_eq!(stale(&spool, key, true, false, at(now + 6)), Some("failure"));
        // A file of another key under this key's name (a digest collision) is not its.
        std::fs::write(path(&spool, other), br#"{"key":"x","recovery":9999999999999999999}"#).unwrap();
        assert_eq!(stale(&spool, other, false, true, at(now)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
