//! One file per step kind; the set is closed ([`crate::scenario::StepKind`])
//! and [`run`] dispatches. A step returns a [`StepOutcome`] and records
//! instants (T_d, T_s, T_v), backups and checks in the drill context;
//! what it could not do is a [`StepError`].
//!
//! Never does: print, judge the drill, build report types, or start the
//! write workload (the runner does, around the seed and backup steps).

mod backup;
mod copy;
mod disaster;
mod error;
mod exec;
mod failover;
mod mask;
mod restore;
mod restore_snapshot;
mod seed;
mod snapshot;
mod stored;
mod verify;
mod wait;

pub use error::StepError;
pub use failover::failover_phases;
pub use mask::MAX_PII_VALUES;

use crate::outcome::{Status, StepDetails};
use crate::runner::context::DrillContext;
use crate::scenario::{Step, StepKind};

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// Passed, failed (the thing under test failed), error (the harness
    /// could not do it), or skipped.
    pub status: Status,
    /// One line.
    pub message: String,
    /// Step-specific facts for the report; `None` when the step stopped
    /// before it had any. Boxed: outcomes travel in `Result`s while a
    /// step runs, and the details are the large part.
    pub details: Option<Box<StepDetails>>,
}

impl StepOutcome {
    /// Success.
    pub fn passed(message: impl Into<String>, details: impl Into<StepDetails>) -> Self {
        Self {
            status: Status::Passed,
            message: message.into(),
            details: Some(Box::new(details.into())),
        }
    }

    /// The recovery under test failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            message: message.into(),
            details: None,
        }
    }

    /// The harness could not carry out the step.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            message: message.into(),
            details: None,
        }
    }

    /// With details.
    pub fn with_details(mut self, details: impl Into<StepDetails>) -> Self {
        self.details = Some(Box::new(details.into()));
        self
    }
}

/// Runs step `index` of the scenario.
pub async fn run(context: &mut DrillContext<'_>, index: usize, step: &Step) -> StepOutcome {
    match &step.kind {
        StepKind::Seed => seed::run(context, index).await,
        StepKind::Backup(backup) => backup::run(context, index, step, backup).await,
        StepKind::Disaster(disaster) => disaster::run(context, step, disaster).await,
        StepKind::Restore(restore) => restore::run(context, index, step, restore).await,
        StepKind::Verify => verify::run(context, index).await,
        StepKind::Wait { duration } => wait::run(*duration).await,
        StepKind::Exec { command } => exec::run(context, command, step.timeout).await,
        StepKind::Mask { seed } => mask::run_mask(context, *seed).await,
        StepKind::Pii => mask::run_pii(context).await,
        StepKind::Failover(failover) => failover::run(context, step, failover).await,
        StepKind::Copy(copy) => copy::run(context, copy).await,
        StepKind::Snapshot(snapshot) => snapshot::run(context, index, snapshot).await,
        StepKind::RestoreSnapshot(restore) => restore_snapshot::run(context, index, step, restore).await,
    }
}
