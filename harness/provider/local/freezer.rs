//! Pausing a server process the way `docker pause` does: through the cgroup
//! freezer, in a cgroup of its own, so that only the harness ends the
//! pause. SIGSTOP is the fallback where no freezer can be written (not
//! root, no cgroup file system): a stop by signal is ended by any SIGCONT,
//! from a supervisor, a debugger or a job-control shell, and a "hung"
//! server that quietly runs again would make a drill measure nothing.
//!
//! Either way a pause returns only once it has taken effect: the freezer
//! reports the cgroup frozen, or every thread of the process shows as
//! stopped in `/proc`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::provider::record::stat_state;

/// How long a freeze, a thaw or a stop may take before it counts as failed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a freeze, a thaw or a stop by signal did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum FreezerError {
    /// `/proc/PID/cgroup` has no line for the freezer's hierarchy.
    #[error("cannot read the cgroup of process {pid} from /proc/{pid}/cgroup")]
    OriginUnknown {
        /// The process.
        pid: i32,
    },
    /// The cgroup folder could not be made.
    #[error("cannot create cgroup {}", dir.display())]
    Create {
        /// The cgroup's folder.
        dir: PathBuf,
        /// What the kernel said.
        #[source]
        source: std::io::Error,
    },
    /// A control file could not be written.
    #[error("cannot write {value} to {}", path.display())]
    Write {
        /// The control file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// What the kernel said.
        #[source]
        source: std::io::Error,
    },
    /// The freezer's state file could not be read.
    #[error("cannot read the freezer state of {}", dir.display())]
    State {
        /// The cgroup's folder.
        dir: PathBuf,
    },
    /// The freezer did not reach the state asked for in time.
    #[error("the cgroup freezer did not {what} process {pid} within {} s ({})", SETTLE_TIMEOUT.as_secs(), dir.display())]
    Unsettled {
        /// `freeze` or `thaw`.
        what: &'static str,
        /// The process.
        pid: i32,
        /// The cgroup's folder.
        dir: PathBuf,
    },
    /// The process exited while it was being stopped.
    #[error("process {pid} is gone")]
    Gone {
        /// The process.
        pid: i32,
    },
    /// Not every thread stopped after SIGSTOP in time.
    #[error(
        "process {pid} did not stop within {} s of SIGSTOP (thread states {states}); something may be resuming it",
        SETTLE_TIMEOUT.as_secs()
    )]
    NotStopped {
        /// The process.
        pid: i32,
        /// The state letter of each thread, as last read.
        states: String,
    },
}

/// Which cgroup freezer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerVersion {
    /// cgroup v1: `freezer.state` (`FROZEN`, `THAWED`).
    V1,
    /// cgroup v2: `cgroup.freeze` and `frozen` in `cgroup.events`.
    V2,
}

/// A mounted cgroup hierarchy with a freezer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freezer {
    /// Where it is mounted.
    pub mount: PathBuf,
    /// Which kind.
    pub version: FreezerVersion,
}

impl Freezer {
    /// The freezer of this machine: the v1 freezer hierarchy where one is
    /// mounted (legacy and hybrid layouts, where it is what container
    /// runtimes use), else the unified v2 hierarchy.
    pub fn find() -> Option<Self> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        find_in_mountinfo(&mountinfo)
    }

    /// Moves `pid` into a new cgroup named `name` under `drdrill/` and
    /// freezes it; returns once the kernel reports it frozen. On failure
    /// nothing is left frozen or created.
    pub async fn freeze(&self, pid: i32, name: &str) -> Result<FrozenCgroup, FreezerError> {
        let origin = origin_cgroup(pid, self.version).ok_or(FreezerError::OriginUnknown { pid })?;
        let dir = self.mount.join("drdrill").join(sanitize(name));
        // Another run's release may remove `drdrill/` between the two
        // mkdirs of `create_dir_all`: try again then.
        let mut created = std::fs::create_dir_all(&dir);
        for _ in 0..3 {
            if created.is_ok() {
                break;
            }
            created = std::fs::create_dir_all(&dir);
        }
        created.map_err(|source| FreezerError::Create {
            dir: dir.clone(),
            source,
        })?;
        let frozen = FrozenCgroup {
            dir,
            version: self.version,
            pid,
            origin: self.mount.join(origin.trim_start_matches('/')),
        };
        let outcome = async {
            write(&frozen.dir.join("cgroup.procs"), &pid.to_string())?;
            frozen.set_frozen(true)?;
            frozen.wait_until(true).await
        }
        .await;
        match outcome {
            Ok(()) => Ok(frozen),
            Err(error) => {
                let _ = frozen.release().await;
                Err(error)
            }
        }
    }
}

