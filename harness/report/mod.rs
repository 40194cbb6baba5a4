//! Consumers of the drill's outcome: `report.json` (with its JSON Schema),
//! `junit.xml`, `summary.md`, `timeline.svg`, and the terminal view. They
//! read the [`model::DrillReport`] the runner builds; none of them talks to
//! a server.

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
