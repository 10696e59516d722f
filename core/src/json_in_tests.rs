//! `json_in` against serde_json: hand-picked inputs for every error and number edge,
//! then a few hundred thousand deterministic mutations of a seed corpus.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde_json::Value;

use super::{parse, pow10};

/// Equal, and every number of the same kind (u64, i64 or f64) with the same bits.
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

/// Our result is serde_json's: the same value, or the same error text.
fn check(input: &[u8]) {
    let ours = parse(input);
    let theirs = serde_json::from_slice::<Value>(input).map_err(|e| e.to_string());
    let agree = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => same(a, b),
        _ => ours == theirs,
    };
    assert!(agree, "input {:?}: ours {ours:?}, serde_json's {theirs:?}", String::from_utf8_lossy(input));
}

/// Inputs that reach every error and number rule, with their lines and columns.
const CASES: &[&[u8]] = &[
    // Empty, white space, literals, trailing characters.
    b"",
    b" \n\t\r ",
    b"null",
    b" true ",
    b"false\n",
    b"nul",
    b"nulx",
    b"tru",
    b"trUe",
    b"f",
    b"falsey",
    b"nullnull",
    b"null x",
    b"\n\n  x",
    b"{} {}",
    b"[]]",
    b"\xEF\xBB\xBF{}",
    b"\x00",
    b"+1",
    b".5",
    b"'a'",
    b"\x0c1",
    // Arrays.
    b"[",
    b"[ ",
    b"[1",
    b"[1,",
    b"[1, ",
    b"[1,]",
    b"[1 , ]",
    b"[,1]",
    b"[1 2]",
    b"[1,,2]",
    b"[[],[[]],{}]",
    b"[\n1,\n2\n,\n]",
    b"[}",
    b"[1}",
    // Objects.
    b"{",
    b"{ ",
    b"{\"a\"",
    b"{\"a\" ",
    b"{\"a\":",
    b"{\"a\" 1}",
    b"{\"a\":1",
    b"{\"a\":1,",
    b"{\"a\":1, ",
    b"{\"a\":1,}",
    b"{\"a\":1 \"b\":2}",
    b"{\"a\":1,2:3}",
    b"{1:2}",
    b"{,}",
    b"{]",
    b"{\"a\":1]",
    b"{\"a\":1,\"a\":2,\"b\":{\"a\":[]},\"a\":3}",
    b"{\"\":\"\"}",
    b"{\"a\nb\":1}",
    b"{\"a\"\n:\n1\n,\n\"b\"}",
    // Strings: escapes, control characters, UTF-8.
    b"\"",
    b"\"abc",
    b"\"a\\",
    b"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    b"\"\\x\"",
    b"\"\\u\"",
    b"\"\\u12",
    b"\"\\u12\"",
    b"\"\\u12\"}  ",
    b"\"\\u00e9\\u0041\\u20AC\\uFFFF\"",
    b"\"\\u0000\"",
    b"\"\\uD83D\\uDE00\"",
    b"\"\\ud83d\\ude00\"",
    b"\"\\uD83D\"",
    b"\"\\uD83D",
    b"\"\\uD83D\\",
    b"\"\\uD83Dx\"",
    b"\"\\uD83D\\x\"",
    b"\"\\uD83D\\n\"",
    b"\"\\uD83D\\u0041\"",
    b"\"\\uD83D\\uD83D\"",
    b"\"\\uDE00\"",
    b"\"\\uDBFF\\uDFFF\"",
    b"\"\\uD800\\uDC00\"",
    b"\"\\uG000\"",
    b"\"\\u000g\"",
    b"\"a\x01b\"",
    b"\"a\nb\"",
    b"\"\x1f\"",
    b"\"\x7f\"",
    b"\"caf\xc3\xa9\"",
    b"\"\xff\"",
    b"\"ab\xffcd\"",
    b"\"\xc3\"",
    b"\"\xc3\\u00e9\"",
    b"\"\\u00e9\xc3\"",
    b"\"\xed\xa0\x80\"",
    b"\"\xf4\x90\x80\x80\"",
    b"\"\xe2\x82\"",
    b"\n\n  \"\xe2\x82\xac\xff\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\"",
    b"{\"a\xff\":1}",
    b"[\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\xff\"]",
    b"\"\xff",
    b"\"\xff\x01\"",
    // Numbers: integers, signs, leading zeros.
    b"0",
    b"-0",
    b"-",
    b"- 1",
    b"-a",
    b"00",
    b"01",
    b"-01",
    b"0x1",
    b"1a",
    b"[0,-0,1,-1]",
    b"18446744073709551615",
    b"18446744073709551616",
    b"18446744073709551619",
    b"18446744073709551620",
    b"1844674407370955161599",
    b"184467440737095516199.5",
    b"18446744073709551619.5",
    b"18446744073709551616.5e3",
    b"-9223372036854775807",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"-18446744073709551615",
    b"-18446744073709551616",
    b"123456789012345678901234567890",
    b"-123456789012345678901234567890",
    // Fractions and exponents.
    b"1.",
    b"1.x",
    b"1.]",
    b"[1.]",
    b"1.5",
    b"-1.5",
    b"0.1",
    b"0.30000000000000004",
    b"3.141592653589793238462643383279",
    b"0.000000000000000000000000000000000000001",
    b"1.00000000000000000000000000000000000001",
    b"1.84467440737095516159",
    b"1.844674407370955161599999",
    b"1e",
    b"1e+",
    b"1e-",
    b"1ex",
    b"1e+x",
    b"1E5",
    b"1e05",
    b"1e-5",
    b"1.5e10",
    b"-1.5E-10",
    b"0e0",
    b"-0e0",
    b"-0.0",
    b"0.0e-5",
    b"1e308",
    b"1.7976931348623157e308",
    b"1.7976931348623159e308",
    b"1e309",
    b"-1e309",
    b"10e308",
    b"0.1e310",
    b"1e-307",
    b"1e-308",
    b"1e-323",
    b"1e-324",
    b"4.9e-324",
    b"2.2250738585072014e-308",
    b"1e-400",
    b"123e-400",
    b"1e-700",
    b"-1e-700",
    b"1e2147483647",
    b"1e2147483648",
    b"0e2147483648",
    b"1e-2147483648",
    b"-1e-2147483649",
    b"0e99999999999999999999",
    b"1e99999999999999999999",
    b"1e-99999999999999999999",
    b"1e99999999999999999999x",
    b"1e-99999999999999999999 ",
    b"1.5e2147483647",
    b"1.5e-2147483647",
    b"184467440737095516160e-2147483647",
    b"[1e400]",
    b"{\"a\":1e400}",
    b"\n  1e400",
    b"123456789012345678901234567890e-10",
    b"0.000001234567890123456789012345e300",
    b"9007199254740993",
    b"9007199254740993.0",
    b"2.5e-5",
    b"[1,2.5,-3,4e2,-0,0.0]",
];

