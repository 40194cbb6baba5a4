//! Starting, describing, faulting and tearing down deployments: local server
//! processes, containers, or an existing deployment named by URI. Whatever a
//! provider starts, it owns: explicit async teardown, a `Drop` fallback that
//! kills, a keep switch for debugging, and a record on disk from which
//! `drdrill clean` removes the leftovers of a killed run.

pub mod server_info;

use serde::{Deserialize, Serialize};

/// The server implementation a deployment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// FerretDB 1.24 over SQLite or PostgreSQL (installed by `scripts/setup`).
    Ferretdb,
    /// MongoDB's own `mongod`.
    Mongodb,
}

/// FerretDB's storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Embedded SQLite files in the node's data directory: the default.
    #[default]
    Sqlite,
    /// A private PostgreSQL cluster the harness starts and owns.
    Postgresql,
}

/// Where a deployment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Server processes started by the harness on this machine.
    #[default]
    Local,
    /// Containers started through testcontainers (Docker or Podman).
    Containers,
    /// An existing deployment named by URI; never destroyed.
    External,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Ferretdb => "ferretdb",
            Self::Mongodb => "mongodb",
        })
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgresql => "postgresql",
        })
    }
}

pub mod containers;
pub mod error;
pub mod local;
pub mod ready;
pub mod record;
pub mod tools;

pub use error::ProviderError;
pub use local::{LocalDeployment, LocalSpec};
pub mod replica_set;
