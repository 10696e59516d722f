//! The spool when runs overlap or are cut short: a live event waiting behind its
//! check's spooled events and behind another run delivering them, creates a run could
//! not confirm, and runs killed while writing an entry, creating or broadcasting.

use sensu_reactio_tests::{Fault, Match};
use serde_json::{Value, json};

use crate::spool::alert_spooled;
use crate::support::*;

#[test]
fn a_live_event_waits_behind_its_checks_spooled_event_whose_create_failed() {
    // An alert waits in the spool; the next run's drain sends its create, which fails
    // (the server may still apply it), and the wait before looking again does not fit
    // the drain's share of the deadline: the entry is kept.
    let (dir, spool, kept) = alert_spooled("behind");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let server = standin();
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), Fault::respond(502, &[], b"bad gateway"), 1);
    let again = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).stdin(&again).run();
    // The live event of the same check does not look up and create beside it.
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stdout.contains("behind its check's spooled event"), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_eq!(spooled(&spool).len(), 2, "{}", run.all());
    // The next run delivers both (with time for the 2 s before the lookup of a create
    // that went unconfirmed): one incident.
    let replayed = against(&server.url(), &spool).args(["--deadline", "5", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(server.incidents().len(), 1, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&kept, &run, &replayed], &dir);
}

/// An alert waits in the spool; a run for another check delivers it, and while its
/// create is on the way (the server takes a second), the check's next event arrives:
/// the scratch directory, the spool, the stand-in, and the run that delivered the
/// spool and the live one, after both ended.
fn live_while_another_run_delivers(
    name: &str,
    live: &[u8],
) -> (Scratch, std::path::PathBuf, sensu_reactio_tests::Standin, Run, Run) {
    let (dir, spool, down) = alert_spooled(name);
    assert_eq!(down.code, Some(75), "{}", down.all());
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_secs(1));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let other = classic("db01", "check_mysql", 0, &["0", "0"], "create", 1);
    let (drainer, live) = std::thread::scope(|s| {
        let drainer = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&other).run());
        until_a_create_arrives(&server);
        let live = against(&server.url(), &spool).args(["--deadline", "6"]).stdin(live).run();
        (drainer.join().expect("the draining run"), live)
    });
    (dir, spool, server, drainer, live)
}

#[test]
fn a_live_event_waits_while_another_run_delivers_its_checks_spooled_alert() {
    // Without waiting, the live repeat (a first occurrence while its check's alert is
    // spooled) looked up before the create landed and created a second incident.
    let again = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let (dir, spool, server, drainer, live) = live_while_another_run_delivers("busy-alert", &again);
    assert_eq!(drainer.code, Some(0), "{}", drainer.all());
    assert_eq!(live.code, Some(0), "{}", live.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}\n{}", lines(&server), drainer.all(), live.all());
    assert_eq!(server.incidents().len(), 1, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", live.all());
    assert_no_key(&[&drainer, &live], &dir);
}

#[test]
fn a_recovery_waits_while_another_run_delivers_its_checks_spooled_alert() {
    // Without waiting, the recovery found nothing to close (the create had not landed)
    // and the incident created after it stayed open for good.
    let (dir, spool, server, drainer, live) = live_while_another_run_delivers("busy-recovery", &resolve());
    assert_eq!(drainer.code, Some(0), "{}", drainer.all());
    assert_eq!(live.code, Some(0), "{}", live.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}\n{}", lines(&server), drainer.all(), live.all());
    assert!(server.incidents().iter().all(|i| i.status == "close"), "{:?}", server.incidents());
    assert!(spooled(&spool).is_empty(), "{}", live.all());
    assert_no_key(&[&drainer, &live], &dir);
}

#[test]
fn a_recovery_waits_for_the_run_still_creating_its_checks_incident() {
    // Nothing spooled: the first critical's run is creating the incident (the server
    // takes a second) when the check's recovery arrives. Without waiting, the recovery
    // looked up before the create landed, found nothing, and the incident stayed open.
    let dir = scratch("key-lock");
    let spool = dir.join("spool");
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_secs(1));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let (first, recovery) = std::thread::scope(|s| {
        let first = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&first_critical()).run());
        until_a_create_arrives(&server);
        let recovery = against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&resolve()).run();
        (first.join().expect("the first run"), recovery)
    });
    assert_eq!(first.code, Some(0), "{}", first.all());
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}\n{}", lines(&server), first.all(), recovery.all());
    assert!(server.incidents().iter().all(|i| i.status == "close"), "{:?}", server.incidents());
    assert_no_key(&[&first, &recovery], &dir);
}

