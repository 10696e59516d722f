//! What a spool entry (or a dump on stderr) keeps of an event: every secret masked,
//! string by string, except in the names the event's key is made of.

use crate::output::Printer;

/// The event as a spool entry keeps it: any secret in it (a check output that prints
/// the key, a key misplaced in an annotation) masked, except in the names that make the
/// event's key ([`NAME_MEMBERS`]). A JSON event is masked string by string and written
/// again (so an escape such as `\/` inside a key neither hides it nor is cut in two);
/// other text is masked as it is.
pub(super) fn without_secrets(printer: &Printer, event: &[u8]) -> String {
    let text = String::from_utf8_lossy(event);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) => {
            if mask_strings(printer, &mut value) {
                value.to_string()
            } else {
                text.into_owned()
            }
        }
        Err(_) => printer.redact(&text),
    }
}

/// Members whose string is a name the event's key is made of (Classic `client.name`,
/// `check.name`, `check.source`; Go `metadata.name`, `metadata.namespace`,
/// `check.proxy_entity_name`). Never masked: a piece of a key chosen by hand
/// (`production-key-1`) or a short one (`test`) is as likely part of a name
/// (`production-db01`, `test-web01`), and masked there the replay would act for
/// another check.
const NAME_MEMBERS: [&str; 4] = ["name", "namespace", "source", "proxy_entity_name"];

/// Mask the secrets in every string (and object key) of `value`, names aside
/// ([`NAME_MEMBERS`]); whether any changed.
fn mask_strings(printer: &Printer, value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let masked = printer.redact(s);
            let changed = masked != *s;
            *s = masked;
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| mask_strings(printer, item) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                if !(item.is_string() && NAME_MEMBERS.contains(&key.as_str())) {
                    changed |= mask_strings(printer, &mut item);
                }
                let masked = printer.redact(&key);
                changed |= masked != key;
                map.insert(masked, item);
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn spooled_events_hold_no_secret_even_escaped_and_stay_json() {
        let mut printer = Printer::default();
        printer.add_secret("Ab3dE/Fg7hIj+Kl9==");
        // JSON may write `/` as `\/`: the key is not in the text as it is.
        let event = br#"{"check":{"output":"login failed for token Ab3dE\/Fg7hIj+Kl9== (401)","status":2}}"#;
        let kept = without_secrets(&printer, event);
        let value: serde_json::Value = serde_json::from_str(&kept).unwrap();
        assert_eq!(value["check"]["output"], "login failed for token ******** (401)");
        assert_eq!(value["check"]["status"], 2);
        // Nothing to mask: the event is kept byte for byte.
        let plain = br#"{"check": {"output": "fine", "status": 0}}"#;
        assert_eq!(without_secrets(&printer, plain).as_bytes(), plain);
        // Not JSON: masked as text.
        assert_eq!(without_secrets(&printer, b"token Ab3dE/Fg7hIj+Kl9=="), "token ********");
    }

    #[test]
    fn a_spooled_event_keeps_names_that_hold_a_piece_of_the_key() {
        let mut printer = Printer::default();
        printer.add_secret("production-key-1");
        printer.add_secret("test");
        let event = br#"{"client":{"name":"production-db01"},"check":{"name":"test_http","output":"token production-key-1, test"}}"#;
        let value: serde_json::Value = serde_json::from_str(&without_secrets(&printer, event)).unwrap();
        // Masked, these would be another check's names: its incident, not this one's.
        assert_eq!(value["client"]["name"], "production-db01");
        assert_eq!(value["check"]["name"], "test_http");
        assert_eq!(value["check"]["output"], "token ********, ********");
    }
}
