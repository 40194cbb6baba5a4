//! Backups encrypted at rest in a store, with `age`: a store with a
//! `recipients_file` (age X25519 recipients, `age1...`, one a line; `#`
//! comments) keeps every file of a backup as `<file>.age`; a store with an
//! `identity_file` (age identities, `AGE-SECRET-KEY-1...`) can read them
//! back. Encryption and decryption stream through a local file in bounded
//! memory. The store's manifest keeps the plaintext's SHA-256 and sizes;
//! `drdrill-encryption.json` beside it keeps those of what is stored.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backup::manifest::FileEntry;

/// The name of the object recording what an encrypted backup stores.
pub const ENCRYPTION_FILE_NAME: &str = "drdrill-encryption.json";

/// Where a store's age keys are. Paths only: the keys stay in their files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encryption {
    /// Recipients to encrypt uploads to; `None`: uploads are plaintext.
    pub recipients_file: Option<PathBuf>,
    /// Identities to decrypt downloads with.
    pub identity_file: Option<PathBuf>,
}

/// `drdrill-encryption.json`: what an encrypted backup stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFiles {
    /// Always `age`.
    pub format: String,
    /// Per file of the manifest (by its plaintext name), the SHA-256 and
    /// size of its stored `<file>.age`.
    pub files: BTreeMap<String, FileEntry>,
}

/// Why encrypting or decrypting failed.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// The recipients or identity file cannot be read or holds no key.
    #[error("{path}: {reason}")]
    Keys {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The backup is encrypted and the store has no identity file.
    #[error("the backup is encrypted (age) and the store names no identity_file to decrypt it")]
    NoIdentity,
    /// No identity of the file opens the object: the wrong key.
    #[error("{object} cannot be decrypted with the identities of {identity}: wrong key")]
    WrongKey {
        /// The object.
        object: String,
        /// The identity file.
        identity: PathBuf,
        /// The cause.
        #[source]
        source: age::DecryptError,
    },
    /// Reading, writing or the age stream failed.
    #[error("cannot {action} {path}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The error of `action` on `path`, for `map_err`.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EncryptError {
    let path = path.to_owned();
    move |source| EncryptError::Io { action, path, source }
}

/// Reads the X25519 recipients of `path`.
fn recipients(path: &Path) -> Result<Vec<age::x25519::Recipient>, EncryptError> {
    let bad = |reason: String| EncryptError::Keys {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|error| bad(format!("cannot read it ({error})")))?;
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let recipient = line
            .parse::<age::x25519::Recipient>()
            .map_err(|reason| bad(format!("line {}: not an age recipient ({reason})", number + 1)))?;
        found.push(recipient);
    }
    if found.is_empty() {
        return Err(bad("it holds no age recipient".to_owned()));
    }
    Ok(found)
}

/// Encrypts `plain` into `sealed` for the recipients of `recipients_file`;
/// the plaintext's and the ciphertext's SHA-256 and sizes.
pub fn seal(plain: &Path, sealed: &Path, recipients_file: &Path) -> Result<(FileEntry, FileEntry), EncryptError> {
    let recipients = recipients(recipients_file)?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient)).map_err(|error| {
            EncryptError::Keys {
                path: recipients_file.to_owned(),
                reason: error.to_string(),
            }
        })?;
    let mut input = std::fs::File::open(plain).map_err(io("read", plain))?;
    let output = HashingWriter::new(std::fs::File::create(sealed).map_err(io("write", sealed))?);
    let mut writer = encryptor.wrap_output(output).map_err(io("encrypt into", sealed))?;
    let plain_entry = copy_hashing(&mut input, &mut writer).map_err(io("encrypt", plain))?;
    let output = writer.finish().map_err(io("encrypt into", sealed))?;
    Ok((plain_entry, output.finish()))
}

/// Decrypts `sealed` (the object `object`, for messages) into `plain` with
/// the identities of `identity_file`; the plaintext's SHA-256 and size.
pub fn open(sealed: &Path, plain: &Path, identity_file: &Path, object: &str) -> Result<FileEntry, EncryptError> {
    let input = std::io::BufReader::new(std::fs::File::open(sealed).map_err(io("read", sealed))?);
    let mut reader = decrypting(input, identity_file, object)?;
    let mut output = std::fs::File::create(plain).map_err(io("write", plain))?;
    copy_hashing(&mut reader, &mut output).map_err(io("decrypt", sealed))
}

/// The plaintext of the age stream `input` (the object `object`, for
/// messages), decrypted with the identities of `identity_file` as it is
/// read, in bounded memory (age's 64 KiB chunks). Reads the age header
/// now: a wrong key fails here, before any plaintext is handed out.
pub fn decrypting<R: Read>(
    input: R,
    identity_file: &Path,
    object: &str,
) -> Result<age::stream::StreamReader<R>, EncryptError> {
    let identities = identities(identity_file)?;
    let wrong_key = |source| EncryptError::WrongKey {
        object: object.to_owned(),
        identity: identity_file.to_owned(),
        source,
    };
    let decryptor = age::Decryptor::new(input).map_err(wrong_key)?;
    decryptor
        .decrypt(
            identities
                .iter()
                .map(|identity| identity.as_ref() as &dyn age::Identity),
        )
        .map_err(wrong_key)
}

/// Reads the age identities of `identity_file`.
fn identities(identity_file: &Path) -> Result<Vec<Box<dyn age::Identity>>, EncryptError> {
    age::IdentityFile::from_file(identity_file.display().to_string())
        .map_err(|error| EncryptError::Keys {
            path: identity_file.to_owned(),
            reason: format!("cannot read it ({error})"),
        })?
        .into_identities()
        .map_err(|error| EncryptError::Keys {
            path: identity_file.to_owned(),
            reason: error.to_string(),
        })
}

/// Copies `input` to `output`, hashing what passes.
fn copy_hashing(input: &mut impl Read, output: &mut impl Write) -> std::io::Result<FileEntry> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = input.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read])?;
        size += read as u64;
    }
    output.flush()?;
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// A writer that hashes what it writes.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(self) -> FileEntry {
        FileEntry {
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_files_open_with_the_right_key_only() {
        use age::secrecy::ExposeSecret;
        let folder = tempfile::tempdir().unwrap();
        let key = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let recipients = folder.path().join("recipients");
        std::fs::write(&recipients, format!("# the backup key\n{}\n", key.to_public())).unwrap();
        let identity = folder.path().join("identity");
        std::fs::write(&identity, format!("{}\n", key.to_string().expose_secret())).unwrap();
        let wrong = folder.path().join("wrong");
        std::fs::write(&wrong, format!("{}\n", other.to_string().expose_secret())).unwrap();
        let plain = folder.path().join("plain");
        std::fs::write(&plain, vec![7u8; 300_000]).unwrap();
        let sealed = folder.path().join("plain.age");
        let (plain_entry, sealed_entry) = seal(&plain, &sealed, &recipients).unwrap();
        assert_eq!(plain_entry.size, 300_000);
        assert_ne!(plain_entry.sha256, sealed_entry.sha256);
        assert_eq!(sealed_entry.size, std::fs::metadata(&sealed).unwrap().len());
        let back = folder.path().join("back");
        assert_eq!(open(&sealed, &back, &identity, "x").unwrap(), plain_entry);
        let error = open(&sealed, &back, &wrong, "s3://b/x.age").unwrap_err();
        assert!(matches!(error, EncryptError::WrongKey { .. }), "{error}");
        assert!(error.to_string().contains("s3://b/x.age"), "{error}");
    }
}
