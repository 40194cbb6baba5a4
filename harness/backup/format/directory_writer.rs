//! Writing a dump directory that the real mongorestore reads:
//! `<root>/<db>/<escaped>.bson[.gz]` and `<escaped>.metadata.json[.gz]`.
//!
//! Every file is written under a `.partial` name, flushed to disk and only
//! then renamed, so a crash or a full disk never leaves a file that looks
//! complete; the data file is renamed before the metadata file, so a
//! metadata file is present only when its collection is whole.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bson::raw::RawDocument;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::directory::{DumpPrelude, PARTIAL_SUFFIX};
use super::error::{FormatError, MAX_DOCUMENT_BYTES, Origin};
use super::metadata::CollectionMetadata;
use super::names::{Namespace, collection_file_stem};

/// The longest file name common file systems accept.
const MAX_FILE_NAME_BYTES: usize = 255;

/// Creates dump directories.
#[derive(Debug, Clone)]
pub struct DirectoryWriter {
    /// The `--out` folder; database folders go inside it.
    root: PathBuf,
    /// Whether files are gzip-compressed (`mongodump --gzip`).
    gzip: bool,
}

/// What a finished collection left on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenCollection {
    /// The namespace written.
    pub namespace: Namespace,
    /// The final data file.
    pub bson_file: PathBuf,
    /// The final metadata file.
    pub metadata_file: PathBuf,
    /// Documents written.
    pub documents: u64,
    /// Uncompressed BSON bytes written.
    pub bytes: u64,
}

fn filesystem_error(path: &Path, action: &str) -> impl FnOnce(std::io::Error) -> FormatError {
    let path = path.to_owned();
    let action = action.to_owned();
    move |source| FormatError::Filesystem { path, action, source }
}

/// The temporary name of a file: `<name>.partial`, cut so that it stays
/// within 255 bytes (names of long collections already use 255).
fn partial_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let keep = name.len().min(MAX_FILE_NAME_BYTES - PARTIAL_SUFFIX.len());
    // Escaped names are ASCII, so any byte index is a character boundary.
    let cut = if name.is_char_boundary(keep) {
        &name[..keep]
    } else {
        &name
    };
    final_path.with_file_name(format!("{cut}{PARTIAL_SUFFIX}"))
}

/// Writes `bytes` to `path` through a partial file, synced, then renamed.
fn write_file_atomically(path: &Path, bytes: &[u8], gzip: bool) -> Result<(), FormatError> {
    let partial = partial_path(path);
    let file = File::create(&partial).map_err(filesystem_error(&partial, "create"))?;
    let write = |file: File| -> std::io::Result<()> {
        let file = if gzip {
            let mut encoder = GzEncoder::new(file, Compression::default());
            encoder.write_all(bytes)?;
            encoder.finish()?
        } else {
            let mut file = file;
            file.write_all(bytes)?;
            file
        };
        file.sync_all()
    };
    if let Err(source) = write(file) {
        let _ = fs::remove_file(&partial);
        return Err(FormatError::Io {
            origin: Origin::file(&partial),
            offset: 0,
            source,
        });
    }
    fs::rename(&partial, path).map_err(filesystem_error(&partial, &format!("rename to {}", path.display())))
}

