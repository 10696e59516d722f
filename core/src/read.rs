//! Hand-written readers for the protocol's JSON inputs (context, answer, configuration input, gateway configuration).
//!
//! Each input is parsed once to a [`serde_json::Value`] and read with the small
//! helpers here instead of serde-derived `Deserialize` impls: the wasm builds then
//! carry one JSON parser and no per-type visitor code. Messages name the field, what
//! was expected and what kind of value came (never the value itself: configuration
//! values may be secrets). Missing and `null` members take their defaults; unknown
//! members are ignored; duplicate keys: the last wins.

use crate::prelude::*;

use alloc::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::{Config, ConfigError, ConfigInput, Layers};
use crate::gateway::GatewayConfig;
use crate::step::{Answer, Context, Failure, FailureKind, Method, Response};

/// What kind of JSON value this is, for "expected X, got Y" (no value is quoted).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse JSON text that must be one object.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match crate::json_in::parse(bytes)? {
        Value::Object(map) => Ok(map),
        other => Err(format!("expected a json object, got {}", kind(&other))),
    }
}

/// Parse JSON text into a value, exactly as `serde_json::from_slice::<Value>` would
/// (the same value, the same error text), without serde_json's deserializer. Public
/// for the JS edge glue (`wasm/edge`, which would link that deserializer again) and
/// the fuzz target that holds the two to each other (`fuzz/fuzz_targets/json_in.rs`).
#[doc(hidden)]
pub fn parse_value(bytes: &[u8]) -> Result<Value, String> {
    crate::json_in::parse(bytes)
}

/// The members of one JSON object, with the path of the object for messages.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// Empty at the top, else `name.` (so a member's path is `prefix + key`).
    prefix: &'a str,
}

fn wrong(prefix: &str, key: &str, expected: &str, got: &Value) -> String {
    format!("`{prefix}{key}` must be {expected}, got {}", kind(got))
}

impl<'a> Fields<'a> {
    /// The members of `map`, found at `prefix` (`""` at the top, else ending in `.`).
    pub fn new(map: &'a Map<String, Value>, prefix: &'a str) -> Fields<'a> {
        Fields { map, prefix }
    }

    /// A member, `None` when missing or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A member that must be there.
    pub fn required(&self, key: &str) -> Result<&'a Value, String> {
        self.get(key).ok_or_else(|| format!("missing field `{}{key}`", self.prefix))
    }

    /// A boolean, `false` when missing.
    pub fn bool(&self, key: &str) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong(self.prefix, key, "true or false", other)),
        }
    }

    /// A string, `None` when missing.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong(self.prefix, key, "a string", other)),
        }
    }

    /// A string, empty when missing.
    pub fn string(&self, key: &str) -> Result<String, String> {
        // Read here, not `opt_string(..).map(Option::unwrap_or_default)`: less wasm code.
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(wrong(self.prefix, key, "a string", other)),
        }
    }

    /// A whole number within `min..=max`, required.
    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<i64, String> {
        let value = self.required(key)?;
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => {
                let mut expected = String::from("a whole number from ");
                crate::text::push_i64(&mut expected, min, 1);
                expected.push_str(" to ");
                crate::text::push_i64(&mut expected, max, 1);
                Err(wrong(self.prefix, key, &expected, value))
            }
        }
    }

    /// An object of strings (`{"NAME":"value"}`), `None` when missing.
    pub fn strings(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, String> {
        let map = match self.get(key) {
            None => return Ok(None),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(wrong(self.prefix, key, "an object of strings", other)),
        };
        for (name, value) in map {
            if !value.is_string() {
                return Err(format!("`{}{key}.{name}` must be a string, got {}", self.prefix, kind(value)));
            }
        }
        Ok(Some(map))
    }

    /// An object of strings (`{"NAME":"value"}`), empty when missing.
    pub fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        if let Some(map) = self.strings(key)? {
            for (name, value) in map {
                out.insert(name.clone(), value.as_str().unwrap_or_default().to_owned());
            }
        }
        Ok(out)
    }

    /// A list of `[name, value]` string pairs, empty when missing.
    pub fn pairs(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        const EXPECTED: &str = "an array of [name, value] string pairs";
        let list = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(other) => return Err(wrong(self.prefix, key, EXPECTED, other)),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match item.as_array().map(Vec::as_slice) {
                Some([Value::String(name), Value::String(value)]) => out.push((name.clone(), value.clone())),
                _ => return Err(format!("`{}{key}` item {i} must be a [name, value] pair of strings", self.prefix)),
            }
        }
        Ok(out)
    }

    /// An object, `None` when missing.
    pub fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(wrong(self.prefix, key, "an object", other)),
        }
    }

    /// A tag (a string out of `names`), required; its index in `names`.
    pub fn tag(&self, key: &str, names: &[&str]) -> Result<usize, String> {
        let value = self.required(key)?;
        if let Some(at) = value.as_str().and_then(|s| names.iter().position(|n| *n == s)) {
            return Ok(at);
        }
        // The names listed only for the error (no text made for a tag that reads).
        let list = ticked(names);
        match value {
            Value::String(s) => {
                Err(format!("unknown variant `{s}` for `{}{key}`, expected one of {list}", self.prefix))
            }
            other => Err(wrong(self.prefix, key, &format!("one of {list}"), other)),
        }
    }

    /// Refuse members not in `known` (for inputs that are strict about typos).
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), String> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(format!("unknown field `{}{key}`, expected one of {}", self.prefix, ticked(known))),
        }
    }
}

