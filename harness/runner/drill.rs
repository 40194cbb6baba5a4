//! Runs one scenario from start to verdict: start the deployment, run the
//! steps in order with their timeouts, measure RTO and RPO, judge, tear
//! down, and return the report. Interruption (Ctrl-C, SIGTERM) is a value
//! passed in, not a global: the current step is abandoned, every later step
//! is reported as skipped, and the report says the drill was interrupted.

use std::path::PathBuf;
use std::time::Duration;

use mongodb::Client;
use tokio::sync::watch;

use super::context::DrillContext;
use super::deployment::Deployment;
use super::events::{Event, EventSink};
use crate::measure::clock::{DrillClock, Stamp};
use crate::provider::server_info::{Capabilities, ServerInfo};
use crate::provider::{Backend, DeploymentSpec, Engine, ProviderKind};
use crate::report::model::{
    CheckKind, CheckReport, DrillReport, Instant, Measurements, Objectives, Phase, SCHEMA_VERSION, Status, StepReport,
    TopologyReport, Verdict, VerdictKind,
};
use crate::scenario::{Scenario, StepKind};
use crate::step::{self, StepOutcome};

/// How to run drills, from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Where providers put the run's data (default: the temp folder).
    pub work_dir: Option<PathBuf>,
    /// Leave deployments running for debugging.
    pub keep: bool,
    /// Run every scenario on this provider instead of its own.
    pub provider: Option<ProviderKind>,
    /// The command line allows destructive steps against external deployments.
    pub allow_destructive: bool,
}

/// A `watch` channel whose value turns `true` when the drill must stop.
pub type Cancel = watch::Receiver<bool>;

pub(crate) fn stamp_to_instant(stamp: Stamp) -> Instant {
    Instant {
        offset_ms: stamp.offset_ms,
        wall: stamp.wall,
    }
}

