//! What each step kind reports about itself in `report.json`: one shape
//! per kind, tagged by `kind` (`{"kind": "backup", "engine": ...}`). The
//! field names are the ones the steps wrote before the details were typed,
//! so readers of older reports find the same keys. What another layer
//! already describes in its own type (the seed summary, a dump's or a
//! restore's outcome, a checksum comparison) is carried as that type
//! serializes it, not repeated here.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Declares [`StepDetails`], one variant per step kind, and a `From` of
/// each variant's struct, so a step hands its details struct to
/// [`crate::step::StepOutcome`] as it is.
macro_rules! step_details {
    ($($(#[$doc:meta])* $variant:ident($details:ty),)*) => {
        /// Step-specific facts of one step, by kind.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum StepDetails {
            $($(#[$doc])* $variant($details),)*
        }

        $(impl From<$details> for StepDetails {
            fn from(details: $details) -> Self {
                Self::$variant(details)
            }
        })*
    };
}

step_details!(
    /// What seeding inserted.
    Seed(SeedDetails),
    /// How the backup was taken and what it holds.
    Backup(BackupDetails),
    /// What the fault did.
    Disaster(DisasterDetails),
    /// How the target was prepared and what was restored.
    Restore(RestoreDetails),
    /// How the recovered data compares with the reference.
    Verify(VerifyDetails),
    /// The command and what it printed.
    Exec(ExecDetails),
    /// How long it waited.
    Wait(WaitDetails),
    /// Who was promoted, by what, and when each failover phase ended.
    Failover(FailoverDetails),
    /// What was copied between stores, how fast.
    Copy(CopyDetails),
    /// The storage snapshot taken, and the folder's snapshots after pruning.
    Snapshot(SnapshotDetails),
    /// Which snapshot was restored, to which instant, into what, how fast.
    RestoreSnapshot(RestoreSnapshotDetails),
);

impl StepDetails {
    /// What the step's command printed (an `exec` step, a `command`
    /// disaster, a backup run inside a node's container), when not empty.
    pub fn output(&self) -> Option<&str> {
        let output = match self {
            Self::Exec(exec) => Some(exec.output.as_str()),
            Self::Failover(failover) => failover.output.as_deref(),
            Self::Disaster(DisasterDetails::Command { output, .. }) => Some(output.as_str()),
            Self::Backup(BackupDetails::InContainer(backup)) => backup.output.as_deref(),
            _ => None,
        };
        output.filter(|text| !text.is_empty())
    }

    /// What the step's command wrote to standard error, when it was kept
    /// apart from [`StepDetails::output`] and is not empty.
    pub fn errors(&self) -> Option<&str> {
        match self {
            Self::Exec(exec) => exec.stderr.as_deref().filter(|text| !text.is_empty()),
            _ => None,
        }
    }
}

/// A `seed` step: the dataset's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeedDetails {
    /// The profile's name.
    pub profile: String,
    /// The plan's seed.
    pub seed: u64,
    /// Documents inserted in all collections.
    pub total_documents: u64,
    /// Per collection, in profile order, as the dataset's seeding
    /// summary states it (documents, bytes, indexes, notes, elapsed).
    pub collections: Value,
    /// What the documents leave out because the engine cannot store it.
    pub left_out: Vec<String>,
    /// Wall time of the whole seeding.
    pub elapsed: std::time::Duration,
}

/// A `backup` step: on the host through a backup engine, or mongodump run
/// inside node 0's container (`run_in = "container"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BackupDetails {
    /// mongodump inside the node's container, the archive copied out.
    InContainer(ContainerBackupDetails),
    /// A backup engine on the host (`builtin`, `tools`, `command`).
    OnHost(HostBackupDetails),
}

/// A backup taken by an engine on the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostBackupDetails {
    /// The engine that ran (`builtin`, `tools`, `command`).
    pub engine: String,
    /// Why that engine was chosen.
    pub engine_reason: String,
    /// When the engine started, ms from the drill start.
    pub started_ms: u64,
    /// When it finished.
    pub finished_ms: u64,
    /// The command engine's outcome (command line, exit, output, the
    /// backups it deleted), as the command engine states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Value>,
    /// The dump's outcome (engine, location, collections, bytes,
    /// duration, output), as the engine states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Value>,
    /// The manifest beside the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<PathBuf>,
    /// Where the reference checksums came from, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// How many collections the reference holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_collections: Option<usize>,
    /// The read preference the dump read with, when the step set one
    /// (an external deployment's default is `secondaryPreferred`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_preference: Option<String>,
    /// The read concern the dump read with, when the step set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_concern: Option<String>,
    /// The upload to the step's store (`store = "..."`): size, time, speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Box<crate::store::Transfer>>,
}

