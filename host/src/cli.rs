//! The command line: subcommands, the handler's own options, and one flag per
//! setting generated from the core's key table (so flags never drift from the core).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command as ClapCommand};
use sensu_reactio_core::config::keys::{KEYS, KeySpec, Kind};

/// What to do this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Handle one event from stdin (the default; what Sensu runs).
    Handle,
    /// Deliver the spool now.
    Replay {
        /// `--dead`: move the dead-lettered entries back first.
        dead: bool,
        /// `--adopt`: deliver entries another handler configuration spooled, too.
        adopt: bool,
    },
    /// A Sensu check over the spool.
    CheckSpool(SpoolThresholds),
    /// Validate the settings and print the effective configuration.
    CheckConfig,
}

/// `check-spool` thresholds: ages in seconds, counts of entries (0 = off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolThresholds {
    /// Oldest spooled entry older than this: warning.
    pub warning_age: u64,
    /// Oldest spooled entry older than this: critical.
    pub critical_age: u64,
    /// This many spooled entries or more: warning.
    pub warning_count: u64,
    /// This many spooled entries or more: critical.
    pub critical_count: u64,
    /// This many dead-lettered entries or more: warning.
    pub dead_warning: u64,
    /// This many dead-lettered entries or more: critical.
    pub dead_critical: u64,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One concise line per event.
    Text,
    /// One JSON object per event (the core's `Outcome` plus host fields).
    Json,
}

/// Which engine runs the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineChoice {
    /// The core linked into this binary.
    Native,
    /// The core's import-free wasm module under wasmtime.
    Wasm,
}

impl EngineChoice {
    /// Parse `native` or `wasm`.
    pub fn parse(raw: &str) -> Option<EngineChoice> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "native" => Some(EngineChoice::Native),
            "wasm" => Some(EngineChoice::Wasm),
            _ => None,
        }
    }
}

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    /// The subcommand.
    pub command: Command,
    /// `--config FILE` (repeatable): explicit settings files instead of Sensu's.
    pub config_files: Vec<PathBuf>,
    /// `--handler-name` for the typo lint of `handlers.<name>`.
    pub handler_name: String,
    /// `--output`.
    pub output: OutputFormat,
    /// One entry per setting flag given: snake_case name -> raw value.
    pub flags: BTreeMap<String, String>,
}

/// Options the host defines itself (not settings of the core).
const HOST_OPTIONS: &[&str] = &["config", "handler-name", "output"];

const ABOUT: &str = "Sensu pipe handler for Reactio: a failing check opens one incident (broadcast, phone call, \
group chat, record), later results go to its timeline, the recovery closes it.";

const AFTER_HELP: &str = "\
WHAT IT DOES
  Without a subcommand it reads one Sensu event (Classic 1.x or Go) from stdin to EOF
  (at most 16 MiB; a whole event on a stdin left open goes ahead after half a second
  of quiet, and none within 8 s is exit 65), decides what to do, and sends the requests to Reactio. It first
  delivers anything left in the spool by earlier runs (oldest first; its own check's
  within the deadline, the rest within half of it; another check's entry a slow
  server cut short goes after the event, with the time left). It prints one line per event: what was done, the incident and its
  URL, or why it was skipped. Warnings go to stderr, prefixed `reactio: warning:`.

SETTINGS (highest precedence first)
  check annotation sensu.io/plugins/sensu-reactio-handler/config/<setting>
  > entity annotation > Classic check `reactio` object > Classic check
  `occurrences`/`refresh` > the chosen profile's settings (`profiles.<name>`)
  > flag (--<setting>) > environment (REACTIO_<SETTING>) > settings file
  (`reactio` scope) > default.
  Settings files, found as sensu-plugin finds them:
    1. --config FILE (repeatable), if given: only those files;
    2. else $SENSU_LOADED_TEMPFILE: a file listing the server's loaded config files,
       colon-separated (a real sensu-server sets this);
    3. else $SENSU_CONFIG_FILES (colon-separated);
    4. else /etc/sensu/config.json and every *.json under /etc/sensu/conf.d/
       (recursively, sorted).
  Files are deep-merged in order: objects merged, arrays concatenated, later values
  win. A listed file that is missing or not JSON is an error naming it (exit 78).
  The API key may come from api_key_file so it stays out of `ps`; it is never
  printed (shown as ********).

