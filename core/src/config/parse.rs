//! Raw setting values (typed JSON from files and events, strings from env and flags)
//! parsed by their [`Kind`] into typed values, with "expected X, got Y" errors.

use crate::prelude::*;

use serde_json::Value;

use super::endpoint::{endpoint, valid_organization};
use super::keys::{KeySpec, Kind};
use super::{Endpoint, Secret};
use crate::severity::{Severity, SeveritySet};
use crate::template::Template;

/// A parsed value of one setting.
#[derive(Clone, Debug)]
pub(crate) enum Parsed {
    Bool(bool),
    Count(u64),
    /// Seconds, kept in milliseconds.
    Millis(u64),
    Text(String),
    Secret(Secret),
    Severities(SeveritySet),
    List(Vec<String>),
    Template(Template),
    Choice(&'static str),
    /// Minutes east of UTC.
    Offset(i32),
    /// Boxed: the one large kind, so every other `Parsed` moves in 16 bytes, not 40.
    Endpoint(Box<Endpoint>),
}

/// Why a raw value does not parse: what was expected, what was got, a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// "a count (a whole number, at least 1)".
    pub expected: String,
    /// The value as written (never a secret's value).
    pub got: String,
    /// "; did you mean `critical`?" or empty.
    pub hint: String,
}

const MAX_SHOWN: usize = 60;

