//! `drdrill seed`: the deterministic configuration-management dataset into
//! a database.

use drdrill::dataset::{Profile, SeedOptions, SeedPlan, seed_database};
use drdrill::provider::server_info::ServerInfo;

use crate::cli::Outcome;
use crate::cli::args::SeedArgs;
use crate::cli::output::{TerminalProgress, print_json, table};

/// Seeds and prints what was written and what the engine could not take.
pub async fn run(args: SeedArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let profile = if args.profile.ends_with(".toml") {
        Profile::load(std::path::Path::new(&args.profile))?
    } else {
        Profile::builtin(&args.profile)?
    };
    let plan = SeedPlan::new(&profile, args.docs, args.seed)?;
    let (_uri, client) = super::connect(&args.target.uri).await?;
    let server = ServerInfo::detect(&client).await?;
    let options = SeedOptions::for_server(&server).with_drop_existing(args.drop);
    let progress = TerminalProgress::new(quiet);
    let summary = seed_database(
        &client.database(&args.target.db),
        &plan,
        &server.capabilities,
        &options,
        &progress,
    )
    .await?;
    if args.json {
        print_json(&summary)?;
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = summary
        .collections
        .iter()
        .map(|collection| {
            vec![
                collection.name.clone(),
                collection.documents.to_string(),
                collection.bytes.to_string(),
                collection.indexes_created.join(","),
                collection
                    .indexes_not_created
                    .iter()
                    .map(|index| format!("{} ({})", index.name, index.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["collection", ">documents", ">bytes", "indexes", "not created"], &rows)
    );
    for note in summary
        .collections
        .iter()
        .flat_map(|collection| collection.notes.iter().map(move |note| (collection, note)))
    {
        println!("note: {}: {}", note.0.name, note.1);
    }
    for left_out in &summary.left_out {
        println!("left out: {left_out}");
    }
    println!(
        "seeded {} documents of {} (seed {}) into {} in {}",
        summary.total_documents,
        summary.profile,
        summary.seed,
        args.target.db,
        drdrill::measure::clock::human_duration_ms(drdrill::measure::clock::duration_to_millis(summary.elapsed))
    );
    Ok(Outcome::Success)
}
