//! The validated scenario: what the rest of the harness sees. Every value
//! here has passed the checks of `check.rs`; defaults are filled in.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::measure::{ExpectedFailure, Objectives};
use crate::provider::{Backend, Engine, ProviderKind};
use crate::uri::MongoUri;

/// One validated scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name: lowercase letters, digits and `-`, used in run ids.
    pub name: String,
    /// What the drill is for.
    pub description: Option<String>,
    /// Tags for selecting scenarios (`--tag`).
    pub tags: Vec<String>,
    /// How often the drill must pass (`cadence`); `None`: from the tags
    /// (see [`crate::history::cadence`]).
    pub cadence: Option<std::time::Duration>,
    /// For a negative drill, the check expected to fail.
    pub expect: Option<ExpectedFailure>,
    /// What to run the drill against.
    pub topology: Topology,
    /// What data to seed.
    pub dataset: Dataset,
    /// The tick writer and the canary probe.
    pub workload: Workload,
    /// The RTO and RPO objectives.
    pub objectives: Objectives,
    /// `[forecast]`: the production size to forecast the RTO at.
    pub forecast: Option<ForecastSettings>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Steady-state probes (`[[probes]]`), in file order.
    pub probes: Vec<super::steady::Probe>,
    /// Abort conditions (`[abort]`); none set by default.
    pub abort: super::steady::AbortConditions,
    /// The backup stores (`[stores.NAME]`), by name.
    pub stores: std::collections::BTreeMap<String, StoreDecl>,
}

/// `[forecast]`: forecast this drill's RTO at production size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastSettings {
    /// The size to forecast at.
    pub size: ForecastSize,
    /// `fail = true`: a forecast over the RTO objective fails the
    /// `rto_forecast` check (else it is a finding).
    pub fail: bool,
}

/// Where the production size comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForecastSize {
    /// `documents = N`.
    Documents(u64),
    /// `bytes = N` (of data, as dbStats' `dataSize`).
    Bytes(u64),
    /// `uri_env`, a variable naming a deployment: dbStats of the dataset's database on the
    /// deployment that variable names (read-only), at the drill's end.
    UriEnv(String),
}

/// The deployment a scenario runs against.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Who provides it.
    pub provider: ProviderKind,
    /// Which server implementation.
    pub engine: Engine,
    /// FerretDB's storage backend; `None` for MongoDB.
    pub backend: Option<Backend>,
    /// How many nodes (1 to 7).
    pub nodes: u8,
    /// The connection string of an external deployment (never printed whole).
    pub uri: Option<MongoUri>,
    /// Where an external deployment's connection string is read at drill
    /// start, when the scenario names it instead of writing it.
    pub uri_source: Option<UriSource>,
    /// The scenario's half of the opt-in for destructive steps against an
    /// external deployment; the command line gives the other half.
    pub allow_destructive: bool,
    /// The nodes form a replica set (`replica_set = true`); `None` gives
    /// independent servers.
    pub replica_set: Option<ReplicaSetTopology>,
    /// The `mongo` image tag for the containers provider (`7.0` if unset).
    pub image_tag: Option<String>,
    /// Where an external deployment's drill restores: the provider of the
    /// ephemeral node the harness starts (`ephemeral = "local"`, the
    /// default, or `"containers"`); `None` for the other providers.
    pub ephemeral: Option<ProviderKind>,
    /// The managed provider's standbys and replication; `None` for the
    /// other providers.
    pub managed: Option<ManagedTopology>,
}

/// How a managed deployment replicates (`provider = "managed"`): the
/// `standbys`, `replication`, `synchronous_commit`, `link_bandwidth` and
/// `link_latency` keys of `[topology]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagedTopology {
    /// Streaming standbys beside the primary.
    pub standbys: u8,
    /// Asynchronous (the default) or synchronous.
    pub replication: crate::provider::managed::Replication,
    /// `synchronous_commit` on the primary; `remote_apply` when
    /// synchronous and unset.
    pub synchronous_commit: Option<String>,
    /// Bytes per second a site link carries to its standby; unlimited when
    /// unset.
    pub link_bandwidth: Option<u64>,
    /// How long a byte takes across a site link, each way.
    pub link_latency: Option<Duration>,
}

