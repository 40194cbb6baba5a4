//! The containers provider on a real engine (Podman here, Docker
//! elsewhere) with the FerretDB image the harness builds offline: start,
//! `hello`, every fault, and that nothing the run created is left behind
//! after a teardown, a panic, or a harness that vanished (then `clean`).
//!
//! These tests require the engine: without it they fail with a message
//! naming `scripts/podman-service`, never skip. Tests that need the real
//! `mongo` image are ignored here (no registry on these machines).

use std::time::Duration;

use bson::{Document, doc};
use drdrill::provider::containers::{
    CleanSelection, ContainerDeployment, ContainerError, ContainerSpec, ReplicaSetOptions, clean, engine, list_labelled,
};
use drdrill::provider::{Engine, ProviderError};

use crate::ctx;

/// Fails the test (naming the fix) when no engine answers.
async fn require_engine() {
    ctx::test_dirs();
    if let Err(error) = engine::connect_and_ping().await {
        panic!(
            "the containers tests need a container engine: run `eval \"$(scripts/podman-service)\"` first ({error})"
        );
    }
}

/// Whether `uri` answers `hello` within `within`.
async fn answers(uri: &str, within: Duration) -> bool {
    let Ok(client) = drdrill::provider::ready::probe_client(uri).await else {
        return false;
    };
    matches!(
        tokio::time::timeout(within, drdrill::provider::ready::hello(&client)).await,
        Ok(Ok(_))
    )
}

