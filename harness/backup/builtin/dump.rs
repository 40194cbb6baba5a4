//! The builtin dump: list the collections and their indexes, then stream
//! every collection's documents as raw bytes in ascending `_id` order into
//! the mongodump formats, computing count and MD5 in the same pass, and
//! finally write the manifest. A cursor task per collection feeds a
//! blocking writer thread through a small bounded channel, so memory stays
//! bounded whatever the collection size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bson::{Bson, Document, RawDocumentBuf, doc};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::TryStreamExt;
use mongodb::Client;
use tokio::sync::mpsc;

use super::connect::{connect, drain_command, server_version};
use super::digest::{DigestResult, IdOrderDigest, describe_id};
use super::error::BuiltinError;
use crate::backup::engine::{BackupLocation, CollectionResult, DumpOutcome, DumpRequest, EngineInfo, Layout};
use crate::backup::format::{
    ArchiveHeader, ArchiveWriter, CollectionKind, CollectionMetadata, DirectoryWriter, DumpPrelude, FormatError,
    Namespace, Origin, PARTIAL_SUFFIX, PreludeEntry,
};
use crate::backup::manifest::{
    self, CollectionEntry, MANIFEST_SCHEMA_VERSION, Manifest, NO_SINGLE_POINT, index_specifications,
};
use crate::progress::ProgressSink;

/// Documents per cursor batch: FerretDB drains sorted cursors faster in
/// large batches.
const CURSOR_BATCH_SIZE: u32 = 2000;

/// Documents handed to the writer thread at once.
const WRITE_BATCH_DOCUMENTS: usize = 1000;

/// Batches waiting for the writer, per channel: the memory bound.
const CHANNEL_BATCHES: usize = 4;

/// The engine's name and version, for outcomes and manifests.
pub fn engine_info() -> EngineInfo {
    EngineInfo {
        name: "builtin".to_owned(),
        version: format!("drdrill {}", env!("CARGO_PKG_VERSION")),
    }
}

/// One collection to dump.
#[derive(Debug, Clone)]
struct Planned {
    namespace: Namespace,
    metadata: CollectionMetadata,
}

/// What one collection's dump produced.
#[derive(Debug)]
struct Dumped {
    namespace: Namespace,
    digest: DigestResult,
    indexes: Vec<String>,
    index_specifications: Vec<serde_json::Value>,
}

/// Dumps `request.database` into `request.out` in `request.layout`, then
/// writes the manifest beside it. On error nothing that looks complete is
/// left for the collection that failed, and no manifest is written.
pub async fn dump(request: &DumpRequest, progress: &dyn ProgressSink) -> Result<DumpOutcome, BuiltinError> {
    check_names(request)?;
    let clock = Instant::now();
    let started = chrono::Utc::now();
    let client = connect(&request.uri).await?;
    let server = server_version(&client).await;
    let planned = plan(&client, request).await?;
    let mut output = String::new();
    progress.start(&format!("dumping {}", request.database), None);
    let (dumped, location) = match request.layout {
        Layout::Directory { gzip } => {
            let dumped = dump_directory(&client, request, &planned, gzip, &server, progress, &mut output).await?;
            let location = BackupLocation::Directory {
                path: request.out.clone(),
                gzip,
            };
            (dumped, location)
        }
        Layout::Archive { gzip } => {
            let dumped = dump_archive(&client, request, &planned, gzip, &server, progress, &mut output).await?;
            let location = BackupLocation::Archive {
                path: request.out.clone(),
                gzip,
            };
            (dumped, location)
        }
    };
    progress.finish();
    let finished = chrono::Utc::now();
    let (files, bytes) = match is_special_file(&request.out) {
        // A device or pipe (`/dev/stdout`) cannot be hashed after the fact.
        true => (BTreeMap::new(), 0),
        false => {
            let files = manifest::hash_backup_files(&location).map_err(|source| BuiltinError::Manifest {
                path: request.out.clone(),
                source,
            })?;
            let bytes = files.values().map(|file| file.size).sum();
            (files, bytes)
        }
    };
    let collections: BTreeMap<String, CollectionEntry> = dumped
        .iter()
        .map(|dumped| {
            (
                dumped.namespace.collection.clone(),
                CollectionEntry {
                    count: dumped.digest.count,
                    md5: dumped.digest.md5.clone(),
                    md5_unavailable: dumped.digest.md5_unavailable.clone(),
                    bytes: dumped.digest.bytes,
                    indexes: dumped.index_specifications.clone(),
                },
            )
        })
        .collect();
    if !is_special_file(&request.out) {
        let manifest = Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            engine: engine_info(),
            tool_versions: BTreeMap::from([
                ("drdrill".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                ("server".to_owned(), server.clone()),
            ]),
            source_uri: Some(request.uri.redacted()),
            database: request.database.clone(),
            layout: Some(request.layout),
            started: Some(manifest::timestamp(started)),
            finished: Some(manifest::timestamp(finished)),
            consistency: NO_SINGLE_POINT.to_owned(),
            collections,
            files,
        };
        manifest::write_manifest(&location, &manifest).map_err(|source| BuiltinError::Manifest {
            path: request.out.clone(),
            source,
        })?;
    }
    Ok(DumpOutcome {
        engine: engine_info(),
        location,
        collections: dumped
            .into_iter()
            .map(|dumped| CollectionResult {
                name: dumped.namespace.collection,
                documents: dumped.digest.count,
                failures: 0,
                indexes: dumped.indexes,
                index_errors: Vec::new(),
            })
            .collect(),
        bytes,
        duration: clock.elapsed(),
        output,
    })
}

