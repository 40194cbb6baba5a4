//! `mask` and `pii`: personal data in restored copies.
//!
//! The dataset profile marks which top-level fields of which collections
//! hold personal data (`pii = ["name", "email"]` on `users` in
//! `shepherd-cms`). Both steps start from the *values* of those fields in
//! the source, because the same e-mail address is also an audit record's
//! actor, a flag's owner and a service's on-call contact:
//!
//! - `mask` replaces every string in every document of every collection of
//!   the fresh node restored into that equals a source PII value, by a
//!   keyed hash of it (`masked-…`, e-mails `u…@masked.invalid`): the same
//!   input and seed give the same output, so references between
//!   collections and unique indexes survive, and strings stay strings. It
//!   refuses to run anywhere but a fresh node: the source is never written.
//! - `pii` scans every string of every document of every collection of the
//!   copy for those values and fails naming where it found one
//!   (`users.email`, `audit_log.actor`), by value, not by field name.
//!
//! Memory: documents are streamed one at a time; the set of source PII
//! values is held whole, bounded by [`MAX_PII_VALUES`] (a million values,
//! some tens of MB, far more than the datasets drills seed: 20,000
//! documents hold about 2,400). A source with more refuses both steps
//! with an error (the drill is inconclusive) rather than grow without
//! bound or check a sample and call it proof.

use std::collections::HashSet;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Database;
use sha2::{Digest, Sha256};

use super::{StepError, StepOutcome};
use crate::outcome::{CheckKind, CheckRecord, Status};
use crate::runner::context::DrillContext;

/// The most source PII values held in memory (see the module comment).
pub const MAX_PII_VALUES: usize = 1_000_000;

/// How many distinct places a failed `pii` check lists (a profile has a
/// few dozen fields; more places than this are counted, not named).
const LISTED_PLACES: usize = 32;

/// Runs a `mask` step.
pub async fn run_mask(context: &mut DrillContext<'_>, seed: u64) -> StepOutcome {
    let Some(copy) = fresh_copy(context) else {
        return StepOutcome::error(
            "mask writes only to a fresh node: restore into one first (`target = \"fresh-node\"`); the source is never masked",
        );
    };
    let values = match source_values(context).await {
        Ok(values) => values,
        Err(error) => return StepOutcome::error(error.render()),
    };
    match mask_database(&copy, &values, seed).await {
        Ok((documents, strings)) => StepOutcome {
            status: Status::Passed,
            message: format!(
                "{strings} PII value(s) replaced in {documents} document(s) of the copy ({} distinct source value(s), seed {seed})",
                values.len()
            ),
            details: None,
        },
        Err(error) => StepOutcome::error(format!("cannot mask the copy: {}", error.render())),
    }
}

/// Runs a `pii` step: records the `pii` check and fails with it.
pub async fn run_pii(context: &mut DrillContext<'_>) -> StepOutcome {
    let Some(copy) = fresh_copy(context) else {
        return StepOutcome::error(
            "the pii check scans a copy: restore into a fresh node first (`target = \"fresh-node\"`)",
        );
    };
    let values = match source_values(context).await {
        Ok(values) if values.is_empty() => {
            return StepOutcome::error("the source holds no value in the profile's PII fields: nothing to look for");
        }
        Ok(values) => values,
        Err(error) => return StepOutcome::error(error.render()),
    };
    let found = match scan_database(&copy, &values).await {
        Ok(found) => found,
        Err(error) => return StepOutcome::error(format!("cannot scan the copy: {}", error.render())),
    };
    let message = pii_message(&found, values.len());
    let passed = found.total == 0;
    context.add_check(CheckRecord {
        name: "pii".into(),
        counts_as: "pii".into(),
        kind: CheckKind::Integrity,
        status: if passed { Status::Passed } else { Status::Failed },
        measured: Some(found.total as f64),
        objective: Some(0.0),
        unit: Some("values".into()),
        message: message.clone(),
    });
    if passed {
        StepOutcome {
            status: Status::Passed,
            message,
            details: None,
        }
    } else {
        StepOutcome::failed(message)
    }
}

/// The copy's protected database, when a restore started a fresh node.
fn fresh_copy(context: &DrillContext<'_>) -> Option<Database> {
    context.fresh().map(|_| context.recovered_database())
}

/// What a `pii` scan found: how many strings matched, and where.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PiiFound {
    /// Strings of the copy equal to a source PII value.
    pub total: u64,
    /// The first places, `collection.field.path`, each once, with how
    /// many values were found there.
    pub places: Vec<(String, u64)>,
}

