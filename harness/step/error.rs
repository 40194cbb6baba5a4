//! Why a step could not be carried out: one error type for every step
//! kind, each variant naming what was attempted and keeping the cause as
//! its `#[source]`. A step turns it into its outcome's message with the one
//! chain renderer ([`crate::error::chain`]), redacted, at the boundary.

use std::path::PathBuf;

/// A step could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The deployment refused or failed an operation (a fault, a restart).
    #[error("{operation}")]
    Deployment {
        /// What was asked (`kill node-1`, `pause node-0` ...).
        operation: String,
        /// The provider's error (boxed: it is large).
        #[source]
        source: Box<crate::provider::ProviderError>,
    },
    /// The driver failed talking to the deployment.
    #[error("{operation}")]
    Driver {
        /// What was asked (`drop database shepherd_cms` ...).
        operation: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// A backup could not be read as a dump.
    #[error("cannot read the backup at {path}")]
    Backup {
        /// The file or folder read.
        path: PathBuf,
        /// The format reader's error (boxed: it is large).
        #[source]
        source: Box<crate::backup::format::FormatError>,
    },
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The dataset profile could not be loaded.
    #[error("dataset profile {name}")]
    Profile {
        /// The profile's name or file.
        name: String,
        /// The dataset module's error (boxed: it is large).
        #[source]
        source: Box<crate::dataset::DatasetError>,
    },
    /// The team's command could not be started.
    #[error("cannot run `{command}`")]
    Command {
        /// The command line.
        command: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The step does not apply to this drill (no backup to tamper with, no
    /// primary, a deployment the harness did not start).
    #[error("{0}")]
    NotApplicable(String),
}

impl StepError {
    /// A driver error with what was being done.
    pub fn driver(operation: impl Into<String>) -> impl FnOnce(mongodb::error::Error) -> Self {
        let operation = operation.into();
        move |source| Self::Driver { operation, source }
    }

    /// A provider error with what was being done.
    pub fn deployment(operation: impl Into<String>) -> impl FnOnce(crate::provider::ProviderError) -> Self {
        let operation = operation.into();
        move |source| Self::Deployment {
            operation,
            source: Box::new(source),
        }
    }

    /// This error and its causes on one line, credentials redacted: what a
    /// step's outcome says.
    pub fn render(&self) -> String {
        crate::uri::redact(&crate::error::chain(self))
    }
}
