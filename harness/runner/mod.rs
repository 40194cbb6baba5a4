//! Runs a plan and emits events. Owns the drill's lifecycle: the
//! deployment, the steps in order with their timeouts, cancellation, the
//! write workload and the background monitors, measurement, asking
//! [`crate::measure::verdict`] for the verdict, and teardown; it returns a
//! typed [`crate::outcome::DrillOutcome`].
//!
//! Never does: print, write report files, build report types, decide exit
//! statuses, or judge a drill itself. What each step does lives in
//! [`crate::step`].

pub mod abort;
pub mod background;
pub mod context;
pub mod deployment;
pub mod drill;
pub mod events;
pub mod forecast;
pub mod guard;
pub mod primary;
pub mod probe;
pub(crate) mod rpo;
pub mod steady;
pub mod ticks;