/// The names in backticks, comma-separated (`` `a`, `b` ``), for a message.
fn ticked(names: &[&str]) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(name);
        out.push('`');
    }
    out
}

impl Context {
    /// Read a context object (`{"now":<epoch s>,"first_occurrence":false,"dry_run":false}`).
    pub fn from_json(map: &Map<String, Value>) -> Result<Context, String> {
        let fields = Fields::new(map, "");
        let mut first = FirstError(None);
        let context = Context {
            now: first.take(fields.int("now", i64::MIN, i64::MAX)),
            first_occurrence: first.take(fields.bool("first_occurrence")),
            dry_run: first.take(fields.bool("dry_run")),
            create_unconfirmed: first.take(fields.bool("create_unconfirmed")),
            received: match fields.get("received") {
                None | Some(Value::Null) => None,
                Some(_) => Some(first.take(fields.int("received", i64::MIN, i64::MAX))),
            },
        };
        first.or(context)
    }
}

impl Answer {
    /// Read an answer (`{"answer":"response"|"failure"|"waited",..}`).
    pub fn from_json(value: &Value) -> Result<Answer, String> {
        let Value::Object(map) = value else {
            return Err(format!("expected a json object, got {}", kind(value)));
        };
        let fields = Fields::new(map, "");
        let mut first = FirstError(None);
        let answer = match first.take(fields.tag("answer", &["response", "failure", "waited"])) {
            0 => Answer::Response(Response {
                status: u16::try_from(first.take(fields.int("status", 0, i64::from(u16::MAX)))).unwrap_or_default(),
                headers: first.take(fields.pairs("headers")),
                body: first.take(fields.string("body")),
            }),
            1 => {
                let kind = first.take(fields.tag("kind", &FailureKind::LABELS));
                Answer::Failure(Failure {
                    kind: FailureKind::ALL.get(kind).copied().unwrap_or(FailureKind::Other),
                    detail: first.take(fields.string("detail")),
                })
            }
            _ => Answer::Waited,
        };
        first.or(answer)
    }
}

/// The first error of reads that are all made either way (each is free of side
/// effects): one check at the end instead of a `?`, and a partly built value moved
/// into an `Err`, per member. The error is the one the first failing read's `?` gave.
struct FirstError(Option<String>);

