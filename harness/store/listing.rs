//! A store's objects one by one, below its prefix: what the retention
//! audit lists and prunes in an `s3://` store (a backup's objects are
//! otherwise only reached through its manifest).

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;

use super::error::StoreError;
use super::transfer::Store;

/// One object of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key below the store's prefix (`<backup-id>/dump.archive`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub modified: DateTime<Utc>,
}

impl Store {
    /// Every object below the store's prefix, sorted by name.
    pub async fn list_objects(&self) -> Result<Vec<ObjectInfo>, StoreError> {
        let root = (!self.prefix.is_empty()).then(|| object_store::path::Path::from(self.prefix.as_str()));
        let shown = self.location_of("");
        let depth = root.as_ref().map_or(0, |root| root.parts_count());
        let mut listing = self.inner.list(root.as_ref());
        let mut objects = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|source| StoreError::request(&self.spec.name, "list", &shown, source))?;
            let parts: Vec<String> = meta.location.parts().map(|part| part.as_ref().to_owned()).collect();
            objects.push(ObjectInfo {
                name: parts[depth.min(parts.len())..].join("/"),
                size: meta.size,
                modified: meta.last_modified,
            });
        }
        objects.sort_by(|left, right| left.name.cmp(&right.name));
        Ok(objects)
    }

    /// The object `name` (below the prefix) as it is now; `None` when it
    /// is gone.
    pub async fn head_object(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let key = self.key(name, "");
        match self.inner.head(&key).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                name: name.to_owned(),
                size: meta.size,
                modified: meta.last_modified,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(StoreError::request(&self.spec.name, "read", &self.show(&key), source)),
        }
    }

    /// Deletes the object `name` (below the prefix).
    pub async fn delete_object(&self, name: &str) -> Result<(), StoreError> {
        let key = self.key(name, "");
        self.inner
            .delete(&key)
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "delete", &self.show(&key), source))
    }

    /// The object `name` (below the prefix) as a person finds it.
    pub fn show_object(&self, name: &str) -> String {
        self.show(&self.key(name, ""))
    }
}
