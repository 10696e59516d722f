//! Dates read from Reactio's answers as epoch seconds: HTTP dates (`Date`,
//! `Retry-After`) and ISO 8601 times (an incident's `created_at`, `closed_at`).

use crate::text;
use crate::trim::TrimWs;

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, the IMF-fixdate form) as epoch seconds.
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    let rest = text::split_once(value.trim_ws(), ", ")?.1;
    // Its first five words, split at ASCII whitespace and at anything not ASCII (a date
    // has none: a U+00A0 or U+3000 there is taken as a space), byte by byte: smaller
    // in the wasm builds than splitting at `char::is_whitespace`.
    let mut words = [""; 5];
    let mut count = 0;
    let mut start = 0;
    for i in 0..=rest.len() {
        if rest.as_bytes().get(i).is_none_or(|c| c.is_ascii_whitespace() || !c.is_ascii()) {
            if i > start {
                if let Some(slot) = words.get_mut(count) {
                    *slot = rest.get(start..i).unwrap_or_default();
                }
                count += 1;
            }
            start = i + 1;
        }
    }
    if count < 5 {
        return None;
    }
    let [day, month, year, time, zone] = words;
    let day = u32::try_from(text::parse_u64(day)?).ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month)? as u32
        + 1;
    let year = text::parse_i64(year)?;
    let (h, ms) = text::split_once(time, ":")?;
    let (m, s) = text::split_once(ms, ":")?;
    let (h, m, s) = (text::parse_i64(h)?, text::parse_i64(m)?, text::parse_i64(text::before(s, ":"))?);
    if zone != "GMT" || !exists(year, i64::from(month), i64::from(day), [h, m, s]) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// An RFC 3339 / ISO 8601 time as epoch seconds, as a Rails- or Django-like server
/// writes an incident's times where reactio-api.md says epoch seconds:
/// `2026-11-28T12:00:00Z`, a `t` or a space for the `T`, fractional seconds (dropped),
/// and a zone of `Z`, `z`, `UTC` or an offset `+09:00`, `+0900`, `+09` (one space
/// allowed before it: `2026-11-28 12:00:00 UTC`, `2026-11-28 21:00:00 +0900`).
/// Anything else is `None`: a time without a zone, a date that does not exist
/// (`2026-02-30`), an hour past 23. A leap second (`23:59:60`) reads as the next.
pub(crate) fn parse_iso_time(value: &str) -> Option<i64> {
    let b = value.trim_ws().as_bytes();
    // Year, month, day, hour, minute, second: digits where the pattern has `0`.
    let mut fields = [0_i64; 6];
    let mut field = 0;
    for (i, &p) in b"0000-00-00T00:00:00".iter().enumerate() {
        let c = *b.get(i)?;
        if p == b'0' {
            let slot = fields.get_mut(field)?;
            *slot = *slot * 10 + i64::from(digit(c)?);
        } else if c == p || (p == b'T' && (c == b't' || c == b' ')) {
            field += 1;
        } else {
            return None;
        }
    }
    let [year, month, day, hour, minute, second] = fields;
    let mut rest = b.get(19..)?;
    if let [b'.' | b',', fraction @ ..] = rest {
        rest = fraction;
        while let [c, more @ ..] = rest
            && c.is_ascii_digit()
        {
            rest = more;
        }
        if rest.len() == fraction.len() {
            return None;
        }
    }
    if let [b' ', zone @ ..] = rest {
        rest = zone;
    }
    // The offset east of UTC, in minutes.
    let offset = match rest {
        b"Z" | b"z" | b"UTC" => 0,
        [sign @ (b'+' | b'-'), h1, h2, minutes @ ..] => {
            let minutes = match minutes {
                [] => 0,
                [b':', m1, m2] | [m1, m2] => two_digits(*m1, *m2).filter(|m| *m < 60)?,
                _ => return None,
            };
            let east = two_digits(*h1, *h2).filter(|h| *h < 24)? * 60 + minutes;
            if *sign == b'-' { -east } else { east }
        }
        _ => return None,
    };
    if !exists(year, month, day, [hour, minute, second]) {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60)
}

/// Does this date and time of day exist? Days past the month's end (`31 Feb`), hours
/// past 23, minutes past 59 and negative fields do not; a leap second (`:60`) does.
fn exists(year: i64, month: i64, day: i64, [hour, minute, second]: [i64; 3]) -> bool {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 => 28 + i64::from(leap),
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    // Negative fields wrap to large unsigned ones.
    day >= 1 && day <= month_days && (hour as u64) < 24 && (minute as u64) < 60 && (second as u64) <= 60
}

/// An ASCII digit's value.
fn digit(c: u8) -> Option<u8> {
    c.is_ascii_digit().then(|| c - b'0')
}

/// Two ASCII digits' value.
fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    Some(i64::from(digit(tens)? * 10 + digit(ones)?))
}

