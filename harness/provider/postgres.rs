//! A private PostgreSQL cluster, started and owned by one deployment on its
//! own port, in its own folder: the local provider's FerretDB backend, and
//! the managed provider's primary and standbys (a standby is a
//! `pg_basebackup -R -X stream` of the primary, promoted with `pg_ctl
//! promote`).
//!
//! PostgreSQL refuses to run as root; when the harness runs as root (CI,
//! containers) every PostgreSQL program runs as the `postgres` user through
//! `runuser`, in a folder that user owns.

use std::path::{Path, PathBuf};
use std::process::Output;

use tokio::process::Command;

use crate::provider::error::ProviderError;
use crate::provider::ready::free_port;
use crate::provider::record::RecordedPostgres;

/// A running PostgreSQL cluster.
#[derive(Debug)]
pub struct PostgresCluster {
    /// Its data folder.
    pub data_dir: PathBuf,
    /// Where `initdb`, `pg_ctl`, `createdb` live.
    pub bin_dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Whether it is running (so teardown stops it once).
    running: bool,
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a PostgreSQL program, as `postgres` when the harness is root.
async fn run(bin_dir: &Path, program: &str, args: &[&str]) -> Result<Output, ProviderError> {
    run_program(&bin_dir.join(program), program, args).await
}

/// Runs `binary` (shown as `program`), as `postgres` when the harness is
/// root: PostgreSQL's own programs, and the `cp` that gives a restored
/// cluster its files with their owner.
async fn run_program(binary: &Path, program: &str, args: &[&str]) -> Result<Output, ProviderError> {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command.args(args).stdin(std::process::Stdio::null());
    // pg_ctl's server inherits our process group unless told otherwise; its
    // own group keeps a terminal Ctrl-C from killing it under a restore.
    command.process_group(0);
    let shown = format!("{program} {}", args.join(" "));
    let output = command.output().await.map_err(|error| ProviderError::Postgres {
        command: shown.clone(),
        output: error.to_string(),
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(ProviderError::Postgres {
            command: shown,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// How `pg_ctl stop` stops a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Clean shutdown: sessions end, a checkpoint is written and streamed.
    Fast,
    /// Every process quits at once, nothing more written or sent: a crash.
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Immediate => "immediate",
        }
    }
}

/// Creates `dir` and, when the harness is root, gives it to `postgres`.
pub async fn prepare_dir(dir: &Path) -> Result<(), ProviderError> {
    std::fs::create_dir_all(dir).map_err(|error| ProviderError::io(dir, error))?;
    if running_as_root() {
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .output()
            .await
            .map_err(|error| ProviderError::io(dir, error))?;
        if !chown.status.success() {
            return Err(ProviderError::Postgres {
                command: format!("chown postgres {}", dir.display()),
                output: String::from_utf8_lossy(&chown.stderr).into(),
            });
        }
    }
    Ok(())
}

/// `-h 127.0.0.1 -p PORT -U postgres`, then `rest`: how every client
/// program reaches a cluster.
fn connecting<'a>(port: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-h", "127.0.0.1", "-p", port, "-U", "postgres"];
    args.extend_from_slice(rest);
    args
}

/// Appends `text` to the file at `path`.
fn append(path: &Path, text: &str) -> Result<(), ProviderError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|error| ProviderError::io(path, error))?;
    file.write_all(text.as_bytes())
        .map_err(|error| ProviderError::io(path, error))
}

impl PostgresCluster {
    /// Creates and starts a cluster in `data_dir` (which must not exist).
    pub async fn start(data_dir: PathBuf, bin_dir: PathBuf) -> Result<Self, ProviderError> {
        let mut cluster = Self::initialize(data_dir, bin_dir, "").await?;
        cluster.launch().await?;
        Ok(cluster)
    }

    /// Creates a cluster in `data_dir` (which must not exist) with `extra`
    /// appended to its `postgresql.conf`, without starting it.
    pub async fn initialize(data_dir: PathBuf, bin_dir: PathBuf, extra: &str) -> Result<Self, ProviderError> {
        prepare_dir(&data_dir).await?;
        let data = data_dir.to_string_lossy().to_string();
        run(
            &bin_dir,
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )
        .await?;
        let hba = data_dir.join("pg_hba.conf");
        append(&hba, "\nhost replication all 127.0.0.1/32 trust\n")?;
        let cluster = Self::configured(
            data_dir,
            bin_dir,
            "fsync = on\nmax_connections = 200\nwal_level = replica\n",
        )?;
        append(&cluster.data_dir.join("postgresql.conf"), extra)?;
        Ok(cluster)
    }