impl DirectoryWriter {
    /// A writer into `root` (created if missing).
    pub fn create(root: impl Into<PathBuf>, gzip: bool) -> Result<Self, FormatError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(filesystem_error(&root, "create"))?;
        Ok(Self { root, gzip })
    }

    /// The dump root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether files are gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The folder of a database.
    pub fn database_folder(&self, database: &str) -> PathBuf {
        self.root.join(database)
    }

    /// Writes `prelude.json[.gz]`: in the database folder for a one-database
    /// dump (as `mongodump --db` does), at the root otherwise.
    pub fn write_prelude(&self, database: Option<&str>, prelude: &DumpPrelude) -> Result<PathBuf, FormatError> {
        let folder = match database {
            Some(database) => self.database_folder(database),
            None => self.root.clone(),
        };
        fs::create_dir_all(&folder).map_err(filesystem_error(&folder, "create"))?;
        let name = if self.gzip { "prelude.json.gz" } else { "prelude.json" };
        let path = folder.join(name);
        // Two plain strings cannot fail to serialize.
        let text = serde_json::to_vec(prelude).unwrap_or_default();
        write_file_atomically(&path, &text, self.gzip)?;
        Ok(path)
    }

    /// Starts a collection's files. Documents go to a partial file until
    /// [`CollectionWriter::finish`].
    pub fn collection(&self, namespace: &Namespace) -> Result<CollectionWriter, FormatError> {
        let folder = self.database_folder(&namespace.database);
        fs::create_dir_all(&folder).map_err(filesystem_error(&folder, "create"))?;
        let stem = collection_file_stem(&namespace.collection);
        let extension = if self.gzip { ".gz" } else { "" };
        let bson_file = folder.join(format!("{stem}.bson{extension}"));
        let metadata_file = folder.join(format!("{stem}.metadata.json{extension}"));
        let partial_bson = partial_path(&bson_file);
        let file = File::create(&partial_bson).map_err(filesystem_error(&partial_bson, "create"))?;
        let buffered = BufWriter::with_capacity(256 * 1024, file);
        let output = if self.gzip {
            Output::Gzip(GzEncoder::new(buffered, Compression::default()))
        } else {
            Output::Plain(buffered)
        };
        Ok(CollectionWriter {
            namespace: namespace.clone(),
            folder,
            bson_file,
            metadata_file,
            partial_bson,
            output: Some(output),
            gzip: self.gzip,
            documents: 0,
            bytes: 0,
        })
    }
}

/// The open data file of a collection.
enum Output {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(writer) => writer.write_all(bytes),
            Output::Gzip(writer) => writer.write_all(bytes),
        }
    }

    /// Ends the gzip stream, flushes and syncs the file.
    fn finish(self) -> std::io::Result<()> {
        let buffered = match self {
            Output::Plain(writer) => writer,
            Output::Gzip(writer) => writer.finish()?,
        };
        let file = buffered.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()
    }
}

/// One collection being written. Dropping it without
/// [`finish`](Self::finish) removes the partial file.
pub struct CollectionWriter {
    /// The namespace, named in errors.
    namespace: Namespace,
    /// The database folder, synced after the renames.
    folder: PathBuf,
    /// Final data file name.
    bson_file: PathBuf,
    /// Final metadata file name.
    metadata_file: PathBuf,
    /// Where the data goes until it is complete.
    partial_bson: PathBuf,
    /// `None` once finished (or after a failure), so `Drop` knows.
    output: Option<Output>,
    /// Whether the metadata file is gzip too.
    gzip: bool,
    /// Documents written so far.
    documents: u64,
    /// Uncompressed bytes written so far (the offset of the next document).
    bytes: u64,
}

