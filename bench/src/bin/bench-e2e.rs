//! `bench-e2e`: the release handler as a process, many times, each run paired with a
//! `curl` posting the same event body to the same server (the everyday reference),
//! the order alternating within pairs; each handler setup (binary and engine) has its
//! own spool. Reports per case the handler's and curl's
//! median wall time, the median of the per-pair ratios, requests and connections per
//! run, and peak RSS (a separate pass under `/usr/bin/time`).
//!
//! ```text
//! cargo build --release -p sensu-reactio-host -p sensu-reactio-bench --bins
//! scripts/build-wasm.sh            # for --engine wasm
//! target/release/bench-e2e [--runs 200] [--rss-runs 10] [--servers fast,standin]
//!     [--engines native,wasm] [--cases first,repeat,skipped,resolve,first-large]
//!     [--handler NAME=PATH[@ENGINES]]... [--module PATH] [--interleave] [--in-place]
//!     [--wasm-floor PATH]
//! ```
//!
//! Each handler binary runs from a fresh copy in the scratch directory (`--in-place`:
//! where it is). The same bytes measured ~10% apart by how their page cache was filled:
//! a file just written (as by `cp`, or an asset's install) against the same file after
//! its cache was dropped and refilled by exec's page faults (0.215x against 0.241x,
//! first critical; BENCHMARKS.md, Method). Copying puts every setup of an A/B on the
//! same footing; `--in-place` measures a binary as it has been sitting.
//!
//! `--interleave`: the handler setups take turns pair by pair, each round starting one
//! further along, instead of one row after another: for an A/B of builds. Run one
//! after another, this machine's rows drifted by up to 0.01x from their order alone.
//! Taking turns, each run follows another binary's, so every setup runs a little
//! colder than in a row of its own: its figures are not those of the default mode.
//!
//! `--handler` names a handler binary to measure (default: `target/release/sensu-reactio-handler`);
//! `@native` or `@native,wasm` after it limits the engines run with that binary (a build
//! without the `wasm-engine` feature has no `--engine wasm`). `./x bench` measures the
//! shipped build (musl, static, non-PIE, no wasm engine), the same with the wasm engine,
//! and the plain `cargo build --release` (the `bench` command of `./x`).
//!
//! Servers: `fast` is [`sensu_reactio_bench::server::FastServer`] (canned answers,
//! TCP_NODELAY, one send per answer); `standin` is the project's full test stand-in
//! (state, validation, recording), reset around every run.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sensu_reactio_bench::server::FastServer;
use sensu_reactio_bench::{CLASSIC_KEY, KEY, Size, first_critical_classic, incident_json, repeat_classic};
use sensu_reactio_bench::{resolve_classic, skipped_classic};
use sensu_reactio_tests::Standin;
use sensu_reactio_tests::standin::Config as StandinConfig;

/// The cases measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// OK, OK, critical: lookup (open, pend), create, verify.
    First,
    /// Critical again within the refresh period: nothing to send.
    Repeat,
    /// A warning (not in `severities`): skipped, no request, no client.
    Skipped,
    /// The recovery: lookup finds the open incident, message, close.
    Resolve,
    /// A first critical with a ~64 KiB event (the RSS budget's largest, decisions.md).
    FirstLarge,
}

impl Case {
    fn parse(name: &str) -> Option<Case> {
        Some(match name {
            "first" => Case::First,
            "repeat" => Case::Repeat,
            "skipped" => Case::Skipped,
            "resolve" => Case::Resolve,
            "first-large" => Case::FirstLarge,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Case::First => "first critical",
            Case::Repeat => "repeat in refresh",
            Case::Skipped => "skipped (warning)",
            Case::Resolve => "resolve",
            Case::FirstLarge => "first critical, 64 KiB event",
        }
    }

    fn event(self, now: i64) -> Vec<u8> {
        match self {
            Case::First => first_critical_classic(Size::Typical, now),
            Case::Repeat => repeat_classic(Size::Typical, now),
            Case::Skipped => skipped_classic(Size::Typical, now),
            Case::Resolve => resolve_classic(Size::Typical, now),
            Case::FirstLarge => first_critical_classic(Size::Large, now),
        }
    }
}

/// The server a case runs against.
enum Server {
    Fast(FastServer),
    Standin(Standin),
}

impl Server {
    fn name(&self) -> &'static str {
        match self {
            Server::Fast(_) => "fast",
            Server::Standin(_) => "standin",
        }
    }

