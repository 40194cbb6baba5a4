//! `drdrill gate`: the release gate over the history. It passes only when
//! every named scenario's latest run passed, none is overdue, and none of
//! their figures regressed beyond the tolerance; it also writes JUnit.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use drdrill::history::gate::{GateResult, GateSettings, describe, evaluate};

use crate::cli::Outcome;
use crate::cli::args::WatchArgs;
use crate::cli::output::print_json;

/// `drdrill gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The scenarios that must hold (default: the `[gate]` table's, else every scenario in the history).
    pub scenarios: Vec<String>,
    /// A TOML file whose `[gate]` table sets scenarios, runs, tolerance and slack; flags given here win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many earlier passing runs make the rolling median (default 5).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub runs: Option<u16>,
    /// How much worse than the median a figure may be, percent (default 20).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// And by how much at least (e.g. `1s`, `500ms`; default 1s), so that jitter on short drills is no regression.
    #[arg(long, value_parser = drdrill::scenario::duration::parse_duration)]
    pub slack: Option<std::time::Duration>,
    /// Write the gate as JUnit here (one test case per scenario).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Print JSON for machines instead of lines.
    #[arg(long)]
    pub json: bool,
    /// The history, and where problems are announced.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// A gate configuration file: its `[gate]` table, as a pipeline keeps it
/// beside its scenarios.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    #[serde(default)]
    gate: GateTable,
}

/// `[gate]`: every key optional; the command line wins over each.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GateTable {
    scenarios: Option<Vec<String>>,
    runs: Option<u16>,
    tolerance: Option<f64>,
    slack: Option<String>,
}

/// The scenarios and settings: flags, else the `[gate]` table, else the defaults.
fn settings(args: &GateArgs) -> anyhow::Result<(Vec<String>, GateSettings)> {
    let table = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<GateFile>(&text)
                .map_err(|error| anyhow::anyhow!("{}: {}", path.display(), error.to_string().trim_end()))?
                .gate
        }
        None => GateTable::default(),
    };
    let file = args
        .config
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let defaults = GateSettings::default();
    let runs = args.runs.or(table.runs).map_or(defaults.runs, usize::from);
    if !(1..=1000).contains(&runs) {
        anyhow::bail!("{file}: [gate] runs = {runs}: between 1 and 1000");
    }
    let tolerance = args.tolerance.or(table.tolerance).unwrap_or(defaults.tolerance * 100.0);
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        anyhow::bail!("the tolerance must be a percentage of 0 or more, not {tolerance}");
    }
    let slack = match (args.slack, &table.slack) {
        (Some(slack), _) => slack,
        (None, Some(text)) => drdrill::scenario::duration::parse_duration(text)
            .map_err(|error| anyhow::anyhow!("{file}: [gate] slack = {text:?}: {error}"))?,
        (None, None) => std::time::Duration::from_millis(defaults.slack_ms),
    };
    let scenarios = if args.scenarios.is_empty() {
        table.scenarios.unwrap_or_default()
    } else {
        args.scenarios.clone()
    };
    let settings = GateSettings {
        runs,
        tolerance: tolerance / 100.0,
        slack_ms: u64::try_from(slack.as_millis()).unwrap_or(u64::MAX),
    };
    Ok((scenarios, settings))
}