SPOOL
  A delivery that fails for good within the deadline is written to the spool
  (exit 75): spool_dir, else $STATE_DIRECTORY, else /var/spool/sensu-reactio when
  writable, else /tmp/sensu-reactio-<uid> (a warning says so). Entries the server
  refused (4xx other than 408/429), auth failures and missing settings go to the
  dead/ folder in it (also exit 75, or 78 for configuration problems) and are not
  retried. `replay` delivers the spool now; `check-spool` reports on it (critical
  also when it cannot write there: run it as the handler's user). Handlers
  sharing a spool directory deliver only the entries they spooled (same profile,
  organization and API key; for a rejected or missing key, same profile and
  organization); `replay --adopt` delivers the others too, and what was kept
  before the organization was set. `replay` exits 75 while entries wait or it
  left dead letters for another configuration.

EXIT CODES
  0   handled, or skipped with a reason
  65  the event is not a Sensu event, or larger than 16 MiB, or none came within 8 s
  74  delivery failed and the event could not be spooled: it is printed to stderr
  75  delivery failed (or the handler itself did: an `internal error` line, e.g. a
      broken wasm module; or the machine: a `machine error` line, e.g. no file
      descriptor left): the event was spooled for the next run (or dead-lettered)
  78  configuration error (settings, key file, plain http refused, key rejected, or
      a wrong command line: the event is kept in the dead-letter folder)
  check-spool: 0 ok, 1 warning, 2 critical, 3 unknown (sensu check convention)";

fn setting_arg(spec: &KeySpec, detail: Detail) -> Arg {
    let long: &'static str = Box::leak(spec.flag_name().into_boxed_str());
    let mut arg = Arg::new(spec.name).long(long).action(ArgAction::Set);
    if detail == Detail::Full {
        let default = if spec.default.is_empty() { String::new() } else { format!(" [default: {}]", spec.default) };
        arg = arg
            .help(format!("{} (env {}){default}", spec.doc(), spec.env_var()))
            .global(true)
            .value_name(value_name(spec.kind));
    }
    match spec.kind {
        Kind::Bool => arg.num_args(0..=1).require_equals(true).default_missing_value("true"),
        // A value may start with `-` (`--timezone-offset -05:30`, a text that opens
        // with a dash): it is the value, not another option.
        // An option of the handler's itself is not taken for a value: `--notification-text
        // --dry-run` (a value forgotten) must not send "--dry-run" to every phone.
        _ => arg.allow_hyphen_values(true).value_parser(not_an_option),
    }
}

/// A setting's value, unless it is one of the handler's own options (`--dry-run`,
/// `--call=x`, `-h`): then the value was left out, and the option would be lost.
fn not_an_option(value: &str) -> Result<String, String> {
    let named = match value.strip_prefix("--") {
        Some(rest) => {
            let name = rest.split('=').next().unwrap_or_default();
            let root = command();
            let known = |c: &ClapCommand| c.get_arguments().any(|a| a.get_long() == Some(name));
            name == "help" || name == "version" || known(&root) || root.get_subcommands().any(known)
        }
        None => value == "-h" || value == "-V",
    };
    if named {
        Err(format!("`{value}` is one of this handler's options, not a value: the value before it is missing"))
    } else {
        Ok(value.to_owned())
    }
}

fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "BOOL",
        Kind::Count => "N",
        Kind::Seconds => "SECONDS",
        Kind::Secret => "SECRET",
        Kind::Path => "PATH",
        Kind::Url => "URL",
        Kind::Severities => "SEVERITIES",
        Kind::List => "LIST",
        Kind::Template => "TEMPLATE",
        Kind::Choice(_) => "CHOICE",
        Kind::Offset => "OFFSET",
        _ => "TEXT",
    }
}

fn count_arg(name: &'static str, default: &'static str, help: &'static str) -> Arg {
    let whole = |s: &str| s.parse::<u64>().map_err(|_| "expected a whole number of entries (0 or more)".to_owned());
    Arg::new(name).long(name).value_name("N").default_value(default).value_parser(whole).help(help)
}

/// How much of the command line's definition to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detail {
    /// What reading a handler run's options needs: the handler's options and setting
    /// flags with the same parsers and defaults, and nothing for people to read (no help
    /// texts, no version, no subcommands).
    Parse,
    /// All of it: help texts, version and subcommands.
    Full,
}

