//! The on-disk formats of MongoDB's `mongodump` / `mongorestore` (Database
//! Tools 100.x): the dump directory (`<db>/<collection>.bson[.gz]` and
//! `.metadata.json[.gz]`, `prelude.json`) and the `--archive` stream
//! (optionally gzip as a whole). Readers and writers stream raw BSON bytes,
//! never re-serialized, one document in memory at a time.
//!
//! This module owns the bytes on disk only; talking to a server, choosing
//! what to dump and verifying a restore belong to the backup engines.
//!
//! The cores are sync (`Read` / `Write`): async callers run them in
//! `tokio::task::spawn_blocking`, which keeps them simple and testable.

mod archive;
mod archive_reader;
mod archive_writer;
mod base64;
mod bson_stream;
mod crc64;
mod directory;
mod directory_writer;
mod error;
mod extended_json;
mod metadata;
mod names;
mod open;

pub use archive::{ARCHIVE_FORMAT_VERSION, ARCHIVE_MAGIC, ArchiveHeader, NamespaceSummary, PreludeEntry};
pub use archive_reader::{ArchiveEvent, ArchiveReader, ArchiveVisitor, MaybeGzip, VisitorError, read_archive, visit};
pub use archive_writer::ArchiveWriter;
pub use bson_stream::{BsonStream, MAX_NESTING_DEPTH, StreamedDocument};
pub use crc64::Crc64;
pub use directory::{DumpCollection, DumpDatabase, DumpDirectory, DumpPrelude, PARTIAL_SUFFIX, read_metadata_file};
pub use directory_writer::{CollectionWriter, DirectoryWriter, WrittenCollection};
pub use error::{FormatError, MAX_DOCUMENT_BYTES, MIN_DOCUMENT_BYTES, Origin};
pub use metadata::{CollectionKind, CollectionMetadata, KNOWN_CREATE_OPTIONS};
pub use names::{
    MAX_DATABASE_NAME_BYTES, MAX_ESCAPED_NAME_BYTES, MAX_NAMESPACE_BYTES, Namespace, check_collection_name,
    check_database_name, collection_file_stem, escape_collection_name, is_truncated_stem, unescape_collection_name,
};
pub use open::{MAX_SMALL_FILE_BYTES, describe_file_type, open_regular, read_capped, read_small_file};