/// Howard Hinnant's civil-to-days algorithm.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::{parse_http_date, parse_iso_time};

    #[test]
    fn reads_http_dates() {
        assert_eq!(parse_http_date("Tue, 25 Nov 2025 17:47:35 GMT"), Some(1_764_092_855));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("soon"), None);
        // Dates and times that do not exist are no dates (not a day or two later).
        for bad in [
            "Sat, 31 Feb 2026 12:00:00 GMT",
            "Thu, 29 Feb 2026 12:00:00 GMT",
            "Mon, 31 Nov 2026 12:00:00 GMT",
            "Sat, 28 Nov 2026 24:00:00 GMT",
            "Sat, 28 Nov 2026 12:60:00 GMT",
            "Sat, 28 Nov 2026 -1:00:00 GMT",
            "Sat, 00 Nov 2026 12:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        assert_eq!(parse_http_date("Tue, 29 Feb 2028 00:00:00 GMT"), Some(1_835_395_200));
        // Words split as `split_whitespace` splits them.
        assert_eq!(parse_http_date("Tue,  25\tNov \u{3000}2025 17:47:35\u{a0}GMT extra"), Some(1_764_092_855));
        for short in ["Tue, 25 Nov 2025 17:47:35", "Tue, 25 Nov", "Tue, ", "Tue, 25 Nov 2025 17:47:35 UTC"] {
            assert_eq!(parse_http_date(short), None, "{short}");
        }
    }

    #[test]
    fn reads_iso_times_in_every_form_a_server_writes() {
        // 2026-11-28T12:00:00Z.
        let noon = 1_795_867_200;
        for form in [
            "2026-11-28T12:00:00Z",
            "2026-11-28T12:00:00.000Z",
            "2026-11-28T12:00:00.123456789Z",
            "2026-11-28T12:00:00,5Z",
            "2026-11-28t12:00:00z",
            "2026-11-28 12:00:00Z",
            "2026-11-28 12:00:00 UTC",
            "2026-11-28T12:00:00UTC",
            "2026-11-28T21:00:00+09:00",
            "2026-11-28T21:00:00.000+09:00",
            "2026-11-28 21:00:00 +0900",
            "2026-11-28T21:00:00+09",
            "2026-11-28T06:30:00-05:30",
            "2026-11-28T12:00:00+00:00",
            "2026-11-28T12:00:00-00:00",
            "  2026-11-28T12:00:00Z\n",
        ] {
            assert_eq!(parse_iso_time(form), Some(noon), "{form}");
        }
        assert_eq!(parse_iso_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso_time("1970-01-01T09:00:00+09:00"), Some(0));
        assert_eq!(parse_iso_time("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(parse_iso_time("2025-11-24T16:01:01Z"), Some(1_764_000_061));
        // An offset across midnight, and a year's end.
        assert_eq!(parse_iso_time("2027-01-01T08:59:59+09:00"), Some(1_798_761_599));
        assert_eq!(parse_iso_time("2026-12-31T23:59:59Z"), Some(1_798_761_599));
        // A leap second reads as the next second.
        assert_eq!(parse_iso_time("2016-12-31T23:59:60Z"), parse_iso_time("2017-01-01T00:00:00Z"));
    }

    #[test]
    fn leap_days_are_read_only_in_leap_years() {
        assert_eq!(parse_iso_time("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_iso_time("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_iso_time("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        for date in ["2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z"] {
            assert_eq!(parse_iso_time(date), None, "{date}");
        }
    }

    #[test]
    fn what_is_not_an_iso_time_is_not_read() {
        for wrong in [
            "",
            "soon",
            "1764000061",
            "2026-11-28",
            "2026-11-28T12:00Z",
            // No zone: whose local time it is nobody says.
            "2026-11-28T12:00:00",
            "2026-11-28T12:00:00.000",
            // Dates and times that do not exist.
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-32T00:00:00Z",
            "2026-11-28T25:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T12:60:00Z",
            "2026-11-28T12:00:61Z",
            // Offsets out of range or cut short.
            "2026-11-28T12:00:00+24:00",
            "2026-11-28T12:00:00+09:60",
            "2026-11-28T12:00:00+9",
            "2026-11-28T12:00:00+09:0",
            "2026-11-28T12:00:00+090",
            "2026-11-28T12:00:00+09:00:00",
            "2026-11-28T12:00:00+09:00Z",
            // Separators, fractions and zones not written so.
            "2026/11/28T12:00:00Z",
            "2026-11-28_12:00:00Z",
            "2026-11-28T12.00.00Z",
            "2026-11-28T12:00:00.Z",
            "2026-11-28T12:00:00  Z",
            "2026-11-28T12:00:00 GMT",
            "2026-11-28T12:00:00utc",
            "2026-11-28T12:00:00ZZ",
            "+2026-11-28T12:00:00Z",
            "２026-11-28T12:00:00Z",
            "Sat, 28 Nov 2026 12:00:00 GMT",
        ] {
            assert_eq!(parse_iso_time(wrong), None, "{wrong}");
        }
    }
}
