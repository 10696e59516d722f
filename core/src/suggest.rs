//! "Did you mean" suggestions for misspelt keys, fields and values.

use crate::prelude::*;

/// The closest candidate to `input` within a small edit distance, if any (the first of
/// equally close ones).
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Generic only in the loop: each caller's iterator type gets a few bytes of code,
    // the comparison itself is compiled once (this is in every wasm build).
    let mut best = Closest::new(input);
    for candidate in candidates {
        best.offer(candidate);
    }
    best.found
}

/// The best candidate so far.
struct Closest<'a> {
    input: String,
    limit: usize,
    found: Option<&'a str>,
    distance: usize,
}

impl<'a> Closest<'a> {
    fn new(input: &str) -> Closest<'a> {
        let limit = (crate::text::char_count(input) / 3).clamp(1, 3);
        Closest { input: input.to_ascii_lowercase(), limit, found: None, distance: usize::MAX }
    }

    fn offer(&mut self, candidate: &'a str) {
        let d = distance(&self.input, &candidate.to_ascii_lowercase());
        if d <= self.limit && d < self.distance {
            self.found = Some(candidate);
            self.distance = d;
        }
    }
}

/// Levenshtein distance over chars (inputs are short keys).
fn distance(a: &str, b: &str) -> usize {
    let mut chars = Vec::new();
    let mut row = vec![0];
    for c in b.chars() {
        chars.push(c);
        row.push(chars.len());
    }
    let b = chars;
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let best = (prev + cost).min(above.saturating_add(1)).min(left.saturating_add(1));
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = best;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["severities", "occurrences", "refresh"];
        assert_eq!(did_you_mean("severites", keys), Some("severities"));
        assert_eq!(did_you_mean("serverities", keys), Some("severities"));
        assert_eq!(did_you_mean("occurences", keys), Some("occurrences"));
        assert_eq!(did_you_mean("banana", keys), None);
    }
}