/// The clap command, with every setting flag from the core's key table.
pub fn command() -> ClapCommand {
    build(Detail::Full)
}

fn build(detail: Detail) -> ClapCommand {
    let full = detail == Detail::Full;
    let mut config =
        Arg::new("config").long("config").action(ArgAction::Append).value_parser(clap::value_parser!(PathBuf));
    let mut handler_name = Arg::new("handler-name").long("handler-name").default_value("reactio");
    let mut output = Arg::new("output").long("output").value_parser(["text", "json"]).default_value("text");
    let mut cmd = ClapCommand::new("sensu-reactio-handler").args_override_self(true);
    if full {
        config = config.value_name("FILE").global(true).help(
            "Sensu-style JSON settings file (settings in its `reactio` scope); repeatable; replaces Sensu's settings discovery",
        );
        handler_name = handler_name
            .value_name("NAME")
            .global(true)
            .help("This handler's name in Sensu's `handlers` settings, for the typo check of its definition");
        output = output
            .value_name("FORMAT")
            .global(true)
            .help("text: one line per event; json: one JSON object per event (the core's outcome)");
        cmd = cmd.version(env!("CARGO_PKG_VERSION")).about(ABOUT).after_help(AFTER_HELP);
    }
    cmd = cmd.arg(config).arg(handler_name).arg(output);
    if full {
        cmd = with_subcommands(cmd);
    }
    for spec in KEYS.iter().filter(|k| k.flag && !HOST_OPTIONS.contains(&k.flag_name().as_str())) {
        cmd = cmd.arg(setting_arg(spec, detail));
    }
    cmd
}

fn with_subcommands(cmd: ClapCommand) -> ClapCommand {
    const ADOPT: &str = "Also deliver, with this configuration, entries spooled by another one (another profile, project or API key; e.g. after the key was rotated)";
    const CHECK_SPOOL: &str = "Sensu check over the spool: age and count of spooled and dead-lettered entries, and room on its disk for the largest event (16 MiB); one line, exit 0/1/2";
    const CHECK_CONFIG: &str =
        "Validate the settings and print the effective configuration, where each value came from (secrets masked)";
    let replay = ClapCommand::new("replay")
        .about("Deliver the spooled events now (oldest first), then exit")
        .arg(
            Arg::new("dead")
                .long("dead")
                .action(ArgAction::SetTrue)
                .help("Move the dead-lettered entries back into the spool first (after fixing what refused them)"),
        )
        .arg(Arg::new("adopt").long("adopt").action(ArgAction::SetTrue).help(ADOPT));
    let check_spool = ClapCommand::new("check-spool")
        .about(CHECK_SPOOL)
        .arg(count_arg("warning-age", "300", "Warning when the oldest spooled entry is this many seconds old (0: off)"))
        .arg(count_arg(
            "critical-age",
            "1800",
            "Critical when the oldest spooled entry is this many seconds old (0: off)",
        ))
        .arg(count_arg("warning-count", "1", "Warning at this many spooled entries (0: off)"))
        .arg(count_arg("critical-count", "20", "Critical at this many spooled entries (0: off)"))
        .arg(count_arg("dead-warning", "1", "Warning at this many dead-lettered entries (0: off)"))
        .arg(count_arg("dead-critical", "0", "Critical at this many dead-lettered entries (0: off)"));
    let check_config = ClapCommand::new("check-config").about(CHECK_CONFIG);
    cmd.subcommand(replay).subcommand(check_spool).subcommand(check_config)
}

fn threshold(m: &ArgMatches, name: &str) -> u64 {
    m.get_one::<u64>(name).copied().unwrap_or(0)
}

/// Parse the command line; `Err` is clap's error (help, version or a usage error).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // A handler run, what Sensu starts for every event, is read with the lean command:
    // building every help text and subcommand cost a fresh process ~0.07 ms (BENCHMARKS.md).
    // The lean command has the same options with the same parsers and defaults, and no
    // others, so what it accepts the full command reads the same way (a subcommand word
    // or `-V` is no option of it, and `--help` is an error here); whatever it refuses is
    // read again by the full command, whose answer (help, version, or the error with its
    // usage and tips) is the one given. Test `the_lean_parse_reads_what_the_full_one_does`.
    if let Ok(matches) = build(Detail::Parse).try_get_matches_from(&args) {
        return Ok(cli_from(&matches));
    }
    let matches = command().try_get_matches_from(args)?;
    Ok(cli_from(&matches))
}