    fn url(&self) -> String {
        match self {
            Server::Fast(s) => s.url(),
            Server::Standin(s) => s.url(),
        }
    }

    /// (requests, connections) so far.
    fn counts(&self) -> (u64, u64) {
        match self {
            Server::Fast(s) => (s.requests(), s.connections()),
            Server::Standin(s) => (s.request_count(), s.connection_count()),
        }
    }

    /// Make the server ready for one handler run of `case`.
    fn prepare(&self, case: Case) {
        match self {
            Server::Fast(s) => {
                let list = if case == Case::Resolve {
                    format!("[{}]", incident_json(101, CLASSIC_KEY, "open"))
                } else {
                    "[]".to_owned()
                };
                s.set_open_list(&list);
            }
            Server::Standin(s) => {
                for incident in s.open_incidents() {
                    s.close(incident.id);
                }
                s.clear_requests();
                if case == Case::Resolve {
                    s.seed_open(CLASSIC_KEY);
                }
            }
        }
    }
}

#[derive(Debug)]
struct Options {
    runs: usize,
    rss_runs: usize,
    servers: Vec<String>,
    engines: Vec<String>,
    cases: Vec<Case>,
    /// (name, binary, engines to run it with; `None`: `--engines`).
    handlers: Vec<(String, PathBuf, Option<Vec<String>>)>,
    module: PathBuf,
    /// The setups take turns pair by pair (for an A/B of builds) instead of one row
    /// after another.
    interleave: bool,
    /// Run the handler binaries where they are instead of from fresh copies.
    in_place: bool,
    /// The `wasm_floor` example (host/examples/wasm_floor.rs): rows for the least
    /// `--engine wasm` costs a process.
    wasm_floor: Option<PathBuf>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What `--help` prints.
const USAGE: &str = "\
bench-e2e: the release handler as a process against curl posting the same event
(paired, interleaved runs; medians of the per-pair ratios; peak RSS under /usr/bin/time)

usage: bench-e2e [--runs N] [--rss-runs N] [--servers fast,standin]
                 [--engines native,wasm] [--cases first,repeat,skipped,resolve,first-large]
                 [--handler NAME=PATH[@ENGINES]]... [--module PATH] [--interleave] [--in-place]
                 [--wasm-floor PATH]

  --runs N          paired runs per row (default 200, after 5 warm-up runs)
  --rss-runs N      runs of the peak-RSS pass (default 10)
  --servers LIST    fast (the benchmark's minimal server) and/or standin (the test stand-in)
  --engines LIST    native and/or wasm (--engine of the handler)
  --cases LIST      which events (default: all five)
  --handler N=P@E   a handler binary to measure, named N, with engines E (repeatable;
                    default target/release/sensu-reactio-handler)
  --module PATH     the raw wasm module for --engine wasm (default wasm/pkg/)
  --interleave      setups take turns pair by pair (an A/B of builds)
  --in-place        run the binaries where they are, not from fresh copies
  --wasm-floor PATH the wasm_floor example (host/examples/wasm_floor.rs, built for the
                    same target as the handler): two more floor rows, its process alone
                    and the handler's wasm engine on a module that does nothing

BENCHMARKS.md has the method and the latest figures.
";

fn parse_options() -> Result<Options, String> {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        std::process::exit(0);
    }
    let mut options = Options {
        runs: 200,
        rss_runs: 10,
        servers: vec!["fast".into(), "standin".into()],
        engines: vec!["native".into(), "wasm".into()],
        cases: vec![Case::First, Case::Repeat, Case::Skipped, Case::Resolve, Case::FirstLarge],
        handlers: Vec::new(),
        module: workspace().join("wasm/pkg/sensu_reactio_core.wasm"),
        interleave: false,
        in_place: false,
        wasm_floor: None,
    };
    let list = |v: String| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => options.runs = value()?.parse().map_err(|_| "--runs needs a number")?,
            "--rss-runs" => options.rss_runs = value()?.parse().map_err(|_| "--rss-runs needs a number")?,
            "--servers" => options.servers = list(value()?),
            "--engines" => options.engines = list(value()?),
            "--cases" => {
                options.cases = list(value()?)
                    .iter()
                    .map(|c| Case::parse(c).ok_or_else(|| format!("unknown case {c}")))
                    .collect::<Result<_, _>>()?
            }
            "--handler" => {
                let v = value()?;
                let (name, path) = v.split_once('=').unwrap_or(("handler", v.as_str()));
                let (path, engines) = match path.rsplit_once('@') {
                    Some((path, engines)) => (path, Some(list(engines.to_owned()))),
                    None => (path, None),
                };
                // Absolute: the handler runs with `/` as its working directory.
                let path = std::path::absolute(path).map_err(|e| format!("--handler {path}: {e}"))?;
                options.handlers.push((name.to_owned(), path, engines));
            }
            "--module" => options.module = PathBuf::from(value()?),
            "--interleave" => options.interleave = true,
            "--in-place" => options.in_place = true,
            "--wasm-floor" => {
                let path = value()?;
                options.wasm_floor = Some(std::path::absolute(&path).map_err(|e| format!("--wasm-floor {path}: {e}"))?);
            }
            _ => return Err(format!("unknown argument {arg}; `bench-e2e --help` lists them")),
        }
    }
    if options.handlers.is_empty() {
        options.handlers.push(("release".into(), workspace().join("target/release/sensu-reactio-handler"), None));
    }
    Ok(options)
}

