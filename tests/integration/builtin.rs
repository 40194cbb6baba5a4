//! The builtin backup engine against real FerretDB: dumps in every layout
//! restored into a fresh server with identical counts, `_id`-order MD5s and
//! indexes; the genuine mongodump fixtures restored exactly; selective,
//! renaming and dry-run restores; and every corruption case named precisely.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bson::{Bson, DateTime, Document, RawDocumentBuf, doc, oid::ObjectId};
use drdrill::backup::builtin;
use drdrill::backup::{BackupLocation, DumpRequest, Layout, RestoreRequest};
use drdrill::progress::{NoProgress, ProgressSink};
use drdrill::provider::Backend;
use drdrill::uri::MongoUri;
use futures_util::TryStreamExt;
use md5::{Digest, Md5};
use mongodb::{Client, IndexModel, options::IndexOptions};

use crate::ctx::{self, TestServer};

/// The error and its causes, as the CLI prints them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Count and MD5 over the raw documents in ascending `_id` order.
async fn digest(client: &Client, database: &str, collection: &str) -> (u64, String) {
    let mut cursor = client
        .database(database)
        .collection::<RawDocumentBuf>(collection)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .batch_size(1000)
        .await
        .unwrap();
    let mut hasher = Md5::new();
    let mut count = 0;
    while let Some(document) = cursor.try_next().await.unwrap() {
        hasher.update(document.as_bytes());
        count += 1;
    }
    (count, hex::encode(hasher.finalize()))
}

async fn index_names(client: &Client, database: &str, collection: &str) -> Vec<String> {
    let mut names = client
        .database(database)
        .collection::<Document>(collection)
        .list_index_names()
        .await
        .unwrap();
    names.sort();
    names
}

async fn collection_names(client: &Client, database: &str) -> Vec<String> {
    let mut names = client.database(database).list_collection_names().await.unwrap();
    names.sort();
    names
}