/// An alert waits in the spool; the next run's drain sends its create, which the
/// server applies after two and a half seconds, and the run's 2 s deadline cuts it off
/// first: the entry is kept, its create unconfirmed, with the live event behind
/// it. The scratch directory, the spool, the run that kept the alert, the stand-in and
/// the run that cut off.
fn create_cut_off_while_applied(name: &str) -> (Scratch, std::path::PathBuf, Run, sensu_reactio_tests::Standin, Run) {
    let (dir, spool, kept) = alert_spooled(name);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(2500));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let again = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).args(["--deadline", "2"]).stdin(&again).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stdout.contains("whose create was sent but not confirmed"), "{}", run.all());
    (dir, spool, kept, server, run)
}

#[test]
fn the_run_after_an_unconfirmed_create_waits_before_looking_it_up() {
    // The drain's create is cut off by the deadline while the server is
    // still at work (it applies it half a second later). The replay right after must
    // not look up before the create can have landed (a second incident, a second call).
    let (dir, spool, kept, server, run) = create_cut_off_while_applied("unconfirmed-across-runs");
    let replayed = against(&server.url(), &spool).args(["--deadline", "5", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert_eq!(server.incidents().len(), 1, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&kept, &run, &replayed], &dir);
}

#[test]
fn a_recovery_right_after_an_unconfirmed_create_closes_what_it_made() {
    // As above, the drain's create is cut off while the server is still at work (it
    // applies it half a second later), and the check's recovery arrives at once. It
    // dropped the alert as superseded and looked up before the create landed: nothing
    // to close, and the incident made a moment later stayed open for good. The alert is
    // now dropped only after the wait for its create.
    let (dir, spool, kept, server, run) = create_cut_off_while_applied("unconfirmed-then-recovery");
    let recovery = against(&server.url(), &spool).args(["--deadline", "6"]).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert!(recovery.stdout.contains("after the wait for its unconfirmed create"), "{}", recovery.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), recovery.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}", lines(&server), recovery.all());
    assert!(server.incidents().iter().all(|i| i.status == "close"), "{:?}", server.incidents());
    assert!(spooled(&spool).is_empty(), "{}", recovery.all());
    assert_no_key(&[&kept, &run, &recovery], &dir);
}

#[test]
fn a_run_killed_while_creating_a_spooled_alert_leaves_its_create_unconfirmed() {
    // A replay sends a spooled alert's create and is killed (SIGKILL: Sensu's handler
    // timeout, the out-of-memory killer) before the answer; the server applies it a
    // moment later. The next run created again: two incidents, phones rang twice. The
    // entry now says its create is on the way before it is sent.
    let (dir, spool, kept) = alert_spooled("killed-creating");
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(1500));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let mut handler = against(&server.url(), &spool);
    handler.args(["--deadline", "6", "replay"]);
    let killed = signalled(handler, "-KILL", || creates(&server) > 0);
    assert_eq!(killed.code, None, "killed: {}", killed.all());
    let replayed = against(&server.url(), &spool).args(["--deadline", "6", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert_eq!(server.incidents().len(), 1, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&kept, &killed, &replayed], &dir);
}

