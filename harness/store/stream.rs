//! Restoring an archive straight from a store, with no local copy of it.
//! The rule "a download is verified before anything is restored" holds
//! with two passes over the object, both streamed in bounded memory
//! (the body's chunks, a 256 KiB buffer, age's 64 KiB chunks, gzip's
//! window):
//!
//! 1. the *verify* pass reads the object, decrypts it when it is sealed,
//!    and hashes both layers against the manifest (and the encryption
//!    record); nothing is written anywhere, so a corrupted object or a
//!    wrong key fails before any document is inserted;
//! 2. each *restore* pass asks the store for the version the verify pass
//!    read (`If-Match` on its ETag, when the store gives one) and hashes
//!    again as the restore reads, failing when the bytes differ.
//!
//! The chain of one pass: the object's body → SHA-256 of the stored bytes
//! → age decryption → SHA-256 of the plaintext → (gunzip and the archive
//! reader, in the backup engine). Reading is blocking: a pass's reader is
//! pulled from a blocking thread and drives the body with the runtime's
//! handle.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::GetOptions;
use object_store::path::Path as Key;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::StoreError;
use super::transfer::{Store, Transfer, TransferKind, matches};
use crate::backup::manifest::{FileEntry, Manifest};
use crate::backup::{BackupLocation, Layout};

/// A backup whose archive the verify pass read and found intact, ready
/// for restore passes.
#[derive(Debug, Clone)]
pub struct StreamedBackup {
    /// The archive and what it must hash to.
    check: ObjectCheck,
    /// The ETag the verify pass read; restore passes ask for it.
    e_tag: Option<String>,
    /// Whether the archive is gzip-compressed (the manifest's layout).
    gzip: bool,
    /// The verify pass, as the download it is (nothing kept).
    pub transfer: Transfer,
    /// The verify pass.
    pub verify_pass: StreamPass,
}

/// One object of a backup and what its layers must hash to.
#[derive(Debug, Clone)]
struct ObjectCheck {
    /// Its key.
    key: Key,
    /// As a person finds it (`s3://bucket/prefix/id/dump.archive`).
    object: String,
    /// What the stored object hashes to.
    stored: FileEntry,
    /// What it hashes to once decrypted; `None` when not sealed.
    plain: Option<FileEntry>,
}

/// One pass over a streamed object, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreamPass {
    /// What the pass was for.
    pub pass: PassKind,
    /// The database a restore pass restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Stored bytes read from the store in this pass.
    pub bytes: u64,
    /// How long the pass took, in milliseconds.
    pub duration_ms: u64,
}

/// The kind of a [`StreamPass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PassKind {
    /// Read and hashed (and decrypted), nothing written, before any restore.
    Verify,
    /// Read by the restore, hashed again.
    Restore,
}

/// How a restore from a store read the backup, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoreRead {
    /// Streamed into the restore, or downloaded to the run's folder first.
    pub mode: ReadMode,
    /// Why this mode.
    pub reason: String,
    /// The object streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Whether restore passes asked the store for the version the verify
    /// pass read (`If-Match` on its ETag).
    pub pinned: bool,
    /// Every pass over the object, the verify pass first (streamed only).
    pub passes: Vec<StreamPass>,
}

/// The mode of a [`StoreRead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadMode {
    /// No local copy: the archive was read from the store by the restore.
    Streamed,
    /// Copied to the run's folder, verified, then restored from there.
    Downloaded,
}

impl StreamedBackup {
    /// Where the restore reads from, as the backup engine names it in
    /// messages: the object's address.
    pub fn location(&self) -> BackupLocation {
        BackupLocation::Archive {
            path: PathBuf::from(&self.check.object),
            gzip: self.gzip,
        }
    }

    /// The object streamed.
    pub fn object(&self) -> &str {
        &self.check.object
    }

    /// Whether restore passes are pinned to the verified version.
    pub fn pinned(&self) -> bool {
        self.e_tag.is_some()
    }
}

