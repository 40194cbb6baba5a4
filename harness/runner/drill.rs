//! Runs one scenario from start to verdict: start the deployment, run the
//! steps in order with their timeouts, measure RTO and RPO, have
//! [`crate::measure::verdict`] judge, tear down, and return the typed
//! [`DrillOutcome`]. Interruption (Ctrl-C, SIGTERM) is a value passed in,
//! not a global: the current step is abandoned, every later step is
//! recorded as not run, and the outcome says the drill was interrupted.

use std::path::PathBuf;
use std::time::Duration;

use mongodb::Client;
use tokio::sync::watch;

use super::context::{DrillContext, RtoStart};
use super::deployment::Deployment;
use super::events::{Event, EventSink};
use crate::measure::clock::{DrillClock, Stamp};
use crate::measure::verdict::{DrillFacts, Ending, ExpectedFailure, judge_drill};
use crate::outcome::{
    CheckKind, CheckRecord, DrillOutcome, Instant, Judgement, Measurements, Objectives, Phase, Status, StepRecord,
    Topology, VerdictKind,
};
use crate::provider::server_info::{Capabilities, ServerInfo};
use crate::provider::{Backend, DeploymentSpec, Engine, ProviderKind};
use crate::scenario::{Scenario, Step, StepKind};
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
    /// Earlier passing runs of the scenario, for the RTO forecast's band.
    pub forecast_history: crate::measure::forecast::ForecastHistory,
}

/// A `watch` channel whose value turns `true` when the drill must stop.
pub type Cancel = watch::Receiver<bool>;

pub(crate) fn stamp_to_instant(stamp: Stamp) -> Instant {
    Instant {
        offset_ms: stamp.offset_ms,
        wall: stamp.wall,
    }
}

/// Runs `scenario` and returns its outcome. Never panics on a bad
/// deployment or step: every failure ends up in the outcome.
pub async fn run_drill(
    scenario: &Scenario,
    run_id: &str,
    options: &RunOptions,
    events: &dyn EventSink,
    cancel: Cancel,
) -> DrillOutcome {
    let clock = DrillClock::start();
    events.emit(Event::DrillStarted {
        run_id: run_id.to_string(),
        scenario: scenario.name.clone(),
        steps: scenario.steps.len(),
    });
    let mut outcome = empty_outcome(scenario, run_id, &clock);
    let provider = options.provider.unwrap_or(scenario.topology.provider);
    outcome.topology.provider = provider_name(provider).into();
    if let Some(ending) = refusal(scenario, provider, options) {
        return finish_early(outcome, &clock, ending, events);
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
            outcome.interrupted = *cancel.borrow();
            let reason = crate::error::chain(&error);
            return finish_early(outcome, &clock, Ending::NotStarted(reason), events);
        }
    };
    describe_deployment(&mut outcome.topology, &source, &server);
    events.emit(Event::DeploymentReady {
        description: source.describe(),
        uri: source.uri().to_string(),
    });

    let drill_dir = work_dir.join(format!("{run_id}-drill"));
    let _ = std::fs::create_dir_all(&drill_dir);
    let mut context = DrillContext::new(
        scenario,
        run_id,
        clock,
        events,
        drill_dir.clone(),
        (source, source_client, server),
    );
    for note in engine_findings(&context.server().capabilities, context.server().engine_name()) {
        context.finding(note);
    }
    start_primary_monitor(&mut context);

    let ending = run_steps(&mut context, &mut outcome, &cancel).await;
    wrap_up(&mut context, &mut outcome).await;
    super::forecast::apply(&context, &mut outcome, &options.forecast_history).await;
    let expected = scenario.expect.as_ref().map(|expect| ExpectedFailure {
        check: expect.check.clone(),
    });
    outcome.verdict = judge_drill(DrillFacts {
        ending: &ending,
        interrupted: outcome.interrupted,
        steps: &outcome.steps,
        checks: &outcome.checks,
        expected: expected.as_ref(),
    });
    finish(&mut outcome, &context.clock());
    tear_down(context, events).await;
    let _ = std::fs::remove_dir_all(&drill_dir);
    events.emit(Event::DrillFinished {
        outcome: Box::new(outcome.clone()),
    });
    outcome
}