#[test]
fn every_rule_is_serde_jsons() {
    for case in CASES {
        check(case);
    }
}

/// Depth 127 is fine, 128 is refused where the 128th bracket opens (and the limit is
/// per path: siblings do not add up).
#[test]
fn nesting_stops_where_serde_jsons_does() {
    for depth in [1, 126, 127, 128, 129, 1000, 100_000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"k\":", "}]")] {
            check(format!("{}1{}", open.repeat(depth), close.repeat(depth)).as_bytes());
            check(format!("{}1", open.repeat(depth)).as_bytes());
            check(format!("\n {}", open.repeat(depth)).as_bytes());
        }
    }
    let siblings = format!("[{}]", ["[".repeat(126), "]".repeat(126)].concat().repeat(3).replace("][", "],["));
    check(siblings.as_bytes());
}

/// Strings read eight bytes at a time: every byte that stops a run (and some that do
/// not) at every offset of runs of every length up to three chunks, and at their ends.
#[test]
fn strings_stop_at_every_offset() {
    let stops: [&[u8]; 9] = [b"\"", b"\\n", b"\\u00e9", b"\x00", b"\x1f", b"\x7f", b"\xc3\xa9", b"\xff", b" "];
    for len in 0..24 {
        for at in 0..=len {
            for stop in stops {
                let mut text = b"{\"k\":\"".to_vec();
                text.extend(std::iter::repeat_n(b'a', at));
                text.extend_from_slice(stop);
                text.extend(std::iter::repeat_n(b'b', len - at));
                check(&text);
                text.extend_from_slice(b"\"}");
                check(&text);
            }
        }
    }
}

/// The nearest f64 to each power of ten is the literal's (std's parser rounds correctly).
#[test]
fn powers_of_ten_are_the_literals() {
    for n in 0..=308 {
        let literal: f64 = format!("1e{n}").parse().unwrap();
        assert_eq!(pow10(n).to_bits(), literal.to_bits(), "1e{n}");
    }
}

