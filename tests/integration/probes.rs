//! Steady-state probes, abort conditions and PII in copies, through the
//! `drdrill` binary against real FerretDB nodes (local provider): a probe
//! that fails before the disaster injects nothing; an abort that fires
//! mid-drill puts the deployment back as it was; every probe phase is a
//! check in the reports; `mask` leaves no source PII value in the copy and
//! the `pii` check names where one is left without it.

use std::path::{Path, PathBuf};

use drdrill::checksum::{DatabaseDigest, DigestOptions, digest_database};
use drdrill::dataset::{Profile, SeedOptions, SeedPlan, seed_database};
use drdrill::provider::Backend;
use drdrill::provider::server_info::ServerInfo;
use serde_json::Value;

use crate::ctx::{self, TestServer, text};

const DATABASE: &str = "shepherd_cms";

/// Writes `body` as `NAME.toml` in `folder` and runs it with `--keep`,
/// returning (exit code, stdout + stderr, report.json, the kept run).
fn run(folder: &Path, name: &str, body: &str) -> (i32, String, Value, KeptRun) {
    let file = folder.join(format!("{name}.toml"));
    std::fs::write(&file, format!("name = \"{name}\"\n{body}")).unwrap();
    let (code, output, report) = run_file(&file, &folder.join(format!("out-{name}")), true);
    let kept = KeptRun(report["run_id"].as_str().map(str::to_string));
    (code, output, report, kept)
}

/// The run of a drill started with `--keep`: removed (`drdrill clean --run`)
/// when the test ends, also when it fails before its own clean-up, so no
/// kept node outlives a failed test.
struct KeptRun(Option<String>);

impl Drop for KeptRun {
    fn drop(&mut self) {
        if let Some(run) = &self.0 {
            let _ = ctx::run_drdrill(&["clean", "--run", run]);
        }
    }
}

fn run_file(file: &Path, out: &Path, keep: bool) -> (i32, String, Value) {
    let mut command = ctx::drdrill();
    command.arg("run").arg(file).arg("--out").arg(out);
    if keep {
        command.arg("--keep");
    }
    let output = command.output().unwrap();
    ctx::drill_outcome(&output, out)
}

/// The check called `name` in a report.
fn check<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {:#}", report["checks"]))
}

/// The checksums of `documents` documents of shepherd-cms with `seed`, as
/// seeded into a server of our own: what a drill's source holds before
/// its disaster (the dataset is deterministic).
async fn expected_digest(documents: u64, seed: u64) -> DatabaseDigest {
    let server = TestServer::start(Backend::Sqlite).await;
    let info = ServerInfo::detect(&server.client).await.unwrap();
    let plan = SeedPlan::new(&Profile::builtin("shepherd-cms").unwrap(), documents, seed).unwrap();
    let database = server.client.database(DATABASE);
    seed_database(
        &database,
        &plan,
        &info.capabilities,
        &SeedOptions::for_server(&info),
        &drdrill::progress::NoProgress,
    )
    .await
    .unwrap();
    let digest = digest(&server.uri).await;
    server.teardown().await;
    digest
}

/// The checksums of the protected database at `uri` (which must answer).
async fn digest(uri: &str) -> DatabaseDigest {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    client
        .database("admin")
        .run_command(bson::doc! { "ping": 1 })
        .await
        .unwrap_or_else(|error| panic!("the node at {uri} does not answer: {error}"));
    digest_database(
        &client.database(DATABASE),
        &DigestOptions::default(),
        &drdrill::progress::NoProgress,
    )
    .await
    .unwrap()
}

/// The kept source of a drill holds exactly the seeded data; then it is
/// removed (`drdrill clean --run`).
async fn assert_kept_source_holds(report: &Value, documents: u64, seed: u64) {
    let uri = report["topology"]["uri"].as_str().unwrap().to_string();
    let kept = digest(&uri).await;
    let cleaned = ctx::run_drdrill(&["clean", "--run", report["run_id"].as_str().unwrap()]);
    assert!(cleaned.status.success(), "{:?}", text(&cleaned));
    let expected = expected_digest(documents, seed).await;
    let shown = |digest: &DatabaseDigest| {
        digest
            .collections
            .iter()
            .map(|(name, collection)| format!("{name} {} {}", collection.count, collection.md5))
            .collect::<Vec<_>>()
    };
    assert!(!expected.collections.is_empty());
    assert_eq!(
        shown(&kept),
        shown(&expected),
        "the source does not hold its data as before"
    );
}

