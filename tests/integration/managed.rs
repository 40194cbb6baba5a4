//! The managed provider for real: FerretDB over a PostgreSQL primary and a
//! streaming standby (real `postgres`, `pg_basebackup`, `pg_ctl promote`),
//! driven through the `drdrill` binary with the shipped scenarios. Each
//! drill starts its own cluster (a failover consumes it), so these tests
//! are few: the asynchronous standby's loss checked against the ticks
//! read back, the synchronous standby's zero loss over several runs, and
//! `drdrill clean` after a SIGKILLed harness.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use drdrill::provider::record::RunRecord;
use futures_util::TryStreamExt;

use crate::ctx::{self, check_named, process_alive, step_of, text};

fn scenario(name: &str) -> PathBuf {
    ctx::project_root().join("scenarios").join(format!("{name}.toml"))
}

/// Runs `drdrill run FILE --out DIR [extra]` and returns its exit code,
/// its output and the drill's report.json.
fn run_drill(file: &Path, out: &Path, extra: &[&str]) -> (i32, String, serde_json::Value) {
    let output = ctx::drdrill()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    let folder = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .unwrap_or_else(|| panic!("no drill folder under {}:\n{stdout}\n{stderr}", out.display()));
    let report = serde_json::from_slice(&std::fs::read(folder.join("report.json")).unwrap()).unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}\n{stderr}"),
        report,
    )
}

/// The pids of live processes whose command line mentions `path`.
fn processes_mentioning(path: &Path) -> Vec<i32> {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).replace('\0', " ").contains(&needle))
        })
        .filter(|pid| process_alive(*pid))
        .collect()
}

/// The run record of the run whose id contains `name`.
fn record_of(name: &str) -> Option<RunRecord> {
    ctx::test_dirs();
    RunRecord::load_all()
        .into_iter()
        .flatten()
        .find(|record| record.run_id.contains(name))
}

/// The `--listen-addr` port of the recorded FerretDB of `site`.
fn ferretdb_port(record: &RunRecord, site: &str) -> u16 {
    let process = record
        .processes
        .iter()
        .find(|process| process.what == format!("{site} ferretdb"))
        .unwrap_or_else(|| panic!("no {site} in {record:?}"));
    let line = std::fs::read(format!("/proc/{}/cmdline", process.pid)).unwrap();
    String::from_utf8_lossy(&line)
        .split('\0')
        .find_map(|arg| arg.strip_prefix("--listen-addr=127.0.0.1:"))
        .and_then(|port| port.parse().ok())
        .expect("a FerretDB command line names its port")
}

/// Every tick in `_drill_ticks` on the FerretDB at `port`: seq and issue time.
async fn ticks_on(port: u16, database: &str) -> Vec<(u64, u64)> {
    let client = mongodb::Client::with_uri_str(format!("mongodb://127.0.0.1:{port}/?directConnection=true"))
        .await
        .unwrap();
    let collection = client.database(database).collection::<bson::Document>("_drill_ticks");
    let mut cursor = collection
        .find(bson::doc! { "seq": { "$exists": true } })
        .await
        .unwrap();
    let mut ticks = Vec::new();
    while let Some(tick) = cursor.try_next().await.unwrap() {
        ticks.push((
            tick.get_i64("seq").unwrap() as u64,
            tick.get_i64("issued_ms").unwrap() as u64,
        ));
    }
    ticks
}