fn pii_message(found: &PiiFound, looked_for: usize) -> String {
    if found.total == 0 {
        return format!("no PII value of the source in the copy ({looked_for} value(s) looked for, by value)");
    }
    let places: Vec<String> = found
        .places
        .iter()
        .map(|(place, count)| format!("{place} ({count})"))
        .collect();
    format!(
        "{} source PII value(s) found in the copy, in {}{}",
        found.total,
        places.join(", "),
        if found.places.len() == LISTED_PLACES {
            ", …"
        } else {
            ""
        }
    )
}

/// The values of the profile's PII fields in the source, streamed.
async fn source_values(context: &DrillContext<'_>) -> Result<HashSet<String>, StepError> {
    let profile = super::seed::load_profile(&context.scenario().dataset.profile, context)?;
    let database = context.source_database();
    let mut values = HashSet::new();
    for (collection, field) in profile.pii_fields() {
        let mut cursor = database
            .collection::<Document>(collection)
            .find(doc! { field: { "$exists": true } })
            .projection(doc! { field: 1, "_id": 0 })
            .await
            .map_err(StepError::driver(format!("read {collection}.{field} in the source")))?;
        while let Some(document) = cursor
            .try_next()
            .await
            .map_err(StepError::driver(format!("read {collection}.{field} in the source")))?
        {
            collect_strings(document.get(field), &mut values);
            if values.len() > MAX_PII_VALUES {
                return Err(StepError::NotApplicable(format!(
                    "the source holds more than {MAX_PII_VALUES} PII values: more than a drill holds in memory to compare"
                )));
            }
        }
    }
    Ok(values)
}

/// Every string in `value` (itself, or inside arrays and documents).
fn collect_strings(value: Option<&Bson>, into: &mut HashSet<String>) {
    match value {
        Some(Bson::String(text)) if !text.is_empty() => {
            into.insert(text.clone());
        }
        Some(Bson::Array(items)) => items.iter().for_each(|item| collect_strings(Some(item), into)),
        Some(Bson::Document(document)) => document.values().for_each(|item| collect_strings(Some(item), into)),
        _ => {}
    }
}

/// The user collections of `database` (not `system.*`).
async fn collections_of(database: &Database) -> Result<Vec<String>, StepError> {
    let mut names = database
        .list_collection_names()
        .await
        .map_err(StepError::driver(format!(
            "list the collections of {}",
            database.name()
        )))?;
    names.retain(|name| !name.starts_with("system."));
    names.sort();
    Ok(names)
}

/// Documents rewritten per round trip: FerretDB answers one
/// `replace_one` per document far slower than one delete and one insert
/// of a batch.
const MASK_BATCH: usize = 500;

/// Replaces every PII string of every document of `database`; returns
/// (documents changed, strings replaced). Changed documents are rewritten
/// in batches (delete then insert by `_id`): this is the copy, no reader
/// is served from it meanwhile.
async fn mask_database(database: &Database, values: &HashSet<String>, seed: u64) -> Result<(u64, u64), StepError> {
    let (mut documents, mut strings) = (0, 0);
    for name in collections_of(database).await? {
        let collection = database.collection::<Document>(&name);
        let reading = || StepError::driver(format!("read {name} in the copy"));
        let mut cursor = collection
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(reading())?;
        let mut batch = Vec::new();
        while let Some(mut document) = cursor.try_next().await.map_err(reading())? {
            let replaced = mask_document(&mut document, values, seed);
            if replaced == 0 || !document.contains_key("_id") {
                continue;
            }
            batch.push(document);
            documents += 1;
            strings += replaced;
            if batch.len() == MASK_BATCH {
                rewrite(&collection, std::mem::take(&mut batch)).await?;
            }
        }
        rewrite(&collection, batch).await?;
    }
    Ok((documents, strings))
}

/// Replaces the documents of `collection` with the same `_id`s by `batch`.
async fn rewrite(collection: &mongodb::Collection<Document>, batch: Vec<Document>) -> Result<(), StepError> {
    if batch.is_empty() {
        return Ok(());
    }
    let name = collection.name().to_string();
    let ids: Vec<Bson> = batch
        .iter()
        .filter_map(|document| document.get("_id").cloned())
        .collect();
    collection
        .delete_many(doc! { "_id": { "$in": ids } })
        .await
        .map_err(StepError::driver(format!("remove unmasked documents of {name}")))?;
    collection
        .insert_many(batch)
        .await
        .map_err(StepError::driver(format!("write masked documents of {name}")))?;
    Ok(())
}

