//! A deployment of containers: one per node on the run's own network, each
//! with its data on a named volume and its port published on 127.0.0.1.
//! It owns everything it creates: `teardown(self)` removes it all, `Drop`
//! is a synchronous best-effort fallback, `keep` leaves it for debugging,
//! and labels let `clean` find what a killed run left behind.

use std::time::{Duration, Instant};

use testcontainers::bollard::Docker;
use testcontainers::runners::AsyncRunner;

use super::engine::{self, EngineEndpoint};
use super::error::ContainerError;
use super::image::{DEFAULT_PULL_TIMEOUT, ImageSpec, ensure_image};
use super::labels::{Owner, RUN_ID_LABEL, is_valid_run_id, network_name, node_labels, run_labels};
use super::network;
use super::node::{ContainerNode, NodeRole, NodeSpec, SERVER_PORT};
use super::replica::{REPLICA_SET_NAME, ReplicaSetOptions};
use crate::provider::error::chain;
use crate::provider::lifecycle::{Owned, teardown_once};
use crate::provider::ready::{hello, is_writable_primary, probe_client};
use crate::provider::record::RunRecord;
use crate::provider::{Engine, ExecOutput, NodeState, ProviderError};
use crate::uri::MongoUri;

/// How to build a container deployment.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// The run's id, in every name and label.
    pub run_id: String,
    /// The server implementation.
    pub engine: Engine,
    /// Data-bearing nodes (a replica set's arbiter comes on top).
    pub nodes: usize,
    /// The `mongo` image tag (`7.0` when `None`); FerretDB's image is fixed.
    pub image_tag: Option<String>,
    /// Form a replica set (MongoDB only); `None` gives independent servers.
    pub replica_set: Option<ReplicaSetOptions>,
    /// Leave containers, volumes and network in place at teardown.
    pub keep: bool,
    /// How long a node may take to answer `hello` (and a set to elect).
    pub ready_timeout: Duration,
    /// How long pulling a missing image may take before the drill fails.
    pub pull_timeout: Duration,
}

impl ContainerSpec {
    /// One FerretDB node, 60 s to get ready, 120 s to pull.
    pub fn new(run_id: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            engine: Engine::Ferretdb,
            nodes: 1,
            image_tag: None,
            replica_set: None,
            keep: false,
            ready_timeout: Duration::from_secs(60),
            pull_timeout: DEFAULT_PULL_TIMEOUT,
        }
    }

    /// A MongoDB replica set of `members` data-bearing members (3 is usual).
    pub fn mongodb_replica_set(run_id: impl Into<String>, members: usize, options: ReplicaSetOptions) -> Self {
        Self {
            engine: Engine::Mongodb,
            nodes: members,
            replica_set: Some(options),
            ..Self::new(run_id)
        }
    }

    /// The image the spec runs.
    pub fn image(&self) -> ImageSpec {
        ImageSpec::for_engine(self.engine, self.image_tag.as_deref())
    }

    /// Every container's role, in order.
    pub fn roles(&self) -> Vec<NodeRole> {
        match &self.replica_set {
            Some(options) => options.roles(self.nodes),
            None => vec![NodeRole::Data; self.nodes],
        }
    }

    /// Refuses what cannot run before anything is created.
    pub fn validate(&self) -> Result<(), ProviderError> {
        let invalid = |reason: String| ProviderError::InvalidState {
            node: "deployment".into(),
            operation: "start".into(),
            reason,
        };
        if self.nodes == 0 {
            return Err(invalid("a deployment needs at least one node".into()));
        }
        if !is_valid_run_id(&self.run_id) {
            return Err(invalid(format!(
                "run id {:?} cannot name containers (letters, digits, `_`, `.`, `-`)",
                self.run_id
            )));
        }
        if let Some(options) = &self.replica_set {
            if self.engine == Engine::Ferretdb {
                return Err(ProviderError::NotSupported {
                    engine: self.engine.to_string(),
                    what: "replica sets".into(),
                });
            }
            options
                .config(&self.run_id, self.nodes)
                .map_err(|error| invalid(error.to_string()))?;
        }
        Ok(())
    }
}

