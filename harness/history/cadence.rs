//! How often a scenario must pass, and whether it is overdue: "last
//! verified" per scenario, from the history alone (each record carries the
//! cadence its scenario had when it ran).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::record::DrillRecord;

/// The cadences the tags imply, with a grace day or more: a weekly drill is
/// overdue after 8 days, a monthly one after 35, a quarterly one after 100.
const FROM_TAGS: &[(&str, u64)] = &[("weekly", 8), ("monthly", 35), ("quarterly", 100)];

/// A scenario's cadence: its own `cadence` when set, else the shortest one
/// its tags imply, else none.
pub fn cadence(own: Option<Duration>, tags: &[String]) -> Option<Duration> {
    own.or_else(|| {
        FROM_TAGS
            .iter()
            .filter(|(tag, _)| tags.iter().any(|given| given == tag))
            .map(|(_, days)| Duration::from_secs(days * 24 * 3_600))
            .min()
    })
}

/// One scenario's standing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioStatus {
    /// The scenario.
    pub scenario: String,
    /// Its latest run.
    pub last_run: DrillRecord,
    /// Its latest passed run, if any.
    pub last_pass: Option<DrillRecord>,
    /// Its cadence, milliseconds (from its latest run).
    pub cadence_ms: Option<u64>,
    /// When the next pass is due: last pass (or, never passed, last run)
    /// plus the cadence.
    pub due: Option<DateTime<Utc>>,
    /// Past due.
    pub overdue: bool,
}

impl ScenarioStatus {
    /// Whether the latest run failed to pass.
    pub fn last_run_failed(&self) -> bool {
        !self.last_run.passed()
    }

    /// Overdue or last run not passed: `drdrill status` exits 1.
    pub fn needs_attention(&self) -> bool {
        self.overdue || self.last_run_failed()
    }
}

/// The standing of every scenario in `drills` (oldest first), as of `now`,
/// in scenario-name order. A scenario that never passed is overdue once its
/// cadence has elapsed since its first run.
pub fn statuses(drills: &[DrillRecord], now: DateTime<Utc>) -> Vec<ScenarioStatus> {
    let mut names: Vec<&str> = drills.iter().map(|drill| drill.scenario.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let runs: Vec<&DrillRecord> = drills.iter().filter(|drill| drill.scenario == name).collect();
            let last_run = (*runs.last()?).clone();
            let last_pass = runs
                .iter()
                .rev()
                .find(|drill| drill.passed())
                .map(|drill| (*drill).clone());
            let cadence_ms = last_run.cadence_ms;
            let since = last_pass.as_ref().unwrap_or(runs[0]).finished;
            let due = cadence_ms
                .and_then(|ms| chrono::Duration::try_milliseconds(i64::try_from(ms).ok()?))
                .and_then(|cadence| since.checked_add_signed(cadence));
            Some(ScenarioStatus {
                scenario: name.to_owned(),
                overdue: due.is_some_and(|due| now > due),
                last_run,
                last_pass,
                cadence_ms,
                due,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_give_the_cadence_unless_the_scenario_sets_its_own() {
        let tags = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let days = |days: u64| Some(Duration::from_secs(days * 86_400));
        assert_eq!(cadence(None, &tags(&["weekly"])), days(8));
        assert_eq!(cadence(None, &tags(&["quarterly", "monthly"])), days(35));
        assert_eq!(cadence(None, &tags(&["ci-gate"])), None);
        assert_eq!(cadence(days(2), &tags(&["weekly"])), days(2));
    }
}