/// Why the drill must not start at all, if so: the engine cannot run it
/// (skipped), or it is destructive against an external deployment
/// without both opt-ins (inconclusive).
fn refusal(scenario: &Scenario, provider: ProviderKind, options: &RunOptions) -> Option<Ending> {
    if let Some(reason) = unsupported_reason(scenario, provider) {
        return Some(Ending::Unsupported(reason));
    }
    if !provider.starts_its_deployment()
        && scenario_is_destructive(scenario)
        && !(scenario.topology.allow_destructive && options.allow_destructive)
    {
        let reason = "destructive steps against an external deployment need both `allow_destructive = true` in the scenario and --allow-destructive on the command line".to_string();
        return Some(Ending::NotStarted(reason));
    }
    None
}

/// What the server said it is, and where it is (credentials redacted).
fn describe_deployment(topology: &mut Topology, source: &Deployment, server: &ServerInfo) {
    topology.server_version = Some(match &server.flavor {
        crate::provider::server_info::Flavor::Ferretdb { version } => {
            format!("FerretDB {version} (MongoDB {})", server.mongodb_version)
        }
        crate::provider::server_info::Flavor::Mongodb { version } => format!("MongoDB {version}"),
    });
    topology.uri = Some(source.uri().to_string());
}

/// Replica sets: watch who is primary from the deployment's start on.
fn start_primary_monitor(context: &mut DrillContext<'_>) {
    if context.scenario().topology.replica_set.is_none() {
        return;
    }
    let Some(count) = context.source().node_count() else {
        return;
    };
    let uris = (0..count)
        .filter_map(|index| context.source().node_uri(index).ok())
        .map(|uri| uri.expose_secret().to_string())
        .collect();
    let monitor =
        super::primary::PrimaryMonitor::start(uris, context.clock(), context.scenario().workload.probe_interval);
    context.set_primary_monitor(monitor);
}

/// Runs the steps in order until one fails, cannot run, or the operator
/// interrupts; records each in `outcome.steps`. Returns how the steps
/// ended: a failed step is [`Ending::Ran`] (its failure is judged), a step
/// that could not run or an interruption is [`Ending::Abandoned`].
async fn run_steps(context: &mut DrillContext<'_>, outcome: &mut DrillOutcome, cancel: &Cancel) -> Ending {
    let scenario = context.scenario();
    let mut guard = super::guard::DrillGuard::start(context);
    let mut stopped: Option<Ending> = None;
    let mut before_failed = false;
    for (index, step) in scenario.steps.iter().enumerate() {
        if stopped.is_some() {
            outcome.steps[index].message = "not run: an earlier step ended the drill".into();
            continue;
        }
        if *cancel.borrow() {
            outcome.interrupted = true;
            stopped = Some(Ending::Abandoned("interrupted".into()));
            outcome.steps[index].message = "not run: the drill was interrupted".into();
            continue;
        }
        if let Some(ending) = guard_step(&mut guard, context, step).await {
            before_failed = guard.fired().is_none();
            outcome.steps[index].message = format!("not run: {}", ending_reason(&ending));
            stopped = Some(ending);
            continue;
        }
        let (record, interrupted) = run_step(context, index, step, cancel.clone(), guard.signal()).await;
        outcome.interrupted |= interrupted;
        stopped = match record.status {
            Status::Passed | Status::Skipped => None,
            Status::Failed => Some(Ending::Ran),
            Status::Error => Some(Ending::Abandoned(format!(
                "step {} ({}) could not run: {}",
                index + 1,
                step.kind.name(),
                record.message
            ))),
        };
        if let Some(reason) = guard.fired() {
            stopped = Some(aborted(&reason));
        }
        outcome.steps[index] = record;
    }
    guard.finish(context, before_failed || outcome.interrupted).await;
    stopped.unwrap_or(Ending::Ran)
}

/// Whether step `step` may run, as the steady-state probes and abort
/// conditions see it: an abort that fired, or a before phase that did
/// not hold (checked immediately before the disaster step), ends the
/// drill before it.
async fn guard_step(
    guard: &mut super::guard::DrillGuard,
    context: &mut DrillContext<'_>,
    step: &Step,
) -> Option<Ending> {
    if let Some(reason) = guard.fired() {
        return Some(aborted(&reason));
    }
    if matches!(step.kind, StepKind::Disaster(..))
        && let Err(reason) = guard.before_disaster(context).await
    {
        return Some(Ending::Abandoned(reason.to_string()));
    }
    None
}