/// Scratch files: an empty settings file, the event bodies, copies of the module and of
/// the handler binaries, and a spool per handler setup (`spool-<n>`: builds of
/// different versions must not share one).
struct Scratch {
    dir: PathBuf,
    settings: PathBuf,
}

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("sensu-reactio-bench-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let settings = dir.join("settings.json");
        std::fs::write(&settings, "{}")?;
        Ok(Scratch { settings, dir })
    }
}

/// Gone with the run, an early return included (it holds copies of the binaries).
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One handler setup: binary, engine, server.
struct Run<'a> {
    bin: &'a Path,
    engine: &'a str,
    module: &'a Path,
    scratch: &'a Scratch,
    /// This setup's own spool.
    spool: PathBuf,
    url: String,
}

impl Run<'_> {
    fn command(&self, wrapper: Option<&Path>) -> Command {
        let mut command = match wrapper {
            Some(rss_file) => {
                let mut c = Command::new("/usr/bin/time");
                c.arg("-f").arg("%M").arg("-o").arg(rss_file).arg(self.bin);
                c
            }
            None => Command::new(self.bin),
        };
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("REACTIO_API_KEY", KEY)
            .env("SENSU_REACTIO_WASM_MODULE", self.module)
            .current_dir("/")
            .arg("--config")
            .arg(&self.scratch.settings)
            .arg("--endpoint")
            .arg(&self.url)
            .arg("--spool-dir")
            .arg(&self.spool)
            .arg("--engine")
            .arg(self.engine)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    /// Run the handler once: (wall time, exit code, stderr when it failed).
    fn once(&self, event: &[u8], wrapper: Option<&Path>) -> std::io::Result<(Duration, Option<i32>, String)> {
        let mut command = self.command(wrapper);
        let started = Instant::now();
        let mut child = command.spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(event)?;
        }
        let output = child.wait_with_output()?;
        let elapsed = started.elapsed();
        let code = output.status.code();
        let stderr = if code == Some(0) { String::new() } else { String::from_utf8_lossy(&output.stderr).into_owned() };
        Ok((elapsed, code, stderr))
    }
}

/// CPU time (user + system) of all waited-for children so far, in ms.
fn children_cpu_ms() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 * 1e3 + tv.tv_usec() as f64 / 1e3;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(f64::NAN)
}

/// curl posting `body_file` once: its wall time.
fn curl_once(url: &str, body_file: &Path) -> std::io::Result<Duration> {
    let mut command = Command::new("curl");
    command
        .args(["-s", "-o", "/dev/null", "-X", "POST", "-H", "content-type: application/json", "-H"])
        .arg(format!("x-api-key: {KEY}"))
        .arg("--data-binary")
        .arg(format!("@{}", body_file.display()))
        .arg(format!("{url}/api/v1/incidents"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let status = command.status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(std::io::Error::other(format!("curl failed: {status}")));
    }
    Ok(elapsed)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(f64::NAN),
        n => (values.get(n / 2 - 1).copied().unwrap_or(0.0) + values.get(n / 2).copied().unwrap_or(0.0)) / 2.0,
    }
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let i = ((values.len().saturating_sub(1)) as f64 * q).round() as usize;
    values.get(i).copied().unwrap_or(f64::NAN)
}

