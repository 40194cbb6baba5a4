//! drdrill: a disaster-recovery drill harness for MongoDB.
//!
//! A drill flows one way. A [`scenario`] file is parsed and validated into a
//! plan; a [`provider`] starts the deployment it names (local server
//! processes, containers, or an existing URI); the [`dataset`] module seeds
//! it with deterministic configuration-management data; steps back it up
//! through a [`backup`] engine, inject a disaster, restore, and verify the
//! result with the [`checksum`] module against the reference taken at the
//! backup point; [`measure`] turns the recorded instants and ticks into RTO
//! and RPO; the [`runner`] emits events for all of it and the [`report`]
//! module turns the events into terminal output, JSON, JUnit and a timeline;
//! [`history`] keeps every finished drill for trends, status and the gate.
//!
//! The library never prints. It returns values, emits events and reports
//! progress through [`progress::ProgressSink`]; only the binary's `cli`
//! module and [`report`] write to the terminal or to files.

pub mod backup;
pub mod checksum;
pub mod connect;
pub mod dataset;
pub mod error;
pub mod history;
pub mod lint;
pub mod measure;
pub mod outcome;
pub mod process;
pub mod progress;
pub mod provider;
pub mod report;
pub mod retention;
pub mod runner;
pub mod scenario;
pub mod step;
pub mod store;
pub mod uri;
