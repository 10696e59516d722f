//! JSON text into a [`serde_json::Value`] without serde_json's deserializer: the same
//! values and the same error texts, byte for byte, as
//! `serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())` (serde_json
//! 1.0.154, without its `float_roundtrip` and `arbitrary_precision` features), in much
//! less code in the wasm builds (its `Deserializer`, `Value` visitor and error type
//! are not linked).
//!
//! The rules it keeps, as serde_json has them: white space is the four JSON bytes;
//! duplicate keys: the last wins; an integer is a `u64` if it is not negative and fits,
//! an `i64` if it is negative and fits, else an `f64` (`-0` is `-0.0`); a number's value
//! is its leading 19 or 20 significant digits times a power of ten, computed as
//! serde_json computes it (not always the nearest `f64`); containers nest at most
//! 127 deep. An error names what went wrong and where, `at line L column C`: the
//! column counts bytes, and points just past the byte that was read, or at the next one
//! when the error is about what comes next (serde_json's `error` and `peek_error`).

use crate::prelude::*;

use serde_json::{Map, Number, Value};

/// A parse stopped: what went wrong is in [`Reader::fail`].
struct Fail;

/// serde_json stops at this depth of nested arrays and objects (its recursion limit).
const MAX_DEPTH: u8 = 128;

const EOF_LIST: &str = "EOF while parsing a list";
const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_STRING: &str = "EOF while parsing a string";
const EOF_VALUE: &str = "EOF while parsing a value";
const INVALID_NUMBER: &str = "invalid number";
const OUT_OF_RANGE: &str = "number out of range";

/// Parse one JSON text, with nothing but white space after it.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut reader = Reader { bytes, at: 0, depth: MAX_DEPTH, fail: ("", 0) };
    let parsed = reader.value().and_then(|value| match reader.space() {
        Some(_) => Err(reader.peek_error("trailing characters")),
        None => Ok(value),
    });
    parsed.map_err(|Fail| located(bytes, reader.fail.0, reader.fail.1))
}

