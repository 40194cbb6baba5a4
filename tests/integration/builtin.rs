//! The builtin backup engine against real FerretDB: dumps in every layout
//! restored into a fresh server with identical counts, `_id`-order MD5s and
//! indexes; the genuine mongodump fixtures restored exactly; selective,
//! renaming and dry-run restores; and every corruption case named precisely.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bson::{Bson, DateTime, Document, RawDocumentBuf, doc, oid::ObjectId};
use drdrill::backup::builtin::{self, BuiltinError};
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
