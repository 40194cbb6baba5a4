//! Running one child process: its own process group, a timeout, bounded
//! and scrubbed output, and the whole group killed on timeout, on
//! cancellation (the future dropped) and when the child exits leaving
//! children behind.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::uri::Scrubber;

/// Output kept from one process, bytes: the start and the end are kept, the
/// middle is dropped (a progress-bar flood must not fill memory).
pub const OUTPUT_LIMIT: usize = 1024 * 1024;

/// How long the output readers may take after the process group is gone.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CommandExit {
    /// It exited with this code.
    Code {
        /// The exit code.
        code: i32,
    },
    /// A signal ended it.
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// It ran past its timeout and was killed.
    TimedOut,
}

impl CommandExit {
    /// Whether it exited with code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, CommandExit::Code { code: 0 })
    }
}

/// A finished child process.
#[derive(Debug, Clone)]
pub struct ProcessRun {
    /// How it ended.
    pub exit: CommandExit,
    /// stdout and stderr lines in arrival order, redacted and bounded.
    pub output: String,
}

/// Kills a process group when dropped, unless disarmed: the fallback that
/// ends a command when the future running it is dropped (cancellation).
struct GroupGuard {
    group: Option<i32>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(group) = self.group {
            // ESRCH (nothing left in the group) is the normal case after an exit.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Output lines kept from a process: the first half of the budget, then a
/// rolling window of the last half.
#[derive(Default)]
struct Capture {
    head: Vec<String>,
    head_bytes: usize,
    tail: VecDeque<String>,
    tail_bytes: usize,
    dropped: u64,
}

impl Capture {
    fn push(&mut self, line: String) {
        let half = OUTPUT_LIMIT / 2;
        if self.dropped == 0 && self.tail.is_empty() && self.head_bytes + line.len() <= half {
            self.head_bytes += line.len();
            self.head.push(line);
            return;
        }
        self.tail_bytes += line.len();
        self.tail.push_back(line);
        while self.tail_bytes > half {
            match self.tail.pop_front() {
                Some(old) => {
                    self.tail_bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    fn text(&self) -> String {
        let mut lines: Vec<String> = self.head.clone();
        if self.dropped > 0 {
            lines.push(format!("[drdrill: {} lines of output left out]", self.dropped));
        }
        lines.extend(self.tail.iter().cloned());
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }
}

/// Runs `program ARGS` in its own process group with `env` added, stdin
/// closed, until it exits or `timeout` passes. Output lines are redacted
/// by `scrubber` (the URIs it knows, their passwords raw and decoded, and
/// anything shaped like a URI with a password) before they are kept.
/// Whatever is left in the group when it ends is killed, and on timeout or
/// when this future is dropped the whole group is killed.
pub async fn run_process(
    program: &OsStr,
    args: &[OsString],
    env: &[(OsString, OsString)],
    working_dir: Option<&Path>,
    timeout: Duration,
    scrubber: &Scrubber,
) -> io::Result<ProcessRun> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(folder) = working_dir {
        command.current_dir(folder);
    }
    let mut child = command.spawn()?;
    let mut guard = GroupGuard {
        group: child.id().and_then(|pid| i32::try_from(pid).ok()),
    };
    let capture = Arc::new(Mutex::new(Capture::default()));
    let scrubber = Arc::new(scrubber.clone());
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(tokio::spawn(read_lines(stdout, capture.clone(), scrubber.clone())));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(read_lines(stderr, capture.clone(), scrubber.clone())));
    }
    let exit = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => exit_of(status?),
        Err(_) => {
            guard.kill();
            let _ = child.wait().await;
            CommandExit::TimedOut
        }
    };
    // Children the command left behind would hold the pipes open forever.
    guard.kill();
    guard.group = None;
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN_GRACE, reader).await.is_err() {
            // A process that left the group (setsid) still holds the pipe.
            abort.abort();
        }
    }
    let output = capture.lock().map(|capture| capture.text()).unwrap_or_default();
    Ok(ProcessRun { exit, output })
}

fn exit_of(status: ExitStatus) -> CommandExit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => CommandExit::Code { code },
        (None, Some(signal)) => CommandExit::Signal { signal },
        (None, None) => CommandExit::Code { code: -1 },
    }
}

async fn read_lines(stream: impl AsyncRead + Unpin, capture: Arc<Mutex<Capture>>, scrubber: Arc<Scrubber>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let shown = scrubber.scrub(text.trim_end_matches(['\n', '\r']));
                if let Ok(mut capture) = capture.lock() {
                    capture.push(shown);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_and_tail() {
        let mut capture = Capture::default();
        let line = "x".repeat(1000);
        for index in 0..2000 {
            capture.push(format!("{index:05}{line}"));
        }
        let text = capture.text();
        assert!(text.len() <= OUTPUT_LIMIT + 200);
        assert!(text.starts_with("00000"));
        assert!(text.contains("lines of output left out"));
        assert!(text.trim_end().lines().last().unwrap().starts_with("01999"));
    }
}
