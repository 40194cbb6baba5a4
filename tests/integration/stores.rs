//! Backup stores against real versitygw gateways (built by `scripts/setup`):
//! two gateways stand for two regions, started once for this test binary
//! and shared by the tests that only need a store; the drills start their
//! own through the harness. A real mongodump archive is the backup.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use drdrill::backup::BackupLocation;
use drdrill::store::{Credentials, CredentialsSource, Store, StoreAddress, StoreError, StoreSpec, versitygw_binary};

use crate::ctx;

/// One gateway this test binary started: its endpoint, folder and keys.
struct SharedGateway {
    endpoint: String,
    data: PathBuf,
    credentials: Credentials,
}

/// The two regions, started on first use. Each gateway is spawned from a
/// thread that never ends, with `PR_SET_PDEATHSIG`, so it dies with this
/// test binary (there is no hook after the last test).
fn regions() -> &'static [SharedGateway; 2] {
    static REGIONS: OnceLock<[SharedGateway; 2]> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let (_, work) = ctx::test_dirs();
        [
            start_shared(&work.join("region-a"), "us-west-2"),
            start_shared(&work.join("region-b"), "us-east-1"),
        ]
    })
}

fn start_shared(folder: &Path, region: &str) -> SharedGateway {
    let binary = versitygw_binary().unwrap_or_else(|error| panic!("{error}"));
    let data = folder.join("data");
    std::fs::create_dir_all(data.join("drdrill")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let credentials = Credentials::generate();
    let log = folder.join("gateway.log");
    let (sender, receiver) = std::sync::mpsc::channel();
    let (data_arg, log_path, keys, region_arg) = (data.clone(), log.clone(), credentials.clone(), region.to_owned());
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        let output = std::fs::File::create(&log_path).unwrap();
        let mut command = std::process::Command::new(binary);
        command
            .args(["--port", &format!("127.0.0.1:{port}"), "--region", &region_arg, "posix"])
            .arg(&data_arg)
            .env("ROOT_ACCESS_KEY", &keys.access_key_id)
            .env("ROOT_SECRET_KEY", &keys.secret_access_key)
            .stdout(output.try_clone().unwrap())
            .stderr(output);
        // SAFETY: prctl is async-signal-safe; it only sets this child's
        // parent-death signal.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        // Never waited for: it lives as long as this test binary.
        #[allow(clippy::zombie_processes)]
        let child = command.spawn().unwrap();
        sender.send(child.id()).unwrap();
        // The parent-death signal follows this thread: it never ends.
        loop {
            std::thread::park();
        }
    });
    receiver.recv().unwrap();
    ctx::wait_until("versitygw to serve", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && std::fs::File::open(&log).is_ok_and(|file| {
                BufReader::new(file)
                    .lines()
                    .map_while(Result::ok)
                    .any(|line| line.contains("listening on"))
            })
    });
    SharedGateway {
        endpoint: format!("http://127.0.0.1:{port}"),
        data,
        credentials,
    }
}

fn store(region: usize, prefix: &str) -> Store {
    let gateway = &regions()[region];
    Store::open(&StoreSpec {
        name: ["region-a", "region-b"][region].into(),
        address: StoreAddress::S3 {
            bucket: "drdrill".into(),
            prefix: prefix.into(),
        },
        endpoint: Some(gateway.endpoint.clone()),
        region: Some(["us-west-2", "us-east-1"][region].into()),
        credentials: CredentialsSource::Given(gateway.credentials.clone()),
        encryption: Default::default(),
    })
    .unwrap()
}

/// A genuine mongodump archive with its manifest, in a fresh folder.
fn archive_backup(folder: &Path) -> (BackupLocation, drdrill::backup::manifest::Manifest) {
    let path = folder.join("dump.archive");
    std::fs::copy(ctx::shared_dir().join("fixtures/real-mongodump/dump.archive"), &path).unwrap();
    let location = BackupLocation::Archive { path, gzip: false };
    let manifest = drdrill::backup::manifest::describe_found_backup(&location, None).unwrap();
    drdrill::backup::manifest::write_manifest(&location, &manifest).unwrap();
    (location, manifest)
}