/// Runs `scenario` and returns its report. Never panics on a bad
/// deployment or step: every failure ends up in the report.
pub async fn run_drill(
    scenario: &Scenario,
    run_id: &str,
    options: &RunOptions,
    events: &dyn EventSink,
    cancel: Cancel,
) -> DrillReport {
    let clock = DrillClock::start();
    events.emit(Event::DrillStarted {
        run_id: run_id.to_string(),
        scenario: scenario.name.clone(),
        steps: scenario.steps.len(),
    });
    let mut report = empty_report(scenario, run_id, &clock);
    let provider = options.provider.unwrap_or(scenario.topology.provider);
    report.topology.provider = provider_name(provider).into();

    if let Some(reason) = unsupported_reason(scenario, provider) {
        return finish_early(report, &clock, VerdictKind::Skipped, reason, events);
    }
    if !provider.starts_its_deployment()
        && scenario_is_destructive(scenario)
        && !(scenario.topology.allow_destructive && options.allow_destructive)
    {
        let reason = "destructive steps against an external deployment need both `allow_destructive = true` in the scenario and --allow-destructive on the command line".to_string();
        return finish_early(report, &clock, VerdictKind::Inconclusive, reason, events);
    }

    let work_dir = options
        .work_dir
        .clone()
        .unwrap_or_else(crate::provider::local::default_work_dir);
    let mut cancel_start = cancel.clone();
    let started = tokio::select! {
        result = start_deployment(scenario, provider, run_id, options, &work_dir) => result,
        _ = wait_cancelled(&mut cancel_start) => Err(StartError::Interrupted),
    };
    let (source, source_client, server) = match started {
        Ok(started) => started,
        Err(error) => {
            let reason = crate::uri::redact(&crate::backup::verify::chain(&error));
            report.interrupted = *cancel.borrow();
            let kind = VerdictKind::Inconclusive;
            return finish_early(report, &clock, kind, reason, events);
        }
    };
    report.topology.server_version = Some(match &server.flavor {
        crate::provider::server_info::Flavor::Ferretdb { version } => {
            format!("FerretDB {version} (MongoDB {})", server.mongodb_version)
        }
        crate::provider::server_info::Flavor::Mongodb { version } => format!("MongoDB {version}"),
    });
    report.topology.uri = Some(source.uri().to_string());
    events.emit(Event::DeploymentReady {
        description: source.describe(),
        uri: source.uri().to_string(),
    });

    let drill_dir = work_dir.join(format!("{run_id}-drill"));
    let _ = std::fs::create_dir_all(&drill_dir);
    let mut context = DrillContext {
        scenario,
        run_id: run_id.to_string(),
        clock,
        events,
        work_dir: drill_dir.clone(),
        source,
        fresh: None,
        source_client,
        fresh_client: None,
        server,
        ticks: None,
        failover_probe: None,
        primary_monitor: None,
        tick_log: None,
        workload_start: None,
        backups: Vec::new(),
        reference: None,
        disaster_at: None,
        service_at: None,
        verified_at: None,
        restored: None,
        checks: Vec::new(),
        findings: Vec::new(),
    };
    for note in engine_findings(&context.server.capabilities, context.server.engine_name()) {
        context.finding(note);
    }
    if scenario.topology.replica_set.is_some()
        && let Some(count) = context.source.node_count()
    {
        let uris = (0..count)
            .filter_map(|index| context.source.node_uri(index).ok())
            .map(|uri| uri.expose_secret().to_string())
            .collect();
        context.primary_monitor = Some(super::primary::PrimaryMonitor::start(
            uris,
            context.clock,
            scenario.workload.probe_interval,
        ));
    }

    let mut stopped_early: Option<(VerdictKind, String)> = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        if stopped_early.is_some() {
            report.steps[index].message = "not run: an earlier step ended the drill".into();
            continue;
        }
        if *cancel.borrow() {
            report.interrupted = true;
            stopped_early = Some((VerdictKind::Inconclusive, "interrupted".into()));
            report.steps[index].message = "not run: the drill was interrupted".into();
            continue;
        }
        let started = context.clock.now();
        events.emit(Event::StepStarted {
            index,
            kind: step.kind.name().to_string(),
            name: step.name.clone(),
            at_ms: started.offset_ms,
        });
        let mut cancel_step = cancel.clone();
        let outcome = tokio::select! {
            result = tokio::time::timeout(step.timeout, step::run(&mut context, index, step)) => match result {
                Ok(outcome) => outcome,
                Err(_) => StepOutcome::failed(format!(
                    "{} did not finish within its timeout of {}",
                    step.kind.name(),
                    crate::measure::clock::format_duration(step.timeout)
                )),
            },
            _ = wait_cancelled(&mut cancel_step) => {
                report.interrupted = true;
                StepOutcome::error("interrupted by the operator (Ctrl-C or SIGTERM)")
            }
        };
        let finished = context.clock.now();
        events.emit(Event::StepFinished {
            index,
            status: outcome.status,
            message: outcome.message.clone(),
            at_ms: finished.offset_ms,
        });
        let entry = &mut report.steps[index];
        entry.started = Some(stamp_to_instant(started));
        entry.finished = Some(stamp_to_instant(finished));
        entry.duration_ms = Some(finished.offset_ms.saturating_sub(started.offset_ms));
        entry.status = outcome.status;
        entry.message = crate::uri::redact(&outcome.message);
        entry.details = outcome.details;
        match outcome.status {
            Status::Passed | Status::Skipped => {}
            Status::Failed => {
                stopped_early = Some((
                    VerdictKind::Failed,
                    format!("step {index} ({}) failed: {}", step.kind.name(), entry.message),
                ));
            }
            Status::Error => {
                let kind = VerdictKind::Inconclusive;
                stopped_early = Some((
                    kind,
                    format!("step {index} ({}) could not run: {}", step.kind.name(), entry.message),
                ));
            }
        }
    }

    // A failover probe still running gets no more time: the drill is over.
    context.await_failover_service(Duration::ZERO).await;
    // The writer runs until T_d (a failover drill's, to the end); a drill
    // with no disaster stops it here.
    if let Some(writer) = context.ticks.take() {
        context.tick_log = Some(writer.stop().await);
    }
    if let Some(monitor) = context.primary_monitor.take() {
        let changes = monitor.stop().await;
        if let Some(t_d) = context.disaster_at {
            let text = super::primary::describe_failover(&changes, t_d.offset_ms);
            context.finding(text);
        }
        report.measurements.primary_timeline = changes;
    }
    measure(&mut context, &mut report).await;
    report.checks.extend(context.checks.iter().cloned());
    report.findings = context.findings.clone();
    report.phases = phases(&report, &context);
    report.verdict = judge(scenario, &report, stopped_early);
    finish(&mut report, &context.clock);

    // Teardown: the fresh node first, then the source; kept ones say so.
    let DrillContext { source, fresh, .. } = context;
    if let Some(fresh) = fresh {
        if let Some(message) = fresh.teardown().await {
            events.emit(Event::Note { message });
        }
    }
    // Keeping is decided when a deployment starts (its spec's `keep`); a
    // kept one answers teardown with how to remove it.
    if let Some(message) = source.teardown().await {
        events.emit(Event::Note { message });
    }
    let _ = std::fs::remove_dir_all(&drill_dir);
    events.emit(Event::DrillFinished {
        report: Box::new(report.clone()),
    });
    report
}

