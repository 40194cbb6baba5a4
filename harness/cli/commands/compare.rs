//! `drdrill compare`: one database on two deployments, naming the `_id`s
//! missing, extra and changed on the target and the index differences.

use drdrill::checksum::{CompareOptions, compare_databases};

use crate::cli::Outcome;
use crate::cli::args::CompareArgs;
use crate::cli::output::{TerminalProgress, print_json, table};

/// Compares; exit 1 on any difference.
pub async fn run(args: CompareArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let (source_uri, source) = super::connect(&args.source).await?;
    let (target_uri, target) = super::connect(&args.target).await?;
    let mut options = CompareOptions::default()
        .with_source_uri(&source_uri)
        .with_target_uri(&target_uri);
    options.max_ids = args.max_ids;
    let progress = TerminalProgress::new(quiet);
    let comparison = compare_databases(
        &source.database(&args.db),
        &target.database(&args.db),
        &options,
        &progress,
    )
    .await?;
    if args.json {
        print_json(&comparison)?;
    } else {
        let rows: Vec<Vec<String>> = comparison
            .collections
            .iter()
            .map(|collection| {
                let count = |digest: &Option<drdrill::checksum::CollectionDigest>| {
                    digest
                        .as_ref()
                        .map(|digest| digest.count.to_string())
                        .unwrap_or_else(|| "absent".into())
                };
                vec![
                    collection.name.clone(),
                    count(&collection.source),
                    count(&collection.target),
                    collection.missing.total.to_string(),
                    collection.extra.total.to_string(),
                    collection.changed.total.to_string(),
                    collection.index_differences.len().to_string(),
                    if collection.is_identical() {
                        "same".into()
                    } else {
                        "DIFFERENT".into()
                    },
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &[
                    "collection",
                    ">source",
                    ">target",
                    ">missing",
                    ">extra",
                    ">changed",
                    ">index diffs",
                    "result"
                ],
                &rows
            )
        );
        for collection in comparison
            .collections
            .iter()
            .filter(|collection| !collection.is_identical())
        {
            for (label, list) in [
                ("missing", &collection.missing),
                ("extra", &collection.extra),
                ("changed", &collection.changed),
            ] {
                if list.total > 0 {
                    let ids: Vec<String> = list.ids.iter().map(|id| id.to_string()).collect();
                    let more = if list.total as usize > ids.len() {
                        format!(" and {} more", list.total as usize - ids.len())
                    } else {
                        String::new()
                    };
                    println!("{}: {label} _id {}{more}", collection.name, ids.join(", "));
                }
            }
            for difference in &collection.index_differences {
                println!("{}: index {difference:?}", collection.name);
            }
        }
        println!(
            "{}",
            if comparison.is_identical() {
                "identical"
            } else {
                "databases differ"
            }
        );
    }
    Ok(if comparison.is_identical() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