impl FirstError {
    /// What was read, or its default with the error kept (if none came before).
    fn take<T: Default>(&mut self, read: Result<T, String>) -> T {
        match read {
            Ok(value) => value,
            Err(e) => {
                self.0.get_or_insert(e);
                T::default()
            }
        }
    }

    /// `value`, unless a read failed.
    fn or<T>(self, value: T) -> Result<T, String> {
        match self.0 {
            None => Ok(value),
            Some(e) => Err(e),
        }
    }
}

/// A step's kind (0 request, 1 wait, 2 done) and, for a request, its method: all
/// [`crate::json_api::dry_run_answer_json`] needs.
pub(crate) fn step_kind(map: &Map<String, Value>) -> Result<(usize, Option<Method>), String> {
    let fields = Fields::new(map, "");
    let step = fields.tag("step", &["request", "wait", "done"])?;
    let method = match step {
        0 => Some(if fields.tag("method", &["GET", "POST"])? == 0 { Method::Get } else { Method::Post }),
        _ => None,
    };
    Ok((step, method))
}

/// A configuration input object read in place: what [`Config::load`] reads of a
/// [`ConfigInput`], borrowed from the parsed JSON (the JSON API loads it without
/// copying it into a `ConfigInput`).
pub(crate) struct InputJson<'a> {
    settings: Option<&'a Value>,
    env: Option<&'a Map<String, Value>>,
    flags: Option<&'a Map<String, Value>>,
    handler_name: Option<String>,
    key_files: Option<&'a Map<String, Value>>,
}

impl<'a> InputJson<'a> {
    /// Read a configuration input object (every member optional), its members found
    /// under `prefix` (`""` at the top, `config.` inside a gateway configuration).
    pub(crate) fn read(map: &'a Map<String, Value>, prefix: &'a str) -> Result<InputJson<'a>, String> {
        let fields = Fields::new(map, prefix);
        // A misspelt member (`setings`) would otherwise drop what it holds without a word.
        let mut first = FirstError(None);
        first.take(fields.deny_unknown(&["settings", "env", "flags", "handler_name", "key_files"]));
        let input = InputJson {
            settings: fields.get("settings"),
            env: first.take(fields.strings("env")),
            flags: first.take(fields.strings("flags")),
            handler_name: first.take(fields.opt_string("handler_name")),
            key_files: first.take(fields.strings("key_files")),
        };
        first.or(input)
    }

    /// [`Config::load`] of this input, its error still boxed (the configuration is not
    /// moved through an unboxing).
    pub(crate) fn load(&self) -> Result<Box<Config>, Box<ConfigError>> {
        let empty = Map::new();
        Config::load_layers(&Layers {
            settings: self.settings.unwrap_or(&Value::Null),
            env: self.env.unwrap_or(&empty),
            flags: self.flags.unwrap_or(&empty),
            handler_name: self.handler_name.as_deref(),
            key_files: self.key_files.unwrap_or(&empty),
        })
    }
}

/// An object of strings as a map, empty when missing.
fn owned(strings: Option<&Map<String, Value>>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in strings.into_iter().flatten() {
        out.insert(name.clone(), value.as_str().unwrap_or_default().to_owned());
    }
    out
}

impl ConfigInput {
    /// Read a configuration input object (every member optional), its members found
    /// under `prefix` (`""` at the top, `config.` inside a gateway configuration).
    pub fn from_json(map: &Map<String, Value>, prefix: &str) -> Result<ConfigInput, String> {
        let input = InputJson::read(map, prefix)?;
        Ok(ConfigInput {
            settings: input.settings.map(crate::text::copy_json).unwrap_or_default(),
            env: owned(input.env),
            flags: owned(input.flags),
            handler_name: input.handler_name,
            key_files: owned(input.key_files),
        })
    }
}

