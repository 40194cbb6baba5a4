//! The release gate: a scenario passes when its latest run passed, it is
//! not overdue, and none of its figures regressed against the rolling
//! median of its previous passing runs by more than the tolerance.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cadence::statuses;
use super::record::{DrillRecord, Figure};

/// What the gate compares and how much it forgives.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// How many earlier passing runs make the median.
    pub runs: usize,
    /// How much worse than the median a figure may be, as a fraction (0.2: 20%).
    pub tolerance: f64,
    /// And by how many milliseconds at least, so that a 40 ms RTO jitter on
    /// a 100 ms drill is not a regression.
    pub slack_ms: u64,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            runs: 5,
            tolerance: 0.2,
            slack_ms: 1_000,
        }
    }
}

/// Why a scenario does not pass the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GateProblem {
    /// The history holds no run of it.
    NeverRun,
    /// Its latest run did not pass.
    LastRunFailed {
        /// That run.
        run_id: String,
        /// Its verdict.
        verdict: String,
    },
    /// Its cadence has elapsed since its last pass.
    Overdue {
        /// When it was due.
        due: DateTime<Utc>,
    },
    /// A figure is worse than the median of the earlier passing runs by more
    /// than the tolerance.
    Regressed {
        /// Which figure.
        figure: Figure,
        /// The median, milliseconds.
        median_ms: u64,
        /// The latest run's value, milliseconds.
        latest_ms: u64,
        /// The latest run.
        run_id: String,
        /// The runs the median is over, oldest first.
        over: Vec<String>,
    },
}

/// The gate's finding for one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    /// The scenario.
    pub scenario: String,
    /// Its latest run, when there is one.
    pub latest: Option<String>,
    /// What stops it (empty: it passes).
    pub problems: Vec<GateProblem>,
}

impl GateResult {
    /// Whether it passes.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One sentence per problem, naming the figure, from what to what, the
/// median's runs and the tolerance.
pub fn describe(problem: &GateProblem, settings: &GateSettings) -> String {
    match problem {
        GateProblem::NeverRun => "no run in the history".to_owned(),
        GateProblem::LastRunFailed { run_id, verdict } => format!("the latest run {run_id} {verdict}"),
        GateProblem::Overdue { due } => format!("overdue since {}", due.format("%Y-%m-%d %H:%M:%S UTC")),
        GateProblem::Regressed {
            figure,
            median_ms,
            latest_ms,
            run_id,
            over,
        } => format!(
            "{} regressed from {median_ms} ms (median of {} passing runs: {}) to {latest_ms} ms in {run_id}, \
             beyond the tolerance of {}% and {} ms",
            figure.name(),
            over.len(),
            over.join(", "),
            (settings.tolerance * 100.0).round(),
            settings.slack_ms
        ),
    }
}

/// The gate over `scenarios` (every scenario in the history when empty),
/// from `drills` oldest first, as of `now`.
pub fn evaluate(
    drills: &[DrillRecord],
    scenarios: &[String],
    settings: &GateSettings,
    now: DateTime<Utc>,
) -> Vec<GateResult> {
    let standing = statuses(drills, now);
    let names: Vec<String> = if scenarios.is_empty() {
        standing.iter().map(|status| status.scenario.clone()).collect()
    } else {
        scenarios.to_vec()
    };
    names
        .into_iter()
        .map(|name| {
            let Some(status) = standing.iter().find(|status| status.scenario == name) else {
                return GateResult {
                    scenario: name,
                    latest: None,
                    problems: vec![GateProblem::NeverRun],
                };
            };
            let mut problems = Vec::new();
            let latest = &status.last_run;
            if !latest.passed() {
                problems.push(GateProblem::LastRunFailed {
                    run_id: latest.run_id.clone(),
                    verdict: latest.verdict.name().to_owned(),
                });
            }
            if let (true, Some(due)) = (status.overdue, status.due) {
                problems.push(GateProblem::Overdue { due });
            }
            let runs: Vec<&DrillRecord> = drills.iter().filter(|drill| drill.scenario == name).collect();
            if latest.passed() {
                problems.extend(regressions(&runs, settings));
            }
            GateResult {
                scenario: name,
                latest: Some(latest.run_id.clone()),
                problems,
            }
        })
        .collect()
}

/// The latest run's figures against the median of the `settings.runs`
/// passing runs before it; nothing when there is no earlier passing run.
fn regressions(runs: &[&DrillRecord], settings: &GateSettings) -> Vec<GateProblem> {
    let Some((latest, earlier)) = runs.split_last() else {
        return Vec::new();
    };
    let mut baseline: Vec<&DrillRecord> = earlier
        .iter()
        .rev()
        .filter(|drill| drill.passed())
        .take(settings.runs)
        .copied()
        .collect();
    baseline.reverse();
    Figure::ALL
        .into_iter()
        .filter_map(|figure| {
            let latest_ms = latest.figure(figure)?;
            let values: Vec<u64> = baseline.iter().filter_map(|drill| drill.figure(figure)).collect();
            let median_ms = median(&values)?;
            let allowed = (median_ms as f64 * (1.0 + settings.tolerance)).max((median_ms + settings.slack_ms) as f64);
            ((latest_ms as f64) > allowed).then(|| GateProblem::Regressed {
                figure,
                median_ms,
                latest_ms,
                run_id: latest.run_id.clone(),
                over: baseline.iter().map(|drill| drill.run_id.clone()).collect(),
            })
        })
        .collect()
}

/// The median (the mean of the middle two for an even count).
fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        length if length % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::RecordedVerdict;
    use crate::report::sample::{SampleKind, sample_report};

