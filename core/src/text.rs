//! Text helpers: HTML escaping, length caps on character boundaries, time formatting.

use crate::prelude::*;

/// Escape `& < > " '` for Reactio's limited-HTML timeline messages.
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match html_entity(c) {
            Some(entity) => out.push_str(entity),
            None => out.push(c),
        }
    }
    out
}

/// The entity [`escape_html`] writes for `c`, if it writes one.
fn html_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// A JSON string literal for `value`, to quote input in messages: the bytes
/// `serde_json::to_string` writes (smaller in the wasm builds than `{:?}`'s escaping).
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_quoted(&mut out, value);
    out
}

/// Append [`quoted`]`(value)`. Escaped as serde_json escapes (a test holds the two to
/// the same bytes): `"` and `\\`, the five controls with a short escape, any other
/// control as `\u00XX` in lowercase hex; nothing else. Hand-written, serde_json's
/// serializer stays out of the wasm builds.
pub fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    let mut start = 0;
    for (i, &b) in value.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => '"',
            b'\\' => '\\',
            0x08 => 'b',
            0x0C => 'f',
            b'\n' => 'n',
            b'\r' => 'r',
            b'\t' => 't',
            0..=0x1F => 'u',
            _ => continue,
        };
        out.push_str(value.get(start..i).unwrap_or_default());
        start = i + 1;
        out.push('\\');
        out.push(escape);
        if escape == 'u' {
            out.push_str(if b < 0x10 { "000" } else { "001" });
            out.push(char::from_digit(u32::from(b & 0xF), 16).unwrap_or('0'));
        }
    }
    out.push_str(value.get(start..).unwrap_or_default());
    out.push('"');
}

/// A JSON value as compact JSON text, to quote input in messages. The same as
/// serde_json's `to_string`, except that a number that is not an integer is written by
/// [`number`] (serde_json's float writer and its tables cost the wasm builds ~5 KB).
pub fn show_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => push_quoted(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_quoted(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

/// A copy of a JSON value, the same as its `clone`: in less code in the wasm builds,
/// where the derived `Clone` brings std's B-tree clone (~0.8 KB).
pub fn copy_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Number(n) => Value::Number(n.clone()),
        Value::String(s) => Value::String(s.clone()),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(copy_json(item));
            }
            Value::Array(out)
        }
        Value::Object(map) => Value::Object(copy_map(map)),
    }
}

/// [`copy_json`] of a JSON object's map.
pub fn copy_map(map: &serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        out.insert(key.clone(), copy_json(value));
    }
    out
}

/// A JSON number as text: an integer in full; any other number as serde_json writes
/// it when it has at most 12 significant digits (`0.5`, `100.0`, `-2.25`, `1e+20`,
/// `1.5e-7`), else rounded to 12 of them. Enough for a value quoted in a message or an
/// output that came as a number, and without serde_json's float writer (see
/// [`show_json`]).
pub fn number(n: &serde_json::Number) -> String {
    let mut out = String::new();
    if let Some(i) = n.as_i64() {
        push_i64(&mut out, i, 1);
        return out;
    }
    if let Some(u) = n.as_u64() {
        push_u64(&mut out, u, 1);
        return out;
    }
    let f = n.as_f64().unwrap_or_default();
    if f < 0.0 {
        out.push('-');
    }
    // Scale into [1e11, 1e12): twelve significant digits, then place the point.
    let mut f = f.abs();
    let mut exponent: i32 = 11;
    if f != 0.0 {
        while f >= 1e12 {
            f /= 10.0;
            exponent += 1;
        }
        while f < 1e11 {
            f *= 10.0;
            exponent -= 1;
        }
    }
    let mut digits = String::new();
    push_u64(&mut digits, round_half_up(f) as u64, 1);
    if digits.len() > 12 {
        // 999999999999.6 rounds up to 1e12.
        digits.truncate(12);
        exponent += 1;
    }
    let digits = if f == 0.0 { "0" } else { trim_byte(&digits, b'0', false) };
    // As serde_json: plain from 1e-5 to below 1e16, else an exponent.
    if (0..16).contains(&exponent) {
        let point = exponent.unsigned_abs() as usize + 1;
        let (whole, fraction) = digits.split_at_checked(point).unwrap_or((digits, ""));
        out.push_str(whole);
        push_zeros(&mut out, point.saturating_sub(whole.len()));
        out.push('.');
        out.push_str(if fraction.is_empty() { "0" } else { fraction });
    } else if (-5..0).contains(&exponent) {
        out.push_str("0.");
        push_zeros(&mut out, exponent.unsigned_abs() as usize - 1);
        out.push_str(digits);
    } else {
        let (first, rest) = digits.split_at_checked(1).unwrap_or((digits, ""));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        push_u64(&mut out, u64::from(exponent.unsigned_abs()), 1);
    }
    out
}

