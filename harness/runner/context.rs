//! Everything a drill's steps share while it runs: the deployments, the
//! clock, the tick writer, the backups taken, the reference checksums and
//! the instants T_d, T_s and T_v.
//!
//! The fields are private: a step records what it did through a method
//! that names it (`mark_disaster`, `record_backup`, `record_restore`,
//! `add_check` ...), so the contract between steps and the runner is the
//! list of methods below, and each invariant (one T_d, the first T_s
//! kept, findings once) is kept in one place.

use std::path::{Path, PathBuf};

use mongodb::{Client, Database};

use super::deployment::Deployment;
use super::events::{Event, EventSink};
use super::primary::PrimaryMonitor;
use super::probe::BackgroundProbe;
use super::ticks::TickWriter;
use crate::backup::BackupLocation;
use crate::checksum::DatabaseDigest;
use crate::measure::clock::{DrillClock, Stamp};
use crate::measure::forecast::{ForecastPhase, PhaseSample};
use crate::measure::ticks::TickLogs;
use crate::outcome::CheckRecord;
use crate::provider::server_info::ServerInfo;
use crate::scenario::Scenario;

/// A backup a step took, kept for restores and tampering.
#[derive(Debug, Clone)]
pub struct TakenBackup {
    /// Where it is.
    pub location: BackupLocation,
    /// When the engine started and finished reading the source: the
    /// backup's consistent window (no oplog, so no single point).
    pub started: Stamp,
    /// End of the window.
    pub finished: Stamp,
    /// The engine that made it (`builtin`, `tools`, `command`).
    pub engine: String,
}

/// What a restore step restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoredScope {
    /// Every collection of the backup.
    All,
    /// Only these collections; the others must be untouched.
    Collections(Vec<String>),
}

impl RestoredScope {
    /// The scope of a restore step's `collections` (absent = all).
    pub fn from_selection(collections: Option<&[String]>) -> Self {
        match collections {
            Some(names) => Self::Collections(names.to_vec()),
            None => Self::All,
        }
    }

    /// Whether `collection` was restored.
    pub fn includes(&self, collection: &str) -> bool {
        match self {
            Self::All => true,
            Self::Collections(names) => names.iter().any(|name| name == collection),
        }
    }
}

/// A second disaster in one drill: validation rejects such scenarios, so
/// this guards the invariant rather than a case users meet.
#[derive(Debug, thiserror::Error)]
#[error("a drill has one disaster instant: T_d was already recorded at {at_ms} ms")]
pub struct SecondDisaster {
    /// When the first T_d was recorded, ms from the drill start.
    pub at_ms: u64,
}

/// The shared state of one drill.
pub struct DrillContext<'a> {
    /// The scenario being run.
    scenario: &'a Scenario,
    /// The run id.
    run_id: String,
    /// The drill clock: every instant recorded comes from it.
    clock: DrillClock,
    /// Where events go.
    events: &'a dyn EventSink,
    /// The drill's scratch folder (backups, extracted archives).
    work_dir: PathBuf,
    /// The deployment under test.
    source: Deployment,
    /// A fresh deployment restored into, when a restore step asks for one;
    /// from then on it is what "recovered" means.
    fresh: Option<Deployment>,
    /// A client of the source deployment.
    source_client: Client,
    /// A client of the fresh deployment, once there is one.
    fresh_client: Option<Client>,
    /// What the source server is and supports.
    server: ServerInfo,
    /// The running tick writer, between the start of the workload and T_d
    /// (and on after T_d in a failover drill).
    ticks: Option<TickWriter>,
    /// A failover drill's probe, running from T_d on.
    failover_probe: Option<BackgroundProbe>,
    /// Who is primary when (replica sets only).
    primary_monitor: Option<PrimaryMonitor>,
    /// The ticks attempted, per collection written, once the writer stopped.
    tick_log: Option<TickLogs>,
    /// When the tick writer started.
    workload_start: Option<Stamp>,
    /// Backups taken, in order; restores use the last.
    backups: Vec<TakenBackup>,
    /// Checksums of the source at the backup's consistent point.
    reference: Option<DatabaseDigest>,
    /// T_d.
    disaster_at: Option<Stamp>,
    /// When the first restore began: the start of the RTO of a drill with
    /// no disaster step (the time to a verified copy).
    recovery_started: Option<Stamp>,
    /// T_s: first canary acknowledged and read back after recovery.
    service_at: Option<Stamp>,
    /// T_v: verification finished and passed.
    verified_at: Option<Stamp>,
    /// What a restore step restored, once one did.
    restored: Option<RestoredScope>,
    /// Checks recorded by steps (collections, integrity).
    checks: Vec<CheckRecord>,
    /// Things worth knowing that are not failures.
    findings: Vec<String>,
    /// What each backup, restore and verification moved and how long it
    /// took: the samples of the RTO forecast.
    phase_samples: Vec<PhaseSample>,
    /// The scenario's backup stores and the gateways started for them.
    stores: crate::store::DrillStores,
}

