//! `check-spool` (a Sensu check over the spool) and `check-config` (the effective
//! configuration with where each value came from, secrets masked).

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::SpoolThresholds;
use crate::error::{EXIT_CONFIG, EXIT_OK, HostError};
use crate::http::{Http, HttpSettings};
use crate::output::Printer;
use crate::route::Route;
use crate::settings::{EnvVars, Loaded};
use crate::spool::{Entry, Spool};

/// Sensu check exit codes.
const CHECK_OK: u8 = 0;
const CHECK_WARNING: u8 = 1;
const CHECK_CRITICAL: u8 = 2;
const CHECK_UNKNOWN: u8 = 3;

/// What `check-spool` measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpoolState {
    /// Spooled entries.
    pub spooled: u64,
    /// Age of the oldest spooled entry, seconds.
    pub oldest_age: u64,
    /// Dead-lettered entries.
    pub dead: u64,
}

fn modified_at(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    modified.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

/// What [`measure`] found: the counts, the spooled entries oldest first (`None`: one
/// that cannot be read, aged by its file's time), and the dead letters' files.
type Measured = (SpoolState, Vec<Option<Entry>>, Vec<std::path::PathBuf>);

/// Measure the spool: one listing of each folder, so the counts and what is said of the
/// entries agree.
pub fn measure(spool: &Spool, now: i64) -> Result<Measured, HostError> {
    let entries: Vec<(Option<Entry>, Option<i64>)> = spool
        .list()?
        .iter()
        .map(|path| match Spool::read(path) {
            Ok(entry) => {
                let at = entry.received_at;
                (Some(entry), Some(at))
            }
            Err(_) => (None, modified_at(path)),
        })
        .collect();
    let oldest = entries.iter().filter_map(|(_, at)| *at).min();
    let dead = spool.list_dead()?;
    let state = SpoolState {
        spooled: entries.len() as u64,
        oldest_age: oldest.map_or(0, |t| now.saturating_sub(t).max(0) as u64),
        dead: dead.len() as u64,
    };
    Ok((state, entries.into_iter().map(|(entry, _)| entry).collect(), dead))
}

/// How many of the dead letters `route`'s configuration leaves for another (unreadable
/// ones aside: `replay --dead` reports those).
fn dead_left_for_others(dead: &[std::path::PathBuf], route: &Route) -> usize {
    dead.iter().filter_map(|path| Spool::read(path).ok()).filter(|entry| route.leaves(entry)).count()
}

/// Room for one more entry of the largest event a run accepts, with its envelope.
const ROOM_FOR_AN_ENTRY: u64 = crate::input::MAX_EVENT_BYTES + 64 * 1024;

/// Fewer free inodes than this, and the next entries may find none.
const FEW_INODES: u64 = 16;

/// What the disk that holds the spool lacks to keep the largest event a run accepts
/// (the writable probe is 4 KiB: it says OK with 8 KiB free, where a 20 KiB event does
/// not fit). `None`: room enough, or not known (no folder yet, or a file system that
/// does not say).
fn room_problem(spool: &Spool) -> Option<String> {
    let stat = rustix::fs::statvfs(spool.dir()).ok()?;
    if stat.f_blocks == 0 {
        return None;
    }
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    let dir = spool.dir().display();
    let lacks = if free < ROOM_FOR_AN_ENTRY {
        format!("only {} KiB free", free / 1024)
    } else if stat.f_files > 0 && stat.f_favail < FEW_INODES {
        format!("only {} inodes free", stat.f_favail)
    } else {
        return None;
    };
    Some(format!(
        "{lacks} on the disk that holds {dir}: an event of up to 16 MiB may not be kept there, and a run that cannot keep its event only writes it to its log (exit 74); free space on that disk"
    ))
}

fn reached(value: u64, threshold: u64) -> bool {
    threshold > 0 && value >= threshold
}

/// The check's status for a state: 0 ok, 1 warning, 2 critical.
pub fn status(state: &SpoolState, t: &SpoolThresholds) -> u8 {
    let age = if state.spooled > 0 { state.oldest_age } else { 0 };
    if reached(state.spooled, t.critical_count) || reached(age, t.critical_age) || reached(state.dead, t.dead_critical)
    {
        CHECK_CRITICAL
    } else if reached(state.spooled, t.warning_count)
        || reached(age, t.warning_age)
        || reached(state.dead, t.dead_warning)
    {
        CHECK_WARNING
    } else {
        CHECK_OK
    }
}

/// Run `check-spool`: one line, exit 0/1/2: critical too when no event could be kept
/// (the directory cannot be written, or is no directory); 3 when the spool cannot be
/// read but could be written.
/// `route`: this configuration's, to count the entries it leaves for another.
pub fn check_spool(
    spool: &Spool,
    route: &Route,
    thresholds: &SpoolThresholds,
    now: i64,
    printer: &Printer,
    json: bool,
) -> u8 {
    let dir = spool.dir().display().to_string();
    let (code, line, value) = match (measure(spool, now), spool.check_writable()) {
        (Ok((SpoolState { spooled, oldest_age, dead }, _, _)), Err(why)) => {
            // Readable but not writable: what fails now is keeping the next event.
            let line = format!("reactio spool CRITICAL: {spooled} spooled, {dead} dead-lettered; {why}");
            let value = json!({"status": "critical", "spooled": spooled, "oldest_age": oldest_age, "dead": dead, "message": why.to_string(), "dir": dir, "exit_code": CHECK_CRITICAL});
            (CHECK_CRITICAL, line, value)
        }
        (Ok((state, entries, dead)), Ok(())) => {
            // Files runs killed while writing left behind: at least a warning, since an
            // event may wait in one that no run has taken in yet.
            let unfinished = spool.unfinished();
            // Records a run cannot keep: a check's stale results are no longer known as such.
            let records = crate::latest::problem(spool);
            let room = room_problem(spool);
            let code = if unfinished.is_empty() && records.is_none() && room.is_none() {
                status(&state, thresholds)
            } else {
                status(&state, thresholds).max(1)
            };
            let word = ["OK", "WARNING", "CRITICAL"].get(usize::from(code)).copied().unwrap_or("UNKNOWN");
            // Why the oldest still waits (entries sort by arrival): what to fix, and how
            // long ago it said so (an entry left for other settings keeps an old error).
            let why = entries.first().and_then(Option::as_ref).and_then(|e| {
                let age = now.saturating_sub(e.last_attempt_at.unwrap_or(e.received_at)).max(0);
                Some((e.last_error.clone()?, age))
            });
            let oldest = match (&why, state.spooled) {
                (_, 0) => String::new(),
                (Some((why, age)), _) => {
                    format!(" (oldest {} s old; its last error, {age} s ago: {why})", state.oldest_age)
                }
                (None, _) => format!(" (oldest {} s old)", state.oldest_age),
            };
            let others = entries.iter().flatten().filter(|e| route.leaves(e)).count();
            let others_note = match others {
                0 => String::new(),
                n => format!(
                    "; {n} of them kept by another handler configuration (another profile, project or api key), which no run of this one sends: `replay --adopt` sends them with it"
                ),
            };
            // Dead letters another configuration kept (a rejected key's run with a wrong
            // organization, say): `replay --dead` alone leaves them where they are.
            let dead_others = dead_left_for_others(&dead, route);
            let adopt = match dead_others {
                0 => String::new(),
                n => format!(
                    "; {n} of them kept under another profile, organization or api key than this configuration's (or under no organization): only `replay --dead --adopt` sends those with it"
                ),
            };
            let hint = if state.dead > 0 {
                format!(
                    "; fix what refused them (the handler's log says), then run `sensu-reactio-handler replay --dead` as the handler's user{adopt}"
                )
            } else {
                String::new()
            };
            let unfinished_note = match unfinished.len() {
                0 => String::new(),
                n => {
                    let names: Vec<String> = unfinished.iter().map(|(p, _)| p.display().to_string()).collect();
                    format!(
                        "; {n} files left unfinished by runs killed while writing them ({}): the next run that delivers the spool takes in the whole ones, the others are for a person to read and remove",
                        names.join(", ")
                    )
                }
            };
            let records_note = records.as_ref().map(|why| format!("; {why}")).unwrap_or_default();
            let room_note = room.as_ref().map(|why| format!("; {why}")).unwrap_or_default();
            let line = format!(
                "reactio spool {word}: {} spooled{oldest}{others_note}, {} dead-lettered in {dir}{hint}{unfinished_note}{records_note}{room_note}",
                state.spooled, state.dead
            );
            let (last_error, last_error_age) = why.map_or((None, None), |(w, a)| (Some(w), Some(a)));
            let value = json!({"status": word.to_lowercase(), "spooled": state.spooled, "oldest_age": state.oldest_age, "dead": state.dead, "dir": dir, "exit_code": code, "last_error": last_error, "last_error_age": last_error_age, "other_configuration": others, "dead_other_configuration": dead_others, "unfinished": unfinished.len(), "records_problem": records, "room_problem": room});
            (code, line, value)
        }
        // Not even a directory there (a file in the path, say): no event could be kept.
        (Err(_), Err(why)) => {
            let line = format!("reactio spool CRITICAL: {why}");
            let value =
                json!({"status": "critical", "message": why.to_string(), "dir": dir, "exit_code": CHECK_CRITICAL});
            (CHECK_CRITICAL, line, value)
        }
        (Err(e), Ok(())) => {
            let line = format!("reactio spool UNKNOWN: {e}");
            let value = json!({"status": "unknown", "message": e.to_string(), "dir": dir, "exit_code": CHECK_UNKNOWN});
            (CHECK_UNKNOWN, line, value)
        }
    };
    printer.plain(&if json { value.to_string() } else { line });
    code
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(not set)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Run `check-config`: the effective settings with origins; exit 78 when nothing
/// could be sent with them.
pub fn check_config(
    loaded: &Loaded,
    env: &EnvVars,
    http: &HttpSettings,
    spool: &Result<Spool, HostError>,
    printer: &Printer,
    json: bool,
) -> u8 {
    let config = &loaded.config;
    let mut problems: Vec<String> = config.connection.problem().into_iter().collect();
    for (name, profile) in &config.profiles {
        if let Some(p) = profile.connection.problem() {
            problems.push(format!("profile `{name}`: {p}"));
        }
    }
    problems.extend(what_a_run_would_refuse(loaded, env, http));
    if let Err(e) = spool {
        problems.push(e.to_string());
    }
    let files: Vec<String> = loaded.files.iter().map(|f| f.display().to_string()).collect();
    let spool_dir = match spool {
        Ok(s) => s.dir().display().to_string(),
        Err(_) => String::new(),
    };
    let engine = format!("{:?}", loaded.engine).to_lowercase();
    let settings = config.describe();
    // The spool's notes: a relative `spool_dir` replaced, or the per-user fallback in
    // the temporary directory (a reboot empties it); and a spool this user cannot write.
    let mut warnings: Vec<String> = loaded.warnings.iter().chain(&config.warnings).cloned().collect();
    let mut unkept = false;
    if let Ok(spool) = spool {
        warnings.extend(spool.notes().cloned());
        // Delivery works without it, but an event Reactio does not take then has
        // nowhere to wait (exit 74): as `check-spool` says, for the user running this.
        if let Err(e) = spool.check_writable() {
            warnings.push(format!("{e} (checked as the user running check-config)"));
            unkept = true;
        }
    }
    let code = if problems.is_empty() { EXIT_OK } else { EXIT_CONFIG };
    if json {
        let value = json!({
            "valid": problems.is_empty(),
            "spool_writable": !unkept,
            "settings_files": files,
            "found_by": loaded.source,
            "spool_dir": spool_dir,
            "engine": engine,
            "settings": settings,
            "warnings": warnings,
            "problems": problems,
        });
        printer.plain(&value.to_string());
        return code;
    }
    let mut text = format!(
        "settings files ({}): {}\n",
        loaded.source,
        if files.is_empty() { "(none)".into() } else { files.join(", ") }
    );
    text.push_str(&format!("spool: {spool_dir}\nengine: {engine}\n"));
    if let Value::Object(map) = &settings {
        for (name, entry) in map {
            let value = entry.get("value").map(show).unwrap_or_default();
            let origin = entry.get("origin").and_then(Value::as_str).unwrap_or("default").replace('_', " ");
            text.push_str(&format!("{name} = {value}  ({origin})\n"));
        }
    }
    for warning in &warnings {
        text.push_str(&format!("warning: {warning}\n"));
    }
    for problem in &problems {
        text.push_str(&format!("problem: {problem}\n"));
    }
    text.push_str(if problems.is_empty() && unkept {
        "reactio: the configuration is valid, but an event reactio does not take could not be kept (see the spool warning above)"
    } else if problems.is_empty() {
        "reactio: the configuration is valid"
    } else {
        "reactio: the configuration cannot deliver events (see problems above)"
    });
    printer.plain(&text);
    code
}

/// What a run would stop at after its settings loaded: the HTTP client's settings
/// (`ca_file`, proxies) and the engine (`--engine wasm`: its module, found, checked and
/// compiled as a run does). (A key no HTTP header can carry is a connection's problem.)
fn what_a_run_would_refuse(loaded: &Loaded, env: &EnvVars, http: &HttpSettings) -> Vec<String> {
    let config = &loaded.config;
    let mut problems = Vec::new();
    if let Err(e) = Http::build(http, env) {
        problems.push(e.to_string());
    }
    if let Err(e) = crate::engine::build(loaded.engine, config, &loaded.input) {
        problems.push(crate::drive::engine_error(e).to_string());
    }
    problems
}

/// `check-config` when the settings do not load: the files it would read and the
/// problem, on stdout like a loaded configuration's report (exit 78).
pub fn check_config_unloadable(
    files: &[std::path::PathBuf],
    source: &str,
    error: &HostError,
    printer: &Printer,
    json: bool,
) -> u8 {
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let problem = printer.redact(&error.to_string());
    if json {
        let value = json!({"valid": false, "settings_files": files, "found_by": source, "problems": [problem]});
        printer.plain(&value.to_string());
    } else {
        let files = if files.is_empty() { "(none)".into() } else { files.join(", ") };
        printer.plain(&format!(
            "settings files ({source}): {files}\nproblem: {problem}\nreactio: the configuration cannot deliver events (see the problem above)"
        ));
    }
    error.exit_code()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn route() -> Route {
        Route::of(&sensu_reactio_core::Config::load(&sensu_reactio_core::ConfigInput::default()).unwrap())
    }

    fn thresholds() -> SpoolThresholds {
        SpoolThresholds {
            warning_age: 300,
            critical_age: 1800,
            warning_count: 1,
            critical_count: 20,
            dead_warning: 1,
            dead_critical: 0,
        }
    }

    #[test]
    fn a_spool_that_cannot_be_written_is_critical() {
        let printer = Printer::default();
        // Listed fine but never writable, even by root.
        let readonly = Spool::at("/proc/self/fdinfo");
        assert!(readonly.list().is_ok());
        assert_eq!(check_spool(&readonly, &route(), &thresholds(), 0, &printer, false), CHECK_CRITICAL);
        let dir = tempfile::tempdir().unwrap();
        let fine = Spool::at(dir.path().join("spool"));
        assert_eq!(check_spool(&fine, &route(), &thresholds(), 0, &printer, false), CHECK_OK);
        // A file where the spool's parent should be: nothing can be kept.
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            check_spool(&Spool::at(file.join("spool")), &route(), &thresholds(), 0, &printer, false),
            CHECK_CRITICAL
        );
        std::fs::create_dir(fine.dir()).unwrap();
        assert_eq!(check_spool(&fine, &route(), &thresholds(), 0, &printer, false), CHECK_OK);
        assert_eq!(std::fs::read_dir(fine.dir()).unwrap().count(), 0, "the probe is removed");
        // A spool that would be made where nothing can be (read-only by mount, not by
        // permission bits: /proc), and one that can be, which is not left made.
        assert_eq!(
            check_spool(&Spool::at("/proc/reactio-spool/x"), &route(), &thresholds(), 0, &printer, false),
            CHECK_CRITICAL
        );
        let later = Spool::at(dir.path().join("a").join("b"));
        assert_eq!(check_spool(&later, &route(), &thresholds(), 0, &printer, false), CHECK_OK);
        assert!(!dir.path().join("a").exists(), "the folder made to see is removed");
    }

    #[test]
    fn status_by_age_and_count() {
        let t = thresholds();
        assert_eq!(status(&SpoolState::default(), &t), CHECK_OK);
        assert_eq!(status(&SpoolState { spooled: 1, oldest_age: 10, dead: 0 }, &t), CHECK_WARNING);
        assert_eq!(status(&SpoolState { spooled: 1, oldest_age: 1800, dead: 0 }, &t), CHECK_CRITICAL);
        assert_eq!(status(&SpoolState { spooled: 20, oldest_age: 0, dead: 0 }, &t), CHECK_CRITICAL);
        assert_eq!(status(&SpoolState { spooled: 0, oldest_age: 0, dead: 1 }, &t), CHECK_WARNING);
        let relaxed = SpoolThresholds { warning_count: 0, dead_warning: 0, ..t };
        assert_eq!(status(&SpoolState { spooled: 1, oldest_age: 10, dead: 5 }, &relaxed), CHECK_OK);
    }
}