/// For a usage error caused by a yes/no flag's value written after a space
/// (`--dry-run false`, read as a subcommand `false`): the tip to write it after `=`.
pub fn bool_value_tip(args: &[OsString], error: &clap::Error) -> Option<String> {
    let (at, value) = bool_value_after_space(args, error)?;
    let flag = args.get(at)?.to_str()?;
    Some(format!("a yes/no flag takes its value after `=`: write `{flag}={value}`"))
}

/// Where a yes/no flag stands whose value came after a space (the usage error clap
/// makes of it), and that value.
fn bool_value_after_space(args: &[OsString], error: &clap::Error) -> Option<(usize, String)> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidSubcommand {
        return None;
    }
    let Some(ContextValue::String(value)) = error.get(ContextKind::InvalidSubcommand) else { return None };
    if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false" | "yes" | "no" | "1" | "0") {
        return None;
    }
    let at = args.iter().position(|a| a.to_str() == Some(value.as_str()))?.checked_sub(1)?;
    let name = args.get(at)?.to_str()?.strip_prefix("--")?;
    let takes_bool = command().get_arguments().any(|a| {
        a.get_long() == Some(name) && a.get_value_names().is_some_and(|v| v.iter().any(|n| n.as_str() == "BOOL"))
    });
    takes_bool.then(|| (at, value.clone()))
}

/// After a usage error: what of the command line could be read (unknown arguments
/// and bad values left out), so the error is reported in the asked-for format, to
/// the check's or the handler's convention, and the event kept where it would go.
pub fn parse_lenient<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Unknown arguments and flags with bad values are dropped one by one (clap stops
    // reading at the first), so a `--spool-dir` or `--dry-run` after a typo still counts.
    for _ in 0..16 {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let (name, with_value) = match command().try_get_matches_from(&args) {
            Ok(matches) => return cli_from(&matches),
            // `--dry-run false`: read as meant, `--dry-run=false`.
            Err(e) if let Some((at, value)) = bool_value_after_space(&args, &e) => {
                let flag = args.remove(at);
                if let Some(slot) = args.get_mut(at) {
                    *slot = OsString::from(format!("{}={value}", flag.to_string_lossy()));
                }
                continue;
            }
            Err(e) => match (e.kind(), e.get(ContextKind::InvalidArg), e.get(ContextKind::InvalidSubcommand)) {
                (ErrorKind::UnknownArgument, Some(ContextValue::String(arg)), _) => (arg.clone(), false),
                (_, None, Some(ContextValue::String(arg))) if !arg.starts_with('-') => (arg.clone(), false),
                // `--flag <VALUE>` with a value that does not parse: the flag and its value.
                (ErrorKind::InvalidValue | ErrorKind::ValueValidation, Some(ContextValue::String(arg)), _) => {
                    (arg.split_whitespace().next().unwrap_or_default().to_owned(), true)
                }
                _ => break,
            },
        };
        let Some(at) = args.iter().position(|a| {
            a.to_str().is_some_and(|a| a == name || a.split_once('=').is_some_and(|(flag, _)| flag == name))
        }) else {
            break;
        };
        let separate_value = with_value && args.get(at).and_then(|a| a.to_str()) == Some(name.as_str());
        args.remove(at);
        if separate_value && at < args.len() {
            args.remove(at);
        }
    }
    match command().ignore_errors(true).try_get_matches_from(args) {
        Ok(matches) => cli_from(&matches),
        Err(_) => Cli {
            command: Command::Handle,
            config_files: Vec::new(),
            handler_name: "reactio".into(),
            output: OutputFormat::Text,
            flags: BTreeMap::new(),
        },
    }
}

