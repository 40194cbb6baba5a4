//! The shape of a scenario file as data: every table, key, type, range and
//! whether it is required. `check.rs` walks a parsed document against it so
//! that every problem is found in one pass; the wire structs in `wire.rs`
//! mirror the same shape for serde (a test keeps the two in step).

use std::time::Duration;

use super::model::{
    BackupEngine, BackupFormat, DisasterAction, MAX_DOCUMENTS, MAX_NODES, MAX_TIMEOUT, ReadConcern, ReadPreference,
    RestoreTarget, RunIn, StepKindName,
};
use crate::measure::KNOWN_CHECKS;

/// What a key's value must be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A non-empty string.
    Text,
    /// A scenario name: lowercase letters, digits, `-` and `_`, starting
    /// with a letter or digit (it becomes part of run ids and folder names).
    Slug,
    /// A MongoDB database name.
    DatabaseName,
    /// A `mongodb://` or `mongodb+srv://` connection string.
    Uri,
    /// `true` or `false`.
    Bool,
    /// An integer within bounds.
    Integer { min: i64, max: i64 },
    /// A human duration string (`60m`, `250ms`, `1h30m`) within bounds.
    Duration { min: Duration, max: Duration },
    /// One of a closed set of strings.
    Choice(&'static [&'static str]),
    /// An array of non-empty strings.
    TextList,
    /// `"majority"` or a number of nodes.
    WriteConcern,
    /// A node index (0 to 6) or `"primary"`.
    NodeTarget,
    /// A table with the given keys.
    Table(&'static [Field]),
    /// The `[[steps]]` array of tables, whose keys depend on `kind`.
    Steps,
    /// An array of tables, each with the given keys (`[[probes]]`).
    TableList(&'static [Field]),
    /// A table of any keys: a query filter, passed to the server as written.
    Filter,
    /// An array of strings, each one of a closed set.
    ChoiceList(&'static [&'static str]),
    /// A table of tables named by the user (`[stores.NAME]`), each with
    /// the given keys.
    NamedTables(&'static [Field]),
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    /// A valid line, shown in hints (`documents = 20000`).
    pub(crate) example: &'static str,
}

const fn required(name: &'static str, kind: Kind, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        example,
    }
}

const fn optional(name: &'static str, kind: Kind, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        example,
    }
}

const MILLISECOND: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3_600);
/// Objectives beyond a month are not objectives.
const MAX_OBJECTIVE: Duration = Duration::from_secs(31 * 24 * 3_600);

const TIMEOUT: Kind = Kind::Duration {
    min: MILLISECOND,
    max: MAX_TIMEOUT,
};

/// The names `[topology].provider` takes: the provider registry's.
pub(crate) const PROVIDERS: &[&str] = crate::provider::ProviderKind::NAMES;
/// The names `[topology].engine` takes.
pub(crate) const ENGINES: &[&str] = &["ferretdb", "mongodb"];
/// The names `[topology].backend` takes.
pub(crate) const BACKENDS: &[&str] = &["sqlite", "postgresql"];

/// The top level of a scenario file.
pub(crate) const ROOT: &[Field] = &[
    required("name", Kind::Slug, "name = \"weekly-dev-restore\""),
    optional("description", Kind::Text, "description = \"what this drill proves\""),
    optional("tags", Kind::TextList, "tags = [\"weekly\"]"),
    optional(
        "cadence",
        Kind::Duration {
            min: Duration::from_secs(1),
            max: Duration::from_secs(366 * 24 * 3_600),
        },
        "cadence = \"8d\"",
    ),
    optional("expect", Kind::Table(EXPECT), "expect = { fail = \"rpo\" }"),
    required("topology", Kind::Table(TOPOLOGY), "[topology]"),
    required("dataset", Kind::Table(DATASET), "[dataset]"),
    optional("workload", Kind::Table(WORKLOAD), "[workload]"),
    optional("objectives", Kind::Table(OBJECTIVES), "[objectives]"),
    optional("forecast", Kind::Table(FORECAST), "[forecast]"),
    required("steps", Kind::Steps, "[[steps]]"),
    optional("probes", Kind::TableList(PROBE), "[[probes]]"),
    optional("abort", Kind::Table(ABORT), "[abort]"),
    optional("stores", Kind::NamedTables(STORE), "[stores.region-a]"),
];