/// Removes a kept run with `drdrill clean --run` and checks that nothing
/// of it is left: no process, no folder.
fn clean_run(record: &RunRecord) {
    let output = ctx::run_drdrill(&["clean", "--run", &record.run_id]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    for dir in &record.dirs {
        assert!(!dir.exists(), "clean left {}:\n{stdout}", dir.display());
        assert_eq!(
            processes_mentioning(dir),
            Vec::<i32>::new(),
            "clean left processes of {}",
            dir.display()
        );
    }
    for process in &record.processes {
        assert!(!process_alive(process.pid), "clean left {}", process.what);
    }
}

/// The asynchronous standby is 150 ms behind across its site link: the
/// writes acknowledged in the primary's last moments are lost at the
/// failover. Over up to three runs, at least one reports lost writes and
/// an RPO above the tick interval, and the figures agree with the ticks
/// the promoted standby holds (read back from it directly, the run kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_standby_loses_what_was_on_the_link_and_the_report_agrees_with_the_ticks() {
    let mut seen = Vec::new();
    for attempt in 0..3 {
        let out = tempfile::tempdir().unwrap();
        let (code, output, report) = run_drill(&scenario("standby-promotion-async"), out.path(), &["--keep"]);
        let run_id = report["run_id"].as_str().unwrap().to_string();
        let record = record_of(&run_id).unwrap_or_else(|| panic!("kept run {run_id} has no record:\n{output}"));
        let measurements = &report["measurements"];
        assert_eq!(code, 0, "attempt {attempt}:\n{output}\n{measurements:#}");
        // The timeline names the failover's phases, and the RTO its
        // resolution.
        let phases: Vec<&str> = report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|phase| phase["name"].as_str().unwrap())
            .collect();
        for phase in [
            "outage",
            "detection",
            "promotion",
            "first acknowledged write",
            "verification",
        ] {
            assert!(phases.contains(&phase), "{phase} missing from {phases:?}");
        }
        assert!(measurements["rto_service_ms"].as_u64().is_some(), "{measurements:#}");
        assert_eq!(measurements["probe_interval_ms"], 100);

        let ticks = ticks_on(ferretdb_port(&record, "site-1"), "shepherd_cms").await;
        clean_run(&record);
        let present: BTreeSet<u64> = ticks.iter().map(|(seq, _)| *seq).collect();
        let last = measurements["last_acked_before_disaster"].as_u64().unwrap();
        assert_eq!(
            measurements["ticks_acknowledged_before_disaster"].as_u64(),
            Some(last),
            "{measurements:#}"
        );
        let lost = (1..=last).filter(|seq| !present.contains(seq)).count() as u64;
        assert_eq!(
            measurements["lost_acknowledged_writes"].as_u64(),
            Some(lost),
            "{measurements:#}"
        );
        let prefix = (1..=last).take_while(|seq| present.contains(seq)).last();
        assert_eq!(measurements["recovered_prefix"].as_u64(), prefix, "{measurements:#}");
        let rpo = measurements["rpo_ms"].as_u64().unwrap();
        let t_d = measurements["disaster_at"]["offset_ms"].as_u64().unwrap();
        if let Some(prefix) = prefix {
            // The prefix tick was acknowledged after it was issued.
            let issued = ticks.iter().find(|(seq, _)| *seq == prefix).unwrap().1;
            assert!(
                rpo <= t_d - issued,
                "rpo {rpo} ms, but tick {prefix} was issued {} ms before T_d",
                t_d - issued
            );
        }
        seen.push((lost, rpo));
        if lost > 0 && rpo > measurements["tick_interval_ms"].as_u64().unwrap() {
            return;
        }
    }
    panic!("no run lost an acknowledged write with an RPO above the tick interval: (lost, rpo ms) {seen:?}");
}

/// A synchronous standby (`remote_apply`) has every acknowledged write
/// before it is acknowledged: three failovers in a row lose none.
#[test]
fn a_synchronous_standby_loses_no_acknowledged_write_over_several_runs() {
    for attempt in 0..3 {
        let out = tempfile::tempdir().unwrap();
        let (code, output, report) = run_drill(&scenario("standby-promotion-sync"), out.path(), &[]);
        let measurements = &report["measurements"];
        assert_eq!(code, 0, "attempt {attempt}:\n{output}");
        assert_eq!(
            measurements["lost_acknowledged_writes"], 0,
            "attempt {attempt}: {measurements:#}"
        );
        assert!(
            measurements["ticks_acknowledged_before_disaster"].as_u64().unwrap() > 0,
            "{measurements:#}"
        );
        assert_eq!(measurements["holes"].as_array().unwrap().len(), 0, "{measurements:#}");
    }
}

/// A harness SIGKILLed mid-drill leaves two PostgreSQL clusters and two
/// FerretDB processes running; `drdrill clean` stops and removes them all.
#[test]
fn a_killed_harness_leaves_a_managed_cluster_that_clean_removes() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("killed.toml");
    std::fs::write(
        &file,
        r#"name = "killed-managed"
workload = { write_concern = 1 }
steps = [{ kind = "seed" }, { kind = "wait", duration = "10m" }]
topology = { provider = "managed", engine = "ferretdb", standbys = 1 }
dataset = { profile = "shepherd-cms", documents = 100 }
"#,
    )
    .unwrap();
    let (mut child, seen) = ctx::run_until_line(&file, &folder.path().join("out"), "step 2/2 wait");
    // SIGKILL: no teardown, no Drop, and the relays die with the process.
    child.kill().unwrap();
    child.wait().unwrap();
    let record = record_of("killed-managed").expect("the killed run left its record");
    assert_eq!(record.postgres.len(), 2, "{record:?}");
    let run_dir = &record.dirs[0];
    assert!(
        processes_mentioning(run_dir).len() >= 4,
        "the killed run left fewer processes than its two clusters and two FerretDBs:\n{seen}"
    );
    clean_run(&record);
}

