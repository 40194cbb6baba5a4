//! Running dump and restore: one runner for both ([`run_tool`]: the URI
//! in a `--config` file, the process, the shown command line), then what
//! each makes of the result.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::command_line::{dump_command, restore_command, shown_command};
use super::config::ConfigFile;
use super::find::version;
use super::parse::{message, parse_output};
use super::{Tool, ToolsError};
use crate::backup::command::{location_path, size_on_disk};
use crate::backup::engine::{BackupLocation, DumpOutcome, DumpRequest, EngineInfo, RestoreOutcome, RestoreRequest};
use crate::backup::locate::locate;
use crate::process::{CommandExit, EnvBuilder, ProcessRun, run_process};
use crate::progress::ProgressSink;
use crate::uri::MongoUri;

/// The last few lines of `output`, for an error message.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn failure(tool: &'static str, run: ProcessRun, timeout: Duration) -> ToolsError {
    if run.exit == CommandExit::TimedOut {
        return ToolsError::TimedOut {
            tool,
            timeout,
            tail: tail(&run.output),
            output: run.output,
        };
    }
    let report = parse_output(&run.output);
    let message = report
        .failures
        .last()
        .cloned()
        .or_else(|| {
            run.output
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(|line| message(line).to_owned())
        })
        .unwrap_or_else(|| "no output".to_owned());
    ToolsError::Failed {
        tool,
        exit: run.exit,
        message,
        report: Box::new(report),
        output: run.output,
    }
}

/// One run of a tool: which, against what, where its `--config` file
/// goes and for how long. Both dump and restore run through [`ToolRun::run`].
struct ToolRun<'a> {
    /// The tool, for messages.
    tool: Tool,
    /// The deployment; its URI goes into the `--config` file.
    uri: &'a MongoUri,
    /// The run's work folder, where the `--config` file lives meanwhile.
    work_dir: &'a Path,
    /// The tool is killed (with its process group) after this long.
    timeout: Duration,
}

impl<'a> ToolRun<'a> {
    fn new(tool: Tool, uri: &'a MongoUri, work_dir: &'a Path, timeout: Duration) -> Self {
        Self {
            tool,
            uri,
            work_dir,
            timeout,
        }
    }

    /// Runs `command` (as [`dump_command`] or [`restore_command`] built it)
    /// with the URI moved into a `--config` file: returns the run, the
    /// command line as shown (redacted) and how long it took.
    async fn run(
        &self,
        command: &[OsString],
        label: &str,
        progress: &dyn ProgressSink,
    ) -> Result<(ProcessRun, String, Duration), ToolsError> {
        let (tool, uri, work_dir, timeout) = (self.tool, self.uri, self.work_dir, self.timeout);
        let config = ConfigFile::write(work_dir, uri).map_err(|source| ToolsError::Config {
            tool: tool.program_name(),
            folder: work_dir.to_owned(),
            source,
        })?;
        let command = config.apply(command);
        progress.start(label, None);
        let started = Instant::now();
        let run = run_process(
            &command[0],
            &command[1..],
            &EnvBuilder::default().build(),
            None,
            timeout,
            &uri.scrubber(),
        )
        .await
        .map_err(|source| ToolsError::Spawn {
            program: PathBuf::from(&command[0]),
            source,
        });
        progress.finish();
        // The file goes as soon as the tool is done with it.
        drop(config);
        Ok((run?, shown_command(&command), started.elapsed()))
    }
}

/// Lists the database and turns "these several collections" into "all but the others".
async fn as_exclusions(request: &DumpRequest) -> Result<DumpRequest, ToolsError> {
    let Some(wanted) = request.collections.as_ref().filter(|names| names.len() > 1) else {
        return Ok(request.clone());
    };
    let list_error = |source| ToolsError::ListCollections {
        database: request.database.clone(),
        uri: request.uri.redacted(),
        source: Box::new(source),
    };
    let client = crate::connect::client(request.uri.expose_secret(), crate::connect::ConnectProfile::Tools)
        .await
        .map_err(list_error)?;
    let names = client
        .database(&request.database)
        .list_collection_names()
        .await
        .map_err(list_error)?;
    let mut resolved = request.clone();
    resolved.collections = None;
    resolved.exclude.extend(
        names
            .into_iter()
            .filter(|name| !wanted.contains(name) && !request.exclude.contains(name)),
    );
    Ok(resolved)
}

