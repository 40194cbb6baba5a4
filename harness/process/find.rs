//! The one program finder: a variable that names the program when it is
//! set (and is then the only answer: a setting that is ignored is a trap),
//! else the first usable of a list of candidates, each saying what chose
//! it. The deployment tools (`provider::tools`) and the MongoDB Database
//! Tools (`backup::tools`) are both found here; `drdrill doctor` prints the
//! [`Found`] it returns.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A program the harness found, and what chose it (`drdrill doctor` shows
/// both, so a variable that was set but not used is visible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The program (or, for PostgreSQL, the folder of its programs).
    pub path: PathBuf,
    /// `$DRDRILL_FERRETDB`, `.tools/bin of the project`, `PATH`, ...
    pub chosen_by: String,
}

/// The variable was set, but to something the program search does not
/// accept; the callers turn it into their own error, naming what it
/// should name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misnamed {
    /// What the variable holds.
    pub path: PathBuf,
}

/// Whether `path` is a file with an execute bit set.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Where the search for one program looks, in order.
pub struct ProgramSearch<C> {
    /// The variable's name, for [`Found::chosen_by`] (`DRDRILL_MONGOD`).
    variable: String,
    /// The variable's value; unset and empty are alike.
    value: Option<OsString>,
    /// The places tried when the variable is not set, first one first.
    candidates: C,
}

impl<C: IntoIterator<Item = Found>> ProgramSearch<C> {
    /// A search for the program `variable` names, its value `value` (read
    /// by the caller, so tests can pass their own), else `candidates`.
    pub fn new(variable: &str, value: Option<OsString>, candidates: C) -> Self {
        Self {
            variable: variable.to_owned(),
            value,
            candidates,
        }
    }

    /// The variable's program when it is set (an error when `usable`
    /// rejects it), else the first candidate `usable` accepts; `None` when
    /// neither names one.
    pub fn run(self, usable: impl Fn(&Path) -> bool) -> Result<Option<Found>, Misnamed> {
        if let Some(value) = self.value.filter(|value| !value.is_empty()) {
            let path = PathBuf::from(value);
            return if usable(&path) {
                Ok(Some(Found {
                    path,
                    chosen_by: format!("${}", self.variable),
                }))
            } else {
                Err(Misnamed { path })
            };
        }
        Ok(self.candidates.into_iter().find(|candidate| usable(&candidate.path)))
    }
}

/// `name` in each folder of a `PATH` value, each chosen by `PATH`.
pub fn path_candidates(name: &str, path: Option<OsString>) -> impl Iterator<Item = Found> + '_ {
    path.into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(move |folder| Found {
            path: folder.join(name),
            chosen_by: "PATH".to_owned(),
        })
}

/// Looks for the executable `name` in the folders of this process's `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    path_candidates(name, std::env::var_os("PATH"))
        .map(|found| found.path)
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn program(folder: &Path, name: &str, mode: u32) -> PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_set_variable_is_the_only_answer_even_when_a_candidate_would_do() {
        let folder = tempfile::tempdir().unwrap();
        let named = program(folder.path(), "named", 0o644);
        program(folder.path(), "tool", 0o755);
        let search = ProgramSearch::new(
            "EXAMPLE_TOOL",
            Some(named.clone().into()),
            path_candidates("tool", Some(folder.path().into())),
        );
        assert_eq!(search.run(is_executable), Err(Misnamed { path: named }));
    }

    #[test]
    fn an_empty_variable_falls_back_to_the_first_usable_candidate() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        program(first.path(), "tool", 0o644);
        let usable = program(second.path(), "tool", 0o755);
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        let search = ProgramSearch::new(
            "EXAMPLE_TOOL",
            Some(OsString::new()),
            path_candidates("tool", Some(path)),
        );
        let found = search.run(is_executable).unwrap().unwrap();
        assert_eq!((found.path, found.chosen_by.as_str()), (usable, "PATH"));
    }
}
