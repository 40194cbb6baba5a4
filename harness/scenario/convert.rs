//! Wire structs → the validated model: defaults filled in, durations parsed.
//! Runs only on documents that passed `check.rs`, so every failure here is a
//! disagreement between the schema and the wire structs; it is still
//! reported as a located problem, never a panic.

use std::path::Path;
use std::time::Duration;

use super::check::parse_duration;
use super::model::{
    BackupEngine, BackupFormat, BackupStep, Dataset, DisasterStep, FailoverStep, ForecastSettings, ForecastSize,
    ManagedTopology, NodeTarget, ReadConcern, ReadPreference, ReplicaSetTopology, RestoreStep, RestoreTarget, RunIn,
    Scenario, Step, StepKind, Topology, UriSource, Workload, WriteConcern,
};
use super::model::{CopyStep, StoreDecl};
use super::wire::{NodeTargetFile, ScenarioFile, StepFile, StoreFile, WriteConcernFile};
use crate::measure::{ExpectedFailure, Objectives};
use crate::provider::{Backend, Engine, ProviderKind};
use crate::store::{CredentialsSource, StoreAddress, StoreSpec};
use crate::uri::MongoUri;

/// A conversion problem: the key path and the message.
pub(crate) type ConvertError = (String, String);

fn duration(path: String, text: Option<&str>, default: Duration) -> Result<Duration, ConvertError> {
    match text {
        None => Ok(default),
        Some(text) => parse_duration(text).map_err(|error| (path, format!("invalid duration {text:?}: {error}"))),
    }
}

fn optional_duration(path: &str, text: Option<&str>) -> Result<Option<Duration>, ConvertError> {
    text.map(|text| {
        parse_duration(text).map_err(|error| (path.to_owned(), format!("invalid duration {text:?}: {error}")))
    })
    .transpose()
}

