//! The event's JSON read into a [`Node`] tree that keeps only the members the core reads.
//!
//! Every byte is still parsed exactly as `serde_json::from_slice::<Value>` parses it
//! (same syntax checks, number parsing and nesting limit, so the same errors at the
//! same line and column), but members nobody reads (labels, system, subscriptions,
//! most of `metadata`) are neither allocated nor dropped, and the objects the readers
//! walk are slots by member (no key strings, no map nodes). Where an object is
//! expected and something else comes, it is kept whole, so messages describe it as before.
//!
//! Native builds, and the JS package (core feature `sparse-events`, a plan ~12% faster
//! under Node for ~9 KB of its 300 KB budget). The raw module reads whole [`Value`]s
//! (`whole.rs`): this reader is a second instance of serde_json's parser and a second
//! set of readers, about 7 KB its 200 KB budget has no room for. The parity tests
//! hold every build to the same bytes.

use crate::prelude::*;
use alloc::string::ToString;

use core::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::wire::{as_int, describe, join, shape_error};
use super::{Failed, InputError};

/// An object's members that are kept, sorted by name, with the shape of each.
pub(super) type Members = &'static [(&'static str, Shape)];

/// Which part of a value to keep.
#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    /// Checked, then dropped (read as `null`).
    Skip,
    /// Kept whole, as a [`Value`].
    Full,
    /// An object: [`Node::Object`] of these members only. Anything else is kept whole.
    Object(Members),
    /// An array: [`Node::Items`] of this shape. Anything else is kept whole (an object without members).
    Items(&'static Shape),
    /// A member name: its index in the list (a number), or `null`.
    Key(Members),
}

/// A parsed value, with the parts nobody reads left out.
#[derive(Debug)]
pub(super) enum Node {
    /// A value kept whole (`null` when missing or skipped).
    Value(Value),
    /// An object: one slot per member of its [`Shape::Object`] list (missing: `null`;
    /// duplicate keys: the last wins).
    Object(Vec<Node>),
    /// An array read item by item.
    Items(Vec<Node>),
}

/// `metadata` of a Go check or entity.
const METADATA: Shape =
    Shape::Object(&[("annotations", Shape::Full), ("name", Shape::Full), ("namespace", Shape::Full)]);

/// The members of a Go history entry (Classic entries are numbers or strings, kept whole).
const HISTORY_ENTRY: Members = &[("executed", Shape::Full), ("status", Shape::Full)];

/// `check` of either flavour.
const CHECK: Shape = Shape::Object(&[
    ("alert", Shape::Full),
    ("executed", Shape::Full),
    ("force_resolve", Shape::Full),
    ("history", Shape::Items(&Shape::Object(HISTORY_ENTRY))),
    ("interval", Shape::Full),
    ("is_silenced", Shape::Full),
    ("issued", Shape::Full),
    ("last_ok", Shape::Full),
    ("metadata", METADATA),
    ("name", Shape::Full),
    ("occurrences", Shape::Full),
    ("occurrences_watermark", Shape::Full),
    ("output", Shape::Full),
    ("proxy_entity_name", Shape::Full),
    ("reactio", Shape::Full),
    ("refresh", Shape::Full),
    ("state", Shape::Full),
    ("status", Shape::Full),
]);

/// The whole event: every member the Classic and Go readers look at.
const EVENT: Members = &[
    ("action", Shape::Full),
    ("check", CHECK),
    ("client", Shape::Object(&[("name", Shape::Full)])),
    ("entity", Shape::Object(&[("metadata", METADATA)])),
    ("last_ok", Shape::Full),
    ("metrics", Shape::Object(&[])),
    ("occurrences", Shape::Full),
    ("occurrences_watermark", Shape::Full),
    ("silenced", Shape::Full),
    ("timestamp", Shape::Full),
];

/// Parse an event's JSON, keeping what the event readers use (errors: serde_json's).
pub(super) fn parse(bytes: &[u8]) -> Result<Node, String> {
    // Read as a `str`: the same parse and errors as `from_slice` for UTF-8 text,
    // without checking each string's UTF-8 again (a typical plan ~15% faster), and no
    // second (byte) instance of this reader. Text that is not UTF-8 is repaired and parsed
    // again (`Event::parse`), and only that parse's error is ever shown.
    let text = core::str::from_utf8(bytes).map_err(|e| format!("invalid utf-8 after byte {}", e.valid_up_to()))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Shape::Object(EVENT).deserialize(&mut de).and_then(|node| de.end().map(|()| node));
    parsed.map_err(|e| e.to_string())
}

