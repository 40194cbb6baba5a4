//! The `command` engine: runs a team's own backup script or shell command
//! (their runbook) and then judges it by what it left on disk, not by its
//! exit status. A runbook without `set -e` prints "Backup completed" and
//! exits 0 when its dump failed, and its retention step deletes old backups
//! all the same; a drill must see both.
//!
//! Also home of [`run_process`], the one way this module tree runs a child
//! process: its own process group, a timeout, bounded and redacted output,
//! and the whole group killed on timeout, on cancellation (the future
//! dropped) and when the command exits leaving children behind.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::engine::{BackupLocation, DumpOutcome, EngineInfo};
use super::locate::locate;
use super::tools::parse_output;
use crate::uri::{MongoUri, redact};

/// Output kept from one process, bytes: the start and the end are kept, the
/// middle is dropped (a progress-bar flood must not fill memory).
pub const OUTPUT_LIMIT: usize = 1024 * 1024;

/// How long the output readers may take after the process group is gone.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What to run and with what.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The shell command line, run as `bash -c COMMAND` (a script path works).
    pub command: String,
    /// The source deployment, given to the command as `MONGO_URI` (credentials included).
    pub uri: MongoUri,
    /// The database, given as `DB_NAME`.
    pub database: String,
    /// Where the command puts its backups, given as `BACKUP_DIR`; searched afterwards.
    pub backup_dir: PathBuf,
    /// The drill run, given as `RUN_ID`.
    pub run_id: String,
    /// The command is killed (with its whole process group) after this long.
    pub timeout: Duration,
    /// The folder of the `drdrill` executable, prepended to `PATH` so the
    /// command can call `drdrill dump`; the running executable's folder when `None`.
    pub drdrill_dir: Option<PathBuf>,
    /// More environment variables (a scenario's own, e.g. `MONGODUMP`).
    pub env: Vec<(String, String)>,
    /// The working folder; the harness's own when `None`.
    pub working_dir: Option<PathBuf>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CommandExit {
    /// It exited with this code.
    Code {
        /// The exit code.
        code: i32,
    },
    /// A signal ended it.
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// It ran past its timeout and was killed.
    TimedOut,
}

impl CommandExit {
    /// Whether it exited with code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, CommandExit::Code { code: 0 })
    }
}

/// A new entry of `BACKUP_DIR` that is not a backup, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotABackup {
    /// The entry.
    pub path: PathBuf,
    /// Why it is not a backup (what `locate` said).
    pub problem: String,
}

/// What the command did, judged by what exists afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOutcome {
    /// The command line as run, redacted.
    pub command: String,
    /// How it ended.
    pub exit: CommandExit,
    /// The backup it produced: the newest new backup in `BACKUP_DIR`;
    /// `None` when it produced none, whatever its exit status says.
    pub dump: Option<DumpOutcome>,
    /// Entries of `BACKUP_DIR` that existed before and are gone afterwards
    /// (a retention step deleting backups, even when the new one failed).
    pub deleted: Vec<PathBuf>,
    /// New or changed entries of `BACKUP_DIR` that are not backups (an empty
    /// `.tar.gz` left by a failed run).
    pub not_backups: Vec<NotABackup>,
    /// Its stdout and stderr, redacted and bounded.
    pub output: String,
    /// How long it ran.
    pub duration: Duration,
}

impl CommandOutcome {
    /// What a drill must flag, in sentences: a success status without a
    /// backup, deleted backups, a failure status, a timeout.
    pub fn findings(&self) -> Vec<String> {
        let mut findings = Vec::new();
        match (&self.exit, &self.dump) {
            (CommandExit::TimedOut, _) => findings.push("the command ran past its timeout and was killed".to_owned()),
            (exit, None) if exit.is_success() => {
                findings.push("the command exited 0 but produced no backup".to_owned());
            }
            (CommandExit::Code { code }, None) => {
                findings.push(format!("the command exited {code} and produced no backup"));
            }
            (CommandExit::Signal { signal }, _) => findings.push(format!("the command was ended by signal {signal}")),
            (CommandExit::Code { code }, Some(_)) if *code != 0 => {
                findings.push(format!("the command exited {code} although it produced a backup"));
            }
            _ => {}
        }
        if !self.deleted.is_empty() {
            let names: Vec<String> = self.deleted.iter().map(|path| path.display().to_string()).collect();
            findings.push(format!(
                "the command deleted {} entr{} of the backup folder: {}",
                names.len(),
                if names.len() == 1 { "y" } else { "ies" },
                names.join(", ")
            ));
        }
        for entry in &self.not_backups {
            findings.push(format!(
                "the command left {} which is not a backup: {}",
                entry.path.display(),
                entry.problem
            ));
        }
        findings
    }
}

