//! The report writers end to end, as `drdrill run` uses them: one folder
//! per drill plus the combined `junit.xml` and `report.json` a CI system
//! reads. Each file is read back by an independent consumer: the JSON
//! against the committed schema (`jsonschema`), the JUnit by Python's
//! strict XML parser and by `quick-junit`, the SVG by Python's parser. No
//! server needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use drdrill::report::json::write_run_json;
use drdrill::report::junit::write_junit;
use drdrill::report::model::{DrillReport, RunReport, SCHEMA_VERSION};
use drdrill::report::sample::{PLANTED_PASSWORD, SampleKind, sample_report};
use drdrill::report::terminal::summary_table;
use drdrill::report::write_drill_reports;

fn samples() -> Vec<DrillReport> {
    SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect()
}

/// Runs a Python script over `file` and returns its standard output; the
/// script fails (and so does the test) when the file is not well-formed.
fn python(script: &str, file: &Path) -> String {
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("python3 is needed to read the reports back (it is part of the machine setup)");
    assert!(
        output.status.success(),
        "{} did not parse: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Counts per suite: `name tests failures errors skipped`, then every
/// failure message on its own line prefixed with `failure:`.
const COUNT_JUNIT: &str = r#"
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
for suite in root.findall("testsuite"):
    cases = suite.findall("testcase")
    count = lambda tag: sum(1 for case in cases if case.find(tag) is not None)
    print(suite.get("name"), len(cases), count("failure"), count("error"), count("skipped"))
for failure in root.iter("failure"):
    print("failure:", failure.get("message"))
"#;

const SVG_TEXTS: &str = r#"
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
for node in root.iter("{http://www.w3.org/2000/svg}text"):
    print("".join(node.itertext()))
"#;

fn write_run(base: &Path) -> (Vec<Vec<PathBuf>>, PathBuf, PathBuf) {
    let drills = samples();
    let folders = drills
        .iter()
        .map(|report| {
            write_drill_reports(
                &base.join(&report.run_id).join(format!("{:?}", report.verdict.kind)),
                report,
            )
            .unwrap()
        })
        .collect();
    let junit = base.join("ci").join("junit.xml");
    write_junit(&junit, &drills).unwrap();
    let json = base.join("ci").join("report.json");
    let run = RunReport {
        schema_version: SCHEMA_VERSION,
        drills,
        exit_code: 2,
    };
    write_run_json(&json, &run).unwrap();
    (folders, junit, json)
}

#[test]
fn combined_junit_reads_back_with_a_strict_parser_and_quick_junit() {
    let base = tempfile::tempdir().unwrap();
    let (_, junit, _) = write_run(base.path());
    let counted = python(COUNT_JUNIT, &junit);
    let mut lines = counted.lines();
    let suites: Vec<&str> = lines.by_ref().take(4).collect();
    assert_eq!(
        suites,
        [
            "backup-restore-standalone 11 0 0 0",
            "restore-from-nightly 12 4 0 0",
            "backup-restore-standalone 10 0 1 6",
            "replica-set-failover 5 0 0 5",
        ]
    );
    let failures: Vec<&str> = lines.collect();
    assert_eq!(failures.len(), 4, "{failures:#?}");
    assert!(
        failures.contains(&"failure: rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)"),
        "{failures:#?}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains(PLANTED_PASSWORD));
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(parsed.test_suites.len(), 4);
    let total: usize = parsed.test_suites.iter().map(|suite| suite.test_cases.len()).sum();
    assert_eq!(total, 38);
    assert_eq!(parsed.test_suites.iter().map(|suite| suite.failures).sum::<usize>(), 4);
    assert_eq!(parsed.test_suites.iter().map(|suite| suite.errors).sum::<usize>(), 1);
}

#[test]
fn combined_report_json_is_valid_against_the_committed_schema() {
    let base = tempfile::tempdir().unwrap();
    let (folders, _, json) = write_run(base.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
    let load = |path: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    let run_validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&load(&root.join("run-report.schema.json")))
        .unwrap();
    let run = load(&json);
    let problems: Vec<String> = run_validator.iter_errors(&run).map(|error| error.to_string()).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(run["drills"].as_array().unwrap().len(), 4);

    let drill_validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&load(&root.join("report.schema.json")))
        .unwrap();
    for paths in &folders {
        let drill = load(&paths[0]);
        let problems: Vec<String> = drill_validator
            .iter_errors(&drill)
            .map(|error| error.to_string())
            .collect();
        assert!(problems.is_empty(), "{}: {problems:#?}", paths[0].display());
        let read_back: DrillReport = serde_json::from_value(drill).unwrap();
        assert_eq!(read_back.schema_version, SCHEMA_VERSION);
    }
}

#[test]
fn every_drill_folder_holds_four_readable_files_without_credentials() {
    let base = tempfile::tempdir().unwrap();
    let (folders, _, _) = write_run(base.path());
    for paths in &folders {
        for path in paths {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(!text.contains(PLANTED_PASSWORD), "{} shows a password", path.display());
        }
        let suites = python(COUNT_JUNIT, &paths[1]);
        assert_eq!(suites.lines().filter(|line| !line.starts_with("failure:")).count(), 1);
        let texts = python(SVG_TEXTS, &paths[3]);
        assert!(
            texts.lines().any(|line| line == "seconds since the drill started"),
            "{texts}"
        );
    }
    let passed_svg = python(SVG_TEXTS, &folders[0][3]);
    assert!(
        passed_svg
            .lines()
            .any(|line| line == "RTO deadline at +60m (off scale)"),
        "{passed_svg}"
    );
    let summary = std::fs::read_to_string(&folders[1][2]).unwrap();
    assert!(summary.starts_with("# restore-from-nightly: FAILED"), "{summary}");
}

#[test]
fn terminal_table_lists_every_drill() {
    let table = summary_table(&samples());
    assert_eq!(table.lines().count(), 6, "{table}");
    assert!(table.contains("17m 3.2s"), "{table}");
    assert!(
        table.ends_with("4 drills: 1 passed, 1 failed, 1 inconclusive, 1 skipped\n"),
        "{table}"
    );
}
