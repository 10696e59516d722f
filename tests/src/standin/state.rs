//! The stand-in's data: incidents, notifications, timeline messages, the clock, and
//! the seeding helpers tests use to set up "a person already took it" situations.

use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Reactio's incident statuses.
pub const STATUSES: [&str; 3] = ["open", "pend", "close"];

/// One incident as the stand-in holds it. Serialized to Reactio's shape by
/// [`Incident::to_json`].
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// Integer id, from 1 upwards.
    pub id: u64,
    /// The name.
    pub name: String,
    /// `open`, `pend` or `close`.
    pub status: String,
    /// `null` until a person takes the incident (a user id in the seed helpers).
    pub manager: Option<Value>,
    /// Topics opened at creation.
    pub topics: Vec<String>,
    /// Deprecated creation fields, echoed back when given (`null` otherwise).
    pub detection: Option<String>,
    /// See `detection`.
    pub cause: Option<String>,
    /// See `detection`.
    pub cause_supplement: Option<String>,
    /// See `detection`.
    pub point: Option<String>,
    /// See `detection`.
    pub scale: Option<String>,
    /// See `detection`.
    pub pend_text: Option<String>,
    /// See `detection`.
    pub close_text: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub updated_at: i64,
    /// Epoch seconds, set when the status became `pend`.
    pub pended_at: Option<i64>,
    /// Epoch seconds, set when the status became `close` (cleared on reopening).
    pub closed_at: Option<i64>,
    /// The whole create body as received (`null` for seeded incidents), for tests.
    pub create_body: Value,
}

impl Incident {
    /// Reactio's JSON shape. `full` adds `topics`, `files` and `users`, as the
    /// single-incident answer does; the list answer omits them.
    pub fn to_json(&self, full: bool) -> Value {
        let mut value = json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "manager": self.manager,
            "detection": self.detection,
            "cause": self.cause,
            "cause_supplement": self.cause_supplement,
            "point": self.point,
            "scale": self.scale,
            "pend_text": self.pend_text,
            "close_text": self.close_text,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "pended_at": self.pended_at,
            "closed_at": self.closed_at,
            "created_by": Value::Null,
            "updated_by": Value::Null,
            "pended_by": Value::Null,
            "closed_by": Value::Null,
        });
        if full && let Some(map) = value.as_object_mut() {
            let topics: Vec<Value> = self.topics.iter().map(|t| json!({ "name": t, "status": "open" })).collect();
            map.insert("topics".into(), Value::Array(topics));
            map.insert("files".into(), json!([]));
            map.insert("users".into(), json!([]));
        }
        value
    }

    /// Whether the incident counts as open for the handler (`open` or `pend`).
    pub fn is_open(&self) -> bool {
        self.status == "open" || self.status == "pend"
    }

    /// Sets the status, stamping `pended_at`/`closed_at` and `updated_at`.
    pub fn set_status(&mut self, status: &str, now: i64) {
        status.clone_into(&mut self.status);
        self.updated_at = now;
        match status {
            "pend" => {
                self.pended_at = Some(now);
                self.closed_at = None;
            }
            "close" => self.closed_at = Some(now),
            _ => self.closed_at = None,
        }
    }
}

/// A broadcast (`POST /api/v1/notifications`, or `notification_text` at creation).
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// Integer id, from 1 upwards.
    pub id: u64,
    /// The incident it belongs to.
    pub incident_id: u64,
    /// The text broadcast.
    pub notification_text: String,
    /// Whether phones were rung.
    pub notification_call: bool,
    /// Epoch seconds.
    pub created_at: i64,
}

impl Notification {
    /// Reactio's notification answer shape.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "notification_text": self.notification_text,
            "notification_call": self.notification_call,
            "notificated_for": { "phone": [], "email1": [], "email2": [], "imkayac": [] },
            "created_at": self.created_at,
        })
    }
}

/// A timeline message (`POST /api/v1/messages`, or `message` at creation).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Integer id, from 1 upwards.
    pub id: u64,
    /// The incident it belongs to.
    pub incident_id: u64,
    /// The message (limited HTML), as received.
    pub message: String,
    /// Epoch seconds.
    pub created_at: i64,
}

impl Message {
    /// The answer shape for a posted message.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "incident_id": self.incident_id,
            "message": self.message,
            "created_at": self.created_at,
        })
    }
}

/// Where `created_at` and friends come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The machine's clock, in epoch seconds.
    Real,
    /// A fake clock: reads `now`, then advances by `step` seconds on every read
    /// (`step: 0` is a fixed time).
    Fake {
        /// The next value read.
        now: i64,
        /// Added after each read.
        step: i64,
    },
}

impl Clock {
    /// A fixed fake time.
    pub fn fixed(now: i64) -> Clock {
        Clock::Fake { now, step: 0 }
    }

