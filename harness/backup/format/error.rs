//! The one error type of the format layer. Every variant says where the
//! problem is (file, namespace, byte offset) so a person can open the file
//! at that spot without rerunning anything.

use std::fmt;
use std::path::{Path, PathBuf};

use super::names::Namespace;

/// Where a stream of bytes comes from: a file, a namespace inside an
/// archive or a directory, both, or neither (an anonymous stream in tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file the bytes are read from or written to, if any.
    pub file: Option<PathBuf>,
    /// The namespace (`db.collection`) the bytes belong to, if known.
    pub namespace: Option<Namespace>,
}

impl Origin {
    /// An origin naming a file only.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            file: Some(path.into()),
            namespace: None,
        }
    }

    /// An origin naming a namespace only.
    pub fn namespace(namespace: Namespace) -> Self {
        Self {
            file: None,
            namespace: Some(namespace),
        }
    }

    /// The same origin with the namespace set.
    pub fn with_namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = Some(namespace);
        self
    }

    /// The file, if the origin names one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.namespace) {
            (Some(file), Some(namespace)) => write!(formatter, "file {} (namespace {namespace})", file.display()),
            (Some(file), None) => write!(formatter, "file {}", file.display()),
            (None, Some(namespace)) => write!(formatter, "namespace {namespace}"),
            (None, None) => formatter.write_str("stream"),
        }
    }
}

