//! `junit.xml`: one `<testsuite>` per drill, named after the scenario, with
//! a `<testcase>` per step (`step 03 restore (builtin, archive, gzip)`), per
//! objective (`objective rpo`), per collection check (`collection hosts`)
//! and per integrity check (`integrity holes`). Failure messages state the
//! measured value, the objective and the unit.
//!
//! Two rules keep the JUnit outcome in step with the exit status: a drill
//! whose verdict is failed or inconclusive while no test case failed gets a
//! `verdict` test case carrying the reasons, and a `skipped` verdict makes
//! every test case skipped with the reason. A check that failed as a
//! negative scenario expects (`expect = "fail"`) is reported as passed.
//!
//! Written with `quick-junit` (nextest's JUnit crate), which lets the suite
//! carry the drill's own duration: `junit-report` computes a suite's `time`
//! as the sum of its test cases, which leaves out the deployment's start and
//! teardown. The tests read the XML back with the same crate's parser.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::error::ReportError;
use super::file::write_atomically;
use super::model::{CheckKind, CheckRecord, DrillReport, Status, StepDetails, StepRecord, VerdictKind};
use super::units::{human_duration_ms, human_value};
use crate::uri::redact;

/// The file name of a drill's JUnit report inside its folder.
pub const JUNIT_XML: &str = "junit.xml";

/// The test suite of one drill; its `time` is the drill's duration.
pub fn junit_for_drill(report: &DrillReport) -> TestSuite {
    let mut cases: Vec<TestCase> = report.steps.iter().map(|step| step_case(report, step)).collect();
    cases.extend(report.checks.iter().map(|check| check_case(report, check)));
    add_verdict_case(report, &mut cases);
    if report.verdict.kind == VerdictKind::Skipped {
        let reason = xml_line(&report.verdict.reasons.join("; "));
        for case in &mut cases {
            case.status = skipped_status("skipped", &reason);
            case.time = Some(Duration::ZERO);
        }
    }
    let classname = xml_line(&report.scenario);
    for case in &mut cases {
        case.set_classname(classname.as_str());
    }
    let mut suite = TestSuite::new(xml_line(&report.scenario));
    suite.set_timestamp(report.started.fixed_offset());
    suite.set_time(milliseconds(Some(report.duration_ms)));
    suite.add_test_cases(cases);
    suite.set_system_out(xml_text(&suite_output(report)));
    suite
}

