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
    /// The scenarios that must hold (default: every scenario in the history).
    pub scenarios: Vec<String>,
    /// How many earlier passing runs make the rolling median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub runs: u16,
    /// How much worse than the median a figure may be, percent.
    #[arg(long, default_value_t = 20.0)]
    pub tolerance: f64,
    /// And by how much at least (e.g. `1s`, `500ms`), so that jitter on short drills is no regression.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub slack: std::time::Duration,
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

/// Runs the gate.
pub async fn run(args: GateArgs) -> anyhow::Result<Outcome> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        anyhow::bail!("--tolerance must be a percentage of 0 or more, not {}", args.tolerance);
    }
    let settings = GateSettings {
        runs: usize::from(args.runs),
        tolerance: args.tolerance / 100.0,
        slack_ms: u64::try_from(args.slack.as_millis()).unwrap_or(u64::MAX),
    };
    let drills = super::history::load(&args.watch.history).await?;
    let results = evaluate(&drills, &args.scenarios, &settings, chrono::Utc::now());
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
