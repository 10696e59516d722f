//! The spool: written on failure, drained by the next run and by `replay`, recoveries
//! supersede alerts, refused entries dead-lettered, `check-spool` reports.

use sensu_reactio_tests::{Fault, Match};

use crate::support::*;

fn replay(server_url: &str, spool: &std::path::Path) -> Run {
    let mut handler = against(server_url, spool);
    handler.args(["replay"]);
    handler.run()
}

#[test]
fn spooled_event_is_delivered_first_by_the_next_run() {
    let (dir, spool, down) = alert_spooled("drain");
    assert_eq!(spooled(&spool).len(), 1);

    let status = check_spool(&spool, &[]);
    assert_eq!(status.code, Some(1), "{}", status.all());
    assert_eq!(status.stdout.lines().count(), 1);
    assert!(status.stdout.contains("1 spooled"), "{}", status.stdout);
    assert!(status.stdout.contains("its last error, ") && status.stdout.contains("connect"), "{}", status.stdout);
    let critical = check_spool(&spool, &["--critical-count", "1"]);
    assert_eq!(critical.code, Some(2), "{}", critical.all());

    let server = standin();
    let other = classic("db01", "check_mysql", 2, &["0", "2"], "create", 1);
    let up = against(&server.url(), &spool).stdin(&other).run();
    assert_eq!(up.code, Some(0), "{}", up.all());
    let names: Vec<String> = server.incidents().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("web01/check_http"), "the spooled event goes first: {names:?}");
    assert!(names[1].starts_with("db01/check_mysql"), "{names:?}");
    assert!(spooled(&spool).is_empty());
    let ok = check_spool(&spool, &[]);
    assert_eq!(ok.code, Some(0), "{}", ok.all());
    assert_no_key(&[&down, &status, &critical, &up, &ok], &dir);
}

#[test]
fn a_spooled_key_makes_the_live_event_a_first_occurrence() {
    let (dir, spool, down) = alert_spooled("first-occurrence");
    // The live repeat (streak 2, between refreshes) comes while the spooled alert is
    // put off (its lookup is told to come back in 30 s: no create was sent for it).
    let server = standin();
    server.push_fault_times(Match::Next, Fault::respond(503, &[("retry-after", "30")], b"busy"), 1);
    let repeat = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).stdin(&repeat).run();
    // The repeat alone would be skipped (no request); as a first occurrence it creates.
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("created incident"), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), run.all());
    assert_no_key(&[&down, &run], &dir);
}

#[test]
fn a_recovery_supersedes_a_spooled_alert() {
    let dir = scratch("supersede");
    let spool = dir.join("spool");
    let down = closed_port_url();
    let alert = against(&down, &spool).stdin(&first_critical()).run();
    assert_eq!(alert.code, Some(75), "{}", alert.all());
    // The next run (server still down) drops the spooled alert: its recovery came.
    let recovery = against(&down, &spool).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(75), "{}", recovery.all());
    assert!(recovery.stdout.contains("supersede"), "{}", recovery.stdout);
    let entries = spooled(&spool);
    assert_eq!(entries.len(), 1, "only the recovery waits");
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&entries[0]).unwrap()).unwrap();
    assert_eq!(entry["recovery"], true);

    let server = standin();
    let run = replay(&server.url(), &spool);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 0, "the superseded alert was delivered: {:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    assert_no_key(&[&alert, &recovery, &run], &dir);
}