#[tokio::test]
async fn a_backup_uploaded_to_one_region_and_copied_to_the_other_downloads_intact() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let (a, b) = (store(0, "round-trip"), store(1, "round-trip"));
    let upload = a.upload("b1", &location, &manifest).await.unwrap();
    assert_eq!(upload.objects, 2);
    assert_eq!(upload.bytes, manifest.files["dump.archive"].size);
    let copy = a.copy_to(&b, "b1").await.unwrap();
    assert_eq!(copy.bytes, upload.bytes);
    assert_eq!(copy.location, "s3://drdrill/round-trip/b1");
    let listed = b.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|backup| backup.id.as_str()).collect::<Vec<_>>(),
        ["b1"]
    );
    let into = folder.path().join("downloaded");
    let (downloaded, transfer) = b.download("b1", &into).await.unwrap();
    assert_eq!(transfer.bytes, upload.bytes);
    let BackupLocation::Archive { path, .. } = &downloaded else {
        panic!("not an archive: {downloaded:?}");
    };
    assert_eq!(
        std::fs::read(path).unwrap(),
        std::fs::read(folder.path().join("dump.archive")).unwrap()
    );
    // The copy is plain files in the second gateway's folder.
    assert!(regions()[1].data.join("drdrill/round-trip/b1/dump.archive").is_file());
}

#[tokio::test]
async fn one_byte_changed_in_a_stored_object_is_caught_before_anything_is_restored() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let b = store(1, "damaged");
    b.upload("b1", &location, &manifest).await.unwrap();
    let object = regions()[1].data.join("drdrill/damaged/b1/dump.archive");
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&object, bytes).unwrap();

    let into = folder.path().join("downloaded");
    let error = b.download("b1", &into).await.unwrap_err();
    let text = drdrill::error::chain(&error);
    assert!(matches!(error, StoreError::Mismatch { .. }), "{text}");
    assert!(text.contains("s3://drdrill/damaged/b1/dump.archive"), "{text}");
    assert!(!into.join("b1/dump.archive").exists(), "the damaged download was kept");
    let verified = b.verify("b1").await.unwrap_err();
    assert!(drdrill::error::chain(&verified).contains("dump.archive"));
}

#[tokio::test]
async fn a_folder_store_holds_the_same_layout() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let spec = StoreSpec::from_address("local", StoreAddress::Folder(folder.path().join("store")));
    let local = Store::open(&spec).unwrap();
    local.upload("b1", &location, &manifest).await.unwrap();
    assert!(folder.path().join("store/b1/drdrill-manifest.json").is_file());
    assert_eq!(local.list().await.unwrap().len(), 1);
    local.verify("b1").await.unwrap();
}

fn scenario(name: &str) -> PathBuf {
    ctx::project_root().join("scenarios").join(format!("{name}.toml"))
}

/// `drdrill run FILE --out DIR`: the exit code, the output and the report.
fn run(file: &Path) -> (i32, String, serde_json::Value) {
    ctx::test_dirs();
    let out = tempfile::tempdir().unwrap();
    let output = ctx::drdrill()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    ctx::drill_outcome(&output, out.path())
}

fn step<'r>(report: &'r serde_json::Value, kind: &str) -> &'r serde_json::Value {
    step_where(report, "kind", kind)
}

fn named_step<'r>(report: &'r serde_json::Value, name: &str) -> &'r serde_json::Value {
    step_where(report, "name", name)
}

/// The first step whose `key` is `value`.
fn step_where<'r>(report: &'r serde_json::Value, key: &str, value: &str) -> &'r serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step[key] == value)
        .unwrap_or_else(|| panic!("no step with {key} {value} in {report:#}"))
}

#[test]
fn the_quarterly_cross_region_drill_restores_from_the_second_region_after_the_first_goes_down() {
    let (code, output, report) = run(&scenario("quarterly-cross-region"));
    assert_eq!(code, 0, "{output}\n{report:#}");
    assert_eq!(report["verdict"]["kind"], "passed", "{report:#}");
    let upload = &step(&report, "backup")["details"]["upload"];
    let copy = &step(&report, "copy")["details"]["transfer"];
    let download = &step(&report, "restore")["details"]["download"];
    for (transfer, kind, store) in [
        (upload, "upload", "us-west-2"),
        (copy, "copy", "us-east-1"),
        (download, "download", "us-east-1"),
    ] {
        assert_eq!(transfer["kind"], kind, "{report:#}");
        assert_eq!(transfer["store"], store, "{report:#}");
        assert!(transfer["bytes"].as_u64().unwrap() > 0, "{transfer:#}");
        assert!(transfer["duration_ms"].is_u64(), "{transfer:#}");
    }
    assert_eq!(upload["bytes"], download["bytes"]);
    let outage = &step(&report, "disaster")["details"];
    assert_eq!(outage["region"], "us-west-2", "{report:#}");
    assert!(report["measurements"]["rto_verified_ms"].is_u64(), "{report:#}");
    assert!(output.contains("uploaded to store us-west-2"), "{output}");
    // Nothing is left running: the run records of the gateways are gone.
    let (state, _) = ctx::test_dirs();
    let left: Vec<_> = std::fs::read_dir(state)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains("quarterly-cross-region"))
        .collect();
    assert!(left.is_empty(), "run records left: {left:?}");
}

