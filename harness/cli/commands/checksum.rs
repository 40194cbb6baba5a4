//! `drdrill checksum`: per-collection count, MD5 (the dbHash algorithm) and
//! indexes of one database, cross-checked with `dbHash` where the server
//! offers it.

use drdrill::checksum::{DbHashCheck, DigestOptions, digest_database};

use crate::cli::Outcome;
use crate::cli::args::ChecksumArgs;
use crate::cli::output::{TerminalProgress, print_json, table};

/// Prints the digest; exit 1 when `dbHash` disagrees with our MD5.
pub async fn run(args: ChecksumArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let (uri, client) = super::connect(&args.target.uri).await?;
    let database = client.database(&args.target.db);
    let options = DigestOptions::default().with_server_uri(&uri);
    let progress = TerminalProgress::new(quiet);
    let digest = digest_database(&database, &options, &progress).await?;
    let disagrees = matches!(digest.db_hash, DbHashCheck::Disagrees { .. });
    if args.json {
        print_json(&digest)?;
    } else {
        let rows: Vec<Vec<String>> = digest
            .collections
            .values()
            .map(|collection| {
                vec![
                    collection.name.clone(),
                    collection.count.to_string(),
                    collection.bytes.to_string(),
                    collection.md5.clone(),
                    collection
                        .indexes
                        .iter()
                        .map(|index| index.name.clone())
                        .collect::<Vec<_>>()
                        .join(","),
                ]
            })
            .collect();
        print!(
            "{}",
            table(&["collection", ">documents", ">bytes", "md5", "indexes"], &rows)
        );
        match &digest.db_hash {
            DbHashCheck::Agrees => println!("dbHash: agrees with every collection's md5"),
            DbHashCheck::Disagrees { collections } => {
                for (name, ours, server) in collections {
                    println!("dbHash DISAGREES on {name}: ours {ours}, server {server}");
                }
            }
            DbHashCheck::NotOffered { reason } => println!("dbHash: not offered ({reason})"),
        }
        if !digest.excluded.is_empty() {
            println!("excluded: {}", digest.excluded.join(", "));
        }
    }
    Ok(if disagrees { Outcome::Failed } else { Outcome::Success })
}