/// Whether a backup of this manifest can be streamed: `Err` says why not.
pub fn streamable(manifest: &Manifest) -> Result<(), &'static str> {
    match manifest.layout {
        Some(Layout::Archive { .. }) if manifest.files.len() == 1 => Ok(()),
        Some(Layout::Archive { .. }) => Err("the archive's manifest does not list exactly one file"),
        Some(Layout::Directory { .. }) => Err("a directory-form backup is many files: it is downloaded first"),
        None => Err("a .tar.gz of a dump folder is extracted from a local copy: it is downloaded first"),
    }
}

/// A restore pass under way: the reader goes to the backup engine, this
/// stays with the caller to learn how the pass ended.
#[derive(Debug)]
pub struct PassWatch {
    /// What the chain's hashing layers found.
    tally: Arc<Tally>,
    /// When the pass began.
    started: Instant,
    /// The database it restores.
    database: String,
}

/// What the hashing layers of one pass found.
#[derive(Debug, Default)]
struct Tally {
    /// Stored bytes read so far.
    bytes: AtomicU64,
    /// The stored layer's hash at its end.
    stored: Mutex<Option<FileEntry>>,
    /// The plaintext layer's hash at its end (sealed objects).
    plain: Mutex<Option<FileEntry>>,
}

impl Store {
    /// The verify pass over the archive of backup `id`: read, decrypted
    /// when sealed, every layer hashed against `manifest` (and the
    /// encryption record), nothing written.
    pub async fn verify_streamed(&self, id: &str, manifest: &Manifest) -> Result<StreamedBackup, StoreError> {
        let started = Instant::now();
        let (objects, sealed) = self.objects(id, manifest).await?;
        let [object] = objects.as_slice() else {
            return Err(self.not_one_archive(id, objects.len()));
        };
        if sealed.is_some() && self.spec.encryption.identity_file.is_none() {
            return Err(self.encryption_error(super::encrypt::EncryptError::NoIdentity));
        }
        let check = self.object_check(id, object, sealed.is_some());
        let e_tag = self.verify_object(&check).await?;
        let count = 2 + usize::from(check.plain.is_some());
        let transfer = self.transfer(TransferKind::Download, id, count, check.stored.size, started);
        Ok(StreamedBackup {
            verify_pass: StreamPass {
                pass: PassKind::Verify,
                database: None,
                bytes: check.stored.size,
                duration_ms: transfer.duration_ms,
            },
            check,
            e_tag,
            gzip: matches!(manifest.layout, Some(Layout::Archive { gzip: true })),
            transfer,
        })
    }

    /// Reads backup `id` and checks every object, decrypting a sealed one
    /// (streamed, nothing kept): the stored bytes against the encryption
    /// record, the plaintext against the manifest. Without an identity
    /// file a sealed backup is [`super::encrypt::EncryptError::NoIdentity`].
    pub async fn verify_decrypted(&self, id: &str) -> Result<Transfer, StoreError> {
        let started = Instant::now();
        let manifest = self.manifest(id).await?;
        let (objects, sealed) = self.objects(id, &manifest).await?;
        if sealed.is_some() && self.spec.encryption.identity_file.is_none() {
            return Err(self.encryption_error(super::encrypt::EncryptError::NoIdentity));
        }
        let mut bytes = 0;
        for object in &objects {
            let check = self.object_check(id, object, sealed.is_some());
            self.verify_object(&check).await?;
            bytes += check.stored.size;
        }
        let count = objects.len() + 1 + usize::from(sealed.is_some());
        Ok(self.transfer(TransferKind::Verify, id, count, bytes, started))
    }

