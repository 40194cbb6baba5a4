//! What to start, said once: the scenario's topology (and the command
//! line's overrides) turned into the one spec every provider reads.

use std::path::{Path, PathBuf};

use super::replica_set::ReplicaSetOptions;
use super::{Backend, Engine, ProviderKind};
use crate::scenario::Topology;
use crate::uri::MongoUri;

/// Everything a provider needs to start a drill's deployment.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    /// The run's id, in every folder, container and record name.
    pub run_id: String,
    /// Which provider starts it.
    pub provider: ProviderKind,
    /// The server implementation.
    pub engine: Engine,
    /// FerretDB's backend (ignored for `mongod`).
    pub backend: Backend,
    /// Data-bearing nodes (a replica set's arbiter comes on top).
    pub nodes: usize,
    /// Form a replica set (MongoDB only); `None` gives independent servers.
    pub replica_set: Option<ReplicaSetOptions>,
    /// The `mongo` image tag, for a provider that runs images.
    pub image_tag: Option<String>,
    /// The URI of an existing deployment (provider `external`).
    pub uri: Option<MongoUri>,
    /// Where to read that URI at start when the scenario names it instead.
    pub uri_source: Option<crate::scenario::UriSource>,
    /// The folder under which a provider puts the run's files.
    pub work_dir: PathBuf,
    /// Leave everything in place at teardown, for debugging.
    pub keep: bool,
    /// Provider `external`: who starts the ephemeral node its drill
    /// restores into (local when unset).
    pub ephemeral: Option<ProviderKind>,
    /// The managed provider's standbys and replication (`None` elsewhere).
    pub managed: Option<crate::scenario::ManagedTopology>,
}

impl DeploymentSpec {
    /// The spec of `topology` on `provider` (the scenario's own, or the
    /// command line's `--provider`).
    pub fn from_topology(
        topology: &Topology,
        provider: ProviderKind,
        run_id: &str,
        work_dir: &Path,
        keep: bool,
    ) -> Self {
        Self {
            run_id: run_id.to_string(),
            provider,
            engine: topology.engine,
            backend: topology.backend.unwrap_or(Backend::Sqlite),
            nodes: usize::from(topology.nodes.max(1)),
            replica_set: topology.replica_set.map(|replica_set| ReplicaSetOptions {
                arbiter: replica_set.arbiter,
                ..Default::default()
            }),
            image_tag: topology.image_tag.clone(),
            uri: topology.uri.clone(),
            uri_source: topology.uri_source.clone(),
            work_dir: work_dir.to_path_buf(),
            keep,
            ephemeral: topology.ephemeral,
            managed: topology.managed.clone(),
        }
    }
}

/// A minimal scenario whose `[topology]` table (line 2) holds `lines`,
/// read by the scenario loader as `drdrill validate` reads it.
#[cfg(test)]
pub(crate) fn load_topology(lines: &str) -> Result<Topology, crate::scenario::ScenarioErrors> {
    let text = format!(
        "name = \"t\"\n[topology]\n{lines}\n[dataset]\nprofile = \"shepherd-cms\"\ndocuments = 10\n\
         [objectives]\nrto = \"60m\"\nrpo = \"15m\"\n[[steps]]\nkind = \"seed\"\n"
    );
    crate::scenario::validate_str(&text, Path::new("scenarios/t.toml")).map(|scenario| scenario.topology)
}

/// [`load_topology`] of a valid topology.
#[cfg(test)]
pub(crate) fn topology_of(lines: &str) -> Topology {
    load_topology(lines).unwrap_or_else(|errors| panic!("{errors}"))
}
