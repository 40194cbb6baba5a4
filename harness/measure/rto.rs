//! RTO achieved (`rto_service`, `rto_verified`) from T_d, T_s and T_v, and
//! the evaluation of a scenario's objectives against the measured figures.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::{Stamp, duration_to_millis, human_duration_ms, serialize_millis, serialize_optional_millis};
use super::rpo::RpoResult;

/// The RTO figures of one drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RtoResult {
    /// T_s − T_d: until the recovered deployment acknowledged and returned a
    /// canary write; `None` if it never did.
    #[serde(rename = "rto_service_ms", serialize_with = "serialize_optional_millis")]
    pub rto_service: Option<Duration>,
    /// T_v − T_d: until verification of the recovered data finished and
    /// passed; `None` if verification failed or did not run.
    #[serde(rename = "rto_verified_ms", serialize_with = "serialize_optional_millis")]
    pub rto_verified: Option<Duration>,
    /// The interval of the canary probe.
    pub probe_interval_ms: u64,
    /// How far the figures may be off: one probe interval.
    #[serde(rename = "error_bound_ms", serialize_with = "serialize_millis")]
    pub error_bound: Duration,
}

/// Computes the RTO figures from the disaster instant `t_d`, the first
/// served canary `t_s` and the end of passed verification `t_v`.
pub fn compute_rto(t_d: Stamp, t_s: Option<Stamp>, t_v: Option<Stamp>, probe_interval: Duration) -> RtoResult {
    RtoResult {
        rto_service: t_s.map(|t_s| t_s.since(&t_d)),
        rto_verified: t_v.map(|t_v| t_v.since(&t_d)),
        probe_interval_ms: duration_to_millis(probe_interval),
        error_bound: probe_interval,
    }
}

/// Which RTO figure the scenario's objective is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtoAppliesTo {
    /// `rto_service`: the deployment serves again (the default).
    #[default]
    Service,
    /// `rto_verified`: the recovered data is verified.
    Verified,
}

/// The objectives a scenario sets; an absent objective is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Objectives {
    /// The longest acceptable recovery time.
    #[serde(rename = "rto_ms", serialize_with = "serialize_optional_millis")]
    pub rto: Option<Duration>,
    /// The largest acceptable data loss, as time.
    #[serde(rename = "rpo_ms", serialize_with = "serialize_optional_millis")]
    pub rpo: Option<Duration>,
    /// Which RTO figure `rto` is compared with.
    pub rto_applies_to: RtoAppliesTo,
    /// `rto` as the scenario wrote it (`1h`), shown wherever the objective is.
    #[serde(skip)]
    pub rto_written: Option<String>,
    /// `rpo` as the scenario wrote it (`15m`).
    #[serde(skip)]
    pub rpo_written: Option<String>,
}

/// An objective for people: as the scenario wrote it when known, else in
/// the reports' one duration format.
pub fn objective_text(written: Option<&str>, objective: Duration) -> String {
    match written.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => text.to_string(),
        None => human_duration_ms(duration_to_millis(objective)),
    }
}

/// The check of one objective against its measured value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectiveCheck {
    /// The check's name, as a scenario's `expect` names it: `rto` or `rpo`.
    pub name: &'static str,
    /// What was measured; `None` when the figure does not exist.
    #[serde(rename = "measured_ms", serialize_with = "serialize_optional_millis")]
    pub measured: Option<Duration>,
    /// The objective.
    #[serde(rename = "objective_ms", serialize_with = "serialize_millis")]
    pub objective: Duration,
    /// The unit of the serialized numbers.
    pub unit: &'static str,
    /// Whether the measured value is at or under the objective.
    pub passed: bool,
    /// One sentence naming the measured value, the objective and the unit.
    pub message: String,
}

/// Checks every objective the scenario sets; objectives it does not set
/// produce no check, nor does the RPO objective when `rpo` was not
/// measured (the caller says why).
pub fn evaluate(objectives: &Objectives, rto: &RtoResult, rpo: Option<&RpoResult>) -> Vec<ObjectiveCheck> {
    let mut checks = Vec::new();
    if let Some(objective) = objectives.rto {
        let (metric, measured, absent) = match objectives.rto_applies_to {
            RtoAppliesTo::Service => (
                "rto_service",
                rto.rto_service,
                "the deployment never served a canary write",
            ),
            RtoAppliesTo::Verified => ("rto_verified", rto.rto_verified, "verification did not pass"),
        };
        let qualifier = format!("error bound {}", human_duration_ms(duration_to_millis(rto.error_bound)));
        let objective = (objective, objective_text(objectives.rto_written.as_deref(), objective));
        checks.push(check("rto", metric, measured, objective, &qualifier, absent));
    }
    if let (Some(objective), Some(rpo)) = (objectives.rpo, rpo) {
        let qualifier = format!("resolution {}", human_duration_ms(rpo.tick_interval_ms));
        let objective = (objective, objective_text(objectives.rpo_written.as_deref(), objective));
        checks.push(check("rpo", "rpo", Some(rpo.rpo), objective, &qualifier, ""));
    }
    checks
}

