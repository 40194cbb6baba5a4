//! One server process: how it is started, signalled, restarted and wiped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::freezer::{self, Freezer, FrozenCgroup};
pub use crate::provider::deployment::NodeState;
use crate::provider::error::{ProviderError, chain};
use crate::provider::ready::{self, ReadyError};

/// The command line that starts a node, kept so that a restart runs the
/// very same server on the very same data.
#[derive(Debug, Clone)]
pub struct NodeCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// One server process owned by a local deployment.
#[derive(Debug)]
pub struct LocalNode {
    /// `node-0`, `node-1`, ...
    pub name: String,
    /// The port it listens on, on 127.0.0.1; kept across restarts.
    pub port: u16,
    /// Its data folder (SQLite files, mongod's dbpath); wiped by `wipe`.
    pub data_dir: PathBuf,
    /// Its log file (stdout and stderr of every incarnation, appended).
    pub log_path: PathBuf,
    /// How to start it again.
    pub command: NodeCommand,
    /// The running process, if any. Dropping it does not kill it: the
    /// deployment kills explicitly, so that `keep` can leave it running.
    child: Option<Child>,
    /// How it is paused, while it is.
    pause: Option<Pause>,
}

/// How a node was paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pause {
    /// Frozen in a cgroup of its own.
    Frozen(FrozenCgroup),
    /// Stopped by SIGSTOP (no writable cgroup freezer).
    Signal,
}

/// How to pause a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseWith {
    /// The cgroup freezer where one can be written, else SIGSTOP.
    Auto,
    /// SIGSTOP, whatever is available.
    Signal,
}

impl std::fmt::Display for Pause {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Frozen(cgroup) => write!(formatter, "frozen by the cgroup freezer ({})", cgroup.dir.display()),
            Self::Signal => write!(formatter, "stopped by SIGSTOP (no writable cgroup freezer)"),
        }
    }
}