    /// Whether backup `id` is kept encrypted (it has an encryption record).
    pub async fn is_encrypted(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.stored_files(id).await?.is_some())
    }

    fn object_check(&self, id: &str, object: &super::transfer::StoredObject, sealed: bool) -> ObjectCheck {
        let key = self.key(id, &object.name);
        ObjectCheck {
            object: self.show(&key),
            key,
            stored: object.expected.clone(),
            plain: sealed.then(|| object.plain.clone()),
        }
    }

    /// Reads `check`'s object to its end through the hashing chain,
    /// writing nothing; the ETag it was read at.
    async fn verify_object(&self, check: &ObjectCheck) -> Result<Option<String>, StoreError> {
        let got = self.get_streamed(&check.key, None).await?;
        let e_tag = got.meta.e_tag.clone();
        let (reader, tally, below) = self.chain(check, got.into_stream()).await?;
        let drained = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let copied = std::io::copy(&mut reader, &mut std::io::sink());
            // A sealed object that failed to decrypt (a changed byte) is
            // read to its end so its stored hash names the object.
            if copied.is_err()
                && let Some(below) = below
            {
                let _ = std::io::copy(&mut Shared(below), &mut std::io::sink());
            }
            copied
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|copied| copied);
        self.settle(check, &tally, drained.map(drop))?;
        Ok(e_tag)
    }

    /// Opens a restore pass over `backup` for `database`: the archive's
    /// plaintext as a blocking reader (for a blocking thread), and its
    /// watch. Asks for the verified version when the store gave an ETag.
    pub async fn open_streamed(
        &self,
        backup: &StreamedBackup,
        database: &str,
    ) -> Result<(Box<dyn Read + Send>, PassWatch), StoreError> {
        let started = Instant::now();
        let got = self.get_streamed(&backup.check.key, backup.e_tag.clone()).await?;
        let (reader, tally, _) = self.chain(&backup.check, got.into_stream()).await?;
        let watch = PassWatch {
            tally,
            started,
            database: database.to_owned(),
        };
        Ok((reader, watch))
    }

    /// How the restore pass `watch` ended: `Err` when the bytes read were
    /// not what the verify pass found, or were not read to their end.
    pub fn finish_streamed(&self, backup: &StreamedBackup, watch: PassWatch) -> Result<StreamPass, StoreError> {
        self.settle(&backup.check, &watch.tally, Ok(()))?;
        Ok(StreamPass {
            pass: PassKind::Restore,
            database: Some(watch.database),
            bytes: watch.tally.bytes.load(Ordering::Relaxed),
            duration_ms: crate::measure::clock::duration_to_millis(watch.started.elapsed()),
        })
    }

    /// A get of `key` for streaming, with `If-Match: e_tag` when given.
    async fn get_streamed(&self, key: &Key, e_tag: Option<String>) -> Result<object_store::GetResult, StoreError> {
        let options = GetOptions {
            if_match: e_tag,
            ..GetOptions::default()
        };
        self.inner
            .get_opts(key, options)
            .await
            .map_err(|source| StoreError::request(&self.spec.name, "stream", &self.show(key), source))
    }

    /// The reader chain of one pass over `body`, built on a blocking
    /// thread (a sealed object's age header is read now: a wrong key
    /// fails here); its tally, and a sealed object's stored layer.
    async fn chain(
        &self,
        check: &ObjectCheck,
        body: BoxStream<'static, object_store::Result<bytes::Bytes>>,
    ) -> Result<(Box<dyn Read + Send>, Arc<Tally>, Option<Below>), StoreError> {
        let tally = Arc::new(Tally::default());
        let stored = Hashing {
            inner: Body {
                handle: tokio::runtime::Handle::current(),
                stream: body,
                chunk: bytes::Bytes::new(),
            },
            expected: check.stored.clone(),
            layer: Layer::Stored,
            object: check.object.clone(),
            tally: Arc::clone(&tally),
            hasher: Sha256::new(),
            size: 0,
            below: None,
            ended: false,
        };
        let Some(plain) = check.plain.clone() else {
            return Ok((Box::new(stored), tally, None));
        };
        let identity = self.spec.encryption.identity_file.clone().unwrap_or_default();
        let (object, layer_tally) = (check.object.clone(), Arc::clone(&tally));
        let below = Arc::new(Mutex::new(stored));
        let layer_below = Arc::clone(&below);
        let drained = Arc::clone(&below);
        let built = tokio::task::spawn_blocking(move || {
            let built = unsealed(layer_below, plain, &identity, object, layer_tally);
            // An age header that does not open may be a changed byte:
            // the stored bytes, read to their end, tell.
            if built.is_err() {
                let _ = std::io::copy(&mut Shared(drained), &mut std::io::sink());
            }
            built
        })
        .await
        .map_err(|error| {
            self.encryption_error(super::encrypt::EncryptError::Io {
                action: "decrypt",
                path: PathBuf::from(&check.object),
                source: std::io::Error::other(error),
            })
        })?
        .map_err(|error| match self.mismatch_of(check, &tally) {
            Some(changed) => changed,
            None => self.encryption_error(error),
        })?;
        Ok((built, tally, Some(below)))
    }

    /// The error of a pass: a hash that differs first (named by its
    /// object), else a read that failed, else a stream not read to its end.
    fn settle(&self, check: &ObjectCheck, tally: &Tally, read: Result<(), std::io::Error>) -> Result<(), StoreError> {
        if let Some(changed) = self.mismatch_of(check, tally) {
            return Err(changed);
        }
        let (stored, plain) = (found(&tally.stored), found(&tally.plain));
        read.map_err(|source| StoreError::Stream {
            store: self.spec.name.clone(),
            object: check.object.clone(),
            source,
        })?;
        let complete = if check.plain.is_some() {
            plain.is_some()
        } else {
            stored.is_some()
        };
        if !complete {
            return Err(StoreError::Stream {
                store: self.spec.name.clone(),
                object: check.object.clone(),
                source: std::io::Error::other("the stream was not read to its end"),
            });
        }
        Ok(())
    }

    /// A layer whose hash, at its end, differs from what `check` expects.
    fn mismatch_of(&self, check: &ObjectCheck, tally: &Tally) -> Option<StoreError> {
        if let Some(stored) = found(&tally.stored)
            && let Err(found) = matches(&check.stored, &stored)
        {
            return Some(self.mismatch(check.object.clone(), &check.stored, found));
        }
        if let (Some(expected), Some(plain)) = (&check.plain, found(&tally.plain))
            && let Err(found) = matches(expected, &plain)
        {
            return Some(self.mismatch(format!("{} (decrypted)", check.object), expected, found));
        }
        None
    }

    fn not_one_archive(&self, id: &str, found: usize) -> StoreError {
        StoreError::Mismatch {
            store: self.spec.name.clone(),
            object: self.location_of(id),
            expected: "one archive".to_owned(),
            found: format!("{found} files in the manifest"),
        }
    }
}

