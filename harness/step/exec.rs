//! `exec`: runs any command, its output captured into the report. The
//! command gets the drill's connection facts in its environment, like a
//! runbook script would.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt;

use super::StepOutcome;
use crate::runner::context::DrillContext;

/// Output kept per stream; a runaway command cannot fill the report.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// The result of a shell command run by a step.
pub struct CommandRun {
    /// Exit code (`None` when killed by a signal or on timeout).
    pub code: Option<i32>,
    /// Captured stdout, bounded and redacted.
    pub stdout: String,
    /// Captured stderr, bounded and redacted.
    pub stderr: String,
    /// Whether it ran out of time.
    pub timed_out: bool,
}

/// Runs `command` with `bash -c` in its own process group, with the
/// drill's environment; kills the whole group on timeout or when dropped.
pub async fn run_command(
    context: &DrillContext<'_>,
    command: &str,
    timeout: Duration,
    extra_env: &[(&str, String)],
) -> std::io::Result<CommandRun> {
    let recovered = context.fresh.as_ref().unwrap_or(&context.source).uri();
    let mut child = tokio::process::Command::new("bash");
    child
        .arg("-c")
        .arg(command)
        .env("MONGO_URI", recovered.expose_secret())
        .env("DB_NAME", &context.scenario.dataset.database)
        .env("RUN_ID", &context.run_id)
        .env("DRDRILL_RUN_ID", &context.run_id)
        .env("DRDRILL_BACKUP_DIR", context.work_dir.join("backups"))
        .env("BACKUP_DIR", context.work_dir.join("backups"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = context.scenario.path.parent() {
        child.current_dir(if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        });
        if let Some(root) = dir.parent() {
            child.env("DRDRILL_PROJECT_DIR", root);
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(folder) = exe.parent() {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut paths = vec![folder.to_path_buf()];
            paths.extend(std::env::split_paths(&path));
            child.env("PATH", std::env::join_paths(paths).unwrap_or(path));
        }
    }
    for (key, value) in extra_env {
        child.env(key, value);
    }
    let mut child = child.spawn()?;
    let pid = child.id().map(|pid| pid as i32);
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let read_out = async {
        let mut buffer = Vec::new();
        let _ = (&mut stdout)
            .take(OUTPUT_LIMIT as u64 * 4)
            .read_to_end(&mut buffer)
            .await;
        buffer
    };
    let read_err = async {
        let mut buffer = Vec::new();
        let _ = (&mut stderr)
            .take(OUTPUT_LIMIT as u64 * 4)
            .read_to_end(&mut buffer)
            .await;
        buffer
    };
    let waited = tokio::time::timeout(timeout, async { tokio::join!(child.wait(), read_out, read_err) }).await;
    match waited {
        Ok((status, out, err)) => Ok(CommandRun {
            code: status?.code(),
            stdout: bounded(&out),
            stderr: bounded(&err),
            timed_out: false,
        }),
        Err(_) => {
            if let Some(pid) = pid {
                // The whole group: a script's children die with it.
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Ok(CommandRun {
                code: None,
                stdout: String::new(),
                stderr: String::new(),
                timed_out: true,
            })
        }
    }
}

fn bounded(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = if text.len() > OUTPUT_LIMIT {
        let mut cut = OUTPUT_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}\n[... output cut at {OUTPUT_LIMIT} bytes]", &text[..cut])
    } else {
        text.to_string()
    };
    crate::uri::redact(&text)
}

/// Runs an `exec` step.
pub async fn run(context: &mut DrillContext<'_>, command: &str, timeout: Duration) -> StepOutcome {
    match run_command(context, command, timeout, &[]).await {
        Err(error) => StepOutcome::error(format!("cannot run `{command}`: {error}")),
        Ok(run) if run.timed_out => StepOutcome::failed(format!("`{command}` did not finish in time")),
        Ok(run) => {
            let details =
                json!({ "command": command, "exit_code": run.code, "stdout": run.stdout, "stderr": run.stderr });
            match run.code {
                Some(0) => StepOutcome::passed(format!("`{command}` exited 0"), details),
                code => StepOutcome::failed(format!(
                    "`{command}` exited {}",
                    code.map(|code| code.to_string())
                        .unwrap_or_else(|| "on a signal".into())
                ))
                .with_details(details),
            }
        }
    }
}