/// Whether `path` exists and is not a regular file (a device such as
/// `/dev/full` or `/dev/stdout`, a pipe): written directly, not through a
/// partial file.
fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file() && !metadata.is_dir())
}

/// Refuses a database or collection name MongoDB would refuse, before any
/// path is joined from it (`--db ../x` must not name a folder).
fn check_names(request: &DumpRequest) -> Result<(), BuiltinError> {
    let invalid = |source| BuiltinError::Write {
        namespace: request.database.clone(),
        source: Box::new(source),
    };
    let origin = Origin::file(&request.out);
    Namespace::validate_database(&request.database, &origin).map_err(invalid)?;
    for collection in request.collections.iter().flatten() {
        Namespace::new(request.database.clone(), collection.clone())
            .validate(&origin)
            .map_err(invalid)?;
    }
    Ok(())
}

/// Lists the collections to dump with their metadata, sorted by name.
async fn plan(client: &Client, request: &DumpRequest) -> Result<Vec<Planned>, BuiltinError> {
    let database = &request.database;
    let listed = drain_command(client, database, database, doc! { "listCollections": 1 }).await?;
    let mut planned = Vec::new();
    for entry in listed {
        let Ok(name) = entry.get_str("name") else { continue };
        // mongodump leaves out the server's own collections.
        if name.starts_with("system.") {
            continue;
        }
        if let Some(only) = &request.collections
            && !only.iter().any(|wanted| wanted == name)
        {
            continue;
        }
        if request.exclude.iter().any(|excluded| excluded == name) {
            continue;
        }
        let kind = entry
            .get_str("type")
            .map(CollectionKind::parse)
            .unwrap_or(CollectionKind::Collection);
        let options = entry.get_document("options").cloned().unwrap_or_default();
        let uuid = match entry.get_document("info").ok().and_then(|info| info.get("uuid")) {
            Some(Bson::Binary(binary)) => Some(hex::encode(&binary.bytes)),
            _ => None,
        };
        let indexes = if kind == CollectionKind::View {
            Vec::new()
        } else {
            drain_command(
                client,
                database,
                &format!("{database}.{name}"),
                doc! { "listIndexes": name },
            )
            .await?
        };
        planned.push(Planned {
            namespace: Namespace::new(database.clone(), name),
            metadata: CollectionMetadata {
                collection_name: name.to_owned(),
                kind: Some(kind),
                options,
                indexes,
                uuid,
            },
        });
    }
    planned.sort_by(|left, right| left.namespace.cmp(&right.namespace));
    Ok(planned)
}

/// Index names of a metadata.
fn index_names(metadata: &CollectionMetadata) -> Vec<String> {
    metadata
        .indexes
        .iter()
        .filter_map(|index| index.get_str("name").ok().map(str::to_owned))
        .collect()
}

