//! The drill report: what `report.json` holds, and what every other
//! reporter (JUnit, summary, timeline, terminal table) renders. It is made
//! from the runner's [`DrillOutcome`] and the exit status the command line
//! decided ([`DrillReport::from_outcome`]); reporters only read it.
//!
//! Changing a field's meaning or removing one changes [`SCHEMA_VERSION`];
//! the JSON Schema in `reports/report.schema.json` is generated from these
//! types (`drdrill schema`) and checked in a test.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the report format.
pub const SCHEMA_VERSION: u32 = 1;

pub use crate::outcome::{
    CheckKind, CheckRecord, ExpectedFailure, Instant, Measurements, Objectives, Phase, PrimaryChange, Status,
    StepRecord, Topology, VerdictKind,
};
use crate::outcome::{DrillOutcome, Judgement};

/// The verdict with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Passed, failed, inconclusive or skipped.
    pub kind: VerdictKind,
    /// Why, one sentence per reason (empty when passed).
    pub reasons: Vec<String>,
    /// The process exit status this verdict alone maps to (0, 1 or 2).
    pub exit_code: i32,
    /// Set when the scenario expected a failure (`expect = "fail"`): the
    /// check it named, and whether it failed as expected.
    pub expected_failure: Option<ExpectedFailure>,
}

/// One drill's report: `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrillReport {
    /// Version of this format.
    pub schema_version: u32,
    /// `<UTC yyyymmddThhmmssZ>-<scenario>-<4 hex>`.
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub scenario_file: String,
    /// Its description.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The harness's version.
    pub harness_version: String,
    /// Drill start.
    #[serde(
        serialize_with = "crate::outcome::time::serialize",
        deserialize_with = "crate::outcome::time::deserialize"
    )]
    pub started: DateTime<Utc>,
    /// Drill end.
    #[serde(
        serialize_with = "crate::outcome::time::serialize",
        deserialize_with = "crate::outcome::time::deserialize"
    )]
    pub finished: DateTime<Utc>,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// Stopped by Ctrl-C/SIGTERM before the end.
    pub interrupted: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// The deployment.
    pub topology: Topology,
    /// The objectives.
    pub objectives: Objectives,
    /// RTO and RPO achieved.
    pub measurements: Measurements,
    /// Steps in order, including those not run.
    pub steps: Vec<StepRecord>,
    /// Objective, collection and integrity checks.
    pub checks: Vec<CheckRecord>,
    /// Phases for the timeline.
    pub phases: Vec<Phase>,
    /// Things a person should know that are not failures (engine limits,
    /// runbook quirks, indexes not supported by the engine).
    pub findings: Vec<String>,
}

impl DrillReport {
    /// The report of `outcome`, whose verdict alone maps to `exit_code`
    /// (decided by the command line, the one place that maps verdicts to
    /// exit statuses).
    pub fn from_outcome(outcome: DrillOutcome, exit_code: i32) -> Self {
        let Judgement {
            kind,
            reasons,
            expected_failure,
        } = outcome.verdict;
        Self {
            schema_version: SCHEMA_VERSION,
            run_id: outcome.run_id,
            scenario: outcome.scenario,
            scenario_file: outcome.scenario_file,
            description: outcome.description,
            tags: outcome.tags,
            harness_version: outcome.harness_version,
            started: outcome.started,
            finished: outcome.finished,
            duration_ms: outcome.duration_ms,
            interrupted: outcome.interrupted,
            verdict: Verdict {
                kind,
                reasons,
                exit_code,
                expected_failure,
            },
            topology: outcome.topology,
            objectives: outcome.objectives,
            measurements: outcome.measurements,
            steps: outcome.steps,
            checks: outcome.checks,
            phases: outcome.phases,
            findings: outcome.findings,
        }
    }
}

/// Several drills of one `drdrill run`: the combined `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    /// Version of this format.
    pub schema_version: u32,
    /// The drills, in the order they ran.
    pub drills: Vec<DrillReport>,
    /// Exit status of the whole run.
    pub exit_code: i32,
}
