//! One managed deployment: its sites (a PostgreSQL cluster and the
//! FerretDB over it), the site links and the cluster endpoint, start-up
//! with a rolled-back failure, the site faults, the failover, and teardown
//! with `Drop` as the fallback.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::relay::Relay;
use super::spec::{ManagedSpec, Replication};
use crate::provider::error::ProviderError;
use crate::provider::failover::{FailoverRequest, Promotion};
use crate::provider::lifecycle::{Owned, kept_message, teardown_once};
use crate::provider::local::{FerretdbBackend, LocalNode, NodeCommand, NodeState, ferretdb_args};
use crate::provider::postgres::{PostgresCluster, StopMode, open_to_postgres, prepare_dir};
use crate::provider::record::{RecordedPostgres, RecordedProcess, RunRecord, process_start_time};
use crate::provider::tools;
use crate::uri::MongoUri;

/// The PostgreSQL database FerretDB keeps its data in, on every site.
pub(super) const FERRETDB_DATABASE: &str = "ferretdb";

/// How often start-up and failover look again at a condition they wait on.
const POLL: Duration = Duration::from_millis(100);

/// One site: a PostgreSQL cluster and the FerretDB serving it.
#[derive(Debug)]
struct Site {
    /// `site-0` (the first primary), `site-1` ...
    name: String,
    /// Its PostgreSQL cluster.
    cluster: PostgresCluster,
    /// Its FerretDB process.
    ferretdb: LocalNode,
    /// The link it streams WAL over (standbys only); cut when the
    /// primary's site goes down.
    link: Option<Relay>,
}

/// A running managed deployment. Owns its clusters, processes, relays and
/// folders: call [`ManagedDeployment::teardown`]; `Drop` is the fallback.
#[derive(Debug)]
pub struct ManagedDeployment {
    /// The spec it was started from.
    spec: ManagedSpec,
    /// `<work_dir>/<run_id>`: everything the run writes.
    run_dir: PathBuf,
    /// Where the primary archives its WAL (`archive_command`).
    archive_dir: PathBuf,
    /// The sites, the first primary first.
    sites: Vec<Site>,
    /// The site that is primary now.
    primary: usize,
    /// The cluster endpoint the application connects to.
    endpoint: Option<Relay>,
    /// What `drdrill clean` needs if this process dies.
    record: RunRecord,
    /// Set once teardown ran, so `Drop` does nothing more.
    torn_down: bool,
}

impl ManagedDeployment {
    /// Starts the primary, its standbys and every site's FerretDB, and
    /// waits until each standby streams (and a synchronous one is
    /// synchronous). On failure everything already started is removed.
    pub async fn start(spec: ManagedSpec) -> Result<Self, ProviderError> {
        let program = tools::ferretdb()?;
        let bin_dir = tools::postgres_bin()?;
        let run_dir = spec.work_dir.join(&spec.run_id);
        std::fs::create_dir_all(&run_dir).map_err(|error| ProviderError::io(&run_dir, error))?;
        // PostgreSQL runs as `postgres` when we are root: it must reach
        // its folders inside ours.
        open_to_postgres(&spec.work_dir);
        open_to_postgres(&run_dir);
        let mut record = RunRecord::new(&spec.run_id);
        record.dirs.push(run_dir.clone());
        record.save()?;
        let mut deployment = Self {
            archive_dir: run_dir.join("wal-archive"),
            spec,
            run_dir,
            sites: Vec::new(),
            primary: 0,
            endpoint: None,
            record,
            torn_down: false,
        };
        match deployment.start_inner(&program, &bin_dir).await {
            Ok(()) => Ok(deployment),
            Err(error) => {
                deployment.spec.keep = false;
                teardown_once(&mut deployment).await;
                Err(error)
            }
        }
    }

    async fn start_inner(&mut self, program: &Path, bin_dir: &Path) -> Result<(), ProviderError> {
        prepare_dir(&self.archive_dir).await?;
        let primary_dir = self.site_dir(0);
        self.record_cluster(&primary_dir, bin_dir)?;
        let mut primary =
            PostgresCluster::initialize(primary_dir, bin_dir.to_path_buf(), &self.primary_config()).await?;
        primary.launch().await?;
        primary.create_database(FERRETDB_DATABASE).await?;
        let primary_port = primary.port;
        self.sites.push(self.site(0, primary, program, None)?);
        for index in 1..=self.spec.standbys {
            let link = Relay::start(primary_port, self.spec.link_shape())
                .await
                .map_err(|error| ProviderError::io(&self.run_dir, error))?;
            let data_dir = self.site_dir(index);
            self.record_cluster(&data_dir, bin_dir)?;
            let name = standby_name(index);
            let mut standby = PostgresCluster::standby_of(
                primary_port,
                (link.port(), &name),
                data_dir,
                bin_dir.to_path_buf(),
                STANDBY_CONFIG,
            )
            .await?;
            standby.launch().await?;
            self.sites.push(self.site(index, standby, program, Some(link))?);
        }
        self.replicate().await?;
        for index in 0..self.sites.len() {
            self.spawn_ferretdb(index)?;
        }
        let timeout = self.spec.ready_timeout;
        for site in &mut self.sites {
            site.ferretdb.wait_ready(timeout).await?;
        }
        let endpoint = Relay::start(self.sites[0].ferretdb.port, super::LinkShape::default())
            .await
            .map_err(|error| ProviderError::io(&self.run_dir, error))?;
        self.endpoint = Some(endpoint);
        Ok(())
    }