/// What a node looks like from outside, for output and reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContainerNodeDescription {
    /// The container's name.
    pub name: String,
    /// Its connection string on 127.0.0.1.
    pub uri: String,
    /// The container's id.
    pub container_id: String,
    /// Its fixed address on the run's network.
    pub address: Option<String>,
    /// Running, paused, down (exited, created, stopped) or removed.
    pub state: NodeState,
    /// Data node or arbiter.
    pub role: NodeRole,
    /// Whether it answered `hello` as writable primary; `None` when it did
    /// not answer.
    pub primary: Option<bool>,
    /// Whether the harness cut it off the network.
    pub disconnected: bool,
}

/// A running container deployment. Call [`ContainerDeployment::teardown`];
/// `Drop` is a best-effort fallback.
#[derive(Debug)]
pub struct ContainerDeployment {
    /// The spec it was started from.
    spec: ContainerSpec,
    /// The engine it talks to; the `Drop` fallback reconnects from it.
    endpoint: EngineEndpoint,
    /// A bollard client for what testcontainers does not wrap.
    docker: Docker,
    /// The network, once created (teardown removes only what exists).
    network: Option<String>,
    /// Volumes created and not yet removed.
    volumes: Vec<String>,
    /// The nodes, in order.
    nodes: Vec<ContainerNode>,
    /// The run record, so the run shows up beside local runs.
    record: RunRecord,
    /// Set once teardown ran, so `Drop` does nothing more.
    torn_down: bool,
}

impl ContainerDeployment {
    /// Finds the engine, makes the image present (building FerretDB's,
    /// pulling `mongo` within the pull timeout), creates the network,
    /// volumes and containers, waits for `hello` on every node and, for a
    /// replica set, initiates it and waits for a primary. On failure
    /// everything already created is removed before the error returns.
    pub async fn start(spec: ContainerSpec) -> Result<Self, ProviderError> {
        spec.validate()?;
        let (endpoint, docker) = engine::connect_and_ping().await?;
        ensure_image(&docker, &endpoint, &spec.image(), spec.pull_timeout).await?;
        let record = RunRecord::new(&spec.run_id);
        let mut deployment = Self {
            spec,
            endpoint,
            docker,
            network: None,
            volumes: Vec::new(),
            nodes: Vec::new(),
            record,
            torn_down: false,
        };
        match deployment.start_inner().await {
            Ok(()) => Ok(deployment),
            Err(error) => {
                deployment.spec.keep = false;
                teardown_once(&mut deployment).await;
                Err(error)
            }
        }
    }

    async fn start_inner(&mut self) -> Result<(), ProviderError> {
        let owner = Owner::current();
        let run_id = self.spec.run_id.clone();
        let network = network_name(&run_id);
        // Recorded before creation: a kill in between still leaves a name
        // (and the labels) to clean by.
        self.record.containers.push(network.clone());
        self.record.save()?;
        network::create_network(&self.docker, &network, run_labels(&run_id, &owner)).await?;
        self.network = Some(network);
        for (index, role) in self.spec.roles().into_iter().enumerate() {
            let node = self.create_node(index, role, &owner).await?;
            self.nodes.push(node);
            self.refresh_port(index).await?;
            self.pin_address(index).await?;
        }
        for index in 0..self.nodes.len() {
            self.wait_ready(index).await?;
        }
        if let Some(options) = &self.spec.replica_set {
            let hosts = self
                .nodes
                .iter()
                .map(|node| match &node.address {
                    Some(address) => format!("{address}:{SERVER_PORT}"),
                    None => format!("{}:{SERVER_PORT}", node.spec.container_name()),
                })
                .collect();
            let config = options.config_with_hosts(hosts).expect("validated before start");
            let uris: Vec<String> = self.nodes.iter().map(ContainerNode::uri).collect();
            crate::provider::replica_set::initiate_and_wait(&uris[0], &uris, &config, self.spec.ready_timeout)
                .await
                .map_err(|error| ProviderError::NotReady {
                    node: format!("replica set {REPLICA_SET_NAME}"),
                    timeout_secs: self.spec.ready_timeout.as_secs(),
                    reason: chain(&error),
                    log: format!("logs of container {}", self.nodes[0].spec.container_name()),
                    log_tail: String::new(),
                })?;
            self.wait_all_healthy().await?;
        }
        Ok(())
    }

