//! Results of one check that reach the handler out of order, or whose runs take the
//! check's lock out of order: a result older than one of the other kind already
//! delivered is stale, and dropped wherever it waits (docs/reliability.md finding 46).

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sensu_reactio_tests::{Fault, Match, Standin};
use serde_json::json;

use crate::support::*;

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A critical of web01's check_http that ran `ago` seconds ago (`occurrences`: its
/// streak then).
fn critical_from(ago: i64, occurrences: u64) -> Vec<u8> {
    let then = now_s() - ago;
    let history: &[&str] = if occurrences == 1 { &["0", "0", "2"] } else { &["0", "2", "2"] };
    classic_with("web01", "check_http", 2, history, "create", occurrences, json!({"executed": then, "issued": then}))
}

/// Hold up the server's next lookup by `delay`.
fn slow_lookup(server: &Standin, delay: Duration) {
    server.push_fault_times(Match::prefix("GET", "/api/v1/incidents"), Fault::Delay(delay), 1);
}

/// Wait (up to 10 s) until the server has received `n` requests in all.
fn until_requests(server: &Standin, n: usize) {
    let started = std::time::Instant::now();
    while lines(server).len() < n && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The lock of web01/check_http's check in `spool`, held by this test as a run
/// delivering it would hold it (`.keys/`, named by FNV-1a of the key).
fn hold_check_lock(spool: &Path) -> File {
    let digest = "web01/check_http"
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let dir = spool.join(".keys");
    std::fs::create_dir_all(&dir).expect("the locks' folder");
    let file = File::create(dir.join(format!("{digest:016x}.lock"))).expect("the check's lock file");
    file.try_lock().expect("the check's lock");
    file
}

/// A flap: web01's check fails, then passes. The recovery's run (the server slow to
/// answer its lookup) takes the check's lock first, while the critical's run, which
/// came in just after it, waits for it: the recovery's run, and what the critical's
/// run (`args`) did.
fn stale_critical_behind_a_slow_recovery(name: &str, args: &[&str]) -> (Scratch, Standin, Run, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let server = standin();
    let stale = critical_from(5, 1);
    slow_lookup(&server, Duration::from_millis(2500));
    let (recovery, waited) = std::thread::scope(|s| {
        let before = lines(&server).len();
        let recovery = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&resolve()).run());
        until_requests(&server, before + 1);
        let waited = against(&server.url(), &spool).args(args).stdin(&stale).run();
        (recovery.join().expect("the recovery's run"), waited)
    });
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert!(recovery.stdout.contains("skipped web01/check_http"), "{}", recovery.all());
    (dir, server, recovery, waited)
}

#[test]
fn a_failure_that_ran_before_a_delivered_recovery_is_dropped_by_the_run_that_waited() {
    // The critical's run waited for its check's lock while the recovery's run, which
    // took it first, found nothing to close. It then opened an incident, with its
    // call, for a check that had recovered.
    let (dir, server, recovery, waited) = stale_critical_behind_a_slow_recovery("stale-live", &["--deadline", "6"]);
    assert_eq!(creates(&server), 0, "{:?}\n{}", lines(&server), waited.all());
    assert_eq!(waited.code, Some(0), "{}", waited.all());
    assert!(
        waited.stdout.contains("dropped the event for web01/check_http: a later recovery of its check was delivered"),
        "{}",
        waited.all()
    );
    assert_no_key(&[&recovery, &waited], &dir);
}

#[test]
fn a_failure_kept_behind_a_later_recovery_is_not_sent_by_a_later_run() {
    // The critical's run gave up waiting and spooled it; it arrived after the recovery
    // (it ran before), so the recovery's run, which looks for the alerts it retires
    // among those that arrived before it, left it, and the next run opened an incident
    // for a check that had recovered.
    let (dir, server, recovery, waited) = stale_critical_behind_a_slow_recovery("stale-kept", &["--deadline", "1"]);
    assert_eq!(waited.code, Some(75), "{}", waited.all());
    let spool = dir.join("spool");
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(creates(&server), 0, "{:?}\n{}\n{}", lines(&server), recovery.all(), replayed.all());
    assert!(spooled(&spool).is_empty(), "{}\n{}", waited.all(), recovery.all());
    assert!(recovery.stdout.contains("dropped a spooled alert for web01/check_http"), "{}", recovery.all());
    assert_no_key(&[&recovery, &waited, &replayed], &dir);
}

#[test]
fn a_failure_kept_after_its_recovery_was_delivered_drops_itself() {
    // The recovery was delivered and had looked at the spool before the critical's run
    // (it ran before the recovery, and waited for the check) kept its event: that run
    // finds the recovery noted and takes its entry out again.
    let dir = scratch("stale-self");
    let spool = dir.join("spool");
    let server = standin();
    let first = against(&server.url(), &spool).stdin(&critical_from(10, 1)).run();
    let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
    assert_eq!((first.code, recovery.code, closes(&server)), (Some(0), Some(0), 1), "{}", recovery.all());
    let lock = hold_check_lock(&spool);
    let waited = against(&server.url(), &spool).args(["--deadline", "1"]).stdin(&critical_from(5, 1)).run();
    drop(lock);
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(creates(&server), 1, "{:?}\n{}\n{}", lines(&server), waited.all(), replayed.all());
    assert_eq!(waited.code, Some(0), "{}", waited.all());
    assert!(
        waited.stdout.contains(
            "dropped the event for web01/check_http: a later recovery of its check was delivered while this run waited"
        ),
        "{}",
        waited.all()
    );
    assert!(spooled(&spool).is_empty(), "{}", waited.all());
    // A critical that ran after the recovery is a new failure, kept as usual.
    let lock = hold_check_lock(&spool);
    let later = against(&server.url(), &spool).args(["--deadline", "1"]).stdin(&critical_from(-1, 1)).run();
    drop(lock);
    assert_eq!(later.code, Some(75), "{}", later.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", later.all());
    assert_no_key(&[&first, &recovery, &waited, &replayed, &later], &dir);
}

#[test]
fn a_drain_drops_a_spooled_failure_older_than_a_delivered_recovery() {
    // However it came to be there (kept by a run the recovery's look at the spool
    // missed), an alert older than a recovery its check delivered is not sent.
    let dir = scratch("stale-drained");
    let spool = dir.join("spool");
    let server = standin();
    let first = against(&server.url(), &spool).stdin(&critical_from(10, 1)).run();
    let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
    assert_eq!((first.code, recovery.code, closes(&server)), (Some(0), Some(0), 1), "{}", recovery.all());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    let executed = now_s() - 5;
    let entry = json!({
        "version": 1,
        "event": String::from_utf8(critical_from(5, 1)).expect("utf-8"),
        "key": "web01/check_http",
        "recovery": false,
        "received_at": u64::try_from(nanos / 1_000_000_000).expect("seconds"),
        "stamp": {"executed": executed, "arrived_ns": u64::try_from(nanos).expect("nanoseconds")},
        "attempts": 1,
    });
    std::fs::write(spool.join(format!("{nanos:020}-0000001.json")), entry.to_string()).expect("write the entry");
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(
        replayed.stdout.contains(
            "dropped a spooled alert for web01/check_http: a later recovery supersedes it, and was delivered since"
        ),
        "{}",
        replayed.all()
    );
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&first, &recovery, &replayed], &dir);
}