/// Where an external deployment's connection string comes from when the
/// scenario does not write it (`uri_env`, `uri_file`): read when the drill
/// starts, never stored in the scenario model or a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriSource {
    /// `uri_env`: the environment variable of that name.
    Env(String),
    /// `uri_file = "PATH"`: the file's first non-empty line (relative paths
    /// from the scenario file's folder).
    File(PathBuf),
}

/// Why the connection string could not be read from where the scenario
/// says. Never holds the string itself.
#[derive(Debug, thiserror::Error)]
pub enum UriSourceError {
    /// The variable is unset, empty or not UTF-8.
    #[error("topology.uri_env: the environment variable {0} is not set (or empty)")]
    Unset(String),
    /// The file could not be read.
    #[error("topology.uri_file: cannot read {path}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a regular file, is too large, or holds no line.
    #[error("topology.uri_file: {path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// What was read is not a connection string.
    #[error("{origin}: {source}")]
    Malformed {
        /// `topology.uri_env (NAME)` or `topology.uri_file (PATH)`.
        origin: String,
        /// The parser's complaint (credentials masked).
        #[source]
        source: crate::uri::UriError,
    },
}

/// The largest connection-string file read (a URI is a line).
const MAX_URI_FILE: u64 = 64 * 1024;

impl UriSource {
    /// Reads and parses the connection string.
    pub fn resolve(&self) -> Result<MongoUri, UriSourceError> {
        let (text, origin) = match self {
            Self::Env(name) => {
                let text = std::env::var(name)
                    .ok()
                    .filter(|text| !text.trim().is_empty())
                    .ok_or_else(|| UriSourceError::Unset(name.clone()))?;
                (text, format!("topology.uri_env ({name})"))
            }
            Self::File(path) => (read_uri_file(path)?, format!("topology.uri_file ({})", path.display())),
        };
        MongoUri::parse(&text).map_err(|source| UriSourceError::Malformed { origin, source })
    }
}

/// The first non-empty line of `path`, which must be a regular file (a
/// Kubernetes secret mount is a symlink to one) of at most 64 KiB.
fn read_uri_file(path: &std::path::Path) -> Result<String, UriSourceError> {
    use std::io::Read;
    let unreadable = |source| UriSourceError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let bad = |reason| UriSourceError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(bad("not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_URI_FILE + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_URI_FILE {
        return Err(bad("larger than 64 KiB: a connection string is one line"));
    }
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_string)
        .ok_or_else(|| bad("holds no connection string"))
}

/// How the scenario shapes a replica set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicaSetTopology {
    /// One arbiter on top of the data-bearing nodes.
    pub arbiter: bool,
}

/// Which node a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeTarget {
    /// Node `n`, numbered from 0 in the topology's order.
    Index(u8),
    /// Whichever node is the writable primary when the fault is injected.
    Primary,
}

impl std::fmt::Display for NodeTarget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(index) => write!(formatter, "node-{index}"),
            Self::Primary => formatter.write_str("the primary"),
        }
    }
}

/// The dataset to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The profile name (the dataset module knows the profiles).
    pub profile: String,
    /// How many documents (1 to 100 million).
    pub documents: u64,
    /// The seed of the deterministic generator.
    pub seed: u64,
    /// The protected database.
    pub database: String,
}

/// The continuous writer and the canary probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// How often a tick is written.
    pub tick_interval: Duration,
    /// The write concern of ticks and canaries.
    pub write_concern: WriteConcern,
    /// The read concern of read-backs, reported with every RPO figure.
    pub read_concern: ReadConcern,
    /// How often the canary probe runs after T_d.
    pub probe_interval: Duration,
}

/// A write concern the drill writes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteConcern {
    /// `w: "majority"`.
    Majority,
    /// `w: n` acknowledgements (1 to 7; `w: 0` would measure nothing).
    Nodes(u8),
}

impl std::fmt::Display for WriteConcern {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Majority => formatter.write_str("majority"),
            Self::Nodes(count) => write!(formatter, "{count}"),
        }
    }
}

/// Declares a closed set of kebab-case names: the enum, its serde names and
/// the list the schema offers in hints.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every name a scenario file may use, in documentation order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name a scenario file uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// The read concern of read-backs.
    ReadConcern {
        /// `local`.
        Local => "local",
        /// `majority`.
        Majority => "majority",
    }
}

