//! What a drill produced, typed: the runner fills a [`DrillOutcome`],
//! [`crate::measure::verdict`] judges it, and every reporter in
//! [`crate::report`] renders it. Data only: nothing here runs, judges or
//! prints. The dependency goes runner → outcome ← report, so reporters
//! never import the runner and the runner never builds report types.
//!
//! These types are also the shapes of `report.json`'s fields: changing one
//! changes `crate::report::model::SCHEMA_VERSION` and the committed schema.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod details;
pub(crate) mod time;

pub use details::StepDetails;

/// An instant on the drill clock: monotonic offset for arithmetic, wall
/// clock for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Instant {
    /// Milliseconds since the drill started (monotonic).
    pub offset_ms: u64,
    /// UTC wall-clock time, RFC 3339 with milliseconds.
    #[serde(
        serialize_with = "crate::outcome::time::serialize",
        deserialize_with = "crate::outcome::time::deserialize"
    )]
    pub wall: DateTime<Utc>,
}

/// The verdict of one drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// Every step succeeded, verification matched, no holes, every objective held.
    Passed,
    /// The drill ran to the end and a check or objective failed.
    Failed,
    /// The harness could not run the drill or reach a verdict (bad scenario,
    /// no provider, server never came up, interrupted).
    Inconclusive,
    /// The engine cannot run this scenario (e.g. replica sets on FerretDB).
    Skipped,
}

/// The judge's decision on one drill: its kind, why, and what became of
/// an expected failure. The exit status is not part of it: the command
/// line decides that, in one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Judgement {
    /// Passed, failed, inconclusive or skipped.
    pub kind: VerdictKind,
    /// Why, one sentence per reason (empty when passed).
    pub reasons: Vec<String>,
    /// Set when the scenario expected a failure (`expect = "fail"`): the
    /// check it named, and whether it failed as expected.
    pub expected_failure: Option<ExpectedFailure>,
}

/// A negative drill's expectation and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExpectedFailure {
    /// The check named in the scenario (e.g. `rpo`, `verify`, `backup`).
    pub check: String,
    /// Whether that check failed, as the scenario expected.
    pub observed: bool,
}

/// The status of a step or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Succeeded.
    Passed,
    /// Ran and failed.
    Failed,
    /// Could not run (an error, a timeout, an interruption).
    Error,
    /// Not run (an earlier step failed, the drill was interrupted, or the
    /// engine does not support it).
    Skipped,
}

/// One step of the scenario as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepRecord {
    /// Position in the scenario, from 0.
    pub index: usize,
    /// `seed`, `backup`, `disaster`, `restore`, `verify`, `wait`, `exec`.
    pub kind: String,
    /// A readable name (`backup (builtin, archive, gzip)`).
    pub name: String,
    /// When it started; absent when it never ran.
    pub started: Option<Instant>,
    /// When it ended.
    pub finished: Option<Instant>,
    /// `finished - started`, milliseconds.
    pub duration_ms: Option<u64>,
    /// The step's timeout, milliseconds.
    pub timeout_ms: u64,
    /// Outcome.
    pub status: Status,
    /// What went wrong or what it did, one line.
    pub message: String,
    /// Step-specific facts (engine, size, counts, command output ...),
    /// tagged by the step's kind; `null` when the step never ran or
    /// stopped before it had any.
    #[serde(default)]
    pub details: Option<StepDetails>,
}

/// The kind of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An objective (RTO, RPO).
    Objective,
    /// A per-collection verification (count, checksum, indexes).
    Collection,
    /// Another check (holes, unexpected ticks, backup contents, untouched collections).
    Integrity,
}

/// One check, as a JUnit test case and a row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckRecord {
    /// `rto_service`, `rpo`, `collection configurations`, `holes` ...
    pub name: String,
    /// The known check it answers to, as a scenario's `expect` names it
    /// (`rto`, `rpo`, `verify`, `holes` ...): `rto_service` counts as `rto`,
    /// every collection check as `verify`.
    #[serde(default)]
    pub counts_as: String,
    /// Objective, collection or integrity.
    pub kind: CheckKind,
    /// Passed, failed, error or skipped.
    pub status: Status,
    /// The measured value in `unit` (when it is a number).
    pub measured: Option<f64>,
    /// The objective in `unit`.
    pub objective: Option<f64>,
    /// `ms`, `documents`, `ticks` ...
    pub unit: Option<String>,
    /// The failure or success statement: measured value, objective and unit.
    pub message: String,
}

