//! `reactio-standin`: the Reactio stand-in as a standalone server, for manual use and
//! benchmarks. Prints its URL on the first line of stdout, then serves until killed
//! (or, with `--exit-on-eof`, until its stdin closes).
//!
//! ```text
//! reactio-standin [--port N] [--bind 127.0.0.1] [--api-key KEY] [--fast]
//!                 [--order newest|oldest] [--time EPOCH_SECONDS] [--exit-on-eof]
//! ```

use sensu_reactio_tests::standin::{Clock, Config, ListOrder, Mode, Standin};
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: reactio-standin [--port N] [--bind 127.0.0.1] [--api-key KEY] [--fast] \
[--order newest|oldest] [--time EPOCH_SECONDS] [--exit-on-eof]";

struct Options {
    port: u16,
    config: Config,
    exit_on_eof: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options { port: 0, config: Config::default(), exit_on_eof: false };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value("--port")?.parse().map_err(|_| "--port needs a number 0-65535")?,
            "--bind" => {
                let bind = value("--bind")?;
                if bind != "127.0.0.1" {
                    return Err(format!("--bind {bind}: only 127.0.0.1 is allowed"));
                }
            }
            "--api-key" => options.config = options.config.api_key(&value("--api-key")?),
            "--fast" => options.config = options.config.mode(Mode::Fast),
            "--order" => {
                let order = match value("--order")?.as_str() {
                    "newest" => ListOrder::NewestFirst,
                    "oldest" => ListOrder::OldestFirst,
                    other => return Err(format!("--order {other}: expected newest or oldest")),
                };
                options.config = options.config.order(order);
            }
            "--time" => {
                let now = value("--time")?.parse().map_err(|_| "--time needs epoch seconds")?;
                options.config = options.config.clock(Clock::fixed(now));
            }
            "--exit-on-eof" => options.exit_on_eof = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            let _ = writeln!(io::stderr(), "{message}");
            return ExitCode::from(2);
        }
    };
    let server = match Standin::start_with(options.config, options.port) {
        Ok(server) => server,
        Err(e) => {
            let _ = writeln!(io::stderr(), "reactio-standin: cannot listen: {e}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = io::stdout();
    let _ = writeln!(stdout, "{}", server.url());
    let _ = stdout.flush();
    if options.exit_on_eof {
        let _ = io::copy(&mut io::stdin().lock().take(u64::MAX), &mut io::sink());
    } else {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    drop(server);
    ExitCode::SUCCESS
}
