//! Choosing the backup engine and dispatching to it. `auto` means the real
//! tools when both are present, the builtin engine otherwise (or the user's
//! command when one is given); the choice and its reason are recorded so a
//! report says which engine a drill measured.

use std::path::PathBuf;
use std::time::Duration;

use super::builtin;
use super::command::{self, CommandError, CommandOutcome, CommandRequest};
use super::engine::{BackupLocation, DumpOutcome, DumpRequest, EngineChoice, RestoreOutcome, RestoreRequest};
use super::tools::{self, ToolSet, ToolsError};
use crate::progress::ProgressSink;

/// The engine that will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The real `mongodump` / `mongorestore`.
    Tools(ToolSet),
    /// The harness's own engine.
    Builtin,
    /// The user's command line.
    Command(String),
}

/// An engine choice resolved against what this machine has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEngine {
    /// What the scenario or flag asked for.
    pub choice: EngineChoice,
    /// What will run.
    pub engine: Engine,
    /// Why, in a sentence (how `auto` decided), for the report.
    pub reason: String,
}

impl ResolvedEngine {
    /// `tools`, `builtin` or `command`.
    pub fn name(&self) -> &'static str {
        match self.engine {
            Engine::Tools(_) => "tools",
            Engine::Builtin => "builtin",
            Engine::Command(_) => "command",
        }
    }
}

/// Why an engine choice cannot be honoured.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// The tools were asked for and are not here.
    #[error(transparent)]
    Tools(#[from] ToolsError),
    /// The command engine was asked for without a command.
    #[error("the command engine needs a command (a script path or a shell command line)")]
    NoCommand,
    /// A command was given to an engine that does not run commands.
    #[error("a backup command was given but the engine is {choice:?}: choose the command engine (or auto)")]
    CommandIgnored {
        /// The engine asked for.
        choice: EngineChoice,
    },
}

/// Resolves `choice` against this machine: finds the tools when they are
/// asked for (failing at once when they are missing) or when `auto` must decide.
pub fn resolve(choice: EngineChoice, command: Option<&str>) -> Result<ResolvedEngine, SelectError> {
    resolve_with(choice, command, ToolSet::find)
}

fn resolve_with(
    choice: EngineChoice,
    command: Option<&str>,
    find_tools: impl FnOnce() -> Result<ToolSet, ToolsError>,
) -> Result<ResolvedEngine, SelectError> {
    let command = command.map(str::trim).filter(|command| !command.is_empty());
    let resolved = |engine, reason: String| ResolvedEngine { choice, engine, reason };
    match (choice, command) {
        (EngineChoice::Command, Some(command)) => Ok(resolved(
            Engine::Command(command.to_owned()),
            "the command engine was asked for".to_owned(),
        )),
        (EngineChoice::Command, None) => Err(SelectError::NoCommand),
        (EngineChoice::Tools | EngineChoice::Builtin, Some(_)) => Err(SelectError::CommandIgnored { choice }),
        (EngineChoice::Tools, None) => {
            let tools = find_tools()?;
            Ok(resolved(
                Engine::Tools(tools),
                "the tools engine was asked for".to_owned(),
            ))
        }
        (EngineChoice::Builtin, None) => Ok(resolved(Engine::Builtin, "the builtin engine was asked for".to_owned())),
        (EngineChoice::Auto, Some(command)) => Ok(resolved(
            Engine::Command(command.to_owned()),
            "auto: a backup command was given".to_owned(),
        )),
        (EngineChoice::Auto, None) => match find_tools() {
            Ok(tools) => {
                let reason = format!(
                    "auto: mongodump ({}) and mongorestore ({}) are present",
                    tools.mongodump.display(),
                    tools.mongorestore.display()
                );
                Ok(resolved(Engine::Tools(tools), reason))
            }
            Err(missing) => Ok(resolved(Engine::Builtin, format!("auto: {missing}"))),
        },
    }
}

/// How engines run, beyond what a request says.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// An external program (tools, command) is killed after this long.
    pub timeout: Duration,
    /// The drill run, given to a command as `RUN_ID`.
    pub run_id: String,
    /// The folder of the `drdrill` executable for a command's `PATH`; the running one's when `None`.
    pub drdrill_dir: Option<PathBuf>,
    /// More environment variables for a command.
    pub env: Vec<(String, String)>,
    /// The run's work folder, where the tools engine writes its private
    /// `--config` file for the run's length; the system's temporary folder
    /// by default.
    pub work_dir: PathBuf,
}

impl EngineSettings {
    /// Settings with `timeout` and `run_id`, nothing else.
    pub fn new(timeout: Duration, run_id: impl Into<String>) -> Self {
        Self {
            timeout,
            run_id: run_id.into(),
            drdrill_dir: None,
            env: Vec::new(),
            work_dir: std::env::temp_dir(),
        }
    }

    /// The same settings with `work_dir` as the run's work folder.
    pub fn with_work_dir(mut self, work_dir: impl Into<PathBuf>) -> Self {
        self.work_dir = work_dir.into();
        self
    }
}