/// Why the command engine could not run or judge the command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No command was given.
    #[error("the command engine needs a command (a script path or a shell command line)")]
    Empty,
    /// `bash` could not be started.
    #[error("cannot start bash -c {command}")]
    Spawn {
        /// The command line, redacted.
        command: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The backup folder could not be listed.
    #[error("cannot list the backup folder {path}")]
    ListBackupDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Runs the command, then finds the backup it produced and what it deleted.
///
/// Returns `Ok` whenever the command ran, whatever it did: a timeout, a
/// failure status or a missing backup are facts in the outcome (see
/// [`CommandOutcome::findings`]), not errors.
pub async fn run(request: &CommandRequest) -> Result<CommandOutcome, CommandError> {
    if request.command.trim().is_empty() {
        return Err(CommandError::Empty);
    }
    let shown = redact(&request.command);
    let before = snapshot(&request.backup_dir)?;
    let env = command_env(request);
    let started = Instant::now();
    let run = run_process(
        OsStr::new("bash"),
        &[OsString::from("-c"), OsString::from(&request.command)],
        &env,
        request.working_dir.as_deref(),
        request.timeout,
        &[request.uri.expose_secret()],
    )
    .await
    .map_err(|source| CommandError::Spawn {
        command: shown.clone(),
        source,
    })?;
    let duration = started.elapsed();
    let after = snapshot(&request.backup_dir)?;

    let deleted: Vec<PathBuf> = before
        .keys()
        .filter(|path| !after.contains_key(*path))
        .cloned()
        .collect();
    let mut newest: Option<(SystemTime, BackupLocation)> = None;
    let mut not_backups = Vec::new();
    for (path, state) in &after {
        if before.get(path) == Some(state) {
            continue;
        }
        match locate(path) {
            Ok(location) => {
                if newest.as_ref().is_none_or(|(time, _)| state.modified >= *time) {
                    newest = Some((state.modified, location));
                }
            }
            Err(error) => not_backups.push(NotABackup {
                path: path.clone(),
                problem: crate::backup::verify::chain(&error),
            }),
        }
    }
    let dump = newest.map(|(_, location)| DumpOutcome {
        engine: EngineInfo {
            name: "command".to_owned(),
            version: shown.clone(),
        },
        bytes: size_on_disk(location_path(&location)),
        location,
        // A runbook that calls mongodump passes its log through.
        collections: parse_output(&run.output).collections,
        duration,
        output: run.output.clone(),
    });
    Ok(CommandOutcome {
        command: shown,
        exit: run.exit,
        dump,
        deleted,
        not_backups,
        output: run.output,
        duration,
    })
}

fn command_env(request: &CommandRequest) -> Vec<(OsString, OsString)> {
    let drdrill_dir = request.drdrill_dir.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
    });
    let mut paths: Vec<PathBuf> = drdrill_dir.into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    let path = std::env::join_paths(paths).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default());
    let mut env: Vec<(OsString, OsString)> = vec![
        ("MONGO_URI".into(), request.uri.expose_secret().into()),
        ("DB_NAME".into(), (&request.database).into()),
        ("BACKUP_DIR".into(), request.backup_dir.as_os_str().to_owned()),
        ("RUN_ID".into(), (&request.run_id).into()),
        ("PATH".into(), path),
    ];
    env.extend(request.env.iter().map(|(key, value)| (key.into(), value.into())));
    env
}

/// What identifies an entry's state: a rewritten file counts as new.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntryState {
    modified: SystemTime,
    bytes: u64,
}

/// The top-level entries of the backup folder (empty when it does not exist yet).
fn snapshot(folder: &Path) -> Result<BTreeMap<PathBuf, EntryState>, CommandError> {
    let listing_error = |source| CommandError::ListBackupDir {
        path: folder.to_owned(),
        source,
    };
    let mut entries = BTreeMap::new();
    let listing = match std::fs::read_dir(folder) {
        Ok(listing) => listing,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(entries),
        Err(error) => return Err(listing_error(error)),
    };
    for entry in listing {
        let entry = entry.map_err(listing_error)?;
        // An entry deleted between listing and stat is simply gone.
        let Ok(metadata) = entry.metadata() else { continue };
        entries.insert(
            entry.path(),
            EntryState {
                modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                bytes: metadata.len(),
            },
        );
    }
    Ok(entries)
}