/// Writes one `junit.xml` holding a test suite per drill, in order (a
/// drill's own folder, or the combined file a CI system reads, `--junit`).
pub fn write_junit(path: &Path, reports: &[DrillReport]) -> Result<(), ReportError> {
    let mut junit = Report::new("drdrill");
    junit.add_test_suites(reports.iter().map(junit_for_drill));
    junit.set_time(
        reports
            .iter()
            .map(|report| milliseconds(Some(report.duration_ms)))
            .sum(),
    );
    let mut bytes = Vec::new();
    junit.serialize(&mut bytes).map_err(|source| ReportError::Junit {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomically(path, &bytes)
}

fn milliseconds(value: Option<u64>) -> Duration {
    Duration::from_millis(value.unwrap_or(0))
}

/// `step 04 restore (builtin, archive, gzip)`: numbered from 1 like the
/// terminal and the summary (two digits, so names sort in order); the kind
/// is not repeated when the readable name already starts with it.
fn step_case_name(step: &StepRecord) -> String {
    let number = step.index + 1;
    if step.name.starts_with(&step.kind) {
        format!("step {number:02} {}", step.name)
    } else {
        format!("step {number:02} {} {}", step.kind, step.name)
    }
}

fn case_with(name: &str, time: Duration, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_time(time);
    case
}

fn success(name: &str, time: Duration) -> TestCase {
    case_with(name, time, TestCaseStatus::success())
}

fn non_success(name: &str, time: Duration, kind: NonSuccessKind, type_: &str, message: &str) -> TestCase {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(type_).set_message(message);
    case_with(name, time, status)
}

fn skipped_status(type_: &str, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_type(type_);
    if !message.is_empty() {
        status.set_message(message);
    }
    status
}

fn skipped(name: &str, message: &str) -> TestCase {
    case_with(name, Duration::ZERO, skipped_status("skipped", message))
}

fn is_success(case: &TestCase) -> bool {
    matches!(case.status, TestCaseStatus::Success { .. })
}

fn is_kind(case: &TestCase, wanted: NonSuccessKind) -> bool {
    matches!(&case.status, TestCaseStatus::NonSuccess { kind, .. } if *kind == wanted)
}

fn step_case(report: &DrillReport, step: &StepRecord) -> TestCase {
    let name = xml_line(&step_case_name(step));
    let time = milliseconds(step.duration_ms);
    let message = xml_line(&format!("{} {}: {}", step.kind, status_word(step.status), step.message));
    let mut case = match step.status {
        _ if expected_to_fail(report, &step.kind) => expected_failure_case(&name, time, &message),
        Status::Passed => success(&name, time),
        Status::Failed => non_success(&name, time, NonSuccessKind::Failure, "step failed", &message),
        Status::Error => non_success(&name, time, NonSuccessKind::Error, "step error", &message),
        Status::Skipped => skipped(&name, &not_run(&step.message)),
    };
    if let Some(output) = step.details.as_ref().and_then(StepDetails::output) {
        append_output(&mut case, output);
    }
    if let Some(errors) = step.details.as_ref().and_then(StepDetails::errors) {
        case.set_system_err(xml_text(errors));
    }
    case
}

fn check_case_name(check: &CheckRecord) -> String {
    let prefix = match check.kind {
        CheckKind::Objective => "objective",
        CheckKind::Collection => "collection",
        CheckKind::Integrity => "integrity",
    };
    match check.name.strip_prefix(prefix) {
        Some(rest) if rest.starts_with(' ') => check.name.clone(),
        _ => format!("{prefix} {}", check.name),
    }
}

fn check_case(report: &DrillReport, check: &CheckRecord) -> TestCase {
    let name = xml_line(&check_case_name(check));
    let kind = match check.kind {
        CheckKind::Objective => "objective",
        CheckKind::Collection => "collection",
        CheckKind::Integrity => "integrity",
    };
    let statement = xml_line(&failure_statement(report, check));
    let mut case = match check.status {
        _ if expected_to_fail(report, &check.name)
            || (check.kind == CheckKind::Collection && expected_to_fail(report, "verify")) =>
        {
            expected_failure_case(&name, Duration::ZERO, &statement)
        }
        Status::Passed => success(&name, Duration::ZERO),
        Status::Failed => non_success(&name, Duration::ZERO, NonSuccessKind::Failure, kind, &statement),
        Status::Error => non_success(&name, Duration::ZERO, NonSuccessKind::Error, kind, &statement),
        Status::Skipped => skipped(&name, &not_run(&check.message)),
    };
    // The statement is the message; the check's own words, when they add
    // something, go in the body of the failure and in system-out.
    let detail = xml_text(&check.message);
    if matches!(case.status, TestCaseStatus::NonSuccess { .. }) && !detail.is_empty() && !statement.contains(&detail) {
        case.status.set_description(detail);
    }
    if is_success(&case) && !check.message.is_empty() {
        append_output(&mut case, &check.message);
    }
    case
}

/// Measured value, objective and unit in one line:
/// `rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)`.
pub fn failure_statement(report: &DrillReport, check: &CheckRecord) -> String {
    let unit = check.unit.as_deref();
    let resolution = match check.name.as_str() {
        "rpo" => Some(report.measurements.tick_interval_ms),
        "rto_service" => Some(report.measurements.probe_interval_ms),
        _ => None,
    }
    .filter(|interval| *interval > 0 && unit == Some("ms"))
    .map(|interval| format!(" (resolution {})", human_duration_ms(interval)))
    .unwrap_or_default();
    // A drill measured in the collections its disaster touched names the
    // worst of them; each one's figures follow in the check's message.
    let resolution = match report.measurements.rpo_touched_worst() {
        Some(collection) if check.name == "rpo" => format!("{resolution} in {collection}"),
        _ => resolution,
    };
    let with_message = |statement: String| {
        if check.message.is_empty() || check.message == statement {
            statement
        } else {
            format!("{statement}: {}", check.message)
        }
    };
    // An objective reads as the scenario wrote it (`1h`), like everywhere else.
    let objective_text = |objective: f64| {
        (check.kind == CheckKind::Objective && unit == Some("ms"))
            .then(|| report.objectives.text_for(&check.name))
            .flatten()
            .unwrap_or_else(|| human_value(objective, unit))
    };
    match (check.measured, check.objective) {
        (Some(measured), Some(objective)) if measured > objective && unit == Some("ms") => format!(
            "{} {} exceeds objective {}{resolution}",
            check.name,
            human_value(measured, unit),
            objective_text(objective)
        ),
        (Some(measured), Some(objective)) => with_message(format!(
            "{} measured {}, objective {}{resolution}",
            check.name,
            human_value(measured, unit),
            objective_text(objective)
        )),
        (Some(measured), None) => with_message(format!("{} measured {}", check.name, human_value(measured, unit))),
        (None, Some(objective)) => with_message(format!(
            "{} not measured, objective {}",
            check.name,
            objective_text(objective)
        )),
        (None, None) if check.message.starts_with(&check.name) => check.message.clone(),
        (None, None) => with_message(check.name.clone()),
    }
}

/// Whether a negative scenario expected `name` (a check or a step kind) to
/// fail, that failure was observed, and the drill therefore passed.
fn expected_to_fail(report: &DrillReport, name: &str) -> bool {
    report.verdict.kind == VerdictKind::Passed
        && report
            .verdict
            .expected_failure
            .as_ref()
            .is_some_and(|expected| expected.observed && expected.check == name)
}

fn expected_failure_case(name: &str, time: Duration, statement: &str) -> TestCase {
    let mut case = success(name, time);
    case.set_system_out(xml_text(&format!(
        "failed as the scenario expects (expect = \"fail\"): {statement}"
    )));
    case
}

/// Adds a `verdict` test case when the verdict is failed or inconclusive
/// and no test case says so, so a CI system never shows green for a drill
/// that exits 1 or 2. A skipped drill without any step gets one skipped
/// `drill` test case, so the skip and its reason are visible.
fn add_verdict_case(report: &DrillReport, cases: &mut Vec<TestCase>) {
    let reasons = xml_line(&report.verdict.reasons.join("; "));
    match report.verdict.kind {
        VerdictKind::Failed
            if !cases
                .iter()
                .any(|case| matches!(case.status, TestCaseStatus::NonSuccess { .. })) =>
        {
            let message = if reasons.is_empty() {
                "drill failed".to_string()
            } else {
                reasons
            };
            cases.push(non_success(
                "verdict",
                Duration::ZERO,
                NonSuccessKind::Failure,
                "verdict",
                &message,
            ));
        }
        VerdictKind::Inconclusive if !cases.iter().any(|case| is_kind(case, NonSuccessKind::Error)) => {
            let message = if reasons.is_empty() {
                "drill inconclusive".to_string()
            } else {
                reasons
            };
            cases.push(non_success(
                "verdict",
                Duration::ZERO,
                NonSuccessKind::Error,
                "inconclusive",
                &message,
            ));
        }
        VerdictKind::Skipped if cases.is_empty() => cases.push(skipped("drill", "")),
        _ => {}
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Error => "error",
        Status::Skipped => "skipped",
    }
}

fn not_run(message: &str) -> String {
    match xml_line(message) {
        line if line.is_empty() => "not run".to_string(),
        line => line,
    }
}

fn append_output(case: &mut TestCase, text: &str) {
    let text = xml_text(text);
    let joined = match case.system_out.take() {
        Some(before) => format!("{}\n{text}", before.as_str()),
        None => text,
    };
    case.set_system_out(joined);
}

/// The suite's system-out: verdict, reasons, deployment, concerns, notes
/// and findings, for a person reading the CI log.
fn suite_output(report: &DrillReport) -> String {
    let verdict = &report.verdict;
    let mut lines = vec![format!(
        "verdict: {} (exit {})",
        format!("{:?}", verdict.kind).to_lowercase(),
        verdict.exit_code
    )];
    lines.extend(verdict.reasons.iter().map(|reason| format!("  {reason}")));
    if report.interrupted {
        lines.push("interrupted before the end".to_string());
    }
    let topology = &report.topology;
    lines.push(format!(
        "deployment: {} {}{} on {}, {} node(s){}",
        topology.engine,
        topology.server_version.as_deref().unwrap_or("(version unknown)"),
        topology
            .backend
            .as_deref()
            .map(|backend| format!(" ({backend})"))
            .unwrap_or_default(),
        topology.provider,
        topology.nodes,
        topology
            .uri
            .as_deref()
            .map(|uri| format!(", {uri}"))
            .unwrap_or_default()
    ));
    let measurements = &report.measurements;
    lines.push(format!(
        "write concern {}, read concern {}, tick interval {}, probe interval {}",
        measurements.write_concern,
        measurements.read_concern,
        human_duration_ms(measurements.tick_interval_ms),
        human_duration_ms(measurements.probe_interval_ms)
    ));
    lines.extend(measurements.notes.iter().map(|note| format!("note: {note}")));
    lines.extend(report.findings.iter().map(|finding| format!("finding: {finding}")));
    lines.push(format!(
        "run id {}, scenario file {}",
        report.run_id, report.scenario_file
    ));
    lines.join("\n")
}

/// Text that XML 1.0 can hold, credentials redacted: terminal colour
/// sequences and characters XML forbids (NUL, escapes) are dropped, because
/// one of them makes a strict consumer reject the whole file.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let redacted = redact(text);
    let mut characters = redacted.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '\u{1b}' && characters.peek() == Some(&'[') {
            // A CSI sequence (`ESC [ 32 m`) ends at its first byte in `@`..=`~`.
            characters.next();
            for rest in characters.by_ref() {
                if ('@'..='~').contains(&rest) {
                    break;
                }
            }
            continue;
        }
        if matches!(character, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..) {
            out.push(character);
        }
    }
    out
}