/// A raw value shown in a message: compact JSON, shortened; secrets only by type.
pub(crate) fn show(value: &Value, secret: bool) -> String {
    if secret {
        return match value {
            Value::String(s) if s.is_empty() => "an empty string".into(),
            Value::String(_) => "a string (not shown)".into(),
            other => format!("{} (not shown)", type_name(other)),
        };
    }
    let text = crate::text::show_json(value);
    if crate::text::char_count(&text) > MAX_SHOWN {
        format!("{}...", crate::text::cap_chars(&text, MAX_SHOWN))
    } else {
        text
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn fail(expected: String, value: &Value, secret: bool) -> Box<ParseError> {
    Box::new(ParseError { expected, got: show(value, secret), hint: String::new() })
}

/// A value that did not parse. Boxed: each `?` and move of a parse's result then
/// carries a pointer, not the three strings.
pub(crate) type Refused<T> = Result<T, Box<ParseError>>;

/// What a value of this kind looks like, for messages.
pub(crate) fn expected(spec: &KeySpec) -> String {
    match spec.kind {
        Kind::Bool => "a bool (true/false, yes/no, 1/0)".into(),
        Kind::Count if spec.name == "occurrences" => "a count (a whole number, at least 1)".into(),
        Kind::Count => "a count (a whole number from 0 to 9e15)".into(),
        Kind::Seconds if fractional(spec) => "a number of seconds from 0.001 to 1e9 (fractions allowed)".into(),
        Kind::Seconds => "a whole number of seconds from 0 to 1e9".into(),
        Kind::Text if spec.name == "organization" => {
            "an organization name (letters, digits and `-`, as in `<organization>.reactio.jp`)".into()
        }
        Kind::Text => "a non-empty string".into(),
        Kind::Secret => "a non-empty string".into(),
        Kind::Path => "a non-empty path".into(),
        Kind::Url => "an http(s) url such as `https://demo.reactio.jp`".into(),
        Kind::Severities => "severities (a list of ok, warning, critical, unknown)".into(),
        Kind::List => "a list of strings (a JSON array or comma-separated)".into(),
        Kind::Template => "a template string".into(),
        Kind::Choice(words) => format!("one of {}", crate::text::join(words, ", ")),
        Kind::Offset => "a utc offset such as `+09:00`, `-05:30`, `Z` or `UTC`".into(),
        Kind::Profiles => "an object of named profiles".into(),
    }
}

/// Settings stored in milliseconds accept fractional seconds and must be above 0.
fn fractional(spec: &KeySpec) -> bool {
    matches!(spec.name, "deadline" | "request_timeout")
}

/// Parse one raw value of `spec`. Strings are accepted for every kind.
pub(crate) fn parse(spec: &KeySpec, value: &Value) -> Refused<Parsed> {
    let secret = spec.kind == Kind::Secret;
    let bad = || fail(expected(spec), value, secret);
    // The kinds refused only as "expected X, got Y" give `None`, refused once at the end
    // (one `ok_or_else` for them all, not one each: less wasm code).
    let parsed = match spec.kind {
        Kind::Bool => boolean(value).map(Parsed::Bool),
        Kind::Count => {
            number(value).and_then(whole).filter(|n| spec.name != "occurrences" || *n != 0).map(Parsed::Count)
        }
        Kind::Seconds => match number(value).filter(|s| *s >= 0.0 && *s <= 1.0e9) {
            Some(secs) if fractional(spec) => {
                let ms = crate::text::round_half_up(secs * 1000.0);
                (ms >= 1.0).then_some(Parsed::Millis(ms as u64))
            }
            secs => secs.and_then(whole).map(|s| Parsed::Millis(s * 1000)),
        },
        Kind::Text if spec.name == "organization" => {
            nonempty(value).filter(|o| valid_organization(o)).map(Parsed::Text)
        }
        Kind::Text | Kind::Path => nonempty(value).map(Parsed::Text),
        Kind::Secret => nonempty(value).map(|s| Parsed::Secret(Secret::new(s))),
        Kind::List => list(value).map(Parsed::List),
        Kind::Offset => string(value).as_deref().and_then(offset).map(Parsed::Offset),
        Kind::Profiles => None,
        Kind::Url => {
            let text = nonempty(value).ok_or_else(bad)?;
            return endpoint(&text)
                .map(|e| Parsed::Endpoint(Box::new(e)))
                .map_err(|why| Box::new(ParseError { expected: expected(spec), got: why, hint: String::new() }));
        }
        Kind::Severities => {
            return severities(value)
                .map(Parsed::Severities)
                .map_err(|(got, hint)| Box::new(ParseError { expected: expected(spec), got, hint }));
        }
        Kind::Template => {
            let Value::String(source) = value else { return Err(bad()) };
            let template = Template::parse(source).map_err(|e| {
                Box::new(ParseError {
                    expected: "a template that parses".into(),
                    got: show(value, false),
                    hint: format!(" ({})", e.message),
                })
            })?;
            if spec.name == "name_template" && !starts_with_key(&template) {
                return Err(Box::new(ParseError {
                    expected: "a name template starting with `{{.Key}}` followed by a space or nothing (incidents are found again by that prefix)".into(),
                    got: show(value, false),
                    hint: format!("; e.g. `{{{{.Key}}}} {}`", crate::text::replace(source, "{{.Key}}", "").trim_ws()),
                }));
            }
            return Ok(Parsed::Template(template));
        }
        Kind::Choice(words) => {
            let text = string(value).ok_or_else(bad)?;
            let word = text.trim_ws().to_ascii_lowercase();
            return match words.iter().find(|w| **w == word) {
                Some(w) => Ok(Parsed::Choice(w)),
                None => {
                    let mut error = bad();
                    error.hint = suggestion(&word, words.iter().copied());
                    Err(error)
                }
            };
        }
    };
    parsed.ok_or_else(bad)
}

/// "; did you mean `x`?" or empty.
pub(crate) fn suggestion<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::text::wrapped(crate::did_you_mean(input, candidates), "; did you mean `", "`?")
}

fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn nonempty(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim_ws().is_empty() => Some(s.trim_ws().to_owned()),
        _ => None,
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim_ws().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => decimal(s.trim_ws()),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// A decimal number written as text (`5`, `-0.25`, `.5`, `1e3`), as `str::parse::<f64>`
/// reads it for every realistic setting: exact when it has at most 19 significant
/// digits, at most 2^53 as an integer, and a power of ten within ±22; beyond that
/// within a rounding step. Hand-written: the standard parser brings about 15 KB of
/// code and tables into the wasm builds. `inf` and `nan` are `None` (never finite).
fn decimal(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (number, exponent) = match rest.bytes().position(|b| b == b'e' || b == b'E') {
        Some(at) => (rest.get(0..at)?, Some(rest.get(at + 1..)?)),
        None => (rest, None),
    };
    let (whole, fraction) = crate::text::split_once(number, ".").unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut power: i64 = match exponent {
        None => 0,
        Some(e) => {
            let unsigned = match e.as_bytes().first() {
                Some(b'+' | b'-') => e.get(1..)?,
                _ => e,
            };
            if unsigned.is_empty() || !digits(unsigned) {
                return None;
            }
            // Saturate: past ±10^6 only zero or infinity can come out.
            let n = unsigned.bytes().fold(0i64, |n, b| (n * 10 + i64::from(b - b'0')).min(1_000_000));
            if e.starts_with('-') { -n } else { n }
        }
    };
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    for (i, b) in whole.bytes().chain(fraction.bytes()).enumerate() {
        let in_fraction = i >= whole.len();
        if significant < 19 {
            mantissa = mantissa * 10 + u64::from(b - b'0');
            if mantissa > 0 {
                significant += 1;
            }
            if in_fraction {
                power -= 1;
            }
        } else if !in_fraction {
            power += 1; // a dropped digit of the whole part
        }
    }
    // 10^0..=10^22 are exact in an f64, so one multiplication or division by one of
    // them rounds correctly when the mantissa is exact too (at most 2^53).
    let exact_power = |p: i64| (0..p).fold(1.0f64, |acc, _| acc * 10.0);
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let value = if mantissa == 0 {
        0.0
    } else if mantissa <= 1 << 53 && (-22..=22).contains(&power) {
        if power >= 0 { mantissa as f64 * exact_power(power) } else { mantissa as f64 / exact_power(-power) }
    } else {
        mantissa as f64 * powi(10.0, power.clamp(-1000, 1000) as i32)
    };
    Some(if negative { -value } else { value })
}

/// `base.powi(exp)` (`core` has no `powi`), by squaring as compiler-builtins'
/// `__powidf2` does, so the native and wasm builds read the same number.
fn powi(mut base: f64, exp: i32) -> f64 {
    let mut left = exp.unsigned_abs();
    let mut out = 1.0;
    loop {
        if left & 1 == 1 {
            out *= base;
        }
        left /= 2;
        if left == 0 {
            break;
        }
        base *= base;
    }
    if exp < 0 { 1.0 / out } else { out }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
fn whole(f: f64) -> Option<u64> {
    ((0.0..=9.0e15).contains(&f) && (f as u64) as f64 == f).then_some(f as u64)
}

/// A list from a JSON array, a JSON array written as a string, or a comma-separated string.
fn list(value: &Value) -> Option<Vec<String>> {
    let parsed;
    let items = match value {
        Value::Array(items) => items,
        Value::String(s) if s.trim_ws_start().starts_with('[') => match crate::json_in::parse(s.as_bytes()) {
            Ok(Value::Array(items)) => {
                parsed = items;
                &parsed
            }
            _ => return None,
        },
        Value::String(s) => {
            let mut out = Vec::new();
            let mut rest = s.as_str();
            while let Some((item, after)) = crate::text::split_once(rest, ",") {
                push_trimmed(&mut out, item);
                rest = after;
            }
            push_trimmed(&mut out, rest);
            return Some(out);
        }
        _ => return None,
    };
    let mut out = Vec::new();
    for item in items {
        let Value::String(text) = item else { return None };
        push_trimmed(&mut out, text);
    }
    Some(out)
}

/// Keep a list item, trimmed, unless it is blank.
fn push_trimmed(out: &mut Vec<String>, item: &str) {
    let item = item.trim_ws();
    if !item.is_empty() {
        out.push(item.to_owned());
    }
}

fn severities(value: &Value) -> Result<SeveritySet, (String, String)> {
    let items = list(value).ok_or_else(|| (show(value, false), String::new()))?;
    let mut out = SeveritySet::new();
    for item in &items {
        match Severity::parse(item) {
            Some(s) => {
                out.insert(s);
            }
            None => {
                return Err((format!("`{item}`"), suggestion(item, Severity::ALL.iter().map(|s| s.name()))));
            }
        }
    }
    Ok(out)
}

/// `{{.Key}}` first, then a space or nothing.
fn starts_with_key(template: &Template) -> bool {
    let source = template.source();
    template.starts_with_field(".Key")
        && crate::text::split_once(source, "}}").is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with(' '))
}

/// `+09:00`, `-0530`, `+09`, `Z`, `UTC` -> minutes east of UTC.
pub(crate) fn offset(text: &str) -> Option<i32> {
    let text = text.trim_ws();
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match text.get(0..1)? {
        "+" => (1, text.get(1..)?),
        "-" => (-1, text.get(1..)?),
        _ => return None,
    };
    let digits = crate::text::replace(rest, ":", "");
    let colon_ok = match crate::text::find(rest, ":") {
        None => true,
        Some(at) => at == 2 && rest.len() == digits.len() + 1,
    };
    if !colon_ok || !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let number = |digits: &str| i32::try_from(crate::text::parse_u64(digits)?).ok();
    let hours = number(digits.get(0..2)?)?;
    let minutes = digits.get(2..).filter(|m| !m.is_empty()).map_or(Some(0), number)?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// Minutes east of UTC shown as `UTC` or `+09:00`.
pub(crate) fn show_offset(minutes: i32) -> String {
    if minutes == 0 {
        return "UTC".into();
    }
    crate::text::utc_offset(minutes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {

    #[test]
    fn powi_agrees_with_std() {
        for base in [10.0, 2.0, 0.1, 3.7] {
            for exp in -400..=400 {
                assert_eq!(super::powi(base, exp).to_bits(), base.powi(exp).to_bits(), "{base}^{exp}");
            }
        }
    }
    use serde_json::json;

    #[test]
    fn decimal_reads_like_the_standard_parser() {
        let exact = [
            "0",
            "5",
            "-0",
            "+7",
            "0.5",
            "0.25",
            ".5",
            "5.",
            "1e3",
            "1E+3",
            "2.5e-3",
            "0.001",
            "9007199254740992",
            "0.1",
            "0.3",
            "1e-400",
            "600",
            "3600.000",
            "000012",
            "1000000000",
            "0.0001",
            "86400",
            "1.5e2",
            "4.35",
            "12.34e1",
            "7e22",
            "inf",
            "NaN",
            "infinity",
        ];
        for case in exact {
            let want = case.parse::<f64>().ok().filter(|f| f.is_finite());
            assert_eq!(super::decimal(case).filter(|f| f.is_finite()), want, "{case}");
        }
        // Past the exact range: within a few rounding steps (such values are refused
        // as counts and durations either way).
        for case in
            ["123456789012345678", "9007199254740993", "99999999999999999999999", "0.30000000000000004", "1e300"]
        {
            let (want, got) = (case.parse::<f64>().unwrap_or_default(), super::decimal(case).unwrap_or_default());
            assert!(((got - want) / want).abs() < 1e-14, "{case}: {got} vs {want}");
        }
        for bad in ["", ".", "e5", "1e", "1e+", "--1", "+-1", "0x10", "1,5", "1 5", "1.2.3", "+", "-"] {
            assert_eq!(super::decimal(bad), None, "{bad}");
            assert!(bad.parse::<f64>().is_err(), "{bad}");
        }
    }

    use super::super::keys::spec;
    use super::*;

    fn p(name: &str, v: Value) -> Refused<Parsed> {
        parse(spec(name).unwrap(), &v)
    }

    #[test]
    fn bools_in_every_spelling() {
        for (raw, want) in
            [(json!(true), true), (json!("YES"), true), (json!("1"), true), (json!(0), false), (json!("No"), false)]
        {
            assert!(matches!(p("dry_run", raw.clone()), Ok(Parsed::Bool(b)) if b == want), "{raw}");
        }
        let err = p("dry_run", json!("maybe")).unwrap_err();
        assert_eq!(err.got, "\"maybe\"");
        assert!(err.expected.contains("bool"));
        assert!(p("dry_run", json!(2)).is_err());
    }

    #[test]
    fn counts_and_occurrences_minimum() {
        assert!(matches!(p("occurrences", json!("3")), Ok(Parsed::Count(3))));
        assert!(matches!(p("occurrences", json!(3.0)), Ok(Parsed::Count(3))));
        assert!(matches!(p("max_renotify", json!(0)), Ok(Parsed::Count(0))));
        assert!(p("occurrences", json!(0)).is_err());
        assert!(p("occurrences", json!(-1)).is_err());
        assert!(p("occurrences", json!(1.5)).is_err());
        assert!(p("occurrences", json!("abc")).is_err());
        assert!(p("occurrences", json!(true)).is_err());
    }

    #[test]
    fn seconds_whole_or_fractional_by_key() {
        assert!(matches!(p("deadline", json!("0.5")), Ok(Parsed::Millis(500))));
        assert!(matches!(p("request_timeout", json!(2)), Ok(Parsed::Millis(2000))));
        assert!(p("deadline", json!(0)).is_err());
        assert!(matches!(p("refresh", json!(0)), Ok(Parsed::Millis(0))));
        assert!(matches!(p("refresh", json!("600")), Ok(Parsed::Millis(600_000))));
        assert!(p("refresh", json!("0.5")).is_err());
        assert!(p("refresh", json!(-5)).is_err());
        assert!(p("reconcile", json!("5m")).is_err());
    }

    #[test]
    fn severities_lists_and_did_you_mean() {
        let Ok(Parsed::Severities(s)) = p("severities", json!("critical, Warning")) else { panic!() };
        assert_eq!(s, SeveritySet::from([Severity::Critical, Severity::Warning]));
        let Ok(Parsed::Severities(s)) = p("call", json!("[\"unknown\"]")) else { panic!() };
        assert_eq!(s, SeveritySet::from([Severity::Unknown]));
        let Ok(Parsed::Severities(s)) = p("call", json!([])) else { panic!() };
        assert!(s.is_empty());
        let err = p("severities", json!(["critcal"])).unwrap_err();
        assert_eq!(err.got, "`critcal`");
        assert_eq!(err.hint, "; did you mean `critical`?");
        assert!(p("severities", json!(2)).is_err());
    }

    #[test]
    fn lists_from_arrays_strings_and_json_strings() {
        let Ok(Parsed::List(l)) = p("topics", json!("db, web,")) else { panic!() };
        assert_eq!(l, ["db", "web"]);
        let Ok(Parsed::List(l)) = p("topics", json!("[\"a,b\"]")) else { panic!() };
        assert_eq!(l, ["a,b"]);
        assert!(p("topics", json!([1])).is_err());
        assert!(p("topics", json!("[broken")).is_err());
    }

    #[test]
    fn choices_case_insensitive_with_hint() {
        assert!(matches!(p("close_on_resolve", json!("Always")), Ok(Parsed::Choice("always"))));
        let err = p("close_on_resolve", json!("nevr")).unwrap_err();
        assert_eq!(err.hint, "; did you mean `never`?");
    }

    #[test]
    fn offsets() {
        assert_eq!(offset("+09:00"), Some(540));
        assert_eq!(offset("-05:30"), Some(-330));
        assert_eq!(offset("+0530"), Some(330));
        assert_eq!(offset("Z"), Some(0));
        assert_eq!(offset("utc"), Some(0));
        for bad in ["09:00", "+9:00", "+25:00", "+09:60", "+09:0:0", "JST", ""] {
            assert_eq!(offset(bad), None, "{bad}");
        }
        assert_eq!(show_offset(-330), "-05:30");
        assert_eq!(show_offset(0), "UTC");
    }

    #[test]
    fn templates_and_the_name_rule() {
        assert!(matches!(p("name_template", json!("{{.Key}}")), Ok(Parsed::Template(_))));
        assert!(matches!(p("name_template", json!("{{ .Key }} on {{.Entity.Name}}")), Ok(Parsed::Template(_))));
        let err = p("name_template", json!("{{.Check.Name}} {{.Key}}")).unwrap_err();
        assert!(err.expected.contains("starting with `{{.Key}}`"), "{err:?}");
        assert!(err.hint.contains("`{{.Key}} {{.Check.Name}}`"), "{err:?}");
        assert!(p("name_template", json!("{{.Key}}-{{.Check.Output}}")).is_err());
        assert!(p("name_template", json!("{{.Key}}{{.Check.Output}}")).is_err());
        let err = p("message_template", json!("{{.Check.Nmae}}")).unwrap_err();
        assert!(err.hint.contains("did you mean `{{.Check.Name}}`"), "{err:?}");
        assert!(p("notification_text", json!(5)).is_err());
    }

    #[test]
    fn secrets_are_never_shown() {
        let err = p("api_key", json!(12345)).unwrap_err();
        assert!(!err.got.contains("12345"));
        assert_eq!(show(&json!("s3cret"), true), "a string (not shown)");
    }
}
