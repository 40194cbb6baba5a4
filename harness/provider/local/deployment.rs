//! One local deployment: its spec, its nodes' command lines, start-up
//! (with a rolled-back failure), faults by node, and teardown with `Drop`
//! as the fallback.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::node::{LocalNode, NodeCommand, NodeState, Pause, PauseWith, log_tail};
use crate::provider::error::{ProviderError, chain};
use crate::provider::lifecycle::{Owned, kept_message, teardown_once};
use crate::provider::postgres::PostgresCluster;
use crate::provider::record::{RecordedProcess, RunRecord, process_start_time};
use crate::provider::replica_set::{REPLICA_SET_NAME, ReplicaSetConfig, ReplicaSetConfigError, ReplicaSetOptions};
use crate::provider::{Backend, Engine, NodeRole, tools};
use crate::uri::MongoUri;

/// How to build a local deployment.
#[derive(Debug, Clone)]
pub struct LocalSpec {
    /// The run's id, used in folder names and the run record.
    pub run_id: String,
    /// The server implementation.
    pub engine: Engine,
    /// FerretDB's backend (ignored for `mongod`).
    pub backend: Backend,
    /// How many data-bearing nodes (a replica set's arbiter comes on top).
    pub nodes: usize,
    /// Form a replica set (`mongod` only; FerretDB has no replication);
    /// `None` gives independent servers.
    pub replica_set: Option<ReplicaSetOptions>,
    /// The folder under which the run's folder is created.
    pub work_dir: PathBuf,
    /// Leave processes and folders in place at teardown, for debugging.
    pub keep: bool,
    /// How long a node may take to answer `hello`.
    pub ready_timeout: Duration,
}

impl LocalSpec {
    /// A spec with defaults: one SQLite FerretDB node in the system's temp
    /// folder.
    pub fn new(run_id: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            engine: Engine::Ferretdb,
            backend: Backend::Sqlite,
            nodes: 1,
            replica_set: None,
            work_dir: default_work_dir(),
            keep: false,
            ready_timeout: Duration::from_secs(30),
        }
    }
}

impl LocalSpec {
    /// Every node's role, in order: the data nodes, then the arbiter when
    /// the replica set asks for one.
    pub fn roles(&self) -> Vec<NodeRole> {
        match &self.replica_set {
            Some(options) => options.roles(self.nodes),
            None => vec![NodeRole::Data; self.nodes],
        }
    }

    /// Refuses what cannot run before anything is started.
    pub fn validate(&self) -> Result<(), ProviderError> {
        if self.nodes == 0 {
            return Err(ProviderError::InvalidState {
                node: "deployment".into(),
                operation: "start".into(),
                reason: "a deployment needs at least one node".into(),
            });
        }
        if self.replica_set.is_some() && self.engine == Engine::Ferretdb {
            return Err(ProviderError::NotSupported {
                engine: self.engine.to_string(),
                what: "replica sets".into(),
            });
        }
        Ok(())
    }
}

/// The `replSetInitiate` configuration of local nodes listening on
/// `ports` (data nodes first, then the arbiter), named by 127.0.0.1 and
/// port, which both the members and the harness reach.
pub fn replica_set_config(
    options: &ReplicaSetOptions,
    ports: &[u16],
) -> Result<ReplicaSetConfig, ReplicaSetConfigError> {
    options.config_with_hosts(ports.iter().map(|port| format!("127.0.0.1:{port}")).collect())
}