/// The `restore-snapshot` step's details in a report.
fn restore_snapshot_details(report: &serde_json::Value) -> &serde_json::Value {
    &step_of(report, "restore-snapshot")["details"]
}

/// Nothing of the run `run_id` is left: no run record (its own or its
/// restored cluster's) and no process in its folders.
fn nothing_left_of(run_id: &str) {
    ctx::test_dirs();
    for record in RunRecord::load_all().into_iter().flatten() {
        assert!(!record.run_id.contains(run_id), "left behind: {record:?}");
    }
    let work_dir = drdrill::provider::local::default_work_dir();
    for entry in std::fs::read_dir(&work_dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().contains(run_id) {
            assert_eq!(
                processes_mentioning(&entry.path()),
                Vec::<i32>::new(),
                "{}",
                entry.path().display()
            );
        }
    }
}

/// A snapshot taken under write load restores into a new cluster whose
/// files were checked against the manifest first and whose collections
/// match the manifest's checksums; the writes after the snapshot are the
/// loss, the RTO is measured with its resolution, and nothing of the run
/// (the source cluster, the restored one) is left afterwards.
#[test]
fn a_snapshot_restores_into_a_new_cluster_verified_against_its_manifest() {
    let out = tempfile::tempdir().unwrap();
    let (code, output, report) = run_drill(&scenario("snapshot-restore"), out.path(), &[]);
    assert_eq!(code, 0, "{output}");
    let details = restore_snapshot_details(&report);
    assert!(details["files_verified"].as_u64().unwrap() > 100, "{details:#}");
    assert!(details["restore_ms"].as_u64().is_some(), "{details:#}");
    assert_eq!(details["restore_resolution_ms"], 50);
    let measurements = &report["measurements"];
    assert!(measurements["rto_service_ms"].as_u64().is_some(), "{measurements:#}");
    assert_eq!(measurements["probe_interval_ms"], 100);
    // A second of writes after the snapshot is lost, as a prefix.
    assert!(
        measurements["lost_acknowledged_writes"].as_u64().unwrap() > 0,
        "{measurements:#}"
    );
    assert_eq!(measurements["holes"].as_array().unwrap().len(), 0, "{measurements:#}");
    let verified: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["counts_as"] == "verify")
        .collect();
    assert!(!verified.is_empty(), "{:#}", report["checks"]);
    assert!(
        verified.iter().all(|check| check["status"] == "passed"),
        "{verified:#?}"
    );
    nothing_left_of(report["run_id"].as_str().unwrap());
}

/// A point-in-time restore 1.5 s before the disaster, in the middle of
/// the write load after the snapshot, is exact: every tick acknowledged
/// by T present, none issued after T; the window reported contains T and
/// ticks acknowledged after T exist (T really is inside the load).
#[test]
fn a_point_in_time_restore_is_exact_at_its_target_inside_the_window() {
    let out = tempfile::tempdir().unwrap();
    let (code, output, report) = run_drill(&scenario("point-in-time-restore"), out.path(), &[]);
    assert_eq!(code, 0, "{output}");
    let check = check_named(&report, "point-in-time");
    assert_eq!(check["status"], "passed", "{check:#}");
    let point_in_time = &restore_snapshot_details(&report)["point_in_time"];
    let window = &point_in_time["window"];
    let target = point_in_time["target_ms"].as_i64().unwrap();
    assert!(
        window["earliest_ms"].as_i64().unwrap() < target && target < window["latest_ms"].as_i64().unwrap(),
        "{point_in_time:#}"
    );
    let boundary = &point_in_time["boundary"];
    assert!(
        boundary["acknowledged_by_target"].as_u64().unwrap() > 10,
        "{boundary:#}"
    );
    let acknowledged = report["measurements"]["ticks_acknowledged_before_disaster"]
        .as_u64()
        .unwrap();
    assert!(
        acknowledged > boundary["acknowledged_by_target"].as_u64().unwrap(),
        "no tick acknowledged after T: {boundary:#}"
    );
    nothing_left_of(report["run_id"].as_str().unwrap());
}

