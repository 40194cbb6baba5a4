//! Comparison of two live databases, collection by collection: digests of
//! both sides, then for each collection whose count or MD5 differ a
//! merge-join of the two `_id`-sorted reads that names the `_id`s missing,
//! extra and changed, and the index differences.

use std::collections::BTreeSet;

use bson::Bson;
use mongodb::Database;
use serde::{Deserialize, Serialize};

use crate::checksum::db_hash::DbHashCheck;
use crate::checksum::digest::{CollectionDigest, DigestOptions, Phase, digest_database, sorted_documents};
use crate::checksum::error::ChecksumError;
use crate::checksum::indexes::{IndexDifference, diff_indexes};
use crate::checksum::merge_join::{IdList, MergeError, Side, merge_join};
use crate::progress::ProgressSink;
use crate::uri::MongoUri;

/// How to compare two databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareOptions {
    /// What to digest on both sides (exclusions, batch size, `dbHash`);
    /// its `server` and `missing_database_is_empty` are set per side.
    pub digest: DigestOptions,
    /// How many `_id`s each list keeps (totals are always exact).
    pub max_ids: usize,
    /// How messages name the source server (a redacted URI or a label).
    pub source_server: Option<String>,
    /// How messages name the target server (a redacted URI or a label).
    pub target_server: Option<String>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            digest: DigestOptions::default(),
            max_ids: 20,
            source_server: None,
            target_server: None,
        }
    }
}

impl CompareOptions {
    /// Names the source server in messages by its URI, credentials removed.
    pub fn with_source_uri(mut self, uri: &MongoUri) -> Self {
        self.source_server = Some(uri.redacted());
        self
    }

    /// Names the target server in messages by its URI, credentials removed.
    pub fn with_target_uri(mut self, uri: &MongoUri) -> Self {
        self.target_server = Some(uri.redacted());
        self
    }

    /// The digest options of one side. The target may lack the database:
    /// a restore that brought back nothing is a finding (every collection
    /// missing), not a harness failure.
    fn for_side(&self, side: Side) -> DigestOptions {
        let (server, missing_database_is_empty) = match side {
            Side::Source => (&self.source_server, false),
            Side::Target => (&self.target_server, true),
        };
        DigestOptions {
            server: server.clone().or_else(|| Some(side.to_string())),
            missing_database_is_empty,
            ..self.digest.clone()
        }
    }
}

/// How one collection compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionComparison {
    /// The collection's name.
    pub name: String,
    /// The source's digest; `None` when the source lacks the collection.
    pub source: Option<CollectionDigest>,
    /// The target's digest; `None` when the target lacks the collection.
    pub target: Option<CollectionDigest>,
    /// Source documents absent from the target.
    pub missing: IdList,
    /// Target documents absent from the source.
    pub extra: IdList,
    /// Documents on both sides that differ.
    pub changed: IdList,
    /// Index differences; empty when either side lacks the collection (the
    /// collection itself is then the difference).
    pub index_differences: Vec<IndexDifference>,
}

impl CollectionComparison {
    /// True when both sides hold the collection with the same documents
    /// and indexes.
    pub fn is_identical(&self) -> bool {
        match (&self.source, &self.target) {
            (Some(source), Some(target)) => {
                source.count == target.count
                    && source.md5 == target.md5
                    && self.missing.is_empty()
                    && self.extra.is_empty()
                    && self.changed.is_empty()
                    && self.index_differences.is_empty()
            }
            _ => false,
        }
    }
}

/// How two databases compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseComparison {
    /// The source database's name.
    pub source_database: String,
    /// The target database's name.
    pub target_database: String,
    /// Whether the target database existed at all.
    pub target_exists: bool,
    /// Every collection of either side, sorted by name.
    pub collections: Vec<CollectionComparison>,
    /// Collections left out on either side, sorted.
    pub excluded: Vec<String>,
    /// The source's `dbHash` cross-check.
    pub source_db_hash: DbHashCheck,
    /// The target's `dbHash` cross-check.
    pub target_db_hash: DbHashCheck,
}