#[test]
fn without_the_copy_the_second_region_holds_no_backup_and_the_drill_says_so() {
    let (code, output, report) = run(&scenario("cross-region-copy-never-made"));
    assert_eq!(code, 0, "expected failure should pass:\n{output}\n{report:#}");
    assert_eq!(report["verdict"]["expected_failure"]["check"], "restore");
    assert_eq!(report["verdict"]["expected_failure"]["observed"], true);
    let restore = step(&report, "restore");
    let message = restore["message"].as_str().unwrap();
    assert!(
        message.contains("store us-east-1") && message.contains("holds no backup newer than the RPO of 15m allows"),
        "{message}"
    );
}

#[test]
fn a_key_in_a_scenario_and_an_undeclared_store_are_located_errors() {
    let source = std::fs::read_to_string(scenario("quarterly-cross-region")).unwrap();
    let text = source
        .replace(
            "prefix = \"shepherd\"\n\n[stores.us-east-1]",
            "prefix = \"shepherd\"\nsecret_access_key = \"hunter2hunter2\"\n\n[stores.us-east-1]",
        )
        .replace("to = \"us-east-1\"", "to = \"us-east-2\"");
    let errors = drdrill::scenario::validate_str(&text, Path::new("scenarios/x.toml")).unwrap_err();
    let shown = errors.to_string();
    assert_eq!(errors.diagnostics.len(), 2, "{shown}");
    assert!(
        shown.contains("stores.us-west-2.secret_access_key")
            && shown.contains("credentials never go in a scenario file")
            && shown.contains("AWS_SECRET_ACCESS_KEY"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "the secret was echoed: {shown}");
    assert!(shown.contains("step 3, to: no store named `us-east-2`"), "{shown}");
    assert!(shown.contains("did you mean `us-east-1`?"), "{shown}");
    assert!(shown.contains("scenarios/x.toml:"), "not located: {shown}");
}

#[test]
fn stream_without_a_store_is_a_located_error() {
    let source = std::fs::read_to_string(scenario("quarterly-cross-region")).unwrap();
    let valid = source.replace(
        "store = \"us-east-1\"\n\n[[steps]]\nkind = \"verify\"",
        "store = \"us-east-1\"\nstream = false\n\n[[steps]]\nkind = \"verify\"",
    );
    assert_ne!(valid, source);
    drdrill::scenario::validate_str(&valid, Path::new("scenarios/x.toml")).unwrap();
    let text = valid.replace("store = \"us-east-1\"\nstream = false", "stream = false");
    let errors = drdrill::scenario::validate_str(&text, Path::new("scenarios/x.toml")).unwrap_err();
    let shown = errors.to_string();
    assert_eq!(errors.diagnostics.len(), 1, "{shown}");
    assert!(
        shown.contains("stream: `stream` applies to a restore from a store"),
        "{shown}"
    );
    assert!(shown.contains("scenarios/x.toml:"), "not located: {shown}");
}

/// An age key pair written to `folder`: (recipients file, identity file).
fn age_keys(folder: &Path, name: &str) -> (PathBuf, PathBuf) {
    use age::secrecy::ExposeSecret;
    let key = age::x25519::Identity::generate();
    let recipients = folder.join(format!("{name}.pub"));
    std::fs::write(&recipients, format!("{}\n", key.to_public())).unwrap();
    let identity = folder.join(format!("{name}.key"));
    std::fs::write(&identity, format!("{}\n", key.to_string().expose_secret())).unwrap();
    (recipients, identity)
}

fn encrypted_store(prefix: &str, encryption: drdrill::store::Encryption) -> Store {
    let gateway = &regions()[0];
    Store::open(&StoreSpec {
        name: "region-a".into(),
        address: StoreAddress::S3 {
            bucket: "drdrill".into(),
            prefix: prefix.into(),
        },
        endpoint: Some(gateway.endpoint.clone()),
        region: Some("us-west-2".into()),
        credentials: CredentialsSource::Given(gateway.credentials.clone()),
        encryption,
    })
    .unwrap()
}

#[tokio::test]
async fn an_encrypted_backup_restores_with_the_right_key_and_fails_named_with_the_wrong_one() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let (recipients, identity) = age_keys(folder.path(), "right");
    let (_, wrong) = age_keys(folder.path(), "wrong");
    let keys = |identity: Option<&Path>| drdrill::store::Encryption {
        recipients_file: Some(recipients.clone()),
        identity_file: identity.map(Path::to_path_buf),
    };
    let store = encrypted_store("sealed", keys(Some(&identity)));
    let upload = store.upload("b1", &location, &manifest).await.unwrap();
    assert_eq!(upload.objects, 3, "archive, encryption record, manifest");
    // What is stored is ciphertext: not the archive's bytes.
    let stored = regions()[0].data.join("drdrill/sealed/b1/dump.archive.age");
    let plain = std::fs::read(folder.path().join("dump.archive")).unwrap();
    assert_ne!(std::fs::read(&stored).unwrap(), plain);
    assert!(!regions()[0].data.join("drdrill/sealed/b1/dump.archive").exists());
    store.verify("b1").await.unwrap();

    let (downloaded, _) = store.download("b1", &folder.path().join("right")).await.unwrap();
    let BackupLocation::Archive { path, .. } = &downloaded else {
        panic!("not an archive: {downloaded:?}");
    };
    assert_eq!(std::fs::read(path).unwrap(), plain);
    // The archive decrypted from the store restores: the builtin engine's
    // dry run reads every document of it.
    let restored = drdrill::backup::manifest::describe_found_backup(&downloaded, None).unwrap();
    assert_eq!(restored.collections, manifest.collections);

    let error = encrypted_store("sealed", keys(Some(&wrong)))
        .download("b1", &folder.path().join("wrong-key"))
        .await
        .unwrap_err();
    let text = drdrill::error::chain(&error);
    assert!(
        text.contains("wrong key") && text.contains("dump.archive.age"),
        "{text}"
    );
    assert!(!folder.path().join("wrong-key/b1/dump.archive").exists());
    let error = encrypted_store("sealed", keys(None))
        .download("b1", &folder.path().join("no-key"))
        .await
        .unwrap_err();
    assert!(
        drdrill::error::chain(&error).contains("names no identity_file"),
        "{error}"
    );
}

