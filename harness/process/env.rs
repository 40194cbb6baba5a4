//! The one environment builder for the commands a drill runs: `exec`
//! steps, `action = "command"` disasters, command backups and the tools
//! engine. Every command that runs with a deployment gets the same names
//! for the same facts, as the README lists them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::uri::MongoUri;

/// Builds the variables added to a child's environment.
///
/// A builder with nothing set adds nothing but `PATH` (the `drdrill`
/// folder first), so that a child can always call `drdrill`.
#[derive(Debug, Clone, Default)]
pub struct EnvBuilder {
    /// Variables in the order they were set; a later one wins.
    vars: Vec<(OsString, OsString)>,
    /// The folder put first on `PATH`; the running executable's when `None`.
    drdrill_dir: Option<PathBuf>,
}

impl EnvBuilder {
    /// A deployment's facts: `MONGO_URI` (credentials included: the child
    /// needs them), `DB_NAME`, `RUN_ID` and `DRDRILL_RUN_ID`, `BACKUP_DIR`
    /// and `DRDRILL_BACKUP_DIR`.
    pub fn for_deployment(uri: &MongoUri, database: &str, run_id: &str, backup_dir: &Path) -> Self {
        Self::default()
            .with_var("MONGO_URI", uri.expose_secret())
            .with_var("DB_NAME", database)
            .with_var("RUN_ID", run_id)
            .with_var("DRDRILL_RUN_ID", run_id)
            .with_var("BACKUP_DIR", backup_dir)
            .with_var("DRDRILL_BACKUP_DIR", backup_dir)
    }

    /// `DRDRILL_SCENARIO_DIR` (absolute when the folder exists) and
    /// `DRDRILL_PROJECT_DIR`, its parent.
    pub fn with_scenario_dir(self, dir: &Path) -> Self {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let project = dir.parent().map(Path::to_path_buf);
        let with_scenario = self.with_var("DRDRILL_SCENARIO_DIR", &dir);
        match project {
            Some(project) => with_scenario.with_var("DRDRILL_PROJECT_DIR", project),
            None => with_scenario,
        }
    }

    /// The folder put first on `PATH` instead of the running executable's.
    pub fn with_drdrill_dir(mut self, dir: Option<PathBuf>) -> Self {
        if dir.is_some() {
            self.drdrill_dir = dir;
        }
        self
    }

    /// One more variable (a scenario's own, e.g. `MONGODUMP`).
    pub fn with_var(mut self, key: impl Into<OsString>, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.vars.push((key.into(), value.as_ref().to_owned()));
        self
    }

    /// The variables, `PATH` last with the `drdrill` folder first (unless
    /// a `PATH` was set with [`EnvBuilder::with_var`]: that one stands).
    pub fn build(self) -> Vec<(OsString, OsString)> {
        if self.vars.iter().any(|(key, _)| key == "PATH") {
            return self.vars;
        }
        let drdrill_dir = self.drdrill_dir.or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf))
        });
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let mut paths: Vec<PathBuf> = drdrill_dir.into_iter().collect();
        paths.extend(std::env::split_paths(&inherited));
        let path = std::env::join_paths(paths).unwrap_or(inherited);
        let mut vars = self.vars;
        vars.push(("PATH".into(), path));
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_and_a_scenario_folder_give_the_documented_names() {
        let uri = MongoUri::parse("mongodb://u:pw123@h:1/").unwrap();
        let folder = tempfile::tempdir().unwrap();
        let scenarios = folder.path().join("scenarios");
        std::fs::create_dir(&scenarios).unwrap();
        let vars = EnvBuilder::for_deployment(&uri, "app", "run-1", Path::new("/b"))
            .with_scenario_dir(&scenarios)
            .with_drdrill_dir(Some(PathBuf::from("/opt/drdrill-bin")))
            .build();
        let get = |key: &str| {
            vars.iter()
                .rev()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(get("MONGO_URI").as_deref(), Some("mongodb://u:pw123@h:1/"));
        assert_eq!(get("DB_NAME").as_deref(), Some("app"));
        assert_eq!(get("BACKUP_DIR").as_deref(), Some("/b"));
        let canonical = std::fs::canonicalize(&scenarios).unwrap();
        assert_eq!(get("DRDRILL_SCENARIO_DIR"), Some(canonical.display().to_string()));
        assert!(get("PATH").unwrap().starts_with("/opt/drdrill-bin:"));
    }
}
