//! The scenario's steady-state probes (`[[probes]]`) and abort conditions
//! (`[abort]`): the model the runner sees, and its conversion from the
//! wire structs. Kept apart from `model.rs` because they guard a drill
//! rather than describe its deployment or steps.
//!
//! Not to be confused with the readiness probe of T_s (`runner/probe.rs`):
//! these probes say whether the system is healthy enough to drill at all,
//! and whether it is healthy again afterwards.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bson::Document;
use serde::{Deserialize, Serialize};

use super::check::parse_duration;
use super::convert::ConvertError;

/// What a steady-state probe measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKindName {
    /// A query whose count must stay within `min`..`max`.
    Count,
    /// The p99 latency of a read over a window must stay under a bound.
    Latency,
    /// A canary write must be acknowledged and read back.
    Canary,
}

impl ProbeKindName {
    /// Every kind, as a scenario names it.
    pub const NAMES: &'static [&'static str] = &["count", "latency", "canary"];
}

/// When a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbePhase {
    /// Once, immediately before the disaster step: a failure makes the
    /// drill inconclusive and nothing is injected.
    Before,
    /// Sampled every `interval` from T_d until the last step ended; at most
    /// `tolerance` failed samples.
    During,
    /// After the last step, against the recovered deployment: must hold
    /// again (retried for up to `settle`).
    After,
}

impl ProbePhase {
    /// Every phase, as a scenario names it.
    pub const NAMES: &'static [&'static str] = &["before", "during", "after"];

    /// `before`, `during`, `after`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::During => "during",
            Self::After => "after",
        }
    }
}

/// What a probe checks, with its own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeCheck {
    /// `count_documents(filter)` on `collection` within `min..=max`.
    Count {
        /// The collection queried.
        collection: String,
        /// The query (`{}` when unset).
        filter: Document,
        /// The least count that holds (default 0).
        min: u64,
        /// The largest count that holds (default: no bound).
        max: Option<u64>,
    },
    /// The p99 of `find_one(filter)` on `collection`, read repeatedly for
    /// `window`, at most `p99`.
    Latency {
        /// The collection read.
        collection: String,
        /// The query (`{}` when unset).
        filter: Document,
        /// The bound on the 99th percentile.
        p99: Duration,
        /// How long reads are sampled (default 2s).
        window: Duration,
    },
    /// A canary document written with the scenario's write concern and
    /// read back (in the drill's own `_drill_ticks`, deleted after).
    Canary,
}

/// One `[[probes]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// A name for reports (`probe NAME before`).
    pub name: String,
    /// What it checks.
    pub check: ProbeCheck,
    /// When it runs (default: all three phases).
    pub phases: Vec<ProbePhase>,
    /// How often it is sampled during the drill (default 1s).
    pub interval: Duration,
    /// How many failed samples the during phase tolerates (default 0).
    pub tolerance: u32,
    /// How long the after phase retries before it fails (default 30s).
    pub settle: Duration,
}

impl Probe {
    /// Whether the probe runs in `phase`.
    pub fn runs_in(&self, phase: ProbePhase) -> bool {
        self.phases.contains(&phase)
    }
}

/// `[abort]`: when the runner stops a drill and puts things back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AbortConditions {
    /// A probe sampled during the drill failing this many times in a row.
    pub probe_failures: Option<u32>,
    /// The drill running longer than this, from its start.
    pub max_duration: Option<Duration>,
    /// This file appearing (relative paths from the scenario's folder).
    pub signal_file: Option<PathBuf>,
}

impl AbortConditions {
    /// Whether any condition is set.
    pub fn any(&self) -> bool {
        self.probe_failures.is_some() || self.max_duration.is_some() || self.signal_file.is_some()
    }
}

