//! `drdrill-manifest.json`: what a backup holds and how to tell that it is
//! intact, written beside every backup the harness takes or finds (inside a
//! dump folder; `<file>.drdrill-manifest.json` beside an archive or a
//! `.tar.gz`). It records the engine and tool versions, the redacted source
//! URI, the time window the backup was read in, per collection the count,
//! the `_id`-order MD5, the bytes and the index specifications, and the
//! SHA-256 and size of every file.
//!
//! This module owns the manifest's schema and its computation from files;
//! checking a backup against it is [`crate::backup::verify`]'s job.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backup::builtin::BuiltinError;
use crate::backup::builtin::digest::{DigestResult, IdOrderDigest, SORT_MEMORY_BOUND, SortBudget};
use crate::backup::builtin::source::{BatchLimits, OpenedBackup, location_path};
use crate::backup::engine::{BackupLocation, EngineInfo, Layout};
use crate::backup::format::{
    CollectionMetadata, FormatError, PARTIAL_SUFFIX, describe_file_type, open_regular, read_small_file,
};
use crate::backup::verify::feed_digests;

/// The schema version; changes whenever a field changes meaning.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// The manifest's file name inside a dump folder.
pub const MANIFEST_FILE_NAME: &str = "drdrill-manifest.json";

/// What the consistency field says for a dump without an oplog: each
/// collection was read at its own moment inside the window.
pub const NO_SINGLE_POINT: &str = "no single point in time: collections were read one after another between started \
                                   and finished (no oplog; FerretDB has none)";

/// The manifest of one backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The engine that made the backup (or `found` for a backup found on disk).
    pub engine: EngineInfo,
    /// Versions of the tools involved (`mongodump`, `server`), as reported.
    pub tool_versions: BTreeMap<String, String>,
    /// The source deployment, credentials redacted; `None` when unknown.
    pub source_uri: Option<String>,
    /// The database backed up.
    pub database: String,
    /// Directory or archive, gzip or not; `None` for a `.tar.gz`.
    pub layout: Option<Layout>,
    /// When reading the source began (UTC, RFC 3339, milliseconds).
    pub started: Option<String>,
    /// When reading the source ended (UTC, RFC 3339, milliseconds).
    pub finished: Option<String>,
    /// What `started`..`finished` means for consistency.
    pub consistency: String,
    /// Per collection, by name.
    pub collections: BTreeMap<String, CollectionEntry>,
    /// Every file of the backup, by path relative to the dump folder (or the
    /// file name of an archive), with its SHA-256 and size.
    pub files: BTreeMap<String, FileEntry>,
}

/// One collection in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionEntry {
    /// Documents.
    pub count: u64,
    /// MD5 over the raw documents in ascending `_id` order, hex; `None`
    /// when it could not be computed (see `md5_unavailable`).
    pub md5: Option<String>,
    /// Why `md5` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_unavailable: Option<String>,
    /// Raw BSON bytes of the documents.
    pub bytes: u64,
    /// Index specifications from the metadata, as plain JSON.
    pub indexes: Vec<serde_json::Value>,
}

/// One file in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why a manifest could not be written, read or computed.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read, written or renamed.
    #[error("{path}: cannot {action}")]
    Filesystem {
        /// The file.
        path: PathBuf,
        /// What was attempted.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of this schema.
    #[error("{path}: invalid manifest")]
    Syntax {
        /// The manifest file.
        path: PathBuf,
        /// The cause, with the key path.
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },
    /// The manifest has a schema version this harness does not know.
    #[error("{path}: manifest schema version {found} is not supported (expected {MANIFEST_SCHEMA_VERSION})")]
    SchemaVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// A manifest or backup file breaks the backup rules (a symlink, a
    /// device, a manifest over 16 MiB).
    #[error("cannot read a file of the backup")]
    Member {
        /// The file and the rule (boxed: the format error is large).
        #[source]
        source: Box<FormatError>,
    },
    /// The backup itself could not be read while computing its manifest.
    #[error("cannot describe the backup")]
    Backup {
        /// The cause.
        #[source]
        source: Box<BuiltinError>,
    },
}

