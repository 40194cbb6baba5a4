//! `drdrill history`: the recorded drills per scenario, as a table, JSON,
//! or one self-contained HTML page of trend charts; and the hook with which
//! `drdrill run` records each drill.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use drdrill::history::{DrillRecord, HistoryLocation, HistoryStore};
use drdrill::report::model::DrillReport;
use drdrill::report::units::human_duration_ms;

use crate::cli::Outcome;
use crate::cli::args::{HistoryArg, NotifyArg};
use crate::cli::output::{print_json, table};

/// `drdrill history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only these scenarios (default: every scenario in the history).
    pub scenarios: Vec<String>,
    /// How many of each scenario's latest runs to show.
    #[arg(long, default_value_t = 10)]
    pub last: usize,
    /// Print JSON for machines instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write one self-contained HTML page of trend charts here.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// The history.
    #[command(flatten)]
    pub history: HistoryArg,
}

/// Opens the history `arg` names and reads every drill, oldest first.
pub async fn load(arg: &HistoryArg) -> anyhow::Result<Vec<DrillRecord>> {
    let location = HistoryLocation::resolve(arg.history.as_deref())?;
    let store = HistoryStore::open(&location).await?;
    let drills = store.drills().await;
    store.close().await;
    Ok(drills?)
}

/// The drills of `scenarios` (all when empty), oldest first.
pub fn only(drills: Vec<DrillRecord>, scenarios: &[String]) -> Vec<DrillRecord> {
    drills
        .into_iter()
        .filter(|drill| scenarios.is_empty() || scenarios.contains(&drill.scenario))
        .collect()
}

/// Shows the history.
pub async fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let drills = only(load(&args.history).await?, &args.scenarios);
    let mut names: Vec<&str> = drills.iter().map(|drill| drill.scenario.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let latest = |name: &str| -> Vec<&DrillRecord> {
        let runs: Vec<&DrillRecord> = drills.iter().filter(|drill| drill.scenario == name).collect();
        runs[runs.len().saturating_sub(args.last)..].to_vec()
    };
    if let Some(path) = &args.html {
        let page = drdrill::history::html::page(&drills, chrono::Utc::now());
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("history page: {}", path.display());
    }
    if args.json {
        let by_scenario: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .map(|name| Ok((name.to_string(), serde_json::to_value(latest(name))?)))
            .collect::<Result<_, serde_json::Error>>()?;
        print_json(&by_scenario)?;
        return Ok(Outcome::Success);
    }
    if names.is_empty() {
        println!("no drill recorded yet");
    }
    for name in names {
        let runs = latest(name);
        println!("{name} (last {} runs)", runs.len());
        println!("{}", runs_table(&runs));
    }
    Ok(Outcome::Success)
}

fn runs_table(runs: &[&DrillRecord]) -> String {
    let optional = |value: Option<u64>| value.map(human_duration_ms).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|drill| {
            vec![
                drill.started.format("%Y-%m-%d %H:%M:%S").to_string(),
                drill.run_id.clone(),
                drill.verdict.name().to_owned(),
                optional(drill.rto_service_ms),
                optional(drill.rto_verified_ms),
                optional(drill.rpo_ms),
                human_duration_ms(drill.duration_ms),
                drill
                    .backup_bytes
                    .map(|bytes| format!("{bytes} B"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &[
            "started (UTC)",
            "run",
            "verdict",
            ">RTO service",
            ">RTO verified",
            ">RPO",
            ">duration",
            ">backup",
        ],
        &rows,
    )
}

/// Where `drdrill run` records its drills: opened once per run. A history
/// that cannot be opened is a warning; the drills run anyway.
pub async fn open_for_run(arg: &HistoryArg) -> Option<HistoryStore> {
    let opened = async {
        let location = HistoryLocation::resolve(arg.history.as_deref())?;
        HistoryStore::open(&location).await
    }
    .await;
    match opened {
        Ok(store) => Some(store),
        Err(error) => {
            eprintln!(
                "warning: drills will not be recorded: {}",
                drdrill::uri::redact(&drdrill::error::chain(&error))
            );
            None
        }
    }
}

/// Closes the run's history, if it opened.
/// The step durations of the scenario's last passing runs (at most 20),
/// for the RTO forecast's band; empty without a history or a
/// `[forecast]`.
pub async fn forecast_history(
    store: Option<&HistoryStore>,
    scenario: &drdrill::scenario::Scenario,
) -> drdrill::measure::forecast::ForecastHistory {
    use drdrill::measure::forecast::{ForecastHistory, ForecastPhase};
    let mut history = ForecastHistory::default();
    let (Some(store), Some(_)) = (store, &scenario.forecast) else {
        return history;
    };
    let Ok(drills) = store.drills().await else {
        return history;
    };
    let passed: Vec<&DrillRecord> = drills
        .iter()
        .filter(|drill| drill.scenario == scenario.name && drill.verdict == drdrill::history::RecordedVerdict::Passed)
        .collect();
    for drill in passed.iter().rev().take(20).rev() {
        for step in &drill.steps {
            let phase = match step.kind.as_str() {
                "backup" => ForecastPhase::Backup,
                "restore" => ForecastPhase::Restore,
                "verify" => ForecastPhase::Verify,
                _ => continue,
            };
            if let Some(duration) = step.duration_ms {
                history.durations.entry(phase).or_default().push(duration);
            }
        }
    }
    history
}

pub async fn close(store: Option<HistoryStore>) {
    if let Some(store) = store {
        store.close().await;
    }
}

/// What `drdrill run` does after each drill: record it, and announce it
/// when it did not pass. Neither changes the drill's outcome.
pub async fn after_drill(
    store: Option<&HistoryStore>,
    notify_arg: &NotifyArg,
    scenario: &drdrill::scenario::Scenario,
    report: &DrillReport,
    folder: &Path,
) {
    let cadence = drdrill::history::cadence(scenario.cadence, &scenario.tags)
        .map(|cadence| u64::try_from(cadence.as_millis()).unwrap_or(u64::MAX));
    let recorded = record(store, report, folder, cadence).await;
    if !recorded.passed() {
        let line = format!(
            "drdrill: drill {} {} ({}): {}; reports: {}",
            recorded.scenario,
            recorded.verdict.name(),
            recorded.run_id,
            recorded.reasons.join("; "),
            recorded.report_dir
        );
        notify(notify_arg, &[line]).await;
    }
}

/// Records one finished drill and returns its record; a failure is a
/// warning on stderr and never changes the drill's outcome.
async fn record(
    store: Option<&HistoryStore>,
    report: &DrillReport,
    folder: &Path,
    cadence_ms: Option<u64>,
) -> DrillRecord {
    let record = DrillRecord::from_report(report, folder, cadence_ms);
    if let Some(store) = store
        && let Err(error) = store.record(&record).await
    {
        eprintln!(
            "warning: drill {} not recorded: {}",
            report.run_id,
            drdrill::uri::redact(&drdrill::error::chain(&error))
        );
    }
    record
}

/// Posts `lines` (if any) as one message to the webhook `arg` names; a
/// failure is a warning on stderr.
pub async fn notify(arg: &NotifyArg, lines: &[String]) {
    let (Some(url), false) = (&arg.notify, lines.is_empty()) else {
        return;
    };
    let sent = match drdrill::history::notify::Webhook::parse(url) {
        Ok(webhook) => webhook.post(&lines.join("\n")).await,
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        eprintln!(
            "warning: notification not sent: {}",
            drdrill::uri::redact(&drdrill::error::chain(&error))
        );
    }
}
