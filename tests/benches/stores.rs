//! Backup stores: upload, copy and download throughput of a 100,000
//! document backup (the shepherd-cms dataset as a mongodump folder of
//! `.bson` files) through two real versitygw gateways on this machine,
//! each against a plain file copy of the same bytes on the same disk (the
//! physical limit here), measured side by side (A B A B, medians) and
//! printed as ratios.
//!
//! `cargo bench --bench stores`; `DRDRILL_BENCH_DOCS` (default 100,000)
//! and `DRDRILL_BENCH_ROUNDS` (default 3).

use std::path::Path;
use std::time::{Duration, Instant};

use drdrill::backup::manifest::{MANIFEST_SCHEMA_VERSION, Manifest, hash_backup_files};
use drdrill::backup::{BackupLocation, EngineInfo, Layout};
use drdrill::dataset::{Profile, SeedPlan};
use drdrill::provider::server_info::Capabilities;
use drdrill::store::{Gateway, Store, versitygw_binary};

const SEED: u64 = 20_260_101;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Writes the plan's documents as `<folder>/shepherd_cms/<collection>.bson`
/// and returns the backup with its manifest.
fn write_backup(folder: &Path, documents: u64) -> anyhow::Result<(BackupLocation, Manifest)> {
    use std::io::Write;
    let plan = SeedPlan::new(&Profile::builtin("shepherd-cms")?, documents, SEED)?;
    let capabilities = Capabilities::mongodb();
    let database = folder.join("shepherd_cms");
    std::fs::create_dir_all(&database)?;
    for (collection, _) in plan.counts() {
        let mut out = std::io::BufWriter::new(std::fs::File::create(database.join(format!("{collection}.bson")))?);
        for document in drdrill::dataset::documents(&plan, collection, &capabilities) {
            out.write_all(document.as_bytes())?;
        }
        out.flush()?;
    }
    let location = BackupLocation::Directory {
        path: folder.to_path_buf(),
        gzip: false,
    };
    let manifest = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        engine: EngineInfo {
            name: "bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        tool_versions: Default::default(),
        source_uri: None,
        database: "shepherd_cms".into(),
        layout: Some(Layout::Directory { gzip: false }),
        started: None,
        finished: None,
        consistency: "generated".into(),
        collections: Default::default(),
        files: hash_backup_files(&location)?,
    };
    Ok((location, manifest))
}

/// Copies every file of `from` into `to` (the plain-copy baseline).
fn plain_copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    for relative in drdrill::backup::manifest::list_files(from)? {
        let target = to.join(&relative);
        std::fs::create_dir_all(target.parent().unwrap_or(to))?;
        std::fs::copy(from.join(&relative), target)?;
    }
    Ok(())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn mib_per_second(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / time.as_secs_f64().max(1e-9)
}

async fn bench() -> anyhow::Result<()> {
    let documents = setting("DRDRILL_BENCH_DOCS", 100_000);
    let rounds = setting("DRDRILL_BENCH_ROUNDS", 3).max(1);
    let scratch = tempfile::tempdir()?;
    let (location, manifest) = write_backup(&scratch.path().join("backup"), documents)?;
    let bytes: u64 = manifest.files.values().map(|file| file.size).sum();
    let binary = versitygw_binary()?;
    let bucket = vec!["bench".to_string()];
    let mut west = Gateway::start(&binary, "us-west-2", &scratch.path().join("west"), &bucket).await?;
    let mut east = Gateway::start(&binary, "us-east-1", &scratch.path().join("east"), &bucket).await?;
    let a = Store::open(&west.store("west", "bench", ""))?;
    let b = Store::open(&east.store("east", "bench", ""))?;
    let from = scratch.path().join("backup");
    let copy_to = scratch.path().join("plain");
    let mut rows: Vec<(&str, Vec<Duration>, Vec<Duration>)> = vec![
        ("upload", vec![], vec![]),
        ("copy", vec![], vec![]),
        ("download", vec![], vec![]),
    ];
    for round in 0..rounds {
        let id = format!("round-{round}");
        for (name, store_times, file_times) in rows.iter_mut() {
            let started = Instant::now();
            plain_copy(&from, &copy_to)?;
            file_times.push(started.elapsed());
            let started = Instant::now();
            match *name {
                "upload" => drop(a.upload(&id, &location, &manifest).await?),
                "copy" => drop(a.copy_to(&b, &id).await?),
                _ => drop(b.download(&id, &scratch.path().join("downloaded")).await?),
            }
            store_times.push(started.elapsed());
        }
        let _ = std::fs::remove_dir_all(scratch.path().join("downloaded"));
    }
    println!(
        "backup stores: {documents} documents, {} files, {:.1} MiB, {rounds} rounds (medians)",
        manifest.files.len(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "{:<10} {:>12} {:>16} {:>22}",
        "operation", "store MiB/s", "file copy MiB/s", "time / file copy time"
    );
    for (name, store_times, file_times) in rows {
        let (store, file) = (median(store_times), median(file_times));
        println!(
            "{name:<10} {:>12.1} {:>16.1} {:>21.2}x",
            mib_per_second(bytes, store),
            mib_per_second(bytes, file),
            store.as_secs_f64() / file.as_secs_f64().max(1e-9)
        );
    }
    west.stop().await;
    east.stop().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(bench()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stores bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