/// The index of member `name` (cheap checks first: most keys match no member).
fn index(members: Members, name: &str) -> Option<usize> {
    let (len, first) = (name.len(), name.as_bytes().first());
    members.iter().position(|(member, _)| member.len() == len && member.as_bytes().first() == first && *member == name)
}

impl Shape {
    /// The members of an object of this shape (none for other shapes).
    pub(super) fn members(self) -> Members {
        match self {
            Shape::Object(members) => members,
            _ => &[],
        }
    }

    fn keep(self, value: Value) -> Node {
        Node::Value(if matches!(self, Shape::Skip) { Value::Null } else { value })
    }
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        match self {
            Shape::Full => serde::Deserialize::deserialize(deserializer).map(Node::Value),
            shape => deserializer.deserialize_any(shape),
        }
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
        Ok(self.keep(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
        Ok(self.keep(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
        Ok(self.keep(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Node, E> {
        Ok(self.keep(Number::from_f64(value).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Value(match self {
            Shape::Skip => Value::Null,
            Shape::Key(members) => index(members, value).map_or(Value::Null, Value::from),
            _ => Value::String(value.to_owned()),
        }))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Value(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        match self {
            Shape::Skip => {
                while seq.next_element_seed(Shape::Skip)?.is_some() {}
                Ok(Node::Value(Value::Null))
            }
            Shape::Items(item) => {
                let mut items = Vec::new();
                while let Some(node) = seq.next_element_seed(*item)? {
                    items.push(node);
                }
                Ok(Node::Items(items))
            }
            _ => {
                let mut items = Vec::new();
                while let Some(value) = seq.next_element()? {
                    items.push(value);
                }
                Ok(Node::Value(Value::Array(items)))
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let members = self.members();
        let mut slots: Vec<Node> = members.iter().map(|_| Node::Value(Value::Null)).collect();
        let key = if members.is_empty() { Shape::Skip } else { Shape::Key(members) };
        while let Some(name) = map.next_key_seed(key)? {
            let i = match name {
                Node::Value(Value::Number(i)) => i.as_u64().and_then(|i| usize::try_from(i).ok()),
                _ => None,
            };
            match i.and_then(|i| Some((slots.get_mut(i)?, members.get(i)?.1))) {
                Some((slot, shape)) => *slot = map.next_value_seed(shape)?,
                None => {
                    map.next_value_seed(Shape::Skip)?;
                }
            }
        }
        Ok(if matches!(self, Shape::Skip) { Node::Value(Value::Null) } else { Node::Object(slots) })
    }
}

/// A JSON object (its kept members, see [`Shape::Object`]) with the path it was found at, for error messages.
#[derive(Clone, Copy, Debug)]
pub(super) struct Obj<'a> {
    fields: &'a [Node],
    members: Members,
    pub(super) path: &'a str,
}

/// Describe a parsed node's type (a value, or an object or array read in parts).
pub(super) fn describe_tree(node: &Node) -> String {
    match node {
        Node::Value(value) => describe(value),
        Node::Object(_) => "an object".to_owned(),
        Node::Items(items) => super::wire::array_of(items.len()),
    }
}

fn wrong_node(path: String, expected: &'static str, got: &Node) -> Box<InputError> {
    Box::new(InputError::WrongType { path, expected, got: describe_tree(got) })
}

/// Missing or `null`.
pub(super) fn is_null(node: &Node) -> bool {
    matches!(node, Node::Value(Value::Null))
}

/// Not a sensu event: its top-level keys (at most 10), from a full parse (this
/// message is the only reader of the keys the sparse parse leaves out).
pub(super) fn unknown_shape(_: &Obj<'_>, bytes: &[u8]) -> InputError {
    let root = match crate::json_in::parse(bytes) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    shape_error(root.keys())
}

impl<'a> Obj<'a> {
    /// The object at the top of a parsed event (else `None`).
    pub(super) fn root(node: &'a Node) -> Option<Obj<'a>> {
        match node {
            Node::Object(fields) => Some(Obj { fields, members: EVENT, path: "" }),
            _ => None,
        }
    }

    /// A member with its shape, `None` when missing or `null`.
    fn slot(&self, key: &str) -> Option<(&'a Node, Shape)> {
        let i = index(self.members, key)?;
        let node = self.fields.get(i).filter(|n| !is_null(n))?;
        Some((node, self.members.get(i)?.1))
    }

    /// A member, `None` when missing or `null`.
    pub(super) fn node(&self, key: &str) -> Option<&'a Node> {
        self.slot(key).map(|(node, _)| node)
    }

    /// A member kept whole, `None` when missing or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        match self.node(key)? {
            Node::Value(value) => Some(value),
            _ => None,
        }
    }

    pub(super) fn obj(&self, key: &str, path: &'a str) -> Failed<Option<Obj<'a>>> {
        match self.slot(key) {
            None => Ok(None),
            Some((Node::Object(fields), shape)) => Ok(Some(Obj { fields, members: shape.members(), path })),
            Some((other, _)) => Err(wrong_node(join(self.path, key), "an object", other)),
        }
    }

    /// An object kept whole, `None` when missing.
    pub(super) fn map(&self, key: &str) -> Failed<Option<&'a Map<String, Value>>> {
        match self.node(key) {
            None => Ok(None),
            Some(Node::Value(Value::Object(map))) => Ok(Some(map)),
            Some(other) => Err(wrong_node(join(self.path, key), "an object", other)),
        }
    }

    pub(super) fn array(&self, key: &str) -> Failed<Option<&'a [Node]>> {
        match self.node(key) {
            None => Ok(None),
            Some(Node::Items(items)) => Ok(Some(items)),
            Some(other) => Err(wrong_node(join(self.path, key), "an array", other)),
        }
    }
}

/// One history entry: Classic strings/numbers, Go `{status, executed}` objects.
pub(super) fn history_entry(node: &Node, path: impl Fn() -> String) -> Failed<(i64, Option<i64>)> {
    match node {
        Node::Object(fields) => Obj { fields, members: HISTORY_ENTRY, path: "" }.history_status(path),
        Node::Value(other) => Ok((as_int(other, path)?, None)),
        other => Err(wrong_node(path(), "an integer", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(members: Members) -> bool {
        members.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0))
            && members.iter().all(|(_, shape)| match shape {
                Shape::Object(m) => sorted(m),
                Shape::Items(item) => sorted(item.members()),
                _ => true,
            })
    }

    #[test]
    fn member_lists_are_sorted() {
        assert!(sorted(EVENT));
    }

    #[test]
    fn errors_are_serde_json_s() {
        let texts: &[&[u8]] = &[
            b"",
            b"{",
            b"{\"check\":{\"labels\":[1,2,}",
            b"{\"a\":1e999}",
            b"{\"entity\":{\"system\":\"\\ud800\"}}",
            b"{\"check\":{}} x",
            b"{\"a\":tru}",
            b"{1:2}",
            b"{\"entity\":{\"system\":\"a\x01b\"}}",
            b"{\"check\":{\"output\":\"bad \\x escape\"}}",
            b"{\"check\":{\"output\":\"\\u12\"}}",
            b"{\"check\":{\"output\":\"\\udc00 \\ud83d\\ude00\"}}",
            b"{\"check\":{\"status\":18446744073709551616}}",
            b"{\"check\":\n  {\"name\":\"disk\",\n   \"status\": 2,,}}",
            "{\"check\":{\"output\":\"caf\u{e9} \u{1F6A8}\"}} ]".as_bytes(),
        ];
        for text in texts {
            let ours = parse(text).err();
            let theirs = serde_json::from_slice::<Value>(text).err().map(|e| e.to_string());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(text));
        }
        // Not UTF-8: refused here; `Event::parse` repairs it and shows that parse's error.
        assert!(parse(b"{\"x\":\"\xff\"}").is_err());
        // Every prefix of a real event: an error at each place a parse can stop.
        let event = include_bytes!("../../../examples/events/go-critical.json");
        for end in 0..event.len() {
            let text = event.get(..end).unwrap_or_default();
            let ours = parse(text).err();
            assert_eq!(
                ours,
                serde_json::from_slice::<Value>(text).err().map(|e| e.to_string()),
                "prefix of {end} bytes"
            );
        }
        let deep = format!("{{\"entity\":{{\"system\":{}{}}}}}", "[".repeat(200), "]".repeat(200));
        let ours = parse(deep.as_bytes()).err();
        assert_eq!(ours, serde_json::from_slice::<Value>(deep.as_bytes()).err().map(|e| e.to_string()));
        assert!(ours.is_some());
    }
}
