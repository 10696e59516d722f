//! The newest result of each check that a run acted on, a failure and a recovery
//! apart: what tells a run that waited for its check's lock (or an entry kept
//! meanwhile) that a later result of the other kind has been delivered since, so it
//! is stale. One small file per check in the spool's `.latest/`, named by a digest
//! of its key, written under the check's lock; files not written for a day go.
//!
//! Results of one check are ordered by when they were produced (`check.executed`,
//! one monitored host's clock) when both say and that is near when they arrived,
//! else by when they reached the handler (its clock, nanoseconds). Sensu may hand
//! them over out of order (several Classic servers, a backlog), and two runs waiting
//! for one check's lock take it in no set order.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::spool::{Spool, key_digest};

/// How long a record is kept after it was last written. A stale result comes from a
/// run that was waiting when the later one was delivered, or from the spool's
/// backlog behind it: both are settled within minutes, unless Reactio stays down.
const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// How far a result's `executed` may be from when it reached the handler for it to
/// order results: a monitored host with a clock further off (a year ahead, say)
/// must not make every later result of its check look older.
const EXECUTED_TRUSTED_WITHIN_S: i64 = 60 * 60;

/// When a result was produced and when it reached the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// `check.executed`, epoch seconds, if the event says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed: Option<i64>,
    /// When the handler received it, epoch nanoseconds.
    pub arrived_ns: u64,
}

impl Stamp {
    /// A result produced at `executed` (if known) that arrives now.
    pub fn now(executed: Option<i64>) -> Stamp {
        let arrived_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Stamp { executed, arrived_ns }
    }

    /// When it arrived, epoch seconds.
    pub fn arrived_s(self) -> i64 {
        i64::try_from(self.arrived_ns / 1_000_000_000).unwrap_or(i64::MAX)
    }

    /// `executed`, when it is near the arrival (see [`EXECUTED_TRUSTED_WITHIN_S`]).
    fn trusted_executed(self) -> Option<i64> {
        self.executed.filter(|e| e.abs_diff(self.arrived_s()) <= EXECUTED_TRUSTED_WITHIN_S.unsigned_abs())
    }

    /// Whether this result came before `other` (of the same check).
    pub fn before(self, other: Stamp) -> bool {
        match (self.trusted_executed(), other.trusted_executed()) {
            (Some(a), Some(b)) if a != b => a < b,
            _ => self.arrived_ns < other.arrived_ns,
        }
    }
}

/// A check's record.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// The incident key (a digest names the file; two keys could share one).
    key: String,
    /// The newest failure acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Stamp>,
    /// The newest recovery acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery: Option<Stamp>,
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
/// kind; `stamp`: when it came): a recovery produced after a failure, a failure after
/// a recovery. `None`: it is not stale (a passing result never is).
pub fn stale(spool: &Spool, key: &str, recovery: bool, failure: bool, stamp: Stamp) -> Option<&'static str> {
    if !recovery && !failure {
        return None;
    }
    let record = read(spool, key)?;
    let (later, what) = if failure { (record.recovery, "recovery") } else { (record.failure, "failure") };
    later.filter(|later| stamp.before(*later)).map(|_| what)
}

/// Note that a result of `key` (a `recovery`, a `failure`, or neither) that came at
/// `stamp` was acted on (delivered, or skipped by the rules). Best effort: a record
/// that cannot be written only loses the check of results that overtook this one.
pub fn note(spool: &Spool, key: &str, recovery: bool, failure: bool, stamp: Stamp) {
    if !recovery && !failure {
        return;
    }
    let existing = read(spool, key);
    let fresh = existing.is_none();
    let mut record = existing.unwrap_or_else(|| Record { key: key.to_owned(), ..Record::default() });
    let slot = if failure { &mut record.failure } else { &mut record.recovery };
    if slot.is_some_and(|kept| !kept.before(stamp)) {
        return;
    }
    *slot = Some(stamp);
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

    fn at(executed: Option<i64>, arrived_s: u64) -> Stamp {
        Stamp { executed, arrived_ns: arrived_s * 1_000_000_000 }
    }

    #[test]
    fn results_are_ordered_by_when_they_ran_when_both_say_else_by_arrival() {
        let now = 1_800_000_000;
        // Ran earlier, arrived later (Sensu handed them over out of order).
        assert!(at(Some(now as i64 - 10), now + 1).before(at(Some(now as i64), now)));
        // The same second: by arrival.
        assert!(at(Some(now as i64), now).before(at(Some(now as i64), now + 1)));
        // One does not say: by arrival.
        assert!(at(None, now).before(at(Some(now as i64 - 100), now + 1)));
        // A monitored host's clock a year ahead orders nothing.
        let year_ahead = Some(now as i64 + 365 * 86_400);
        assert!(at(Some(now as i64), now + 1).before(at(year_ahead, now + 2)));
        assert!(!at(year_ahead, now + 2).before(at(Some(now as i64), now + 1)));
    }

    #[test]
    fn a_result_is_stale_only_behind_a_later_one_of_the_other_kind() {
        let dir = std::env::temp_dir().join(format!("sensu-reactio-latest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::at(&dir);
        let now = 1_800_000_000;
        let (key, other) = ("web01/check_http", "db01/check_disk");
        assert_eq!(stale(&spool, key, false, true, at(None, now)), None, "no record yet");
        note(&spool, key, true, false, at(None, now + 5));
        assert_eq!(stale(&spool, key, false, true, at(None, now)), Some("recovery"), "a failure from before");
        assert_eq!(stale(&spool, key, false, true, at(None, now + 6)), None, "a failure from after");
        assert_eq!(stale(&spool, key, true, false, at(None, now)), None, "a recovery is not stale behind one");
        assert_eq!(stale(&spool, key, false, false, at(None, now)), None, "a passing result never is");
        assert_eq!(stale(&spool, other, false, true, at(None, now)), None, "another check's");
        // An older recovery noted late does not move the record back.
        note(&spool, key, true, false, at(None, now + 1));
        assert_eq!(stale(&spool, key, false, true, at(None, now + 3)), Some("recovery"));
        note(&spool, key, false, true, at(None, now + 7));
        assert_eq!(stale(&spool, key, true, false, at(None, now + 6)), Some("failure"));
        // A file of another key under this key's name (a digest collision) is not its.
        std::fs::write(path(&spool, other), br#"{"key":"x","recovery":{"arrived_ns":9999999999999999999}}"#).unwrap();
        assert_eq!(stale(&spool, other, false, true, at(None, now)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