/// `[[probes]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeFile {
    /// `name`.
    pub name: String,
    /// `kind`.
    pub kind: ProbeKindName,
    /// `collection`.
    pub collection: Option<String>,
    /// `filter`.
    pub filter: Option<toml::Table>,
    /// `min`.
    pub min: Option<u64>,
    /// `max`.
    pub max: Option<u64>,
    /// `p99`.
    pub p99: Option<String>,
    /// `window`.
    pub window: Option<String>,
    /// `phases`.
    pub phases: Option<Vec<ProbePhase>>,
    /// `interval`.
    pub interval: Option<String>,
    /// `tolerance`.
    pub tolerance: Option<u32>,
    /// `settle`.
    pub settle: Option<String>,
}

/// `[abort]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortFile {
    /// `probe_failures`.
    pub probe_failures: Option<u32>,
    /// `max_duration`.
    pub max_duration: Option<String>,
    /// `signal_file`.
    pub signal_file: Option<String>,
}

fn duration_or(path: String, text: Option<&str>, default: Duration) -> Result<Duration, ConvertError> {
    match text {
        None => Ok(default),
        Some(text) => parse_duration(text).map_err(|error| (path, format!("invalid duration {text:?}: {error}"))),
    }
}

/// The probes of a scenario file.
pub(crate) fn convert_probes(files: Vec<ProbeFile>) -> Result<Vec<Probe>, ConvertError> {
    files
        .into_iter()
        .enumerate()
        .map(|(index, file)| convert_probe(index, file))
        .collect()
}

fn convert_probe(index: usize, file: ProbeFile) -> Result<Probe, ConvertError> {
    let path = |key: &str| format!("probes[{index}].{key}");
    let filter = match &file.filter {
        None => Document::new(),
        Some(table) => bson::serialize_to_document(table).map_err(|error| (path("filter"), error.to_string()))?,
    };
    let collection = || {
        file.collection.clone().ok_or_else(|| {
            (
                path("collection"),
                format!("a {:?} probe needs `collection`", file.kind),
            )
        })
    };
    let check = match file.kind {
        ProbeKindName::Count => ProbeCheck::Count {
            collection: collection()?,
            filter,
            min: file.min.unwrap_or(0),
            max: file.max,
        },
        ProbeKindName::Latency => ProbeCheck::Latency {
            collection: collection()?,
            filter,
            p99: match file.p99.as_deref() {
                Some(text) => duration_or(path("p99"), Some(text), Duration::ZERO)?,
                None => return Err((path("p99"), "a latency probe needs `p99`".into())),
            },
            window: duration_or(path("window"), file.window.as_deref(), Duration::from_secs(2))?,
        },
        ProbeKindName::Canary => ProbeCheck::Canary,
    };
    Ok(Probe {
        name: file.name,
        check,
        phases: file
            .phases
            .unwrap_or_else(|| vec![ProbePhase::Before, ProbePhase::During, ProbePhase::After]),
        interval: duration_or(path("interval"), file.interval.as_deref(), Duration::from_secs(1))?,
        tolerance: file.tolerance.unwrap_or(0),
        settle: duration_or(path("settle"), file.settle.as_deref(), Duration::from_secs(30))?,
    })
}