/// Builds the model of `file`, read from `path`.
pub(crate) fn convert(path: &Path, file: ScenarioFile) -> Result<Scenario, ConvertError> {
    let topology = &file.topology;
    let uri = topology
        .uri
        .as_deref()
        .map(MongoUri::parse)
        .transpose()
        .map_err(|error| ("topology.uri".to_owned(), error.to_string()))?;
    let topology = Topology {
        provider: topology.provider,
        engine: topology.engine,
        backend: match topology.engine {
            // A managed deployment is FerretDB over PostgreSQL.
            Engine::Ferretdb if topology.provider == crate::provider::ProviderKind::Managed => {
                Some(Backend::Postgresql)
            }
            Engine::Ferretdb => Some(topology.backend.unwrap_or(Backend::Sqlite)),
            Engine::Mongodb => None,
        },
        nodes: topology.nodes.unwrap_or(1),
        uri,
        uri_source: match (&topology.uri_env, &topology.uri_file) {
            (Some(name), _) => Some(UriSource::Env(name.clone())),
            (None, Some(file)) => Some(UriSource::File(path.parent().unwrap_or(Path::new(".")).join(file))),
            (None, None) => None,
        },
        allow_destructive: topology.allow_destructive.unwrap_or(false),
        replica_set: topology.replica_set.unwrap_or(false).then(|| ReplicaSetTopology {
            arbiter: topology.arbiter.unwrap_or(false),
        }),
        image_tag: topology.image_tag.clone(),
        ephemeral: (topology.provider == ProviderKind::External)
            .then(|| topology.ephemeral.unwrap_or(ProviderKind::Local)),
        managed: managed_topology(topology)?,
    };
    let dataset = Dataset {
        database: file
            .dataset
            .database
            .clone()
            .unwrap_or_else(|| default_database(&file.dataset.profile)),
        profile: file.dataset.profile,
        documents: file.dataset.documents,
        seed: file.dataset.seed.unwrap_or(0),
    };
    let workload = workload(&file.workload)?;
    let objectives = Objectives {
        rto: optional_duration("objectives.rto", file.objectives.rto.as_deref())?,
        rpo: optional_duration("objectives.rpo", file.objectives.rpo.as_deref())?,
        rto_applies_to: file.objectives.rto_applies_to.unwrap_or_default(),
        rto_written: file.objectives.rto.as_deref().map(|text| text.trim().to_string()),
        rpo_written: file.objectives.rpo.as_deref().map(|text| text.trim().to_string()),
    };
    let dataset_seed = dataset.seed;
    let steps = file
        .steps
        .into_iter()
        .enumerate()
        .map(|(index, step)| convert_step(index, step, topology.provider == ProviderKind::External, dataset_seed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Scenario {
        path: path.to_path_buf(),
        name: file.name,
        description: file.description,
        tags: file.tags,
        cadence: optional_duration("cadence", file.cadence.as_deref())?,
        expect: file.expect.map(|expect| ExpectedFailure { check: expect.fail }),
        topology,
        dataset,
        workload,
        objectives,
        forecast: file.forecast.as_ref().and_then(forecast_settings),
        steps,
        probes: super::steady::convert_probes(file.probes)?,
        abort: super::steady::convert_abort(path, file.abort)?,
        stores: convert_stores(path, file.stores)?,
    })
}

/// `[workload]`, with its defaults: ticks every 100 ms, `w: majority`,
/// read concern `local`, a probe every 250 ms.
fn workload(workload: &super::wire::WorkloadFile) -> Result<Workload, ConvertError> {
    Ok(Workload {
        tick_interval: duration(
            "workload.tick_interval".into(),
            workload.tick_interval.as_deref(),
            Duration::from_millis(100),
        )?,
        write_concern: match &workload.write_concern {
            None => WriteConcern::Majority,
            Some(WriteConcernFile::Nodes(count)) => WriteConcern::Nodes(*count),
            Some(WriteConcernFile::Tag(tag)) if tag == "majority" => WriteConcern::Majority,
            Some(WriteConcernFile::Tag(tag)) => {
                return Err((
                    "workload.write_concern".into(),
                    format!("invalid write concern {tag:?}"),
                ));
            }
        },
        read_concern: workload.read_concern.unwrap_or(ReadConcern::Local),
        probe_interval: duration(
            "workload.probe_interval".into(),
            workload.probe_interval.as_deref(),
            Duration::from_millis(250),
        )?,
    })
}

/// `[forecast]`, whose one size key `check.rs` made sure of.
fn forecast_settings(file: &super::wire::ForecastFile) -> Option<ForecastSettings> {
    let size = match (&file.documents, &file.bytes, &file.uri_env) {
        (Some(documents), _, _) => ForecastSize::Documents(*documents),
        (None, Some(bytes), _) => ForecastSize::Bytes(*bytes),
        (None, None, Some(name)) => ForecastSize::UriEnv(name.clone()),
        (None, None, None) => return None,
    };
    Some(ForecastSettings {
        size,
        fail: file.fail.unwrap_or(false),
    })
}

/// A disaster's `node`: an index or `"primary"`; any other name is a
/// problem at `path`.
fn node_target(node: Option<NodeTargetFile>, path: impl Fn() -> String) -> Result<Option<NodeTarget>, ConvertError> {
    match node {
        None => Ok(None),
        Some(NodeTargetFile::Index(index)) => Ok(Some(NodeTarget::Index(index))),
        Some(NodeTargetFile::Name(name)) if name == "primary" => Ok(Some(NodeTarget::Primary)),
        Some(NodeTargetFile::Name(name)) => Err((path(), format!("invalid node {name:?}"))),
    }
}

/// The managed provider's keys, for `provider = "managed"` only.
fn managed_topology(topology: &super::wire::TopologyFile) -> Result<Option<ManagedTopology>, ConvertError> {
    if topology.provider != crate::provider::ProviderKind::Managed {
        return Ok(None);
    }
    Ok(Some(ManagedTopology {
        standbys: topology.standbys.unwrap_or(0),
        replication: topology.replication.unwrap_or_default(),
        synchronous_commit: topology.synchronous_commit.clone(),
        link_bandwidth: topology.link_bandwidth,
        link_latency: optional_duration("topology.link_latency", topology.link_latency.as_deref())?,
    }))
}

/// `[stores.NAME]` tables → store declarations (relative folders and
/// credentials files from the scenario file's folder).
fn convert_stores(
    path: &Path,
    stores: std::collections::BTreeMap<String, StoreFile>,
) -> Result<std::collections::BTreeMap<String, StoreDecl>, ConvertError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut declared = std::collections::BTreeMap::new();
    for (name, store) in stores {
        let at = |key: &str| format!("stores.{name}.{key}");
        let encryption = crate::store::Encryption {
            recipients_file: store.recipients_file.as_ref().map(|file| base.join(file)),
            identity_file: store.identity_file.as_ref().map(|file| base.join(file)),
        };
        let decl = if store.gateway.is_some() {
            StoreDecl::Gateway {
                region: store.region.unwrap_or_else(|| "us-east-1".to_owned()),
                bucket: store.bucket.unwrap_or_else(|| "drdrill".to_owned()),
                prefix: store.prefix.unwrap_or_default(),
                encryption,
            }
        } else {
            let address = match (&store.url, &store.folder) {
                (Some(url), _) => StoreAddress::parse(url).map_err(|error| (at("url"), error.to_string()))?,
                (None, Some(folder)) => StoreAddress::Folder(base.join(folder)),
                (None, None) => return Err((format!("stores.{name}"), "a store needs url, folder or gateway".into())),
            };
            StoreDecl::Existing {
                spec: StoreSpec {
                    name: name.clone(),
                    address,
                    endpoint: store.endpoint,
                    region: store.region,
                    credentials: match store.credentials_file {
                        Some(file) => CredentialsSource::File(base.join(file)),
                        None => CredentialsSource::Environment,
                    },
                    encryption,
                },
            }
        };
        declared.insert(name, decl);
    }
    Ok(declared)
}

