//! Fuzz target: the JSON API the wasm builds and gateways speak, with every input
//! from the fuzzer (`config \xfe event \xfe context \xfe answer ... `): `Session::plan`,
//! `Session::handle` per answer, `resume_json` and `dry_run_answer_json`. Every output
//! must be JSON: a step or an error object, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sensu_reactio_core::json_api::{self, Session};

fn is_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not json ({e}): {out:?}"))
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xfe);
    let config = parts.next().unwrap_or_default();
    let event = parts.next().unwrap_or_default();
    let context = parts.next().unwrap_or_default();
    let answers: Vec<&[u8]> = parts.collect();
    let mut session = Session::new();
    let first = is_json(&session.plan(config, event, context));
    for answer in &answers {
        let out = is_json(&session.handle(answer));
        if out.get("step").is_some() {
            let _ = is_json(&json_api::dry_run_answer_json(session_step(&out).as_bytes()));
        }
    }
    let list =
        format!("[{}]", answers.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(","));
    let _ = is_json(&json_api::resume_json(config, event, context, list.as_bytes()));
    let _ = is_json(&json_api::dry_run_answer_json(event));
    let _ = first;
});

fn session_step(value: &serde_json::Value) -> String {
    value.to_string()
}
