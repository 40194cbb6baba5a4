//! `failover`: after the disaster took the primary's site down, detects
//! the loss (the application's endpoint stops answering), promotes a
//! standby (`pg_ctl promote`, or the team's runbook command) and moves
//! the endpoint to it, then waits for the first write through the
//! endpoint to be acknowledged and read back (T_s, from the probe the
//! disaster step started). The tick writer keeps writing through the
//! endpoint the whole time, as an application would, and follows it.
//! Its phases (detection, promotion, first acknowledged write) go on the
//! timeline through [`failover_phases`].

use std::time::Duration;

use super::StepOutcome;
use crate::measure::clock::Stamp;
use crate::outcome::details::FailoverDetails;
use crate::outcome::{Phase, StepDetails, StepRecord};
use crate::process::CommandExit;
use crate::provider::failover::FailoverRequest;
use crate::runner::context::DrillContext;
use crate::scenario::{FailoverStep, Step};

/// How often the endpoint is asked whether it still answers.
const DETECTION_INTERVAL: Duration = Duration::from_millis(100);

/// Runs a `failover` step.
pub async fn run(context: &mut DrillContext<'_>, step: &Step, failover: &FailoverStep) -> StepOutcome {
    let Some(t_d) = context.disaster_at() else {
        return StepOutcome::error("failover needs a disaster step before it (the loss of the primary's site)");
    };
    // What is left of the step's time after promotion goes to waiting for
    // the first write, with a margin so that the step reports its details.
    let deadline = std::time::Instant::now() + step.timeout.mul_f64(0.9);
    let detected = detect_loss(context).await;
    let site = failover.site.map(usize::from);
    let promotion_started = context.clock().now();
    let mut output = None;
    let promoted_by = match &failover.runbook {
        None => "pg_ctl promote".to_string(),
        Some(command) => {
            let extra = context.source().failover_env(site);
            match super::exec::run_command_with(context, command, step.timeout, extra).await {
                Err(error) => return StepOutcome::error(format!("cannot run `{command}`: {error}")),
                Ok(run) if run.exit != (CommandExit::Code { code: 0 }) => {
                    return StepOutcome::failed(format!("the runbook's `{command}` did not exit 0: {}", run.output));
                }
                Ok(run) => {
                    output = Some(run.output);
                    command.clone()
                }
            }
        }
    };
    let request = FailoverRequest {
        site,
        promote: failover.runbook.is_none(),
        timeout: step.timeout,
    };
    let promotion = match context.source_mut().fail_over(&request).await {
        Ok(promotion) => promotion,
        // A deployment without standbys cannot be drilled this way: the
        // harness could not run the step, the recovery did not fail.
        Err(error @ crate::provider::ProviderError::Unsupported { .. }) => {
            return StepOutcome::error(crate::error::chain(&error));
        }
        Err(error) => return StepOutcome::failed(format!("failover failed: {}", crate::error::chain(&error))),
    };
    let promotion_finished = context.clock().now();
    context
        .await_failover_service(deadline.saturating_duration_since(std::time::Instant::now()))
        .await;
    let first_write = context.service_at();
    let details = FailoverDetails {
        promoted: promotion.name.clone(),
        promoted_by,
        endpoint_target: promotion.endpoint_target,
        detected_ms: detected.offset_ms,
        promotion_started_ms: promotion_started.offset_ms,
        promotion_finished_ms: promotion_finished.offset_ms,
        first_acknowledged_write_ms: first_write.map(|at| at.offset_ms),
        output,
    };
    match first_write {
        Some(at) => StepOutcome::passed(
            format!(
                "{} promoted in {} ms; first acknowledged write {} ms after T_d",
                promotion.name,
                promotion_finished.offset_ms.saturating_sub(promotion_started.offset_ms),
                at.offset_ms.saturating_sub(t_d.offset_ms)
            ),
            details,
        ),
        None => StepOutcome::failed(format!(
            "{} was promoted, but no write through the endpoint was acknowledged within the step's timeout",
            promotion.name
        ))
        .with_details(details),
    }
}

/// Waits until the application's endpoint no longer answers `hello` (the
/// application notices the loss) and returns when; at once when it is
/// down already.
async fn detect_loss(context: &DrillContext<'_>) -> Stamp {
    let uri = context.source().uri().expose_secret().to_string();
    loop {
        if crate::provider::ready::is_writable_primary(&uri).await.is_none() {
            return context.clock().now();
        }
        tokio::time::sleep(DETECTION_INTERVAL).await;
    }
}

/// The timeline's failover phases of the steps recorded so far:
/// detection (T_d to the loss seen), promotion, and the first
/// acknowledged write after it.
pub fn failover_phases(steps: &[StepRecord], disaster_at_ms: Option<u64>) -> Vec<Phase> {
    let mut phases = Vec::new();
    for step in steps {
        let Some(StepDetails::Failover(details)) = &step.details else {
            continue;
        };
        let phase = |name: &str, start_ms: u64, end_ms: u64| Phase {
            name: name.into(),
            start_ms,
            end_ms: end_ms.max(start_ms),
        };
        if let Some(t_d) = disaster_at_ms {
            phases.push(phase("detection", t_d, details.detected_ms));
        }
        phases.push(phase(
            "promotion",
            details.promotion_started_ms,
            details.promotion_finished_ms,
        ));
        if let Some(first) = details.first_acknowledged_write_ms {
            phases.push(phase("first acknowledged write", details.promotion_finished_ms, first));
        }
    }
    phases
}