    /// A streaming standby of the cluster on 127.0.0.1:`primary_port`,
    /// copied into `data_dir` by `pg_basebackup -R -X stream`, on a port of
    /// its own with `extra` appended to its configuration; not started.
    ///
    /// It streams from 127.0.0.1:`upstream_port` (the primary, or a link
    /// in front of it) as `application_name`, the name
    /// `synchronous_standby_names` uses.
    pub async fn standby_of(
        primary_port: u16,
        upstream: (u16, &str),
        data_dir: PathBuf,
        bin_dir: PathBuf,
        extra: &str,
    ) -> Result<Self, ProviderError> {
        prepare_dir(&data_dir).await?;
        // PostgreSQL starts only from a folder its owner alone may enter.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|error| ProviderError::io(&data_dir, error))?;
        }
        let data = data_dir.to_string_lossy().to_string();
        let port = primary_port.to_string();
        run(
            &bin_dir,
            "pg_basebackup",
            // `-c fast`: the primary's checkpoint at once, not spread over
            // minutes.
            &connecting(&port, &["-D", &data, "-R", "-X", "stream", "-c", "fast"]),
        )
        .await?;
        let (upstream_port, application_name) = upstream;
        // `-R` wrote a primary_conninfo into postgresql.auto.conf, which is
        // read last: the one that counts goes after it.
        append(
            &data_dir.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={upstream_port} user=postgres application_name={application_name}'\n"
            ),
        )?;
        Self::configured(data_dir, bin_dir, extra)
    }

    /// A cluster in `data_dir` given a free port (TCP only), with `extra`
    /// appended to `postgresql.conf` (later lines win).
    fn configured(data_dir: PathBuf, bin_dir: PathBuf, extra: &str) -> Result<Self, ProviderError> {
        let parent = data_dir.parent().expect("a cluster folder has a parent").to_path_buf();
        let port = free_port().map_err(|error| ProviderError::io(&parent, error))?;
        // No Unix socket: every client connects over TCP, and a socket's
        // path (at most 107 bytes) would limit how long run folders'
        // names may be.
        let config = format!("\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n{extra}");
        append(&data_dir.join("postgresql.conf"), &config)?;
        Ok(Self {
            data_dir,
            bin_dir,
            port,
            running: false,
        })
    }

    /// Starts the cluster and waits until it accepts connections (a
    /// standby: until it is consistent enough to serve reads).
    pub async fn launch(&mut self) -> Result<(), ProviderError> {
        let data = self.data_dir.to_string_lossy().to_string();
        let log = self.data_dir.join("postgres.log").to_string_lossy().to_string();
        let started = run(
            &self.bin_dir,
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )
        .await;
        // A server that did not come up says why in its log, not on
        // pg_ctl's output.
        if let Err(ProviderError::Postgres { command, output }) = started {
            let tail = crate::provider::local::log_tail(Path::new(&log), 15);
            return Err(ProviderError::Postgres {
                command,
                output: format!("{output}\nits log ({log}) ends:\n{tail}"),
            });
        }
        started?;
        self.running = true;
        Ok(())
    }

    /// `pg_ctl promote`, waiting until the standby has left recovery.
    pub async fn promote(&self) -> Result<(), ProviderError> {
        let data = self.data_dir.to_string_lossy().to_string();
        run(&self.bin_dir, "pg_ctl", &["-D", &data, "-w", "-t", "60", "promote"])
            .await
            .map(|_| ())
    }

    /// Runs `sql` through `psql` and returns what it printed, unaligned
    /// and without headers (`-tA`), trimmed.
    pub async fn query(&self, database: &str, sql: &str) -> Result<String, ProviderError> {
        let port = self.port.to_string();
        let output = run(
            &self.bin_dir,
            "psql",
            &connecting(&port, &["-d", database, "-tAc", sql]),
        )
        .await?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Whether the cluster is a standby still in recovery.
    pub async fn in_recovery(&self) -> Result<bool, ProviderError> {
        Ok(self.query("postgres", "select pg_is_in_recovery()").await? == "t")
    }

    /// Whether the harness started this cluster and has not stopped it.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Stops the cluster with `pg_ctl -m MODE` (`immediate`: the crash of
    /// a disaster; `fast`: a clean shutdown that first sends the standbys
    /// every WAL record).
    pub async fn stop_with(&mut self, mode: StopMode) -> Result<(), ProviderError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let data = self.data_dir.to_string_lossy().to_string();
        run(
            &self.bin_dir,
            "pg_ctl",
            &["-D", &data, "-m", mode.as_str(), "-w", "stop"],
        )
        .await
        .map(|_| ())
    }

    /// What the run record keeps of this cluster.
    pub fn record(&self) -> RecordedPostgres {
        RecordedPostgres {
            data_dir: self.data_dir.clone(),
            bin_dir: self.bin_dir.clone(),
        }
    }

    /// Creates database `name`.
    pub async fn create_database(&self, name: &str) -> Result<(), ProviderError> {
        let port = self.port.to_string();
        run(
            &self.bin_dir,
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name],
        )
        .await?;
        Ok(())
    }

    /// Drops database `name` (and everything FerretDB stored in it).
    pub async fn drop_database(&self, name: &str) -> Result<(), ProviderError> {
        let port = self.port.to_string();
        run(
            &self.bin_dir,
            "dropdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "--if-exists",
                "--force",
                name,
            ],
        )
        .await?;
        Ok(())
    }

    /// The URL FerretDB connects to for database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the cluster (`immediate`: its data is about to be removed).
    pub async fn stop(&mut self) -> Result<(), ProviderError> {
        self.stop_with(StopMode::Immediate).await
    }

    /// Best-effort synchronous stop for `Drop`.
    pub fn stop_now(&mut self) {
        if self.running {
            self.running = false;
            stop_cluster_blocking(&self.data_dir, &self.bin_dir);
        }
    }
}

