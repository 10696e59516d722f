//! Everything the handler prints: one line per event on stdout (or one JSON object),
//! warnings and errors on stderr, dry-run requests. Every line passes through
//! [`Printer::redact`], so the API key cannot leak even if a message carried it.

use std::io::Write;

use sensu_reactio_core::step::MASK;
use sensu_reactio_core::{Outcome, OutcomeKind, Request};
use serde_json::Value;

use crate::cli::OutputFormat;

/// The shortest piece of a secret that [`Printer::redact`] masks on its own.
const SECRET_PIECE: usize = 8;

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// stdin, this run.
    Live,
    /// An entry of the spool.
    Spool,
}

/// Writes the handler's output.
#[derive(Debug, Default)]
pub struct Printer {
    format: Option<OutputFormat>,
    secrets: Vec<String>,
    /// Warnings already printed by [`Printer::warning_once`]: not repeated per event.
    printed: std::cell::RefCell<Vec<String>>,
}

impl Printer {
    /// A printer for `format`.
    pub fn new(format: OutputFormat) -> Printer {
        Printer { format: Some(format), secrets: Vec::new(), printed: std::cell::RefCell::default() }
    }

    /// Mask this value wherever it would appear (the API keys). Very short values
    /// are ignored: masking them would garble unrelated text.
    pub fn add_secret(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// Print a warning once for the whole run: the configuration's warnings, which
    /// every outcome repeats, and a trouble with the spool that the drains before and
    /// after the live event each meet.
    pub fn warning_once(&self, message: &str) {
        if self.printed.borrow().iter().any(|p| p == message) {
            return;
        }
        self.warning(message);
        self.printed.borrow_mut().push(message.to_owned());
    }

    /// The text with every known secret masked, on one line: whole, and any piece of
    /// 8 or more bytes of one (a server may echo a key cut short).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = sensu_reactio_core::text::mask_fragments(&out, secret, SECRET_PIECE, MASK);
        }
        out
    }

    fn json(&self) -> bool {
        self.format == Some(OutputFormat::Json)
    }

    fn out(&self, line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{}", self.redact(line));
    }

    fn err(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{}", self.redact(line));
    }

    /// Text as it is (already formatted), on stdout.
    pub fn plain(&self, text: &str) {
        self.out(text);
    }

    /// A warning, on stderr.
    pub fn warning(&self, message: &str) {
        self.err(&format!("reactio: warning: {}", one_line(message)));
    }

    /// An error that ends the run, on stderr (text) or stdout (json).
    pub fn error(&self, message: &str, exit_code: u8) {
        if self.json() {
            let value = serde_json::json!({"result": "error", "message": one_line(message), "exit_code": exit_code});
            self.out(&value.to_string());
        } else {
            self.err(&format!("reactio: {}", one_line(message)));
        }
    }

    /// A line of information for the operator (stdout).
    pub fn info(&self, message: &str) {
        if self.json() {
            self.out(&serde_json::json!({"info": one_line(message)}).to_string());
        } else {
            self.out(&format!("reactio: {}", one_line(message)));
        }
    }

    /// A request a dry run would send (the key masked).
    pub fn dry_run_request(&self, request: &Request) {
        let request = request.redacted();
        if self.json() {
            let value = serde_json::json!({"dry_run_request": request});
            self.out(&value.to_string());
            return;
        }
        let mut text = format!(
            "reactio: dry run: would send {} {} ({})",
            request.method.as_str(),
            request.url(),
            serde_json::to_value(request.purpose).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        );
        for (name, value) in &request.headers {
            text.push_str(&format!("\n    {name}: {value}"));
        }
        if !request.body.is_empty() {
            text.push_str(&format!("\n    {}", request.body));
        }
        self.out(&text);
    }

    /// The result for one event: one line, or one JSON object (the core's outcome
    /// plus `source`, `host` (what the handler did with it) and `exit_code`).
    pub fn outcome(&self, outcome: &Outcome, source: Source, host_note: Option<&str>, exit_code: Option<u8>) {
        for warning in outcome.warnings.iter().filter(|w| !self.printed.borrow().contains(w)) {
            self.warning(warning);
        }
        if self.json() {
            let mut value = serde_json::to_value(outcome).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.remove("warnings");
                map.insert("source".into(), Value::from(if source == Source::Live { "live" } else { "spool" }));
                if let Some(note) = host_note {
                    map.insert("host".into(), Value::from(one_line(note)));
                }
                if let Some(code) = exit_code {
                    map.insert("exit_code".into(), Value::from(code));
                }
            }
            self.out(&value.to_string());
            return;
        }
        self.out(&outcome_line(outcome, source, host_note));
    }
}

