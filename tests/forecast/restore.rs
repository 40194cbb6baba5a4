//! The RTO forecast (`[forecast]`): the shipped `rto-forecast` drill runs on
//! 10,000 documents and forecasts its restore at 100,000; the test then
//! restores the same data at 100,000 documents, through the same engine on
//! the same kind of server, and finds the time inside the stated band.

use std::time::Duration;

use drdrill::backup::{BackupLocation, DumpRequest, Layout, RestoreRequest, builtin};
use drdrill::progress::NoProgress;
use drdrill::provider::Backend;
use drdrill::uri::MongoUri;

use crate::ctx::{self, TestServer, text};

#[tokio::test(flavor = "multi_thread")]
async fn a_10k_drill_forecasts_the_100k_restore_within_its_band() {
    let out = tempfile::tempdir().unwrap();
    let output = ctx::drdrill()
        .arg("run")
        .arg(ctx::project_root().join("scenarios/rto-forecast.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("rto-forecast forecast at 100000 documents: RTO"),
        "{stdout}"
    );
    let report = ctx::drill_report(out.path());
    let forecast = &report["forecast"];
    assert_eq!(forecast["target"]["documents"], 100_000, "{forecast:#}");
    let restore = forecast["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|phase| phase["phase"] == "restore")
        .expect("a restore phase");
    assert_eq!(restore["in_rto"], true);
    assert_eq!(restore["scaled_by"], "documents");
    let low = restore["low_ms"].as_u64().unwrap();
    let high = restore["high_ms"].as_u64().unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "rto_forecast")
        .expect("the rto_forecast check (fail = true)");
    assert_eq!(check["status"], "passed", "{check:#}");

    // The same data at 100,000 documents: seeded with the drill's profile
    // and seed, dumped as the drill dumps (builtin, gzip archive), restored
    // as the drill restores on this backend (one writer).
    let server = TestServer::start(Backend::Sqlite).await;
    let seeded = ctx::run_drdrill(&[
        "seed",
        "--uri",
        &server.uri,
        "--docs",
        "100000",
        "--seed",
        "42",
        "--quiet",
    ]);
    assert!(seeded.status.success(), "{:?}", text(&seeded));
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("dump.archive.gz");
    let uri = MongoUri::parse(&server.uri).unwrap();
    builtin::dump(
        &DumpRequest {
            uri: uri.clone(),
            database: "shepherd_cms".into(),
            collections: None,
            exclude: Vec::new(),
            layout: Layout::Archive { gzip: true },
            out: archive.clone(),
            parallel_collections: 4,
        },
        &NoProgress,
    )
    .await
    .unwrap();
    let restored = builtin::restore(
        &RestoreRequest {
            uri,
            source: BackupLocation::Archive {
                path: archive,
                gzip: true,
            },
            from_database: "shepherd_cms".into(),
            to_database: "shepherd_full".into(),
            collections: None,
            drop: true,
            dry_run: false,
            workers_per_collection: 1,
            parallel_collections: 1,
        },
        &NoProgress,
    )
    .await
    .unwrap();
    let documents: u64 = restored.collections.iter().map(|collection| collection.documents).sum();
    assert!(documents >= 100_000, "{documents}");
    let took = restored.duration;
    eprintln!(
        "restore forecast at 100,000 documents {} ms (band {low}..{high} ms); the real restore took {} ms",
        restore["forecast_ms"],
        took.as_millis()
    );
    assert!(
        took >= Duration::from_millis(low) && took <= Duration::from_millis(high),
        "the 100,000-document restore took {took:?}; the forecast's band was {low}..{high} ms: {restore:#}"
    );
    server.teardown().await;
}
