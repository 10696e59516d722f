//! One run of the handler: which subcommand, in which order things happen, and the
//! exit code. Reading stdin comes first so Sensu's pipe is always drained.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use sensu_reactio_core::inspect;

use crate::checks::{check_config, check_config_unloadable, check_spool};
use crate::cli::{Cli, Command, OutputFormat};
use crate::deliver::{Live, Runner, keep_event, now};
use crate::drive::Transport;
use crate::error::{EXIT_CONFIG, EXIT_OK, EXIT_SPOOLED, HostError};
use crate::http::HttpSettings;
use crate::latest::Arrival;
use crate::output::Printer;
use crate::route::Route;
use crate::settings::{EnvVars, Loaded, SENSU_ROOT, load};
use crate::spool::{SYSTEM_SPOOL, Spool};

/// Run the command; returns the exit code. Once per process: a handled event's
/// engine and HTTP client are left for the process exit to free.
pub fn run(cli: &Cli, env: &EnvVars, printer: &mut Printer, start: Instant) -> u8 {
    match &cli.command {
        Command::Handle => handle(cli, env, printer, start),
        Command::Replay { dead, adopt } => replay(cli, env, printer, start, *dead, *adopt),
        Command::CheckSpool(thresholds) => match load_settings(cli, env, printer) {
            Ok(loaded) => match locate(&loaded, env) {
                Ok(spool) => {
                    let route = Route::of(&loaded.config);
                    check_spool(&spool, &route, thresholds, now(), printer, cli.output == OutputFormat::Json)
                }
                Err(e) => {
                    printer.plain(&format!("reactio spool UNKNOWN: {e}"));
                    3
                }
            },
            Err(e) => {
                printer.plain(&format!("reactio spool UNKNOWN: {e}"));
                3
            }
        },
        // Its report on stdout holds the warnings: not printed on stderr as well.
        Command::CheckConfig => match load_quietly(cli, env, printer) {
            Ok(loaded) => {
                let http = http_settings(&loaded, env);
                check_config(&loaded, env, &http, &locate(&loaded, env), printer, cli.output == OutputFormat::Json)
            }
            Err(e) => {
                let root = Path::new(SENSU_ROOT);
                let (files, source) = crate::settings::discover_files(&cli.config_files, env, root, &mut Vec::new())
                    .unwrap_or_else(|_| (Vec::new(), "discovery failed".into()));
                check_config_unloadable(&files, &source, &e, printer, cli.output == OutputFormat::Json)
            }
        },
    }
}

/// The HTTP client's settings, its CA file read now with the other settings (before a
/// root run takes the spool owner's identity as it locates the spool).
fn http_settings(loaded: &Loaded, env: &EnvVars) -> HttpSettings {
    let host = &loaded.config.host;
    let mut settings = HttpSettings { ca_file: host.ca_file.clone(), allow_http: host.allow_http, ca_read: None };
    settings.read_ca_ahead(env);
    settings
}

fn locate(loaded: &Loaded, env: &EnvVars) -> Result<Spool, HostError> {
    Spool::locate(loaded.config.host.spool_dir.as_deref(), env, Path::new(SYSTEM_SPOOL))
}

/// Load the settings (registering every secret with the printer) and print their warnings.
fn load_settings(cli: &Cli, env: &EnvVars, printer: &mut Printer) -> Result<Loaded, HostError> {
    let loaded = load_quietly(cli, env, printer)?;
    for warning in loaded.warnings.iter().chain(&loaded.config.warnings) {
        printer.warning_once(warning);
    }
    Ok(loaded)
}

/// Load the settings; register every secret with the printer.
fn load_quietly(cli: &Cli, env: &EnvVars, printer: &mut Printer) -> Result<Loaded, HostError> {
    if let Some(key) = env.get("REACTIO_API_KEY") {
        printer.add_secret(key);
    }
    if let Some(key) = cli.flags.get("api_key") {
        printer.add_secret(key);
    }
    let loaded = load(cli, env, Path::new(SENSU_ROOT))?;
    if let Some(key) = &loaded.config.connection.api_key {
        printer.add_secret(key.expose());
    }
    for profile in loaded.config.profiles.values() {
        if let Some(key) = &profile.connection.api_key {
            printer.add_secret(key.expose());
        }
    }
    for content in loaded.input.key_files.values() {
        printer.add_secret(content);
    }
    Ok(loaded)
}