#[test]
fn replay_dead_letters_a_refused_entry_and_check_spool_reports_it() {
    let (dir, spool, down) = alert_spooled("dead");

    let server = standin();
    server.push_fault(Match::exact("POST", "/api/v1/incidents"), Fault::validation("detection", "invalid"));
    let run = replay(&server.url(), &spool);
    assert_eq!(run.code, Some(0), "the spool is empty afterwards: {}", run.all());
    assert!(spooled(&spool).is_empty());
    assert_eq!(dead(&spool).len(), 1, "{}", run.all());
    assert!(server.incidents().is_empty());

    let status = check_spool(&spool, &[]);
    assert_eq!(status.code, Some(1), "{}", status.all());
    assert!(status.stdout.contains("1 dead-lettered"), "{}", status.stdout);

    // After fixing what refused it, `replay --dead` delivers it.
    let again = {
        let mut handler = against(&server.url(), &spool);
        handler.args(["replay", "--dead"]);
        handler.run()
    };
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert_eq!(server.incidents().len(), 1);
    assert!(dead(&spool).is_empty());
    assert_no_key(&[&down, &run, &status, &again], &dir);
}

#[test]
fn replay_keeps_entries_while_the_server_is_down() {
    let dir = scratch("replay-down");
    let spool = dir.join("spool");
    let down = closed_port_url();
    let first = against(&down, &spool).stdin(&first_critical()).run();
    assert_eq!(first.code, Some(75));
    let run = replay(&down, &spool);
    assert_eq!(run.code, Some(75), "{}", run.all());
    let entries = spooled(&spool);
    assert_eq!(entries.len(), 1);
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&entries[0]).unwrap()).unwrap();
    assert_eq!(entry["attempts"], 2);
    assert_no_key(&[&first, &run], &dir);
}

#[test]
fn when_even_the_spool_fails_the_event_goes_to_stderr() {
    let dir = scratch("no-spool");
    let spool = unwritable_spool(&dir);
    let event = first_critical();
    let run = against(&closed_port_url(), &spool).stdin(&event).run();
    assert_eq!(run.code, Some(74), "{}", run.all());
    assert!(run.stderr.contains(std::str::from_utf8(&event).unwrap()), "the event survives in the log: {}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_no_key(&[&run], &dir);
}

/// A first critical meets an outage and is spooled: the scratch directory, the spool
/// and the run.
fn alert_spooled(name: &str) -> (Scratch, std::path::PathBuf, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let run = against(&closed_port_url(), &spool).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    (dir, spool, run)
}

/// A first critical the server refuses for good (a validation error on the create):
/// the scratch directory, the spool, the stand-in and the run, its alert dead-lettered.
fn alert_dead_lettered(name: &str) -> (Scratch, std::path::PathBuf, sensu_reactio_tests::Standin, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let server = standin();
    server.push_fault(Match::exact("POST", "/api/v1/incidents"), Fault::validation("detection", "invalid"));
    let refused = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(refused.code, Some(75), "{}", refused.all());
    assert_eq!(dead(&spool).len(), 1, "{}", refused.all());
    (dir, spool, server, refused)
}

/// A first critical creates the incident; its recovery meets an outage and waits in
/// the spool: the scratch directory, the spool, the stand-in and both runs.
fn created_then_recovery_spooled(name: &str) -> (Scratch, std::path::PathBuf, sensu_reactio_tests::Standin, Run, Run) {
    let dir = scratch(name);
    let spool = dir.join("spool");
    let server = standin();
    let first = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    let recovery = against(&closed_port_url(), &spool).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(75), "{}", recovery.all());
    // Spool times are whole seconds: what follows arrives in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    (dir, spool, server, first, recovery)
}

