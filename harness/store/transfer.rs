//! Backups in a store: upload, list, download, copy and verify, each
//! streamed (a file is never held whole in memory past
//! [`SINGLE_PUT_LIMIT`]; larger ones go as multipart uploads of
//! [`PART_SIZE`] parts, at most [`PARTS_IN_FLIGHT`] at a time) and each
//! checked against the backup's manifest: the SHA-256 and size of every
//! file are computed from the bytes as they pass, and what arrived is
//! asked for its size. The manifest is written last, so a backup whose
//! transfer stopped half-way is never listed.
//!
//! Layout in a store: `<prefix>/<backup-id>/<file>` for every file the
//! manifest lists (the archive's name, or paths inside a dump folder) and
//! `<prefix>/<backup-id>/drdrill-manifest.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::collections::BTreeMap;

use super::address::{StoreAddress, StoreSpec};
use super::encrypt::{ENCRYPTION_FILE_NAME, StoredFiles};
use super::error::StoreError;
use crate::backup::manifest::{FileEntry, MANIFEST_FILE_NAME, Manifest};
use crate::backup::{BackupLocation, Layout};

/// Files up to this size go in one request.
pub const SINGLE_PUT_LIMIT: u64 = 8 * 1024 * 1024;
/// The part size of multipart uploads.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once: with [`PART_SIZE`], what bounds the memory of
/// a transfer (about 40 MiB).
pub const PARTS_IN_FLIGHT: usize = 4;

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Its name and address.
    pub(super) spec: StoreSpec,
    /// The object store client.
    pub(super) inner: Arc<dyn ObjectStore>,
    /// The key prefix of every backup (empty for a folder store, whose
    /// client is rooted at the folder).
    pub(super) prefix: String,
}

/// One backup held by a store.
#[derive(Debug, Clone)]
pub struct StoredBackup {
    /// Its id: the folder under the store's prefix.
    pub id: String,
    /// Its manifest.
    pub manifest: Manifest,
}

impl StoredBackup {
    /// When reading the source ended, from the manifest.
    pub fn finished(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.manifest.finished.as_deref().or(self.manifest.started.as_deref())?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.with_timezone(&chrono::Utc))
    }
}

/// What a transfer moved, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transfer {
    /// Upload, download, copy or verify.
    pub kind: TransferKind,
    /// The store read from or written to (the destination of a copy).
    pub store: String,
    /// Where the backup is in that store (`s3://bucket/prefix/id`).
    pub location: String,
    /// The backup id.
    pub backup_id: String,
    /// Objects moved, the manifest included.
    pub objects: usize,
    /// Bytes of the backup's files moved (the manifest not counted).
    pub bytes: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Bytes per second over the whole transfer.
    pub bytes_per_second: u64,
}

/// The kind of a [`Transfer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    /// From this machine to a store.
    Upload,
    /// From a store to this machine.
    Download,
    /// From one store to another.
    Copy,
    /// Read and checked, nothing kept.
    Verify,
}

/// Where a transfer's bytes go.
enum Sink {
    /// A local file.
    File(tokio::fs::File, PathBuf),
    /// An object: one request at the end for a small one.
    Small(Vec<u8>),
    /// An object: a multipart upload.
    Multipart(Box<WriteMultipart>),
    /// Nowhere: the bytes are only hashed.
    Discard,
}

/// Where a transfer's bytes come from.
enum Source {
    /// A local file.
    File(tokio::fs::File),
    /// An object's body.
    Object(futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>),
}

