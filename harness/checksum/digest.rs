//! Digests of a live database: per collection the count, the MD5 over the
//! raw documents in `_id` order, the byte total and the index
//! specifications, plus the `dbHash` cross-check. Reads go through
//! `Collection<RawDocumentBuf>` in batches and feed [`Md5Digest`], so memory
//! stays flat whatever the collection's size.

use std::collections::BTreeMap;

use bson::{RawDocumentBuf, doc};
use mongodb::options::Hint;
use mongodb::{Cursor, Database};
use serde::{Deserialize, Serialize};

use crate::checksum::db_hash::{DbHashCheck, cross_check};
use crate::checksum::error::ChecksumError;
use crate::checksum::indexes::{IndexSpec, list_indexes};
use crate::checksum::md5_digest::Md5Digest;
use crate::measure::ticks::user_documents_filter;
use crate::progress::ProgressSink;
use crate::uri::{MongoUri, redact};

/// The digest of one collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionDigest {
    /// The collection's name.
    pub name: String,
    /// Documents read.
    pub count: u64,
    /// MD5 over the raw bytes of every document in ascending `_id` order,
    /// lowercase hex: what `dbHash` gives for the collection.
    pub md5: String,
    /// Bytes read (the sum of the documents' BSON sizes).
    pub bytes: u64,
    /// The index specifications, normalized, sorted by name.
    pub indexes: Vec<IndexSpec>,
}

/// The digest of one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseDigest {
    /// The database's name.
    pub database: String,
    /// Whether the database existed; `false` only when the options allowed
    /// a missing database, which then digests as empty.
    #[serde(default = "exists_by_default")]
    pub exists: bool,
    /// The digested collections by name.
    pub collections: BTreeMap<String, CollectionDigest>,
    /// The `dbHash` cross-check.
    pub db_hash: DbHashCheck,
    /// Collections present but left out by the options, sorted.
    pub excluded: Vec<String>,
}

fn exists_by_default() -> bool {
    true
}

/// What to digest and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestOptions {
    /// Collections to leave out: exact names, or prefixes ending in `*`.
    /// Default: `_drill_ticks` (the RPO writer's, which changes during a
    /// drill) and `system.*` (server-owned collections such as
    /// `system.profile` and `system.views`, which a restore recreates
    /// differently or not at all).
    pub exclude: Vec<String>,
    /// When set, only these collections (still minus `exclude`).
    pub only: Option<Vec<String>>,
    /// Documents per `find` batch; FerretDB drains are far faster with
    /// 1,000 or more (environment.md).
    pub batch_size: u32,
    /// Cross-check our MD5s with the server's `dbHash`.
    pub cross_check_db_hash: bool,
    /// How errors and reasons name the server: a redacted URI or a label.
    /// `None` names it "the server".
    pub server: Option<String>,
    /// Digest a database that does not exist as empty (`exists: false`)
    /// instead of failing; for the recovered side of a comparison, where a
    /// lost database is a finding, not a harness error.
    pub missing_database_is_empty: bool,
}

impl Default for DigestOptions {
    fn default() -> Self {
        Self {
            exclude: vec!["_drill_ticks".to_string(), "system.*".to_string()],
            only: None,
            batch_size: 2000,
            cross_check_db_hash: true,
            server: None,
            missing_database_is_empty: false,
        }
    }
}

impl DigestOptions {
    /// Names the server in messages by its URI, credentials removed.
    pub fn with_server_uri(mut self, uri: &MongoUri) -> Self {
        self.server = Some(uri.redacted());
        self
    }

    /// Sets the collections to digest (still minus `exclude`).
    pub fn with_only(mut self, collections: Vec<String>) -> Self {
        self.only = Some(collections);
        self
    }

    /// The server's name for messages; redacted again in case a caller
    /// passed a URI with a password.
    pub(crate) fn server_name(&self) -> String {
        self.server.as_deref().map_or_else(|| "the server".to_string(), redact)
    }

