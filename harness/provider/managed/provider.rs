//! The managed provider behind the provider traits: the registry's
//! starter, the site faults (kill, stop), and the failover. A node index
//! is a site: 0 is the first primary, 1 and on its standbys.

use super::{ManagedDeployment, ManagedSpec};
use crate::provider::failover::{FailoverRequest, Promotion};
use crate::provider::{Backend, Deployment, DeploymentSpec, Engine, NodeFaults, ProviderError};
use crate::uri::MongoUri;

/// The registry's starter for `provider = "managed"`.
pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
    if spec.engine != Engine::Ferretdb {
        return Err(ProviderError::NotSupported {
            engine: spec.engine.to_string(),
            what: "the managed provider (FerretDB over PostgreSQL only)".into(),
        });
    }
    Ok(Box::new(
        ManagedDeployment::start(ManagedSpec::from_deployment_spec(spec)).await?,
    ))
}

#[async_trait::async_trait(?Send)]
impl NodeFaults for ManagedDeployment {
    fn provider_name(&self) -> &'static str {
        "managed"
    }

    async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        self.kill_site(index).await
    }

    async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        self.stop_site(index).await
    }

    /// A running site needs nothing (a restore into the primary after a
    /// dropped database); a site that is down is not brought back: a
    /// managed cluster recovers by failing over, or into a new cluster
    /// from a snapshot.
    async fn ensure_running(&mut self, index: usize) -> Result<bool, ProviderError> {
        match self.site_state(index)? {
            crate::provider::NodeState::Running => Ok(false),
            state => Err(ProviderError::InvalidState {
                node: format!("site-{index}"),
                operation: "bring the site back".into(),
                reason: format!(
                    "it is {state}; a managed cluster recovers by a failover step, or into a new cluster with \
                     restore-snapshot"
                ),
            }),
        }
    }
}

#[async_trait::async_trait(?Send)]
impl Deployment for ManagedDeployment {
    fn describe(&self) -> String {
        format!(
            "ferretdb over postgresql, 1 primary and {} standby(s), managed (local processes)",
            self.site_count().saturating_sub(1)
        )
    }

    fn uri(&self) -> MongoUri {
        ManagedDeployment::uri(self)
    }

    fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        self.site_uri(index)
    }

    fn node_count(&self) -> Option<usize> {
        Some(self.site_count())
    }

    fn engine(&self) -> Option<Engine> {
        Some(Engine::Ferretdb)
    }

    fn backend(&self) -> Option<Backend> {
        Some(Backend::Postgresql)
    }

    async fn fail_over(&mut self, request: &FailoverRequest) -> Result<Promotion, ProviderError> {
        ManagedDeployment::fail_over(self, request).await
    }

    fn failover_env(&self, site: Option<usize>) -> Vec<(String, String)> {
        ManagedDeployment::failover_env(self, site)
    }

    fn snapshots(&self) -> Option<&dyn crate::provider::snapshot::StorageSnapshots> {
        Some(self)
    }

    async fn teardown(self: Box<Self>) -> Option<String> {
        ManagedDeployment::teardown(*self).await
    }
}
