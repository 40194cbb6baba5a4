//! A cluster restored from a snapshot: a new PostgreSQL cluster copied
//! from a base backup (replayed up to an instant for a point-in-time
//! restore) and a FerretDB over it, the deployment a `restore-snapshot`
//! step restores into and verifies. It owns its folder, its two processes
//! and its run record (`<run>-<name>`), saved before anything is created
//! so that `drdrill clean` finds it after a SIGKILL; `teardown` removes
//! it, `Drop` is the fallback.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::deployment::FERRETDB_DATABASE;
use crate::provider::error::ProviderError;
use crate::provider::lifecycle::{Owned, kept_message, teardown_once};
use crate::provider::local::{FerretdbBackend, LocalNode, NodeCommand, ferretdb_args};
use crate::provider::postgres::{PostgresCluster, Recovery, open_to_postgres};
use crate::provider::record::{RecordedPostgres, RecordedProcess, RunRecord, process_start_time};
use crate::provider::snapshot::SnapshotRestore;
use crate::provider::{Backend, Deployment, Engine, NodeFaults};
use crate::uri::MongoUri;

/// How often the restore looks again at whether the cluster was promoted.
const POLL: Duration = Duration::from_millis(50);

/// What a restored cluster needs from the deployment it came from.
#[derive(Debug, Clone)]
pub(super) struct RestoreSetting {
    /// The run's id: the restored cluster's is `<run>-<name>`.
    pub run_id: String,
    /// Where run folders go.
    pub work_dir: PathBuf,
    /// PostgreSQL's programs.
    pub bin_dir: PathBuf,
    /// The FerretDB binary.
    pub ferretdb: PathBuf,
    /// The WAL archive a point-in-time restore replays.
    pub archive_dir: PathBuf,
    /// Leave it in place at teardown.
    pub keep: bool,
}

/// A restored cluster and its FerretDB.
#[derive(Debug)]
pub struct RestoredCluster {
    /// `<run>-<name>`, its run record's id.
    run_id: String,
    /// Its folder: the cluster's data, FerretDB's state and log.
    run_dir: PathBuf,
    /// The PostgreSQL cluster, once created.
    cluster: Option<PostgresCluster>,
    /// The FerretDB over it, once started.
    ferretdb: Option<LocalNode>,
    /// What `drdrill clean` needs if this process dies.
    record: RunRecord,
    /// Leave everything in place at teardown.
    keep: bool,
    /// Set once teardown ran, so `Drop` does nothing more.
    torn_down: bool,
}

impl RestoredCluster {
    /// Copies the snapshot into a new cluster, starts it, waits until it
    /// was promoted (for a point-in-time restore: replayed to the target),
    /// and starts a FerretDB over it. On failure everything is removed.
    pub(super) async fn start(setting: &RestoreSetting, request: &SnapshotRestore) -> Result<Self, ProviderError> {
        let run_id = format!("{}-{}", setting.run_id, request.name);
        let run_dir = setting.work_dir.join(&run_id);
        std::fs::create_dir_all(&run_dir).map_err(|error| ProviderError::io(&run_dir, error))?;
        open_to_postgres(&run_dir);
        let mut record = RunRecord::new(&run_id);
        record.dirs.push(run_dir.clone());
        record.postgres.push(RecordedPostgres {
            data_dir: run_dir.join("postgres"),
            bin_dir: setting.bin_dir.clone(),
        });
        record.save()?;
        let mut restored = Self {
            run_id,
            run_dir,
            cluster: None,
            ferretdb: None,
            record,
            keep: setting.keep,
            torn_down: false,
        };
        match restored.start_inner(setting, request).await {
            Ok(()) => Ok(restored),
            Err(error) => {
                restored.keep = false;
                teardown_once(&mut restored).await;
                Err(error)
            }
        }
    }