/// How an aborted drill ends: inconclusive, naming the condition.
fn aborted(reason: &super::abort::AbortReason) -> Ending {
    Ending::Abandoned(format!("aborted by [abort] {reason}"))
}

fn ending_reason(ending: &Ending) -> &str {
    match ending {
        Ending::Abandoned(reason) | Ending::NotStarted(reason) | Ending::Unsupported(reason) => reason,
        Ending::Ran => "",
    }
}

/// Runs one step within its timeout, abandoning it when the drill is
/// cancelled. Returns its record and whether it was interrupted.
async fn run_step(
    context: &mut DrillContext<'_>,
    index: usize,
    step: &Step,
    mut cancel: Cancel,
    mut abort: super::abort::AbortSignal,
) -> (StepRecord, bool) {
    let events = context.events();
    let started = context.clock().now();
    events.emit(Event::StepStarted {
        index,
        kind: step.kind.name().to_string(),
        name: step.name.clone(),
        at_ms: started.offset_ms,
    });
    // The write workload is the runner's, not a step's: it starts when
    // seeding succeeded, or at the first backup of a drill without a seed.
    if matches!(step.kind, StepKind::Backup { .. } | StepKind::Snapshot(_)) {
        context.start_workload();
    }
    let mut interrupted = false;
    let outcome = tokio::select! {
        result = tokio::time::timeout(step.timeout, step::run(context, index, step)) => match result {
            Ok(outcome) => outcome,
            Err(_) => StepOutcome::failed(format!(
                "{} did not finish within its timeout of {}",
                step.kind.name(),
                crate::measure::clock::format_duration(step.timeout)
            )),
        },
        _ = wait_cancelled(&mut cancel) => {
            interrupted = true;
            StepOutcome::error("interrupted by the operator (Ctrl-C or SIGTERM)")
        }
        reason = super::abort::fired(&mut abort) => StepOutcome::error(format!("abandoned: aborted by [abort] {reason}")),
    };
    if matches!(step.kind, StepKind::Seed) && outcome.status == Status::Passed {
        context.start_workload();
    }
    let finished = context.clock().now();
    events.emit(Event::StepFinished {
        index,
        status: outcome.status,
        message: outcome.message.clone(),
        at_ms: finished.offset_ms,
    });
    let record = StepRecord {
        started: Some(stamp_to_instant(started)),
        finished: Some(stamp_to_instant(finished)),
        duration_ms: Some(finished.offset_ms.saturating_sub(started.offset_ms)),
        status: outcome.status,
        message: crate::uri::redact(&outcome.message),
        details: outcome.details.map(|details| *details),
        ..not_run(index, step)
    };
    (record, interrupted)
}

/// After the last step: stop the background work, measure, and gather
/// the checks, findings and phases into the outcome.
async fn wrap_up(context: &mut DrillContext<'_>, outcome: &mut DrillOutcome) {
    // A failover probe still running gets no more time: the drill is over.
    context.await_failover_service(Duration::ZERO).await;
    // The writer runs until T_d (a failover drill's, to the end); a drill
    // with no disaster stops it here.
    if let Some(writer) = context.take_ticks() {
        context.record_tick_log(writer.stop().await);
    }
    if let Some(monitor) = context.take_primary_monitor() {
        let changes = monitor.stop().await;
        if let Some(t_d) = context.disaster_at() {
            let text = super::primary::describe_failover(&changes, t_d.offset_ms);
            context.finding(text);
        }
        outcome.measurements.primary_timeline = changes;
    }
    measure(context, outcome).await;
    super::rpo::clear_touched_ticks(context).await;
    outcome.checks.extend(context.checks().iter().cloned());
    outcome.findings = context.findings().to_vec();
    outcome.phases = phases(outcome, context);
}

