//! The containers provider behind the provider traits: the registry's
//! starter and every fault the engine can inject. Wiping a node's data in
//! place keeps the traits' `Unsupported` answer, with what to do instead.

use std::path::Path;
use std::time::Duration;

use super::{ContainerDeployment, ContainerSpec};
use crate::provider::{
    Backend, Deployment, DeploymentSpec, Engine, ExecOutput, NodeFaults, NodeOperation, NodeState, ProviderError,
};
use crate::uri::MongoUri;

impl ContainerSpec {
    /// The container spec of a drill's [`DeploymentSpec`].
    pub fn from_deployment_spec(spec: &DeploymentSpec) -> Self {
        let mut containers = Self::new(spec.run_id.clone());
        containers.engine = spec.engine;
        containers.nodes = spec.nodes;
        containers.keep = spec.keep;
        containers.image_tag = spec.image_tag.clone();
        containers.replica_set = spec.replica_set.clone();
        containers
    }
}

/// The registry's starter for `provider = "containers"`.
pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
    let deployment = ContainerDeployment::start(ContainerSpec::from_deployment_spec(spec)).await?;
    Ok(Box::new(deployment))
}

#[async_trait::async_trait(?Send)]
impl NodeFaults for ContainerDeployment {
    fn provider_name(&self) -> &'static str {
        "containers"
    }

    async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        ContainerDeployment::kill(self, index).await
    }

    async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        ContainerDeployment::stop(self, index).await
    }

    async fn pause(&mut self, index: usize) -> Result<String, ProviderError> {
        ContainerDeployment::pause(self, index).await?;
        Ok("frozen by the container engine (cgroup freezer)".into())
    }

    async fn resume(&mut self, index: usize) -> Result<(), ProviderError> {
        self.unpause(index).await
    }

    async fn ensure_running(&mut self, index: usize) -> Result<bool, ProviderError> {
        let description = self.describe().await;
        let node = description
            .get(index)
            .ok_or_else(|| ProviderError::NoSuchNode(format!("node-{index}")))?;
        if node.state == NodeState::Removed {
            self.replace_node(index).await?;
            return Ok(true);
        }
        if node.disconnected {
            self.reconnect(index).await?;
            return Ok(true);
        }
        match node.state {
            NodeState::Running => Ok(false),
            NodeState::Paused => self.unpause(index).await.map(|()| true),
            NodeState::Down | NodeState::Removed => self.start_node(index).await.map(|_| true),
        }
    }

    async fn wipe(&mut self, index: usize) -> Result<(), ProviderError> {
        let _ = index;
        Err(ProviderError::unsupported_because(
            self.provider_name(),
            NodeOperation::Wipe,
            "wipe-data keeps the container; remove the node with its volume instead",
        ))
    }

    async fn disconnect(&mut self, index: usize) -> Result<(), ProviderError> {
        ContainerDeployment::disconnect(self, index).await
    }

    async fn remove(&mut self, index: usize) -> Result<(), ProviderError> {
        self.remove_with_volume(index).await
    }

    async fn exec(&self, index: usize, argv: &[String], timeout: Duration) -> Result<ExecOutput, ProviderError> {
        ContainerDeployment::exec(self, index, argv, timeout).await
    }

    async fn copy_file_out(&self, index: usize, node_path: &str, host_path: &Path) -> Result<(), ProviderError> {
        ContainerDeployment::copy_file_out(self, index, node_path, host_path).await
    }
}

#[async_trait::async_trait(?Send)]
impl Deployment for ContainerDeployment {
    fn describe(&self) -> String {
        format!(
            "{} in {} container(s) on network {}",
            self.engine(),
            ContainerDeployment::node_count(self),
            self.network_name()
        )
    }

    fn uri(&self) -> MongoUri {
        ContainerDeployment::uri(self)
    }

    fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        ContainerDeployment::node_uri(self, index)
    }

    fn node_count(&self) -> Option<usize> {
        Some(ContainerDeployment::node_count(self))
    }

    fn engine(&self) -> Option<Engine> {
        Some(ContainerDeployment::engine(self))
    }

    /// The FerretDB image runs the SQLite backend.
    fn backend(&self) -> Option<Backend> {
        (ContainerDeployment::engine(self) == Engine::Ferretdb).then_some(Backend::Sqlite)
    }

    fn image(&self) -> Option<String> {
        Some(ContainerDeployment::image(self).reference())
    }

    async fn start_fresh(&self, run_id: &str) -> Result<Box<dyn Deployment>, ProviderError> {
        let mut spec = ContainerSpec::new(format!("{run_id}-fresh"));
        spec.engine = ContainerDeployment::engine(self);
        spec.keep = self.keeps();
        if spec.engine == Engine::Mongodb {
            // The same `mongo` tag as the source.
            spec.image_tag = Some(ContainerDeployment::image(self).tag);
        }
        Ok(Box::new(ContainerDeployment::start(spec).await?))
    }

    async fn teardown(self: Box<Self>) -> Option<String> {
        ContainerDeployment::teardown(*self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{NodeRole, ProviderKind};

    /// What `arbiter = true` does on the containers provider, read by the
    /// scenario loader: one more container, last, that the replica set
    /// names arbiter-only (the same shape as on the local provider).
    #[test]
    fn a_container_replica_set_starts_its_arbiter_as_the_last_member() {
        let topology = crate::provider::spec::topology_of(
            "provider = \"containers\"\nengine = \"mongodb\"\nnodes = 3\nreplica_set = true\narbiter = true",
        );
        let spec = DeploymentSpec::from_topology(&topology, ProviderKind::Containers, "r1", Path::new("/tmp"), false);
        let containers = ContainerSpec::from_deployment_spec(&spec);
        assert_eq!(containers.validate().map_err(|error| error.to_string()), Ok(()));
        assert_eq!(containers.roles().len(), 4);
        assert_eq!(containers.roles()[3], NodeRole::Arbiter);
        let config = containers.replica_set.as_ref().unwrap().config("r1", 3).unwrap();
        assert!(config.members[3].arbiter);
        assert_eq!(config.members[3].host, "drill-r1-node-3:27017");
    }

    #[test]
    fn engine_states_map_to_the_shared_node_states() {
        assert_eq!(super::super::deployment::node_state("running"), NodeState::Running);
        assert_eq!(super::super::deployment::node_state("paused"), NodeState::Paused);
        assert_eq!(super::super::deployment::node_state("exited"), NodeState::Down);
        assert_eq!(super::super::deployment::node_state("missing"), NodeState::Down);
    }
}