/// Stops a cluster by its folder (also used by `drdrill clean`).
pub async fn stop_cluster(data_dir: &Path, bin_dir: &Path) -> Result<(), ProviderError> {
    let data = data_dir.to_string_lossy().to_string();
    run(bin_dir, "pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
        .await
        .map(|_| ())
}

/// Synchronous form of [`stop_cluster`], for `Drop` and `clean`.
pub fn stop_cluster_blocking(data_dir: &Path, bin_dir: &Path) {
    let binary = bin_dir.join("pg_ctl");
    let mut command = if running_as_root() {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(binary);
        command
    } else {
        std::process::Command::new(binary)
    };
    let _ = command
        .arg("-D")
        .arg(data_dir)
        .args(["-m", "immediate", "-w", "stop"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

// ------------------------------------------------- snapshots and restores

/// How a cluster restored from a base backup recovers: replaying the WAL
/// archive up to an instant (a point-in-time restore), or only what the
/// base backup holds (a snapshot restore) when there is no `Recovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The WAL archive `restore_command` copies segments from.
    pub archive_dir: PathBuf,
    /// `recovery_target_time`: replay stops after the last commit at or
    /// before it, and the cluster is promoted.
    pub target_time: chrono::DateTime<chrono::Utc>,
}

/// `recovery_target_time`'s text for `time`: microseconds, UTC.
pub fn recovery_time_text(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

impl PostgresCluster {
    /// A consistent copy of this cluster's files in `target` (created;
    /// empty if it exists): `pg_basebackup -X stream -c fast`, the WAL
    /// that makes it consistent streamed into it, so it starts on its own.
    pub async fn base_backup(&self, target: &Path) -> Result<(), ProviderError> {
        prepare_dir(target).await?;
        let data = target.to_string_lossy().to_string();
        let port = self.port.to_string();
        run(
            &self.bin_dir,
            "pg_basebackup",
            &connecting(&port, &["-D", &data, "-X", "stream", "-c", "fast"]),
        )
        .await
        .map(|_| ())
    }

    /// A new cluster in `data_dir` (which must not exist) from the base
    /// backup in `backup`, on a port of its own, not archiving, never
    /// waiting for a synchronous standby; with `recovery`, it replays the
    /// archive up to the target and is promoted there (`recovery.signal`).
    /// Not started.
    pub async fn from_base_backup(
        backup: &Path,
        data_dir: PathBuf,
        bin_dir: PathBuf,
        recovery: Option<&Recovery>,
    ) -> Result<Self, ProviderError> {
        prepare_dir(&data_dir).await?;
        let from = format!("{}/.", backup.display());
        let to = data_dir.to_string_lossy().to_string();
        run_program(Path::new("cp"), "cp", &["-a", &from, &to]).await?;
        // `cp -a` gave the folder the backup folder's mode; PostgreSQL
        // starts only from one its owner alone may enter. The source's log
        // came along (it lives in the data folder): the new cluster's own
        // starts empty.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|error| ProviderError::io(&data_dir, error))?;
        }
        let _ = std::fs::remove_file(data_dir.join("postgres.log"));
        // Whatever the source set with ALTER SYSTEM (its synchronous
        // standbys) is in postgresql.auto.conf, read last: the overrides go
        // after it.
        let mut overrides = String::from("\narchive_mode = off\nsynchronous_standby_names = ''\n");
        if let Some(recovery) = recovery {
            let archive = recovery.archive_dir.display();
            overrides.push_str(&format!(
                "restore_command = 'cp {archive}/%f %p'\nrecovery_target_time = '{}'\n\
                 recovery_target_action = 'promote'\n",
                recovery_time_text(recovery.target_time)
            ));
            let signal = data_dir.join("recovery.signal");
            std::fs::write(&signal, b"").map_err(|error| ProviderError::io(&signal, error))?;
        }
        append(&data_dir.join("postgresql.auto.conf"), &overrides)?;
        Self::configured(data_dir, bin_dir, "")
    }

    /// Whether the server's process is still there (its `postmaster.pid`
    /// exists): a recovery that cannot reach its target shuts it down.
    pub fn server_alive(&self) -> bool {
        self.data_dir.join("postmaster.pid").exists()
    }

    /// The last lines of the server's log, for errors.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::provider::local::log_tail(&self.data_dir.join("postgres.log"), lines)
    }
}

/// Lets PostgreSQL (the `postgres` user when the harness is root) reach a
/// folder the harness made: its run folder, or where base backups go.
pub fn open_to_postgres(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
}
