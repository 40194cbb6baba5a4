//! Reading a dump directory as mongodump writes it: `<out>/<db>/` folders
//! holding `<escaped collection>.bson[.gz]` and `.metadata.json[.gz]`, and a
//! `prelude.json[.gz]` in `<out>/` (whole-server dumps) or in `<out>/<db>/`
//! (`--db` dumps). The path given may be the dump root or one database
//! folder, as a runbook's `mongorestore --db X path/X/` passes it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::bson_stream::BsonStream;
use super::error::{FormatError, Origin};
use super::metadata::CollectionMetadata;
use super::names::{Namespace, is_truncated_stem, unescape_collection_name};
use super::open::{describe_file_type, read_small_file};

/// Suffix of files the directory writer has not finished; readers skip them.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// `prelude.json`: which server and tool made the dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpPrelude {
    /// The source server's version, as `buildInfo` reported it.
    #[serde(rename = "ServerVersion")]
    pub server_version: String,
    /// The dumping tool's version string.
    #[serde(rename = "ToolVersion")]
    pub tool_version: String,
}

/// One collection's files in a dump directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpCollection {
    /// Database and real (unescaped) collection name.
    pub namespace: Namespace,
    /// The `.bson` or `.bson.gz` file; absent for views.
    pub bson_file: Option<PathBuf>,
    /// The `.metadata.json` or `.metadata.json.gz` file, if present.
    pub metadata_file: Option<PathBuf>,
}

impl DumpCollection {
    /// Whether the collection's data is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        let file = self.bson_file.as_ref().or(self.metadata_file.as_ref());
        file.is_some_and(|file| file.extension().is_some_and(|extension| extension == "gz"))
    }

    /// A stream over the collection's documents (empty when there is no
    /// `.bson` file).
    pub fn open_documents(&self) -> Result<BsonStream<Box<dyn Read + Send>>, FormatError> {
        match &self.bson_file {
            Some(path) => BsonStream::open_file(path, Some(self.namespace.clone())),
            None => Ok(BsonStream::new(
                Box::new(std::io::empty()) as Box<dyn Read + Send>,
                Origin::namespace(self.namespace.clone()),
            )),
        }
    }

    /// The collection's metadata, if it has a metadata file. A missing
    /// `collectionName` (old dumps) is filled with the namespace's name.
    pub fn read_metadata(&self) -> Result<Option<CollectionMetadata>, FormatError> {
        let Some(path) = &self.metadata_file else {
            return Ok(None);
        };
        let mut metadata = read_metadata_file(path, Some(self.namespace.clone()))?;
        if let Some(metadata) = metadata.as_mut().filter(|metadata| metadata.collection_name.is_empty()) {
            metadata.collection_name = self.namespace.collection.clone();
        }
        Ok(metadata)
    }
}

/// One database folder of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpDatabase {
    /// The database name (the folder name).
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// Its collections, sorted by name.
    pub collections: Vec<DumpCollection>,
}

/// A dump directory, listed but not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpDirectory {
    /// The path given to [`DumpDirectory::open`].
    pub root: PathBuf,
    /// `prelude.json`, when the dump has one (mongodump 100.12 and later).
    pub prelude: Option<DumpPrelude>,
    /// The databases, sorted by name.
    pub databases: Vec<DumpDatabase>,
    /// A top-level `oplog.bson` (`mongodump --oplog`), if present.
    pub oplog_file: Option<PathBuf>,
}

/// What a file in a database folder is.
enum DumpFileKind {
    Bson,
    Metadata,
}

/// Splits a file name into its escaped stem and kind, or `None` for files a
/// dump reader ignores.
fn classify(file_name: &str) -> Option<(&str, DumpFileKind)> {
    if file_name.ends_with(PARTIAL_SUFFIX) {
        return None;
    }
    for (suffix, kind) in [
        (".metadata.json.gz", DumpFileKind::Metadata),
        (".metadata.json", DumpFileKind::Metadata),
        (".bson.gz", DumpFileKind::Bson),
        (".bson", DumpFileKind::Bson),
    ] {
        if let Some(stem) = file_name.strip_suffix(suffix) {
            return Some((stem, kind));
        }
    }
    None
}

