//! Index specifications as the drill compares them: name, key, unique,
//! sparse, TTL and partial filter, normalized so that the same index reads
//! the same whatever the server or restore tool wrote (`1` or `1.0` or
//! `NumberLong(1)` in a key, `true` or `1` for a flag), sorted by name.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Database;
use serde::{Deserialize, Serialize};

use crate::checksum::error::ChecksumError;

/// One index of a collection, normalized. Equality takes the key's field
/// order into account (`{a: 1, b: 1}` is not `{b: 1, a: 1}`), which
/// `bson::Document`'s own equality does not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexSpec {
    /// The index name (`_id_` for the `_id` index).
    pub name: String,
    /// The key pattern, fields in index order; integral directions are int32.
    pub key: Document,
    /// Whether the index is unique (always true for `_id_`).
    pub unique: bool,
    /// Whether the index is sparse.
    pub sparse: bool,
    /// The TTL, when the index expires documents.
    pub expire_after_seconds: Option<i64>,
    /// The filter of a partial index.
    pub partial_filter: Option<Document>,
}

impl PartialEq for IndexSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.key.len() == other.key.len()
            && self.key.iter().eq(other.key.iter())
            && self.unique == other.unique
            && self.sparse == other.sparse
            && self.expire_after_seconds == other.expire_after_seconds
            && self.partial_filter == other.partial_filter
    }
}

/// How two collections' indexes differ, by index name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// A collection has a handful of indexes and differences are rarer still, so
// the unboxed variants cost nothing and keep patterns plain.
#[allow(clippy::large_enum_variant)]
pub enum IndexDifference {
    /// The source (or reference) has the index, the target does not.
    Missing(IndexSpec),
    /// The target has an index the source does not.
    Extra(IndexSpec),
    /// Both have an index of this name, with different specifications.
    Changed {
        /// The source's (or reference's) specification.
        source: IndexSpec,
        /// The target's (or observed) specification.
        target: IndexSpec,
    },
}

/// A `listIndexes` entry this module cannot read: what is missing or
/// malformed, with the entry as extended JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedIndexEntry(String);

impl IndexSpec {
    /// Reads one `listIndexes` entry. Options this module does not compare
    /// (`v`, `ns`, collation, weights...) are ignored; `Err` says what is
    /// missing or malformed.
    pub fn from_list_indexes_entry(entry: &Document) -> Result<Self, MalformedIndexEntry> {
        let name = entry
            .get_str("name")
            .map_err(|_| MalformedIndexEntry(format!("no string \"name\" in {entry}")))?
            .to_string();
        let key = entry
            .get_document("key")
            .map_err(|_| MalformedIndexEntry(format!("no document \"key\" in {entry}")))?
            .clone();
        let flag = |field: &str| entry.get(field).is_some_and(truthy);
        let expire_after_seconds = match entry.get("expireAfterSeconds") {
            None | Some(Bson::Null) => None,
            Some(value) => Some(
                as_i64(value)
                    .ok_or_else(|| MalformedIndexEntry(format!("non-numeric \"expireAfterSeconds\" in {entry}")))?,
            ),
        };
        let partial_filter = match entry.get("partialFilterExpression") {
            None | Some(Bson::Null) => None,
            Some(Bson::Document(filter)) => Some(filter.clone()),
            Some(_) => {
                return Err(MalformedIndexEntry(format!(
                    "non-document \"partialFilterExpression\" in {entry}"
                )));
            }
        };
        Ok(Self {
            name,
            key,
            unique: flag("unique"),
            sparse: flag("sparse"),
            expire_after_seconds,
            partial_filter,
        }
        .normalized())
    }

    /// The same specification in canonical form: integral key directions as
    /// int32 (int64 when out of range), and `_id_` unique. MongoDB does not
    /// report `unique` on `_id_` while some engines do; the index is unique
    /// by definition, so both spellings must compare equal.
    pub fn normalized(mut self) -> Self {
        self.key = self
            .key
            .into_iter()
            .map(|(field, direction)| (field, normalize_number(direction)))
            .collect();
        if self.name == "_id_" {
            self.unique = true;
        }
        self
    }
}

