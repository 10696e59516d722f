//! Compact JSON objects written member by member, byte for byte as serde_json writes a struct.
//!
//! The outputs (steps, answers, error objects) are written with this instead of their
//! derived `Serialize` impls: serde's per-type code and its serializer calls cost the
//! wasm builds more than these few appends. Strings are escaped as serde_json escapes
//! them ([`crate::text::push_quoted`]); keys are the writers' own, plain ASCII. Tests hold each
//! output to `serde_json::to_string` of the same value.

use crate::prelude::*;

/// A JSON object being written; [`Object::end`] closes it.
#[derive(Debug)]
pub(crate) struct Object(String);

impl Object {
    /// An empty object.
    pub(crate) fn new() -> Object {
        Object(String::from("{"))
    }

    /// `"key":`, after a comma unless it is the first member.
    fn key(&mut self, key: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
        &mut self.0
    }

    /// A string member.
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        crate::text::push_quoted(self.key(key), value);
    }

    /// A whole-number member.
    pub(crate) fn num(&mut self, key: &str, value: u64) {
        crate::text::push_u64(self.key(key), value, 1);
    }

    /// A boolean member.
    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    /// A member that is JSON text already (a nested object).
    pub(crate) fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// An array of strings.
    pub(crate) fn strs(&mut self, key: &str, values: &[String]) {
        let out = self.key(key);
        out.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::text::push_quoted(out, value);
        }
        out.push(']');
    }

    /// An array of `[name, value]` string pairs.
    pub(crate) fn pairs(&mut self, key: &str, pairs: &[(String, String)]) {
        let out = self.key(key);
        out.push('[');
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            crate::text::push_quoted(out, name);
            out.push(',');
            crate::text::push_quoted(out, value);
            out.push(']');
        }
        out.push(']');
    }

    /// The object's text.
    pub(crate) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// An error object: `{"error":{"kind":..,"message":..}}`.
pub(crate) fn error(kind: &str, message: &str) -> String {
    let mut error = Object::new();
    error.str("kind", kind);
    error.str("message", message);
    let mut out = Object::new();
    out.raw("error", &error.end());
    out.end()
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::reactio::CreateBody;
    use crate::step::*;

    fn serde<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }

    /// Texts serde_json escapes, and some it does not.
    const TEXT: &str = "a \"quoted\" \\ line\nand tab\t, \u{1} / <b>é</b> 対応 😀";

    #[test]
    fn steps_and_answers_are_written_as_serde_writes_them() {
        let request = Request {
            method: Method::Post,
            scheme: "https".into(),
            authority: "demo.reactio.jp".into(),
            path: "/api/v1/incidents?x=\"1\"".into(),
            headers: vec![("x-api-key".into(), TEXT.into()), ("accept".into(), "application/json".into())],
            body: TEXT.into(),
            timeout_ms: u64::MAX,
            purpose: Purpose::VerifyCreate,
        };
        let mut outcome = Outcome {
            result: OutcomeKind::Failed,
            retryable: true,
            auth_failed: false,
            code: "created".into(),
            key: TEXT.into(),
            incident: None,
            actions: Vec::new(),
            message: TEXT.into(),
            warnings: vec![TEXT.into(), String::new()],
            dry_run: true,
            create_unconfirmed: false,
        };
        let mut steps = vec![
            Step::Request(request.clone()),
            Step::Request(Request { method: Method::Get, headers: Vec::new(), ..request }),
            Step::Wait(Wait { min_ms: 0, reason: TEXT.into() }),
            Step::Done(outcome.clone()),
        ];
        outcome.incident = Some(IncidentRef { id: 7, url: TEXT.into() });
        outcome.actions = vec!["created".into(), "broadcast".into()];
        outcome.create_unconfirmed = true;
        steps.push(Step::Done(outcome));
        for purpose in [Purpose::LookupOpen, Purpose::LookupPend, Purpose::LookupClosed, Purpose::Create] {
            assert_eq!(serde(&purpose), format!("\"{}\"", purpose.name()));
        }
        for purpose in [Purpose::Message, Purpose::Notify, Purpose::Close] {
            assert_eq!(serde(&purpose), format!("\"{}\"", purpose.name()));
        }
        for kind in [OutcomeKind::Handled, OutcomeKind::Skipped, OutcomeKind::Failed] {
            assert_eq!(serde(&kind), format!("\"{}\"", kind.name()));
        }
        for step in &steps {
            assert_eq!(step.to_json(), serde(step));
        }
        let answers = [
            Answer::Response(Response { status: 503, headers: vec![("a".into(), TEXT.into())], body: TEXT.into() }),
            Answer::Failure(Failure { kind: FailureKind::Deadline, detail: TEXT.into() }),
            Answer::Waited,
        ];
        for answer in &answers {
            assert_eq!(answer.to_json(), serde(answer));
        }
        let error = serde_json::json!({"error": {"kind": "config", "message": TEXT}});
        assert_eq!(crate::json_api::error_json(crate::json_api::ErrorKind::Config, TEXT), serde(&error));
    }

    #[test]
    fn create_bodies_are_written_as_serde_writes_them() {
        let full = CreateBody {
            name: TEXT.into(),
            detection: Some("sensu"),
            notification_text: TEXT.into(),
            notification_call: true,
            topics: vec![TEXT.into(), "b".into()],
            message: Some(TEXT.into()),
        };
        let minimal = CreateBody { detection: None, topics: Vec::new(), message: None, ..full.clone() };
        assert_eq!(full.to_json(), serde(&full));
        assert_eq!(minimal.to_json(), serde(&minimal));
    }
}
