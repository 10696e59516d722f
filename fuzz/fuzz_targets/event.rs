//! Fuzz target: arbitrary bytes as the Sensu event, through `inspect` and `plan` with
//! every fixed configuration, live and dry run; each machine is driven to its end
//! against a well-behaved server, twice, and the two runs must be identical
//! (deterministic to the byte).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sensu_reactio_core::{Context, inspect, plan};
use sensu_reactio_fuzz::{NOW, configs, drive, mentions_key, quiet_server};

fuzz_target!(|data: &[u8]| {
    let summary = inspect(data);
    let check_key = !mentions_key(&[data]);
    for (i, config) in configs().iter().enumerate() {
        let context = Context { now: NOW, first_occurrence: i % 2 == 1, dry_run: i % 3 == 2, ..Context::default() };
        let first = plan(data, config, &context);
        assert_eq!(first.is_ok(), summary.is_ok(), "inspect and plan disagree on whether the event is understood");
        let Ok(mut machine) = first else { continue };
        let (outcome, steps) = drive(&mut machine, check_key, quiet_server);
        let mut again = plan(data, config, &context).expect("planned once, plans again");
        let (outcome2, steps2) = drive(&mut again, check_key, quiet_server);
        assert_eq!(steps, steps2, "same input, different steps");
        assert_eq!(outcome, outcome2);
        if let Ok(summary) = &summary {
            assert_eq!(summary.key, outcome.key, "inspect and the outcome name different keys");
        }
    }
});