/// A backup taken by mongodump inside node 0's container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerBackupDetails {
    /// Always `tools`: it is mongodump.
    pub engine: String,
    /// Always `container`.
    pub run_in: String,
    /// The node's image.
    pub image: String,
    /// The command as run (`docker exec <node-0> mongodump ...`).
    pub command: String,
    /// When mongodump started, ms from the drill start.
    pub started_ms: u64,
    /// When it finished.
    pub finished_ms: u64,
    /// What it printed, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Where the archive copied out is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// A `disaster` step: what the fault did, one shape per kind of fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DisasterDetails {
    /// `pause-node`.
    Paused {
        /// The node (`node-0`).
        paused: String,
        /// How (`cgroup freezer`, `SIGSTOP`, `container pause`).
        how: String,
    },
    /// `kill-majority`.
    MajorityKilled {
        /// The nodes killed, the primary first.
        killed: Vec<String>,
        /// Of how many members.
        of: usize,
    },
    /// `kill-node`.
    Killed {
        /// The node.
        killed: String,
    },
    /// `stop-node`.
    Stopped {
        /// The node.
        stopped: String,
    },
    /// `disconnect-node`.
    Disconnected {
        /// The node.
        disconnected: String,
    },
    /// `remove-node`.
    Removed {
        /// The node, removed with its volume.
        removed_with_volume: String,
    },
    /// `wipe-data`.
    Wiped {
        /// The node.
        wiped: String,
    },
    /// `drop-database` or `drop-collection`.
    Dropped {
        /// The database or collection dropped.
        dropped: String,
    },
    /// `drop-collection` of several collections, at one T_d.
    DroppedCollections {
        /// The collections dropped, in order.
        dropped: Vec<String>,
    },
    /// `corrupt-documents` of several collections, at one T_d.
    CorruptedCollections {
        /// What was corrupted in each (`Corrupted` shapes), in order.
        collections: Vec<DisasterDetails>,
    },
    /// `corrupt-documents`.
    Corrupted {
        /// The collection.
        collection: String,
        /// How many documents were changed.
        corrupted: usize,
        /// The first (up to 20) of their `_id`s.
        ids: Vec<String>,
    },
    /// `region-outage`.
    RegionOutage {
        /// The store whose region went down.
        store: String,
        /// Its region.
        region: String,
        /// The endpoint that stopped answering.
        endpoint: String,
    },
    /// `tamper-backup`.
    Tampered {
        /// The `.bson` file changed.
        file: String,
        /// The byte flipped.
        offset: usize,
        /// The field it belongs to.
        field: String,
        /// The document's `_id`.
        document_id: String,
    },
    /// `command`: the team's own fault.
    Command {
        /// The command line.
        command: String,
        /// Its exit code; `None` on a signal or timeout.
        exit_code: Option<i32>,
        /// What it printed, redacted.
        output: String,
        /// Whether it ran past the step's timeout.
        timed_out: bool,
    },
}

/// A `restore` step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreDetails {
    /// `same-node` or `fresh-node`.
    pub target: String,
    /// The engine that made the backup restored.
    pub backup_engine: String,
    /// The nodes brought back before restoring into them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<Vec<String>>,
    /// The fresh node's URI, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_node: Option<String>,
    /// The restore's outcome (engine, collections, duration, output), as
    /// the engine states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<Value>,
    /// How many of the restored documents are the drill's tick documents
    /// (`_drill_ticks`, and those in the collections the disaster touched); the step's message counts
    /// the user's documents only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_documents: Option<u64>,
    /// The download from the step's store (`store = "..."`), verified
    /// against the manifest before the restore began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<crate::store::Transfer>,
    /// How the backup of the step's store was read: streamed (its passes)
    /// or downloaded first, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_read: Option<crate::store::StoreRead>,
}

/// A `copy` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CopyDetails {
    /// The store copied from.
    pub from: String,
    /// Where the backup was there.
    pub from_location: String,
    /// The copy as it arrived at the other store (size, time, speed).
    pub transfer: crate::store::Transfer,
}

