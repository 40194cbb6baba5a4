//! Comparison of two stored digests (count, MD5 and indexes only), for when
//! the source is gone: a reference digest taken at the backup point against
//! the digest of the recovered deployment. Without the documents it cannot
//! name `_id`s; [`compare_databases`] can, while both sides exist.
//!
//! [`compare_databases`]: crate::checksum::compare::compare_databases

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::checksum::digest::{CollectionDigest, DatabaseDigest};
use crate::checksum::indexes::{IndexDifference, diff_indexes};

/// How one collection's digests compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionDigestComparison {
    /// The collection's name.
    pub name: String,
    /// The reference digest; `None` when the reference lacks the collection.
    pub reference: Option<CollectionDigest>,
    /// The observed digest; `None` when the observed side lacks it.
    pub observed: Option<CollectionDigest>,
    /// Both sides have the collection with the same count.
    pub count_matches: bool,
    /// Both sides have the collection with the same MD5.
    pub md5_matches: bool,
    /// Index differences (reference as source, observed as target); empty
    /// when either side lacks the collection.
    pub index_differences: Vec<IndexDifference>,
}

impl CollectionDigestComparison {
    /// True when counts, MD5s and indexes all match.
    pub fn is_identical(&self) -> bool {
        self.count_matches && self.md5_matches && self.index_differences.is_empty()
    }
}

/// How two database digests compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestComparison {
    /// The reference database's name.
    pub reference_database: String,
    /// The observed database's name.
    pub observed_database: String,
    /// Every collection of either digest, sorted by name.
    pub collections: Vec<CollectionDigestComparison>,
}

impl DigestComparison {
    /// True when every collection matches.
    pub fn is_identical(&self) -> bool {
        self.collections.iter().all(CollectionDigestComparison::is_identical)
    }
}

/// Compares a reference digest with an observed one, collection by
/// collection. Collections only one digest excluded are not judged, since
/// they are in neither `collections` map.
pub fn compare_digests(reference: &DatabaseDigest, observed: &DatabaseDigest) -> DigestComparison {
    let names: BTreeSet<&String> = reference
        .collections
        .keys()
        .chain(observed.collections.keys())
        .collect();
    let collections = names
        .into_iter()
        .map(|name| {
            let left = reference.collections.get(name);
            let right = observed.collections.get(name);
            let (count_matches, md5_matches, index_differences) = match (left, right) {
                (Some(left), Some(right)) => (
                    left.count == right.count,
                    left.md5 == right.md5,
                    diff_indexes(&left.indexes, &right.indexes),
                ),
                _ => (false, false, Vec::new()),
            };
            CollectionDigestComparison {
                name: name.clone(),
                reference: left.cloned(),
                observed: right.cloned(),
                count_matches,
                md5_matches,
                index_differences,
            }
        })
        .collect();
    DigestComparison {
        reference_database: reference.database.clone(),
        observed_database: observed.database.clone(),
        collections,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bson::doc;

    use super::*;
    use crate::checksum::db_hash::DbHashCheck;
    use crate::checksum::indexes::IndexSpec;

    fn index(name: &str, unique: bool) -> IndexSpec {
        IndexSpec {
            name: name.into(),
            key: doc! {name: 1},
            unique,
            sparse: false,
            expire_after_seconds: None,
            partial_filter: None,
        }
    }

    fn collection(name: &str, count: u64, md5: &str, indexes: Vec<IndexSpec>) -> CollectionDigest {
        CollectionDigest {
            name: name.into(),
            count,
            md5: md5.into(),
            bytes: count * 10,
            indexes,
        }
    }

    fn database(collections: Vec<CollectionDigest>) -> DatabaseDigest {
        DatabaseDigest {
            database: "app".into(),
            exists: true,
            collections: collections
                .into_iter()
                .map(|digest| (digest.name.clone(), digest))
                .collect(),
            db_hash: DbHashCheck::Agrees,
            excluded: Vec::new(),
        }
    }

    #[test]
    fn equal_digests_are_identical() {
        let digest = database(vec![collection("hosts", 3, "aa", vec![index("a", false)])]);
        let comparison = compare_digests(&digest, &digest);
        assert!(comparison.is_identical());
        assert_eq!(comparison.collections.len(), 1);
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let reference = database(vec![
            collection("same_count", 3, "aa", Vec::new()),
            collection("gone", 1, "bb", Vec::new()),
            collection("reindexed", 2, "cc", vec![index("a", true)]),
            collection("shrunk", 5, "dd", Vec::new()),
        ]);
        let observed = database(vec![
            collection("same_count", 3, "ab", Vec::new()),
            collection("new", 1, "ee", Vec::new()),
            collection("reindexed", 2, "cc", vec![index("a", false)]),
            collection("shrunk", 4, "de", Vec::new()),
        ]);
        let comparison = compare_digests(&reference, &observed);
        assert!(!comparison.is_identical());
        let by_name: BTreeMap<&str, &CollectionDigestComparison> = comparison
            .collections
            .iter()
            .map(|collection| (collection.name.as_str(), collection))
            .collect();
        let names: Vec<&str> = by_name.keys().copied().collect();
        assert_eq!(names, ["gone", "new", "reindexed", "same_count", "shrunk"]);
        assert!(by_name["same_count"].count_matches && !by_name["same_count"].md5_matches);
        assert!(by_name["gone"].observed.is_none() && !by_name["gone"].is_identical());
        assert!(by_name["new"].reference.is_none() && !by_name["new"].is_identical());
        assert!(by_name["reindexed"].count_matches && by_name["reindexed"].md5_matches);
        assert!(matches!(
            by_name["reindexed"].index_differences.as_slice(),
            [IndexDifference::Changed { .. }]
        ));
        assert!(!by_name["shrunk"].count_matches && !by_name["shrunk"].md5_matches);
    }

    #[test]
    fn a_digest_read_back_from_json_still_matches() {
        let digest = database(vec![collection("hosts", 3, "aa", vec![index("a", false)])]);
        let back: DatabaseDigest = serde_json::from_str(&serde_json::to_string(&digest).unwrap()).unwrap();
        assert!(compare_digests(&digest, &back).is_identical());
    }
}