/// Teardown: the fresh node first, then the source; kept ones say so.
async fn tear_down(mut context: DrillContext<'_>, events: &dyn EventSink) {
    context.take_stores().teardown().await;
    let (source, fresh) = context.into_deployments();
    if let Some(fresh) = fresh
        && let Some(message) = fresh.teardown().await
    {
        events.emit(Event::Note { message });
    }
    // Keeping is decided when a deployment starts (its spec's `keep`); a
    // kept one answers teardown with how to remove it.
    if let Some(message) = source.teardown().await {
        events.emit(Event::Note { message });
    }
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
    scenario.steps.iter().any(|step| match &step.kind {
        StepKind::Disaster { .. } | StepKind::Seed => true,
        // Into the ephemeral node, a restore leaves the source alone.
        StepKind::Restore(restore) => restore.target == crate::scenario::RestoreTarget::SameNode,
        _ => false,
    })
}

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

/// A step as recorded before it runs: not run, no times.
fn not_run(index: usize, step: &Step) -> StepRecord {
    StepRecord {
        index,
        kind: step.kind.name().to_string(),
        name: step.name.clone(),
        started: None,
        finished: None,
        duration_ms: None,
        timeout_ms: step.timeout.as_millis() as u64,
        status: Status::Skipped,
        message: String::new(),
        details: None,
    }
}

fn empty_outcome(scenario: &Scenario, run_id: &str, clock: &DrillClock) -> DrillOutcome {
    DrillOutcome {
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
        verdict: Judgement {
            kind: VerdictKind::Inconclusive,
            reasons: Vec::new(),
            expected_failure: None,
        },
        topology: Topology {
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
            rto: scenario.objectives.rto_written.clone(),
            rpo: scenario.objectives.rpo_written.clone(),
        },
        measurements: Measurements {
            probe_interval_ms: scenario.workload.probe_interval.as_millis() as u64,
            tick_interval_ms: scenario.workload.tick_interval.as_millis() as u64,
            write_concern: scenario.workload.write_concern.to_string(),
            read_concern: scenario.workload.read_concern.to_string(),
            ..Measurements::default()
        },
        steps: scenario
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| not_run(index, step))
            .collect(),
        checks: Vec::new(),
        phases: Vec::new(),
        findings: Vec::new(),
        forecast: None,
    }
}

fn finish(outcome: &mut DrillOutcome, clock: &DrillClock) {
    let now = clock.now();
    outcome.finished = now.wall;
    outcome.duration_ms = now.offset_ms;
}

/// A drill that never reached its steps: every step says why, and the
/// judge decides from `ending` alone.
fn finish_early(mut outcome: DrillOutcome, clock: &DrillClock, ending: Ending, events: &dyn EventSink) -> DrillOutcome {
    let ending = match ending {
        Ending::Unsupported(reason) => Ending::Unsupported(crate::uri::redact(&reason)),
        Ending::NotStarted(reason) | Ending::Abandoned(reason) => Ending::NotStarted(crate::uri::redact(&reason)),
        Ending::Ran => Ending::Ran,
    };
    if let Ending::Unsupported(reason) | Ending::NotStarted(reason) = &ending {
        for step in &mut outcome.steps {
            step.message = format!("not run: {reason}");
        }
    }
    outcome.verdict = judge_drill(DrillFacts {
        ending: &ending,
        interrupted: outcome.interrupted,
        steps: &outcome.steps,
        checks: &outcome.checks,
        expected: None,
    });
    finish(&mut outcome, clock);
    events.emit(Event::DrillFinished {
        outcome: Box::new(outcome.clone()),
    });
    outcome
}

