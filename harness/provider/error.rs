//! What can go wrong while starting, faulting or tearing down deployments.

use std::path::PathBuf;

/// A provider failure, with the node or file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A variable that names a program names something else: a setting that
    /// would otherwise be ignored without a word.
    #[error("${variable} is set to {path}, which is not {expected}: unset it or point it there")]
    VariableMisnamed {
        /// The variable, e.g. `DRDRILL_FERRETDB`.
        variable: String,
        /// What it holds.
        path: std::path::PathBuf,
        /// What it should name.
        expected: String,
    },
    /// A program the deployment needs is not installed.
    #[error("{tool} not found ({looked}): run `{fix}`")]
    ToolMissing {
        /// The program, e.g. `ferretdb`.
        tool: String,
        /// Where the harness looked.
        looked: String,
        /// The command that installs it.
        fix: String,
    },
    /// A node's process could not be started at all.
    #[error("could not start {node} ({program}): {source}")]
    Spawn {
        /// The node's name.
        node: String,
        /// The program started.
        program: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A node started but did not answer `hello` in time, or exited.
    #[error("{node} did not come up within {timeout_secs} s: {reason}\n--- last lines of {log} ---\n{log_tail}")]
    NotReady {
        /// The node's name.
        node: String,
        /// The readiness timeout.
        timeout_secs: u64,
        /// Why (the process exited, or the last connection error).
        reason: String,
        /// The node's log file.
        log: String,
        /// Its last lines.
        log_tail: String,
    },
    /// The node's port is answered by another process (a server that took
    /// the port while the node was down); the node itself cannot bind it.
    #[error(
        "{node}: port {port} is answered by process {answering}, not by this node's process {own}: \
         another server took the port while the node was down\n--- last lines of {log} ---\n{log_tail}"
    )]
    PortTaken {
        /// The node's name.
        node: String,
        /// Its port.
        port: u16,
        /// The pid the answering server reports.
        answering: i64,
        /// The node's own pid.
        own: i32,
        /// The node's log file.
        log: String,
        /// Its last lines.
        log_tail: String,
    },
    /// A PostgreSQL command for the FerretDB backend failed.
    #[error("postgresql: `{command}` failed: {output}")]
    Postgres {
        /// The command line.
        command: String,
        /// Its output.
        output: String,
    },
    /// A fault or lifecycle operation does not apply in the node's state.
    #[error("{node}: cannot {operation}: {reason}")]
    InvalidState {
        /// The node's name.
        node: String,
        /// What was asked.
        operation: String,
        /// Why it cannot be done.
        reason: String,
    },
    /// No node of that name or index.
    #[error("no node {0} in this deployment")]
    NoSuchNode(String),
    /// A filesystem operation on the run folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The driver failed talking to a node.
    #[error("{node}: {source}")]
    Driver {
        /// The node's name.
        node: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The engine cannot do what the topology asks.
    #[error("not supported by engine {engine}: {what}")]
    NotSupported {
        /// The engine's name.
        engine: String,
        /// What it lacks.
        what: String,
    },
    /// The container engine failed (containers provider).
    #[error(transparent)]
    Containers(Box<super::containers::ContainerError>),
}

impl ProviderError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
