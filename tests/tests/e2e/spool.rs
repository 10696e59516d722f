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
    server.push_fault(Match::exact("POST", "/api/v1/incidents"), Fault::validation("cause", "missing_field"));
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
fn an_entry_the_server_keeps_failing_on_does_not_hold_up_other_checks() {
    // Two checks' alerts spooled while Reactio was down; then the first one's attempt
    // fails (500s until its run's time is up) while the server takes the second: the
    // drain had stopped at the first, for as long as the server failed on it.
    let dir = scratch("head-of-line");
    let spool = dir.join("spool");
    let down = closed_port_url();
    let web = against(&down, &spool).stdin(&first_critical()).run();
    let db = against(&down, &spool).stdin(&classic("db01", "check_mysql", 2, &["0", "2"], "create", 1)).run();
    assert_eq!((web.code, db.code), (Some(75), Some(75)), "{}\n{}", web.all(), db.all());
    let server = standin();
    server.push_fault_times(Match::prefix("GET", "/api/v1/incidents"), Fault::internal_error(), 3);
    let run = replay(&server.url(), &spool);
    assert_eq!(run.code, Some(75), "the first is still kept: {}", run.all());
    let names: Vec<String> = server.incidents().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 1, "{names:?}\n{}", run.all());
    assert!(names[0].starts_with("db01/check_mysql"), "{names:?}");
    let left = spooled(&spool);
    assert_eq!(left.len(), 1);
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&left[0]).unwrap()).unwrap();
    assert_eq!(entry["key"], "web01/check_http");
    assert_no_key(&[&web, &db, &run], &dir);
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
pub(crate) fn alert_spooled(name: &str) -> (Scratch, std::path::PathBuf, Run) {
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
    server.push_fault(Match::exact("POST", "/api/v1/incidents"), Fault::validation("cause", "missing_field"));
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
    let root = is_root();
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
    // Worded as every configuration error is (finding 61).
    assert!(unset.stdout.starts_with("reactio: configuration error: the default connection:"), "{}", unset.all());
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
fn root_in_another_users_spool_does_only_what_that_user_could() {
    // Root's run followed what the spool's owner can put there: a check's lock that is
    // a symlink to a root file was opened and given to that user (chown follows
    // symlinks), and the records' folder pointing elsewhere had root remove files there.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = is_root();
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

#[test]
fn root_in_another_users_spool_still_reads_its_own_ca_file() {
    // Taking the spool owner's identity before the client was built, root could not
    // read a `ca_file` only root may read: exit 78, the event dead-lettered.
    use std::os::unix::fs::PermissionsExt;
    let root = is_root();
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

#[test]
fn replay_dead_says_so_when_a_dead_letter_cannot_be_moved_back() {
    // `replay --dead` that could not move a dead letter back (a folder it cannot write)
    // said only a warning and exited 0: a script or a person trusting the code took the
    // alert as sent. The move is made to fail by a non-empty directory in its way.
    let (dir, spool, server, refused) = alert_dead_lettered("replay-dead-unmovable");
    let letter = dead(&spool).pop().expect("the dead letter");
    let in_the_way = spool.join(letter.file_name().unwrap());
    std::fs::create_dir_all(in_the_way.join("x")).unwrap();
    let run = against(&server.url(), &spool).args(["replay", "--dead"]).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stderr.contains("could not move 1 dead-lettered entries back into the spool"), "{}", run.all());
    assert!(run.stdout.contains("1 left dead-lettered (the warnings above say why)"), "{}", run.all());
    assert_eq!(dead(&spool).len(), 1, "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_no_key(&[&refused, &run], &dir);
}
