//! Parity per attempt: for each scenario the stand-in receives the same requests
//! (method, path with query, body bytes) from every gateway as from the native
//! handler. A gateway answers a wait with 503 and `Retry-After`; the test then posts
//! the event again (as `curl --retry` would), so a scenario with one fault takes two
//! attempts in a gateway, each ending at the faulted request.

use std::time::{Duration, Instant};

use sensu_reactio_tests::Standin;
use sensu_reactio_tests::standin::{Fault, Match};

use crate::support::{
    assert_no_secrets, first_critical, gateway_config, header, post, refresh, repeat, resolve, standin,
};
use crate::{HOSTS, native};

/// What the stand-in saw: method, path with query, body.
type Seen = Vec<(String, String, Vec<u8>)>;

fn seen(server: &Standin) -> Seen {
    server.requests().into_iter().map(|r| (r.request.method, r.request.target, r.request.body)).collect()
}

fn show(seen: &Seen) -> String {
    seen.iter().map(|(m, t, b)| format!("{m} {t} {}\n", String::from_utf8_lossy(b))).collect()
}

/// Faults to queue before an event.
type Faults = Vec<(Match, Fault)>;

/// One scenario: events in order, each with the faults to queue before it.
struct Scenario {
    name: &'static str,
    events: Vec<(Vec<u8>, Faults)>,
}

fn scenarios() -> Vec<Scenario> {
    let create = || Match::exact("POST", "/api/v1/incidents");
    vec![
        Scenario { name: "first critical", events: vec![(first_critical(), vec![])] },
        Scenario { name: "repeat", events: vec![(first_critical(), vec![]), (repeat(), vec![])] },
        Scenario { name: "refresh", events: vec![(first_critical(), vec![]), (refresh(), vec![])] },
        Scenario { name: "resolve", events: vec![(first_critical(), vec![]), (resolve(), vec![])] },
        Scenario {
            name: "a 500 then success",
            events: vec![(first_critical(), vec![(create(), Fault::internal_error())])],
        },
        Scenario {
            name: "a stalled reactio",
            events: vec![(first_critical(), vec![(create(), Fault::Stall(Some(Duration::from_secs(3))))])],
        },
    ]
}

fn native_run(scenario: &Scenario) -> Seen {
    let server = standin();
    for (i, (event, faults)) in scenario.events.iter().enumerate() {
        for (matcher, fault) in faults {
            server.push_fault(matcher.clone(), fault.clone());
        }
        let run = native::run(&server, event);
        assert_eq!(run.code, Some(0), "native, {} (event {i}): {}\n{}", scenario.name, run.stdout, run.stderr);
    }
    seen(&server)
}

fn gateway_run(host: &str, start: crate::Start, scenario: &Scenario) -> Seen {
    let server = standin();
    let mut gateway = start(&gateway_config(&server)).unwrap_or_else(|e| panic!("{host}: {e}"));
    for (i, (event, faults)) in scenario.events.iter().enumerate() {
        for (matcher, fault) in faults {
            server.push_fault(matcher.clone(), fault.clone());
        }
        let before = server.requests().len();
        let mut attempts = 0;
        let reply = loop {
            attempts += 1;
            let reply = gateway.post(&post(event));
            assert_no_secrets(host, &reply);
            if reply.status != 503 || attempts > 6 {
                break reply;
            }
            let retry_after = header(&reply, "retry-after");
            assert!(
                retry_after.is_some_and(|s| s.parse::<u64>().is_ok()),
                "{host}: 503 without retry-after: {reply:?}"
            );
            // The attempt ended at the faulted request: the last one the stand-in saw.
            let last = server.requests().last().map(|r| r.line()).unwrap_or_default();
            assert_eq!(last, "POST /api/v1/incidents", "{host}, {}: the attempt ended elsewhere", scenario.name);
        };
        assert_eq!(reply.status, 200, "{host}, {} (event {i}): {reply:?}", scenario.name);
        assert_eq!(attempts, 1 + faults.len(), "{host}, {} (event {i}): attempts", scenario.name);
        assert!(server.requests().len() > before || scenario.name != "first critical");
    }
    seen(&server)
}

#[test]
fn every_gateway_sends_what_the_native_handler_sends() {
    let mut failures = Vec::new();
    for scenario in scenarios() {
        let native = native_run(&scenario);
        assert!(!native.is_empty(), "{}: the native handler sent nothing", scenario.name);
        for (host, start) in HOSTS {
            let got = gateway_run(host, *start, &scenario);
            if got != native {
                failures.push(format!(
                    "{host}, {}:\n--- native\n{}--- {host}\n{}",
                    scenario.name,
                    show(&native),
                    show(&got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Per-request latency through each host beside the native handler (a process per
/// event), printed for BENCHMARKS.md: a repeat event (lookup + timeline message).
#[test]
fn latency_per_request() {
    const RUNS: usize = 15;
    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }
    let server = standin();
    let first = native::run(&server, &first_critical());
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let native: Vec<Duration> = (0..RUNS).map(|_| native::run(&server, &repeat()).elapsed).collect();
    let native = median(native);
    eprintln!("latency (repeat event, median of {RUNS}): native handler process {native:?}");
    for (host, start) in HOSTS {
        let mut gateway = start(&gateway_config(&server)).unwrap_or_else(|e| panic!("{host}: {e}"));
        let _ = gateway.post(&post(&repeat())); // warm-up
        let times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let reply = gateway.post(&post(&repeat()));
                assert_eq!(reply.status, 200, "{host}: {reply:?}");
                started.elapsed()
            })
            .collect();
        eprintln!("latency (repeat event, median of {RUNS}): {host} {:?}", median(times));
    }
}