/// Reads one collection in `_id` order and hands batches to `send`;
/// returns the digest. `send` returns `false` when the writer stopped.
async fn read_collection<M: Send>(
    client: &Client,
    planned: &Planned,
    progress: &dyn ProgressSink,
    sender: &mpsc::Sender<M>,
    wrap: impl Fn(Vec<RawDocumentBuf>) -> M,
) -> Result<Option<DigestResult>, BuiltinError> {
    let send = async |documents| sender.send(wrap(documents)).await.is_ok();
    let namespace = &planned.namespace;
    let collection = client
        .database(&namespace.database)
        .collection::<RawDocumentBuf>(&namespace.collection);
    let mut digest = IdOrderDigest::streaming_only();
    let mut last_id = "none".to_owned();
    let cursor_error = |documents, last_id: &str, source| BuiltinError::DumpCursor {
        namespace: namespace.to_string(),
        documents,
        last_id: last_id.to_owned(),
        source: Box::new(source),
    };
    let mut cursor = collection
        .find(Document::new())
        .sort(doc! { "_id": 1 })
        .hint(mongodb::options::Hint::Keys(doc! { "_id": 1 }))
        .batch_size(CURSOR_BATCH_SIZE)
        .await
        .map_err(|source| cursor_error(0, "none", source))?;
    let mut batch = Vec::with_capacity(WRITE_BATCH_DOCUMENTS);
    loop {
        let next = cursor.try_next().await;
        let document = match next {
            Ok(Some(document)) => document,
            Ok(None) => break,
            Err(source) => return Err(cursor_error(digest.count(), &last_id, source)),
        };
        digest.update(&document);
        batch.push(document);
        if batch.len() >= WRITE_BATCH_DOCUMENTS {
            last_id = batch.last().map(|document| describe_id(document)).unwrap_or_default();
            let count = batch.len() as u64;
            if !send(std::mem::take(&mut batch)).await {
                return Ok(None);
            }
            progress.advance(count);
        }
    }
    if !batch.is_empty() {
        let count = batch.len() as u64;
        if !send(batch).await {
            return Ok(None);
        }
        progress.advance(count);
    }
    Ok(Some(digest.finish()))
}

/// What a collection's cursor task sends its writer.
enum ToWriter {
    Batch(Vec<RawDocumentBuf>),
    /// Every document was sent: finish the files.
    Complete,
}

async fn dump_directory(
    client: &Client,
    request: &DumpRequest,
    planned: &[Planned],
    gzip: bool,
    server: &str,
    progress: &dyn ProgressSink,
    output: &mut String,
) -> Result<Vec<Dumped>, BuiltinError> {
    let write_error = |namespace: String| {
        move |source| BuiltinError::Write {
            namespace,
            source: Box::new(source),
        }
    };
    let writer = DirectoryWriter::create(&request.out, gzip).map_err(write_error(request.database.clone()))?;
    writer
        .write_prelude(
            Some(&request.database),
            &DumpPrelude {
                server_version: server.to_owned(),
                tool_version: engine_info().version,
            },
        )
        .map_err(write_error(request.database.clone()))?;
    let writer = &writer;
    let limit = &tokio::sync::Semaphore::new(request.parallel_collections.max(1));
    let mut tasks = Vec::with_capacity(planned.len());
    for planned in planned {
        tasks.push(async move {
            let _permit = limit.acquire().await;
            let namespace = planned.namespace.clone();
            let collection_writer = writer
                .collection(&namespace)
                .map_err(write_error(namespace.to_string()))?;
            let (sender, mut receiver) = mpsc::channel::<ToWriter>(CHANNEL_BATCHES);
            let metadata = planned.metadata.clone();
            let thread = tokio::task::spawn_blocking(move || -> Result<Option<PathBuf>, FormatError> {
                let mut collection_writer = collection_writer;
                while let Some(message) = receiver.blocking_recv() {
                    match message {
                        ToWriter::Batch(documents) => {
                            for document in &documents {
                                collection_writer.write_document(document)?;
                            }
                        }
                        ToWriter::Complete => {
                            let written = collection_writer.finish(&metadata)?;
                            return Ok(Some(written.bson_file));
                        }
                    }
                }
                // The cursor task gave up: dropping the writer removes the
                // partial file.
                Ok(None)
            });
            let read = read_collection(client, planned, progress, &sender, ToWriter::Batch).await;
            if matches!(read, Ok(Some(_))) {
                let _ = sender.send(ToWriter::Complete).await;
            }
            drop(sender);
            let written = thread.await.map_err(|source| BuiltinError::Task {
                what: format!("writing {namespace}"),
                source,
            })?;
            // A write error explains a cursor task that stopped early.
            let written = written.map_err(write_error(namespace.to_string()))?;
            let digest = read?;
            match (digest, written) {
                (Some(digest), Some(file)) => {
                    let line = format!(
                        "writing {namespace} to {}\ndone dumping {namespace} ({} documents)\n",
                        file.display(),
                        digest.count
                    );
                    Ok((
                        Dumped {
                            namespace: namespace.clone(),
                            digest,
                            indexes: index_names(&planned.metadata),
                            index_specifications: index_specifications(Some(&planned.metadata)),
                        },
                        line,
                    ))
                }
                _ => Err(BuiltinError::Write {
                    namespace: namespace.to_string(),
                    source: Box::new(FormatError::WriterMisuse {
                        origin: Origin::namespace(namespace.clone()),
                        problem: "the writer stopped before the collection was complete".to_owned(),
                    }),
                }),
            }
        });
    }
    let results = futures_util::future::join_all(tasks).await;
    collect_results(results, output)
}