    async fn start_inner(&mut self, setting: &RestoreSetting, request: &SnapshotRestore) -> Result<(), ProviderError> {
        let recovery = request.target_time.map(|target_time| Recovery {
            archive_dir: setting.archive_dir.clone(),
            target_time,
        });
        let cluster = PostgresCluster::from_base_backup(
            &request.backup,
            self.run_dir.join("postgres"),
            setting.bin_dir.clone(),
            recovery.as_ref(),
        )
        .await?;
        let cluster = self.cluster.insert(cluster);
        cluster.launch().await?;
        wait_promoted(cluster, request.timeout).await?;
        let port = crate::provider::ready::free_port().map_err(|error| ProviderError::io(&self.run_dir, error))?;
        let data_dir = self.run_dir.join("ferretdb");
        std::fs::create_dir_all(&data_dir).map_err(|error| ProviderError::io(&data_dir, error))?;
        let backend = FerretdbBackend::Postgresql(cluster.url(FERRETDB_DATABASE));
        let command = NodeCommand {
            program: setting.ferretdb.clone(),
            args: ferretdb_args(&backend, port, &data_dir),
        };
        let log_path = self.run_dir.join("ferretdb.log");
        let node = self
            .ferretdb
            .insert(LocalNode::new("restored".into(), port, data_dir, log_path, command));
        node.spawn()?;
        let pid = node.pid().expect("a spawned node has a pid");
        self.record.processes.push(RecordedProcess {
            pid,
            start_time: process_start_time(pid),
            what: "restored ferretdb".into(),
            freezer: None,
        });
        self.record.save()?;
        node.wait_ready(request.timeout).await.map(|_| ())
    }

    /// The restored cluster's folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }
}

/// Waits until `cluster` has left recovery and accepts writes; fails at
/// once, with its log, when the server stopped (a recovery that cannot
/// reach its target shuts the server down).
async fn wait_promoted(cluster: &PostgresCluster, timeout: Duration) -> Result<(), ProviderError> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = cluster.in_recovery().await;
        if matches!(last, Ok(false)) {
            return Ok(());
        }
        let reason = if !cluster.server_alive() {
            "the server stopped during recovery".to_string()
        } else if Instant::now() >= deadline {
            format!("still in recovery after {} s", timeout.as_secs())
        } else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        return Err(ProviderError::InvalidState {
            node: "restored cluster".into(),
            operation: "recover and promote".into(),
            reason: format!("{reason}; its log ends:\n{}", cluster.log_tail(15)),
        });
    }
}

impl Owned for RestoredCluster {
    fn torn_down(&mut self) -> &mut bool {
        &mut self.torn_down
    }

    fn kept(&self) -> bool {
        self.keep
    }

    fn leave_in_place(&mut self) -> String {
        kept_message(&self.run_id, &self.run_dir)
    }

    async fn remove_everything(&mut self) {
        if let Some(node) = &mut self.ferretdb {
            let _ = node.stop(Duration::from_secs(5)).await;
        }
        if let Some(cluster) = &mut self.cluster {
            let _ = cluster.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}

impl Drop for RestoredCluster {
    fn drop(&mut self) {
        if self.torn_down || self.keep {
            return;
        }
        tracing::warn!(run = %self.run_id, "restored cluster dropped without teardown; killing its processes");
        if let Some(node) = &mut self.ferretdb {
            node.kill_now();
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.stop_now();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}

#[async_trait::async_trait(?Send)]
impl NodeFaults for RestoredCluster {
    fn provider_name(&self) -> &'static str {
        "managed"
    }
}

#[async_trait::async_trait(?Send)]
impl Deployment for RestoredCluster {
    fn describe(&self) -> String {
        "ferretdb over postgresql, a cluster restored from a snapshot (local processes)".into()
    }

    fn uri(&self) -> MongoUri {
        let port = self.ferretdb.as_ref().map_or(0, |node| node.port);
        MongoUri::parse(&format!("mongodb://127.0.0.1:{port}/?directConnection=true"))
            .expect("node URIs are well formed")
    }

    fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        match index {
            0 => Ok(Deployment::uri(self)),
            _ => Err(ProviderError::NoSuchNode(format!("node-{index}"))),
        }
    }

    fn node_count(&self) -> Option<usize> {
        Some(1)
    }

    fn engine(&self) -> Option<Engine> {
        Some(Engine::Ferretdb)
    }

    fn backend(&self) -> Option<Backend> {
        Some(Backend::Postgresql)
    }

    async fn teardown(mut self: Box<Self>) -> Option<String> {
        teardown_once(&mut *self).await
    }
}
