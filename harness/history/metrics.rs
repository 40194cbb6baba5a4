//! The history as Prometheus metrics: one registry built from the records,
//! written as OpenMetrics (for `/metrics`) or as the Prometheus text format
//! node-exporter's textfile collector reads. The alert rules shipped in
//! `fixtures/prometheus/` use these names.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::cadence::statuses;
use super::record::{DrillRecord, RecordedVerdict};

/// The `Content-Type` of [`openmetrics`]'s text.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of [`prometheus_text`]'s text.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Label sets: `scenario`, and `scenario` with `verdict`.
type Labels = Vec<(&'static str, String)>;
/// A gauge family holding seconds, bytes or 0/1.
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// The gauges, each with its name and help; registered in this order.
const GAUGES: &[(&str, &str)] = &[
    (
        "drdrill_last_run_timestamp_seconds",
        "When the latest drill of the scenario finished",
    ),
    (
        "drdrill_last_success_timestamp_seconds",
        "When the latest passed drill of the scenario finished",
    ),
    (
        "drdrill_last_run_passed",
        "1 when the latest drill of the scenario passed",
    ),
    (
        "drdrill_overdue",
        "1 when the scenario's cadence has elapsed since its last pass",
    ),
    ("drdrill_cadence_seconds", "How often the scenario must pass"),
    ("drdrill_rto_service_seconds", "RTO to service of the latest drill"),
    (
        "drdrill_rto_verified_seconds",
        "RTO to verified data of the latest drill",
    ),
    ("drdrill_rpo_seconds", "RPO of the latest drill"),
    ("drdrill_rto_objective_seconds", "The scenario's RTO objective"),
    ("drdrill_rpo_objective_seconds", "The scenario's RPO objective"),
    (
        "drdrill_rto_applies_to_verified",
        "1 when the RTO objective applies to verified data, 0 for service",
    ),
    ("drdrill_backup_size_bytes", "Size of the latest drill's backup"),
    (
        "drdrill_backup_size_median_bytes",
        "Median backup size of the scenario's passed drills",
    ),
    (
        "drdrill_backup_duration_seconds",
        "Duration of the latest drill's backup step",
    ),
    (
        "drdrill_verification_success",
        "1 when the latest drill's verification of every collection passed",
    ),
    (
        "drdrill_lost_acknowledged_writes",
        "Acknowledged writes the latest drill lost",
    ),
];

/// The registry of every metric, from `drills` (oldest first) as of `now`.
pub fn registry(drills: &[DrillRecord], now: DateTime<Utc>) -> Registry {
    let mut registry = Registry::default();
    let totals = Family::<Labels, Counter>::default();
    registry.register(
        "drdrill_drills",
        "Drills recorded, by scenario and verdict",
        totals.clone(),
    );
    let gauges: Vec<Gauges> = GAUGES
        .iter()
        .map(|(name, help)| {
            let family = Gauges::default();
            registry.register(*name, *help, family.clone());
            family
        })
        .collect();
    for status in statuses(drills, now) {
        let name = status.scenario.clone();
        let runs: Vec<&DrillRecord> = drills.iter().filter(|drill| drill.scenario == name).collect();
        for verdict in RecordedVerdict::ALL {
            let count = runs.iter().filter(|drill| drill.verdict == verdict).count();
            totals
                .get_or_create(&vec![
                    ("scenario", name.clone()),
                    ("verdict", verdict.name().to_owned()),
                ])
                .inc_by(count as u64);
        }
        let last = &status.last_run;
        let seconds = |ms: Option<u64>| ms.map(|ms| ms as f64 / 1000.0);
        let flag = |value: bool| Some(if value { 1.0 } else { 0.0 });
        let values = [
            Some(last.finished.timestamp_millis() as f64 / 1000.0),
            status
                .last_pass
                .as_ref()
                .map(|pass| pass.finished.timestamp_millis() as f64 / 1000.0),
            flag(last.passed()),
            status.cadence_ms.and(flag(status.overdue)),
            seconds(status.cadence_ms),
            seconds(last.rto_service_ms),
            seconds(last.rto_verified_ms),
            seconds(last.rpo_ms),
            seconds(last.objective_rto_ms),
            seconds(last.objective_rpo_ms),
            flag(last.rto_applies_to == "verified"),
            last.backup_bytes.map(|bytes| bytes as f64),
            median_size(&runs),
            seconds(last.backup_ms),
            last.verification_passed.and_then(flag),
            Some(last.lost_writes as f64),
        ];
        for (family, value) in gauges.iter().zip(values) {
            if let Some(value) = value {
                family.get_or_create(&vec![("scenario", name.clone())]).set(value);
            }
        }
    }
    registry
}

/// The median backup size of the passed runs.
fn median_size(runs: &[&DrillRecord]) -> Option<f64> {
    let mut sizes: Vec<u64> = runs
        .iter()
        .filter(|drill| drill.passed())
        .filter_map(|drill| drill.backup_bytes)
        .collect();
    sizes.sort_unstable();
    sizes.get(sizes.len() / 2).map(|size| *size as f64)
}

/// OpenMetrics text, `# EOF` included.
pub fn openmetrics(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

/// The Prometheus text format (0.0.4), as node-exporter's textfile
/// collector reads it.
pub fn prometheus_text(registry: &Registry) -> String {
    let mut text = String::new();
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{SampleKind, sample_report};

    #[test]
    fn the_metrics_name_each_scenario_and_verdict() {
        let record = DrillRecord::from_report(&sample_report(SampleKind::Passed), std::path::Path::new("r"), None);
        let now = record.finished;
        let text = openmetrics(&registry(std::slice::from_ref(&record), now));
        let scenario = &record.scenario;
        assert!(
            text.contains(&format!(
                "drdrill_drills_total{{scenario=\"{scenario}\",verdict=\"passed\"}} 1"
            )),
            "{text}"
        );
        assert!(text.contains("drdrill_last_run_passed{"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(!prometheus_text(&registry(&[record], now)).contains("# EOF"));
    }
}