/// Keeps every collection's outcome in order; the first error wins, after
/// every task has ended (so no writer is still removing its partial file).
fn collect_results(
    results: Vec<Result<(Dumped, String), BuiltinError>>,
    output: &mut String,
) -> Result<Vec<Dumped>, BuiltinError> {
    let mut dumped = Vec::with_capacity(results.len());
    for result in results {
        let (one, line) = result?;
        output.push_str(&line);
        dumped.push(one);
    }
    Ok(dumped)
}

/// The archive's output: plain or gzip, so that the gzip trailer is written
/// and its errors seen (a dropped encoder swallows them).
enum ArchiveSink {
    Plain(File),
    Gzip(GzEncoder<File>),
}

impl Write for ArchiveSink {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        match self {
            ArchiveSink::Plain(file) => file.write(buffer),
            ArchiveSink::Gzip(encoder) => encoder.write(buffer),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ArchiveSink::Plain(file) => file.flush(),
            ArchiveSink::Gzip(encoder) => encoder.flush(),
        }
    }
}

impl ArchiveSink {
    fn complete(self) -> std::io::Result<File> {
        match self {
            ArchiveSink::Plain(file) => Ok(file),
            ArchiveSink::Gzip(encoder) => encoder.finish(),
        }
    }
}

/// What collection tasks send the one archive writer.
enum ToArchive {
    Batch(Namespace, Vec<RawDocumentBuf>),
    End(Namespace),
    /// Every collection completed: finish and rename the file.
    Complete,
}