/// Polls until `uri` answers (or stops answering) as `expected`.
async fn wait_answers(uri: &str, expected: bool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while answers(uri, Duration::from_secs(1)).await != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still not {expected} after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(uri: &str) -> u64 {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    client
        .database("t")
        .collection::<Document>("c")
        .count_documents(doc! {})
        .await
        .unwrap()
}

/// Everything in the engine with this run's label.
async fn leftovers(run_id: &str) -> Vec<String> {
    let (_, docker) = engine::connect_and_ping().await.unwrap();
    list_labelled(&docker, Some(run_id))
        .await
        .unwrap()
        .iter()
        .map(|object| object.describe())
        .collect()
}

fn ferretdb_spec(name: &str) -> ContainerSpec {
    ContainerSpec::new(ctx::run_id(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferretdb_container_survives_every_fault_and_teardown_removes_all() {
    require_engine().await;
    let spec = ferretdb_spec("faults");
    let run_id = spec.run_id.clone();
    let mut deployment = ContainerDeployment::start(spec).await.unwrap();
    assert_eq!(deployment.engine(), Engine::Ferretdb);
    assert_eq!(deployment.node_count(), 1);

    let described = deployment.describe().await;
    assert_eq!(described[0].name, format!("drill-{run_id}-node-0"));
    assert_eq!(described[0].state, "running");
    assert!(described[0].uri.starts_with("mongodb://127.0.0.1:"));
    let labelled = leftovers(&run_id).await;
    assert!(
        labelled.contains(&format!("volume drill-{run_id}-node-0-data [run {run_id}]")),
        "{labelled:?}"
    );
    assert!(
        labelled.contains(&format!("network drill-{run_id} [run {run_id}]")),
        "{labelled:?}"
    );

    // The pinned address on the run's network answers from the host too:
    // what a replica set's URI and members use.
    let address = described[0].address.clone().expect("a pinned address");
    let by_address = format!("mongodb://{address}:27017/?directConnection=true");
    assert!(answers(&by_address, Duration::from_secs(2)).await, "{by_address}");

    let uri = deployment.uri().expose_secret().to_string();
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    client
        .database("t")
        .collection::<Document>("c")
        .insert_one(doc! {"_id": 1, "marker": "before"})
        .await
        .unwrap();
    drop(client);

    // Kill: the server is gone; starting it again finds the data on the volume.
    deployment.kill(0).await.unwrap();
    wait_answers(&uri, false, "after kill").await;
    assert_ne!(deployment.describe().await[0].state, "running");
    deployment.start_node(0).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    assert!(answers(&uri, Duration::from_secs(2)).await);
    assert_eq!(count(&uri).await, 1, "the volume kept the data across the kill");
    assert_eq!(
        deployment.describe().await[0].address.as_deref(),
        Some(address.as_str())
    );

    // Stop and start: same volume again.
    deployment.stop(0).await.unwrap();
    assert!(!answers(&uri, Duration::from_secs(1)).await);
    deployment.start_node(0).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    assert_eq!(count(&uri).await, 1);

    // Restart of a running node: same volume.
    deployment.restart(0).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    assert_eq!(count(&uri).await, 1);

    // Pause: connections hang; unpause: it answers again.
    deployment.pause(0).await.unwrap();
    assert_eq!(deployment.describe().await[0].state, "paused");
    assert!(
        !answers(&uri, Duration::from_secs(2)).await,
        "a paused node must not answer"
    );
    deployment.unpause(0).await.unwrap();
    wait_answers(&uri, true, "after unpause").await;

    // Network cut: unreachable through its published port; reconnect heals.
    deployment.disconnect(0).await.unwrap();
    wait_answers(&uri, false, "after disconnect").await;
    assert!(deployment.describe().await[0].disconnected);
    deployment.reconnect(0).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    wait_answers(&uri, true, "after reconnect").await;
    assert_eq!(count(&uri).await, 1);
    assert_eq!(
        deployment.describe().await[0].address.as_deref(),
        Some(address.as_str())
    );
    wait_answers(&by_address, true, "by address after reconnect").await;

    // Removal with the volume: the node and its data are gone.
    deployment.remove_with_volume(0).await.unwrap();
    assert_eq!(deployment.describe().await[0].state, "removed");
    assert!(!answers(&uri, Duration::from_secs(1)).await);
    let after_removal = leftovers(&run_id).await;
    assert_eq!(after_removal, [format!("network drill-{run_id} [run {run_id}]")]);
    assert!(matches!(
        deployment.kill(0).await,
        Err(ProviderError::InvalidState { .. })
    ));

    assert_eq!(deployment.teardown().await, None);
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_removes_every_node_volume_and_the_network() {
    require_engine().await;
    let mut spec = ferretdb_spec("two");
    spec.nodes = 2;
    let run_id = spec.run_id.clone();
    let deployment = ContainerDeployment::start(spec).await.unwrap();
    for index in 0..2 {
        let uri = deployment.node_uri(index).unwrap();
        assert!(answers(uri.expose_secret(), Duration::from_secs(2)).await);
    }
    assert_eq!(leftovers(&run_id).await.len(), 5, "2 containers, 2 volumes, 1 network");
    assert_eq!(deployment.primary().await, None, "FerretDB nodes are no replica set");
    assert_eq!(deployment.teardown().await, None);
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_leaves_everything_and_says_how_to_remove_it() {
    require_engine().await;
    let mut spec = ferretdb_spec("keep");
    spec.keep = true;
    let run_id = spec.run_id.clone();
    let deployment = ContainerDeployment::start(spec).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    let message = deployment.teardown().await.expect("a kept deployment says so");
    assert!(message.contains(&format!("drdrill clean --run {run_id}")), "{message}");
    assert!(
        answers(&uri, Duration::from_secs(2)).await,
        "kept containers keep running"
    );
    let removed = clean(&CleanSelection {
        run_id: Some(run_id.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_after_a_panic_leaves_nothing() {
    require_engine().await;
    let spec = ferretdb_spec("panic");
    let run_id = spec.run_id.clone();
    let task = tokio::spawn(async move {
        let deployment = ContainerDeployment::start(spec).await.unwrap();
        assert_eq!(deployment.node_count(), 1);
        panic!("a drill step failed");
    });
    let outcome = task.await;
    assert!(outcome.unwrap_err().is_panic());
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_harness_leaves_labels_that_clean_removes() {
    require_engine().await;
    let spec = ferretdb_spec("vanished");
    let run_id = spec.run_id.clone();
    let deployment = ContainerDeployment::start(spec).await.unwrap();
    // A harness killed with SIGKILL runs no destructor: forget is the same.
    std::mem::forget(deployment);
    assert_eq!(leftovers(&run_id).await.len(), 3);
    let record = drdrill::provider::record::state_dir().join(format!("{run_id}.json"));
    assert!(record.exists(), "the run is recorded: {}", record.display());
    // The owner (this process) is alive, so a plain clean leaves the run.
    let plain = clean(&CleanSelection {
        dry_run: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(!plain.iter().any(|line| line.contains(&run_id)), "{plain:?}");
    let removed = clean(&CleanSelection {
        run_id: Some(run_id.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert!(removed[0].starts_with("container "), "containers go first: {removed:?}");
    assert!(!record.exists(), "the run's record goes with its containers");
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_that_cannot_be_pulled_fails_fast_and_creates_nothing() {
    require_engine().await;
    let mut spec = ContainerSpec::new(ctx::run_id("nopull"));
    spec.engine = Engine::Mongodb;
    spec.image_tag = Some("drdrill-absent-tag".into());
    spec.pull_timeout = Duration::from_secs(15);
    let run_id = spec.run_id.clone();
    let started = std::time::Instant::now();
    let error = ContainerDeployment::start(spec).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let text = error.to_string();
    assert!(
        text.contains("image mongo:drdrill-absent-tag is not present and cannot be pulled"),
        "{text}"
    );
    assert!(text.contains("drdrill images"), "{text}");
    match error {
        ProviderError::Containers(inner) => assert!(matches!(*inner, ContainerError::ImageUnavailable { .. })),
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mongo image"]
async fn mongodb_replica_set_elects_a_primary_and_fails_over() {
    require_engine().await;
    let spec = ContainerSpec::mongodb_replica_set(ctx::run_id("rs"), 3, ReplicaSetOptions::default());
    let run_id = spec.run_id.clone();
    let mut deployment = ContainerDeployment::start(spec).await.unwrap();
    let uri = deployment.uri().expose_secret().to_string();
    assert!(uri.contains("replicaSet=drill"), "{uri}");
    // The replica-set URI works from the host: the driver finds the primary
    // by the hosts the set reports.
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    client
        .database("t")
        .collection::<Document>("c")
        .insert_one(doc! {"_id": 1})
        .await
        .unwrap();
    drop(client);
    let primary = deployment.primary().await.expect("a primary after start");
    let described = deployment.describe().await;
    assert_eq!(described.iter().filter(|node| node.primary == Some(true)).count(), 1);
    deployment.kill(primary).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if deployment
            .primary()
            .await
            .is_some_and(|new_primary| new_primary != primary)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new primary after killing {primary}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    deployment.start_node(primary).await.unwrap();
    assert_eq!(deployment.teardown().await, None);
    assert_eq!(leftovers(&run_id).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_command_lists_the_ferretdb_image_and_exits_2_for_an_unpullable_mongo() {
    require_engine().await;
    let output = ctx::run_drdrill(&["images", "--engine", "ferretdb", "--json"]);
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let image = &report["images"][0];
    assert_eq!(image["image"], "localhost/drdrill-ferretdb:v1.24.2");
    assert!(
        ["present", "built"].contains(&image["status"].as_str().unwrap()),
        "{image}"
    );

    let output = ctx::run_drdrill(&[
        "images",
        "--engine",
        "mongodb",
        "--mongo-tag",
        "drdrill-absent-tag",
        "--pull-timeout",
        "15",
    ]);
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("mongo:drdrill-absent-tag"), "{stdout}");
    assert!(stdout.contains("missing"), "{stdout}");
    assert!(stderr.contains("is not present and cannot be pulled"), "{stderr}");
}

/// `eval "$(scripts/podman-service)"` must return as soon as the service
/// answers when the script has to start it (a fresh machine, as in CI): a
/// process left holding the script's stdout would make the caller wait for
/// the service to end, forever. Starts a second service on a private socket
/// and stops it again.
#[test]
fn podman_service_script_returns_once_it_started_the_service() {
    let folder = tempfile::tempdir().unwrap();
    let socket = folder.path().join("podman.sock");
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg("exported=$(scripts/podman-service) && printf '%s' \"$exported\"")
        .current_dir(ctx::project_root())
        .env("DRDRILL_PODMAN_SOCKET", &socket)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let finished = (0..600).find_map(|_| {
        let status = child.try_wait().unwrap();
        if status.is_none() {
            // Polling interval, not synchronization: the condition is exit.
            std::thread::sleep(Duration::from_millis(100));
        }
        status
    });
    // Whatever happened, stop the service this test started.
    let service_pids: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*socket.to_string_lossy()))
        })
        .collect();
    for pid in &service_pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGTERM);
    }
    let Some(status) = finished else {
        let _ = child.kill();
        panic!("`eval \"$(scripts/podman-service)\"` did not return within 60 s after starting the service");
    };
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = ctx::text(&output);
    assert!(status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        format!("export DOCKER_HOST=unix://{}", socket.display()),
        "{stderr}"
    );
    assert!(
        stderr.contains("started the Podman service"),
        "the script did not start a service, so this proves nothing:\n{stderr}"
    );
    assert!(!service_pids.is_empty(), "no service process on {}", socket.display());
}

/// The runbook's `docker exec`: a command runs inside a node's container
/// through the engine's exec API with its output and exit code, and a file
/// comes out of the container byte for byte (the FerretDB image holds only
/// its binary, which serves as both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_inside_a_node_and_files_come_out_byte_for_byte() {
    require_engine().await;
    let deployment = ContainerDeployment::start(ferretdb_spec("exec")).await.unwrap();
    let version = deployment
        .exec(0, &["/ferretdb".into(), "--version".into()], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(version.code, Some(0), "{version:?}");
    assert!(
        format!("{}{}", version.stdout, version.stderr).contains("v1.24.2"),
        "{version:?}"
    );
    let missing = deployment
        .exec(0, &["mongodump".into(), "--version".into()], Duration::from_secs(30))
        .await
        .unwrap();
    assert!(matches!(missing.code, Some(126 | 127)), "{missing:?}");
    let folder = tempfile::tempdir().unwrap();
    let copied = folder.path().join("ferretdb");
    deployment.copy_file_out(0, "/ferretdb", &copied).await.unwrap();
    let original = std::fs::read(ctx::ferretdb_binary()).unwrap();
    let copied = std::fs::read(&copied).unwrap();
    assert_eq!(copied.len(), original.len());
    assert!(
        copied == original,
        "the copied binary differs from the one the image was built from"
    );
    deployment.teardown().await;
}