/// Numbers of every length and exponent, as integers, fractions and exponents.
#[test]
fn numbers_across_the_range() {
    let mut state = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let digits = 1 + next(&mut state) % 30;
        let mut text = String::new();
        if next(&mut state).is_multiple_of(2) {
            text.push('-');
        }
        for i in 0..digits {
            let d = (next(&mut state) % 10) as u8;
            text.push(char::from(b'0' + if i == 0 && digits > 1 { 1 + d % 9 } else { d }));
        }
        if next(&mut state).is_multiple_of(2) {
            text.push('.');
            for _ in 0..1 + next(&mut state) % 25 {
                text.push(char::from(b'0' + (next(&mut state) % 10) as u8));
            }
        }
        if next(&mut state).is_multiple_of(2) {
            text.push_str(["e", "E", "e+", "e-"][(next(&mut state) % 4) as usize]);
            text.push_str(&format!("{}", next(&mut state) % 700));
        }
        check(text.as_bytes());
    }
}

/// A small xorshift: the same sequence on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// JSON texts to mutate: the example events, and inputs of each kind.
const SEEDS: &[&str] = &[
    include_str!("../../examples/events/classic-critical.json"),
    include_str!("../../examples/events/go-critical.json"),
    include_str!("../../tests/fixtures/adversarial/events/duplicate-keys-last-wins.json"),
    include_str!("../../tests/fixtures/adversarial/events/escape-in-client-name.json"),
    include_str!("../../tests/fixtures/adversarial/events/control-chars-in-output.json"),
    r#"{"now":1764000000,"first_occurrence":false,"dry_run":false,"received":1763999999.5}"#,
    r#"{"answer":"response","status":200,"headers":[["date","x"]],"body":"[{\"id\":42,\"name\":\"web01 disk\"}]"}"#,
    r#"[{"answer":"failure","kind":"timeout","detail":"\u00e9\ud83d\ude00\n"},{"answer":"waited"}]"#,
    r#"{"a":[1,-1,0,-0,1.5,-2.5e-3,1E+2,18446744073709551615,-9223372036854775808,1e308,12345678901234567890123]}"#,
    "[\"caf\u{e9}\",\"\u{20ac}\",\"\u{1f600}\",null,true,false,{},[],\"\\\\\\\"\\/\\b\\f\\n\\r\\t\"]",
];

/// Bytes a mutation inserts: the JSON structure, digits, escapes and bad bytes.
const ALPHABET: &[u8] = b"{}[],:\"\\ \n\t-+.eE0123456789ntfulrsaxbuUD\x00\x1f\x7f\x80\xbf\xc3\xe2\xed\xf0\xff";

/// One random change: insert, delete or replace bytes, duplicate or drop a range,
/// truncate, or wrap in brackets.
fn mutate(bytes: &mut Vec<u8>, state: &mut u64) {
    let len = bytes.len();
    let at = if len == 0 { 0 } else { (next(state) % len as u64) as usize };
    let pick = ALPHABET[(next(state) % ALPHABET.len() as u64) as usize];
    match next(state) % 8 {
        0 | 1 => bytes.insert(at, pick),
        2 if len > 0 => {
            bytes.remove(at);
        }
        3 if len > 0 => bytes[at] = pick,
        4 => bytes.truncate(at),
        5 => {
            let end = (at + 1 + (next(state) % 16) as usize).min(len);
            let piece = bytes[at..end].to_vec();
            bytes.splice(at..at, piece);
        }
        6 => {
            let end = (at + (next(state) % 8) as usize).min(len);
            bytes.drain(at..end);
        }
        _ => {
            let (open, close) =
                if pick.is_multiple_of(2) { (&b"["[..], &b"]"[..]) } else { (&b"{\"k\":"[..], &b"}"[..]) };
            bytes.splice(0..0, open.iter().copied());
            bytes.extend_from_slice(close);
        }
    }
}

/// Each seed, mutated again and again (up to five changes at a time, then back to the
/// seed), against serde_json: 300,000 inputs.
#[test]
fn mutations_are_serde_jsons() {
    let mut state = 0x2545_F491_4F6C_DD1D;
    for seed in SEEDS {
        check(seed.as_bytes());
        for _ in 0..30_000 / 5 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..5 {
                mutate(&mut bytes, &mut state);
                check(&bytes);
            }
        }
    }
}