    /// The primary's configuration: WAL for standbys and archiving. The
    /// synchronous settings come later ([`Self::replicate`]): set now, the
    /// primary's own `createdb` would wait for a standby not yet there.
    fn primary_config(&self) -> String {
        let archive = self.archive_dir.display();
        format!(
            "max_wal_senders = 10\nwal_keep_size = 1024\narchive_mode = on\n\
             archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\narchive_timeout = 60\n"
        )
    }

    /// Waits until every standby streams; for synchronous replication,
    /// names the standbys in `synchronous_standby_names` and waits until
    /// one of them is synchronous.
    async fn replicate(&mut self) -> Result<(), ProviderError> {
        let primary = &self.sites[0].cluster;
        if let Some(level) = self.spec.commit_level() {
            let level = level.replace('\'', "");
            primary
                .query("postgres", &format!("alter system set synchronous_commit = '{level}'"))
                .await?;
        }
        if self.spec.replication == Replication::Sync && self.spec.standbys > 0 {
            let names: Vec<String> = (1..=self.spec.standbys).map(standby_name).collect();
            primary
                .query(
                    "postgres",
                    &format!(
                        "alter system set synchronous_standby_names = 'ANY 1 ({})'",
                        names.join(", ")
                    ),
                )
                .await?;
        }
        primary.query("postgres", "select pg_reload_conf()").await?;
        let wanted = match self.spec.replication {
            Replication::Sync if self.spec.standbys > 0 => {
                "select count(*) > 0 from pg_stat_replication where sync_state in ('sync', 'quorum')".to_string()
            }
            _ => format!(
                "select count(*) >= {} from pg_stat_replication where state = 'streaming'",
                self.spec.standbys
            ),
        };
        wait_until(
            self.spec.ready_timeout,
            "the standbys to stream from the primary",
            || {
                let query = primary.query("postgres", &wanted);
                async move { query.await.map(|answer| answer == "t") }
            },
        )
        .await
    }

    fn site(
        &self,
        index: usize,
        cluster: PostgresCluster,
        program: &Path,
        link: Option<Relay>,
    ) -> Result<Site, ProviderError> {
        let name = format!("site-{index}");
        let data_dir = self.run_dir.join(format!("{name}-ferretdb"));
        std::fs::create_dir_all(&data_dir).map_err(|error| ProviderError::io(&data_dir, error))?;
        let port = crate::provider::ready::free_port().map_err(|error| ProviderError::io(&self.run_dir, error))?;
        let backend = FerretdbBackend::Postgresql(cluster.url(FERRETDB_DATABASE));
        let command = NodeCommand {
            program: program.to_path_buf(),
            args: ferretdb_args(&backend, port, &data_dir),
        };
        let log_path = self.run_dir.join(format!("{name}-ferretdb.log"));
        Ok(Site {
            ferretdb: LocalNode::new(name.clone(), port, data_dir, log_path, command),
            name,
            cluster,
            link,
        })
    }

    fn site_dir(&self, index: usize) -> PathBuf {
        self.run_dir.join(format!("site-{index}-postgres"))
    }

    /// Records a cluster's folder before it is created, so that a kill
    /// during start-up still leaves something `clean` can stop.
    fn record_cluster(&mut self, data_dir: &Path, bin_dir: &Path) -> Result<(), ProviderError> {
        self.record.postgres.push(RecordedPostgres {
            data_dir: data_dir.to_path_buf(),
            bin_dir: bin_dir.to_path_buf(),
        });
        self.record.save()
    }

    fn spawn_ferretdb(&mut self, index: usize) -> Result<(), ProviderError> {
        let node = &mut self.sites[index].ferretdb;
        node.spawn()?;
        let pid = node.pid().expect("a spawned node has a pid");
        let what = format!("{} ferretdb", node.name);
        self.record.processes.retain(|process| process.what != what);
        self.record.processes.push(RecordedProcess {
            pid,
            start_time: process_start_time(pid),
            what,
            freezer: None,
        });
        self.record.save()
    }