fn runner<'a>(
    loaded: &Loaded,
    env: &'a EnvVars,
    printer: &'a Printer,
    start: Instant,
) -> Result<Runner<'a>, HostError> {
    // Before the engine is built: a wasm module compiled on a cache miss takes most of
    // a second, and a SIGTERM then lost the event (docs/reliability.md finding 72).
    let terminated = crate::deliver::note_sigterm();
    let engine =
        crate::engine::build(loaded.engine, &loaded.config, &loaded.input).map_err(crate::drive::engine_error)?;
    let host = &loaded.config.host;
    let settings = http_settings(loaded, env);
    Ok(Runner {
        engine,
        transport: Transport::new(settings, env, host.dry_run),
        printer,
        spool: locate(loaded, env),
        start,
        deadline: Duration::from_millis(host.deadline_ms),
        route: Route::of(&loaded.config),
        adopt: false,
        replaying: false,
        terminated,
    })
}

/// Was a dry run asked for on the command line or in the environment (read before
/// the settings load, for when they do not)?
fn dry_run_requested(cli: &Cli, env: &EnvVars) -> bool {
    // Only a clear yes (or the bare flag): an event whose run was not clearly a dry run is kept.
    let truthy = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "" | "true" | "yes" | "1");
    match cli.flags.get("dry_run") {
        Some(v) => truthy(v),
        None => env.get("REACTIO_DRY_RUN").is_some_and(truthy),
    }
}

/// The spool directory when the settings could not be loaded: `--spool-dir`, else
/// `REACTIO_SPOOL_DIR`, else `spool_dir` read leniently from the settings files, else
/// the default location.
fn raw_spool(cli: &Cli, env: &EnvVars) -> Result<Spool, HostError> {
    let from_files = crate::settings::salvage_spool_dir(cli, env, Path::new(SENSU_ROOT));
    let configured = cli
        .flags
        .get("spool_dir")
        .map(String::as_str)
        .or_else(|| env.get("REACTIO_SPOOL_DIR"))
        .or(from_files.as_deref());
    Spool::locate(configured, env, Path::new(SYSTEM_SPOOL))
}

/// Keep an event we could not even start on (settings broken, engine missing):
/// spool or dead-letter it, else print it. `route`: the configuration's, when its
/// settings could be read.
fn keep_unstarted(
    printer: &Printer,
    spool: Result<Spool, HostError>,
    live: Live<'_>,
    error: &HostError,
    code: u8,
    route: Option<&Route>,
) -> u8 {
    printer.error(&error.to_string(), code);
    keep_event(
        printer,
        spool.as_ref().map_err(|e| HostError::Spool(e.to_string())),
        live,
        error,
        code == EXIT_CONFIG,
        code,
        route,
    )
}

