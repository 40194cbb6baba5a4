//! `drdrill verify-backup PATH`: checks a backup on disk without a server.

use std::path::PathBuf;

use clap::Args;
use drdrill::backup::verify::verify_backup;

use crate::cli::Outcome;
use crate::cli::output::{print_json, table};

/// `drdrill verify-backup`.
#[derive(Debug, Args)]
pub struct VerifyBackupArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// A dump folder, a database folder, an archive or a `.tar.gz`.
    pub path: PathBuf,
}

/// Runs `drdrill verify-backup`: exit 1 when a problem is found, 2 when
/// there is nothing at the path.
pub async fn run(args: VerifyBackupArgs, json: bool) -> anyhow::Result<Outcome> {
    if !args.path.exists() {
        anyhow::bail!("{}: no such file or folder", args.path.display());
    }
    let path = args.path.clone();
    let report = tokio::task::spawn_blocking(move || verify_backup(&path)).await?;
    if json {
        print_json(&report)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .collections
            .iter()
            .map(|collection| {
                vec![
                    collection.namespace.clone(),
                    collection.documents.to_string(),
                    collection.md5.clone().unwrap_or_else(|| "-".to_owned()),
                    if collection.metadata { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect();
        print!("{}", table(&["collection", ">documents", "md5", "metadata"], &rows));
        for note in &report.notes {
            println!("note: {note}");
        }
        for problem in &report.problems {
            println!("problem: {}", problem.message);
        }
        println!(
            "{}: {}",
            args.path.display(),
            if report.is_ok() {
                "ok".to_owned()
            } else {
                format!("{} problem(s)", report.problems.len())
            }
        );
    }
    Ok(if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
