//! The judge: the verdict of a drill from its steps and named checks,
//! negative drills that expect one check to fail, and drills that ended
//! before they could be judged. [`judge_drill`] is the only place a drill's
//! verdict is decided; the runner calls it. Exit statuses are not decided
//! here: the command line maps verdicts to them, in one function.

use serde::Serialize;

use super::rpo::RpoResult;
use super::rto::ObjectiveCheck;
use crate::outcome::{self, CheckRecord, Judgement, Status, StepRecord, VerdictKind};

/// The names a check can have, and so the names a scenario's
/// `expect = { fail = "..." }` may use: the objectives, the tick integrity
/// checks, verification, and one per step kind (the step failed).
pub const KNOWN_CHECKS: &[&str] = &[
    "rto",
    "rto_forecast",
    "rpo",
    "holes",
    "unexpected-ticks",
    "verify",
    "seed",
    "backup",
    "disaster",
    "restore",
    "wait",
    "exec",
    // Steady-state probes (every phase), abort conditions, PII in copies.
    "probe",
    "abort",
    "mask",
    "pii",
    "copy",
    // Storage snapshots (managed): a failed step, and the exact boundary
    // check of a point-in-time restore.
    "snapshot",
    "restore-snapshot",
    "point-in-time",
];

/// The outcome of one named check of a drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// One of [`KNOWN_CHECKS`].
    pub name: String,
    /// Whether the check held.
    pub passed: bool,
    /// What was found, naming values and units.
    pub message: String,
}

impl From<&ObjectiveCheck> for CheckResult {
    fn from(check: &ObjectiveCheck) -> Self {
        Self {
            name: check.name.to_owned(),
            passed: check.passed,
            message: check.message.clone(),
        }
    }
}

/// The tick integrity checks of an RPO result: `holes` and
/// `unexpected-ticks`, which fail a drill whatever its RPO objective.
pub fn tick_checks(rpo: &RpoResult) -> Vec<CheckResult> {
    vec![
        CheckResult {
            name: "holes".into(),
            passed: rpo.holes.is_empty(),
            message: if rpo.holes.is_empty() {
                "no holes in the recovered ticks".into()
            } else {
                format!(
                    "{} hole(s) in the recovered ticks (non-prefix loss), first at seq {}",
                    rpo.hole_count, rpo.holes[0]
                )
            },
        },
        CheckResult {
            name: "unexpected-ticks".into(),
            passed: rpo.unexpected.is_empty(),
            message: if rpo.unexpected.is_empty() {
                "no unexpected ticks".into()
            } else {
                format!(
                    "{} tick(s) found that the writer never attempted, first seq {}: the data came from elsewhere",
                    rpo.unexpected.len(),
                    rpo.unexpected[0]
                )
            },
        },
    ]
}

/// A negative drill: the scenario expects the named check to fail (a
/// tampered backup must be refused, a too-old backup must miss the RPO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedFailure {
    /// The check expected to fail, one of [`KNOWN_CHECKS`].
    pub check: String,
}

/// The verdict of one drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Every check held (or, for a negative drill, the expected check failed).
    Passed,
    /// The drill ran to the end and a check failed.
    Failed {
        /// One message per failed check.
        reasons: Vec<String>,
    },
    /// The drill ran but its result cannot be trusted either way
    /// (interrupted, the server never came up, the measurement is missing).
    Inconclusive {
        /// Why.
        reason: String,
    },
    /// The drill could not run at all (bad scenario file, engine lacks a
    /// feature the scenario needs, no provider).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// Decides a drill that ran to the end from its checks.
    ///
    /// Without an expectation the drill passes when every check passed.
    /// With `expected`, the drill passes if and only if the named check ran
    /// and failed: other checks may fail as consequences of the expected
    /// failure (a refused tampered backup leaves no `rto_verified`), so they
    /// do not decide; they stay visible in the report through the checks.
    pub fn judge(checks: &[CheckResult], expected: Option<&ExpectedFailure>) -> Verdict {
        let failures = || failures(checks);
        match expected {
            None => {
                let reasons = failures();
                if reasons.is_empty() {
                    Verdict::Passed
                } else {
                    Verdict::Failed { reasons }
                }
            }
            Some(expected) => {
                let named: Vec<&CheckResult> = checks.iter().filter(|check| check.name == expected.check).collect();
                if named.is_empty() {
                    Verdict::Failed {
                        reasons: vec![format!(
                            "expected check `{}` to fail, but it was not evaluated",
                            expected.check
                        )],
                    }
                } else if named.iter().any(|check| !check.passed) {
                    Verdict::Passed
                } else {
                    let mut reasons = vec![format!("expected check `{}` to fail, but it passed", expected.check)];
                    reasons.extend(failures());
                    Verdict::Failed { reasons }
                }
            }
        }
    }

    /// Whether this verdict is [`Verdict::Passed`].
    pub fn is_passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }
}

