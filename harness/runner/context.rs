//! Everything a drill's steps share while it runs: the deployments, the
//! clock, the tick writer, the backups taken, the reference checksums and
//! the instants T_d, T_s and T_v.

use std::path::PathBuf;

use mongodb::{Client, Database};

use super::deployment::Deployment;
use super::events::EventSink;
use super::ticks::TickWriter;
use crate::backup::BackupLocation;
use crate::checksum::DatabaseDigest;
use crate::measure::clock::{DrillClock, Stamp};
use crate::measure::ticks::TickLog;
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

/// The shared state of one drill.
pub struct DrillContext<'a> {
    /// The scenario being run.
    pub scenario: &'a Scenario,
    /// The run id.
    pub run_id: String,
    /// The drill clock: every instant recorded comes from it.
    pub clock: DrillClock,
    /// Where events go.
    pub events: &'a dyn EventSink,
    /// The drill's scratch folder (backups, extracted archives).
    pub work_dir: PathBuf,
    /// The deployment under test.
    pub source: Deployment,
    /// A fresh deployment restored into, when a restore step asks for one;
    /// from then on it is what "recovered" means.
    pub fresh: Option<Deployment>,
    /// A client of the source deployment.
    pub source_client: Client,
    /// A client of the fresh deployment, once there is one.
    pub fresh_client: Option<Client>,
    /// What the source server is and supports.
    pub server: ServerInfo,
    /// The running tick writer, between the start of the workload and T_d
    /// (and on after T_d in a failover drill).
    pub ticks: Option<TickWriter>,
    /// A failover drill's probe, running from T_d on.
    pub failover_probe: Option<super::probe::BackgroundProbe>,
    /// Who is primary when (replica sets only).
    pub primary_monitor: Option<super::primary::PrimaryMonitor>,
    /// The ticks attempted, once the writer stopped.
    pub tick_log: Option<TickLog>,
    /// When the tick writer started.
    pub workload_start: Option<Stamp>,
    /// Backups taken, in order; restores use the last.
    pub backups: Vec<TakenBackup>,
    /// Checksums of the source at the backup's consistent point.
    pub reference: Option<DatabaseDigest>,
    /// T_d.
    pub disaster_at: Option<Stamp>,
    /// T_s: first canary acknowledged and read back after recovery.
    pub service_at: Option<Stamp>,
    /// T_v: verification finished and passed.
    pub verified_at: Option<Stamp>,
    /// Collections a restore step restored (`None` inside = all).
    pub restored: Option<Option<Vec<String>>>,
    /// Checks recorded by steps (collections, integrity).
    pub checks: Vec<CheckRecord>,
    /// Things worth knowing that are not failures.
    pub findings: Vec<String>,
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
            service_at: None,
            verified_at: None,
            restored: None,
            checks: Vec::new(),
            findings: Vec::new(),
        }
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
    pub fn recovered_deployment(&mut self) -> &mut Deployment {
        self.fresh.as_mut().unwrap_or(&mut self.source)
    }

    /// The scenario's write concern, as the driver takes it (ticks and
    /// canaries write with it).
    pub fn write_concern(&self) -> mongodb::options::WriteConcern {
        match self.scenario.workload.write_concern {
            crate::scenario::WriteConcern::Majority => mongodb::options::WriteConcern::majority(),
            crate::scenario::WriteConcern::Nodes(count) => mongodb::options::WriteConcern::nodes(u32::from(count)),
        }
    }

    /// In a failover drill, waits up to `timeout` for the probe started at
    /// T_d and records T_s; otherwise does nothing.
    pub async fn await_failover_service(&mut self, timeout: std::time::Duration) {
        if let Some(probe) = self.failover_probe.take() {
            let served = probe.finish(timeout).await;
            if let Some(at) = served {
                self.events
                    .emit(super::events::Event::ServiceRestored { at_ms: at.offset_ms });
            }
            self.service_at = self.service_at.or(served);
        }
    }

    /// Starts the write workload (the tick writer) unless it runs already
    /// or T_d has passed. The runner calls it when a seed step succeeded,
    /// and before the first backup of a drill without a seed step.
    pub fn start_workload(&mut self) {
        if self.ticks.is_some() || self.disaster_at.is_some() {
            return;
        }
        let write_concern = self.write_concern();
        let database = self.source_database();
        self.workload_start = Some(self.clock.now());
        self.ticks = Some(super::ticks::TickWriter::start(
            &database,
            self.clock,
            self.scenario.workload.tick_interval,
            write_concern,
        ));
    }

    /// Records a finding once.
    pub fn finding(&mut self, text: impl Into<String>) {
        let text = crate::uri::redact(&text.into());
        if !self.findings.contains(&text) {
            self.findings.push(text);
        }
    }
}
