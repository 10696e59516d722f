//! Tests of settings discovery and merging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use serde_json::json;

/// A fresh scratch directory, removed when dropped.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("reactio-settings-{name}-")).tempdir().unwrap()
}

#[test]
fn deep_merge_merges_objects_concatenates_arrays_and_later_scalars_win() {
    let mut a = json!({"reactio": {"organization": "a", "topics": ["x"]}, "handlers": {"h": {"type": "pipe"}}});
    deep_merge(
        &mut a,
        json!({"reactio": {"organization": "b", "topics": ["x", "y"]}, "handlers": {"h": {"command": "c"}}}),
    );
    assert_eq!(
        a,
        json!({"reactio": {"organization": "b", "topics": ["x", "y"]}, "handlers": {"h": {"type": "pipe", "command": "c"}}})
    );
}

#[test]
fn loaded_tempfile_wins_over_config_files_variable() {
    let scratch_dir = scratch("tempfile");
    let dir = scratch_dir.path();
    let one = dir.join("config.json");
    let two = dir.join("two.json");
    std::fs::write(&one, r#"{"reactio":{"organization":"one"}}"#).unwrap();
    std::fs::write(&two, r#"{"reactio":{"organization":"two"}}"#).unwrap();
    let list = dir.join("loaded");
    std::fs::write(&list, format!("{}:{}", one.display(), two.display())).unwrap();
    let env = EnvVars::from_pairs([
        ("SENSU_LOADED_TEMPFILE", list.to_str().unwrap()),
        ("SENSU_CONFIG_FILES", "/nonexistent.json"),
    ]);
    let mut warnings = Vec::new();
    let (files, source) = discover_files(&[], &env, dir, &mut warnings).unwrap();
    assert_eq!(files, vec![one, two]);
    assert!(source.starts_with("SENSU_LOADED_TEMPFILE"));
    let merged = merge_files(&files).unwrap();
    assert_eq!(merged["reactio"]["organization"], "two");
}

#[test]
fn config_files_variable_then_default_tree_sorted_recursively() {
    let env = EnvVars::from_pairs([("SENSU_CONFIG_FILES", "/a.json::/b.json")]);
    let (files, _) = discover_files(&[], &env, Path::new("/nowhere"), &mut Vec::new()).unwrap();
    assert_eq!(files, vec![PathBuf::from("/a.json"), PathBuf::from("/b.json")]);

    let scratch_dir = scratch("tree");
    let root = scratch_dir.path();
    std::fs::create_dir_all(root.join("conf.d/sub")).unwrap();
    std::fs::write(root.join("config.json"), "{}").unwrap();
    std::fs::write(root.join("conf.d/b.json"), "{}").unwrap();
    std::fs::write(root.join("conf.d/a.json"), "{}").unwrap();
    std::fs::write(root.join("conf.d/sub/c.json"), "{}").unwrap();
    std::fs::write(root.join("conf.d/notes.txt"), "x").unwrap();
    let (files, _) = discover_files(&[], &EnvVars::default(), root, &mut Vec::new()).unwrap();
    let names: Vec<_> = files.iter().map(|f| f.strip_prefix(root).unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["config.json", "conf.d/a.json", "conf.d/b.json", "conf.d/sub/c.json"]);
}

#[test]
fn missing_tempfile_falls_through_with_a_warning() {
    let env = EnvVars::from_pairs([("SENSU_LOADED_TEMPFILE", "/nonexistent/list"), ("SENSU_CONFIG_FILES", "/x.json")]);
    let mut warnings = Vec::new();
    let (files, _) = discover_files(&[], &env, Path::new("/nowhere"), &mut warnings).unwrap();
    assert_eq!(files, vec![PathBuf::from("/x.json")]);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn unreadable_or_invalid_listed_files_name_the_file() {
    let scratch_dir = scratch("invalid");
    let dir = scratch_dir.path();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let err = merge_files(std::slice::from_ref(&bad)).unwrap_err();
    assert!(matches!(err, HostError::Config(_)));
    assert!(err.to_string().contains("bad.json"), "{err}");
    let missing = dir.join("missing.json");
    let err = merge_files(std::slice::from_ref(&missing)).unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
    let array = dir.join("array.json");
    std::fs::write(&array, "[1]").unwrap();
    assert!(merge_files(&[array]).unwrap_err().to_string().contains("an array"));
}

#[test]
fn only_reactio_variables_reach_the_core() {
    let env = EnvVars::from_pairs([("REACTIO_ORGANIZATION", "demo"), ("HOME", "/root"), ("SENSU_CONFIG_FILES", "/x")]);
    let got = env.reactio();
    assert_eq!(got.len(), 1);
    assert_eq!(got["REACTIO_ORGANIZATION"], "demo");
}

#[test]
fn unreadable_key_file_names_the_file_without_content() {
    let err = read_key_file("/nonexistent/reactio.key", "`api_key_file`").unwrap_err();
    assert!(err.contains("/nonexistent/reactio.key does not exist;"), "{err}");
    assert!(err.contains("or point `api_key_file` at the right file"), "{err}");
}

#[test]
fn key_files_say_what_is_wrong_in_words_and_warn_when_others_can_read_them() {
    use std::os::unix::fs::PermissionsExt;
    let scratch_dir = scratch("keyfile");
    let missing = scratch_dir.path().join("missing.key");
    let message = read_key_file(missing.to_str().unwrap(), "REACTIO_API_KEY_FILE").unwrap_err();
    assert!(message.contains("missing.key does not exist; create it"), "{message}");
    assert!(message.ends_with("or point REACTIO_API_KEY_FILE at the right file"), "{message}");
    let unreadable = scratch_dir.path().join("unreadable.key");
    std::fs::create_dir(&unreadable).unwrap();
    let message = read_key_file(unreadable.to_str().unwrap(), "--api-key-file").unwrap_err();
    assert!(message.contains("unreadable.key: it is a directory; point --api-key-file at a regular file"), "{message}");
    let key = scratch_dir.path().join("reactio.key");
    std::fs::write(&key, "sk-test\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warning = key_file_exposed(key.to_str().unwrap()).unwrap();
    assert!(warning.contains("(mode 0644): `chmod 0400` it"), "{warning}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(key_file_exposed(key.to_str().unwrap()), None);
    // A byte order mark some editors write is not part of the key.
    let bom = scratch_dir.path().join("bom.key");
    std::fs::write(&bom, "\u{feff}sk-test\r\n").unwrap();
    assert_eq!(read_key_file(bom.to_str().unwrap(), "`api_key_file`").unwrap(), "sk-test\r\n");
}

#[test]
fn the_spool_dir_is_salvaged_from_settings_that_do_not_load() {
    let scratch_dir = scratch("salvage");
    let settings = scratch_dir.path().join("settings.json");
    std::fs::write(&settings, r#"{"reactio":{"organisation":"x","spool_dir":"/var/lib/reactio-spool"}}"#).unwrap();
    let cli = crate::cli::parse_from(["sensu-reactio-handler", "--config", settings.to_str().unwrap()]).unwrap();
    let env = EnvVars::default();
    assert!(load(&cli, &env, Path::new("/nowhere")).is_err(), "the typo fails the load");
    assert_eq!(salvage_spool_dir(&cli, &env, Path::new("/nowhere")).as_deref(), Some("/var/lib/reactio-spool"));
    std::fs::write(&settings, r#"{"reactio":{"spool_dir":"relative/spool"}}"#).unwrap();
    assert_eq!(salvage_spool_dir(&cli, &env, Path::new("/nowhere")), None);

    // Another file of the list is broken (a check file with a trailing comma) or gone:
    // the file that names the spool still counts, and the last to name it wins.
    let early = scratch_dir.path().join("00.json");
    let broken = scratch_dir.path().join("check_foo.json");
    std::fs::write(&early, r#"{"reactio":{"spool_dir":"/var/lib/early"}}"#).unwrap();
    std::fs::write(&settings, r#"{"reactio":{"spool_dir":"/var/lib/reactio-spool"}}"#).unwrap();
    std::fs::write(&broken, r#"{"checks":{"foo":{"command":"true",}}}"#).unwrap();
    let gone = scratch_dir.path().join("gone.json");
    let list = [&early, &settings, &broken, &gone].map(|p| p.to_str().unwrap().to_owned()).join(":");
    let env = EnvVars::from_pairs([("SENSU_CONFIG_FILES", list.as_str())]);
    let cli = crate::cli::parse_from(["sensu-reactio-handler"]).unwrap();
    assert!(load(&cli, &env, Path::new("/nowhere")).is_err(), "the broken file fails the load");
    assert_eq!(salvage_spool_dir(&cli, &env, Path::new("/nowhere")).as_deref(), Some("/var/lib/reactio-spool"));
}

#[test]
fn a_configuration_error_names_the_files_that_set_the_setting() {
    let scratch_dir = scratch("naming");
    let dir = scratch_dir.path();
    let names = ["01.json", "02.json", "03.json"];
    let bodies = [r#"{"reactio":{"organization":"demo"}}"#, r#"{"reactio":{"ocurrences":2}}"#, r#"{"reactio":{}}"#];
    for (name, body) in names.iter().zip(bodies) {
        std::fs::write(dir.join(name), body).unwrap();
    }
    let mut args = vec!["h".to_owned()];
    for name in names {
        args.extend(["--config".to_owned(), dir.join(name).display().to_string()]);
    }
    let cli = crate::cli::parse_from(args).unwrap();
    let error = load(&cli, &EnvVars::from_pairs([]), Path::new("/nowhere")).unwrap_err().to_string();
    let expected = format!(
        "configuration error: {}: unknown key `ocurrences` in `reactio`, did you mean `occurrences`?",
        dir.join("02.json").display()
    );
    assert_eq!(error, expected);
}

#[test]
fn a_deadline_past_the_handlers_sensu_timeout_is_warned_about() {
    let settings = |definition: Value| serde_json::json!({"handlers": {"reactio": definition}});
    let warn = |definition: Value, deadline_ms| deadline_past_timeout(&settings(definition), "reactio", deadline_ms);
    assert_eq!(warn(serde_json::json!({"type": "pipe"}), 8000), None, "8 s under the default 10 s");
    let default = warn(serde_json::json!({"type": "pipe"}), 12_000).unwrap();
    assert!(
        default.contains("(12 s)") && default.contains("(10 s, `handlers.reactio.timeout`, sensu's default)"),
        "{default}"
    );
    let set = warn(serde_json::json!({"type": "pipe", "timeout": 5}), 8000).unwrap();
    assert!(set.contains("at most 3 s"), "{set}");
    assert_eq!(warn(serde_json::json!({"type": "pipe", "timeout": 30}), 12_000), None);
    assert_eq!(deadline_past_timeout(&serde_json::json!({}), "reactio", 60_000), None, "no definition: sensu go");
}

#[test]
fn a_key_and_a_key_file_from_two_files_name_both() {
    let scratch_dir = scratch("both-keys");
    let old = scratch_dir.path().join("reactio_handler.json");
    let new = scratch_dir.path().join("reactio.json");
    std::fs::write(&old, r#"{"reactio":{"organization":"demo","api_key":"a-key-from-2015-0123"}}"#).unwrap();
    std::fs::write(&new, r#"{"reactio":{"api_key_file":"/etc/sensu/reactio.key"}}"#).unwrap();
    let list = format!("{}:{}", new.display(), old.display());
    let env = EnvVars::from_pairs([("SENSU_CONFIG_FILES", list.as_str())]);
    let cli = crate::cli::parse_from(["sensu-reactio-handler"]).unwrap();
    let message = load(&cli, &env, Path::new("/nowhere")).unwrap_err().to_string();
    assert!(message.contains(&old.display().to_string()) && message.contains(&new.display().to_string()), "{message}");
    assert!(message.contains("keep only one") && !message.contains("a-key-from-2015"), "{message}");
}

#[test]
fn a_fifo_or_a_device_is_refused_before_it_is_read() {
    // Reading a fifo waits for a writer, past any deadline; /dev/urandom never ends.
    let scratch_dir = scratch("fifo");
    let fifo = scratch_dir.path().join("settings.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let err = merge_files(std::slice::from_ref(&fifo)).unwrap_err().to_string();
    assert!(err.contains("settings.json: it is not a regular file (a fifo, a device or a socket)"), "{err}");
    let err = read_key_file(fifo.to_str().unwrap(), "`api_key_file`").unwrap_err();
    assert!(
        err.contains("not a regular file (a fifo, a device or a socket); point `api_key_file` at a regular file"),
        "{err}"
    );
    let err = merge_files(&[PathBuf::from("/dev/urandom")]).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    // A regular file past the cap is refused, not read to the end.
    let big = scratch_dir.path().join("big.json");
    std::fs::File::create(&big).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = merge_files(&[big]).unwrap_err().to_string();
    assert!(err.contains("it holds more than 16 MiB"), "{err}");
}

#[test]
fn a_settings_file_with_a_byte_order_mark_is_read_as_sensu_reads_it() {
    // Sensu's settings loader drops the mark an editor may write; the server loads the
    // file and names it in SENSU_LOADED_TEMPFILE, so the handler must read it too.
    let scratch_dir = scratch("bom");
    let file = scratch_dir.path().join("reactio.json");
    std::fs::write(&file, b"\xEF\xBB\xBF{\"reactio\": {\"organization\": \"demo\"}}").unwrap();
    let merged = merge_files(std::slice::from_ref(&file)).unwrap();
    assert_eq!(merged["reactio"]["organization"], "demo");
    // An empty file (or one that is only white space, or only the mark) says so.
    for empty in [&b""[..], b" \n", b"\xEF\xBB\xBF"] {
        std::fs::write(&file, empty).unwrap();
        let err = merge_files(std::slice::from_ref(&file)).unwrap_err().to_string();
        assert!(err.contains("reactio.json is empty; a settings file holds one json object"), "{err}");
    }
}

#[test]
fn a_variable_that_is_not_utf8_points_at_config_only_for_settings_files() {
    let not_utf8 = |name: &str| EnvVars { vars: BTreeMap::new(), not_utf8: vec![name.to_owned()] };
    let err = not_utf8("REACTIO_ORGANIZATION").refuse_not_utf8().unwrap_err().to_string();
    assert!(err.ends_with("give it a utf-8 value"), "{err}");
    let err = not_utf8("SENSU_CONFIG_FILES").refuse_not_utf8().unwrap_err().to_string();
    assert!(err.ends_with("(a path that is not utf-8 can go to --config)"), "{err}");
}
