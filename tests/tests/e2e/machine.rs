//! The handler on a sick or locked-down machine: a full disk, a spool it may not
//! change, no thread or DNS answer to spare. These tests mount, make namespaces or
//! run the handler as another user, so they need root (CI has it); without it they
//! say so and pass.

use sensu_reactio_tests::{Fault, Match};

use crate::support::*;

#[test]
fn a_spool_whose_entries_cannot_be_removed_sends_none_of_them_again() {
    // A spool folder made read-only for the handler's user (configuration management
    // resetting its mode) while an entry waits: each run delivered the entry, could not
    // remove it, and the next sent it again (twice a run: before and after its event).
    // Permission bits bind only a user other than root: the runs are `nobody`'s.
    if !as_root("to run the handler as another user") {
        return;
    }
    let nobody = NOBODY;
    let dir = scratch("unremovable");
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).expect("the spool");
    std::fs::write(spool.join(".lock"), "").expect("the lock");
    give_to_nobody(&spool);
    let server = standin();
    let first = against_under(&server.url(), &spool, &nobody).stdin(&first_critical()).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    server.push_fault_times(Match::exact("POST", "/api/v1/messages"), Fault::json(503, &serde_json::json!({})), 20);
    let downgrade = classic("web01", "check_http", 1, &["0", "2", "1"], "create", 2);
    let kept = against_under(&server.url(), &spool, &nobody).args(["--deadline", "1"]).stdin(&downgrade).run();
    assert_eq!(kept.code, Some(75), "{}", kept.all());
    assert_eq!(spooled(&spool).len(), 1, "{}", kept.all());
    server.clear_faults();
    let posts = |server: &sensu_reactio_tests::Standin| {
        lines(server).iter().filter(|l| l.as_str() == "POST /api/v1/messages").count()
    };
    let posted = posts(&server);
    let sealed = std::process::Command::new("chmod").args(["555", path_str(&spool)]).status();
    assert!(sealed.is_ok_and(|s| s.success()), "chmod the spool");
    let mut runs = vec![first, kept];
    for n in 1..=2 {
        let event = classic(&format!("db{n}"), "check_disk", 2, &["0", "2"], "create", 1);
        let run = against_under(&server.url(), &spool, &nobody).stdin(&event).run();
        assert_eq!(run.code, Some(0), "the live event goes: {}", run.all());
        // Said once, though the drains before and after the live event both meet it.
        assert_eq!(run.all().matches("entries cannot be removed").count(), 1, "{}", run.all());
        runs.push(run);
    }
    let _ = std::process::Command::new("chmod").args(["755", path_str(&spool)]).status();
    assert_eq!(posts(&server), posted, "the kept downgrade was never posted: {:?}", lines(&server));
    assert_eq!(spooled(&spool).len(), 1, "it waits for a folder it can be removed from");
    assert_no_key(&runs.iter().collect::<Vec<_>>(), &dir);
}

/// A wrapper that runs the handler in a mount namespace of its own with a tmpfs of
/// `size` over `spool`, `fill` bytes of it taken first (a disk nearly or quite full).
/// `None` without root, which mounting needs.
fn on_small_disk(spool: &std::path::Path, size: &str, fill: u64) -> Option<Vec<String>> {
    if !as_root("to mount a small file system") {
        return None;
    }
    std::fs::create_dir_all(spool).expect("the spool");
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs \"$0\" && {{ head -c {fill} /dev/zero > \"$0/.fill\" 2>/dev/null; exec \"$@\"; }}"
    );
    Some(["unshare", "-m", "sh", "-c", &script, path_str(spool)].map(str::to_owned).to_vec())
}