/// The path inside a location.
pub(crate) fn location_path(location: &BackupLocation) -> &Path {
    match location {
        BackupLocation::Directory { path, .. }
        | BackupLocation::Archive { path, .. }
        | BackupLocation::TarGz { path } => path,
    }
}

/// Bytes of a file, or of every file under a folder.
pub(crate) fn size_on_disk(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.len();
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| size_on_disk(&entry.path()))
        .sum()
}

/// A finished child process.
#[derive(Debug, Clone)]
pub struct ProcessRun {
    /// How it ended.
    pub exit: CommandExit,
    /// stdout and stderr lines in arrival order, redacted and bounded.
    pub output: String,
}

/// Kills a process group when dropped, unless disarmed: the fallback that
/// ends a command when the future running it is dropped (cancellation).
struct GroupGuard {
    group: Option<i32>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(group) = self.group {
            // ESRCH (nothing left in the group) is the normal case after an exit.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Output lines kept from a process: the first half of the budget, then a
/// rolling window of the last half.
#[derive(Default)]
struct Capture {
    head: Vec<String>,
    head_bytes: usize,
    tail: VecDeque<String>,
    tail_bytes: usize,
    dropped: u64,
}

impl Capture {
    fn push(&mut self, line: String) {
        let half = OUTPUT_LIMIT / 2;
        if self.dropped == 0 && self.tail.is_empty() && self.head_bytes + line.len() <= half {
            self.head_bytes += line.len();
            self.head.push(line);
            return;
        }
        self.tail_bytes += line.len();
        self.tail.push_back(line);
        while self.tail_bytes > half {
            match self.tail.pop_front() {
                Some(old) => {
                    self.tail_bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    fn text(&self) -> String {
        let mut lines: Vec<String> = self.head.clone();
        if self.dropped > 0 {
            lines.push(format!("[drdrill: {} lines of output left out]", self.dropped));
        }
        lines.extend(self.tail.iter().cloned());
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }
}

/// Runs `program ARGS` in its own process group with `env` added, stdin
/// closed, until it exits or `timeout` passes. Output lines are redacted
/// (URIs' passwords and each of `secrets` verbatim) before they are kept.
/// Whatever is left in the group when it ends is killed, and on timeout or
/// when this future is dropped the whole group is killed.
pub async fn run_process(
    program: &OsStr,
    args: &[OsString],
    env: &[(OsString, OsString)],
    working_dir: Option<&Path>,
    timeout: Duration,
    secrets: &[&str],
) -> io::Result<ProcessRun> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(folder) = working_dir {
        command.current_dir(folder);
    }
    let mut child = command.spawn()?;
    let mut guard = GroupGuard {
        group: child.id().and_then(|pid| i32::try_from(pid).ok()),
    };
    let capture = Arc::new(Mutex::new(Capture::default()));
    let secrets: Arc<Vec<String>> = Arc::new(
        secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .map(|secret| (*secret).to_owned())
            .collect(),
    );
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(tokio::spawn(read_lines(stdout, capture.clone(), secrets.clone())));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(read_lines(stderr, capture.clone(), secrets.clone())));
    }
    let exit = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => exit_of(status?),
        Err(_) => {
            guard.kill();
            let _ = child.wait().await;
            CommandExit::TimedOut
        }
    };
    // Children the command left behind would hold the pipes open forever.
    guard.kill();
    guard.group = None;
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN_GRACE, reader).await.is_err() {
            // A process that left the group (setsid) still holds the pipe.
            abort.abort();
        }
    }
    let output = capture.lock().map(|capture| capture.text()).unwrap_or_default();
    Ok(ProcessRun { exit, output })
}

fn exit_of(status: ExitStatus) -> CommandExit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => CommandExit::Code { code },
        (None, Some(signal)) => CommandExit::Signal { signal },
        (None, None) => CommandExit::Code { code: -1 },
    }
}