/// The hash a layer recorded at its end.
fn found(layer: &Mutex<Option<FileEntry>>) -> Option<FileEntry> {
    layer.lock().ok().and_then(|found| found.clone())
}

/// The plaintext layer over the sealed `stored` layer, which it drains
/// at its end so the stored bytes are hashed to their last one.
fn unsealed(
    below: Below,
    plain: FileEntry,
    identity: &Path,
    object: String,
    tally: Arc<Tally>,
) -> Result<Box<dyn Read + Send>, super::encrypt::EncryptError> {
    let input = std::io::BufReader::with_capacity(256 * 1024, Shared(Arc::clone(&below)));
    let decrypted = super::encrypt::decrypting(input, identity, &object)?;
    Ok(Box::new(Hashing {
        inner: decrypted,
        expected: plain,
        layer: Layer::Plain,
        object: format!("{object} (decrypted)"),
        tally,
        hasher: Sha256::new(),
        size: 0,
        below: Some(below),
        ended: false,
    }))
}

/// Which bytes a [`Hashing`] layer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// The object as stored.
    Stored,
    /// The plaintext of a sealed object.
    Plain,
}

/// A reader that hashes what passes and, at its end, records the hash and
/// fails when it is not the expected one.
struct Hashing<R> {
    /// What is read.
    inner: R,
    /// What the bytes must hash to.
    expected: FileEntry,
    /// Which layer this is.
    layer: Layer,
    /// The object, for the error.
    object: String,
    /// Where the hash is recorded.
    tally: Arc<Tally>,
    /// The running hash.
    hasher: Sha256,
    /// Bytes so far.
    size: u64,
    /// The layer below (the stored bytes under age), drained at the end.
    below: Option<Below>,
    /// Set once the end was seen and recorded.
    ended: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if read > 0 {
            self.hasher.update(&buffer[..read]);
            self.size += read as u64;
            if self.layer == Layer::Stored {
                self.tally.bytes.fetch_add(read as u64, Ordering::Relaxed);
            }
            return Ok(read);
        }
        if buffer.is_empty() || self.ended {
            return Ok(0);
        }
        self.ended = true;
        if let Some(below) = self.below.take() {
            std::io::copy(&mut Shared(below), &mut std::io::sink())?;
        }
        let found = FileEntry {
            sha256: hex::encode(self.hasher.finalize_reset()),
            size: self.size,
        };
        let slot = match self.layer {
            Layer::Stored => &self.tally.stored,
            Layer::Plain => &self.tally.plain,
        };
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(found.clone());
        }
        if let Err(found) = matches(&self.expected, &found) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} does not match the manifest: {} bytes, sha256 {}, the manifest records {} bytes, sha256 {}",
                    self.object, found.size, found.sha256, self.expected.size, self.expected.sha256
                ),
            ));
        }
        Ok(0)
    }
}