/// A few thousand documents of varied types, a unique index, and ticks.
async fn seed(client: &Client, database: &str, configurations: usize) {
    let db = client.database(database);
    let documents: Vec<Document> = (0..configurations)
        .map(|index| {
            doc! {
                "_id": index as i64 * 3 + 1,
                "service": format!("service-{}", index % 17),
                "key": format!("key-{index}"),
                "value": if index % 3 == 0 { Bson::Int32(index as i32) } else { Bson::String(format!("välue {index}")) },
                "ratio": index as f64 / 7.0,
                "enabled": index % 2 == 0,
                "tags": ["a", "b", format!("t{}", index % 5)],
                "nested": { "depth": { "n": index as i64, "at": DateTime::from_millis(1_700_000_000_000 + index as i64) } },
                "blob": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![index as u8; 16] },
                "nothing": Bson::Null,
            }
        })
        .collect();
    let configurations_collection = db.collection::<Document>("configurations");
    configurations_collection.insert_many(documents).await.unwrap();
    configurations_collection
        .create_index(
            IndexModel::builder()
                .keys(doc! { "key": 1 })
                .options(
                    IndexOptions::builder()
                        .unique(true)
                        .name("key_unique".to_owned())
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    let users: Vec<Document> = (0..300)
        .map(|index| {
            let mut bytes = [7u8; 12];
            bytes[8..].copy_from_slice(&(index as u32).to_be_bytes());
            doc! { "_id": ObjectId::from_bytes(bytes), "email": format!("u{index}@example.org") }
        })
        .collect();
    db.collection::<Document>("users").insert_many(users).await.unwrap();
    let ticks: Vec<Document> = (0..50)
        .map(|seq| doc! { "_id": seq, "seq": seq, "t_ack": DateTime::from_millis(1_700_000_000_000 + seq * 100) })
        .collect();
    db.collection::<Document>("_drill_ticks")
        .insert_many(ticks)
        .await
        .unwrap();
}

fn dump_request(server: &TestServer, database: &str, layout: Layout, out: PathBuf) -> DumpRequest {
    DumpRequest {
        uri: MongoUri::parse(&server.uri).unwrap(),
        database: database.to_owned(),
        collections: None,
        exclude: Vec::new(),
        layout,
        out,
        parallel_collections: 2,
    }
}

fn restore_request(uri: &str, source: BackupLocation, database: &str) -> RestoreRequest {
    RestoreRequest {
        uri: MongoUri::parse(uri).unwrap(),
        source,
        from_database: database.to_owned(),
        to_database: database.to_owned(),
        collections: None,
        drop: true,
        dry_run: false,
        workers_per_collection: 1,
        parallel_collections: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_layout_restores_identically_into_a_fresh_server() {
    let source = TestServer::start(Backend::Sqlite).await;
    let target = TestServer::start(Backend::Sqlite).await;
    seed(&source.client, "shepherd_cms", 3000).await;
    let folder = tempfile::tempdir().unwrap();
    let forms = [
        ("dir", Layout::Directory { gzip: false }, folder.path().join("dir")),
        (
            "dir-gzip",
            Layout::Directory { gzip: true },
            folder.path().join("dir-gzip"),
        ),
        (
            "archive-gzip",
            Layout::Archive { gzip: true },
            folder.path().join("dump.archive.gz"),
        ),
    ];
    for (name, layout, out) in forms {
        let outcome = builtin::dump(&dump_request(&source, "shepherd_cms", layout, out.clone()), &NoProgress)
            .await
            .unwrap_or_else(|error| panic!("{name}: {}", chain(&error)));
        let names: Vec<&str> = outcome.collections.iter().map(|result| result.name.as_str()).collect();
        assert_eq!(names, ["_drill_ticks", "configurations", "users"], "{name}");
        assert!(
            outcome
                .output
                .contains("done dumping shepherd_cms.configurations (3000 documents)"),
            "{name}: {}",
            outcome.output
        );
        let manifest = drdrill::backup::manifest::read_manifest(&outcome.location)
            .unwrap()
            .unwrap();
        let report = drdrill::backup::verify::verify_backup(&out);
        assert!(report.problems.is_empty(), "{name}: {:?}", report.problems);

        let restored = builtin::restore(
            &restore_request(&target.uri, outcome.location.clone(), "shepherd_cms"),
            &NoProgress,
        )
        .await
        .unwrap_or_else(|error| panic!("{name}: {}", chain(&error)));
        assert!(
            restored
                .collections
                .iter()
                .all(|result| result.failures == 0 && result.index_errors.is_empty()),
            "{name}: {restored:?}"
        );
        for collection in ["_drill_ticks", "configurations", "users"] {
            let expected = digest(&source.client, "shepherd_cms", collection).await;
            assert_eq!(
                digest(&target.client, "shepherd_cms", collection).await,
                expected,
                "{name} {collection}"
            );
            assert_eq!(
                manifest.collections[collection].count, expected.0,
                "{name} {collection}"
            );
            assert_eq!(
                manifest.collections[collection].md5.as_deref(),
                Some(expected.1.as_str()),
                "{name} {collection}"
            );
            assert_eq!(
                index_names(&target.client, "shepherd_cms", collection).await,
                index_names(&source.client, "shepherd_cms", collection).await,
                "{name} {collection}"
            );
        }
    }
    source.teardown().await;
    target.teardown().await;
}

/// The genuine mongodump fixtures (beside the main checkout).
fn fixtures() -> PathBuf {
    let root = ctx::project_root();
    ["../shared", "../../shared", "shared"]
        .iter()
        .map(|candidate| root.join(candidate).join("fixtures/real-mongodump"))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("shared/fixtures/real-mongodump not found near {}", root.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_mongodump_output_restores_exactly_in_all_four_forms() {
    let target = TestServer::start(Backend::Sqlite).await;
    let root = fixtures();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("expected.json")).unwrap()).unwrap();
    let expected = &expected["databases"]["shepherd_fixture"]["collections"];
    for form in ["dir", "dir-gzip", "dump.archive", "dump.archive.gz"] {
        let location = builtin::locate_backup(&root.join(form)).unwrap();
        let outcome = builtin::restore(&restore_request(&target.uri, location, "shepherd_fixture"), &NoProgress)
            .await
            .unwrap_or_else(|error| panic!("{form}: {}", chain(&error)));
        assert!(
            outcome
                .collections
                .iter()
                .all(|result| result.failures == 0 && result.index_errors.is_empty()),
            "{form}: {outcome:?}"
        );
        for (name, wanted) in expected.as_object().unwrap() {
            let (count, md5) = digest(&target.client, "shepherd_fixture", name).await;
            assert_eq!(count, wanted["count"].as_u64().unwrap(), "{form} {name}");
            assert_eq!(md5, wanted["md5"].as_str().unwrap(), "{form} {name}");
            let mut wanted_indexes: Vec<String> = wanted["indexes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|index| index["name"].as_str().unwrap().to_owned())
                .collect();
            wanted_indexes.sort();
            assert_eq!(
                index_names(&target.client, "shepherd_fixture", name).await,
                wanted_indexes,
                "{form} {name}"
            );
        }
    }
    target.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_renaming_and_dry_run_restores_touch_only_what_they_name() {
    let server = TestServer::start(Backend::Sqlite).await;
    seed(&server.client, "shepherd_cms", 1000).await;
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("dump");
    let dumped = builtin::dump(
        &dump_request(&server, "shepherd_cms", Layout::Directory { gzip: false }, out.clone()),
        &NoProgress,
    )
    .await
    .unwrap();
    let before_users = digest(&server.client, "shepherd_cms", "users").await;
    let before_configurations = digest(&server.client, "shepherd_cms", "configurations").await;

    // Change both collections, then restore only configurations from the
    // runbook's database folder.
    let db = server.client.database("shepherd_cms");
    db.collection::<Document>("configurations")
        .delete_many(doc! { "enabled": true })
        .await
        .unwrap();
    db.collection::<Document>("users")
        .insert_one(doc! { "_id": "extra" })
        .await
        .unwrap();
    let changed_users = digest(&server.client, "shepherd_cms", "users").await;
    let mut request = restore_request(
        &server.uri,
        BackupLocation::Directory {
            path: out.join("shepherd_cms"),
            gzip: false,
        },
        "shepherd_cms",
    );
    request.collections = Some(vec!["configurations".to_owned()]);
    let outcome = builtin::restore(&request, &NoProgress).await.unwrap();
    assert_eq!(outcome.collections.len(), 1);
    assert_eq!(
        digest(&server.client, "shepherd_cms", "configurations").await,
        before_configurations
    );
    assert_eq!(digest(&server.client, "shepherd_cms", "users").await, changed_users);
    assert_ne!(changed_users, before_users);

    // nsFrom/nsTo: the whole dump into another database.
    let mut renamed = restore_request(&server.uri, dumped.location.clone(), "shepherd_cms");
    renamed.to_database = "shepherd_copy".to_owned();
    renamed.workers_per_collection = 2;
    builtin::restore(&renamed, &NoProgress).await.unwrap();
    assert_eq!(digest(&server.client, "shepherd_copy", "users").await, before_users);
    assert_eq!(
        digest(&server.client, "shepherd_copy", "configurations").await,
        before_configurations
    );
    assert_eq!(
        index_names(&server.client, "shepherd_copy", "configurations").await,
        ["_id_", "key_unique"]
    );

    // Dry run: reads everything, writes nothing, says so.
    let mut dry = restore_request(&server.uri, dumped.location.clone(), "shepherd_cms");
    dry.to_database = "shepherd_dry".to_owned();
    dry.dry_run = true;
    let outcome = builtin::restore(&dry, &NoProgress).await.unwrap();
    assert!(outcome.dry_run);
    assert!(
        outcome
            .output
            .contains("dry run: read and checked 1350 document(s) of 3 collection(s); nothing was written"),
        "{}",
        outcome.output
    );
    assert!(collection_names(&server.client, "shepherd_dry").await.is_empty());

    // Restoring again without --drop: every document is a duplicate, counted
    // and named, not a crash.
    let mut again = restore_request(&server.uri, dumped.location.clone(), "shepherd_cms");
    again.drop = false;
    again.collections = Some(vec!["users".to_owned()]);
    server
        .client
        .database("shepherd_cms")
        .collection::<Document>("users")
        .delete_one(doc! { "_id": "extra" })
        .await
        .unwrap();
    let outcome = builtin::restore(&again, &NoProgress).await.unwrap();
    assert_eq!(outcome.collections[0].failures, 300);
    assert_eq!(outcome.collections[0].documents, 0);
    assert!(
        outcome
            .output
            .contains("300 document(s) of shepherd_cms.users failed: E11000 duplicate key error"),
        "{}",
        outcome.output
    );
    assert!(outcome.output.contains("(first _ids: ObjectId("), "{}", outcome.output);
    server.teardown().await;
}

/// A writable copy of a fixture form.
fn copy_fixture(form: &str, into: &Path) -> PathBuf {
    let target = into.join(form);
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures().join(form))
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    std::process::Command::new("chmod")
        .arg("-R")
        .arg("u+w")
        .arg(&target)
        .status()
        .unwrap();
    target
}

async fn dry_run_error(location: BackupLocation, database: &str) -> String {
    let mut request = restore_request("mongodb://127.0.0.1:1/", location, database);
    request.dry_run = true;
    chain(&builtin::restore(&request, &NoProgress).await.unwrap_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_backups_are_named_by_file_collection_and_offset() {
    let folder = tempfile::tempdir().unwrap();
    let dir = copy_fixture("dir", folder.path());
    let database = dir.join("shepherd_fixture");
    let location = BackupLocation::Directory {
        path: dir.clone(),
        gzip: false,
    };

    // Truncated .bson: cut 10 bytes off users.bson.
    let users = database.join("users.bson");
    let original = std::fs::read(&users).unwrap();
    std::fs::write(&users, &original[..original.len() - 10]).unwrap();
    let message = dry_run_error(location.clone(), "shepherd_fixture").await;
    assert!(
        message.starts_with(&format!("cannot read shepherd_fixture.users from the backup: file {} (namespace shepherd_fixture.users): document at offset ", users.display())),
        "{message}"
    );
    assert!(
        message.contains("declares") && message.contains("bytes but only"),
        "{message}"
    );

    // A flipped byte inside a document: the first element's type byte.
    let mut flipped = original.clone();
    flipped[4] = 0x77;
    std::fs::write(&users, &flipped).unwrap();
    let message = dry_run_error(location.clone(), "shepherd_fixture").await;
    assert_eq!(
        message.split(": ").take(3).collect::<Vec<_>>().join(": "),
        format!(
            "cannot read shepherd_fixture.users from the backup: file {} (namespace shepherd_fixture.users): document at offset 0 has a malformed element at the first element",
            users.display()
        )
    );
    std::fs::write(&users, &original).unwrap();

    // A missing .metadata.json: the restore proceeds and warns; verify flags it.
    std::fs::remove_file(database.join("users.metadata.json")).unwrap();
    let mut request = restore_request("mongodb://127.0.0.1:1/", location.clone(), "shepherd_fixture");
    request.dry_run = true;
    let outcome = builtin::restore(&request, &NoProgress).await.unwrap();
    assert!(
        outcome
            .output
            .contains("warning: no metadata for shepherd_fixture.users: restoring it without options or indexes"),
        "{}",
        outcome.output
    );
    let report = drdrill::backup::verify::verify_backup(&dir);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(
        report.problems[0].message,
        "shepherd_fixture.users: no metadata; a restore would recreate it without its indexes and options"
    );

    // A wrong gzip stream: plain bytes under a .gz name.
    let gzip_dir = copy_fixture("dir-gzip", folder.path());
    let audit = gzip_dir.join("shepherd_fixture/audit_log.bson.gz");
    std::fs::write(&audit, b"this is not gzip at all").unwrap();
    let message = dry_run_error(
        BackupLocation::Directory {
            path: gzip_dir.clone(),
            gzip: true,
        },
        "shepherd_fixture",
    )
    .await;
    assert!(
        message.starts_with(&format!("cannot read shepherd_fixture.audit_log from the backup: file {} (namespace shepherd_fixture.audit_log): bad gzip stream after 0 decompressed bytes", audit.display())),
        "{message}"
    );

    // A backup of another database.
    let message = dry_run_error(location.clone(), "shepherd_cms").await;
    assert_eq!(
        message,
        format!(
            "backup {} holds no database `shepherd_cms` (it holds: shepherd_fixture)",
            dir.display()
        )
    );

    // An archive cut in the middle.
    let archive = folder.path().join("cut.archive");
    let bytes = std::fs::read(fixtures().join("dump.archive")).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let message = dry_run_error(
        BackupLocation::Archive {
            path: archive.clone(),
            gzip: false,
        },
        "shepherd_fixture",
    )
    .await;
    assert!(message.starts_with("cannot read shepherd_fixture."), "{message}");
    assert!(
        message.contains(&format!("file {} (namespace shepherd_fixture.", archive.display())),
        "{message}"
    );
    assert!(message.contains("offset"), "{message}");
}

/// Counts documents as the engine reports them, so a test can act once a
/// dump or restore is under way without sleeping.
#[derive(Default)]
struct CountingProgress {
    documents: AtomicU64,
}

impl ProgressSink for CountingProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, units: u64) {
        self.documents.fetch_add(units, Ordering::SeqCst);
    }
    fn finish(&self) {}
}

/// Waits (polling, with a timeout) until the counter passes `at_least`.
async fn wait_for_progress(progress: &CountingProgress, at_least: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while progress.documents.load(Ordering::SeqCst) < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress past {at_least} documents"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_and_a_killed_server_never_leave_a_good_looking_backup() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    seed(&server.client, "shepherd_cms", 20_000).await;
    let folder = tempfile::tempdir().unwrap();

    // Full disk: an archive to /dev/full.
    let error = builtin::dump(
        &dump_request(
            &server,
            "shepherd_cms",
            Layout::Archive { gzip: false },
            PathBuf::from("/dev/full"),
        ),
        &NoProgress,
    )
    .await
    .unwrap_err();
    let message = chain(&error);
    assert!(
        message.starts_with(
            "cannot write the backup of shepherd_cms (archive /dev/full): file /dev/full: i/o error at offset "
        ),
        "{message}"
    );
    assert!(message.ends_with("No space left on device (os error 28)"), "{message}");

    // A restore killed mid-way: restore the fixtures' big collection set into
    // the server while it dies.
    let progress = Arc::new(CountingProgress::default());
    let out = folder.path().join("dump");
    let request = dump_request(&server, "shepherd_cms", Layout::Directory { gzip: false }, out.clone());
    let dumping = {
        let progress = Arc::clone(&progress);
        tokio::spawn(async move { builtin::dump(&request, progress.as_ref()).await })
    };
    wait_for_progress(&progress, 1000).await;
    server.deployment().kill(0).await.unwrap();
    let error = dumping.await.unwrap().unwrap_err();
    let message = chain(&error);
    assert!(message.starts_with("dump of shepherd_cms."), "{message}");
    assert!(
        message.contains(" failed after ") && message.contains("(last _id "),
        "{message}"
    );
    assert!(
        !drdrill::backup::manifest::manifest_path(&BackupLocation::Directory {
            path: out.clone(),
            gzip: false
        })
        .exists()
    );
    let leftovers: Vec<String> = std::fs::read_dir(out.join("shepherd_cms"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    server.teardown().await;

    // Restore killed mid-way.
    let mut target = TestServer::start(Backend::Sqlite).await;
    let progress = Arc::new(CountingProgress::default());
    let mut request = restore_request(
        &target.uri,
        BackupLocation::Archive {
            path: fixtures().join("dump.archive"),
            gzip: false,
        },
        "shepherd_fixture",
    );
    request.drop = false;
    let restoring = {
        let progress = Arc::clone(&progress);
        tokio::spawn(async move { builtin::restore(&request, progress.as_ref()).await })
    };
    wait_for_progress(&progress, 1).await;
    target.deployment().kill(0).await.unwrap();
    match restoring.await.unwrap() {
        Err(error) => {
            let message = chain(&error);
            assert!(
                message.starts_with("restore of shepherd_fixture.") || message.starts_with("shepherd_fixture"),
                "{message}"
            );
        }
        // The archive is small: the restore may have finished first.
        Ok(outcome) => assert!(outcome.collections.iter().all(|result| result.failures == 0)),
    }
    target.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_swaps_in_for_mongodump_and_mongorestore() {
    let server = TestServer::start(Backend::Sqlite).await;
    seed(&server.client, "shepherd_cms", 600).await;
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("backup");
    let out_text = out.to_string_lossy().into_owned();
    let output = ctx::run_drdrill(&["dump", "--uri", &server.uri, "--db", "shepherd_cms", "--out", &out_text]);
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("done dumping shepherd_cms.configurations (600 documents)"),
        "{stderr}"
    );

    let verified = ctx::run_drdrill(&["verify-backup", &out_text]);
    let (stdout, stderr) = ctx::text(&verified);
    assert_eq!(verified.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.ends_with(&format!("{out_text}: ok\n")), "{stdout}");

    // The runbook's selective restore of one .bson file.
    server
        .client
        .database("shepherd_cms")
        .collection::<Document>("configurations")
        .drop()
        .await
        .unwrap();
    let bson_file = out
        .join("shepherd_cms/configurations.bson")
        .to_string_lossy()
        .into_owned();
    let restored = ctx::run_drdrill(&[
        "restore",
        "--uri",
        &server.uri,
        "--db",
        "shepherd_cms",
        "--collection",
        "configurations",
        &bson_file,
    ]);
    let (stdout, stderr) = ctx::text(&restored);
    assert_eq!(restored.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(digest(&server.client, "shepherd_cms", "configurations").await.0, 600);
    assert_eq!(
        index_names(&server.client, "shepherd_cms", "configurations").await,
        ["_id_", "key_unique"]
    );

    // A damaged backup: exit 1 naming the file.
    std::fs::write(out.join("shepherd_cms/users.bson"), b"\x05\x00").unwrap();
    let damaged = ctx::run_drdrill(&["verify-backup", &out_text]);
    let (stdout, _) = ctx::text(&damaged);
    assert_eq!(damaged.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: shepherd_cms/users.bson: size 2 differs from the manifest's"),
        "{stdout}"
    );
    let missing = ctx::run_drdrill(&["verify-backup", "/nonexistent/backup"]);
    assert_eq!(missing.status.code(), Some(2));
    server.teardown().await;
}