async fn dump_archive(
    client: &Client,
    request: &DumpRequest,
    planned: &[Planned],
    gzip: bool,
    server: &str,
    progress: &dyn ProgressSink,
    output: &mut String,
) -> Result<Vec<Dumped>, BuiltinError> {
    let final_path = request.out.clone();
    let direct = is_special_file(&final_path);
    let write_path = if direct {
        final_path.clone()
    } else {
        let name = final_path.file_name().unwrap_or_default().to_string_lossy();
        final_path.with_file_name(format!("{name}{PARTIAL_SUFFIX}"))
    };
    let archive_error = |source| BuiltinError::Write {
        namespace: format!("{} (archive {})", request.database, final_path.display()),
        source: Box::new(source),
    };
    let file = if direct {
        std::fs::OpenOptions::new().write(true).open(&write_path)
    } else {
        File::create(&write_path)
    }
    .map_err(|source| BuiltinError::Filesystem {
        path: write_path.clone(),
        action: "create".to_owned(),
        source,
    })?;
    let sink = if gzip {
        ArchiveSink::Gzip(GzEncoder::new(file, Compression::default()))
    } else {
        ArchiveSink::Plain(file)
    };
    let mut header = ArchiveHeader::new(server, engine_info().version);
    header.concurrent_collections = request.parallel_collections.max(1) as i32;
    let prelude: Vec<PreludeEntry> = planned
        .iter()
        .map(|planned| PreludeEntry::collection(planned.namespace.clone(), planned.metadata.clone()))
        .collect();
    let origin = Origin::file(&final_path);
    let (sender, mut receiver) = mpsc::channel::<ToArchive>(CHANNEL_BATCHES * request.parallel_collections.max(1));
    let thread_path = write_path.clone();
    let thread_final = final_path.clone();
    let thread = tokio::task::spawn_blocking(move || -> Result<bool, FormatError> {
        let remove_partial = || {
            if !direct {
                let _ = std::fs::remove_file(&thread_path);
            }
        };
        let result = (|| {
            let mut writer = ArchiveWriter::new(sink, origin.clone(), &header, &prelude)?;
            while let Some(message) = receiver.blocking_recv() {
                match message {
                    ToArchive::Batch(namespace, documents) => {
                        for document in &documents {
                            writer.write_document(&namespace, document)?;
                        }
                    }
                    ToArchive::End(namespace) => {
                        writer.end_namespace(&namespace)?;
                    }
                    ToArchive::Complete => {
                        let offset = writer.offset();
                        let io_error = |source| FormatError::Io {
                            origin: origin.clone(),
                            offset,
                            source,
                        };
                        let file = writer.finish()?.complete().map_err(io_error)?;
                        if !direct {
                            file.sync_all().map_err(io_error)?;
                            std::fs::rename(&thread_path, &thread_final).map_err(|source| FormatError::Filesystem {
                                path: thread_path.clone(),
                                action: format!("rename to {}", thread_final.display()),
                                source,
                            })?;
                        }
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })();
        if !matches!(result, Ok(true)) {
            remove_partial();
        }
        result
    });
    let limit = &tokio::sync::Semaphore::new(request.parallel_collections.max(1));
    let mut tasks = Vec::with_capacity(planned.len());
    for planned in planned {
        let sender = sender.clone();
        tasks.push(async move {
            let _permit = limit.acquire().await;
            let namespace = planned.namespace.clone();
            let read = read_collection(client, planned, progress, &sender, |documents| {
                ToArchive::Batch(namespace.clone(), documents)
            })
            .await?;
            let stopped = BuiltinError::Write {
                namespace: namespace.to_string(),
                source: Box::new(FormatError::WriterMisuse {
                    origin: Origin::namespace(namespace.clone()),
                    problem: "the archive writer stopped before the collection was complete".to_owned(),
                }),
            };
            let Some(digest) = read else { return Err(stopped) };
            if sender.send(ToArchive::End(namespace.clone())).await.is_err() {
                return Err(stopped);
            }
            let line = format!("done dumping {namespace} ({} documents)\n", digest.count);
            Ok((
                Dumped {
                    namespace: namespace.clone(),
                    digest,
                    indexes: index_names(&planned.metadata),
                    index_specifications: index_specifications(Some(&planned.metadata)),
                },
                line,
            ))
        });
    }
    let results = futures_util::future::join_all(tasks).await;
    let all_done = results.iter().all(Result::is_ok);
    if all_done {
        let _ = sender.send(ToArchive::Complete).await;
    }
    drop(sender);
    let written = thread
        .await
        .map_err(|source| BuiltinError::Task {
            what: format!("writing {}", final_path.display()),
            source,
        })?
        .map_err(archive_error);
    // The writer's error (a full disk) explains collection tasks that stopped.
    let completed = written?;
    let mut results = results;
    results.sort_by(|left, right| match (left, right) {
        (Ok((left, _)), Ok((right, _))) => left.namespace.cmp(&right.namespace),
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    let dumped = collect_results(results, output)?;
    if !completed {
        return Err(archive_error(FormatError::WriterMisuse {
            origin: Origin::file(&final_path),
            problem: "the archive was not completed".to_owned(),
        }));
    }
    output.push_str(&format!("wrote archive {}\n", final_path.display()));
    Ok(dumped)
}
