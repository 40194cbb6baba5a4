//! Why a report file could not be written.

use std::path::PathBuf;

/// A report file that could not be written, with the path it was meant for.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report folder could not be created.
    #[error("cannot create report folder {path}")]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written or moved into place.
    #[error("cannot write report file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The report could not be turned into JSON.
    #[error("cannot serialize the report for {path}")]
    Json {
        /// The file it was meant for.
        path: PathBuf,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// The JUnit XML could not be produced.
    #[error("cannot produce JUnit XML for {path}")]
    Junit {
        /// The file it was meant for.
        path: PathBuf,
        /// What quick-junit said.
        #[source]
        source: quick_junit::SerializeError,
    },
}
