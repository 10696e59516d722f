//! Run the way sensu-server runs it: `sh -c`, its own working directory, a minimal
//! environment, settings only through `SENSU_LOADED_TEMPFILE`, the seed's settings file.

use std::process::Command;

use serde_json::json;

use crate::support::*;

#[test]
fn runs_like_sensu_server_with_the_seeds_settings_file() {
    let server = standin();
    let dir = scratch("sensu-server");
    let etc = dir.join("etc-sensu");
    std::fs::create_dir_all(etc.join("conf.d")).unwrap();
    let spool = dir.join("spool");
    // config.json: the server's own settings, plus where Reactio is (a test server).
    let config = json!({
        "api": {"host": "127.0.0.1", "port": 4567},
        "reactio": {"endpoint": server.url(), "spool_dir": path_str(&spool)},
    });
    std::fs::write(etc.join("config.json"), config.to_string()).unwrap();
    // The seed's file, unchanged in shape (typo included).
    let seed = json!({
        "reactio": {"api_key": KEY, "organization": "demo"},
        "handlers": {"reactio": {"type": "pipe", "command": "/etc/sensu/handlers/reactio_handler.rb", "serverities": ["critical"]}},
    });
    std::fs::write(etc.join("conf.d/reactio_handler.json"), seed.to_string()).unwrap();
    let loaded = dir.join("sensu-loaded-tempfile");
    std::fs::write(
        &loaded,
        format!("{}:{}", etc.join("config.json").display(), etc.join("conf.d/reactio_handler.json").display()),
    )
    .unwrap();
    let cwd = dir.join("server-cwd");
    std::fs::create_dir_all(&cwd).unwrap();

    let bin = sensu_reactio_tests::handler_bin().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{} --deadline 2", bin.display()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SENSU_LOADED_TEMPFILE", &loaded)
        .current_dir(&cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let event = first_critical();
    assert_ne!(event.last(), Some(&b'\n'));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&event).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("serverities"), "the seed's typo is pointed out: {stderr}");

    // The seed's request fields.
    let creates: Vec<_> = server.requests().into_iter().filter(|r| r.line() == "POST /api/v1/incidents").collect();
    assert_eq!(creates.len(), 1, "{:?}", server.request_lines());
    let body = creates[0].json().unwrap();
    assert_eq!(body["name"], "web01/check_http CheckHttp CRITICAL: Connection refused ...");
    assert_eq!(body["detection"], "internal");
    assert_eq!(body["notification_text"], "対応をお願いします");
    assert_eq!(body["notification_call"], false);
    assert_eq!(creates[0].header("x-api-key"), Some(KEY));
    assert_eq!(creates[0].header("content-type"), Some("application/json"));

    assert!(std::fs::read_dir(&cwd).unwrap().next().is_none(), "nothing written to the working directory");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    for file in files_under(&spool) {
        assert!(!std::fs::read_to_string(&file).unwrap_or_default().contains(KEY));
    }
}

#[test]
fn a_broken_listed_settings_file_is_named() {
    let dir = scratch("broken-settings");
    let bad = dir.join("broken.json");
    std::fs::write(&bad, "{\"reactio\": ").unwrap();
    let run = handler()
        .env("SENSU_CONFIG_FILES", path_str(&bad))
        .env("STATE_DIRECTORY", path_str(&dir.join("state")))
        .stdin(&first_critical())
        .run();
    assert_eq!(run.code, Some(78), "{}", run.all());
    assert!(run.stderr.contains("broken.json"), "{}", run.stderr);
    assert_eq!(dead(&dir.join("state")).len(), 1, "the event is kept: {}", run.all());
}
