//! Hostile backups (issue 10, classes 1–7): each test builds the crafted
//! input itself in its own temporary folder, runs the real `drdrill`
//! binary, and checks the named error, the non-zero exit, that nothing
//! outside the backup was read or written, and that no extraction folder is
//! left behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use bson::rawdoc;
use drdrill::backup::format::{ArchiveHeader, ArchiveWriter, CollectionMetadata, Namespace, Origin, PreludeEntry};
use drdrill::provider::Backend;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::ctx::{self, TestServer, text};

/// Runs `drdrill ARGS`; returns the exit code and stdout + stderr together.
fn drdrill(args: &[&str]) -> (i32, String) {
    let output = ctx::run_drdrill(args);
    let (stdout, stderr) = text(&output);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    (output.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

/// `verify-backup` and `restore --dryRun` both refuse `backup`, naming `expected`.
fn both_refuse(backup: &Path, expected: &str) {
    let path = backup.to_str().unwrap();
    let (code, output) = drdrill(&["verify-backup", path]);
    assert_ne!(code, 0, "verify-backup accepted {path}:\n{output}");
    assert!(
        output.contains(expected),
        "verify-backup: expected {expected:?} in:\n{output}"
    );
    let (code, output) = drdrill(&[
        "restore",
        "--engine",
        "builtin",
        "--uri",
        "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500",
        "--db",
        "app",
        "--dryRun",
        path,
    ]);
    assert_ne!(code, 0, "restore --dryRun accepted {path}:\n{output}");
    assert!(
        output.contains(expected),
        "restore --dryRun: expected {expected:?} in:\n{output}"
    );
}

/// No `.drdrill-extract-*` folder left in `folder`.
fn no_extraction_left(folder: &Path) {
    let left: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains("drdrill-extract-"))
        .collect();
    assert!(left.is_empty(), "extraction folders left: {left:?}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const METADATA: &str =
    r#"{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"uuid":"","collectionName":"users","type":"collection"}"#;

/// `root/app/users.bson` holding `documents`, with its metadata.
fn dump_folder(root: &Path, documents: &[u8]) -> PathBuf {
    let database = root.join("dump/app");
    std::fs::create_dir_all(&database).unwrap();
    std::fs::write(database.join("users.bson"), documents).unwrap();
    std::fs::write(database.join("users.metadata.json"), METADATA).unwrap();
    root.join("dump")
}

/// A document nested `levels` deep, as bytes: `{a: {a: ... {}}}`.
fn nested(levels: usize) -> Vec<u8> {
    let mut bytes = vec![5, 0, 0, 0, 0];
    for _ in 1..levels {
        let length = u32::try_from(bytes.len() + 8).unwrap();
        let mut outer = length.to_le_bytes().to_vec();
        outer.extend_from_slice(&[0x03, b'a', 0]);
        outer.extend_from_slice(&bytes);
        outer.push(0);
        bytes = outer;
    }
    bytes
}

/// A tar with one entry whose header is `header` (checksum set here).
fn tar_gz_of(entries: Vec<(tar::Header, Vec<u8>)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (mut header, data) in entries {
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

fn entry(kind: tar::EntryType, path: &str, data: &[u8]) -> (tar::Header, Vec<u8>) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_path(path).unwrap();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    (header, data.to_vec())
}

#[test]
fn a_document_nested_4000_levels_is_a_named_error_not_a_stack_overflow() {
    let folder = tempfile::tempdir().unwrap();
    let dump = dump_folder(folder.path(), &nested(4000));
    both_refuse(&dump, "nests deeper than 100 levels");
}

#[test]
fn a_symlinked_member_is_refused_by_name_and_never_followed() {
    let folder = tempfile::tempdir().unwrap();
    let dump = dump_folder(folder.path(), &rawdoc! { "_id": 1 }.into_bytes());
    let metadata = dump.join("app/users.metadata.json");
    std::fs::remove_file(&metadata).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &metadata).unwrap();
    both_refuse(
        &dump,
        "users.metadata.json: is a symlink; a backup holds only regular files and folders",
    );

    // A `.bson` pointing at a file elsewhere on the host is not read either.
    let elsewhere = folder.path().join("elsewhere.bson");
    std::fs::write(&elsewhere, rawdoc! { "_id": "secret" }.into_bytes()).unwrap();
    let data = dump.join("app/users.bson");
    std::fs::remove_file(&data).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &data).unwrap();
    std::fs::remove_file(&metadata).unwrap();
    std::fs::write(&metadata, METADATA).unwrap();
    both_refuse(&dump, "users.bson: is a symlink");

    // A FIFO is refused by its type, without waiting for a writer.
    std::fs::remove_file(&data).unwrap();
    nix::unistd::mkfifo(&data, nix::sys::stat::Mode::S_IRWXU).unwrap();
    both_refuse(&dump, "users.bson: is a fifo");
}

#[test]
fn a_symlink_in_a_tar_gz_is_named_and_the_extraction_folder_is_removed() {
    let folder = tempfile::tempdir().unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_path("dump/app/users.metadata.json").unwrap();
    link.set_link_name("/etc/passwd").unwrap();
    link.set_size(0);
    let backup = folder.path().join("backup.tar.gz");
    std::fs::write(
        &backup,
        tar_gz_of(vec![
            entry(
                tar::EntryType::Regular,
                "dump/app/users.bson",
                &rawdoc! { "_id": 1 }.into_bytes(),
            ),
            (link, Vec::new()),
        ]),
    )
    .unwrap();
    both_refuse(
        &backup,
        "member `dump/app/users.metadata.json` is a symlink to `/etc/passwd`",
    );
    let (_, output) = drdrill(&["verify-backup", backup.to_str().unwrap()]);
    assert!(!output.contains("root:"), "the target's bytes leaked:\n{output}");
    no_extraction_left(folder.path());

    let climbing = folder.path().join("climbing.tar.gz");
    let mut bytes = tar::Builder::new(Vec::new());
    let (mut header, data) = entry(tar::EntryType::Regular, "dump/app/users.bson", &[5, 0, 0, 0, 0]);
    // `set_path` refuses `..`; write the name field directly.
    header.as_old_mut().name[..22].copy_from_slice(b"../../outside.bson\0\0\0\0");
    header.set_cksum();
    bytes.append(&header, data.as_slice()).unwrap();
    std::fs::write(&climbing, gzip(&bytes.into_inner().unwrap())).unwrap();
    both_refuse(&climbing, "leaves the backup's root (it holds `..`)");
    assert!(!folder.path().parent().unwrap().join("outside.bson").exists());
    no_extraction_left(folder.path());
}

#[test]
fn a_manifest_beside_a_dev_zero_symlink_ends_with_a_named_problem() {
    let folder = tempfile::tempdir().unwrap();
    let dump = dump_folder(folder.path(), &rawdoc! { "_id": 1 }.into_bytes());
    let location = drdrill::backup::locate::locate(&dump).unwrap();
    let manifest = drdrill::backup::manifest::describe_found_backup(&location, None).unwrap();
    drdrill::backup::manifest::write_manifest(&location, &manifest).unwrap();
    let (code, output) = drdrill(&["verify-backup", dump.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}");
    // With a manifest, verify hashes every file: a symlink among them must
    // stop it at once, by name, instead of hashing /dev/zero forever.
    std::os::unix::fs::symlink("/dev/zero", dump.join("app/zero.bson.gz")).unwrap();
    let (code, output) = drdrill(&["verify-backup", dump.to_str().unwrap()]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("zero.bson.gz: is a symlink"), "{output}");
}

#[test]
fn a_long_name_declaring_2_pow_63_bytes_is_refused_without_allocating() {
    let folder = tempfile::tempdir().unwrap();
    let backup = folder.path().join("backup.tar.gz");
    long_name_bomb(&backup);
    assert!(std::fs::metadata(&backup).unwrap().len() < 200);
    both_refuse(
        &backup,
        "a long name header declares 9223372036854775808 bytes (at most 4096)",
    );
    no_extraction_left(folder.path());
}

#[test]
fn a_metadata_gzip_bomb_is_capped_at_16_mib_while_inflating() {
    let folder = tempfile::tempdir().unwrap();
    let dump = dump_folder(folder.path(), &rawdoc! { "_id": 1 }.into_bytes());
    std::fs::remove_file(dump.join("app/users.metadata.json")).unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    std::fs::write(dump.join("app/users.metadata.json.gz"), encoder.finish().unwrap()).unwrap();
    both_refuse(
        &dump,
        "users.metadata.json.gz: holds more than 16777216 bytes, the most this file may hold",
    );
}

/// An archive whose prelude names `namespace`.
fn archive_naming(path: &Path, namespace: Namespace) {
    let mut file = std::fs::File::create(path).unwrap();
    let prelude = [PreludeEntry::collection(
        namespace.clone(),
        CollectionMetadata::collection(&namespace.collection),
    )];
    let header = ArchiveHeader::new("8.0.0", "drdrill test");
    let mut writer = ArchiveWriter::new(&mut file, Origin::file(path), &header, &prelude).unwrap();
    writer.write_document(&namespace, &rawdoc! { "_id": 1 }).unwrap();
    writer.end_namespace(&namespace).unwrap();
    writer.finish().unwrap();
}

#[test]
fn names_that_break_mongodb_s_rules_are_refused_on_read_and_on_write() {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("climbing.archive");
    archive_naming(&archive, Namespace::new("../../tmp/x", "c"));
    let (code, output) = drdrill(&["verify-backup", archive.to_str().unwrap()]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("database name `../../tmp/x` is invalid"), "{output}");
    let dollar = folder.path().join("dollar.archive");
    archive_naming(&dollar, Namespace::new("app", "$cmd"));
    let (code, output) = drdrill(&["verify-backup", dollar.to_str().unwrap()]);
    assert_ne!(code, 0, "{output}");
    assert!(
        output.contains("collection name `$cmd` is invalid: it holds `$`"),
        "{output}"
    );

    let out = folder.path().join("out");
    let (code, output) = drdrill(&[
        "dump",
        "--engine",
        "builtin",
        "--uri",
        "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500",
        "--db",
        "../x",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("database name `../x` is invalid"), "{output}");
    assert!(!out.exists() && !folder.path().join("x").exists());
}

#[tokio::test]
async fn unknown_collection_options_never_reach_create() {
    let server = TestServer::start(Backend::Sqlite).await;
    let folder = tempfile::tempdir().unwrap();
    let dump = dump_folder(folder.path(), &rawdoc! { "_id": 1 }.into_bytes());
    std::fs::write(
        dump.join("app/users.metadata.json"),
        r#"{"options":{"create":"hijacked","$db":"admin"},"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"collectionName":"users","type":"collection"}"#,
    )
    .unwrap();
    let (code, output) = drdrill(&["verify-backup", dump.to_str().unwrap()]);
    assert_ne!(code, 0, "{output}");
    assert!(
        output.contains("metadata options create, $db are not collection options"),
        "{output}"
    );
    let database = format!("hostile_{}", std::process::id());
    let (code, output) = drdrill(&[
        "restore",
        "--engine",
        "builtin",
        "--uri",
        &server.uri,
        "--db",
        &database,
        dump.join("app").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("a restore leaves them out"), "{output}");
    let client = mongodb::Client::with_uri_str(&server.uri).await.unwrap();
    let names = client.database(&database).list_collection_names().await.unwrap();
    assert_eq!(names, ["users"]);
    server.teardown().await;
}

/// The property test: mutations of the genuine fixtures never panic or
/// abort the reader. It runs in-process (not the binary) so thousands of
/// cases fit in CI: `MUTATION_CASES` per form, four forms.
mod mutations {
    use std::path::{Path, PathBuf};

    use drdrill::backup::verify::verify_backup;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// Cases per form: 4 × 500 = 2,000 mutated backups, about 37 s on 2 cores
    /// (measured; the gzip forms are the slow ones).
    const MUTATION_CASES: u32 = 500;

    /// One mutation of one file's bytes.
    #[derive(Debug, Clone)]
    enum Mutation {
        /// XOR one byte.
        Flip { at: usize, mask: u8 },
        /// Cut the file at a point.
        Cut { at: usize },
        /// Insert bytes at a point.
        Splice { at: usize, bytes: Vec<u8> },
        /// Copy a range and insert it again right after itself.
        Duplicate { at: usize, length: usize },
    }

    impl Mutation {
        fn apply(&self, original: &[u8]) -> Vec<u8> {
            let mut bytes = original.to_vec();
            let len = bytes.len().max(1);
            match self {
                Self::Flip { at, mask } => {
                    if !bytes.is_empty() {
                        bytes[at % len] ^= mask | 1;
                    }
                }
                Self::Cut { at } => bytes.truncate(at % len),
                Self::Splice { at, bytes: inserted } => {
                    let at = at % (bytes.len() + 1);
                    bytes.splice(at..at, inserted.iter().copied());
                }
                Self::Duplicate { at, length } => {
                    let start = at % len.min(bytes.len() + 1);
                    let end = (start + length).min(bytes.len());
                    let copy = bytes[start..end].to_vec();
                    bytes.splice(end..end, copy);
                }
            }
            bytes
        }
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
            any::<usize>().prop_map(|at| Mutation::Cut { at }),
            (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(at, bytes)| Mutation::Splice { at, bytes }),
            (any::<usize>(), 1usize..4096).prop_map(|(at, length)| Mutation::Duplicate { at, length }),
        ]
    }

    fn fixtures() -> PathBuf {
        crate::ctx::shared_dir().join("fixtures/real-mongodump")
    }

    /// Copies a fixture (file or folder) into `into`, writable.
    fn copy(from: &Path, into: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(into).unwrap();
            for entry in std::fs::read_dir(from).unwrap().flatten() {
                copy(&entry.path(), &into.join(entry.file_name()));
            }
        } else {
            std::fs::write(into, std::fs::read(from).unwrap()).unwrap();
        }
    }

    /// Every file of a copied form, sorted.
    fn files(root: &Path) -> Vec<PathBuf> {
        if root.is_file() {
            return vec![root.to_owned()];
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(root).unwrap().flatten() {
            found.extend(files(&entry.path()));
        }
        found.sort();
        found
    }

    /// Mutates one file of `form` per case, verifies, and puts it back.
    fn mutate_form(form: &str) {
        let folder = tempfile::tempdir().unwrap();
        let copied = folder.path().join(form);
        copy(&fixtures().join(form), &copied);
        let targets: Vec<(PathBuf, Vec<u8>)> = files(&copied)
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        let config = Config {
            cases: MUTATION_CASES,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        runner
            .run(&(any::<usize>(), mutation()), |(file, mutation)| {
                let (path, original) = &targets[file % targets.len()];
                std::fs::write(path, mutation.apply(original)).unwrap();
                // Any report is fine; a panic fails the case, an abort the run.
                let _report = verify_backup(&copied);
                std::fs::write(path, original).unwrap();
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn mutated_directory_never_panics() {
        mutate_form("dir");
    }

    #[test]
    fn mutated_gzip_directory_never_panics() {
        mutate_form("dir-gzip");
    }

    #[test]
    fn mutated_archive_never_panics() {
        mutate_form("dump.archive");
    }

    #[test]
    fn mutated_gzip_archive_never_panics() {
        mutate_form("dump.archive.gz");
    }
}

/// The 98-byte kind of `.tar.gz` whose GNU long-name header declares 2^63 bytes.
fn long_name_bomb(path: &Path) {
    let mut long_name = tar::Header::new_gnu();
    long_name.set_entry_type(tar::EntryType::GNULongName);
    long_name.set_path("././@LongLink").unwrap();
    long_name.as_gnu_mut().unwrap().size = [0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0];
    long_name.set_cksum();
    let mut tar_bytes = long_name.as_bytes().to_vec();
    tar_bytes.extend_from_slice(&[0u8; 1024]);
    std::fs::write(path, gzip(&tar_bytes)).unwrap();
}

#[test]
fn a_drill_whose_command_backup_is_a_long_name_bomb_still_writes_its_report() {
    let folder = tempfile::tempdir().unwrap();
    let bomb = folder.path().join("bomb.tar.gz");
    long_name_bomb(&bomb);
    let scenario = folder.path().join("bomb.toml");
    std::fs::write(
        &scenario,
        format!(
            r#"name = "hostile-bomb"

[topology]
provider = "local"
engine = "ferretdb"

[dataset]
profile = "shepherd-cms"
documents = 50

[[steps]]
kind = "seed"

[[steps]]
kind = "backup"
engine = "command"
command = "mkdir -p \"$BACKUP_DIR\" && cp '{}' \"$BACKUP_DIR/backup.tar.gz\""

[[steps]]
kind = "restore"

[[steps]]
kind = "verify"
"#,
            bomb.display()
        ),
    )
    .unwrap();
    let out = folder.path().join("out");
    let output = ctx::drdrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!stderr.contains("memory allocation"), "{stderr}");
    assert_ne!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_ne!(output.status.code(), None, "killed by a signal:\n{stderr}");
    let drill = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .unwrap_or_else(|| panic!("no drill folder:\n{stdout}\n{stderr}"));
    let report = std::fs::read_to_string(drill.join("report.json")).unwrap();
    assert!(
        report.contains("a long name header declares 9223372036854775808 bytes (at most 4096)"),
        "{report}"
    );
}
