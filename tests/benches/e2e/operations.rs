//! The operations the bench compares, each on a `mongodb::Database`: the
//! harness's own (seed, checksum, builtin dump and restore) and the plain
//! driver baselines they are held against (pre-built bulk insert, sorted
//! drain). Each returns what it read or wrote, so a comparison can check
//! both sides did the same work.

use std::path::Path;

use bson::{RawDocumentBuf, doc};
use drdrill::backup::{BackupLocation, DumpRequest, Layout, RestoreRequest};
use drdrill::checksum::{DigestOptions, digest_collection};
use drdrill::dataset::{SeedOptions, SeedPlan, documents, seed_database};
use drdrill::progress::NoProgress;
use drdrill::provider::server_info::Capabilities;
use drdrill::uri::MongoUri;
use futures_util::TryStreamExt;
use mongodb::options::{Hint, IndexOptions};
use mongodb::{Client, Database, IndexModel};

/// Documents and bytes an operation read or wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Volume {
    /// Documents.
    pub documents: u64,
    /// Their BSON bytes.
    pub bytes: u64,
}

/// A plan's documents generated up front, per collection in profile order:
/// the input of the pre-built insert baseline.
pub struct Prebuilt {
    /// `(collection, documents)`.
    pub collections: Vec<(String, Vec<RawDocumentBuf>)>,
    /// Totals over all collections.
    pub volume: Volume,
}

impl Prebuilt {
    /// Generates every document of the plan into memory.
    pub fn generate(plan: &SeedPlan, capabilities: &Capabilities) -> Self {
        let mut volume = Volume::default();
        let collections = plan
            .profile()
            .collections()
            .iter()
            .map(|collection| {
                let generated: Vec<RawDocumentBuf> = documents(plan, &collection.name, capabilities).collect();
                volume.documents += generated.len() as u64;
                volume.bytes += generated
                    .iter()
                    .map(|document| document.as_bytes().len() as u64)
                    .sum::<u64>();
                (collection.name.clone(), generated)
            })
            .collect();
        Self { collections, volume }
    }
}

/// Drops a database (untimed set-up between rounds).
pub async fn drop_database(client: &Client, name: &str) -> anyhow::Result<()> {
    client.database(name).drop().await?;
    Ok(())
}

/// `seed_database` with one writer and the given batch size.
pub async fn seed(
    database: &Database,
    plan: &SeedPlan,
    capabilities: &Capabilities,
    batch: usize,
) -> anyhow::Result<Volume> {
    let options = SeedOptions {
        batch_size: batch,
        parallel_collections: 1,
        drop_existing: true,
        engine_name: "ferretdb".to_string(),
    };
    let summary = seed_database(database, plan, capabilities, &options, &NoProgress).await?;
    Ok(Volume {
        documents: summary.total_documents,
        bytes: summary.collections.iter().map(|collection| collection.bytes).sum(),
    })
}

/// The baseline of seeding and of restoring: the same documents, already
/// built, inserted unordered in the same batch size by one writer, then the
/// same indexes the profile asks for (those the engine takes).
pub async fn insert_prebuilt(
    database: &Database,
    prebuilt: &Prebuilt,
    plan: &SeedPlan,
    capabilities: &Capabilities,
    batch: usize,
) -> anyhow::Result<Volume> {
    for (name, generated) in &prebuilt.collections {
        let collection = database.collection::<RawDocumentBuf>(name);
        for chunk in generated.chunks(batch.max(1)) {
            collection.insert_many(chunk).ordered(false).await?;
        }
        let profile = plan
            .profile()
            .collection(name)
            .expect("prebuilt collections come from the plan");
        for index in &profile.indexes {
            if (index.expire_after.is_some() && !capabilities.ttl_indexes)
                || (index.partial_filter.is_some() && !capabilities.partial_indexes)
            {
                continue;
            }
            let options = IndexOptions::builder()
                .name(index.name.clone())
                .unique(index.unique.then_some(true))
                .sparse(index.sparse.then_some(true))
                .build();
            collection
                .create_index(
                    IndexModel::builder()
                        .keys(index.keys_document())
                        .options(options)
                        .build(),
                )
                .await?;
        }
    }
    Ok(prebuilt.volume)
}

/// The baseline of checksum and dump: `find().sort({_id:1}).hint({_id:1})`
/// into raw documents, batch by batch, bytes counted and discarded.
pub async fn drain(database: &Database, collections: &[String], batch: u32) -> anyhow::Result<Volume> {
    let mut volume = Volume::default();
    for name in collections {
        let mut cursor = database
            .collection::<RawDocumentBuf>(name)
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .hint(Hint::Keys(doc! { "_id": 1 }))
            .batch_size(batch)
            .await?;
        while let Some(document) = cursor.try_next().await? {
            volume.documents += 1;
            volume.bytes += document.as_bytes().len() as u64;
        }
    }
    Ok(volume)
}

/// `digest_collection` over each collection, with the same cursor batch
/// size as the drain and no `dbHash` cross-check (FerretDB has none).
pub async fn checksum(database: &Database, collections: &[String], batch: u32) -> anyhow::Result<Volume> {
    let options = DigestOptions {
        batch_size: batch,
        cross_check_db_hash: false,
        ..DigestOptions::default()
    };
    let mut volume = Volume::default();
    for name in collections {
        let digest = digest_collection(database, name, &options, &NoProgress).await?;
        volume.documents += digest.count;
        volume.bytes += digest.bytes;
    }
    Ok(volume)
}

/// The builtin dump of a whole database into a plain directory.
pub fn dump_request(uri: &MongoUri, database: &str, out: &Path) -> DumpRequest {
    DumpRequest {
        uri: uri.clone(),
        database: database.to_string(),
        collections: None,
        exclude: Vec::new(),
        layout: Layout::Directory { gzip: false },
        out: out.to_path_buf(),
        parallel_collections: 1,
    }
}

/// A restore of a plain dump directory, one writer (FerretDB's SQLite
/// backend takes no parallel writers).
pub fn restore_request(uri: &MongoUri, dump: &Path, from: &str, to: &str) -> RestoreRequest {
    RestoreRequest {
        uri: uri.clone(),
        source: BackupLocation::Directory {
            path: dump.to_path_buf(),
            gzip: false,
        },
        from_database: from.to_string(),
        to_database: to.to_string(),
        collections: None,
        drop: true,
        dry_run: false,
        workers_per_collection: 1,
        parallel_collections: 1,
    }
}

/// Documents in a dump or restore outcome.
pub fn outcome_documents(collections: &[drdrill::backup::CollectionResult]) -> u64 {
    collections.iter().map(|collection| collection.documents).sum()
}