/// The stored layer of a sealed object, shared by the age reader above it
/// and the plaintext layer that drains it at the end.
type Below = Arc<Mutex<Hashing<Body>>>;

/// A [`Below`] as a reader.
struct Shared(Below);

impl Read for Shared {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let mut below = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("a reader of the stream panicked"))?;
        below.read(buffer)
    }
}

/// An object's body as a blocking reader: each chunk is awaited with the
/// runtime's handle (so it must be read from a blocking thread).
struct Body {
    /// The runtime that drives the body.
    handle: tokio::runtime::Handle,
    /// The body's chunks.
    stream: BoxStream<'static, object_store::Result<bytes::Bytes>>,
    /// What is left of the current chunk.
    chunk: bytes::Bytes,
}

impl Read for Body {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(error)) => return Err(std::io::Error::other(error)),
            }
        }
        let count = buffer.len().min(self.chunk.len());
        buffer[..count].copy_from_slice(&self.chunk[..count]);
        self.chunk = self.chunk.slice(count..);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(bytes: &[u8]) -> FileEntry {
        FileEntry {
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        }
    }

    fn hashing<R: Read>(inner: R, expected: FileEntry, tally: &Arc<Tally>) -> Hashing<R> {
        Hashing {
            inner,
            expected,
            layer: Layer::Stored,
            object: "s3://b/id/dump.archive".to_owned(),
            tally: Arc::clone(tally),
            hasher: Sha256::new(),
            size: 0,
            below: None,
            ended: false,
        }
    }

    #[test]
    fn a_layer_records_its_hash_at_the_end_and_fails_when_it_differs() {
        let bytes = vec![7u8; 300_000];
        let tally = Arc::new(Tally::default());
        let mut good = hashing(&bytes[..], entry_of(&bytes), &tally);
        assert_eq!(std::io::copy(&mut good, &mut std::io::sink()).unwrap(), 300_000);
        assert_eq!(found(&tally.stored), Some(entry_of(&bytes)));
        assert_eq!(tally.bytes.load(Ordering::Relaxed), 300_000);

        let tally = Arc::new(Tally::default());
        let mut changed = bytes.clone();
        changed[1000] ^= 1;
        let mut bad = hashing(&changed[..], entry_of(&bytes), &tally);
        let error = std::io::copy(&mut bad, &mut std::io::sink()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error
                .to_string()
                .starts_with("s3://b/id/dump.archive does not match the manifest"),
            "{error}"
        );
        assert_eq!(found(&tally.stored), Some(entry_of(&changed)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_body_reads_as_its_chunks_in_order_from_a_blocking_thread() {
        let chunks: Vec<object_store::Result<bytes::Bytes>> = ["ab", "", "cde", "f"]
            .into_iter()
            .map(|chunk| Ok(bytes::Bytes::from_static(chunk.as_bytes())))
            .collect();
        let mut body = Body {
            handle: tokio::runtime::Handle::current(),
            stream: futures_util::stream::iter(chunks).boxed(),
            chunk: bytes::Bytes::new(),
        };
        let read = tokio::task::spawn_blocking(move || {
            let mut small = [0u8; 2];
            let mut all = Vec::new();
            loop {
                let count = body.read(&mut small).unwrap();
                if count == 0 {
                    break all;
                }
                all.extend_from_slice(&small[..count]);
            }
        })
        .await
        .unwrap();
        assert_eq!(read, b"abcdef");
    }
}