/// Alerts of two checks (`web01/check_http`, then `db01/check_disk`) spooled while
/// Reactio was down: the scratch directory, the spool and the two runs.
fn two_checks_spooled(name: &str) -> (Scratch, std::path::PathBuf, Run, Run) {
    let (dir, spool, first) = alert_spooled(name);
    let disk = classic("db01", "check_disk", 2, &["0", "2"], "create", 1);
    let second = against(&closed_port_url(), &spool).stdin(&disk).run();
    assert_eq!(second.code, Some(75), "{}", second.all());
    (dir, spool, first, second)
}

#[test]
fn a_checks_spooled_events_go_before_the_rest_of_the_spool() {
    // The live run's drain went oldest first and spent its share of the deadline on
    // other checks' entries: the live event then went ahead of its own check's.
    let (dir, spool, first, second) = two_checks_spooled("own-first");
    let server = standin();
    let again = classic("db01", "check_disk", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).stdin(&again).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let names: Vec<String> = server.incidents().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 2, "{names:?}\n{}", run.all());
    assert!(names[0].starts_with("db01/check_disk"), "its own check's event first: {names:?}");
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    assert_no_key(&[&first, &second, &run], &dir);
}

#[test]
fn a_run_delivering_the_spool_does_not_hold_up_another_checks_events() {
    // A replay is delivering the spool (the server takes 2.5 s over its first create)
    // when a live event of the other spooled check arrives. It waited for the spool
    // and, past its share of the deadline, spooled itself: in a burst after a blip, no
    // live run got through until the recoveries retired the alerts. It now sends its
    // check's spooled event and itself, holding only its check's lock.
    let (dir, spool, first, second) = two_checks_spooled("not-held-up");
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(2500));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let (replayed, live) = std::thread::scope(|s| {
        let replay = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6", "replay"]).run());
        until_a_create_arrives(&server);
        let again = classic("db01", "check_disk", 2, &["0", "2", "2"], "create", 2);
        let live = against(&server.url(), &spool).args(["--deadline", "2"]).stdin(&again).run();
        (replay.join().expect("the replay"), live)
    });
    assert_eq!(live.code, Some(0), "{}", live.all());
    assert!(live.stdout.contains("spooled event: created incident"), "{}", live.all());
    assert!(matches!(replayed.code, Some(0 | 75)), "{}", replayed.all());
    assert_eq!(creates(&server), 2, "{:?}\n{}\n{}", lines(&server), replayed.all(), live.all());
    assert_eq!(server.incidents().len(), 2, "{:?}", lines(&server));
    assert_no_key(&[&first, &second, &replayed, &live], &dir);
}

/// Wait (up to 10 s) until the server has received `n` creates.
fn until_creates(server: &sensu_reactio_tests::Standin, n: usize) {
    let started = std::time::Instant::now();
    while creates(server) < n && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn a_replay_does_not_send_what_a_live_run_retired_meanwhile() {
    // db01's alert, then web01's, wait in the spool. A replay lists both and is busy
    // with db01's (the server takes two seconds) when web01's recovery arrives: its
    // run retires web01's alert and finds nothing to close. The replay then sent the
    // alert it had listed: an incident, with its call, for a check that had recovered.
    let dir = scratch("retired-meanwhile");
    let spool = dir.join("spool");
    let disk = classic("db01", "check_disk", 2, &["0", "2"], "create", 1);
    let kept_disk = against(&closed_port_url(), &spool).stdin(&disk).run();
    let kept_http = against(&closed_port_url(), &spool).stdin(&first_critical()).run();
    assert_eq!((kept_disk.code, kept_http.code), (Some(75), Some(75)), "{}{}", kept_disk.all(), kept_http.all());
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(2000));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let (replayed, recovery) = std::thread::scope(|s| {
        let replay = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6", "replay"]).run());
        until_a_create_arrives(&server);
        let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
        (replay.join().expect("the replay"), recovery)
    });
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert!(recovery.stdout.contains("dropped a spooled alert for web01/check_http"), "{}", recovery.all());
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    let names: Vec<String> = server.incidents().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 1, "{names:?}\n{}\n{}", replayed.all(), recovery.all());
    assert!(names[0].starts_with("db01/check_disk"), "{names:?}");
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&kept_disk, &kept_http, &replayed, &recovery], &dir);
}

