//! Finding the programs deployments need: FerretDB (built by
//! `scripts/setup` into the project's `.tools/bin`), `mongod`, and
//! PostgreSQL's server programs. A missing one is an error that names it and
//! the command that installs it.

use std::path::{Path, PathBuf};

use super::error::ProviderError;

/// The command that installs every tool the harness needs.
pub const SETUP_COMMAND: &str = "scripts/setup";

/// Where `scripts/setup` puts its tools, relative to the project root.
const TOOLS_BIN: &str = ".tools/bin";

/// Looks for `name` in the directories of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Project roots to search for `.tools/bin`: the ancestors of the running
/// executable (a `target/*/drdrill` inside a checkout) and the folder the
/// crate was built from.
fn project_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
}

/// A program the harness found, and what chose it (`drdrill doctor` shows
/// both, so a variable that was set but not used is visible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The program (or, for PostgreSQL, the folder of its programs).
    pub path: PathBuf,
    /// `$DRDRILL_FERRETDB`, `.tools/bin of the project`, `PATH`, ...
    pub chosen_by: String,
}

/// The program named by `variable`, if it is set: an error when it does not
/// name what `usable` accepts (a setting that is ignored is a trap).
fn from_variable(variable: &str, tool: &str, usable: impl Fn(&Path) -> bool) -> Result<Option<Found>, ProviderError> {
    let Some(value) = std::env::var_os(variable).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(value);
    if usable(&path) {
        return Ok(Some(Found {
            path,
            chosen_by: format!("${variable}"),
        }));
    }
    Err(ProviderError::VariableMisnamed {
        variable: variable.into(),
        path,
        expected: tool.into(),
    })
}

/// The FerretDB binary: `$DRDRILL_FERRETDB`, the project's `.tools/bin`,
/// or `ferretdb` on `PATH`.
pub fn ferretdb() -> Result<PathBuf, ProviderError> {
    locate_ferretdb().map(|found| found.path)
}

/// [`ferretdb`], saying what chose it.
pub fn locate_ferretdb() -> Result<Found, ProviderError> {
    if let Some(found) = from_variable("DRDRILL_FERRETDB", "the ferretdb executable", is_executable)? {
        return Ok(found);
    }
    for root in project_roots() {
        let candidate = root.join(TOOLS_BIN).join("ferretdb");
        if is_executable(&candidate) {
            return Ok(Found {
                path: candidate,
                chosen_by: format!("{TOOLS_BIN} of the project"),
            });
        }
    }
    if let Some(path) = find_on_path("ferretdb") {
        return Ok(Found {
            path,
            chosen_by: "PATH".into(),
        });
    }
    Err(ProviderError::ToolMissing {
        tool: "ferretdb".into(),
        looked: format!("looked in $DRDRILL_FERRETDB, {TOOLS_BIN}/ferretdb of the project, PATH"),
        fix: SETUP_COMMAND.into(),
    })
}

/// The `mongod` binary: `$DRDRILL_MONGOD` or `mongod` on `PATH`.
pub fn mongod() -> Result<PathBuf, ProviderError> {
    locate_mongod().map(|found| found.path)
}

/// [`mongod`], saying what chose it.
pub fn locate_mongod() -> Result<Found, ProviderError> {
    if let Some(found) = from_variable("DRDRILL_MONGOD", "the mongod executable", is_executable)? {
        return Ok(found);
    }
    find_on_path("mongod")
        .map(|path| Found {
            path,
            chosen_by: "PATH".into(),
        })
        .ok_or_else(|| ProviderError::ToolMissing {
            tool: "mongod".into(),
            looked: "looked in $DRDRILL_MONGOD and PATH".into(),
            fix: "install MongoDB Community Server (not obtainable on machines without MongoDB's download site) \
                  or set DRDRILL_MONGOD"
                .into(),
        })
}

/// The folder holding PostgreSQL's server programs (`initdb`, `pg_ctl`):
/// `$DRDRILL_PG_BIN`, or the newest `/usr/lib/postgresql/*/bin`.
pub fn postgres_bin() -> Result<PathBuf, ProviderError> {
    locate_postgres_bin().map(|found| found.path)
}

/// [`postgres_bin`], saying what chose it.
pub fn locate_postgres_bin() -> Result<Found, ProviderError> {
    let holds_initdb = |path: &Path| is_executable(&path.join("initdb"));
    if let Some(found) = from_variable("DRDRILL_PG_BIN", "a folder holding initdb and pg_ctl", holds_initdb)? {
        return Ok(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            is_executable(&bin.join("initdb")).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| Found {
            path: bin,
            chosen_by: "the newest /usr/lib/postgresql/*/bin".into(),
        })
        .ok_or_else(|| ProviderError::ToolMissing {
            tool: "postgresql server (initdb, pg_ctl)".into(),
            looked: "looked in $DRDRILL_PG_BIN and /usr/lib/postgresql/*/bin".into(),
            fix: SETUP_COMMAND.into(),
        })
}
