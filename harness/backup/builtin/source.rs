//! Opening a backup on disk, whatever its shape: a dump folder (root or one
//! database's folder), an archive (plain or gzip), or a `.tar.gz` of a dump
//! folder, extracted in-process by [`crate::backup::extract`] (every member
//! checked: regular files and folders inside the root only, with caps) into
//! a folder next to it that is removed when the opened backup is dropped.
//! What a path is, is decided by [`crate::backup::locate`] alone, so
//! restore, verify-backup and the command engine share one policy.

use std::path::{Path, PathBuf};

use bson::RawDocumentBuf;

use super::error::BuiltinError;
use crate::backup::engine::BackupLocation;
use crate::backup::extract::extract_dump;
use crate::backup::format::{
    ArchiveEvent, ArchiveReader, CollectionMetadata, DumpDirectory, FormatError, MaybeGzip, Namespace, Origin,
};
use crate::backup::locate::{LocateError, locate};

/// Works out what kind of backup `path` is, by the one policy of
/// [`crate::backup::locate::locate`].
pub fn locate_backup(path: &Path) -> Result<BackupLocation, BuiltinError> {
    locate(path).map_err(|error| match error {
        LocateError::Unreadable { path, source } => BuiltinError::Filesystem {
            path,
            action: "inspect".to_owned(),
            source,
        },
        other => BuiltinError::Locate {
            source: Box::new(other),
        },
    })
}

/// The path a location names.
pub fn location_path(location: &BackupLocation) -> &Path {
    match location {
        BackupLocation::Directory { path, .. } | BackupLocation::Archive { path, .. } => path,
        BackupLocation::TarGz { path } => path,
    }
}

/// One collection found in a backup.
#[derive(Debug, Clone)]
pub struct FoundCollection {
    /// Database and collection as the backup names them.
    pub namespace: Namespace,
    /// The data file (directories) or the archive.
    pub file: PathBuf,
    /// The metadata file, `None` when missing (directories), or the archive.
    pub metadata_file: Option<PathBuf>,
}

/// The shape behind an opened backup.
#[derive(Debug)]
enum Opened {
    /// A listed dump folder.
    Directory(DumpDirectory),
    /// An archive file, with its prelude.
    Archive {
        /// The file.
        path: PathBuf,
        /// Namespaces and metadata announced up front.
        prelude: Vec<crate::backup::format::PreludeEntry>,
    },
    /// An archive read once as a stream (from a store), its prelude read.
    Stream {
        /// The reader, past the prelude; taken by the one read (boxed:
        /// the reader's buffers and state are large).
        reader: std::sync::Mutex<Option<Box<StreamedArchive>>>,
        /// Namespaces and metadata announced up front.
        prelude: Vec<crate::backup::format::PreludeEntry>,
    },
}

/// The reader of an archive streamed from a store.
pub type StreamedArchive = ArchiveReader<MaybeGzip<Box<dyn std::io::Read + Send>>>;

/// A backup opened for reading.
#[derive(Debug)]
pub struct OpenedBackup {
    /// Where it was found.
    pub location: BackupLocation,
    /// What it is.
    opened: Opened,
    /// The extraction folder of a `.tar.gz`; removed on drop.
    _extracted: Option<tempfile::TempDir>,
    /// Whether a directory was given at database level (its folder name is
    /// then not the database name: `mongorestore --db X path/folder/`).
    pub database_level: bool,
}

/// What a reader thread sends: documents of one namespace, in order.
#[derive(Debug)]
pub enum ReadEvent {
    /// A batch of documents (never empty).
    Batch {
        /// The namespace.
        namespace: Namespace,
        /// The documents, byte for byte.
        documents: Vec<RawDocumentBuf>,
    },
    /// All documents of a namespace were read and checked.
    End {
        /// The namespace.
        namespace: Namespace,
    },
}

/// Limits of one batch handed to an inserter: about 1000 documents or 8 MB.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most documents per batch.
    pub documents: usize,
    /// Most bytes per batch (a batch holds at least one document).
    pub bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            documents: 1000,
            bytes: 8 * 1024 * 1024,
        }
    }
}

