//! The Go-template subset used for names, broadcast texts and timeline messages.
//!
//! Supported: literal text, field references `{{.Entity.Name}}` (spaces inside
//! the braces allowed) and Go raw strings ``{{`{{.Entity.Name}}`}}``, which print as
//! they are (the escape from a Sensu Go agent's token substitution). Field paths are
//! checked at load against [`FIELDS`].
//! Anything else (`{{if}}`, pipelines, functions) is refused at load with the
//! position and the list of fields, so a typo never reaches a 3 a.m. alert.

use crate::prelude::*;

use alloc::sync::Arc;

use serde::Serialize;

use crate::text::{find, split_once};

/// Characters past which [`Template::render_from`] stops: well above every cap on what
/// is sent (a message's 8,000 characters, less for names and broadcasts).
pub const RENDER_LIMIT: usize = 64 * 1024;

/// Every field a template may reference.
pub const FIELDS: &[&str] = &[
    ".Key",
    ".Severity",
    ".Time",
    ".Entity.Name",
    ".Entity.Namespace",
    ".Check.Name",
    ".Check.Output",
    ".Check.Status",
    ".Check.Occurrences",
    ".Check.Interval",
];

/// Values for one event, keyed by field path (`.Check.Name`). A short list rather
/// than a map: a dozen fields, and one map type less in the wasm module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateData {
    values: Vec<(&'static str, String)>,
}

impl TemplateData {
    /// Room for every field, so that filling them allocates once.
    pub(crate) fn for_fields() -> TemplateData {
        TemplateData { values: Vec::with_capacity(FIELDS.len()) }
    }

    /// Set a field's value.
    pub fn set(&mut self, field: &'static str, value: String) {
        match self.values.iter_mut().find(|(f, _)| *f == field) {
            Some((_, v)) => *v = value,
            None => self.values.push((field, value)),
        }
    }

    /// A field's value, if set.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.iter().find(|(f, _)| *f == field).map(|(_, v)| v.as_str())
    }
}

/// A parsed template. Shared, not copied: the effective settings of every event
/// clone the configured templates, and a clone here is a reference count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Template(Arc<(String, Vec<Part>)>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source().to_owned()
    }
}

/// A template that does not parse: what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// One lowercase line.
    pub message: String,
}

