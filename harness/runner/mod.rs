//! Runs a plan and emits events; never prints. Owns the drill's lifecycle
//! (deployment, steps with timeouts, cancellation, measurement, verdict,
//! teardown); the steps themselves live in [`crate::step`].

pub mod background;
pub mod context;
pub mod deployment;
pub mod drill;
pub mod events;
pub mod primary;
pub mod probe;
pub mod ticks;
