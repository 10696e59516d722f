//! White space trimmed from text: `str::trim`, `trim_start` and `trim_end` by one function.

/// `str::trim`, `trim_start` and `trim_end` (the same Unicode white space, so the same
/// results) through one loop each way: std's three go through its pattern searchers,
/// each instantiated on its own (309 B more of the raw module).
pub trait TrimWs {
    /// `str::trim`.
    fn trim_ws(&self) -> &str;
    /// `str::trim_start`.
    fn trim_ws_start(&self) -> &str;
    /// `str::trim_end`.
    fn trim_ws_end(&self) -> &str;
}

impl TrimWs for str {
    fn trim_ws(&self) -> &str {
        trim_white(self, true, true)
    }

    fn trim_ws_start(&self) -> &str {
        trim_white(self, true, false)
    }

    fn trim_ws_end(&self) -> &str {
        trim_white(self, false, true)
    }
}

/// `text` without the white space at its start (`start`) and its end (`end`).
#[inline(never)]
fn trim_white(text: &str, start: bool, end: bool) -> &str {
    let mut rest = text.chars();
    if start {
        let mut ahead = rest.clone();
        while ahead.next().is_some_and(char::is_whitespace) {
            rest = ahead.clone();
        }
    }
    if end {
        let mut behind = rest.clone();
        while behind.next_back().is_some_and(char::is_whitespace) {
            rest = behind.clone();
        }
    }
    rest.as_str()
}

#[cfg(test)]
// std's trims are the reference these are held to.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::TrimWs;

    #[test]
    fn trims_as_std_trims() {
        let texts = [
            "",
            " ",
            "a",
            " a ",
            "\t\na b\r\n",
            "  \u{3000}全角\u{3000} ",
            "\u{a0}x\u{85}",
            "\u{2028}\u{2029}",
            "\u{200b}kept\u{200b}",
            "é ",
            " é",
            "\u{feff}x",
            "a\u{1680}",
        ];
        for text in texts {
            assert_eq!(text.trim_ws(), text.trim(), "{text:?}");
            assert_eq!(text.trim_ws_start(), text.trim_start(), "{text:?}");
            assert_eq!(text.trim_ws_end(), text.trim_end(), "{text:?}");
        }
    }
}