/// Where the manifest of a backup lives.
pub fn manifest_path(location: &BackupLocation) -> PathBuf {
    match location {
        BackupLocation::Directory { path, .. } => path.join(MANIFEST_FILE_NAME),
        BackupLocation::Archive { path, .. } | BackupLocation::TarGz { path } => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{MANIFEST_FILE_NAME}"));
            path.with_file_name(name)
        }
    }
}

/// UTC now as the manifest writes times (RFC 3339, milliseconds).
pub fn timestamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes the manifest (through a partial file renamed at the end).
pub fn write_manifest(location: &BackupLocation, manifest: &Manifest) -> Result<PathBuf, ManifestError> {
    let path = manifest_path(location);
    let partial = path.with_file_name(format!(
        "{}{PARTIAL_SUFFIX}",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    // Serializing plain strings, numbers and JSON values cannot fail.
    let mut text = serde_json::to_string_pretty(manifest).unwrap_or_default();
    text.push('\n');
    std::fs::write(&partial, text).map_err(|source| ManifestError::Filesystem {
        path: partial.clone(),
        action: "write".to_owned(),
        source,
    })?;
    std::fs::rename(&partial, &path).map_err(|source| ManifestError::Filesystem {
        path: partial.clone(),
        action: format!("rename to {}", path.display()),
        source,
    })?;
    Ok(path)
}

/// Reads the manifest of a backup; `Ok(None)` when there is none.
pub fn read_manifest(location: &BackupLocation) -> Result<Option<Manifest>, ManifestError> {
    let path = manifest_path(location);
    match path.symlink_metadata() {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ManifestError::Filesystem {
                path,
                action: "read".to_owned(),
                source,
            });
        }
    }
    let text = read_small_file(&path).map_err(|source| ManifestError::Member {
        source: Box::new(source),
    })?;
    // Check the version first, so a newer schema gets a precise message
    // instead of an unknown-field error.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&text)
        && let Some(found) = value.get("schema_version").and_then(serde_json::Value::as_u64)
        && found != u64::from(MANIFEST_SCHEMA_VERSION)
    {
        return Err(ManifestError::SchemaVersion {
            path,
            found: found as u32,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    let manifest =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|source| ManifestError::Syntax { path, source })?;
    Ok(Some(manifest))
}

/// SHA-256 and size of every file of the backup: each file under a dump
/// folder (except the manifest and unfinished `.partial` files), or the one
/// archive or `.tar.gz` file.
pub fn hash_backup_files(location: &BackupLocation) -> Result<BTreeMap<String, FileEntry>, ManifestError> {
    let mut files = BTreeMap::new();
    match location {
        BackupLocation::Directory { path, .. } => {
            for relative in list_files(path)? {
                let entry = hash_file(&path.join(&relative))?;
                files.insert(relative, entry);
            }
        }
        BackupLocation::Archive { path, .. } | BackupLocation::TarGz { path } => {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            // The archive is the backup's root: a symlink naming it is followed once.
            let target = std::fs::canonicalize(path).map_err(|source| ManifestError::Filesystem {
                path: path.clone(),
                action: "read".to_owned(),
                source,
            })?;
            files.insert(name, hash_file(&target)?);
        }
    }
    Ok(files)
}

/// Files under `root`, relative, `/`-separated, sorted; the manifest and
/// partial files left out.
pub fn list_files(root: &Path) -> Result<Vec<String>, ManifestError> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let folder = root.join(&relative);
        let entries = std::fs::read_dir(&folder).map_err(|source| ManifestError::Filesystem {
            path: folder.clone(),
            action: "list".to_owned(),
            source,
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = relative.join(&name);
            let kind = entry.file_type().map_err(|source| ManifestError::Filesystem {
                path: entry.path(),
                action: "inspect".to_owned(),
                source,
            })?;
            if kind.is_dir() {
                pending.push(child);
            } else if !kind.is_file() {
                let source = FormatError::NotRegular {
                    path: entry.path(),
                    kind: describe_file_type(kind),
                };
                return Err(ManifestError::Member {
                    source: Box::new(source),
                });
            } else if (!relative.as_os_str().is_empty() || name != MANIFEST_FILE_NAME)
                && !name.ends_with(PARTIAL_SUFFIX)
            {
                let parts: Vec<String> = child
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push(parts.join("/"));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// SHA-256 and size of one file.
pub fn hash_file(path: &Path) -> Result<FileEntry, ManifestError> {
    let read_error = |source| ManifestError::Filesystem {
        path: path.to_owned(),
        action: "read".to_owned(),
        source,
    };
    let mut file = open_regular(path).map_err(|source| ManifestError::Member {
        source: Box::new(source),
    })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let count = file.read(&mut buffer).map_err(read_error)?;
        if count == 0 {
            break;
        }
        size += count as u64;
        hasher.update(&buffer[..count]);
    }
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// Index specifications of a metadata, as the manifest stores them.
pub fn index_specifications(metadata: Option<&CollectionMetadata>) -> Vec<serde_json::Value> {
    metadata
        .map(|metadata| {
            metadata
                .indexes
                .iter()
                .map(|index| serde_json::to_value(index).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

/// Computes the manifest of a backup found on disk (made by the real tools
/// or anything else): counts, `_id`-order MD5s (an external merge sort
/// within [`SORT_MEMORY_BOUND`] of memory for all collections together),
/// indexes and file hashes. `database` picks one database of a
/// backup that holds several; `None` takes the first.
pub fn describe_found_backup(location: &BackupLocation, database: Option<&str>) -> Result<Manifest, ManifestError> {
    let backup_error = |source| ManifestError::Backup {
        source: Box::new(source),
    };
    let opened = OpenedBackup::open(location).map_err(backup_error)?;
    let databases = opened.databases();
    let database = match database {
        Some(database) => database.to_owned(),
        None => databases.first().cloned().unwrap_or_default(),
    };
    let found: Vec<_> = opened
        .collections()
        .into_iter()
        .filter(|collection| collection.namespace.database == database)
        .collect();
    let budget = SortBudget::new(SORT_MEMORY_BOUND, std::env::temp_dir());
    let mut digests: BTreeMap<String, IdOrderDigest> = found
        .iter()
        .map(|collection| {
            (
                collection.namespace.collection.clone(),
                IdOrderDigest::spilling(&budget),
            )
        })
        .collect();
    let mut finished: BTreeMap<String, DigestResult> = BTreeMap::new();
    let namespaces: Vec<_> = found.iter().map(|collection| collection.namespace.clone()).collect();
    opened
        .read_documents(&namespaces, BatchLimits::default(), &mut |event| {
            feed_digests(
                event,
                |namespace| namespace.collection.clone(),
                &mut digests,
                &mut finished,
            );
            true
        })
        .map_err(backup_error)?;
    let mut collections = BTreeMap::new();
    for collection in &found {
        let metadata = opened.metadata(&collection.namespace).map_err(backup_error)?;
        let digest = match finished.remove(&collection.namespace.collection) {
            Some(digest) => digest,
            None => digests
                .remove(&collection.namespace.collection)
                .unwrap_or_default()
                .finish(),
        };
        collections.insert(
            collection.namespace.collection.clone(),
            CollectionEntry {
                count: digest.count,
                md5: digest.md5,
                md5_unavailable: digest.md5_unavailable,
                bytes: digest.bytes,
                indexes: index_specifications(metadata.as_ref()),
            },
        );
    }
    let layout = match location {
        BackupLocation::Directory { gzip, .. } => Some(Layout::Directory { gzip: *gzip }),
        BackupLocation::Archive { gzip, .. } => Some(Layout::Archive { gzip: *gzip }),
        BackupLocation::TarGz { .. } => None,
    };
    Ok(Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        engine: EngineInfo {
            name: "found".to_owned(),
            version: format!("found on disk at {}", location_path(location).display()),
        },
        tool_versions: BTreeMap::new(),
        source_uri: None,
        database,
        layout,
        started: None,
        finished: None,
        consistency: "unknown: the backup was found on disk, not taken by the harness".to_owned(),
        collections,
        files: hash_backup_files(location)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut collections = BTreeMap::new();
        collections.insert(
            "users".to_owned(),
            CollectionEntry {
                count: 2,
                md5: Some("00".repeat(16)),
                md5_unavailable: None,
                bytes: 40,
                indexes: vec![serde_json::json!({"v": 2, "key": {"_id": 1}, "name": "_id_"})],
            },
        );
        Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            engine: EngineInfo {
                name: "builtin".to_owned(),
                version: "drdrill 0.1.0".to_owned(),
            },
            tool_versions: BTreeMap::new(),
            source_uri: Some("mongodb://127.0.0.1:1/".to_owned()),
            database: "shepherd_cms".to_owned(),
            layout: Some(Layout::Directory { gzip: false }),
            started: Some(timestamp(
                chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
            )),
            finished: None,
            consistency: NO_SINGLE_POINT.to_owned(),
            collections,
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn manifest_round_trips_beside_each_shape() {
        let folder = tempfile::tempdir().unwrap();
        let location = BackupLocation::Directory {
            path: folder.path().to_owned(),
            gzip: false,
        };
        assert_eq!(read_manifest(&location).unwrap(), None);
        let written = write_manifest(&location, &sample()).unwrap();
        assert_eq!(written, folder.path().join("drdrill-manifest.json"));
        assert_eq!(read_manifest(&location).unwrap(), Some(sample()));
        assert_eq!(sample().started.as_deref(), Some("2023-11-14T22:13:20.123Z"));
        let archive = BackupLocation::Archive {
            path: folder.path().join("x.archive"),
            gzip: true,
        };
        assert_eq!(
            manifest_path(&archive),
            folder.path().join("x.archive.drdrill-manifest.json")
        );
    }

    #[test]
    fn a_newer_schema_or_an_unknown_field_is_refused_with_the_place() {
        let folder = tempfile::tempdir().unwrap();
        let location = BackupLocation::Directory {
            path: folder.path().to_owned(),
            gzip: false,
        };
        let path = folder.path().join(MANIFEST_FILE_NAME);
        std::fs::write(&path, r#"{"schema_version": 9}"#).unwrap();
        assert_eq!(
            read_manifest(&location).unwrap_err().to_string(),
            format!(
                "{}: manifest schema version 9 is not supported (expected 1)",
                path.display()
            )
        );
        let mut value = serde_json::to_value(sample()).unwrap();
        value["collections"]["users"]["cnt"] = serde_json::json!(1);
        std::fs::write(&path, value.to_string()).unwrap();
        let error = read_manifest(&location).unwrap_err();
        let ManifestError::Syntax { source, .. } = &error else {
            panic!("{error}")
        };
        assert_eq!(source.path().to_string(), "collections.users.cnt");
    }

    #[test]
    fn file_hashes_cover_every_file_but_the_manifest() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir(folder.path().join("db")).unwrap();
        std::fs::write(folder.path().join("db/a.bson"), b"abc").unwrap();
        std::fs::write(folder.path().join("db/b.bson.partial"), b"x").unwrap();
        std::fs::write(folder.path().join(MANIFEST_FILE_NAME), b"{}").unwrap();
        let location = BackupLocation::Directory {
            path: folder.path().to_owned(),
            gzip: false,
        };
        let files = hash_backup_files(&location).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["db/a.bson"]);
        assert_eq!(
            files["db/a.bson"].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(files["db/a.bson"].size, 3);
    }
}