impl Store {
    /// Opens the store `spec` describes. An S3 store reads its credentials
    /// now; a folder store creates its folder.
    pub fn open(spec: &StoreSpec) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            store: spec.name.clone(),
            source: Box::new(source),
        };
        let (inner, prefix): (Arc<dyn ObjectStore>, String) = match &spec.address {
            StoreAddress::Folder(path) => {
                std::fs::create_dir_all(path).map_err(|source| StoreError::Local {
                    path: path.clone(),
                    action: "create",
                    source,
                })?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(path).map_err(open_error)?;
                (Arc::new(local), String::new())
            }
            StoreAddress::S3 { bucket, prefix } => {
                install_tls_provider();
                let credentials = spec.credentials.resolve(&spec.name)?;
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(spec.resolved_region())
                    .with_access_key_id(credentials.access_key_id)
                    .with_secret_access_key(credentials.secret_access_key)
                    .with_virtual_hosted_style_request(false);
                if let Some(endpoint) = spec.resolved_endpoint() {
                    builder = builder
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_endpoint(endpoint);
                }
                (Arc::new(builder.build().map_err(open_error)?), prefix.clone())
            }
        };
        Ok(Self {
            spec: spec.clone(),
            inner,
            prefix,
        })
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The store's address.
    pub fn address(&self) -> &StoreAddress {
        &self.spec.address
    }

    /// The key of `file` of backup `id`.
    pub(super) fn key(&self, id: &str, file: &str) -> Key {
        let mut parts: Vec<&str> = Vec::new();
        if !self.prefix.is_empty() {
            parts.push(&self.prefix);
        }
        parts.push(id);
        if !file.is_empty() {
            parts.push(file);
        }
        Key::from(parts.join("/"))
    }

    /// `key` as a person finds it: `s3://bucket/key`, or the file's path.
    pub fn show(&self, key: &Key) -> String {
        match &self.spec.address {
            StoreAddress::Folder(path) => path.join(key.as_ref()).display().to_string(),
            StoreAddress::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// Where backup `id` is in this store.
    pub fn location_of(&self, id: &str) -> String {
        self.show(&self.key(id, ""))
    }

    /// Uploads the backup at `location` as `id`, checking every file's
    /// SHA-256 and size against `manifest` as it goes, then the manifest.
    pub async fn upload(
        &self,
        id: &str,
        location: &BackupLocation,
        manifest: &Manifest,
    ) -> Result<Transfer, StoreError> {
        let started = Instant::now();
        let root = local_root(location);
        let mut bytes = 0;
        let mut sealed_files = BTreeMap::new();
        for (relative, entry) in &manifest.files {
            let path = local_file(location, &root, relative);
            let (sealed, upload_path, expected) = match self.seal_local(&path, &root, entry).await? {
                Some((temporary, sealed)) => (Some(temporary), sealed.0, sealed.1),
                None => (None, path.clone(), entry.clone()),
            };
            let file = tokio::fs::File::open(&upload_path)
                .await
                .map_err(|source| StoreError::Local {
                    path: upload_path.clone(),
                    action: "read",
                    source,
                })?;
            let key = self.key(id, &stored_name(relative, sealed.is_some()));
            let found = self
                .pump(Source::File(file), self.sink_for(&key, expected.size).await?, &key)
                .await?;
            drop(sealed);
            if let Err(found) = matches(&expected, &found) {
                return Err(self.mismatch(path.display().to_string(), &expected, found));
            }
            self.finish_object(&key, &expected).await?;
            if self.spec.encryption.recipients_file.is_some() {
                sealed_files.insert(relative.clone(), expected.clone());
            }
            bytes += expected.size;
        }
        let mut objects = manifest.files.len() + 1;
        if !sealed_files.is_empty() {
            let stored = StoredFiles {
                format: "age".into(),
                files: sealed_files,
            };
            self.put_json(id, ENCRYPTION_FILE_NAME, &stored).await?;
            objects += 1;
        }
        self.put_manifest(id, manifest).await?;
        Ok(self.transfer(TransferKind::Upload, id, objects, bytes, started))
    }

    /// With recipients: `path` encrypted into a temporary file beside it
    /// (removed when the guard drops), checked against the manifest's
    /// `entry` on the way; the guard, and the sealed file's path and entry.
    async fn seal_local(
        &self,
        path: &Path,
        root: &Path,
        entry: &FileEntry,
    ) -> Result<Option<(tempfile::TempPath, (PathBuf, FileEntry))>, StoreError> {
        let Some(recipients) = self.spec.encryption.recipients_file.clone() else {
            return Ok(None);
        };
        let temporary = tempfile::Builder::new()
            .suffix(".age")
            .tempfile_in(root)
            .map_err(|source| StoreError::Local {
                path: root.to_owned(),
                action: "create a temporary file in",
                source,
            })?
            .into_temp_path();
        let (plain, sealed_path) = (path.to_owned(), temporary.to_path_buf());
        let sealed = tokio::task::spawn_blocking(move || super::encrypt::seal(&plain, &sealed_path, &recipients))
            .await
            .map_err(|error| {
                self.encryption_error(super::encrypt::EncryptError::Io {
                    action: "encrypt",
                    path: path.to_owned(),
                    source: std::io::Error::other(error),
                })
            })?
            .map_err(|error| self.encryption_error(error))?;
        if let Err(found) = matches(entry, &sealed.0) {
            return Err(self.mismatch(path.display().to_string(), entry, found));
        }
        let sealed_path = temporary.to_path_buf();
        Ok(Some((temporary, (sealed_path, sealed.1))))
    }

    pub(super) fn encryption_error(&self, source: super::encrypt::EncryptError) -> StoreError {
        StoreError::Encryption {
            store: self.spec.name.clone(),
            source,
        }
    }

    /// What backup `id` stores when it is encrypted; `None` when it is not.
    pub(super) async fn stored_files(&self, id: &str) -> Result<Option<StoredFiles>, StoreError> {
        let key = self.key(id, ENCRYPTION_FILE_NAME);
        let got = match self.inner.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(StoreError::request(&self.spec.name, "read", &self.show(&key), source)),
        };
        let body = got
            .bytes()
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "read", &self.show(&key), source))?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|source| StoreError::BadManifest {
                store: self.spec.name.clone(),
                object: self.show(&key),
                source,
            })
    }

    /// Every object of backup `id`: the manifest's name of the file, the
    /// object's name, what the object must hash to; and the encryption
    /// record, if any.
    pub(super) async fn objects(
        &self,
        id: &str,
        manifest: &Manifest,
    ) -> Result<(Vec<StoredObject>, Option<StoredFiles>), StoreError> {
        let stored = self.stored_files(id).await?;
        let mut objects = Vec::new();
        for (relative, entry) in &manifest.files {
            let (name, expected) = match &stored {
                Some(stored) => (
                    stored_name(relative, true),
                    stored
                        .files
                        .get(relative)
                        .cloned()
                        .ok_or_else(|| StoreError::Mismatch {
                            store: self.spec.name.clone(),
                            object: self.show(&self.key(id, ENCRYPTION_FILE_NAME)),
                            expected: format!("an entry for {relative}"),
                            found: "none".into(),
                        })?,
                ),
                None => (relative.clone(), entry.clone()),
            };
            objects.push(StoredObject {
                relative: relative.clone(),
                name,
                expected,
                plain: entry.clone(),
            });
        }
        Ok((objects, stored))
    }

    /// Every backup in the store (those with a manifest), oldest first by
    /// the manifest's `finished`.
    pub async fn list(&self) -> Result<Vec<StoredBackup>, StoreError> {
        let root = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let shown = root
            .as_ref()
            .map_or_else(|| self.show(&Key::from("")), |root| self.show(root));
        let mut listing = self.inner.list(root.as_ref());
        let mut ids = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|source| StoreError::request(&self.spec.name, "list", &shown, source))?;
            let parts: Vec<String> = meta.location.parts().map(|part| part.as_ref().to_owned()).collect();
            let depth = root.as_ref().map_or(0, |root| root.parts_count());
            if parts.len() == depth + 2 && parts[depth + 1] == MANIFEST_FILE_NAME {
                ids.push(parts[depth].clone());
            }
        }
        let mut backups = Vec::new();
        for id in ids {
            let manifest = self.manifest(&id).await?;
            backups.push(StoredBackup { id, manifest });
        }
        backups.sort_by_key(StoredBackup::finished);
        Ok(backups)
    }

    /// The manifest of backup `id`.
    pub async fn manifest(&self, id: &str) -> Result<Manifest, StoreError> {
        let key = self.key(id, MANIFEST_FILE_NAME);
        let got = match self.inner.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NoSuchBackup {
                    store: self.spec.name.clone(),
                    id: id.to_owned(),
                });
            }
            Err(source) => return Err(StoreError::request(&self.spec.name, "read", &self.show(&key), source)),
        };
        let body = got
            .bytes()
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "read", &self.show(&key), source))?;
        serde_json::from_slice(&body).map_err(|source| StoreError::BadManifest {
            store: self.spec.name.clone(),
            object: self.show(&key),
            source,
        })
    }

    /// Downloads backup `id` into `into/<id>/`, every file checked against
    /// the manifest before this returns: the location is only handed out
    /// when every byte is what the manifest records. A file that is not is
    /// removed and named in the error.
    pub async fn download(&self, id: &str, into: &Path) -> Result<(BackupLocation, Transfer), StoreError> {
        let started = Instant::now();
        let manifest = self.manifest(id).await?;
        let folder = into.join(id);
        let location = restored_location(&manifest, &folder);
        let root = local_root(&location);
        let (objects, stored) = self.objects(id, &manifest).await?;
        if stored.is_some() && self.spec.encryption.identity_file.is_none() {
            return Err(self.encryption_error(super::encrypt::EncryptError::NoIdentity));
        }
        let mut bytes = 0;
        for object in &objects {
            let key = self.key(id, &object.name);
            let path = local_file(&location, &root, checked_relative(self, &key, &object.relative)?);
            let arrived = if stored.is_some() {
                sealed_path(&path)
            } else {
                path.clone()
            };
            let sink = local_sink(&arrived).await?;
            let found = self.pump(self.source(&key).await?, sink, &key).await?;
            if let Err(found) = matches(&object.expected, &found) {
                let _ = std::fs::remove_file(&arrived);
                return Err(self.mismatch(self.show(&key), &object.expected, found));
            }
            if stored.is_some() {
                self.unseal(&arrived, &path, &key, &object.plain).await?;
            }
            bytes += object.expected.size;
        }
        crate::backup::manifest::write_manifest(&location, &manifest).map_err(|source| StoreError::Manifest {
            source: Box::new(source),
        })?;
        let count = objects.len() + 1 + usize::from(stored.is_some());
        let transfer = self.transfer(TransferKind::Download, id, count, bytes, started);
        Ok((location, transfer))
    }

    /// Decrypts the downloaded `sealed` into `path` (then removes it),
    /// checking the plaintext against the manifest's `plain`.
    async fn unseal(&self, sealed: &Path, path: &Path, key: &Key, plain: &FileEntry) -> Result<(), StoreError> {
        let identity = self.spec.encryption.identity_file.clone().unwrap_or_default();
        let (from, to, shown) = (sealed.to_owned(), path.to_owned(), self.show(key));
        let opened = tokio::task::spawn_blocking(move || super::encrypt::open(&from, &to, &identity, &shown)).await;
        let _ = std::fs::remove_file(sealed);
        let found = opened
            .map_err(|error| {
                self.encryption_error(super::encrypt::EncryptError::Io {
                    action: "decrypt",
                    path: sealed.to_owned(),
                    source: std::io::Error::other(error),
                })
            })?
            .map_err(|error| {
                let _ = std::fs::remove_file(path);
                self.encryption_error(error)
            })?;
        if let Err(found) = matches(plain, &found) {
            let _ = std::fs::remove_file(path);
            return Err(self.mismatch(format!("{} (decrypted)", self.show(key)), plain, found));
        }
        Ok(())
    }

    /// Copies backup `id` from this store to `to`, streamed object by
    /// object (get → multipart put), every object checked on arrival.
    pub async fn copy_to(&self, to: &Store, id: &str) -> Result<Transfer, StoreError> {
        let started = Instant::now();
        let manifest = self.manifest(id).await?;
        let (objects, stored) = self.objects(id, &manifest).await?;
        let mut bytes = 0;
        for object in &objects {
            let (from, key, entry) = (self.key(id, &object.name), to.key(id, &object.name), &object.expected);
            let found = to
                .pump(self.source(&from).await?, to.sink_for(&key, entry.size).await?, &key)
                .await?;
            if let Err(found) = matches(entry, &found) {
                return Err(self.mismatch(self.show(&from), entry, found));
            }
            to.finish_object(&key, entry).await?;
            bytes += entry.size;
        }
        if let Some(stored) = &stored {
            to.put_json(id, ENCRYPTION_FILE_NAME, stored).await?;
        }
        to.put_manifest(id, &manifest).await?;
        let count = objects.len() + 1 + usize::from(stored.is_some());
        Ok(to.transfer(TransferKind::Copy, id, count, bytes, started))
    }

    /// Reads backup `id` and checks every object against its manifest,
    /// keeping nothing.
    pub async fn verify(&self, id: &str) -> Result<Transfer, StoreError> {
        let started = Instant::now();
        let manifest = self.manifest(id).await?;
        let (objects, stored) = self.objects(id, &manifest).await?;
        let mut bytes = 0;
        for object in &objects {
            let key = self.key(id, &object.name);
            let found = self.pump(self.source(&key).await?, Sink::Discard, &key).await?;
            if let Err(found) = matches(&object.expected, &found) {
                return Err(self.mismatch(self.show(&key), &object.expected, found));
            }
            bytes += object.expected.size;
        }
        let count = objects.len() + 1 + usize::from(stored.is_some());
        Ok(self.transfer(TransferKind::Verify, id, count, bytes, started))
    }

    /// Deletes backup `id` (its manifest first, so it stops being listed).
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let manifest = self.manifest(id).await?;
        let (objects, stored) = self.objects(id, &manifest).await?;
        let mut keys = vec![self.key(id, MANIFEST_FILE_NAME)];
        if stored.is_some() {
            keys.push(self.key(id, ENCRYPTION_FILE_NAME));
        }
        keys.extend(objects.iter().map(|object| self.key(id, &object.name)));
        for key in keys {
            self.inner
                .delete(&key)
                .await
                .map_err(|source| StoreError::request(&self.spec.name, "delete", &self.show(&key), source))?;
        }
        Ok(())
    }

    async fn source(&self, key: &Key) -> Result<Source, StoreError> {
        let got = self
            .inner
            .get(key)
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "download", &self.show(key), source))?;
        Ok(Source::Object(got.into_stream()))
    }

    async fn sink_for(&self, key: &Key, size: u64) -> Result<Sink, StoreError> {
        if size <= SINGLE_PUT_LIMIT {
            return Ok(Sink::Small(Vec::with_capacity(size as usize)));
        }
        let upload = self
            .inner
            .put_multipart(key)
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "upload", &self.show(key), source))?;
        Ok(Sink::Multipart(Box::new(WriteMultipart::new_with_chunk_size(
            upload, PART_SIZE,
        ))))
    }

    /// Moves every byte of `source` into `sink`, hashing them; the SHA-256
    /// and the count. `key` names the object for errors.
    async fn pump(&self, mut source: Source, mut sink: Sink, key: &Key) -> Result<FileEntry, StoreError> {
        let shown = self.show(key);
        let failed = |action, source| StoreError::request(&self.spec.name, action, &shown, source);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let chunk = match &mut source {
                Source::File(file) => {
                    let read = file
                        .read(&mut buffer)
                        .await
                        .map_err(|error| failed("upload", io(error)))?;
                    if read == 0 {
                        break;
                    }
                    bytes::Bytes::copy_from_slice(&buffer[..read])
                }
                Source::Object(stream) => match stream.next().await {
                    None => break,
                    Some(chunk) => chunk.map_err(|source| failed("download", source))?,
                },
            };
            hasher.update(&chunk);
            size += chunk.len() as u64;
            write_chunk(&mut sink, chunk, &shown)
                .await
                .map_err(|source| failed("upload", source))?;
        }
        self.close(sink, key).await?;
        Ok(FileEntry {
            sha256: hex::encode(hasher.finalize()),
            size,
        })
    }

    async fn close(&self, sink: Sink, key: &Key) -> Result<(), StoreError> {
        let failed = |source| StoreError::request(&self.spec.name, "upload", &self.show(key), source);
        match sink {
            Sink::File(mut file, path) => file.flush().await.map_err(|source| StoreError::Local {
                path,
                action: "write",
                source,
            }),
            Sink::Small(bytes) => self
                .inner
                .put(key, PutPayload::from(bytes))
                .await
                .map(drop)
                .map_err(failed),
            Sink::Multipart(upload) => upload.finish().await.map(drop).map_err(failed),
            Sink::Discard => Ok(()),
        }
    }

    /// Checks what arrived at `key`: its size as the store reports it.
    async fn finish_object(&self, key: &Key, entry: &FileEntry) -> Result<(), StoreError> {
        let meta = self
            .inner
            .head(key)
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "read", &self.show(key), source))?;
        if meta.size != entry.size {
            return Err(StoreError::Mismatch {
                store: self.spec.name.clone(),
                object: self.show(key),
                expected: format!("{} bytes", entry.size),
                found: format!("{} bytes stored", meta.size),
            });
        }
        Ok(())
    }

    async fn put_manifest(&self, id: &str, manifest: &Manifest) -> Result<(), StoreError> {
        self.put_json(id, MANIFEST_FILE_NAME, manifest).await
    }

    async fn put_json(&self, id: &str, name: &str, value: &impl Serialize) -> Result<(), StoreError> {
        let key = self.key(id, name);
        // Serializing plain strings, numbers and JSON values cannot fail.
        let text = serde_json::to_vec_pretty(value).unwrap_or_default();
        self.inner
            .put(&key, PutPayload::from(text))
            .await
            .map(drop)
            .map_err(|source| StoreError::request(&self.spec.name, "upload", &self.show(&key), source))
    }

    pub(super) fn mismatch(&self, object: String, entry: &FileEntry, found: FileEntry) -> StoreError {
        StoreError::Mismatch {
            store: self.spec.name.clone(),
            object,
            expected: format!("{} bytes, sha256 {}", entry.size, entry.sha256),
            found: format!("{} bytes, sha256 {}", found.size, found.sha256),
        }
    }

    pub(super) fn transfer(
        &self,
        kind: TransferKind,
        id: &str,
        objects: usize,
        bytes: u64,
        started: Instant,
    ) -> Transfer {
        let elapsed = started.elapsed();
        Transfer {
            kind,
            store: self.spec.name.clone(),
            location: self.location_of(id),
            backup_id: id.to_owned(),
            objects,
            bytes,
            duration_ms: crate::measure::clock::duration_to_millis(elapsed),
            bytes_per_second: per_second(bytes, elapsed),
        }
    }
}