/// RTO and RPO from the recorded instants and ticks, and the objective and
/// integrity checks they give.
async fn measure(context: &mut DrillContext<'_>, outcome: &mut DrillOutcome) {
    use crate::measure::rto::{compute_rto, evaluate};

    let measurements = &mut outcome.measurements;
    let Some(start) = context.rto_start() else {
        measurements
            .notes
            .push("no disaster step ran: RTO and RPO were not measured".into());
        return;
    };
    measurements.rto_from = Some(start.name().to_string());
    let probe_interval = context.scenario().workload.probe_interval;
    let rto = compute_rto(start.at(), context.service_at(), context.verified_at(), probe_interval);
    measurements.rto_service_ms = rto.rto_service.map(|value| value.as_millis() as u64);
    measurements.rto_verified_ms = rto.rto_verified.map(|value| value.as_millis() as u64);
    let t_d = match start {
        RtoStart::Disaster(t_d) => t_d,
        RtoStart::RestoreStarted(_) => {
            measurements.notes.push(
                "no disaster step ran: RTO is measured from the start of the restore to a verified copy; \
                 RPO was not measured"
                    .into(),
            );
            let checks = objective_checks(&evaluate(&context.scenario().objectives, &rto, None), context);
            outcome.checks.extend(checks);
            return;
        }
    };
    measurements.disaster_at = Some(stamp_to_instant(t_d));
    if context.service_at().is_none() {
        measurements
            .notes
            .push("the service never answered a canary write after the disaster".into());
    }
    let read_concern = read_concern(context);
    let Some(measured) = super::rpo::measure_rpo(context, t_d, read_concern, measurements).await else {
        return;
    };
    let mut checks = Vec::new();
    let worst = measured.drill.as_ref().map(|rpo| &rpo.worst);
    if let Some(rpo) = worst {
        record_rpo(measurements, rpo);
        checks.extend(tick_checks(rpo));
    }
    checks.extend(objective_checks(
        &evaluate(&context.scenario().objectives, &rto, worst),
        context,
    ));
    let rpo_objective = context
        .scenario()
        .objectives
        .rpo
        .map(|objective| objective.as_millis() as u64);
    super::rpo::adjust_rpo_check(&mut checks, &measured, rpo_objective);
    outcome.checks.extend(checks);
}

fn record_rpo(measurements: &mut Measurements, rpo: &crate::measure::rpo::RpoResult) {
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
}

/// The tick integrity checks (`holes`, `unexpected-ticks`) as records.
fn tick_checks(rpo: &crate::measure::rpo::RpoResult) -> Vec<CheckRecord> {
    crate::measure::verdict::tick_checks(rpo)
        .into_iter()
        .map(|check| CheckRecord {
            counts_as: check.name.clone(),
            name: check.name,
            kind: CheckKind::Integrity,
            status: if check.passed { Status::Passed } else { Status::Failed },
            measured: None,
            objective: None,
            unit: Some("ticks".into()),
            message: check.message,
        })
        .collect()
}

/// The objective checks as records. The RTO check is named by what it
/// measured, as the reports and the semantics page name the figures; it
/// still counts as `rto`.
fn objective_checks(checks: &[crate::measure::rto::ObjectiveCheck], context: &DrillContext<'_>) -> Vec<CheckRecord> {
    checks
        .iter()
        .map(|check| {
            let name = match (check.name, &context.scenario().objectives.rto_applies_to) {
                ("rto", crate::measure::rto::RtoAppliesTo::Service) => "rto_service".to_string(),
                ("rto", crate::measure::rto::RtoAppliesTo::Verified) => "rto_verified".to_string(),
                (other, _) => other.to_string(),
            };
            CheckRecord {
                name,
                counts_as: check.name.to_string(),
                kind: CheckKind::Objective,
                status: if check.passed { Status::Passed } else { Status::Failed },
                measured: check.measured.map(|value| value.as_millis() as f64),
                objective: Some(check.objective.as_millis() as f64),
                unit: Some("ms".into()),
                message: check.message.clone(),
            }
        })
        .collect()
}

fn read_concern(context: &DrillContext<'_>) -> Option<mongodb::options::ReadConcern> {
    if context.server().capabilities.replica_sets && context.scenario().workload.read_concern.to_string() == "majority"
    {
        Some(mongodb::options::ReadConcern::majority())
    } else {
        None
    }
}

/// The timeline's phases: one per step of the kinds people look for, plus
/// the outage from T_d to T_s.
fn phases(outcome: &DrillOutcome, context: &DrillContext<'_>) -> Vec<Phase> {
    let mut phases = Vec::new();
    for step in &outcome.steps {
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
    if let Some(t_d) = context.disaster_at() {
        let end = context
            .service_at()
            .map(|at| at.offset_ms)
            .unwrap_or_else(|| context.clock().now().offset_ms);
        phases.push(Phase {
            name: "outage".into(),
            start_ms: t_d.offset_ms,
            end_ms: end,
        });
    }
    // A managed failover's detection, promotion and first write.
    phases.extend(crate::step::failover_phases(
        &outcome.steps,
        outcome.measurements.disaster_at.map(|at| at.offset_ms),
    ));
    phases.extend(primary_phases(
        &outcome.measurements.primary_timeline,
        context.clock().now().offset_ms,
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
