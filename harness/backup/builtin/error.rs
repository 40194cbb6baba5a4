//! The one error type of the builtin engine. Every variant names what a
//! person needs to find the problem without rerunning anything: the file,
//! the namespace, the byte offset (through the format layer's error) or the
//! `_id` of the document a server refused.

use std::path::PathBuf;

use crate::backup::format::FormatError;

/// Why a builtin dump or restore could not complete.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// The connection string was refused by the driver.
    #[error("cannot connect to {uri}")]
    Connect {
        /// The URI, redacted.
        uri: String,
        /// The cause.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// A command sent to the server failed (listing, creating, dropping).
    #[error("{namespace}: {action} failed")]
    Server {
        /// `db` or `db.collection`.
        namespace: String,
        /// What was attempted (`listCollections`, `drop`, ...).
        action: String,
        /// The cause.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// Reading documents from the server failed part-way through a dump.
    #[error("dump of {namespace} failed after {documents} documents (last _id {last_id})")]
    DumpCursor {
        /// The collection being dumped.
        namespace: String,
        /// Documents read before the failure.
        documents: u64,
        /// The `_id` of the last document read, or `none`.
        last_id: String,
        /// The cause.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// Writing the backup failed (full disk, permissions, ...).
    #[error("cannot write the backup of {namespace}")]
    Write {
        /// The collection being written, or the whole archive.
        namespace: String,
        /// The cause, naming the file and offset (boxed: it is large).
        #[source]
        source: Box<FormatError>,
    },
    /// A streamed archive was asked for its documents a second time: a
    /// stream is read once.
    #[error("{path}: the streamed archive was already read (a stream is read once)")]
    StreamConsumed {
        /// The object streamed.
        path: PathBuf,
    },
    /// Reading the backup failed (truncated, corrupt, wrong gzip, ...).
    #[error("cannot read {what} from the backup")]
    Read {
        /// `db.collection`, or `the archive` when no namespace is known.
        what: String,
        /// The cause, naming the file and offset (boxed: it is large).
        #[source]
        source: Box<FormatError>,
    },
    /// The backup does not hold the database asked for.
    #[error("backup {path} holds no database `{wanted}` (it holds: {found})")]
    WrongDatabase {
        /// The backup.
        path: PathBuf,
        /// The database asked for.
        wanted: String,
        /// The databases it does hold, comma separated.
        found: String,
    },
    /// A collection asked for is not in the backup.
    #[error("backup {path} holds no collection `{wanted}` in database `{database}` (it holds: {found})")]
    MissingCollection {
        /// The backup.
        path: PathBuf,
        /// The database.
        database: String,
        /// The collection asked for.
        wanted: String,
        /// The collections it does hold, comma separated.
        found: String,
    },
    /// Inserting a batch failed for a reason other than per-document write
    /// errors (the server went away, a timeout).
    #[error("restore of {namespace} failed at the batch starting with _id {first_id} ({documents} documents)")]
    Insert {
        /// The target namespace.
        namespace: String,
        /// `_id` of the batch's first document.
        first_id: String,
        /// Documents in the batch.
        documents: usize,
        /// The cause.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// A `.tar.gz` backup could not be extracted (a member breaks the
    /// backup rules, a cap was passed, the stream is broken).
    #[error("cannot extract the backup")]
    Extract {
        /// The tar and member, and why.
        #[source]
        source: Box<crate::backup::extract::ExtractError>,
    },
    /// The path holds no backup (or one whose shape breaks the rules).
    #[error("cannot locate the backup")]
    Locate {
        /// What the path holds instead.
        #[source]
        source: Box<crate::backup::locate::LocateError>,
    },
    /// A file or folder could not be created, renamed or inspected.
    #[error("{path}: cannot {action}")]
    Filesystem {
        /// The file or folder.
        path: PathBuf,
        /// What was attempted.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest could not be written beside the backup.
    #[error("cannot write the manifest of {path}")]
    Manifest {
        /// The backup.
        path: PathBuf,
        /// The cause.
        #[source]
        source: crate::backup::manifest::ManifestError,
    },
    /// A background task panicked or was cancelled.
    #[error("{what}: background task failed")]
    Task {
        /// What the task was doing.
        what: String,
        /// The cause.
        #[source]
        source: tokio::task::JoinError,
    },
}