/// The database a dataset uses when the file does not name one: the
/// profile's name with every character MongoDB forbids replaced by `_`.
fn default_database(profile: &str) -> String {
    profile
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(63)
        .collect()
}

/// A `mask` step: its seed defaults to the dataset's.
fn mask_step(seed: Option<u64>, dataset_seed: u64) -> StepKind {
    StepKind::Mask {
        seed: seed.unwrap_or(dataset_seed),
    }
}

/// One step; `external` gives the production-safe defaults of a drill
/// against an external deployment (dump from a secondary when there is
/// one, restore into an ephemeral node).
/// `dataset_seed` is what a `mask` step's seed defaults to.
fn convert_step(index: usize, step: StepFile, external: bool, dataset_seed: u64) -> Result<Step, ConvertError> {
    let path = |key: &str| format!("steps[{index}].{key}");
    let step = match data_step(step, external, &path)? {
        Ok(converted) => return finish_step(converted, &path),
        Err(other) => other,
    };
    let (name, timeout, kind) = match step {
        StepFile::Seed { name, timeout } => (name, timeout, StepKind::Seed),
        StepFile::Verify { name, timeout } => (name, timeout, StepKind::Verify),
        // `data_step` converted these and never hands them back.
        StepFile::Backup { .. } | StepFile::Disaster { .. } | StepFile::Restore { .. } => {
            return Err((path("kind"), "a data step was not converted".into()));
        }
        StepFile::Wait {
            name,
            timeout,
            duration: wait,
        } => (
            name,
            timeout,
            StepKind::Wait {
                duration: duration(path("duration"), Some(&wait), Duration::ZERO)?,
            },
        ),
        StepFile::Exec { name, timeout, command } => (name, timeout, StepKind::Exec { command }),
        StepFile::Mask { name, timeout, seed } => (name, timeout, mask_step(seed, dataset_seed)),
        StepFile::Pii { name, timeout } => (name, timeout, StepKind::Pii),
        StepFile::Failover {
            name,
            timeout,
            site,
            runbook,
        } => (name, timeout, StepKind::Failover(FailoverStep { site, runbook })),
        StepFile::Copy {
            name,
            timeout,
            from,
            to,
        } => (name, timeout, StepKind::Copy(CopyStep { from, to })),
        StepFile::Snapshot {
            name,
            timeout,
            folder,
            retention,
        } => (name, timeout, snapshot_step(folder, retention.as_deref(), &path)?),
        StepFile::RestoreSnapshot {
            name,
            timeout,
            folder,
            point_in_time,
            max_age,
        } => {
            let kind = restore_snapshot_step(folder, point_in_time.as_deref(), max_age.as_deref(), &path)?;
            (name, timeout, kind)
        }
    };
    finish_step((name, timeout, kind), &path)
}