/// `count` zeros: a loop, not `String::extend` over `repeat_n` (an instance of its own).
fn push_zeros(out: &mut String, count: usize) {
    for _ in 0..count {
        out.push('0');
    }
}

/// Append `n` in decimal, at least `width` digits (zero-padded): `format!("{n:0width$}")`
/// without `core::fmt`'s integer code (its digit table and `pad_integral`).
#[inline(never)] // one copy: the opt-level 2 builds would inline it at every call
pub fn push_u64(out: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = i.min(digits.len().saturating_sub(width));
    for &d in digits.get(start..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

/// A `u64` in a message's `{}`, written by [`push_u64`]: the core formats every `u64`
/// through this, so `core::fmt`'s own `u64` Display (~0.3 KB) is not in the wasm builds.
#[derive(Clone, Copy, Debug)]
pub struct Decimal(pub u64);

impl core::fmt::Display for Decimal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&uint(self.0))
    }
}

/// [`push_u64`] with a `-` for a negative `n`, counted in `width` as `{n:0width$}` does.
pub fn push_i64(out: &mut String, n: i64, width: usize) {
    let mut width = width;
    if n < 0 {
        out.push('-');
        width = width.saturating_sub(1);
    }
    push_u64(out, n.unsigned_abs(), width);
}

/// `n.to_string()` by [`push_i64`].
pub fn int(n: i64) -> String {
    let mut out = String::new();
    push_i64(&mut out, n, 1);
    out
}

/// `n.to_string()` by [`push_u64`].
pub fn uint(n: u64) -> String {
    let mut out = String::new();
    push_u64(&mut out, n, 1);
    out
}

/// `text.parse::<u64>()`: ASCII digits after an optional `+`, at least one, within
/// range. The core (and the gateways) read every integer through this and `parse_i64`:
/// each `str::parse::<T>` instance is its own ~0.5 KB of the wasm modules.
pub fn parse_u64(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("+").unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0_u64, |n, b| {
        if !b.is_ascii_digit() {
            return None;
        }
        // Compared, not `checked_mul` (a 128-bit product in wasm: `crate::arith`).
        (n <= u64::MAX / 10).then(|| n * 10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `text.parse::<i64>()`: [`parse_u64`] with an optional `-` (or `+`) sign.
pub(crate) fn parse_i64(text: &str) -> Option<i64> {
    match text.strip_prefix("-") {
        Some(magnitude) if !magnitude.starts_with('+') => 0_i64.checked_sub_unsigned(parse_u64(magnitude)?),
        Some(_) => None,
        None => i64::try_from(parse_u64(text)?).ok(),
    }
}

/// How many characters `text` has: `text.chars().count()`, without the unrolled
/// counter std uses for it (~0.8 KB of the wasm modules for a few short texts).
#[inline(never)] // one copy: the opt-level 2 builds would unroll it at every call
pub(crate) fn char_count(text: &str) -> usize {
    // Every byte but a UTF-8 continuation byte (0b10xx_xxxx) starts a character. Eight
    // bytes at a time: a byte's bit 7 set and bit 6 clear marks a continuation.
    let mut words = text.as_bytes().chunks_exact(8);
    let mut continuations = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        continuations += (w & !(w << 1) & 0x8080_8080_8080_8080).count_ones() as usize;
    }
    continuations += words.remainder().iter().filter(|b| *b & 0xC0 == 0x80).count();
    text.len() - continuations
}

/// `f.round()` for a finite `f` in `0.0..2^53` (`core` has no `round`): halves away
/// from zero, as std rounds. The difference `f - whole` is exact in that range.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
pub(crate) fn round_half_up(f: f64) -> f64 {
    let whole = f as u64 as f64;
    if f - whole >= 0.5 { whole + 1.0 } else { whole }
}

/// Where `needle` first occurs in `hay`, by a plain scan. The offset is on a character
/// boundary (both are UTF-8, and a match starts with `needle`'s first, leading byte).
/// The texts searched are short; std's two-way searcher (`str::find(&str)`, `contains`,
/// `split_once`, `replace` with a string pattern) costs the wasm builds ~5 KB more.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.as_bytes().windows(needle.len()).position(|w| w == needle.as_bytes())
}

/// `items` joined by `separator`, like `[&str]::join`, whose generic copier is larger
/// in the wasm builds than this loop.
pub fn join(items: &[&str], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(item);
    }
    out
}