fn list_folder(path: &Path) -> Result<Vec<(String, PathBuf, bool)>, FormatError> {
    let listing_error = |source| FormatError::Filesystem {
        path: path.to_owned(),
        action: "list".to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(path).map_err(listing_error)? {
        let entry = entry.map_err(listing_error)?;
        // `DirEntry::file_type` does not follow symlinks: a symlink, device,
        // FIFO or socket anywhere in a dump is refused by name, never read.
        let kind = entry.file_type().map_err(listing_error)?;
        if !kind.is_dir() && !kind.is_file() {
            return Err(FormatError::NotRegular {
                path: entry.path(),
                kind: describe_file_type(kind),
            });
        }
        let is_dir = kind.is_dir();
        // Names that are not UTF-8 cannot be mongodump's (it escapes).
        if let Ok(name) = entry.file_name().into_string() {
            entries.push((name, entry.path(), is_dir));
        }
    }
    entries.sort();
    Ok(entries)
}

fn holds_collections(entries: &[(String, PathBuf, bool)], is_root: bool) -> bool {
    entries
        .iter()
        .any(|(name, _, is_dir)| !is_dir && classify(name).is_some() && !(is_root && name.starts_with("oplog.bson")))
}

impl DumpDirectory {
    /// Lists a dump: `path` is either the dump root (holding database
    /// folders) or one database folder.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FormatError> {
        let root = path.as_ref().to_owned();
        let entries = list_folder(&root)?;
        let mut databases = Vec::new();
        let mut oplog_file = None;
        let is_database_folder = holds_collections(&entries, true);
        if is_database_folder {
            let name = root
                .canonicalize()
                .ok()
                .and_then(|full| full.file_name().map(|name| name.to_string_lossy().into_owned()))
                .unwrap_or_default();
            databases.push(read_database(name, &root, &entries, true)?);
        } else {
            for (name, path, is_dir) in &entries {
                if *is_dir {
                    let inner = list_folder(path)?;
                    if holds_collections(&inner, false) {
                        databases.push(read_database(name.clone(), path, &inner, false)?);
                    }
                } else if name == "oplog.bson" || name == "oplog.bson.gz" {
                    oplog_file = Some(path.clone());
                }
            }
        }
        if databases.is_empty() {
            return Err(FormatError::NotADump {
                path: root,
                problem: "no .bson or .metadata.json files in it or in its sub-folders".to_owned(),
            });
        }
        // mongodump puts the prelude at the root of a whole-server dump and
        // inside the database folder of a `--db` dump; a database folder
        // given directly may have it one level up.
        let mut candidates = vec![root.clone()];
        if is_database_folder {
            if let Some(parent) = root
                .canonicalize()
                .ok()
                .and_then(|full| full.parent().map(Path::to_owned))
            {
                candidates.push(parent);
            }
        } else {
            candidates.extend(databases.iter().map(|database| database.path.clone()));
        }
        let mut prelude = None;
        for folder in candidates {
            prelude = read_prelude(&folder)?;
            if prelude.is_some() {
                break;
            }
        }
        Ok(Self {
            root,
            prelude,
            databases,
            oplog_file,
        })
    }

    /// Every collection of every database.
    pub fn collections(&self) -> impl Iterator<Item = &DumpCollection> {
        self.databases.iter().flat_map(|database| database.collections.iter())
    }

    /// The collection with this namespace, if the dump has it.
    pub fn collection(&self, namespace: &Namespace) -> Option<&DumpCollection> {
        self.collections().find(|collection| &collection.namespace == namespace)
    }
}