/// RTO and RPO as achieved, with their resolutions and concerns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measurements {
    /// T_d: the disaster instant.
    pub disaster_at: Option<Instant>,
    /// What the RTO figures run from: `disaster` (T_d), or `restore-start`
    /// in a drill with no disaster step (the time to a verified copy);
    /// absent when no RTO was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_from: Option<String>,
    /// T_s − T_d, milliseconds: first canary write acknowledged and read back.
    pub rto_service_ms: Option<u64>,
    /// T_v − T_d, milliseconds: verification of the recovered data finished and passed.
    pub rto_verified_ms: Option<u64>,
    /// Error bound of `rto_service_ms`: one probe interval.
    pub probe_interval_ms: u64,
    /// T_d − t_ack(recovered prefix), milliseconds.
    pub rpo_ms: Option<u64>,
    /// Resolution of `rpo_ms`: one tick interval.
    pub tick_interval_ms: u64,
    /// Write concern of ticks and canaries (`1`, `majority`).
    pub write_concern: String,
    /// Read concern used to read ticks back.
    pub read_concern: String,
    /// Ticks acknowledged before T_d.
    pub ticks_acknowledged_before_disaster: u64,
    /// Newest tick acknowledged before T_d.
    pub last_acked_before_disaster: Option<u64>,
    /// Largest seq with every earlier acknowledged tick present.
    pub recovered_prefix: Option<u64>,
    /// Acknowledged before T_d and missing after recovery.
    pub lost_acknowledged_writes: u64,
    /// Present ticks whose acknowledged predecessor is missing (non-prefix loss).
    pub holes: Vec<u64>,
    /// Ticks with unknown outcome found after recovery.
    pub indeterminate_recovered: u64,
    /// Ticks with unknown outcome missing after recovery (not a loss).
    pub indeterminate_missing: u64,
    /// Ticks found that were never attempted (data from elsewhere).
    pub unexpected: Vec<u64>,
    /// No acknowledged tick survived; `rpo_ms` is then T_d − workload start.
    pub nothing_survived: bool,
    /// Notes on the measurement (e.g. why a figure is absent).
    pub notes: Vec<String>,
    /// The RPO figures of every collection the ticks were measured in: each
    /// collection the disaster touched (dropped, corrupted or selectively
    /// restored), or `_drill_ticks` alone for a whole-database drill. The
    /// figures above are the worst of these.
    #[serde(default)]
    pub rpo_collections: Vec<CollectionRpo>,
    /// The collection whose figures are the drill's (the largest `rpo`).
    #[serde(default)]
    pub rpo_worst_collection: Option<String>,
    /// Replica sets: who answered as primary, from the deployment's start
    /// to the end of the drill; one entry per change.
    #[serde(default)]
    pub primary_timeline: Vec<PrimaryChange>,
}

impl Measurements {
    /// The collection whose figures are the drill's RPO when the ticks
    /// lived in the collections the disaster touched; `None` for a
    /// whole-database drill, measured in `_drill_ticks` alone.
    pub fn rpo_touched_worst(&self) -> Option<&str> {
        self.rpo_worst_collection
            .as_deref()
            .filter(|collection| *collection != crate::measure::ticks::TICKS_COLLECTION)
    }
}

/// The RPO figures of one collection ticks were written into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CollectionRpo {
    /// The collection (`_drill_ticks` or one the disaster touched).
    pub collection: String,
    /// T_d − t_ack(recovered prefix) in this collection, milliseconds;
    /// absent when the ticks could not be placed or read back here.
    pub rpo_ms: Option<u64>,
    /// Ticks acknowledged by this collection before T_d.
    pub ticks_acknowledged_before_disaster: u64,
    /// Largest seq with every earlier acknowledged tick present here.
    pub recovered_prefix: Option<u64>,
    /// Acknowledged here before T_d and missing after recovery.
    pub lost_acknowledged_writes: u64,
    /// Present ticks whose acknowledged predecessor is missing here.
    pub holes: Vec<u64>,
    /// Ticks found here that were never attempted.
    pub unexpected: Vec<u64>,
    /// No acknowledged tick survived in this collection.
    pub nothing_survived: bool,
    /// Why no figure could be trusted here: the server refused the tick
    /// documents (a validator, an index), or they could not be read back.
    pub problem: Option<String>,
}

/// Objectives of the scenario, milliseconds, and as the scenario wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Objectives {
    /// RTO objective.
    pub rto_ms: Option<u64>,
    /// RPO objective.
    pub rpo_ms: Option<u64>,
    /// `service` or `verified`.
    pub rto_applies_to: String,
    /// The RTO objective as the scenario wrote it (`1h`); every report shows
    /// this text beside the measured figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
    /// The RPO objective as the scenario wrote it (`15m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
}

impl Objectives {
    /// The RTO objective for people, as written (`1h`), when there is one.
    pub fn rto_text(&self) -> Option<String> {
        written_or_formatted(self.rto.as_deref(), self.rto_ms)
    }