/// A local one-node FerretDB with `documents` documents of shepherd-cms
/// seeded from `seed`, then `rest` (probes, `[abort]`) and one step per
/// entry of `steps`, each the body of a `[[steps]]` table.
fn scenario_body(documents: u64, seed: u64, rest: &str, steps: &[&str]) -> String {
    let mut body = format!(
        "[topology]\nprovider = \"local\"\nengine = \"ferretdb\"\n[workload]\nwrite_concern = 1\n\
         [dataset]\nprofile = \"shepherd-cms\"\ndocuments = {documents}\nseed = {seed}\n{rest}\n"
    );
    for step in steps {
        body.push_str(&format!("[[steps]]\n{step}\n"));
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_failing_before_the_disaster_makes_the_drill_inconclusive_and_injects_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let probe = r#"
[[probes]]
name = "enough-users"
kind = "count"
collection = "users"
min = 1000000
phases = ["before"]"#;
    let steps = [
        "kind = \"seed\"",
        "kind = \"backup\"\nengine = \"builtin\"",
        "kind = \"disaster\"\naction = \"drop-database\"",
        "kind = \"restore\"",
        "kind = \"verify\"",
    ];
    let body = scenario_body(300, 3, probe, &steps);
    let (code, output, report, _kept) = run(folder.path(), "probe-refuses", &body);
    assert_eq!(code, 2, "{output}");
    assert_eq!(report["verdict"]["kind"], "inconclusive", "{report:#}");
    let reason = report["verdict"]["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("steady state did not hold before the disaster"),
        "{reason}"
    );
    assert!(reason.contains("enough-users"), "{reason}");
    let probe = check(&report, "probe enough-users before");
    assert_eq!(probe["status"], "failed");
    assert!(probe["measured"].as_f64().unwrap() < 1_000_000.0, "{probe:#}");
    // No T_d: the disaster never ran, nor anything after it.
    assert!(report["measurements"]["disaster_at"].is_null(), "{report:#}");
    for step in &report["steps"].as_array().unwrap()[2..] {
        assert_eq!(step["status"], "skipped", "{step:#}");
        assert!(step["started"].is_null(), "{step:#}");
    }
    assert!(!output.contains("T_d"), "{output}");
    assert_kept_source_holds(&report, 300, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_file_during_a_paused_node_aborts_and_leaves_the_node_answering_with_its_data() {
    let folder = tempfile::tempdir().unwrap();
    let signal = folder.path().join("stop-the-drill");
    // The team's command after the disaster raises the signal: the abort
    // fires while the node is paused, during the long wait.
    let signal = signal.display();
    let touch = format!("kind = \"exec\"\ncommand = \"touch '{signal}'\"");
    let steps = [
        "kind = \"seed\"",
        "kind = \"disaster\"\naction = \"pause-node\"",
        &touch,
        "kind = \"wait\"\nduration = \"10m\"",
        "kind = \"exec\"\ncommand = \"echo never\"",
    ];
    let body = scenario_body(300, 4, &format!("[abort]\nsignal_file = \"{signal}\""), &steps);
    let (code, output, report, _kept) = run(folder.path(), "abort-on-signal", &body);
    assert_eq!(code, 2, "{output}");
    assert_eq!(report["verdict"]["kind"], "inconclusive", "{report:#}");
    let reasons = report["verdict"]["reasons"].to_string();
    assert!(reasons.contains("aborted by [abort] signal_file"), "{reasons}");
    let abort = check(&report, "abort");
    assert!(abort["message"].as_str().unwrap().contains("signal_file"), "{abort:#}");
    let recovery = check(&report, "abort recovery");
    assert_eq!(recovery["status"], "passed", "{recovery:#}");
    assert!(
        recovery["message"].as_str().unwrap().starts_with("node-0 brought back"),
        "{recovery:#}"
    );
    // The file appears while the `touch` step ends: the abort lands on it
    // or on the wait after it (the signal is looked for every 100 ms);
    // every later step is skipped either way.
    let steps = report["steps"].as_array().unwrap();
    let aborted = steps
        .iter()
        .position(|step| step["message"].as_str().unwrap_or("").contains("aborted"))
        .unwrap_or_else(|| panic!("no step says aborted: {steps:#?}"));
    assert!((2..=3).contains(&aborted), "{:#}", steps[aborted]);
    for step in &steps[aborted + 1..] {
        assert_eq!(step["status"], "skipped", "{step:#}");
    }
    assert!(report["measurements"]["disaster_at"].is_object());
    assert_kept_source_holds(&report, 300, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_failing_in_a_row_after_a_kill_aborts_and_restarts_the_node_with_its_data() {
    let folder = tempfile::tempdir().unwrap();
    let rest = r#"
[[probes]]
name = "writes"
kind = "canary"
interval = "200ms"
phases = ["during"]
[abort]
probe_failures = 3"#;
    let steps = [
        "kind = \"seed\"",
        "kind = \"disaster\"\naction = \"kill-node\"",
        "kind = \"wait\"\nduration = \"10m\"",
    ];
    let body = scenario_body(300, 6, rest, &steps);
    let (code, output, report, _kept) = run(folder.path(), "abort-on-probes", &body);
    assert_eq!(code, 2, "{output}");
    let abort = check(&report, "abort");
    let message = abort["message"].as_str().unwrap();
    assert!(
        message.contains("probe_failures: probe writes failed 3 time(s) in a row"),
        "{message}"
    );
    let during = check(&report, "probe writes during");
    assert_eq!(during["status"], "failed", "{during:#}");
    let recovery = check(&report, "abort recovery");
    assert_eq!(recovery["status"], "passed", "{recovery:#}");
    assert!(
        recovery["message"].as_str().unwrap().starts_with("node-0 brought back"),
        "{recovery:#}"
    );
    assert_kept_source_holds(&report, 300, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_aborts_a_drill_whose_node_is_stopped_and_starts_it_again() {
    let folder = tempfile::tempdir().unwrap();
    // Starting a node and seeding 300 documents takes a few seconds; the
    // wait after the stop would take ten minutes: the limit falls inside it.
    let steps = [
        "kind = \"seed\"",
        "kind = \"disaster\"\naction = \"stop-node\"",
        "kind = \"wait\"\nduration = \"10m\"",
    ];
    let body = scenario_body(300, 8, "[abort]\nmax_duration = \"20s\"", &steps);
    let (code, output, report, _kept) = run(folder.path(), "abort-on-time", &body);
    assert_eq!(code, 2, "{output}");
    assert!(report["measurements"]["disaster_at"].is_object(), "{report:#}");
    let abort = check(&report, "abort");
    let message = abort["message"].as_str().unwrap();
    assert!(
        message.contains("max_duration: the drill ran longer than 20s"),
        "{message}"
    );
    assert!(report["duration_ms"].as_u64().unwrap() < 120_000, "{report:#}");
    let recovery = check(&report, "abort recovery");
    assert_eq!(recovery["status"], "passed", "{recovery:#}");
    assert_kept_source_holds(&report, 300, 8).await;
}

fn shipped(name: &str) -> PathBuf {
    ctx::project_root().join("scenarios").join(format!("{name}.toml"))
}

#[test]
fn every_probe_phase_of_the_guarded_scenario_is_a_check_in_every_report() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("out");
    let (code, output, report) = run_file(&shipped("steady-state-guarded"), &out, false);
    assert_eq!(code, 0, "{output}");
    let expected = [
        "probe users before",
        "probe users during",
        "probe users after",
        "probe admin-reads before",
        "probe admin-reads during",
        "probe admin-reads after",
        "probe writes before",
        "probe writes after",
    ];
    for name in expected {
        let probe = check(&report, name);
        assert_eq!(probe["status"], "passed", "{probe:#}");
        assert_eq!(probe["counts_as"], "probe", "{probe:#}");
        // The terminal says each as it happens.
        assert!(output.contains(&format!("note: {name} held")), "{output}");
    }
    // The canary runs only before and after, as its phases say.
    assert!(!report["checks"].to_string().contains("probe writes during"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    for name in expected {
        assert!(junit.contains(name), "{name} missing in {junit}");
    }
}

#[test]
fn after_mask_the_pii_check_passes_and_without_it_names_where_source_pii_is() {
    let folder = tempfile::tempdir().unwrap();
    let (code, output, report) = run_file(&shipped("masked-copy"), &folder.path().join("masked"), false);
    assert_eq!(code, 0, "{output}");
    let pii = check(&report, "pii");
    assert_eq!(pii["status"], "passed", "{pii:#}");
    assert_eq!(pii["measured"], 0.0);
    let mask = &report["steps"][4];
    assert!(mask["message"].as_str().unwrap().contains("replaced"), "{mask:#}");

    let unmasked = std::fs::read_to_string(shipped("masked-copy"))
        .unwrap()
        .replace("name = \"masked-copy\"", "name = \"unmasked-copy\"")
        .replace("[[steps]]\nkind = \"mask\"\n", "");
    assert!(!unmasked.contains("\"mask\""));
    let file = folder.path().join("unmasked-copy.toml");
    std::fs::write(&file, unmasked).unwrap();
    let (code, output, report) = run_file(&file, &folder.path().join("unmasked"), false);
    assert_eq!(code, 1, "{output}");
    let pii = check(&report, "pii");
    assert_eq!(pii["status"], "failed", "{pii:#}");
    let message = pii["message"].as_str().unwrap();
    // Named by collection and field, and found by value beyond the users.
    assert!(
        message.contains("users.name") && message.contains("users.email"),
        "{message}"
    );
    assert!(
        message.contains("audit_log.") || message.contains("configurations."),
        "{message}"
    );
    assert!(report["verdict"]["reasons"].to_string().contains("pii"), "{report:#}");
}
