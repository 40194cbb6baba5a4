//! An existing deployment named by URI. The harness did not start it, so
//! it never stops, faults or removes it: every node fault answers
//! [`ProviderError::Unsupported`], and teardown leaves it alone. Its
//! drills restore into an ephemeral node the harness starts on its own
//! provider ([`Deployment::start_fresh`]), never into the source.

use crate::provider::{Deployment, DeploymentSpec, NodeFaults, ProviderError, ProviderKind};
use crate::uri::MongoUri;

/// A deployment someone else runs.
#[derive(Debug)]
pub struct ExternalDeployment {
    /// Its URI, as the scenario names it.
    uri: MongoUri,
    /// How to start the ephemeral node a drill restores into.
    ephemeral: Option<EphemeralPlan>,
}

/// The ephemeral node of an external drill: started empty, on the
/// harness's own provider, in the run's folder, torn down with the drill.
#[derive(Debug, Clone)]
struct EphemeralPlan {
    /// Its provider (local or containers).
    provider: ProviderKind,
    /// Its server implementation: the external deployment's engine.
    engine: crate::provider::Engine,
    /// The run's folder.
    work_dir: std::path::PathBuf,
    /// Keep it at teardown, as the run asked.
    keep: bool,
}

impl ExternalDeployment {
    /// The deployment at `uri`, with no ephemeral node to restore into.
    pub fn new(uri: MongoUri) -> Self {
        Self { uri, ephemeral: None }
    }

    /// The deployment at `uri`, whose drills restore into an ephemeral node
    /// started as `spec` says (`ephemeral`, local by default).
    fn with_spec(uri: MongoUri, spec: &DeploymentSpec) -> Self {
        Self {
            uri,
            ephemeral: Some(EphemeralPlan {
                provider: spec.ephemeral.unwrap_or(ProviderKind::Local),
                engine: spec.engine,
                work_dir: spec.work_dir.clone(),
                keep: spec.keep,
            }),
        }
    }
}