/// A command line clap refused (`error`: its message): a configuration error (exit
/// 78; `check-spool`, a Sensu check, says UNKNOWN, exit 3). A handler run still gets
/// its event on stdin: it is kept in the dead-letter folder (`replay --dead` sends it
/// once the command is fixed), as for any other configuration error.
pub fn usage_error(cli: &Cli, env: &EnvVars, printer: &mut Printer, error: &str) -> u8 {
    let what = error.lines().next().unwrap_or_default().trim_start_matches("error: ");
    let tip =
        error.lines().map(str::trim).find(|l| l.starts_with("tip:")).map(|t| format!(" ({t})")).unwrap_or_default();
    let whose = if matches!(cli.command, Command::CheckSpool(_)) { "check's" } else { "handler's" };
    let message = format!("bad command line: {what}{tip}; fix the {whose} `command` (see --help)");
    match &cli.command {
        Command::CheckSpool(_) => {
            printer.plain(&format!("reactio spool UNKNOWN: {message}"));
            3
        }
        Command::Handle if !std::io::stdin().is_terminal() && !dry_run_requested(cli, env) => {
            let error = HostError::Config(message);
            let kept = crate::input::read_stdin(crate::input::STDIN_BOUND)
                .map(|read| read.event)
                .map_err(|e| e.to_string())
                .and_then(|event| inspect(&event).map(|summary| (event, summary)).map_err(|e| e.to_string()));
            match kept {
                Ok((event, summary)) => {
                    // Kept where the settings say (`spool_dir` in a settings file too),
                    // for anyone: which configuration was meant is not known (a typo in
                    // `--profile` would strand it with another's route).
                    let spool = match load_settings(cli, env, printer) {
                        Ok(loaded) => locate(&loaded, env),
                        Err(_) => raw_spool(cli, env),
                    };
                    keep_unstarted(
                        printer,
                        spool,
                        Live { event: &event, summary: &summary, arrived: Arrival::now() },
                        &error,
                        EXIT_CONFIG,
                        None,
                    )
                }
                Err(input) => {
                    printer.error(&format!("{error}; the event could not be kept either: {input}"), EXIT_CONFIG);
                    EXIT_CONFIG
                }
            }
        }
        _ => {
            printer.error(&HostError::Config(message).to_string(), EXIT_CONFIG);
            EXIT_CONFIG
        }
    }
}