/// Bytes per second (0 for an instant transfer of nothing).
pub fn per_second(bytes: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        0
    } else {
        (bytes as f64 / seconds) as u64
    }
}

fn io(error: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "local file",
        source: Box::new(error),
    }
}

async fn write_chunk(sink: &mut Sink, chunk: bytes::Bytes, shown: &str) -> Result<(), object_store::Error> {
    match sink {
        Sink::File(file, _) => file.write_all(&chunk).await.map_err(io),
        Sink::Small(buffer) => {
            buffer.extend_from_slice(&chunk);
            if buffer.len() as u64 > SINGLE_PUT_LIMIT {
                // The manifest said small; the file grew: the size check
                // names it, the memory bound must hold meanwhile.
                return Err(object_store::Error::Generic {
                    store: "drdrill",
                    source: format!("{shown} is larger than its manifest records").into(),
                });
            }
            Ok(())
        }
        Sink::Multipart(upload) => {
            upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            upload.put(chunk);
            Ok(())
        }
        Sink::Discard => Ok(()),
    }
}

async fn local_sink(path: &Path) -> Result<Sink, StoreError> {
    let local = |action, source| StoreError::Local {
        path: path.to_owned(),
        action,
        source,
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| local("create", source))?;
    }
    let file = tokio::fs::File::create(path)
        .await
        .map_err(|source| local("write", source))?;
    Ok(Sink::File(file, path.to_owned()))
}

