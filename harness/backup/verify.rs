//! `verify-backup`: checks a backup on disk without any server. It finds
//! the backup's shape, checks every file against the manifest (SHA-256,
//! size, missing and extra files), reads every document (framing and
//! elements), parses every metadata, and compares counts and `_id`-order
//! MD5s with the manifest. Without a manifest it still checks what can be
//! checked and says "no manifest". Each problem names the file, the
//! collection and the offset where there is one.

use crate::error::chain;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup::builtin::digest::{DigestResult, IdOrderDigest, SORT_MEMORY_BOUND, SortBudget};
use crate::backup::builtin::source::{BatchLimits, FoundCollection, OpenedBackup, ReadEvent, location_path};
use crate::backup::builtin::{BuiltinError, locate_backup};
use crate::backup::engine::BackupLocation;
use crate::backup::format::{FormatError, Namespace};
use crate::backup::manifest::{self, Manifest};

/// One thing wrong with a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, when one is at fault.
    pub file: Option<PathBuf>,
    /// The collection (`db.collection`), when one is concerned.
    pub collection: Option<String>,
    /// Byte offset (decompressed) in the file, when known.
    pub offset: Option<u64>,
    /// What is wrong, with its causes.
    pub message: String,
}

/// What was found for one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedCollection {
    /// `db.collection`.
    pub namespace: String,
    /// Documents read (up to the first error).
    pub documents: u64,
    /// Raw BSON bytes read.
    pub bytes: u64,
    /// `_id`-order MD5, when the whole collection was read and could be sorted.
    pub md5: Option<String>,
    /// Whether its metadata is present and parseable.
    pub metadata: bool,
}

/// The result of verifying one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The path given.
    pub path: PathBuf,
    /// What kind of backup it is, when that could be told.
    pub location: Option<BackupLocation>,
    /// Whether a manifest was found (and read).
    pub manifest: bool,
    /// Collections read.
    pub collections: Vec<VerifiedCollection>,
    /// Remarks that are not problems (`no manifest: ...`).
    pub notes: Vec<String>,
    /// Everything wrong; empty when the backup is intact.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, file: Option<&Path>, collection: Option<String>, offset: Option<u64>, message: String) {
        self.problems.push(Problem {
            file: file.map(Path::to_owned),
            collection,
            offset,
            message,
        });
    }

    fn error_problem(&mut self, error: &BuiltinError, collection: Option<String>) {
        let (file, namespace, offset) = match error {
            BuiltinError::Read { source, .. } => place_of(source),
            BuiltinError::Filesystem { path, .. } => (Some(path.clone()), None, None),
            _ => (None, None, None),
        };
        self.problems.push(Problem {
            file,
            collection: namespace.map(|namespace| namespace.to_string()).or(collection),
            offset,
            message: chain(error),
        });
    }
}

/// File, namespace and offset a format error names.
fn place_of(error: &FormatError) -> (Option<PathBuf>, Option<Namespace>, Option<u64>) {
    match error {
        FormatError::Io { origin, offset, .. }
        | FormatError::Gzip { origin, offset, .. }
        | FormatError::TruncatedLength { origin, offset, .. }
        | FormatError::TruncatedDocument { origin, offset, .. }
        | FormatError::InvalidLength { origin, offset, .. }
        | FormatError::MissingTerminator { origin, offset, .. }
        | FormatError::MalformedDocument { origin, offset, .. }
        | FormatError::CorruptArchive { origin, offset, .. }
        | FormatError::ArchiveCut { origin, offset }
        | FormatError::CrcMismatch { origin, offset, .. }
        | FormatError::TooDeep { origin, offset, .. }
        | FormatError::Visitor { origin, offset, .. } => (origin.file.clone(), origin.namespace.clone(), Some(*offset)),
        FormatError::MetadataSyntax { origin, .. }
        | FormatError::MetadataField { origin, .. }
        | FormatError::Encode { origin, .. }
        | FormatError::BadMagic { origin, .. }
        | FormatError::InvalidName { origin, .. }
        | FormatError::WriterMisuse { origin, .. } => (origin.file.clone(), origin.namespace.clone(), None),
        FormatError::NotADump { path, .. }
        | FormatError::Filesystem { path, .. }
        | FormatError::Prelude { path, .. }
        | FormatError::NotRegular { path, .. }
        | FormatError::TooLarge { path, .. } => (Some(path.clone()), None, None),
        FormatError::InvalidEscape { .. } => (None, None, None),
    }
}