    fn run(index: i64, rto_ms: u64, verdict: RecordedVerdict) -> DrillRecord {
        let mut record = DrillRecord::from_report(&sample_report(SampleKind::Passed), std::path::Path::new("r"), None);
        record.run_id = format!("run-{index}");
        record.started += chrono::Duration::hours(index);
        record.finished += chrono::Duration::hours(index);
        record.rto_service_ms = Some(rto_ms);
        record.verdict = verdict;
        record
    }

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[1, 2, 3, 10]), Some(2));
    }

    #[test]
    fn a_slower_latest_run_is_a_regression_named_with_its_median() {
        use RecordedVerdict::*;
        let drills = vec![
            run(0, 2_000, Passed),
            run(1, 90_000, Failed),
            run(2, 2_200, Passed),
            run(3, 1_800, Passed),
            run(4, 9_000, Passed),
        ];
        let now = drills[4].finished;
        let settings = GateSettings::default();
        let results = evaluate(&drills, &[], &settings, now);
        let problems = &results[0].problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        let text = describe(&problems[0], &settings);
        assert!(text.starts_with("rto_service regressed from 2000 ms"), "{text}");
        assert!(
            text.contains("run-0, run-2, run-3"),
            "the failed run is not in the median: {text}"
        );
        assert!(text.contains("to 9000 ms in run-4"), "{text}");
        assert!(text.contains("20% and 1000 ms"), "{text}");
    }

    #[test]
    fn jitter_within_the_slack_is_no_regression_and_a_failed_run_is_named() {
        use RecordedVerdict::*;
        let drills = vec![run(0, 100, Passed), run(1, 160, Passed)];
        let settings = GateSettings::default();
        assert!(evaluate(&drills, &[], &settings, drills[1].finished)[0].passed());
        let drills = vec![run(0, 100, Passed), run(1, 160, Failed)];
        let names = [drills[0].scenario.clone(), "other".into()];
        let result = &evaluate(&drills, &names, &settings, drills[1].finished);
        assert!(matches!(&result[0].problems[..], [GateProblem::LastRunFailed { .. }]));
        assert!(matches!(result[1].problems[..], [GateProblem::NeverRun]));
    }
}
