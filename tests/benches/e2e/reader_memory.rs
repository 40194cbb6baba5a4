//! Peak memory of reading a backup with no server: `verify-backup` and
//! `restore --dryRun` on a collection of at least 300 MB of small documents
//! in descending `_id` order (the worst case for the `_id`-order MD5, which
//! must sort them), and on the genuine fixtures. Each runs in a child
//! process of this executable (`DRDRILL_BENCH_READER_CHILD`) that reports
//! its own `VmHWM`, as `peak_memory` explains.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use bson::rawdoc;
use drdrill::backup::builtin;
use drdrill::backup::verify::verify_backup;
use drdrill::progress::NoProgress;
use drdrill::uri::MongoUri;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::peak_memory::{own_peak_kilobytes, reported};
use crate::table::Row;

/// Selects the child mode: `verify PATH` or `dry-run PATH`.
pub const READER_CHILD_VARIABLE: &str = "DRDRILL_BENCH_READER_CHILD";

/// Megabytes of documents in the descending collection
/// (`DRDRILL_BENCH_SORT_MB`, default 300; 0 skips it).
fn sorted_megabytes() -> anyhow::Result<u64> {
    match std::env::var("DRDRILL_BENCH_SORT_MB") {
        Ok(text) => Ok(text.parse()?),
        Err(_) => Ok(300),
    }
}

/// Writes `<root>/app/descending.bson.gz` (and its metadata): documents of
/// about 130 bytes with `_id` from high to low, `megabytes` of them.
fn write_descending(root: &Path, megabytes: u64) -> anyhow::Result<(u64, u64)> {
    let folder = root.join("app");
    std::fs::create_dir_all(&folder)?;
    let file = std::fs::File::create(folder.join("descending.bson.gz"))?;
    let mut writer = GzEncoder::new(BufWriter::new(file), Compression::fast());
    let target = megabytes * 1_000_000;
    let mut bytes = 0u64;
    let mut documents = 0u64;
    let mut id = i64::MAX;
    while bytes < target {
        let document = rawdoc! { "_id": id, "payload": "a small document of the kind a log collection holds, padded" };
        writer.write_all(document.as_bytes())?;
        bytes += document.as_bytes().len() as u64;
        documents += 1;
        id -= 1;
    }
    writer.finish()?.flush()?;
    std::fs::write(
        folder.join("descending.metadata.json"),
        r#"{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"uuid":"","collectionName":"descending","type":"collection"}"#,
    )?;
    Ok((documents, bytes))
}

/// The child's whole life: one read of the backup at `path`, then its peak.
pub fn child_main(request: &str) -> anyhow::Result<()> {
    let (operation, path) = request
        .split_once(' ')
        .ok_or_else(|| anyhow::anyhow!("{READER_CHILD_VARIABLE}={request}: expected `OPERATION PATH`"))?;
    let path = PathBuf::from(path);
    let documents: u64 = match operation {
        "verify" => {
            let report = verify_backup(&path);
            anyhow::ensure!(report.is_ok(), "verify-backup found problems: {:?}", report.problems);
            report.collections.iter().map(|collection| collection.documents).sum()
        }
        "dry-run" => {
            let location = builtin::locate_backup(&path)?;
            let database = builtin::OpenedBackup::open(&location)?
                .databases()
                .into_iter()
                .next()
                .unwrap_or_default();
            let request = drdrill::backup::RestoreRequest {
                uri: MongoUri::parse("mongodb://127.0.0.1:9/")?,
                source: location,
                from_database: database.clone(),
                to_database: database,
                collections: None,
                drop: false,
                dry_run: true,
                workers_per_collection: 1,
                parallel_collections: 1,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let outcome = runtime.block_on(builtin::restore(&request, &NoProgress))?;
            outcome.collections.iter().map(|collection| collection.documents).sum()
        }
        other => anyhow::bail!("{READER_CHILD_VARIABLE}: unknown operation {other}"),
    };
    println!("documents {documents}");
    println!("peak_kilobytes {}", own_peak_kilobytes()?);
    Ok(())
}

/// Runs one child and returns (peak kilobytes, documents).
fn measure(operation: &str, path: &Path) -> anyhow::Result<(u64, u64)> {
    let output = Command::new(std::env::current_exe()?)
        .env(READER_CHILD_VARIABLE, format!("{operation} {}", path.display()))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "child {operation} {} failed: {stdout}",
        path.display()
    );
    Ok((reported(&stdout, "peak_kilobytes ")?, reported(&stdout, "documents ")?))
}

/// The rows: both operations on the descending collection and on each
/// genuine fixture form.
pub fn reader_benches(scratch: &Path, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let mut backups: Vec<(String, PathBuf)> = Vec::new();
    let megabytes = sorted_megabytes()?;
    if megabytes > 0 {
        let root = scratch.join("descending");
        let started = Instant::now();
        let (documents, bytes) = write_descending(&root, megabytes)?;
        println!(
            "descending collection: {documents} documents, {:.1} MB, written in {:.1} s",
            bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        backups.push((
            format!("{documents} docs in descending _id order ({} MB)", bytes / 1_000_000),
            root,
        ));
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real-mongodump");
    for form in ["dir", "dir-gzip", "dump.archive", "dump.archive.gz"] {
        backups.push((format!("genuine fixture {form}"), fixtures.join(form)));
    }
    for (label, path) in &backups {
        for operation in ["verify", "dry-run"] {
            let started = Instant::now();
            let (peak, documents) = measure(operation, path)?;
            let peak = peak as f64 / 1024.0;
            println!(
                "{operation} of {label}: {documents} documents, peak RSS (VmHWM) {peak:.1} MB, {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let name = if operation == "verify" {
                "verify-backup"
            } else {
                "restore --dryRun"
            };
            rows.push(Row {
                name: format!("{name} peak RSS, {label}"),
                measured: format!("{peak:.1} MB"),
                target: "< 150 MB".to_string(),
                met: Some(peak < 150.0),
                detail: format!("{documents} documents, child process VmHWM"),
            });
        }
    }
    if megabytes > 0 {
        std::fs::remove_dir_all(scratch.join("descending"))?;
    }
    Ok(())
}
