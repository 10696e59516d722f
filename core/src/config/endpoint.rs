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

/// True for `localhost`, `127.x.x.x` and `[::1]` (with or without a port).
pub(crate) fn is_loopback(authority: &str) -> bool {
    let host = if authority.starts_with('[') {
        format!("{}]", crate::text::before(authority, "]"))
    } else {
        crate::text::before(authority, ":").to_owned()
    };
    host == "localhost" || host.ends_with(".localhost") || host == "[::1]" || host.starts_with("127.")
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
        assert!(is_loopback("127.0.0.1:80") && is_loopback("localhost") && is_loopback("[::1]:1"));
        assert!(!is_loopback("demo.reactio.jp") && !is_loopback("127example.com"));
    }
}