named_enum! {
    /// The read preference of a dump (the driver's names).
    ReadPreference {
        /// `primary`.
        Primary => "primary",
        /// `primaryPreferred`.
        PrimaryPreferred => "primaryPreferred",
        /// `secondary`.
        Secondary => "secondary",
        /// `secondaryPreferred`: the default against an external deployment.
        SecondaryPreferred => "secondaryPreferred",
        /// `nearest`.
        Nearest => "nearest",
    }
}

named_enum! {
    /// Which backup engine a backup step uses.
    BackupEngine {
        /// The real tools when on `PATH`, else the builtin engine.
        Auto => "auto",
        /// The real `mongodump`/`mongorestore`; fails when they are missing.
        Tools => "tools",
        /// The harness's own engine writing the `mongodump` formats.
        Builtin => "builtin",
        /// A user's runbook command.
        Command => "command",
    }
}

named_enum! {
    /// The on-disk format of a backup.
    BackupFormat {
        /// `<db>/<collection>.bson` and `.metadata.json` files.
        Directory => "directory",
        /// One `--archive` stream.
        Archive => "archive",
    }
}

named_enum! {
    /// The fault a disaster step injects.
    DisasterAction {
        /// Drop the protected database.
        DropDatabase => "drop-database",
        /// Drop one collection.
        DropCollection => "drop-collection",
        /// Kill a node's process (or container): SIGKILL.
        KillNode => "kill-node",
        /// Stop a node cleanly (SIGTERM, or `docker stop`).
        StopNode => "stop-node",
        /// Freeze a node (the cgroup freezer, SIGSTOP without one, or `docker pause`).
        PauseNode => "pause-node",
        /// Cut a node's container off the drill's network (containers only).
        DisconnectNode => "disconnect-node",
        /// Remove a node's container together with its data volume
        /// (containers only).
        RemoveNode => "remove-node",
        /// Kill a majority of a replica set's data-bearing members, the
        /// primary first: no primary can be elected afterwards.
        KillMajority => "kill-majority",
        /// Delete a node's data directory.
        WipeData => "wipe-data",
        /// Overwrite some documents of one collection.
        CorruptDocuments => "corrupt-documents",
        /// Alter the backup files (a negative drill: restore must refuse).
        TamperBackup => "tamper-backup",
        /// Stop the gateway of a store the harness started: its region is down.
        RegionOutage => "region-outage",
        /// Run a user's runbook command that breaks things.
        Command => "command",
    }
}

named_enum! {
    /// Where the backup tools run.
    RunIn {
        /// On the harness's machine, against the deployment's published port.
        Host => "host",
        /// Inside node 0's container (`docker exec`), the file copied out after.
        Container => "container",
    }
}

named_enum! {
    /// Where a restore goes.
    RestoreTarget {
        /// Back into the damaged deployment.
        SameNode => "same-node",
        /// Into a new, empty deployment.
        FreshNode => "fresh-node",
    }
}

named_enum! {
    /// The kinds of step, the `kind` key of `[[steps]]`.
    StepKindName {
        /// Seed the dataset.
        Seed => "seed",
        /// Take a backup.
        Backup => "backup",
        /// Inject the disaster (T_d).
        Disaster => "disaster",
        /// Restore the backup.
        Restore => "restore",
        /// Verify counts, checksums and indexes.
        Verify => "verify",
        /// Wait a fixed time.
        Wait => "wait",
        /// Run a command.
        Exec => "exec",
        /// Anonymize the profile's PII fields in the restored copy.
        Mask => "mask",
        /// Prove that no PII value of the source is in the restored copy.
        Pii => "pii",
        /// Promote a standby and move the endpoint to it (managed).
        Failover => "failover",
        /// Copy the last backup from one store to another.
        Copy => "copy",
        /// Take a storage snapshot (managed: a base backup).
        Snapshot => "snapshot",
        /// Restore a snapshot (or a point in time) into a new cluster.
        RestoreSnapshot => "restore-snapshot",
    }
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// A name for reports; defaults to the kind.
    pub name: String,
    /// How long the step may take before it fails.
    pub timeout: Duration,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step does, with its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Seed the dataset.
    Seed,
    /// Take a backup.
    Backup(BackupStep),
    /// Inject the disaster; T_d is recorded just before.
    Disaster(DisasterStep),
    /// Restore the backup.
    Restore(RestoreStep),
    /// Verify the recovered data against the reference.
    Verify,
    /// Wait.
    Wait {
        /// How long.
        duration: Duration,
    },
    /// Run a command.
    Exec {
        /// The command line, run by `sh -c`.
        command: String,
    },
    /// Anonymize the profile's PII in the fresh node restored into.
    Mask {
        /// The key of the deterministic replacement (default: the
        /// dataset's seed).
        seed: u64,
    },
    /// Scan the restored copy for the source's PII values.
    Pii,
    /// Promote a standby and move the application's endpoint to it.
    Failover(FailoverStep),
    /// Copy the last backup from one store to another.
    Copy(CopyStep),
    /// Take a storage snapshot of the managed cluster.
    Snapshot(SnapshotStep),
    /// Restore the newest snapshot (or a point in time) into a new cluster.
    RestoreSnapshot(RestoreSnapshotStep),
}

