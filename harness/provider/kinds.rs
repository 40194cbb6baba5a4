//! The names of what a deployment runs: the server implementation and
//! FerretDB's storage backend.

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