/// One row of the report.
struct Row {
    handler_ms: f64,
    curl_ms: f64,
    ratio: f64,
    ratio_p10: f64,
    ratio_p90: f64,
    handler_cpu_ms: f64,
    curl_cpu_ms: f64,
    cpu_ratio: f64,
    requests: f64,
    connections: f64,
    rss_kib: f64,
    failures: usize,
}

/// What one setup's runs of a case gave, gathered as they come.
#[derive(Default)]
struct Samples {
    handler: Vec<f64>,
    curl: Vec<f64>,
    ratios: Vec<f64>,
    handler_cpu: Vec<f64>,
    curl_cpu: Vec<f64>,
    cpu_ratios: Vec<f64>,
    requests: u64,
    connections: u64,
    failures: usize,
    first_failure: Option<String>,
}

/// One pair: the handler run once and curl once, in the order `i` gives.
fn pair(run: &Run<'_>, server: &Server, case: Case, event: &[u8], body_file: &Path, i: usize) -> std::io::Result<Pair> {
    let one_handler = || -> std::io::Result<HandlerRun> {
        server.prepare(case);
        let (req0, conn0) = server.counts();
        let cpu0 = children_cpu_ms();
        let (wall, code, stderr) = run.once(event, None)?;
        let cpu_ms = children_cpu_ms() - cpu0;
        let (req1, conn1) = server.counts();
        Ok(HandlerRun { wall, cpu_ms, requests: req1 - req0, connections: conn1 - conn0, code, stderr })
    };
    let curl_timed = || -> std::io::Result<(Duration, f64)> {
        let cpu0 = children_cpu_ms();
        let elapsed = curl_once(&run.url, body_file)?;
        Ok((elapsed, children_cpu_ms() - cpu0))
    };
    let (handler, curl) = if i.is_multiple_of(2) {
        let h = one_handler()?;
        (h, curl_timed()?)
    } else {
        let c = curl_timed()?;
        (one_handler()?, c)
    };
    Ok(Pair { handler, curl })
}

/// One run of the handler.
struct HandlerRun {
    wall: Duration,
    cpu_ms: f64,
    requests: u64,
    connections: u64,
    code: Option<i32>,
    /// When it failed.
    stderr: String,
}

/// The handler's run and curl's (wall time, CPU ms).
struct Pair {
    handler: HandlerRun,
    curl: (Duration, f64),
}

impl Samples {
    fn add(&mut self, pair: Pair) {
        let HandlerRun { wall: h, cpu_ms: hc, requests, connections, code, stderr } = pair.handler;
        let (c, cc) = pair.curl;
        self.requests += requests;
        self.connections += connections;
        if code != Some(0) {
            self.failures += 1;
            self.first_failure.get_or_insert(format!("exit {code:?}: {}", stderr.trim()));
        }
        let (h, c) = (h.as_secs_f64() * 1e3, c.as_secs_f64() * 1e3);
        self.handler.push(h);
        self.curl.push(c);
        self.ratios.push(h / c);
        self.handler_cpu.push(hc);
        self.curl_cpu.push(cc);
        self.cpu_ratios.push(hc / cc);
    }

    fn row(mut self, runs: usize, mut rss: Vec<f64>) -> Row {
        let n = runs.max(1) as f64;
        Row {
            handler_ms: median(&mut self.handler),
            curl_ms: median(&mut self.curl),
            ratio: median(&mut self.ratios.clone()),
            ratio_p10: quantile(&mut self.ratios.clone(), 0.1),
            ratio_p90: quantile(&mut self.ratios, 0.9),
            handler_cpu_ms: median(&mut self.handler_cpu),
            curl_cpu_ms: median(&mut self.curl_cpu),
            cpu_ratio: median(&mut self.cpu_ratios),
            requests: self.requests as f64 / n,
            connections: self.connections as f64 / n,
            rss_kib: median(&mut rss),
            failures: self.failures,
        }
    }
}