/// Runs mongodump for `request` and locates what it wrote.
///
/// The `--config` file holding the URI is written in `work_dir` (the run's
/// work folder) and removed when the run ends, however it ends.
pub async fn dump(
    request: &DumpRequest,
    mongodump: &Path,
    timeout: Duration,
    work_dir: &Path,
    progress: &dyn ProgressSink,
) -> Result<DumpOutcome, ToolsError> {
    let version = version(mongodump).await?;
    let resolved = as_exclusions(request).await?;
    let command = dump_command(&resolved, mongodump)?;
    let tool = ToolRun::new(Tool::Mongodump, &request.uri, work_dir, timeout);
    let (run, shown, duration) = tool
        .run(&command, &format!("mongodump {}", request.database), progress)
        .await?;
    if !run.exit.is_success() {
        return Err(failure("mongodump", run, timeout));
    }
    let location = locate(&request.out).map_err(|source| ToolsError::NoBackup { source })?;
    Ok(DumpOutcome {
        engine: EngineInfo {
            name: "tools".to_owned(),
            version,
        },
        bytes: size_on_disk(location_path(&location)),
        location,
        collections: parse_output(&run.output).collections,
        duration,
        output: format!("$ {shown}\n{}", run.output),
    })
}

/// Runs mongorestore for `request` (extracting a `.tar.gz` first).
///
/// A run that fails only in creating indexes (mongorestore exits 1 with
/// `Failed: db.c: error creating indexes for db.c: ...` after restoring the
/// documents) is an outcome whose collections carry `index_errors`: the
/// drill reports them as findings. Any other failure is an error.
pub async fn restore(
    request: &RestoreRequest,
    mongorestore: &Path,
    timeout: Duration,
    work_dir: &Path,
    progress: &dyn ProgressSink,
) -> Result<RestoreOutcome, ToolsError> {
    let version = version(mongorestore).await?;
    // Kept alive until the restore is over.
    let mut _extracted: Option<tempfile::TempDir> = None;
    let mut request = request.clone();
    if let BackupLocation::TarGz { path } = &request.source {
        let extract_error = |problem: String| ToolsError::Extract {
            path: path.clone(),
            problem,
        };
        let archive = path.clone();
        let extracted = tokio::task::spawn_blocking(move || crate::backup::extract::extract_dump(&archive))
            .await
            .map_err(|error| extract_error(error.to_string()))?
            .map_err(|error| extract_error(crate::error::chain(&error)))?;
        request.source = extracted.location;
        _extracted = Some(extracted.folder);
    }
    let command = restore_command(&request, mongorestore)?;
    let tool = ToolRun::new(Tool::Mongorestore, &request.uri, work_dir, timeout);
    let label = format!("mongorestore {}", request.to_database);
    let (run, shown, duration) = tool.run(&command, &label, progress).await?;
    let report = parse_output(&run.output);
    let only_index_errors = report.failures.is_empty()
        && report
            .collections
            .iter()
            .any(|collection| !collection.index_errors.is_empty());
    let accepted = run.exit.is_success() || (run.exit == CommandExit::Code { code: 1 } && only_index_errors);
    if !accepted {
        return Err(failure("mongorestore", run, timeout));
    }
    Ok(RestoreOutcome {
        engine: EngineInfo {
            name: "tools".to_owned(),
            version,
        },
        collections: report.collections,
        duration,
        output: format!("$ {shown}\n{}", run.output),
        dry_run: request.dry_run,
    })
}
