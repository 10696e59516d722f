//! Runs of one check that take its turn out of the order their events came in: a
//! result older than one of the other kind already delivered is stale, and dropped
//! wherever it waits (docs/reliability.md finding 46).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sensu_reactio_tests::{Fault, Match, Standin};
use serde_json::json;

use crate::support::*;

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

/// Wait (up to 10 s) until a process id is in `slot`, then a little more: the process
/// has started (its run's arrival is taken as it starts).
fn until_started(slot: &AtomicU32) {
    let started = std::time::Instant::now();
    while slot.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
}

/// The lock of web01/check_http's check in `spool`, held by this test as a run
/// delivering it would hold it (`.keys/`, named by the key's digest).
fn hold_check_lock(spool: &Path) -> File {
    let digest = sensu_reactio_host::spool::key_digest("web01/check_http");
    let dir = spool.join(".keys");
    std::fs::create_dir_all(&dir).expect("the locks' folder");
    let file = File::create(dir.join(format!("{digest:016x}.lock"))).expect("the check's lock file");
    file.try_lock().expect("the check's lock");
    file
}

/// A flap: web01's check fails, then passes. Sensu starts the critical's run first,
/// then the recovery's; the recovery's run takes the check's turn first (its event
/// is in first; the server is slow to answer its lookup) while the critical's run,
/// its event in just after, waits for it. The recovery's run, and what the critical's
/// run (`args`) did.
fn stale_critical_behind_a_slow_recovery(name: &str, args: &[&str]) -> (Scratch, Standin, Run, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let server = standin();
    slow_lookup(&server, Duration::from_millis(2500));
    let (open, gate) = mpsc::channel();
    let pid = Arc::new(AtomicU32::new(0));
    let (recovery, waited) = std::thread::scope(|s| {
        let critical = s.spawn(|| {
            let mut run = against(&server.url(), &spool);
            run.args(args).stdin(&first_critical()).stdin_after(gate).report_pid(Arc::clone(&pid)).run()
        });
        until_started(&pid);
        let recovery = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&resolve()).run());
        until_requests(&server, 1);
        open.send(()).expect("the critical's event comes in");
        (recovery.join().expect("the recovery's run"), critical.join().expect("the critical's run"))
    });
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert!(recovery.stdout.contains("skipped web01/check_http"), "{}", recovery.all());
    (dir, server, recovery, waited)
}

#[test]
fn a_failure_that_came_before_a_delivered_recovery_is_dropped_by_the_run_that_waited() {
    // The critical's run waited for its check's lock while the recovery's run, which
    // took it first, found nothing to close. It then opened an incident, with its
    // call, for a check that had recovered.
    // With `--output json`: the one object for the event says what became of it.
    let args = ["--deadline", "6", "--output", "json"];
    let (dir, server, recovery, waited) = stale_critical_behind_a_slow_recovery("stale-live", &args);
    assert_eq!(creates(&server), 0, "{:?}\n{}", lines(&server), waited.all());
    assert_eq!(waited.code, Some(0), "{}", waited.all());
    let outcome: serde_json::Value = serde_json::from_str(waited.stdout.trim()).expect("one json object");
    assert_eq!(
        (&outcome["result"], &outcome["code"], &outcome["key"], &outcome["exit_code"]),
        (&json!("skipped"), &json!("stale"), &json!("web01/check_http"), &json!(0)),
        "{outcome}"
    );
    let message = outcome["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("dropped the alert for web01/check_http: a recovery of its check that came in "),
        "{message}"
    );
    assert!(message.contains(" s after it was delivered already"), "{message}");
    assert_no_key(&[&recovery, &waited], &dir);
}

