//! Lenient readers over the event's JSON: every field may be missing or `null`,
//! numbers may arrive as strings, and a wrong type names its path and what it got.
//! The objects themselves are [`Obj`]: the sparse tree's natively (`sparse.rs`), whole
//! [`Value`]s in the wasm builds (`whole.rs`), behind the same methods.

use crate::prelude::*;

use serde_json::Value;

#[cfg(any(not(target_family = "wasm"), feature = "sparse-events"))]
pub(super) use super::sparse::{Obj, describe_tree, history_entry, is_null, parse, unknown_shape};
#[cfg(all(target_family = "wasm", not(feature = "sparse-events")))]
pub(super) use super::whole::{Obj, describe_tree, history_entry, is_null, parse, unknown_shape};
use super::{Failed, InputError};

/// Describe a JSON value's type for "expected X, got Y".
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => if *b { "the boolean true" } else { "the boolean false" }.to_owned(),
        Value::Number(n) => format!("the number {}", crate::text::number(n)),
        Value::String(s) => {
            // Quoted straight into the text; a cut one ends `…"` (no copy of it is made).
            let shown = crate::text::cap_chars(s, 40);
            let mut out = String::from("the string ");
            crate::text::push_quoted(&mut out, shown);
            if shown.len() < s.len() {
                out.truncate(out.len() - 1);
                out.push_str("…\"");
            }
            out
        }
        Value::Array(a) => array_of(a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// "an array of 1 item", "an array of 3 items".
pub(super) fn array_of(n: usize) -> String {
    format!("an array of {n} item{}", if n == 1 { "" } else { "s" })
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

pub(super) fn wrong(path: String, expected: &'static str, got: &Value) -> Box<InputError> {
    Box::new(InputError::WrongType { path, expected, got: describe(got) })
}

/// An integer from a JSON number (integral, or a float that is whole or truncates
/// sensibly) or a numeric string.
pub(super) fn as_int(value: &Value, path: impl FnOnce() -> String) -> Failed<i64> {
    // Generic only in naming the path: the reading itself is compiled once.
    int_of(value).ok_or_else(|| wrong(path(), "an integer", value))
}

/// [`as_int`]'s reading: `None` when `value` is no integer.
fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if let Some(u) = n.as_u64() {
                Some(i64::try_from(u).unwrap_or(i64::MAX))
            } else {
                n.as_f64().filter(|f| f.is_finite() && f.abs() < 9.0e18).map(|f| f as i64)
            }
        }
        Value::String(s) => crate::text::parse_i64(s.trim_ws()),
        _ => None,
    }
}

/// Not a sensu event: its top-level keys (at most 10, each cut to 40 characters).
pub(super) fn shape_error<'k>(keys: impl Iterator<Item = &'k String>) -> InputError {
    let mut shown = Vec::new();
    for key in keys.take(10) {
        shown.push(crate::text::cap_chars(key, 40).to_owned());
    }
    InputError::UnknownShape { keys: shown }
}

impl<'a> Obj<'a> {
    /// A Go history entry's `status` (missing: 0) and `executed`; `path` names the entry.
    pub(super) fn history_status(&self, path: impl Fn() -> String) -> Failed<(i64, Option<i64>)> {
        let status = match self.get("status") {
            Some(v) => as_int(v, || format!("{}.status", path()))?,
            None => 0,
        };
        let executed = self.get("executed").map(|v| as_int(v, || format!("{}.executed", path()))).transpose()?;
        Ok((status, executed))
    }

    pub(super) fn string(&self, key: &str) -> Failed<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong(join(self.path, key), "a string", other)),
        }
    }

    /// A string, or a number/bool rendered as text (outputs are sometimes numbers).
    pub(super) fn text(&self, key: &str) -> Failed<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(crate::text::number(n))),
            Some(Value::Bool(b)) => Ok(Some(if *b { "true" } else { "false" }.to_owned())),
            Some(other) => Err(wrong(join(self.path, key), "a string", other)),
        }
    }

    pub(super) fn int(&self, key: &str) -> Failed<Option<i64>> {
        self.get(key).map(|v| as_int(v, || join(self.path, key))).transpose()
    }

    pub(super) fn boolean(&self, key: &str) -> Failed<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(wrong(join(self.path, key), "true or false", other)),
        }
    }

    /// A non-empty name (entity, check), trimmed.
    pub(super) fn name(&self, key: &str) -> Failed<String> {
        match self.string(key)? {
            Some(s) if !s.trim_ws().is_empty() => Ok(s.trim_ws().to_owned()),
            Some(_) => Err(InputError::missing(&join(self.path, key), "it is empty")),
            None => Err(InputError::missing(&join(self.path, key), "every event names it")),
        }
    }
}