    /// Creates node `index`'s volume and container (recorded first, so a
    /// kill in between leaves a name to clean by) and starts it.
    async fn create_node(
        &mut self,
        index: usize,
        role: NodeRole,
        owner: &Owner,
    ) -> Result<ContainerNode, ProviderError> {
        let run_id = self.spec.run_id.clone();
        let node_spec = NodeSpec {
            run_id: run_id.clone(),
            index,
            engine: self.spec.engine,
            image: self.spec.image(),
            replica_set: self.spec.replica_set.as_ref().map(|_| REPLICA_SET_NAME.to_string()),
            owner: owner.clone(),
        };
        let volume = node_spec.volume_name();
        for name in [volume.clone(), node_spec.container_name()] {
            if !self.record.containers.contains(&name) {
                self.record.containers.push(name);
            }
        }
        self.record.save()?;
        network::create_volume(&self.docker, &volume, node_labels(&run_id, owner, index)).await?;
        self.volumes.push(volume);
        let name = node_spec.container_name();
        let container = match node_spec.container_request().start().await {
            Ok(container) => container,
            Err(error) => {
                // testcontainers may have created the container before
                // failing to start it; nothing else would remove it.
                let _ = network::remove_container(&self.docker, &name).await;
                return Err(ContainerError::testcontainers("start container", &name, error).into());
            }
        };
        let id = container.id().to_string();
        Ok(ContainerNode {
            spec: node_spec,
            role,
            container: Some(container),
            id,
            host_port: 0,
            address: None,
            disconnected: false,
        })
    }

    /// Recovery after [`Self::remove_with_volume`]: a new container with a
    /// new, empty volume under the same name (and, for a replica-set member,
    /// the same address, so the set takes it back and resyncs it). Waits
    /// until it answers `hello`; returns how long that took.
    pub async fn replace_node(&mut self, index: usize) -> Result<Duration, ProviderError> {
        let Some(old) = self.nodes.get(index) else {
            return Err(ProviderError::InvalidState {
                node: format!("node-{index}"),
                operation: "replace".into(),
                reason: format!("the deployment has {} node(s)", self.nodes.len()),
            });
        };
        if old.container.is_some() {
            return Err(ProviderError::InvalidState {
                node: old.spec.container_name(),
                operation: "replace".into(),
                reason: "the node still exists; only a removed node is replaced".into(),
            });
        }
        let (role, address) = (old.role, old.address.clone());
        let node = self.create_node(index, role, &Owner::current()).await?;
        self.nodes[index] = node;
        self.refresh_port(index).await?;
        match address {
            Some(address) => {
                let network = self.network_name();
                let name = self.nodes[index].spec.container_name();
                network::disconnect(&self.docker, &network, &name).await?;
                network::reconnect(&self.docker, &network, &name, Some(&address)).await?;
                self.nodes[index].address = Some(address);
                self.refresh_port(index).await?;
            }
            None => self.pin_address(index).await?,
        }
        self.wait_ready(index).await
    }

    /// Re-reads the host port of node `index` (the engine may choose a new
    /// one when the container starts again).
    async fn refresh_port(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = &mut self.nodes[index];
        let name = node.spec.container_name();
        let container = node.container.as_ref().ok_or_else(|| removed(&name, "read its port"))?;
        node.host_port = container
            .get_host_port_ipv4(SERVER_PORT)
            .await
            .map_err(|error| ContainerError::testcontainers("read the published port of", &name, error))?;
        Ok(())
    }

    /// Gives node `index` a fixed address on the run's network: the engine
    /// hands out a new one at each start, but one asked for by reconnecting
    /// with it stays. Replica-set members are configured by these
    /// addresses, which the containers reach over the network and the
    /// harness reaches from the host (Linux, rootful engine).
    async fn pin_address(&mut self, index: usize) -> Result<(), ProviderError> {
        let network = self.network_name();
        let name = self.nodes[index].spec.container_name();
        let Some(address) = network::container_address(&self.docker, &network, &name).await? else {
            return Ok(());
        };
        network::disconnect(&self.docker, &network, &name).await?;
        network::reconnect(&self.docker, &network, &name, Some(&address)).await?;
        self.nodes[index].address = Some(address);
        // Reattaching sets the port forwarding up again.
        self.refresh_port(index).await
    }