/// Every setup's row for one case. The setups take turns pair by pair, each round
/// starting one further along, so that a drift of the machine falls on all of them
/// alike (run one row after another, builds compared in one run differed by up to
/// 0.01x from their order alone).
fn measure(setups: &[Run<'_>], server: &Server, case: Case, runs: usize, rss_runs: usize) -> std::io::Result<Vec<Row>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let event = case.event(now);
    let Some(first) = setups.first() else { return Ok(Vec::new()) };
    let body_file = first.scratch.dir.join("body.json");
    std::fs::write(&body_file, &event)?;
    let mut samples: Vec<Samples> = setups.iter().map(|_| Samples::default()).collect();
    let warmup = 5;
    for i in 0..warmup + runs {
        for turn in 0..setups.len() {
            let k = (i + turn) % setups.len();
            let (Some(run), Some(into)) = (setups.get(k), samples.get_mut(k)) else { continue };
            let pair = pair(run, server, case, &event, &body_file, i)?;
            if i >= warmup {
                into.add(pair);
            }
        }
    }
    let mut rows = Vec::new();
    for (run, samples) in setups.iter().zip(samples) {
        if let Some(why) = &samples.first_failure {
            eprintln!("  ! {} runs of {} failed; the first: {why}", samples.failures, case.name());
        }
        let mut rss = Vec::new();
        let rss_file = run.scratch.dir.join("rss.txt");
        for _ in 0..rss_runs {
            server.prepare(case);
            run.once(&event, Some(&rss_file))?;
            if let Some(kib) = std::fs::read_to_string(&rss_file)?.lines().last().and_then(|l| l.trim().parse().ok()) {
                rss.push(kib);
            }
        }
        rows.push(samples.row(runs, rss));
    }
    server.prepare(Case::Skipped);
    Ok(rows)
}

/// A floor command (`/bin/true`, or the `wasm_floor` example) paired with curl, in
/// the same session: its median time, the median of its ratios to curl, and its
/// median CPU time.
fn floor(url: &str, scratch: &Scratch, runs: usize, program: &Path, args: &[&str]) -> std::io::Result<[f64; 3]> {
    let body_file = scratch.dir.join("body.json");
    std::fs::write(&body_file, b"{}")?;
    let mut ratios = Vec::new();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..runs {
        let cpu_before = children_cpu_ms();
        let started = Instant::now();
        let status = Command::new(program).args(args).stdin(Stdio::null()).status()?;
        let t = started.elapsed().as_secs_f64() * 1e3;
        cpu.push(children_cpu_ms() - cpu_before);
        if !status.success() {
            return Err(std::io::Error::other(format!("{} {} failed: {status}", program.display(), args.join(" "))));
        }
        let c = curl_once(url, &body_file)?.as_secs_f64() * 1e3;
        times.push(t);
        ratios.push(t / c);
    }
    Ok([median(&mut times), median(&mut ratios), median(&mut cpu)])
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bench-e2e: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench-e2e: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(options: &Options) -> std::io::Result<bool> {
    for (name, bin, _) in &options.handlers {
        if !bin.is_file() {
            return Err(std::io::Error::other(format!(
                "handler {name} not found at {}: cargo build --release -p sensu-reactio-host",
                bin.display()
            )));
        }
    }
    let scratch = Scratch::new()?;
    if let Some(wasm_floor) = &options.wasm_floor {
        let dir = scratch.dir.join("wasm-floor");
        let status = Command::new(wasm_floor).arg("prepare").arg(&dir).status().map_err(|e| {
            std::io::Error::other(format!(
                "{}: {e}; build it with cargo build --release -p sensu-reactio-host --example wasm_floor",
                wasm_floor.display()
            ))
        })?;
        if !status.success() {
            return Err(std::io::Error::other(format!("{} prepare failed: {status}", wasm_floor.display())));
        }
    }
    let module = scratch.dir.join("sensu_reactio_core.wasm");
    let engines_of = |engines: &Option<Vec<String>>| engines.clone().unwrap_or_else(|| options.engines.clone());
    if options.handlers.iter().any(|(_, _, engines)| engines_of(engines).iter().any(|e| e == "wasm")) {
        std::fs::copy(&options.module, &module).map_err(|e| {
            std::io::Error::other(format!("{}: {e}; run scripts/build-wasm.sh", options.module.display()))
        })?;
    }
    println!(
        "bench-e2e: {} paired runs per row (+5 warm-up), peak RSS over {} runs; times are medians in ms",
        options.runs, options.rss_runs
    );
    // What each setup runs: a fresh copy of its binary (see the top of this file), or
    // the binary itself with --in-place.
    let mut bins = Vec::new();
    for (n, (name, bin, _)) in options.handlers.iter().enumerate() {
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
        if options.in_place {
            println!("handler {name}: {} ({size} bytes), run in place", bin.display());
            bins.push(bin.clone());
        } else {
            let copy = scratch.dir.join(format!("handler-{n}"));
            std::fs::copy(bin, &copy)
                .map_err(|e| std::io::Error::other(format!("copying handler {name} ({}): {e}", bin.display())))?;
            println!("handler {name}: {} ({size} bytes), run from a fresh copy", bin.display());
            bins.push(copy);
        }
    }
    println!();
    println!(
        "| server | handler | engine | case | handler ms | curl ms | wall ratio (p10-p90) | CPU ms handler / curl | CPU ratio | req/run | conn/run | peak RSS KiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut clean = true;
    let engine_lists: Vec<Vec<String>> = options.handlers.iter().map(|(_, _, engines)| engines_of(engines)).collect();
    for server_name in &options.servers {
        let server = match server_name.as_str() {
            "fast" => Server::Fast(FastServer::start()?),
            "standin" => Server::Standin(StandinConfig::default().api_key(KEY).start()?),
            other => return Err(std::io::Error::other(format!("unknown server {other}"))),
        };
        let floor_runs = options.runs.min(100);
        let [ms, ratio, cpu] = floor(&server.url(), &scratch, floor_runs, Path::new("/bin/true"), &[])?;
        println!("| {} | /bin/true | - | process floor | {ms:.2} | | {ratio:.3} | {cpu:.2} | | | | |", server.name());
        if let Some(wasm_floor) = &options.wasm_floor {
            let dir = scratch.dir.join("wasm-floor");
            let dir = dir.to_string_lossy();
            for (what, args) in [
                ("process floor", vec!["none"]),
                ("wasm engine floor (a module that does nothing)", vec!["run", &*dir]),
            ] {
                let [ms, ratio, cpu] = floor(&server.url(), &scratch, floor_runs, wasm_floor, &args)?;
                println!("| {} | wasm_floor | - | {what} | {ms:.2} | | {ratio:.3} | {cpu:.2} | | | | |", server.name());
            }
        }
        // Every handler setup (binary and engine), each with its own spool.
        let mut names = Vec::new();
        let mut setups = Vec::new();
        for (((handler_name, _, _), bin), engines) in options.handlers.iter().zip(&bins).zip(&engine_lists) {
            for engine in engines {
                let spool = scratch.dir.join(format!("spool-{}", setups.len()));
                std::fs::create_dir_all(&spool)?;
                names.push((handler_name.as_str(), engine.as_str()));
                setups.push(Run { bin, engine, module: &module, scratch: &scratch, spool, url: server.url() });
            }
        }
        // With --interleave, case by case with the setups taking turns; else one setup
        // after another. Printed setup by setup.
        let mut rows: Vec<Vec<(Case, Row)>> = setups.iter().map(|_| Vec::new()).collect();
        let groups: Vec<std::ops::Range<usize>> = if options.interleave {
            std::iter::once(0..setups.len()).collect()
        } else {
            (0..setups.len()).map(|k| k..k + 1).collect()
        };
        for group in groups {
            let (Some(together), Some(into)) = (setups.get(group.clone()), rows.get_mut(group)) else { continue };
            for &case in &options.cases {
                let measured = measure(together, &server, case, options.runs, options.rss_runs)?;
                for (into, row) in into.iter_mut().zip(measured) {
                    into.push((case, row));
                }
            }
        }
        for ((handler_name, engine), rows) in names.iter().zip(rows) {
            for (case, row) in rows {
                clean &= row.failures == 0;
                println!(
                    "| {} | {handler_name} | {engine} | {} | {:.2} | {:.2} | **{:.3}** ({:.3}-{:.3}) | {:.2} / {:.2} | {:.3} | {:.1} | {:.1} | {:.0} |{}",
                    server.name(),
                    case.name(),
                    row.handler_ms,
                    row.curl_ms,
                    row.ratio,
                    row.ratio_p10,
                    row.ratio_p90,
                    row.handler_cpu_ms,
                    row.curl_cpu_ms,
                    row.cpu_ratio,
                    row.requests,
                    row.connections,
                    row.rss_kib,
                    if row.failures > 0 { format!(" {} FAILED", row.failures) } else { String::new() }
                );
            }
        }
    }
    Ok(clean)
}
