//! Dates read from Reactio's answers as epoch seconds: HTTP dates (`Date`,
//! `Retry-After`).

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
    if zone != "GMT" || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
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
    use super::parse_http_date;

    #[test]
    fn reads_http_dates() {
        assert_eq!(parse_http_date("Tue, 25 Nov 2025 17:47:35 GMT"), Some(1_764_092_855));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("soon"), None);
        // Words split as `split_whitespace` splits them.
        assert_eq!(parse_http_date("Tue,  25\tNov \u{3000}2025 17:47:35\u{a0}GMT extra"), Some(1_764_092_855));
        for short in ["Tue, 25 Nov 2025 17:47:35", "Tue, 25 Nov", "Tue, ", "Tue, 25 Nov 2025 17:47:35 UTC"] {
            assert_eq!(parse_http_date(short), None, "{short}");
        }
    }
}
