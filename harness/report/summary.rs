//! `summary.md`: the drill for a person in a hurry. Verdict and reasons
//! first, then the recovery objectives with their resolutions and
//! concerns, the steps, the failed checks, the findings, and the command
//! that reproduces the drill.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::error::ReportError;
use super::file::write_atomically;
use super::junit::failure_statement;
use super::model::{CheckRecord, DrillReport, Status};
use super::units::{human_duration_ms, verdict_word};
use crate::uri::redact;

/// The file name of a drill's summary inside its folder.
pub const SUMMARY_MD: &str = "summary.md";

/// Writes `dir/summary.md` and returns its path.
pub fn write_summary(dir: &Path, report: &DrillReport) -> Result<PathBuf, ReportError> {
    let path = dir.join(SUMMARY_MD);
    write_atomically(&path, summary_markdown(report).as_bytes())?;
    Ok(path)
}

/// The Markdown of `summary.md`, credentials redacted.
pub fn summary_markdown(report: &DrillReport) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    verdict_section(&mut out, report);
    facts_section(&mut out, report);
    objectives_section(&mut out, report);
    rpo_collections_section(&mut out, report);
    forecast_section(&mut out, report);
    steps_section(&mut out, report);
    checks_section(&mut out, report);
    list_section(&mut out, "Findings", &report.findings);
    let _ = write!(
        out,
        "## Reproduce\n\n```sh\ndrdrill run {}\n```\n",
        report.scenario_file.replace('\n', " ")
    );
    redact(&out)
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "**failed**",
        Status::Error => "**error**",
        Status::Skipped => "skipped",
    }
}

fn verdict_section(out: &mut String, report: &DrillReport) {
    let verdict = &report.verdict;
    let word = verdict_word(verdict.kind);
    let _ = writeln!(out, "# {}: {}\n", inline(&report.scenario), word.to_uppercase());
    let _ = writeln!(out, "**Verdict: {word}** (exit status {})\n", verdict.exit_code);
    for reason in &verdict.reasons {
        let _ = writeln!(out, "- {}", inline(reason));
    }
    if !verdict.reasons.is_empty() {
        out.push('\n');
    }
    if let Some(expected) = &verdict.expected_failure {
        let outcome = if expected.observed {
            "and it did"
        } else {
            "but it did not"
        };
        let _ = writeln!(
            out,
            "The scenario expects `{}` to fail (`expect = \"fail\"`), {outcome}.\n",
            inline(&expected.check)
        );
    }
    if report.interrupted {
        out.push_str("The drill was interrupted before the end; the steps it did not run are marked skipped.\n\n");
    }
}

fn facts_section(out: &mut String, report: &DrillReport) {
    let topology = &report.topology;
    let mut deployment = format!("{} on {}", topology.engine, topology.provider);
    if let Some(backend) = &topology.backend {
        let _ = write!(deployment, " ({backend} backend)");
    }
    let _ = write!(
        deployment,
        ", {} node{}",
        topology.nodes,
        if topology.nodes == 1 { "" } else { "s" }
    );
    if let Some(version) = &topology.server_version {
        let _ = write!(deployment, ", {version}");
    }
    if let Some(uri) = &topology.uri {
        let _ = write!(deployment, ", `{uri}`");
    }
    let rows = [
        ("Scenario", format!("`{}` ({})", report.scenario, report.scenario_file)),
        ("Description", report.description.clone()),
        ("Run id", format!("`{}`", report.run_id)),
        (
            "Started",
            format!(
                "{}, took {}",
                report.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                human_duration_ms(report.duration_ms)
            ),
        ),
        ("Deployment", deployment),
        ("Harness", format!("drdrill {}", report.harness_version)),
    ];
    out.push_str("| | |\n|---|---|\n");
    for (label, value) in rows {
        let _ = writeln!(out, "| {label} | {} |", cell(&value));
    }
    out.push('\n');
}

