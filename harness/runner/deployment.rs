//! The deployment a drill runs against, whichever provider started it. The
//! runner and steps see this one type; faults that a provider cannot inject
//! (killing a node of an external deployment) say so instead of pretending.

use crate::provider::containers::{ContainerDeployment, ContainerSpec};
use crate::provider::{Backend, Engine, LocalDeployment, LocalSpec, ProviderError};
use crate::uri::MongoUri;

/// A deployment owned by a drill, or an external one it must not destroy.
#[derive(Debug)]
pub enum Deployment {
    /// Server processes started by the harness.
    Local(LocalDeployment),
    /// Containers started by the harness (Docker or Podman).
    Containers(Box<ContainerDeployment>),
    /// An existing deployment named by URI.
    External {
        /// Its URI.
        uri: MongoUri,
    },
}

impl Deployment {
    /// Its URI (credentials inside; print only through `Display`).
    pub fn uri(&self) -> MongoUri {
        match self {
            Self::Local(deployment) => deployment.uri(),
            Self::Containers(deployment) => deployment.uri(),
            Self::External { uri } => uri.clone(),
        }
    }

    /// `ferretdb over sqlite, 1 node` and the like.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(deployment) => format!(
                "{} over {}, {} node(s), local processes",
                deployment.engine(),
                deployment.backend(),
                deployment.node_count()
            ),
            Self::Containers(deployment) => format!(
                "{} in {} container(s) on network {}",
                deployment.engine(),
                deployment.node_count(),
                deployment.network_name()
            ),
            Self::External { uri } => format!("external deployment {uri}"),
        }
    }

    /// The engine, when the harness started it.
    pub fn engine(&self) -> Option<Engine> {
        match self {
            Self::Local(deployment) => Some(deployment.engine()),
            Self::Containers(deployment) => Some(deployment.engine()),
            Self::External { .. } => None,
        }
    }

    /// The backend, when the harness started it (the FerretDB image runs
    /// the SQLite backend).
    pub fn backend(&self) -> Option<Backend> {
        match self {
            Self::Local(deployment) => Some(deployment.backend()),
            Self::Containers(deployment) => (deployment.engine() == Engine::Ferretdb).then_some(Backend::Sqlite),
            Self::External { .. } => None,
        }
    }

    fn local(&mut self, operation: &str) -> Result<&mut LocalDeployment, ProviderError> {
        match self {
            Self::Local(deployment) => Ok(deployment),
            Self::Containers(deployment) => Err(ProviderError::InvalidState {
                node: deployment.run_id().to_string(),
                operation: operation.into(),
                reason: "not available on containers".into(),
            }),
            Self::External { uri } => Err(ProviderError::InvalidState {
                node: uri.to_string(),
                operation: operation.into(),
                reason: "the harness did not start this deployment, so it cannot fault its processes".into(),
            }),
        }
    }

    /// SIGKILL node `index`.
    pub async fn kill(&mut self, index: usize) -> Result<(), ProviderError> {
        if let Self::Containers(deployment) = self {
            return deployment.kill(index).await;
        }
        self.local("kill a node")?.kill(index).await
    }

    /// Restarts node `index` if it is down (after a kill or wipe).
    pub async fn ensure_running(&mut self, index: usize) -> Result<bool, ProviderError> {
        if let Self::Containers(deployment) = self {
            let description = deployment.describe().await;
            let node = &description[index];
            if node.state == "removed" {
                deployment.replace_node(index).await?;
                return Ok(true);
            }
            if node.disconnected {
                deployment.reconnect(index).await?;
                return Ok(true);
            }
            return match node.state.as_str() {
                "running" => Ok(false),
                "paused" => deployment.unpause(index).await.map(|()| true),
                _ => deployment.start_node(index).await.map(|_| true),
            };
        }
        let deployment = self.local("restart a node")?;
        let state = deployment.describe()[index].state;
        if state == crate::provider::local::NodeState::Running {
            return Ok(false);
        }
        if state == crate::provider::local::NodeState::Paused {
            deployment.resume(index).await?;
            return Ok(true);
        }
        deployment.restart(index).await?;
        Ok(true)
    }

    /// Stops node `index` and removes its data.
    pub async fn wipe(&mut self, index: usize) -> Result<(), ProviderError> {
        if let Self::Containers(_) = self {
            return Err(ProviderError::NotSupported {
                engine: "containers provider".into(),
                what: "wipe-data keeps the container; remove the node with its volume instead".into(),
            });
        }
        let deployment = self.local("wipe a node's data")?;
        if deployment.describe()[index].state != crate::provider::local::NodeState::Down {
            deployment.kill(index).await?;
        }
        deployment.wipe_data(index).await
    }

    /// Pauses node `index` (the cgroup freezer; SIGSTOP for a local node
    /// where no freezer can be written) and says how.
    pub async fn pause(&mut self, index: usize) -> Result<String, ProviderError> {
        if let Self::Containers(deployment) = self {
            deployment.pause(index).await?;
            return Ok("frozen by the container engine (cgroup freezer)".into());
        }
        self.local("pause a node")?.pause(index).await
    }

    /// Clean shutdown of node `index`.
    pub async fn stop(&mut self, index: usize) -> Result<(), ProviderError> {
        if let Self::Containers(deployment) = self {
            return deployment.stop(index).await;
        }
        self.local("stop a node")?.stop(index).await
    }

    /// Cuts node `index` off the network (containers only).
    pub async fn disconnect(&mut self, index: usize) -> Result<(), ProviderError> {
        match self {
            Self::Containers(deployment) => deployment.disconnect(index).await,
            _ => Err(containers_only(self, "disconnect a node from the network")),
        }
    }

    /// Removes node `index` together with its data volume (containers only).
    pub async fn remove(&mut self, index: usize) -> Result<(), ProviderError> {
        match self {
            Self::Containers(deployment) => deployment.remove_with_volume(index).await,
            _ => Err(containers_only(self, "remove a node with its volume")),
        }
    }

    /// Runs `argv` inside node `index`'s container (containers only).
    pub async fn exec(
        &self,
        index: usize,
        argv: &[String],
        timeout: std::time::Duration,
    ) -> Result<crate::provider::containers::ExecOutput, ProviderError> {
        match self {
            Self::Containers(deployment) => deployment.exec(index, argv, timeout).await,
            _ => Err(containers_only(self, "run a command inside a node's container")),
        }
    }

    /// Copies a file out of node `index`'s container (containers only).
    pub async fn copy_file_out(
        &self,
        index: usize,
        container_path: &str,
        host_path: &std::path::Path,
    ) -> Result<(), ProviderError> {
        match self {
            Self::Containers(deployment) => deployment.copy_file_out(index, container_path, host_path).await,
            _ => Err(containers_only(self, "copy a file out of a node's container")),
        }
    }

    /// The image node containers run, when the harness started containers.
    pub fn image(&self) -> Option<String> {
        match self {
            Self::Containers(deployment) => Some(deployment.image().reference()),
            _ => None,
        }
    }

    /// How many nodes the harness started (`None` for an external one).
    pub fn node_count(&self) -> Option<usize> {
        match self {
            Self::Local(deployment) => Some(deployment.node_count()),
            Self::Containers(deployment) => Some(deployment.node_count()),
            Self::External { .. } => None,
        }
    }

    /// The connection string of node `index` alone (direct connection).
    pub fn node_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        match self {
            Self::Local(deployment) => deployment.node_uri(index),
            Self::Containers(deployment) => deployment.node_uri(index),
            Self::External { uri } => Err(ProviderError::InvalidState {
                node: uri.to_string(),
                operation: "name a node".into(),
                reason: "the harness did not start this deployment".into(),
            }),
        }
    }

    /// Starts another deployment like this one (a fresh node to restore into).
    pub async fn start_fresh(&self, run_id: &str) -> Result<Deployment, ProviderError> {
        match self {
            Self::Local(deployment) => {
                let mut spec = LocalSpec::new(format!("{run_id}-fresh"));
                spec.engine = deployment.engine();
                spec.backend = deployment.backend();
                // A kept drill keeps its fresh node too.
                spec.keep = deployment.keeps();
                spec.work_dir = deployment
                    .run_dir()
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_else(crate::provider::local::default_work_dir);
                Ok(Self::Local(LocalDeployment::start(spec).await?))
            }
            Self::Containers(deployment) => {
                let mut spec = ContainerSpec::new(format!("{run_id}-fresh"));
                spec.engine = deployment.engine();
                spec.keep = deployment.keeps();
                if spec.engine == Engine::Mongodb {
                    // The same `mongo` tag as the source.
                    spec.image_tag = Some(deployment.image().tag);
                }
                Ok(Self::Containers(Box::new(ContainerDeployment::start(spec).await?)))
            }
            Self::External { uri } => Err(ProviderError::InvalidState {
                node: uri.to_string(),
                operation: "start a fresh node".into(),
                reason: "an external deployment has no provider to start another; name a target URI".into(),
            }),
        }
    }

    /// Tears down what the harness started; an external deployment is left alone.
    pub async fn teardown(self) -> Option<String> {
        match self {
            Self::Local(deployment) => deployment.teardown().await,
            Self::Containers(deployment) => deployment.teardown().await,
            Self::External { .. } => None,
        }
    }
}

fn containers_only(deployment: &Deployment, operation: &str) -> ProviderError {
    let node = match deployment {
        Deployment::Local(local) => local.run_id().to_string(),
        Deployment::Containers(containers) => containers.run_id().to_string(),
        Deployment::External { uri } => uri.to_string(),
    };
    ProviderError::InvalidState {
        node,
        operation: operation.into(),
        reason: "only the containers provider can (run with provider = \"containers\")".into(),
    }
}