impl Template {
    /// Parse a template, checking every field reference.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some((text, after)) = split_once(rest, "{{") {
            if !text.is_empty() {
                parts.push(Part::Text(text.to_owned()));
            }
            // A Go raw string, {{`...`}}, prints as it is: how a template in a Sensu Go
            // check annotation is escaped from the agent's token substitution.
            if let Some(quoted) = after.trim_ws_start().strip_prefix("`")
                && let Some((literal, tail)) = split_once(quoted, "`")
                && let Some(next) = tail.trim_ws_start().strip_prefix("}}")
            {
                parts.push(Part::Text(literal.to_owned()));
                rest = next;
                continue;
            }
            let Some((inner, next)) = split_once(after, "}}") else {
                return Err(TemplateError {
                    message: format!(
                        "template `{source}`: `{{{{` at byte {} is never closed with `}}}}`",
                        source.len() - rest.len() + text.len()
                    ),
                });
            };
            // Go's trim markers: `{{- ` drops the white space before the action,
            // ` -}}` the white space after it.
            let go_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
            if inner.strip_prefix("-").is_some_and(|r| r.as_bytes().first().is_some_and(go_space))
                && let Some(Part::Text(before)) = parts.last_mut()
            {
                // `truncate`, not `pop`: the byte is ASCII, no char to decode backwards.
                while before.as_bytes().last().is_some_and(go_space) {
                    before.truncate(before.len() - 1);
                }
                if before.is_empty() {
                    parts.pop();
                }
            }
            let next = match inner.strip_suffix("-").is_some_and(|r| r.as_bytes().last().is_some_and(go_space)) {
                true => next.get(next.bytes().take_while(go_space).count()..).unwrap_or(next),
                false => next,
            };
            let inner = crate::text::trim_byte(inner, b'-', true).trim_ws();
            match FIELDS.iter().find(|f| **f == inner) {
                Some(field) => parts.push(Part::Field(field)),
                None => {
                    let hint = crate::suggest::did_you_mean(inner, FIELDS.iter().copied());
                    let hint = crate::text::wrapped(hint, "did you mean `{{", "}}`? ");
                    return Err(TemplateError {
                        message: format!(
                            "template `{source}`: `{{{{{inner}}}}}` is not a field we support; {hint}supported: {}",
                            crate::text::join(FIELDS, ", ")
                        ),
                    });
                }
            }
            rest = next;
        }
        if find(rest, "}}").is_some() {
            return Err(TemplateError { message: format!("template `{source}`: stray `}}}}` without `{{{{`") });
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template(Arc::new((source.to_owned(), parts))))
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.0.0
    }

    /// True when the template starts with the field `field` (used for the name
    /// rule: a name template must start with `{{.Key}}`).
    pub fn starts_with_field(&self, field: &str) -> bool {
        matches!(self.0.1.first(), Some(Part::Field(f)) if *f == field)
    }

    /// Render with the event's values; substituted values are HTML-escaped when
    /// `escape_html` (timeline messages, where their newlines become `<br>`),
    /// literal text never is.
    pub fn render(&self, data: &TemplateData, escape_html: bool) -> String {
        self.render_from(0, data, escape_html)
    }

    /// [`Template::render`] without the first `skip` parts (a name's tail after the key).
    ///
    /// Rendering stops once the text is past [`RENDER_LIMIT`] characters: every text
    /// is capped far below it, and a template that repeats a large field thousands of
    /// times (an annotation can) must not cost seconds and gigabytes first.
    pub fn render_from(&self, skip: usize, data: &TemplateData, escape_html: bool) -> String {
        let mut out = String::new();
        for part in self.0.1.iter().skip(skip) {
            // Past the limit in bytes is past it in characters, at four bytes or fewer each.
            if out.len() > RENDER_LIMIT * 4 {
                break;
            }
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => {
                    let value = data.get(field).unwrap_or_default();
                    if escape_html {
                        out.push_str(&crate::text::replace(&crate::text::escape_html(value), "\n", "<br>"));
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TemplateData {
        let mut d = TemplateData::default();
        d.set(".Key", "web01/check_http".into());
        d.set(".Check.Output", "<b>down</b> & out".into());
        d
    }

    #[test]
    fn renders_fields_and_escapes_only_values() {
        let t = Template::parse("<b>{{ .Key }}</b> {{.Check.Output}}").unwrap();
        assert_eq!(t.render(&data(), true), "<b>web01/check_http</b> &lt;b&gt;down&lt;/b&gt; &amp; out");
        assert_eq!(t.render(&data(), false), "<b>web01/check_http</b> <b>down</b> & out");
    }

    #[test]
    fn a_raw_string_prints_as_it_is() {
        // What a Sensu Go check annotation holds when the agent did not substitute it.
        let t = Template::parse("{{`{{.Entity.Name}}`}}: down, {{ `a}}b` }} {{.Key}}").unwrap();
        assert_eq!(t.render(&data(), false), "{{.Entity.Name}}: down, a}}b web01/check_http");
        assert!(Template::parse("{{`unclosed}}").is_err());
    }

    #[test]
    fn go_trim_markers_drop_the_white_space_beside_the_action() {
        let t = Template::parse("host: {{- .Key}} ! {{.Key -}}\n\t ! {{-.Key}}").unwrap();
        assert_eq!(t.render(&data(), false), "host:web01/check_http ! web01/check_http! web01/check_http");
        // Only with white space after `{{-` (as in Go): `{{-.Key}}` trims nothing.
        let t = Template::parse("  {{- .Key -}}  ").unwrap();
        assert_eq!(t.render(&data(), false), "web01/check_http");
    }

    #[test]
    fn rendering_stops_past_the_limit() {
        // A field repeated thousands of times (an annotation can hold that) stops soon
        // after the limit instead of growing to the full product.
        let mut d = data();
        d.set(".Check.Output", "x".repeat(5000));
        let t = Template::parse(&"{{.Check.Output}}".repeat(10_000)).unwrap();
        let out = t.render(&d, true);
        assert!(out.len() > RENDER_LIMIT && out.len() <= RENDER_LIMIT * 4 + 5000, "{}", out.len());
    }

    #[test]
    fn unknown_field_says_did_you_mean() {
        let err = Template::parse("{{.Check.Nmae}}").unwrap_err();
        assert!(err.message.contains("did you mean `{{.Check.Name}}`"), "{}", err.message);
    }

    #[test]
    fn unclosed_and_stray_braces_are_errors() {
        assert!(Template::parse("a {{.Key").is_err());
        // The position named is the unclosed `{{`'s, after earlier fields.
        let err = Template::parse("日 {{.Key}} {{.Check").unwrap_err();
        assert!(err.message.contains("`{{` at byte 13 is never closed"), "{}", err.message);
        assert!(Template::parse("a }} b").is_err());
        assert!(Template::parse("{{if .Key}}x{{end}}").is_err());
    }

    #[test]
    fn key_prefix_detection() {
        assert!(Template::parse("{{.Key}} {{.Check.Output}}").unwrap().starts_with_field(".Key"));
        assert!(!Template::parse("x {{.Key}}").unwrap().starts_with_field(".Key"));
    }
}
