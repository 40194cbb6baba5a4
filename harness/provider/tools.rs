//! Finding the programs deployments need: FerretDB (built by
//! `scripts/setup` into the project's `.tools/bin`), `mongod`, and
//! PostgreSQL's server programs. A missing one is an error that names it and
//! the command that installs it.

use std::path::{Path, PathBuf};

use super::error::ProviderError;
use crate::process::{ProgramSearch, is_executable, path_candidates};

/// The command that installs every tool the harness needs.
pub const SETUP_COMMAND: &str = "scripts/setup";

/// Where `scripts/setup` puts its tools, relative to the project root.
const TOOLS_BIN: &str = ".tools/bin";

/// Looks for `name` in the directories of `PATH`.
pub use crate::process::find_on_path;

/// A program the harness found, and what chose it.
pub use crate::process::Found;

/// Project roots to search for `.tools/bin`: the ancestors of the running
/// executable (a `target/*/drdrill` inside a checkout) and the folder the
/// crate was built from.
pub(crate) fn project_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
}

/// The program named by `variable` when it is set, else the first of
/// `candidates` that `usable` accepts: an error when the variable does not
/// name what `usable` accepts (a setting that is ignored is a trap).
fn search(
    variable: &str,
    expected: &str,
    candidates: impl IntoIterator<Item = Found>,
    usable: impl Fn(&Path) -> bool,
) -> Result<Option<Found>, ProviderError> {
    ProgramSearch::new(variable, std::env::var_os(variable), candidates)
        .run(usable)
        .map_err(|misnamed| ProviderError::VariableMisnamed {
            variable: variable.into(),
            path: misnamed.path,
            expected: expected.into(),
        })
}

/// The FerretDB binary: `$DRDRILL_FERRETDB`, the project's `.tools/bin`,
/// or `ferretdb` on `PATH`.
pub fn ferretdb() -> Result<PathBuf, ProviderError> {
    locate_ferretdb().map(|found| found.path)
}

/// [`ferretdb`], saying what chose it.
pub fn locate_ferretdb() -> Result<Found, ProviderError> {
    let in_project = project_roots().into_iter().map(|root| Found {
        path: root.join(TOOLS_BIN).join("ferretdb"),
        chosen_by: format!("{TOOLS_BIN} of the project"),
    });
    let candidates = in_project.chain(path_candidates("ferretdb", std::env::var_os("PATH")));
    search("DRDRILL_FERRETDB", "the ferretdb executable", candidates, is_executable)?.ok_or_else(|| {
        ProviderError::ToolMissing {
            tool: "ferretdb".into(),
            looked: format!("looked in $DRDRILL_FERRETDB, {TOOLS_BIN}/ferretdb of the project, PATH"),
            fix: SETUP_COMMAND.into(),
        }
    })
}

/// The `mongod` binary: `$DRDRILL_MONGOD` or `mongod` on `PATH`.
pub fn mongod() -> Result<PathBuf, ProviderError> {
    locate_mongod().map(|found| found.path)
}

/// [`mongod`], saying what chose it.
pub fn locate_mongod() -> Result<Found, ProviderError> {
    let candidates = path_candidates("mongod", std::env::var_os("PATH"));
    search("DRDRILL_MONGOD", "the mongod executable", candidates, is_executable)?.ok_or_else(|| {
        ProviderError::ToolMissing {
            tool: "mongod".into(),
            looked: "looked in $DRDRILL_MONGOD and PATH".into(),
            fix: "install MongoDB Community Server (not obtainable on machines without MongoDB's download site) \
                  or set DRDRILL_MONGOD"
                .into(),
        }
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
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    // Newest first: the search takes the first that holds `initdb`.
    versions.sort_by(|left, right| right.cmp(left));
    let candidates = versions.into_iter().map(|(_, bin)| Found {
        path: bin,
        chosen_by: "the newest /usr/lib/postgresql/*/bin".into(),
    });
    search(
        "DRDRILL_PG_BIN",
        "a folder holding initdb and pg_ctl",
        candidates,
        holds_initdb,
    )?
    .ok_or_else(|| ProviderError::ToolMissing {
        tool: "postgresql server (initdb, pg_ctl)".into(),
        looked: "looked in $DRDRILL_PG_BIN and /usr/lib/postgresql/*/bin".into(),
        fix: SETUP_COMMAND.into(),
    })
}