impl OpenedBackup {
    /// Opens a backup; a `.tar.gz` is extracted first.
    pub fn open(location: &BackupLocation) -> Result<Self, BuiltinError> {
        match location {
            BackupLocation::Directory { path, .. } => Self::open_directory(location.clone(), path, None),
            BackupLocation::Archive { path, .. } => {
                let reader = ArchiveReader::open_file(path).map_err(archive_error)?;
                Ok(Self {
                    location: location.clone(),
                    opened: Opened::Archive {
                        path: path.clone(),
                        prelude: reader.prelude().to_vec(),
                    },
                    _extracted: None,
                    database_level: false,
                })
            }
            BackupLocation::TarGz { path } => {
                let extracted = extract_dump(path).map_err(|source| BuiltinError::Extract {
                    source: Box::new(source),
                })?;
                let root = location_path(&extracted.location).to_owned();
                Self::open_directory(location.clone(), &root, Some(extracted.folder))
            }
        }
    }

    /// Opens an archive read from `reader` (plain or gzip), named by
    /// `location` in messages (the object's address), reading its header
    /// and prelude now; blocking. Its documents can be read once.
    pub fn open_stream(location: BackupLocation, reader: Box<dyn std::io::Read + Send>) -> Result<Self, BuiltinError> {
        let origin = Origin::file(location_path(&location));
        let reader = ArchiveReader::detect(reader, origin).map_err(archive_error)?;
        let prelude = reader.prelude().to_vec();
        Ok(Self {
            location,
            opened: Opened::Stream {
                reader: std::sync::Mutex::new(Some(Box::new(reader))),
                prelude,
            },
            _extracted: None,
            database_level: false,
        })
    }

    fn open_directory(
        location: BackupLocation,
        path: &Path,
        extracted: Option<tempfile::TempDir>,
    ) -> Result<Self, BuiltinError> {
        let directory = DumpDirectory::open(path).map_err(|source| BuiltinError::Read {
            what: "the dump folder".to_owned(),
            source: Box::new(source),
        })?;
        let database_level = directory.databases.len() == 1 && directory.databases[0].path == directory.root;
        Ok(Self {
            location,
            opened: Opened::Directory(directory),
            _extracted: extracted,
            database_level,
        })
    }

    /// The path of the backup as given.
    pub fn path(&self) -> &Path {
        location_path(&self.location)
    }