/// One object of a backup in a store.
pub(super) struct StoredObject {
    /// The file's name in the manifest.
    pub(super) relative: String,
    /// The object's name under the backup (`<file>.age` when encrypted).
    pub(super) name: String,
    /// What the object must hash to.
    pub(super) expected: FileEntry,
    /// What the file must hash to (the same unless encrypted).
    pub(super) plain: FileEntry,
}

/// The object name of `relative`.
fn stored_name(relative: &str, sealed: bool) -> String {
    if sealed {
        format!("{relative}.age")
    } else {
        relative.to_owned()
    }
}

/// Where a downloaded encrypted file waits to be decrypted.
fn sealed_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".age.partial");
    path.with_file_name(name)
}

/// `Err(found)` when `found` is not `entry`.
pub(super) fn matches(entry: &FileEntry, found: &FileEntry) -> Result<(), FileEntry> {
    if entry.size == found.size && entry.sha256.eq_ignore_ascii_case(&found.sha256) {
        Ok(())
    } else {
        Err(found.clone())
    }
}

/// The folder a backup's manifest paths are relative to.
fn local_root(location: &BackupLocation) -> PathBuf {
    match location {
        BackupLocation::Directory { path, .. } => path.clone(),
        BackupLocation::Archive { path, .. } | BackupLocation::TarGz { path } => {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    }
}

fn local_file(location: &BackupLocation, root: &Path, relative: &str) -> PathBuf {
    match location {
        BackupLocation::Directory { .. } => root.join(relative),
        BackupLocation::Archive { path, .. } | BackupLocation::TarGz { path } => path.clone(),
    }
}

/// A manifest path that stays inside the download folder (no `..`, no
/// absolute path): a manifest from a store is not trusted with paths.
fn checked_relative<'r>(store: &Store, key: &Key, relative: &'r str) -> Result<&'r str, StoreError> {
    let safe = !relative.is_empty()
        && Path::new(relative)
            .components()
            .all(|part| matches!(part, std::path::Component::Normal(_)));
    if safe {
        Ok(relative)
    } else {
        Err(StoreError::Mismatch {
            store: store.spec.name.clone(),
            object: store.show(key),
            expected: "a relative path inside the backup".to_owned(),
            found: format!("{relative:?} in the manifest"),
        })
    }
}

