//! `drdrill status`: per scenario, the last pass, the last run and whether
//! the cadence has elapsed; exit 1 when one is overdue or its last run did
//! not pass.

use clap::Args;
use drdrill::history::{ScenarioStatus, statuses};
use drdrill::report::units::human_duration_ms;

use crate::cli::Outcome;
use crate::cli::args::WatchArgs;
use crate::cli::output::{print_json, table};

/// `drdrill status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only these scenarios (default: every scenario in the history).
    pub scenarios: Vec<String>,
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The history, and where problems are announced.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Shows the standing of each scenario.
pub async fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let drills = super::history::only(super::history::load(&args.watch.history).await?, &args.scenarios);
    let standing = statuses(&drills, chrono::Utc::now());
    let missing: Vec<&String> = args
        .scenarios
        .iter()
        .filter(|name| !standing.iter().any(|status| &status.scenario == *name))
        .collect();
    if args.json {
        print_json(&serde_json::json!({ "scenarios": standing, "never_run": missing }))?;
    } else {
        print!("{}", status_table(&standing));
        for name in &missing {
            println!("{name}: no run in the history");
        }
    }
    let lines: Vec<String> = standing
        .iter()
        .filter(|status| status.needs_attention())
        .map(|status| {
            let last = &status.last_run;
            let what = match (status.overdue, status.due) {
                (true, Some(due)) => format!("overdue since {}", due.format("%Y-%m-%d %H:%M UTC")),
                _ => format!("last run {} {}", last.run_id, last.verdict.name()),
            };
            format!(
                "drdrill: {} is {what}; last reports: {}",
                status.scenario, last.report_dir
            )
        })
        .collect();
    super::history::notify(&args.watch.notify, &lines).await;
    let attention = standing.iter().any(ScenarioStatus::needs_attention) || !missing.is_empty();
    Ok(if attention { Outcome::Failed } else { Outcome::Success })
}

fn status_table(standing: &[ScenarioStatus]) -> String {
    let when = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%d %H:%M:%S").to_string();
    let rows: Vec<Vec<String>> = standing
        .iter()
        .map(|status| {
            let state = match (status.overdue, status.last_run_failed()) {
                (true, _) => "OVERDUE",
                (false, true) => "LAST RUN FAILED",
                (false, false) => "ok",
            };
            vec![
                status.scenario.clone(),
                status
                    .last_pass
                    .as_ref()
                    .map(|pass| when(pass.finished))
                    .unwrap_or_else(|| "never".into()),
                format!(
                    "{} ({})",
                    when(status.last_run.finished),
                    status.last_run.verdict.name()
                ),
                status.cadence_ms.map(human_duration_ms).unwrap_or_else(|| "-".into()),
                status.due.map(when).unwrap_or_else(|| "-".into()),
                state.to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "scenario",
            "last pass (UTC)",
            "last run (UTC)",
            "cadence",
            "due (UTC)",
            "state",
        ],
        &rows,
    )
}