/// How a drill ended, as far as the judge needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every step that was reached ran (a failed step stops the drill, but
    /// its failure is one of the checks judged).
    Ran,
    /// The engine cannot run the scenario at all: skipped, never passed.
    Unsupported(String),
    /// The drill never got to its steps (a refused destructive drill, a
    /// deployment that did not start).
    NotStarted(String),
    /// A step could not be carried out, or the operator interrupted the
    /// drill: its result cannot be trusted either way.
    Abandoned(String),
}

/// What the judge reads: how the drill ended, its steps and checks, and
/// the check the scenario expects to fail.
#[derive(Debug, Clone, Copy)]
pub struct DrillFacts<'a> {
    /// How it ended.
    pub ending: &'a Ending,
    /// Interrupted by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// The steps, including those not run.
    pub steps: &'a [StepRecord],
    /// The objective, collection and integrity checks.
    pub checks: &'a [CheckRecord],
    /// A negative drill's expectation.
    pub expected: Option<&'a ExpectedFailure>,
}

/// The verdict of one drill, as `shared/spec/drill-semantics.md` defines
/// it: a drill that could not run is skipped or inconclusive; one that was
/// abandoned or interrupted is inconclusive, and so is one with a check
/// that could not be decided (status `error`: an `rpo` measured where the
/// disaster did not strike is never a pass); otherwise [`Verdict::judge`]
/// decides from the steps (each counts as the check named after its kind)
/// and the checks (each counts as the known check it belongs to).
pub fn judge_drill(facts: DrillFacts<'_>) -> Judgement {
    let undecided = facts
        .checks
        .iter()
        .find(|check| check.status == Status::Error)
        .map(|check| format!("{}: {}", check.name, check.message));
    let results = check_results(facts.steps, facts.checks);
    let ended_early = |kind: VerdictKind, reason: &str| Judgement {
        kind,
        reasons: vec![reason.to_string()],
        expected_failure: None,
    };
    let abandoned = match facts.ending {
        Ending::Unsupported(reason) => return ended_early(VerdictKind::Skipped, reason),
        Ending::NotStarted(reason) => return ended_early(VerdictKind::Inconclusive, reason),
        Ending::Abandoned(reason) => Some(reason.as_str()),
        Ending::Ran if facts.interrupted => Some("interrupted"),
        Ending::Ran => undecided.as_deref(),
    };
    let observed = |expected: &ExpectedFailure| outcome::ExpectedFailure {
        check: expected.check.clone(),
        observed: results
            .iter()
            .any(|result| result.name == expected.check && !result.passed),
    };
    let expected_failure = facts.expected.map(observed);
    let verdict = Verdict::judge(&results, facts.expected);
    let kind = match (abandoned, &verdict) {
        (Some(_), _) => VerdictKind::Inconclusive,
        (None, Verdict::Passed) => VerdictKind::Passed,
        (None, _) => VerdictKind::Failed,
    };
    let mut reasons = match (abandoned, verdict, facts.expected) {
        (Some(reason), _, _) => std::iter::once(reason.to_string()).chain(failures(&results)).collect(),
        (None, Verdict::Failed { reasons }, _) => reasons,
        (None, _, Some(expected)) => std::iter::once(format!(
            "expected failure of `{}` observed: the harness caught the bad recovery",
            expected.check
        ))
        .chain(failures(&results))
        .collect(),
        (None, _, None) => Vec::new(),
    };
    reasons.dedup();
    Judgement {
        kind,
        reasons,
        expected_failure,
    }
}