fn objectives_section(out: &mut String, report: &DrillReport) {
    let measurements = &report.measurements;
    let objectives = &report.objectives;
    let verified = objectives.rto_applies_to == "verified";
    let duration = |value: Option<u64>| value.map(human_duration_ms).unwrap_or_else(|| "-".to_string());
    let check_status = |name: &str| {
        report
            .checks
            .iter()
            .find(|check| check.name == name)
            .map(|check| status_word(check.status).to_string())
            .unwrap_or_else(|| "-".to_string())
    };
    let rows = [
        (
            "RTO service (T_s - T_d)",
            duration(measurements.rto_service_ms),
            objectives
                .rto_text()
                .filter(|_| !verified)
                .unwrap_or_else(|| "-".to_string()),
            duration(Some(measurements.probe_interval_ms)),
            check_status("rto_service"),
        ),
        (
            "RTO verified (T_v - T_d)",
            duration(measurements.rto_verified_ms),
            objectives
                .rto_text()
                .filter(|_| verified)
                .unwrap_or_else(|| "-".to_string()),
            "-".to_string(),
            check_status("rto_verified"),
        ),
        (
            "RPO (T_d - t_ack of the recovered prefix)",
            duration(measurements.rpo_ms),
            objectives.rpo_text().unwrap_or_else(|| "-".to_string()),
            duration(Some(measurements.tick_interval_ms)),
            check_status("rpo"),
        ),
    ];
    out.push_str("## Recovery objectives\n\n");
    out.push_str("| Measure | Measured | Objective | Resolution | Write concern | Read concern | Status |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (measure, measured, objective, resolution, status) in rows {
        let _ = writeln!(
            out,
            "| {measure} | {measured} | {objective} | {resolution} | {} | {} | {status} |",
            cell(&measurements.write_concern),
            cell(&measurements.read_concern)
        );
    }
    out.push('\n');
    let optional = |value: Option<u64>| value.map(|seq| seq.to_string()).unwrap_or_else(|| "none".to_string());
    let list = |values: &[u64]| match values {
        [] => "none".to_string(),
        _ => values.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    };
    let _ = writeln!(
        out,
        "- Ticks acknowledged before T_d: {} (newest seq {}); recovered prefix: seq {}",
        measurements.ticks_acknowledged_before_disaster,
        optional(measurements.last_acked_before_disaster),
        optional(measurements.recovered_prefix)
    );
    let _ = writeln!(
        out,
        "- Lost acknowledged writes: {}; holes: {}; unexpected ticks: {}",
        measurements.lost_acknowledged_writes,
        list(&measurements.holes),
        list(&measurements.unexpected)
    );
    let _ = writeln!(
        out,
        "- Ticks with unknown outcome: {} recovered, {} missing (not a loss)",
        measurements.indeterminate_recovered, measurements.indeterminate_missing
    );
    if let Some(disaster) = &measurements.disaster_at {
        let _ = writeln!(
            out,
            "- T_d: {} (+{} from the drill start)",
            disaster.wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            human_duration_ms(disaster.offset_ms)
        );
    }
    if measurements.nothing_survived {
        out.push_str("- No acknowledged tick survived: the RPO runs from the start of the workload.\n");
    }
    for note in &measurements.notes {
        let _ = writeln!(out, "- Note: {}", inline(note));
    }
    out.push('\n');
}

/// The RPO of each collection the disaster touched, the worst marked: the
/// drill's RPO above is that one's. Nothing for a whole-database drill.
fn rpo_collections_section(out: &mut String, report: &DrillReport) {
    let measurements = &report.measurements;
    let Some(worst) = measurements.rpo_touched_worst() else {
        return;
    };
    out.push_str("## RPO per touched collection\n\n");
    out.push_str("| Collection | RPO | Lost acknowledged writes | Holes | Recovered prefix | Note |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for entry in &measurements.rpo_collections {
        let name = match entry.collection == worst {
            true => format!("**{}** (worst)", cell(&entry.collection)),
            false => cell(&entry.collection),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            entry.rpo_ms.map(human_duration_ms).unwrap_or_else(|| "-".into()),
            entry.lost_acknowledged_writes,
            entry.holes.len(),
            entry
                .recovered_prefix
                .map(|seq| format!("seq {seq}"))
                .unwrap_or_else(|| "none".into()),
            cell(entry.problem.as_deref().unwrap_or("-"))
        );
    }
    out.push('\n');
}

