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

impl Dumped {
    /// What dumping `planned` produced, its documents read into `digest`.
    fn new(planned: &Planned, digest: DigestResult) -> Self {
        Self {
            namespace: planned.namespace.clone(),
            digest,
            indexes: index_names(&planned.metadata),
            index_specifications: index_specifications(Some(&planned.metadata)),
        }
    }
}

/// One collection's result: what it produced and its lines of output.
type CollectionDump = Result<(Dumped, String), BuiltinError>;

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
    let job = DumpJob {
        client: &client,
        request,
        planned: &planned,
        server: &server,
        progress,
    };
    let path = request.out.clone();
    let (dumped, location) = match request.layout {
        Layout::Directory { gzip } => (
            job.directory(gzip, &mut output).await?,
            BackupLocation::Directory { path, gzip },
        ),
        Layout::Archive { gzip } => (
            job.archive(gzip, &mut output).await?,
            BackupLocation::Archive { path, gzip },
        ),
    };
    progress.finish();
    let bytes = write_manifest(request, &location, &server, started, &dumped)?;
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

/// Writes the manifest beside the dump (not for a device such as
/// `/dev/stdout`, which cannot be hashed after the fact); returns the
/// dump's size in bytes.
fn write_manifest(
    request: &DumpRequest,
    location: &BackupLocation,
    server: &str,
    started: chrono::DateTime<chrono::Utc>,
    dumped: &[Dumped],
) -> Result<u64, BuiltinError> {
    let finished = chrono::Utc::now();
    if is_special_file(&request.out) {
        return Ok(0);
    }
    let files = manifest::hash_backup_files(location).map_err(|source| BuiltinError::Manifest {
        path: request.out.clone(),
        source,
    })?;
    let bytes = files.values().map(|file| file.size).sum();
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
    let manifest = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        engine: engine_info(),
        tool_versions: BTreeMap::from([
            ("drdrill".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("server".to_owned(), server.to_owned()),
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
    manifest::write_manifest(location, &manifest).map_err(|source| BuiltinError::Manifest {
        path: request.out.clone(),
        source,
    })?;
    Ok(bytes)
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

/// One dump's fixed parts, shared by the directory and the archive paths.
struct DumpJob<'a> {
    /// The source deployment.
    client: &'a Client,
    /// What to dump, where.
    request: &'a DumpRequest,
    /// The collections, in namespace order.
    planned: &'a [Planned],
    /// The server's version, for the prelude and the archive header.
    server: &'a str,
    /// Where progress goes.
    progress: &'a dyn ProgressSink,
}

/// The write error of `namespace` (a collection, or the database for the
/// dump as a whole).
fn write_error(namespace: String) -> impl FnOnce(FormatError) -> BuiltinError {
    move |source| BuiltinError::Write {
        namespace,
        source: Box::new(source),
    }
}

/// The writer of `namespace` stopped before its collection was complete.
fn writer_stopped(namespace: &Namespace, problem: &str) -> BuiltinError {
    write_error(namespace.to_string())(FormatError::WriterMisuse {
        origin: Origin::namespace(namespace.clone()),
        problem: problem.to_owned(),
    })
}

impl<'a> DumpJob<'a> {
    /// Collections dumped at once (at least one).
    fn parallel(&self) -> usize {
        self.request.parallel_collections.max(1)
    }

    /// Runs `task` for every planned collection, at most
    /// [`parallel`](Self::parallel) at once; every task ends before this
    /// returns.
    async fn each_collection<F, Fut>(&self, task: F) -> Vec<CollectionDump>
    where
        F: Fn(&'a Planned) -> Fut,
        Fut: Future<Output = CollectionDump>,
    {
        let limit = &tokio::sync::Semaphore::new(self.parallel());
        let tasks = self.planned.iter().map(|planned| {
            let collection = task(planned);
            async move {
                let _permit = limit.acquire().await;
                collection.await
            }
        });
        futures_util::future::join_all(tasks).await
    }

    /// The directory layout: a prelude, then a `.bson` and a
    /// `.metadata.json` per collection, each written by its own thread.
    async fn directory(&self, gzip: bool, output: &mut String) -> Result<Vec<Dumped>, BuiltinError> {
        let request = self.request;
        let writer = DirectoryWriter::create(&request.out, gzip).map_err(write_error(request.database.clone()))?;
        writer
            .write_prelude(
                Some(&request.database),
                &DumpPrelude {
                    server_version: self.server.to_owned(),
                    tool_version: engine_info().version,
                },
            )
            .map_err(write_error(request.database.clone()))?;
        let writer = &writer;
        let results = self
            .each_collection(|planned| self.directory_collection(writer, planned))
            .await;
        collect_results(results, output)
    }

    /// One collection into the directory: a cursor task feeding a writer
    /// thread, whose write error explains a cursor that stopped early.
    async fn directory_collection(&self, writer: &DirectoryWriter, planned: &Planned) -> CollectionDump {
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
        let read = read_collection(self.client, planned, self.progress, &sender, ToWriter::Batch).await;
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
        let (Some(digest), Some(file)) = (digest, written) else {
            return Err(writer_stopped(
                &namespace,
                "the writer stopped before the collection was complete",
            ));
        };
        let line = format!(
            "writing {namespace} to {}\ndone dumping {namespace} ({} documents)\n",
            file.display(),
            digest.count
        );
        Ok((Dumped::new(planned, digest), line))
    }
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

/// Where the archive is written: the file itself when it is a device
/// (`/dev/stdout`), else a partial file renamed over it when complete.
#[derive(Debug, Clone)]
struct ArchiveTarget {
    /// The archive's name.
    final_path: PathBuf,
    /// What is written: `final_path` itself, or its partial file.
    write_path: PathBuf,
    /// Whether `final_path` is a device or pipe, written directly.
    direct: bool,
}

impl ArchiveTarget {
    /// The target for the archive `final_path`.
    fn new(final_path: &Path) -> Self {
        let direct = is_special_file(final_path);
        let write_path = if direct {
            final_path.to_path_buf()
        } else {
            let name = final_path.file_name().unwrap_or_default().to_string_lossy();
            final_path.with_file_name(format!("{name}{PARTIAL_SUFFIX}"))
        };
        Self {
            final_path: final_path.to_path_buf(),
            write_path,
            direct,
        }
    }

    /// Creates (or, for a device, opens) the file written.
    fn open(&self, gzip: bool) -> Result<ArchiveSink, BuiltinError> {
        let file = if self.direct {
            std::fs::OpenOptions::new().write(true).open(&self.write_path)
        } else {
            File::create(&self.write_path)
        }
        .map_err(|source| BuiltinError::Filesystem {
            path: self.write_path.clone(),
            action: "create".to_owned(),
            source,
        })?;
        Ok(if gzip {
            ArchiveSink::Gzip(GzEncoder::new(file, Compression::default()))
        } else {
            ArchiveSink::Plain(file)
        })
    }

    /// Makes the finished `writer` the archive: synced, then renamed over
    /// the final name (a device is left as written).
    fn complete(&self, writer: ArchiveWriter<ArchiveSink>, origin: &Origin) -> Result<(), FormatError> {
        let offset = writer.offset();
        let io_error = |source| FormatError::Io {
            origin: origin.clone(),
            offset,
            source,
        };
        let file = writer.finish()?.complete().map_err(io_error)?;
        if !self.direct {
            file.sync_all().map_err(io_error)?;
            std::fs::rename(&self.write_path, &self.final_path).map_err(|source| FormatError::Filesystem {
                path: self.write_path.clone(),
                action: format!("rename to {}", self.final_path.display()),
                source,
            })?;
        }
        Ok(())
    }

    /// Removes the partial file of an archive that was not completed.
    fn remove_partial(&self) {
        if !self.direct {
            let _ = std::fs::remove_file(&self.write_path);
        }
    }
}

/// The archive writer thread: writes what the collection tasks send until
/// [`ToArchive::Complete`] (then `true`) or until they all hang up
/// (`false`: the archive is not complete).
fn write_archive(
    target: &ArchiveTarget,
    sink: ArchiveSink,
    header: &ArchiveHeader,
    prelude: &[PreludeEntry],
    receiver: &mut mpsc::Receiver<ToArchive>,
) -> Result<bool, FormatError> {
    let origin = Origin::file(&target.final_path);
    let mut writer = ArchiveWriter::new(sink, origin.clone(), header, prelude)?;
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
                target.complete(writer, &origin)?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

impl DumpJob<'_> {
    /// The archive layout: one file that one writer thread writes from
    /// what every collection task sends it.
    async fn archive(&self, gzip: bool, output: &mut String) -> Result<Vec<Dumped>, BuiltinError> {
        let request = self.request;
        let target = ArchiveTarget::new(&request.out);
        let archive_error = |source| {
            write_error(format!(
                "{} (archive {})",
                request.database,
                target.final_path.display()
            ))(source)
        };
        let sink = target.open(gzip)?;
        let mut header = ArchiveHeader::new(self.server, engine_info().version);
        header.concurrent_collections = self.parallel() as i32;
        let prelude: Vec<PreludeEntry> = self
            .planned
            .iter()
            .map(|planned| PreludeEntry::collection(planned.namespace.clone(), planned.metadata.clone()))
            .collect();
        let (sender, mut receiver) = mpsc::channel::<ToArchive>(CHANNEL_BATCHES * self.parallel());
        let thread_target = target.clone();
        let thread = tokio::task::spawn_blocking(move || -> Result<bool, FormatError> {
            let result = write_archive(&thread_target, sink, &header, &prelude, &mut receiver);
            if !matches!(result, Ok(true)) {
                thread_target.remove_partial();
            }
            result
        });
        let mut results = self
            .each_collection(|planned| self.archive_collection(planned, sender.clone()))
            .await;
        if results.iter().all(Result::is_ok) {
            let _ = sender.send(ToArchive::Complete).await;
        }
        drop(sender);
        let written = thread
            .await
            .map_err(|source| BuiltinError::Task {
                what: format!("writing {}", target.final_path.display()),
                source,
            })?
            .map_err(archive_error);
        // The writer's error (a full disk) explains collection tasks that stopped.
        let completed = written?;
        results.sort_by(|left, right| match (left, right) {
            (Ok((left, _)), Ok((right, _))) => left.namespace.cmp(&right.namespace),
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        });
        let dumped = collect_results(results, output)?;
        if !completed {
            return Err(archive_error(FormatError::WriterMisuse {
                origin: Origin::file(&target.final_path),
                problem: "the archive was not completed".to_owned(),
            }));
        }
        output.push_str(&format!("wrote archive {}\n", target.final_path.display()));
        Ok(dumped)
    }

    /// One collection into the archive: its batches, then its end.
    async fn archive_collection(&self, planned: &Planned, sender: mpsc::Sender<ToArchive>) -> CollectionDump {
        let namespace = planned.namespace.clone();
        let read = read_collection(self.client, planned, self.progress, &sender, |documents| {
            ToArchive::Batch(namespace.clone(), documents)
        })
        .await?;
        let stopped = || {
            writer_stopped(
                &namespace,
                "the archive writer stopped before the collection was complete",
            )
        };
        let Some(digest) = read else { return Err(stopped()) };
        if sender.send(ToArchive::End(namespace.clone())).await.is_err() {
            return Err(stopped());
        }
        let line = format!("done dumping {namespace} ({} documents)\n", digest.count);
        Ok((Dumped::new(planned, digest), line))
    }
}
