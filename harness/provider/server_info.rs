//! What the server under test is and what it can do, asked of the server
//! itself (`buildInfo`), so that every module decides from one place which
//! index options, BSON types and commands it may use.

use bson::{Document, doc};
use mongodb::Client;
use serde::Serialize;

/// Which implementation of the MongoDB wire protocol answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum Flavor {
    /// FerretDB; `version` is FerretDB's own (`v1.24.2`).
    Ferretdb {
        /// FerretDB's version string.
        version: String,
    },
    /// MongoDB (or anything else that does not say it is FerretDB).
    Mongodb {
        /// The server's `version` field.
        version: String,
    },
}

/// What the server supports among the features this harness touches.
///
/// Each flag is a fact a module branches on; the reasons are in
/// `shared/spec/environment.md` and FerretDB's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Index option `expireAfterSeconds` (TTL).
    pub ttl_indexes: bool,
    /// Index option `partialFilterExpression`.
    pub partial_indexes: bool,
    /// Index option `sparse` is honoured (FerretDB accepts and ignores it).
    pub sparse_indexes: bool,
    /// The `dbHash` command.
    pub db_hash: bool,
    /// Decimal128 values can be stored (FerretDB closes the connection).
    pub decimal128: bool,
    /// Arrays directly inside arrays can be stored.
    pub nested_arrays: bool,
    /// JavaScript code, MinKey and MaxKey values can be stored.
    pub exotic_types: bool,
    /// Replica sets, elections, oplog.
    pub replica_sets: bool,
    /// Parallel writers into one database are safe (FerretDB's SQLite
    /// backend returns intermittent `SQLITE_BUSY`, FerretDB issue 3700).
    pub parallel_writes: bool,
}

impl Capabilities {
    /// Everything a MongoDB server offers.
    pub fn mongodb() -> Self {
        Self {
            ttl_indexes: true,
            partial_indexes: true,
            sparse_indexes: true,
            db_hash: true,
            decimal128: true,
            nested_arrays: true,
            exotic_types: true,
            replica_sets: true,
            parallel_writes: true,
        }
    }

    /// What FerretDB 1.24 offers; `sqlite` selects its SQLite backend.
    pub fn ferretdb(sqlite: bool) -> Self {
        Self {
            ttl_indexes: false,
            partial_indexes: false,
            sparse_indexes: false,
            db_hash: false,
            decimal128: false,
            nested_arrays: false,
            exotic_types: false,
            replica_sets: false,
            parallel_writes: !sqlite,
        }
    }
}

/// The answer to "what is this server".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// Implementation and version.
    pub flavor: Flavor,
    /// The MongoDB version the server claims (FerretDB claims 7.0.x).
    pub mongodb_version: String,
    /// What it supports.
    pub capabilities: Capabilities,
}

impl ServerInfo {
    /// Short engine name for reports: `ferretdb` or `mongodb`.
    pub fn engine_name(&self) -> &'static str {
        match self.flavor {
            Flavor::Ferretdb { .. } => "ferretdb",
            Flavor::Mongodb { .. } => "mongodb",
        }
    }

    /// Interprets a `buildInfo` reply. FerretDB adds `ferretdbVersion` and
    /// `ferretdbFeatures`/`ferretdb` details; the backend shows in
    /// `ferretdb.package`/`handler` where present, otherwise SQLite is
    /// assumed (the conservative choice: one writer per collection).
    pub fn from_build_info(reply: &Document) -> Self {
        let mongodb_version = reply.get_str("version").unwrap_or("unknown").to_string();
        let ferretdb_version = reply.get_str("ferretdbVersion").ok().map(str::to_string).or_else(|| {
            reply
                .get_document("ferretdb")
                .ok()
                .and_then(|info| info.get_str("version").ok().map(str::to_string))
        });
        match ferretdb_version {
            Some(version) => {
                let text = reply.to_string().to_lowercase();
                let postgres = text.contains("postgresql") && !text.contains("sqlite");
                Self {
                    flavor: Flavor::Ferretdb { version },
                    mongodb_version,
                    capabilities: Capabilities::ferretdb(!postgres),
                }
            }
            None => Self {
                flavor: Flavor::Mongodb {
                    version: mongodb_version.clone(),
                },
                mongodb_version,
                capabilities: Capabilities::mongodb(),
            },
        }
    }

    /// Asks the server with `buildInfo` on the `admin` database.
    pub async fn detect(client: &Client) -> Result<Self, mongodb::error::Error> {
        let reply = client.database("admin").run_command(doc! { "buildInfo": 1 }).await?;
        Ok(Self::from_build_info(&reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mongodb_build_info() {
        let info = ServerInfo::from_build_info(&doc! { "version": "7.0.14", "ok": 1.0 });
        assert_eq!(info.engine_name(), "mongodb");
        assert!(info.capabilities.db_hash);
    }

    #[test]
    fn ferretdb_build_info() {
        let info = ServerInfo::from_build_info(&doc! {
            "version": "7.0.42", "ferretdbVersion": "v1.24.2", "ok": 1.0
        });
        assert_eq!(info.engine_name(), "ferretdb");
        assert!(!info.capabilities.ttl_indexes);
        assert!(!info.capabilities.parallel_writes);
    }
}
