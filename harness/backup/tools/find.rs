//! Finding the tools: `$DRDRILL_MONGODUMP` / `$DRDRILL_MONGORESTORE` when
//! set, else `PATH`; and asking a tool its version.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Tool, ToolsError};
use crate::process::{EnvBuilder, run_process};
use crate::provider::tools::Found;
use crate::uri::Scrubber;

/// How long `--version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(15);

/// Both tools, found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSet {
    /// The `mongodump` program.
    pub mongodump: PathBuf,
    /// The `mongorestore` program.
    pub mongorestore: PathBuf,
}

impl ToolSet {
    /// Finds both tools; fails at once, naming the first one missing.
    pub fn find() -> Result<Self, ToolsError> {
        Ok(Self {
            mongodump: find(Tool::Mongodump)?,
            mongorestore: find(Tool::Mongorestore)?,
        })
    }
}

/// Finds a tool: its variable (`$DRDRILL_MONGODUMP`) when set, else `PATH`.
pub fn find(tool: Tool) -> Result<PathBuf, ToolsError> {
    locate(tool).map(|found| found.path)
}

/// [`find`], saying what chose the program (`drdrill doctor` shows it).
pub fn locate(tool: Tool) -> Result<Found, ToolsError> {
    locate_in(tool, std::env::var_os(tool.variable()), std::env::var_os("PATH"))
}

/// [`find`] with the variable's value and `PATH` given, for tests.
#[cfg(test)]
pub(super) fn find_in(tool: Tool, variable: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, ToolsError> {
    locate_in(tool, variable, path).map(|found| found.path)
}

fn locate_in(tool: Tool, variable: Option<OsString>, path: Option<OsString>) -> Result<Found, ToolsError> {
    if let Some(named) = variable.filter(|value| !value.is_empty()) {
        let named = PathBuf::from(named);
        return if is_executable(&named) {
            Ok(Found {
                path: named,
                chosen_by: format!("${}", tool.variable()),
            })
        } else {
            Err(ToolsError::NotExecutable {
                variable: tool.variable(),
                path: named,
            })
        };
    }
    path.iter()
        .flat_map(std::env::split_paths)
        .map(|folder| folder.join(tool.program_name()))
        .find(|candidate| is_executable(candidate))
        .map(|path| Found {
            path,
            chosen_by: "PATH".to_owned(),
        })
        .ok_or(ToolsError::Missing {
            tool: tool.program_name(),
            variable: tool.variable(),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first line of `PROGRAM --version` (`mongodump version: 100.13.0`).
pub async fn version(program: &Path) -> Result<String, ToolsError> {
    let run = run_process(
        program.as_os_str(),
        &[OsString::from("--version")],
        &EnvBuilder::default().build(),
        None,
        VERSION_TIMEOUT,
        &Scrubber::default(),
    )
    .await
    .map_err(|source| ToolsError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    let first = run.output.lines().map(str::trim).find(|line| !line.is_empty());
    match (run.exit.is_success(), first) {
        (true, Some(line)) => Ok(line.to_owned()),
        _ => Err(ToolsError::Version {
            program: program.to_owned(),
            exit: run.exit,
            output: run.output,
        }),
    }
}
