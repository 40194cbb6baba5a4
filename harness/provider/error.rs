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
    #[error("could not start {node} ({program})")]
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
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The driver failed talking to a node.
    #[error("{node}")]
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
    /// The provider cannot do this at all (an external deployment cannot
    /// be killed, only containers can be disconnected): one variant, one
    /// message shape, with what to do instead.
    #[error("the {provider} provider cannot {operation}: {hint}")]
    Unsupported {
        /// The provider's name.
        provider: &'static str,
        /// What was asked.
        operation: NodeOperation,
        /// What to do instead.
        hint: &'static str,
    },
    /// The container engine failed (containers provider).
    #[error(transparent)]
    Containers(Box<super::containers::ContainerError>),
}

/// The operations a provider may not offer, named as messages say them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOperation {
    /// Name one node's URI.
    NameNode,
    /// Start another deployment like this one.
    StartFresh,
    /// SIGKILL a node.
    Kill,
    /// Stop a node cleanly.
    Stop,
    /// Pause a node.
    Pause,
    /// End a pause.
    Resume,
    /// Bring a node back after a fault.
    EnsureRunning,
    /// Remove a node's data.
    Wipe,
    /// Cut a node off the network.
    Disconnect,
    /// Remove a node with its data.
    Remove,
    /// Run a command inside a node.
    Exec,
    /// Copy a file out of a node.
    CopyFileOut,
    /// Promote a standby and move the endpoint to it.
    Failover,
}

impl NodeOperation {
    /// What to do instead, when the provider gives no better advice.
    pub fn hint(self) -> &'static str {
        match self {
            Self::NameNode
            | Self::Kill
            | Self::Stop
            | Self::Pause
            | Self::Resume
            | Self::EnsureRunning
            | Self::Wipe => {
                "the harness did not start this deployment, so it cannot name or fault its nodes \
                 (use provider = \"local\" or \"containers\")"
            }
            Self::StartFresh => "this provider has no way to start another deployment; name a target URI",
            Self::Disconnect | Self::Remove | Self::Exec | Self::CopyFileOut => {
                "only the containers provider can (run with provider = \"containers\")"
            }
            Self::Failover => {
                "only the managed provider has standbys to promote (provider = \"managed\", standbys = 1)"
            }
        }
    }
}

impl std::fmt::Display for NodeOperation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::NameNode => "name a node",
            Self::StartFresh => "start a fresh node",
            Self::Kill => "kill a node",
            Self::Stop => "stop a node",
            Self::Pause => "pause a node",
            Self::Resume => "resume a node",
            Self::EnsureRunning => "restart a node",
            Self::Wipe => "wipe a node's data",
            Self::Disconnect => "disconnect a node from the network",
            Self::Remove => "remove a node with its volume",
            Self::Exec => "run a command inside a node's container",
            Self::CopyFileOut => "copy a file out of a node's container",
            Self::Failover => "fail over to a standby",
        })
    }
}

impl ProviderError {
    /// `provider` cannot do `operation`; the operation's own hint says
    /// what to do instead.
    pub fn unsupported(provider: &'static str, operation: NodeOperation) -> Self {
        Self::unsupported_because(provider, operation, operation.hint())
    }

    /// `provider` cannot do `operation`, with a hint of its own.
    pub fn unsupported_because(provider: &'static str, operation: NodeOperation, hint: &'static str) -> Self {
        Self::Unsupported {
            provider,
            operation,
            hint,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error and its causes on one line, for the text fields (`reason`) of
/// the errors above, which carry a lower layer's typed error as words: the
/// crate's one chain renderer.
pub(crate) use crate::error::chain;