    fn site_mut(&mut self, index: usize) -> Result<&mut Site, ProviderError> {
        self.sites
            .get_mut(index)
            .ok_or_else(|| ProviderError::NoSuchNode(format!("site-{index}")))
    }

    /// The run's folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Where the WAL is archived.
    pub fn archive_dir(&self) -> &Path {
        &self.archive_dir
    }

    /// How many sites (the primary and its standbys).
    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    /// The site that is primary now.
    pub fn primary_site(&self) -> usize {
        self.primary
    }

    /// The cluster endpoint's URI.
    pub fn uri(&self) -> MongoUri {
        let port = self.endpoint.as_ref().map_or(0, Relay::port);
        MongoUri::parse(&format!("mongodb://127.0.0.1:{port}/?directConnection=true"))
            .expect("endpoint URIs are well formed")
    }

    /// The URI of site `index`'s own FerretDB.
    pub fn site_uri(&self, index: usize) -> Result<MongoUri, ProviderError> {
        let site = self
            .sites
            .get(index)
            .ok_or_else(|| ProviderError::NoSuchNode(format!("site-{index}")))?;
        Ok(MongoUri::parse(&site.ferretdb.uri()).expect("node URIs are well formed"))
    }

    /// Fault: site `index` goes down at once. For the primary's site its
    /// links are cut first (its network goes with it: WAL still on its way
    /// never arrives); then PostgreSQL stops `-m immediate` and FerretDB
    /// is SIGKILLed.
    pub async fn kill_site(&mut self, index: usize) -> Result<(), ProviderError> {
        if index == self.primary {
            for site in &self.sites {
                if let Some(link) = &site.link {
                    link.cut();
                }
            }
        }
        self.site_down(index, StopMode::Immediate).await
    }

    /// Fault or lifecycle: site `index` shuts down cleanly (PostgreSQL
    /// `-m fast` first streams what its standbys lack).
    pub async fn stop_site(&mut self, index: usize) -> Result<(), ProviderError> {
        self.site_down(index, StopMode::Fast).await
    }

    async fn site_down(&mut self, index: usize, mode: StopMode) -> Result<(), ProviderError> {
        let site = self.site_mut(index)?;
        if !site.cluster.is_running() && site.ferretdb.state() == NodeState::Down {
            return Err(ProviderError::InvalidState {
                node: site.name.clone(),
                operation: "take the site down".into(),
                reason: "it is down already".into(),
            });
        }
        site.cluster.stop_with(mode).await?;
        match mode {
            StopMode::Immediate if site.ferretdb.state() != NodeState::Down => site.ferretdb.kill().await,
            _ => site.ferretdb.stop(Duration::from_secs(5)).await,
        }
    }

    /// Whether site `index` is up (its PostgreSQL and its FerretDB).
    pub fn site_state(&mut self, index: usize) -> Result<NodeState, ProviderError> {
        let site = self.site_mut(index)?;
        Ok(if site.cluster.is_running() {
            site.ferretdb.state()
        } else {
            NodeState::Down
        })
    }

    /// Promotes a standby (or waits for the one a runbook promoted) and
    /// moves the cluster endpoint to its FerretDB.
    pub async fn fail_over(&mut self, request: &FailoverRequest) -> Result<Promotion, ProviderError> {
        let index = self.failover_site(request.site)?;
        let site = &self.sites[index];
        if request.promote {
            site.cluster.promote().await?;
        }
        let cluster = &site.cluster;
        wait_until(request.timeout, "the standby to leave recovery", || async move {
            cluster.in_recovery().await.map(|in_recovery| !in_recovery)
        })
        .await?;
        self.restart_ferretdb(index).await?;
        let port = self.sites[index].ferretdb.port;
        if let Some(endpoint) = &self.endpoint {
            endpoint.point_at(port);
        }
        self.primary = index;
        Ok(Promotion {
            site: index,
            name: self.sites[index].name.clone(),
            endpoint_target: format!("127.0.0.1:{port}"),
        })
    }

    /// Starts site `index`'s FerretDB again on the same port. A promoted
    /// standby's FerretDB must be: FerretDB 1.x keeps the list of
    /// databases and collections it read at start in memory, so the one
    /// that served the standby knows nothing created since (its writes
    /// would collide with tables that exist). A managed service's failover
    /// restarts the endpoint's process on the new writer too.
    async fn restart_ferretdb(&mut self, index: usize) -> Result<(), ProviderError> {
        self.sites[index].ferretdb.stop(Duration::from_secs(5)).await?;
        self.spawn_ferretdb(index)?;
        let timeout = self.spec.ready_timeout;
        self.sites[index].ferretdb.wait_ready(timeout).await.map(|_| ())
    }