/// Feeds a batch to its collection's digest, and finishes the digest (giving
/// its memory back) when the collection ends.
pub(crate) fn feed_digests<K: Ord>(
    event: ReadEvent,
    key: impl Fn(&Namespace) -> K,
    digests: &mut BTreeMap<K, IdOrderDigest>,
    finished: &mut BTreeMap<K, DigestResult>,
) {
    match event {
        ReadEvent::Batch { namespace, documents } => {
            if let Some(digest) = digests.get_mut(&key(&namespace)) {
                for document in &documents {
                    digest.update(document);
                }
            }
        }
        ReadEvent::End { namespace } => {
            let key = key(&namespace);
            if let Some(digest) = digests.remove(&key) {
                finished.insert(key, digest.finish());
            }
        }
    }
}

/// Metadata: parseable, and present (mongorestore restores without it, but
/// then without indexes or options); options `create` would not take are a
/// problem by name. Says per collection whether its metadata is usable.
fn check_metadata(
    opened: &OpenedBackup,
    found: &[FoundCollection],
    report: &mut VerifyReport,
) -> BTreeMap<Namespace, bool> {
    let mut has_metadata = BTreeMap::new();
    for collection in found {
        let ok = match opened.metadata(&collection.namespace) {
            Ok(Some(metadata)) => {
                if let Some(finding) = metadata.dropped_options_finding() {
                    let message = format!("{}: {finding}", collection.namespace);
                    let namespace = Some(collection.namespace.to_string());
                    report.problem(collection.metadata_file.as_deref(), namespace, None, message);
                }
                true
            }
            Ok(None) => {
                report.problem(
                    Some(&collection.file),
                    Some(collection.namespace.to_string()),
                    None,
                    format!(
                        "{}: no metadata; a restore would recreate it without its indexes and options",
                        collection.namespace
                    ),
                );
                false
            }
            Err(error) => {
                report.error_problem(&error, Some(collection.namespace.to_string()));
                false
            }
        };
        has_metadata.insert(collection.namespace.clone(), ok);
    }
    has_metadata
}

/// Reads every document and digests each collection; returns the digests
/// and the collections whose reading broke.
fn digest_documents(
    opened: &OpenedBackup,
    found: &[FoundCollection],
    report: &mut VerifyReport,
) -> (BTreeMap<Namespace, DigestResult>, BTreeSet<Namespace>) {
    // Documents: directories one collection at a time, so one broken file
    // does not hide the others; an archive is one stream.
    // One memory budget for every collection's sort, and each digest
    // finished as soon as its collection ends, so memory stays bounded
    // however many collections and documents the backup holds.
    let budget = SortBudget::new(SORT_MEMORY_BOUND, std::env::temp_dir());
    let mut digests: BTreeMap<Namespace, IdOrderDigest> = found
        .iter()
        .map(|collection| (collection.namespace.clone(), IdOrderDigest::spilling(&budget)))
        .collect();
    let mut finished: BTreeMap<Namespace, DigestResult> = BTreeMap::new();
    let mut broken: BTreeSet<Namespace> = BTreeSet::new();
    let groups: Vec<Vec<Namespace>> = if opened.is_single_stream() {
        vec![found.iter().map(|collection| collection.namespace.clone()).collect()]
    } else {
        found
            .iter()
            .map(|collection| vec![collection.namespace.clone()])
            .collect()
    };
    for group in groups {
        let result = opened.read_documents(&group, BatchLimits::default(), &mut |event| {
            feed_digests(event, Namespace::clone, &mut digests, &mut finished);
            true
        });
        if let Err(error) = result {
            let named = match &error {
                BuiltinError::Read { source, .. } => place_of(source).1,
                _ => None,
            };
            let concerned = match (&named, group.len()) {
                (Some(namespace), _) => vec![namespace.clone()],
                (None, 1) => group.clone(),
                (None, _) => group.clone(),
            };
            report.error_problem(&error, concerned.first().map(ToString::to_string));
            broken.extend(concerned);
        }
    }
    finished.extend(
        digests
            .into_iter()
            .map(|(namespace, digest)| (namespace, digest.finish())),
    );
    (finished, broken)
}