/// The registry's starter: names the deployment of `spec.uri`, or of the
/// variable or file the scenario names (`uri_env`, `uri_file`), read now.
pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
    let refused = |reason: String| ProviderError::InvalidState {
        node: "deployment".into(),
        operation: "start".into(),
        reason,
    };
    let uri = match (&spec.uri, &spec.uri_source) {
        (Some(uri), _) => uri.clone(),
        (None, Some(source)) => source.resolve().map_err(|error| refused(crate::error::chain(&error)))?,
        (None, None) => {
            return Err(refused(
                "provider external needs `uri`, `uri_env` or `uri_file` in [topology]".into(),
            ));
        }
    };
    Ok(Box::new(ExternalDeployment::with_spec(uri, spec)))
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

    /// The ephemeral node: one empty server of the external deployment's
    /// engine on the harness's own provider; the source is never touched.
    async fn start_fresh(&self, run_id: &str) -> Result<Box<dyn Deployment>, ProviderError> {
        let Some(plan) = &self.ephemeral else {
            return Err(self.unsupported(crate::provider::NodeOperation::StartFresh));
        };
        let spec = DeploymentSpec {
            run_id: format!("{run_id}-ephemeral"),
            provider: plan.provider,
            engine: plan.engine,
            backend: crate::provider::Backend::Sqlite,
            nodes: 1,
            replica_set: None,
            image_tag: None,
            uri: None,
            uri_source: None,
            work_dir: plan.work_dir.clone(),
            keep: plan.keep,
            ephemeral: None,
            managed: None,
        };
        crate::provider::start(&spec).await
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

    fn problems(lines: &str) -> String {
        match crate::provider::spec::load_topology(lines) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn a_password_in_the_scenario_text_is_a_located_error() {
        let found =
            problems("provider = \"external\"\nengine = \"mongodb\"\nuri = \"mongodb://admin:S3cret@db:27017/\"");
        assert!(found.contains("scenarios/t.toml:5:7: topology.uri: "), "{found}");
        assert!(found.contains("holds a password in the scenario text"), "{found}");
        assert!(found.contains("`uri_env = \"VARIABLE\"`"), "{found}");
        assert!(!found.contains("S3cret"), "{found}");
        let found =
            problems("provider = \"external\"\nengine = \"mongodb\"\nuri = \"mongodb://db:27017/?password=S3cret\"");
        assert!(found.contains("holds a password"), "{found}");
        // Without a password the URI may stay in the scenario.
        assert_eq!(
            problems("provider = \"external\"\nengine = \"mongodb\"\nuri = \"mongodb://reader@db:27017/\""),
            ""
        );
    }

    #[test]
    fn the_uri_is_named_once_by_a_variable_or_a_file() {
        assert_eq!(
            problems("provider = \"external\"\nengine = \"mongodb\"\nuri_env = \"SOURCE_URI\""),
            ""
        );
        let found =
            problems("provider = \"external\"\nengine = \"mongodb\"\nuri_env = \"SOURCE_URI\"\nuri_file = \"uri.txt\"");
        assert!(
            found.contains("topology.uri_file: `uri_env` and `uri_file` both name the deployment"),
            "{found}"
        );
        let found = problems("provider = \"external\"\nengine = \"mongodb\"\nuri_env = \"1-bad\"");
        assert!(
            found.contains("topology.uri_env: \"1-bad\" is not an environment variable's name"),
            "{found}"
        );
        let found = problems("provider = \"local\"\nengine = \"ferretdb\"\nuri_env = \"SOURCE_URI\"");
        assert!(
            found.contains("`uri_env` applies only to provider = \"external\""),
            "{found}"
        );
        let found = problems("provider = \"external\"\nengine = \"mongodb\"");
        assert!(found.contains("missing field `uri`"), "{found}");
    }

    #[tokio::test]
    async fn the_uri_is_read_from_the_file_at_start_and_errors_name_the_source() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("source-uri");
        std::fs::write(&file, "\n  mongodb://admin:S3cret@db.example:27017/admin  \n").unwrap();
        let mut spec = crate::provider::DeploymentSpec::from_topology(
            &crate::provider::spec::topology_of("provider = \"external\"\nengine = \"mongodb\"\nuri_file = \"x\""),
            crate::provider::ProviderKind::External,
            "t",
            folder.path(),
            false,
        );
        spec.uri_source = Some(crate::scenario::UriSource::File(file.clone()));
        let deployment = start(&spec).await.unwrap();
        assert_eq!(
            deployment.uri().expose_secret(),
            "mongodb://admin:S3cret@db.example:27017/admin"
        );
        assert_eq!(
            deployment.describe(),
            "external deployment mongodb://admin:****@db.example:27017/admin"
        );

        spec.uri_source = Some(crate::scenario::UriSource::File(folder.path().join("absent")));
        let error = start(&spec).await.err().unwrap().to_string();
        assert!(
            error.contains("topology.uri_file: cannot read ") && error.contains("absent"),
            "{error}"
        );
        spec.uri_source = Some(crate::scenario::UriSource::File(folder.path().to_path_buf()));
        let error = start(&spec).await.err().unwrap().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        std::fs::write(&file, "http://admin:S3cret@db/").unwrap();
        spec.uri_source = Some(crate::scenario::UriSource::File(file.clone()));
        let error = start(&spec).await.err().unwrap().to_string();
        assert!(
            error.contains("must start with mongodb://") && !error.contains("S3cret"),
            "{error}"
        );
        spec.uri_source = Some(crate::scenario::UriSource::Env(
            "SURELY_UNSET_SOURCE_URI_OF_A_TEST".into(),
        ));
        let error = start(&spec).await.err().unwrap().to_string();
        assert!(
            error.contains("the environment variable SURELY_UNSET_SOURCE_URI_OF_A_TEST is not set"),
            "{error}"
        );
    }
}