    /// Reads the clock (advancing a stepping fake one).
    pub fn read(&mut self) -> i64 {
        match self {
            Clock::Real => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Clock::Fake { now, step } => {
                let value = *now;
                *now = now.saturating_add(*step);
                value
            }
        }
    }
}

/// Everything the stand-in stores, under one lock.
#[derive(Debug)]
pub struct Store {
    /// Incidents by creation order (ids ascending).
    pub incidents: Vec<Incident>,
    /// Every broadcast, in order.
    pub notifications: Vec<Notification>,
    /// Every timeline message, in order.
    pub messages: Vec<Message>,
    /// The clock.
    pub clock: Clock,
    next_incident: u64,
    next_notification: u64,
    next_message: u64,
}

impl Store {
    /// An empty store.
    pub fn new(clock: Clock) -> Store {
        Store {
            incidents: Vec::new(),
            notifications: Vec::new(),
            messages: Vec::new(),
            clock,
            next_incident: 1,
            next_notification: 1,
            next_message: 1,
        }
    }

    /// Reads the clock.
    pub fn now(&mut self) -> i64 {
        self.clock.read()
    }

    /// The incident with this id.
    pub fn incident_mut(&mut self, id: u64) -> Option<&mut Incident> {
        self.incidents.iter_mut().find(|i| i.id == id)
    }

    /// The incident with this id.
    pub fn incident(&self, id: u64) -> Option<&Incident> {
        self.incidents.iter().find(|i| i.id == id)
    }

    /// Adds an incident built from `seed`, giving it the next id; returns the id.
    pub fn insert(&mut self, seed: Seed) -> u64 {
        let now = match seed.created_at {
            Some(t) => t,
            None => self.now(),
        };
        let id = self.next_incident;
        self.next_incident += 1;
        let mut incident = Incident {
            id,
            name: seed.name,
            status: "open".into(),
            manager: seed.manager,
            topics: seed.topics,
            detection: None,
            cause: None,
            cause_supplement: None,
            point: None,
            scale: None,
            pend_text: None,
            close_text: None,
            created_at: now,
            updated_at: now,
            pended_at: None,
            closed_at: None,
            create_body: seed.create_body,
        };
        if seed.status != "open" {
            incident.set_status(&seed.status, now);
        }
        self.incidents.push(incident);
        id
    }

    /// Records a broadcast; returns it.
    pub fn notify(&mut self, incident_id: u64, text: String, call: bool) -> Notification {
        let created_at = self.now();
        let notification = Notification {
            id: self.next_notification,
            incident_id,
            notification_text: text,
            notification_call: call,
            created_at,
        };
        self.next_notification += 1;
        self.notifications.push(notification.clone());
        notification
    }

    /// Records a timeline message; returns it.
    pub fn post(&mut self, incident_id: u64, message: String) -> Message {
        let created_at = self.now();
        let posted = Message { id: self.next_message, incident_id, message, created_at };
        self.next_message += 1;
        self.messages.push(posted.clone());
        posted
    }
}

/// How to pre-seed an incident: `Seed::open("key")`, `.manager(7)`, `.created_at(t)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Seed {
    /// The name.
    pub name: String,
    /// `open`, `pend` or `close`.
    pub status: String,
    /// The manager (`None`: `null`).
    pub manager: Option<Value>,
    /// Topics.
    pub topics: Vec<String>,
    /// `created_at`; `None`: read the server's clock.
    pub created_at: Option<i64>,
    /// Stored as the incident's `create_body`.
    pub create_body: Value,
}

impl Seed {
    fn with_status(name: &str, status: &str) -> Seed {
        Seed {
            name: name.to_owned(),
            status: status.to_owned(),
            manager: None,
            topics: Vec::new(),
            created_at: None,
            create_body: Value::Null,
        }
    }

    /// An `open` incident with no manager.
    pub fn open(name: &str) -> Seed {
        Seed::with_status(name, "open")
    }

    /// A `pend` incident (a person took it): manager user id 1 unless set.
    pub fn pend(name: &str) -> Seed {
        Seed { manager: Some(Value::from(1)), ..Seed::with_status(name, "pend") }
    }

    /// A closed incident.
    pub fn closed(name: &str) -> Seed {
        Seed::with_status(name, "close")
    }

    /// Sets the manager (a user id, or any JSON value).
    #[must_use]
    pub fn manager(mut self, manager: impl Into<Value>) -> Seed {
        self.manager = Some(manager.into());
        self
    }

    /// Sets `created_at`.
    #[must_use]
    pub fn created_at(mut self, at: i64) -> Seed {
        self.created_at = Some(at);
        self
    }

    /// Sets the topics.
    #[must_use]
    pub fn topics(mut self, topics: &[&str]) -> Seed {
        self.topics = topics.iter().map(|t| (*t).to_owned()).collect();
        self
    }
}