impl LocalNode {
    /// A node that is not started yet.
    pub fn new(name: String, port: u16, data_dir: PathBuf, log_path: PathBuf, command: NodeCommand) -> Self {
        Self {
            name,
            port,
            data_dir,
            log_path,
            command,
            child: None,
            pause: None,
        }
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true`.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Its pid while running.
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(Child::id).map(|pid| pid as i32)
    }

    /// Running, paused or down, as far as the harness knows.
    pub fn state(&mut self) -> NodeState {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) if self.pause.is_some() => NodeState::Paused,
            Some(Ok(None)) => NodeState::Running,
            _ => NodeState::Down,
        }
    }

    /// Starts the process (it must not be running) without waiting for it.
    pub fn spawn(&mut self) -> Result<(), ProviderError> {
        if self.pid().is_some() && self.state() != NodeState::Down {
            return Err(self.invalid("start", "it is already running"));
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|error| ProviderError::io(&self.log_path, error))?;
        let log_err = log
            .try_clone()
            .map_err(|error| ProviderError::io(&self.log_path, error))?;
        let child = Command::new(&self.command.program)
            .args(&self.command.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a Ctrl-C at the terminal reaches the
            // harness, which then tears down in order, instead of killing
            // servers under a restore that is still writing.
            .process_group(0)
            .spawn()
            .map_err(|source| ProviderError::Spawn {
                node: self.name.clone(),
                program: self.command.program.clone(),
                source,
            })?;
        self.child = Some(child);
        self.pause = None;
        Ok(())
    }

    /// Waits until the node answers `hello`, failing fast when its process
    /// exits, and with the log tail when it does not come up in `timeout`.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration, ProviderError> {
        let uri = self.uri();
        let child = &mut self.child;
        let outcome = ready::wait_for_hello(&uri, timeout, || match child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(ReadyError::Exited(status)),
            Some(Err(error)) => Err(ReadyError::Unwatchable(error)),
            None => Err(ReadyError::NotRunning),
        })
        .await;
        // The port must be answered by this very process: another server
        // that took the port while the node was down would otherwise pass
        // for it (this one then fails to bind and exits).
        if outcome.is_ok()
            && let (Some(answering), Some(own)) = (ready::server_pid(&uri).await, self.pid())
            && answering != i64::from(own)
        {
            return Err(ProviderError::PortTaken {
                node: self.name.clone(),
                port: self.port,
                answering,
                own,
                log: self.log_path.display().to_string(),
                log_tail: log_tail(&self.log_path, 20),
            });
        }
        outcome.map_err(|reason| ProviderError::NotReady {
            node: self.name.clone(),
            timeout_secs: timeout.as_secs(),
            reason: chain(&reason),
            log: self.log_path.display().to_string(),
            log_tail: log_tail(&self.log_path, 20),
        })
    }

    /// Sends `signal` to the running process.
    fn signal(&self, signal: Signal, operation: &str) -> Result<(), ProviderError> {
        let pid = self.pid().ok_or_else(|| self.invalid(operation, "it is not running"))?;
        kill(Pid::from_raw(pid), signal).map_err(|errno| self.invalid(operation, &errno.to_string()))
    }

    /// SIGKILL, then reaps the process: the abrupt crash of a disaster.
    pub async fn kill(&mut self) -> Result<(), ProviderError> {
        if self.state() == NodeState::Down {
            return Err(self.invalid("kill", "it is not running"));
        }
        // A v1-frozen process acts on SIGKILL only once thawed.
        self.end_pause_for_exit();
        self.signal(Signal::SIGKILL, "kill")?;
        self.reap().await;
        Ok(())
    }

    /// SIGTERM and a wait of up to `grace`, then SIGKILL: a clean shutdown.
    pub async fn stop(&mut self, grace: Duration) -> Result<(), ProviderError> {
        if self.state() == NodeState::Down {
            return Ok(());
        }
        self.end_pause_for_exit();
        self.signal(Signal::SIGTERM, "stop")?;
        let exited = match self.child.as_mut() {
            Some(child) => tokio::time::timeout(grace, child.wait()).await.is_ok(),
            None => true,
        };
        if !exited {
            let _ = self.signal(Signal::SIGKILL, "stop");
        }
        self.reap().await;
        Ok(())
    }

    /// The process stays but answers nothing (a hung server): frozen by
    /// the cgroup freezer, or stopped by SIGSTOP where no freezer can be
    /// written or `with` asks for it. Returns once the pause has taken
    /// effect, saying how it was done.
    pub async fn pause(&mut self, with: PauseWith) -> Result<&Pause, ProviderError> {
        if self.state() != NodeState::Running {
            return Err(self.invalid("pause", "it is not running"));
        }
        let pid = self.pid().ok_or_else(|| self.invalid("pause", "it is not running"))?;
        let freezer = match with {
            PauseWith::Auto => Freezer::find(),
            PauseWith::Signal => None,
        };
        if let Some(freezer) = freezer {
            let name = format!("{}-{}", self.run_dir_name(), self.name);
            match freezer.freeze(pid, &name).await {
                Ok(cgroup) => return Ok(self.pause.insert(Pause::Frozen(cgroup))),
                Err(error) => {
                    let reason = chain(&error);
                    tracing::info!(node = %self.name, %reason, "no cgroup freezer to write; pausing with SIGSTOP");
                }
            }
        }
        self.signal(Signal::SIGSTOP, "pause")?;
        if let Err(error) = freezer::wait_stopped(pid).await {
            let _ = self.signal(Signal::SIGCONT, "pause");
            return Err(self.invalid("pause", &chain(&error)));
        }
        Ok(self.pause.insert(Pause::Signal))
    }

    /// How the node is paused, while it is.
    pub fn paused_by(&self) -> Option<&Pause> {
        self.pause.as_ref()
    }

    /// Ends a pause: thaws it (and returns it to its own cgroup) or sends
    /// SIGCONT.
    pub async fn resume(&mut self) -> Result<(), ProviderError> {
        if self.state() != NodeState::Paused {
            return Err(self.invalid("resume", "it is not paused"));
        }
        match self.pause.take() {
            Some(Pause::Frozen(cgroup)) => {
                if let Err(error) = cgroup.release().await {
                    self.pause = Some(Pause::Frozen(cgroup));
                    return Err(self.invalid("resume", &chain(&error)));
                }
            }
            Some(Pause::Signal) | None => self.signal(Signal::SIGCONT, "resume")?,
        }
        Ok(())
    }

    /// Ends a pause without waiting, before the process is signalled to
    /// exit: a v1-frozen process would not act on the signal, a stopped one
    /// would not act on SIGTERM. The cgroup is removed once it has exited
    /// (see `reap`).
    fn end_pause_for_exit(&mut self) {
        match &self.pause {
            Some(Pause::Frozen(cgroup)) => freezer::thaw_now(&cgroup.dir),
            Some(Pause::Signal) => {
                let _ = self.signal(Signal::SIGCONT, "end the pause");
            }
            None => {}
        }
    }

    /// The run folder's name (the data folder's parent), for cgroup names.
    fn run_dir_name(&self) -> String {
        self.data_dir
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Removes everything in the data folder (the node must be down): the
    /// disk that was lost.
    pub fn wipe_data(&mut self) -> Result<(), ProviderError> {
        if self.state() != NodeState::Down {
            return Err(self.invalid("wipe its data", "it is still running; kill or stop it first"));
        }
        remove_dir_contents(&self.data_dir)
    }

    /// Kills without waiting (for `Drop`): best effort, never blocks long.
    pub fn kill_now(&mut self) {
        self.end_pause_for_exit();
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
            // Reap synchronously so that no zombie outlives the harness's
            // view of the node; SIGKILL makes this quick.
            for _ in 0..200 {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        self.child = None;
        self.forget_pause();
    }

    async fn reap(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.wait().await;
        }
        self.child = None;
        self.forget_pause();
    }

    /// After the process has exited: its freezer cgroup is empty and goes.
    fn forget_pause(&mut self) {
        if let Some(Pause::Frozen(cgroup)) = self.pause.take() {
            freezer::remove_cgroup(&cgroup.dir);
        }
    }

    fn invalid(&self, operation: &str, reason: &str) -> ProviderError {
        ProviderError::InvalidState {
            node: self.name.clone(),
            operation: operation.into(),
            reason: reason.into(),
        }
    }
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Removes a folder's contents, keeping the folder.
pub fn remove_dir_contents(dir: &Path) -> Result<(), ProviderError> {
    let entries = std::fs::read_dir(dir).map_err(|error| ProviderError::io(dir, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| ProviderError::io(dir, error))?;
        let path = entry.path();
        let result = if entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.map_err(|error| ProviderError::io(&path, error))?;
    }
    Ok(())
}