impl DatabaseComparison {
    /// True when every collection is identical on both sides. The `dbHash`
    /// checks are not part of it: they judge the reads, not the data.
    pub fn is_identical(&self) -> bool {
        self.collections.iter().all(CollectionComparison::is_identical)
    }
}

/// Compares two databases. Collections whose count and MD5 agree are not
/// read again; the others are merge-joined by `_id`.
pub async fn compare_databases(
    source: &Database,
    target: &Database,
    options: &CompareOptions,
    progress: &dyn ProgressSink,
) -> Result<DatabaseComparison, ChecksumError> {
    let source_options = options.for_side(Side::Source);
    let target_options = options.for_side(Side::Target);
    let mut source_digest = digest_database(source, &source_options, progress).await?;
    let mut target_digest = digest_database(target, &target_options, progress).await?;
    let names: BTreeSet<String> = source_digest
        .collections
        .keys()
        .chain(target_digest.collections.keys())
        .cloned()
        .collect();
    let mut collections = Vec::with_capacity(names.len());
    for name in names {
        let source_collection = source_digest.collections.remove(&name);
        let target_collection = target_digest.collections.remove(&name);
        let mut comparison = CollectionComparison {
            name: name.clone(),
            source: None,
            target: None,
            missing: IdList::default(),
            extra: IdList::default(),
            changed: IdList::default(),
            index_differences: Vec::new(),
        };
        match (&source_collection, &target_collection) {
            (Some(left), Some(right)) => {
                comparison.index_differences = diff_indexes(&left.indexes, &right.indexes);
                if left.count != right.count || left.md5 != right.md5 {
                    let _phase = Phase::start(progress, &format!("compare {name}"), Some(left.count));
                    let source_documents = sorted_documents(source, &name, source_options.batch_size, None);
                    let target_documents = sorted_documents(target, &name, target_options.batch_size, None);
                    let (source_documents, target_documents) = (
                        source_documents
                            .await
                            .map_err(|source| merge_error(&name, Side::Source, 0, source))?,
                        target_documents
                            .await
                            .map_err(|source| merge_error(&name, Side::Target, 0, source))?,
                    );
                    let differences = merge_join(source_documents, target_documents, options.max_ids, progress)
                        .await
                        .map_err(|source| ChecksumError::Merge {
                            collection: name.clone(),
                            source,
                        })?;
                    comparison.missing = differences.missing;
                    comparison.extra = differences.extra;
                    comparison.changed = differences.changed;
                }
            }
            (Some(left), None) => {
                comparison.missing = first_ids(source, &name, left.count, options.max_ids, Side::Source).await?;
            }
            (None, Some(right)) => {
                comparison.extra = first_ids(target, &name, right.count, options.max_ids, Side::Target).await?;
            }
            (None, None) => {}
        }
        comparison.source = source_collection;
        comparison.target = target_collection;
        collections.push(comparison);
    }
    let mut excluded: Vec<String> = source_digest
        .excluded
        .into_iter()
        .chain(target_digest.excluded)
        .collect();
    excluded.sort();
    excluded.dedup();
    Ok(DatabaseComparison {
        source_database: source_digest.database,
        target_database: target_digest.database,
        target_exists: target_digest.exists,
        collections,
        excluded,
        source_db_hash: source_digest.db_hash,
        target_db_hash: target_digest.db_hash,
    })
}

fn merge_error(collection: &str, side: Side, offset: u64, source: mongodb::error::Error) -> ChecksumError {
    ChecksumError::Merge {
        collection: collection.to_string(),
        source: MergeError::Read {
            side,
            offset,
            source: Box::new(source),
        },
    }
}