/// A target 30 s after the disaster is outside the archived WAL: the
/// step fails before any cluster is started, naming the window's two
/// ends, and the negative drill passes for it.
#[test]
fn a_point_in_time_target_outside_the_window_fails_naming_the_window() {
    let out = tempfile::tempdir().unwrap();
    let (code, output, report) = run_drill(&scenario("point-in-time-restore-outside-window"), out.path(), &[]);
    assert_eq!(code, 0, "{output}");
    let step = step_of(&report, "restore-snapshot");
    assert_eq!(step["status"], "failed");
    let window = &step["details"]["point_in_time"]["window"];
    let message = step["message"].as_str().unwrap();
    for end in ["earliest_at", "latest_at"] {
        let instant = window[end].as_str().unwrap();
        assert!(message.contains(instant), "{message} does not name {instant}");
    }
    assert!(message.contains("outside the restore window"), "{message}");
    assert!(step["details"]["cluster"].is_null(), "a cluster was started: {step:#}");
    nothing_left_of(report["run_id"].as_str().unwrap());
}

/// The daily check restores the newest snapshot into a throw-away cluster
/// and verifies it; the same check fails on a snapshot older than its
/// `max_age`, saying how old it is.
#[test]
fn the_daily_snapshot_check_verifies_the_newest_snapshot_and_refuses_a_stale_one() {
    let out = tempfile::tempdir().unwrap();
    let (code, output, report) = run_drill(&scenario("daily-snapshot-verification"), out.path(), &[]);
    assert_eq!(code, 0, "{output}");
    assert!(
        report["measurements"]["rto_verified_ms"].as_u64().is_some(),
        "{report:#}"
    );
    assert!(restore_snapshot_details(&report)["restore_ms"].as_u64().is_some());
    nothing_left_of(report["run_id"].as_str().unwrap());

    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("stale.toml");
    std::fs::write(
        &file,
        r#"name = "stale-snapshot"
workload = { write_concern = 1 }
topology = { provider = "managed", engine = "ferretdb" }
dataset = { profile = "shepherd-cms", documents = 100 }
steps = [
  { kind = "seed" },
  { kind = "snapshot" },
  { kind = "wait", duration = "1500ms" },
  { kind = "restore-snapshot", max_age = "1s" },
]
"#,
    )
    .unwrap();
    let stale_out = tempfile::tempdir().unwrap();
    let (code, output, report) = run_drill(&file, stale_out.path(), &[]);
    assert_eq!(code, 1, "{output}");
    let details = restore_snapshot_details(&report);
    assert!(details["age_ms"].as_u64().unwrap() >= 1500, "{details:#}");
    assert!(output.contains("older than max_age 1s"), "{output}");
    nothing_left_of(report["run_id"].as_str().unwrap());
}

/// A harness SIGKILLed after a snapshot restore leaves the source cluster
/// and the restored one running, each under its own run record; `drdrill
/// clean` removes both.
#[test]
fn a_killed_harness_leaves_a_restored_cluster_that_clean_removes() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("killed.toml");
    std::fs::write(
        &file,
        r#"name = "killed-snapshot"
workload = { write_concern = 1 }
steps = [{ kind = "seed" }, { kind = "snapshot" }, { kind = "restore-snapshot" }, { kind = "wait", duration = "10m" }]
topology = { provider = "managed", engine = "ferretdb" }
dataset = { profile = "shepherd-cms", documents = 100 }
"#,
    )
    .unwrap();
    let (mut child, seen) = ctx::run_until_line(&file, &folder.path().join("out"), "step 4/4 wait");
    child.kill().unwrap();
    child.wait().unwrap();
    ctx::test_dirs();
    let records: Vec<RunRecord> = RunRecord::load_all()
        .into_iter()
        .flatten()
        .filter(|record| record.run_id.contains("killed-snapshot"))
        .collect();
    let restored = records
        .iter()
        .find(|record| record.run_id.ends_with("-restore-3"))
        .unwrap_or_else(|| panic!("no record of the restored cluster in {records:?}:\n{seen}"));
    assert_eq!(restored.postgres.len(), 1, "{restored:?}");
    assert!(
        !processes_mentioning(&restored.dirs[0]).is_empty(),
        "the restored cluster was not running:\n{seen}"
    );
    assert_eq!(records.len(), 2, "{records:?}");
    for record in &records {
        clean_run(record);
    }
}
