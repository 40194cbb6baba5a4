//! What can go wrong with a store.

use std::path::PathBuf;

/// Why a store could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store address is not `s3://bucket[/prefix]` or a folder path.
    #[error("{address:?} is not a store address: {reason}")]
    Address {
        /// What was given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No credentials for an S3 store.
    #[error(
        "store {store}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a credentials file"
    )]
    NoCredentials {
        /// The store.
        store: String,
    },
    /// The credentials file could not be read or holds no key pair.
    #[error("store {store}: credentials file {path}: {reason}")]
    CredentialsFile {
        /// The store.
        store: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The object store client refused the configuration.
    #[error("store {store}: cannot open")]
    Open {
        /// The store.
        store: String,
        /// The cause (boxed: the client's error is large).
        #[source]
        source: Box<object_store::Error>,
    },
    /// A request to the store failed.
    #[error("store {store}: cannot {action} {object}")]
    Request {
        /// The store.
        store: String,
        /// What was attempted (`upload`, `download`, `list`, `read`).
        action: &'static str,
        /// The object.
        object: String,
        /// The cause (boxed: the client's error is large).
        #[source]
        source: Box<object_store::Error>,
    },
    /// Streaming an object (to hash it or to restore from it) failed.
    #[error("store {store}: cannot stream {object}")]
    Stream {
        /// The store.
        store: String,
        /// The object.
        object: String,
        /// The cause (a request, a decompression, the restore's reader).
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be read or written.
    #[error("{path}: cannot {action}")]
    Local {
        /// The file.
        path: PathBuf,
        /// What was attempted.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The backup's manifest could not be read or written.
    #[error("cannot use the backup's manifest")]
    Manifest {
        /// The cause.
        #[source]
        source: Box<crate::backup::manifest::ManifestError>,
    },
    /// The manifest in the store is not valid.
    #[error("store {store}: {object} is not a valid manifest")]
    BadManifest {
        /// The store.
        store: String,
        /// The manifest object.
        object: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An object's bytes are not what the manifest records.
    #[error("store {store}: object {object} does not match the manifest: {found}, the manifest records {expected}")]
    Mismatch {
        /// The store.
        store: String,
        /// The object, by its full key.
        object: String,
        /// What the manifest records (size and SHA-256).
        expected: String,
        /// What was found.
        found: String,
    },
    /// A step names a store the scenario does not declare.
    #[error("no store named {name}")]
    Undeclared {
        /// The name.
        name: String,
    },
    /// The store's gateway could not be started.
    #[error("store {store}: its gateway")]
    Gateway {
        /// The store.
        store: String,
        /// The cause.
        #[source]
        source: super::gateway::GatewayError,
    },
    /// A region outage needs a gateway the harness started.
    #[error("store {store} has no gateway the harness started, so its region cannot be taken down")]
    NoGateway {
        /// The store.
        store: String,
    },
    /// Encrypting or decrypting a backup failed (a missing or wrong key).
    #[error("store {store}: encryption")]
    Encryption {
        /// The store.
        store: String,
        /// The cause.
        #[source]
        source: super::encrypt::EncryptError,
    },
    /// The store holds no backup under that id.
    #[error("store {store}: no backup {id} (no {id}/drdrill-manifest.json)")]
    NoSuchBackup {
        /// The store.
        store: String,
        /// The backup id.
        id: String,
    },
}

impl StoreError {
    pub(crate) fn request(store: &str, action: &'static str, object: &str, source: object_store::Error) -> Self {
        Self::Request {
            store: store.to_owned(),
            action,
            object: object.to_owned(),
            source: Box::new(source),
        }
    }
}