fn check(
    name: &'static str,
    metric: &str,
    measured: Option<Duration>,
    (objective, objective_text): (Duration, String),
    qualifier: &str,
    absent: &str,
) -> ObjectiveCheck {
    let (passed, message) = match measured {
        Some(value) if value <= objective => (
            true,
            format!(
                "{metric} {} within objective {objective_text} ({qualifier})",
                human_duration_ms(duration_to_millis(value))
            ),
        ),
        Some(value) => (
            false,
            format!(
                "{metric} {} exceeds objective {objective_text} ({qualifier})",
                human_duration_ms(duration_to_millis(value))
            ),
        ),
        None => (
            false,
            format!("{metric} not measured ({absent}); objective {objective_text}"),
        ),
    };
    ObjectiveCheck {
        name,
        measured,
        objective,
        unit: "ms",
        passed,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::rpo::compute_rpo;
    use crate::measure::ticks::{TickLog, TickOutcome};
    use chrono::Utc;
    use std::collections::BTreeSet;

    fn stamp(offset_ms: u64) -> Stamp {
        Stamp::from_offset(Utc::now(), offset_ms)
    }

    fn rpo_of(rpo_ms: u64) -> RpoResult {
        let log: TickLog = [TickOutcome::Acknowledged {
            seq: 1,
            issued: stamp(0),
            acked: stamp(1_000),
        }]
        .into_iter()
        .collect();
        compute_rpo(
            &log,
            stamp(1_000 + rpo_ms),
            stamp(0),
            &BTreeSet::from([1]),
            Duration::from_millis(100),
        )
    }

    #[test]
    fn rto_figures_count_from_t_d() {
        let rto = compute_rto(
            stamp(10_000),
            Some(stamp(12_500)),
            Some(stamp(40_000)),
            Duration::from_millis(250),
        );
        assert_eq!(rto.rto_service, Some(Duration::from_millis(2_500)));
        assert_eq!(rto.rto_verified, Some(Duration::from_secs(30)));
        assert_eq!(rto.probe_interval_ms, 250);
        let json = serde_json::to_value(&rto).unwrap();
        assert_eq!(json["rto_service_ms"], 2_500);
        assert_eq!(json["error_bound_ms"], 250);
    }

    #[test]
    fn failed_rpo_message_names_value_objective_and_resolution() {
        let objectives = Objectives {
            rpo: Some(Duration::from_secs(15 * 60)),
            ..Objectives::default()
        };
        let rto = compute_rto(stamp(0), None, None, Duration::from_millis(250));
        let checks = evaluate(&objectives, &rto, Some(&rpo_of(17 * 60_000 + 3_200)));
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].passed);
        assert_eq!(checks[0].name, "rpo");
        assert_eq!(
            checks[0].message,
            "rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)"
        );
    }

    #[test]
    fn an_objective_equal_to_the_measure_passes() {
        let objectives = Objectives {
            rto: Some(Duration::from_secs(60)),
            rpo: Some(Duration::from_secs(60)),
            rto_applies_to: RtoAppliesTo::Service,
            ..Objectives::default()
        };
        let rto = compute_rto(stamp(0), Some(stamp(60_000)), None, Duration::from_millis(250));
        let checks = evaluate(&objectives, &rto, Some(&rpo_of(60_000)));
        assert!(checks.iter().all(|check| check.passed), "{checks:?}");
        assert_eq!(
            checks[0].message,
            "rto_service 1m within objective 1m (error bound 250 ms)"
        );
    }

    #[test]
    fn objectives_read_as_written_and_figures_in_the_one_format() {
        let objectives = Objectives {
            rto: Some(Duration::from_secs(3_600)),
            rpo: Some(Duration::from_millis(50)),
            rto_written: Some("1h".into()),
            rpo_written: Some("50ms".into()),
            ..Objectives::default()
        };
        let rto = compute_rto(stamp(0), Some(stamp(439)), None, Duration::from_millis(250));
        let checks = evaluate(&objectives, &rto, Some(&rpo_of(912)));
        assert_eq!(
            checks[0].message,
            "rto_service 439 ms within objective 1h (error bound 250 ms)"
        );
        assert_eq!(
            checks[1].message,
            "rpo 912 ms exceeds objective 50ms (resolution 100 ms)"
        );
        // Without the written text the objective is in the same format as the figures.
        assert_eq!(objective_text(None, Duration::from_secs(3_600)), "60m");
    }

    #[test]
    fn rto_applies_to_verified_and_a_missing_figure_fails() {
        let objectives = Objectives {
            rto: Some(Duration::from_secs(3_600)),
            rpo: None,
            rto_applies_to: RtoAppliesTo::Verified,
            rto_written: Some("1h".into()),
            ..Objectives::default()
        };
        let rto = compute_rto(stamp(0), Some(stamp(1_000)), None, Duration::from_millis(250));
        let checks = evaluate(&objectives, &rto, Some(&rpo_of(0)));
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].passed);
        assert_eq!(
            checks[0].message,
            "rto_verified not measured (verification did not pass); objective 1h"
        );
    }

    #[test]
    fn no_objectives_no_checks() {
        let rto = compute_rto(stamp(0), None, None, Duration::from_millis(250));
        assert!(evaluate(&Objectives::default(), &rto, Some(&rpo_of(5))).is_empty());
    }
}
