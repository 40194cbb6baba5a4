//! The local provider behind the provider traits: the registry's starter,
//! and the faults a local process can take (kill, stop, pause, resume,
//! restart, wipe). Disconnecting, removing and running commands inside a
//! node keep the traits' `Unsupported` answers.

use super::{LocalDeployment, LocalSpec, NodeState, default_work_dir};
use crate::provider::{Backend, Deployment, DeploymentSpec, Engine, NodeFaults, ProviderError};
use crate::uri::MongoUri;

impl LocalSpec {
    /// The local spec of a drill's [`DeploymentSpec`].
    pub fn from_deployment_spec(spec: &DeploymentSpec) -> Self {
        let mut local = Self::new(spec.run_id.clone());
        local.engine = spec.engine;
        local.backend = spec.backend;
        local.nodes = spec.nodes;
        local.replica_set = spec.replica_set.clone();
        local.work_dir = spec.work_dir.clone();
        local.keep = spec.keep;
        local
    }
}

/// The registry's starter for `provider = "local"`.
pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
    Ok(Box::new(
        LocalDeployment::start(LocalSpec::from_deployment_spec(spec)).await?,
    ))
}

#[async_trait::async_trait(?Send)]
impl NodeFaults for LocalDeployment {
    fn provider_name(&self) -> &'static str {
        "local"
    }

    async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        LocalDeployment::kill(self, index).await
    }

    async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        LocalDeployment::stop(self, index).await
    }

    async fn pause(&mut self, index: usize) -> Result<String, ProviderError> {
        LocalDeployment::pause(self, index).await
    }

    async fn resume(&mut self, index: usize) -> Result<(), ProviderError> {
        LocalDeployment::resume(self, index).await
    }

    async fn ensure_running(&mut self, index: usize) -> Result<bool, ProviderError> {
        match self.node_state(index)? {
            NodeState::Running => Ok(false),
            NodeState::Paused => LocalDeployment::resume(self, index).await.map(|()| true),
            NodeState::Down | NodeState::Removed => self.restart(index).await.map(|_| true),
        }
    }

    async fn wipe(&mut self, index: usize) -> Result<(), ProviderError> {
        if self.node_state(index)? != NodeState::Down {
            LocalDeployment::kill(self, index).await?;
        }
        self.wipe_data(index).await
    }
}

#[async_trait::async_trait(?Send)]
impl Deployment for LocalDeployment {
    fn describe(&self) -> String {
        format!(
            "{} over {}, {} node(s), local processes",
            self.engine(),
            self.backend(),
            self.node_count()
        )
    }

    fn uri(&self) -> MongoUri {
        LocalDeployment::uri(self)
    }

    fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        LocalDeployment::node_uri(self, index)
    }

    fn node_count(&self) -> Option<usize> {
        Some(LocalDeployment::node_count(self))
    }

    fn engine(&self) -> Option<Engine> {
        Some(LocalDeployment::engine(self))
    }

    fn backend(&self) -> Option<Backend> {
        Some(LocalDeployment::backend(self))
    }

    async fn start_fresh(&self, run_id: &str) -> Result<Box<dyn Deployment>, ProviderError> {
        let mut spec = LocalSpec::new(format!("{run_id}-fresh"));
        spec.engine = LocalDeployment::engine(self);
        spec.backend = LocalDeployment::backend(self);
        // A kept drill keeps its fresh node too.
        spec.keep = self.keeps();
        spec.work_dir = self
            .run_dir()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(default_work_dir);
        Ok(Box::new(LocalDeployment::start(spec).await?))
    }

    async fn teardown(self: Box<Self>) -> Option<String> {
        LocalDeployment::teardown(*self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::NodeRole;
    use crate::provider::local::replica_set_config;

    /// A scenario's local replica set with `arbiter = true`, read by the
    /// scenario loader and turned into the local spec: an extra, last node
    /// that `replSetInitiate` names arbiter-only. (No `mongod` is installed
    /// here, so this is the configuration the provider would initiate.)
    #[test]
    fn a_local_replica_set_starts_its_arbiter_as_the_last_member() {
        let scenario = crate::provider::spec::topology_of(
            "provider = \"local\"\nengine = \"mongodb\"\nnodes = 2\nreplica_set = true\narbiter = true",
        );
        let spec = DeploymentSpec::from_topology(
            &scenario,
            crate::provider::ProviderKind::Local,
            "r1",
            std::path::Path::new("/tmp"),
            false,
        );
        let local = LocalSpec::from_deployment_spec(&spec);
        assert_eq!(local.validate().map_err(|error| error.to_string()), Ok(()));
        assert_eq!(local.roles(), [NodeRole::Data, NodeRole::Data, NodeRole::Arbiter]);
        let config = replica_set_config(local.replica_set.as_ref().unwrap(), &[41001, 41002, 41003]).unwrap();
        let document = config.to_document();
        let members = document.get_array("members").unwrap();
        assert_eq!(members.len(), 3);
        let arbiter = members[2].as_document().unwrap();
        assert_eq!(arbiter.get_str("host").unwrap(), "127.0.0.1:41003");
        assert!(arbiter.get_bool("arbiterOnly").unwrap());
        assert!(!members[0].as_document().unwrap().contains_key("arbiterOnly"));
    }

    /// Without `replica_set = true`, local `mongod` nodes are independent
    /// servers, as container nodes are; FerretDB refuses a replica set.
    #[test]
    fn local_nodes_form_a_replica_set_only_when_asked() {
        let mut spec = LocalSpec::new("r1");
        spec.engine = Engine::Mongodb;
        spec.nodes = 3;
        assert_eq!(spec.roles(), [NodeRole::Data; 3]);
        spec.engine = Engine::Ferretdb;
        spec.replica_set = Some(Default::default());
        assert!(matches!(spec.validate(), Err(ProviderError::NotSupported { .. })));
    }

    #[test]
    fn faults_a_local_node_cannot_take_say_so() {
        let error = ProviderError::unsupported("local", crate::provider::NodeOperation::Disconnect);
        assert_eq!(
            error.to_string(),
            "the local provider cannot disconnect a node from the network: \
             only the containers provider can (run with provider = \"containers\")"
        );
    }
}
