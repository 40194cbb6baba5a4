//! Records on disk of what a run started, so that `drdrill clean` can find
//! and remove the leftovers of a run that was killed before it could tear
//! down (SIGKILL, a crash, a power cut).
//!
//! A record is a JSON file per run in the state folder
//! (`$DRDRILL_STATE_DIR`, else `$XDG_STATE_HOME/drdrill`, else
//! `~/.local/state/drdrill`, else the temp folder). It is rewritten each
//! time the run starts something and removed by a clean teardown. Each
//! process is recorded with its start time (field 22 of `/proc/PID/stat`),
//! so a recycled pid is never killed by mistake.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ProviderError;

/// One process a run started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedProcess {
    /// Its pid.
    pub pid: i32,
    /// Its start time in clock ticks since boot, to recognise the same process.
    pub start_time: Option<u64>,
    /// What it is (`node-0 ferretdb`), for messages.
    pub what: String,
    /// The cgroup it is frozen in, while a pause lasts: thawed before a
    /// kill, removed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freezer: Option<PathBuf>,
}

/// One PostgreSQL cluster a run started; stopped with `pg_ctl` before its
/// folder is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPostgres {
    /// The cluster's data folder.
    pub data_dir: PathBuf,
    /// The folder of `pg_ctl`.
    pub bin_dir: PathBuf,
}

/// What one run started and must remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The harness process that owns the run.
    pub owner_pid: i32,
    /// The owner's start time, to tell a live owner from a recycled pid.
    pub owner_start_time: Option<u64>,
    /// Server processes.
    pub processes: Vec<RecordedProcess>,
    /// PostgreSQL clusters.
    pub postgres: Vec<RecordedPostgres>,
    /// Folders to remove.
    pub dirs: Vec<PathBuf>,
    /// Containers, volumes and networks (by id), for the containers provider.
    #[serde(default)]
    pub containers: Vec<String>,
}

/// The folder holding run records.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRDRILL_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("drdrill");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/state/drdrill");
    }
    std::env::temp_dir().join("drdrill-state")
}

/// The fields of a `/proc/PID/stat` line after the command name (field 2),
/// which is in parentheses and may hold spaces and parentheses itself:
/// field 3 (the state letter) comes first.
pub fn stat_after_name(stat: &str) -> Option<&str> {
    Some(stat[stat.rfind(')')? + 1..].trim_start())
}

/// The state letter of a `/proc/PID/stat` line (`R`, `S`, `T`, `Z`, ...).
pub fn stat_state(stat: &str) -> Option<char> {
    stat_after_name(stat)?.chars().next()
}

/// The state letter of process `pid`, if it exists.
pub fn process_state(pid: i32) -> Option<char> {
    stat_state(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The start time of process `pid` (clock ticks since boot), if it exists.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_after_name(&stat)?.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the recorded process is still the same live process.
pub fn is_same_process(pid: i32, start_time: Option<u64>) -> bool {
    match (process_start_time(pid), start_time) {
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl RunRecord {
    /// A record for a run owned by this process.
    pub fn new(run_id: &str) -> Self {
        let owner_pid = std::process::id() as i32;
        Self {
            run_id: run_id.to_string(),
            owner_pid,
            owner_start_time: process_start_time(owner_pid),
            ..Self::default()
        }
    }

    /// The record's file.
    pub fn path(&self) -> PathBuf {
        state_dir().join(format!("{}.json", self.run_id))
    }

    /// Writes the record atomically (temp file + rename), so that `clean`
    /// never reads half a record.
    pub fn save(&self) -> Result<(), ProviderError> {
        let dir = state_dir();
        std::fs::create_dir_all(&dir).map_err(|error| ProviderError::io(&dir, error))?;
        let path = self.path();
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("a run record always serializes");
        std::fs::write(&temporary, text).map_err(|error| ProviderError::io(&temporary, error))?;
        std::fs::rename(&temporary, &path).map_err(|error| ProviderError::io(&path, error))
    }

    /// Removes the record's file (after a clean teardown).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(self.path());
    }

    /// Whether the harness process that owns this run is still alive.
    pub fn owner_alive(&self) -> bool {
        is_same_process(self.owner_pid, self.owner_start_time)
    }

    /// Every record in the state folder, with unreadable files reported.
    pub fn load_all() -> Vec<Result<RunRecord, (PathBuf, String)>> {
        let dir = state_dir();
        let mut records = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return records;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        for path in paths {
            records.push(read_record(&path));
        }
        records
    }
}

fn read_record(path: &Path) -> Result<RunRecord, (PathBuf, String)> {
    let text = std::fs::read(path).map_err(|error| (path.to_path_buf(), error.to_string()))?;
    serde_json::from_slice(&text).map_err(|error| (path.to_path_buf(), error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_letter_follows_the_command_name_even_with_parentheses() {
        assert_eq!(stat_state("1234 (ferretdb) T 1 1234 1234 0"), Some('T'));
        assert_eq!(stat_state("1234 (a (b) c) S 1 1234"), Some('S'));
        assert_eq!(stat_state("garbage"), None);
        assert!(process_state(std::process::id() as i32).is_some());
        assert_eq!(process_state(i32::MAX), None);
    }

    #[test]
    fn own_process_has_a_start_time() {
        let pid = std::process::id() as i32;
        let start = process_start_time(pid);
        assert!(start.is_some());
        assert!(is_same_process(pid, start));
        assert!(!is_same_process(pid, start.map(|value| value + 1)));
    }
}