#[test]
fn the_cross_region_drill_restores_from_an_encrypted_copy() {
    let folder = tempfile::tempdir().unwrap();
    let (recipients, identity) = age_keys(folder.path(), "backup");
    let keys = format!(
        "recipients_file = {:?}\nidentity_file = {:?}\n",
        recipients.display().to_string(),
        identity.display().to_string()
    );
    let source = std::fs::read_to_string(scenario("quarterly-cross-region")).unwrap();
    let text = source
        .replace("name = \"quarterly-cross-region\"", "name = \"encrypted-cross-region\"")
        .replace("prefix = \"shepherd\"\n", &format!("prefix = \"shepherd\"\n{keys}"));
    let file = folder.path().join("encrypted-cross-region.toml");
    std::fs::write(&file, text).unwrap();
    let (code, output, report) = run(&file);
    assert_eq!(code, 0, "{output}\n{report:#}");
    assert_eq!(report["verdict"]["kind"], "passed", "{report:#}");
    assert_eq!(
        step(&report, "restore")["details"]["download"]["objects"],
        3,
        "{report:#}"
    );
}

/// `quarterly-cross-region` renamed `name`, with `extra` TOML inserted
/// before its restore step and `after` between the restore and the
/// verify; `stream = false` on the restore when `stream` is false.
fn cross_region_variant(folder: &Path, name: &str, stream: bool, extra: &str, after: &str) -> PathBuf {
    let source = std::fs::read_to_string(scenario("quarterly-cross-region")).unwrap();
    let restore = if stream {
        "[[steps]]\nkind = \"restore\"\n".to_owned()
    } else {
        "[[steps]]\nkind = \"restore\"\nstream = false\n".to_owned()
    };
    let text = source
        .replace("name = \"quarterly-cross-region\"", &format!("name = \"{name}\""))
        .replace("[[steps]]\nkind = \"restore\"\n", &format!("{extra}\n{restore}"))
        .replace(
            "[[steps]]\nkind = \"verify\"",
            &format!("{after}\n[[steps]]\nkind = \"verify\""),
        );
    let file = folder.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// Exec steps that list every archive file of the drill's folder (the
/// gateways' data left out) before and after the restore; the second
/// fails when the restore wrote one, or made a download folder.
const LIST_ARCHIVES: &str =
    r#"d=$(dirname "$BACKUP_DIR") && find "$d" -path "$d/stores" -prune -o -type f -name '*archive*' -print | sort"#;

fn archive_listing_steps() -> (String, String) {
    let before = format!(
        "[[steps]]\nkind = \"exec\"\nname = \"archives before\"\ncommand = '''{LIST_ARCHIVES} > \"$d/listing-before\"'''\n"
    );
    let after = format!(
        "[[steps]]\nkind = \"exec\"\nname = \"archives after\"\ncommand = '''{LIST_ARCHIVES} | diff \"$d/listing-before\" - && test ! -e \"$d/from-us-east-1\"'''\n"
    );
    (before, after)
}

#[test]
fn a_streamed_restore_from_the_second_region_writes_no_local_copy_of_the_archive() {
    let folder = tempfile::tempdir().unwrap();
    let (before, after) = archive_listing_steps();
    let (code, output, report) = run(&cross_region_variant(
        folder.path(),
        "streamed-restore",
        true,
        &before,
        &after,
    ));
    assert_eq!(code, 0, "{output}\n{report:#}");
    assert_eq!(report["verdict"]["kind"], "passed", "{report:#}");
    assert_eq!(named_step(&report, "archives after")["status"], "passed", "{report:#}");
    let details = &step(&report, "restore")["details"];
    let read = &details["store_read"];
    assert_eq!(read["mode"], "streamed", "{report:#}");
    assert_eq!(read["pinned"], true, "{report:#}");
    let passes = read["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 2, "{report:#}");
    assert_eq!(
        (passes[0]["pass"].as_str(), passes[1]["pass"].as_str()),
        (Some("verify"), Some("restore"))
    );
    for pass in passes {
        assert_eq!(pass["bytes"], details["download"]["bytes"], "{report:#}");
    }
    assert!(
        read["object"].as_str().unwrap().ends_with("/dump.archive.gz"),
        "{report:#}"
    );

    // The same drill downloading first: the listing sees the copy, so the
    // check above is not vacuous.
    let (_, output, report) = run(&cross_region_variant(
        folder.path(),
        "downloaded-restore",
        false,
        &before,
        &after,
    ));
    assert_eq!(
        step(&report, "restore")["details"]["store_read"]["mode"],
        "downloaded",
        "{output}"
    );
    assert_eq!(named_step(&report, "archives after")["status"], "failed", "{report:#}");
}

#[test]
fn a_corrupted_object_fails_the_streamed_restore_before_any_document_is_inserted() {
    let folder = tempfile::tempdir().unwrap();
    let corrupt = r#"[[steps]]
kind = "exec"
name = "one byte changed through the gateway's folder"
command = '''f=$(find "$(dirname "$BACKUP_DIR")/stores/us-east-1" -type f -name 'dump.archive*') && test -n "$f" && printf DRDR | dd of="$f" bs=1 seek=1000 conv=notrunc status=none'''
"#;
    let (code, output, report) = run(&cross_region_variant(
        folder.path(),
        "corrupted-stream",
        true,
        corrupt,
        "",
    ));
    assert_ne!(code, 0, "{output}\n{report:#}");
    let changed = named_step(&report, "one byte changed through the gateway's folder");
    assert_eq!(changed["status"], "passed", "{report:#}");
    let restore = step(&report, "restore");
    assert_eq!(restore["status"], "failed", "{report:#}");
    let message = restore["message"].as_str().unwrap();
    assert!(message.contains("verification refused, nothing restored"), "{message}");
    assert!(
        message.contains("/dump.archive.gz does not match the manifest"),
        "{message}"
    );
    // The restore stopped before it had a node to insert into.
    assert!(restore["details"]["fresh_node"].is_null(), "{report:#}");
    assert!(restore["details"]["restore"].is_null(), "{report:#}");
}

#[tokio::test]
async fn a_streamed_verify_pass_names_a_wrong_key_and_a_changed_byte() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let [(recipients, identity), (_, wrong)] = ["right", "wrong"].map(|name| age_keys(folder.path(), name));
    let keys = |identity: &Path| drdrill::store::Encryption {
        recipients_file: Some(recipients.clone()),
        identity_file: Some(identity.to_owned()),
    };
    encrypted_store("streamed", keys(&identity))
        .upload("b1", &location, &manifest)
        .await
        .unwrap();
    let stored = encrypted_store("streamed", keys(&identity));
    let verified = stored.verify_streamed("b1", &manifest).await.unwrap();
    assert_eq!(verified.transfer.objects, 3, "archive, encryption record, manifest");
    let error = encrypted_store("streamed", keys(&wrong))
        .verify_streamed("b1", &manifest)
        .await
        .unwrap_err();
    assert!(drdrill::error::chain(&error).contains("wrong key"), "{error}");

    let object = regions()[0].data.join("drdrill/streamed/b1/dump.archive.age");
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let error = stored.verify_streamed("b1", &manifest).await.unwrap_err();
    let text = drdrill::error::chain(&error);
    assert!(matches!(error, StoreError::Mismatch { .. }), "{text}");
    assert!(text.contains("s3://drdrill/streamed/b1/dump.archive.age"), "{text}");
}

/// `drdrill` with region A's endpoint, region and keys in its environment.
fn in_region_a() -> std::process::Command {
    let gateway = &regions()[0];
    let mut command = ctx::drdrill();
    command
        .env("AWS_ACCESS_KEY_ID", &gateway.credentials.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &gateway.credentials.secret_access_key)
        .env("AWS_ENDPOINT_URL", &gateway.endpoint)
        .env("AWS_REGION", "us-west-2");
    command
}

/// `drdrill verify-backup ARGS…` with the environment of region A's
/// gateway: the exit code and the output.
fn verify_backup(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let mut command = in_region_a();
    let output = command.arg("verify-backup").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn verify_backup_decrypts_an_encrypted_backup_with_its_identity_and_names_a_missing_or_wrong_one() {
    let folder = tempfile::tempdir().unwrap();
    let (location, manifest) = archive_backup(folder.path());
    let [(recipients, identity), (_, wrong)] = ["right", "wrong"].map(|name| age_keys(folder.path(), name));
    let sealing = drdrill::store::Encryption {
        recipients_file: Some(recipients),
        identity_file: None,
    };
    let mut local = StoreSpec::from_address("local", StoreAddress::Folder(folder.path().join("store")));
    local.encryption = sealing.clone();
    Store::open(&local)
        .unwrap()
        .upload("b1", &location, &manifest)
        .await
        .unwrap();
    encrypted_store("verify-cli", sealing)
        .upload("b1", &location, &manifest)
        .await
        .unwrap();
    let in_folder = folder.path().join("store/b1");
    let (s3, identity_flag) = ("s3://drdrill/verify-cli/b1", std::ffi::OsStr::new("--identity"));

    for backup in [in_folder.as_os_str(), std::ffi::OsStr::new(s3)] {
        let (code, output) = verify_backup(&[backup]);
        assert_eq!(code, 2, "{output}");
        assert!(output.contains("encrypted (age): give --identity FILE"), "{output}");
        let (code, output) = verify_backup(&[backup, identity_flag, identity.as_os_str()]);
        assert_eq!(code, 0, "{output}");
        assert!(output.contains(": ok: 3 objects"), "{output}");
        assert!(output.contains("the decrypted ones the manifest"), "{output}");
        let (code, output) = verify_backup(&[backup, identity_flag, wrong.as_os_str()]);
        assert_eq!(code, 1, "{output}");
        assert!(output.contains("wrong key"), "{output}");
    }

    // One byte changed in the folder store: named, exit 1.
    let object = in_folder.join("dump.archive.age");
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let (code, output) = verify_backup(&[in_folder.as_os_str(), identity_flag, identity.as_os_str()]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("dump.archive.age does not match the manifest"),
        "{output}"
    );
}

/// An object store client on region A's gateway, bucket `drdrill`, for
/// putting objects the harness would not (a runbook's upload, a stray file).
fn raw_client() -> object_store::aws::AmazonS3 {
    let gateway = &regions()[0];
    // A client built by hand needs the TLS provider Store::open installs.
    drdrill::store::install_tls_provider();
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("drdrill")
        .with_region("us-west-2")
        .with_access_key_id(&gateway.credentials.access_key_id)
        .with_secret_access_key(&gateway.credentials.secret_access_key)
        .with_endpoint(&gateway.endpoint)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build()
        .unwrap()
}

async fn keys_under(client: &object_store::aws::AmazonS3, prefix: &str) -> std::collections::BTreeSet<String> {
    use futures_util::StreamExt;
    use object_store::ObjectStore;
    let prefix = object_store::path::Path::from(prefix);
    client
        .list(Some(&prefix))
        .map(|meta| meta.unwrap().location.to_string())
        .collect()
        .await
}

/// `drdrill retention --store s3://drdrill/PREFIX ARGS… --json` with region
/// A's environment: the exit code and the printed JSON.
fn retention_json(prefix: &str, args: &[&str]) -> (i32, serde_json::Value) {
    let store = format!("s3://drdrill/{prefix}");
    let mut command = in_region_a();
    let output = command
        .args(["retention", "--store", &store, "--json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), json)
}

#[tokio::test]
async fn retention_over_an_s3_store_deletes_exactly_the_plan_and_nothing_else() {
    use object_store::{ObjectStoreExt, PutPayload};
    let (client, prefix) = (raw_client(), "retention-s3");
    let first = chrono::NaiveDate::from_ymd_opt(2026, 10, 7).unwrap();
    for day in 0..40 {
        let id = format!(
            "{}T030000Z-nightly-backup-1",
            (first + chrono::Days::new(day)).format("%Y%m%d")
        );
        for (file, body) in [("dump.archive", id.clone()), ("drdrill-manifest.json", "{}".to_owned())] {
            let key = object_store::path::Path::from(format!("{prefix}/{id}/{file}"));
            client.put(&key, PutPayload::from(body.into_bytes())).await.unwrap();
        }
    }
    // A runbook's upload beside them, and objects that are no backup.
    for name in [
        "shepherd_backup_20260901_030000.tar.gz",
        "notes.txt",
        "scratch/readme.txt",
    ] {
        let key = object_store::path::Path::from(format!("{prefix}/{name}"));
        client.put(&key, PutPayload::from_static(b"x")).await.unwrap();
    }
    let before = keys_under(&client, prefix).await;
    let audit = ["--policy", "7d,4w,2m", "--now", "2026-11-16T00:00:00Z"];
    let (code, planned) = retention_json(prefix, &audit);
    assert!(code == 0 || code == 1, "{planned:#}");
    let plan: Vec<String> = serde_json::from_value(planned["prune_plan"].clone()).unwrap();
    assert!(plan.len() > 20, "{planned:#}");
    let ignored = planned["audit"]["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 2, "notes.txt and scratch/ are left alone: {planned:#}");
    let expected: std::collections::BTreeSet<String> = before
        .iter()
        .filter(|key| {
            let name = key.strip_prefix(&format!("{prefix}/")).unwrap();
            plan.iter()
                .any(|planned| name == planned || name.starts_with(&format!("{planned}/")))
        })
        .cloned()
        .collect();
    assert_eq!(
        keys_under(&client, prefix).await,
        before,
        "an audit without --apply deleted something"
    );

    let (_, applied) = retention_json(prefix, &[&audit[..], &["--apply"]].concat());
    let deleted: std::collections::BTreeSet<String> = serde_json::from_value::<Vec<String>>(applied["deleted"].clone())
        .unwrap()
        .into_iter()
        .map(|object| object.strip_prefix("s3://drdrill/").unwrap().to_owned())
        .collect();
    assert_eq!(deleted, expected, "{applied:#}");
    let after = keys_under(&client, prefix).await;
    assert_eq!(after, before.difference(&expected).cloned().collect(), "{applied:#}");
    assert!(after.contains(&format!("{prefix}/notes.txt")) && after.contains(&format!("{prefix}/scratch/readme.txt")));
}