/// Errors reading or writing mongodump's on-disk formats.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading or writing the underlying file or stream failed.
    #[error("{origin}: i/o error at offset {offset}")]
    Io {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset (of the decompressed stream) where it failed.
        offset: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A gzip-compressed stream could not be decompressed.
    #[error("{origin}: bad gzip stream after {offset} decompressed bytes")]
    Gzip {
        /// Where the bytes come from.
        origin: Origin,
        /// Decompressed bytes read before the failure.
        offset: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The stream ends inside the 4-byte length of a document.
    #[error("{origin}: document at offset {offset} is cut in its length prefix ({remaining} of 4 bytes remain)")]
    TruncatedLength {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// Bytes present.
        remaining: u64,
    },
    /// The stream ends before the end a document's length declares.
    #[error("{origin}: document at offset {offset} declares {declared} bytes but only {remaining} remain")]
    TruncatedDocument {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// The length the document declares.
        declared: u32,
        /// Bytes present from the offset to the end of the stream.
        remaining: u64,
    },
    /// A document's length is below the minimum of 5 bytes or above the
    /// maximum a server accepts.
    #[error(
        "{origin}: document at offset {offset} declares an impossible length of {declared} bytes (valid: 5 to {maximum})"
    )]
    InvalidLength {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// The length the document declares.
        declared: u32,
        /// The largest length accepted.
        maximum: u32,
    },
    /// A document's last byte is not the NUL terminator.
    #[error(
        "{origin}: document at offset {offset} ({declared} bytes) does not end with a NUL byte (found {found:#04x})"
    )]
    MissingTerminator {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// The length the document declares.
        declared: u32,
        /// The byte found where the NUL should be.
        found: u8,
    },
    /// A document is framed correctly but one of its elements is not valid
    /// BSON.
    #[error("{origin}: document at offset {offset} has a malformed element at {path}")]
    MalformedDocument {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// Dotted path of the element that failed, or `(document)` when
        /// the element could not even be located.
        path: String,
        /// The cause (boxed: bson's error is large).
        #[source]
        source: Box<bson::error::Error>,
    },
    /// A `.metadata.json` (or an archive prelude's metadata) is not valid
    /// extended JSON.
    #[error("{origin}: metadata is not valid extended json")]
    MetadataSyntax {
        /// Where the metadata comes from.
        origin: Origin,
        /// The cause, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A metadata field has the wrong type.
    #[error("{origin}: metadata field `{field}` {problem}")]
    MetadataField {
        /// Where the metadata comes from.
        origin: Origin,
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value could not be converted between `Document` and raw BSON.
    #[error("{origin}: cannot encode {what} as bson")]
    Encode {
        /// Where the value was going.
        origin: Origin,
        /// What was being encoded.
        what: String,
        /// The cause (boxed: bson's error is large).
        #[source]
        source: Box<bson::error::Error>,
    },
    /// A file name is not a valid escaped collection name.
    #[error("file name `{name}` is not a valid escaped collection name: {problem}")]
    InvalidEscape {
        /// The file name (without extension).
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A folder holds no dump (no `.bson` or `.metadata.json` files in it or
    /// in its database folders).
    #[error("{path}: not a mongodump directory ({problem})")]
    NotADump {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        problem: String,
    },
    /// A file or folder could not be listed, created, renamed or opened.
    #[error("{path}: cannot {action}")]
    Filesystem {
        /// The file or folder.
        path: PathBuf,
        /// What was attempted (`open`, `create`, `rename to ...`).
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A member of a backup is not a regular file or folder (a symlink, a
    /// device, a FIFO, a socket): it is never opened through.
    #[error("{path}: is a {kind}; a backup holds only regular files and folders")]
    NotRegular {
        /// The member.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// A small file (metadata, prelude, manifest) holds more than its cap
    /// once decompressed.
    #[error("{path}: holds more than {limit} bytes, the most this file may hold")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in decompressed bytes.
        limit: u64,
    },
    /// A document nests documents or arrays deeper than MongoDB allows.
    #[error("{origin}: document at offset {offset} nests deeper than {limit} levels at {path}")]
    TooDeep {
        /// Where the bytes come from.
        origin: Origin,
        /// Byte offset of the document.
        offset: u64,
        /// Dotted path of the element at the first level too deep.
        path: String,
        /// The deepest nesting accepted.
        limit: usize,
    },
    /// A database or collection name breaks MongoDB's naming rules.
    #[error("{origin}: {what} name `{name}` is invalid: {problem}")]
    InvalidName {
        /// Where the name was read.
        origin: Origin,
        /// `database` or `collection`.
        what: &'static str,
        /// The name, escaped for display.
        name: Box<str>,
        /// The rule it breaks.
        problem: &'static str,
    },
    /// The `prelude.json` of a dump directory is not what mongodump writes.
    #[error("{path}: invalid prelude.json")]
    Prelude {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The stream does not begin with the archive magic number.
    #[error("{origin}: not a mongodump archive (magic number {found} instead of 6de29981)")]
    BadMagic {
        /// Where the bytes come from.
        origin: Origin,
        /// The first bytes found, hex.
        found: String,
    },
    /// The archive's structure is broken at a known place.
    #[error("{origin}: corrupt archive at offset {offset}: {problem}")]
    CorruptArchive {
        /// Where the bytes come from (with the namespace when known).
        origin: Origin,
        /// Byte offset of the offending block or document.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// The archive ended while a namespace was still open, or before a
    /// namespace the prelude announced was complete.
    #[error("{origin}: archive ends at offset {offset} before the namespace is complete")]
    ArchiveCut {
        /// Where the bytes come from, with the unfinished namespace.
        origin: Origin,
        /// Length of the archive (decompressed).
        offset: u64,
    },
    /// A namespace's end-of-file CRC differs from the CRC of the documents
    /// read.
    #[error("{origin}: crc mismatch at offset {offset}: archive says {expected:#018x}, documents give {actual:#018x}")]
    CrcMismatch {
        /// Where the bytes come from, with the namespace.
        origin: Origin,
        /// Byte offset of the end-of-file header.
        offset: u64,
        /// The CRC the archive declares.
        expected: u64,
        /// The CRC of the documents read.
        actual: u64,
    },
    /// An archive visitor refused an event.
    #[error("{origin}: archive visitor failed at offset {offset}")]
    Visitor {
        /// Where the bytes come from (with the namespace).
        origin: Origin,
        /// Byte offset of the event.
        offset: u64,
        /// The visitor's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A writer was used out of order (a document after the namespace
    /// ended, a namespace the prelude does not list, ...).
    #[error("{origin}: {problem}")]
    WriterMisuse {
        /// Where the bytes were going.
        origin: Origin,
        /// What was done wrong.
        problem: String,
    },
}

/// The largest document accepted: the server's 16 MiB limit for user
/// documents plus the 16 KiB it allows internally (oplog entries, the
/// tools' own headers), so a valid dump is never rejected and an absurd
/// length is refused before anything is allocated.
pub const MAX_DOCUMENT_BYTES: u32 = 16 * 1024 * 1024 + 16 * 1024;

/// The smallest document: a length and the NUL terminator.
pub const MIN_DOCUMENT_BYTES: u32 = 5;
