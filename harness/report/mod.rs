//! Consumers of the drill's outcome: `report.json` (with its JSON Schema),
//! `junit.xml`, `summary.md`, `timeline.svg`, and the terminal view. They
//! read the [`model::DrillReport`] the runner builds; none of them talks to
//! a server.

pub mod model;
mod time;
