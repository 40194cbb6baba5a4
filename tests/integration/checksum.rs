//! Checksums and comparisons against real FerretDB servers: the digest's
//! MD5 equals an independent computation, the merge-join names the `_id`s
//! that differ, and mixed `_id` types sort as the server sorts them.

use drdrill::checksum::{
    ChecksumError, CompareOptions, DbHashCheck, DigestOptions, IndexDifference, compare_databases, digest_database,
};
use drdrill::progress::NoProgress;
use drdrill::provider::Backend;
use futures_util::TryStreamExt;
use md5::{Digest, Md5};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use crate::ctx::TestServer;

fn hosts(count: i32) -> Vec<Document> {
    (0..count)
        .map(|id| doc! {"_id": id, "name": format!("host-{id}"), "tags": ["a", "b"], "cpu": f64::from(id) / 4.0})
        .collect()
}

/// Mixed `_id` types FerretDB stores: int, long, double, string,
/// ObjectId, document, date.
fn mixed() -> Vec<Document> {
    vec![
        doc! {"_id": "zeta", "v": 1},
        doc! {"_id": ObjectId::from_bytes([9; 12]), "v": 2},
        doc! {"_id": 7, "v": 3},
        doc! {"_id": {"site": "b", "n": 1}, "v": 4},
        doc! {"_id": 2.5, "v": 5},
        doc! {"_id": "alpha", "v": 6},
        doc! {"_id": 9_i64, "v": 7},
        doc! {"_id": {"site": "a", "n": 2}, "v": 8},
        doc! {"_id": mongodb::bson::DateTime::from_millis(1_000), "v": 9},
        doc! {"_id": ObjectId::from_bytes([1; 12]), "v": 10},
    ]
}