// ------------------------------------------------------------- snapshots

/// A `snapshot` step: where snapshots are kept and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStep {
    /// The folder of snapshots; `None`: the drill's own scratch folder
    /// (gone at the end of the drill).
    pub folder: Option<std::path::PathBuf>,
    /// Snapshots in the folder older than this are pruned after the new
    /// one is taken (the runbook's 30 days).
    pub retention: Duration,
}

/// A `restore-snapshot` step: which snapshot, to which instant, and how
/// old it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSnapshotStep {
    /// The folder whose newest snapshot is restored; `None`: the last
    /// snapshot step's.
    pub folder: Option<std::path::PathBuf>,
    /// Replay the WAL archive to this instant; `None`: the snapshot alone.
    pub point_in_time: Option<PointInTime>,
    /// Fail when the newest snapshot is older than this.
    pub max_age: Option<Duration>,
}

/// Why a `point_in_time` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PointInTimeError {
    /// Neither `midpoint` nor an offset from the disaster.
    #[error("{0:?} is not `midpoint`, `<duration> before disaster` or `<duration> after disaster`")]
    Shape(String),
    /// The offset is not a duration.
    #[error("invalid duration {text:?}")]
    Duration {
        /// The offset as written.
        text: String,
        /// Why it is not one.
        #[source]
        source: super::duration::DurationError,
    },
}

/// The instant a point-in-time restore targets, relative to the drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointInTime {
    /// Halfway between the end of the snapshot and T_d: the middle of
    /// the write load the WAL holds.
    Midpoint,
    /// This long before T_d.
    BeforeDisaster(Duration),
    /// This long after T_d (outside the window when the disaster stopped
    /// the writes: a negative drill).
    AfterDisaster(Duration),
}

impl PointInTime {
    /// Parses `midpoint`, `<duration> before disaster` or `<duration>
    /// after disaster`.
    pub fn parse(text: &str) -> Result<Self, PointInTimeError> {
        let text = text.trim();
        if text == "midpoint" {
            return Ok(Self::Midpoint);
        }
        let (amount, side) = text
            .strip_suffix(" before disaster")
            .map(|amount| (amount, false))
            .or_else(|| text.strip_suffix(" after disaster").map(|amount| (amount, true)))
            .ok_or_else(|| PointInTimeError::Shape(text.to_string()))?;
        let duration = super::check::parse_duration(amount.trim()).map_err(|source| PointInTimeError::Duration {
            text: amount.trim().to_string(),
            source,
        })?;
        Ok(if side {
            Self::AfterDisaster(duration)
        } else {
            Self::BeforeDisaster(duration)
        })
    }
}

/// A `failover` step: which standby, and whose promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverStep {
    /// The site to promote (`site = 1`); the first running standby when
    /// unset.
    pub site: Option<u8>,
    /// The team's runbook command that promotes it; the harness's own
    /// `pg_ctl promote` when unset.
    pub runbook: Option<String>,
}

/// A `backup` step: which engine and format, and where the tools run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStep {
    /// Which engine.
    pub engine: BackupEngine,
    /// Which format.
    pub format: BackupFormat,
    /// Whether to gzip.
    pub gzip: bool,
    /// The command (engine `command` only).
    pub command: Option<String>,
    /// Where the tools run (engine `tools` only).
    pub run_in: RunIn,
    /// The read preference the dump reads with (`None` leaves the URI's;
    /// an external deployment defaults to `secondaryPreferred`).
    pub read_preference: Option<ReadPreference>,
    /// The read concern the dump reads with (`None` leaves the URI's).
    pub read_concern: Option<ReadConcern>,
    /// The store the backup is uploaded to (a `[stores.NAME]`); `None`:
    /// it stays in the run's folder.
    pub store: Option<String>,
}

