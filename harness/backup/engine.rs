//! The one interface every backup engine offers: dump a database into a
//! backup, restore a backup into a database. The set of engines is closed
//! (an enum): the real tools, the builtin engine, and a user's command.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::uri::MongoUri;

/// Which engine to use, as a scenario or a flag names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// `tools` when `mongodump`/`mongorestore` are present, `builtin` otherwise.
    #[default]
    Auto,
    /// The real MongoDB Database Tools on PATH (or configured).
    Tools,
    /// The harness's own engine, writing and reading the same formats.
    Builtin,
    /// A user's script or shell command (the team's runbook).
    Command,
}

/// The shape of a backup on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "form")]
pub enum Layout {
    /// `<out>/<db>/<collection>.bson` and `.metadata.json` (optionally `.gz` each).
    Directory {
        /// Each file gzip-compressed (`--gzip`).
        gzip: bool,
    },
    /// One `--archive` stream (optionally gzip-compressed as a whole).
    Archive {
        /// The stream is gzip-compressed (`--gzip`).
        gzip: bool,
    },
}

/// Where a backup is and what shape it has, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BackupLocation {
    /// A dump folder: either the `--out` folder holding `<db>/` folders, or
    /// one database's folder itself (as the runbook's restore passes it).
    Directory {
        /// The folder.
        path: PathBuf,
        /// Whether its files are gzip-compressed.
        gzip: bool,
    },
    /// An archive file.
    Archive {
        /// The file.
        path: PathBuf,
        /// Whether it is gzip-compressed.
        gzip: bool,
    },
    /// A `.tar.gz` of a dump folder (what `backup-mongo.sh` produces).
    TarGz {
        /// The file.
        path: PathBuf,
    },
}

/// Which engine ran, and its version, for reports and manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `tools`, `builtin`, `command`.
    pub name: String,
    /// `mongodump version: 100.13.0`, `drdrill 0.1.0`, or the command line.
    pub version: String,
}

/// What to dump.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    /// The source deployment.
    pub uri: MongoUri,
    /// The database (`--db`).
    pub database: String,
    /// Only these collections (`--collection` for one, `--nsInclude` for several); all when `None`.
    pub collections: Option<Vec<String>>,
    /// Collections left out (`--nsExclude` / `--excludeCollection`).
    pub exclude: Vec<String>,
    /// Directory or archive, gzip or not.
    pub layout: Layout,
    /// The `--out` folder, or the `--archive` file.
    pub out: PathBuf,
    /// Collections dumped at once (`--numParallelCollections`).
    pub parallel_collections: usize,
}

/// What to restore.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The target deployment.
    pub uri: MongoUri,
    /// The backup.
    pub source: BackupLocation,
    /// The database in the backup to restore (`--db`, or the `nsFrom` side).
    pub from_database: String,
    /// The database to restore into (`--nsTo` side); equal to `from_database` unless renaming.
    pub to_database: String,
    /// Only these collections (`--collection` / `--nsInclude`); all when `None`.
    pub collections: Option<Vec<String>>,
    /// Drop each collection before restoring it (`--drop`).
    pub drop: bool,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// Insertion workers per collection (`--numInsertionWorkersPerCollection`).
    pub workers_per_collection: usize,
    /// Collections restored at once (`--numParallelCollections`).
    pub parallel_collections: usize,
}

/// Per-collection result of a dump or restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionResult {
    /// The collection.
    pub name: String,
    /// Documents dumped or restored.
    pub documents: u64,
    /// Documents that failed to restore (duplicate keys, engine errors).
    pub failures: u64,
    /// Indexes created (restore) or recorded (dump).
    pub indexes: Vec<String>,
    /// Index problems, named precisely (e.g. the engine refused an option).
    pub index_errors: Vec<String>,
}

/// The result of a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpOutcome {
    /// Which engine ran.
    pub engine: EngineInfo,
    /// Where the backup is.
    pub location: BackupLocation,
    /// What it holds.
    pub collections: Vec<CollectionResult>,
    /// Size on disk, bytes.
    pub bytes: u64,
    /// How long the engine took.
    pub duration: Duration,
    /// The engine's output (stdout and stderr of the tools or the command), redacted.
    pub output: String,
}

/// The result of a restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreOutcome {
    /// Which engine ran.
    pub engine: EngineInfo,
    /// What was restored.
    pub collections: Vec<CollectionResult>,
    /// How long the engine took.
    pub duration: Duration,
    /// The engine's output, redacted.
    pub output: String,
    /// Whether nothing was written (dry run).
    pub dry_run: bool,
}