    /// The RPO objective for people, as written (`15m`), when there is one.
    pub fn rpo_text(&self) -> Option<String> {
        written_or_formatted(self.rpo.as_deref(), self.rpo_ms)
    }

    /// The objective an objective check (`rto_service`, `rto_verified`,
    /// `rpo`, or their `counts_as`) is compared with, as written.
    pub fn text_for(&self, check: &str) -> Option<String> {
        match check {
            "rpo" => self.rpo_text(),
            "rto" | "rto_service" | "rto_verified" => self.rto_text(),
            _ => None,
        }
    }
}

/// The written text when it still says `milliseconds` (a report edited by
/// hand, or an old one, may disagree), else the one duration format.
fn written_or_formatted(written: Option<&str>, milliseconds: Option<u64>) -> Option<String> {
    let objective = std::time::Duration::from_millis(milliseconds?);
    let agrees = written.filter(|text| crate::scenario::duration::parse_duration(text.trim()) == Ok(objective));
    Some(crate::measure::rto::objective_text(agrees, objective))
}

/// What the deployment was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Topology {
    /// `local`, `containers`, `external`.
    pub provider: String,
    /// `ferretdb`, `mongodb`.
    pub engine: String,
    /// `sqlite`, `postgresql` (FerretDB only).
    pub backend: Option<String>,
    /// Node count.
    pub nodes: usize,
    /// What the server reported (e.g. `FerretDB v1.24.2 (MongoDB 7.0.42)`).
    pub server_version: Option<String>,
    /// The deployment's URI, credentials redacted.
    pub uri: Option<String>,
}

/// One phase on the timeline picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Phase {
    /// `seed`, `backup`, `outage`, `restore`, `verification` ...
    pub name: String,
    /// Start, ms from drill start.
    pub start_ms: u64,
    /// End, ms from drill start.
    pub end_ms: u64,
}

/// One change of primary, as the runner's primary monitor saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrimaryChange {
    /// Monotonic offset from the drill start, milliseconds.
    pub at_ms: u64,
    /// The node that answered as writable primary (`node-0` ...), or `None`
    /// when no node did.
    pub primary: Option<String>,
    /// How many nodes answered `hello` at that sample.
    pub answering: usize,
}

/// One drill as it ran: everything its reports say, typed. `V` is the
/// verdict: the judge's [`Judgement`] as the runner returns it; a report
/// carries the judgement with the exit status the command line decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrillOutcome<V = Judgement> {
    /// `<UTC yyyymmddThhmmssZ>-<scenario>-<4 hex>`.
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub scenario_file: String,
    /// Its description.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The harness's version.
    pub harness_version: String,
    /// Drill start.
    #[serde(
        serialize_with = "crate::outcome::time::serialize",
        deserialize_with = "crate::outcome::time::deserialize"
    )]
    pub started: DateTime<Utc>,
    /// Drill end.
    #[serde(
        serialize_with = "crate::outcome::time::serialize",
        deserialize_with = "crate::outcome::time::deserialize"
    )]
    pub finished: DateTime<Utc>,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// Stopped by Ctrl-C/SIGTERM before the end.
    pub interrupted: bool,
    /// The verdict.
    pub verdict: V,
    /// The deployment.
    pub topology: Topology,
    /// The objectives.
    pub objectives: Objectives,
    /// RTO and RPO achieved.
    pub measurements: Measurements,
    /// Steps in order, including those not run.
    pub steps: Vec<StepRecord>,
    /// Objective, collection and integrity checks.
    pub checks: Vec<CheckRecord>,
    /// Phases for the timeline.
    pub phases: Vec<Phase>,
    /// Things a person should know that are not failures (engine limits,
    /// runbook quirks, indexes not supported by the engine).
    pub findings: Vec<String>,
    /// The RTO forecast at production size (`[forecast]` in the scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<crate::measure::forecast::Forecast>,
}

impl<V> DrillOutcome<V> {
    /// The same drill with its verdict turned into another form (the
    /// report's verdict adds the exit status).
    pub fn map_verdict<W>(self, verdict: impl FnOnce(V) -> W) -> DrillOutcome<W> {
        DrillOutcome {
            verdict: verdict(self.verdict),
            run_id: self.run_id,
            scenario: self.scenario,
            scenario_file: self.scenario_file,
            description: self.description,
            tags: self.tags,
            harness_version: self.harness_version,
            started: self.started,
            finished: self.finished,
            duration_ms: self.duration_ms,
            interrupted: self.interrupted,
            topology: self.topology,
            objectives: self.objectives,
            measurements: self.measurements,
            steps: self.steps,
            checks: self.checks,
            phases: self.phases,
            findings: self.findings,
            forecast: self.forecast,
        }
    }
}
