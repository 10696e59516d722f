//! Tests of the text helpers.

#[test]
fn integers_read_as_std_reads_them() {
    let mut cases: Vec<String> = [
        "",
        "+",
        "-",
        "0",
        "-0",
        "+0",
        "007",
        "+5",
        "-5",
        "+-5",
        "-+5",
        "--5",
        "++5",
        " 5",
        "5 ",
        "5a",
        "a5",
        "1_000",
        "٣",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
        "4294967295",
        "4294967296",
        "65535",
        "65536",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
    ]
    .map(String::from)
    .to_vec();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..3_000 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let alphabet = b"0123456789+- x9";
        let len = (seed >> 59) as usize;
        cases.push((0..len).map(|i| char::from(alphabet[((seed >> (i * 3 % 56)) % 15) as usize])).collect());
    }
    for case in &cases {
        let text = case.as_str();
        assert_eq!(parse_u64(text), text.parse::<u64>().ok(), "u64 {text:?}");
        assert_eq!(parse_i64(text), text.parse::<i64>().ok(), "i64 {text:?}");
        assert_eq!(parse_u64(text).and_then(|n| u16::try_from(n).ok()), text.parse::<u16>().ok(), "u16 {text:?}");
        assert_eq!(parse_u64(text).and_then(|n| u32::try_from(n).ok()), text.parse::<u32>().ok(), "u32 {text:?}");
    }
}

#[test]
fn char_count_and_rounding_agree_with_std() {
    for text in ["", "a", "café", "日本語の文", "🚨 disk", "a\u{0300}b", "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}"]
    {
        assert_eq!(char_count(text), text.chars().count(), "{text:?}");
    }
    let mut values =
        vec![0.0, 0.49999999999999994, 0.5, 1.5, 2.5, 999_999_999_999.5, 1e11 + 0.5, 4_503_599_627_370_495.5];
    values.extend((0..2_000).map(|i| f64::from(i) * 0.173_205_080_756_887_72));
    for f in values {
        assert_eq!(round_half_up(f), f.round(), "{f}");
    }
}
use super::*;

