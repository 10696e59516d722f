//! The decision rules of decisions.md, in order: an event in, a decision out.

use crate::event::{Action, Event};

/// Rule 2's test: is this event a recovery?
pub(crate) fn is_recovery(event: &Event) -> bool {
    match event.action {
        Some(Action::Resolve) => true,
        Some(_) => false,
        None => event.status == 0 && event.previous_status().is_some_and(|s| s != 0),
    }
}
