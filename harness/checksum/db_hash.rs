//! The cross-check of our MD5s against the server's own `dbHash`, where the
//! server offers it. MongoDB computes the same per-collection value (MD5
//! over the raw documents in `_id` order); a disagreement means one of the
//! two reads saw different data or a different order, which a drill must
//! report, never hide. FerretDB has no `dbHash` (CommandNotFound, code 59).

use std::collections::BTreeMap;

use bson::{Bson, doc};
use mongodb::Database;
use mongodb::error::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::checksum::error::ChecksumError;
use crate::provider::server_info::ServerInfo;

/// The outcome of the `dbHash` cross-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DbHashCheck {
    /// The server's MD5 of every digested collection equals ours (a
    /// collection holding the drill's tick documents, which `dbHash` counts
    /// and our MD5 does not, is not compared).
    Agrees,
    /// Some collections differ: `(collection, our md5, the server's md5)`;
    /// the server's is empty when its answer did not name the collection.
    Disagrees {
        /// The collections whose MD5s differ.
        collections: Vec<(String, String, String)>,
    },
    /// The check did not run: the server does not offer `dbHash`, refused
    /// it, or it was switched off. The reason names the server.
    NotOffered {
        /// Why, in a sentence.
        reason: String,
    },
}

/// Server error codes meaning "this server will not run `dbHash` for you":
/// CommandNotFound, Unauthorized, CommandNotSupported, NotImplemented.
const NOT_OFFERED_CODES: [i32; 4] = [59, 13, 115, 238];

/// Runs `dbHash` over `ours` (collection name to our MD5) and compares.
pub(crate) async fn cross_check(
    database: &Database,
    ours: &BTreeMap<String, String>,
    server: &str,
) -> Result<DbHashCheck, ChecksumError> {
    let names: Vec<&str> = ours.keys().map(String::as_str).collect();
    let reply = match database.run_command(doc! { "dbHash": 1, "collections": names }).await {
        Ok(reply) => reply,
        Err(error) => {
            if let ErrorKind::Command(command) = error.kind.as_ref()
                && NOT_OFFERED_CODES.contains(&command.code)
            {
                let engine = describe_engine(database).await;
                return Ok(DbHashCheck::NotOffered {
                    reason: format!(
                        "{engine} at {server} does not offer dbHash ({} code {}: {})",
                        command.code_name, command.code, command.message
                    ),
                });
            }
            return Err(ChecksumError::DbHash {
                database: database.name().to_string(),
                server: server.to_string(),
                source: error,
            });
        }
    };
    let server_hashes: BTreeMap<String, String> = reply
        .get_document("collections")
        .map(|collections| {
            collections
                .iter()
                .filter_map(|(name, value)| match value {
                    Bson::String(md5) => Some((name.clone(), md5.to_lowercase())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(leave_out_ticks(database, judge(ours, &server_hashes)).await)
}

/// The server's `dbHash` covers every document, the drill's tick documents
/// too, while our MD5s cover the user's documents alone: a collection that
/// disagrees and holds ticks (one the disaster touched) is left out of the
/// cross-check rather than reported as a disagreement. A collection whose
/// ticks cannot be counted stays in.
async fn leave_out_ticks(database: &Database, check: DbHashCheck) -> DbHashCheck {
    let DbHashCheck::Disagrees { collections } = check else {
        return check;
    };
    let mut kept = Vec::new();
    for entry in collections {
        let ticks = database
            .collection::<bson::Document>(&entry.0)
            .count_documents(crate::measure::ticks::tick_documents_filter())
            .await;
        if !matches!(ticks, Ok(count) if count > 0) {
            kept.push(entry);
        }
    }
    if kept.is_empty() {
        DbHashCheck::Agrees
    } else {
        DbHashCheck::Disagrees { collections: kept }
    }
}

/// Compares our MD5s with the server's, collection by collection.
fn judge(ours: &BTreeMap<String, String>, server: &BTreeMap<String, String>) -> DbHashCheck {
    let collections: Vec<(String, String, String)> = ours
        .iter()
        .filter_map(|(name, md5)| {
            let theirs = server.get(name).cloned().unwrap_or_default();
            (theirs != *md5).then(|| (name.clone(), md5.clone(), theirs))
        })
        .collect();
    if collections.is_empty() {
        DbHashCheck::Agrees
    } else {
        DbHashCheck::Disagrees { collections }
    }
}

/// "FerretDB v1.24.2" or "MongoDB 7.0.14", for the reason of `NotOffered`;
/// a plain "the server" when `buildInfo` fails too.
async fn describe_engine(database: &Database) -> String {
    match ServerInfo::detect(database.client()).await {
        Ok(info) => match info.flavor {
            crate::provider::server_info::Flavor::Ferretdb { version } => format!("FerretDB {version}"),
            crate::provider::server_info::Flavor::Mongodb { version } => format!("MongoDB {version}"),
        },
        Err(_) => "the server".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, md5)| (name.to_string(), md5.to_string()))
            .collect()
    }

    #[test]
    fn equal_hashes_agree() {
        let ours = map(&[("a", "00"), ("b", "11")]);
        let server = map(&[("a", "00"), ("b", "11"), ("_drill_ticks", "22")]);
        assert_eq!(judge(&ours, &server), DbHashCheck::Agrees);
    }

    #[test]
    fn differing_and_absent_collections_disagree() {
        let ours = map(&[("a", "00"), ("b", "11"), ("c", "33")]);
        let server = map(&[("a", "00"), ("b", "12")]);
        assert_eq!(
            judge(&ours, &server),
            DbHashCheck::Disagrees {
                collections: vec![
                    ("b".into(), "11".into(), "12".into()),
                    ("c".into(), "33".into(), String::new())
                ]
            }
        );
    }

    #[test]
    fn serializes_with_a_status_tag() {
        let json = serde_json::to_value(DbHashCheck::NotOffered { reason: "x".into() }).unwrap();
        assert_eq!(json, serde_json::json!({"status": "not_offered", "reason": "x"}));
        let back: DbHashCheck = serde_json::from_value(json).unwrap();
        assert_eq!(back, DbHashCheck::NotOffered { reason: "x".into() });
    }
}