/// One `[[probes]]` entry: the union of the keys of every probe kind (the
/// rules between them are checked when the model is built).
const PROBE: &[Field] = &[
    required("name", Kind::Text, "name = \"active users\""),
    required(
        "kind",
        Kind::Choice(super::steady::ProbeKindName::NAMES),
        "kind = \"count\"",
    ),
    optional("collection", Kind::Text, "collection = \"users\""),
    optional("filter", Kind::Filter, "filter = { role = \"admin\" }"),
    optional("min", Kind::Integer { min: 0, max: i64::MAX }, "min = 1"),
    optional("max", Kind::Integer { min: 0, max: i64::MAX }, "max = 100000"),
    optional("p99", OBJECTIVE, "p99 = \"50ms\""),
    optional(
        "window",
        Kind::Duration {
            min: MILLISECOND,
            max: HOUR,
        },
        "window = \"2s\"",
    ),
    optional(
        "phases",
        Kind::ChoiceList(super::steady::ProbePhase::NAMES),
        "phases = [\"before\", \"after\"]",
    ),
    optional(
        "interval",
        Kind::Duration {
            min: MILLISECOND,
            max: HOUR,
        },
        "interval = \"1s\"",
    ),
    optional("tolerance", Kind::Integer { min: 0, max: 1_000_000 }, "tolerance = 5"),
    optional("settle", TIMEOUT, "settle = \"30s\""),
];

/// `[abort]`.
const ABORT: &[Field] = &[
    optional(
        "probe_failures",
        Kind::Integer { min: 1, max: 1_000_000 },
        "probe_failures = 3",
    ),
    optional("max_duration", TIMEOUT, "max_duration = \"30m\""),
    optional("signal_file", Kind::Text, "signal_file = \"/run/drdrill/abort\""),
];

/// The gateways the harness can start for a store.
pub(crate) const GATEWAYS: &[&str] = &["versitygw"];

/// `[stores.NAME]`: where a store is; never its secrets.
const STORE: &[Field] = &[
    optional("url", Kind::Text, "url = \"s3://backups/nightly\""),
    optional("folder", Kind::Text, "folder = \"/srv/backups\""),
    optional("gateway", Kind::Choice(GATEWAYS), "gateway = \"versitygw\""),
    optional("region", Kind::Text, "region = \"us-west-2\""),
    optional("bucket", Kind::Text, "bucket = \"drdrill\""),
    optional("prefix", Kind::Text, "prefix = \"nightly\""),
    optional("endpoint", Kind::Text, "endpoint = \"http://127.0.0.1:7070\""),
    optional("credentials_file", Kind::Text, "credentials_file = \"/run/secrets/s3\""),
    optional("recipients_file", Kind::Text, "recipients_file = \"keys/backup.pub\""),
    optional(
        "identity_file",
        Kind::Text,
        "identity_file = \"/run/secrets/backup-age-key\"",
    ),
];

const EXPECT: &[Field] = &[required("fail", Kind::Choice(KNOWN_CHECKS), "fail = \"rpo\"")];

const TOPOLOGY: &[Field] = &[
    required("provider", Kind::Choice(PROVIDERS), "provider = \"local\""),
    required("engine", Kind::Choice(ENGINES), "engine = \"ferretdb\""),
    optional("backend", Kind::Choice(BACKENDS), "backend = \"sqlite\""),
    optional(
        "nodes",
        Kind::Integer {
            min: 1,
            max: MAX_NODES as i64,
        },
        "nodes = 1",
    ),
    optional("uri", Kind::Uri, "uri = \"mongodb://host:27017/\""),
    optional("uri_env", Kind::Text, "uri_env = \"DRDRILL_SOURCE_URI\""),
    optional("uri_file", Kind::Text, "uri_file = \"/run/secrets/source-uri\""),
    optional("allow_destructive", Kind::Bool, "allow_destructive = true"),
    optional("replica_set", Kind::Bool, "replica_set = true"),
    optional("arbiter", Kind::Bool, "arbiter = true"),
    optional("image_tag", Kind::Text, "image_tag = \"7.0\""),
    optional("ephemeral", Kind::Choice(EPHEMERAL_PROVIDERS), "ephemeral = \"local\""),
    // The managed provider's keys.
    optional("standbys", Kind::Integer { min: 0, max: 6 }, "standbys = 1"),
    optional(
        "replication",
        Kind::Choice(&["async", "sync"]),
        "replication = \"sync\"",
    ),
    optional(
        "synchronous_commit",
        Kind::Choice(&["off", "local", "on", "remote_write", "remote_apply"]),
        "synchronous_commit = \"remote_apply\"",
    ),
    optional(
        "link_bandwidth",
        Kind::Integer {
            min: 1024,
            max: 1_000_000_000_000,
        },
        "link_bandwidth = 65536",
    ),
    optional(
        "link_latency",
        Kind::Duration {
            min: MILLISECOND,
            max: Duration::from_secs(10),
        },
        "link_latency = \"200ms\"",
    ),
];

