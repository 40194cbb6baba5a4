//! `exec`: runs any command, its output captured into the report. The
//! command gets the drill's connection facts in its environment, like a
//! runbook script would. Running it (own process group, timeout, bounded
//! and scrubbed output, the group killed on timeout or cancellation) is
//! [`crate::process`]'s runner, shared with every other command.

use std::ffi::OsString;
use std::time::Duration;

use super::StepOutcome;
use crate::outcome::details::ExecDetails;
use crate::process::{CommandExit, EnvBuilder, ProcessRun, run_process};
use crate::runner::context::DrillContext;

/// Runs `command` with `bash -c` in the scenario's folder, with the
/// environment every drill command gets ([`EnvBuilder`]): `MONGO_URI`,
/// `DB_NAME`, `RUN_ID`, the drill's `BACKUP_DIR`, `DRDRILL_SCENARIO_DIR`,
/// and the folder of the running `drdrill` first on `PATH`. Its output is
/// scrubbed of the URI and its password.
pub async fn run_command(context: &DrillContext<'_>, command: &str, timeout: Duration) -> std::io::Result<ProcessRun> {
    run_command_with(context, command, timeout, Vec::new()).await
}

/// [`run_command`] with `extra` variables on top of the drill's.
pub async fn run_command_with(
    context: &DrillContext<'_>,
    command: &str,
    timeout: Duration,
    extra: Vec<(String, String)>,
) -> std::io::Result<ProcessRun> {
    let recovered = context.recovered_deployment().uri();
    let backups = context.work_dir().join("backups");
    let scenario_dir = context
        .scenario()
        .path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut env = EnvBuilder::for_deployment(
        &recovered,
        &context.scenario().dataset.database,
        context.run_id(),
        &backups,
    )
    .with_scenario_dir(scenario_dir);
    for (key, value) in extra {
        env = env.with_var(key, value);
    }
    let env = env.build();
    let args: Vec<OsString> = vec!["-c".into(), command.into()];
    run_process(
        "bash".as_ref(),
        &args,
        &env,
        Some(scenario_dir),
        timeout,
        &recovered.scrubber(),
    )
    .await
}

/// The exit code, or `None` on a signal or timeout.
pub fn exit_code(run: &ProcessRun) -> Option<i32> {
    match run.exit {
        CommandExit::Code { code } => Some(code),
        _ => None,
    }
}

/// Runs an `exec` step.
pub async fn run(context: &mut DrillContext<'_>, command: &str, timeout: Duration) -> StepOutcome {
    match run_command(context, command, timeout).await {
        Err(error) => StepOutcome::error(format!("cannot run `{command}`: {error}")),
        Ok(run) if run.exit == CommandExit::TimedOut => {
            StepOutcome::failed(format!("`{command}` did not finish in time"))
        }
        Ok(run) => {
            let code = exit_code(&run);
            let details = ExecDetails {
                command: command.to_string(),
                exit_code: code,
                output: run.output,
                stderr: None,
            };
            match code {
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