#[test]
fn a_live_failure_retires_its_checks_spooled_recovery_while_a_replay_runs() {
    // web01 has its incident; its recovery waits in the spool behind db01's alert. A
    // replay is busy with db01's (the server takes two seconds) when web01 fails
    // again: its run posts to the incident and retires the stale recovery, though the
    // replay holds the spool. It skipped that, and the replay then sent the recovery,
    // closing the incident of the failure going on.
    let dir = scratch("stale-recovery-replay");
    let spool = dir.join("spool");
    let server = standin();
    let first = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    let disk = classic("db01", "check_disk", 2, &["0", "2"], "create", 1);
    let kept_disk = against(&closed_port_url(), &spool).stdin(&disk).run();
    assert_eq!(kept_disk.code, Some(75), "{}", kept_disk.all());
    // Spool times are whole seconds: each of these arrives in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let recovery = against(&closed_port_url(), &spool).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(75), "{}", recovery.all());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let slow = Fault::Delay(std::time::Duration::from_millis(2000));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let (replayed, again) = std::thread::scope(|s| {
        let replay = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "6", "replay"]).run());
        until_creates(&server, 2);
        let failing = classic("web01", "check_http", 2, &["0", "2", "0", "2"], "create", 1);
        let again = against(&server.url(), &spool).stdin(&failing).run();
        (replay.join().expect("the replay"), again)
    });
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(again.stdout.contains("dropped a spooled recovery for web01/check_http"), "{}", again.all());
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(closes(&server), 0, "{:?}\n{}\n{}", lines(&server), replayed.all(), again.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&first, &recovery, &kept_disk, &replayed, &again], &dir);
}

#[test]
fn an_event_a_run_killed_before_its_rename_left_is_taken_in_and_delivered() {
    // A run killed (Sensu's timeout, with a slow disk) after writing its entry and
    // before renaming it into place left a dot file that no run delivered or reported:
    // the alert was lost without a word.
    let (dir, spool, down) = alert_spooled("unfinished");
    let kept = spooled(&spool).pop().expect("the spooled alert");
    let name = kept.file_name().and_then(|n| n.to_str()).expect("a name").to_owned();
    let left = spool.join(format!(".new-{name}"));
    std::fs::rename(&kept, &left).expect("as the killed run left it");
    let three_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(180);
    std::fs::File::options()
        .write(true)
        .open(&left)
        .and_then(|f| f.set_modified(three_minutes_ago))
        .expect("age the file");
    let status = check_spool(&spool, &[]);
    assert_eq!(status.code, Some(1), "{}", status.all());
    assert!(status.stdout.contains("1 files left unfinished by runs killed while writing them"), "{}", status.stdout);
    let server = standin();
    let other = classic("db01", "check_mysql", 2, &["0", "2"], "create", 1);
    let up = against(&server.url(), &spool).stdin(&other).run();
    assert_eq!(up.code, Some(0), "{}", up.all());
    assert!(up.stderr.contains("took in 1 spooled events"), "{}", up.all());
    let names: Vec<String> = server.incidents().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 2, "{names:?}\n{}", up.all());
    assert!(names[0].starts_with("web01/check_http"), "the taken-in event goes first: {names:?}");
    assert!(spooled(&spool).is_empty() && !left.exists(), "{}", up.all());
    assert_eq!(check_spool(&spool, &[]).code, Some(0));
    assert_no_key(&[&down, &up], &dir);
}

/// web01's warning opened its incident (the settings act on warnings too); its
/// escalation to critical was spooled while Reactio was down: the scratch directory,
/// the spool, the stand-in, the two runs and the settings' flags.
fn escalation_spooled(name: &str) -> (Scratch, std::path::PathBuf, sensu_reactio_tests::Standin, Run, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let server = standin();
    let warning = classic("web01", "check_http", 1, &["0", "0", "1"], "create", 1);
    let first = against(&server.url(), &spool).args(BOTH).stdin(&warning).run();
    assert_eq!((first.code, creates(&server)), (Some(0), 1), "{}", first.all());
    let critical = classic("web01", "check_http", 2, &["0", "1", "2"], "create", 2);
    let kept = against(&closed_port_url(), &spool).args(BOTH).stdin(&critical).run();
    assert_eq!(kept.code, Some(75), "{}", kept.all());
    (dir, spool, server, first, kept)
}