/// Verifies the backup at `path` (a dump folder, a database folder, an
/// archive or a `.tar.gz`), reading everything, talking to no server.
pub fn verify_backup(path: &Path) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_owned(),
        location: None,
        manifest: false,
        collections: Vec::new(),
        notes: Vec::new(),
        problems: Vec::new(),
    };
    let location = match locate_backup(path) {
        Ok(location) => location,
        Err(error) => {
            report.error_problem(&error, None);
            return report;
        }
    };
    report.location = Some(location.clone());
    let manifest = match manifest::read_manifest(&location) {
        Ok(Some(manifest)) => {
            report.manifest = true;
            Some(manifest)
        }
        Ok(None) => {
            report.notes.push(format!(
                "no manifest ({}): checked documents, metadata and counts only, not file hashes or md5s",
                manifest::manifest_path(&location).display()
            ));
            None
        }
        Err(error) => {
            report.problem(Some(&manifest::manifest_path(&location)), None, None, chain(&error));
            None
        }
    };
    if let Some(manifest) = &manifest {
        check_files(&location, manifest, &mut report);
    }
    let opened = match OpenedBackup::open(&location) {
        Ok(opened) => opened,
        Err(error) => {
            report.error_problem(&error, None);
            return report;
        }
    };
    let found: Vec<_> = opened
        .collections()
        .into_iter()
        .filter(|found| {
            manifest
                .as_ref()
                .is_none_or(|manifest| opened.database_level || found.namespace.database == manifest.database)
        })
        .collect();
    let has_metadata = check_metadata(&opened, &found, &mut report);
    let (finished, broken) = digest_documents(&opened, &found, &mut report);
    let mut verified = BTreeMap::new();
    for (namespace, result) in finished {
        let complete = !broken.contains(&namespace);
        verified.insert(namespace.clone(), (result.clone(), complete));
        report.collections.push(VerifiedCollection {
            namespace: namespace.to_string(),
            documents: result.count,
            bytes: result.bytes,
            md5: if complete { result.md5 } else { None },
            metadata: has_metadata.get(&namespace).copied().unwrap_or(false),
        });
    }
    if let Some(manifest) = &manifest {
        compare_with_manifest(manifest, &verified, &location, &mut report);
    }
    report
}

/// File hashes and sizes against the manifest; missing and extra files.
fn check_files(location: &BackupLocation, manifest: &Manifest, report: &mut VerifyReport) {
    let root = location_path(location);
    let actual = match manifest::hash_backup_files(location) {
        Ok(files) => files,
        Err(error) => {
            report.problem(Some(root), None, None, chain(&error));
            return;
        }
    };
    let file_path = |relative: &str| match location {
        BackupLocation::Directory { path, .. } => path.join(relative),
        _ => root.to_owned(),
    };
    for (relative, expected) in &manifest.files {
        match actual.get(relative) {
            None => report.problem(
                Some(&file_path(relative)),
                None,
                None,
                format!("{relative}: listed in the manifest but missing"),
            ),
            Some(found) if found.size != expected.size => report.problem(
                Some(&file_path(relative)),
                None,
                None,
                format!(
                    "{relative}: size {} differs from the manifest's {}",
                    found.size, expected.size
                ),
            ),
            Some(found) if found.sha256 != expected.sha256 => report.problem(
                Some(&file_path(relative)),
                None,
                None,
                format!(
                    "{relative}: sha-256 {} differs from the manifest's {}",
                    found.sha256, expected.sha256
                ),
            ),
            Some(_) => {}
        }
    }
    for relative in actual.keys() {
        if !manifest.files.contains_key(relative) {
            report.problem(
                Some(&file_path(relative)),
                None,
                None,
                format!("{relative}: not listed in the manifest"),
            );
        }
    }
}