/// The steps that ran and the checks, as the named results the judge
/// weighs: a step counts as the check named after its kind, a check as
/// the known check it was recorded for.
fn check_results(steps: &[StepRecord], checks: &[CheckRecord]) -> Vec<CheckResult> {
    let steps = steps
        .iter()
        .filter(|step| matches!(step.status, Status::Passed | Status::Failed))
        .map(|step| CheckResult {
            name: step.kind.clone(),
            passed: step.status == Status::Passed,
            message: step.message.clone(),
        });
    let checks = checks.iter().map(|check| CheckResult {
        name: check.counts_as.to_string(),
        passed: check.status != Status::Failed,
        message: check.message.clone(),
    });
    steps.chain(checks).collect()
}

/// `name: message` for every check that did not hold, in order.
fn failures(checks: &[CheckResult]) -> Vec<String> {
    checks
        .iter()
        .filter(|check| !check.passed)
        .map(|check| format!("{}: {}", check.name, check.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, passed: bool) -> CheckResult {
        CheckResult {
            name: name.into(),
            passed,
            message: format!("{name} {}", if passed { "held" } else { "broke" }),
        }
    }

    fn expect(check: &str) -> ExpectedFailure {
        ExpectedFailure { check: check.into() }
    }

    #[test]
    fn all_checks_passing_passes_and_any_failure_fails_with_its_message() {
        assert_eq!(
            Verdict::judge(&[check("rto", true), check("rpo", true)], None),
            Verdict::Passed
        );
        assert_eq!(
            Verdict::judge(&[check("rto", true), check("rpo", false)], None),
            Verdict::Failed {
                reasons: vec!["rpo: rpo broke".into()]
            }
        );
    }

    #[test]
    fn a_negative_drill_passes_only_if_its_check_failed() {
        let checks = [check("verify", false), check("rto", false), check("rpo", true)];
        assert_eq!(Verdict::judge(&checks, Some(&expect("verify"))), Verdict::Passed);
        let Verdict::Failed { reasons } = Verdict::judge(&checks, Some(&expect("rpo"))) else {
            panic!("expected a failure");
        };
        assert_eq!(reasons[0], "expected check `rpo` to fail, but it passed");
        assert_eq!(reasons.len(), 3);
        let Verdict::Failed { reasons } = Verdict::judge(&checks, Some(&expect("restore"))) else {
            panic!("expected a failure");
        };
        assert!(reasons[0].contains("not evaluated"));
    }

    #[test]
    fn tick_checks_fail_on_holes_and_unexpected_ticks() {
        use crate::measure::{TickLog, TickOutcome, compute_rpo};
        use chrono::Utc;
        let start = Utc::now();
        let log: TickLog = (1..=3)
            .map(|seq| TickOutcome::Acknowledged {
                seq,
                issued: crate::measure::Stamp::from_offset(start, seq * 100),
                acked: crate::measure::Stamp::from_offset(start, seq * 100 + 5),
            })
            .collect();
        let rpo = compute_rpo(
            &log,
            crate::measure::Stamp::from_offset(start, 1_000),
            crate::measure::Stamp::from_offset(start, 0),
            &[1, 3, 7].into_iter().collect(),
            std::time::Duration::from_millis(100),
        );
        let checks = tick_checks(&rpo);
        assert!(checks.iter().all(|check| !check.passed));
        assert!(checks[0].message.contains("first at seq 3"), "{}", checks[0].message);
        assert!(checks[1].message.contains("first seq 7"), "{}", checks[1].message);
    }

    fn step(kind: &str, status: Status, message: &str) -> StepRecord {
        StepRecord {
            index: 0,
            kind: kind.into(),
            name: kind.into(),
            started: None,
            finished: None,
            duration_ms: None,
            timeout_ms: 1_000,
            status,
            message: message.into(),
            details: None,
        }
    }

    fn record(name: &str, counts_as: &str, passed: bool) -> CheckRecord {
        CheckRecord {
            name: name.into(),
            counts_as: counts_as.into(),
            kind: outcome::CheckKind::Objective,
            status: if passed { Status::Passed } else { Status::Failed },
            measured: None,
            objective: None,
            unit: None,
            message: format!("{name} {}", if passed { "held" } else { "broke" }),
        }
    }

    fn facts<'a>(
        ending: &'a Ending,
        steps: &'a [StepRecord],
        checks: &'a [CheckRecord],
        expected: Option<&'a ExpectedFailure>,
    ) -> DrillFacts<'a> {
        DrillFacts {
            ending,
            interrupted: false,
            steps,
            checks,
            expected,
        }
    }

    #[test]
    fn a_drill_that_never_ran_its_steps_is_skipped_or_inconclusive_with_its_reason() {
        let skipped = judge_drill(facts(&Ending::Unsupported("no replica sets".into()), &[], &[], None));
        assert_eq!(
            (skipped.kind, skipped.reasons),
            (VerdictKind::Skipped, vec!["no replica sets".into()])
        );
        let refused = judge_drill(facts(&Ending::NotStarted("no engine".into()), &[], &[], None));
        assert_eq!(
            (refused.kind, refused.reasons),
            (VerdictKind::Inconclusive, vec!["no engine".into()])
        );
    }

    #[test]
    fn an_abandoned_or_interrupted_drill_is_inconclusive_whatever_its_checks() {
        let checks = [record("rpo", "rpo", false)];
        let abandoned = Ending::Abandoned("step 1 (backup) could not run: disk full".into());
        let judged = judge_drill(facts(&abandoned, &[], &checks, None));
        assert_eq!(judged.kind, VerdictKind::Inconclusive);
        assert_eq!(judged.reasons[0], "step 1 (backup) could not run: disk full");
        assert_eq!(judged.reasons[1], "rpo: rpo broke");
        let interrupted = judge_drill(DrillFacts {
            interrupted: true,
            ..facts(&Ending::Ran, &[], &[], None)
        });
        assert_eq!(
            (interrupted.kind, interrupted.reasons),
            (VerdictKind::Inconclusive, vec!["interrupted".into()])
        );
    }

    #[test]
    fn a_failed_step_fails_the_drill_and_answers_to_its_kind() {
        let steps = [
            step("seed", Status::Passed, "seeded"),
            step("backup", Status::Failed, "refused"),
        ];
        let failed = judge_drill(facts(&Ending::Ran, &steps, &[], None));
        assert_eq!(
            (failed.kind, failed.reasons),
            (VerdictKind::Failed, vec!["backup: refused".into()])
        );
        let expected = expect("backup");
        let negative = judge_drill(facts(&Ending::Ran, &steps, &[], Some(&expected)));
        assert_eq!(negative.kind, VerdictKind::Passed);
        assert!(
            negative.reasons[0].contains("expected failure of `backup` observed"),
            "{:?}",
            negative.reasons
        );
        assert_eq!(
            negative.expected_failure,
            Some(outcome::ExpectedFailure {
                check: "backup".into(),
                observed: true
            })
        );
    }

    #[test]
    fn a_check_that_could_not_be_decided_makes_the_drill_inconclusive_never_passed() {
        let mut undecided = record("rpo", "rpo", true);
        undecided.status = Status::Error;
        undecided.message = "inconclusive: ticks refused in users".into();
        let checks = [record("rto_service", "rto", true), undecided];
        let judged = judge_drill(facts(&Ending::Ran, &[], &checks, None));
        assert_eq!(judged.kind, VerdictKind::Inconclusive);
        assert_eq!(
            judged.reasons,
            vec!["rpo: inconclusive: ticks refused in users".to_string()]
        );
        // Nor does a negative drill that expects `rpo` to fail pass on it.
        let expected = expect("rpo");
        let negative = judge_drill(facts(&Ending::Ran, &[], &checks, Some(&expected)));
        assert_eq!(negative.kind, VerdictKind::Inconclusive);
    }

    #[test]
    fn a_check_answers_to_the_known_check_it_counts_as() {
        let checks = [record("rto_service", "rto", false), record("rpo", "rpo", true)];
        let expected = expect("rto");
        let judged = judge_drill(facts(&Ending::Ran, &[], &checks, Some(&expected)));
        assert_eq!(judged.kind, VerdictKind::Passed);
        let passing = [record("rto_service", "rto", true)];
        let judged = judge_drill(facts(&Ending::Ran, &[], &passing, Some(&expected)));
        assert_eq!(judged.kind, VerdictKind::Failed);
        assert_eq!(judged.reasons[0], "expected check `rto` to fail, but it passed");
        assert_eq!(
            judge_drill(facts(&Ending::Ran, &[], &passing, None)).kind,
            VerdictKind::Passed
        );
    }
}
