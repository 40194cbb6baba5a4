//! How to build a managed deployment: its standbys, how they replicate,
//! and the links they replicate over.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::provider::DeploymentSpec;
use crate::provider::local::default_work_dir;

/// How the primary waits for its standbys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replication {
    /// A commit is acknowledged once it is on the primary's disk; the
    /// standbys follow as fast as their links allow.
    #[default]
    Async,
    /// A commit is acknowledged once a standby has it too
    /// (`synchronous_standby_names = 'ANY 1 (...)'`, and the scenario's
    /// `synchronous_commit`, `remote_apply` by default).
    Sync,
}

/// Everything the managed provider needs.
#[derive(Debug, Clone)]
pub struct ManagedSpec {
    /// The run's id, in folder names and the run record.
    pub run_id: String,
    /// Streaming standbys beside the primary (0 to 6).
    pub standbys: usize,
    /// Asynchronous or synchronous.
    pub replication: Replication,
    /// `synchronous_commit` on the primary (`remote_apply` when
    /// synchronous, PostgreSQL's `on` otherwise).
    pub synchronous_commit: Option<String>,
    /// Bytes per second each site link carries from the primary to its
    /// standby; `None`: as fast as the machine goes.
    pub link_bandwidth: Option<u64>,
    /// How long a byte takes across a site link, each way; `None`: no
    /// delay beyond the machine's.
    pub link_latency: Option<Duration>,
    /// The folder under which the run's folder is created.
    pub work_dir: PathBuf,
    /// Leave everything in place at teardown, for debugging.
    pub keep: bool,
    /// How long a site's FerretDB may take to answer `hello`.
    pub ready_timeout: Duration,
}

impl ManagedSpec {
    /// One primary, no standby, in the default work folder.
    pub fn new(run_id: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            standbys: 0,
            replication: Replication::Async,
            synchronous_commit: None,
            link_bandwidth: None,
            link_latency: None,
            work_dir: default_work_dir(),
            keep: false,
            ready_timeout: Duration::from_secs(30),
        }
    }

    /// The managed spec of a drill's [`DeploymentSpec`].
    pub fn from_deployment_spec(spec: &DeploymentSpec) -> Self {
        let mut managed = Self::new(spec.run_id.clone());
        if let Some(topology) = &spec.managed {
            managed.standbys = usize::from(topology.standbys);
            managed.replication = topology.replication;
            managed.synchronous_commit = topology.synchronous_commit.clone();
            managed.link_bandwidth = topology.link_bandwidth;
            managed.link_latency = topology.link_latency;
        }
        managed.work_dir = spec.work_dir.clone();
        managed.keep = spec.keep;
        managed
    }

    /// What each site link does to the WAL it carries.
    pub fn link_shape(&self) -> super::LinkShape {
        super::LinkShape {
            latency: self.link_latency,
            bandwidth: self.link_bandwidth,
        }
    }

    /// The `synchronous_commit` the primary runs with, if the spec sets one.
    pub fn commit_level(&self) -> Option<&str> {
        match (&self.synchronous_commit, self.replication) {
            (Some(level), _) => Some(level),
            (None, Replication::Sync) => Some("remote_apply"),
            (None, Replication::Async) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderKind;
    use crate::provider::spec::{load_topology, topology_of};

    /// A scenario's managed keys, read by the scenario loader, reach the
    /// provider's spec: a synchronous standby over a 50 ms link commits
    /// with `remote_apply` unless the scenario names another level.
    #[test]
    fn the_managed_keys_of_a_scenario_reach_the_provider() {
        let topology = topology_of(
            "provider = \"managed\"\nengine = \"ferretdb\"\nstandbys = 2\nreplication = \"sync\"\nlink_latency = \"50ms\"",
        );
        assert_eq!(topology.backend, Some(crate::provider::Backend::Postgresql));
        let spec = DeploymentSpec::from_topology(
            &topology,
            ProviderKind::Managed,
            "r1",
            std::path::Path::new("/tmp"),
            false,
        );
        let managed = ManagedSpec::from_deployment_spec(&spec);
        assert_eq!(managed.standbys, 2);
        assert_eq!(managed.replication, Replication::Sync);
        assert_eq!(managed.commit_level(), Some("remote_apply"));
        assert_eq!(managed.link_shape().latency, Some(Duration::from_millis(50)));
        assert_eq!(managed.link_shape().bandwidth, None);
        let asynchronous = ManagedSpec::new("r2");
        assert_eq!(asynchronous.commit_level(), None);
    }

    /// The managed keys mean nothing to another provider: a located error,
    /// never a silently ignored setting.
    #[test]
    fn a_managed_key_on_another_provider_is_a_located_error() {
        let errors = load_topology("provider = \"local\"\nengine = \"ferretdb\"\nstandbys = 1")
            .expect_err("standbys on a local deployment");
        let text = errors.to_string();
        assert!(
            text.contains("topology.standbys: `standbys` applies only to provider = \"managed\""),
            "{text}"
        );
    }
}
