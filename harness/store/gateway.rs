//! versitygw: an S3 gateway over a folder, built by `scripts/setup` into
//! `.tools/bin/versitygw`. The harness starts one per region a scenario
//! names: its own data folder, a free port on 127.0.0.1, a fresh root key
//! pair passed in the environment (never in its arguments), and stops it
//! at teardown ([`Gateway::stop`]; `Drop` kills it as a fallback). Stopping
//! one is a region outage.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::address::{StoreAddress, StoreSpec};
use super::credentials::{Credentials, CredentialsSource};

/// What the gateway prints once it serves.
const READY_LINE: &str = "listening on";
/// How long a gateway may take to say it serves.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped gateway may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a gateway could not be found, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No versitygw binary.
    #[error(
        "versitygw not found: looked in $DRDRILL_VERSITYGW, .tools/bin/versitygw of the project, PATH; run scripts/setup"
    )]
    Missing,
    /// The process could not be started or its folder made.
    #[error("cannot start versitygw for {region}")]
    Spawn {
        /// The region it stands for.
        region: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// It exited or stayed silent instead of serving.
    #[error("versitygw for {region} did not start serving on {endpoint} within {seconds} s: {last}")]
    NotServing {
        /// The region it stands for.
        region: String,
        /// Where it should have served.
        endpoint: String,
        /// How long it was given.
        seconds: u64,
        /// Its last line of output, or how it exited.
        last: String,
    },
}

/// A running versitygw process standing for one region.
#[derive(Debug)]
pub struct Gateway {
    /// The region it answers for (its `--region`).
    region: String,
    /// `http://127.0.0.1:PORT`.
    endpoint: String,
    /// The folder it serves; buckets are its subfolders.
    data: PathBuf,
    /// Its root key pair, generated when it started.
    credentials: Credentials,
    /// The process; `None` once stopped.
    child: Option<tokio::process::Child>,
}

/// The versitygw binary: `$DRDRILL_VERSITYGW`, the project's
/// `.tools/bin/versitygw`, or `versitygw` on `PATH`.
pub fn versitygw_binary() -> Result<PathBuf, GatewayError> {
    if let Some(path) = std::env::var_os("DRDRILL_VERSITYGW") {
        let path = PathBuf::from(path);
        return crate::process::is_executable(&path)
            .then_some(path)
            .ok_or(GatewayError::Missing);
    }
    let in_project = crate::provider::tools::project_roots()
        .into_iter()
        .map(|root| root.join(".tools/bin/versitygw"));
    let on_path = crate::process::path_candidates("versitygw", std::env::var_os("PATH")).map(|found| found.path);
    in_project
        .chain(on_path)
        .find(|path| crate::process::is_executable(path))
        .ok_or(GatewayError::Missing)
}

impl Gateway {
    /// Starts versitygw for `region` over `data` (created, with one folder
    /// per bucket in `buckets`), on a free port, and waits until it says
    /// it serves.
    pub async fn start(binary: &Path, region: &str, data: &Path, buckets: &[String]) -> Result<Self, GatewayError> {
        let spawn_error = |source| GatewayError::Spawn {
            region: region.to_owned(),
            source,
        };
        for bucket in buckets {
            std::fs::create_dir_all(data.join(bucket)).map_err(spawn_error)?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(spawn_error)?
            .port();
        let credentials = Credentials::generate();
        let mut command = tokio::process::Command::new(binary);
        command
            .arg("--port")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--region")
            .arg(region)
            .arg("posix")
            .arg(data)
            .env("ROOT_ACCESS_KEY", &credentials.access_key_id)
            .env("ROOT_SECRET_KEY", &credentials.secret_access_key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(spawn_error)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let not_serving = |last| GatewayError::NotServing {
            region: region.to_owned(),
            endpoint: endpoint.clone(),
            seconds: START_TIMEOUT.as_secs(),
            last,
        };
        let served = match wait_serving(&mut child, &not_serving).await {
            Ok(()) => accepts(port, &not_serving).await,
            Err(error) => Err(error),
        };
        if let Err(error) = served {
            let _ = child.kill().await;
            return Err(error);
        }
        Ok(Self {
            region: region.to_owned(),
            endpoint,
            data: data.to_owned(),
            credentials,
            child: Some(child),
        })
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The folder it serves (an object is the file `<data>/<bucket>/<key>`).
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(tokio::process::Child::id)
    }

    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// A store `name` at `s3://bucket/prefix` of this gateway.
    pub fn store(&self, name: &str, bucket: &str, prefix: &str) -> StoreSpec {
        StoreSpec {
            name: name.to_owned(),
            address: StoreAddress::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            },
            endpoint: Some(self.endpoint.clone()),
            region: Some(self.region.clone()),
            credentials: CredentialsSource::Given(self.credentials.clone()),
            encryption: Default::default(),
        }
    }

    /// Stops it: SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]. Stopping a
    /// stopped gateway does nothing.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
}

/// Waits until the port accepts a connection (the banner is printed as
/// the listener opens); `Err` after [`START_TIMEOUT`].
async fn accepts(port: u16, not_serving: &dyn Fn(String) -> GatewayError) -> Result<(), GatewayError> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(_) => return Ok(()),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                return Err(not_serving(format!(
                    "it printed its banner but 127.0.0.1:{port} refuses connections ({error})"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Reads the gateway's output until it says it serves; `Err` names its
/// last line (or how it exited) when it does not within the timeout. The
/// output after that is drained in the background so the pipes never fill.
async fn wait_serving(
    child: &mut tokio::process::Child,
    not_serving: &dyn Fn(String) -> GatewayError,
) -> Result<(), GatewayError> {
    let (lines_in, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    {
        let sender = lines_in.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let _ = sender.send(line);
            }
        });
    }
    drop(lines_in);
    let mut last = String::from("no output");
    let waited = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.recv().await {
            if line.to_ascii_lowercase().contains(READY_LINE) {
                return true;
            }
            last = line;
        }
        false
    })
    .await;
    match waited {
        Ok(true) => {
            // Keep draining so the gateway never blocks on a full pipe.
            tokio::spawn(async move { while lines.recv().await.is_some() {} });
            Ok(())
        }
        Ok(false) => Err(not_serving(match child.try_wait() {
            Ok(Some(status)) => format!("it exited ({status}) after printing {last:?}"),
            _ => last,
        })),
        Err(_) => Err(not_serving(last)),
    }
}