/// A `verify` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyDetails {
    /// Every collection's reference and observed digests and how they
    /// compare, as the checksum comparison states it.
    pub comparison: Value,
    /// The server's `dbHash` cross-check of the observed side.
    pub db_hash: Value,
}

/// An `exec` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecDetails {
    /// The command line.
    pub command: String,
    /// Its exit code; `None` on a signal.
    pub exit_code: Option<i32>,
    /// What it printed (stdout and stderr in arrival order), redacted.
    pub output: String,
    /// Its standard error, when kept apart from `output`; the harness's
    /// own runner interleaves both streams in `output` and leaves this out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// A `failover` step: the phases of a managed failover, in ms from the
/// drill's start (T_d is the report's `disaster_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailoverDetails {
    /// The promoted site (`site-1`).
    pub promoted: String,
    /// What promoted it: `pg_ctl promote`, or the runbook's command.
    pub promoted_by: String,
    /// Where the application's endpoint points afterwards.
    pub endpoint_target: String,
    /// When the harness first saw the endpoint not answering.
    pub detected_ms: u64,
    /// When the promotion started.
    pub promotion_started_ms: u64,
    /// When the standby had left recovery and the endpoint had moved.
    pub promotion_finished_ms: u64,
    /// When the first write through the endpoint was acknowledged and read
    /// back (T_s); `None` when none was within the step's timeout.
    pub first_acknowledged_write_ms: Option<u64>,
    /// What the runbook's command printed, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A `wait` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaitDetails {
    /// How long it waited, milliseconds.
    pub duration_ms: u64,
}

impl From<HostBackupDetails> for StepDetails {
    fn from(details: HostBackupDetails) -> Self {
        Self::Backup(BackupDetails::OnHost(details))
    }
}

impl From<ContainerBackupDetails> for StepDetails {
    fn from(details: ContainerBackupDetails) -> Self {
        Self::Backup(BackupDetails::InContainer(details))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(details: StepDetails) -> serde_json::Value {
        let written = serde_json::to_value(&details).unwrap();
        let read: StepDetails = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(read, details, "{written}");
        written
    }

    #[test]
    fn details_carry_their_kind_and_the_keys_readers_know() {
        let paused = round_trip(
            DisasterDetails::Paused {
                paused: "node-0".into(),
                how: "SIGSTOP".into(),
            }
            .into(),
        );
        assert_eq!(
            paused,
            json!({"kind": "disaster", "paused": "node-0", "how": "SIGSTOP"})
        );
        let majority = round_trip(
            DisasterDetails::MajorityKilled {
                killed: vec!["node-1".into(), "node-0".into()],
                of: 3,
            }
            .into(),
        );
        assert_eq!(majority["killed"], json!(["node-1", "node-0"]));
        let killed = round_trip(
            DisasterDetails::Killed {
                killed: "node-0".into(),
            }
            .into(),
        );
        assert_eq!(killed, json!({"kind": "disaster", "killed": "node-0"}));
        let wait = round_trip(WaitDetails { duration_ms: 1_500 }.into());
        assert_eq!(wait, json!({"kind": "wait", "duration_ms": 1_500}));
    }

    #[test]
    fn a_container_backup_and_a_host_backup_read_back_as_themselves() {
        let container = round_trip(
            ContainerBackupDetails {
                engine: "tools".into(),
                run_in: "container".into(),
                image: "mongo:7.0".into(),
                command: "docker exec <node-0> mongodump --archive".into(),
                started_ms: 10,
                finished_ms: 20,
                output: Some("done".into()),
                backup: None,
            }
            .into(),
        );
        assert_eq!(container["run_in"], "container");
        assert!(container.get("backup").is_none(), "absent fields stay absent");
        let host = round_trip(
            HostBackupDetails {
                engine: "builtin".into(),
                engine_reason: "asked for".into(),
                started_ms: 10,
                finished_ms: 20,
                command: None,
                backup: Some(json!({"bytes": 1_024})),
                manifest: None,
                reference: None,
                reference_collections: Some(3),
                ..HostBackupDetails::default()
            }
            .into(),
        );
        assert_eq!(host["backup"]["bytes"], 1_024);
    }

    #[test]
    fn only_commands_have_output() {
        let exec: StepDetails = ExecDetails {
            command: "true".into(),
            exit_code: Some(0),
            output: String::new(),
            stderr: Some("warning".into()),
        }
        .into();
        assert_eq!(exec.output(), None, "empty output is no output");
        assert_eq!(exec.errors(), Some("warning"));
        assert_eq!(StepDetails::from(WaitDetails { duration_ms: 1 }).output(), None);
    }
}

// ------------------------------------------------------------- snapshots

/// One snapshot in a folder of snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotEntry {
    /// Its id (its folder's name): `snapshot-<UTC yyyymmddThhmmss.mmmZ>`.
    pub id: String,
    /// When it was consistent (UTC, RFC 3339, milliseconds).
    pub taken_at: String,
    /// Bytes of its files.
    pub size_bytes: u64,
}

