//! The managed provider's recoveries, timed for real: the failover RTO of
//! `standby-promotion-async` (T_d to the first write acknowledged through
//! the endpoint after the promotion), and a storage snapshot's restore of
//! 100,000 documents into a new cluster side by side with the builtin
//! engine's logical restore of the same data in the same drill (the same
//! cluster, the same seed: a dump taken beside the snapshot, restored
//! after the database was dropped), printed as a ratio.
//!
//! Each figure comes from the report of a `drdrill run` of a scenario (the
//! shipped one, or one written here), so the bench times what a drill
//! measures. `cargo bench --bench managed`; `DRDRILL_BENCH_DOCS` (default
//! 100,000) and `DRDRILL_BENCH_ROUNDS` (failovers, default 3).

use std::path::Path;
use std::process::Command;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Runs `drdrill run FILE` into `out` and returns its report.
fn run_drill(file: &Path, out: &Path) -> anyhow::Result<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_drdrill"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .output()?;
    let folder = std::fs::read_dir(out)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .ok_or_else(|| anyhow::anyhow!("no report: {}", String::from_utf8_lossy(&output.stderr)))?;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("report.json"))?)?;
    let shown = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "{} did not pass:\n{shown}", file.display());
    Ok(report)
}

/// The `details` of the first step of `kind`.
fn details<'a>(report: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["kind"] == kind))
        .map_or(&serde_json::Value::Null, |step| &step["details"])
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// The drill that restores the same data twice: a dump and a snapshot
/// taken one after the other, the database dropped, the dump restored
/// (builtin) into the primary, the snapshot restored into a new cluster.
fn side_by_side_scenario(documents: u64) -> String {
    format!(
        r#"name = "bench-snapshot-vs-logical"
workload = {{ write_concern = 1, tick_interval = "1s" }}
topology = {{ provider = "managed", engine = "ferretdb" }}
dataset = {{ profile = "shepherd-cms", documents = {documents}, seed = 7 }}
steps = [
  {{ kind = "seed", timeout = "30m" }},
  {{ kind = "backup", engine = "builtin" }},
  {{ kind = "snapshot" }},
  {{ kind = "disaster", action = "drop-database" }},
  {{ kind = "restore", drop = true }},
  {{ kind = "restore-snapshot" }},
  {{ kind = "verify" }},
]
"#
    )
}

fn bench() -> anyhow::Result<()> {
    let documents = setting("DRDRILL_BENCH_DOCS", 100_000);
    let rounds = setting("DRDRILL_BENCH_ROUNDS", 3).max(1);
    let scratch = tempfile::tempdir()?;
    let failover = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/standby-promotion-async.toml");
    let mut rto = Vec::new();
    let mut promotion = Vec::new();
    for round in 0..rounds {
        let report = run_drill(&failover, &scratch.path().join(format!("failover-{round}")))?;
        rto.push(report["measurements"]["rto_service_ms"].as_u64().unwrap_or_default());
        let phases = details(&report, "failover");
        let promoted = phases["promotion_finished_ms"].as_u64().unwrap_or_default();
        promotion.push(promoted.saturating_sub(phases["promotion_started_ms"].as_u64().unwrap_or_default()));
    }
    println!(
        "failover (standby-promotion-async, {rounds} rounds, medians): rto_service {} ms (probe every 100 ms), \
         promotion {} ms",
        median(rto),
        median(promotion)
    );
    let file = scratch.path().join("side-by-side.toml");
    std::fs::write(&file, side_by_side_scenario(documents))?;
    let report = run_drill(&file, &scratch.path().join("side-by-side"))?;
    // The engine's own time (a `Duration` as serde writes it).
    let duration = &details(&report, "restore")["restore"]["duration"];
    let logical_ms = duration["secs"].as_u64().unwrap_or_default() * 1000
        + duration["nanos"].as_u64().unwrap_or_default() / 1_000_000;
    let snapshot = details(&report, "restore-snapshot");
    let snapshot_ms = snapshot["restore_ms"].as_u64().unwrap_or_default();
    println!(
        "restore of {documents} documents (shepherd-cms), same drill: builtin logical restore {logical_ms} ms, \
         snapshot restore into a new cluster {snapshot_ms} ms (copy, start, FerretDB ready; the files' SHA-256 \
         check before it is apart), snapshot {:.1} MiB",
        snapshot["snapshot"]["size_bytes"].as_u64().unwrap_or_default() as f64 / (1024.0 * 1024.0)
    );
    println!(
        "snapshot restore is {:.1}x faster than the logical restore",
        logical_ms as f64 / (snapshot_ms as f64).max(1.0)
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("managed bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