/// The instant an RTO is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtoStart {
    /// T_d, the disaster instant.
    Disaster(Stamp),
    /// No disaster step ran: the start of the first restore.
    RestoreStarted(Stamp),
}

impl RtoStart {
    /// The instant.
    pub fn at(self) -> Stamp {
        match self {
            Self::Disaster(at) | Self::RestoreStarted(at) => at,
        }
    }

    /// Its name in `measurements.rto_from`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Disaster(_) => "disaster",
            Self::RestoreStarted(_) => "restore-start",
        }
    }
}

impl<'a> DrillContext<'a> {
    /// The context of a drill whose deployment is up: `started` is the
    /// deployment, a client of it and what its server is.
    pub fn new(
        scenario: &'a Scenario,
        run_id: &str,
        clock: DrillClock,
        events: &'a dyn EventSink,
        work_dir: PathBuf,
        started: (Deployment, Client, ServerInfo),
    ) -> Self {
        let (source, source_client, server) = started;
        let work_dir_for_stores = work_dir.join("stores");
        Self {
            scenario,
            run_id: run_id.to_string(),
            clock,
            events,
            work_dir,
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
            recovery_started: None,
            service_at: None,
            verified_at: None,
            restored: None,
            checks: Vec::new(),
            findings: Vec::new(),
            phase_samples: Vec::new(),
            stores: crate::store::DrillStores::new(scenario.stores.clone(), work_dir_for_stores, run_id),
        }
    }

    /// The drill's backup stores.
    pub fn stores(&self) -> &crate::store::DrillStores {
        &self.stores
    }

    /// The drill's backup stores, to open one or take a region down.
    pub fn stores_mut(&mut self) -> &mut crate::store::DrillStores {
        &mut self.stores
    }

    /// Takes the stores out for teardown (an empty set is left).
    pub fn take_stores(&mut self) -> crate::store::DrillStores {
        let empty = crate::store::DrillStores::new(Default::default(), PathBuf::new(), &self.run_id);
        std::mem::replace(&mut self.stores, empty)
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &'a Scenario {
        self.scenario
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The drill clock.
    pub fn clock(&self) -> DrillClock {
        self.clock
    }

    /// Where events go.
    pub fn events(&self) -> &'a dyn EventSink {
        self.events
    }

    /// The drill's scratch folder.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// What the source server is and supports.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// The deployment under test.
    pub fn source(&self) -> &Deployment {
        &self.source
    }

    /// The deployment under test, to inject a fault or bring a node back.
    pub fn source_mut(&mut self) -> &mut Deployment {
        &mut self.source
    }

    /// Replaces the client of the source (after a restart, a container may
    /// publish another port).
    pub fn reconnect_source(&mut self, client: Client) {
        self.source_client = client;
    }

    /// The fresh deployment, once a restore step started one.
    pub fn fresh(&self) -> Option<&Deployment> {
        self.fresh.as_ref()
    }

    /// Keeps the fresh deployment a restore step started, and its client:
    /// from now on it is where recovery happens.
    pub fn set_fresh(&mut self, deployment: Deployment, client: Client) {
        self.fresh = Some(deployment);
        self.fresh_client = Some(client);
    }

