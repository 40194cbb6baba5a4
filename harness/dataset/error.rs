//! Everything that can go wrong while loading a profile, planning or seeding.

use std::path::PathBuf;

/// An error of the dataset module, with the file, collection or batch it
/// concerns.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// `Profile::builtin` was asked for a name it does not embed.
    #[error("unknown builtin profile {name:?} (known: {known})")]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The builtin names, comma separated.
        known: String,
    },
    /// A profile file could not be read.
    #[error("cannot read profile {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A profile file is not valid TOML or does not match the profile's shape.
    #[error("{file}:{line}:{column}: invalid profile at `{field}`: {message}")]
    Parse {
        /// The file (or `builtin:<name>`).
        file: String,
        /// 1-based line of the offending value (0 when unknown).
        line: usize,
        /// 1-based column of the offending value (0 when unknown).
        column: usize,
        /// Path of the offending field, e.g. `collections[2].indexes[0].keys`.
        field: String,
        /// What is wrong.
        message: String,
        /// The TOML error (boxed: it is large, and errors travel in every
        /// `Result` of this module).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A profile parsed but says something impossible (duplicate names,
    /// neither `share` nor `count`, a bad index key ...).
    #[error("{file}:{line}: invalid profile at `{field}`: {message}")]
    Invalid {
        /// The file (or `builtin:<name>`).
        file: String,
        /// 1-based line of the offending value.
        line: usize,
        /// Path of the offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The requested total cannot give every collection its documents.
    #[error("profile {profile} needs at least {minimum} documents, {requested} requested")]
    TooFewDocuments {
        /// The profile's name.
        profile: String,
        /// The total asked for.
        requested: u64,
        /// The fixed counts plus one document per shared collection.
        minimum: u64,
    },
    /// A profile with fixed counts only was asked for another total.
    #[error("profile {profile} has fixed counts only, adding up to {fixed} documents, {requested} requested")]
    FixedTotal {
        /// The profile's name.
        profile: String,
        /// The total asked for.
        requested: u64,
        /// The sum of the fixed counts.
        fixed: u64,
    },
    /// Seeding would write into collections that already exist.
    #[error("database {database} already holds collections of the profile: {} (drop them or set drop_existing)", collections.join(", "))]
    CollectionsExist {
        /// The database.
        database: String,
        /// The profile's collections that exist.
        collections: Vec<String>,
    },
    /// Listing the database's collections failed.
    #[error("cannot list the collections of database {database}")]
    ListCollections {
        /// The database.
        database: String,
        /// The driver's error.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// Dropping an existing collection failed.
    #[error("cannot drop collection {database}.{collection}")]
    Drop {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// The driver's error.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// A batch insert failed.
    #[error("inserting documents {offset}..{end} into {database}.{collection} failed")]
    Insert {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// Index of the batch's first document.
        offset: u64,
        /// One past the index of the batch's last document.
        end: u64,
        /// The driver's error.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// Creating an index the engine should support failed.
    #[error("creating index {index} on {database}.{collection} failed")]
    CreateIndex {
        /// The database.
        database: String,
        /// The collection.
        collection: String,
        /// The index's name.
        index: String,
        /// The driver's error.
        #[source]
        source: Box<mongodb::error::Error>,
    },
}
