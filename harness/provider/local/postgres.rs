//! A private PostgreSQL cluster for FerretDB's PostgreSQL backend, started
//! and owned by one deployment on its own port, in its own folder.
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
    let binary = bin_dir.join(program);
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(&binary);
        command
    } else {
        Command::new(&binary)
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

impl PostgresCluster {
    /// Creates and starts a cluster in `data_dir` (which must not exist).
    pub async fn start(data_dir: PathBuf, bin_dir: PathBuf) -> Result<Self, ProviderError> {
        let parent = data_dir.parent().expect("a cluster folder has a parent").to_path_buf();
        std::fs::create_dir_all(&data_dir).map_err(|error| ProviderError::io(&data_dir, error))?;
        if running_as_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data_dir)
                .output()
                .await
                .map_err(|error| ProviderError::io(&data_dir, error))?;
            if !chown.status.success() {
                return Err(ProviderError::Postgres {
                    command: format!("chown postgres {}", data_dir.display()),
                    output: String::from_utf8_lossy(&chown.stderr).into(),
                });
            }
        }
        let data = data_dir.to_string_lossy().to_string();
        run(
            &bin_dir,
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )
        .await?;
        let port = free_port().map_err(|error| ProviderError::io(&parent, error))?;
        let config = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\n\
             fsync = on\nmax_connections = 200\nwal_level = replica\n"
        );
        let conf_path = data_dir.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).map_err(|error| ProviderError::io(&conf_path, error))?;
        existing.push_str(&config);
        std::fs::write(&conf_path, existing).map_err(|error| ProviderError::io(&conf_path, error))?;
        let log = data_dir.join("postgres.log").to_string_lossy().to_string();
        let mut cluster = Self {
            data_dir,
            bin_dir,
            port,
            running: false,
        };
        run(
            &cluster.bin_dir,
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )
        .await?;
        cluster.running = true;
        Ok(cluster)
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
        if !self.running {
            return Ok(());
        }
        self.running = false;
        stop_cluster(&self.data_dir, &self.bin_dir).await
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
