//! What can go wrong while digesting or comparing, with the database,
//! collection and position that a person needs to find the cause.

use crate::checksum::merge_join::MergeError;

/// An error of the checksum module. Server names in messages are redacted
/// URIs or labels, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    /// The database to digest is not on the server.
    #[error("database \"{database}\" does not exist on {server}")]
    DatabaseMissing {
        /// The database that was asked for.
        database: String,
        /// The server, as a redacted URI or label.
        server: String,
    },
    /// `listDatabases` failed (usually: the server cannot be reached).
    #[error("cannot list the databases of {server}")]
    ListDatabases {
        /// The server, as a redacted URI or label.
        server: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `listCollections` failed.
    #[error("cannot list the collections of database \"{database}\" on {server}")]
    ListCollections {
        /// The database.
        database: String,
        /// The server, as a redacted URI or label.
        server: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// Reading the documents of a collection failed.
    #[error("cannot read collection \"{database}.{collection}\" on {server} after {offset} documents")]
    Read {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// The server, as a redacted URI or label.
        server: String,
        /// How many documents had been read when it failed.
        offset: u64,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `listIndexes` failed.
    #[error("cannot list the indexes of collection \"{database}.{collection}\" on {server}")]
    ListIndexes {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// The server, as a redacted URI or label.
        server: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The server described an index in a shape this module does not know.
    #[error("malformed index specification in collection \"{database}.{collection}\": {detail}")]
    MalformedIndex {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// What is wrong, with the specification as extended JSON.
        detail: String,
    },
    /// The `dbHash` cross-check failed for a reason other than the server
    /// not offering the command (a lost connection, for instance).
    #[error("dbHash of database \"{database}\" on {server} failed")]
    DbHash {
        /// The database.
        database: String,
        /// The server, as a redacted URI or label.
        server: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The merge-join of two `_id`-sorted streams failed.
    #[error("cannot compare collection \"{collection}\" document by document")]
    Merge {
        /// The collection.
        collection: String,
        /// What went wrong in the merge.
        #[source]
        source: MergeError,
    },
}
