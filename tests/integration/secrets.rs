//! Secrets and the plumbing around them: a password never reaches a
//! terminal, a report or a process's argument vector; commands get the
//! documented environment; a full-server dump restores whole.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bson::{Document, doc};
use drdrill::backup::{BackupLocation, DumpRequest, Layout};
use drdrill::progress::NoProgress;
use drdrill::provider::Backend;
use drdrill::uri::MongoUri;

use crate::ctx::{self, TestServer, text};

/// A password with a space; the driver accepts it, and a naive redactor
/// stops at the space.
const AWKWARD_URI: &str = "mongodb://admin:S3cret PW@127.0.0.1:1/";

/// Every file under `folder`, read as text.
fn every_file(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(every_file(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            files.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    files
}

/// `drdrill run FILE EXTRA... --out OUT`: the exit code, stdout and stderr.
fn run_scenario(file: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let output = ctx::drdrill()
        .arg("run")
        .arg(file)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

#[test]
fn checksum_never_prints_a_password_with_a_space_a_slash_or_an_at() {
    for uri in [
        AWKWARD_URI,
        "mongodb://admin:S3cret%20PW@127.0.0.1:1/",
        "mongodb://admin:S3cret/PW?x@127.0.0.1:1/",
        "mongodb://admin:S3cret@PW:x@127.0.0.1:1/",
    ] {
        let output = ctx::run_drdrill(&["checksum", "--uri", uri]);
        let (stdout, stderr) = text(&output);
        assert_ne!(output.status.code(), Some(0), "{uri}: {stdout}{stderr}");
        assert!(stderr.contains("error:"), "{uri}: {stderr}");
        assert!(
            !stdout.contains("S3cret") && !stderr.contains("S3cret"),
            "{uri} leaked:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn an_external_drill_keeps_the_password_out_of_every_report() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("external.toml");
    std::fs::write(
        &file,
        r#"name = "external-secret"
[topology]
provider = "external"
engine = "ferretdb"
uri_env = "DRDRILL_TEST_SOURCE_URI"
allow_destructive = true
[dataset]
profile = "shepherd-cms"
documents = 10
[[steps]]
kind = "seed"
[[steps]]
kind = "exec"
command = "echo \"$MONGO_URI\"; echo 'S3cret PW'"
"#,
    )
    .unwrap();
    let out = folder.path().join("out");
    // The URI comes from the environment (a password in the scenario text
    // is refused, below), as a CronJob hands it over from a Secret.
    let output = ctx::drdrill()
        .arg("run")
        .arg(&file)
        .arg("--allow-destructive")
        .arg("--out")
        .arg(&out)
        .env("DRDRILL_TEST_SOURCE_URI", AWKWARD_URI)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    let code = output.status.code();
    assert_ne!(code, Some(0), "{stdout}{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("S3cret"), "{stdout}{stderr}");
    let files = every_file(&out);
    for name in ["report.json", "junit.xml", "summary.md"] {
        assert!(
            files
                .iter()
                .any(|(path, _)| path.file_name().is_some_and(|file| file == name)),
            "no {name} among {:?}\n{stdout}{stderr}",
            files.iter().map(|(path, _)| path).collect::<Vec<_>>()
        );
    }
    for (path, content) in &files {
        assert!(
            !content.contains("S3cret"),
            "{} holds the password:\n{content}",
            path.display()
        );
    }
    // The drill did reach the deployment's URI (and shows it redacted): the
    // absence above is not for want of trying.
    assert!(
        files
            .iter()
            .any(|(_, content)| content.contains("mongodb://admin:****@127.0.0.1:1/")),
        "no report names the deployment"
    );

    // Written into the scenario instead, the password is a located error.
    let inline = folder.path().join("inline.toml");
    let source = std::fs::read_to_string(&file).unwrap();
    let at = source.find("uri_env").unwrap();
    let line = source[..at].lines().count() + 1;
    std::fs::write(
        &inline,
        source.replace(
            "uri_env = \"DRDRILL_TEST_SOURCE_URI\"",
            &format!("uri = \"{AWKWARD_URI}\""),
        ),
    )
    .unwrap();
    let output = ctx::drdrill().arg("validate").arg(&inline).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("inline.toml:{line}:")), "{stderr}");
    assert!(
        stderr.contains("topology.uri: ") && stderr.contains("holds a password"),
        "{stderr}"
    );
    assert!(!stderr.contains("S3cret"), "{stderr}");
}

/// A stand-in for `mongodump` (no real mongodump here): it records its own
/// command line as `ps` shows it (`/proc/self/cmdline`), the `--config`
/// file's path, mode and whether it holds the URI, then writes a one-file
/// dump where `--out` says.
fn stand_in_mongodump(folder: &Path) -> PathBuf {
    let path = folder.join("mongodump");
    std::fs::write(
        &path,
        r#"#!/bin/bash
if [ "$1" = --version ]; then echo "mongodump version: 100.13.0"; exit 0; fi
for argument in "$@"; do case "$argument" in --out=*) out="${argument#--out=}";; --db=*) db="${argument#--db=}";; --config=*) config="${argument#--config=}";; esac; done
tr '\0' ' ' < /proc/$$/cmdline > "$out.cmdline"
echo "$config" > "$out.config-path"
stat -c %a "$config" > "$out.config-mode"
grep -c 'S3cret PW' "$config" > "$out.config-holds-uri"
mkdir -p "$out/$db" && printf '\005\0\0\0\0' > "$out/$db/users.bson"
printf '2025-03-10T14:02:11.561+0000\tdone dumping %s.users (1 document)\n' "$db" >&2
"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn the_tools_engine_hands_the_uri_over_in_a_private_config_file() {
    let folder = tempfile::tempdir().unwrap();
    let work = folder.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let mongodump = stand_in_mongodump(folder.path());
    let out = folder.path().join("out");
    let request = DumpRequest {
        uri: MongoUri::parse("mongodb://backup:S3cret PW@db1:27017/?authSource=admin").unwrap(),
        database: "shepherd_cms".to_owned(),
        collections: None,
        exclude: Vec::new(),
        layout: Layout::Directory { gzip: false },
        out: out.clone(),
        parallel_collections: 0,
    };
    let outcome = drdrill::backup::tools::dump(&request, &mongodump, Duration::from_secs(30), &work, &NoProgress)
        .await
        .unwrap();
    let read = |suffix: &str| std::fs::read_to_string(format!("{}.{suffix}", out.display())).unwrap();
    let cmdline = read("cmdline");
    assert!(!cmdline.contains("S3cret"), "the password is in argv: {cmdline}");
    assert!(cmdline.contains("--config="), "{cmdline}");
    assert_eq!(read("config-mode").trim(), "600");
    assert_eq!(read("config-holds-uri").trim(), "1");
    let config = PathBuf::from(read("config-path").trim());
    assert!(
        config.starts_with(&work),
        "{} is not in the work folder",
        config.display()
    );
    assert!(!config.exists(), "{} was left behind", config.display());
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
    assert!(!outcome.output.contains("S3cret"), "{}", outcome.output);
}

#[test]
fn exec_steps_and_command_disasters_get_the_scenario_folder() {
    let folder = tempfile::tempdir().unwrap();
    let scenarios = folder.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    let file = scenarios.join("environment.toml");
    std::fs::write(
        &file,
        r#"name = "environment"
[topology]
provider = "local"
engine = "ferretdb"
[dataset]
profile = "shepherd-cms"
documents = 20
[[steps]]
kind = "seed"
[[steps]]
kind = "exec"
command = "echo \"$DRDRILL_SCENARIO_DIR\" > \"$DRDRILL_SCENARIO_DIR/exec.seen\""
[[steps]]
kind = "disaster"
action = "command"
command = "echo \"$DRDRILL_SCENARIO_DIR\" > \"$DRDRILL_SCENARIO_DIR/disaster.seen\""
"#,
    )
    .unwrap();
    let out = folder.path().join("out");
    let (_, stdout, stderr) = run_scenario(&file, &out, &[]);
    let expected = std::fs::canonicalize(&scenarios).unwrap();
    for name in ["exec.seen", "disaster.seen"] {
        let seen = std::fs::read_to_string(scenarios.join(name))
            .unwrap_or_else(|error| panic!("{name}: {error}\n{stdout}{stderr}"));
        assert_eq!(seen.trim(), expected.display().to_string(), "{name}");
    }
}

async fn seed_database(server: &TestServer, database: &str, documents: i32) {
    let collection = server.client.database(database).collection::<Document>("items");
    let batch: Vec<Document> = (0..documents)
        .map(|index| doc! { "_id": index, "name": format!("{database}-{index}") })
        .collect();
    collection.insert_many(batch).await.unwrap();
    server
        .client
        .database(database)
        .collection::<Document>("notes")
        .insert_one(doc! { "_id": 1, "text": database })
        .await
        .unwrap();
}

/// `drdrill checksum --json` of one database, without volatile fields.
fn checksum(uri: &str, database: &str) -> serde_json::Value {
    let output = ctx::run_drdrill(&["checksum", "--uri", uri, "--db", database, "--json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let digest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    digest["collections"].clone()
}

#[tokio::test]
async fn a_full_server_dump_restores_whole_and_ns_include_narrows_it() {
    let source = TestServer::start(Backend::Sqlite).await;
    seed_database(&source, "inventory", 120).await;
    seed_database(&source, "billing", 45).await;
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("dump");
    let out_text = out.to_string_lossy().into_owned();
    let dumped = ctx::run_drdrill(&["dump", "--engine", "builtin", "--uri", &source.uri, "--out", &out_text]);
    let (stdout, stderr) = text(&dumped);
    assert_eq!(dumped.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        out.join("inventory").is_dir() && out.join("billing").is_dir(),
        "{stderr}"
    );
    let location = drdrill::backup::builtin::locate_backup(&out).unwrap();
    assert!(matches!(location, BackupLocation::Directory { .. }), "{location:?}");

    let whole = TestServer::start(Backend::Sqlite).await;
    let restored = ctx::run_drdrill(&["restore", "--engine", "builtin", "--uri", &whole.uri, &out_text]);
    let (stdout, stderr) = text(&restored);
    assert_eq!(restored.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("inventory.items") && stdout.contains("billing.items"),
        "{stdout}"
    );
    for database in ["inventory", "billing"] {
        assert_eq!(
            checksum(&whole.uri, database),
            checksum(&source.uri, database),
            "{database}"
        );
    }

    let narrowed = TestServer::start(Backend::Sqlite).await;
    let restored = ctx::run_drdrill(&[
        "restore",
        "--engine",
        "builtin",
        "--uri",
        &narrowed.uri,
        "--nsInclude",
        "billing.*",
        &out_text,
    ]);
    let (stdout, stderr) = text(&restored);
    assert_eq!(restored.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(checksum(&narrowed.uri, "billing"), checksum(&source.uri, "billing"));
    let names = narrowed.client.list_database_names().await.unwrap();
    assert!(!names.contains(&"inventory".to_owned()), "{names:?}");
    for server in [source, whole, narrowed] {
        server.teardown().await;
    }
}

#[test]
fn the_restore_step_restores_every_database_of_a_full_server_backup() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("full-server.toml");
    std::fs::write(
        &file,
        r#"name = "full-server"
[topology]
provider = "local"
engine = "ferretdb"
[dataset]
profile = "shepherd-cms"
documents = 60
[[steps]]
kind = "seed"
[[steps]]
kind = "exec"
command = "drdrill seed --uri \"$MONGO_URI\" --db side_db --docs 30 --json > /dev/null"
[[steps]]
kind = "backup"
engine = "command"
command = "drdrill dump --engine builtin --uri \"$MONGO_URI\" --out \"$BACKUP_DIR/full\""
[[steps]]
kind = "disaster"
action = "drop-database"
[[steps]]
kind = "restore"
[[steps]]
kind = "verify"
"#,
    )
    .unwrap();
    let out = folder.path().join("out");
    let (code, stdout, stderr) = run_scenario(&file, &out, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let report = every_file(&out)
        .into_iter()
        .find(|(path, _)| path.ends_with("report.json") && path.parent() != Some(out.as_path()))
        .map(|(_, content)| serde_json::from_str::<serde_json::Value>(&content).unwrap())
        .expect("a drill report");
    let restore = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["kind"] == "restore")
        .expect("a restore step");
    let names: Vec<&str> = restore["details"]["restore"]["collections"]
        .as_array()
        .unwrap_or_else(|| panic!("{restore}"))
        .iter()
        .filter_map(|collection| collection["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|name| name.starts_with("side_db."))
            && names.iter().any(|name| name.starts_with("shepherd_cms.")),
        "{names:?}"
    );
}

/// Issue 14, production-safe by default: a drill that only backs up and
/// verifies an external deployment never writes to it (no tick writer, no
/// seed), however the URI is handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_only_external_drill_never_writes_to_the_source() {
    let server = TestServer::start(Backend::Sqlite).await;
    let database = server.client.database("shepherd_cms");
    database
        .collection::<Document>("configurations")
        .insert_many([doc! { "_id": 1, "key": "a" }, doc! { "_id": 2, "key": "b" }])
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("read-only.toml");
    std::fs::write(
        &file,
        r#"name = "external-read-only"
[topology]
provider = "external"
engine = "ferretdb"
uri_env = "DRDRILL_TEST_SOURCE_URI"
[dataset]
profile = "shepherd-cms"
documents = 10
[[steps]]
kind = "backup"
engine = "builtin"
[[steps]]
kind = "verify"
"#,
    )
    .unwrap();
    let out = folder.path().join("out");
    let output = ctx::drdrill()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .env("DRDRILL_TEST_SOURCE_URI", &server.uri)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let mut names = database.list_collection_names().await.unwrap();
    names.sort();
    assert_eq!(names, ["configurations"], "the drill wrote to the source");
    let count = database
        .collection::<Document>("configurations")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(count, 2);
    let report = every_file(&out)
        .into_iter()
        .find(|(path, _)| path.ends_with("report.json") && path.parent() != Some(out.as_path()))
        .map(|(_, text)| text)
        .expect("a drill report");
    assert!(
        report.contains("no write workload on an external deployment"),
        "{report}"
    );
    server.teardown().await;
}
