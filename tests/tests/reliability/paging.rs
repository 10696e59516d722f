//! The core's paging against simulated servers, swept: pages numbered from 0 or from
//! 1, `per_page` honoured or capped, lists that grow while they are read, servers that
//! ignore `page` or clamp it to their last, and the check's incident anywhere in them
//! or absent (docs/reliability.md findings 68 and 72). A
//! recovery must close its incident whenever the server lists it, close nothing when
//! it does not, and ask for no more pages than the list has, plus the probe.

use sensu_reactio_core::{Answer, Config, ConfigInput, Context, Method, Response, Step, plan};
use serde_json::{Value, json};

use crate::support::KEY;

const NOW: i64 = 1_764_000_000;

/// A server's way of paging.
#[derive(Clone, Copy, Debug)]
struct Server {
    /// The number of its first page (and `page` when none is given).
    first_page: usize,
    /// Its largest page, whatever `per_page` asks (and its page when none is asked).
    cap: usize,
    /// Incidents others open right after the first listing is answered (listed first:
    /// newest first, so every later page shifts by this many).
    grows_by: usize,
    /// Every page is its first (`LIMIT` without `OFFSET`).
    ignores_page: bool,
    /// A page past the last answers the last (else an empty page).
    clamps: bool,
}

impl Server {
    fn new(first_page: usize, cap: usize, grows_by: usize) -> Server {
        Server { first_page, cap, grows_by, ignores_page: false, clamps: false }
    }
}

/// Open incidents, newest first: `total` others, the check's at `ours` when given.
fn incidents(total: usize, ours: Option<usize>) -> Vec<Value> {
    let mut list: Vec<Value> = (0..total)
        .map(
            |i| json!({"id": 1000 + i, "name": format!("db{i}/disk full"), "status": "open", "created_at": NOW - 3600}),
        )
        .collect();
    if let Some(at) = ours {
        let check = json!({"id": 7, "name": "web01/check_http CRITICAL", "status": "open", "created_at": NOW - 600});
        list.insert(at.min(list.len()), check);
    }
    list
}

