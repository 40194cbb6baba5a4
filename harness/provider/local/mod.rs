//! The local provider: deployments of server processes on this machine.
//! FerretDB over SQLite (the embedded default) or over a private PostgreSQL
//! cluster, or `mongod` when one is installed, as independent servers or a
//! replica set (with an arbiter when asked). Each node is a child process
//! on a free 127.0.0.1 port with its own data folder under the run's folder.
//!
//! It owns those processes, folders and its run record; it never touches a
//! process or folder it did not create, and never disconnects or removes
//! nodes (no network of its own): those faults answer `Unsupported`.

mod deployment;
pub mod freezer;
mod node;
mod provider;

pub use crate::provider::postgres::{PostgresCluster, stop_cluster, stop_cluster_blocking};
pub use deployment::{
    FerretdbBackend, LocalDeployment, LocalSpec, NodeDescription, default_work_dir, ferretdb_args, replica_set_config,
};
pub use node::{LocalNode, NodeCommand, NodeState, Pause, PauseWith, log_tail, remove_dir_contents};
pub use provider::start;