    /// Whether `collection` is left out by `exclude`.
    pub fn is_excluded(&self, collection: &str) -> bool {
        self.exclude.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => collection.starts_with(prefix),
            None => collection == pattern,
        })
    }

    /// Whether `collection` is selected by `only`.
    fn is_selected(&self, collection: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|name| name == collection))
    }
}

/// Calls `finish` on the progress sink however the phase ends.
pub(crate) struct Phase<'a>(&'a dyn ProgressSink);

impl<'a> Phase<'a> {
    pub(crate) fn start(progress: &'a dyn ProgressSink, label: &str, total: Option<u64>) -> Self {
        progress.start(label, total);
        Self(progress)
    }
}

impl Drop for Phase<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Opens the user's documents of a collection, `_id`-sorted, as raw
/// documents: `find(<not a tick>).sort({_id: 1}).hint({_id: 1})`. The hint
/// keeps the server from choosing a collection scan plus an in-memory
/// sort; the filter ([`user_documents_filter`]) leaves out the drill's own
/// tick documents, which live in the collections a disaster touches, so
/// every count, MD5 and `_id` list built on this read is the user's data
/// alone.
pub(crate) async fn sorted_documents(
    database: &Database,
    collection: &str,
    batch_size: u32,
    limit: Option<i64>,
) -> mongodb::error::Result<Cursor<RawDocumentBuf>> {
    let handle = database.collection::<RawDocumentBuf>(collection);
    let mut find = handle
        .find(user_documents_filter())
        .sort(doc! { "_id": 1 })
        .hint(Hint::Keys(doc! { "_id": 1 }))
        .batch_size(batch_size);
    if let Some(limit) = limit {
        find = find.limit(limit);
    }
    find.await
}

/// The names of the database's collections (views left out), sorted;
/// `None` when the database does not exist.
pub(crate) async fn collection_names(database: &Database, server: &str) -> Result<Option<Vec<String>>, ChecksumError> {
    let databases = database
        .client()
        .list_database_names()
        .await
        .map_err(|source| ChecksumError::ListDatabases {
            server: server.to_string(),
            source,
        })?;
    if !databases.iter().any(|name| name == database.name()) {
        return Ok(None);
    }
    let mut names = names_matching(database, doc! { "type": "collection" }, server).await?;
    names.sort();
    Ok(Some(names))
}

/// Digests one collection: count, MD5, bytes, indexes. A collection that
/// does not exist reads as empty with no indexes.
pub async fn digest_collection(
    database: &Database,
    name: &str,
    options: &DigestOptions,
    progress: &dyn ProgressSink,
) -> Result<CollectionDigest, ChecksumError> {
    let server = options.server_name();
    // No total for the progress bar: `estimated_document_count` is a full
    // scan on FerretDB (measured: as long as the drain itself), so the bar
    // counts up without one.
    let _phase = Phase::start(progress, &format!("checksum {}.{name}", database.name()), None);
    let mut digest = Md5Digest::new();
    let read_error = |offset, source| ChecksumError::Read {
        database: database.name().to_string(),
        collection: name.to_string(),
        server: server.clone(),
        offset,
        source,
    };
    let mut cursor = sorted_documents(database, name, options.batch_size, None)
        .await
        .map_err(|source| read_error(0, source))?;
    let every = u64::from(options.batch_size.max(1));
    while cursor
        .advance()
        .await
        .map_err(|source| read_error(digest.count(), source))?
    {
        digest.update(cursor.current());
        if digest.count().is_multiple_of(every) {
            progress.advance(every);
        }
    }
    progress.advance(digest.count() % every);
    let (count, bytes, md5) = digest.finish();
    let indexes = if count == 0 && !exists(database, name, &server).await? {
        Vec::new()
    } else {
        list_indexes(database, name, &server).await?
    };
    Ok(CollectionDigest {
        name: name.to_string(),
        count,
        md5,
        bytes,
        indexes,
    })
}

/// The names `listCollections` gives for `filter`.
async fn names_matching(
    database: &Database,
    filter: bson::Document,
    server: &str,
) -> Result<Vec<String>, ChecksumError> {
    database
        .list_collection_names()
        .filter(filter)
        .await
        .map_err(|source| ChecksumError::ListCollections {
            database: database.name().to_string(),
            server: server.to_string(),
            source,
        })
}

