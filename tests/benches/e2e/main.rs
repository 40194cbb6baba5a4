//! End-to-end benchmarks against a real FerretDB started through the
//! harness's own `LocalDeployment`: the project's targets for checksum,
//! seeding, dump and restore, each measured as a ratio against a plain
//! driver baseline run side by side in the same run (A B A B, medians), and
//! peak memory of checksum and dump measured in a child process.
//!
//! `cargo bench --bench e2e`; sizes from `DRDRILL_BENCH_DOCS` (default
//! 100,000; 0 skips), `DRDRILL_BENCH_RSS_DOCS` (default 1,000,000; 0 skips),
//! `DRDRILL_BENCH_RSS_BACKEND` (`sqlite` or `postgresql`) and
//! `DRDRILL_BENCH_ROUNDS` (default 3); peak memory of `verify-backup` and
//! `restore --dryRun` (no server) on `DRDRILL_BENCH_SORT_MB` (default 300;
//! 0 skips) of documents in descending `_id` order and on the genuine
//! fixtures.

mod machine;
mod operations;
mod peak_memory;
mod reader_memory;
mod settings;
mod side_by_side;
mod table;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use drdrill::backup::builtin;
use drdrill::backup::tools::{self as backup_tools, ToolSet};
use drdrill::dataset::{Profile, SeedPlan};
use drdrill::progress::NoProgress;
use drdrill::provider::server_info::{Capabilities, ServerInfo};
use drdrill::provider::{Backend, LocalDeployment, LocalSpec};
use mongodb::Client;

use operations::{Prebuilt, Volume};
use peak_memory::{CHILD_VARIABLE, ChildOperation};
use settings::Settings;
use side_by_side::{Timings, alternate};
use table::{Row, render, throughput};

/// The dataset profile every bench seeds.
const PROFILE: &str = "shepherd-cms";
/// The plan's seed: fixed, so every run measures the same bytes.
const SEED: u64 = 20_260_101;
/// How long the real tools may run.
const TOOLS_TIMEOUT: Duration = Duration::from_secs(3600);