/// Settings that act on warnings and criticals.
const BOTH: [&str; 2] = ["--severities", "warning,critical"];

/// The broadcasts (`POST /api/v1/notifications`) the server received.
fn broadcasts(server: &sensu_reactio_tests::Standin) -> usize {
    lines(server).iter().filter(|l| *l == "POST /api/v1/notifications").count()
}

#[test]
fn a_run_killed_while_broadcasting_a_spooled_escalation_does_not_ring_twice() {
    // A replay sent the spooled escalation's broadcast and was killed before the
    // answer; the server applied it. The next run broadcast (and called) again. The
    // entry now says which incident its broadcast went to before it goes.
    let (dir, spool, server, first, kept) = escalation_spooled("killed-broadcasting");
    let slow = Fault::Delay(std::time::Duration::from_millis(1000));
    server.push_fault_times(Match::exact("POST", "/api/v1/notifications"), slow, 1);
    let mut handler = against(&server.url(), &spool);
    handler.args(BOTH).args(["--deadline", "6", "replay"]);
    let killed = signalled(handler, "-KILL", || broadcasts(&server) > 0);
    assert_eq!(killed.code, None, "killed: {}", killed.all());
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let replayed = against(&server.url(), &spool).args(BOTH).args(["--deadline", "6", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(broadcasts(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert!(replayed.stderr.contains("sent by an earlier attempt of this spooled event"), "{}", replayed.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&first, &kept, &killed, &replayed], &dir);
}

#[test]
fn a_spooled_escalations_broadcast_the_server_turned_away_goes_on_the_next_run() {
    // The mark before a broadcast must not outlive an answer that says it had no
    // effect (503 and a wait longer than the run): the next run broadcasts.
    let (dir, spool, server, first, kept) = escalation_spooled("broadcast-turned-away");
    server.push_fault_times(Match::exact("POST", "/api/v1/notifications"), Fault::unavailable("30"), 1);
    let turned = against(&server.url(), &spool).args(BOTH).args(["--deadline", "3", "replay"]).run();
    assert_eq!(spooled(&spool).len(), 1, "{}", turned.all());
    let replayed = against(&server.url(), &spool).args(BOTH).args(["--deadline", "6", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(broadcasts(&server), 2, "{:?}\n{}\n{}", lines(&server), turned.all(), replayed.all());
    assert!(!replayed.stderr.contains("sent by an earlier attempt"), "{}", replayed.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&first, &kept, &turned, &replayed], &dir);
}

#[test]
fn a_spooled_escalation_the_spool_cannot_mark_is_not_broadcast_until_it_can() {
    // A spool that cannot record a broadcast before it goes (a full disk, a folder
    // turned read-only) sent it anyway: every later run broadcast and called again. Now
    // it is not sent; the event waits, and goes once (one call) when the spool can
    // record it. The write is made to fail by a directory where its temporary file goes.
    let (dir, spool, server, first, kept) = escalation_spooled("unmarkable-broadcast");
    let entry = spooled(&spool).pop().expect("the spooled escalation");
    let blocker = spool.join(format!(".tmp-{}", entry.file_name().unwrap().to_str().unwrap()));
    std::fs::create_dir(&blocker).unwrap();
    let held = against(&server.url(), &spool).args(BOTH).args(["--deadline", "4", "replay"]).run();
    assert_eq!(held.code, Some(75), "{}", held.all());
    assert_eq!(broadcasts(&server), 0, "{:?}\n{}", lines(&server), held.all());
    assert!(held.all().contains("not sent: the spool could not record that it was being broadcast"), "{}", held.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", held.all());
    std::fs::remove_dir(&blocker).unwrap();
    let sent = against(&server.url(), &spool).args(BOTH).args(["--deadline", "4", "replay"]).run();
    assert_eq!(sent.code, Some(0), "{}", sent.all());
    assert_eq!(broadcasts(&server), 1, "{:?}\n{}", lines(&server), sent.all());
    assert!(spooled(&spool).is_empty(), "{}", sent.all());
    assert_no_key(&[&first, &kept, &held, &sent], &dir);
}

#[test]
fn a_create_waiting_out_a_429_is_not_sent_once_its_recovery_waits_in_the_spool() {
    // The first critical's create is told to come back in 2 s (429); its recovery
    // arrives meanwhile, gives up waiting for the check's lock and is kept. The create
    // then went out after the wait, with its call, for a check that had recovered, and
    // the incident stayed open until the next run.
    let dir = scratch("superseded-meanwhile");
    let spool = dir.join("spool");
    let server = standin();
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), Fault::rate_limited("2"), 1);
    let (first, recovery) = std::thread::scope(|s| {
        let first = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "4"]).stdin(&first_critical()).run());
        until_a_create_arrives(&server);
        let recovery = against(&server.url(), &spool).args(["--deadline", "1"]).stdin(&resolve()).run();
        (first.join().expect("the first run"), recovery)
    });
    assert_eq!(recovery.code, Some(75), "kept behind the first: {}", recovery.all());
    assert_eq!(first.code, Some(75), "kept, its create not sent: {}", first.all());
    assert!(first.all().contains("a later recovery of its check came in meanwhile"), "{}", first.all());
    assert_eq!(creates(&server), 1, "only the refused one: {:?}", lines(&server));
    // The next run drops the failure as superseded; the recovery finds nothing to close.
    let replay = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(replay.code, Some(0), "{}", replay.all());
    assert!(spooled(&spool).is_empty(), "{}", replay.all());
    assert!(server.incidents().is_empty(), "{:?}", server.incidents());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_no_key(&[&first, &recovery, &replay], &dir);
}