/// A `snapshot` step: a base backup of the managed primary with its
/// manifest, and what the retention policy did to the folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotDetails {
    /// The snapshot taken.
    pub snapshot: SnapshotEntry,
    /// Its folder (the PostgreSQL files in `data/`, the manifest beside).
    pub path: PathBuf,
    /// Files in it.
    pub files: usize,
    /// How long the base backup took.
    pub duration_ms: u64,
    /// The retention: snapshots older than this are pruned.
    pub retention_ms: u64,
    /// The folder's snapshots after pruning, newest first.
    pub kept: Vec<SnapshotEntry>,
    /// The ids of the snapshots pruned.
    pub pruned: Vec<String>,
}

/// The instants a point-in-time restore can reach, and the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreWindow {
    /// The earliest restorable instant: the end of the snapshot's base
    /// backup (ms from the drill's start; `*_at`: UTC).
    pub earliest_ms: i64,
    /// `earliest_ms` in UTC.
    pub earliest_at: String,
    /// The latest: the last instant whose commits the archive holds, made
    /// so by a forced commit and segment switch at the restore.
    pub latest_ms: i64,
    /// `latest_ms` in UTC.
    pub latest_at: String,
}

/// The exact boundary check of a point-in-time restore to T: ticks by seq.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoundaryCheck {
    /// Ticks acknowledged at or before T that are missing (must be none).
    pub missing_acknowledged: Vec<u64>,
    /// Ticks issued after T that are present (must be none).
    pub present_after: Vec<u64>,
    /// Ticks in flight at T (issued before, acknowledged after) present.
    pub in_flight_present: Vec<u64>,
    /// Ticks in flight at T missing.
    pub in_flight_missing: Vec<u64>,
    /// Ticks found that were never attempted (must be none).
    pub unexpected: Vec<u64>,
    /// Ticks acknowledged at or before T, all of which must be present.
    pub acknowledged_by_target: u64,
    /// How far the window was widened each way: the millisecond the
    /// drill clock's figures are truncated to.
    pub tolerance_ms: u64,
}

/// A point-in-time restore: the target, the window, the boundary check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PointInTimeDetails {
    /// The target T as the scenario wrote it (`2s before disaster`).
    pub requested: String,
    /// T in ms from the drill's start (negative: before it).
    pub target_ms: i64,
    /// T in UTC, as given to `recovery_target_time`.
    pub target_at: String,
    /// The restore window.
    pub window: RestoreWindow,
    /// The boundary check; `None` when the restore did not get that far.
    pub boundary: Option<BoundaryCheck>,
}

/// A `restore-snapshot` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreSnapshotDetails {
    /// The snapshot restored: the folder's newest.
    pub snapshot: SnapshotEntry,
    /// How old it was when the step began.
    pub age_ms: u64,
    /// The oldest it was allowed to be, when the scenario set one.
    pub max_age_ms: Option<u64>,
    /// Files whose SHA-256 and size matched the manifest before restoring.
    pub files_verified: usize,
    /// The point-in-time restore, when one was asked for.
    pub point_in_time: Option<PointInTimeDetails>,
    /// The new cluster's FerretDB (torn down with the drill).
    pub cluster: Option<String>,
    /// From the step's start to the new cluster promoted and its FerretDB
    /// answering (the copy, the start, any WAL replay).
    pub restore_ms: Option<u64>,
    /// The resolution of `restore_ms`: how often promotion and FerretDB's
    /// readiness were polled.
    pub restore_resolution_ms: u64,
}
