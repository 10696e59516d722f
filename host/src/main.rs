//! `sensu-reactio-handler`: the Sensu pipe handler. Reads one event from stdin,
//! performs the core's requests against Reactio, spools what could not be delivered.
//! `--help` documents settings discovery, precedence and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use sensu_reactio_host::{app, cli, output, settings};

/// musl's malloc returns memory to the system eagerly (an `mmap`/`munmap` pair for
/// many small allocations); dlmalloc keeps it, and unlike mimalloc has nothing to set
/// up at start (no arena reservation, no `/proc` reads). One allocator on Linux, so the
/// test suite (glibc) runs the one that ships (musl). Measured in BENCHMARKS.md.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Exit (`EX_USAGE`): the command line is wrong.
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let start = std::time::Instant::now();
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return ExitCode::SUCCESS;
            }
            // Sensu still pipes the event in: drain it so its pipe does not break.
            if !std::io::stdin().is_terminal() {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let env = settings::EnvVars::from_process();
    let mut printer = output::Printer::new(cli.output);
    ExitCode::from(app::run(&cli, &env, &mut printer, start))
}
