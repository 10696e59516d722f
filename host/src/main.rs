//! `sensu-reactio-handler`: the Sensu pipe handler. Reads one event from stdin,
//! performs the core's requests against Reactio, spools what could not be delivered.
//! `--help` documents settings discovery, precedence and exit codes.

use std::process::ExitCode;

use sensu_reactio_host::{app, cli, output, settings};

/// musl's malloc returns memory to the system eagerly (an `mmap`/`munmap` pair for
/// many small allocations); dlmalloc keeps it, and unlike mimalloc has nothing to set
/// up at start (no arena reservation, no `/proc` reads). One allocator on Linux, so the
/// test suite (glibc) runs the one that ships (musl). Measured in BENCHMARKS.md.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    let start = std::time::Instant::now();
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A wrong command line is a configuration error (the handler definition's
            // `command`): reported the usual way, and the event Sensu pipes in is kept.
            let args: Vec<_> = std::env::args_os().collect();
            let mut text = e.to_string();
            if let Some(tip) = cli::bool_value_tip(&args, &e) {
                text = format!("{}\n  tip: {tip}", text.lines().next().unwrap_or_default());
            }
            let cli = cli::parse_lenient(args);
            let env = settings::EnvVars::from_process();
            let mut printer = output::Printer::new(cli.output);
            return ExitCode::from(app::usage_error(&cli, &env, &mut printer, &text));
        }
    };
    let env = settings::EnvVars::from_process();
    let mut printer = output::Printer::new(cli.output);
    ExitCode::from(app::run(&cli, &env, &mut printer, start))
}
