//! The `command` engine: runs a team's own backup script or shell command
//! (their runbook) and then judges it by what it left on disk, not by its
//! exit status. A runbook without `set -e` prints "Backup completed" and
//! exits 0 when its dump failed, and its retention step deletes old backups
//! all the same; a drill must see both.
//!
//! The command runs through [`crate::process`] (its own process group, a
//! timeout, scrubbed output) with the environment every drill command gets.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::engine::{BackupLocation, DumpOutcome, EngineInfo};
use super::locate::locate;
use super::tools::parse_output;
pub use crate::process::{CommandExit, OUTPUT_LIMIT, ProcessRun};
use crate::process::{EnvBuilder, run_process};
use crate::uri::MongoUri;

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
    let scrubber = request.uri.scrubber();
    let shown = scrubber.scrub(&request.command);
    let before = snapshot(&request.backup_dir)?;
    let env = command_env(request);
    let started = Instant::now();
    let run = run_process(
        OsStr::new("bash"),
        &[OsString::from("-c"), OsString::from(&request.command)],
        &env,
        request.working_dir.as_deref(),
        request.timeout,
        &scrubber,
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
                problem: crate::error::chain(&error),
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
    let builder = EnvBuilder::for_deployment(&request.uri, &request.database, &request.run_id, &request.backup_dir)
        .with_drdrill_dir(request.drdrill_dir.clone());
    request
        .env
        .iter()
        .fold(builder, |builder, (key, value)| builder.with_var(key, value))
        .build()
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

    #[tokio::test]
    async fn empty_command_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            run(&request("  ", dir.path())).await,
            Err(CommandError::Empty)
        ));
    }

    #[tokio::test]
    async fn a_runbook_echoing_the_bare_password_is_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let mut echoing = request(
            "echo \"$MONGO_URI\"; echo 'raw S3cret%20PW%21'; echo 'decoded S3cret PW!'",
            dir.path(),
        );
        echoing.uri = MongoUri::parse("mongodb://admin:S3cret%20PW%21@127.0.0.1:1/").unwrap();
        let outcome = run(&echoing).await.unwrap();
        assert!(!outcome.output.contains("S3cret"), "{}", outcome.output);
        assert!(
            outcome.output.contains("mongodb://admin:****@127.0.0.1:1/"),
            "{}",
            outcome.output
        );
        assert!(outcome.output.contains("raw ****\ndecoded ****"), "{}", outcome.output);
    }
}
