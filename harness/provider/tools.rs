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

/// The FerretDB binary: `$DRDRILL_FERRETDB`, the project's `.tools/bin`,
/// or `ferretdb` on `PATH`.
pub fn ferretdb() -> Result<PathBuf, ProviderError> {
    let mut looked = Vec::new();
    if let Some(path) = std::env::var_os("DRDRILL_FERRETDB") {
        let path = PathBuf::from(path);
        if is_executable(&path) {
            return Ok(path);
        }
        looked.push(format!("$DRDRILL_FERRETDB={}", path.display()));
    }
    for root in project_roots() {
        let candidate = root.join(TOOLS_BIN).join("ferretdb");
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    looked.push(format!("{TOOLS_BIN}/ferretdb of the project"));
    if let Some(path) = find_on_path("ferretdb") {
        return Ok(path);
    }
    looked.push("PATH".into());
    Err(ProviderError::ToolMissing {
        tool: "ferretdb".into(),
        looked: format!("looked in {}", looked.join(", ")),
        fix: SETUP_COMMAND.into(),
    })
}

/// The `mongod` binary: `$DRDRILL_MONGOD` or `mongod` on `PATH`.
pub fn mongod() -> Result<PathBuf, ProviderError> {
    if let Some(path) = std::env::var_os("DRDRILL_MONGOD").map(PathBuf::from) {
        if is_executable(&path) {
            return Ok(path);
        }
    }
    find_on_path("mongod").ok_or_else(|| ProviderError::ToolMissing {
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
    if let Some(path) = std::env::var_os("DRDRILL_PG_BIN").map(PathBuf::from) {
        if is_executable(&path.join("initdb")) {
            return Ok(path);
        }
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
        .map(|(_, bin)| bin)
        .ok_or_else(|| ProviderError::ToolMissing {
            tool: "postgresql server (initdb, pg_ctl)".into(),
            looked: "looked in $DRDRILL_PG_BIN and /usr/lib/postgresql/*/bin".into(),
            fix: SETUP_COMMAND.into(),
        })
}
