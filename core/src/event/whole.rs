//! The event's JSON as one whole [`Value`] (the wasm builds; natively `sparse.rs`
//! reads only the members the readers use): the same [`Obj`] methods over maps.

use crate::prelude::*;

use serde_json::{Map, Value};

use super::wire::{as_int, describe, join, shape_error, wrong};
use super::{Failed, InputError};

/// A JSON object with the path it was found at, for error messages.
#[derive(Clone, Copy, Debug)]
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    pub(super) path: &'a str,
}

/// Parse an event's JSON.
pub(super) fn parse(bytes: &[u8]) -> Result<Value, String> {
    crate::json_in::parse(bytes)
}

/// Describe a JSON value's type.
pub(super) fn describe_tree(value: &Value) -> String {
    describe(value)
}

/// Missing or `null`.
pub(super) fn is_null(value: &Value) -> bool {
    value.is_null()
}

/// Not a sensu event: its top-level keys (at most 10).
pub(super) fn unknown_shape(root: &Obj<'_>, _: &[u8]) -> InputError {
    shape_error(root.map.keys())
}

impl<'a> Obj<'a> {
    /// The object at the top of a parsed event (else `None`).
    pub(super) fn root(value: &'a Value) -> Option<Obj<'a>> {
        match value {
            Value::Object(map) => Some(Obj { map, path: "" }),
            _ => None,
        }
    }

    /// A member, `None` when missing or `null`.
    pub(super) fn node(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    /// A member, `None` when missing or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn obj(&self, key: &str, path: &'a str) -> Failed<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, path })),
            Some(other) => Err(wrong(join(self.path, key), "an object", other)),
        }
    }

    /// An object, `None` when missing.
    pub(super) fn map(&self, key: &str) -> Failed<Option<&'a Map<String, Value>>> {
        self.obj(key, "").map(|obj| obj.map(|obj| obj.map))
    }

    pub(super) fn array(&self, key: &str) -> Failed<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(wrong(join(self.path, key), "an array", other)),
        }
    }
}

/// One history entry: Classic strings/numbers, Go `{status, executed}` objects.
pub(super) fn history_entry(value: &Value, path: impl Fn() -> String) -> Failed<(i64, Option<i64>)> {
    match value {
        Value::Object(map) => Obj { map, path: "" }.history_status(path),
        other => Ok((as_int(other, path)?, None)),
    }
}