fn main() -> ExitCode {
    if let Ok(request) = std::env::var(reader_memory::READER_CHILD_VARIABLE) {
        return match reader_memory::child_main(&request) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench reader child {request}: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Ok(operation) = std::env::var(CHILD_VARIABLE) {
        return match peak_memory::child_main(&operation) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench child {operation}: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    match parent_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("e2e bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parent_main() -> anyhow::Result<()> {
    let settings = Settings::from_environment()?;
    let scratch = tempfile::Builder::new().prefix("drdrill-bench-").tempdir()?;
    let state = scratch.path().join("state");
    std::fs::create_dir_all(&state)?;
    // SAFETY: set before the runtime exists, while this is the only thread;
    // the provider writes its run records here instead of the user's state.
    unsafe { std::env::set_var("DRDRILL_STATE_DIR", &state) };
    println!("{}", machine::describe());
    println!(
        "settings: {} documents ({PROFILE}), peak-memory data set {} documents on {}, {} rounds, insert batch {}, \
         cursor batch {}",
        settings.documents,
        settings.rss_documents,
        settings.rss_backend,
        settings.rounds,
        settings.insert_batch,
        settings.cursor_batch
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let rows = runtime.block_on(run(&settings, scratch.path()))?;
    println!();
    print!("{}", render(&rows));
    Ok(())
}

/// A deployment started for the bench, torn down whatever happens.
async fn with_deployment<T>(
    backend: Backend,
    scratch: &Path,
    body: impl AsyncFnOnce(&LocalDeployment) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut spec = LocalSpec::new(format!("bench-{}-{backend}", std::process::id()));
    spec.backend = backend;
    spec.work_dir = scratch.join("work");
    let deployment = LocalDeployment::start(spec).await?;
    let result = body(&deployment).await;
    deployment.teardown().await;
    result
}

async fn run(settings: &Settings, scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    if settings.documents == 0 {
        rows.push(not_measured("ratio benches", "-", "DRDRILL_BENCH_DOCS=0"));
    } else {
        with_deployment(Backend::Sqlite, scratch, async |deployment| {
            ratio_benches(settings, scratch, deployment, &mut rows).await
        })
        .await?;
    }
    if settings.rss_documents == 0 {
        rows.push(not_measured(
            "checksum peak RSS",
            "< 150 MB",
            "DRDRILL_BENCH_RSS_DOCS=0",
        ));
        rows.push(not_measured("dump peak RSS", "< 150 MB", "DRDRILL_BENCH_RSS_DOCS=0"));
    } else {
        with_deployment(settings.rss_backend, scratch, async |deployment| {
            memory_benches(settings, scratch, deployment, &mut rows).await
        })
        .await?;
    }
    let scratch = scratch.to_owned();
    rows = tokio::task::spawn_blocking(move || {
        reader_memory::reader_benches(&scratch, &mut rows)?;
        anyhow::Ok(rows)
    })
    .await??;
    Ok(rows)
}

/// Targets 1, 2, 4 and 6: ratios against plain driver baselines.
async fn ratio_benches(
    settings: &Settings,
    scratch: &Path,
    deployment: &LocalDeployment,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let uri = deployment.uri();
    let client = Client::with_uri_str(uri.expose_secret()).await?;
    let capabilities = capabilities(&client, deployment.backend()).await?;
    let plan = SeedPlan::new(&Profile::builtin(PROFILE)?, settings.documents, SEED)?;
    let generating = Instant::now();
    let prebuilt = Prebuilt::generate(&plan, &capabilities);
    println!(
        "generated {} documents, {:.1} MB, in {:.2} s (outside every timing)",
        prebuilt.volume.documents,
        prebuilt.volume.bytes as f64 / 1e6,
        generating.elapsed().as_secs_f64()
    );
    let expected = prebuilt.volume;
    let collections: Vec<String> = prebuilt.collections.iter().map(|(name, _)| name.clone()).collect();
    let batch = settings.insert_batch;
    let cursor_batch = settings.cursor_batch;

    // 2. seeding over inserting the same documents pre-built.
    let source = "bench_seed";
    let seed_timings = alternate(
        settings.rounds,
        async || {
            operations::drop_database(&client, source).await?;
            let started = Instant::now();
            let volume = operations::seed(&client.database(source), &plan, &capabilities, batch).await?;
            let elapsed = started.elapsed();
            same_volume("seed_database", volume, expected)?;
            Ok(elapsed)
        },
        async || {
            operations::drop_database(&client, "bench_prebuilt").await?;
            let started = Instant::now();
            let database = client.database("bench_prebuilt");
            let volume = operations::insert_prebuilt(&database, &prebuilt, &plan, &capabilities, batch).await?;
            checked(started, "pre-built insert", volume, expected)
        },
    )
    .await?;
    operations::drop_database(&client, "bench_prebuilt").await?;
    rows.push(ratio_row(
        "seed / pre-built insert",
        &seed_timings,
        1.1,
        settings,
        &format!(
            "{} docs, batch {batch}, one writer, indexes included",
            expected.documents
        ),
    ));
    progress(rows);

    // 1. checksum over a plain sorted drain of the same collections. One
    // untimed drain first, so the first timed read does not pay for a cold
    // page cache alone.
    let database = client.database(source);
    operations::drain(&database, &collections, cursor_batch).await?;
    let checksum_timings = alternate(
        settings.rounds,
        async || {
            let started = Instant::now();
            let volume = operations::checksum(&database, &collections, cursor_batch).await?;
            checked(started, "checksum", volume, expected)
        },
        async || {
            let started = Instant::now();
            let volume = operations::drain(&database, &collections, cursor_batch).await?;
            checked(started, "sorted drain", volume, expected)
        },
    )
    .await?;
    rows.push(ratio_row(
        "checksum / sorted drain",
        &checksum_timings,
        1.15,
        settings,
        &format!("{} docs, cursor batch {cursor_batch}", expected.documents),
    ));
    progress(rows);

    // `digest_collection` asks `estimated_document_count` for its progress
    // total; timed alone once, since FerretDB may answer it with a scan.
    let started = Instant::now();
    for name in &collections {
        database
            .collection::<bson::RawDocumentBuf>(name)
            .estimated_document_count()
            .await?;
    }
    println!(
        "  (estimated_document_count over the {} collections alone: {:.2} s)",
        collections.len(),
        started.elapsed().as_secs_f64()
    );

    // 4. builtin dump against the drain, builtin restore against the bulk insert.
    let dump_dir = scratch.join("dump-builtin");
    let dump_timings = alternate(
        settings.rounds,
        async || {
            remove_dir(&dump_dir)?;
            let started = Instant::now();
            let outcome = builtin::dump(&operations::dump_request(&uri, source, &dump_dir), &NoProgress).await?;
            let documents = operations::outcome_documents(&outcome.collections);
            same_count("builtin dump", documents, expected.documents)?;
            Ok(started.elapsed())
        },
        async || {
            let started = Instant::now();
            let volume = operations::drain(&database, &collections, cursor_batch).await?;
            checked(started, "sorted drain", volume, expected)
        },
    )
    .await?;
    rows.push(ratio_row(
        "builtin dump / sorted drain",
        &dump_timings,
        f64::NAN,
        settings,
        &throughput_detail(expected, &dump_timings),
    ));
    progress(rows);
    let restore_timings = alternate(
        settings.rounds,
        async || {
            operations::drop_database(&client, "bench_restore").await?;
            let started = Instant::now();
            let request = operations::restore_request(&uri, &dump_dir, source, "bench_restore");
            let outcome = builtin::restore(&request, &NoProgress).await?;
            let documents = operations::outcome_documents(&outcome.collections);
            same_count("builtin restore", documents, expected.documents)?;
            Ok(started.elapsed())
        },
        async || {
            operations::drop_database(&client, "bench_prebuilt").await?;
            let started = Instant::now();
            let database = client.database("bench_prebuilt");
            let volume = operations::insert_prebuilt(&database, &prebuilt, &plan, &capabilities, batch).await?;
            checked(started, "pre-built insert", volume, expected)
        },
    )
    .await?;
    operations::drop_database(&client, "bench_restore").await?;
    operations::drop_database(&client, "bench_prebuilt").await?;
    rows.push(ratio_row(
        "builtin restore / pre-built insert",
        &restore_timings,
        f64::NAN,
        settings,
        &throughput_detail(expected, &restore_timings),
    ));
    progress(rows);

    // 6. builtin against the real tools, when they are here.
    match ToolSet::find() {
        Err(_) => rows.push(not_measured(
            "builtin vs mongodump/mongorestore",
            "builtin >= tools docs/s",
            "tools not on PATH: ratio not measured",
        )),
        Ok(tools) => {
            let tools_dir = scratch.join("dump-tools");
            let timings = alternate(
                settings.rounds,
                async || {
                    remove_dir(&dump_dir)?;
                    let started = Instant::now();
                    builtin::dump(&operations::dump_request(&uri, source, &dump_dir), &NoProgress).await?;
                    Ok(started.elapsed())
                },
                async || {
                    remove_dir(&tools_dir)?;
                    let started = Instant::now();
                    let request = operations::dump_request(&uri, source, &tools_dir);
                    backup_tools::dump(
                        &request,
                        &tools.mongodump,
                        TOOLS_TIMEOUT,
                        &std::env::temp_dir(),
                        &NoProgress,
                    )
                    .await?;
                    Ok(started.elapsed())
                },
            )
            .await?;
            rows.push(ratio_row(
                "builtin dump / mongodump (time)",
                &timings,
                1.0,
                settings,
                &throughput_detail(expected, &timings),
            ));
            let timings = alternate(
                settings.rounds,
                async || {
                    let started = Instant::now();
                    let request = operations::restore_request(&uri, &dump_dir, source, "bench_restore");
                    builtin::restore(&request, &NoProgress).await?;
                    Ok(started.elapsed())
                },
                async || {
                    let started = Instant::now();
                    let request = operations::restore_request(&uri, &tools_dir, source, "bench_restore");
                    backup_tools::restore(
                        &request,
                        &tools.mongorestore,
                        TOOLS_TIMEOUT,
                        &std::env::temp_dir(),
                        &NoProgress,
                    )
                    .await?;
                    Ok(started.elapsed())
                },
            )
            .await?;
            rows.push(ratio_row(
                "builtin restore / mongorestore (time)",
                &timings,
                1.0,
                settings,
                &throughput_detail(expected, &timings),
            ));
            remove_dir(&tools_dir)?;
        }
    }
    remove_dir(&dump_dir)?;
    Ok(())
}

/// Targets 3 and 5: peak memory of checksum and dump over a large data set.
async fn memory_benches(
    settings: &Settings,
    scratch: &Path,
    deployment: &LocalDeployment,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let uri = deployment.uri();
    let client = Client::with_uri_str(uri.expose_secret()).await?;
    let capabilities = capabilities(&client, deployment.backend()).await?;
    let plan = SeedPlan::new(&Profile::builtin(PROFILE)?, settings.rss_documents, SEED)?;
    let name = "bench_memory";
    let seeding = Instant::now();
    let volume = operations::seed(&client.database(name), &plan, &capabilities, settings.insert_batch).await?;
    let seconds = seeding.elapsed().as_secs_f64();
    println!(
        "peak-memory data set: seeded {} documents ({:.1} MB) on {} in {seconds:.1} s: {}",
        volume.documents,
        volume.bytes as f64 / 1e6,
        deployment.backend(),
        throughput(volume.documents, volume.bytes, seconds).trim()
    );
    let out = scratch.join("dump-memory");
    let mut peaks = Vec::new();
    for operation in [
        ChildOperation::Idle,
        ChildOperation::Drain,
        ChildOperation::Checksum,
        ChildOperation::Dump,
    ] {
        remove_dir(&out)?;
        let started = Instant::now();
        let peak = peak_memory::measure(operation, &uri, name, &out, settings.cursor_batch).await?;
        if operation != ChildOperation::Idle {
            same_count(&format!("{operation:?} child"), peak.documents, volume.documents)?;
        }
        println!(
            "child {operation:?}: peak RSS (VmHWM) {:.1} MB (wait4 ru_maxrss {:.1} MB), {:.1} s",
            megabytes(peak.peak_kilobytes),
            megabytes(peak.wait4_max_rss_kilobytes),
            started.elapsed().as_secs_f64()
        );
        peaks.push((operation, peak.peak_kilobytes));
    }
    remove_dir(&out)?;
    let peak_of = |wanted| {
        peaks
            .iter()
            .find(|(operation, _)| *operation == wanted)
            .map_or(0, |(_, kilobytes)| *kilobytes)
    };
    let reference = format!(
        "{} docs on {}; child floor (connect+ping) {:.1} MB, plain drain {:.1} MB",
        volume.documents,
        deployment.backend(),
        megabytes(peak_of(ChildOperation::Idle)),
        megabytes(peak_of(ChildOperation::Drain))
    );
    for (label, operation) in [
        ("checksum peak RSS", ChildOperation::Checksum),
        ("builtin dump peak RSS", ChildOperation::Dump),
    ] {
        let peak = megabytes(peak_of(operation));
        rows.push(Row {
            name: label.to_string(),
            measured: format!("{peak:.1} MB"),
            target: "< 150 MB".to_string(),
            met: Some(peak < 150.0),
            detail: reference.clone(),
        });
    }
    Ok(())
}

/// The server's capabilities; FerretDB's SQLite backend takes one writer.
async fn capabilities(client: &Client, backend: Backend) -> anyhow::Result<Capabilities> {
    let mut capabilities = ServerInfo::detect(client).await?.capabilities;
    if backend == Backend::Sqlite {
        capabilities.parallel_writes = false;
    }
    Ok(capabilities)
}

/// A ratio row; a NaN target means "reported, no target".
fn ratio_row(name: &str, timings: &Timings, target: f64, settings: &Settings, detail: &str) -> Row {
    let ratio = timings.ratio();
    Row {
        name: name.to_string(),
        measured: format!("{ratio:.3}x"),
        target: if target.is_nan() {
            "(report)".to_string()
        } else {
            format!("<= {target:.2}x")
        },
        met: (!target.is_nan()).then_some(ratio <= target),
        detail: format!(
            "medians {:.2} s vs {:.2} s of {} interleaved rounds; {detail}",
            timings.measured_median().as_secs_f64(),
            timings.baseline_median().as_secs_f64(),
            settings.rounds
        ),
    }
}

fn not_measured(name: &str, target: &str, why: &str) -> Row {
    Row {
        name: name.to_string(),
        measured: "-".to_string(),
        target: target.to_string(),
        met: None,
        detail: why.to_string(),
    }
}

fn throughput_detail(volume: Volume, timings: &Timings) -> String {
    format!(
        "{} vs {}",
        throughput(volume.documents, volume.bytes, timings.measured_median().as_secs_f64()).trim(),
        throughput(volume.documents, volume.bytes, timings.baseline_median().as_secs_f64()).trim()
    )
}

/// Prints the latest row as soon as it exists, so a long run shows progress.
fn progress(rows: &[Row]) {
    if let Some(row) = rows.last() {
        println!("  {}: {} ({})", row.name, row.measured, row.detail);
    }
}

fn checked(started: Instant, what: &str, volume: Volume, expected: Volume) -> anyhow::Result<Duration> {
    let elapsed = started.elapsed();
    same_volume(what, volume, expected)?;
    Ok(elapsed)
}

fn same_volume(what: &str, volume: Volume, expected: Volume) -> anyhow::Result<()> {
    anyhow::ensure!(
        volume == expected,
        "{what} handled {volume:?}, expected {expected:?}: the two sides did not do the same work"
    );
    Ok(())
}

fn same_count(what: &str, documents: u64, expected: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        documents == expected,
        "{what} handled {documents} documents, expected {expected}"
    );
    Ok(())
}

fn remove_dir(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(anyhow::anyhow!("remove {}: {error}", path.display())),
    }
}

fn megabytes(kilobytes: u64) -> f64 {
    kilobytes as f64 * 1024.0 / 1e6
}
