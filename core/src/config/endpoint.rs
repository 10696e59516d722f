//! Endpoint URLs (`http`/`https` only; no user info, query or fragment), loopback
//! detection for the plain-http rule, and organization names.

use crate::prelude::*;

use serde_json::Value;

use super::Endpoint;
use super::parse::show;

/// Parse an endpoint URL; the error says what is wrong (never echoing user info).
pub(crate) fn endpoint(url: &str) -> Result<Endpoint, String> {
    let Some((scheme, rest)) = crate::text::split_once(url, "://") else {
        return Err(format!("`{}` (no `http://` or `https://` in front)", clip(url)));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("the scheme `{}` (only http and https)", clip(&scheme)));
    }
    let (authority, path) = match crate::text::find(rest, "/") {
        Some(at) => (rest.get(0..at).unwrap_or_default(), rest.get(at..).unwrap_or_default()),
        None => (rest, ""),
    };
    if crate::text::find(authority, "@").is_some() {
        return Err("a url with user info (`user:password@`); remove it and give the key as `api_key`".into());
    }
    if crate::text::find(rest, "?").or(crate::text::find(rest, "#")).is_some() {
        return Err(format!("`{}` with a query or fragment; give only scheme, host, port and path", clip(url)));
    }
    let authority =
        authority_of(authority).ok_or_else(|| format!("`{}` (the host or port is not valid)", clip(url)))?;
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{}` (spaces in the path)", clip(url)));
    }
    Ok(Endpoint { scheme, authority, base_path: crate::text::trim_byte(path, b'/', false).to_owned() })
}

fn clip(text: &str) -> String {
    crate::text::trim_byte(&show(&Value::String(text.to_owned()), false), b'"', true).to_owned()
}

/// `Host:port` -> `host:port`, checked.
fn authority_of(authority: &str) -> Option<String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix("[") {
        let (inside, after) = crate::text::split_once(v6, "]")?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(":")?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match crate::text::rfind_byte(authority, b':') {
            Some(at) => (authority.get(0..at)?, Some(authority.get(at + 1..)?)),
            None => (authority, None),
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
        if host.is_empty() || !host.chars().all(ok) || host.starts_with('.') || crate::text::find(host, "..").is_some()
        {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    match port {
        None => Some(host),
        Some(p) => {
            let n = crate::text::parse_u64(p).filter(|_| p.chars().all(|c| c.is_ascii_digit()))?;
            (1..=u64::from(u16::MAX)).contains(&n).then(|| format!("{host}:{}", crate::text::Decimal(n)))
        }
    }
}

/// True for `localhost`, an IPv4 address in 127.0.0.0/8 written as four decimal
/// numbers and `[::1]` (with or without a port): hosts a request cannot leave this
/// machine for. A name that only looks local (`127.0.0.1.example.com`,
/// `x.localhost`, `localhost.` with its root dot) is not: a resolver may send it
/// anywhere, and plain http would carry the key there in clear. The native host
/// asks the same question through this function, before each plain-http request.
pub fn is_loopback(authority: &str) -> bool {
    if authority.starts_with('[') {
        return crate::text::before(authority, "]") == "[::1";
    }
    let host = crate::text::before(authority, ":");
    host.eq_ignore_ascii_case("localhost") || is_loopback_ipv4(host.as_bytes())
}

/// `127.a.b.c`, each number 0-255 without a leading zero (as `Ipv4Addr` reads them).
fn is_loopback_ipv4(mut rest: &[u8]) -> bool {
    for part in 0..4 {
        let leading_zero = rest.first() == Some(&b'0');
        let mut digits = 0;
        let mut value = 0_u32;
        while let [c @ b'0'..=b'9', more @ ..] = rest {
            value = value * 10 + u32::from(c - b'0');
            digits += 1;
            rest = more;
            if digits > 3 {
                return false;
            }
        }
        if digits == 0 || value > 255 || (leading_zero && digits > 1) || (part == 0 && value != 127) {
            return false;
        }
        match rest {
            [b'.', more @ ..] if part < 3 => rest = more,
            [] if part == 3 => return true,
            _ => return false,
        }
    }
    false
}

/// A DNS label: letters, digits and `-`, not at either end.
pub(crate) fn valid_organization(org: &str) -> bool {
    !org.is_empty()
        && org.len() <= 63
        && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !org.starts_with('-')
        && !org.ends_with('-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = endpoint("HTTPS://Demo.Reactio.JP/").unwrap();
        assert_eq!((e.scheme.as_str(), e.authority.as_str(), e.base_path.as_str()), ("https", "demo.reactio.jp", ""));
        let e = endpoint("http://127.0.0.1:8080/proxy/reactio//").unwrap();
        assert_eq!((e.authority.as_str(), e.base_path.as_str()), ("127.0.0.1:8080", "/proxy/reactio"));
        assert_eq!(endpoint("http://[::1]:9000").unwrap().authority, "[::1]:9000");
        let err = endpoint("https://user:hunter2@demo.reactio.jp").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        for bad in [
            "demo.reactio.jp",
            "ftp://x",
            "https://x?y=1",
            "https://x#f",
            "https://",
            "https://x:0",
            "https://x:99999",
            "https://a b",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_is_what_cannot_leave_this_machine() {
        for yes in ["127.0.0.1:80", "127.0.0.1", "127.255.0.9", "localhost", "localhost:8080", "[::1]:1", "[::1]"] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "demo.reactio.jp",
            "127example.com",
            "127.evil.example",
            "127.0.0.1.example.com",
            "127.0.0.1.",
            "127.0.0",
            "127.0.0.1.5",
            "127.0.0.256",
            "127.00.0.1",
            "0127.0.0.1",
            "128.0.0.1",
            "x.localhost",
            "localhost.",
            "localhost.example.com",
            "[::2]:1",
            "[::1.evil]",
            "",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