/// A stand-in that answers every request in 0.6 s, with 110 incidents of other checks
/// open (four listings to look through): one delivery needs ~3 s.
fn slow_standin() -> sensu_reactio_tests::Standin {
    let server = standin();
    for n in 0..110 {
        server.seed_open(&format!("other{n}/check_disk"));
    }
    let slow = Fault::Delay(std::time::Duration::from_millis(600));
    server.push_fault_times(Match::prefix("*", "/"), slow, 1000);
    server
}

#[test]
fn a_slow_server_still_gets_a_checks_spooled_alert_delivered_by_its_next_event() {
    // Reactio answers every request in 0.6 s with 110 other incidents open (four
    // listings to look through): a spooled alert needs ~3 s, more than half of a 4 s
    // deadline. Cut at the half, then the live event of its check cut at the end
    // behind it, the check's alert waited run after run for as long as the server
    // was slow: no incident, no call.
    let (dir, spool, kept) = alert_spooled("slow-server-own-drain");
    let server = slow_standin();
    let again = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).args(["--deadline", "4"]).stdin(&again).run();
    assert_eq!(creates(&server), 1, "the spooled alert's create: {:?}\n{}", lines(&server), run.all());
    assert!(server.open_incidents().iter().any(|i| i.name.contains("web01/check_http")), "{}", run.all());
    // The live event, a repeat of the same failure, asks for nothing more.
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    assert_no_key(&[&kept, &run], &dir);
}

