//! Fuzz target: settings from bytes (`settings JSON \xff env \xff flags \xff key file`)
//! through `Config::load`, and the raw bytes as a JSON `ConfigInput` through the JSON
//! API; a configuration that loads plans a fixed critical event and is driven to the end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sensu_reactio_core::{Config, Context, json_api, plan};
use sensu_reactio_fuzz::{NOW, SEED_EVENTS, config_input_from_bytes, drive, quiet_server};

fuzz_target!(|data: &[u8]| {
    let input = config_input_from_bytes(data);
    if let Ok(config) = Config::load(&input) {
        let _ = config.describe();
        for (i, event) in SEED_EVENTS.iter().enumerate().take(3) {
            let context = Context { now: NOW, first_occurrence: false, dry_run: i == 1, ..Context::default() };
            if let Ok(mut machine) = plan(event, &config, &context) {
                // Keys here come from the fuzzer: no leak check.
                let _ = drive(&mut machine, false, quiet_server);
            }
        }
    }
    let out = json_api::plan_json(data, SEED_EVENTS[0], br#"{"now":1764000000}"#).1;
    serde_json::from_str::<serde_json::Value>(&out).expect("the json api always answers json");
});