/// [`xml_text`] on one line, for attributes (parsers turn a newline in an
/// attribute into a space anyway).
fn xml_line(text: &str) -> String {
    xml_text(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{PLANTED_PASSWORD, SampleKind, expected_failure_report, sample_report};
    use quick_junit::{NonSuccessKind, TestCaseStatus};

    fn written(reports: &[DrillReport]) -> (String, quick_junit::Report) {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(JUNIT_XML);
        write_junit(&path, reports).unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|error| panic!("{error}\n{xml}"));
        (xml, parsed)
    }

    fn is(kind: NonSuccessKind) -> impl Fn(&&quick_junit::TestCase) -> bool {
        move |case| matches!(&case.status, TestCaseStatus::NonSuccess { kind: found, .. } if *found == kind)
    }

    fn skipped(case: &&quick_junit::TestCase) -> bool {
        matches!(case.status, TestCaseStatus::Skipped { .. })
    }

    fn case<'a>(suite: &'a quick_junit::TestSuite, name: &str) -> &'a quick_junit::TestCase {
        let names: Vec<_> = suite.test_cases.iter().map(|case| case.name.as_str()).collect();
        suite
            .test_cases
            .iter()
            .find(|case| case.name.as_str() == name)
            .unwrap_or_else(|| panic!("no test case {name:?} in {names:#?}"))
    }

    fn message(case: &quick_junit::TestCase) -> String {
        match &case.status {
            TestCaseStatus::NonSuccess { message, .. } | TestCaseStatus::Skipped { message, .. } => message
                .as_ref()
                .map(|message| message.as_str().to_string())
                .unwrap_or_default(),
            TestCaseStatus::Success { .. } => String::new(),
        }
    }

    #[test]
    fn one_suite_per_drill_with_steps_objectives_and_checks() {
        let reports: Vec<_> = SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect();
        let (_, parsed) = written(&reports);
        assert_eq!(parsed.test_suites.len(), 4);
        let names: Vec<_> = parsed.test_suites.iter().map(|suite| suite.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "backup-restore-standalone",
                "restore-from-nightly",
                "backup-restore-standalone",
                "replica-set-failover"
            ]
        );
        let passed = &parsed.test_suites[0];
        // 5 steps, 2 objectives, 3 collections, 1 integrity check.
        assert_eq!(passed.test_cases.len(), 11);
        assert!(
            passed
                .test_cases
                .iter()
                .all(|case| matches!(case.status, TestCaseStatus::Success { .. }))
        );
        let restore = case(passed, "step 04 restore (builtin, archive, gzip)");
        assert_eq!(restore.time, Some(std::time::Duration::from_millis(10_700)));
        assert_eq!(
            restore.classname.as_ref().unwrap().as_str(),
            "backup-restore-standalone"
        );
        case(passed, "objective rto_service");
        case(passed, "objective rpo");
        case(passed, "collection configurations");
        case(passed, "integrity holes");
        let started = passed.timestamp.unwrap();
        assert_eq!(started.to_rfc3339(), "2026-11-25T13:20:00.125+00:00");
        // The suite lasts as long as the drill, not the sum of its steps.
        let steps: u64 = reports[0].steps.iter().filter_map(|step| step.duration_ms).sum();
        assert_ne!(steps, reports[0].duration_ms);
        assert_eq!(
            passed.time,
            Some(std::time::Duration::from_millis(reports[0].duration_ms))
        );
    }

    #[test]
    fn the_rpo_failure_of_a_selective_drill_names_the_worst_touched_collection() {
        let (_, parsed) = written(&[crate::report::sample::touched_collections_report()]);
        let suite = &parsed.test_suites[0];
        assert_eq!(
            message(case(suite, "objective rpo")),
            "rpo 17m 3.2s exceeds objective 15m (resolution 100 ms) in configurations"
        );
    }

    #[test]
    fn failures_state_measured_value_objective_and_unit() {
        let (_, parsed) = written(&[sample_report(SampleKind::Failed)]);
        let suite = &parsed.test_suites[0];
        let failures: Vec<_> = suite.test_cases.iter().filter(is(NonSuccessKind::Failure)).collect();
        let failed: Vec<_> = failures.iter().map(|case| case.name.as_str()).collect();
        assert_eq!(
            failed,
            [
                "step 06 verify (count, md5, indexes)",
                "objective rpo",
                "collection configurations",
                "integrity holes"
            ]
        );
        assert_eq!(suite.failures, 4);
        assert_eq!(
            message(case(suite, "objective rpo")),
            "rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)"
        );
        let collection = message(case(suite, "collection configurations"));
        assert!(
            collection.starts_with("collection configurations measured 999 documents, objective 1000 documents"),
            "{collection}"
        );
        let holes = message(case(suite, "integrity holes"));
        assert!(holes.contains("measured 1 ticks, objective 0 ticks"), "{holes}");
        assert!(
            collection.contains("missing _id 6571c0ffee0000000000002a"),
            "{collection}"
        );
    }

    #[test]
    fn step_output_is_kept_redacted_and_well_formed() {
        let (xml, parsed) = written(&[sample_report(SampleKind::Failed)]);
        assert!(!xml.contains(PLANTED_PASSWORD), "{xml}");
        assert!(!xml.contains('\u{1b}'), "terminal escapes are not XML");
        assert!(!xml.contains("[32m"), "colour sequences are dropped whole");
        let runbook = case(&parsed.test_suites[0], "step 05 exec (runbook: restore.sh)");
        let output = runbook.system_out.as_ref().unwrap().as_str();
        assert!(
            output.contains("mongodb://admin:****@127.0.0.1:41017/admin"),
            "{output}"
        );
        assert!(output.contains("colour codes]]> and a CDATA end"), "{output}");
        assert!(output.contains("<done> & \"ok\""), "{output}");
        let errors = runbook.system_err.as_ref().unwrap().as_str();
        assert_eq!(errors, "warning: 1 document skipped (duplicate key)");
        let suite_output = parsed.test_suites[0].system_out.as_ref().unwrap().as_str();
        assert!(suite_output.starts_with("verdict: failed (exit 1)"), "{suite_output}");
        assert!(!suite_output.contains(PLANTED_PASSWORD));
    }

    #[test]
    fn interrupted_drill_shows_the_error_and_skips_the_rest() {
        let (_, parsed) = written(&[sample_report(SampleKind::Interrupted)]);
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.errors, 1);
        let restore = case(suite, "step 04 restore (builtin, archive, gzip)");
        assert!(is(NonSuccessKind::Error)(&restore));
        assert_eq!(
            message(restore),
            "restore error: interrupted after 5100 of 12000 documents"
        );
        let skipped_count = suite.test_cases.iter().filter(skipped).count();
        // verify, two objectives, three collections.
        assert_eq!(skipped_count, 6);
        assert_eq!(
            message(case(suite, "step 05 verify (count, md5, indexes)")),
            "not run: the drill was interrupted"
        );
    }

    #[test]
    fn skipped_verdict_skips_every_case_with_the_reason() {
        let (_, parsed) = written(&[sample_report(SampleKind::Skipped)]);
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.test_cases.len(), 5);
        assert!(suite.test_cases.iter().all(|case| skipped(&case)));
        for test_case in &suite.test_cases {
            assert_eq!(
                message(test_case),
                "the engine ferretdb cannot run this scenario: it has no replica sets or elections"
            );
        }
        let mut empty = sample_report(SampleKind::Skipped);
        empty.steps.clear();
        empty.checks.clear();
        let (_, parsed) = written(&[empty]);
        let only: Vec<_> = parsed.test_suites[0]
            .test_cases
            .iter()
            .map(|case| case.name.as_str())
            .collect();
        assert_eq!(only, ["drill"]);
        assert!(skipped(&&parsed.test_suites[0].test_cases[0]));
    }

    #[test]
    fn a_verdict_case_appears_when_no_case_carries_the_failure() {
        let mut report = sample_report(SampleKind::Passed);
        report.verdict.kind = VerdictKind::Failed;
        report.verdict.exit_code = 1;
        report.verdict.reasons = vec!["expected rpo to fail, and it held".to_string()];
        let suite = junit_for_drill(&report);
        let verdict = suite.test_cases.last().unwrap();
        assert_eq!(verdict.name.as_str(), "verdict");
        assert!(is_kind(verdict, NonSuccessKind::Failure));
        // A passed drill needs no such case.
        let suite = junit_for_drill(&sample_report(SampleKind::Passed));
        assert!(suite.test_cases.iter().all(|case| case.name.as_str() != "verdict"));
        // An interrupted drill whose steps all passed still shows an error.
        let mut report = sample_report(SampleKind::Interrupted);
        report.steps[3].status = Status::Skipped;
        let suite = junit_for_drill(&report);
        let verdict = suite.test_cases.last().unwrap();
        assert!(is_kind(verdict, NonSuccessKind::Error) && verdict.name.as_str() == "verdict");
    }

    #[test]
    fn an_expected_failure_is_a_passing_case() {
        let report = expected_failure_report();
        let suite = junit_for_drill(&report);
        let rpo = suite
            .test_cases
            .iter()
            .find(|case| case.name.as_str() == "objective rpo")
            .unwrap();
        assert!(is_success(rpo), "{rpo:?}");
        assert!(
            rpo.system_out
                .as_ref()
                .unwrap()
                .as_str()
                .contains("failed as the scenario expects")
        );
        assert_eq!(suite.failures + suite.errors, 0);
    }

    #[test]
    fn names_are_not_prefixed_twice() {
        let mut step = sample_report(SampleKind::Passed).steps[0].clone();
        assert_eq!(step_case_name(&step), "step 01 seed (cmdb, small, seed 42)");
        step.name = "load fixtures".to_string();
        assert_eq!(step_case_name(&step), "step 01 seed load fixtures");
        let mut check = sample_report(SampleKind::Passed).checks[2].clone();
        assert_eq!(check_case_name(&check), "collection configurations");
        check.name = "hosts".to_string();
        assert_eq!(check_case_name(&check), "collection hosts");
        check.name = "collections_total".to_string();
        assert_eq!(check_case_name(&check), "collection collections_total");
    }
}