/// Lists one database folder; `database_level` when it was given directly,
/// so its folder name is not checked as a database name.
fn read_database(
    name: String,
    path: &Path,
    entries: &[(String, PathBuf, bool)],
    database_level: bool,
) -> Result<DumpDatabase, FormatError> {
    // Keyed by the escaped stem so a collection's two files meet.
    let mut by_stem: BTreeMap<&str, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
    for (file_name, file_path, is_dir) in entries {
        if *is_dir {
            continue;
        }
        match classify(file_name) {
            Some((stem, DumpFileKind::Bson)) => by_stem.entry(stem).or_default().0 = Some(file_path.clone()),
            Some((stem, DumpFileKind::Metadata)) => by_stem.entry(stem).or_default().1 = Some(file_path.clone()),
            None => {}
        }
    }
    let mut collections = Vec::with_capacity(by_stem.len());
    for (stem, (bson_file, metadata_file)) in by_stem {
        let collection_name = if is_truncated_stem(stem) && metadata_file.is_some() {
            // The stem of a long name is cut and hashed; the metadata file
            // holds the real name.
            let metadata_path = metadata_file.as_deref().unwrap_or(path);
            let metadata = read_metadata_file(metadata_path, None)?;
            match metadata.map(|metadata| metadata.collection_name) {
                Some(name) if !name.is_empty() => name,
                _ => {
                    return Err(FormatError::MetadataField {
                        origin: Origin::file(metadata_path),
                        field: "collectionName".to_owned(),
                        problem: "is missing, and the file name is truncated".to_owned(),
                    });
                }
            }
        } else {
            unescape_collection_name(stem)?
        };
        let namespace = Namespace::new(name.clone(), collection_name);
        let origin = Origin::file(path.join(stem));
        if database_level {
            namespace.validate_collection(&origin)?;
        } else {
            namespace.validate(&origin)?;
        }
        collections.push(DumpCollection {
            namespace,
            bson_file,
            metadata_file,
        });
    }
    collections.sort_by(|left, right| left.namespace.cmp(&right.namespace));
    Ok(DumpDatabase {
        name,
        path: path.to_owned(),
        collections,
    })
}

/// Reads a `.metadata.json[.gz]` file.
pub fn read_metadata_file(
    path: &Path,
    namespace: Option<Namespace>,
) -> Result<Option<CollectionMetadata>, FormatError> {
    let bytes = read_small_file(path)?;
    let origin = Origin {
        file: Some(path.to_owned()),
        namespace,
    };
    CollectionMetadata::from_json(&bytes, &origin)
}

/// Reads `prelude.json` or `prelude.json.gz` from a folder, if present.
fn read_prelude(folder: &Path) -> Result<Option<DumpPrelude>, FormatError> {
    for name in ["prelude.json", "prelude.json.gz"] {
        let path = folder.join(name);
        if path.symlink_metadata().is_ok() {
            let bytes = read_small_file(&path)?;
            let prelude = serde_json::from_slice(&bytes).map_err(|source| FormatError::Prelude { path, source })?;
            return Ok(Some(prelude));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_dump_files() {
        assert!(matches!(classify("a.bson"), Some(("a", DumpFileKind::Bson))));
        assert!(matches!(classify("a.b.bson.gz"), Some(("a.b", DumpFileKind::Bson))));
        assert!(matches!(
            classify("x.metadata.json"),
            Some(("x", DumpFileKind::Metadata))
        ));
        assert!(matches!(
            classify("x.metadata.json.gz"),
            Some(("x", DumpFileKind::Metadata))
        ));
        assert!(classify("x.bson.partial").is_none());
        assert!(classify("prelude.json").is_none());
        assert!(classify("notes.txt").is_none());
    }

    #[test]
    fn an_empty_folder_is_not_a_dump() {
        let folder = tempfile::tempdir().unwrap();
        let error = DumpDirectory::open(folder.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: not a mongodump directory (no .bson or .metadata.json files in it or in its sub-folders)",
                folder.path().display()
            )
        );
    }
}
