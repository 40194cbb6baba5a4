//! The drill report: what `report.json` holds, and what every other
//! reporter (JUnit, summary, timeline, terminal table) renders. It is made
//! from the runner's [`DrillOutcome`] and the exit status the command line
//! decided ([`DrillReport::from_outcome`]); reporters only read it.
//!
//! Changing a field's meaning or removing one changes [`SCHEMA_VERSION`];
//! the JSON Schema in `reports/report.schema.json` is generated from these
//! types (`drdrill schema`) and checked in a test.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the report format.
///
/// 2: a step's `details` became typed, tagged by the step's `kind`
/// (`{"kind": "backup", ...}`), and `null` where a step had none.
/// Also in 2: `measurements.rpo_collections` and `rpo_worst_collection`,
/// the RPO of each collection the disaster touched.
pub const SCHEMA_VERSION: u32 = 3;

use crate::outcome::DrillOutcome;
pub use crate::outcome::details::{
    BackupDetails, ContainerBackupDetails, DisasterDetails, ExecDetails, HostBackupDetails, RestoreDetails,
    SeedDetails, StepDetails, VerifyDetails, WaitDetails,
};
pub use crate::outcome::{
    CheckKind, CheckRecord, ExpectedFailure, Instant, Measurements, Objectives, Phase, PrimaryChange, Status,
    StepRecord, Topology, VerdictKind,
};

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

/// One drill's report: `report.json`, its format's version beside the
/// drill's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrillReport {
    /// Version of this format.
    pub schema_version: u32,
    /// The drill, with its verdict and the exit status it maps to.
    #[serde(flatten)]
    pub drill: DrillOutcome<Verdict>,
}

impl DrillReport {
    /// The report of `outcome`, whose verdict alone maps to `exit_code`
    /// (decided by the command line, the one place that maps verdicts to
    /// exit statuses).
    pub fn from_outcome(outcome: DrillOutcome, exit_code: i32) -> Self {
        let drill = outcome.map_verdict(|judgement| Verdict {
            kind: judgement.kind,
            reasons: judgement.reasons,
            exit_code,
            expected_failure: judgement.expected_failure,
        });
        Self {
            schema_version: SCHEMA_VERSION,
            drill,
        }
    }
}

/// Reporters read the drill's fields straight from the report.
impl std::ops::Deref for DrillReport {
    type Target = DrillOutcome<Verdict>;

    fn deref(&self) -> &Self::Target {
        &self.drill
    }
}

impl std::ops::DerefMut for DrillReport {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.drill
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