/// A flag as the server may spell it: `true`, or a non-zero number.
fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(flag) => *flag,
        Bson::Int32(number) => *number != 0,
        Bson::Int64(number) => *number != 0,
        Bson::Double(number) => *number != 0.0,
        _ => false,
    }
}

fn as_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(number) => Some(i64::from(*number)),
        Bson::Int64(number) => Some(*number),
        // A fractional TTL is truncated by the server too.
        Bson::Double(number) if number.is_finite() => Some(number.trunc() as i64),
        _ => None,
    }
}

/// Integral numbers of any BSON type become int32 (int64 when they do not
/// fit); everything else (`"text"`, `"hashed"`, `-0.5`) stays.
fn normalize_number(value: Bson) -> Bson {
    let integral = match value {
        Bson::Int32(number) => Some(i64::from(number)),
        Bson::Int64(number) => Some(number),
        Bson::Double(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => Some(number as i64),
        _ => None,
    };
    match integral {
        Some(number) => i32::try_from(number).map_or(Bson::Int64(number), Bson::Int32),
        None => value,
    }
}

/// Sorts specifications by name (the order they are compared in).
pub fn sort_by_name(specs: &mut [IndexSpec]) {
    specs.sort_by(|left, right| left.name.cmp(&right.name));
}

/// The indexes of one collection, normalized and sorted by name.
pub async fn list_indexes(
    database: &Database,
    collection: &str,
    server: &str,
) -> Result<Vec<IndexSpec>, ChecksumError> {
    let list_error = |source| ChecksumError::ListIndexes {
        database: database.name().to_string(),
        collection: collection.to_string(),
        server: server.to_string(),
        source,
    };
    let entries: Vec<Document> = database
        .run_cursor_command(doc! { "listIndexes": collection })
        .await
        .map_err(list_error)?
        .try_collect()
        .await
        .map_err(list_error)?;
    let mut specs = entries
        .iter()
        .map(IndexSpec::from_list_indexes_entry)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|detail| ChecksumError::MalformedIndex {
            database: database.name().to_string(),
            collection: collection.to_string(),
            detail: detail.to_string(),
        })?;
    sort_by_name(&mut specs);
    Ok(specs)
}