/// `$DRDRILL_WORK_DIR`, else `<temp>/drdrill`.
pub fn default_work_dir() -> PathBuf {
    std::env::var_os("DRDRILL_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("drdrill"))
}

/// What a node looks like from outside, for output and reports.
#[derive(Debug, Clone, Serialize)]
pub struct NodeDescription {
    /// Its name.
    pub name: String,
    /// Its connection string.
    pub uri: String,
    /// Its pid while running.
    pub pid: Option<i32>,
    /// Its data folder.
    pub data_dir: PathBuf,
    /// Its log.
    pub log: PathBuf,
    /// Running, paused or down.
    pub state: NodeState,
}

/// A running local deployment. Owns its processes and folders: call
/// [`LocalDeployment::teardown`]; `Drop` is a best-effort fallback.
#[derive(Debug)]
pub struct LocalDeployment {
    /// The spec it was started from.
    spec: LocalSpec,
    /// `<work_dir>/<run_id>`: everything the run writes.
    run_dir: PathBuf,
    /// The nodes, in order.
    nodes: Vec<LocalNode>,
    /// The PostgreSQL cluster behind FerretDB's PostgreSQL backend.
    postgres: Option<PostgresCluster>,
    /// What `drdrill clean` needs if this process dies.
    record: RunRecord,
    /// Set once teardown ran, so `Drop` does nothing more.
    torn_down: bool,
}

impl LocalDeployment {
    /// Starts every node and waits until each answers `hello`. On failure
    /// everything already started is torn down before the error returns.
    pub async fn start(spec: LocalSpec) -> Result<Self, ProviderError> {
        spec.validate()?;
        let program = match spec.engine {
            Engine::Ferretdb => tools::ferretdb()?,
            Engine::Mongodb => tools::mongod()?,
        };
        let pg_bin = match (spec.engine, spec.backend) {
            (Engine::Ferretdb, Backend::Postgresql) => Some(tools::postgres_bin()?),
            _ => None,
        };
        let run_dir = spec.work_dir.join(&spec.run_id);
        std::fs::create_dir_all(&run_dir).map_err(|error| ProviderError::io(&run_dir, error))?;
        // PostgreSQL runs as another user when we are root; it must be able
        // to reach its folder inside ours.
        set_mode(&run_dir, 0o755);
        set_mode(&spec.work_dir, 0o755);
        let mut record = RunRecord::new(&spec.run_id);
        record.dirs.push(run_dir.clone());
        record.save()?;
        let mut deployment = Self {
            spec,
            run_dir,
            nodes: Vec::new(),
            postgres: None,
            record,
            torn_down: false,
        };
        match deployment.start_inner(program, pg_bin).await {
            Ok(()) => Ok(deployment),
            Err(error) => {
                deployment.spec.keep = false;
                teardown_once(&mut deployment).await;
                Err(error)
            }
        }
    }

    async fn start_inner(&mut self, program: PathBuf, pg_bin: Option<PathBuf>) -> Result<(), ProviderError> {
        if let Some(bin_dir) = pg_bin {
            // Record the folder before initdb so that a kill during start-up
            // still leaves something `clean` can stop.
            let data_dir = self.run_dir.join("postgres");
            self.record.postgres.push(crate::provider::record::RecordedPostgres {
                data_dir: data_dir.clone(),
                bin_dir: bin_dir.clone(),
            });
            self.record.save()?;
            self.postgres = Some(PostgresCluster::start(data_dir, bin_dir).await?);
        }
        let replica_set = self.spec.replica_set.is_some();
        for index in 0..self.spec.roles().len() {
            let name = format!("node-{index}");
            let data_dir = self.run_dir.join(&name);
            std::fs::create_dir_all(&data_dir).map_err(|error| ProviderError::io(&data_dir, error))?;
            if let Some(cluster) = &self.postgres {
                cluster.create_database(&pg_database(index)).await?;
            }
            let port = crate::provider::ready::free_port().map_err(|error| ProviderError::io(&self.run_dir, error))?;
            let command = self.node_command(&program, index, port, &data_dir, replica_set);
            let log_path = self.run_dir.join(format!("{name}.log"));
            self.nodes.push(LocalNode::new(name, port, data_dir, log_path, command));
            self.spawn_node(index)?;
        }
        let timeout = self.spec.ready_timeout;
        for index in 0..self.nodes.len() {
            // The port was free when it was picked; another process may have
            // bound it before the node did. At start-up (not on a restart,
            // which must keep the address) the node moves to a new port.
            let mut attempts = 1;
            loop {
                match self.nodes[index].wait_ready(timeout).await {
                    Ok(_) => break,
                    Err(error) if attempts < 3 && port_lost(&error) => {
                        attempts += 1;
                        self.nodes[index].kill().await.ok();
                        let port = crate::provider::ready::free_port()
                            .map_err(|error| ProviderError::io(&self.run_dir, error))?;
                        tracing::info!(node = %self.nodes[index].name, port, "port taken by another process; starting on another");
                        let data_dir = self.nodes[index].data_dir.clone();
                        self.nodes[index].port = port;
                        self.nodes[index].command = self.node_command(&program, index, port, &data_dir, replica_set);
                        self.spawn_node(index)?;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        if let Some(options) = &self.spec.replica_set {
            self.initiate_replica_set(options, timeout).await?;
        }
        Ok(())
    }

    /// Initiates the replica set over every node (the arbiter last) and
    /// waits for a primary.
    async fn initiate_replica_set(&self, options: &ReplicaSetOptions, timeout: Duration) -> Result<(), ProviderError> {
        let ports: Vec<u16> = self.nodes.iter().map(|node| node.port).collect();
        let not_ready = |reason: String| ProviderError::NotReady {
            node: format!("replica set {REPLICA_SET_NAME}"),
            timeout_secs: timeout.as_secs(),
            reason,
            log: self.nodes[0].log_path.display().to_string(),
            log_tail: log_tail(&self.nodes[0].log_path, 20),
        };
        let config = replica_set_config(options, &ports).map_err(|error| not_ready(error.to_string()))?;
        // The arbiter never becomes primary: wait on the data nodes only.
        let uris: Vec<String> = self.nodes[..self.spec.nodes].iter().map(LocalNode::uri).collect();
        crate::provider::replica_set::initiate_and_wait(&uris[0], &uris, &config, timeout)
            .await
            .map_err(|error| not_ready(chain(&error)))?;
        Ok(())
    }

    fn node_command(
        &self,
        program: &std::path::Path,
        index: usize,
        port: u16,
        data_dir: &std::path::Path,
        replica_set: bool,
    ) -> NodeCommand {
        let mut args = Vec::new();
        match self.spec.engine {
            Engine::Ferretdb => {
                let backend = match &self.postgres {
                    Some(cluster) => FerretdbBackend::Postgresql(cluster.url(&pg_database(index))),
                    None => FerretdbBackend::Sqlite,
                };
                args = ferretdb_args(&backend, port, data_dir);
            }
            Engine::Mongodb => {
                args.extend([
                    "--dbpath".into(),
                    data_dir.display().to_string(),
                    "--port".into(),
                    port.to_string(),
                    "--bind_ip".into(),
                    "127.0.0.1".into(),
                ]);
                if replica_set {
                    args.extend(["--replSet".into(), REPLICA_SET_NAME.into()]);
                }
            }
        }
        NodeCommand {
            program: program.to_path_buf(),
            args,
        }
    }

    fn spawn_node(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = &mut self.nodes[index];
        node.spawn()?;
        let pid = node.pid().expect("a spawned node has a pid");
        let what = format!("{} {}", node.name, self.spec.engine);
        self.record.processes.retain(|process| process.what != what);
        self.record.processes.push(RecordedProcess {
            pid,
            start_time: process_start_time(pid),
            what,
            freezer: None,
        });
        self.record.save()
    }

    /// Records where node `index` is frozen (or that it no longer is), so
    /// that `drdrill clean` thaws it before it kills it.
    fn record_freezer(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = &self.nodes[index];
        let frozen = match node.paused_by() {
            Some(Pause::Frozen(cgroup)) => Some(cgroup.dir.clone()),
            _ => None,
        };
        if let Some(pid) = node.pid() {
            for process in &mut self.record.processes {
                if process.pid == pid {
                    process.freezer = frozen.clone();
                }
            }
        }
        self.record.save()
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.spec.run_id
    }

    /// Whether teardown leaves everything in place (`--keep`).
    pub fn keeps(&self) -> bool {
        self.spec.keep
    }

    /// The run's folder.
    pub fn run_dir(&self) -> &std::path::Path {
        &self.run_dir
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.spec.engine
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.spec.backend
    }

    /// The URI of the deployment (its first node).
    pub fn uri(&self) -> MongoUri {
        self.node_uri(0).expect("a deployment has a first node")
    }

    /// The URI of node `index`.
    pub fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        let node = self.node(index)?;
        Ok(MongoUri::parse(&node.uri()).expect("node URIs are well formed"))
    }

    /// How many nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// What node `index` is doing.
    pub fn node_state(&mut self, index: usize) -> Result<NodeState, ProviderError> {
        Ok(self.node_mut(index)?.state())
    }

    fn node(&self, index: usize) -> Result<&LocalNode, ProviderError> {
        self.nodes
            .get(index)
            .ok_or_else(|| ProviderError::NoSuchNode(format!("node-{index}")))
    }

    fn node_mut(&mut self, index: usize) -> Result<&mut LocalNode, ProviderError> {
        self.nodes
            .get_mut(index)
            .ok_or_else(|| ProviderError::NoSuchNode(format!("node-{index}")))
    }

    /// The nodes as seen from outside.
    pub fn describe(&mut self) -> Vec<NodeDescription> {
        self.nodes
            .iter_mut()
            .map(|node| NodeDescription {
                name: node.name.clone(),
                uri: node.uri(),
                pid: node.pid(),
                data_dir: node.data_dir.clone(),
                log: node.log_path.clone(),
                state: node.state(),
            })
            .collect()
    }

    /// Fault: SIGKILL node `index`.
    pub async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        self.node_mut(index)?.kill().await
    }

    /// Fault or lifecycle: clean shutdown of node `index`.
    pub async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        self.node_mut(index)?.stop(Duration::from_secs(10)).await
    }

    /// Fault: pauses node `index` (the cgroup freezer, else SIGSTOP) and
    /// says how.
    pub async fn pause(&mut self, index: usize) -> Result<String, ProviderError> {
        self.pause_with(index, PauseWith::Auto).await
    }

    /// Fault: pauses node `index` as `with` says; returns how it was done.
    pub async fn pause_with(&mut self, index: usize, with: PauseWith) -> Result<String, ProviderError> {
        let how = self.node_mut(index)?.pause(with).await?.to_string();
        self.record_freezer(index)?;
        Ok(how)
    }

    /// Ends a pause of node `index`.
    pub async fn resume(&mut self, index: usize) -> Result<(), ProviderError> {
        self.node_mut(index)?.resume().await?;
        self.record_freezer(index)
    }

    /// Starts node `index` again on the same port and data, and waits for it.
    pub async fn restart(&mut self, index: usize) -> Result<Duration, ProviderError> {
        if self.node_mut(index)?.state() != NodeState::Down {
            self.stop(index).await?;
        }
        self.spawn_node(index)?;
        let timeout = self.spec.ready_timeout;
        self.node_mut(index)?.wait_ready(timeout).await
    }

    /// Fault: removes node `index`'s data (it must be down). With the
    /// PostgreSQL backend the node's PostgreSQL database is dropped and
    /// created empty, which is where its data lives.
    pub async fn wipe_data(&mut self, index: usize) -> Result<(), ProviderError> {
        self.node_mut(index)?.wipe_data()?;
        if let Some(cluster) = &self.postgres {
            cluster.drop_database(&pg_database(index)).await?;
            cluster.create_database(&pg_database(index)).await?;
        }
        Ok(())
    }

    /// Stops every node and the PostgreSQL cluster and removes the run's
    /// folder and record; with `keep`, leaves them all and says so in the
    /// returned text.
    pub async fn teardown(mut self) -> Option<String> {
        teardown_once(&mut self).await
    }
}

impl Owned for LocalDeployment {
    fn torn_down(&mut self) -> &mut bool {
        &mut self.torn_down
    }

    fn kept(&self) -> bool {
        self.spec.keep
    }

    fn leave_in_place(&mut self) -> String {
        kept_message(&self.spec.run_id, &self.run_dir)
    }

    async fn remove_everything(&mut self) {
        for node in &mut self.nodes {
            let _ = node.stop(Duration::from_secs(5)).await;
        }
        if let Some(cluster) = &mut self.postgres {
            let _ = cluster.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}

impl Drop for LocalDeployment {
    fn drop(&mut self) {
        if self.torn_down || self.spec.keep {
            return;
        }
        tracing::warn!(run = %self.spec.run_id, "deployment dropped without teardown; killing its processes");
        for node in &mut self.nodes {
            node.kill_now();
        }
        if let Some(cluster) = &mut self.postgres {
            cluster.stop_now();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}

/// Where a FerretDB node keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FerretdbBackend {
    /// SQLite files in the node's data folder.
    Sqlite,
    /// The PostgreSQL database at this URL.
    Postgresql(String),
}

/// The command-line arguments of a FerretDB node on 127.0.0.1:`port`
/// with its state (and SQLite files) in `data_dir`.
pub fn ferretdb_args(backend: &FerretdbBackend, port: u16, data_dir: &std::path::Path) -> Vec<String> {
    let mut args = match backend {
        FerretdbBackend::Postgresql(url) => vec!["--handler=postgresql".to_string(), format!("--postgresql-url={url}")],
        FerretdbBackend::Sqlite => vec![
            "--handler=sqlite".to_string(),
            format!("--sqlite-url=file:{}/", data_dir.display()),
        ],
    };
    args.push(format!("--listen-addr=127.0.0.1:{port}"));
    args.push(format!("--state-dir={}", data_dir.display()));
    // The debug listener defaults to a fixed port: two nodes would collide
    // on it.
    args.push("--debug-addr=-".into());
    args.push("--telemetry=disable".into());
    args.push("--log-level=warn".into());
    args
}

/// The PostgreSQL database of FerretDB node `index`.
fn pg_database(index: usize) -> String {
    format!("ferretdb_node{index}")
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Whether a node failed to come up because its port was taken: another
/// server answers on it, or the node could not bind it.
fn port_lost(error: &ProviderError) -> bool {
    match error {
        ProviderError::PortTaken { .. } => true,
        ProviderError::NotReady { log_tail, .. } => log_tail.to_ascii_lowercase().contains("address already in use"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_ready(log_tail: &str) -> ProviderError {
        ProviderError::NotReady {
            node: "node-0".into(),
            timeout_secs: 30,
            reason: "the process exited (exit status: 1)".into(),
            log: "node-0.log".into(),
            log_tail: log_tail.into(),
        }
    }

    #[test]
    fn a_lost_port_is_told_from_other_start_up_failures() {
        // FerretDB's and mongod's words for a port another process holds.
        assert!(port_lost(&not_ready(
            "listen tcp 127.0.0.1:41149: bind: address already in use"
        )));
        assert!(port_lost(&not_ready(
            "Error setting up listener: SocketException: Address already in use"
        )));
        assert!(port_lost(&ProviderError::PortTaken {
            node: "node-0".into(),
            port: 41149,
            answering: 1,
            own: 2,
            log: "node-0.log".into(),
            log_tail: String::new(),
        }));
        assert!(!port_lost(&not_ready("fatal: cannot open sqlite dir")));
    }
}