/// `item` added to the `separator`-joined list being built in `out` (items are not
/// empty: an empty `out` is an empty list).
pub fn push_joined(out: &mut String, separator: &str, item: &str) {
    if !out.is_empty() {
        out.push_str(separator);
    }
    out.push_str(item);
}

/// `before`, `found` and `after` joined, or nothing without `found`: what
/// `found.map(|s| format!("{before}{s}{after}")).unwrap_or_default()` gives, as one
/// function instead of a closure, a `format!` and an `unwrap_or_default` at each of the
/// dozen places that say "did you mean" or "from" (smaller code in the wasm builds).
#[inline(never)]
pub fn wrapped(found: Option<&str>, before: &str, after: &str) -> String {
    let mut out = String::new();
    if let Some(found) = found {
        out.push_str(before);
        out.push_str(found);
        out.push_str(after);
    }
    out
}

/// Where the ASCII `byte` last occurs in `text` (a character boundary, since `byte` is
/// ASCII): a plain loop, smaller code in the wasm builds than `str::rfind` or `rposition`.
pub fn rfind_byte(text: &str, byte: u8) -> Option<usize> {
    let mut at = text.len();
    while at > 0 {
        at -= 1;
        if text.as_bytes().get(at) == Some(&byte) {
            return Some(at);
        }
    }
    None
}

/// `text` without the ASCII `byte` repeated at its end, and at its start too when `both`:
/// `trim_end_matches(c)` / `trim_matches(c)` for an ASCII `c`, without std's pattern
/// searchers (the offsets stay on character boundaries, `byte` being ASCII).
pub fn trim_byte(text: &str, byte: u8, both: bool) -> &str {
    let bytes = text.as_bytes();
    let mut start = 0;
    if both {
        while bytes.get(start) == Some(&byte) {
            start += 1;
        }
    }
    let mut end = bytes.len();
    while end > start && bytes.get(end - 1) == Some(&byte) {
        end -= 1;
    }
    text.get(start..end).unwrap_or_default()
}

/// `hay` split around the first `needle`, like `str::split_once` (see [`find`]).
pub fn split_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find(hay, needle)?;
    Some((hay.get(0..at)?, hay.get(at + needle.len()..)?))
}

/// `hay` up to its first `needle`, or all of it, like `str::split(..).next()` (see [`find`]).
pub fn before<'a>(hay: &'a str, needle: &str) -> &'a str {
    split_once(hay, needle).map_or(hay, |(before, _)| before)
}