/// A `disaster` step: which fault, and what it hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisasterStep {
    /// Which fault.
    pub action: DisasterAction,
    /// The collections it drops or corrupts (`drop-collection`,
    /// `corrupt-documents`: `collection = "a"` or `collections = ["a", "b"]`,
    /// all at the one T_d), or the one whose backup file `tamper-backup`
    /// damages; empty when the action names none.
    pub collections: Vec<String>,
    /// How many documents to corrupt (`corrupt-documents`).
    pub documents: Option<u64>,
    /// Which node the node faults hit (node 0 when unset).
    pub node: Option<NodeTarget>,
    /// The command (action `command` only).
    pub command: Option<String>,
    /// The store whose region goes down (`region-outage`; the first store
    /// a backup step wrote to when unset).
    pub store: Option<String>,
}

/// A `restore` step: where to, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreStep {
    /// Where to.
    pub target: RestoreTarget,
    /// Drop each collection before restoring it.
    pub drop: bool,
    /// Restore only these collections; `None` restores all.
    pub collections: Option<Vec<String>>,
    /// Restore the newest backup of this store (verified first) instead
    /// of the last backup step's local copy.
    pub store: Option<String>,
    /// With `store`: read an archive straight from the store (a verify
    /// pass, then the restore's own pass) instead of downloading it first.
    pub stream: bool,
}

// ---------------------------------------------------------------- stores

/// A `copy` step: the last backup, from one store to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyStep {
    /// The store copied from.
    pub from: String,
    /// The store copied to.
    pub to: String,
}

/// A `[stores.NAME]` table: where a store is. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreDecl {
    /// `url = "s3://bucket/prefix"` or `folder = "path"`: a store that
    /// exists; endpoint, region and credentials from the table or the
    /// environment.
    Existing {
        /// Name, address, endpoint, region, credentials source.
        spec: crate::store::StoreSpec,
    },
    /// `gateway = "versitygw"`: a gateway the harness starts for the drill
    /// (its data folder in the run's folder), standing for `region`.
    Gateway {
        /// The region it stands for.
        region: String,
        /// The bucket (created empty).
        bucket: String,
        /// The key prefix.
        prefix: String,
        /// The age keys, when backups are kept encrypted.
        encryption: crate::store::Encryption,
    },
}

impl StepKind {
    /// The `kind` name of this step.
    pub fn name(&self) -> StepKindName {
        match self {
            Self::Seed => StepKindName::Seed,
            Self::Backup { .. } => StepKindName::Backup,
            Self::Disaster { .. } => StepKindName::Disaster,
            Self::Restore { .. } => StepKindName::Restore,
            Self::Verify => StepKindName::Verify,
            Self::Wait { .. } => StepKindName::Wait,
            Self::Exec { .. } => StepKindName::Exec,
            Self::Mask { .. } => StepKindName::Mask,
            Self::Pii => StepKindName::Pii,
            Self::Failover(..) => StepKindName::Failover,
            Self::Copy(_) => StepKindName::Copy,
            Self::Snapshot(_) => StepKindName::Snapshot,
            Self::RestoreSnapshot(_) => StepKindName::RestoreSnapshot,
        }
    }
}

impl StepKindName {
    /// The timeout of a step of this kind that does not set one.
    pub fn default_timeout(self) -> Duration {
        match self {
            Self::Seed | Self::Exec | Self::Mask | Self::Pii => Duration::from_secs(10 * 60),
            Self::Backup | Self::Restore | Self::Verify | Self::Copy => Duration::from_secs(30 * 60),
            Self::Snapshot | Self::RestoreSnapshot => Duration::from_secs(30 * 60),
            Self::Disaster | Self::Failover => Duration::from_secs(5 * 60),
            // A wait's own duration is added to this margin.
            Self::Wait => Duration::from_secs(60),
        }
    }
}

/// The longest timeout a step may set: a drill step that needs more than a
/// day is a typo, not a plan.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3_600);

/// The largest dataset a scenario may ask for.
pub const MAX_DOCUMENTS: u64 = 100_000_000;

impl DisasterAction {
    /// Whether the action faults one node (and so takes `node`).
    pub fn targets_node(self) -> bool {
        matches!(
            self,
            Self::KillNode
                | Self::WipeData
                | Self::StopNode
                | Self::PauseNode
                | Self::DisconnectNode
                | Self::RemoveNode
        )
    }
}

