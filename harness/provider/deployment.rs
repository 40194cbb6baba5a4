//! The two traits every provider implements, and the node vocabulary they
//! share. [`Deployment`] says what a deployment is (its URIs, engine, node
//! count) and ends it; [`NodeFaults`] injects faults into its nodes. Every
//! fault defaults to [`ProviderError::Unsupported`], so a provider
//! implements only what it can really do and says so for the rest.
//!
//! The traits use `async-trait`: the runner holds whichever deployment it
//! was given as one `Box<dyn Deployment>` and never matches on the
//! provider, and native `async fn` in traits is not dyn-compatible. The
//! cost is one boxed future per call, on operations that take milliseconds
//! to seconds (a `hello`, a signal, an engine API call). The futures are
//! not `Send` (`?Send`): testcontainers' exec and copy futures are not, and
//! a drill runs its steps in order on the task that started it.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::error::{NodeOperation, ProviderError};
use super::{Backend, Engine};
use crate::uri::MongoUri;

/// What a node is doing, as the harness knows it: the same words for local
/// processes and containers, in reports and `serve` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Answering.
    Running,
    /// Frozen by the cgroup freezer (as `docker pause`), or stopped by
    /// SIGSTOP where no freezer can be written: it answers nothing.
    Paused,
    /// Not running (killed, stopped, exited or never started).
    Down,
    /// Removed together with its data (a container and its volume).
    Removed,
}

impl NodeState {
    /// `running`, `paused`, `down`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Down => "down",
            Self::Removed => "removed",
        }
    }
}

impl std::fmt::Display for NodeState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Lets a state be compared with its name, as output and tests show it.
impl PartialEq<&str> for NodeState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a node is in its replica set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// A server holding data (every node outside a replica set).
    Data,
    /// A replica-set arbiter: votes, holds no data.
    Arbiter,
}

/// What a command run inside a node printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code, when the engine reports one.
    pub code: Option<i64>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// A deployment a drill runs against, whichever provider started it (or
/// found it). Whoever holds it owns it: [`Deployment::teardown`] ends what
/// the provider started, and the provider's `Drop` is the fallback.
#[async_trait::async_trait(?Send)]
pub trait Deployment: NodeFaults + std::fmt::Debug {
    /// `ferretdb over sqlite, 1 node(s), local processes` and the like.
    fn describe(&self) -> String;

    /// The deployment's URI (credentials inside; print only through
    /// `Display`).
    fn uri(&self) -> MongoUri;

    /// The connection string of node `index` alone (direct connection).
    fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::NameNode))
    }

    /// How many nodes the harness started, an arbiter included (`None` when
    /// it started none).
    fn node_count(&self) -> Option<usize> {
        None
    }

    /// The engine, when the harness started it.
    fn engine(&self) -> Option<Engine> {
        None
    }

    /// FerretDB's backend, when the harness started it.
    fn backend(&self) -> Option<Backend> {
        None
    }

    /// The image the nodes run, for a provider that runs images.
    fn image(&self) -> Option<String> {
        None
    }

    /// Starts another deployment like this one, empty: a fresh node to
    /// restore into.
    async fn start_fresh(&self, run_id: &str) -> Result<Box<dyn Deployment>, ProviderError> {
        let _ = run_id;
        Err(self.unsupported(NodeOperation::StartFresh))
    }

    /// Promotes a standby and moves the application's endpoint to it
    /// (the managed provider); the rest cannot.
    async fn fail_over(
        &mut self,
        request: &super::failover::FailoverRequest,
    ) -> Result<super::failover::Promotion, ProviderError> {
        let _ = request;
        Err(self.unsupported(NodeOperation::Failover))
    }

    /// The environment a runbook's failover command gets to find the
    /// standby it promotes (`DRDRILL_STANDBY_PGDATA` and the like); empty
    /// for a provider without standbys.
    fn failover_env(&self, site: Option<usize>) -> Vec<(String, String)> {
        let _ = site;
        Vec::new()
    }

    /// Its storage snapshots and point-in-time restores (the managed
    /// provider); `None` for the rest.
    fn snapshots(&self) -> Option<&dyn super::snapshot::StorageSnapshots> {
        None
    }

    /// Ends what the provider started (an existing deployment is left
    /// alone); a kept one is left in place and the text says how to remove
    /// it.
    async fn teardown(self: Box<Self>) -> Option<String>;
}

/// The faults a provider can inject into node `index`. Each one it cannot
/// inject answers [`ProviderError::Unsupported`] by default.
#[async_trait::async_trait(?Send)]
pub trait NodeFaults: Send + Sync {
    /// The provider's name (`local`, `containers` ...), for messages.
    fn provider_name(&self) -> &'static str;

    /// The error of an operation this provider cannot do.
    fn unsupported(&self, operation: NodeOperation) -> ProviderError {
        ProviderError::unsupported(self.provider_name(), operation)
    }

    /// SIGKILL to the node's server: the abrupt crash of a disaster.
    async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Kill))
    }

    /// Clean shutdown of the node.
    async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Stop))
    }

    /// Pauses the node (it stays, answering nothing) and says how.
    async fn pause(&mut self, index: usize) -> Result<String, ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Pause))
    }

    /// Ends a pause of the node.
    async fn resume(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Resume))
    }

    /// Brings the node back from whatever fault took it down (restart,
    /// resume, reconnect, recreate); `true` when it had to.
    async fn ensure_running(&mut self, index: usize) -> Result<bool, ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::EnsureRunning))
    }

    /// Stops the node and removes its data: the disk that was lost.
    async fn wipe(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Wipe))
    }

    /// Cuts the node off the network.
    async fn disconnect(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Disconnect))
    }

    /// Removes the node together with its data.
    async fn remove(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(self.unsupported(NodeOperation::Remove))
    }

    /// Runs `argv` inside the node and waits up to `timeout` for it.
    async fn exec(&self, index: usize, argv: &[String], timeout: Duration) -> Result<ExecOutput, ProviderError> {
        let _ = (index, argv, timeout);
        Err(self.unsupported(NodeOperation::Exec))
    }

    /// Copies the regular file `node_path` out of the node to `host_path`.
    async fn copy_file_out(&self, index: usize, node_path: &str, host_path: &Path) -> Result<(), ProviderError> {
        let _ = (index, node_path, host_path);
        Err(self.unsupported(NodeOperation::CopyFileOut))
    }
}
