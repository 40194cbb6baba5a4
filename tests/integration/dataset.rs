//! Seeding the shepherd-cms profile into a real FerretDB.

use std::sync::atomic::{AtomicU64, Ordering};

use drdrill::dataset::{DatasetError, Profile, SeedOptions, SeedPlan, generate_document, seed_database};
use drdrill::progress::{NoProgress, ProgressSink};
use drdrill::provider::Backend;
use drdrill::provider::server_info::ServerInfo;
use mongodb::bson::{RawDocumentBuf, doc};

use crate::ctx::TestServer;

/// Counts the units it is told about.
#[derive(Default)]
struct CountingProgress {
    units: AtomicU64,
}

impl ProgressSink for CountingProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, units: u64) {
        self.units.fetch_add(units, Ordering::Relaxed);
    }
    fn finish(&self) {}
}

#[tokio::test]
async fn seeds_20_000_documents_with_counts_and_indexes_as_planned() {
    let server = TestServer::start(Backend::Sqlite).await;
    let info = ServerInfo::detect(&server.client).await.unwrap();
    assert_eq!(info.engine_name(), "ferretdb");
    let plan = SeedPlan::new(&Profile::builtin("shepherd-cms").unwrap(), 20_000, 42).unwrap();
    let database = server.client.database("shepherd_cms");
    let progress = CountingProgress::default();

    let summary = seed_database(
        &database,
        &plan,
        &info.capabilities,
        &SeedOptions::for_server(&info),
        &progress,
    )
    .await
    .unwrap();

    assert_eq!(summary.total_documents, 20_000);
    assert_eq!(progress.units.load(Ordering::Relaxed), 20_000);
    assert!(
        summary
            .left_out
            .contains(&"decimal128 values in configurations (not supported by engine)".to_string()),
        "{:?}",
        summary.left_out
    );
    for (name, planned) in plan.counts() {
        let collection = database.collection::<RawDocumentBuf>(name);
        let stored = collection.count_documents(doc! {}).await.unwrap();
        assert_eq!(stored, *planned, "{name}");
        let collection_summary = summary.collections.iter().find(|c| &c.name == name).unwrap();
        assert_eq!(collection_summary.documents, *planned, "{name}");
        assert!(collection_summary.bytes > 0);

        let server_indexes = collection.list_index_names().await.unwrap();
        for created in &collection_summary.indexes_created {
            assert!(
                server_indexes.contains(created),
                "{name}: {created} missing from {server_indexes:?}"
            );
        }
        for missing in &collection_summary.indexes_not_created {
            assert!(!server_indexes.contains(&missing.name), "{name}: {}", missing.name);
        }
        // Every index of the profile is accounted for, one way or the other.
        let profile_indexes = &plan.profile().collection(name).unwrap().indexes;
        assert_eq!(
            collection_summary.indexes_created.len() + collection_summary.indexes_not_created.len(),
            profile_indexes.len(),
            "{name}"
        );
        assert_eq!(
            server_indexes.len(),
            collection_summary.indexes_created.len() + 1,
            "{name}: {server_indexes:?}"
        );
    }
    let reasons: Vec<(&str, &str)> = summary
        .collections
        .iter()
        .flat_map(|c| {
            c.indexes_not_created
                .iter()
                .map(|i| (i.name.as_str(), i.reason.as_str()))
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "secret_partial",
                "not supported by engine ferretdb: partialFilterExpression"
            ),
            ("at_ttl", "not supported by engine ferretdb: expireAfterSeconds"),
        ]
    );
    // What the server returns is byte for byte what was generated.
    for (name, _) in plan.counts() {
        let generated = generate_document(&plan, name, 0, &info.capabilities);
        let stored = database
            .collection::<RawDocumentBuf>(name)
            .find_one(doc! { "_id": mongodb::bson::Bson::try_from(generated.get("_id").unwrap().unwrap()).unwrap() })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.as_bytes(), generated.as_bytes(), "{name}[0]");
    }
    let users = summary.collections.iter().find(|c| c.name == "users").unwrap();
    assert_eq!(
        users.notes,
        ["index sso_subject_sparse: sparse ignored by engine ferretdb"]
    );
}

#[tokio::test]
async fn refuses_existing_collections_unless_asked_to_drop_them() {
    let server = TestServer::start(Backend::Sqlite).await;
    let info = ServerInfo::detect(&server.client).await.unwrap();
    let plan = SeedPlan::new(&Profile::builtin("shepherd-cms").unwrap(), 200, 1).unwrap();
    let database = server.client.database("again");
    let options = SeedOptions::for_server(&info).with_batch_size(64);
    seed_database(&database, &plan, &info.capabilities, &options, &NoProgress)
        .await
        .unwrap();

    let error = seed_database(&database, &plan, &info.capabilities, &options, &NoProgress)
        .await
        .unwrap_err();
    let DatasetError::CollectionsExist { collections, .. } = &error else {
        panic!("expected CollectionsExist, got {error:?}");
    };
    assert_eq!(collections.len(), plan.counts().len());

    let summary = seed_database(
        &database,
        &plan,
        &info.capabilities,
        &options.clone().with_drop_existing(true),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(summary.total_documents, 200);
    let stored = database
        .collection::<RawDocumentBuf>("configurations")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(stored, plan.count("configurations"));
}