    /// The source and the fresh deployment, for teardown.
    pub fn into_deployments(self) -> (Deployment, Option<Deployment>) {
        (self.source, self.fresh)
    }

    /// The protected database on the source.
    pub fn source_database(&self) -> Database {
        self.source_client.database(&self.scenario.dataset.database)
    }

    /// The protected database where recovery happened (the fresh node when
    /// there is one, else the source).
    pub fn recovered_database(&self) -> Database {
        self.fresh_client
            .as_ref()
            .unwrap_or(&self.source_client)
            .database(&self.scenario.dataset.database)
    }

    /// The deployment where recovery happened.
    pub fn recovered_deployment(&self) -> &Deployment {
        self.fresh.as_ref().unwrap_or(&self.source)
    }

    /// The scenario's write concern, as the driver takes it (ticks and
    /// canaries write with it).
    pub fn write_concern(&self) -> mongodb::options::WriteConcern {
        match self.scenario.workload.write_concern {
            crate::scenario::WriteConcern::Majority => mongodb::options::WriteConcern::majority(),
            crate::scenario::WriteConcern::Nodes(count) => mongodb::options::WriteConcern::nodes(u32::from(count)),
        }
    }

    /// Starts the write workload (the tick writer) unless it runs already
    /// or T_d has passed. The runner calls it when a seed step succeeded,
    /// and before the first backup of a drill without a seed step.
    pub fn start_workload(&mut self) {
        if self.ticks.is_some() || self.disaster_at.is_some() {
            return;
        }
        // A deployment the harness did not start (external) is written to
        // only by a drill that injects a disaster there (which takes the
        // double opt-in): a drill that only backs it up and verifies leaves
        // the source as it was.
        let injects = self
            .scenario
            .steps
            .iter()
            .any(|step| matches!(step.kind, crate::scenario::StepKind::Disaster(..)));
        let someone_elses = crate::provider::ProviderKind::from_name(self.source.provider_name())
            .is_some_and(|kind| !kind.starts_its_deployment());
        if someone_elses && !injects {
            self.finding(
                "no write workload on an external deployment without a disaster step: the source is only read",
            );
            return;
        }
        let write_concern = self.write_concern();
        let database = self.source_database();
        self.workload_start = Some(self.clock.now());
        self.ticks = Some(TickWriter::start(
            &database,
            self.clock,
            self.scenario.workload.tick_interval,
            write_concern,
            &self.scenario.touched_collections(),
        ));
    }

    /// Takes the running tick writer, to stop it (at T_d, or when the
    /// drill ends); `None` when none runs.
    pub fn take_ticks(&mut self) -> Option<TickWriter> {
        self.ticks.take()
    }

    /// Keeps the logs of the stopped tick writer.
    pub fn record_tick_log(&mut self, log: TickLogs) {
        self.tick_log = Some(log);
    }

    /// The ticks attempted, per collection written, once the writer stopped.
    pub fn tick_log(&self) -> Option<&TickLogs> {
        self.tick_log.as_ref()
    }

    /// When the tick writer started, if it did.
    pub fn workload_start(&self) -> Option<Stamp> {
        self.workload_start
    }

    /// Keeps the primary monitor the runner started.
    pub fn set_primary_monitor(&mut self, monitor: PrimaryMonitor) {
        self.primary_monitor = Some(monitor);
    }

    /// Takes the primary monitor, to stop it.
    pub fn take_primary_monitor(&mut self) -> Option<PrimaryMonitor> {
        self.primary_monitor.take()
    }

    /// Records T_d now and announces it; refuses a second one.
    pub fn mark_disaster(&mut self) -> Result<Stamp, SecondDisaster> {
        if let Some(first) = self.disaster_at {
            return Err(SecondDisaster { at_ms: first.offset_ms });
        }
        let at = self.clock.now();
        self.disaster_at = Some(at);
        self.events.emit(Event::Disaster { at_ms: at.offset_ms });
        Ok(at)
    }