async fn read_lines(stream: impl AsyncRead + Unpin, capture: Arc<Mutex<Capture>>, secrets: Arc<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let mut shown = redact(text.trim_end_matches(['\n', '\r']));
                for secret in secrets.iter() {
                    shown = shown.replace(secret.as_str(), &redact(secret));
                }
                if let Ok(mut capture) = capture.lock() {
                    capture.push(shown);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(command: &str, backup_dir: &Path) -> CommandRequest {
        CommandRequest {
            command: command.to_owned(),
            uri: MongoUri::parse("mongodb://admin:s3cret@127.0.0.1:1/?serverSelectionTimeoutMS=500").unwrap(),
            database: "shepherd_cms".to_owned(),
            backup_dir: backup_dir.to_owned(),
            run_id: "run-1".to_owned(),
            timeout: Duration::from_secs(20),
            drdrill_dir: Some(PathBuf::from("/opt/drdrill-bin")),
            env: vec![("EXTRA".to_owned(), "yes".to_owned())],
            working_dir: None,
        }
    }

    #[tokio::test]
    async fn environment_reaches_the_command_and_secrets_stay_out() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = run(&request(
            "echo \"$MONGO_URI|$DB_NAME|$BACKUP_DIR|$RUN_ID|$EXTRA\"; echo \"${PATH%%:*}\" >&2",
            dir.path(),
        ))
        .await
        .unwrap();
        let expected = format!(
            "mongodb://admin:****@127.0.0.1:1/?serverSelectionTimeoutMS=500|shepherd_cms|{}|run-1|yes",
            dir.path().display()
        );
        assert!(outcome.output.contains(&expected), "{}", outcome.output);
        assert!(outcome.output.contains("/opt/drdrill-bin\n"), "{}", outcome.output);
        assert!(!outcome.output.contains("s3cret"));
        assert_eq!(outcome.exit, CommandExit::Code { code: 0 });
        assert!(outcome.dump.is_none());
        assert_eq!(outcome.findings(), vec!["the command exited 0 but produced no backup"]);
    }

    #[tokio::test]
    async fn a_new_backup_is_found_and_deletions_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.tar.gz"), b"old").unwrap();
        std::fs::write(dir.path().join("keep.txt"), b"keep").unwrap();
        let outcome = run(&request(
            "mkdir -p \"$BACKUP_DIR/dump/$DB_NAME\" && printf '\\005\\0\\0\\0\\0' > \"$BACKUP_DIR/dump/$DB_NAME/c.bson\" \
             && rm \"$BACKUP_DIR/old.tar.gz\" && exit 3",
            dir.path(),
        ))
        .await
        .unwrap();
        assert_eq!(outcome.exit, CommandExit::Code { code: 3 });
        let dump = outcome.dump.as_ref().expect("backup found");
        assert_eq!(
            dump.location,
            BackupLocation::Directory {
                path: dir.path().join("dump"),
                gzip: false
            }
        );
        assert_eq!(dump.bytes, 5);
        assert_eq!(outcome.deleted, vec![dir.path().join("old.tar.gz")]);
        let findings = outcome.findings();
        assert!(
            findings[0].contains("exited 3 although it produced a backup"),
            "{findings:?}"
        );
        assert!(findings[1].contains("deleted 1 entry"), "{findings:?}");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let mut slow = request(
            &format!("sleep 300 & echo $! > {}; wait", pid_file.display()),
            &dir.path().join("backups"),
        );
        slow.timeout = Duration::from_millis(500);
        let started = Instant::now();
        let outcome = run(&slow).await.unwrap();
        assert_eq!(outcome.exit, CommandExit::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = read_pid(&pid_file).await;
        // The grandchild `sleep` belonged to the group: it must be gone.
        wait_gone(pid, "the timeout").await;
        assert!(outcome.findings()[0].contains("timeout"));
    }

    /// Polls until process `pid` is gone (or a zombie), panicking after 5 s.
    async fn wait_gone(pid: i32, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if matches!(crate::provider::record::process_state(pid), None | Some('Z')) {
                return;
            }
            assert!(Instant::now() < deadline, "sleep {pid} survived {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the command wrote its child's pid, panicking after 10 s.
    async fn read_pid(pid_file: &Path) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(pid) = std::fs::read_to_string(pid_file).unwrap_or_default().trim().parse() {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "the command never wrote {}",
                pid_file.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn cancellation_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let command = request(
            &format!("sleep 300 & echo $! > {}; wait", pid_file.display()),
            dir.path(),
        );
        let running = tokio::spawn(async move { run(&command).await });
        let pid = read_pid(&pid_file).await;
        // Dropping the future mid-run is what a cancelled drill does.
        running.abort();
        assert!(running.await.unwrap_err().is_cancelled());
        wait_gone(pid, "cancellation").await;
    }

    #[test]
    fn capture_keeps_head_and_tail() {
        let mut capture = Capture::default();
        let line = "x".repeat(1000);
        for index in 0..2000 {
            capture.push(format!("{index:05}{line}"));
        }
        let text = capture.text();
        assert!(text.len() <= OUTPUT_LIMIT + 200);
        assert!(text.starts_with("00000"));
        assert!(text.contains("lines of output left out"));
        assert!(text.trim_end().lines().last().unwrap().starts_with("01999"));
    }

    #[tokio::test]
    async fn empty_command_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            run(&request("  ", dir.path())).await,
            Err(CommandError::Empty)
        ));
    }
}
