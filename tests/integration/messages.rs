//! What a user reads when they make the usual mistakes (issue 15): each
//! mistake ends with one line that says what to write instead.

use crate::ctx::{self, text};

#[test]
fn an_archive_path_after_a_space_names_the_equals_form() {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("x.archive.gz");
    let archive = archive.to_str().unwrap();
    // As a runbook writes it: the tools take `--archive=FILE`, so this would
    // read standard input.
    let output = ctx::run_drdrill(&[
        "restore",
        "--gzip",
        "--archive",
        archive,
        "--uri",
        "mongodb://127.0.0.1:9/",
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("write `--archive={archive}`")), "{stderr}");
    let output = ctx::run_drdrill(&["dump", "--db", "shepherd_cms", "--archive", archive]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("write `--archive={archive}`")), "{stderr}");
    assert!(!folder.path().join("x.archive.gz").exists(), "nothing may be written");
}

#[test]
fn a_dump_against_a_closed_port_ends_in_one_line_within_the_timeout() {
    let port = drdrill::provider::ready::free_port().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("dump");
    let started = std::time::Instant::now();
    let output = ctx::run_drdrill(&[
        "dump",
        "--host",
        &format!("127.0.0.1:{port}"),
        "--db",
        "shepherd_cms",
        "-o",
        out.to_str().unwrap(),
        "--connect-timeout",
        "2s",
    ]);
    let elapsed = started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].ends_with(&format!("127.0.0.1:{port}: connection refused")),
        "{stderr}"
    );
    assert!(!stderr.contains("Topology"), "{stderr}");
    // The documented timeout, plus the time to start a process.
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    assert!(!out.exists(), "nothing may be written");
}

#[test]
fn a_failed_drill_shows_each_objective_beside_its_measurement() {
    let folder = tempfile::tempdir().unwrap();
    let scenario = folder.path().join("tight-objectives.toml");
    // Objectives no restore can meet: the drill fails on both, and the
    // table must show the yardstick next to each figure.
    std::fs::write(
        &scenario,
        r#"name = "tight-objectives"
[topology]
provider = "local"
engine = "ferretdb"
[dataset]
profile = "shepherd-cms"
documents = 500
seed = 1
[objectives]
rto = "1ms"
rpo = "1ms"
[[steps]]
kind = "seed"
[[steps]]
kind = "backup"
engine = "builtin"
[[steps]]
kind = "wait"
duration = "500ms"
[[steps]]
kind = "disaster"
action = "drop-database"
[[steps]]
kind = "restore"
drop = true
[[steps]]
kind = "verify"
"#,
    )
    .unwrap();
    let output = ctx::drdrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(folder.path().join("reports"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let row = stdout
        .lines()
        .find(|line| line.starts_with("tight-objectives") && line.contains("failed"))
        .unwrap_or_else(|| panic!("no failed row:\n{stdout}"));
    // RTO service and RPO, each `measured / objective`.
    // The objectives read as the scenario wrote them.
    assert_eq!(row.matches(" / 1ms").count(), 2, "{row}");
}

/// Issue 15, item 6: one drill's figures read the same in the terminal,
/// summary.md, report.json's messages, junit.xml and timeline.svg; the
/// objective as the scenario wrote it; JUnit's suite lasts as long as the
/// drill; steps are numbered from 1 everywhere.
#[test]
fn one_drill_reads_the_same_in_every_report() {
    let folder = tempfile::tempdir().unwrap();
    let scenario = folder.path().join("one-format.toml");
    // `rpo = "50ms"` cannot hold after a 300 ms wait before the disaster;
    // `rto = "1h"` holds and must never read as `60m`.
    std::fs::write(
        &scenario,
        r#"name = "one-format"
[topology]
provider = "local"
engine = "ferretdb"
[dataset]
profile = "shepherd-cms"
documents = 300
seed = 3
[objectives]
rto = "1h"
rpo = "50ms"
[[steps]]
kind = "seed"
[[steps]]
kind = "backup"
engine = "builtin"
[[steps]]
kind = "wait"
duration = "300ms"
[[steps]]
kind = "disaster"
action = "drop-database"
[[steps]]
kind = "restore"
drop = true
[[steps]]
kind = "verify"
"#,
    )
    .unwrap();
    let out = folder.path().join("reports");
    let output = ctx::drdrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let drill = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_dir())
        .expect("a drill folder");
    let read = |name: &str| std::fs::read_to_string(drill.join(name)).unwrap();
    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    let (summary, junit, timeline) = (read("summary.md"), read("junit.xml"), read("timeline.svg"));

    let rpo = drdrill::report::units::human_duration_ms(report["measurements"]["rpo_ms"].as_u64().unwrap());
    let statement = format!("rpo {rpo} exceeds objective 50ms");
    let rpo_check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "rpo")
        .unwrap();
    assert!(
        rpo_check["message"].as_str().unwrap().starts_with(&statement),
        "{rpo_check}"
    );
    assert!(stdout.contains(&format!("{rpo} / 50ms")), "{stdout}");
    assert!(stdout.contains(&statement), "the reasons under the table: {stdout}");
    assert!(summary.contains(&format!("| {rpo} | 50ms |")), "{summary}");
    assert!(summary.contains(&statement), "{summary}");
    assert!(junit.contains(&statement), "{junit}");
    assert!(timeline.contains("RPO 50ms"), "{timeline}");
    for (name, text) in [
        ("terminal", &stdout),
        ("summary", &summary),
        ("junit", &junit),
        ("timeline", &timeline),
    ] {
        assert!(
            text.contains("1h"),
            "{name} does not show the RTO objective as written:\n{text}"
        );
        assert!(!text.contains("60m"), "{name} rewrote the objective:\n{text}");
    }
    assert!(!report.to_string().contains("60m"), "{report}");

    // The suite lasts as long as the drill, not the sum of its steps.
    let parsed = quick_junit::Report::deserialize_from_str(&junit).unwrap();
    let suite = &parsed.test_suites[0];
    let duration_ms = report["duration_ms"].as_u64().unwrap();
    assert_eq!(suite.time, Some(std::time::Duration::from_millis(duration_ms)));

    // The disaster is step 4 of 6 in every place that numbers steps.
    assert!(
        suite
            .test_cases
            .iter()
            .any(|case| case.name.as_str().starts_with("step 04 disaster")),
        "{junit}"
    );
    assert!(summary.contains("| 4 | disaster |"), "{summary}");
    assert!(stderr.contains("step 4/6 disaster"), "{stderr}");
    let broken = folder.path().join("broken.toml");
    let source = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(
        &broken,
        source.replace("action = \"drop-database\"", "action = \"drop-everything\""),
    )
    .unwrap();
    let invalid = ctx::drdrill().arg("validate").arg(&broken).output().unwrap();
    let (_, invalid_stderr) = text(&invalid);
    assert!(invalid_stderr.contains("step 4, action"), "{invalid_stderr}");
    assert!(report["steps"][3]["kind"] == "disaster", "{report}");
}
