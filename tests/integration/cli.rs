//! The command line against real servers: seeding, checksums and
//! comparison, and bad input that must give one clear line, a non-zero exit
//! and no panic.

use bson::{Document, doc};
use drdrill::provider::Backend;
use futures_util::TryStreamExt;

use crate::ctx::{self, TestServer, text};

/// Runs `drdrill ARGS`, returns (exit code, stdout, stderr).
fn drdrill(args: &[&str]) -> (i32, String, String) {
    let output = ctx::run_drdrill(args);
    let (stdout, stderr) = text(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

fn assert_one_clear_line(args: &[&str], expected: &str) {
    let (code, stdout, stderr) = drdrill(args);
    assert_ne!(code, 0, "{args:?} succeeded: {stdout}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert!(
        lines.iter().any(|line| line.contains(expected)),
        "{args:?}: expected a line with {expected:?}, got:\n{stderr}"
    );
    assert!(lines.len() <= 3, "{args:?}: more than one clear line:\n{stderr}");
}

#[tokio::test]
async fn bad_input_gives_one_clear_line_and_a_non_zero_exit() {
    let server = TestServer::start(Backend::Sqlite).await;
    // Nothing listens on port 9.
    assert_one_clear_line(
        &[
            "checksum",
            "--uri",
            "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=1000",
        ],
        "cannot reach mongodb://127.0.0.1:9",
    );
    assert_one_clear_line(&["checksum", "--uri", "localhost:27017"], "malformed URI");
    assert_one_clear_line(&["checksum", "--uri", "mongodb://"], "malformed URI");
    assert_one_clear_line(&["checksum", "--uri", &server.uri, "--db", "no_such_db"], "no_such_db");
    assert_one_clear_line(&["seed", "--uri", &server.uri, "--docs", "0"], "--docs");
    assert_one_clear_line(&["seed", "--uri", &server.uri, "--docs", "many"], "not a number");
    // A password never shows, even in an error.
    let (_, _, stderr) = drdrill(&[
        "checksum",
        "--uri",
        "mongodb://admin:hunter2@127.0.0.1:9/?serverSelectionTimeoutMS=500",
    ]);
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("admin:****@"), "{stderr}");
    server.teardown().await;
}

#[tokio::test]
async fn compare_names_changed_deleted_and_added_documents() {
    let source = TestServer::start(Backend::Sqlite).await;
    let target = TestServer::start(Backend::Sqlite).await;
    let (code, _, stderr) = drdrill(&["seed", "--uri", &source.uri, "--docs", "2000", "--seed", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = drdrill(&["seed", "--uri", &target.uri, "--docs", "2000", "--seed", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = drdrill(&["compare", "--source", &source.uri, "--target", &target.uri]);
    assert_eq!(code, 0, "identical seeds differ:\n{stdout}");

    // One changed field, one deleted and one added document.
    let users = target.client.database("shepherd_cms").collection::<Document>("users");
    let ids: Vec<Document> = users
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .limit(2)
        .projection(doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let changed = ids[0].get("_id").unwrap().clone();
    let deleted = ids[1].get("_id").unwrap().clone();
    users
        .update_one(
            doc! {"_id": changed.clone()},
            doc! {"$set": {"email": "changed@example.org"}},
        )
        .await
        .unwrap();
    users.delete_one(doc! {"_id": deleted.clone()}).await.unwrap();
    users
        .insert_one(doc! {"_id": "added-by-test", "email": "new@example.org"})
        .await
        .unwrap();

    let (code, stdout, stderr) = drdrill(&["compare", "--source", &source.uri, "--target", &target.uri]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let id_text = |id: &bson::Bson| match id {
        bson::Bson::ObjectId(oid) => oid.to_hex(),
        other => other.to_string(),
    };
    assert!(
        stdout.contains("users: changed _id") && stdout.contains(&id_text(&changed)),
        "{stdout}"
    );
    assert!(
        stdout.contains("users: missing _id") && stdout.contains(&id_text(&deleted)),
        "{stdout}"
    );
    assert!(
        stdout.contains("users: extra _id") && stdout.contains("added-by-test"),
        "{stdout}"
    );
    let (code, json, _) = drdrill(&["compare", "--source", &source.uri, "--target", &target.uri, "--json"]);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let users = value["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|collection| collection["name"] == "users")
        .unwrap();
    assert_eq!(users["changed"]["total"], 1);
    assert_eq!(users["missing"]["total"], 1);
    assert_eq!(users["extra"]["total"], 1);
    source.teardown().await;
    target.teardown().await;
}

/// `drdrill checksum --json` of a server: collection → md5.
fn checksums(uri: &str) -> std::collections::BTreeMap<String, (u64, String)> {
    let (code, stdout, stderr) = drdrill(&["checksum", "--uri", uri, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    value["collections"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, digest)| {
            (
                name.clone(),
                (
                    digest["count"].as_u64().unwrap(),
                    digest["md5"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// MD5 over the raw BSON in `_id` order, computed here without the
/// harness's checksum code.
async fn independent_md5(server: &TestServer, collection: &str) -> String {
    use md5::Digest;
    let collection = server
        .client
        .database("shepherd_cms")
        .collection::<bson::RawDocumentBuf>(collection);
    let mut cursor = collection
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .batch_size(5000)
        .await
        .unwrap();
    let mut hasher = md5::Md5::new();
    while let Some(document) = cursor.try_next().await.unwrap() {
        hasher.update(document.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Seeds a fresh server with `documents` and returns its checksums (and,
/// for the first one, checks them against an independent computation).
async fn seeded_checksums(
    backend: Backend,
    seed: &str,
    documents: String,
    independent: bool,
) -> std::collections::BTreeMap<String, (u64, String)> {
    let server = TestServer::start(backend).await;
    let uri = server.uri.clone();
    let seed = seed.to_string();
    let docs = documents.clone();
    // The CLI runs in its own process; wait for it off the async threads.
    let digest = tokio::task::spawn_blocking(move || {
        let (code, _, stderr) = drdrill(&["seed", "--uri", &uri, "--docs", &docs, "--seed", &seed]);
        assert_eq!(code, 0, "{stderr}");
        checksums(&uri)
    })
    .await
    .unwrap();
    let total: u64 = digest.values().map(|(count, _)| count).sum();
    assert_eq!(total.to_string(), documents, "{backend}: {digest:#?}");
    if independent {
        for collection in ["configurations", "users"] {
            assert_eq!(
                digest[collection].1,
                independent_md5(&server, collection).await,
                "{collection}"
            );
        }
    }
    server.teardown().await;
    digest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_seed_gives_equal_checksums_on_both_backends_and_another_seed_differs() {
    let documents = std::env::var("DRDRILL_TEST_SEED_DOCS").unwrap_or_else(|_| "100000".into());
    // Five independent servers, seeded and checksummed side by side.
    let (sqlite_a, sqlite_b, postgres_a, postgres_b, other_seed) = tokio::join!(
        seeded_checksums(Backend::Sqlite, "42", documents.clone(), true),
        seeded_checksums(Backend::Sqlite, "42", documents.clone(), false),
        seeded_checksums(Backend::Postgresql, "42", documents.clone(), false),
        seeded_checksums(Backend::Postgresql, "42", documents.clone(), false),
        seeded_checksums(Backend::Postgresql, "43", documents.clone(), false),
    );
    assert_eq!(sqlite_a, sqlite_b, "same seed, two SQLite servers");
    assert_eq!(postgres_a, postgres_b, "same seed, two PostgreSQL servers");
    assert_eq!(sqlite_a, postgres_a, "same seed, SQLite and PostgreSQL");
    let differing = other_seed
        .iter()
        .filter(|(name, digest)| postgres_a.get(*name).map(|other| &other.1) != Some(&digest.1))
        .count();
    assert!(differing >= 5, "another seed changed only {differing} collections");
}