fn compare_with_manifest(
    manifest: &Manifest,
    verified: &BTreeMap<Namespace, (crate::backup::builtin::digest::DigestResult, bool)>,
    location: &BackupLocation,
    report: &mut VerifyReport,
) {
    let path = location_path(location).to_owned();
    let by_name: BTreeMap<&str, _> = verified
        .iter()
        .map(|(namespace, value)| (namespace.collection.as_str(), (namespace, value)))
        .collect();
    for (name, expected) in &manifest.collections {
        let namespace = format!("{}.{name}", manifest.database);
        let Some((_, (found, complete))) = by_name.get(name.as_str()) else {
            report.problem(
                Some(&path),
                Some(namespace.clone()),
                None,
                format!("{namespace}: in the manifest but not in the backup"),
            );
            continue;
        };
        if !complete {
            continue;
        }
        if found.count != expected.count {
            report.problem(
                Some(&path),
                Some(namespace.clone()),
                None,
                format!(
                    "{namespace}: {} documents, the manifest says {}",
                    found.count, expected.count
                ),
            );
        }
        if let (Some(found_md5), Some(expected_md5)) = (&found.md5, &expected.md5)
            && found_md5 != expected_md5
        {
            report.problem(
                Some(&path),
                Some(namespace.clone()),
                None,
                format!("{namespace}: md5 {found_md5} differs from the manifest's {expected_md5}"),
            );
        }
    }
    for name in by_name.keys() {
        if !manifest.collections.contains_key(*name) {
            let namespace = format!("{}.{name}", manifest.database);
            report.problem(
                Some(&path),
                Some(namespace.clone()),
                None,
                format!("{namespace}: in the backup but not in the manifest"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `shared/` sits beside the main checkout, two levels up from a worktree.
    fn fixtures() -> PathBuf {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        ["../shared", "../../shared", "shared"]
            .iter()
            .map(|candidate| root.join(candidate).join("fixtures/real-mongodump"))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("shared/fixtures/real-mongodump not found near {}", root.display()))
    }

    #[test]
    fn genuine_dumps_verify_without_a_manifest() {
        let root = fixtures();
        for form in ["dir", "dir-gzip", "dump.archive", "dump.archive.gz"] {
            let report = verify_backup(&root.join(form));
            assert!(report.is_ok(), "{form}: {:?}", report.problems);
            assert!(!report.manifest, "{form}");
            assert!(report.notes[0].starts_with("no manifest"), "{form}: {:?}", report.notes);
            let users = report
                .collections
                .iter()
                .find(|collection| collection.namespace == "shepherd_fixture.users")
                .unwrap();
            assert_eq!(users.documents, 100, "{form}");
            assert_eq!(users.md5.as_deref(), Some("b43c34b251e6621c1069b080833a11e9"), "{form}");
        }
    }

    #[test]
    fn a_found_backup_gets_a_manifest_that_then_verifies_and_catches_a_change() {
        let folder = tempfile::tempdir().unwrap();
        let copy = folder.path().join("dir");
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(fixtures().join("dir"))
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success());
        let _ = std::process::Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(&copy)
            .status();
        let location = locate_backup(&copy).unwrap();
        let described = manifest::describe_found_backup(&location, Some("shepherd_fixture")).unwrap();
        assert_eq!(
            described.collections["configurations"].md5.as_deref(),
            Some("a56f641cbabf8459e90202db2a9e8b26")
        );
        manifest::write_manifest(&location, &described).unwrap();
        let report = verify_backup(&copy);
        assert!(report.manifest);
        assert!(report.is_ok(), "{:?}", report.problems);

        let users = copy.join("shepherd_fixture/users.bson");
        let mut bytes = std::fs::read(&users).unwrap();
        // Inside the first document's email string: still well-formed BSON.
        let position = bytes.windows(1).position(|window| window == b"@").unwrap();
        bytes[position] = b'#';
        std::fs::write(&users, bytes).unwrap();
        std::fs::write(copy.join("shepherd_fixture/notes.txt"), b"x").unwrap();
        let report = verify_backup(&copy);
        let messages: Vec<&str> = report.problems.iter().map(|problem| problem.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(
            messages[0].starts_with("shepherd_fixture/users.bson: sha-256 "),
            "{messages:?}"
        );
        assert_eq!(messages[1], "shepherd_fixture/notes.txt: not listed in the manifest");
        assert!(
            messages[2].starts_with("shepherd_fixture.users: md5 ")
                && messages[2].ends_with("differs from the manifest's b43c34b251e6621c1069b080833a11e9"),
            "{messages:?}"
        );
    }
}