/// Every `needle` in `hay` replaced by `with`, like `str::replace` (see [`find`]); an
/// empty `needle` changes nothing.
pub fn replace(hay: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(hay.len());
    let mut rest = hay;
    while !needle.is_empty()
        && let Some((before, after)) = split_once(rest, needle)
    {
        out.push_str(before);
        out.push_str(with);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` with every run of at least `min` bytes that also occurs in `secret` replaced
/// by `mask`: a server that echoes only a piece of a key (its tail, say) must not get
/// that piece into a message either. A text holding no piece is found so in one pass
/// (`holds_piece`); one that does is masked by comparing each position with each of
/// the secret's, which is cheap for messages and excerpts. A secret shorter than `min`
/// is masked only whole.
pub fn mask_fragments(text: &str, secret: &str, min: usize, mask: &str) -> String {
    let (hay, key) = (text.as_bytes(), secret.as_bytes());
    if min == 0 || key.len() < min {
        return replace(text, secret, mask);
    }
    if !holds_piece(hay, key, min) {
        return text.to_owned();
    }
    let longest_at = |i: usize| -> usize {
        let rest = hay.get(i..).unwrap_or_default();
        (0..key.len())
            .map(|j| {
                let tail = key.get(j..).unwrap_or_default();
                rest.iter().zip(tail).take_while(|(a, b)| a == b).count()
            })
            .max()
            .unwrap_or(0)
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < hay.len() {
        let mut run = longest_at(i);
        while run > 0 && !text.is_char_boundary(i + run) {
            run -= 1;
        }
        if run >= min {
            out.push_str(mask);
            i += run;
        } else {
            // The next character boundary (the end is one): a loop, not `find` over a
            // `RangeInclusive` (its own iterator code in the wasm builds).
            let mut next = i + 1;
            while !text.is_char_boundary(next) {
                next += 1;
            }
            out.push_str(text.get(i..next).unwrap_or_default());
            i = next;
        }
    }
    out
}

/// `%XX` escapes decoded (others kept as they are), for quoting a URL: a key a server
/// put into a URL percent-encoded must be recognised to be masked.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Escapes that decode to no UTF-8 leave the text as it was.
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Whether `hay` holds any `min`-byte piece of `key`: a rolling hash over `hay`, its
/// top bits checked against a 4096-bit filter of the hashes of `key`'s pieces, so a
/// long text (a 16 MiB event) is checked in one pass instead of one comparison per
/// position and piece (and without a sort, which costs the wasm module ~4 KB).
#[allow(clippy::manual_contains)] // `<[u64]>::contains` is code of its own in wasm
fn holds_piece(hay: &[u8], key: &[u8], min: usize) -> bool {
    const BASE: u64 = 0x100_0000_01b3;
    let hash = |bytes: &[u8]| bytes.iter().fold(0u64, |h, b| h.wrapping_mul(BASE).wrapping_add(u64::from(*b)));
    let slot = |h: u64| ((h >> 58) as usize, 1u64 << ((h >> 52) & 63));
    if hay.len() < min {
        return false;
    }
    let mut pieces = Vec::new();
    for piece in key.windows(min) {
        pieces.push(hash(piece));
    }
    let mut filter = [0u64; 64];
    for piece in &pieces {
        let (word, bit) = slot(*piece);
        if let Some(w) = filter.get_mut(word) {
            *w |= bit;
        }
    }
    // BASE^(min-1): what the byte leaving the window weighed.
    let top = (1..min).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = hash(hay.get(..min).unwrap_or_default());
    let mut start = 0;
    loop {
        let (word, bit) = slot(h);
        if filter.get(word).is_some_and(|w| w & bit != 0)
            && pieces.iter().any(|&piece| piece == h)
            && let Some(window) = hay.get(start..start + min)
            && key.windows(min).any(|piece| piece == window)
        {
            return true;
        }
        let (Some(out), Some(next)) = (hay.get(start), hay.get(start + min)) else { return false };
        h = h.wrapping_sub(u64::from(*out).wrapping_mul(top)).wrapping_mul(BASE).wrapping_add(u64::from(*next));
        start += 1;
    }
}

/// At most `max` characters, cut on a character boundary (no marker).
pub fn cap_chars(value: &str, max: usize) -> &str {
    // Each byte but a UTF-8 continuation byte starts a character (as in `char_count`).
    let mut count = 0;
    for (byte, &b) in value.as_bytes().iter().enumerate() {
        if b & 0xC0 != 0x80 {
            if count == max {
                return value.get(0..byte).unwrap_or(value);
            }
            count += 1;
        }
    }
    value
}

/// A check output cut for a timeline message, with a marker saying how much was cut:
/// its length *as the message carries it* (HTML-escaped, a newline as `<br>`: `&` is
/// five characters there, `"` six) fits `max`, so the marker and what the template puts
/// after the output survive the message's cap. Cut on a character boundary.
pub fn truncate_with_marker(value: &str, max: usize) -> String {
    // As a template writes a value into a message: escaped, a newline as `<br>`.
    let escaped = |c: char| if c == '\n' { "<br>".len() } else { html_entity(c).map_or(1, str::len) };
    // One pass, stopping once past `max` (an output can be megabytes): `end` is where
    // the text kept before the marker stops, within `room`.
    let room = max - 40.min(max);
    let (mut used, mut end) = (0, 0);
    for (at, c) in value.char_indices() {
        used += escaped(c);
        if used > max {
            let kept = value.get(0..end).unwrap_or_default();
            let total = char_count(value);
            return format!("{kept}… [truncated {} of {total} characters]", total - char_count(kept));
        }
        if used <= room {
            end = at + c.len_utf8();
        }
    }
    value.to_owned()
}

/// `text` (a timeline message: trusted HTML around escaped values) capped at `max`
/// characters without leaving half a tag or half an entity at the end.
pub fn cap_html(text: &str, max: usize) -> &str {
    let capped = cap_chars(text, max);
    if capped.len() == text.len() {
        return capped;
    }
    let last = |byte: u8| rfind_byte(capped, byte);
    let open_tag = last(b'<').filter(|&lt| last(b'>').is_none_or(|gt| gt < lt));
    let open_entity = last(b'&').filter(|&amp| last(b';').is_none_or(|semi| semi < amp));
    // The earlier cut, if any (`Option::min` would take a `None` for the smaller).
    let cut = match (open_tag, open_entity) {
        (Some(tag), Some(entity)) => Some(tag.min(entity)),
        (tag, entity) => tag.or(entity),
    };
    match cut {
        Some(cut) => capped.get(0..cut).unwrap_or(capped),
        None => capped,
    }
}

/// One line: control characters (newlines, tabs) become spaces, ends trimmed; the
/// invisible ones that reorder or hide text (bidirectional overrides and isolates,
/// direction marks, zero-width space, byte order mark) are left out, so a check's
/// output cannot make an incident's name read backwards.
pub fn one_line(value: &str) -> String {
    let mut mapped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            continue;
        }
        mapped.push(if c.is_control() { ' ' } else { c });
    }
    mapped.trim_ws().to_owned()
}