#[test]
fn another_checks_entry_a_slow_server_cut_short_waits_until_after_the_next_alert() {
    // Reactio answers every request in 0.6 s with 110 other incidents open: one
    // delivery needs ~3 s, more than half of a 4 s deadline. Another check's spooled
    // alert, cut at the half before each live event, took that half from every new
    // alert, which was then cut too: every run exited 75, nobody was called, and the
    // spool grew by one a run.
    let (dir, spool, kept) = alert_spooled("slow-server-put-off");
    let server = slow_standin();
    let mysql = classic("db01", "check_mysql", 2, &["0", "2"], "create", 1);
    let first = against(&server.url(), &spool).args(["--deadline", "4"]).stdin(&mysql).run();
    assert_eq!(first.code, Some(75), "both cut short: {}", first.all());
    assert_eq!(creates(&server), 0, "{:?}", lines(&server));
    // Both kept entries ran out of time: the next alert goes first and is delivered.
    let redis = classic("cache01", "check_redis", 2, &["0", "2"], "create", 1);
    let second = against(&server.url(), &spool).args(["--deadline", "4"]).stdin(&redis).run();
    assert_eq!(second.code, Some(0), "{}", second.all());
    assert!(second.stdout.contains("put off 2 spooled events of other checks"), "{}", second.all());
    let names: Vec<String> = server.open_incidents().into_iter().map(|i| i.name).collect();
    assert!(names.iter().any(|n| n.contains("cache01/check_redis")), "{names:?}\n{}", second.all());
    // Once the server is fast again, the put-off entries go: one incident each.
    server.clear_faults();
    let replayed = against(&server.url(), &spool).args(["--deadline", "8", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    for check in ["web01/check_http", "db01/check_mysql", "cache01/check_redis"] {
        let open = server.open_incidents().into_iter().filter(|i| i.name.contains(check)).count();
        assert_eq!(open, 1, "{check}: {:?}", lines(&server));
    }
    assert_no_key(&[&kept, &first, &second, &replayed], &dir);
}

#[test]
fn a_put_off_entry_keeps_its_checks_later_entries_behind_it() {
    // A warning the deadline cut on a slow server waits, put off, until after the next
    // live event; its check's critical after it waited with it. The critical went
    // first (an incident, its call), and the warning after it posted "changed to
    // warning" on an incident still critical: the last word said the check was better.
    let dir = scratch("put-off-in-order");
    let spool = dir.join("spool");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    let (warned, worse) = (now - 20_000_000_000, now - 10_000_000_000);
    let warning = classic("web01", "check_http", 1, &["0", "1"], "create", 1);
    let critical = classic("web01", "check_http", 2, &["0", "1", "2"], "create", 1);
    let ns = |n: u128| u64::try_from(n).expect("nanoseconds");
    keep_by_hand(&spool, warning, warned, json!({"received_ns": ns(warned), "cut_short": true}));
    keep_by_hand(&spool, critical, worse, json!({"received_ns": ns(worse)}));
    let server = standin();
    let other = classic("db01", "check_mysql", 2, &["0", "2"], "create", 1);
    let run = against(&server.url(), &spool).args(BOTH).args(["--deadline", "8"]).stdin(&other).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    // The warning opened web01's incident; the critical escalated it, with its call.
    let web = server.incidents().into_iter().filter(|i| i.name.contains("web01/check_http")).count();
    assert_eq!(web, 1, "{:?}", lines(&server));
    assert_eq!(broadcasts(&server), 1, "the escalation's broadcast: {:?}\n{}", lines(&server), run.all());
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_spooled_entry_is_not_put_off_when_the_server_only_refused() {
    // A proxy answering 502 for everything (Reactio down behind it) until the deadline:
    // the entry did not run out of time on a slow server, and must not wait behind
    // new alerts once Reactio is back.
    let dir = scratch("not-put-off-502");
    let spool = dir.join("spool");
    let server = standin();
    server.push_fault_times(Match::prefix("*", "/"), Fault::bad_gateway_html(), 1000);
    let run = against(&server.url(), &spool).args(["--deadline", "2"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    let kept = spooled(&spool);
    assert_eq!(kept.len(), 1, "{}", run.all());
    let entry: Value = serde_json::from_slice(&std::fs::read(&kept[0]).expect("the entry")).expect("json");
    assert_eq!(entry.get("cut_short"), None, "{entry}");
    assert_no_key(&[&run], &dir);
}