/// Where a downloaded backup goes in `folder`, by its manifest's layout.
fn restored_location(manifest: &Manifest, folder: &Path) -> BackupLocation {
    let single = manifest
        .files
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| "dump.archive".into());
    match manifest.layout {
        Some(Layout::Directory { gzip }) => BackupLocation::Directory {
            path: folder.to_path_buf(),
            gzip,
        },
        Some(Layout::Archive { gzip }) => BackupLocation::Archive {
            path: folder.join(single),
            gzip,
        },
        None => BackupLocation::TarGz {
            path: folder.join(single),
        },
    }
}

impl Transfer {
    /// `12.3 MiB in 1.2 s (10.2 MiB/s)`.
    pub fn summary(&self) -> String {
        const MIB: f64 = 1024.0 * 1024.0;
        format!(
            "{:.1} MiB in {} ({:.1} MiB/s)",
            self.bytes as f64 / MIB,
            crate::measure::clock::human_duration_ms(self.duration_ms),
            self.bytes_per_second as f64 / MIB
        )
    }
}

/// Installs ring as the process's rustls provider, which an S3 client's TLS
/// takes (object_store is built without aws-lc-rs; see the README): call it
/// before building an `object_store` S3 client by hand. [`Store::open`]
/// does. Installing it again is refused, harmlessly.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
