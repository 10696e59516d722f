//! Fuzz target: the core's own JSON reader (`json_in`, reached through the hidden
//! `read::parse_value`) against serde_json on arbitrary bytes: the same value, every
//! number of the same kind (u64, i64 or f64) with the same bits, or the same error
//! text, byte for byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sensu_reactio_core::read::parse_value;
use serde_json::Value;

/// Equal, and every number of the same kind with the same bits (`-0.0` is not `0.0`).
fn same(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            (a.is_u64(), a.is_i64(), a.is_f64()) == (b.is_u64(), b.is_i64(), b.is_f64())
                && (a.as_u64(), a.as_i64()) == (b.as_u64(), b.as_i64())
                && a.as_f64().map(f64::to_bits) == b.as_f64().map(f64::to_bits)
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => ours == theirs,
    }
}

fuzz_target!(|data: &[u8]| {
    let ours = parse_value(data);
    let theirs = serde_json::from_slice::<Value>(data).map_err(|e| e.to_string());
    let agree = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => same(a, b),
        _ => ours == theirs,
    };
    assert!(agree, "ours {ours:?}, serde_json's {theirs:?}");
});