/// Masks the PII strings of `document` in place (never `_id`); returns how
/// many it replaced.
pub fn mask_document(document: &mut Document, values: &HashSet<String>, seed: u64) -> u64 {
    let mut replaced = 0;
    for (key, value) in document.iter_mut() {
        if key != "_id" {
            replaced += mask_value(value, values, seed);
        }
    }
    replaced
}

fn mask_value(value: &mut Bson, values: &HashSet<String>, seed: u64) -> u64 {
    match value {
        Bson::String(text) if values.contains(text.as_str()) => {
            *text = masked(text, seed);
            1
        }
        Bson::Array(items) => items.iter_mut().map(|item| mask_value(item, values, seed)).sum(),
        Bson::Document(document) => document
            .iter_mut()
            .map(|(_, item)| mask_value(item, values, seed))
            .sum(),
        _ => 0,
    }
}

/// The replacement of `value`: a keyed hash, so equal inputs stay equal
/// (references between collections hold) and distinct ones distinct
/// (unique indexes hold, up to a 64-bit collision); an e-mail address
/// stays one.
pub fn masked(value: &str, seed: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(value.as_bytes());
    let digest = hex::encode(&hasher.finalize()[..8]);
    if value.contains('@') {
        format!("u{digest}@masked.invalid")
    } else {
        format!("masked-{digest}")
    }
}

/// Scans every string of every document of `database` for `values`.
async fn scan_database(database: &Database, values: &HashSet<String>) -> Result<PiiFound, StepError> {
    let mut found = PiiFound::default();
    for name in collections_of(database).await? {
        let reading = || StepError::driver(format!("read {name} in the copy"));
        let mut cursor = database
            .collection::<Document>(&name)
            .find(doc! {})
            .await
            .map_err(reading())?;
        while let Some(document) = cursor.try_next().await.map_err(reading())? {
            scan_document(&name, &document, values, &mut found);
        }
    }
    Ok(found)
}

/// Adds the places in `document` of `collection` where a value of `values`
/// is, as `collection.field.path` (array positions left out).
pub fn scan_document(collection: &str, document: &Document, values: &HashSet<String>, found: &mut PiiFound) {
    for (key, value) in document {
        scan_value(&format!("{collection}.{key}"), value, values, found);
    }
}

fn scan_value(path: &str, value: &Bson, values: &HashSet<String>, found: &mut PiiFound) {
    match value {
        Bson::String(text) if values.contains(text.as_str()) => {
            found.total += 1;
            let listed = found.places.len();
            match found.places.iter_mut().find(|(place, _)| place == path) {
                Some((_, count)) => *count += 1,
                None if listed < LISTED_PLACES => found.places.push((path.to_string(), 1)),
                None => {}
            }
        }
        Bson::Array(items) => items.iter().for_each(|item| scan_value(path, item, values, found)),
        Bson::Document(document) => document
            .iter()
            .for_each(|(key, item)| scan_value(&format!("{path}.{key}"), item, values, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashSet<String> {
        ["Ada Lovelace", "ada@example.com"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn masking_is_deterministic_keyed_and_keeps_e_mails_e_mails() {
        assert_eq!(masked("ada@example.com", 7), masked("ada@example.com", 7));
        assert_ne!(masked("ada@example.com", 7), masked("ada@example.com", 8));
        assert_ne!(masked("ada@example.com", 7), masked("bob@example.com", 7));
        assert!(masked("ada@example.com", 7).ends_with("@masked.invalid"));
        assert!(masked("Ada Lovelace", 7).starts_with("masked-"));
    }

    #[test]
    fn a_masked_document_holds_no_pii_value_anywhere_and_keeps_the_rest() {
        let mut document = doc! {
            "_id": "ada@example.com",
            "name": "Ada Lovelace",
            "role": "admin",
            "oncall": { "primary": "ada@example.com" },
            "watchers": ["ada@example.com", "someone else"],
        };
        let mut found = PiiFound::default();
        scan_document("users", &document, &values(), &mut found);
        assert_eq!(found.total, 4);
        let places: Vec<&str> = found.places.iter().map(|(place, _)| place.as_str()).collect();
        assert_eq!(
            places,
            ["users._id", "users.name", "users.oncall.primary", "users.watchers"]
        );
        assert_eq!(mask_document(&mut document, &values(), 1), 3);
        assert_eq!(document.get_str("role").unwrap(), "admin");
        assert_eq!(document.get_str("_id").unwrap(), "ada@example.com");
        let mut after = PiiFound::default();
        scan_document("users", &document, &values(), &mut after);
        assert_eq!(after.places, [("users._id".to_string(), 1)]);
        assert_eq!(
            document.get_document("oncall").unwrap().get_str("primary").unwrap(),
            masked("ada@example.com", 1)
        );
    }
}
