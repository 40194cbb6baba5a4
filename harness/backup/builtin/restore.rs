//! The builtin restore: open any backup, pick the database and collections
//! asked for, then per collection create it with its options, insert its
//! documents in unordered batches (several at once when the server allows
//! parallel writes), and create its indexes from the metadata. Documents the
//! server refuses are counted and named; an index it refuses is recorded,
//! never a crash. A dry run reads and checks everything and writes nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::Client;
use mongodb::error::ErrorKind;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::connect::connect;
use super::digest::describe_id;
use super::dump::engine_info;
use super::error::BuiltinError;
use super::source::{BatchLimits, FoundCollection, OpenedBackup, ReadEvent};
use crate::backup::engine::{CollectionResult, RestoreOutcome, RestoreRequest};
use crate::backup::format::{CollectionMetadata, Namespace};
use crate::progress::ProgressSink;

/// `_id`s named per collection when documents fail.
const NAMED_FAILURES: usize = 5;

/// Batches waiting between the reader thread and the inserters.
const CHANNEL_BATCHES: usize = 4;

/// One collection to restore.
#[derive(Debug, Clone)]
struct Selected {
    /// As the backup names it.
    source: Namespace,
    /// Where it goes.
    target: Namespace,
    /// From the backup, if it has metadata.
    metadata: Option<CollectionMetadata>,
}

/// Restores `request.source` into `request.to_database`.
pub async fn restore(request: &RestoreRequest, progress: &dyn ProgressSink) -> Result<RestoreOutcome, BuiltinError> {
    let location = request.source.clone();
    let open = move || OpenedBackup::open(&location);
    restore_opened(request, "opening the backup", open, progress).await
}

/// Restores an archive read once from `reader` (a store's object, plain
/// or gzip; `request.source` names it in messages) into
/// `request.to_database`, with the memory bounds of a file's restore: the
/// reader is pulled by one blocking thread, batches wait in a bounded
/// channel.
pub async fn restore_stream(
    request: &RestoreRequest,
    reader: Box<dyn std::io::Read + Send>,
    progress: &dyn ProgressSink,
) -> Result<RestoreOutcome, BuiltinError> {
    let location = request.source.clone();
    let open = move || OpenedBackup::open_stream(location, reader);
    restore_opened(request, "opening the streamed archive", open, progress).await
}

/// Restores the backup `open` opens (on a blocking thread; `opening` says
/// what it does, for a failed task).
async fn restore_opened(
    request: &RestoreRequest,
    opening: &str,
    open: impl FnOnce() -> Result<OpenedBackup, BuiltinError> + Send + 'static,
    progress: &dyn ProgressSink,
) -> Result<RestoreOutcome, BuiltinError> {
    let clock = Instant::now();
    let opened = tokio::task::spawn_blocking(open)
        .await
        .map_err(|source| BuiltinError::Task {
            what: opening.to_owned(),
            source,
        })??;
    let opened = Arc::new(opened);
    let selected = select(&opened, request)?;
    let mut output = String::new();
    for selected in &selected {
        if selected.metadata.is_none() {
            output.push_str(&format!(
                "warning: no metadata for {}: restoring it without options or indexes\n",
                selected.source
            ));
        }
        if let Some(finding) = selected
            .metadata
            .as_ref()
            .and_then(CollectionMetadata::dropped_options_finding)
        {
            output.push_str(&format!("warning: {}: {finding}\n", selected.source));
        }
    }
    let total = if request.dry_run {
        dry_run(&opened, &selected, progress, &mut output).await?
    } else {
        let client = connect(&request.uri).await?;
        restore_all(&client, &opened, &selected, request, progress, &mut output).await?
    };
    let restored: u64 = total.iter().map(|result| result.documents).sum();
    let failed: u64 = total.iter().map(|result| result.failures).sum();
    if request.dry_run {
        output.push_str(&format!(
            "dry run: read and checked {restored} document(s) of {} collection(s); nothing was written\n",
            total.len()
        ));
    } else {
        output.push_str(&format!(
            "{restored} document(s) restored successfully. {failed} document(s) failed to restore.\n"
        ));
    }
    Ok(RestoreOutcome {
        engine: engine_info(),
        collections: total,
        duration: clock.elapsed(),
        output,
        dry_run: request.dry_run,
    })
}