fn cli_from(matches: &ArgMatches) -> Cli {
    let command = match matches.subcommand() {
        Some(("replay", m)) => Command::Replay { dead: m.get_flag("dead"), adopt: m.get_flag("adopt") },
        Some(("check-config", _)) => Command::CheckConfig,
        Some(("check-spool", m)) => Command::CheckSpool(SpoolThresholds {
            warning_age: threshold(m, "warning-age"),
            critical_age: threshold(m, "critical-age"),
            warning_count: threshold(m, "warning-count"),
            critical_count: threshold(m, "critical-count"),
            dead_warning: threshold(m, "dead-warning"),
            dead_critical: threshold(m, "dead-critical"),
        }),
        _ => Command::Handle,
    };
    let mut flags = BTreeMap::new();
    for spec in KEYS.iter().filter(|k| k.flag) {
        if let Ok(Some(value)) = matches.try_get_one::<String>(spec.name) {
            flags.insert(spec.name.to_owned(), value.clone());
        }
    }
    let output = match matches.get_one::<String>("output").map(String::as_str) {
        Some("json") => OutputFormat::Json,
        _ => OutputFormat::Text,
    };
    Cli {
        command,
        config_files: matches.get_many::<PathBuf>("config").map(|v| v.cloned().collect()).unwrap_or_default(),
        handler_name: matches.get_one::<String>("handler-name").cloned().unwrap_or_else(|| "reactio".into()),
        output,
        flags,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_lenient_parse_reads_past_typos_and_stray_values() {
        let cli = parse_lenient(["h", "--deadlin", "3", "--endpoint", "http://x", "--spool-dir=/s", "--dry-run"]);
        assert_eq!(cli.flags.get("spool_dir").map(String::as_str), Some("/s"));
        assert_eq!(cli.flags.get("dry_run").map(String::as_str), Some("true"));
        assert!(matches!(cli.command, Command::Handle));
        let cli = parse_lenient(["h", "check-spool", "--critical-age", "soon", "--output", "json"]);
        assert!(matches!(cli.command, Command::CheckSpool(_)));
        assert_eq!(cli.output, OutputFormat::Json);
    }

    #[test]
    fn every_flag_setting_has_a_flag() {
        let cmd = command();
        for spec in KEYS.iter().filter(|k| k.flag) {
            let name = spec.flag_name();
            assert!(cmd.get_arguments().any(|a| a.get_long() == Some(name.as_str())), "no --{name}");
        }
    }

    #[test]
    fn command_is_valid() {
        command().debug_assert();
    }

    #[test]
    fn flags_become_settings_by_snake_case_name() {
        let cli = parse_from(["h", "--organization", "demo", "--dry-run", "--deadline", "1.5"]).unwrap();
        assert_eq!(cli.command, Command::Handle);
        assert_eq!(cli.flags.get("organization").map(String::as_str), Some("demo"));
        assert_eq!(cli.flags.get("dry_run").map(String::as_str), Some("true"));
        assert_eq!(cli.flags.get("deadline").map(String::as_str), Some("1.5"));
        assert!(!cli.flags.contains_key("api_key"));
    }

    #[test]
    fn a_bool_value_after_a_space_gets_the_equals_tip() {
        let tip = |args: &[&str]| {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let error = parse_from(args.clone()).expect_err("a usage error");
            bool_value_tip(&args, &error)
        };
        assert_eq!(
            tip(&["h", "--call-on-renotify", "false"]).as_deref(),
            Some("a yes/no flag takes its value after `=`: write `--call-on-renotify=false`")
        );
        assert_eq!(tip(&["h", "--organization", "demo", "yes"]), None, "not after a yes/no flag");
        assert_eq!(tip(&["h", "--dry-run", "replays"]), None, "not a yes/no word");
        // A value that starts with a dash is the value (the documented `-05:30`).
        let cli = parse_from(["h", "--timezone-offset", "-05:30", "--notification-text", "-至急-"]).unwrap();
        assert_eq!(cli.flags.get("timezone_offset").map(String::as_str), Some("-05:30"));
        assert_eq!(cli.flags.get("notification_text").map(String::as_str), Some("-至急-"));
        // ...but not one of the handler's options: the value was left out.
        for swallowed in ["--dry-run", "--dry-run=true", "-h", "--adopt", "--help"] {
            let error = parse_from(["h", "--notification-text", swallowed]).err();
            assert!(error.is_some_and(|e| e.to_string().contains("one of this handler's options")), "{swallowed}");
        }
        assert!(parse_from(["h", "--notification-text", "--not-an-option"]).is_ok());
        // Read as meant after the error, so the event of a live run is kept.
        let cli = parse_lenient(["h", "--dry-run", "false", "--deadline", "3"]);
        assert_eq!(cli.flags.get("dry_run").map(String::as_str), Some("false"));
        assert_eq!(cli.flags.get("deadline").map(String::as_str), Some("3"));
    }

    #[test]
    fn a_repeated_flag_takes_the_last_value() {
        let cli = parse_from(["h", "--deadline", "8", "--deadline", "1.5"]).unwrap();
        assert_eq!(cli.flags.get("deadline").map(String::as_str), Some("1.5"));
    }

    #[test]
    fn bool_flag_does_not_swallow_the_subcommand() {
        let cli = parse_from(["h", "--dry-run", "replay"]).unwrap();
        assert_eq!(cli.command, Command::Replay { dead: false, adopt: false });
        assert_eq!(cli.flags.get("dry_run").map(String::as_str), Some("true"));
        let cli = parse_from(["h", "--dry-run=false"]).unwrap();
        assert_eq!(cli.flags.get("dry_run").map(String::as_str), Some("false"));
    }

    #[test]
    fn global_options_work_after_the_subcommand() {
        let cli =
            parse_from(["h", "check-spool", "--spool-dir", "/x", "--critical-count", "3", "--output", "json"]).unwrap();
        assert_eq!(cli.flags.get("spool_dir").map(String::as_str), Some("/x"));
        assert_eq!(cli.output, OutputFormat::Json);
        match cli.command {
            Command::CheckSpool(t) => assert_eq!(t.critical_count, 3),
            other => panic!("{other:?}"),
        }
    }

    /// `parse_from` reads with the lean command first: on every command line, with or
    /// without a subcommand, valid or not, it must give what the full command alone gives
    /// (the same `Cli`, or the same error: kind and text).
    #[test]
    fn the_lean_parse_reads_what_the_full_one_does() {
        let full = |args: &[&str]| command().try_get_matches_from(args).map(|m| cli_from(&m));
        let lines: &[&[&str]] = &[
            &["h"],
            &["h", "--config", "/a.json", "--config=/b.json", "--endpoint", "http://127.0.0.1:1", "--spool-dir", "/s"],
            &["h", "--dry-run", "--dry-run=false", "--deadline", "8", "--deadline", "1.5", "--output", "json"],
            &["h", "--timezone-offset", "-05:30", "--notification-text", "-至急-", "--handler-name", "r2"],
            &["h", "--profile", "replay", "--topics", "check-spool"],
            &["h", "--notification-text", "--dry-run"],
            &["h", "--notification-text", "--not-an-option"],
            &["h", "--call-on-renotify", "false"],
            &["h", "--dry-run", "replay"],
            &["h", "replay", "--dead", "--adopt", "--endpoint", "http://x"],
            &["h", "check-spool", "--critical-count", "3", "--output", "json"],
            &["h", "check-spool", "--critical-age", "soon"],
            &["h", "check-config", "--config", "/a.json"],
            &["h", "replya"],
            &["h", "--deadlin", "3"],
            &["h", "--output", "yaml"],
            &["h", "--output"],
            &["h", "--engine", "wasm", "--allow-http=true"],
            &["h", "--help"],
            &["h", "-h"],
            &["h", "-V"],
            &["h", "--version"],
            &["h", "help"],
            &["h", "help", "replay"],
            &["h", "--"],
            &["h", "--", "replay"],
        ];
        for args in lines {
            match (parse_from(*args), full(args)) {
                (Ok(lean), Ok(full)) => assert_eq!(lean, full, "{args:?}"),
                (Err(lean), Err(full)) => {
                    assert_eq!(lean.kind(), full.kind(), "{args:?}");
                    assert_eq!(lean.to_string(), full.to_string(), "{args:?}");
                }
                (lean, full) => panic!("{args:?}: lean {lean:?}, full {full:?}"),
            }
        }
        // And the lean command is what reads a handler run, not the full one behind it.
        assert!(build(Detail::Parse).try_get_matches_from(["h", "--dry-run", "--config", "/a.json"]).is_ok());
        assert!(build(Detail::Parse).get_subcommands().next().is_none());
    }

    #[test]
    fn help_documents_exit_codes_and_discovery() {
        let help = command().render_long_help().to_string();
        for needle in
            ["SENSU_LOADED_TEMPFILE", "SENSU_CONFIG_FILES", "/etc/sensu/conf.d", "75", "78", "REACTIO_API_KEY"]
        {
            assert!(help.contains(needle), "help lacks {needle}");
        }
    }
}