fn forecast_section(out: &mut String, report: &DrillReport) {
    let Some(forecast) = &report.forecast else {
        return;
    };
    let size = match (forecast.target.documents, forecast.target.bytes) {
        (Some(documents), _) => format!("{documents} documents"),
        (None, Some(bytes)) => format!("{bytes} bytes"),
        (None, None) => "-".into(),
    };
    let _ = writeln!(
        out,
        "## RTO forecast at {size}
"
    );
    if let Some(rto) = forecast.rto_ms {
        let _ = writeln!(
            out,
            "Forecast RTO **{}** (band {} to {}); objective {}. Size from {}.\n",
            human_duration_ms(rto),
            forecast.rto_low_ms.map(human_duration_ms).unwrap_or_else(|| "-".into()),
            forecast
                .rto_high_ms
                .map(human_duration_ms)
                .unwrap_or_else(|| "-".into()),
            forecast
                .objective_ms
                .map(human_duration_ms)
                .unwrap_or_else(|| "none".into()),
            inline(&forecast.target.source)
        );
    }
    out.push_str("| Phase | In RTO | This drill | Documents/s | MiB/s | Forecast | Band |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for phase in &forecast.phases {
        let _ = writeln!(
            out,
            "| {} | {} | {} ({} documents) | {} | {} | {} | {} to {} ({}) |",
            phase.phase.name(),
            if phase.in_rto { "yes" } else { "no" },
            human_duration_ms(phase.sample_ms),
            phase.sample_documents,
            phase.documents_per_second,
            phase.mib_per_second,
            human_duration_ms(phase.forecast_ms),
            human_duration_ms(phase.low_ms),
            human_duration_ms(phase.high_ms),
            cell(&phase.band_basis)
        );
    }
    let _ = writeln!(out, "\nModel: {}.\n", inline(&forecast.model));
}

fn steps_section(out: &mut String, report: &DrillReport) {
    out.push_str("## Steps\n\n");
    if report.steps.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str("| # | Kind | Name | Status | Duration | Message |\n|---|---|---|---|---|---|\n");
    for step in &report.steps {
        let duration = step
            .duration_ms
            .map(human_duration_ms)
            .unwrap_or_else(|| "-".to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {duration} | {} |",
            step.index + 1,
            cell(&step.kind),
            cell(&step.name),
            status_word(step.status),
            cell(&step.message)
        );
    }
    out.push('\n');
}

fn checks_section(out: &mut String, report: &DrillReport) {
    let failed: Vec<&CheckRecord> = report
        .checks
        .iter()
        .filter(|check| matches!(check.status, Status::Failed | Status::Error))
        .collect();
    out.push_str("## Failed checks\n\n");
    if failed.is_empty() {
        let _ = writeln!(
            out,
            "None of {} checks failed{}.\n",
            report.checks.len(),
            if report.checks.iter().any(|check| check.status == Status::Skipped) {
                " (some were skipped)"
            } else {
                ""
            }
        );
        return;
    }
    for check in failed {
        let statement = failure_statement(report, check);
        let _ = writeln!(
            out,
            "- **{}** ({}): {}",
            inline(&check.name),
            status_word(check.status),
            inline(&statement)
        );
    }
    out.push('\n');
}

fn list_section(out: &mut String, title: &str, items: &[String]) {
    let _ = writeln!(out, "## {title}\n");
    if items.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    for item in items {
        let _ = writeln!(out, "- {}", inline(item));
    }
    out.push('\n');
}