impl Scenario {
    /// The same scenario on another engine (`drdrill run --engine`):
    /// FerretDB runs its embedded SQLite backend; the `mongo` image tag
    /// applies only to MongoDB.
    pub fn on_engine(&self, engine: Engine) -> Scenario {
        let mut scenario = self.clone();
        if scenario.topology.engine != engine {
            scenario.topology.engine = engine;
            match engine {
                Engine::Ferretdb => {
                    scenario.topology.backend = Some(Backend::Sqlite);
                    scenario.topology.image_tag = None;
                }
                Engine::Mongodb => scenario.topology.backend = None,
            }
        }
        scenario
    }

    /// The collections the disaster touches, known before the drill runs:
    /// those a disaster step drops or corrupts by name, and those a
    /// selective restore restores; sorted, without repeats. Empty for a
    /// drill whose disaster and restore concern the whole database. The
    /// tick writer puts its ticks there too ("Ticks live where the
    /// disaster strikes").
    pub fn touched_collections(&self) -> Vec<String> {
        let mut touched = Vec::new();
        for step in &self.steps {
            match &step.kind {
                StepKind::Disaster(DisasterStep {
                    action: DisasterAction::DropCollection | DisasterAction::CorruptDocuments,
                    collections,
                    ..
                }) => touched.extend(collections.iter().cloned()),
                StepKind::Restore(RestoreStep {
                    collections: Some(collections),
                    ..
                }) => touched.extend(collections.iter().cloned()),
                _ => {}
            }
        }
        touched.sort();
        touched.dedup();
        touched
    }

    /// A failover drill: a replica set (or a drill with a `failover`
    /// step) whose disaster is not followed by a restore. The tick writer
    /// keeps writing after T_d against whatever answers, and the service
    /// is probed from T_d on.
    pub fn is_failover(&self) -> bool {
        let Some(disaster) = self
            .steps
            .iter()
            .position(|step| matches!(step.kind, StepKind::Disaster { .. }))
        else {
            return false;
        };
        let promotes = self.steps[disaster..]
            .iter()
            .any(|step| matches!(step.kind, StepKind::Failover(..)));
        (self.topology.replica_set.is_some() || promotes)
            && !self.steps[disaster..]
                .iter()
                .any(|step| matches!(step.kind, StepKind::Restore { .. }))
    }
}

/// The largest number of nodes (MongoDB's voting-member limit).
pub const MAX_NODES: u8 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_deserializes_to_its_variant() {
        fn round_trip<T: for<'de> Deserialize<'de> + Copy + std::fmt::Display>(names: &[&str]) {
            for name in names {
                let value: T = serde_json::from_value(serde_json::Value::String((*name).into())).unwrap();
                assert_eq!(value.to_string(), *name);
            }
        }
        round_trip::<BackupEngine>(BackupEngine::NAMES);
        round_trip::<BackupFormat>(BackupFormat::NAMES);
        round_trip::<DisasterAction>(DisasterAction::NAMES);
        round_trip::<RestoreTarget>(RestoreTarget::NAMES);
        round_trip::<RunIn>(RunIn::NAMES);
        round_trip::<StepKindName>(StepKindName::NAMES);
        round_trip::<ReadConcern>(ReadConcern::NAMES);
    }
}

#[cfg(test)]
mod point_in_time_tests {
    use super::PointInTime;
    use std::time::Duration;

    #[test]
    fn a_point_in_time_is_the_midpoint_or_an_offset_from_the_disaster() {
        assert_eq!(PointInTime::parse("midpoint").unwrap(), PointInTime::Midpoint);
        assert_eq!(
            PointInTime::parse("1500ms before disaster").unwrap(),
            PointInTime::BeforeDisaster(Duration::from_millis(1500))
        );
        assert_eq!(
            PointInTime::parse(" 30s after disaster ").unwrap(),
            PointInTime::AfterDisaster(Duration::from_secs(30))
        );
        let shape = PointInTime::parse("yesterday").unwrap_err().to_string();
        assert!(shape.contains("is not `midpoint`"), "{shape}");
        let duration = PointInTime::parse("soon before disaster").unwrap_err();
        assert_eq!(duration.to_string(), "invalid duration \"soon\"");
    }
}
