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
    assert_eq!(row.matches(" / 1 ms").count(), 2, "{row}");
}