#[test]
fn numbers_read_as_serde_json_writes_them_up_to_twelve_digits() {
    let mantissas = ["1", "1.5", "2.25", "3.14159265", "123456.789012", "9.99999999999", "100", "7"];
    for m in mantissas {
        for e in -9..=22 {
            for sign in ["", "-"] {
                let text = format!("{sign}{m}e{e}");
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                let serde_json::Value::Number(n) = &value else { panic!("{text}") };
                assert_eq!(number(n), serde_json::to_string(n).unwrap(), "{text}");
            }
        }
    }
    let long: serde_json::Value = serde_json::from_str("0.30000000000000004").unwrap();
    assert_eq!(show_json(&long), "0.3");
    let value: serde_json::Value =
        serde_json::from_str(r#"{"a":[1,-2,18446744073709551615,null,true,"x\"y"],"b":{}}"#).unwrap();
    assert_eq!(show_json(&value), serde_json::to_string(&value).unwrap());
}

#[test]
fn holds_piece_agrees_with_a_plain_search() {
    let key = b"sk-live-0123456789abcdefXYZ";
    let plain = |hay: &[u8]| key.windows(8).any(|piece| hay.windows(8).any(|w| w == piece));
    let texts: [&[u8]; 6] =
        [b"", b"short", b"xx0123456789yy", b"the key sk-live-0123456789abcdefXYZ.", b"abcdefXY", b"abcdefX"];
    for text in texts {
        assert_eq!(holds_piece(text, key, 8), plain(text), "{}", String::from_utf8_lossy(text));
    }
    let long = format!("{}efXYZ{}", "a".repeat(100_000), "b".repeat(3));
    assert!(!holds_piece(long.as_bytes(), key, 8));
    assert!(holds_piece(format!("{long}bcdefXYZ").as_bytes(), key, 8));
}

#[test]
fn percent_decode_decodes_escapes_only() {
    assert_eq!(percent_decode("a%2Db%2dc%20d"), "a-b-c d");
    assert_eq!(percent_decode("100% sure %zz %4"), "100% sure %zz %4");
    assert_eq!(percent_decode("%E6%97%A5"), "日");
    assert_eq!(percent_decode("a%FFb%41"), "a%FFb%41");
}

#[test]
fn mask_fragments_masks_every_long_enough_piece_of_the_secret() {
    let key = "sk-live-0123456789abcdefXYZ";
    let cases = [
        ("invalid key sk-live-0123456789abcdefXYZ", "invalid key ***"),
        ("key ending in 89abcdefXYZ was refused", "key ending in *** was refused"),
        ("prefix sk-live-012 and tail XYZ", "prefix *** and tail XYZ"),
        ("7 bytes 0123456 stay", "7 bytes 0123456 stay"),
        ("日本語 0123456789 日本語", "日本語 *** 日本語"),
        ("twice: abcdefXYZ / sk-live-01", "twice: *** / ***"),
        ("nothing to see", "nothing to see"),
    ];
    for (text, want) in cases {
        assert_eq!(mask_fragments(text, key, 8, "***"), want, "{text}");
    }
    assert_eq!(mask_fragments("short abc here", "abc", 8, "***"), "short *** here");
    assert_eq!(mask_fragments("ünïcödé key ünïcö", "ünïcödé", 4, "*"), "* key *");
}

#[test]
fn find_split_and_replace_agree_with_std() {
    let hays = ["", "a", "abc", "{{.Key}} x }}", "日本語 {{ 語 }} 本", "aaaa", "key=s3cret; s3cret!", "ab, cd, ef"];
    let needles = ["", "a", "aa", "}}", "{{", "語", "s3cret", ", ", "zz", "abcd"];
    for hay in hays {
        for needle in needles {
            assert_eq!(find(hay, needle), hay.find(needle), "find({hay:?}, {needle:?})");
            assert_eq!(split_once(hay, needle), hay.split_once(needle), "split_once({hay:?}, {needle:?})");
            if !needle.is_empty() {
                assert_eq!(replace(hay, needle, "<*>"), hay.replace(needle, "<*>"), "replace({hay:?}, {needle:?})");
            }
        }
        assert_eq!(replace(hay, "", "x"), hay, "an empty needle changes nothing");
    }
}

#[test]
fn caps_on_char_boundaries() {
    assert_eq!(cap_chars("日本語テキスト", 3), "日本語");
    assert_eq!(cap_chars("abc", 10), "abc");
    let t = truncate_with_marker(&"é".repeat(500), 100);
    assert!(t.chars().count() <= 100 + 40, "{t}");
    assert!(t.ends_with("[truncated 440 of 500 characters]"), "{t}");
    // By the escaped length: `<&` is nine characters in a message.
    // Room for 60 of 100 beside the marker: six `x<&`, ten characters each.
    let t = truncate_with_marker(&"x<&".repeat(100), 100);
    assert_eq!(t, format!("{}… [truncated 282 of 300 characters]", "x<&".repeat(6)));
    assert_eq!(cap_html("<b>a</b> &amp; <a href=\"x\">y</a>", 12), "<b>a</b> ");
    assert_eq!(cap_html("<b>a</b> &amp; b", 15), "<b>a</b> &amp; ");
    assert_eq!(cap_html("<b>a</b> &amp; b", 11), "<b>a</b> ");
    assert_eq!(cap_html("<b>a</b>", 8), "<b>a</b>");
}

#[test]
fn writes_integers_as_std_formats_them() {
    for n in [0, 1, -1, 7, -7, 9, 10, 42, -42, 999, 1000, -1000, 12_345, i64::MAX, i64::MIN, i64::MIN + 1] {
        assert_eq!(int(n), n.to_string());
        for width in 0..6 {
            let mut out = String::new();
            push_i64(&mut out, n, width);
            assert_eq!(out, format!("{n:0width$}"), "{n} in {width}");
        }
    }
    for n in [0, 5, 10, 99, 100, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(uint(n), n.to_string());
        assert_eq!(format!("<{}>", Decimal(n)), format!("<{n}>"));
        let mut out = String::new();
        push_u64(&mut out, n, 3);
        assert_eq!(out, format!("{n:03}"));
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // std's trims are the reference
fn trims_a_byte_as_std_trims_a_char() {
    for text in ["", "-", "--", "a", "-a-", "--a--b--", "\"x\"", "\"\"", "1.500", "0", "/p/q//", "é-", "-é"] {
        for (byte, c) in [(b'-', '-'), (b'"', '"'), (b'0', '0'), (b'/', '/')] {
            assert_eq!(trim_byte(text, byte, true), text.trim_matches(c), "{text:?} {c:?}");
            assert_eq!(trim_byte(text, byte, false), text.trim_end_matches(c), "{text:?} {c:?}");
        }
    }
}

#[test]
fn formats_times() {
    assert_eq!(format_time(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(format_time(1_764_092_855, 0), "2025-11-25T17:47:35Z");
    assert_eq!(format_time(1_764_092_855, 540), "2025-11-26T02:47:35+09:00");
    assert_eq!(format_time(1_764_092_855, -330), "2025-11-25T12:17:35-05:30");
    assert_eq!(format_time(-62_198_755_200, 0), "-001-01-01T00:00:00Z");
    assert_eq!(format_time(253_402_300_800, -1), "9999-12-31T23:59:00-00:01");
    assert_eq!(epoch_seconds(1_764_092_855_123), 1_764_092_855);
}

#[test]
fn escapes_and_flattens() {
    assert_eq!(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    assert_eq!(one_line("a\nb\r\n\tc\n"), "a b   c");
    // Invisible reordering and zero-width characters are left out; joiners stay.
    assert_eq!(one_line("\u{202e}disk \u{2066}97%\u{2069}\u{200b} full\u{200f}\u{feff}"), "disk 97% full");
    assert_eq!(one_line("👨\u{200d}👩 \u{200c}x"), "👨\u{200d}👩 \u{200c}x");
    for (seconds, words) in [(-5, "0s"), (45, "45s"), (60, "1m"), (754, "12m"), (3725, "1h 2m"), (187_500, "2d 4h")] {
        assert_eq!(format_duration(seconds), words);
    }
}

#[test]
fn quotes_as_serde_json_writes_a_string() {
    let mut cases: Vec<String> = [
        "",
        "plain",
        "a \"quoted\" \\ back\\slash",
        "\u{8}\u{c}\n\r\t",
        "/ slash, <b>html</b> & 'single'",
        "é 対応 😀 \u{7f} \u{80} \u{2028}\u{2029} \u{feff}",
        "\\u0041 is not unescaped",
        "\"",
        "\\",
        "ends with a control\u{1f}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every control alone and between other text.
    for b in 0u8..0x20 {
        let c = char::from(b);
        cases.push(c.to_string());
        cases.push(format!("x{c}y{c}"));
    }
    for case in &cases {
        let expected = serde_json::to_string(case.as_str()).unwrap_or_default();
        assert_eq!(super::quoted(case), expected, "{case:?}");
        let mut appended = String::from("[");
        super::push_quoted(&mut appended, case);
        assert_eq!(appended, format!("[{expected}"), "{case:?}");
    }
}

#[test]
fn copies_json_as_clone_does() {
    let value: serde_json::Value = serde_json::from_str(
        r#"{"a":[1,-2,0.5,"s",null,true,{"b":{}}],"c":{"d":[[]],"e":false},"f":"\u00e9","g":18446744073709551615}"#,
    )
    .unwrap_or_default();
    assert_eq!(super::copy_json(&value), value.clone());
    let map = value.as_object().cloned().unwrap_or_default();
    assert_eq!(super::copy_map(&map), map);
}
