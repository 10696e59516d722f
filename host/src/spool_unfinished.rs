//! Writes a killed run left unfinished. A run killed (Sensu's timeout, a SIGKILL)
//! between writing an entry and renaming it into place leaves a dot file no run
//! delivers. A new entry's (`.new-<name>`) holds an event nothing else has: a run
//! delivering the spool takes it in, once it is old enough that no run can still be
//! writing it. An update's (`.tmp-<name>`: attempts, the mark before a create) is
//! newer than its entry and replaces it, unless the entry is gone (delivered or
//! retired since): then it goes too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Spool;

/// How old a dot file must be before it counts as unfinished: no run lives this long
/// (a run's deadline is seconds, and Sensu kills a handler at its timeout).
pub const UNFINISHED_AFTER: Duration = Duration::from_secs(120);

/// Which write a dot file was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfinished {
    /// A new entry (`.new-<name>`).
    New,
    /// An entry rewritten in place (`.tmp-<name>`).
    Update,
}

impl Unfinished {
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Unfinished::New => ".new-",
            Unfinished::Update => ".tmp-",
        }
    }
}

/// What [`Spool::take_in_unfinished`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakenIn {
    /// New entries put in place (their events would have been lost).
    pub entries: usize,
    /// Updates put in place over their entries.
    pub updates: usize,
    /// Updates of entries gone since, removed.
    pub dropped: usize,
    /// Updates left where they are: another run is delivering their check.
    pub left: usize,
    /// New entries left where they are: not whole (the run was killed while writing).
    pub broken: usize,
}

fn old_enough(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > UNFINISHED_AFTER)
}

/// An unfinished write in a folder's listing: (the dot file, what it was, the
/// entry's name), or `None` (anything else, or one too young).
fn unfinished_of(item: &std::fs::DirEntry) -> Option<(PathBuf, Unfinished, String)> {
    let file = item.file_name().into_string().ok()?;
    let (kind, name) = [Unfinished::New, Unfinished::Update]
        .into_iter()
        .find_map(|k| file.strip_prefix(k.prefix()).map(|name| (k, name.to_owned())))?;
    let path = item.path();
    (name.ends_with(".json") && path.is_file() && old_enough(&path)).then_some((path, kind, name))
}

/// The unfinished writes in `dir`, by name.
fn unfinished_in(dir: &Path) -> Vec<(PathBuf, Unfinished, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<_> = entries.flatten().filter_map(|e| unfinished_of(&e)).collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

impl Spool {
    /// Whether anything waits to be sent: an entry, or an unfinished write of a new
    /// one old enough to take in (one look at the spool's folder, and one at the
    /// dead-letter folder's, when there is one).
    pub fn waits(&self) -> bool {
        let Ok(names) = std::fs::read_dir(&self.dir) else { return false };
        let spooled = names.flatten().any(|e| super::is_entry(&e) || unfinished_of(&e).is_some());
        spooled || !unfinished_in(&self.dead_dir()).is_empty()
    }

    /// The unfinished writes in the spool and its dead-letter folder.
    pub fn unfinished(&self) -> Vec<(PathBuf, Unfinished)> {
        [self.dir.clone(), self.dead_dir()]
            .iter()
            .flat_map(|dir| unfinished_in(dir))
            .map(|(path, kind, _)| (path, kind))
            .collect()
    }

    /// Take in what killed runs left unfinished (see the module's doc), and remove the
    /// checks' records' leftovers. For a run holding the spool's lock: an update is
    /// put in place under its check's lock, as the drain updates entries.
    pub fn take_in_unfinished(&self) -> TakenIn {
        let mut taken = TakenIn::default();
        for dir in [self.dir.clone(), self.dead_dir()] {
            for (path, kind, name) in unfinished_in(&dir) {
                let target = dir.join(&name);
                let entry = Spool::read(&path);
                match (kind, entry) {
                    (Unfinished::New, Ok(_)) if !target.exists() => {
                        if std::fs::rename(&path, &target).is_ok() {
                            taken.entries += 1;
                        }
                    }
                    (Unfinished::Update, _) if !target.exists() => {
                        if std::fs::remove_file(&path).is_ok() {
                            taken.dropped += 1;
                        }
                    }
                    (Unfinished::Update, Ok(entry)) => match self.try_lock_key(&entry.key) {
                        Ok(Some(_check)) if old_enough(&path) && std::fs::rename(&path, &target).is_ok() => {
                            taken.updates += 1;
                        }
                        _ => taken.left += 1,
                    },
                    // Not whole: the entry it would replace is.
                    (Unfinished::Update, Err(_)) => {
                        if std::fs::remove_file(&path).is_ok() {
                            taken.dropped += 1;
                        }
                    }
                    (Unfinished::New, _) => taken.broken += 1,
                }
            }
        }
        // A record's write (`latest`) left behind: the record it would replace stands.
        if let Ok(records) = std::fs::read_dir(self.dir.join(".latest")) {
            for record in records.flatten() {
                let temp = record.file_name().to_str().is_some_and(|n| n.starts_with(".tmp-"));
                if temp && old_enough(&record.path()) {
                    let _ = std::fs::remove_file(record.path());
                }
            }
        }
        taken
    }
}
