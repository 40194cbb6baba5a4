//! Reading a tool's log into per-collection results, for any tools 100.x
//! version (bare and quoted namespaces, index failures, final tallies).

use std::collections::HashMap;

use crate::backup::engine::CollectionResult;

/// mongorestore's final tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestoreTotals {
    /// `N document(s) restored successfully`.
    pub restored: u64,
    /// `M document(s) failed to restore`.
    pub failed: u64,
}

/// What a tool's log says it did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolReport {
    /// Per collection, in the order the log names them.
    pub collections: Vec<CollectionResult>,
    /// mongorestore's final tally, when it printed one.
    pub totals: Option<RestoreTotals>,
    /// `Failed: ...` messages not tied to one collection's indexes.
    pub failures: Vec<String>,
}

/// The message of a log line: tools prefix each line with a timestamp and a tab.
pub(super) fn message(line: &str) -> &str {
    let line = line.trim_end();
    match line.split_once('\t') {
        Some((stamp, rest)) if stamp.len() >= 10 && stamp.as_bytes()[..4].iter().all(u8::is_ascii_digit) => rest.trim(),
        _ => line.trim(),
    }
}

/// Tools 100.16 and later quote namespaces (Go's `%#q`: backticks, or double
/// quotes when the name holds a backtick); earlier ones print them bare.
fn unquote(text: &str) -> String {
    let text = text.trim();
    if text.len() >= 2 && text.starts_with('`') && text.ends_with('`') {
        return text[1..text.len() - 1].to_owned();
    }
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        return text[1..text.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\");
    }
    text.to_owned()
}

/// The collection part of `db.collection` (collection names may hold dots, database names may not).
fn collection_of(namespace: &str) -> String {
    namespace
        .split_once('.')
        .map(|(_, collection)| collection)
        .unwrap_or(namespace)
        .to_owned()
}

/// The leading number of `text` (`1234 documents`).
fn leading_number(text: &str) -> Option<u64> {
    let digits: String = text.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Splits `NS (DETAILS)` at the last ` (`, since names may hold parentheses.
fn namespace_and_details(rest: &str) -> Option<(String, &str)> {
    let rest = rest.strip_suffix(')')?;
    let (namespace, details) = rest.rsplit_once(" (")?;
    Some((unquote(namespace), details))
}

/// Collection results in the order the log first names them.
#[derive(Default)]
struct Results {
    order: Vec<String>,
    by_namespace: HashMap<String, CollectionResult>,
}

impl Results {
    fn entry(&mut self, namespace: &str) -> &mut CollectionResult {
        if !self.by_namespace.contains_key(namespace) {
            self.order.push(namespace.to_owned());
        }
        self.by_namespace
            .entry(namespace.to_owned())
            .or_insert_with(|| CollectionResult {
                name: collection_of(namespace),
                documents: 0,
                failures: 0,
                indexes: Vec::new(),
                index_errors: Vec::new(),
            })
    }
}

/// Reads a mongodump or mongorestore log (either's lines, any version of
/// tools 100.x) into per-collection results.
pub fn parse_output(text: &str) -> ToolReport {
    let mut results = Results::default();
    let mut pending_indexes: Vec<(String, String)> = Vec::new();
    let mut index_namespace: Option<String> = None;
    let mut report = ToolReport::default();
    for line in text.lines() {
        let message = message(line);
        if let Some(rest) = message.strip_prefix("done dumping ") {
            if let Some((namespace, details)) = namespace_and_details(rest) {
                results.entry(&namespace).documents = leading_number(details).unwrap_or(0);
            }
        } else if let Some(rest) = message.strip_prefix("finished restoring ") {
            if let Some((namespace, details)) = namespace_and_details(rest) {
                let mut parts = details.split(", ");
                let result = results.entry(&namespace);
                result.documents = parts.next().and_then(leading_number).unwrap_or(0);
                result.failures = parts.next().and_then(leading_number).unwrap_or(0);
            }
        } else if let Some(rest) = message.strip_prefix("restoring indexes for collection ") {
            let namespace = unquote(rest.strip_suffix(" from metadata").unwrap_or(rest));
            results.entry(&namespace);
            index_namespace = Some(namespace);
        } else if let Some(rest) = message.strip_prefix("index: ") {
            if let (Some(namespace), Some(name)) = (&index_namespace, index_name(rest)) {
                pending_indexes.push((namespace.clone(), name));
            }
        } else if message.contains(" document(s) restored successfully. ") {
            let (restored, failed) = message.split_once(". ").unwrap_or((message, ""));
            if let (Some(restored), Some(failed)) = (leading_number(restored), leading_number(failed)) {
                report.totals = Some(RestoreTotals { restored, failed });
            }
        } else if let Some(rest) = message.strip_prefix("Failed: ") {
            match index_failure(rest) {
                Some((namespace, problem)) => results.entry(&namespace).index_errors.push(problem),
                None => report.failures.push(rest.to_owned()),
            }
        }
    }
    for (namespace, name) in pending_indexes {
        let result = results.entry(&namespace);
        // createIndexes is one command: when it failed, none was created.
        if result.index_errors.is_empty() {
            result.indexes.push(name);
        }
    }
    let Results {
        order,
        mut by_namespace,
    } = results;
    report.collections = order.into_iter().filter_map(|key| by_namespace.remove(&key)).collect();
    report
}

/// The `"name":"..."` of an `index: &idx.IndexDocument{...}` line.
fn index_name(text: &str) -> Option<String> {
    let start = text.find("\"name\":\"")? + "\"name\":\"".len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}

/// `NS: error creating indexes for NS: PROBLEM` → (NS, PROBLEM).
fn index_failure(rest: &str) -> Option<(String, String)> {
    const MARK: &str = "error creating indexes for ";
    let at = rest.find(MARK)?;
    let after = &rest[at + MARK.len()..];
    let prefix = rest[..at].trim_end_matches(": ");
    // The namespace is printed twice; the second copy ends before ": ".
    if !prefix.is_empty()
        && let Some(problem) = after.strip_prefix(prefix).and_then(|tail| tail.strip_prefix(": "))
    {
        return Some((unquote(prefix), problem.to_owned()));
    }
    let (namespace, problem) = after.split_once(": ")?;
    Some((unquote(namespace), problem.to_owned()))
}
