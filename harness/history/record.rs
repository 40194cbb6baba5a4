//! What the history keeps of one drill, and the one function that reads it
//! from a drill report ([`DrillRecord::from_report`]). Report shapes change
//! (step details, RPO fields); only that function follows them.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::model::{CheckKind, DrillReport, Status, VerdictKind};

/// The verdict as the history keeps it: an interrupted drill is recorded
/// as interrupted, whatever its judgement said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordedVerdict {
    /// Every check and objective held.
    Passed,
    /// A check or objective failed.
    Failed,
    /// No verdict could be reached.
    Inconclusive,
    /// The engine cannot run the scenario.
    Skipped,
    /// Stopped by the operator before the end.
    Interrupted,
}

impl RecordedVerdict {
    /// The lowercase name (`passed`, `failed` ...), as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Inconclusive => "inconclusive",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
        }
    }

    /// Every verdict, for metrics that list each one.
    pub const ALL: [RecordedVerdict; 5] = [
        Self::Passed,
        Self::Failed,
        Self::Inconclusive,
        Self::Skipped,
        Self::Interrupted,
    ];
}

/// How long one step took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDuration {
    /// `seed`, `backup`, `restore` ...
    pub kind: String,
    /// The step's readable name.
    pub name: String,
    /// `passed`, `failed`, `error`, `skipped`.
    pub status: Status,
    /// Milliseconds; absent when the step never ran.
    pub duration_ms: Option<u64>,
}

/// One finished drill, as the history stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// The run id (unique).
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as given to `drdrill run`.
    pub scenario_file: String,
    /// The git commit that last changed the scenario file, when it is in a
    /// git work tree.
    pub scenario_commit: Option<String>,
    /// The scenario's tags.
    pub tags: Vec<String>,
    /// How often the scenario must pass, milliseconds (its `cadence`, else
    /// from its tags); `None`: no cadence.
    pub cadence_ms: Option<u64>,
    /// Drill start (UTC).
    pub started: DateTime<Utc>,
    /// Drill end (UTC).
    pub finished: DateTime<Utc>,
    /// The verdict.
    pub verdict: RecordedVerdict,
    /// Why it did not pass, one sentence each.
    pub reasons: Vec<String>,
    /// Wall time of the whole drill, milliseconds.
    pub duration_ms: u64,
    /// RTO to service, milliseconds.
    pub rto_service_ms: Option<u64>,
    /// RTO to verified data, milliseconds.
    pub rto_verified_ms: Option<u64>,
    /// RPO, milliseconds.
    pub rpo_ms: Option<u64>,
    /// The RTO objective, milliseconds.
    pub objective_rto_ms: Option<u64>,
    /// The RPO objective, milliseconds.
    pub objective_rpo_ms: Option<u64>,
    /// Which RTO the objective applies to (`service`, `verified`).
    pub rto_applies_to: String,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// Every step with its duration.
    pub steps: Vec<StepDuration>,
    /// Size of the (first) backup, bytes.
    pub backup_bytes: Option<u64>,
    /// Duration of the (first) backup step, milliseconds.
    pub backup_ms: Option<u64>,
    /// Whether every collection check passed; `None` when none ran.
    pub verification_passed: Option<bool>,
    /// `ferretdb`, `mongodb`.
    pub engine: String,
    /// `sqlite`, `postgresql` (FerretDB only).
    pub backend: Option<String>,
    /// What the server reported as its version.
    pub server_version: Option<String>,
    /// The harness's version.
    pub harness_version: String,
    /// The drill's report folder.
    pub report_dir: String,
}