/// Runs the gate.
pub async fn run(args: GateArgs) -> anyhow::Result<Outcome> {
    let (scenarios, settings) = settings(&args)?;
    let drills = super::history::load(&args.watch.history).await?;
    let results = evaluate(&drills, &scenarios, &settings, chrono::Utc::now());
    if results.is_empty() {
        anyhow::bail!("the gate has nothing to judge: the history holds no drill and no scenario was named");
    }
    if let Some(path) = &args.junit {
        write_junit(path, &results, &settings).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let messages: Vec<serde_json::Value> = results
            .iter()
            .map(|result| {
                serde_json::json!({
                    "scenario": result.scenario,
                    "latest": result.latest,
                    "passed": result.passed(),
                    "problems": result.problems,
                    "messages": result.problems.iter().map(|problem| describe(problem, &settings)).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&messages)?;
    } else {
        for result in &results {
            match result.problems.as_slice() {
                [] => println!(
                    "{}: passed ({})",
                    result.scenario,
                    result.latest.as_deref().unwrap_or("-")
                ),
                problems => {
                    for problem in problems {
                        println!("{}: FAILED: {}", result.scenario, describe(problem, &settings));
                    }
                }
            }
        }
    }
    let settings_ref = &settings;
    let lines: Vec<String> = results
        .iter()
        .flat_map(|result| {
            let reports = drills
                .iter()
                .rev()
                .find(|drill| Some(&drill.run_id) == result.latest.as_ref())
                .map(|drill| format!("; reports: {}", drill.report_dir))
                .unwrap_or_default();
            result.problems.iter().map(move |problem| {
                format!(
                    "drdrill gate: {}: {}{reports}",
                    result.scenario,
                    describe(problem, settings_ref)
                )
            })
        })
        .collect();
    super::history::notify(&args.watch.notify, &lines).await;
    let passed = results.iter().all(GateResult::passed);
    Ok(if passed { Outcome::Success } else { Outcome::Failed })
}

fn write_junit(path: &std::path::Path, results: &[GateResult], settings: &GateSettings) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let cases = results.iter().map(|result| {
        let status = if result.passed() {
            TestCaseStatus::success()
        } else {
            let message: Vec<String> = result
                .problems
                .iter()
                .map(|problem| describe(problem, settings))
                .collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("gate").set_message(message.join("; "));
            status
        };
        TestCase::new(result.scenario.as_str(), status)
    });
    let mut suite = TestSuite::new("drdrill gate");
    suite.add_test_cases(cases);
    let mut report = Report::new("drdrill gate");
    report.add_test_suite(suite);
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    report.serialize(std::fs::File::create(path)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn gate_args(arguments: &[&str]) -> GateArgs {
        let mut line = vec!["drdrill", "gate"];
        line.extend_from_slice(arguments);
        match crate::cli::args::Cli::try_parse_from(line).unwrap().command {
            crate::cli::args::Command::Gate(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_gate_table_sets_what_the_command_line_leaves_out() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("gate.toml");
        std::fs::write(
            &file,
            "[gate]\nscenarios = [\"ci-release-gate\"]\nruns = 3\ntolerance = 50\nslack = \"2s\"\n",
        )
        .unwrap();
        let config = file.to_str().unwrap();
        let (scenarios, settings) = super::settings(&gate_args(&["--config", config])).unwrap();
        assert_eq!(scenarios, ["ci-release-gate"]);
        assert_eq!((settings.runs, settings.slack_ms), (3, 2_000));
        assert!((settings.tolerance - 0.5).abs() < 1e-9);
        // Flags win over the table, one by one.
        let (scenarios, settings) = super::settings(&gate_args(&[
            "other", "--config", config, "--runs", "7", "--slack", "500ms",
        ]))
        .unwrap();
        assert_eq!(scenarios, ["other"]);
        assert_eq!((settings.runs, settings.slack_ms), (7, 500));
        assert!((settings.tolerance - 0.5).abs() < 1e-9);
        // Without a file, the defaults.
        let (scenarios, settings) = super::settings(&gate_args(&[])).unwrap();
        assert!(scenarios.is_empty());
        assert_eq!((settings.runs, settings.slack_ms), (5, 1_000));
    }

    #[test]
    fn a_bad_gate_table_names_the_file_and_the_key() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("gate.toml");
        std::fs::write(&file, "[gate]\nrunz = 3\n").unwrap();
        let error = super::settings(&gate_args(&["--config", file.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("gate.toml") && error.contains("runz"), "{error}");
        assert!(error.contains("line 2"), "{error}");
        std::fs::write(&file, "[gate]\nslack = \"5M\"\n").unwrap();
        let error = super::settings(&gate_args(&["--config", file.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("[gate] slack = \"5M\""), "{error}");
    }
}