    /// T_d, once the disaster step recorded it.
    pub fn disaster_at(&self) -> Option<Stamp> {
        self.disaster_at
    }

    /// Starts the failover drill's service probe, from T_d on, against
    /// the source (the writer keeps writing meanwhile).
    pub fn start_failover_probe(&mut self) {
        self.failover_probe = Some(BackgroundProbe::start(
            self.source_database(),
            self.clock,
            self.scenario.workload.probe_interval,
            self.write_concern(),
        ));
    }

    /// In a failover drill, waits up to `timeout` for the probe started at
    /// T_d and records T_s; otherwise does nothing.
    pub async fn await_failover_service(&mut self, timeout: std::time::Duration) {
        if let Some(probe) = self.failover_probe.take()
            && let Some(at) = probe.finish(timeout).await
        {
            self.record_service(at);
        }
    }

    /// After a restore, when T_d has passed and T_s is not known yet:
    /// probes where recovery happened, up to `timeout`, and records T_s
    /// when a canary is acknowledged and read back.
    pub async fn await_recovered_service(&mut self, timeout: std::time::Duration) {
        if self.rto_start().is_none() || self.service_at.is_some() {
            return;
        }
        let served = super::probe::probe_until_service(
            &self.recovered_database(),
            self.clock,
            self.scenario.workload.probe_interval,
            self.write_concern(),
            timeout,
        )
        .await;
        if let Some(at) = served {
            self.record_service(at);
        }
    }

    /// A canary was acknowledged and read back at `at`: announces it and
    /// keeps it as T_s unless an earlier one was kept.
    pub fn record_service(&mut self, at: Stamp) {
        self.events.emit(Event::ServiceRestored { at_ms: at.offset_ms });
        self.service_at = self.service_at.or(Some(at));
    }

    /// A phase finished: `documents` handled in `duration`. Restores and
    /// verifications count the bytes of the last backup.
    pub fn record_phase(
        &mut self,
        phase: ForecastPhase,
        documents: u64,
        bytes: Option<u64>,
        duration: std::time::Duration,
    ) {
        let bytes = bytes.unwrap_or_else(|| {
            self.phase_samples
                .iter()
                .rev()
                .find(|sample| sample.phase == ForecastPhase::Backup)
                .map_or(0, |sample| sample.bytes)
        });
        self.phase_samples.push(PhaseSample {
            phase,
            documents,
            bytes,
            duration_ms: crate::measure::clock::duration_to_millis(duration),
        });
    }

    /// The phases measured, in order.
    pub fn phase_samples(&self) -> &[PhaseSample] {
        &self.phase_samples
    }

    /// A restore begins now; the first one is kept.
    pub fn mark_recovery_start(&mut self) {
        self.recovery_started = self.recovery_started.or(Some(self.clock.now()));
    }

    /// Where the RTO runs from: T_d, or in a drill with no disaster step
    /// the start of its first restore (then the RTO is the time to a
    /// verified copy).
    pub fn rto_start(&self) -> Option<RtoStart> {
        match (self.disaster_at, self.recovery_started) {
            (Some(at), _) => Some(RtoStart::Disaster(at)),
            (None, Some(at)) => Some(RtoStart::RestoreStarted(at)),
            (None, None) => None,
        }
    }

    /// T_s, once the service answered after the disaster.
    pub fn service_at(&self) -> Option<Stamp> {
        self.service_at
    }

    /// Records T_v now: verification finished and passed.
    pub fn mark_verified(&mut self) {
        self.verified_at = Some(self.clock.now());
    }

    /// T_v, once verification passed.
    pub fn verified_at(&self) -> Option<Stamp> {
        self.verified_at
    }

    /// Keeps a backup a step took; restores use the last one.
    pub fn record_backup(&mut self, backup: TakenBackup) {
        self.backups.push(backup);
    }

    /// The newest backup taken, if any.
    pub fn last_backup(&self) -> Option<&TakenBackup> {
        self.backups.last()
    }