#[test]
fn a_spooled_recovery_waits_while_its_check_fails_again() {
    let (dir, spool, server, first, recovery) = created_then_recovery_spooled("stale-recovery");
    // The check fails again and Reactio asks the live event to wait longer than the run
    // has: the failure is spooled too, and the recovery was not sent before it.
    server.push_fault_times(Match::Next, Fault::respond(503, &[("retry-after", "30")], b"busy"), 1);
    let again = classic("web01", "check_http", 2, &["0", "2", "0", "2"], "create", 1);
    let run = against(&server.url(), &spool).stdin(&again).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert_eq!(spooled(&spool).len(), 2, "{}", run.all());
    // The replay sends the failure (the recovery before it is superseded): the incident
    // of the failure going on is never closed.
    let replayed = replay(&server.url(), &spool);
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(replayed.stdout.contains("dropped a spooled recovery"), "{}", replayed.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_eq!(closes(&server), 0, "{:?}", lines(&server));
    assert_no_key(&[&first, &recovery, &run, &replayed], &dir);
}

#[test]
fn handlers_sharing_a_spool_deliver_only_their_own_entries() {
    // Team A's handler spools its alert during an outage.
    let (dir, spool, kept) = alert_spooled("shared");
    // Team B's handler (its own project key) runs next with the same spool directory.
    const KEY_B: &str = "sk-e2e-team-b-0a1b2c3d4e5f";
    let server_b = sensu_reactio_tests::standin::Config::default().api_key(KEY_B).start().expect("stand-in b");
    let mut team_b = against(&server_b.url(), &spool);
    team_b.env("REACTIO_API_KEY", KEY_B);
    let disk = classic("db01", "check_disk", 2, &["0", "2"], "create", 1);
    let run = team_b.stdin(&disk).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stderr.contains("kept by another handler configuration"), "{}", run.all());
    assert!(!lines(&server_b).iter().any(|l| l.contains("web01")), "team a's event went to b: {:?}", lines(&server_b));
    assert_eq!(spooled(&spool).len(), 1, "{}", run.all());
    // Team B's check-spool says so; one without the key (an agent's check) cannot tell.
    let mut check_b = handler();
    check_b.env("REACTIO_API_KEY", KEY_B).args(["check-spool", "--spool-dir", path_str(&spool)]);
    let status_b = check_b.run();
    assert!(status_b.stdout.contains("1 of them kept by another handler configuration"), "{}", status_b.all());
    let status = check_spool(&spool, &[]);
    assert!(!status.stdout.contains("another handler configuration"), "{}", status.all());
    assert!(status.stdout.contains(" s ago: "), "{}", status.all());
    // Team A's next run delivers it.
    let server_a = standin();
    let run = replay(&server_a.url(), &spool);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server_a), 1, "{:?}", lines(&server_a));
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    assert_no_key(&[&kept, &run, &status_b, &status], &dir);
}

#[test]
fn a_recovery_retires_a_dead_lettered_alert_for_its_check() {
    let (dir, spool, server, refused) = alert_dead_lettered("dead-recovered");
    // The check recovers: there is no incident to close, and the refused alert is stale.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let recovery = against(&server.url(), &spool).stdin(&resolve()).run();
    assert_eq!(recovery.code, Some(0), "{}", recovery.all());
    assert!(recovery.stdout.contains("dropped a dead-lettered alert"), "{}", recovery.all());
    assert!(dead(&spool).is_empty(), "{}", recovery.all());
    // So `replay --dead` opens no incident for a check that is fine.
    let mut handler = against(&server.url(), &spool);
    let again = handler.args(["replay", "--dead"]).run();
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(server.incidents().is_empty(), "{:?}", server.incidents());
    assert_no_key(&[&refused, &recovery, &again], &dir);
}

#[test]
fn replay_dead_says_what_it_leaves_for_another_configuration() {
    let (dir, spool, server, refused) = alert_dead_lettered("dead-other-team");
    // Another team's handler (its own key) replays the dead letters of the shared spool:
    // it leaves team a's, and says so.
    const KEY_B: &str = "sk-e2e-team-b-0a1b2c3d4e5f";
    let server_b = sensu_reactio_tests::standin::Config::default().api_key(KEY_B).start().expect("stand-in b");
    let mut team_b = against(&server_b.url(), &spool);
    team_b.env("REACTIO_API_KEY", KEY_B);
    let run = team_b.args(["replay", "--dead"]).run();
    // It did not send all it was asked to: exit 75, and its line counts what it left.
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stderr.contains("left 1 dead-lettered entries in"), "{}", run.all());
    assert!(run.stdout.contains("1 left dead-lettered for another configuration"), "{}", run.all());
    assert!(run.stderr.contains("`replay --dead --adopt`"), "{}", run.all());
    assert_eq!(dead(&spool).len(), 1, "{}", run.all());
    assert!(lines(&server_b).is_empty(), "team a's event went to b: {:?}", lines(&server_b));
    // Team a's own replay sends it.
    let mut team_a = against(&server.url(), &spool);
    let again = team_a.args(["replay", "--dead"]).run();
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(dead(&spool).is_empty(), "{}", again.all());
    assert_eq!(server.incidents().len(), 1, "{:?}", lines(&server));
    assert_no_key(&[&refused, &run, &again], &dir);
}