/// Whether a collection exists; asked only for empty reads, since
/// `listIndexes` on a missing collection is an error.
async fn exists(database: &Database, name: &str, server: &str) -> Result<bool, ChecksumError> {
    let names = names_matching(database, doc! { "name": name }, server).await?;
    Ok(!names.is_empty())
}

/// Digests every collection of a database the options select, one after
/// the other (FerretDB's SQLite backend is no faster in parallel), then
/// cross-checks with `dbHash` when asked.
pub async fn digest_database(
    database: &Database,
    options: &DigestOptions,
    progress: &dyn ProgressSink,
) -> Result<DatabaseDigest, ChecksumError> {
    let server = options.server_name();
    let Some(names) = collection_names(database, &server).await? else {
        if options.missing_database_is_empty {
            return Ok(DatabaseDigest {
                database: database.name().to_string(),
                exists: false,
                collections: BTreeMap::new(),
                db_hash: DbHashCheck::NotOffered {
                    reason: format!("database \"{}\" does not exist on {server}", database.name()),
                },
                excluded: Vec::new(),
            });
        }
        return Err(ChecksumError::DatabaseMissing {
            database: database.name().to_string(),
            server,
        });
    };
    let mut collections = BTreeMap::new();
    let mut excluded = Vec::new();
    for name in names {
        if options.is_excluded(&name) {
            excluded.push(name);
        } else if options.is_selected(&name) {
            let digest = digest_collection(database, &name, options, progress).await?;
            collections.insert(name, digest);
        }
    }
    let db_hash = if options.cross_check_db_hash {
        let ours = collections
            .iter()
            .map(|(name, digest)| (name.clone(), digest.md5.clone()))
            .collect();
        cross_check(database, &ours, &server).await?
    } else {
        DbHashCheck::NotOffered {
            reason: "the dbHash cross-check is switched off".to_string(),
        }
    };
    Ok(DatabaseDigest {
        database: database.name().to_string(),
        exists: true,
        collections,
        db_hash,
        excluded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_exclude_ticks_and_system_collections() {
        let options = DigestOptions::default();
        assert!(options.is_excluded("_drill_ticks"));
        assert!(options.is_excluded("system.profile"));
        assert!(!options.is_excluded("_drill_ticks_old"));
        assert!(!options.is_excluded("hosts"));
        assert_eq!(options.batch_size, 2000);
        assert!(options.cross_check_db_hash);
    }

    #[test]
    fn only_selects_by_exact_name() {
        let options = DigestOptions::default().with_only(vec!["hosts".into()]);
        assert!(options.is_selected("hosts"));
        assert!(!options.is_selected("hosts2"));
        assert!(DigestOptions::default().is_selected("anything"));
    }

    #[test]
    fn server_names_never_carry_passwords() {
        let uri = MongoUri::parse("mongodb://admin:s3cret@db:27017/").unwrap();
        let options = DigestOptions::default().with_server_uri(&uri);
        assert_eq!(options.server_name(), "mongodb://admin:****@db:27017/");
        let careless = DigestOptions {
            server: Some("mongodb://u:pw@h/".into()),
            ..DigestOptions::default()
        };
        assert!(!careless.server_name().contains("pw"));
        assert_eq!(DigestOptions::default().server_name(), "the server");
    }

    #[test]
    fn digest_reads_back_from_json() {
        let digest = DatabaseDigest {
            database: "app".into(),
            exists: true,
            collections: BTreeMap::from([(
                "hosts".to_string(),
                CollectionDigest {
                    name: "hosts".into(),
                    count: 2,
                    md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
                    bytes: 40,
                    indexes: Vec::new(),
                },
            )]),
            db_hash: DbHashCheck::Agrees,
            excluded: vec!["_drill_ticks".into()],
        };
        let json = serde_json::to_string(&digest).unwrap();
        let back: DatabaseDigest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, digest);
    }
}