/// Whether an outcome failed on the configuration (none for the connection, or a key
/// Reactio rejected): the handler exits 78 and dead-letters the event.
pub fn configuration_problem(outcome: &Outcome) -> bool {
    outcome.result == OutcomeKind::Failed && (outcome.auth_failed || outcome.code == "not_configured")
}

/// The text line for an outcome.
pub fn outcome_line(outcome: &Outcome, source: Source, host_note: Option<&str>) -> String {
    let mut line = String::from("reactio: ");
    if source == Source::Spool {
        line.push_str("spooled event: ");
    }
    let message = one_line(&outcome.message);
    // Worded as every other configuration error (exit 78) is, for whoever searches the log.
    if configuration_problem(outcome) {
        line.push_str("configuration error: ");
    }
    if outcome.dry_run && !message.contains("dry run") {
        line.push_str("dry run: ");
    }
    line.push_str(if message.is_empty() { outcome.code.as_str() } else { message.as_str() });
    if let Some(incident) = outcome.incident.as_ref().filter(|i| !line.contains(&i.url)) {
        line.push_str(&format!(": {}", incident.url));
    }
    if let Some(note) = host_note {
        line.push_str(&format!("; {}", one_line(note)));
    }
    line
}

/// Collapse a text to one line.
pub fn one_line(text: &str) -> String {
    // Other control characters (terminal escapes in a client name, say) never reach
    // Sensu's log raw: tabs become spaces, the rest U+FFFD.
    let lines = text.split(['\n', '\r']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    lines
        .chars()
        .map(|c| {
            if c == '\t' {
                ' '
            } else if c.is_control() {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use sensu_reactio_core::{IncidentRef, OutcomeKind};

    fn outcome() -> Outcome {
        Outcome {
            result: OutcomeKind::Handled,
            retryable: false,
            auth_failed: false,
            code: "created".into(),
            key: "web01/check_http".into(),
            incident: Some(IncidentRef { id: 42, url: "https://demo.reactio.jp/incident/42".into() }),
            actions: vec!["created".into()],
            message: "created incident 42 for web01/check_http".into(),
            warnings: Vec::new(),
            dry_run: false,
            create_unconfirmed: false,
        }
    }

    #[test]
    fn line_names_the_incident_and_its_url_once() {
        let line = outcome_line(&outcome(), Source::Live, None);
        assert_eq!(line, "reactio: created incident 42 for web01/check_http: https://demo.reactio.jp/incident/42");
        let mut with_url = outcome();
        with_url.message = "created https://demo.reactio.jp/incident/42".into();
        assert_eq!(outcome_line(&with_url, Source::Live, None).matches("incident/42").count(), 1);
    }

    #[test]
    fn spooled_and_noted_lines() {
        let line = outcome_line(&outcome(), Source::Spool, Some("spooled\nas x"));
        assert!(line.starts_with("reactio: spooled event: created"));
        assert!(line.ends_with("; spooled as x"));
    }

    #[test]
    fn redact_masks_every_secret() {
        let mut printer = Printer::new(OutputFormat::Text);
        printer.add_secret("sk-123456");
        printer.add_secret("ab");
        assert_eq!(printer.redact("key sk-123456 and sk-123456 ab"), "key ******** and ******** ab");
        assert_eq!(printer.redact("echoed sk-12345 and k-123456"), "echoed ******** and ********");
    }
}