/// `what at line L column C`, for the byte offset `at`.
fn located(bytes: &[u8], what: &str, at: usize) -> String {
    let (mut line, mut line_start) = (1usize, 0); // usize: i32 would bring its own `Display`
    for (i, &byte) in bytes.iter().enumerate().take(at) {
        if byte == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    format!("{what} at line {line} column {}", at - line_start)
}

/// A cursor over the text.
struct Reader<'a> {
    bytes: &'a [u8],
    /// The next byte to read.
    at: usize,
    /// How many more arrays and objects may open (serde_json's `remaining_depth`).
    depth: u8,
    /// What went wrong, and the byte offset whose line and column the message gives.
    fail: (&'static str, usize),
}

// `peek`, `next` and `digit` always inline (opt-level "z" would call them for every
// byte: the module is 75 B smaller inlined, and a plan ~5% faster); `error` and
// `peek_error` never do (645 B smaller).
impl Reader<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let byte = self.peek();
        if byte.is_some() {
            self.at += 1;
        }
        byte
    }

    /// A decimal digit's value, consumed.
    #[inline(always)]
    fn digit(&mut self) -> Option<u8> {
        match self.peek() {
            Some(byte @ b'0'..=b'9') => {
                self.at += 1;
                Some(byte - b'0')
            }
            _ => None,
        }
    }

    /// An error about the byte just read (out of line: there are ~30 of them).
    #[inline(never)]
    fn error(&mut self, what: &'static str) -> Fail {
        self.fail = (what, self.at);
        Fail
    }

    /// An error about the next byte, not yet read (out of line, as `error`).
    #[inline(never)]
    fn peek_error(&mut self, what: &'static str) -> Fail {
        self.fail = (what, self.bytes.len().min(self.at + 1));
        Fail
    }

    /// The next byte after white space, not consumed.
    fn space(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
        self.peek()
    }

    fn value(&mut self) -> Result<Value, Fail> {
        let Some(byte) = self.space() else { return Err(self.peek_error(EOF_VALUE)) };
        match byte {
            b'n' => self.word(b"ull").map(|()| Value::Null),
            b't' => self.word(b"rue").map(|()| Value::Bool(true)),
            b'f' => self.word(b"alse").map(|()| Value::Bool(false)),
            b'-' => {
                self.at += 1;
                self.number(false)
            }
            b'0'..=b'9' => self.number(true),
            b'"' => self.string().map(Value::String),
            b'[' | b'{' => self.nested(byte),
            _ => Err(self.peek_error("expected value")),
        }
    }

    /// `null`, `true` or `false`, whose first byte was peeked.
    fn word(&mut self, rest: &[u8]) -> Result<(), Fail> {
        self.at += 1;
        for &want in rest {
            match self.next() {
                None => return Err(self.error(EOF_VALUE)),
                Some(byte) if byte != want => return Err(self.error("expected ident")),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// An array or object, whose opening bracket was peeked.
    fn nested(&mut self, open: u8) -> Result<Value, Fail> {
        self.depth -= 1;
        if self.depth == 0 {
            return Err(self.peek_error("recursion limit exceeded"));
        }
        self.at += 1;
        let value = if open == b'[' { self.array()? } else { self.object()? };
        // The closing bracket, which `array` and `object` stop at.
        self.at += 1;
        self.depth += 1;
        Ok(value)
    }

    fn array(&mut self) -> Result<Value, Fail> {
        let mut items = Vec::new();
        loop {
            let Some(byte) = self.space() else { return Err(self.peek_error(EOF_LIST)) };
            if byte == b']' {
                return Ok(Value::Array(items));
            }
            if !items.is_empty() {
                if byte != b',' {
                    return Err(self.peek_error("expected `,` or `]`"));
                }
                self.at += 1;
                if self.space() == Some(b']') {
                    return Err(self.peek_error("trailing comma"));
                }
            }
            items.push(self.value()?);
        }
    }

    fn object(&mut self) -> Result<Value, Fail> {
        let mut map = Map::new();
        loop {
            let Some(mut byte) = self.space() else { return Err(self.peek_error(EOF_OBJECT)) };
            if byte == b'}' {
                return Ok(Value::Object(map));
            }
            if !map.is_empty() {
                if byte != b',' {
                    return Err(self.peek_error("expected `,` or `}`"));
                }
                self.at += 1;
                byte = match self.space() {
                    Some(b'}') => return Err(self.peek_error("trailing comma")),
                    Some(byte) => byte,
                    None => return Err(self.peek_error(EOF_VALUE)),
                };
            }
            if byte != b'"' {
                return Err(self.peek_error("key must be a string"));
            }
            let key = self.string()?;
            match self.space() {
                Some(b':') => self.at += 1,
                Some(_) => return Err(self.peek_error("expected `:`")),
                None => return Err(self.peek_error(EOF_OBJECT)),
            }
            let value = self.value()?;
            map.insert(key, value);
        }
    }

    /// A string, whose opening quote was peeked. Its bytes must be UTF-8 once its
    /// escapes are decoded; that is checked at its closing quote, as serde_json does.
    fn string(&mut self) -> Result<String, Fail> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let start = self.at;
            self.skip_plain();
            out.extend_from_slice(self.bytes.get(start..self.at).unwrap_or_default());
            match self.next() {
                Some(b'"') => break,
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(self.error("control character (\\u0000-\\u001F) found while parsing a string")),
                None => return Err(self.error(EOF_STRING)),
            }
        }
        String::from_utf8(out).map_err(|e| {
            // serde_json points back from the closing quote by the bytes from the first
            // bad one to the end of the decoded string (never past the opening quote:
            // escapes decode to fewer bytes than they take).
            self.fail = (
                "invalid unicode code point",
                self.at.saturating_sub(e.as_bytes().len() - e.utf8_error().valid_up_to()),
            );
            Fail
        })
    }

    /// Past the bytes of a string that need no attention: up to the next quote,
    /// backslash or control character, or the end. Eight bytes at a time where none of
    /// them is one, as serde_json reads them (a plan of the large benchmark event under
    /// wasmtime: ~445 µs byte by byte through `peek`, ~280 µs so, serde_json ~250 µs).
    fn skip_plain(&mut self) {
        const ONES: u64 = u64::MAX / 0xff;
        loop {
            while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
                let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                let (quote, backslash) = (word ^ (ONES * u64::from(b'"')), word ^ (ONES * u64::from(b'\\')));
                // The high bit of each byte below 0x20 (of `word`), or zero (of `quote`
                // or `backslash`), is set here; a byte above such a byte may be marked
                // too, but never a chunk without one.
                let marks = (word.wrapping_sub(ONES * 0x20) & !word)
                    | (quote.wrapping_sub(ONES) & !quote)
                    | (backslash.wrapping_sub(ONES) & !backslash);
                if marks & (ONES << 7) != 0 {
                    break;
                }
                self.at += 8;
            }
            match self.peek() {
                Some(byte) if byte != b'"' && byte != b'\\' && byte >= 0x20 => self.at += 1,
                _ => return,
            }
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Fail> {
        let byte = match self.next() {
            None => return Err(self.error(EOF_STRING)),
            Some(byte @ (b'"' | b'\\' | b'/')) => byte,
            Some(b'b') => b'\x08',
            Some(b'f') => b'\x0c',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => return self.unicode(out),
            Some(_) => return Err(self.error("invalid escape")),
        };
        out.push(byte);
        Ok(())
    }

    /// A `\u` escape, after its `u`: a character, or a pair of surrogates.
    fn unicode(&mut self, out: &mut Vec<u8>) -> Result<(), Fail> {
        const LONE: &str = "lone leading surrogate in hex escape";
        let mut code = self.hex()?;
        if (0xDC00..=0xDFFF).contains(&code) {
            return Err(self.error(LONE));
        }
        if (0xD800..=0xDBFF).contains(&code) {
            for &want in b"\\u" {
                match self.next() {
                    None => return Err(self.error(EOF_STRING)),
                    Some(byte) if byte != want => return Err(self.error("unexpected end of hex escape")),
                    Some(_) => {}
                }
            }
            let low = self.hex()?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(self.error(LONE));
            }
            code = 0x1_0000 + ((code - 0xD800) << 10 | (low - 0xDC00));
        }
        if let Some(c) = char::from_u32(code) {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Ok(())
    }

    /// Four hex digits (all four are consumed before they are checked).
    fn hex(&mut self) -> Result<u32, Fail> {
        let Some(digits) = self.bytes.get(self.at..self.at + 4) else {
            self.at = self.bytes.len();
            return Err(self.error(EOF_STRING));
        };
        self.at += 4;
        let mut code = 0;
        for &byte in digits {
            match char::from(byte).to_digit(16) {
                Some(digit) => code = code << 4 | digit,
                None => return Err(self.error("invalid escape")),
            }
        }
        Ok(code)
    }

    /// A number, after its `-` if it has one.
    fn number(&mut self, positive: bool) -> Result<Value, Fail> {
        let mut significand: u64 = match self.next() {
            None => return Err(self.error(EOF_VALUE)),
            Some(b'0') if matches!(self.peek(), Some(b'0'..=b'9')) => return Err(self.peek_error(INVALID_NUMBER)),
            Some(byte @ b'0'..=b'9') => u64::from(byte - b'0'),
            Some(_) => return Err(self.error(INVALID_NUMBER)),
        };
        // Digits past a u64 are dropped and counted in the exponent: 10^N times the rest.
        let mut exponent: i32 = 0;
        let mut float = false;
        while let Some(digit) = self.digit() {
            match append(significand, digit).filter(|_| !float) {
                Some(more) => significand = more,
                None => {
                    float = true;
                    exponent = exponent.wrapping_add(1);
                }
            }
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            float = true;
            let (mut any, mut cut) = (false, false);
            while let Some(digit) = self.digit() {
                any = true;
                // Once a digit does not fit, it and every later one are dropped.
                match append(significand, digit).filter(|_| !cut) {
                    Some(more) => {
                        significand = more;
                        exponent -= 1;
                    }
                    None => cut = true,
                }
            }
            if !any {
                let what = if self.peek().is_some() { INVALID_NUMBER } else { EOF_VALUE };
                return Err(self.peek_error(what));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            float = true;
            exponent = self.exponent(exponent, significand == 0)?;
        }
        if !float {
            return Ok(Value::Number(integer(positive, significand)));
        }
        match scale(significand, exponent) {
            Some(f) => Ok(float_value(if positive { f } else { -f })),
            None => Err(self.error(OUT_OF_RANGE)),
        }
    }

    /// An exponent, after its `e`, added to `exponent` (saturating). When its digits
    /// overflow an `i32`: an error if the number is infinite, else (the remaining digits
    /// skipped) `i32::MIN`, which scales any significand to zero.
    fn exponent(&mut self, exponent: i32, zero: bool) -> Result<i32, Fail> {
        let negative = match self.peek() {
            Some(sign @ (b'+' | b'-')) => {
                self.at += 1;
                sign == b'-'
            }
            _ => false,
        };
        let mut value = match self.next() {
            None => return Err(self.error(EOF_VALUE)),
            Some(byte @ b'0'..=b'9') => i32::from(byte - b'0'),
            Some(_) => return Err(self.error(INVALID_NUMBER)),
        };
        while let Some(digit) = self.digit() {
            match value.checked_mul(10).and_then(|v| v.checked_add(i32::from(digit))) {
                Some(more) => value = more,
                None if !zero && !negative => return Err(self.error(OUT_OF_RANGE)),
                None => {
                    while self.digit().is_some() {}
                    return Ok(i32::MIN);
                }
            }
        }
        Ok(if negative { exponent.saturating_sub(value) } else { exponent.saturating_add(value) })
    }
}

/// `significand * 10 + digit`, if it fits a u64.
fn append(significand: u64, digit: u8) -> Option<u64> {
    // Compared, not `checked_mul`: a 64-bit overflow check is a 128-bit product in wasm.
    const MAX: u64 = u64::MAX / 10;
    let fits = significand < MAX || significand == MAX && u64::from(digit) <= u64::MAX % 10;
    fits.then(|| significand * 10 + u64::from(digit))
}

/// An integer without fraction or exponent: a u64, a negative i64, or else (below
/// `i64::MIN`, or `-0`) a float.
#[allow(clippy::cast_possible_wrap, clippy::cast_precision_loss)]
fn integer(positive: bool, magnitude: u64) -> Number {
    if positive {
        return Number::from(magnitude);
    }
    let negative = (magnitude as i64).wrapping_neg();
    if negative < 0 { Number::from(negative) } else { Number::from_f64(-(magnitude as f64)).unwrap_or(Number::from(0)) }
}

/// A finite float as a value (serde_json's visitor makes a non-finite one `null`).
fn float_value(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `significand * 10^exponent` as serde_json computes it without `float_roundtrip`:
/// one multiplication or division by the nearest `f64` to a power of ten, after
/// dividing by 1e308 while the exponent is below -308; `None` when it overflows.
#[allow(clippy::cast_precision_loss)]
fn scale(significand: u64, mut exponent: i32) -> Option<f64> {
    let mut f = significand as f64;
    loop {
        let power = exponent.unsigned_abs();
        if power <= 308 {
            if exponent < 0 {
                return Some(f / pow10(power));
            }
            f *= pow10(power);
            return f.is_finite().then_some(f);
        }
        if f == 0.0 {
            return Some(f);
        }
        if exponent >= 0 {
            return None;
        }
        f /= 1e308;
        exponent += 308;
    }
}

/// The `f64` nearest to `10^n` (ties to even, as the literal `1eN` is), for `n <= 308`:
/// `5^n` exactly in 32-bit limbs, rounded once to 53 bits, times `2^n`. A table of the
/// 309 values would be ~2.4 KB of the wasm modules; this is a fraction of that, and
/// fast enough for the few floats an input holds.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_precision_loss)]
fn pow10(n: u32) -> f64 {
    // 5^308 < 2^716: 23 limbs, least significant first.
    let mut limbs = [0_u32; 23];
    let mut high = 0;
    if let Some(first) = limbs.first_mut() {
        *first = 1;
    }
    let mut left = n;
    while left > 0 {
        // 5^13 is the largest power of five in a u32.
        let step = left.min(13);
        left -= step;
        let factor = 5_u64.pow(step);
        let mut carry = 0;
        for (i, limb) in limbs.iter_mut().enumerate() {
            let product = u64::from(*limb) * factor + carry;
            *limb = product as u32;
            carry = product >> 32;
            if *limb != 0 {
                high = i;
            }
        }
    }
    // The top 64 bits of 5^n, from its three highest limbs (zeros past the lowest).
    // 5^n is odd: when it has more than 64 bits, a bit set is dropped, and folding that
    // into the lowest kept bit makes rounding to 53 bits see a tie only where there is one.
    let limb = |i: usize| limbs.get(i).map_or(0, |&l| u64::from(l));
    let zeros = limb(high).leading_zeros() - 32;
    let top = (limb(high) << 32 | limb(high.wrapping_sub(1))) << zeros | (limb(high.wrapping_sub(2)) << zeros) >> 32;
    let top = (top | u64::from(high >= 2)) as f64;
    // 5^n is about top * 2^(32 * (high - 1) - zeros); times 2^n, exactly.
    let power = n as i32 + 32 * (high as i32 - 1) - zeros as i32;
    top * f64::from_bits(((power + 1023) as u64) << 52)
}

#[cfg(test)]
#[path = "json_in_tests.rs"]
mod tests;
