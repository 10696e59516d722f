//! The command line: dry run, check-config, precedence, help, input limits.

use serde_json::json;

use crate::support::*;

#[test]
fn dry_run_prints_the_requests_with_the_key_masked_and_sends_nothing() {
    let server = standin();
    let dir = scratch("dry-run");
    let run = against(&server.url(), &dir.join("spool")).args(["--dry-run"]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.connection_count(), 0);
    assert!(run.stdout.contains("POST"), "{}", run.stdout);
    assert!(run.stdout.contains("/api/v1/incidents"), "{}", run.stdout);
    assert!(run.stdout.contains("x-api-key: ********"), "{}", run.stdout);
    assert!(run.stdout.contains("対応をお願いします"), "{}", run.stdout);
    assert_no_key(&[&run], &dir);
}

#[test]
fn check_config_shows_origins_and_masks_the_key() {
    let dir = scratch("check-config");
    let key_file = dir.join("reactio.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let settings = dir.join("settings.json");
    std::fs::write(
        &settings,
        json!({"reactio": {"organization": "demo", "api_key_file": path_str(&key_file)}}).to_string(),
    )
    .unwrap();
    let run = handler()
        .env("REACTIO_OCCURRENCES", "3")
        .args([
            "check-config",
            "--config",
            path_str(&settings),
            "--refresh",
            "600",
            "--spool-dir",
            path_str(&dir.join("spool")),
        ])
        .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let line =
        |name: &str| run.stdout.lines().find(|l| l.starts_with(&format!("{name} ="))).unwrap_or_default().to_owned();
    assert!(line("organization").contains("demo") && line("organization").contains("settings file"), "{}", run.stdout);
    assert!(line("occurrences").contains('3') && line("occurrences").contains("environment"), "{}", run.stdout);
    assert!(line("refresh").contains("600") && line("refresh").contains("flag"), "{}", run.stdout);
    assert!(line("api_key").contains("********"), "{}", run.stdout);
    assert_no_key(&[&run], &dir.join("spool"));
}

#[test]
fn check_config_reports_settings_that_do_not_load_on_stdout() {
    let dir = scratch("check-config-broken");
    let settings = dir.join("settings.json");
    std::fs::write(&settings, json!({"reactio": {"organization": "demo", "ocurrences": 2}}).to_string()).unwrap();
    let run = handler().args(["check-config", "--config", path_str(&settings)]).run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    let expected = format!(
        "settings files (--config): {file}\nproblem: configuration error: {file}: unknown key `ocurrences` in `reactio`, did you mean `occurrences`?\nreactio: the configuration cannot deliver events (see the problem above)\n",
        file = path_str(&settings)
    );
    assert_eq!(run.stdout, expected, "{}", run.all());
    assert_eq!(run.stderr, "", "the report is on stdout, once");
}

#[test]
fn flag_beats_environment_beats_settings_file() {
    let server = standin();
    let down = closed_port_url();
    let dir = scratch("precedence");
    let settings = dir.join("settings.json");
    std::fs::write(&settings, json!({"reactio": {"endpoint": down, "api_key": KEY}}).to_string()).unwrap();
    let spool = dir.join("spool");
    let env_wins = handler()
        .env("REACTIO_ENDPOINT", &server.url())
        .args(["--config", path_str(&settings), "--spool-dir", path_str(&spool), "--deadline", DEADLINE])
        .stdin(&first_critical())
        .run();
    assert_eq!(env_wins.code, Some(0), "environment over settings file: {}", env_wins.all());
    let flag_wins = handler()
        .env("REACTIO_ENDPOINT", &down)
        .args([
            "--config",
            path_str(&settings),
            "--endpoint",
            &server.url(),
            "--spool-dir",
            path_str(&spool),
            "--deadline",
            DEADLINE,
        ])
        .stdin(&resolve())
        .run();
    assert_eq!(flag_wins.code, Some(0), "flag over environment: {}", flag_wins.all());
    assert_eq!(server.incidents().len(), 1);
    assert_eq!(server.incidents()[0].status, "close");
    assert_no_key(&[&env_wins, &flag_wins], &spool);
}

#[test]
fn help_explains_exit_codes_and_settings_discovery() {
    let run = handler().args(["--help"]).run();
    assert_eq!(run.code, Some(0));
    for needle in [
        "SENSU_LOADED_TEMPFILE",
        "REACTIO_API_KEY",
        "--api-key-file",
        "EXIT CODES",
        "replay",
        "check-spool",
        "check-config",
        "--dry-run",
    ] {
        assert!(run.stdout.contains(needle), "help lacks {needle}:\n{}", run.stdout);
    }
}

#[test]
fn input_over_16_mib_is_refused_after_draining() {
    let dir = scratch("too-big");
    let mut big = b"{\"pad\":\"".to_vec();
    big.resize(16 * 1024 * 1024 + 100, b'x');
    let run = against(&closed_port_url(), &dir.join("spool")).stdin(&big).run();
    assert_eq!(run.code, Some(65), "{}", run.all());
    assert!(run.stderr.contains("16 MiB"), "{}", run.stderr);
}

#[test]
fn a_whole_event_on_a_stdin_left_open_is_delivered_without_waiting_for_its_end() {
    // A feeder that writes the event and never closes stdin held the run until Sensu
    // killed it at its timeout: the event was neither delivered nor kept.
    let server = standin();
    let dir = scratch("stdin-open");
    let run = against(&server.url(), &dir.join("spool")).stdin(&first_critical()).keep_stdin_open().run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(creates(&server), 1, "{:?}", lines(&server));
    assert!(run.stderr.contains("stdin was still open half a second after a whole event came"), "{}", run.stderr);
    assert!(run.elapsed < std::time::Duration::from_secs(5), "{:?}", run.elapsed);
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_stdin_left_open_without_a_whole_event_ends_the_run_with_an_input_error() {
    let dir = scratch("stdin-open-cut");
    let run = against(&closed_port_url(), &dir.join("spool")).stdin(&first_critical()[..40]).keep_stdin_open().run();
    assert_eq!(run.code, Some(65), "{}", run.all());
    assert!(
        run.stderr.contains("no whole event on stdin within 8 s (40 bytes read, and stdin still open)"),
        "{}",
        run.stderr
    );
    assert!(files_under(&dir.join("spool")).is_empty());
}

#[test]
fn two_values_on_a_stdin_left_open_are_refused_without_waiting_out_the_bound() {
    // They waited 8 s for a whole event, and the error said none came.
    let dir = scratch("stdin-open-two");
    let two = [first_critical(), first_critical()].concat();
    let run = against(&closed_port_url(), &dir.join("spool")).stdin(&two).keep_stdin_open().run();
    assert_eq!(run.code, Some(65), "{}", run.all());
    assert!(run.stderr.contains("what came on stdin is not one json event (trailing characters"), "{}", run.stderr);
    assert!(run.elapsed < std::time::Duration::from_secs(5), "{:?}", run.elapsed);
    assert!(files_under(&dir.join("spool")).is_empty());
}

#[test]
fn not_an_event_is_an_input_error() {
    let dir = scratch("bad-input");
    let run = against(&closed_port_url(), &dir.join("spool")).stdin(b"{\"hello\":1}").run();
    assert_eq!(run.code, Some(65), "{}", run.all());
    assert!(files_under(&dir.join("spool")).is_empty());
}

#[test]
fn a_wrong_command_line_is_a_configuration_error_and_keeps_the_event() {
    let server = standin();
    let dir = scratch("bad-flag");
    let spool = dir.join("spool");
    // The typo comes first: what follows it (the spool) still counts.
    let mut typo = handler();
    typo.env("REACTIO_API_KEY", KEY).args(["--deadlin", "3", "--endpoint", &server.url()]);
    let run = typo.args(["--spool-dir", path_str(&spool)]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    assert!(run.stderr.starts_with("reactio: configuration error: bad command line"), "{}", run.stderr);
    assert!(run.stderr.contains("'--deadline'"), "names the flag meant: {}", run.stderr);
    assert_eq!(dead(&spool).len(), 1, "the event is kept: {}", run.all());
    assert_eq!(server.connection_count(), 0);
    assert_no_key(&[&run], &dir);

    // A Sensu check says UNKNOWN.
    let run = handler().args(["check-spool", "--critical-age", "soon"]).run();
    assert_eq!(run.code, Some(3), "{}", run.all());
    assert!(run.stdout.starts_with("reactio spool UNKNOWN: bad command line"), "{}", run.all());
}

#[test]
fn a_variable_the_handler_reads_that_is_not_utf8_is_a_configuration_error() {
    // It counted as unset: `REACTIO_SEVERITIES` fell back to the default, a
    // `SENSU_CONFIG_FILES` path was dropped with the calls its file set.
    use std::os::unix::ffi::OsStrExt;
    let server = standin();
    let dir = scratch("not-utf8");
    let spool = dir.join("spool");
    let bad = std::ffi::OsStr::from_bytes(b"warning,critical\xff");
    let run = against(&server.url(), &spool).env_os("REACTIO_SEVERITIES", bad).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    assert!(run.stderr.contains("environment variable REACTIO_SEVERITIES is not valid utf-8"), "{}", run.all());
    assert_eq!(dead(&spool).len(), 1, "the event is kept: {}", run.all());
    assert_eq!(server.connection_count(), 0);
    assert_no_key(&[&run], &dir);
}

#[test]
fn a_configuration_error_keeps_the_event_in_the_settings_spool_dir() {
    // The settings fail to load (a misspelt key), yet they name the spool: the event of
    // the configuration error is dead-lettered there, where check-spool watches.
    let dir = scratch("cfgerr-spool");
    let spool = dir.join("spool");
    let settings = dir.join("settings.json");
    let text = serde_json::json!({"reactio": {"organisation": "demo", "spool_dir": path_str(&spool)}});
    std::fs::write(&settings, text.to_string()).unwrap();
    let run =
        handler().env("REACTIO_API_KEY", KEY).args(["--config", path_str(&settings)]).stdin(&first_critical()).run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    assert!(run.stderr.contains("did you mean `organization`"), "{}", run.all());
    assert_eq!(dead(&spool).len(), 1, "{}", run.all());
    assert_no_key(&[&run], &dir);
}

#[test]
fn one_profiles_missing_key_file_stops_only_its_own_events() {
    let server = standin();
    let dir = scratch("profile-key-file");
    let missing = dir.join("db.key");
    let settings = dir.join("settings.json");
    let profiles = json!({"db": {"endpoint": server.url(), "api_key_file": path_str(&missing)}});
    std::fs::write(
        &settings,
        json!({"reactio": {"endpoint": server.url(), "api_key": KEY, "profiles": profiles}}).to_string(),
    )
    .unwrap();
    let spool = dir.join("spool");
    let run = |event: &[u8]| {
        handler()
            .args(["--config", path_str(&settings), "--spool-dir", path_str(&spool), "--deadline", DEADLINE])
            .stdin(event)
            .run()
    };
    // The default connection's events go out, with a warning naming the profile.
    let other = run(&first_critical());
    assert_eq!(other.code, Some(0), "{}", other.all());
    assert_eq!(creates(&server), 1);
    assert!(other.stderr.contains("profile `db`: the api key file"), "{}", other.all());
    assert!(other.stderr.contains("does not exist; create it"), "{}", other.all());
    // The profile's own are dead-lettered, saying which file.
    let routed = classic_with("db01", "check_pg", 2, &["0", "2"], "create", 1, json!({"reactio": {"profile": "db"}}));
    let own = run(&routed);
    assert_eq!(own.code, Some(78), "{}", own.all());
    assert!(own.all().contains(path_str(&missing)), "{}", own.all());
    assert_eq!(dead(&spool).len(), 1);
    assert_eq!(creates(&server), 1);
    // check-config calls the profile a problem.
    let check =
        handler().args(["check-config", "--config", path_str(&settings), "--spool-dir", path_str(&spool)]).run();
    assert_eq!(check.code, Some(78), "{}", check.all());
    assert!(check.stdout.contains("problem: profile `db`"), "{}", check.stdout);
    assert_no_key(&[&other, &own, &check], &spool);

    // An empty key file (a rotation half done) is the same: only its profile waits.
    std::fs::write(&missing, "\n").unwrap();
    let empty = run(&first_critical());
    assert_eq!(empty.code, Some(0), "{}", empty.all());
    assert!(
        empty.stderr.contains("profile `db`: the api key file") && empty.stderr.contains("is empty"),
        "{}",
        empty.all()
    );
}

#[test]
fn check_config_refuses_what_a_run_would_refuse() {
    let dir = scratch("check-config-run");
    let spool = dir.join("spool");
    let two_keys = dir.join("two.key");
    std::fs::write(&two_keys, format!("{KEY}\nan-old-key-kept-below\n")).unwrap();
    let not_pem = dir.join("ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let no_module = dir.join("none.wasm");
    let settings = dir.join("settings.json");
    let cases = [
        (json!({"api_key_file": path_str(&two_keys)}), &[][..], "an http header cannot carry"),
        (json!({"api_key": KEY, "ca_file": path_str(&not_pem)}), &[][..], "holds no certificate"),
        (json!({"api_key": KEY, "ca_file": path_str(&dir.join("none.pem"))}), &[][..], "could not read ca_file"),
        (json!({"api_key": KEY}), &["--engine", "wasm"][..], "the wasm module is missing"),
    ];
    for (mut reactio, extra, expected) in cases {
        reactio["organization"] = json!("demo");
        std::fs::write(&settings, json!({ "reactio": reactio }).to_string()).unwrap();
        let run = handler()
            .env("SENSU_REACTIO_WASM_MODULE", path_str(&no_module))
            .args(["check-config", "--config", path_str(&settings), "--spool-dir", path_str(&spool)])
            .args(extra)
            .run();
        assert_eq!(run.code, Some(78), "{expected}: {}", run.all());
        assert!(
            run.stdout.lines().any(|l| l.starts_with("problem: ") && l.contains(expected)),
            "{expected}: {}",
            run.stdout
        );
        assert_no_key(&[&run], &spool);
    }
}

#[test]
fn check_config_warns_of_a_spool_it_cannot_write() {
    // Delivery works without the spool, but an event Reactio does not take would then
    // be lost (exit 74): check-config says so, as check-spool does, and stays exit 0.
    let dir = scratch("check-config-spool");
    let spool = unwritable_spool(&dir);
    let settings = dir.join("settings.json");
    std::fs::write(&settings, json!({"reactio": {"organization": "demo"}}).to_string()).unwrap();
    let run = handler()
        .env("REACTIO_API_KEY", KEY)
        .args(["check-config", "--config", path_str(&settings), "--spool-dir", path_str(&spool)])
        .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout.lines().any(|l| l.starts_with("warning: ")
            && l.contains("cannot create it; an event that cannot be delivered would be lost")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("could not be kept (see the spool warning above)\n"), "{}", run.stdout);
    let json_run = handler()
        .env("REACTIO_API_KEY", KEY)
        .args(["check-config", "--output", "json", "--config", path_str(&settings), "--spool-dir", path_str(&spool)])
        .run();
    let value: serde_json::Value = serde_json::from_str(json_run.stdout.trim()).expect("json");
    assert_eq!((value["valid"].as_bool(), value["spool_writable"].as_bool()), (Some(true), Some(false)), "{value}");
    assert_no_key(&[&run, &json_run], &dir);
}

#[test]
fn a_dry_run_recovery_says_its_lookups_were_assumed_empty() {
    let server = standin();
    let dir = scratch("dry-run-resolve");
    let run = against(&server.url(), &dir.join("spool")).args(["--dry-run"]).stdin(&resolve()).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(server.connection_count(), 0);
    assert!(run.stdout.contains("no open incident to update (lookups assumed to find nothing)"), "{}", run.stdout);
}
