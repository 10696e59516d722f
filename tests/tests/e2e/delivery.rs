//! The everyday paths: create, dedup, refresh, resolve, output formats.

use sensu_reactio_tests::standin::Config;
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn first_critical_creates_one_incident_and_prints_its_url() {
    let server = standin();
    let dir = scratch("create");
    let spool = dir.join("spool");
    let run = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    let incident = &server.incidents()[0];
    assert!(incident.name.starts_with("web01/check_http"), "{}", incident.name);
    assert_eq!(run.stdout.lines().count(), 1, "one line per event: {}", run.stdout);
    assert!(run.stdout.contains(&format!("/incident/{}", incident.id)), "{}", run.stdout);
    assert!(run.stdout.contains("web01/check_http"), "{}", run.stdout);
    assert_key_sent(&server);
    assert!(spooled(&spool).is_empty());
    assert_no_key(&[&run], &dir);
}

#[test]
fn an_endpoint_given_by_name_is_resolved_and_delivered_to() {
    // The handler's own resolver (host/src/resolve.rs), not reqwest's: `localhost`
    // comes from the system's hosts file.
    let server = standin();
    let dir = scratch("by-name");
    let by_name = server.url().replacen("127.0.0.1", "localhost", 1);
    assert!(by_name.contains("://localhost:"), "{by_name}");
    let run = against(&by_name, &dir.join("spool")).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_localhost_endpoint_this_machine_cannot_resolve_is_said_with_its_fix() {
    // An empty /etc/hosts (a slim container image, provisioning half done): getaddrinfo
    // said only "temporary failure in name resolution", naming neither the file nor
    // the setting. The run's own mount namespace hides /etc/hosts, and /etc/resolv.conf
    // too, so the lookup asks no server but 127.0.0.1's; that needs root.
    if !as_root("to hide /etc/hosts in a mount namespace") {
        return;
    }
    let server = standin();
    let dir = scratch("no-hosts");
    let spool = dir.join("spool");
    let empty = dir.join("empty");
    std::fs::write(&empty, "").expect("an empty file");
    let hide = "mount --bind \"$0\" /etc/hosts && mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"";
    let unshared = ["unshare", "-m", "sh", "-c", hide, path_str(&empty)];
    let by_name = server.url().replacen("127.0.0.1", "localhost", 1);
    let run = against_under(&by_name, &spool, &unshared).args(["--deadline", "2"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.all().contains("/etc/hosts has no line for it") && run.all().contains("127.0.0.1"), "{}", run.all());
    assert_eq!(spooled(&spool).len(), 1, "the event is kept: {}", run.all());
    assert_eq!(creates(&server), 0, "{:?}", lines(&server));
    assert_no_key(&[&run], &dir);
}

#[test]
fn lookup_and_create_share_one_connection() {
    let server = standin();
    let dir = scratch("keepalive");
    let run = against(&server.url(), &dir.join("spool")).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let connections: std::collections::BTreeSet<u64> = server.requests().iter().map(|r| r.connection).collect();
    assert_eq!(
        connections.len(),
        1,
        "{:?}",
        server.requests().iter().map(|r| (r.connection, r.line())).collect::<Vec<_>>()
    );
}

#[test]
fn second_event_posts_to_the_timeline_without_a_second_incident() {
    let server = standin();
    let dir = scratch("dedup");
    let spool = dir.join("spool");
    let first = against(&server.url(), &spool).stdin(&first_critical()).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    // The next result says something new (a downgrade to warning): posted to the
    // incident the first opened. (The same result delivered twice is that create's own.)
    let change = classic("web01", "check_http", 1, &["0", "0", "2", "1"], "create", 1);
    let second = against(&server.url(), &spool).stdin(&change).run();
    assert_eq!(second.code, Some(0), "{}", second.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert_eq!(server.incidents().len(), 1);
    let id = server.incidents()[0].id;
    assert!(lines(&server).iter().any(|l| l == "POST /api/v1/messages"), "{:?}", lines(&server));
    assert!(!server.messages_for(id).is_empty());
    assert!(second.stdout.contains(&format!("/incident/{id}")), "{}", second.stdout);
    assert_no_key(&[&first, &second], &dir);
}

#[test]
fn a_check_still_failing_at_refresh_notifies_again() {
    let server = standin();
    // Opened at the first result, three minutes ago (one made moments ago would be
    // taken for this run's own create, and not re-notified).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let seed = sensu_reactio_tests::standin::Seed::open("web01/check_http CheckHttp CRITICAL: Connection refused ...")
        .created_at(now - 180);
    let id = server.seed(seed);
    let dir = scratch("refresh");
    // interval 60, refresh 120: every 2nd result past the threshold re-notifies;
    // streak 3 with occurrences 1 is (3 - 1) % 2 == 0.
    let event = classic_with("web01", "check_http", 2, &["0", "2", "2", "2"], "create", 3, json!({"refresh": 120}));
    let run = against(&server.url(), &dir.join("spool")).stdin(&event).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 0, "{:?}", lines(&server));
    let notifications = server.notifications();
    assert_eq!(notifications.len(), 1, "{:?}", lines(&server));
    assert_eq!(notifications[0].incident_id, id);
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_still_failing_check_between_refreshes_sends_nothing() {
    let server = standin();
    let dir = scratch("between");
    let event = classic_with("web01", "check_http", 2, &["0", "2", "2"], "create", 2, json!({"refresh": 1800}));
    let run = against(&server.url(), &dir.join("spool")).stdin(&event).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(lines(&server).is_empty(), "{:?}", lines(&server));
    assert!(run.stdout.contains("web01/check_http"), "the skip line names the key: {}", run.stdout);
}

#[test]
fn recovery_closes_the_unattended_incident() {
    let server = standin();
    let id = server.seed_open("web01/check_http CheckHttp CRITICAL: Connection refused ...");
    let dir = scratch("resolve");
    let run = against(&server.url(), &dir.join("spool")).stdin(&resolve()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.incident(id).unwrap().status, "close", "{:?}", lines(&server));
    assert!(lines(&server).contains(&format!("POST /api/v1/incidents/{id}/status")), "{:?}", lines(&server));
    assert!(!server.messages_for(id).is_empty(), "the recovery is posted to the timeline");
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_server_that_numbers_pages_from_zero_has_its_first_page_read() {
    // To such a server `page=1` is the second page: asked first, it hid every incident
    // and the recovery closed nothing (docs/reliability.md finding 68).
    let server = standin_with(Config::default().pages_from_zero());
    let other = server.seed_open("db01/disk full");
    let id = server.seed_open("web01/check_http CheckHttp CRITICAL: Connection refused ...");
    let dir = scratch("pages-from-zero");
    let run = against(&server.url(), &dir.join("spool")).stdin(&resolve()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.incident(id).unwrap().status, "close", "{:?}", lines(&server));
    assert_eq!(server.incident(other).unwrap().status, "open", "{:?}", lines(&server));
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_project_without_phone_calls_still_gets_its_incident_and_broadcast() {
    // A create asking for a call, refused 403 by a key that had just listed incidents,
    // was taken for a refused key: exit 78 and the alert dead-lettered, nobody told.
    let server = standin_with(Config::default().without_phone_calls());
    let dir = scratch("no-phone-calls");
    let run = against(&server.url(), &dir.join("spool")).args(["--call", "critical"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.all().contains("without the phone call"), "{}", run.all());
    let open = server.open_incidents();
    assert_eq!(open.len(), 1, "{:?}", lines(&server));
    let notifications = server.notifications();
    assert_eq!(notifications.len(), 1, "{:?}", lines(&server));
    assert!(!notifications[0].notification_call);
    assert!(spooled(&dir.join("spool")).is_empty());
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_server_that_keeps_names_once_used_still_gets_the_next_failures_incident() {
    // The check fails, recovers (its incident closed) and fails again the same way: a
    // server that keeps names unique answered the second create 409, and the alert was
    // rejected and dead-lettered, nobody told.
    let server = standin_with(Config::default().unique_names());
    let dir = scratch("unique-names");
    let spool = dir.join("spool");
    for (event, code) in [(first_critical(), 0), (resolve(), 0), (first_critical(), 0)] {
        let run = against(&server.url(), &spool).args(["--call", "critical"]).stdin(&event).run();
        assert_eq!(run.code, Some(code), "{}", run.all());
        assert_no_key(&[&run], &dir);
    }
    let incidents = server.incidents();
    assert_eq!(incidents.len(), 2, "{:?}", lines(&server));
    let open = server.open_incidents();
    assert_eq!(open.len(), 1, "{:?}", lines(&server));
    let first = &incidents.iter().find(|i| i.status == "close").unwrap().name;
    assert!(open[0].name.starts_with(&format!("{first} (")) && open[0].name.ends_with("Z)"), "{}", open[0].name);
    let calls = server.notifications().iter().filter(|n| n.notification_call).count();
    assert_eq!(calls, 2, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty());
}

#[test]
fn json_output_is_the_outcome() {
    let server = standin();
    let dir = scratch("json");
    let run = against(&server.url(), &dir.join("spool")).args(["--output", "json"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let value: Value = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(value["result"], "handled");
    assert_eq!(value["key"], "web01/check_http");
    assert_eq!(value["incident"]["id"], server.incidents()[0].id);
    assert_eq!(value["exit_code"], 0);
}

#[test]
fn a_warning_is_skipped_without_any_request() {
    let server = standin();
    let dir = scratch("warning");
    let event = classic("web01", "check_disk", 1, &["0", "1"], "create", 1);
    let run = against(&server.url(), &dir.join("spool")).stdin(&event).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.connection_count(), 0);
    assert!(run.stdout.contains("web01/check_disk"), "{}", run.stdout);
}
