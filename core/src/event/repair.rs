//! Repairs for an event that is JSON in all but its text: bytes that are not UTF-8, and
//! `\u` escapes of lone UTF-16 surrogates (valid JSON syntax, not valid text). Both come
//! from check output (a plugin printing Latin-1, a cut multi-byte character); both are
//! replaced with U+FFFD so the alert still goes out (nothing lost), with a warning. A
//! leading byte order mark is dropped.

use crate::prelude::*;

/// The event's bytes repaired, and what was repaired (a phrase for the warning, after
/// "the event"), if anything needed it.
pub(crate) fn repair(bytes: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    if bytes.starts_with(b"\xef\xbb\xbf") {
        // A byte order mark (a file saved by an editor; Sensu sends none): dropped.
        // (`starts_with` and `get`: `<[u8]>::strip_prefix` is code of its own.)
        let rest = bytes.get(3..).unwrap_or_default();
        return Some(repair(rest).unwrap_or_else(|| (rest.to_vec(), "starts with a utf-8 byte order mark: ignored")));
    }
    let (text, not_utf8) = match core::str::from_utf8(bytes) {
        Ok(text) => (alloc::borrow::Cow::Borrowed(text), false),
        Err(_) => (alloc::borrow::Cow::Owned(crate::step::lossy(bytes)), true),
    };
    let fixed = replace_lone_surrogates(&text);
    let what = match (not_utf8, fixed.is_some()) {
        (false, false) => return None,
        (true, false) => "holds bytes that are not utf-8 (check output, most likely): replaced with U+FFFD",
        (false, true) => "holds escapes of lone utf-16 surrogates (check output, most likely): replaced with U+FFFD",
        (true, true) => {
            "holds bytes that are not utf-8 and escapes of lone utf-16 surrogates (check output, most likely): replaced with U+FFFD"
        }
    };
    Some((fixed.unwrap_or_else(|| text.into_owned()).into_bytes(), what))
}

/// The four hex digits at the start of `rest` as a number.
fn hex4(rest: &str) -> Option<u32> {
    rest.get(..4)?.chars().try_fold(0, |n, c| Some(n * 16 + c.to_digit(16)?))
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate, inside a JSON string,
/// replaced by `\ufffd`; `None` when there is none.
fn replace_lone_surrogates(text: &str) -> Option<String> {
    const HIGH: core::ops::RangeInclusive<u32> = 0xD800..=0xDBFF;
    const LOW: core::ops::RangeInclusive<u32> = 0xDC00..=0xDFFF;
    let mut out = String::new();
    let mut copied = 0;
    let mut in_string = false;
    let mut i = 0;
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                let rest = text.get(i + 2..).unwrap_or_default();
                let unit = (bytes.get(i + 1) == Some(&b'u')).then(|| hex4(rest)).flatten();
                match unit {
                    Some(high) if HIGH.contains(&high) => {
                        let next = rest.get(4..).unwrap_or_default();
                        let paired = next.starts_with("\\u")
                            && next.get(2..).and_then(hex4).is_some_and(|low| LOW.contains(&low));
                        if paired {
                            i += 12;
                            continue;
                        }
                    }
                    Some(low) if LOW.contains(&low) => {}
                    // Any other escape: skip the escaped character.
                    _ => {
                        i += 2;
                        continue;
                    }
                }
                out.push_str(text.get(copied..i).unwrap_or_default());
                out.push_str("\\ufffd");
                i += 6;
                copied = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{repair, replace_lone_surrogates};
    use crate::prelude::*;

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        let fixed = |t: &str| replace_lone_surrogates(t);
        assert_eq!(fixed(r#"{"o":"a\ud800b"}"#).as_deref(), Some(r#"{"o":"a\ufffdb"}"#));
        assert_eq!(fixed(r#"{"o":"\udc00"}"#).as_deref(), Some(r#"{"o":"\ufffd"}"#));
        assert_eq!(fixed(r#"{"o":"\ud83d\ude00 ok"}"#), None);
        assert_eq!(fixed(r#"{"o":"\\ud800 is text"}"#), None);
        assert_eq!(fixed(r#"{"o":"\ud800\ud800"}"#).as_deref(), Some(r#"{"o":"\ufffd\ufffd"}"#));
        assert_eq!(fixed(r#"{"o":"end\ud800"}"#).as_deref(), Some(r#"{"o":"end\ufffd"}"#));
        assert_eq!(fixed(r#"{"\ud800":1}"#).as_deref(), Some(r#"{"\ufffd":1}"#));
        assert_eq!(fixed(r#"{"o":"\u00e9\n"}"#), None);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_the_replacement_character() {
        let (fixed, what) = repair(b"{\"o\":\"caf\xe9\"}").unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&fixed), "{\"o\":\"caf\u{fffd}\"}");
        assert!(what.starts_with("holds bytes that are not utf-8"), "{what}");
        assert_eq!(repair(br#"{"o":"fine"}"#), None);
        let (fixed, what) = repair(b"\xef\xbb\xbf{}").unwrap_or_default();
        assert_eq!(fixed, b"{}");
        assert!(what.starts_with("starts with a utf-8 byte order mark"), "{what}");
    }
}