/// Picks the collections to restore and where each goes.
fn select(opened: &OpenedBackup, request: &RestoreRequest) -> Result<Vec<Selected>, BuiltinError> {
    let all = opened.collections();
    // A database folder given directly restores into `--db` whatever the
    // folder is called, as mongorestore does.
    let in_database: Vec<&FoundCollection> = if opened.database_level {
        all.iter().collect()
    } else {
        all.iter()
            .filter(|found| found.namespace.database == request.from_database)
            .collect()
    };
    if in_database.is_empty() {
        let databases = opened.databases();
        return Err(BuiltinError::WrongDatabase {
            path: opened.path().to_owned(),
            wanted: request.from_database.clone(),
            found: if databases.is_empty() {
                "no database".to_owned()
            } else {
                databases.join(", ")
            },
        });
    }
    if let Some(wanted) = &request.collections {
        for name in wanted {
            if !in_database.iter().any(|found| &found.namespace.collection == name) {
                return Err(BuiltinError::MissingCollection {
                    path: opened.path().to_owned(),
                    database: request.from_database.clone(),
                    wanted: name.clone(),
                    found: in_database
                        .iter()
                        .map(|found| found.namespace.collection.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let mut selected = Vec::new();
    for found in in_database {
        if let Some(wanted) = &request.collections
            && !wanted.contains(&found.namespace.collection)
        {
            continue;
        }
        selected.push(Selected {
            source: found.namespace.clone(),
            target: Namespace::new(request.to_database.clone(), found.namespace.collection.clone()),
            metadata: opened.metadata(&found.namespace)?,
        });
    }
    Ok(selected)
}

/// Reads every selected document without writing anything.
async fn dry_run(
    opened: &Arc<OpenedBackup>,
    selected: &[Selected],
    progress: &dyn ProgressSink,
    output: &mut String,
) -> Result<Vec<CollectionResult>, BuiltinError> {
    progress.start("checking the backup", None);
    let namespaces: Vec<Namespace> = selected.iter().map(|selected| selected.source.clone()).collect();
    let reader = Arc::clone(opened);
    let counts = tokio::task::spawn_blocking(move || {
        let mut counts: HashMap<Namespace, u64> = HashMap::new();
        reader
            .read_documents(&namespaces, BatchLimits::default(), &mut |event| {
                if let ReadEvent::Batch { namespace, documents } = event {
                    *counts.entry(namespace).or_default() += documents.len() as u64;
                }
                true
            })
            .map(|()| counts)
    })
    .await
    .map_err(|source| BuiltinError::Task {
        what: "reading the backup".to_owned(),
        source,
    })??;
    progress.finish();
    Ok(selected
        .iter()
        .map(|selected| {
            let documents = counts.get(&selected.source).copied().unwrap_or(0);
            output.push_str(&format!(
                "checked {} ({documents} documents) for {}\n",
                selected.source, selected.target
            ));
            CollectionResult {
                name: selected.target.collection.clone(),
                documents,
                failures: 0,
                indexes: Vec::new(),
                index_errors: Vec::new(),
            }
        })
        .collect())
}

/// What one insert batch achieved.
#[derive(Debug, Default)]
struct BatchResult {
    inserted: u64,
    failures: u64,
    failed_ids: Vec<String>,
    messages: Vec<String>,
}

/// Per target collection while restoring.
struct Running {
    /// Limits concurrent batches of this collection.
    workers: Arc<Semaphore>,
    /// Batches in flight.
    inserts: JoinSet<Result<BatchResult, BuiltinError>>,
    /// Totals of finished batches.
    totals: BatchResult,
}

async fn restore_all(
    client: &Client,
    opened: &Arc<OpenedBackup>,
    selected: &[Selected],
    request: &RestoreRequest,
    progress: &dyn ProgressSink,
    output: &mut String,
) -> Result<Vec<CollectionResult>, BuiltinError> {
    progress.start(&format!("restoring {}", request.to_database), None);
    let workers = request.workers_per_collection.max(1);
    let parallel = request.parallel_collections.max(1);
    // An archive is one stream for every collection: one unit, all of its
    // collections open at once. A folder has a unit per collection.
    let units: Vec<Vec<Selected>> = if opened.is_single_stream() {
        vec![selected.to_vec()]
    } else {
        selected.iter().map(|selected| vec![selected.clone()]).collect()
    };
    let global = Arc::new(Semaphore::new(parallel * workers));
    let limit = &Semaphore::new(if opened.is_single_stream() { 1 } else { parallel });
    let mut tasks = Vec::with_capacity(units.len());
    for unit in units {
        let global = Arc::clone(&global);
        tasks.push(async move {
            let _permit = limit.acquire().await;
            restore_unit(client, opened, unit, request, workers, global, progress).await
        });
    }
    let results = futures_util::future::join_all(tasks).await;
    progress.finish();
    let mut collections = Vec::new();
    for result in results {
        let (results, text) = result?;
        output.push_str(&text);
        collections.extend(results);
    }
    Ok(collections)
}

/// Restores one unit (a folder's collection, or every collection of an
/// archive): its collections prepared, the backup read on a blocking
/// thread, each batch inserted by a task.
async fn restore_unit(
    client: &Client,
    opened: &Arc<OpenedBackup>,
    unit: Vec<Selected>,
    request: &RestoreRequest,
    workers: usize,
    global: Arc<Semaphore>,
    progress: &dyn ProgressSink,
) -> Result<(Vec<CollectionResult>, String), BuiltinError> {
    let mut restore = UnitRestore {
        client,
        unit: &unit,
        global,
        progress,
        running: HashMap::new(),
        finished: HashMap::new(),
        failure: None,
        output: String::new(),
    };
    restore.prepare(request.drop, workers).await?;
    let (sender, mut receiver) = mpsc::channel::<ReadEvent>(CHANNEL_BATCHES * workers);
    let reader = Arc::clone(opened);
    let namespaces: Vec<Namespace> = unit.iter().map(|selected| selected.source.clone()).collect();
    let reading = tokio::task::spawn_blocking(move || {
        reader.read_documents(&namespaces, BatchLimits::default(), &mut |event| {
            sender.blocking_send(event).is_ok()
        })
    });
    while let Some(event) = receiver.recv().await {
        match event {
            ReadEvent::Batch { namespace, documents } => restore.batch(&namespace, documents).await,
            ReadEvent::End { namespace } => restore.end(namespace).await,
        }
        if restore.failure.is_some() {
            break;
        }
    }
    drop(receiver);
    restore.settle_all().await;
    let read = reading.await.map_err(|source| BuiltinError::Task {
        what: "reading the backup".to_owned(),
        source,
    })?;
    if let Some(error) = restore.failure {
        return Err(error);
    }
    read?;
    let results = unit
        .iter()
        .filter_map(|selected| restore.finished.remove(&selected.source))
        .collect();
    Ok((results, restore.output))
}

/// One unit's restore under way.
struct UnitRestore<'a> {
    /// The target deployment.
    client: &'a Client,
    /// The unit's collections.
    unit: &'a [Selected],
    /// Limits batches in flight across every collection.
    global: Arc<Semaphore>,
    /// Where inserted documents are counted.
    progress: &'a dyn ProgressSink,
    /// Collections still being read, by source namespace.
    running: HashMap<Namespace, Running>,
    /// Collections read to their end, with their indexes built.
    finished: HashMap<Namespace, CollectionResult>,
    /// The first error: the unit stops reading at it.
    failure: Option<BuiltinError>,
    /// The unit's lines of output.
    output: String,
}

impl UnitRestore<'_> {
    /// Prepares every target collection (dropped first with `drop`) and
    /// its insert limit of `workers` batches.
    async fn prepare(&mut self, drop: bool, workers: usize) -> Result<(), BuiltinError> {
        for selected in self.unit {
            prepare(self.client, selected, drop).await?;
            self.output
                .push_str(&format!("restoring {} from {}\n", selected.target, selected.source));
            self.running.insert(
                selected.source.clone(),
                Running {
                    workers: Arc::new(Semaphore::new(workers)),
                    inserts: JoinSet::new(),
                    totals: BatchResult::default(),
                },
            );
        }
        Ok(())
    }

    /// Starts inserting one batch of `namespace`, and collects the batches
    /// already finished, so progress moves.
    async fn batch(&mut self, namespace: &Namespace, documents: Vec<RawDocumentBuf>) {
        let Some(selected) = selected_of(self.unit, namespace) else {
            return;
        };
        let collection = self
            .client
            .database(&selected.target.database)
            .collection::<RawDocumentBuf>(&selected.target.collection);
        let target = selected.target.to_string();
        let Some(state) = self.running.get_mut(namespace) else {
            return;
        };
        // Both permits are taken before the task starts, so no more
        // batches are held in memory than may be inserted at once.
        let (Ok(own), Ok(shared)) = (
            Arc::clone(&state.workers).acquire_owned().await,
            Arc::clone(&self.global).acquire_owned().await,
        ) else {
            return;
        };
        state.inserts.spawn(async move {
            let result = insert_batch(&collection, &target, documents).await;
            drop((own, shared));
            result
        });
        while let Some(joined) = state.inserts.try_join_next() {
            settle(&mut state.totals, joined, Some(self.progress), &mut self.failure);
        }
    }

    /// `namespace` was read to its end: waits for its batches, builds its
    /// indexes and records its result.
    async fn end(&mut self, namespace: Namespace) {
        let Some(mut state) = self.running.remove(&namespace) else {
            return;
        };
        let Some(selected) = selected_of(self.unit, &namespace) else {
            return;
        };
        while let Some(joined) = state.inserts.join_next().await {
            settle(&mut state.totals, joined, Some(self.progress), &mut self.failure);
        }
        let (indexes, index_errors) = create_indexes(self.client, selected).await;
        self.output
            .push_str(&describe_collection(selected, &state.totals, &index_errors));
        let result = CollectionResult {
            name: selected.target.collection.clone(),
            documents: state.totals.inserted,
            failures: state.totals.failures,
            indexes,
            index_errors,
        };
        self.finished.insert(namespace, result);
    }

    /// Lets batches already sent finish, so nothing writes after the unit
    /// returns.
    async fn settle_all(&mut self) {
        for state in self.running.values_mut() {
            while let Some(joined) = state.inserts.join_next().await {
                settle(&mut state.totals, joined, None, &mut self.failure);
            }
        }
    }
}

/// The collection of `unit` read from `namespace`.
fn selected_of<'u>(unit: &'u [Selected], namespace: &Namespace) -> Option<&'u Selected> {
    unit.iter().find(|selected| &selected.source == namespace)
}

/// Adds a finished batch to `totals` and its documents to `progress`;
/// its error, if it is the first, to `failure`.
fn settle(
    totals: &mut BatchResult,
    joined: Result<Result<BatchResult, BuiltinError>, tokio::task::JoinError>,
    progress: Option<&dyn ProgressSink>,
    failure: &mut Option<BuiltinError>,
) {
    match absorb(totals, joined) {
        Ok(count) => {
            if let Some(progress) = progress {
                progress.advance(count);
            }
        }
        Err(error) => {
            failure.get_or_insert(error);
        }
    }
}

/// Adds a finished batch to the totals; returns the documents it inserted.
fn absorb(
    totals: &mut BatchResult,
    joined: Result<Result<BatchResult, BuiltinError>, tokio::task::JoinError>,
) -> Result<u64, BuiltinError> {
    let batch = joined.map_err(|source| BuiltinError::Task {
        what: "inserting a batch".to_owned(),
        source,
    })??;
    totals.inserted += batch.inserted;
    totals.failures += batch.failures;
    for id in batch.failed_ids {
        if totals.failed_ids.len() < NAMED_FAILURES {
            totals.failed_ids.push(id);
        }
    }
    for message in batch.messages {
        if !totals.messages.contains(&message) && totals.messages.len() < NAMED_FAILURES {
            totals.messages.push(message);
        }
    }
    Ok(batch.inserted)
}

fn describe_collection(selected: &Selected, totals: &BatchResult, index_errors: &[String]) -> String {
    let mut text = format!(
        "finished restoring {} ({} document(s), {} failure(s))\n",
        selected.target, totals.inserted, totals.failures
    );
    if totals.failures > 0 {
        text.push_str(&format!(
            "  {} document(s) of {} failed: {} (first _ids: {})\n",
            totals.failures,
            selected.target,
            totals.messages.join("; "),
            totals.failed_ids.join(", ")
        ));
    }
    for error in index_errors {
        text.push_str(&format!("  {}: {error}\n", selected.target));
    }
    text
}

/// Drops the collection when asked, then creates it with its options.
async fn prepare(client: &Client, selected: &Selected, drop: bool) -> Result<(), BuiltinError> {
    let target = &selected.target;
    let database = client.database(&target.database);
    let server_error = |action: &str| {
        let namespace = target.to_string();
        let action = action.to_owned();
        move |source| BuiltinError::Server {
            namespace,
            action,
            source: Box::new(source),
        }
    };
    if drop {
        database
            .collection::<Document>(&target.collection)
            .drop()
            .await
            .map_err(server_error("drop"))?;
    }
    let Some(metadata) = &selected.metadata else {
        return Ok(());
    };
    let mut command = doc! { "create": &target.collection };
    for (key, value) in &metadata.create_options() {
        command.insert(key.clone(), value.clone());
    }
    match database.run_command(command).await {
        Ok(_) => Ok(()),
        // NamespaceExists: restoring into an existing collection without --drop.
        Err(error) if error_code(&error) == Some(48) => Ok(()),
        Err(error) => Err(server_error("create")(error)),
    }
}

fn error_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// Inserts one batch, unordered; per-document write errors are counted,
/// anything else stops the restore.
async fn insert_batch(
    collection: &mongodb::Collection<RawDocumentBuf>,
    target: &str,
    documents: Vec<RawDocumentBuf>,
) -> Result<BatchResult, BuiltinError> {
    let total = documents.len() as u64;
    match collection.insert_many(&documents).ordered(false).await {
        Ok(result) => Ok(BatchResult {
            inserted: result.inserted_ids.len() as u64,
            ..BatchResult::default()
        }),
        Err(error) => match error.kind.as_ref() {
            ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                let write_errors = failure.write_errors.clone().unwrap_or_default();
                let failures = write_errors.len() as u64;
                Ok(BatchResult {
                    inserted: total.saturating_sub(failures),
                    failures,
                    failed_ids: write_errors
                        .iter()
                        .take(NAMED_FAILURES)
                        .map(|error| {
                            documents
                                .get(error.index)
                                .map(|document| describe_id(document))
                                .unwrap_or_default()
                        })
                        .collect(),
                    messages: write_errors
                        .iter()
                        .map(|error| first_words(&error.message))
                        .take(NAMED_FAILURES)
                        .collect(),
                })
            }
            _ => Err(BuiltinError::Insert {
                namespace: target.to_owned(),
                first_id: documents
                    .first()
                    .map(|document| describe_id(document))
                    .unwrap_or_default(),
                documents: documents.len(),
                source: Box::new(error),
            }),
        },
    }
}

/// A server message without the per-document detail, so that many
/// duplicate-key errors read as one kind.
fn first_words(message: &str) -> String {
    message.split(" dup key").next().unwrap_or(message).trim().to_owned()
}

/// An index specification as `createIndexes` accepts it from a dump:
/// without `ns` (FerretDB and MongoDB 4.4+ refuse it: `Index option "ns" is
/// unknown`; on a rename it would name the old namespace) and without `v`
/// (FerretDB 1.24 refuses it: `Index option "v" is unknown`; every server
/// since 3.4 defaults to version 2, which is what dumps record).
pub fn index_for_create(specification: &Document) -> Document {
    let mut index = specification.clone();
    index.remove("ns");
    index.remove("v");
    index
}

/// Creates the metadata's secondary indexes one by one, so that one refused
/// index is recorded and does not stop the others.
async fn create_indexes(client: &Client, selected: &Selected) -> (Vec<String>, Vec<String>) {
    let Some(metadata) = &selected.metadata else {
        return (Vec::new(), Vec::new());
    };
    let database = client.database(&selected.target.database);
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for specification in &metadata.indexes {
        let name = specification.get_str("name").unwrap_or("(unnamed)").to_owned();
        let is_id = specification
            .get_document("key")
            .is_ok_and(|key| key.len() == 1 && key.contains_key("_id"));
        if is_id {
            created.push(name);
            continue;
        }
        let command = doc! {
            "createIndexes": &selected.target.collection,
            "indexes": [Bson::Document(index_for_create(specification))],
        };
        match database.run_command(command).await {
            Ok(_) => created.push(name),
            Err(error) => {
                let message = match error.kind.as_ref() {
                    ErrorKind::Command(command) => command.message.clone(),
                    other => other.to_string(),
                };
                errors.push(format!("index `{name}`: {message}"));
            }
        }
    }
    (created, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_specifications_lose_ns_and_v_only() {
        let specification = doc! { "v": 2, "key": { "a": 1 }, "name": "a_1", "ns": "db.c", "unique": true };
        assert_eq!(
            index_for_create(&specification),
            doc! { "key": { "a": 1 }, "name": "a_1", "unique": true }
        );
    }

    #[test]
    fn duplicate_key_messages_read_as_one_kind() {
        assert_eq!(
            first_words("E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }"),
            "E11000 duplicate key error collection: db.c index: _id_"
        );
    }
}