/// A converted step's name, timeout and settings as the model's [`Step`]:
/// the kind's default name and timeout where the file gives none.
fn finish_step(
    (name, timeout, kind): (Option<String>, Option<String>, StepKind),
    path: &dyn Fn(&str) -> String,
) -> Result<Step, ConvertError> {
    let kind_name = kind.name();
    let default_timeout = match &kind {
        StepKind::Wait { duration } => *duration + kind_name.default_timeout(),
        _ => kind_name.default_timeout(),
    };
    Ok(Step {
        name: name.unwrap_or_else(|| kind_name.to_string()),
        timeout: duration(path("timeout"), timeout.as_deref(), default_timeout)?,
        kind,
    })
}

/// The steps that move data (backup, disaster, restore), converted; any
/// other step is handed back as it came.
#[allow(clippy::type_complexity)]
fn data_step(
    step: StepFile,
    external: bool,
    path: &dyn Fn(&str) -> String,
) -> Result<Result<(Option<String>, Option<String>, StepKind), StepFile>, ConvertError> {
    Ok(Ok(match step {
        StepFile::Backup {
            name,
            timeout,
            engine,
            format,
            gzip,
            command,
            run_in,
            read_preference,
            read_concern,
            store,
        } => (
            name,
            timeout,
            StepKind::Backup(BackupStep {
                engine: engine.unwrap_or(BackupEngine::Auto),
                format: format.unwrap_or(BackupFormat::Directory),
                gzip: gzip.unwrap_or(false),
                command,
                run_in: run_in.unwrap_or(RunIn::Host),
                read_preference: read_preference.or(external.then_some(ReadPreference::SecondaryPreferred)),
                read_concern,
                store,
            }),
        ),
        StepFile::Disaster {
            name,
            timeout,
            action,
            collection,
            collections,
            documents,
            node,
            command,
            store,
        } => (
            name,
            timeout,
            StepKind::Disaster(DisasterStep {
                action,
                // Validation refused both keys at once.
                collections: collection
                    .into_iter()
                    .chain(collections.into_iter().flatten())
                    .collect(),
                documents,
                node: node_target(node, || path("node"))?,
                command,
                store,
            }),
        ),
        StepFile::Restore {
            name,
            timeout,
            target,
            drop,
            collections,
            store,
            stream,
        } => (
            name,
            timeout,
            StepKind::Restore(RestoreStep {
                target: target.unwrap_or(if external {
                    RestoreTarget::FreshNode
                } else {
                    RestoreTarget::SameNode
                }),
                drop: drop.unwrap_or(true),
                collections,
                store,
                stream: stream.unwrap_or(true),
            }),
        ),
        other => return Ok(Err(other)),
    }))
}

// ------------------------------------------------------------- snapshots

/// The snapshots' retention when a `snapshot` step sets none: the
/// runbook's 30 days.
pub(crate) const DEFAULT_SNAPSHOT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3_600);

/// A `snapshot` step's settings.
fn snapshot_step(
    folder: Option<String>,
    retention: Option<&str>,
    path: &impl Fn(&str) -> String,
) -> Result<StepKind, ConvertError> {
    Ok(StepKind::Snapshot(super::model::SnapshotStep {
        folder: folder.map(std::path::PathBuf::from),
        retention: duration(path("retention"), retention, DEFAULT_SNAPSHOT_RETENTION)?,
    }))
}

/// A `restore-snapshot` step's settings.
fn restore_snapshot_step(
    folder: Option<String>,
    point_in_time: Option<&str>,
    max_age: Option<&str>,
    path: &impl Fn(&str) -> String,
) -> Result<StepKind, ConvertError> {
    let point_in_time = point_in_time
        .map(|text| {
            super::model::PointInTime::parse(text).map_err(|error| (path("point_in_time"), crate::error::chain(&error)))
        })
        .transpose()?;
    Ok(StepKind::RestoreSnapshot(super::model::RestoreSnapshotStep {
        folder: folder.map(std::path::PathBuf::from),
        point_in_time,
        max_age: optional_duration(&path("max_age"), max_age)?,
    }))
}