/// The abort conditions of a scenario file read from `scenario_file`.
pub(crate) fn convert_abort(scenario_file: &Path, file: Option<AbortFile>) -> Result<AbortConditions, ConvertError> {
    let Some(file) = file else {
        return Ok(AbortConditions::default());
    };
    Ok(AbortConditions {
        probe_failures: file.probe_failures,
        max_duration: file
            .max_duration
            .as_deref()
            .map(|text| duration_or("abort.max_duration".into(), Some(text), Duration::ZERO))
            .transpose()?,
        signal_file: file
            .signal_file
            .map(|name| scenario_file.parent().unwrap_or_else(|| Path::new(".")).join(name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"name = "guarded"
[dataset]
profile = "shepherd-cms"
documents = 100
[topology]
provider = "local"
engine = "ferretdb"
[[steps]]
kind = "seed"
"#;

    fn problems(tail: &str) -> Vec<String> {
        match crate::scenario::validate_str(&format!("{HEAD}{tail}"), Path::new("guarded.toml")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.diagnostics.iter().map(|problem| problem.to_string()).collect(),
        }
    }

    #[test]
    fn probes_and_abort_conditions_become_the_model_with_their_defaults() {
        let tail = r#"
[[probes]]
name = "admins"
kind = "count"
collection = "users"
filter = { role = "admin", active = true }
min = 1
[[probes]]
name = "reads"
kind = "latency"
collection = "users"
p99 = "50ms"
phases = ["before", "after"]
[[probes]]
name = "writes"
kind = "canary"
tolerance = 3
[abort]
probe_failures = 3
max_duration = "30m"
signal_file = "stop"
"#;
        let scenario =
            crate::scenario::validate_str(&format!("{HEAD}{tail}"), Path::new("/drills/guarded.toml")).unwrap();
        let [admins, reads, writes] = scenario.probes.as_slice() else {
            panic!("{:?}", scenario.probes);
        };
        assert_eq!(
            admins.check,
            ProbeCheck::Count {
                collection: "users".into(),
                filter: bson::doc! { "role": "admin", "active": true },
                min: 1,
                max: None,
            }
        );
        assert_eq!(admins.phases.len(), 3);
        assert_eq!(admins.interval, Duration::from_secs(1));
        assert!(matches!(reads.check, ProbeCheck::Latency { window, .. } if window == Duration::from_secs(2)));
        assert!(!reads.runs_in(ProbePhase::During));
        assert_eq!((writes.check.clone(), writes.tolerance), (ProbeCheck::Canary, 3));
        assert_eq!(
            scenario.abort,
            AbortConditions {
                probe_failures: Some(3),
                max_duration: Some(Duration::from_secs(1_800)),
                signal_file: Some(PathBuf::from("/drills/stop")),
            }
        );
        assert!(problems("").is_empty());
    }

    #[test]
    fn a_probe_missing_or_misplacing_its_keys_is_located() {
        let found = problems(
            r#"
[[probes]]
name = "reads"
kind = "latency"
collection = "users"
[[probes]]
name = "reads"
kind = "canary"
min = 1
phases = ["after"]
[[probes]]
name = "range"
kind = "count"
collection = "users"
min = 5
max = 1
phases = ["befor"]
"#,
        );
        assert_eq!(
            found,
            [
                "guarded.toml:11:1: probes[0]: a latency probe needs `p99`",
                "guarded.toml:16:8: probes[1].name: a second probe named \"reads\": its checks would share names",
                "guarded.toml:18:1: probes[1].min: `min` is not a key of a canary probe",
                "guarded.toml:25:7: probes[2].max: `max = 1` is below `min = 5`: no count can hold",
                "guarded.toml:26:11: probes[2].phases[0]: unknown phases \"befor\"; did you mean \"before\"? (hint: one of before, during, after)",
            ]
        );
        let external_text = HEAD
            .replace(
                "provider = \"local\"",
                "provider = \"external\"\nuri = \"mongodb://127.0.0.1:1/\"",
            )
            .replace("kind = \"seed\"", "kind = \"verify\"")
            + "[[probes]]\nname = \"w\"\nkind = \"canary\"\n";
        let external = crate::scenario::validate_str(&external_text, Path::new("guarded.toml"))
            .unwrap_err()
            .to_string();
        assert!(external.contains("a canary probe writes to the source"), "{external}");
        let never = problems(
            "[[probes]]\nname = \"w\"\nkind = \"canary\"\nphases = [\"before\"]\n[abort]\nprobe_failures = 2\n",
        );
        assert_eq!(never.len(), 1, "{never:?}");
        assert!(never[0].contains("`probe_failures` can never fire"), "{never:?}");
    }
}