    /// Sets the reference checksums verification compares against.
    pub fn set_reference(&mut self, reference: DatabaseDigest) {
        self.reference = Some(reference);
    }

    /// The reference checksums, once a backup (or a failover drill's
    /// disaster step) took them.
    pub fn reference(&self) -> Option<&DatabaseDigest> {
        self.reference.as_ref()
    }

    /// Records what a restore step restored.
    pub fn record_restore(&mut self, scope: RestoredScope) {
        self.restored = Some(scope);
    }

    /// What the last restore restored; `None` when no restore ran.
    pub fn restored(&self) -> Option<&RestoredScope> {
        self.restored.as_ref()
    }

    /// Adds a check a step made (a collection, an integrity check).
    pub fn add_check(&mut self, check: CheckRecord) {
        self.checks.push(check);
    }

    /// The checks steps recorded, in order.
    pub fn checks(&self) -> &[CheckRecord] {
        &self.checks
    }

    /// Records a finding once.
    pub fn finding(&mut self, text: impl Into<String>) {
        let text = crate::uri::redact(&text.into());
        if !self.findings.contains(&text) {
            self.findings.push(text);
        }
    }

    /// The findings, in the order they were first recorded.
    pub fn findings(&self) -> &[String] {
        &self.findings
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{DrillContext, RestoredScope};
    use crate::measure::clock::DrillClock;
    use crate::provider::external::ExternalDeployment;
    use crate::provider::server_info::ServerInfo;
    use crate::runner::events::NoEvents;
    use crate::uri::MongoUri;

    const SCENARIO: &str = r#"name = "one-disaster"
[topology]
provider = "external"
engine = "mongodb"
uri = "mongodb://127.0.0.1:9/"
[dataset]
profile = "shepherd-cms"
documents = 100
seed = 1
[[steps]]
kind = "verify"
"#;

    /// A context whose deployment is never contacted: the driver connects
    /// lazily and these tests only exercise the bookkeeping.
    async fn with_context(test: impl FnOnce(&mut DrillContext<'_>)) {
        let scenario = crate::scenario::validate_str(SCENARIO, Path::new("one-disaster.toml")).unwrap();
        let uri = MongoUri::parse("mongodb://127.0.0.1:9/").unwrap();
        let client = mongodb::Client::with_uri_str(uri.expose_secret()).await.unwrap();
        let deployment: super::Deployment = Box::new(ExternalDeployment::new(uri));
        let started = (
            deployment,
            client,
            ServerInfo::from_build_info(&bson::doc! { "version": "7.0.0" }),
        );
        let mut context = DrillContext::new(
            &scenario,
            "run",
            DrillClock::start(),
            &NoEvents,
            std::env::temp_dir(),
            started,
        );
        test(&mut context);
    }

    #[tokio::test]
    async fn a_drill_has_one_disaster_instant_and_keeps_the_first_service_stamp() {
        with_context(|context| {
            let t_d = context.mark_disaster().unwrap();
            let second = context.mark_disaster().unwrap_err();
            assert_eq!(second.at_ms, t_d.offset_ms);
            assert_eq!(context.disaster_at(), Some(t_d));
            let first = context.clock().now();
            context.record_service(first);
            context.record_service(context.clock().now());
            assert_eq!(context.service_at(), Some(first));
        })
        .await;
    }

    #[tokio::test]
    async fn findings_are_kept_once_and_the_workload_never_starts_after_t_d() {
        with_context(|context| {
            context.finding("engine limit");
            context.finding("engine limit");
            assert_eq!(context.findings(), ["engine limit"]);
            context.mark_disaster().unwrap();
            context.start_workload();
            assert!(context.take_ticks().is_none());
            assert!(context.workload_start().is_none());
        })
        .await;
    }

    #[test]
    fn a_selective_restore_includes_only_its_collections() {
        let scope = RestoredScope::from_selection(Some(&["users".to_string()]));
        assert!(scope.includes("users"));
        assert!(!scope.includes("configurations"));
        assert!(RestoredScope::from_selection(None).includes("configurations"));
    }
}
