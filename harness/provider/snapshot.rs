//! Storage snapshots: what a deployment whose storage can be copied and
//! replayed (the managed provider's PostgreSQL) offers the `snapshot` and
//! `restore-snapshot` steps. A snapshot is a base backup of the primary's
//! cluster; a restore copies one into a new cluster (PostgreSQL and a
//! FerretDB over it), optionally replaying the WAL archive up to an
//! instant. The steps own the manifests, the windows and the checks; the
//! provider owns the clusters. Reached through
//! [`super::Deployment::snapshots`]: only the managed provider answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ProviderError;

/// How to restore a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRestore {
    /// The base backup's folder (a PostgreSQL data folder).
    pub backup: PathBuf,
    /// A name for the new cluster's folder and run record (`restore-1`).
    pub name: String,
    /// Replay the WAL archive and stop after the last commit at or before
    /// this instant (a point-in-time restore); `None`: the snapshot alone.
    pub target_time: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the new cluster may take to be promoted and its FerretDB
    /// to answer.
    pub timeout: Duration,
}

/// Snapshots, point-in-time restores and the WAL archive they use.
#[async_trait::async_trait(?Send)]
pub trait StorageSnapshots {
    /// Takes a consistent base backup of the primary's cluster into `dir`
    /// (created; it must be empty if it exists).
    async fn take_snapshot(&self, dir: &Path) -> Result<(), ProviderError>;

    /// Makes every commit made before the call replayable from the WAL
    /// archive: a commit of its own (so that a target up to this instant
    /// has a commit after it to stop at), a segment switch, and a wait
    /// until the archiver has copied that segment. Returns the archive's
    /// folder. Fails when the primary is not running.
    async fn archive_now(&self, timeout: Duration) -> Result<PathBuf, ProviderError>;

    /// Restores a snapshot into a new cluster with a FerretDB over it,
    /// waits until the cluster accepts writes and FerretDB answers, and
    /// returns it as a deployment (its own teardown and run record).
    async fn restore_snapshot(&self, request: &SnapshotRestore) -> Result<Box<dyn super::Deployment>, ProviderError>;
}