#[test]
fn a_failure_kept_behind_a_later_recovery_is_not_sent_by_a_later_run() {
    // The critical's run gave up waiting and spooled it after the recovery's run had
    // started. That run retired the spooled alerts from before it arrived, but read
    // an entry's time as when it was kept, not when its event came in: it left this
    // one, and the next run opened an incident for a check that had recovered.
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
    // The critical's run started first, but its event came in only after the
    // recovery's run had delivered and looked at the spool; another run held the
    // check, so it kept its event: it finds the recovery noted and takes it out again.
    let dir = scratch("stale-self");
    let spool = dir.join("spool");
    let server = standin();
    let (open, gate) = mpsc::channel();
    let pid = Arc::new(AtomicU32::new(0));
    let (recovery, waited) = std::thread::scope(|s| {
        let critical = s.spawn(|| {
            let mut run = against(&server.url(), &spool);
            run.args(["--deadline", "2"]).stdin(&first_critical()).stdin_after(gate).report_pid(Arc::clone(&pid)).run()
        });
        until_started(&pid);
        let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
        let lock = hold_check_lock(&spool);
        open.send(()).expect("the critical's event comes in");
        let waited = critical.join().expect("the critical's run");
        drop(lock);
        (recovery, waited)
    });
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(creates(&server), 0, "{:?}\n{}\n{}", lines(&server), waited.all(), replayed.all());
    assert_eq!(waited.code, Some(0), "{}", waited.all());
    assert!(
        waited.stdout.contains("dropped the alert for web01/check_http: a recovery of its check that came in"),
        "{}",
        waited.all()
    );
    assert!(spooled(&spool).is_empty(), "{}", waited.all());
    // A critical that came after the recovery is a new failure, kept as usual.
    let lock = hold_check_lock(&spool);
    let later = against(&server.url(), &spool).args(["--deadline", "1"]).stdin(&first_critical()).run();
    drop(lock);
    assert_eq!(later.code, Some(75), "{}", later.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", later.all());
    assert_no_key(&[&recovery, &waited, &replayed, &later], &dir);
}

#[test]
fn a_drain_drops_a_spooled_failure_older_than_a_delivered_recovery() {
    // However it came to be there (kept by a run the recovery's look at the spool
    // missed), an alert that came before a recovery its check delivered is not sent.
    let dir = scratch("stale-drained");
    let spool = dir.join("spool");
    let server = standin();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    let first = against(&server.url(), &spool).stdin(&first_critical()).run();
    let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
    assert_eq!((first.code, recovery.code, closes(&server)), (Some(0), Some(0), 1), "{}", recovery.all());
    let nanos_ns = u64::try_from(nanos).expect("nanoseconds");
    keep_by_hand(&spool, first_critical(), nanos, json!({"received_ns": nanos_ns}));
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

#[test]
fn results_that_come_in_order_are_acted_on_whatever_their_hosts_clocks_say() {
    // Ordered by `check.executed` (a first version of finding 46), a recovery from a
    // monitored host whose clock had stepped back was dropped as older than the alert
    // delivered before it, and the incident stayed open for good; a new failure after
    // a recovery from another agent of a round-robin check was dropped, no page.
    let dir = scratch("in-order-skewed");
    let spool = dir.join("spool");
    let server = standin();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let ran = |at: u64| json!({"executed": at, "issued": at});
    let critical = classic_with("web01", "check_http", 2, &["0", "0", "2"], "create", 1, ran(now + 120));
    let recovery = classic_with("web01", "check_http", 0, &["0", "2", "0"], "resolve", 1, ran(now + 5));
    let again = classic_with("web01", "check_http", 2, &["2", "0", "2"], "create", 1, ran(now));
    let runs: Vec<Run> =
        [critical, recovery, again].iter().map(|event| against(&server.url(), &spool).stdin(event).run()).collect();
    let all: String = runs.iter().map(Run::all).collect();
    assert!(runs.iter().all(|r| r.code == Some(0)), "{all}");
    assert_eq!((creates(&server), closes(&server)), (2, 1), "{:?}\n{all}", lines(&server));
    assert!(!all.contains("dropped"), "{all}");
    assert_no_key(&runs.iter().collect::<Vec<_>>(), &dir);
}

#[test]
fn records_that_cannot_be_kept_are_warned_of_not_silently_skipped() {
    // With the records' folder unusable (a file in its place), a stale result was no
    // longer known as such, and nothing said so: `check-spool` said OK.
    let dir = scratch("records-broken");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join(".latest"), "not a folder").unwrap();
    let server = standin();
    let run = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!((run.code, creates(&server)), (Some(0), 1), "{}", run.all());
    assert!(run.stderr.contains("warning: could not note the delivery for web01/check_http"), "{}", run.all());
    let status = check_spool(&spool, &[]);
    assert_eq!(status.code, Some(1), "{}", status.all());
    assert!(status.stdout.contains(".latest is not a directory: a check's result that waits"), "{}", status.stdout);
    assert_no_key(&[&run, &status], &dir);
}

#[test]
fn an_entry_of_an_earlier_version_is_not_judged_by_the_records() {
    // It says only the second its event came in: read as the start of that second, a
    // recovery kept in the same second as the alert delivered before it counted as
    // older, and was dropped; the incident stayed open.
    let dir = scratch("records-old-entry");
    let spool = dir.join("spool");
    let server = standin();
    let first = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!((first.code, creates(&server)), (Some(0), 1), "{}", first.all());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    keep_by_hand(&spool, resolve(), now.as_nanos(), json!({"recovery": true}));
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert!(!replayed.stdout.contains("dropped"), "{}", replayed.all());
    assert_no_key(&[&first, &replayed], &dir);
}

#[test]
fn an_alert_taken_in_from_a_killed_write_is_not_sent_after_a_later_recovery() {
    // The run keeping the alert was killed in its spool write (a slow disk); the
    // recovery came 70 s later and was delivered; two minutes on, a run took the
    // unfinished write in and sent it: an incident, with its call, that never closed.
    // The records counted only within a minute of a result.
    let dir = scratch("taken-in-stale");
    let spool = dir.join("spool");
    let server = standin();
    let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() - 70_000_000_000;
    let nanos_ns = u64::try_from(nanos).expect("nanoseconds");
    keep_by_hand(&spool, first_critical(), nanos, json!({"received_ns": nanos_ns}));
    let kept = spooled(&spool).pop().expect("the entry");
    let left = spool.join(format!(".new-{}", kept.file_name().and_then(|n| n.to_str()).expect("a name")));
    std::fs::rename(&kept, &left).expect("as the killed run left it");
    let three_minutes_ago = SystemTime::now() - Duration::from_secs(180);
    File::options().write(true).open(&left).and_then(|f| f.set_modified(three_minutes_ago)).expect("age it");
    let replayed = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(creates(&server), 0, "{:?}\n{}", lines(&server), replayed.all());
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(replayed.stderr.contains("took in 1 spooled events"), "{}", replayed.all());
    assert!(replayed.stdout.contains("dropped a spooled alert for web01/check_http"), "{}", replayed.all());
    assert!(spooled(&spool).is_empty() && !left.exists(), "{}", replayed.all());
    assert_no_key(&[&recovery, &replayed], &dir);
}