/// The differences between two index lists, matched by name, in name
/// order. Both sides are normalized first, so lists read back from a JSON
/// report compare like lists fresh from a server.
pub fn diff_indexes(source: &[IndexSpec], target: &[IndexSpec]) -> Vec<IndexDifference> {
    let by_name = |specs: &[IndexSpec]| -> BTreeMap<String, IndexSpec> {
        specs
            .iter()
            .map(|spec| (spec.name.clone(), spec.clone().normalized()))
            .collect()
    };
    let mut source = by_name(source);
    let target = by_name(target);
    let mut differences = Vec::new();
    for (name, target_spec) in target {
        match source.remove(&name) {
            None => differences.push((name, IndexDifference::Extra(target_spec))),
            Some(source_spec) if source_spec != target_spec => differences.push((
                name,
                IndexDifference::Changed {
                    source: source_spec,
                    target: target_spec,
                },
            )),
            Some(_) => {}
        }
    }
    differences.extend(
        source
            .into_iter()
            .map(|(name, spec)| (name, IndexDifference::Missing(spec))),
    );
    differences.sort_by(|left, right| left.0.cmp(&right.0));
    differences.into_iter().map(|(_, difference)| difference).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(entry: Document) -> IndexSpec {
        IndexSpec::from_list_indexes_entry(&entry).unwrap()
    }

    #[test]
    fn spellings_of_one_index_normalize_equal() {
        let from_mongodb = spec(doc! {"v": 2, "key": {"a": 1, "b": -1}, "name": "a_1_b_-1", "unique": true});
        let from_restore = spec(doc! {
            "v": 2_i64, "key": {"a": 1.0, "b": -1_i64}, "name": "a_1_b_-1", "unique": 1, "ns": "db.c"
        });
        assert_eq!(from_mongodb, from_restore);
        assert_eq!(from_mongodb.key.get("a"), Some(&Bson::Int32(1)));
        assert!(!from_mongodb.sparse);
        assert_eq!(from_mongodb.expire_after_seconds, None);
    }

    #[test]
    fn key_order_and_special_directions_are_kept() {
        let text = spec(doc! {"key": {"b": "text", "a": 1}, "name": "t"});
        let fields: Vec<&str> = text.key.keys().map(String::as_str).collect();
        assert_eq!(fields, ["b", "a"]);
        assert_eq!(text.key.get("b"), Some(&Bson::String("text".into())));
        assert_ne!(text, spec(doc! {"key": {"a": 1, "b": "text"}, "name": "t"}));
    }

    #[test]
    fn ttl_partial_and_sparse_are_read() {
        let ttl = spec(doc! {
            "key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 3600.0, "sparse": true,
            "partialFilterExpression": {"kind": "x"}
        });
        assert_eq!(ttl.expire_after_seconds, Some(3600));
        assert!(ttl.sparse);
        assert_eq!(ttl.partial_filter, Some(doc! {"kind": "x"}));
    }

    #[test]
    fn id_index_is_unique_whatever_the_server_says() {
        let plain = spec(doc! {"key": {"_id": 1}, "name": "_id_"});
        let flagged = spec(doc! {"key": {"_id": 1}, "name": "_id_", "unique": true});
        assert!(plain.unique);
        assert_eq!(plain, flagged);
    }

    #[test]
    fn malformed_entries_say_what_is_missing() {
        let error = IndexSpec::from_list_indexes_entry(&doc! {"key": {"a": 1}}).unwrap_err();
        assert!(error.to_string().contains("\"name\""), "{error}");
        let error = IndexSpec::from_list_indexes_entry(&doc! {"name": "a", "key": 1}).unwrap_err();
        assert!(error.to_string().contains("\"key\""), "{error}");
    }

    #[test]
    fn differences_are_by_name_and_sorted() {
        let id = spec(doc! {"key": {"_id": 1}, "name": "_id_"});
        let a = spec(doc! {"key": {"a": 1}, "name": "a_1"});
        let a_unique = spec(doc! {"key": {"a": 1}, "name": "a_1", "unique": true});
        let b = spec(doc! {"key": {"b": 1}, "name": "b_1"});
        let c = spec(doc! {"key": {"c": 1}, "name": "c_1"});
        let differences = diff_indexes(&[c.clone(), id.clone(), a.clone()], &[b.clone(), a_unique.clone(), id]);
        assert_eq!(
            differences,
            vec![
                IndexDifference::Changed {
                    source: a,
                    target: a_unique
                },
                IndexDifference::Extra(b),
                IndexDifference::Missing(c),
            ]
        );
    }

    #[test]
    fn json_round_trip_compares_equal() {
        let original = vec![spec(
            doc! {"key": {"a": 1, "b": -1}, "name": "a_1_b_-1", "expireAfterSeconds": 60},
        )];
        let json = serde_json::to_string(&original).unwrap();
        let back: Vec<IndexSpec> = serde_json::from_str(&json).unwrap();
        assert!(diff_indexes(&original, &back).is_empty(), "{json}");
    }

    #[test]
    fn sorting_is_by_name() {
        let mut specs = vec![
            spec(doc! {"key": {"z": 1}, "name": "z_1"}),
            spec(doc! {"key": {"_id": 1}, "name": "_id_"}),
            spec(doc! {"key": {"a": 1}, "name": "a_1"}),
        ];
        sort_by_name(&mut specs);
        let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
        assert_eq!(names, ["_id_", "a_1", "z_1"]);
    }
}
