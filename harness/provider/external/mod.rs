//! An existing deployment named by URI. The harness did not start it, so
//! it never stops, faults or removes it: every node fault answers
//! [`ProviderError::Unsupported`], and teardown leaves it alone.

use crate::provider::{Deployment, DeploymentSpec, NodeFaults, ProviderError};
use crate::uri::MongoUri;

/// A deployment someone else runs.
#[derive(Debug)]
pub struct ExternalDeployment {
    /// Its URI, as the scenario names it.
    uri: MongoUri,
}

impl ExternalDeployment {
    /// The deployment at `uri`.
    pub fn new(uri: MongoUri) -> Self {
        Self { uri }
    }
}

/// The registry's starter: names the deployment of `spec.uri`.
pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
    match &spec.uri {
        Some(uri) => Ok(Box::new(ExternalDeployment::new(uri.clone()))),
        None => Err(ProviderError::InvalidState {
            node: "deployment".into(),
            operation: "start".into(),
            reason: "provider external needs `uri` in [topology]".into(),
        }),
    }
}

impl NodeFaults for ExternalDeployment {
    fn provider_name(&self) -> &'static str {
        "external"
    }
}

#[async_trait::async_trait(?Send)]
impl Deployment for ExternalDeployment {
    fn describe(&self) -> String {
        format!("external deployment {}", self.uri)
    }

    fn uri(&self) -> MongoUri {
        self.uri.clone()
    }

    async fn teardown(self: Box<Self>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::NodeOperation;

    /// No server needed: an external deployment refuses every fault
    /// before it would talk to one.
    #[tokio::test]
    async fn every_fault_is_refused_with_the_same_shape() {
        let mut deployment = ExternalDeployment::new(MongoUri::parse("mongodb://db.example:27017/").unwrap());
        let error = deployment.kill(0).await.unwrap_err();
        assert!(matches!(
            error,
            ProviderError::Unsupported {
                provider: "external",
                operation: NodeOperation::Kill,
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .starts_with("the external provider cannot kill a node: "),
            "{error}"
        );
        assert!(deployment.node_uri(0).is_err());
        assert!(deployment.start_fresh("r1").await.is_err());
        assert_eq!(deployment.node_count(), None);
        assert_eq!(Box::new(deployment).teardown().await, None);
    }

    /// The harness starts no member of an external deployment, so
    /// `arbiter = true` there is a located validation error, not ignored.
    #[test]
    fn an_arbiter_on_an_external_deployment_is_a_located_error() {
        let errors = crate::provider::spec::load_topology(
            "provider = \"external\"\nuri = \"mongodb://db.example:27017/\"\nengine = \"mongodb\"\n\
             nodes = 3\nreplica_set = true\narbiter = true",
        )
        .unwrap_err();
        let text = errors.to_string();
        assert_eq!(errors.diagnostics.len(), 1, "{text}");
        assert!(
            text.starts_with(
                "scenarios/t.toml:8:1: topology.arbiter: `arbiter` cannot apply to provider = \"external\""
            ),
            "{text}"
        );
        let without = crate::provider::spec::topology_of(
            "provider = \"external\"\nuri = \"mongodb://db.example:27017/\"\nengine = \"mongodb\"\nreplica_set = true",
        );
        assert!(without.replica_set.is_some());
    }
}
