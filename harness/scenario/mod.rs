//! Scenario files: TOML → spanned tree checked against the schema (every
//! problem at once, each located) → wire structs → the validated
//! [`Scenario`] model. Owns the file format and its diagnostics; does not
//! run anything (the runner turns a `Scenario` into a plan).
//!
//! # The format
//!
//! A complete scenario, every key shown (optional keys at their defaults
//! unless noted):
//!
//! ```toml
//! name = "weekly-dev-restore"          # required; lowercase, digits, - and _
//! description = "restore last night's backup into the dev server"
//! tags = ["weekly", "ci-gate"]         # selected with --tag
//! expect = { fail = "rpo" }            # negative drill: passes iff this check fails
//!                                      # (rto, rpo, holes, unexpected-ticks, verify, or a step kind)
//!
//! [topology]                           # required
//! provider = "local"                   # required: local | containers | external
//! engine = "ferretdb"                  # required: ferretdb | mongodb
//! backend = "sqlite"                   # ferretdb only: sqlite (default) | postgresql
//! nodes = 1                            # 1 to 7
//! # uri = "mongodb://host:27017/"      # external only, required there
//! # allow_destructive = true           # external only: the scenario's half of the opt-in
//! # replica_set = true                 # the nodes form a replica set (mongodb only;
//!                                      # ferretdb ends such a drill as "not supported")
//! # arbiter = true                     # replica sets: one arbiter on top of `nodes`
//! # image_tag = "7.0"                  # containers + mongodb: the `mongo` image tag
//! # standbys = 1                       # managed only: streaming standbys, 0 (default) to 6
//! # replication = "async"              # managed only: async (default) | sync
//! # synchronous_commit = "remote_apply" # managed only: the primary's; remote_apply when sync
//! # link_latency = "150ms"             # managed only: each way on a standby's site link
//! # link_bandwidth = 65536             # managed only: bytes/s to the standby (unlimited)
//!
//! [dataset]                            # required
//! profile = "shepherd-cms"             # required
//! documents = 20000                    # required: 1 to 100,000,000
//! seed = 42                            # default 0
//! database = "shepherd_cms"            # default: the profile with - as _
//!
//! [workload]
//! tick_interval = "100ms"              # the RPO resolution; 1ms to 1h
//! write_concern = "majority"           # "majority" (default) or 1 to 7
//! read_concern = "local"               # local (default) | majority
//! probe_interval = "250ms"             # the RTO error bound; 1ms to 1h
//!
//! [objectives]                         # each optional; absent means not checked
//! rto = "60m"
//! rpo = "15m"
//! rto_applies_to = "service"           # service (default) | verified
//!
//! [[steps]]                            # at least one; every step takes
//! kind = "seed"                        # `name` and `timeout` (at most 24h)
//!
//! [[steps]]
//! kind = "backup"
//! engine = "builtin"                   # auto (default) | tools | builtin | command
//! format = "directory"                 # directory (default) | archive
//! gzip = true                          # default false
//! # command = "runbook/backup.sh"      # required with engine = "command", only then
//! # run_in = "container"               # tools + archive: mongodump runs inside node 0's
//!                                      # container (docker exec), the file is copied out
//! # store = "region-a"                 # also upload it to that [stores.NAME], verified
//! timeout = "10m"
//!
//! [[steps]]
//! kind = "wait"
//! duration = "5s"                      # required
//!
//! [[steps]]
//! kind = "disaster"                    # at most one: it records T_d
//! action = "drop-database"             # drop-database | drop-collection | corrupt-documents
//!                                      # | tamper-backup | command | kill-node | stop-node
//!                                      # | pause-node | wipe-data | disconnect-node | remove-node
//!                                      # | kill-majority (replica sets)
//! # collection = "configurations"      # drop-collection, corrupt-documents (required there)
//! # documents = 10                     # corrupt-documents
//! # node = 0                           # the *-node actions and wipe-data: an index or "primary"
//! # command = "runbook/break.sh"       # required with action = "command", only then
//! # store = "region-a"                 # region-outage: the store whose gateway stops
//!                                      # (default: the first backup step's store)
//!
//! [[steps]]
//! kind = "restore"                     # needs a backup step before it
//! target = "same-node"                 # same-node (default) | fresh-node
//! drop = true                          # default true
//! collections = ["configurations"]     # default: every collection
//! # store = "region-b"                 # the newest backup of that store, downloaded and
//!                                      # verified first; fails when none is within the RPO
//!
//! [[steps]]
//! kind = "verify"
//!
//! [[steps]]
//! kind = "exec"
//! command = "runbook/notify.sh"        # required
//!
//! # kind = "mask"                    # after a restore into a fresh node: anonymize the
//! # seed = 42                          # profile's PII in the copy (default: dataset seed)
//! # kind = "pii"                       # after a restore into a fresh node: no source PII
//!                                      # value may be left anywhere in the copy
//! # [[steps]]                          # managed only, after the disaster:
//! # kind = "failover"                  # promote a standby, move the endpoint
//! # site = 1                           # the standby to promote (the first running)
//! # runbook = "runbook/promote.sh"     # the team's promotion (default: pg_ctl promote)
//! # [[steps]]                          # managed only:
//! # kind = "snapshot"                  # a base backup of the primary + its manifest
//! # folder = "/var/backups/snapshots"  # default: the drill's scratch folder
//! # retention = "30d"                  # older snapshots in the folder are pruned
//! # [[steps]]                          # managed only: the folder's newest snapshot
//! # kind = "restore-snapshot"          # into a new cluster, which is then "recovered"
//! # folder = "/var/backups/snapshots"  # default: the last snapshot step's
//! # point_in_time = "2s before disaster"  # or "midpoint", "5s after disaster":
//!                                      # replay the WAL archive to T (default: none)
//! # max_age = "24h"                    # fail when the newest snapshot is older
//!
//! [[probes]]                           # steady-state probes, any number
//! name = "users"                       # required: checks are `probe NAME PHASE`
//! kind = "count"                       # required: count | latency | canary
//! collection = "users"                 # count, latency: required
//! filter = { role = "admin" }          # count, latency: default {}
//! min = 1                              # count: default 0
//! max = 100000                         # count: default no bound
//! # p99 = "50ms"                       # latency: required
//! # window = "2s"                      # latency: how long reads are sampled
//! phases = ["before", "during", "after"]
//! interval = "1s"                      # during: the sampling interval
//! tolerance = 0                        # during: failed samples tolerated
//! settle = "30s"                       # after: how long it is retried
//!
//! [abort]                              # each optional
//! probe_failures = 3                   # a probe failing N samples in a row
//! max_duration = "30m"                 # from the drill's start
//! signal_file = "/run/drdrill/abort"   # relative: from the scenario's folder
//! # [[steps]]
//! # kind = "copy"                      # the last backup of `from`, streamed to `to`
//! # from = "region-a"                  # required: a [stores.NAME]
//! # to = "region-b"                    # required
//!
//! [stores.region-a]                    # backup stores by name; exactly one of:
//! gateway = "versitygw"                # the harness starts versitygw (region, bucket
//! region = "us-west-2"                 # default "drdrill", prefix), or
//! bucket = "drdrill"                   # url = "s3://bucket/prefix", or folder = "path";
//! # prefix = "nightly"                 # url stores: endpoint, region, credentials_file
//!                                      # (credentials never in the file: the environment)
//! # recipients_file = "keys/backup.pub"   # age recipients: backups stored encrypted
//! # identity_file = "keys/backup.key"     # age identities: what downloads decrypt with
//! ```
//!
//! Durations are strings with units (`250ms`, `15m`, `1h30m`, `2 hours`).
//! Against an external deployment, `disaster` steps and a `restore` into
//! the source (`target = "same-node"`) need `allow_destructive = true`
//! here and the command line's opt-in; a restore without a target goes
//! into an ephemeral node.
//!
//! # Diagnostics
//!
//! A TOML syntax error is reported alone (the rest of the file cannot be
//! trusted). Otherwise every unknown key (with the closest valid one),
//! wrong type, missing key, bad duration, out-of-range value and broken
//! rule between keys is reported, one line each, in file order:
//!
//! ```text
//! scenarios/x.toml:12:1: step 3: missing field `kind` (hint: one of seed, backup, ...)
//! ```

mod check;
mod convert;
pub mod diagnostic;
pub mod discover;
pub mod duration;
pub mod load;
pub mod model;
mod schema;
pub mod steady;
pub mod wire;

pub use diagnostic::{Diagnostic, ScenarioErrors};
pub use discover::{DiscoverError, discover};
pub use load::{validate_bytes, validate_file, validate_str};
pub use model::{
    BackupEngine, BackupFormat, BackupStep, Dataset, DisasterAction, DisasterStep, FailoverStep, ForecastSettings,
    ForecastSize, ManagedTopology, NodeTarget, ReadConcern, ReplicaSetTopology, RestoreStep, RestoreTarget, RunIn,
    Scenario, Step, StepKind, StepKindName, Topology, UriSource, UriSourceError, Workload, WriteConcern,
};
pub use model::{CopyStep, StoreDecl};
pub use model::{PointInTime, PointInTimeError, RestoreSnapshotStep, SnapshotStep};
pub use steady::{AbortConditions, Probe, ProbeCheck, ProbePhase};