/// Why a backup or restore through the selected engine failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The tools engine failed.
    #[error("the tools engine failed")]
    Tools(#[from] ToolsError),
    /// The command engine could not run the command.
    #[error("the command engine failed")]
    Command(#[from] CommandError),
    /// The builtin engine is not wired in yet.
    /// The builtin engine failed.
    #[error("the builtin engine failed")]
    Builtin(#[from] builtin::BuiltinError),
    /// Restores are not something a backup command does.
    #[error("the command engine only runs a backup command; restore with the tools or builtin engine")]
    CommandCannotRestore,
    /// A restore of every database found none in the backup.
    #[error("the backup holds no database to restore")]
    NothingToRestore,
}

/// What a dump produced, per engine kind.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpResult {
    /// The tools or the builtin engine wrote a backup.
    Written(DumpOutcome),
    /// The command ran; its outcome says whether it left a backup, and what it deleted.
    Command(CommandOutcome),
}

impl DumpResult {
    /// The backup, when there is one.
    pub fn backup(&self) -> Option<&DumpOutcome> {
        match self {
            DumpResult::Written(outcome) => Some(outcome),
            DumpResult::Command(outcome) => outcome.dump.as_ref(),
        }
    }
}

/// A dump through the selected engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedDump {
    /// The engine and why it was chosen.
    pub resolved: ResolvedEngine,
    /// What it produced.
    pub result: DumpResult,
}

/// A restore through the selected engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedRestore {
    /// The engine and why it was chosen.
    pub resolved: ResolvedEngine,
    /// What it restored.
    pub outcome: RestoreOutcome,
}

/// Dumps through `engine`. For the command engine, `request.out` is the
/// backup folder (`BACKUP_DIR`) the command writes into.
pub async fn dump(
    engine: &ResolvedEngine,
    request: &DumpRequest,
    settings: &EngineSettings,
    progress: &dyn ProgressSink,
) -> Result<SelectedDump, BackupError> {
    let result = match &engine.engine {
        Engine::Tools(tools) => DumpResult::Written(
            tools::dump(
                request,
                &tools.mongodump,
                settings.timeout,
                &settings.work_dir,
                progress,
            )
            .await?,
        ),
        Engine::Builtin => DumpResult::Written(builtin::dump(request, progress).await?),
        Engine::Command(command_line) => {
            let command_request = CommandRequest {
                command: command_line.clone(),
                uri: request.uri.clone(),
                database: request.database.clone(),
                backup_dir: request.out.clone(),
                run_id: settings.run_id.clone(),
                timeout: settings.timeout,
                drdrill_dir: settings.drdrill_dir.clone(),
                env: settings.env.clone(),
                working_dir: None,
            };
            progress.start(&format!("backup command for {}", request.database), None);
            let outcome = command::run(&command_request).await;
            progress.finish();
            DumpResult::Command(outcome?)
        }
    };
    Ok(SelectedDump {
        resolved: engine.clone(),
        result,
    })
}

/// Restores through `engine`.
pub async fn restore(
    engine: &ResolvedEngine,
    request: &RestoreRequest,
    settings: &EngineSettings,
    progress: &dyn ProgressSink,
) -> Result<SelectedRestore, BackupError> {
    let outcome = match &engine.engine {
        Engine::Tools(tools) => {
            tools::restore(
                request,
                &tools.mongorestore,
                settings.timeout,
                &settings.work_dir,
                progress,
            )
            .await?
        }
        Engine::Builtin => builtin::restore(request, progress).await?,
        Engine::Command(_) => return Err(BackupError::CommandCannotRestore),
    };
    Ok(SelectedRestore {
        resolved: engine.clone(),
        outcome,
    })
}

/// Restores each request in turn through `engine` (one per database of a
/// full-server backup, as `mongorestore` restores every database it finds):
/// one outcome, its collections named `database.collection` when there are
/// several databases.
pub async fn restore_each(
    engine: &ResolvedEngine,
    requests: &[RestoreRequest],
    settings: &EngineSettings,
    progress: &dyn ProgressSink,
) -> Result<SelectedRestore, BackupError> {
    let mut combined: Option<RestoreOutcome> = None;
    for request in requests {
        let outcome = restore(engine, request, settings, progress).await?.outcome;
        combine(&mut combined, outcome, request, requests.len());
    }
    let outcome = combined.ok_or(BackupError::NothingToRestore)?;
    Ok(SelectedRestore {
        resolved: engine.clone(),
        outcome,
    })
}

/// Adds the `outcome` of `request`, one of `requests` requests, to
/// `combined`; with several, collections are named `database.collection`.
pub fn combine(
    combined: &mut Option<RestoreOutcome>,
    mut outcome: RestoreOutcome,
    request: &RestoreRequest,
    requests: usize,
) {
    if requests > 1 {
        for collection in &mut outcome.collections {
            collection.name = format!("{}.{}", request.to_database, collection.name);
        }
    }
    match combined {
        None => *combined = Some(outcome),
        Some(so_far) => {
            so_far.collections.extend(outcome.collections);
            so_far.output.push_str(&outcome.output);
            so_far.duration += outcome.duration;
        }
    }
}