/// The first `max_ids` `_id`s of a collection the other side lacks
/// entirely; the total is its digest's count, so nothing is read twice.
async fn first_ids(
    database: &Database,
    collection: &str,
    count: u64,
    max_ids: usize,
    side: Side,
) -> Result<IdList, ChecksumError> {
    let mut list = IdList {
        total: count,
        ids: Vec::new(),
    };
    if max_ids == 0 || count == 0 {
        return Ok(list);
    }
    let limit = i64::try_from(max_ids).unwrap_or(i64::MAX);
    let mut cursor = sorted_documents(database, collection, max_ids.min(2000) as u32, Some(limit))
        .await
        .map_err(|source| merge_error(collection, side, 0, source))?;
    let mut read = 0;
    while cursor
        .advance()
        .await
        .map_err(|source| merge_error(collection, side, read, source))?
    {
        read += 1;
        let id = cursor
            .current()
            .get("_id")
            .ok()
            .flatten()
            .and_then(|id| Bson::try_from(id).ok());
        if let Some(id) = id {
            list.ids.push(id);
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use bson::doc;
    use bson::oid::ObjectId;

    use super::*;
    use crate::checksum::indexes::IndexSpec;

    fn digest(md5: &str) -> CollectionDigest {
        CollectionDigest {
            name: "hosts".into(),
            count: 3,
            md5: md5.into(),
            bytes: 90,
            indexes: Vec::new(),
        }
    }

    fn comparison() -> CollectionComparison {
        let index = IndexSpec {
            name: "a_1".into(),
            key: doc! {"a": 1},
            unique: true,
            sparse: false,
            expire_after_seconds: Some(60),
            partial_filter: None,
        };
        CollectionComparison {
            name: "hosts".into(),
            source: Some(digest("aa")),
            target: Some(digest("ab")),
            missing: IdList {
                total: 1,
                ids: vec![Bson::ObjectId(ObjectId::from_bytes([3; 12]))],
            },
            extra: IdList {
                total: 1,
                ids: vec![Bson::String("x".into())],
            },
            changed: IdList {
                total: 7,
                ids: vec![Bson::Document(doc! {"site": "a"})],
            },
            index_differences: vec![IndexDifference::Changed {
                source: index.clone(),
                target: IndexSpec {
                    unique: false,
                    ..index.clone()
                },
            }],
        }
    }

    #[test]
    fn identical_only_when_both_sides_match_in_everything() {
        let mut same = comparison();
        assert!(!same.is_identical());
        same.target = Some(digest("aa"));
        same.missing = IdList::default();
        same.extra = IdList::default();
        same.changed = IdList::default();
        same.index_differences.clear();
        assert!(same.is_identical());
        let mut lost = same.clone();
        lost.target = None;
        assert!(!lost.is_identical());
        let database = DatabaseComparison {
            source_database: "app".into(),
            target_database: "app".into(),
            target_exists: true,
            collections: vec![same, lost],
            excluded: Vec::new(),
            source_db_hash: DbHashCheck::Agrees,
            target_db_hash: DbHashCheck::NotOffered { reason: "x".into() },
        };
        assert!(!database.is_identical());
        assert!(
            DatabaseComparison {
                collections: database.collections[..1].to_vec(),
                ..database
            }
            .is_identical()
        );
    }

    #[test]
    fn comparison_reads_back_from_json() {
        let original = comparison();
        let json = serde_json::to_string(&original).unwrap();
        assert!(json.contains("\"kind\":\"changed\""), "{json}");
        let back: CollectionComparison = serde_json::from_str(&json).unwrap();
        assert_eq!(back, original, "{json}");
    }

    #[test]
    fn the_target_side_may_lack_the_database() {
        let options = CompareOptions::default();
        assert!(!options.for_side(Side::Source).missing_database_is_empty);
        assert!(options.for_side(Side::Target).missing_database_is_empty);
        assert_eq!(options.for_side(Side::Target).server.as_deref(), Some("target"));
        assert_eq!(options.max_ids, 20);
    }
}