#[test]
fn a_delivered_failure_keeps_a_spooled_alert_of_its_check() {
    // An alert waits in the spool (it may carry an escalation's call)...
    let (dir, spool, kept) = alert_spooled("keeps-alert");
    // ...and a later failure of the same check is delivered while the spool's turn
    // is put off: the spooled alert is not the later one's to drop.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let server = standin();
    server.push_fault_times(Match::Next, Fault::respond(503, &[("retry-after", "30")], b"busy"), 1);
    let repeat = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).stdin(&repeat).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", run.all());
    assert_no_key(&[&kept, &run], &dir);
}

#[test]
fn a_live_failure_supersedes_a_spooled_recovery_before_the_drain_sends_it() {
    let (dir, spool, server, first, recovery) = created_then_recovery_spooled("drain-stale-recovery");
    // Reactio is back and the check fails again: the spooled recovery is older than the
    // failure going on, so the drain drops it instead of closing the incident.
    let again = classic("web01", "check_http", 2, &["0", "2", "0", "2"], "create", 1);
    let run = against(&server.url(), &spool).stdin(&again).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("dropped a spooled recovery"), "{}", run.all());
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    assert_eq!(closes(&server), 0, "{:?}", lines(&server));
    assert_no_key(&[&first, &recovery, &run], &dir);
}

