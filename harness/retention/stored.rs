//! The retention audit of an `s3://` store, through the store layer: the
//! same policy, violations and plan as a folder's, over the store's
//! objects. A backup is a top-level object whose name carries a
//! timestamp (a runbook's `aws s3 cp shepherd_backup_<stamp>.tar.gz`), or
//! a "folder" of objects (`<id>/...`) holding `drdrill-manifest.json` or
//! named with a timestamp (what the harness uploads). Everything else is
//! left alone. `--apply` deletes exactly the objects the audit listed for
//! the planned backups, each re-checked first, the manifest first so a
//! half-pruned backup is never listed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Audit, Backup, RetentionError, timestamp_in};
use crate::backup::manifest::MANIFEST_FILE_NAME;
use crate::store::{ObjectInfo, Store};

/// What the audit of a store sees: its backups, what it left alone, and
/// the objects of each backup.
#[derive(Debug, Clone)]
pub struct StoreBackups {
    /// The backups.
    pub backups: Vec<Backup>,
    /// Names that are not backups (left alone).
    pub ignored: Vec<String>,
    /// Every object of each backup, by the backup's name.
    objects: BTreeMap<String, Vec<ObjectInfo>>,
}

impl StoreBackups {
    /// The objects of the backup `name`, as listed.
    pub fn objects_of(&self, name: &str) -> &[ObjectInfo] {
        self.objects.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Lists the backups of `store`.
pub async fn list_store_backups(store: &Store) -> Result<StoreBackups, RetentionError> {
    let objects = store.list_objects().await.map_err(|source| RetentionError::Store {
        store: store.location_of(""),
        source: Box::new(source),
    })?;
    let mut groups: BTreeMap<String, Vec<ObjectInfo>> = BTreeMap::new();
    let mut top_level = Vec::new();
    for object in objects {
        match object.name.split_once('/') {
            Some((head, _)) => groups.entry(head.to_owned()).or_default().push(object),
            None => top_level.push(object),
        }
    }
    let mut listed = StoreBackups {
        backups: Vec::new(),
        ignored: Vec::new(),
        objects: BTreeMap::new(),
    };
    for object in top_level {
        let name = object.name.clone();
        match timestamp_in(&name).filter(|_| !is_side_file(&name)) {
            Some(taken) => listed.add(name, taken, "name", false, vec![object]),
            None => listed.ignored.push(name),
        }
    }
    for (head, objects) in groups {
        let manifest = objects
            .iter()
            .find(|object| object.name == format!("{head}/{MANIFEST_FILE_NAME}"));
        let taken = match (timestamp_in(&head), manifest) {
            (Some(taken), _) => Some((taken, "name")),
            (None, Some(manifest)) => Some((manifest.modified, "mtime")),
            (None, None) => None,
        };
        match taken.filter(|_| !head.starts_with('.')) {
            Some((taken, from)) => listed.add(head, taken, from, true, objects),
            None => listed.ignored.push(format!("{head}/")),
        }
    }
    listed.ignored.sort();
    Ok(listed)
}

impl StoreBackups {
    fn add(
        &mut self,
        name: String,
        taken: chrono::DateTime<chrono::Utc>,
        taken_from: &'static str,
        folder: bool,
        objects: Vec<ObjectInfo>,
    ) {
        self.backups.push(Backup {
            name: name.clone(),
            taken,
            taken_from,
            folder,
        });
        self.objects.insert(name, objects);
    }
}

/// Hidden objects and manifests beside an archive are not backups.
fn is_side_file(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".drdrill-manifest.json")
}

/// Deletes exactly the objects `listed` holds for the audit's prune plan,
/// each re-checked first (still there, same size); the objects deleted,
/// as a person finds them. Stops at the first object that changed.
pub async fn apply_to_store(
    store: &Store,
    audit: &Audit,
    listed: &StoreBackups,
) -> Result<Vec<String>, RetentionError> {
    let mut deleted = Vec::new();
    for backup in audit.prune_plan() {
        let mut objects: Vec<&ObjectInfo> = listed.objects_of(&backup.name).iter().collect();
        // The manifest first: a backup pruned half-way is no longer listed.
        objects.sort_by_key(|object| !object.name.ends_with(MANIFEST_FILE_NAME));
        for object in objects {
            let shown = store.show_object(&object.name);
            let failed = |source| RetentionError::StoreDelete {
                object: shown.clone(),
                deleted: deleted.len(),
                source: Box::new(source),
            };
            let now = store.head_object(&object.name).await.map_err(failed)?;
            let reason = match now {
                None => Some("it is gone"),
                Some(now) if now.size != object.size => Some("its size changed"),
                Some(_) => None,
            };
            if let Some(reason) = reason {
                return Err(RetentionError::Changed {
                    path: PathBuf::from(shown),
                    reason,
                });
            }
            store.delete_object(&object.name).await.map_err(failed)?;
            deleted.push(shown);
        }
    }
    Ok(deleted)
}