/// Epoch seconds from a Sensu timestamp: values above 1e12 are milliseconds.
pub fn epoch_seconds(raw: i64) -> i64 {
    if raw > 1_000_000_000_000 { raw / 1000 } else { raw }
}

/// ISO 8601 time for messages: `2026-11-25T17:47:35Z`, or with an offset
/// (`2026-11-26T02:47:35+09:00`) when `offset_minutes` is not zero.
pub fn format_time(epoch: i64, offset_minutes: i32) -> String {
    let local = epoch.saturating_add(i64::from(offset_minutes) * 60);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // One allocation: `2026-11-26T02:47:35+09:00` is 25 bytes (years past 9999 grow it).
    let mut out = String::with_capacity(25);
    let (h, min, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    push_i64(&mut out, y, 4);
    out.push('-');
    push_u64(&mut out, u64::from(m), 2);
    out.push('-');
    push_u64(&mut out, u64::from(d), 2);
    out.push('T');
    push_i64(&mut out, h, 2);
    out.push(':');
    push_i64(&mut out, min, 2);
    out.push(':');
    push_i64(&mut out, s, 2);
    if offset_minutes == 0 {
        out.push('Z');
    } else {
        out.push_str(&utc_offset(offset_minutes));
    }
    out
}

/// `+09:00` for 540 minutes east of UTC, `-05:30` for -330.
pub(crate) fn utc_offset(minutes: i32) -> String {
    let mut out = String::from(if minutes < 0 { "-" } else { "+" });
    let abs = u64::from(minutes.unsigned_abs());
    push_u64(&mut out, abs / 60, 2);
    out.push(':');
    push_u64(&mut out, abs % 60, 2);
    out
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A duration in words for messages: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (first, unit, second, second_unit) = match s {
        0..60 => (s, "s", None, ""),
        60..3600 => (s / 60, "m", None, ""),
        3600..86_400 => (s / 3600, "h ", Some(s % 3600 / 60), "m"),
        _ => (s / 86_400, "d ", Some(s % 86_400 / 3600), "h"),
    };
    let mut out = int(first);
    out.push_str(unit);
    if let Some(n) = second {
        push_i64(&mut out, n, 1);
        out.push_str(second_unit);
    }
    out
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
