//! Backup stores: where a backup lives besides the run's folder. A store is
//! a local folder or an S3-compatible bucket (`s3://bucket/prefix`), both
//! behind the `object_store` crate's one interface. This module owns the
//! store's address and credentials, the layout of backups in a store
//! (`<prefix>/<backup-id>/<file>` and `<prefix>/<backup-id>/drdrill-manifest.json`),
//! streamed and verified uploads, downloads and copies, encryption at rest
//! with `age`, and the versitygw gateways the harness starts to stand for
//! regions.
//!
//! Never does: take or restore a backup (the backup engines do), judge a
//! drill, or print. Secrets (the secret key) never appear in a message,
//! a report or an argument list: they travel in the environment or a file.

mod address;
mod credentials;
mod drill;
mod encrypt;
mod error;
mod gateway;
mod listing;
mod stream;
mod transfer;

pub use address::{StoreAddress, StoreSpec};
pub use credentials::{Credentials, CredentialsSource};
pub use drill::DrillStores;
pub use encrypt::{ENCRYPTION_FILE_NAME, EncryptError, Encryption, StoredFiles};
pub use error::StoreError;
pub use gateway::{Gateway, GatewayError, versitygw_binary};
pub use listing::ObjectInfo;
pub use stream::{PassKind, PassWatch, ReadMode, StoreRead, StreamPass, StreamedBackup, streamable};
pub use transfer::{Store, StoredBackup, Transfer, TransferKind, install_tls_provider};
