//! Wire structs: the scenario file exactly as written, for serde. Durations
//! stay strings here; `convert.rs` turns them into the model. Unknown keys
//! are errors, so a misspelled key can never be skipped silently even if the
//! schema walk of `check.rs` missed it.

use serde::Deserialize;

use super::model::{BackupEngine, BackupFormat, DisasterAction, ReadConcern, ReadPreference, RestoreTarget, RunIn};
use crate::measure::RtoAppliesTo;
use crate::provider::{Backend, Engine, ProviderKind};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `cadence`: how often the drill must run (default from the tags).
    pub cadence: Option<String>,
    /// `expect = { fail = "..." }`.
    pub expect: Option<ExpectFile>,
    /// `[topology]`.
    pub topology: TopologyFile,
    /// `[dataset]`.
    pub dataset: DatasetFile,
    /// `[workload]`.
    #[serde(default)]
    pub workload: WorkloadFile,
    /// `[objectives]`.
    #[serde(default)]
    pub objectives: ObjectivesFile,
    /// `[forecast]`.
    pub forecast: Option<ForecastFile>,
    /// `[[steps]]`.
    pub steps: Vec<StepFile>,
    /// `[[probes]]`: steady-state probes.
    #[serde(default)]
    pub probes: Vec<super::steady::ProbeFile>,
    /// `[abort]`: abort conditions.
    pub abort: Option<super::steady::AbortFile>,
    /// `[stores.NAME]`.
    #[serde(default)]
    pub stores: std::collections::BTreeMap<String, StoreFile>,
}

/// `[stores.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    /// `url`.
    pub url: Option<String>,
    /// `folder`.
    pub folder: Option<String>,
    /// `gateway`.
    pub gateway: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `bucket`.
    pub bucket: Option<String>,
    /// `prefix`.
    pub prefix: Option<String>,
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `credentials_file`.
    pub credentials_file: Option<String>,
    /// `recipients_file`.
    pub recipients_file: Option<String>,
    /// `identity_file`.
    pub identity_file: Option<String>,
}

/// `[forecast]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastFile {
    /// `documents`.
    pub documents: Option<u64>,
    /// `bytes`.
    pub bytes: Option<u64>,
    /// `uri_env`.
    pub uri_env: Option<String>,
    /// `fail`.
    pub fail: Option<bool>,
}

/// `expect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    /// The check expected to fail.
    pub fail: String,
}

/// `[topology]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// `provider`.
    pub provider: ProviderKind,
    /// `engine`.
    pub engine: Engine,
    /// `backend`.
    pub backend: Option<Backend>,
    /// `nodes`.
    pub nodes: Option<u8>,
    /// `uri`.
    pub uri: Option<String>,
    /// `uri_env`.
    pub uri_env: Option<String>,
    /// `uri_file`.
    pub uri_file: Option<String>,
    /// `allow_destructive`.
    pub allow_destructive: Option<bool>,
    /// `replica_set`.
    pub replica_set: Option<bool>,
    /// `arbiter`.
    pub arbiter: Option<bool>,
    /// `image_tag`.
    pub image_tag: Option<String>,
    /// `ephemeral`.
    pub ephemeral: Option<ProviderKind>,
    /// `standbys` (managed).
    pub standbys: Option<u8>,
    /// `replication` (managed).
    pub replication: Option<crate::provider::managed::Replication>,
    /// `synchronous_commit` (managed).
    pub synchronous_commit: Option<String>,
    /// `link_bandwidth` (managed).
    pub link_bandwidth: Option<u64>,
    /// `link_latency` (managed).
    pub link_latency: Option<String>,
}

/// `node`: an index or `"primary"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NodeTargetFile {
    /// A node index.
    Index(u8),
    /// A name; only `primary` is valid.
    Name(String),
}

/// `[dataset]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetFile {
    /// `profile`.
    pub profile: String,
    /// `documents`.
    pub documents: u64,
    /// `seed`.
    pub seed: Option<u64>,
    /// `database`.
    pub database: Option<String>,
}

/// `[workload]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    /// `tick_interval`.
    pub tick_interval: Option<String>,
    /// `write_concern`.
    pub write_concern: Option<WriteConcernFile>,
    /// `read_concern`.
    pub read_concern: Option<ReadConcern>,
    /// `probe_interval`.
    pub probe_interval: Option<String>,
}

/// `write_concern`: `"majority"` or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WriteConcernFile {
    /// A number of nodes.
    Nodes(u8),
    /// A tag; only `majority` is valid.
    Tag(String),
}

/// `[objectives]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectivesFile {
    /// `rto`.
    pub rto: Option<String>,
    /// `rpo`.
    pub rpo: Option<String>,
    /// `rto_applies_to`.
    pub rto_applies_to: Option<RtoAppliesTo>,
}

/// One `[[steps]]` table, by `kind`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StepFile {
    /// `kind = "seed"`.
    Seed {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
    },
    /// `kind = "backup"`.
    Backup {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `engine`.
        engine: Option<BackupEngine>,
        /// `format`.
        format: Option<BackupFormat>,
        /// `gzip`.
        gzip: Option<bool>,
        /// `command`.
        command: Option<String>,
        /// `run_in`.
        run_in: Option<RunIn>,
        /// `read_preference`.
        read_preference: Option<ReadPreference>,
        /// `read_concern`.
        read_concern: Option<ReadConcern>,
        /// `store`.
        store: Option<String>,
    },
    /// `kind = "disaster"`.
    Disaster {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `action`.
        action: DisasterAction,
        /// `collection`.
        collection: Option<String>,
        /// `collections`.
        collections: Option<Vec<String>>,
        /// `documents`.
        documents: Option<u64>,
        /// `node`.
        node: Option<NodeTargetFile>,
        /// `command`.
        command: Option<String>,
        /// `store`.
        store: Option<String>,
    },
    /// `kind = "restore"`.
    Restore {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `target`.
        target: Option<RestoreTarget>,
        /// `drop`.
        drop: Option<bool>,
        /// `collections`.
        collections: Option<Vec<String>>,
        /// `store`.
        store: Option<String>,
        /// `stream`.
        stream: Option<bool>,
    },
    /// `kind = "verify"`.
    Verify {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
    },
    /// `kind = "wait"`.
    Wait {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `duration`.
        duration: String,
    },
    /// `kind = "mask"`.
    Mask {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `seed`.
        seed: Option<u64>,
    },
    /// `kind = "pii"`.
    Pii {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
    },
    /// `kind = "failover"`.
    Failover {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `site`.
        site: Option<u8>,
        /// `runbook`.
        runbook: Option<String>,
    },
    /// `kind = "exec"`.
    Exec {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `command`.
        command: String,
    },
    /// `kind = "copy"`.
    Copy {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `from`.
        from: String,
        /// `to`.
        to: String,
    },
    /// `kind = "snapshot"`.
    Snapshot {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `folder`.
        folder: Option<String>,
        /// `retention`.
        retention: Option<String>,
    },
    /// `kind = "restore-snapshot"`.
    RestoreSnapshot {
        /// `name`.
        name: Option<String>,
        /// `timeout`.
        timeout: Option<String>,
        /// `folder`.
        folder: Option<String>,
        /// `point_in_time`.
        point_in_time: Option<String>,
        /// `max_age`.
        max_age: Option<String>,
    },
}