impl DrillRecord {
    /// The record of `report`, whose files are in `report_dir`. This is the
    /// one place that knows the report's shapes (step details included).
    pub fn from_report(report: &DrillReport, report_dir: &Path, cadence_ms: Option<u64>) -> Self {
        let drill = &report.drill;
        let verdict = if drill.interrupted {
            RecordedVerdict::Interrupted
        } else {
            match drill.verdict.kind {
                VerdictKind::Passed => RecordedVerdict::Passed,
                VerdictKind::Failed => RecordedVerdict::Failed,
                VerdictKind::Inconclusive => RecordedVerdict::Inconclusive,
                VerdictKind::Skipped => RecordedVerdict::Skipped,
            }
        };
        let backup = drill.steps.iter().find(|step| step.kind == "backup");
        let collection_checks: Vec<_> = drill
            .checks
            .iter()
            .filter(|check| check.kind == CheckKind::Collection)
            .collect();
        Self {
            run_id: drill.run_id.clone(),
            scenario: drill.scenario.clone(),
            scenario_file: drill.scenario_file.clone(),
            scenario_commit: scenario_commit(Path::new(&drill.scenario_file)),
            tags: drill.tags.clone(),
            cadence_ms,
            started: drill.started,
            finished: drill.finished,
            verdict,
            reasons: drill.verdict.reasons.clone(),
            duration_ms: drill.duration_ms,
            rto_service_ms: drill.measurements.rto_service_ms,
            rto_verified_ms: drill.measurements.rto_verified_ms,
            rpo_ms: drill.measurements.rpo_ms,
            objective_rto_ms: drill.objectives.rto_ms,
            objective_rpo_ms: drill.objectives.rpo_ms,
            rto_applies_to: drill.objectives.rto_applies_to.clone(),
            lost_writes: drill.measurements.lost_acknowledged_writes,
            steps: drill
                .steps
                .iter()
                .map(|step| StepDuration {
                    kind: step.kind.clone(),
                    name: step.name.clone(),
                    status: step.status,
                    duration_ms: step.duration_ms,
                })
                .collect(),
            backup_bytes: backup.and_then(backup_bytes),
            backup_ms: backup.and_then(|step| step.duration_ms),
            verification_passed: (!collection_checks.is_empty())
                .then(|| collection_checks.iter().all(|check| check.status == Status::Passed)),
            engine: drill.topology.engine.clone(),
            backend: drill.topology.backend.clone(),
            server_version: drill.topology.server_version.clone(),
            harness_version: drill.harness_version.clone(),
            report_dir: report_dir.display().to_string(),
        }
    }

    /// Backup throughput, bytes per second, when size and duration are known.
    pub fn backup_bytes_per_second(&self) -> Option<f64> {
        let bytes = self.backup_bytes? as f64;
        let seconds = self.backup_ms? as f64 / 1000.0;
        (seconds > 0.0).then(|| bytes / seconds)
    }

    /// The figure `figure` of this drill, milliseconds.
    pub fn figure(&self, figure: Figure) -> Option<u64> {
        match figure {
            Figure::RtoService => self.rto_service_ms,
            Figure::RtoVerified => self.rto_verified_ms,
            Figure::Rpo => self.rpo_ms,
            Figure::Duration => Some(self.duration_ms),
            Figure::BackupDuration => self.backup_ms,
        }
    }

    /// Whether the drill passed.
    pub fn passed(&self) -> bool {
        self.verdict == RecordedVerdict::Passed
    }
}

/// The size of a backup step's dump, when an engine on the host took it
/// (mongodump inside a container reports no size).
fn backup_bytes(step: &crate::report::model::StepRecord) -> Option<u64> {
    use crate::report::model::{BackupDetails, StepDetails};
    match step.details.as_ref()? {
        StepDetails::Backup(BackupDetails::OnHost(details)) => details.backup.as_ref()?.get("bytes")?.as_u64(),
        _ => None,
    }
}

/// A figure the trend and the gate follow, all in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// RTO to service.
    RtoService,
    /// RTO to verified data.
    RtoVerified,
    /// RPO.
    Rpo,
    /// The whole drill.
    Duration,
    /// The backup step.
    BackupDuration,
}

impl Figure {
    /// Every figure, in the order they are shown.
    pub const ALL: [Figure; 5] = [
        Self::RtoService,
        Self::RtoVerified,
        Self::Rpo,
        Self::Duration,
        Self::BackupDuration,
    ];

    /// Its name in messages and JSON (`rto_service` ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::RtoService => "rto_service",
            Self::RtoVerified => "rto_verified",
            Self::Rpo => "rpo",
            Self::Duration => "duration",
            Self::BackupDuration => "backup_duration",
        }
    }
}

/// The commit that last changed `file`, when git knows it; `None` outside a
/// work tree, without git, or for a file git does not track.
pub fn scenario_commit(file: &Path) -> Option<String> {
    let folder = file.parent().filter(|folder| !folder.as_os_str().is_empty())?;
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["log", "-1", "--format=%H", "--"])
        .arg(file.file_name()?)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && commit.len() == 40).then_some(commit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{SampleKind, sample_report};

    #[test]
    fn a_report_maps_to_its_record() {
        let report = sample_report(SampleKind::Passed);
        let record = DrillRecord::from_report(&report, Path::new("reports/x"), Some(1000));
        assert_eq!(record.run_id, report.run_id);
        assert_eq!(record.verdict, RecordedVerdict::Passed);
        assert_eq!(record.rto_service_ms, report.measurements.rto_service_ms);
        assert_eq!(record.steps.len(), report.steps.len());
        assert_eq!(record.report_dir, "reports/x");
    }

    #[test]
    fn an_interrupted_drill_is_recorded_as_interrupted() {
        let mut report = sample_report(SampleKind::Passed);
        report.drill.interrupted = true;
        let record = DrillRecord::from_report(&report, Path::new("r"), None);
        assert_eq!(record.verdict, RecordedVerdict::Interrupted);
    }
}
