//! Drill history: every drill `drdrill run` finishes is recorded
//! ([`record`]) in a store ([`store`]: SQLite by default, PostgreSQL for a
//! team); from it come the standing of each scenario against its cadence
//! ([`cadence`]), the release gate ([`gate`]), the Prometheus metrics
//! ([`metrics`]), the trend page ([`html`]) and webhook messages
//! ([`notify`]). Nothing here runs a drill or prints: the CLI reads the
//! history and renders it.

pub mod cadence;
pub mod gate;
pub mod html;
pub mod metrics;
pub mod notify;
pub mod record;
pub mod store;

pub use cadence::{ScenarioStatus, cadence, statuses};
pub use gate::{GateProblem, GateResult, GateSettings};
pub use record::{DrillRecord, Figure, RecordedVerdict};
pub use store::{HistoryError, HistoryLocation, HistoryStore};