async fn seed(database: &Database) {
    database
        .collection::<Document>("hosts")
        .insert_many(hosts(300))
        .await
        .unwrap();
    database
        .collection::<Document>("mixed")
        .insert_many(mixed())
        .await
        .unwrap();
    database
        .collection::<Document>("hosts")
        .create_index(
            IndexModel::builder()
                .keys(doc! {"name": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        )
        .await
        .unwrap();
    database
        .collection::<Document>("_drill_ticks")
        .insert_one(doc! {"seq": 1})
        .await
        .unwrap();
}

/// MD5 of a plain sorted drain, computed without the library.
async fn independent_md5(database: &Database, collection: &str) -> (u64, String) {
    let documents: Vec<RawDocumentBuf> = database
        .collection::<RawDocumentBuf>(collection)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut hasher = Md5::new();
    for document in &documents {
        hasher.update(document.as_bytes());
    }
    (documents.len() as u64, hex::encode(hasher.finalize()))
}

#[tokio::test]
async fn digest_matches_an_independent_md5() {
    let server = TestServer::start(Backend::Sqlite).await;
    let database = server.client.database("app");
    seed(&database).await;
    database.create_collection("empty").await.unwrap();

    let digest = digest_database(&database, &DigestOptions::default(), &NoProgress)
        .await
        .unwrap();

    let names: Vec<&str> = digest.collections.keys().map(String::as_str).collect();
    assert_eq!(names, ["empty", "hosts", "mixed"]);
    assert_eq!(digest.excluded, ["_drill_ticks"]);
    for name in ["hosts", "mixed"] {
        let (count, md5) = independent_md5(&database, name).await;
        assert_eq!(digest.collections[name].count, count, "{name}");
        assert_eq!(digest.collections[name].md5, md5, "{name}");
    }
    assert_eq!(digest.collections["hosts"].count, 300);
    assert_eq!(digest.collections["empty"].md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(digest.collections["empty"].count, 0);
    let index_names: Vec<&str> = digest.collections["hosts"]
        .indexes
        .iter()
        .map(|index| index.name.as_str())
        .collect();
    assert_eq!(index_names, ["_id_", "name_1"]);
    assert!(digest.collections["hosts"].indexes[1].unique);
    match &digest.db_hash {
        DbHashCheck::NotOffered { reason } => {
            assert!(reason.contains("FerretDB") && reason.contains("59"), "{reason}")
        }
        other => panic!("FerretDB has no dbHash, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_database_is_an_error_that_names_it() {
    let server = TestServer::start(Backend::Sqlite).await;
    let options = DigestOptions {
        server: Some("mongodb://user:secret@127.0.0.1:1/".into()),
        ..DigestOptions::default()
    };
    let error = digest_database(&server.client.database("nowhere"), &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(error, ChecksumError::DatabaseMissing { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("database \"nowhere\" does not exist on mongodb://user:****@127.0.0.1:1/"),
        "{message}"
    );
}

#[tokio::test]
async fn differences_between_two_servers_are_named_by_id() {
    let (source_server, target_server) =
        tokio::join!(TestServer::start(Backend::Sqlite), TestServer::start(Backend::Sqlite));
    let source = source_server.client.database("app");
    let target = target_server.client.database("app");
    tokio::join!(seed(&source), seed(&target));
    let target_hosts = target.collection::<Document>("hosts");
    target_hosts
        .update_one(doc! {"_id": 17}, doc! {"$set": {"name": "renamed"}})
        .await
        .unwrap();
    target_hosts.delete_one(doc! {"_id": 42}).await.unwrap();
    target_hosts
        .insert_one(doc! {"_id": 1000, "name": "intruder"})
        .await
        .unwrap();
    target_hosts.drop_index("name_1").await.unwrap();
    target
        .collection::<Document>("only_target")
        .insert_one(doc! {"_id": "x"})
        .await
        .unwrap();
    // The ticks differ too, but they are excluded.
    target
        .collection::<Document>("_drill_ticks")
        .insert_one(doc! {"seq": 2})
        .await
        .unwrap();

    let comparison = compare_databases(&source, &target, &CompareOptions::default(), &NoProgress)
        .await
        .unwrap();

    assert!(!comparison.is_identical());
    let by_name = |name: &str| comparison.collections.iter().find(|c| c.name == name).unwrap();
    let hosts = by_name("hosts");
    assert_eq!(hosts.changed.ids, [Bson::Int32(17)]);
    assert_eq!(hosts.missing.ids, [Bson::Int32(42)]);
    assert_eq!(hosts.extra.ids, [Bson::Int32(1000)]);
    assert_eq!((hosts.changed.total, hosts.missing.total, hosts.extra.total), (1, 1, 1));
    assert!(matches!(hosts.index_differences.as_slice(), [IndexDifference::Missing(spec)] if spec.name == "name_1"));
    assert!(by_name("mixed").is_identical());
    let only_target = by_name("only_target");
    assert!(only_target.source.is_none());
    assert_eq!(only_target.extra.ids, [Bson::String("x".into())]);
    assert_eq!(comparison.excluded, ["_drill_ticks"]);
    assert!(comparison.target_exists);
    let json = serde_json::to_value(&comparison).unwrap();
    assert_eq!(json["collections"][0]["name"], "hosts");
}

#[tokio::test]
async fn mixed_id_types_sort_as_the_server_sorts_them() {
    let (source_server, target_server) =
        tokio::join!(TestServer::start(Backend::Sqlite), TestServer::start(Backend::Sqlite));
    let source = source_server.client.database("app");
    let target = target_server.client.database("app");
    source
        .collection::<Document>("mixed")
        .insert_many(mixed())
        .await
        .unwrap();
    // Inserted in another order: the server's sort, not insertion, decides.
    let mut reversed = mixed();
    reversed.reverse();
    target
        .collection::<Document>("mixed")
        .insert_many(reversed)
        .await
        .unwrap();

    let comparison = compare_databases(&source, &target, &CompareOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(comparison.is_identical(), "{comparison:#?}");

    // Force the merge-join on the mixed collection: change one document
    // and check that nothing else is reported, which only holds when our
    // order equals the server's (otherwise the merge errs or reports
    // spurious missing/extra `_id`s).
    target
        .collection::<Document>("mixed")
        .update_one(doc! {"_id": {"site": "a", "n": 2}}, doc! {"$set": {"v": 80}})
        .await
        .unwrap();
    let comparison = compare_databases(&source, &target, &CompareOptions::default(), &NoProgress)
        .await
        .unwrap();
    let mixed = &comparison.collections[0];
    assert_eq!(mixed.changed.ids, [Bson::Document(doc! {"site": "a", "n": 2})]);
    assert!(mixed.missing.is_empty() && mixed.extra.is_empty(), "{mixed:#?}");
}

#[tokio::test]
async fn a_lost_target_database_reports_every_collection_missing() {
    let (source_server, target_server) =
        tokio::join!(TestServer::start(Backend::Sqlite), TestServer::start(Backend::Sqlite));
    let source = source_server.client.database("app");
    seed(&source).await;
    let options = CompareOptions {
        max_ids: 2,
        ..CompareOptions::default()
    };
    let comparison = compare_databases(&source, &target_server.client.database("app"), &options, &NoProgress)
        .await
        .unwrap();
    assert!(!comparison.target_exists);
    let hosts = comparison.collections.iter().find(|c| c.name == "hosts").unwrap();
    assert_eq!(hosts.missing.total, 300);
    assert_eq!(hosts.missing.ids, [Bson::Int32(0), Bson::Int32(1)]);
}

/// Tick documents (`_id: {"_drill_tick": seq}`) beside the user's data in a
/// collection a disaster touches: the digest's count and MD5 are those of
/// the user's documents alone, and a comparison with a side that has
/// different ticks (or none) finds the collection identical.
#[tokio::test]
async fn tick_documents_in_a_user_collection_are_invisible_to_digests_and_comparisons() {
    let (source_server, target_server) =
        tokio::join!(TestServer::start(Backend::Sqlite), TestServer::start(Backend::Sqlite));
    let source = source_server.client.database("app");
    let target = target_server.client.database("app");
    tokio::join!(seed(&source), seed(&target));
    let before = digest_database(&source, &DigestOptions::default(), &NoProgress)
        .await
        .unwrap();
    let ticks: Vec<Document> = (1..=5_u64)
        .map(
            |seq| doc! {"_id": drdrill::measure::tick_id(seq), "seq": seq as i64, "name": format!("_drill_tick:{seq}")},
        )
        .collect();
    source.collection::<Document>("hosts").insert_many(ticks).await.unwrap();
    // The rule the readers apply is the one the writer's ids follow.
    assert!(drdrill::measure::is_tick_id(&drdrill::measure::tick_id(5)));

    let after = digest_database(&source, &DigestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(after.collections["hosts"].count, 300);
    assert_eq!(after.collections["hosts"], before.collections["hosts"]);
    let comparison = compare_databases(&source, &target, &CompareOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(comparison.is_identical(), "{comparison:#?}");
    // The server still holds them: only the readers of user data skip them.
    let total = source
        .collection::<Document>("hosts")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(total, 305);
    tokio::join!(source_server.teardown(), target_server.teardown());
}