impl GatewayConfig {
    /// Read a gateway configuration object (`{"token":..,"allow_unauthenticated":..,"config":{..}}`).
    pub fn from_json(map: &Map<String, Value>, prefix: &str) -> Result<GatewayConfig, String> {
        let fields = Fields::new(map, prefix);
        let config_prefix = format!("{prefix}config.");
        let mut first = FirstError(None);
        first.take(fields.deny_unknown(&["token", "allow_unauthenticated", "config"]));
        let config = GatewayConfig {
            token: first.take(fields.opt_string("token")),
            allow_unauthenticated: first.take(fields.bool("allow_unauthenticated")),
            config: match first.take(fields.object("config")) {
                Some(map) => first.take(ConfigInput::from_json(map, &config_prefix)),
                None => ConfigInput::default(),
            },
        };
        first.or(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        parse_object(text.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn a_misspelt_member_of_a_configuration_is_refused_not_dropped() {
        let err = ConfigInput::from_json(&object(r#"{"setings":{"reactio":{}}}"#), "").unwrap_err();
        assert!(err.starts_with("unknown field `setings`, expected one of `settings`"), "{err}");
        let err = GatewayConfig::from_json(&object(r#"{"token":"t","config":{"key_file":"x"}}"#), "").unwrap_err();
        assert!(err.starts_with("unknown field `config.key_file`"), "{err}");
        let err = GatewayConfig::from_json(&object(r#"{"tokn":"t"}"#), "").unwrap_err();
        assert!(err.starts_with("unknown field `tokn`"), "{err}");
    }

    #[test]
    fn context_reads_defaults_and_names_the_field() {
        let context = Context::from_json(&object(r#"{"now":5,"dry_run":true,"extra":1}"#));
        assert_eq!(context, Ok(Context { now: 5, dry_run: true, ..Context::default() }));
        assert_eq!(Context::from_json(&object("{}")), Err("missing field `now`".to_owned()));
        assert_eq!(
            Context::from_json(&object(r#"{"now":"5"}"#)),
            Err(format!("`now` must be a whole number from {} to {}, got a string", i64::MIN, i64::MAX))
        );
        assert_eq!(parse_object(b"[1]"), Err("expected a json object, got an array".to_owned()));
    }

    #[test]
    fn answers_read_like_their_serialized_form() {
        let answers = [
            Answer::Response(Response {
                status: 429,
                headers: vec![("retry-after".into(), "3".into())],
                body: "{}".into(),
            }),
            Answer::Failure(Failure { kind: FailureKind::Tls, detail: "x".into() }),
            Answer::Waited,
        ];
        for answer in answers {
            let value = serde_json::to_value(&answer).unwrap_or_default();
            assert_eq!(Answer::from_json(&value), Ok(answer));
        }
        let bad = |text: &str| Answer::from_json(&serde_json::from_str(text).unwrap_or_default()).err();
        assert_eq!(
            bad(r#"{"answer":"nope"}"#).as_deref(),
            Some("unknown variant `nope` for `answer`, expected one of `response`, `failure`, `waited`")
        );
        assert_eq!(
            bad(r#"{"answer":"response","status":70000}"#).as_deref(),
            Some("`status` must be a whole number from 0 to 65535, got a number")
        );
        assert_eq!(
            bad(r#"{"answer":"response","status":200,"headers":[["a"]]}"#).as_deref(),
            Some("`headers` item 0 must be a [name, value] pair of strings")
        );
        assert_eq!(bad(r#"{"answer":"failure"}"#).as_deref(), Some("missing field `kind`"));
    }

    #[test]
    fn gateway_config_reads_nested_paths() {
        let config = GatewayConfig::from_json(
            &object(r#"{"token":"t","config":{"env":{"REACTIO_X":"1"},"settings":{"a":1}}}"#),
            "",
        );
        let Ok(config) = config else { panic!("{config:?}") };
        assert_eq!(config.token.as_deref(), Some("t"));
        assert_eq!(config.config.env.get("REACTIO_X").map(String::as_str), Some("1"));
        assert_eq!(
            GatewayConfig::from_json(&object(r#"{"config":{"flags":{"api_key":5}}}"#), "gateway.").err().as_deref(),
            Some("`gateway.config.flags.api_key` must be a string, got a number")
        );
    }
}