/// The databases `location` holds, sorted (read off the disk, off the
/// async threads).
pub async fn databases_in(location: &BackupLocation) -> Result<Vec<String>, BackupError> {
    let location = location.clone();
    let listed =
        tokio::task::spawn_blocking(move || builtin::OpenedBackup::open(&location).map(|opened| opened.databases()))
            .await
            .map_err(|source| builtin::BuiltinError::Task {
                what: "listing the backup's databases".to_owned(),
                source,
            })??;
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::engine::Layout;
    use crate::progress::NoProgress;
    use crate::uri::MongoUri;

    fn present() -> Result<ToolSet, ToolsError> {
        Ok(ToolSet {
            mongodump: PathBuf::from("/opt/tools/mongodump"),
            mongorestore: PathBuf::from("/opt/tools/mongorestore"),
        })
    }

    fn absent() -> Result<ToolSet, ToolsError> {
        Err(ToolsError::Missing {
            tool: "mongodump",
            variable: "DRDRILL_MONGODUMP",
        })
    }

    #[test]
    fn auto_prefers_the_tools_and_says_why() {
        let resolved = resolve_with(EngineChoice::Auto, None, present).unwrap();
        assert_eq!(resolved.name(), "tools");
        assert!(resolved.reason.contains("/opt/tools/mongodump"), "{}", resolved.reason);
        let resolved = resolve_with(EngineChoice::Auto, None, absent).unwrap();
        assert_eq!(resolved.engine, Engine::Builtin);
        assert_eq!(
            resolved.reason,
            "auto: mongodump not found on PATH (set DRDRILL_MONGODUMP or install MongoDB Database Tools)"
        );
        let resolved = resolve_with(EngineChoice::Auto, Some("./backup-mongo.sh"), present).unwrap();
        assert_eq!(resolved.engine, Engine::Command("./backup-mongo.sh".to_owned()));
    }

    #[test]
    fn asking_for_absent_tools_fails_at_once() {
        let error = resolve_with(EngineChoice::Tools, None, absent).unwrap_err();
        assert_eq!(
            error.to_string(),
            "mongodump not found on PATH (set DRDRILL_MONGODUMP or install MongoDB Database Tools)"
        );
    }

    #[test]
    fn commands_and_engines_must_agree() {
        assert!(matches!(
            resolve_with(EngineChoice::Command, Some("  "), present),
            Err(SelectError::NoCommand)
        ));
        assert!(matches!(
            resolve_with(EngineChoice::Builtin, Some("x.sh"), present),
            Err(SelectError::CommandIgnored {
                choice: EngineChoice::Builtin
            })
        ));
        let resolved = resolve_with(EngineChoice::Builtin, None, || panic!("not looked up")).unwrap();
        assert_eq!(resolved.name(), "builtin");
    }

    fn dump_request(out: PathBuf) -> DumpRequest {
        DumpRequest {
            uri: MongoUri::parse("mongodb://127.0.0.1:1/").unwrap(),
            database: "shepherd_cms".to_owned(),
            collections: None,
            exclude: Vec::new(),
            layout: Layout::Directory { gzip: false },
            out,
            parallel_collections: 0,
        }
    }

    #[tokio::test]
    async fn builtin_errors_come_through_as_builtin() {
        let engine = resolve_with(EngineChoice::Builtin, None, absent).unwrap();
        let settings = EngineSettings::new(Duration::from_secs(5), "run");
        let error = dump(
            &engine,
            &dump_request(PathBuf::from("/nonexistent")),
            &settings,
            &NoProgress,
        )
        .await
        .unwrap_err();
        assert_eq!(error.to_string(), "the builtin engine failed");
        assert!(matches!(error, BackupError::Builtin(_)), "{error:?}");
    }

    #[tokio::test]
    async fn the_command_engine_dumps_and_cannot_restore() {
        let folder = tempfile::tempdir().unwrap();
        let engine = resolve_with(
            EngineChoice::Command,
            Some("mkdir -p \"$BACKUP_DIR/d/$DB_NAME\" && : > \"$BACKUP_DIR/d/$DB_NAME/c.bson\""),
            absent,
        )
        .unwrap();
        let settings = EngineSettings::new(Duration::from_secs(20), "run-7");
        let selected = dump(&engine, &dump_request(folder.path().to_owned()), &settings, &NoProgress)
            .await
            .unwrap();
        let backup = selected.result.backup().expect("a backup");
        assert_eq!(
            backup.location,
            BackupLocation::Directory {
                path: folder.path().join("d"),
                gzip: false
            }
        );
        let restore_request = RestoreRequest {
            uri: MongoUri::parse("mongodb://127.0.0.1:1/").unwrap(),
            source: backup.location.clone(),
            from_database: "shepherd_cms".to_owned(),
            to_database: "shepherd_cms".to_owned(),
            collections: None,
            drop: false,
            dry_run: false,
            workers_per_collection: 0,
            parallel_collections: 0,
        };
        let error = restore(&engine, &restore_request, &settings, &NoProgress)
            .await
            .unwrap_err();
        assert!(matches!(error, BackupError::CommandCannotRestore));
    }
}
