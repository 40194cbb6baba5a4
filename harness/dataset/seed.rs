//! Seeding a database with a plan's documents: unordered bulk inserts batch
//! by batch (memory stays bounded whatever the total), then the profile's
//! indexes, and a summary that says what the engine could not take.

use std::time::{Duration, Instant};

use bson::RawDocumentBuf;
use futures_util::{StreamExt, TryStreamExt, stream};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};
use serde::Serialize;

use super::error::DatasetError;
use super::generate::{generate_document, left_out};
use super::plan::SeedPlan;
use super::profile::{CollectionProfile, IndexSpec};
use crate::progress::ProgressSink;
use crate::provider::server_info::{Capabilities, ServerInfo};

/// How to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOptions {
    /// Documents per `insert_many`; also the most documents held in memory
    /// per collection being seeded.
    pub batch_size: usize,
    /// Collections seeded at once. Capped to 1 when the engine does not take
    /// parallel writers (`Capabilities::parallel_writes`).
    pub parallel_collections: usize,
    /// Drop the profile's collections when they exist instead of refusing.
    pub drop_existing: bool,
    /// The engine's name, for the reasons of indexes it cannot build.
    pub engine_name: String,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            parallel_collections: 1,
            drop_existing: false,
            engine_name: "unknown".to_string(),
        }
    }
}

impl SeedOptions {
    /// Defaults for a server: its engine's name, and a few collections at
    /// once when it takes parallel writers.
    pub fn for_server(info: &ServerInfo) -> Self {
        Self {
            parallel_collections: if info.capabilities.parallel_writes { 4 } else { 1 },
            engine_name: info.engine_name().to_string(),
            ..Self::default()
        }
    }

    /// Sets [`SeedOptions::batch_size`].
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets [`SeedOptions::drop_existing`].
    pub fn with_drop_existing(mut self, drop_existing: bool) -> Self {
        self.drop_existing = drop_existing;
        self
    }
}

/// What seeding did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedSummary {
    /// The profile's name.
    pub profile: String,
    /// The plan's seed.
    pub seed: u64,
    /// Documents inserted in all collections.
    pub total_documents: u64,
    /// Per collection, in profile order.
    pub collections: Vec<CollectionSummary>,
    /// What the documents leave out because the engine cannot store it.
    pub left_out: Vec<String>,
    /// Wall time of the whole seeding, from a monotonic clock.
    pub elapsed: Duration,
}

/// What seeding did to one collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionSummary {
    /// The collection.
    pub name: String,
    /// Documents inserted.
    pub documents: u64,
    /// Their total BSON size in bytes.
    pub bytes: u64,
    /// Indexes created (besides `_id_`), by name.
    pub indexes_created: Vec<String>,
    /// Indexes of the profile that were not created, and why.
    pub indexes_not_created: Vec<IndexNotCreated>,
    /// Facts worth knowing, e.g. an index option the engine ignores.
    pub notes: Vec<String>,
    /// Time spent on this collection (inserts and indexes).
    pub elapsed: Duration,
}

/// An index of the profile the engine cannot build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexNotCreated {
    /// The index's name.
    pub name: String,
    /// Why, e.g. `not supported by engine ferretdb: expireAfterSeconds`.
    pub reason: String,
}

/// Seeds `database` with the plan's documents and creates the profile's
/// indexes.
///
/// Indexes are created after the inserts: one build over the data costs
/// less than maintaining every index on every insert, and the generated keys
/// are unique by construction, so nothing is lost by checking late.
/// Refuses (`CollectionsExist`) when a profile collection exists, unless
/// `options.drop_existing`.
pub async fn seed_database(
    database: &Database,
    plan: &SeedPlan,
    capabilities: &Capabilities,
    options: &SeedOptions,
    progress: &dyn ProgressSink,
) -> Result<SeedSummary, DatasetError> {
    let started = Instant::now();
    let database_name = database.name().to_string();
    let existing = database
        .list_collection_names()
        .await
        .map_err(|source| DatasetError::ListCollections {
            database: database_name.clone(),
            source: Box::new(source),
        })?;
    let clashing: Vec<String> = plan
        .profile()
        .collections()
        .iter()
        .filter(|collection| existing.contains(&collection.name))
        .map(|collection| collection.name.clone())
        .collect();
    if !clashing.is_empty() {
        if !options.drop_existing {
            return Err(DatasetError::CollectionsExist {
                database: database_name,
                collections: clashing,
            });
        }
        for name in clashing {
            database
                .collection::<RawDocumentBuf>(&name)
                .drop()
                .await
                .map_err(|source| DatasetError::Drop {
                    database: database_name.clone(),
                    collection: name.clone(),
                    source: Box::new(source),
                })?;
        }
    }

    let parallel = if capabilities.parallel_writes {
        options.parallel_collections.max(1)
    } else {
        1
    };
    progress.start(
        &format!("seeding {} into {database_name}", plan.profile().name()),
        Some(plan.total_documents()),
    );
    // `buffered` keeps profile order in the results while up to `parallel`
    // collections are written at once, all on this task (no spawning, so the
    // borrowed progress sink and plan need not be `'static`).
    let collections: Vec<CollectionSummary> = stream::iter(plan.profile().collections())
        .map(|collection| seed_collection(database, plan, collection, capabilities, options, progress))
        .buffered(parallel)
        .try_collect()
        .await?;
    progress.finish();

    Ok(SeedSummary {
        profile: plan.profile().name().to_string(),
        seed: plan.seed(),
        total_documents: collections.iter().map(|collection| collection.documents).sum(),
        collections,
        left_out: left_out(plan, capabilities),
        elapsed: started.elapsed(),
    })
}