    /// The site a failover promotes: the one asked for, else the first
    /// running standby.
    fn failover_site(&mut self, asked: Option<usize>) -> Result<usize, ProviderError> {
        let refuse = |reason: String| ProviderError::InvalidState {
            node: "managed deployment".into(),
            operation: "fail over".into(),
            reason,
        };
        let candidates: Vec<usize> = (0..self.sites.len()).filter(|index| *index != self.primary).collect();
        let index = match asked {
            Some(index) if index == self.primary => return Err(refuse(format!("site-{index} is the primary already"))),
            Some(index) => index,
            None => candidates
                .iter()
                .copied()
                .find(|index| self.sites[*index].cluster.is_running())
                .ok_or_else(|| refuse("no standby is running (the topology needs standbys = 1 or more)".into()))?,
        };
        if self.site_state(index)? != NodeState::Running {
            return Err(refuse(format!("site-{index} is not running")));
        }
        Ok(index)
    }

    /// What a runbook's failover command needs to find the standby.
    pub fn failover_env(&self, asked: Option<usize>) -> Vec<(String, String)> {
        let index = asked.unwrap_or(if self.primary == 0 { 1 } else { 0 });
        let Some(site) = self.sites.get(index) else {
            return Vec::new();
        };
        vec![
            (
                "DRDRILL_STANDBY_PGDATA".into(),
                site.cluster.data_dir.display().to_string(),
            ),
            ("DRDRILL_STANDBY_PGPORT".into(), site.cluster.port.to_string()),
            ("DRDRILL_PG_BIN".into(), site.cluster.bin_dir.display().to_string()),
        ]
    }

    /// The cluster of the site that is primary now (snapshots are taken
    /// of it, and its WAL is archived).
    pub(super) fn primary_cluster(&self) -> &PostgresCluster {
        &self.sites[self.primary].cluster
    }

    /// What a cluster restored from this deployment's snapshots needs.
    pub(super) fn restore_setting(&self) -> Result<super::restored::RestoreSetting, ProviderError> {
        Ok(super::restored::RestoreSetting {
            run_id: self.spec.run_id.clone(),
            work_dir: self.spec.work_dir.clone(),
            bin_dir: tools::postgres_bin()?,
            ferretdb: tools::ferretdb()?,
            archive_dir: self.archive_dir.clone(),
            keep: self.spec.keep,
        })
    }

    /// Whether teardown leaves everything in place.
    pub fn keeps(&self) -> bool {
        self.spec.keep
    }

    /// Stops every site and removes the run's folder and record; with
    /// `keep`, leaves them and says how to remove them.
    pub async fn teardown(mut self) -> Option<String> {
        teardown_once(&mut self).await
    }
}

/// A standby's `application_name`: `standby1`, `standby2` ...
fn standby_name(index: usize) -> String {
    format!("standby{index}")
}

/// What every standby runs with: hot (FerretDB reads from it), and never
/// itself waiting for a synchronous standby once promoted (the primary's
/// copied configuration would otherwise make every write wait forever).
const STANDBY_CONFIG: &str = "hot_standby = on\nsynchronous_standby_names = ''\nsynchronous_commit = on\n";

/// Polls `check` until it answers `true`, up to `timeout`; an error of
/// the last attempt is the cause when it never does.
pub(super) async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProviderError>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = check().await;
        if matches!(last, Ok(true)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ProviderError::InvalidState {
                node: "managed deployment".into(),
                operation: format!("wait for {what}"),
                reason: match last {
                    Err(error) => format!("not within {} s: {}", timeout.as_secs(), crate::error::chain(&error)),
                    _ => format!("not within {} s", timeout.as_secs()),
                },
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

impl Owned for ManagedDeployment {
    fn torn_down(&mut self) -> &mut bool {
        &mut self.torn_down
    }

    fn kept(&self) -> bool {
        self.spec.keep
    }

    fn leave_in_place(&mut self) -> String {
        kept_message(&self.spec.run_id, &self.run_dir)
    }

    async fn remove_everything(&mut self) {
        self.endpoint = None;
        for site in &mut self.sites {
            site.link = None;
            let _ = site.ferretdb.stop(Duration::from_secs(5)).await;
            let _ = site.cluster.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}

impl Drop for ManagedDeployment {
    fn drop(&mut self) {
        if self.torn_down || self.spec.keep {
            return;
        }
        tracing::warn!(run = %self.spec.run_id, "managed deployment dropped without teardown; killing its processes");
        for site in &mut self.sites {
            site.ferretdb.kill_now();
            site.cluster.stop_now();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        self.record.remove();
    }
}
