//! The managed provider's storage snapshots: base backups of the primary's
//! cluster, the forced archiving a point-in-time restore needs, and
//! restores into a new [`super::RestoredCluster`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ManagedDeployment;
use super::deployment::wait_until;
use crate::provider::ProviderError;
use crate::provider::snapshot::{SnapshotRestore, StorageSnapshots};

#[async_trait::async_trait(?Send)]
impl StorageSnapshots for ManagedDeployment {
    async fn take_snapshot(&self, dir: &Path) -> Result<(), ProviderError> {
        self.primary_cluster().base_backup(dir).await
    }

    async fn archive_now(&self, timeout: Duration) -> Result<PathBuf, ProviderError> {
        let primary = self.primary_cluster();
        if !primary.is_running() {
            return Err(ProviderError::InvalidState {
                node: "managed deployment".into(),
                operation: "archive the WAL up to now".into(),
                reason: "the primary's cluster is down: the WAL it had not archived is out of reach".into(),
            });
        }
        // A commit of its own: recovery stops only at a commit, so a
        // target up to this instant needs one after it in the archive.
        primary.query("postgres", "select pg_current_xact_id()").await?;
        let segment = primary
            .query("postgres", "select pg_walfile_name(pg_switch_wal())")
            .await?;
        // Segment names of one timeline sort as they were written.
        let archived = format!(
            "select coalesce(last_archived_wal >= '{}', false) from pg_stat_archiver",
            segment.replace('\'', "")
        );
        wait_until(timeout, "the archiver to copy the switched WAL segment", || {
            let query = primary.query("postgres", &archived);
            async move { query.await.map(|answer| answer == "t") }
        })
        .await?;
        Ok(self.archive_dir().to_path_buf())
    }

    async fn restore_snapshot(
        &self,
        request: &SnapshotRestore,
    ) -> Result<Box<dyn crate::provider::Deployment>, ProviderError> {
        let setting = self.restore_setting()?;
        Ok(Box::new(super::RestoredCluster::start(&setting, request).await?))
    }
}
