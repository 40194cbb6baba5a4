//! Drills against a deployment someone else runs (`provider = "external"`):
//! the shipped `external-verified-copy` drill against a real server the test
//! starts. Nothing may be written to the source; the copy lands in an
//! ephemeral node the harness starts and removes, and is verified against
//! the dump's own manifest.

use bson::{Document, doc};
use drdrill::checksum::{DatabaseDigest, DigestOptions, compare_digests, digest_database};
use drdrill::progress::NoProgress;
use drdrill::provider::Backend;

use crate::ctx::{self, TestServer, text};

async fn digest(server: &TestServer) -> DatabaseDigest {
    digest_database(
        &server.client.database("shepherd_cms"),
        &DigestOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap()
}

/// The pids of server processes whose command line names an ephemeral
/// node's folder.
fn ephemeral_processes() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("-ephemeral") && cmdline.contains("ferretdb") {
            found.push(format!("{}: {cmdline}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_drill_verifies_a_copy_in_an_ephemeral_node_and_leaves_the_source_alone() {
    let server = TestServer::start(Backend::Sqlite).await;
    let database = server.client.database("shepherd_cms");
    let configurations = database.collection::<Document>("configurations");
    configurations
        .insert_many((0..300).map(|n| doc! { "_id": n, "key": format!("service-{n}"), "value": n * 7 }))
        .await
        .unwrap();
    configurations
        .create_index(mongodb::IndexModel::builder().keys(doc! { "key": 1 }).build())
        .await
        .unwrap();
    database
        .collection::<Document>("users")
        .insert_many((0..40).map(|n| doc! { "_id": format!("u{n}"), "email": format!("u{n}@example.org") }))
        .await
        .unwrap();
    let before = digest(&server).await;

    let out = tempfile::tempdir().unwrap();
    let output = ctx::drdrill()
        .arg("run")
        .arg(ctx::project_root().join("scenarios/external-verified-copy.toml"))
        .arg("--out")
        .arg(out.path())
        .env("DRDRILL_SOURCE_URI", &server.uri)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");

    // The source: the same collections, documents and indexes as before.
    let after = digest(&server).await;
    let comparison = compare_digests(&before, &after);
    assert_eq!(comparison.collections.len(), 2, "{comparison:?}");
    assert!(
        comparison
            .collections
            .iter()
            .all(|collection| collection.is_identical()),
        "the drill changed the source: {comparison:?}"
    );

    let report = ctx::drill_report(out.path());
    assert_eq!(report["verdict"]["kind"], "passed", "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    // The dump read with the production-safe default.
    assert_eq!(
        steps[0]["details"]["read_preference"], "secondaryPreferred",
        "{:#}",
        steps[0]
    );
    assert!(
        steps[0]["details"]["reference"].as_str().unwrap().contains("manifest"),
        "{:#}",
        steps[0]
    );
    // The restore went into an ephemeral node, not the source.
    let fresh = steps[1]["details"]["fresh_node"].as_str().expect("a fresh node");
    assert_ne!(fresh, server.uri);
    assert!(
        steps[2]["message"].as_str().unwrap().contains("2 collections match"),
        "{:#}",
        steps[2]
    );
    // RTO: from the start of the restore to the verified copy.
    let measurements = &report["measurements"];
    assert_eq!(measurements["rto_from"], "restore-start", "{measurements:#}");
    let verified = measurements["rto_verified_ms"].as_u64().expect("rto_verified_ms");
    assert!(verified > 0, "{measurements:#}");
    assert!(measurements["rpo_ms"].is_null(), "{measurements:#}");
    let rto_check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["counts_as"] == "rto")
        .expect("an rto check");
    assert_eq!(rto_check["status"], "passed", "{rto_check:#}");
    // The ephemeral node is gone.
    assert_eq!(ephemeral_processes(), Vec::<String>::new());
    server.teardown().await;
}