/// One line of Markdown text: newlines become spaces and `<` cannot open
/// an HTML tag.
fn inline(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// [`inline`] text that cannot end a table cell early.
fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{PLANTED_PASSWORD, SampleKind, expected_failure_report, sample_report};

    #[test]
    fn touched_collections_get_an_rpo_table_with_the_worst_marked() {
        let text = summary_markdown(&crate::report::sample::touched_collections_report());
        assert!(text.contains("## RPO per touched collection"), "{text}");
        assert!(
            text.contains("| **configurations** (worst) | 17m 3.2s | 10231 | 0 | seq 69 | - |"),
            "{text}"
        );
        assert!(text.contains("| users | 17m | 10199 | 0 | seq 101 | - |"), "{text}");
        // A whole-database drill has no such table.
        assert!(!summary_markdown(&sample_report(SampleKind::Failed)).contains("per touched collection"));
    }

    #[test]
    fn verdict_and_reasons_come_first() {
        let text = summary_markdown(&sample_report(SampleKind::Failed));
        assert!(text.starts_with("# restore-from-nightly: FAILED\n\n**Verdict: failed** (exit status 1)\n\n- rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)\n"), "{text}");
        let objectives = text.find("## Recovery objectives").unwrap();
        let steps = text.find("## Steps").unwrap();
        let checks = text.find("## Failed checks").unwrap();
        let findings = text.find("## Findings").unwrap();
        let reproduce = text.find("## Reproduce").unwrap();
        assert!(objectives < steps && steps < checks && checks < findings && findings < reproduce);
        assert!(
            text.ends_with("```sh\ndrdrill run scenarios/restore-from-nightly.toml\n```\n"),
            "{text}"
        );
    }

    #[test]
    fn the_objectives_table_has_resolution_and_concerns() {
        let text = summary_markdown(&sample_report(SampleKind::Failed));
        assert!(text.contains("| RPO (T_d - t_ack of the recovered prefix) | 17m 3.2s | 15m | 100 ms | majority | majority | **failed** |"), "{text}");
        assert!(
            text.contains("| RTO service (T_s - T_d) | 13.4 s | 60m | 250 ms | majority | majority | passed |"),
            "{text}"
        );
        assert!(
            text.contains("| RTO verified (T_v - T_d) | - | - | - | majority | majority | - |"),
            "{text}"
        );
        assert!(
            text.contains("Lost acknowledged writes: 10231; holes: 412; unexpected ticks: none"),
            "{text}"
        );
        assert!(
            text.contains("- **rpo** (**failed**): rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)"),
            "{text}"
        );
        assert!(
            text.contains(
                "| 6 | verify | verify (count, md5, indexes) | **failed** | 7.8 s | 1 of 3 collections differs |"
            ),
            "{text}"
        );
    }

    #[test]
    fn text_is_redacted_and_cannot_break_the_markdown() {
        let mut report = sample_report(SampleKind::Failed);
        report.steps[0].message = "a | b\nc".to_string();
        let text = summary_markdown(&report);
        assert!(!text.contains(PLANTED_PASSWORD), "{text}");
        assert!(text.contains("mongodb://admin:****@127.0.0.1:41017/admin"));
        assert!(text.contains("| a \\| b c |"), "{text}");
        assert!(text.contains("RPO &lt;15m&gt; objective"), "{text}");
    }

    #[test]
    fn interrupted_skipped_and_expected_failures_say_so() {
        let text = summary_markdown(&sample_report(SampleKind::Interrupted));
        assert!(text.starts_with("# backup-restore-standalone: INCONCLUSIVE"), "{text}");
        assert!(text.contains("The drill was interrupted before the end"));
        assert!(
            text.contains(
                "| 5 | verify | verify (count, md5, indexes) | skipped | - | not run: the drill was interrupted |"
            ),
            "{text}"
        );
        let text = summary_markdown(&sample_report(SampleKind::Skipped));
        assert!(
            text.contains("**Verdict: skipped** (exit status 2)\n\n- the engine ferretdb cannot run this scenario"),
            "{text}"
        );
        let text = summary_markdown(&expected_failure_report());
        assert!(
            text.contains("The scenario expects `rpo` to fail (`expect = \"fail\"`), and it did."),
            "{text}"
        );
        let text = summary_markdown(&sample_report(SampleKind::Passed));
        assert!(text.contains("None of 6 checks failed."), "{text}");
    }
}