    /// Polls `hello` on node `index` until it answers, the container stops
    /// running (its logs go in the error), or the ready timeout passes.
    async fn wait_ready(&self, index: usize) -> Result<Duration, ProviderError> {
        let node = &self.nodes[index];
        let name = node.spec.container_name();
        let timeout = self.spec.ready_timeout;
        let not_ready = async |reason: String| ProviderError::NotReady {
            node: name.clone(),
            timeout_secs: timeout.as_secs(),
            reason,
            log: format!("logs of container {name}"),
            log_tail: network::log_tail(&self.docker, &name, 20).await,
        };
        let started = Instant::now();
        let client = match probe_client(&node.uri()).await {
            Ok(client) => client,
            Err(error) => return Err(not_ready(error.to_string()).await),
        };
        let mut last_error;
        loop {
            let state = container_state(&self.docker, &name).await;
            if state != "running" && state != "created" {
                return Err(not_ready(format!("the container is {state}")).await);
            }
            match tokio::time::timeout(Duration::from_secs(2), hello(&client)).await {
                Ok(Ok(_)) => return Ok(started.elapsed()),
                Ok(Err(error)) => last_error = error.to_string(),
                Err(_) => last_error = "hello timed out".into(),
            }
            if started.elapsed() >= timeout {
                return Err(not_ready(last_error).await);
            }
            // Polling interval, not synchronization: the condition is `hello`.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `replSetGetStatus` reports every member healthy.
    async fn wait_all_healthy(&self) -> Result<(), ProviderError> {
        let started = Instant::now();
        let timeout = self.spec.ready_timeout;
        let primary = self.primary().await.unwrap_or(0);
        let client = probe_client(&self.nodes[primary].uri())
            .await
            .map_err(|source| ProviderError::Driver {
                node: self.nodes[primary].spec.container_name(),
                source,
            })?;
        loop {
            let status = client
                .database("admin")
                .run_command(bson::doc! { "replSetGetStatus": 1 })
                .await;
            let healthy = status
                .as_ref()
                .ok()
                .and_then(|reply| reply.get_array("members").ok())
                .is_some_and(|members| {
                    members.len() == self.nodes.len()
                        && members.iter().all(|member| {
                            member
                                .as_document()
                                .and_then(|member| member.get("health"))
                                .and_then(bson::Bson::as_f64)
                                == Some(1.0)
                        })
                });
            if healthy {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(ProviderError::NotReady {
                    node: format!("replica set {REPLICA_SET_NAME}"),
                    timeout_secs: timeout.as_secs(),
                    reason: "not every member reported healthy".into(),
                    log: "replSetGetStatus".into(),
                    log_tail: format!("{status:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.spec.run_id
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.spec.engine
    }

    /// How many containers (an arbiter included).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The run's network name.
    pub fn network_name(&self) -> String {
        network_name(&self.spec.run_id)
    }

    /// The deployment's URI: for a replica set, the replica-set URI over the
    /// members' pinned addresses, exactly as the set's configuration names
    /// them (the driver only talks to the hosts the set reports; published
    /// 127.0.0.1 ports would be dropped from its view); else the first
    /// node's direct URI on its published port.
    pub fn uri(&self) -> MongoUri {
        if self.spec.replica_set.is_some() {
            let hosts: Vec<String> = self
                .nodes
                .iter()
                .map(|node| match &node.address {
                    Some(address) => format!("{address}:{SERVER_PORT}"),
                    None => format!("127.0.0.1:{}", node.host_port),
                })
                .collect();
            let text = format!("mongodb://{}/?replicaSet={REPLICA_SET_NAME}", hosts.join(","));
            return MongoUri::parse(&text).expect("replica-set URIs are well formed");
        }
        self.node_uri(0).expect("a deployment has a first node")
    }

    /// The direct URI of node `index`.
    pub fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        let node = self.node(index)?;
        Ok(MongoUri::parse(&node.uri()).expect("node URIs are well formed"))
    }

    fn node(&self, index: usize) -> Result<&ContainerNode, ProviderError> {
        self.nodes
            .get(index)
            .ok_or_else(|| ProviderError::NoSuchNode(super::labels::node_name(index)))
    }

    fn live_node(&self, index: usize, operation: &str) -> Result<&ContainerNode, ProviderError> {
        let node = self.node(index)?;
        match node.container {
            Some(_) => Ok(node),
            None => Err(removed(&node.spec.container_name(), operation)),
        }
    }

    /// The nodes as seen from outside: name, URI, id, engine state, and
    /// whether each answers as primary.
    pub async fn describe(&self) -> Vec<ContainerNodeDescription> {
        let mut descriptions = Vec::new();
        for node in &self.nodes {
            let name = node.spec.container_name();
            let state = match node.container {
                Some(_) => node_state(&container_state(&self.docker, &name).await),
                None => NodeState::Removed,
            };
            let primary = match state {
                NodeState::Running if !node.disconnected => is_writable_primary(&node.uri()).await,
                _ => None,
            };
            descriptions.push(ContainerNodeDescription {
                name,
                uri: node.uri(),
                container_id: node.id.clone(),
                address: node.address.clone(),
                state,
                role: node.role,
                primary,
                disconnected: node.disconnected,
            });
        }
        descriptions
    }

    /// Whether teardown leaves everything in place (`--keep`).
    pub fn keeps(&self) -> bool {
        self.spec.keep
    }

    /// The image every node runs.
    pub fn image(&self) -> ImageSpec {
        self.spec.image()
    }

    /// The replica set's current primary, if one answers as such.
    pub async fn primary(&self) -> Option<usize> {
        self.spec.replica_set.as_ref()?;
        for (index, node) in self.nodes.iter().enumerate() {
            if node.container.is_some() && !node.disconnected && is_writable_primary(&node.uri()).await == Some(true) {
                return Some(index);
            }
        }
        None
    }

    /// Fault: SIGKILL to node `index`'s server (the container exits).
    pub async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        let name = self.live_node(index, "kill")?.spec.container_name();
        network::kill_container(&self.docker, &name).await?;
        Ok(())
    }

    /// Fault or lifecycle: clean stop of node `index` (SIGTERM, then
    /// SIGKILL after 10 s).
    pub async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = self.live_node(index, "stop")?;
        let container = node.container.as_ref().expect("live node");
        container
            .stop_with_timeout(Some(10))
            .await
            .map_err(|error| ContainerError::testcontainers("stop", node.spec.container_name(), error))?;
        Ok(())
    }

    /// Starts node `index` again after a stop or kill, on the same volume,
    /// and waits until it answers `hello`. Returns how long that took.
    pub async fn start_node(&mut self, index: usize) -> Result<Duration, ProviderError> {
        let node = self.live_node(index, "start")?;
        let container = node.container.as_ref().expect("live node");
        container
            .start()
            .await
            .map_err(|error| ContainerError::testcontainers("start", node.spec.container_name(), error))?;
        self.refresh_port(index).await?;
        self.wait_ready(index).await
    }

    /// Fault: freezes every process of node `index` (cgroup freezer).
    pub async fn pause(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = self.live_node(index, "pause")?;
        let container = node.container.as_ref().expect("live node");
        container
            .pause()
            .await
            .map_err(|error| ContainerError::testcontainers("pause", node.spec.container_name(), error))?;
        Ok(())
    }

    /// Ends a pause of node `index`.
    pub async fn unpause(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = self.live_node(index, "unpause")?;
        let container = node.container.as_ref().expect("live node");
        container
            .unpause()
            .await
            .map_err(|error| ContainerError::testcontainers("unpause", node.spec.container_name(), error))?;
        Ok(())
    }

    /// Stops node `index` if it is running, starts it again on the same
    /// volume and waits for `hello` (the local provider's `restart`).
    pub async fn restart(&mut self, index: usize) -> Result<Duration, ProviderError> {
        let name = self.live_node(index, "restart")?.spec.container_name();
        if container_state(&self.docker, &name).await == "running" {
            self.stop(index).await?;
        }
        self.start_node(index).await
    }

    /// Fault: cuts node `index` off the run's network (and so off its
    /// published port and the other members).
    pub async fn disconnect(&mut self, index: usize) -> Result<(), ProviderError> {
        let name = self.live_node(index, "disconnect")?.spec.container_name();
        network::disconnect(&self.docker, &self.network_name(), &name).await?;
        self.nodes[index].disconnected = true;
        Ok(())
    }

    /// Attaches node `index` to the run's network again.
    pub async fn reconnect(&mut self, index: usize) -> Result<(), ProviderError> {
        let name = self.live_node(index, "reconnect")?.spec.container_name();
        let address = self.nodes[index].address.clone();
        network::reconnect(&self.docker, &self.network_name(), &name, address.as_deref()).await?;
        self.nodes[index].disconnected = false;
        // The engine sets the port forwarding up again and may pick another
        // host port.
        self.refresh_port(index).await
    }

    /// Fault: removes node `index`'s container and its data volume; the
    /// node is gone for the rest of the run.
    pub async fn remove_with_volume(&mut self, index: usize) -> Result<(), ProviderError> {
        let name = self.live_node(index, "remove")?.spec.container_name();
        let node = &mut self.nodes[index];
        let container = node.container.take().expect("live node");
        container
            .rm()
            .await
            .map_err(|error| ContainerError::testcontainers("remove", &name, error))?;
        let volume = node.spec.volume_name();
        network::remove_volume(&self.docker, &volume).await?;
        self.volumes.retain(|kept| kept != &volume);
        Ok(())
    }

    /// Runs `argv` inside node `index`'s container (the engine's exec API,
    /// like `docker exec`) and waits up to `timeout` for it to exit.
    pub async fn exec(&self, index: usize, argv: &[String], timeout: Duration) -> Result<ExecOutput, ProviderError> {
        let node = self
            .nodes
            .get(index)
            .ok_or_else(|| removed(&format!("node-{index}"), "exec in"))?;
        let name = node.spec.container_name();
        let container = node.container.as_ref().ok_or_else(|| removed(&name, "exec in"))?;
        let run = async {
            let command = testcontainers::core::ExecCommand::new(argv.iter().cloned())
                .with_cmd_ready_condition(testcontainers::core::CmdWaitFor::exit());
            let mut result = container.exec(command).await?;
            let stdout = result.stdout_to_vec().await?;
            let stderr = result.stderr_to_vec().await?;
            let code = result.exit_code().await?;
            Ok::<_, testcontainers::TestcontainersError>(ExecOutput {
                code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(error)) => Err(ContainerError::testcontainers("exec in", &name, error).into()),
            Err(_) => Err(ProviderError::InvalidState {
                node: name,
                operation: format!("exec {}", argv.first().map(String::as_str).unwrap_or_default()),
                reason: format!("did not exit within {} s", timeout.as_secs()),
            }),
        }
    }

    /// Copies the regular file `container_path` out of node `index`'s
    /// container to `host_path`.
    pub async fn copy_file_out(
        &self,
        index: usize,
        container_path: &str,
        host_path: &std::path::Path,
    ) -> Result<(), ProviderError> {
        let node = self
            .nodes
            .get(index)
            .ok_or_else(|| removed(&format!("node-{index}"), "copy from"))?;
        let name = node.spec.container_name();
        let container = node.container.as_ref().ok_or_else(|| removed(&name, "copy from"))?;
        container
            .copy_file_from(container_path, host_path.to_path_buf())
            .await
            .map_err(|error| ContainerError::testcontainers("copy a file out of", &name, error).into())
    }

    /// Removes every container, volume and the network, and the run
    /// record; with `keep`, leaves them and returns how to remove them.
    pub async fn teardown(mut self) -> Option<String> {
        teardown_once(&mut self).await
    }

    /// Lets go of the testcontainers handles without running their `Drop`,
    /// which would remove the containers: used when keeping them, and by
    /// our own `Drop`, which removes them itself without needing a runtime.
    fn release_containers(&mut self) {
        for node in &mut self.nodes {
            if let Some(container) = node.container.take() {
                std::mem::forget(container);
            }
        }
    }
}

impl Owned for ContainerDeployment {
    fn torn_down(&mut self) -> &mut bool {
        &mut self.torn_down
    }

    fn kept(&self) -> bool {
        self.spec.keep
    }

    fn leave_in_place(&mut self) -> String {
        self.release_containers();
        kept_message(&self.spec.run_id, &self.nodes)
    }

    async fn remove_everything(&mut self) {
        for node in &mut self.nodes {
            if let Some(container) = node.container.take() {
                let name = node.spec.container_name();
                if let Err(error) = container.rm().await {
                    tracing::warn!(container = %name, %error, "could not remove container; trying by name");
                    let _ = network::remove_container(&self.docker, &name).await;
                }
            }
        }
        for volume in std::mem::take(&mut self.volumes) {
            if let Err(error) = network::remove_volume(&self.docker, &volume).await {
                tracing::warn!(%volume, %error, "could not remove volume");
            }
        }
        if let Some(network) = self.network.take()
            && let Err(error) = network::remove_network(&self.docker, &network).await
        {
            tracing::warn!(%network, %error, "could not remove network");
        }
        self.record.remove();
    }
}

impl Drop for ContainerDeployment {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        if self.spec.keep {
            self.release_containers();
            return;
        }
        tracing::warn!(run = %self.spec.run_id, "container deployment dropped without teardown; removing its containers");
        let containers: Vec<String> = self
            .nodes
            .iter()
            .filter(|node| node.container.is_some())
            .map(|node| node.spec.container_name())
            .collect();
        self.release_containers();
        let volumes = std::mem::take(&mut self.volumes);
        let network = self.network.take();
        let endpoint = self.endpoint.clone();
        let run_id = self.spec.run_id.clone();
        // A thread with a runtime of its own: `Drop` may run inside an async
        // context (where blocking on it would panic) or outside any runtime.
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                let Ok(docker) = engine::connect(&endpoint) else { return };
                for name in &containers {
                    if let Err(error) = network::remove_container(&docker, name).await {
                        tracing::warn!(container = %name, %error, "drop: could not remove container");
                    }
                }
                for name in &volumes {
                    if let Err(error) = network::remove_volume(&docker, name).await {
                        tracing::warn!(volume = %name, %error, "drop: could not remove volume");
                    }
                }
                if let Some(name) = network
                    && let Err(error) = network::remove_network(&docker, &name).await
                {
                    tracing::warn!(network = %name, %error, "drop: could not remove network");
                }
            });
        });
        if removal.join().is_err() {
            tracing::warn!(run = %run_id, "drop: the removal thread panicked; run `drdrill clean`");
        }
        self.record.remove();
    }
}