async fn wait_cancelled(cancel: &mut Cancel) {
    loop {
        if *cancel.borrow() {
            return;
        }
        if cancel.changed().await.is_err() {
            // The sender is gone: nobody can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

fn provider_name(provider: ProviderKind) -> &'static str {
    provider.name()
}

fn scenario_is_destructive(scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|step| {
        matches!(
            step.kind,
            StepKind::Disaster { .. } | StepKind::Restore { .. } | StepKind::Seed
        )
    })
}

/// Why this engine or provider cannot run the scenario at all, if so.
/// Why a scenario cannot run on its engine at all: it is then skipped
/// (JUnit skipped, exit 2), never passed.
pub fn unsupported_reason(scenario: &Scenario, _provider: ProviderKind) -> Option<String> {
    if scenario.topology.engine == Engine::Ferretdb && scenario.topology.replica_set.is_some() {
        return Some("not supported by engine ferretdb: replica sets (elections, oplog)".into());
    }
    None
}

/// Why a drill's deployment did not get ready to be drilled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Ctrl-C or SIGTERM came first.
    #[error("interrupted while starting the deployment")]
    Interrupted,
    /// The provider could not start (or name) the deployment.
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    /// The deployment started but the driver could not reach it.
    #[error("cannot connect to {uri}")]
    Connect {
        /// Its URI, redacted.
        uri: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The server did not say what it is.
    #[error("cannot ask {uri} what it is")]
    Detect {
        /// Its URI, redacted.
        uri: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
}

/// Starts the deployment the scenario's topology describes, on `provider`,
/// and asks the server what it is.
async fn start_deployment(
    scenario: &Scenario,
    provider: ProviderKind,
    run_id: &str,
    options: &RunOptions,
    work_dir: &std::path::Path,
) -> Result<(Deployment, Client, ServerInfo), StartError> {
    let spec = DeploymentSpec::from_topology(&scenario.topology, provider, run_id, work_dir, options.keep);
    let deployment = crate::provider::start(&spec).await?;
    let client = connect(&deployment.uri()).await.map_err(|source| StartError::Connect {
        uri: deployment.uri().to_string(),
        source,
    })?;
    let mut server = ServerInfo::detect(&client).await.map_err(|source| StartError::Detect {
        uri: deployment.uri().to_string(),
        source,
    })?;
    // buildInfo does not name FerretDB's backend; the provider knows it.
    if let (crate::provider::server_info::Flavor::Ferretdb { .. }, Some(backend)) =
        (&server.flavor, deployment.backend())
    {
        server.capabilities = Capabilities::ferretdb(backend == Backend::Sqlite);
    }
    Ok((deployment, client, server))
}

/// A client with timeouts that suit a drill: short server selection, so
/// that a dead server is noticed in seconds, not thirty.
pub async fn connect(uri: &crate::uri::MongoUri) -> Result<Client, mongodb::error::Error> {
    crate::connect::client(uri.expose_secret(), crate::connect::ConnectProfile::Drill).await
}

fn engine_findings(capabilities: &Capabilities, engine: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if !capabilities.db_hash {
        notes.push(format!("dbHash is not offered by engine {engine}: checksums are the harness's own (same algorithm), without a server cross-check"));
    }
    if !capabilities.replica_sets {
        notes.push(format!(
            "engine {engine} has no replica sets or oplog: ticks are read back with read concern local"
        ));
    }
    notes
}

fn empty_report(scenario: &Scenario, run_id: &str, clock: &DrillClock) -> DrillReport {
    let steps = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| StepReport {
            index,
            kind: step.kind.name().to_string(),
            name: step.name.clone(),
            started: None,
            finished: None,
            duration_ms: None,
            timeout_ms: step.timeout.as_millis() as u64,
            status: Status::Skipped,
            message: String::new(),
            details: serde_json::Value::Null,
        })
        .collect();
    DrillReport {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        scenario: scenario.name.clone(),
        scenario_file: scenario.path.display().to_string(),
        description: scenario.description.clone().unwrap_or_default(),
        tags: scenario.tags.clone(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        started: clock.started_at(),
        finished: clock.started_at(),
        duration_ms: 0,
        interrupted: false,
        verdict: Verdict {
            kind: VerdictKind::Inconclusive,
            reasons: Vec::new(),
            exit_code: 2,
            expected_failure: None,
        },
        topology: TopologyReport {
            provider: provider_name(scenario.topology.provider).into(),
            engine: scenario.topology.engine.to_string(),
            backend: (scenario.topology.engine == Engine::Ferretdb)
                .then(|| scenario.topology.backend.unwrap_or(Backend::Sqlite).to_string()),
            nodes: usize::from(scenario.topology.nodes),
            server_version: None,
            uri: None,
        },
        objectives: Objectives {
            rto_ms: scenario.objectives.rto.map(|value| value.as_millis() as u64),
            rpo_ms: scenario.objectives.rpo.map(|value| value.as_millis() as u64),
            rto_applies_to: match scenario.objectives.rto_applies_to {
                crate::measure::rto::RtoAppliesTo::Service => "service".into(),
                crate::measure::rto::RtoAppliesTo::Verified => "verified".into(),
            },
        },
        measurements: Measurements {
            probe_interval_ms: scenario.workload.probe_interval.as_millis() as u64,
            tick_interval_ms: scenario.workload.tick_interval.as_millis() as u64,
            write_concern: scenario.workload.write_concern.to_string(),
            read_concern: scenario.workload.read_concern.to_string(),
            ..Measurements::default()
        },
        steps,
        checks: Vec::new(),
        phases: Vec::new(),
        findings: Vec::new(),
    }
}

fn finish(report: &mut DrillReport, clock: &DrillClock) {
    let now = clock.now();
    report.finished = now.wall;
    report.duration_ms = now.offset_ms;
}

fn finish_early(
    mut report: DrillReport,
    clock: &DrillClock,
    kind: VerdictKind,
    reason: String,
    events: &dyn EventSink,
) -> DrillReport {
    let reason = crate::uri::redact(&reason);
    for step in &mut report.steps {
        step.message = format!("not run: {reason}");
    }
    report.verdict = Verdict {
        kind,
        reasons: vec![reason],
        exit_code: 2,
        expected_failure: None,
    };
    finish(&mut report, clock);
    events.emit(Event::DrillFinished {
        report: Box::new(report.clone()),
    });
    report
}

/// RTO and RPO from the recorded instants and ticks, and the objective and
/// integrity checks they give.
async fn measure(context: &mut DrillContext<'_>, report: &mut DrillReport) {
    use crate::measure::rpo::compute_rpo;
    use crate::measure::rto::{compute_rto, evaluate};

    let measurements = &mut report.measurements;
    let Some(t_d) = context.disaster_at else {
        measurements
            .notes
            .push("no disaster step ran: RTO and RPO were not measured".into());
        return;
    };
    measurements.disaster_at = Some(stamp_to_instant(t_d));
    let probe_interval = context.scenario.workload.probe_interval;
    let rto = compute_rto(t_d, context.service_at, context.verified_at, probe_interval);
    measurements.rto_service_ms = rto.rto_service.map(|value| value.as_millis() as u64);
    measurements.rto_verified_ms = rto.rto_verified.map(|value| value.as_millis() as u64);
    if context.service_at.is_none() {
        measurements
            .notes
            .push("the service never answered a canary write after the disaster".into());
    }

    let rpo = match (&context.tick_log, context.workload_start) {
        (Some(log), Some(workload_start)) => {
            let found = match tokio::time::timeout(
                Duration::from_secs(60),
                super::ticks::read_ticks(&context.recovered_database(), read_concern(context)),
            )
            .await
            {
                Ok(Ok(found)) => Some(found),
                Ok(Err(error)) => {
                    measurements.notes.push(format!(
                        "ticks could not be read back: {}",
                        crate::uri::redact(&error.to_string())
                    ));
                    None
                }
                Err(_) => {
                    measurements.notes.push("reading the ticks back timed out".into());
                    None
                }
            };
            found.map(|found| {
                compute_rpo(
                    log,
                    t_d,
                    workload_start,
                    &found,
                    context.scenario.workload.tick_interval,
                )
            })
        }
        _ => {
            measurements
                .notes
                .push("no tick writer ran before the disaster: RPO was not measured".into());
            None
        }
    };
    if let Some(rpo) = &rpo {
        measurements.rpo_ms = Some(rpo.rpo.as_millis() as u64);
        measurements.ticks_acknowledged_before_disaster = rpo.acknowledged_before_disaster;
        measurements.last_acked_before_disaster = rpo.last_acked_before_disaster;
        measurements.recovered_prefix = rpo.recovered_prefix;
        measurements.lost_acknowledged_writes = rpo.lost_acknowledged_writes;
        measurements.holes = rpo.holes.clone();
        measurements.indeterminate_recovered = rpo.indeterminate_recovered;
        measurements.indeterminate_missing = rpo.indeterminate_missing;
        measurements.unexpected = rpo.unexpected.clone();
        measurements.nothing_survived = rpo.nothing_survived;
        if rpo.nothing_survived {
            measurements
                .notes
                .push("no acknowledged tick survived: rpo is T_d minus the start of the workload".into());
        }
        for check in crate::measure::verdict::tick_checks(rpo) {
            report.checks.push(CheckReport {
                name: check.name.clone(),
                kind: CheckKind::Integrity,
                status: if check.passed { Status::Passed } else { Status::Failed },
                measured: None,
                objective: None,
                unit: Some("ticks".into()),
                message: check.message.clone(),
            });
        }
        for check in evaluate(&context.scenario.objectives, &rto, rpo) {
            // The RTO check is named by what it measured, as the reports
            // and the semantics page name the figures.
            let name = match (check.name, &context.scenario.objectives.rto_applies_to) {
                ("rto", crate::measure::rto::RtoAppliesTo::Service) => "rto_service".to_string(),
                ("rto", crate::measure::rto::RtoAppliesTo::Verified) => "rto_verified".to_string(),
                (other, _) => other.to_string(),
            };
            report.checks.push(CheckReport {
                name,
                kind: CheckKind::Objective,
                status: if check.passed { Status::Passed } else { Status::Failed },
                measured: check.measured.map(|value| value.as_millis() as f64),
                objective: Some(check.objective.as_millis() as f64),
                unit: Some("ms".into()),
                message: check.message.clone(),
            });
        }
    }
}

fn read_concern(context: &DrillContext<'_>) -> Option<mongodb::options::ReadConcern> {
    if context.server.capabilities.replica_sets && context.scenario.workload.read_concern.to_string() == "majority" {
        Some(mongodb::options::ReadConcern::majority())
    } else {
        None
    }
}

/// The timeline's phases: one per step of the kinds people look for, plus
/// the outage from T_d to T_s.
fn phases(report: &DrillReport, context: &DrillContext<'_>) -> Vec<Phase> {
    let mut phases = Vec::new();
    for step in &report.steps {
        let (Some(started), Some(finished)) = (step.started, step.finished) else {
            continue;
        };
        let name = match step.kind.as_str() {
            "verify" => "verification".to_string(),
            other => other.to_string(),
        };
        phases.push(Phase {
            name,
            start_ms: started.offset_ms,
            end_ms: finished.offset_ms,
        });
    }
    if let Some(t_d) = context.disaster_at {
        let end = context
            .service_at
            .map(|at| at.offset_ms)
            .unwrap_or_else(|| context.clock.now().offset_ms);
        phases.push(Phase {
            name: "outage".into(),
            start_ms: t_d.offset_ms,
            end_ms: end,
        });
    }
    phases.extend(primary_phases(
        &report.measurements.primary_timeline,
        context.clock.now().offset_ms,
    ));
    phases
}

/// Who was primary when, as timeline bars: one lane per primary
/// (`primary node-1`) and one for `no primary`, each change ending the
/// bar before it; the last bar ends at `end_ms`.
pub fn primary_phases(changes: &[super::primary::PrimaryChange], end_ms: u64) -> Vec<Phase> {
    changes
        .iter()
        .enumerate()
        .map(|(index, change)| Phase {
            name: match &change.primary {
                Some(node) => format!("primary {node}"),
                None => "no primary".into(),
            },
            start_ms: change.at_ms,
            end_ms: changes
                .get(index + 1)
                .map_or(end_ms, |next| next.at_ms)
                .max(change.at_ms),
        })
        // Only a change of who is primary starts a new bar; a change in how
        // many members answer continues the bar before it.
        .fold(Vec::new(), |mut bars: Vec<Phase>, bar| {
            match bars.last_mut() {
                Some(last) if last.name == bar.name => last.end_ms = bar.end_ms,
                _ => bars.push(bar),
            }
            bars
        })
}

/// The verdict: step failures, failed checks, and the scenario's expected
/// failure, as the semantics page defines it.
fn judge(scenario: &Scenario, report: &DrillReport, stopped_early: Option<(VerdictKind, String)>) -> Verdict {
    let mut reasons: Vec<String> = Vec::new();
    let mut failed_names: Vec<String> = Vec::new();
    let mut inconclusive = report.interrupted;
    if let Some((kind, reason)) = &stopped_early {
        reasons.push(reason.clone());
        if *kind == VerdictKind::Inconclusive {
            inconclusive = true;
        }
    }
    for step in &report.steps {
        if step.status == Status::Failed {
            failed_names.push(step.kind.clone());
        }
    }
    for check in &report.checks {
        if check.status == Status::Failed {
            failed_names.push(check.name.clone());
            if check.kind == CheckKind::Collection {
                failed_names.push("verify".into());
            }
            reasons.push(check.message.clone());
        }
    }
    reasons.dedup();
    let expected = scenario.expect.as_ref().map(|expect| expect.check.clone());
    if inconclusive {
        return Verdict {
            kind: VerdictKind::Inconclusive,
            reasons,
            exit_code: 2,
            expected_failure: expected.map(|check| crate::report::model::ExpectedFailure {
                observed: failed_names.contains(&check),
                check,
            }),
        };
    }
    match expected {
        Some(check) => {
            let observed = failed_names
                .iter()
                .any(|name| name == &check || name.starts_with(&format!("{check}_")));
            let mut reasons = reasons;
            if observed {
                reasons.insert(
                    0,
                    format!("expected failure of `{check}` observed: the harness caught the bad recovery"),
                );
            } else {
                reasons.insert(0, format!("expected `{check}` to fail, but it did not"));
            }
            Verdict {
                kind: if observed {
                    VerdictKind::Passed
                } else {
                    VerdictKind::Failed
                },
                reasons,
                exit_code: if observed { 0 } else { 1 },
                expected_failure: Some(crate::report::model::ExpectedFailure { check, observed }),
            }
        }
        None if failed_names.is_empty() && stopped_early.is_none() => Verdict {
            kind: VerdictKind::Passed,
            reasons: Vec::new(),
            exit_code: 0,
            expected_failure: None,
        },
        None => Verdict {
            kind: VerdictKind::Failed,
            reasons,
            exit_code: 1,
            expected_failure: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::primary::record;
    use super::*;

    #[test]
    fn who_was_primary_becomes_timeline_bars() {
        let mut changes = Vec::new();
        record(&mut changes, 100, Some(0), 3);
        record(&mut changes, 5_000, None, 2);
        record(&mut changes, 5_250, None, 1);
        record(&mut changes, 16_000, Some(2), 2);
        let bars = primary_phases(&changes, 20_000);
        let shown: Vec<(&str, u64, u64)> = bars
            .iter()
            .map(|bar| (bar.name.as_str(), bar.start_ms, bar.end_ms))
            .collect();
        assert_eq!(
            shown,
            [
                ("primary node-0", 100, 5_000),
                ("no primary", 5_000, 16_000),
                ("primary node-2", 16_000, 20_000)
            ]
        );
        assert!(primary_phases(&[], 20_000).is_empty());
    }
}
