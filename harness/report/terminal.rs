//! The table printed at the end of `drdrill run`: one row per drill, plain
//! text (the CLI decides where it goes and whether to colour anything),
//! and under it the verdict's reasons for every drill that did not pass.

use super::model::{DrillReport, VerdictKind};
use super::units::{human_duration_ms, verdict_word};
use crate::uri::redact;

/// Where a column's values sit: text to the left, counts to the right.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

const COLUMNS: [(&str, Align); 8] = [
    ("scenario", Align::Left),
    ("verdict", Align::Left),
    ("RTO service", Align::Left),
    ("RTO verified", Align::Left),
    ("RPO", Align::Left),
    ("lost writes", Align::Right),
    ("holes", Align::Right),
    ("duration", Align::Left),
];

/// One row per drill (scenario, verdict, RTO service, RTO verified, RPO,
/// lost acknowledged writes, holes, duration) and a line of totals. Each
/// objective stands beside the figure it is compared with (`measured /
/// objective`). Absent figures show as `-`. Every line ends with a newline.
pub fn summary_table(reports: &[DrillReport]) -> String {
    let rows: Vec<[String; 8]> = reports.iter().map(row).collect();
    let mut widths = COLUMNS.map(|(title, _)| title.chars().count());
    for row in &rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let mut out = String::new();
    let titles = COLUMNS.map(|(title, _)| title.to_string());
    for line in std::iter::once(&titles).chain(&rows) {
        let cells: Vec<String> = line
            .iter()
            .zip(COLUMNS)
            .zip(widths)
            .map(|((value, (_, align)), width)| match align {
                Align::Left => format!("{value:<width$}"),
                Align::Right => format!("{value:>width$}"),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&totals(reports));
    out.push('\n');
    out
}

/// For every drill that did not pass, its verdict and reasons, one reason a
/// line (credentials redacted): what a person reads first when the run did
/// not go green. Empty when every drill passed.
pub fn reasons(reports: &[DrillReport]) -> String {
    let mut out = String::new();
    for report in reports
        .iter()
        .filter(|report| report.verdict.kind != VerdictKind::Passed)
    {
        let mut verdict = verdict_word(report.verdict.kind).to_string();
        if report.interrupted {
            verdict.push_str(" (interrupted)");
        }
        out.push_str(&format!("{} {verdict}:\n", redact(&report.scenario)));
        if report.verdict.reasons.is_empty() {
            out.push_str("  - no reason recorded\n");
        }
        for reason in &report.verdict.reasons {
            out.push_str(&format!("  - {}\n", redact(reason)));
        }
    }
    out
}

/// One line per drill with an RTO forecast: its figure, band and
/// objective, as the report states them. Empty when no drill has one.
pub fn forecasts(reports: &[DrillReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let Some(forecast) = &report.forecast else {
            continue;
        };
        let size = forecast
            .target
            .documents
            .map(|documents| format!("{documents} documents"))
            .or_else(|| forecast.target.bytes.map(|bytes| format!("{bytes} bytes")))
            .unwrap_or_default();
        let figure = match (forecast.rto_ms, forecast.rto_low_ms, forecast.rto_high_ms) {
            (Some(rto), Some(low), Some(high)) => format!(
                "RTO {} ({} to {})",
                human_duration_ms(rto),
                human_duration_ms(low),
                human_duration_ms(high)
            ),
            _ => "no RTO measured to scale".into(),
        };
        let restore = forecast
            .phases
            .iter()
            .find(|phase| phase.phase == crate::measure::forecast::ForecastPhase::Restore)
            .map(|phase| format!(", restore {}", human_duration_ms(phase.forecast_ms)))
            .unwrap_or_default();
        let objective = forecast
            .objective_ms
            .map(|objective| format!(" / {}", human_duration_ms(objective)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} forecast at {size}: {figure}{objective}{restore}\n",
            redact(&report.scenario)
        ));
    }
    out
}

/// A measured figure beside its objective, `11.3 s / 60m`, so a failed drill
/// shows its yardstick; `-` for a figure that does not exist (`- / 60m`).
fn against(measured: Option<u64>, objective: Option<String>) -> String {
    let measured = measured.map(human_duration_ms).unwrap_or_else(|| "-".to_string());
    match objective {
        Some(objective) => format!("{measured} / {objective}"),
        None => measured,
    }
}

fn row(report: &DrillReport) -> [String; 8] {
    let measurements = &report.measurements;
    let objectives = &report.objectives;
    // The RTO objective stands beside the figure it is compared with.
    let (rto_service_objective, rto_verified_objective) = match objectives.rto_applies_to.as_str() {
        "verified" => (None, objectives.rto_text()),
        _ => (objectives.rto_text(), None),
    };
    // Loss counts mean something only once the ticks were read back after
    // recovery, which is also when the RPO is known; before that a `0`
    // would read as "nothing lost".
    let reached = measurements.rpo_ms.is_some();
    let count = |value: u64| if reached { value.to_string() } else { "-".to_string() };
    let mut verdict = verdict_word(report.verdict.kind).to_string();
    if report.interrupted {
        verdict.push_str(" (interrupted)");
    }
    [
        redact(&report.scenario)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        verdict,
        against(measurements.rto_service_ms, rto_service_objective),
        against(measurements.rto_verified_ms, rto_verified_objective),
        match measurements.rpo_touched_worst() {
            Some(collection) => format!(
                "{} in {collection}",
                against(measurements.rpo_ms, objectives.rpo_text())
            ),
            None => against(measurements.rpo_ms, objectives.rpo_text()),
        },
        count(measurements.lost_acknowledged_writes),
        count(measurements.holes.len() as u64),
        human_duration_ms(report.duration_ms),
    ]
}

fn totals(reports: &[DrillReport]) -> String {
    let counted = |kind: VerdictKind| reports.iter().filter(|report| report.verdict.kind == kind).count();
    let parts: Vec<String> = [
        VerdictKind::Passed,
        VerdictKind::Failed,
        VerdictKind::Inconclusive,
        VerdictKind::Skipped,
    ]
    .into_iter()
    .filter(|kind| counted(*kind) > 0)
    .map(|kind| format!("{} {}", counted(kind), verdict_word(kind)))
    .collect();
    let drills = if reports.len() == 1 { "drill" } else { "drills" };
    match parts.is_empty() {
        true => format!("{} {drills}", reports.len()),
        false => format!("{} {drills}: {}", reports.len(), parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{SampleKind, sample_report};

    #[test]
    fn one_aligned_row_per_drill_with_human_units() {
        let reports: Vec<_> = SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect();
        let table = summary_table(&reports);
        let expected = "\
scenario                   verdict                     RTO service   RTO verified  RPO             lost writes  holes  duration
backup-restore-standalone  passed                      11.3 s / 60m  18.4 s        10.3 s / 15m            103      0  40.0 s
restore-from-nightly       failed                      13.4 s / 60m  -             17m 3.2s / 15m        10231      1  18m 12.0s
backup-restore-standalone  inconclusive (interrupted)  - / 60m       -             - / 15m                   -      -  24.7 s
replica-set-failover       skipped                     - / 30.0 s    -             - / 0 ms                  -      -  35 ms
4 drills: 1 passed, 1 failed, 1 inconclusive, 1 skipped
";
        assert_eq!(table, expected, "\n{table}");
    }

    #[test]
    fn a_drill_measured_in_its_touched_collections_names_the_worst_beside_its_rpo() {
        let report = crate::report::sample::touched_collections_report();
        let table = summary_table(&[report]);
        assert!(
            table
                .lines()
                .nth(1)
                .unwrap()
                .contains("17m 3.2s / 15m in configurations"),
            "{table}"
        );
    }

    #[test]
    fn reasons_are_listed_under_every_drill_that_did_not_pass() {
        let reports: Vec<_> = SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect();
        let text = reasons(&reports);
        assert!(!text.contains("backup-restore-standalone passed"), "{text}");
        for report in &reports[1..] {
            let heading = text
                .lines()
                .position(|line| line.starts_with(&report.scenario) && !line.contains("passed"))
                .unwrap_or_else(|| panic!("no heading for {}:\n{text}", report.scenario));
            assert!(text.lines().nth(heading + 1).unwrap().starts_with("  - "), "{text}");
        }
        for reason in reports[1..].iter().flat_map(|report| &report.verdict.reasons) {
            assert!(text.contains(&redact(reason)), "{reason} missing:\n{text}");
        }
        assert_eq!(reasons(&reports[..1]), "");
    }

    #[test]
    fn empty_runs_and_single_drills_read_well() {
        assert_eq!(
            summary_table(&[]),
            "scenario  verdict  RTO service  RTO verified  RPO  lost writes  holes  duration\n0 drills\n"
        );
        let table = summary_table(&[sample_report(SampleKind::Passed)]);
        assert!(table.ends_with("\n1 drill: 1 passed\n"), "{table}");
    }
}