impl std::fmt::Debug for CollectionWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CollectionWriter")
            .field("namespace", &self.namespace)
            .field("partial_bson", &self.partial_bson)
            .field("documents", &self.documents)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl CollectionWriter {
    fn origin(&self) -> Origin {
        Origin::file(&self.partial_bson).with_namespace(self.namespace.clone())
    }

    /// Appends one document's bytes, unchanged.
    pub fn write_document(&mut self, document: &RawDocument) -> Result<(), FormatError> {
        let bytes = document.as_bytes();
        if bytes.len() > MAX_DOCUMENT_BYTES as usize {
            return Err(FormatError::WriterMisuse {
                origin: self.origin(),
                problem: format!(
                    "document {} is {} bytes, more than the {MAX_DOCUMENT_BYTES} a restore accepts",
                    self.documents,
                    bytes.len()
                ),
            });
        }
        let Some(output) = self.output.as_mut() else {
            return Err(FormatError::WriterMisuse {
                origin: self.origin(),
                problem: "write after a failed write".to_owned(),
            });
        };
        if let Err(source) = output.write_all(bytes) {
            // A half-written document must not be followed by more.
            self.output = None;
            let _ = fs::remove_file(&self.partial_bson);
            return Err(FormatError::Io {
                origin: self.origin(),
                offset: self.bytes,
                source,
            });
        }
        self.documents += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Documents written so far.
    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// Completes the data file, writes the metadata file, and renames both
    /// to their final names (data first).
    pub fn finish(mut self, metadata: &CollectionMetadata) -> Result<WrittenCollection, FormatError> {
        let origin = self.origin();
        let Some(output) = self.output.take() else {
            return Err(FormatError::WriterMisuse {
                origin,
                problem: "finish after a failed write".to_owned(),
            });
        };
        if let Err(source) = output.finish() {
            let _ = fs::remove_file(&self.partial_bson);
            return Err(FormatError::Io {
                origin,
                offset: self.bytes,
                source,
            });
        }
        let text = metadata.to_json(&Origin::file(&self.metadata_file).with_namespace(self.namespace.clone()))?;
        fs::rename(&self.partial_bson, &self.bson_file).map_err(filesystem_error(
            &self.partial_bson,
            &format!("rename to {}", self.bson_file.display()),
        ))?;
        write_file_atomically(&self.metadata_file, text.as_bytes(), self.gzip)?;
        // Make the renames themselves durable.
        if let Ok(folder) = File::open(&self.folder) {
            let _ = folder.sync_all();
        }
        Ok(WrittenCollection {
            namespace: self.namespace.clone(),
            bson_file: self.bson_file.clone(),
            metadata_file: self.metadata_file.clone(),
            documents: self.documents,
            bytes: self.bytes,
        })
    }
}

impl Drop for CollectionWriter {
    fn drop(&mut self) {
        if self.output.take().is_some() {
            // Abandoned: leave nothing that could be mistaken for data.
            let _ = fs::remove_file(&self.partial_bson);
        }
    }
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;

    use super::super::directory::DumpDirectory;
    use super::*;

    #[test]
    fn writes_files_only_when_complete() {
        let folder = tempfile::tempdir().unwrap();
        let writer = DirectoryWriter::create(folder.path().join("out"), false).unwrap();
        let namespace = Namespace::new("app", "weird name%x");
        let mut collection = writer.collection(&namespace).unwrap();
        collection.write_document(&rawdoc! { "_id": 1 }).unwrap();
        let database = folder.path().join("out/app");
        let names = |path: &Path| -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&database), ["weird+name%25x.bson.partial"]);
        let written = collection
            .finish(&CollectionMetadata::collection("weird name%x"))
            .unwrap();
        assert_eq!(written.documents, 1);
        assert_eq!(
            names(&database),
            ["weird+name%25x.bson", "weird+name%25x.metadata.json"]
        );

        let dump = DumpDirectory::open(folder.path().join("out")).unwrap();
        let collection = dump.collection(&namespace).unwrap();
        let documents: Vec<_> = collection.open_documents().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(documents[0].document, rawdoc! { "_id": 1 });
        assert_eq!(
            collection.read_metadata().unwrap().unwrap(),
            CollectionMetadata::collection("weird name%x")
        );
    }

    #[test]
    fn abandoned_collections_leave_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let writer = DirectoryWriter::create(folder.path(), true).unwrap();
        let mut collection = writer.collection(&Namespace::new("app", "c")).unwrap();
        collection.write_document(&rawdoc! { "_id": 1 }).unwrap();
        drop(collection);
        assert_eq!(fs::read_dir(folder.path().join("app")).unwrap().count(), 0);
    }

    #[test]
    fn partial_names_stay_within_255_bytes() {
        let stem = collection_file_stem(&"n".repeat(300));
        let path = PathBuf::from(format!("/dump/db/{stem}.metadata.json.gz"));
        let partial = partial_path(&path);
        let name = partial.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 255);
        assert!(name.ends_with(".partial"));
        assert_ne!(
            partial_path(&PathBuf::from(format!("/dump/db/{stem}.bson.gz"))),
            partial
        );
        assert_eq!(partial_path(Path::new("/d/a.bson")), Path::new("/d/a.bson.partial"));
    }
}