#[test]
fn check_spool_warns_of_a_disk_too_full_for_the_largest_event() {
    // Its probe writes 4 KiB: it said OK with 8 KiB free, where a 20 KiB event's entry
    // did not fit and the run could only write its event to the log (exit 74).
    let dir = scratch("small-disk");
    let spool = dir.join("spool");
    let Some(wrapper) = on_small_disk(&spool, "1m", 0) else { return };
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let (settings_dir, settings) = empty_settings();
    let mut check = handler_under(&wrapper);
    check.hold(settings_dir).args(["check-spool", "--spool-dir", path_str(&spool), "--config", path_str(&settings)]);
    let status = check.run();
    assert_eq!(status.code, Some(1), "{}", status.all());
    assert!(status.stdout.contains("KiB free on the disk that holds"), "{}", status.stdout);
    assert!(status.stdout.contains("free space on that disk"), "{}", status.stdout);
    let healthy = check_spool(&spool, &[]);
    assert_eq!(healthy.code, Some(0), "the test machine's own disk has room: {}", healthy.all());
}

#[test]
fn a_delivery_not_noted_for_a_full_disk_says_to_free_space() {
    // The warning advised making the records' folder writable, whatever the cause.
    let dir = scratch("full-disk");
    let spool = dir.join("spool");
    let Some(wrapper) = on_small_disk(&spool, "256k", 1 << 20) else { return };
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let server = standin();
    let run = against_under(&server.url(), &spool, &wrapper).stdin(&first_critical()).run();
    assert_eq!((run.code, creates(&server)), (Some(0), 1), "{}", run.all());
    assert!(run.stderr.contains("could not note the delivery for web01/check_http"), "{}", run.all());
    assert!(run.stderr.contains("free space (or inodes) on the disk"), "{}", run.all());
    assert!(!run.stderr.contains("can write"), "{}", run.all());
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_dns_server_that_never_answers_does_not_hold_a_run_without_threads_past_its_deadline() {
    // At its process limit the run could not start the resolver's thread and resolved
    // on its own, where its timers cannot fire: with one silent DNS server the run
    // took 10 s whatever its deadline, past Sensu Classic's kill, and the event was
    // lost. A network and mount namespace of the run's own holds the silent server on
    // 127.0.0.1:53 (its resolv.conf names only that), so no query leaves the machine.
    if !as_root("for the namespaces and to run as another user") {
        return;
    }
    let (dir, spool) = nobodys_spool("silent-dns");
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").expect("resolv.conf");
    let silent = "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 53)); time.sleep(15)";
    let script = format!(
        "ip link set lo up && mount --bind \"$0\" /etc/resolv.conf && {{ python3 -c \"{silent}\" </dev/null >/dev/null 2>&1 & sleep 0.3; exec {} prlimit --nproc=1 -- \"$@\"; }}",
        NOBODY.join(" ")
    );
    let wrapper = ["unshare", "-mn", "sh", "-c", &script, path_str(&resolv)];
    let started = std::time::Instant::now();
    let run = against_under("http://reactio.invalid:9", &spool, &wrapper)
        .args(["--allow-http", "--deadline", "2"])
        .stdin(&first_critical())
        .run();
    let took = started.elapsed();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(took < std::time::Duration::from_secs(6), "a 2 s deadline, but the run took {took:?}: {}", run.all());
    assert!(run.all().contains("process or thread limit"), "{}", run.all());
    assert_eq!(spooled(&spool).len(), 1, "the event is kept: {}", run.all());
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_name_this_machines_hosts_file_gives_is_reached_without_a_thread_to_resolve_it() {
    // At its process limit the run could resolve no name (finding 73 gave up on the
    // lookup without a thread), not even one /etc/hosts gives: every alert to such an
    // endpoint was kept, after four retries that met the same limit. The run's own
    // mount namespace holds a hosts file that names the stand-in.
    if !as_root("for the mount namespace and to run as another user") {
        return;
    }
    let server = standin();
    let (dir, spool) = nobodys_spool("hosts-no-thread");
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n127.0.0.1 reactio.test\n").expect("hosts");
    let script = format!("mount --bind \"$0\" /etc/hosts && exec {} prlimit --nproc=1 -- \"$@\"", NOBODY.join(" "));
    let wrapper = ["unshare", "-m", "sh", "-c", &script, path_str(&hosts)];
    let url = server.url().replace("127.0.0.1", "reactio.test");
    // The native engine: the wasm engine's timer needs a thread of its own (without
    // one, a machine error, as below).
    let args = ["--allow-http", "--engine", "native"];
    let run = against_under(&url, &spool, &wrapper).args(args).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.open_incidents().len(), 1, "{:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", run.all());
    // A name it does not give is a machine error at once: no retries into the limit
    // (and in a network namespace of its own, where no query could leave the machine).
    let started = std::time::Instant::now();
    let unknown = server.url().replace("127.0.0.1", "unknown.test");
    let isolated = ["unshare", "-mn", "sh", "-c", &script, path_str(&hosts)];
    let run = against_under(&unknown, &spool, &isolated).args(["--allow-http"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.all().contains("LimitNPROC"), "the advice keeps its case: {}", run.all());
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}: {}", started.elapsed(), run.all());
    assert_eq!(spooled(&spool).len(), 1, "the event is kept: {}", run.all());
    assert_no_key(&[&run], &dir);
}

#[test]
fn entries_of_another_user_in_a_sticky_spool_are_left_for_that_user() {
    // A spool folder like /tmp (mode 1777, root's) holding an entry a root run kept:
    // the handler's user could read it and send it, but not mark it nor remove it once
    // delivered (the sticky bit), so a spooled downgrade was posted again by every run,
    // and a spooled create was never sent ("not sent": its mark could not be written).
    // As kept (0600), it could not be read either: buried, which the sticky bit refused,
    // and that ended the drain, so the user's own entries after it never went.
    if !as_root("to run the handler as another user") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("sticky-spool");
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).expect("the spool");
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o1777)).expect("chmod 1777");
    let seed = against(&closed_port_url(), &spool).args(["--deadline", "1"]).stdin(&first_critical()).run();
    assert_eq!(seed.code, Some(75), "{}", seed.all());
    let kept = spooled(&spool);
    assert_eq!(kept.len(), 1, "{}", seed.all());
    let own = classic("web02", "check_http", 2, &["0", "2"], "create", 1);
    let own = against_under(&closed_port_url(), &spool, &NOBODY).args(["--deadline", "1"]).stdin(&own).run();
    assert_eq!(own.code, Some(75), "{}", own.all());
    assert_eq!(spooled(&spool).len(), 2, "{}", own.all());
    let server = standin();
    let mut runs = vec![seed, own];
    for n in 1..=2 {
        let event = classic(&format!("db{n}"), "check_disk", 2, &["0", "2"], "create", 1);
        let run = against_under(&server.url(), &spool, &NOBODY).stdin(&event).run();
        assert_eq!(run.code, Some(0), "the live event goes: {}", run.all());
        assert_eq!(run.all().matches("left 1 spooled event of user 0").count(), 1, "{}", run.all());
        runs.push(run);
    }
    assert_eq!(creates(&server), 3, "the user's own entry and live events: {:?}", lines(&server));
    assert_eq!(spooled(&spool), kept, "root's entry waits for root");
    let replay = against(&server.url(), &spool).args(["replay"]).run();
    assert_eq!(replay.code, Some(0), "{}", replay.all());
    assert_eq!(creates(&server), 4, "root's replay sends it: {:?}", lines(&server));
    assert!(spooled(&spool).is_empty(), "{}", replay.all());
    runs.push(replay);
    assert_no_key(&runs.iter().collect::<Vec<_>>(), &dir);
}

/// A scratch folder for `test` and, in it, a spool folder `nobody` owns.
fn nobodys_spool(test: &str) -> (Scratch, std::path::PathBuf) {
    let dir = scratch(test);
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).expect("the spool");
    give_to_nobody(&spool);
    (dir, spool)
}

/// `path` and all under it given to `nobody` ([`NOBODY`]'s runs).
fn give_to_nobody(path: &std::path::Path) {
    let owned = std::process::Command::new("chown").args(["-R", "65534:65534", path_str(path)]).status();
    assert!(owned.is_ok_and(|s| s.success()), "chown {} to nobody", path.display());
}
