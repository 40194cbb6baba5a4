//! The verdict of a drill from its named checks, negative drills that
//! expect one check to fail, and the process exit code over many drills.

use serde::Serialize;

use super::rpo::RpoResult;
use super::rto::ObjectiveCheck;

/// The names a check can have, and so the names a scenario's
/// `expect = { fail = "..." }` may use: the objectives, the tick integrity
/// checks, verification, and one per step kind (the step failed).
pub const KNOWN_CHECKS: &[&str] = &[
    "rto",
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
        let failures = || {
            checks
                .iter()
                .filter(|check| !check.passed)
                .map(|check| format!("{}: {}", check.name, check.message))
                .collect::<Vec<_>>()
        };
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

/// The process exit code over the verdicts of every drill of one run.
///
/// Precedence is 2 over 1 over 0: `2` when any drill could not run or is
/// inconclusive (skipped, interrupted) or when there was no drill at all,
/// because then the run proves nothing about the drills that did not run;
/// else `1` when any drill failed; else `0`.
pub fn exit_code(verdicts: &[Verdict]) -> i32 {
    if verdicts.is_empty() {
        return 2;
    }
    if verdicts
        .iter()
        .any(|verdict| matches!(verdict, Verdict::Inconclusive { .. } | Verdict::Skipped { .. }))
    {
        2
    } else if verdicts.iter().any(|verdict| matches!(verdict, Verdict::Failed { .. })) {
        1
    } else {
        0
    }
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

    #[test]
    fn exit_code_precedence_is_two_over_one_over_zero() {
        let failed = Verdict::Failed { reasons: vec![] };
        let skipped = Verdict::Skipped {
            reason: "no replica sets".into(),
        };
        let inconclusive = Verdict::Inconclusive {
            reason: "interrupted".into(),
        };
        assert_eq!(exit_code(&[Verdict::Passed, Verdict::Passed]), 0);
        assert_eq!(exit_code(&[Verdict::Passed, failed.clone()]), 1);
        assert_eq!(exit_code(&[failed.clone(), skipped]), 2);
        assert_eq!(exit_code(&[Verdict::Passed, inconclusive, failed]), 2);
        assert_eq!(exit_code(&[]), 2);
    }
}
