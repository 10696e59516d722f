//! Fuzz target: the response handling. A (seed, mutated, built or raw) event, one of
//! the fixed configurations and a fuzzer-chosen script of server answers (statuses,
//! `Retry-After`, headers, bodies, incident lists, transport failures); once the
//! script runs out the server behaves. The machine must end within its bound, never
//! leak the key, and ignore answers that do not fit the step.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sensu_reactio_core::{Context, inspect, plan};
use sensu_reactio_fuzz::{AnswerChoice, EventChoice, NOW, config, drive, mentions_key, quiet_server};

#[derive(Arbitrary, Debug)]
struct Script {
    event: EventChoice,
    config: u8,
    now_offset: i16,
    first_occurrence: bool,
    dry_run: bool,
    answers: Vec<AnswerChoice>,
}

fuzz_target!(|script: Script| {
    let event = script.event.bytes();
    let Ok(summary) = inspect(&event) else { return };
    let now = NOW + i64::from(script.now_offset);
    let context = Context { now, first_occurrence: script.first_occurrence, dry_run: script.dry_run, ..Context::default() };
    let Ok(mut machine) = plan(&event, config(script.config), &context) else {
        panic!("inspect accepted an event plan refused")
    };
    // The key may be echoed only if the script itself carried it.
    let check_key = !mentions_key(&[&event, format!("{script:?}").as_bytes()]);
    let mut answers = script.answers.iter();
    let _ = drive(&mut machine, check_key, |request| match answers.next() {
        Some(choice) => choice.answer(&summary.key, now),
        None => quiet_server(request),
    });
});
