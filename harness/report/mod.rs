//! Consumers of the drill's outcome: `report.json` (with its JSON Schema),
//! `junit.xml`, `summary.md`, `timeline.svg`, and the terminal table and
//! reasons. They read a [`model::DrillReport`], made from the runner's
//! [`crate::outcome::DrillOutcome`] and the exit status the command line
//! decided.
//!
//! Never does: talk to a server, import [`crate::runner`], judge a drill,
//! or decide an exit status.

mod error;
mod file;
mod folder;
pub mod json;
pub mod junit;
pub mod model;
#[doc(hidden)]
pub mod sample;
pub mod summary;
pub mod terminal;

pub mod timeline;
pub mod units;

pub use error::ReportError;
pub use folder::write_drill_reports;
