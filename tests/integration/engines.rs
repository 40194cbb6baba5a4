//! Backup engines against real servers and genuine files: the team's runbook
//! script through the command engine (against FerretDB, and with the server
//! unreachable), `locate` on the genuine mongodump fixtures, and the real
//! tools where they are installed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use drdrill::backup::BackupLocation;
use drdrill::backup::command::{self, CommandExit, CommandRequest};
use drdrill::backup::locate::locate;
use drdrill::provider::Backend;
use drdrill::uri::MongoUri;

use crate::ctx::{self, TestServer};

fn runbook_script() -> PathBuf {
    ctx::project_root().join("fixtures/runbook/backup-mongo.sh")
}

fn fixtures() -> PathBuf {
    ctx::shared_dir().join("fixtures/real-mongodump")
}

/// A backup folder holding one backup 40 days old, which the runbook's
/// retention step (`-mtime +30 -delete`) removes.
fn backup_dir_with_old_backup(root: &Path) -> (PathBuf, PathBuf) {
    let backup_dir = root.join("backups");
    std::fs::create_dir_all(&backup_dir).unwrap();
    let old = backup_dir.join("shepherd_backup_20200101_000000.tar.gz");
    std::fs::write(&old, b"an old backup").unwrap();
    let touched = Command::new("touch")
        .args(["-d", "40 days ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());
    (backup_dir, old)
}

/// A stand-in for `mongodump`, used ONLY because the real MongoDB Database
/// Tools cannot be installed on the machines these tests run on (see
/// spec/environment.md). Like mongodump, it fails unless the server answers
/// on its port; then it writes the genuine mongodump output of the fixtures
/// (`dir/shepherd_fixture`) as `--out/<db>` and logs mongodump's lines.
fn fake_mongodump(folder: &Path) -> PathBuf {
    let path = folder.join("mongodump");
    let script = format!(
        r#"#!/bin/bash
echo "$@" > "{args}"
while [ $# -gt 0 ]; do
  case "$1" in
    --uri) uri="$2"; shift 2;;
    --db) db="$2"; shift 2;;
    --out) out="$2"; shift 2;;
    *) shift;;
  esac
done
hostport="${{uri#mongodb://}}"; hostport="${{hostport%%/*}}"; hostport="${{hostport##*@}}"
if ! (exec 3<>"/dev/tcp/${{hostport%:*}}/${{hostport##*:}}") 2>/dev/null; then
  printf '%s\tFailed: can'"'"'t create session: could not connect to server\n' "$(date +%Y-%m-%dT%H:%M:%S.000%z)" >&2
  exit 1
fi
mkdir -p "$out" && cp -R "{fixture}" "$out/$db"
for collection in configurations users; do
  printf '%s\tdone dumping %s.%s (%s documents)\n' "$(date +%Y-%m-%dT%H:%M:%S.000%z)" "$db" "$collection" 3 >&2
done
"#,
        args = folder.join("mongodump.args").display(),
        fixture = fixtures().join("dir/shepherd_fixture").display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn runbook_request(uri: &str, backup_dir: &Path, mongodump: &Path) -> CommandRequest {
    CommandRequest {
        command: runbook_script().display().to_string(),
        uri: MongoUri::parse(uri).unwrap(),
        database: "shepherd_fixture".to_owned(),
        backup_dir: backup_dir.to_owned(),
        run_id: ctx::run_id("runbook"),
        timeout: Duration::from_secs(120),
        // `drdrill dump` resolves to the binary built for these tests.
        drdrill_dir: Path::new(env!("CARGO_BIN_EXE_drdrill")).parent().map(Path::to_path_buf),
        env: vec![("MONGODUMP".to_owned(), mongodump.display().to_string())],
        working_dir: None,
    }
}

#[tokio::test]
async fn runbook_backup_against_ferretdb_is_located_as_tar_gz() {
    let server = TestServer::start(Backend::Sqlite).await;
    let root = tempfile::tempdir().unwrap();
    let (backup_dir, old) = backup_dir_with_old_backup(root.path());
    let fake = fake_mongodump(root.path());

    let server_uri = server.uri.clone();
    let outcome = command::run(&runbook_request(&server_uri, &backup_dir, &fake))
        .await
        .unwrap();
    server.teardown().await;

    assert_eq!(outcome.exit, CommandExit::Code { code: 0 }, "{}", outcome.output);
    assert!(outcome.output.contains("Backup completed: "), "{}", outcome.output);
    let arguments = std::fs::read_to_string(root.path().join("mongodump.args")).unwrap();
    assert!(
        arguments.starts_with(&format!("--uri {server_uri} --db shepherd_fixture --out ")),
        "{arguments}"
    );
    let dump = outcome.dump.as_ref().expect("the runbook's .tar.gz is found");
    let BackupLocation::TarGz { path } = &dump.location else {
        panic!("expected a .tar.gz, got {:?}", dump.location);
    };
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(path.starts_with(&backup_dir), "{}", path.display());
    assert!(
        name.starts_with("shepherd_backup_") && name.ends_with(".tar.gz"),
        "{name}"
    );
    assert!(dump.bytes > 1000, "{} bytes", dump.bytes);
    assert_eq!(dump.engine.name, "command");
    let dumped: Vec<&str> = dump.collections.iter().map(|result| result.name.as_str()).collect();
    assert_eq!(dumped, ["configurations", "users"]);
    // The runbook's retention ran too: the 40-day-old backup is gone, and said so.
    assert_eq!(outcome.deleted, vec![old.clone()]);
    assert!(!old.exists());
    let findings = outcome.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("deleted 1 entry"), "{findings:?}");
}