fn query(path: &str, name: &str) -> Option<usize> {
    let (_, q) = path.split_once('?')?;
    q.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

/// Drives a recovery of web01/check_http against `server` holding `list`: the ids it
/// closed and the listings it asked for.
fn recover(server: Server, mut list: Vec<Value>) -> (Vec<String>, usize) {
    let event = br#"{"client":{"name":"web01"},"check":{"name":"check_http","status":0,"output":"ok","history":["2","2","0"]},"occurrences":1,"action":"resolve"}"#;
    let settings = json!({"reactio": {"api_key": KEY, "organization": "demo"}});
    let config = Config::load(&ConfigInput { settings, ..ConfigInput::default() }).expect("the config loads");
    let mut machine = plan(event, &config, &Context { now: NOW, ..Context::default() }).expect("the event plans");
    let (mut closed, mut listings) = (Vec::new(), 0);
    for _ in 0..200 {
        let request = match machine.step().clone() {
            Step::Done(_) => return (closed, listings),
            Step::Wait(_) => {
                machine.handle(Answer::Waited);
                continue;
            }
            Step::Request(request) => request,
        };
        let (status, body) = if request.method == Method::Get {
            listings += 1;
            let page = query(&request.path, "page").unwrap_or(server.first_page);
            let size = query(&request.path, "per_page").unwrap_or(server.cap).min(server.cap);
            let open = request.path.contains("status=open");
            let answer = match page.checked_sub(server.first_page) {
                Some(_) if !open => (200, json!([])),
                Some(index) => {
                    let last = list.len().saturating_sub(1) / size;
                    let index = match (server.ignores_page, server.clamps) {
                        (true, _) => 0,
                        (false, true) => index.min(last),
                        (false, false) => index,
                    };
                    (200, Value::from(list.iter().skip(index * size).take(size).cloned().collect::<Vec<_>>()))
                }
                None => (400, json!({"type": "validation_error", "errors": [{"field": "page", "code": "invalid"}]})),
            };
            if listings == 1 {
                for i in 0..server.grows_by {
                    list.insert(0, json!({"id": 5000 + i, "name": format!("new{i}/check"), "status": "open"}));
                }
            }
            answer
        } else if let Some(id) = request.path.strip_prefix("/api/v1/incidents/").and_then(|p| p.strip_suffix("/status"))
        {
            closed.push(id.to_owned());
            (200, json!({"id": 7, "status": "close"}))
        } else {
            (201, json!({"id": 1}))
        };
        machine.handle(Answer::Response(Response { status, headers: Vec::new(), body: body.to_string() }));
    }
    panic!("no end after 200 steps against {server:?}");
}

#[test]
fn a_recovery_finds_its_incident_however_the_server_pages() {
    let mut cases = 0;
    for first_page in [0, 1] {
        for cap in [50, 100, 20] {
            for grows_by in [0, 1, 7, 24] {
                for total in [0, 1, 19, 20, 21, 49, 50, 51, 99, 100, 101, 160] {
                    for ours in [None, Some(0), Some(total / 2), Some(total)] {
                        let server = Server::new(first_page, cap, grows_by);
                        let (closed, listings) = recover(server, incidents(total, ours));
                        let len = total + usize::from(ours.is_some());
                        // Pages from 0 capped below the 50 asked for: the first page is
                        // not "full" by the 50, so `page=1` (the second) is not read.
                        let page = cap.min(50);
                        let unread = first_page == 0 && cap < 50 && ours.is_some_and(|at| at >= page && at < 2 * page);
                        let what = format!("{server:?}, {total} others, ours at {ours:?}: {closed:?} in {listings}");
                        if ours.is_some() && !unread {
                            assert_eq!(closed, ["7"], "{what}");
                        } else if ours.is_none() || grows_by == 0 {
                            // Absent, or the case left (finding 68), held to what the
                            // documentation says of it.
                            assert!(closed.is_empty(), "{what}");
                        }
                        // Every page up to an empty or short one (what growth adds too),
                        // the probe, and one `pend` listing when nothing open matched.
                        let pages = (len + grows_by) / page + 1;
                        assert!(listings <= pages + 2, "{what}");
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 3 * 4 * 12 * 4);
}

/// The probe costs nothing below a full page: a server numbering from 1 with fewer
/// open incidents than a page is read in the requests it always took.
#[test]
fn a_short_list_costs_the_requests_it_always_did() {
    let numbered_from_1 = Server::new(1, 100, 0);
    assert_eq!(recover(numbered_from_1, incidents(0, Some(0))), (vec!["7".to_owned()], 2));
    assert_eq!(recover(numbered_from_1, incidents(48, Some(3))), (vec!["7".to_owned()], 2));
    // A full first page: the probe, then page 2.
    assert_eq!(recover(numbered_from_1, incidents(49, Some(3))), (vec!["7".to_owned()], 3));
}

/// A server that answers every page as its first (`LIMIT` without `OFFSET`) is asked
/// once for every page at once: its incident is found wherever that answer holds it
/// (the server's cap on a page is the one limit left), and nothing else is closed. One
/// that clamps a page past the last to the last is read as one that ends its list.
#[test]
fn a_recovery_finds_its_incident_when_the_server_ignores_page_or_clamps() {
    let mut cases = 0;
    for first_page in [0, 1] {
        for cap in [20, 50, 100, 2000] {
            for grows_by in [0, 1, 7] {
                for total in [0, 1, 49, 50, 51, 99, 100, 101, 160, 700] {
                    for ours in [None, Some(0), Some(total / 2), Some(total)] {
                        for ignores_page in [true, false] {
                            let server = Server {
                                ignores_page,
                                clamps: !ignores_page,
                                ..Server::new(first_page, cap, grows_by)
                            };
                            let (closed, listings) = recover(server, incidents(total, ours));
                            let what =
                                format!("{server:?}, {total} others, ours at {ours:?}: {closed:?} in {listings}");
                            let seen = |at: usize| {
                                if ignores_page {
                                    // The first page, then (after a full one) every page at once.
                                    at < cap.min(50) || (cap >= 50 && at + grows_by < cap)
                                } else {
                                    // As in the sweep above: pages from 0 capped below 50 skip
                                    // the second page.
                                    !(first_page == 0 && cap < 50 && at >= cap && at < 2 * cap)
                                }
                            };
                            match ours {
                                Some(at) if seen(at) => assert_eq!(closed, ["7"], "{what}"),
                                _ => assert!(closed.is_empty(), "{what}"),
                            }
                            if ignores_page {
                                // First page, probe, page 2 (3 with growth), every page, `pend`.
                                assert!(listings <= 6, "{what}");
                            } else {
                                let len = total + usize::from(ours.is_some()) + grows_by;
                                assert!(listings <= len / cap.min(50) + 4, "{what}");
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 4 * 3 * 10 * 4 * 2);
}