/// The message returned when a deployment is kept.
fn kept_message(run_id: &str, nodes: &[ContainerNode]) -> String {
    let uris: Vec<String> = nodes
        .iter()
        .map(|node| format!("{} {}", node.spec.container_name(), node.uri()))
        .collect();
    format!(
        "kept run {run_id} for debugging: network {}, containers [{}]; remove with `drdrill clean --run {run_id}` \
         or `podman rm -f -v $(podman ps -aq --filter label={RUN_ID_LABEL}={run_id})`, then \
         `podman volume prune --filter label={RUN_ID_LABEL}={run_id}` and `podman network rm {}`",
        network_name(run_id),
        uris.join(", "),
        network_name(run_id)
    )
}

fn removed(name: &str, operation: &str) -> ProviderError {
    ProviderError::InvalidState {
        node: name.to_string(),
        operation: operation.to_string(),
        reason: "its container was removed".into(),
    }
}

/// The harness's word for an engine's container state: `running` and
/// `paused` as they are, anything else (`created`, `exited`, `missing` ...)
/// down.
pub(super) fn node_state(engine_state: &str) -> NodeState {
    match engine_state {
        "running" => NodeState::Running,
        "paused" => NodeState::Paused,
        _ => NodeState::Down,
    }
}

/// The engine's state of a container (`running`, `paused`, `exited`,
/// `missing` when the engine does not know it).
async fn container_state(docker: &Docker, name: &str) -> String {
    match docker.inspect_container(name, None).await {
        Ok(inspect) => inspect
            .state
            .and_then(|state| state.status)
            .map(|status| status.to_string())
            .unwrap_or_else(|| "unknown".into()),
        Err(error) if network::is_not_found(&error) => "missing".into(),
        Err(error) => format!("unknown ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferretdb_cannot_form_a_replica_set() {
        let mut spec = ContainerSpec::new("r1");
        spec.replica_set = Some(ReplicaSetOptions::default());
        assert!(matches!(spec.validate(), Err(ProviderError::NotSupported { .. })));
    }

    #[test]
    fn replica_set_spec_defaults_and_roles() {
        let spec = ContainerSpec::mongodb_replica_set(
            "r1",
            3,
            ReplicaSetOptions {
                arbiter: true,
                ..Default::default()
            },
        );
        assert_eq!(spec.validate().map_err(|error| error.to_string()), Ok(()));
        assert_eq!(spec.image().reference(), "mongo:7.0");
        assert_eq!(spec.roles().len(), 4);
        assert_eq!(spec.roles()[3], NodeRole::Arbiter);
    }

    #[test]
    fn bad_specs_are_refused_before_anything_is_created() {
        let mut spec = ContainerSpec::new("r1");
        spec.nodes = 0;
        assert!(spec.validate().is_err());
        let spec = ContainerSpec::new("bad run/id");
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("cannot name containers")
        );
        let mut unelectable = ContainerSpec::mongodb_replica_set(
            "r1",
            2,
            ReplicaSetOptions {
                priorities: vec![0.0, 0.0],
                ..Default::default()
            },
        );
        assert!(unelectable.validate().is_err());
        unelectable.replica_set = None;
        assert!(unelectable.validate().is_ok());
    }
}