/// A process frozen in a cgroup of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenCgroup {
    /// The cgroup's folder.
    pub dir: PathBuf,
    /// Which freezer.
    pub version: FreezerVersion,
    /// The process.
    pub pid: i32,
    /// The cgroup it came from, where it goes back on release.
    pub origin: PathBuf,
}

impl FrozenCgroup {
    /// Thaws the process, waits until it runs, moves it back where it came
    /// from and removes the cgroup.
    pub async fn release(&self) -> Result<(), FreezerError> {
        self.set_frozen(false)?;
        self.wait_until(false).await?;
        // A process that has exited in the meantime has left by itself.
        if std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
            let _ = write(&self.origin.join("cgroup.procs"), &self.pid.to_string());
        }
        remove_cgroup(&self.dir);
        Ok(())
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), FreezerError> {
        thaw_or_freeze(&self.dir, self.version, frozen)
    }

    async fn wait_until(&self, frozen: bool) -> Result<(), FreezerError> {
        let started = Instant::now();
        loop {
            match is_frozen(&self.dir, self.version) {
                Some(state) if state == frozen => return Ok(()),
                None => return Err(FreezerError::State { dir: self.dir.clone() }),
                Some(_) if started.elapsed() >= SETTLE_TIMEOUT => {
                    return Err(FreezerError::Unsettled {
                        what: if frozen { "freeze" } else { "thaw" },
                        pid: self.pid,
                        dir: self.dir.clone(),
                    });
                }
                // Polling interval, not synchronization: the condition is
                // the state the kernel reports.
                Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
}

/// Thaws the cgroup at `dir` without waiting (for `drdrill clean` and
/// `Drop`, before a SIGKILL that a v1-frozen process would not act on).
pub fn thaw_now(dir: &Path) {
    if let Some(version) = version_of(dir) {
        let _ = thaw_or_freeze(dir, version, false);
    }
}

/// Removes a cgroup folder once its process has left (best effort: a
/// cgroup still holding a process cannot be removed).
pub fn remove_cgroup(dir: &Path) {
    if std::fs::remove_dir(dir).is_ok() {
        // `drdrill/` itself goes with its last cgroup (another run's
        // cgroup keeps it).
        if let Some(parent) = dir.parent().filter(|parent| parent.ends_with("drdrill")) {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Waits until every thread of `pid` shows as stopped (`T`) in `/proc`: a
/// SIGSTOP is asynchronous, and a pause must have taken effect when it
/// returns.
pub async fn wait_stopped(pid: i32) -> Result<(), FreezerError> {
    let started = Instant::now();
    loop {
        let states = thread_states(pid);
        if states.is_empty() {
            return Err(FreezerError::Gone { pid });
        }
        if states.iter().all(|state| matches!(state, 'T' | 't')) {
            return Ok(());
        }
        if started.elapsed() >= SETTLE_TIMEOUT {
            return Err(FreezerError::NotStopped {
                pid,
                states: states.into_iter().collect(),
            });
        }
        // Polling interval, not synchronization: the condition is the
        // state the kernel reports.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The state letter (field 3 of `stat`) of each thread of `pid`.
pub fn thread_states(pid: i32) -> Vec<char> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| stat_state(&stat))
        .collect()
}

fn thaw_or_freeze(dir: &Path, version: FreezerVersion, frozen: bool) -> Result<(), FreezerError> {
    match version {
        FreezerVersion::V1 => write(&dir.join("freezer.state"), if frozen { "FROZEN" } else { "THAWED" }),
        FreezerVersion::V2 => write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" }),
    }
}

fn is_frozen(dir: &Path, version: FreezerVersion) -> Option<bool> {
    match version {
        FreezerVersion::V1 => {
            let state = std::fs::read_to_string(dir.join("freezer.state")).ok()?;
            Some(state.trim() == "FROZEN")
        }
        FreezerVersion::V2 => {
            let events = std::fs::read_to_string(dir.join("cgroup.events")).ok()?;
            events
                .lines()
                .find_map(|line| line.strip_prefix("frozen "))
                .map(|value| value.trim() == "1")
        }
    }
}

fn version_of(dir: &Path) -> Option<FreezerVersion> {
    if dir.join("freezer.state").exists() {
        Some(FreezerVersion::V1)
    } else if dir.join("cgroup.freeze").exists() {
        Some(FreezerVersion::V2)
    } else {
        None
    }
}

fn write(path: &Path, value: &str) -> Result<(), FreezerError> {
    std::fs::write(path, value).map_err(|source| FreezerError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

/// The cgroup of `pid` in the hierarchy of `version`, from `/proc/PID/cgroup`.
fn origin_cgroup(pid: i32, version: FreezerVersion) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    cgroup_in(&text, version)
}

/// The path of the freezer's (v1) or the unified (v2) line of a
/// `/proc/PID/cgroup` text.
pub fn cgroup_in(text: &str, version: FreezerVersion) -> Option<String> {
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match version {
            FreezerVersion::V1 => controllers.split(',').any(|controller| controller == "freezer"),
            FreezerVersion::V2 => id == "0" && controllers.is_empty(),
        };
        wanted.then(|| path.to_string())
    })
}

/// The freezer among the mounts of a `/proc/self/mountinfo` text.
pub fn find_in_mountinfo(mountinfo: &str) -> Option<Freezer> {
    let mut v2 = None;
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount) = before.split_whitespace().nth(4) else {
            continue;
        };
        let mut after = after.split_whitespace();
        let (fstype, options) = (after.next().unwrap_or(""), after.nth(1).unwrap_or(""));
        let mount = PathBuf::from(unescape_mount(mount));
        if fstype == "cgroup" && options.split(',').any(|option| option == "freezer") {
            return Some(Freezer {
                mount,
                version: FreezerVersion::V1,
            });
        }
        if fstype == "cgroup2" && v2.is_none() {
            v2 = Some(Freezer {
                mount,
                version: FreezerVersion::V2,
            });
        }
    }
    v2
}

/// Mount points in mountinfo escape space, tab, newline and backslash as
/// octal (`\040`).
fn unescape_mount(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && index + 3 < bytes.len()
            && let Ok(code) = u8::from_str_radix(&text[index + 1..index + 4], 8)
        {
            out.push(code as char);
            index += 4;
            continue;
        }
        out.push(bytes[index] as char);
        index += 1;
    }
    out
}

/// A cgroup name from a run id and node name: letters, digits, `-`, `_`, `.`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 1 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
30 25 0:28 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
35 25 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const PURE_V2: &str = "\
22 1 0:5 / /proc rw,nosuid - proc proc rw
29 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn the_v1_freezer_is_preferred_where_it_is_mounted() {
        assert_eq!(
            find_in_mountinfo(HYBRID),
            Some(Freezer {
                mount: "/sys/fs/cgroup/freezer".into(),
                version: FreezerVersion::V1
            })
        );
    }

    #[test]
    fn the_unified_hierarchy_serves_where_there_is_no_v1_freezer() {
        assert_eq!(
            find_in_mountinfo(PURE_V2),
            Some(Freezer {
                mount: "/sys/fs/cgroup".into(),
                version: FreezerVersion::V2
            })
        );
        assert_eq!(find_in_mountinfo("22 1 0:5 / /proc rw - proc proc rw\n"), None);
    }

    #[test]
    fn escaped_mount_points_are_read_back() {
        let info = "30 25 0:28 / /sys/fs/my\\040cgroups rw - cgroup cgroup rw,freezer\n";
        assert_eq!(
            find_in_mountinfo(info).unwrap().mount,
            PathBuf::from("/sys/fs/my cgroups")
        );
    }

    #[test]
    fn the_cgroup_of_a_process_is_read_per_hierarchy() {
        let text = "9:name=systemd:/\n6:freezer:/ci/job\n4:memory:/process_api/abc\n0::/user.slice\n";
        assert_eq!(cgroup_in(text, FreezerVersion::V1).as_deref(), Some("/ci/job"));
        assert_eq!(cgroup_in(text, FreezerVersion::V2).as_deref(), Some("/user.slice"));
        assert_eq!(cgroup_in("4:memory:/x\n", FreezerVersion::V1), None);
    }

    #[test]
    fn cgroup_names_keep_only_safe_characters() {
        assert_eq!(sanitize("test-1/node 0"), "test-1_node_0");
    }
}