/// The providers an external drill's ephemeral restore node may come from.
const EPHEMERAL_PROVIDERS: &[&str] = &["local", "containers"];

const DATASET: &[Field] = &[
    required("profile", Kind::Text, "profile = \"shepherd-cms\""),
    required(
        "documents",
        Kind::Integer {
            min: 1,
            max: MAX_DOCUMENTS as i64,
        },
        "documents = 20000",
    ),
    optional("seed", Kind::Integer { min: 0, max: i64::MAX }, "seed = 42"),
    optional("database", Kind::DatabaseName, "database = \"shepherd_cms\""),
];

const WORKLOAD: &[Field] = &[
    optional(
        "tick_interval",
        Kind::Duration {
            min: MILLISECOND,
            max: HOUR,
        },
        "tick_interval = \"100ms\"",
    ),
    optional("write_concern", Kind::WriteConcern, "write_concern = \"majority\""),
    optional(
        "read_concern",
        Kind::Choice(ReadConcern::NAMES),
        "read_concern = \"majority\"",
    ),
    optional(
        "probe_interval",
        Kind::Duration {
            min: MILLISECOND,
            max: HOUR,
        },
        "probe_interval = \"250ms\"",
    ),
];

/// An objective of zero can never hold: the least is a millisecond.
const OBJECTIVE: Kind = Kind::Duration {
    min: MILLISECOND,
    max: MAX_OBJECTIVE,
};

const OBJECTIVES: &[Field] = &[
    optional("rto", OBJECTIVE, "rto = \"60m\""),
    optional("rpo", OBJECTIVE, "rpo = \"15m\""),
    optional(
        "rto_applies_to",
        Kind::Choice(&["service", "verified"]),
        "rto_applies_to = \"service\"",
    ),
];

const FORECAST: &[Field] = &[
    optional(
        "documents",
        Kind::Integer {
            min: 1,
            max: 1_000_000_000_000,
        },
        "documents = 100000",
    ),
    optional("bytes", Kind::Integer { min: 1, max: 1 << 50 }, "bytes = 500000000000"),
    optional("uri_env", Kind::Text, "uri_env = \"PRODUCTION_URI\""),
    optional("fail", Kind::Bool, "fail = true"),
];

/// The keys every step has.
pub(crate) const STEP_COMMON: &[Field] = &[
    required("kind", Kind::Choice(StepKindName::NAMES), "kind = \"backup\""),
    optional("name", Kind::Text, "name = \"nightly backup\""),
    optional("timeout", TIMEOUT, "timeout = \"10m\""),
];

const BACKUP: &[Field] = &[
    optional("engine", Kind::Choice(BackupEngine::NAMES), "engine = \"builtin\""),
    optional("format", Kind::Choice(BackupFormat::NAMES), "format = \"directory\""),
    optional("gzip", Kind::Bool, "gzip = true"),
    optional("command", Kind::Text, "command = \"runbook/backup.sh\""),
    optional("run_in", Kind::Choice(RunIn::NAMES), "run_in = \"container\""),
    optional(
        "read_preference",
        Kind::Choice(ReadPreference::NAMES),
        "read_preference = \"secondaryPreferred\"",
    ),
    optional(
        "read_concern",
        Kind::Choice(ReadConcern::NAMES),
        "read_concern = \"majority\"",
    ),
    optional("store", Kind::Text, "store = \"region-a\""),
];

const DISASTER: &[Field] = &[
    required(
        "action",
        Kind::Choice(DisasterAction::NAMES),
        "action = \"drop-database\"",
    ),
    optional("collection", Kind::Text, "collection = \"configurations\""),
    optional(
        "collections",
        Kind::TextList,
        "collections = [\"configurations\", \"users\"]",
    ),
    optional(
        "documents",
        Kind::Integer {
            min: 1,
            max: MAX_DOCUMENTS as i64,
        },
        "documents = 10",
    ),
    optional("node", Kind::NodeTarget, "node = 0"),
    optional("command", Kind::Text, "command = \"runbook/break.sh\""),
    optional("store", Kind::Text, "store = \"region-a\""),
];

const RESTORE: &[Field] = &[
    optional("target", Kind::Choice(RestoreTarget::NAMES), "target = \"same-node\""),
    optional("drop", Kind::Bool, "drop = true"),
    optional("collections", Kind::TextList, "collections = [\"configurations\"]"),
    optional("store", Kind::Text, "store = \"region-b\""),
    optional("stream", Kind::Bool, "stream = false"),
];

const COPY: &[Field] = &[
    required("from", Kind::Text, "from = \"region-a\""),
    required("to", Kind::Text, "to = \"region-b\""),
];

const WAIT: &[Field] = &[required("duration", TIMEOUT, "duration = \"5s\"")];

