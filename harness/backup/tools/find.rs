//! Finding the tools: `$DRDRILL_MONGODUMP` / `$DRDRILL_MONGORESTORE` when
//! set, else `PATH`; and asking a tool its version.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Tool, ToolsError};
use crate::process::{EnvBuilder, Found, ProgramSearch, is_executable, path_candidates, run_process};
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
    ProgramSearch::new(tool.variable(), variable, path_candidates(tool.program_name(), path))
        .run(is_executable)
        .map_err(|misnamed| ToolsError::NotExecutable {
            variable: tool.variable(),
            path: misnamed.path,
        })?
        .ok_or(ToolsError::Missing {
            tool: tool.program_name(),
            variable: tool.variable(),
        })
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