    /// Database names the backup holds, sorted.
    pub fn databases(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .collections()
            .into_iter()
            .map(|found| found.namespace.database)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every collection, sorted by namespace.
    pub fn collections(&self) -> Vec<FoundCollection> {
        let mut found: Vec<FoundCollection> = match &self.opened {
            Opened::Directory(directory) => directory
                .collections()
                .filter_map(|collection| {
                    collection.bson_file.as_ref().map(|file| FoundCollection {
                        namespace: collection.namespace.clone(),
                        file: file.clone(),
                        metadata_file: collection.metadata_file.clone(),
                    })
                })
                .collect(),
            Opened::Archive { path, prelude } => prelude
                .iter()
                .map(|entry| FoundCollection {
                    namespace: entry.namespace.clone(),
                    file: path.clone(),
                    metadata_file: entry.metadata.as_ref().map(|_| path.clone()),
                })
                .collect(),
            Opened::Stream { prelude, .. } => {
                let path = location_path(&self.location);
                prelude
                    .iter()
                    .map(|entry| FoundCollection {
                        namespace: entry.namespace.clone(),
                        file: path.to_owned(),
                        metadata_file: entry.metadata.as_ref().map(|_| path.to_owned()),
                    })
                    .collect()
            }
        };
        found.sort_by(|left, right| left.namespace.cmp(&right.namespace));
        found
    }

    /// The metadata of a collection, `None` when the backup has none.
    pub fn metadata(&self, namespace: &Namespace) -> Result<Option<CollectionMetadata>, BuiltinError> {
        match &self.opened {
            Opened::Directory(directory) => match directory.collection(namespace) {
                Some(collection) => collection.read_metadata().map_err(|source| BuiltinError::Read {
                    what: format!("the metadata of {namespace}"),
                    source: Box::new(source),
                }),
                None => Ok(None),
            },
            Opened::Archive { prelude, .. } | Opened::Stream { prelude, .. } => Ok(prelude
                .iter()
                .find(|entry| &entry.namespace == namespace)
                .and_then(|entry| entry.metadata.clone())),
        }
    }

    /// Whether reading is one stream for all namespaces (an archive), so
    /// that one reader must serve every namespace at once.
    pub fn is_single_stream(&self) -> bool {
        matches!(self.opened, Opened::Archive { .. } | Opened::Stream { .. })
    }

    /// Reads the documents of `namespaces` in batches (the format layer
    /// checks every document's framing and elements); blocking. `send` returns `false`
    /// to stop early (the receiver went away).
    pub fn read_documents(
        &self,
        namespaces: &[Namespace],
        limits: BatchLimits,
        send: &mut dyn FnMut(ReadEvent) -> bool,
    ) -> Result<(), BuiltinError> {
        match &self.opened {
            Opened::Directory(directory) => Self::read_directory(directory, namespaces, limits, send),
            Opened::Archive { path, .. } => {
                let mut reader = ArchiveReader::open_file(path).map_err(archive_error)?;
                Self::read_archive(&mut reader, namespaces, limits, send)
            }
            Opened::Stream { reader, .. } => {
                let taken = reader.lock().ok().and_then(|mut reader| reader.take());
                let Some(mut reader) = taken else {
                    return Err(BuiltinError::StreamConsumed {
                        path: self.path().to_owned(),
                    });
                };
                Self::read_archive(&mut *reader, namespaces, limits, send)
            }
        }
    }

    /// [`OpenedBackup::read_documents`] for a dump folder: one file per namespace.
    fn read_directory(
        directory: &DumpDirectory,
        namespaces: &[Namespace],
        limits: BatchLimits,
        send: &mut dyn FnMut(ReadEvent) -> bool,
    ) -> Result<(), BuiltinError> {
        for namespace in namespaces {
            let Some(collection) = directory.collection(namespace) else {
                continue;
            };
            let read_error = |source| BuiltinError::Read {
                what: namespace.to_string(),
                source: Box::new(source),
            };
            let mut stream = collection.open_documents().map_err(read_error)?;
            let mut batch = Batcher::new(limits);
            while let Some(streamed) = stream.next_document().map_err(read_error)? {
                if let Some(full) = batch.push(streamed.document) {
                    let event = ReadEvent::Batch {
                        namespace: namespace.clone(),
                        documents: full,
                    };
                    if !send(event) {
                        return Ok(());
                    }
                }
            }
            if let Some(rest) = batch.take() {
                let event = ReadEvent::Batch {
                    namespace: namespace.clone(),
                    documents: rest,
                };
                if !send(event) {
                    return Ok(());
                }
            }
            if !send(ReadEvent::End {
                namespace: namespace.clone(),
            }) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// [`OpenedBackup::read_documents`] for an archive: one stream, batches
    /// per namespace.
    fn read_archive<R: std::io::Read>(
        reader: &mut ArchiveReader<R>,
        namespaces: &[Namespace],
        limits: BatchLimits,
        send: &mut dyn FnMut(ReadEvent) -> bool,
    ) -> Result<(), BuiltinError> {
        let mut batches: std::collections::HashMap<Namespace, Batcher> = std::collections::HashMap::new();
        while let Some(event) = reader.next_event().map_err(archive_error)? {
            match event {
                ArchiveEvent::Document {
                    namespace, document, ..
                } => {
                    if !namespaces.contains(&namespace) {
                        continue;
                    }
                    let batch = batches.entry(namespace.clone()).or_insert_with(|| Batcher::new(limits));
                    if let Some(full) = batch.push(document)
                        && !send(ReadEvent::Batch {
                            namespace,
                            documents: full,
                        })
                    {
                        return Ok(());
                    }
                }
                ArchiveEvent::EndOfNamespace { namespace, .. } => {
                    if !namespaces.contains(&namespace) {
                        continue;
                    }
                    if let Some(rest) = batches.remove(&namespace).and_then(|mut batch| batch.take())
                        && !send(ReadEvent::Batch {
                            namespace: namespace.clone(),
                            documents: rest,
                        })
                    {
                        return Ok(());
                    }
                    if !send(ReadEvent::End { namespace }) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// A format error of an archive, named by its namespace when it has one.
fn archive_error(source: FormatError) -> BuiltinError {
    let what = match &source {
        FormatError::CorruptArchive { origin, .. }
        | FormatError::ArchiveCut { origin, .. }
        | FormatError::CrcMismatch { origin, .. }
        | FormatError::TruncatedDocument { origin, .. }
        | FormatError::TruncatedLength { origin, .. }
        | FormatError::MalformedDocument { origin, .. } => origin.namespace.as_ref().map(ToString::to_string),
        _ => None,
    };
    BuiltinError::Read {
        what: what.unwrap_or_else(|| "the archive".to_owned()),
        source: Box::new(source),
    }
}

/// Groups documents into batches within [`BatchLimits`].
struct Batcher {
    limits: BatchLimits,
    documents: Vec<RawDocumentBuf>,
    bytes: usize,
}

impl Batcher {
    fn new(limits: BatchLimits) -> Self {
        Self {
            limits,
            documents: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a document; returns the previous batch when this one would not
    /// fit, or the batch itself when it reached the document limit.
    fn push(&mut self, document: RawDocumentBuf) -> Option<Vec<RawDocumentBuf>> {
        let size = document.as_bytes().len();
        let mut full = None;
        if !self.documents.is_empty() && self.bytes + size > self.limits.bytes {
            full = self.take();
        }
        self.bytes += size;
        self.documents.push(document);
        if full.is_none() && self.documents.len() >= self.limits.documents {
            full = self.take();
        }
        full
    }

    fn take(&mut self) -> Option<Vec<RawDocumentBuf>> {
        self.bytes = 0;
        (!self.documents.is_empty()).then(|| std::mem::take(&mut self.documents))
    }
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;

    use super::*;

    #[test]
    fn batches_respect_document_and_byte_limits() {
        let mut batcher = Batcher::new(BatchLimits {
            documents: 2,
            bytes: 1_000_000,
        });
        assert!(batcher.push(rawdoc! { "_id": 1 }).is_none());
        assert_eq!(batcher.push(rawdoc! { "_id": 2 }).map(|batch| batch.len()), Some(2));
        let mut by_bytes = Batcher::new(BatchLimits {
            documents: 100,
            bytes: 20,
        });
        assert!(by_bytes.push(rawdoc! { "_id": 1 }).is_none());
        // 14 + 14 bytes exceed 20: the first batch is handed over.
        assert_eq!(by_bytes.push(rawdoc! { "_id": 2 }).map(|batch| batch.len()), Some(1));
        assert_eq!(by_bytes.take().map(|batch| batch.len()), Some(1));
    }

    #[test]
    fn locates_each_shape() {
        let folder = tempfile::tempdir().unwrap();
        let archive = folder.path().join("x.archive");
        std::fs::write(&archive, [0x6d, 0xe2, 0x99, 0x81, 0, 0]).unwrap();
        // One policy with `backup::locate`: a folder is a dump only when it lists as one.
        std::fs::create_dir(folder.path().join("app")).unwrap();
        std::fs::write(folder.path().join("app/users.bson"), b"").unwrap();
        assert_eq!(
            locate_backup(&archive).unwrap(),
            BackupLocation::Archive {
                path: archive.clone(),
                gzip: false
            }
        );
        assert!(matches!(
            locate_backup(folder.path()).unwrap(),
            BackupLocation::Directory { gzip: false, .. }
        ));
        let missing = folder.path().join("nope");
        assert_eq!(
            locate_backup(&missing).unwrap_err().to_string(),
            format!("{}: cannot inspect", missing.display())
        );
    }
}