const EXEC: &[Field] = &[required("command", Kind::Text, "command = \"runbook/check.sh\"")];

const MASK: &[Field] = &[optional("seed", Kind::Integer { min: 0, max: i64::MAX }, "seed = 42")];
const FAILOVER: &[Field] = &[
    optional("site", Kind::Integer { min: 1, max: 6 }, "site = 1"),
    optional("runbook", Kind::Text, "runbook = \"runbook/promote.sh\""),
];

const SNAPSHOT: &[Field] = &[
    optional("folder", Kind::Text, "folder = \"/var/backups/snapshots\""),
    optional(
        "retention",
        Kind::Duration {
            min: Duration::from_secs(1),
            max: Duration::from_secs(10 * 365 * 24 * 3_600),
        },
        "retention = \"30d\"",
    ),
];

const RESTORE_SNAPSHOT: &[Field] = &[
    optional("folder", Kind::Text, "folder = \"/var/backups/snapshots\""),
    optional("point_in_time", Kind::Text, "point_in_time = \"2s before disaster\""),
    optional(
        "max_age",
        Kind::Duration {
            min: MILLISECOND,
            max: Duration::from_secs(365 * 24 * 3_600),
        },
        "max_age = \"24h\"",
    ),
];

/// The keys of a step of `kind` beyond [`STEP_COMMON`].
pub(crate) fn step_fields(kind: StepKindName) -> &'static [Field] {
    match kind {
        StepKindName::Seed | StepKindName::Verify | StepKindName::Pii => &[],
        StepKindName::Mask => MASK,
        StepKindName::Backup => BACKUP,
        StepKindName::Disaster => DISASTER,
        StepKindName::Restore => RESTORE,
        StepKindName::Wait => WAIT,
        StepKindName::Exec => EXEC,
        StepKindName::Failover => FAILOVER,
        StepKindName::Copy => COPY,
        StepKindName::Snapshot => SNAPSHOT,
        StepKindName::RestoreSnapshot => RESTORE_SNAPSHOT,
    }
}

/// The step kind named `name`.
pub(crate) fn step_kind(name: &str) -> Option<StepKindName> {
    StepKindName::NAMES
        .iter()
        .position(|candidate| *candidate == name)
        .map(|index| ALL_STEP_KINDS[index])
}

const ALL_STEP_KINDS: &[StepKindName] = &[
    StepKindName::Seed,
    StepKindName::Backup,
    StepKindName::Disaster,
    StepKindName::Restore,
    StepKindName::Verify,
    StepKindName::Wait,
    StepKindName::Exec,
    StepKindName::Mask,
    StepKindName::Pii,
    StepKindName::Failover,
    StepKindName::Copy,
    StepKindName::Snapshot,
    StepKindName::RestoreSnapshot,
];

/// Every step kind whose steps accept the key `name` (for hints about a key
/// used in the wrong kind of step).
pub(crate) fn step_kinds_with_key(name: &str) -> Vec<&'static str> {
    ALL_STEP_KINDS
        .iter()
        .filter(|kind| step_fields(**kind).iter().any(|field| field.name == name))
        .map(|kind| kind.as_str())
        .collect()
}

/// Every key any step accepts: what a step without a usable `kind` is
/// checked against, so that its typos are still found.
pub(crate) fn all_step_fields() -> Vec<Field> {
    let mut fields: Vec<Field> = STEP_COMMON.to_vec();
    for kind in ALL_STEP_KINDS {
        for field in step_fields(*kind) {
            if !fields.iter().any(|known| known.name == field.name) {
                // Kind-specific keys are never required of a step whose kind is unknown.
                fields.push(Field {
                    required: false,
                    ..*field
                });
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Backend, Engine, ProviderKind};

    #[test]
    fn step_kinds_follow_the_name_list() {
        for (index, name) in StepKindName::NAMES.iter().enumerate() {
            assert_eq!(ALL_STEP_KINDS[index].as_str(), *name);
            assert_eq!(step_kind(name), Some(ALL_STEP_KINDS[index]));
        }
        assert_eq!(step_kind("backpu"), None);
        assert_eq!(step_kinds_with_key("command"), vec!["backup", "disaster", "exec"]);
    }

    #[test]
    fn provider_names_deserialize_into_the_provider_enums() {
        for name in PROVIDERS {
            let _: ProviderKind = serde_json::from_value(serde_json::json!(name)).unwrap();
        }
        for name in ENGINES {
            let _: Engine = serde_json::from_value(serde_json::json!(name)).unwrap();
        }
        for name in BACKENDS {
            let _: Backend = serde_json::from_value(serde_json::json!(name)).unwrap();
        }
    }
}
