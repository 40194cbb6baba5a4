//! `drdrill run`: runs scenario files, folders or tags in order, writes a
//! report folder per drill plus combined JUnit and JSON files, prints a
//! summary table, and exits 0, 1 or 2 as the semantics page says.

use anyhow::Context;
use drdrill::report::model::{DrillReport, RunReport, SCHEMA_VERSION};
use drdrill::runner::drill::{RunOptions, run_drill};
use drdrill::scenario::Scenario;

use crate::cli::Outcome;
use crate::cli::args::RunArgs;
use crate::cli::live::LiveView;

/// Runs the drills.
pub async fn run(args: RunArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let paths = drdrill::scenario::discover(&args.scenarios, &args.tag)?;
    if paths.is_empty() {
        anyhow::bail!("no scenario matched {:?} with tags {:?}", args.scenarios, args.tag);
    }
    // Every file is validated before any server starts: one bad file stops
    // the run with every problem listed, exit 2.
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut problems = Vec::new();
    for path in &paths {
        match drdrill::scenario::validate_file(path) {
            Ok(scenario) => scenarios.push(scenario),
            Err(errors) => problems.push(errors.to_string()),
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprint!("{problem}");
            if !problem.ends_with('\n') {
                eprintln!();
            }
        }
        return Ok(Outcome::Inconclusive);
    }

    let (cancel_sender, cancel) = tokio::sync::watch::channel(false);
    // Ctrl-C and SIGTERM: stop the running drill within seconds; it tears
    // down and still writes its reports. A second Ctrl-C is not needed.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let signals = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        let _ = cancel_sender.send(true);
    });

    let mut options = RunOptions {
        work_dir: args.work_dir.clone(),
        keep: args.keep,
        provider: args.provider,
        allow_destructive: args.allow_destructive,
        forecast_history: Default::default(),
    };
    let view = LiveView::new(crate::cli::output::interactive(quiet));
    let history = super::history::open_for_run(&args.history).await;
    let mut reports = Vec::new();
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        if *cancel.borrow() {
            break;
        }
        let run_id = super::serve::new_run_id(&scenario.name);
        let scenario = match args.engine {
            Some(engine) => &scenario.on_engine(engine),
            None => scenario,
        };
        options.forecast_history = super::history::forecast_history(history.as_ref(), scenario).await;
        let outcome = run_drill(scenario, &run_id, &options, &view, cancel.clone()).await;
        let drill_outcome = Outcome::of_drill(&outcome);
        outcomes.push(drill_outcome);
        let report = DrillReport::from_outcome(outcome, i32::from(crate::cli::exit_code(&Ok(drill_outcome))));
        let folder = args.out.join(&run_id);
        let written = drdrill::report::write_drill_reports(&folder, &report);
        super::history::after_drill(history.as_ref(), &args.notify, scenario, &report, &folder).await;
        let written = written.with_context(|| {
            format!(
                "cannot write the reports of {} into {}",
                scenario.name,
                folder.display()
            )
        })?;
        eprintln!(
            "reports: {}",
            written
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        reports.push(report);
    }
    signals.abort();
    super::history::close(history).await;

    let outcome = Outcome::worst(outcomes);
    finish_run(&args, reports, outcome)?;
    Ok(outcome)
}

/// The combined JUnit and JSON reports of the run, then the terminal's
/// summary: the table, the forecasts, and why each drill did not pass.
fn finish_run(args: &RunArgs, reports: Vec<DrillReport>, outcome: Outcome) -> anyhow::Result<()> {
    let junit_path = args.junit.clone().unwrap_or_else(|| args.out.join("junit.xml"));
    let json_path = args.json_report.clone().unwrap_or_else(|| args.out.join("report.json"));
    drdrill::report::junit::write_junit(&junit_path, &reports)
        .with_context(|| format!("cannot write {}", junit_path.display()))?;
    println!("{}", drdrill::report::terminal::summary_table(&reports));
    print!("{}", drdrill::report::terminal::forecasts(&reports));
    print!("{}", drdrill::report::terminal::reasons(&reports));
    let combined = RunReport {
        schema_version: SCHEMA_VERSION,
        drills: reports,
        exit_code: i32::from(crate::cli::exit_code(&Ok(outcome))),
    };
    drdrill::report::json::write_run_json(&json_path, &combined)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("combined: {} and {}", junit_path.display(), json_path.display());
    Ok(())
}