#[test]
fn a_spooled_recovery_is_sent_when_the_failure_after_it_is_not_acted_on() {
    let (dir, spool, server, first, recovery) = created_then_recovery_spooled("silenced-after-recovery");
    // The check fails again, silenced: nothing is delivered for it, so the recovery
    // still waits, and the replay sends it (the incident closes).
    let mut silenced: serde_json::Value =
        serde_json::from_slice(&classic("web01", "check_http", 2, &["0", "2", "0", "2"], "create", 1)).unwrap();
    silenced["silenced"] = serde_json::json!(true);
    let run = against(&server.url(), &spool).stdin(silenced.to_string().as_bytes()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", run.all());
    let replayed = replay(&server.url(), &spool);
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(closes(&server), 1, "{:?}", lines(&server));
    assert_no_key(&[&first, &recovery, &run, &replayed], &dir);
}

#[test]
fn replay_as_root_refuses_a_spool_that_belongs_to_another_user() {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let (dir, spool, kept) = alert_spooled("root-replay");
    if !root {
        // Only root can give the spool away (and only root is refused).
        return;
    }
    std::os::unix::fs::chown(&spool, Some(65534), Some(65534)).unwrap();
    let server = standin();
    let mut handler = against(&server.url(), &spool);
    let run = handler.args(["replay"]).run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    assert!(run.stderr.contains("belongs to uid 65534"), "{}", run.all());
    assert!(run.stderr.contains(r##"sudo -u "#65534""##), "{}", run.all());
    assert!(lines(&server).is_empty(), "{:?}", lines(&server));
    assert_eq!(spooled(&spool).len(), 1, "{}", run.all());
    assert_no_key(&[&kept, &run], &dir);
}

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
/// server applies after a second and a half, and the run's share of the deadline cuts
/// it off first: the entry is kept, its create unconfirmed, with the live event behind
/// it. The scratch directory, the spool, the run that kept the alert, the stand-in and
/// the run that cut off.
fn create_cut_off_while_applied(name: &str) -> (Scratch, std::path::PathBuf, Run, sensu_reactio_tests::Standin, Run) {
    let (dir, spool, kept) = alert_spooled(name);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(1500));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let again = classic("web01", "check_http", 2, &["0", "2", "2"], "create", 2);
    let run = against(&server.url(), &spool).args(["--deadline", "2"]).stdin(&again).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stdout.contains("whose create was sent but not confirmed"), "{}", run.all());
    (dir, spool, kept, server, run)
}

#[test]
fn the_run_after_an_unconfirmed_create_waits_before_looking_it_up() {
    // The drain's create is cut off by its share of the deadline while the server is
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
    let pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let killed = std::thread::scope(|s| {
        let mut handler = against(&server.url(), &spool);
        handler.args(["--deadline", "6", "replay"]).report_pid(std::sync::Arc::clone(&pid));
        let run = s.spawn(move || handler.run());
        until_a_create_arrives(&server);
        let pid = pid.load(std::sync::atomic::Ordering::SeqCst).to_string();
        let sent = std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -KILL {pid}");
        run.join().expect("the killed run")
    });
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
fn a_passing_result_spooled_after_a_recovery_does_not_drop_it() {
    // A passing result that is not a recovery (ok after ok: a Classic `create` with
    // status 0 here, a Go event without `action` in the wild), kept behind its check's
    // spooled recovery, counted as a failure: the recovery was dropped as superseded
    // and the incident stayed open for good.
    let (dir, spool, server, first, recovery) = created_then_recovery_spooled("passing-after-recovery");
    let passing = classic("web01", "check_http", 0, &["2", "0", "0"], "create", 2);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    keep_by_hand(&spool, passing, nanos, serde_json::json!({"passing": true}));
    let replayed = replay(&server.url(), &spool);
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(!replayed.stdout.contains("supersedes"), "{}", replayed.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert!(spooled(&spool).is_empty(), "{}", replayed.all());
    assert_no_key(&[&first, &recovery, &replayed], &dir);
}

#[test]
fn spooled_events_go_in_the_order_they_arrived_and_wait_for_their_checks_run() {
    // A first critical's run waits on a slow create (the server applies it after 2.5 s)
    // and spools it when its deadline passes; its recovery, arriving meanwhile, waits
    // for the check's lock, gives up first and is spooled first. A replay during the
    // first run leaves the recovery alone; the replay after sends the critical first
    // (it arrived first), then the recovery, which closes the incident.
    let dir = scratch("arrival-order");
    let spool = dir.join("spool");
    let server = standin();
    let slow = Fault::Delay(std::time::Duration::from_millis(2500));
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), slow, 1);
    let (first, recovery, early) = std::thread::scope(|s| {
        let first = s.spawn(|| against(&server.url(), &spool).args(["--deadline", "2"]).stdin(&first_critical()).run());
        until_a_create_arrives(&server);
        let recovery = against(&server.url(), &spool).args(["--deadline", "1"]).stdin(&resolve()).run();
        let early = against(&server.url(), &spool).args(["replay"]).run();
        (first.join().expect("the first run"), recovery, early)
    });
    assert_eq!(first.code, Some(75), "{}", first.all());
    assert_eq!(recovery.code, Some(75), "{}", recovery.all());
    assert!(early.stdout.contains("another run is delivering an event of its check"), "{}", early.all());
    assert_eq!(closes(&server), 0, "{:?}", lines(&server));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let replayed = against(&server.url(), &spool).args(["--deadline", "6", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(creates(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert_eq!(closes(&server), 1, "{:?}\n{}", lines(&server), replayed.all());
    assert!(server.incidents().iter().all(|i| i.status == "close"), "{:?}", server.incidents());
    assert_no_key(&[&first, &recovery, &early, &replayed], &dir);
}

#[test]
fn a_spooled_create_that_landed_is_not_broadcast_again_as_an_escalation() {
    // A critical after a warning the settings do not act on: the create lands but its
    // answer is lost, and the 2 s wait before its lookup does not fit the deadline, so
    // the event is spooled. The replay's lookup finds the incident that create made:
    // without knowing it was its own, it took the critical for an escalation of an
    // open incident and broadcast (and called) a second time.
    let dir = scratch("landed-create");
    let spool = dir.join("spool");
    let server = standin();
    let lost = Fault::ActThen(sensu_reactio_tests::standin::AfterAct::Reset);
    server.push_fault_times(Match::exact("POST", "/api/v1/incidents"), lost, 1);
    let critical = classic("web01", "check_http", 2, &["0", "1", "2"], "create", 1);
    let run = against(&server.url(), &spool).args(["--deadline", "2", "--call", "critical"]).stdin(&critical).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    let replayed = against(&server.url(), &spool).args(["--deadline", "6", "--call", "critical", "replay"]).run();
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert!(replayed.stdout.contains("confirmed by a lookup"), "{}", replayed.all());
    let notifications = lines(&server).iter().filter(|l| *l == "POST /api/v1/notifications").count();
    assert_eq!((creates(&server), notifications), (1, 0), "{:?}\n{}", lines(&server), replayed.all());
    assert_no_key(&[&run, &replayed], &dir);
}

#[test]
fn an_alert_kept_for_want_of_an_organization_is_sent_by_replay_dead_adopt_once_it_is_set() {
    let server = standin();
    let dir = scratch("no-organization");
    let spool = dir.join("spool");
    let (settings_dir, settings) = empty_settings();
    let unset = handler()
        .env("REACTIO_API_KEY", KEY)
        .args(["--config", path_str(&settings), "--spool-dir", path_str(&spool), "--deadline", DEADLINE])
        .stdin(&first_critical())
        .run();
    assert_eq!(unset.code, Some(78), "{}", unset.all());
    assert_eq!(dead(&spool).len(), 1);
    // Its line says what sends it once the organization is set (kept under none, it is
    // no team's: only an adopting replay sends it).
    assert!(
        unset
            .stdout
            .contains("(`replay --dead --adopt` sends it once the organization is set: it was kept under none)"),
        "{}",
        unset.all()
    );
    // Nothing sends a dead letter on its own; replay says where they wait.
    let waiting = replay(&server.url(), &spool);
    assert!(waiting.all().contains("1 dead-lettered events wait in"), "{}", waiting.all());
    // The organization set (and the endpoint, the stand-in's): it was kept under no
    // project, so `replay --dead` says it leaves it to `--adopt` (another team sharing
    // the spool must not send it to its own project), which sends it.
    let fixed = against(&server.url(), &spool).args(["replay", "--dead", "--organization", "demo"]).run();
    assert!(fixed.all().contains("`replay --dead --adopt` sends them"), "{}", fixed.all());
    assert_eq!(fixed.code, Some(75), "left for --adopt, not all sent: {}", fixed.all());
    assert!(server.incidents().is_empty());
    // check-spool, with the organization set, names `--adopt` too (it said `replay
    // --dead` alone, which sends nothing here).
    let status = check_spool(&spool, &["--organization", "demo"]);
    assert!(status.stdout.contains("only `replay --dead --adopt` sends those"), "{}", status.all());
    let fixed = against(&server.url(), &spool).args(["replay", "--dead", "--adopt", "--organization", "demo"]).run();
    assert_eq!(fixed.code, Some(0), "{}", fixed.all());
    assert_eq!(server.incidents().len(), 1, "{}", fixed.all());
    assert!(dead(&spool).is_empty());
    drop(settings_dir);
    assert_no_key(&[&unset, &waiting, &fixed], &dir);
}

#[test]
fn replay_leaves_what_was_kept_under_other_settings_for_the_handler() {
    let dir = scratch("replay-settings");
    let spool = dir.join("spool");
    let down = closed_port_url();
    // The handler's own run (with `call: critical`) keeps the first critical.
    let kept = against(&down, &spool).env("REACTIO_CALL", "critical").stdin(&first_critical()).run();
    assert_eq!(kept.code, Some(75), "{}", kept.all());
    let server = standin();
    // A replay typed without the handler's REACTIO_CALL would create without the call.
    let bare = replay(&server.url(), &spool);
    assert_eq!(bare.code, Some(75), "{}", bare.all());
    assert!(bare.all().contains("kept under other settings than this replay's (`call`)"), "{}", bare.all());
    assert!(server.incidents().is_empty());
    assert_eq!(spooled(&spool).len(), 1);
    // With the handler's environment, it goes out as the handler would have sent it.
    let same = against(&server.url(), &spool).env("REACTIO_CALL", "critical").args(["replay"]).run();
    assert_eq!(same.code, Some(0), "{}", same.all());
    assert_eq!(server.incidents().len(), 1);
    assert!(server.notifications().iter().any(|n| n.notification_call), "{:?}", server.notifications());
    assert_no_key(&[&kept, &bare, &same], &dir);
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

#[test]
fn root_in_another_users_spool_does_only_what_that_user_could() {
    // Root's run followed what the spool's owner can put there: a check's lock that is
    // a symlink to a root file was opened and given to that user (chown follows
    // symlinks), and the records' folder pointing elsewhere had root remove files there.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        // Only root can give the spool away (and only root could be led astray).
        return;
    }
    let dir = scratch("root-foreign");
    let spool = dir.join("spool");
    let victim = dir.join("victim.conf");
    std::fs::write(&victim, "root's, not to be touched\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let old = elsewhere.join("old.json");
    std::fs::write(&old, "{}").unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options().write(true).open(&old).and_then(|f| f.set_modified(two_days_ago)).unwrap();
    let digest = sensu_reactio_host::spool::key_digest("web01/check_http");
    std::fs::create_dir_all(spool.join(".keys")).unwrap();
    std::os::unix::fs::symlink(&victim, spool.join(format!(".keys/{digest:016x}.lock"))).unwrap();
    std::os::unix::fs::symlink(&elsewhere, spool.join(".latest")).unwrap();
    for path in [spool.clone(), spool.join(".keys")] {
        std::os::unix::fs::lchown(&path, Some(65534), Some(65534)).unwrap();
    }
    let server = standin();
    let run = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's, not to be touched\n");
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0, "{}", run.all());
    assert!(old.exists(), "{}", run.all());
    // What it kept there is that user's own.
    let down = against(&closed_port_url(), &spool).stdin(&resolve()).run();
    assert_eq!(down.code, Some(75), "{}", down.all());
    let kept = spooled(&spool);
    assert_eq!(kept.len(), 1, "{}", down.all());
    assert_eq!(std::fs::metadata(&kept[0]).unwrap().uid(), 65534);
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0, "{}", down.all());
    assert_no_key(&[&run, &down], &dir);
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
    let pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let killed = std::thread::scope(|s| {
        let mut handler = against(&server.url(), &spool);
        handler.args(BOTH).args(["--deadline", "6", "replay"]).report_pid(std::sync::Arc::clone(&pid));
        let run = s.spawn(move || handler.run());
        let started = std::time::Instant::now();
        while broadcasts(&server) == 0 && started.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let pid = pid.load(std::sync::atomic::Ordering::SeqCst).to_string();
        let sent = std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -KILL {pid}");
        run.join().expect("the killed run")
    });
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
fn root_in_another_users_spool_still_reads_its_own_ca_file() {
    // Taking the spool owner's identity before the client was built, root could not
    // read a `ca_file` only root may read: exit 78, the event dead-lettered.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let bundle = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !root || !bundle.is_file() {
        // Only root can give the spool away; the CA needs some real certificates.
        return;
    }
    let dir = scratch("root-foreign-ca");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::os::unix::fs::chown(&spool, Some(65534), Some(65534)).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::copy(bundle, &ca).unwrap();
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = standin();
    let run = against(&server.url(), &spool).args(["--ca-file", path_str(&ca)]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_no_key(&[&run], &dir);
}