async fn seed_collection(
    database: &Database,
    plan: &SeedPlan,
    profile: &CollectionProfile,
    capabilities: &Capabilities,
    options: &SeedOptions,
    progress: &dyn ProgressSink,
) -> Result<CollectionSummary, DatasetError> {
    let started = Instant::now();
    let collection = database.collection::<RawDocumentBuf>(&profile.name);
    let count = plan.count(&profile.name);
    let batch_size = options.batch_size.max(1) as u64;
    let mut bytes = 0u64;
    let mut offset = 0u64;
    while offset < count {
        let end = (offset + batch_size).min(count);
        let batch: Vec<RawDocumentBuf> = (offset..end)
            .map(|index| generate_document(plan, &profile.name, index, capabilities))
            .collect();
        bytes += batch
            .iter()
            .map(|document| document.as_bytes().len() as u64)
            .sum::<u64>();
        collection
            .insert_many(&batch)
            .ordered(false)
            .await
            .map_err(|source| DatasetError::Insert {
                database: database.name().to_string(),
                collection: profile.name.clone(),
                offset,
                end,
                source: Box::new(source),
            })?;
        progress.advance(end - offset);
        offset = end;
    }

    let mut summary = CollectionSummary {
        name: profile.name.clone(),
        documents: count,
        bytes,
        indexes_created: Vec::new(),
        indexes_not_created: Vec::new(),
        notes: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for index in &profile.indexes {
        let missing = unsupported_options(index, capabilities);
        if !missing.is_empty() {
            summary.indexes_not_created.push(IndexNotCreated {
                name: index.name.clone(),
                reason: format!(
                    "not supported by engine {}: {}",
                    options.engine_name,
                    missing.join(", ")
                ),
            });
            continue;
        }
        collection
            .create_index(index_model(index))
            .await
            .map_err(|source| DatasetError::CreateIndex {
                database: database.name().to_string(),
                collection: profile.name.clone(),
                index: index.name.clone(),
                source: Box::new(source),
            })?;
        if index.sparse && !capabilities.sparse_indexes {
            summary.notes.push(format!(
                "index {}: sparse ignored by engine {}",
                index.name, options.engine_name
            ));
        }
        summary.indexes_created.push(index.name.clone());
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The index options `index` needs that the engine lacks, by their MongoDB
/// names.
fn unsupported_options(index: &IndexSpec, capabilities: &Capabilities) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if index.expire_after.is_some() && !capabilities.ttl_indexes {
        missing.push("expireAfterSeconds");
    }
    if index.partial_filter.is_some() && !capabilities.partial_indexes {
        missing.push("partialFilterExpression");
    }
    missing
}

fn index_model(index: &IndexSpec) -> IndexModel {
    let options = IndexOptions::builder()
        .name(index.name.clone())
        .unique(index.unique.then_some(true))
        .sparse(index.sparse.then_some(true))
        .expire_after(index.expire_after)
        .partial_filter_expression(index.partial_filter.clone())
        .build();
    IndexModel::builder()
        .keys(index.keys_document())
        .options(options)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::profile::Profile;

    #[test]
    fn ferretdb_lacks_ttl_and_partial_but_not_the_rest() {
        let profile = Profile::builtin("shepherd-cms").unwrap();
        let ferretdb = Capabilities::ferretdb(true);
        let mut missing: Vec<(String, Vec<&str>)> = Vec::new();
        for collection in profile.collections() {
            for index in &collection.indexes {
                let options = unsupported_options(index, &ferretdb);
                if !options.is_empty() {
                    missing.push((index.name.clone(), options));
                }
                assert!(unsupported_options(index, &Capabilities::mongodb()).is_empty());
            }
        }
        assert_eq!(
            missing,
            [
                ("secret_partial".to_string(), vec!["partialFilterExpression"]),
                ("at_ttl".to_string(), vec!["expireAfterSeconds"]),
            ]
        );
    }

    #[test]
    fn index_models_carry_the_options() {
        let profile = Profile::builtin("shepherd-cms").unwrap();
        let ttl = &profile.collection("audit_log").unwrap().indexes[0];
        let model = index_model(ttl);
        let options = model.options.unwrap();
        assert_eq!(options.name.as_deref(), Some("at_ttl"));
        assert_eq!(options.expire_after, Some(Duration::from_secs(315_360_000)));
        assert_eq!(options.unique, None);
    }
}