fn handle(cli: &Cli, env: &EnvVars, printer: &mut Printer, start: Instant) -> u8 {
    let stdin = std::io::stdin();
    let read = if stdin.is_terminal() {
        printer.warning("reading the sensu event from stdin (end it with ctrl-d); sensu pipes it in");
        crate::input::read_event_from(stdin.lock())
    } else {
        crate::input::read_stdin(crate::input::STDIN_BOUND).map(|read| {
            if read.left_open {
                printer.warning(
                    "stdin was still open half a second after a whole event came: went on with that event (sensu closes stdin after the event; check what feeds the handler)",
                );
            }
            read.event
        })
    };
    let event = match read {
        Ok(event) => event,
        Err(e) => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
    };
    let summary = match inspect(&event) {
        Ok(summary) => summary,
        Err(e) => {
            let e = HostError::Input(e.to_string());
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
    };
    let live = Live { event: &event, summary: &summary, arrived: Arrival::since(start) };
    let loaded = match load_settings(cli, env, printer) {
        Ok(loaded) => loaded,
        // A dry run keeps nothing, not even when the settings are broken.
        Err(e) if dry_run_requested(cli, env) => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
        Err(e) => return keep_unstarted(printer, raw_spool(cli, env), live, &e, e.exit_code(), None),
    };
    let printer: &Printer = printer;
    let dry_run = loaded.config.host.dry_run;
    let mut runner = match runner(&loaded, env, printer, start) {
        Ok(runner) => runner,
        Err(e) if dry_run => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
        Err(e) => {
            let route = Route::of(&loaded.config);
            return keep_unstarted(printer, locate(&loaded, env), live, &e, EXIT_SPOOLED, Some(&route));
        }
    };
    let code = runner.handle_live(live, dry_run);
    // The process ends with this event: leave the engine, the HTTP client and their
    // mappings to the kernel's exit instead of unmapping them one by one (for
    // `--engine wasm` that teardown measured ~0.3 ms; BENCHMARKS.md). Everything the
    // runner had to say or keep (output, spool files) is written by now.
    std::mem::forget(runner);
    code
}

fn replay(cli: &Cli, env: &EnvVars, printer: &mut Printer, start: Instant, dead: bool, adopt: bool) -> u8 {
    let loaded = match load_settings(cli, env, printer) {
        Ok(loaded) => loaded,
        Err(e) => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
    };
    if loaded.config.host.dry_run {
        printer.error(
            "replay sends the spooled events; it has no dry run (use check-spool to see what is waiting)",
            EXIT_CONFIG,
        );
        return EXIT_CONFIG;
    }
    let printer: &Printer = printer;
    let mut runner = match runner(&loaded, env, printer, start) {
        Ok(runner) => runner,
        Err(e) => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
    };
    runner.adopt = adopt;
    runner.replaying = true;
    let spool = match &runner.spool {
        Ok(spool) => spool.clone(),
        Err(e) => {
            printer.error(&e.to_string(), e.exit_code());
            return e.exit_code();
        }
    };
    if let Some((owner, _)) = spool.foreign_owner() {
        let message = format!(
            "replay runs as root, but the spool {dir} belongs to uid {owner}: replay as the user the handler runs as, with its settings and environment, so that it sends what the handler would: sudo -u \"#{owner}\" sensu-reactio-handler replay",
            dir = spool.dir().display()
        );
        printer.error(&message, EXIT_CONFIG);
        return EXIT_CONFIG;
    }
    // Dead letters `replay --dead` left where they are (another configuration's): the
    // replay did not send everything it was asked to, and says so in its line and code.
    let mut left_dead = 0;
    let mut all_others = true;
    if dead {
        let route = runner.route.clone();
        match spool.revive(|entry| route.delivers(entry, adopt)) {
            Ok(revived) => {
                report_revived(printer, &revived, &spool.dead_dir());
                left_dead = revived.left();
                all_others = revived.left() == revived.refused;
            }
            Err(e) => {
                printer.warning(&e.to_string());
                left_dead = spool.list_dead().map(|l| l.len()).unwrap_or(1).max(1);
                all_others = false;
            }
        }
    }
    let end = start + runner.deadline;
    match runner.drain(end, None, false, None) {
        Ok(report) => {
            let waiting = spool.list().map(|l| l.len()).unwrap_or(report.left);
            let left = match left_dead {
                0 => String::new(),
                n if all_others => {
                    format!(", {n} left dead-lettered for another configuration (`replay --dead --adopt`)")
                }
                n => format!(", {n} left dead-lettered (the warnings above say why)"),
            };
            printer.info(&format!(
                "replay: {} delivered, {} superseded, {} dead-lettered, {} still spooled in {}{left}",
                report.delivered,
                report.superseded,
                report.dead,
                waiting,
                spool.dir().display()
            ));
            let dead_letters = if dead { 0 } else { spool.list_dead().map(|l| l.len()).unwrap_or(0) };
            if dead_letters > 0 {
                printer.info(&format!(
                    "{dead_letters} dead-lettered events wait in {}: `replay --dead` sends them once their cause is fixed",
                    spool.dead_dir().display()
                ));
            }
            if waiting > 0 || left_dead > 0 { EXIT_SPOOLED } else { EXIT_OK }
        }
        Err(e) => {
            printer.error(&e.to_string(), e.exit_code());
            e.exit_code()
        }
    }
}

/// What `replay --dead` moved back, and what it left in the dead-letter folder and why.
fn report_revived(printer: &Printer, revived: &crate::spool::Revived, dead_dir: &std::path::Path) {
    if revived.moved > 0 {
        printer.info(&format!("moved {} dead-lettered entries back into the spool", revived.moved));
    }
    if revived.refused > 0 {
        printer.warning(&format!(
            "left {} dead-lettered entries in {}: they were spooled under another profile, organization or api key; `replay --dead --adopt` sends them with this configuration, or run `replay --dead` with theirs",
            revived.refused,
            dead_dir.display()
        ));
    }
    if let Some(error) = revived.move_error.as_ref().filter(|_| revived.unmoved > 0) {
        printer.warning(&format!(
            "could not move {} dead-lettered entries back into the spool (first: {error}); make {} and the spool writable by the user the handler runs as, then run `replay --dead` again",
            revived.unmoved,
            dead_dir.display()
        ));
    }
    if revived.unreadable > 0 {
        printer.warning(&format!(
            "left {} files in {} that are not spool entries this handler can read; look at them, then move or remove them",
            revived.unreadable,
            dead_dir.display()
        ));
    }
}
