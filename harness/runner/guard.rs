//! What watches a drill while its steps run: the steady-state probes
//! ([`super::steady`]) and the abort conditions ([`super::abort`]). The
//! runner makes one [`DrillGuard`] per drill, asks it before the disaster
//! step whether the drill may go on, lets steps race its abort signal,
//! and finishes it after the last step (which records the probe and abort
//! checks). A scenario with neither probes nor `[abort]` gets a guard that
//! does nothing.

use super::abort::{AbortReason, AbortSignal, AbortWatch};
use super::context::DrillContext;
use super::events::Event;
use super::steady::During;
use crate::checksum::DatabaseDigest;
use crate::outcome::CheckRecord;

/// The probes and abort conditions of one drill.
pub struct DrillGuard {
    /// The abort conditions being watched (always present: without
    /// conditions it never fires).
    abort: AbortWatch,
    /// The during phase, from the before phase on.
    during: Option<During>,
    /// The source's checksums just before T_d, taken when the scenario
    /// has abort conditions: what an abort must leave behind.
    before: Option<DatabaseDigest>,
}

impl DrillGuard {
    /// Starts watching the scenario's abort conditions from now.
    pub fn start(context: &DrillContext<'_>) -> Self {
        Self {
            abort: AbortWatch::start(&context.scenario().abort, context.clock()),
            during: None,
            before: None,
        }
    }

    /// The signal steps race: `Some` once a condition fired.
    pub fn signal(&self) -> AbortSignal {
        self.abort.signal()
    }

    /// The condition that fired, if one did.
    pub fn fired(&self) -> Option<AbortReason> {
        self.abort.reason()
    }

    /// Immediately before the disaster step: the before phase. When a
    /// probe does not hold, returns why, and the disaster must not run.
    /// Otherwise takes the checksums an abort must restore (when the
    /// scenario can abort) and starts the during phase.
    pub async fn before_disaster(&mut self, context: &mut DrillContext<'_>) -> Result<(), SteadyStateBroken> {
        let scenario = context.scenario();
        let write_concern = context.write_concern();
        let database = context.source_database();
        let (checks, failure) = super::steady::before(&scenario.probes, &database, &write_concern).await;
        for check in checks {
            record(context, check);
        }
        if let Some(failure) = failure {
            return Err(SteadyStateBroken(failure.to_string()));
        }
        if scenario.abort.any() {
            self.before = super::abort::digest_before(context).await;
        }
        if self.during.is_none() {
            self.during = Some(During::start(
                &scenario.probes,
                &database,
                &write_concern,
                self.abort.failure_hook(),
            ));
        }
        Ok(())
    }

    /// After the last step (or the step an abort or failure ended): stops
    /// the during phase and the abort watch, puts the deployment back
    /// after an abort, runs the after phase, and records every check.
    /// `skip_after` when the before phase did not hold (nothing was
    /// injected, so there is nothing to probe after) or the operator
    /// interrupted the drill (it must end now, not after `settle`).
    pub async fn finish(self, context: &mut DrillContext<'_>, skip_after: bool) {
        let fired = self.abort.reason();
        self.abort.stop();
        if let Some(during) = self.during {
            for check in during.finish().await {
                record(context, check);
            }
        }
        let database = match &fired {
            Some(reason) => {
                for check in super::abort::recover(context, reason, self.before.as_ref()).await {
                    record(context, check);
                }
                context.source_database()
            }
            None => context.recovered_database(),
        };
        if skip_after {
            return;
        }
        let write_concern = context.write_concern();
        for check in super::steady::after(&context.scenario().probes, &database, &write_concern).await {
            record(context, check);
        }
    }
}

/// Keeps a probe or abort check and says it on the terminal as it
/// happens (the reports list it with the others at the end).
fn record(context: &mut DrillContext<'_>, check: CheckRecord) {
    context.events().emit(Event::Note {
        message: format!(
            "{} {}: {}",
            check.name,
            if check.status == crate::outcome::Status::Passed {
                "held"
            } else {
                "did not hold"
            },
            check.message
        ),
    });
    context.add_check(check);
}

/// A before-phase probe did not hold: the drill injects nothing.
#[derive(Debug, thiserror::Error)]
#[error("the steady state did not hold before the disaster, nothing was injected: {0}")]
pub struct SteadyStateBroken(pub String);