#[tokio::test]
async fn runbook_reports_success_without_a_backup_and_still_deletes() {
    // A port nothing listens on: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=2000");
    let root = tempfile::tempdir().unwrap();
    let (backup_dir, old) = backup_dir_with_old_backup(root.path());
    // No mongodump: the script falls back to `drdrill dump`, which cannot
    // reach the server either (or does not exist yet on this branch).
    let absent = root.path().join("no-such-mongodump");

    let outcome = command::run(&runbook_request(&uri, &backup_dir, &absent))
        .await
        .unwrap();

    // What the runbook says...
    assert_eq!(outcome.exit, CommandExit::Code { code: 0 }, "{}", outcome.output);
    assert!(outcome.output.contains("Backup completed: "), "{}", outcome.output);
    // ...and what the harness finds.
    assert!(outcome.dump.is_none(), "{:?}", outcome.dump);
    assert_eq!(outcome.deleted, vec![old]);
    assert_eq!(outcome.not_backups.len(), 1, "{:?}", outcome.not_backups);
    let left = &outcome.not_backups[0];
    assert!(
        left.path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("shepherd_backup_"),
        "{left:?}"
    );
    assert!(left.problem.contains("holds nothing"), "{left:?}");
    let findings = outcome.findings();
    assert_eq!(
        findings[0], "the command exited 0 but produced no backup",
        "{findings:?}"
    );
    assert!(findings[1].contains("deleted 1 entry"), "{findings:?}");
    assert!(findings[2].contains("which is not a backup"), "{findings:?}");
}

#[test]
fn locate_finds_every_genuine_form() {
    let fixtures = fixtures();
    assert_eq!(
        locate(&fixtures.join("dir")).unwrap(),
        BackupLocation::Directory {
            path: fixtures.join("dir"),
            gzip: false
        }
    );
    assert_eq!(
        locate(&fixtures.join("dir/shepherd_fixture")).unwrap(),
        BackupLocation::Directory {
            path: fixtures.join("dir/shepherd_fixture"),
            gzip: false
        }
    );
    assert_eq!(
        locate(&fixtures.join("dir-gzip")).unwrap(),
        BackupLocation::Directory {
            path: fixtures.join("dir-gzip"),
            gzip: true
        }
    );
    assert_eq!(
        locate(&fixtures.join("dump.archive")).unwrap(),
        BackupLocation::Archive {
            path: fixtures.join("dump.archive"),
            gzip: false
        }
    );
    assert_eq!(
        locate(&fixtures.join("dump.archive.gz")).unwrap(),
        BackupLocation::Archive {
            path: fixtures.join("dump.archive.gz"),
            gzip: true
        }
    );

    let scratch = tempfile::tempdir().unwrap();
    // By content, not by name.
    let renamed = scratch.path().join("nightly.bin");
    std::fs::copy(fixtures.join("dump.archive.gz"), &renamed).unwrap();
    assert!(matches!(
        locate(&renamed).unwrap(),
        BackupLocation::Archive { gzip: true, .. }
    ));
    let tar_gz = scratch.path().join("dir.tar.gz");
    let tarred = Command::new("tar")
        .arg("-czf")
        .arg(&tar_gz)
        .arg("-C")
        .arg(&fixtures)
        .arg("dir")
        .status()
        .unwrap();
    assert!(tarred.success());
    assert_eq!(locate(&tar_gz).unwrap(), BackupLocation::TarGz { path: tar_gz.clone() });
}

#[tokio::test]
#[ignore = "needs mongodump on PATH"]
async fn real_tools_dump_and_restore_against_ferretdb() {
    use drdrill::backup::engine::{DumpRequest, Layout, RestoreRequest};
    use drdrill::backup::select::{self, DumpResult, EngineSettings};
    use drdrill::progress::NoProgress;

    let engine = select::resolve(drdrill::backup::EngineChoice::Tools, None).unwrap_or_else(|error| panic!("{error}"));
    let server = TestServer::start(Backend::Sqlite).await;
    let collection = server
        .client
        .database("engines_real")
        .collection::<bson::Document>("items");
    let documents: Vec<bson::Document> = (0..50)
        .map(|index| bson::doc! { "_id": index, "n": index * 2 })
        .collect();
    collection.insert_many(documents).await.unwrap();

    let root = tempfile::tempdir().unwrap();
    let settings = EngineSettings::new(Duration::from_secs(300), ctx::run_id("tools"));
    let uri = MongoUri::parse(&server.uri).unwrap();
    let request = DumpRequest {
        uri: uri.clone(),
        database: "engines_real".to_owned(),
        collections: None,
        exclude: Vec::new(),
        layout: Layout::Archive { gzip: true },
        out: root.path().join("dump.archive.gz"),
        parallel_collections: 1,
    };
    let dumped = select::dump(&engine, &request, &settings, &NoProgress).await.unwrap();
    let DumpResult::Written(outcome) = &dumped.result else {
        panic!("tools write a backup")
    };
    assert!(outcome.engine.version.starts_with("mongodump version: "));
    assert_eq!(outcome.collections[0].documents, 50);

    let restore_request = RestoreRequest {
        uri,
        source: outcome.location.clone(),
        from_database: "engines_real".to_owned(),
        to_database: "engines_copy".to_owned(),
        collections: None,
        drop: true,
        dry_run: false,
        workers_per_collection: 1,
        parallel_collections: 1,
    };
    let restored = select::restore(&engine, &restore_request, &settings, &NoProgress)
        .await
        .unwrap();
    assert_eq!(restored.outcome.collections[0].documents, 50);
    let count = server
        .client
        .database("engines_copy")
        .collection::<bson::Document>("items")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    server.teardown().await;
    assert_eq!(count, 50);
}
