//! Steady-state probes (`[[probes]]`): is the system healthy enough to
//! drill, does it stay within bounds while the drill runs, and is it
//! healthy again afterwards. Each probe phase becomes one check
//! (`probe NAME before|during|after`, counting as `probe`).
//!
//! - *before*: once, immediately before the disaster step, against the
//!   source. A failure stops the drill before anything is injected.
//! - *during*: sampled every `interval` in the background from then until
//!   the last step ended, against the source; passes with at most
//!   `tolerance` failed samples. Consecutive failures feed the abort
//!   condition `probe_failures`.
//! - *after*: after the last step, against the recovered deployment (the
//!   source after an abort), retried for up to `settle`.
//!
//! Not the readiness probe of T_s (`probe.rs`), which measures RTO.

use std::sync::Arc;
use std::time::Duration;

use bson::{Document, doc};
use mongodb::Database;
use mongodb::options::{CollectionOptions, WriteConcern};

use super::ticks::TICKS_COLLECTION;
use crate::outcome::{CheckKind, CheckRecord, Status};
use crate::scenario::{Probe, ProbeCheck, ProbePhase};

/// The most reads a latency probe makes in one window.
const MAX_LATENCY_READS: u64 = 10_000;

/// One evaluation of a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Whether the probe held.
    pub held: bool,
    /// The measured value (a count, a p99 in ms), when there is one.
    pub measured: Option<f64>,
    /// What was seen, with the bound.
    pub message: String,
}

impl Sample {
    fn failed(message: String) -> Self {
        Self {
            held: false,
            measured: None,
            message,
        }
    }
}

/// How long one evaluation may take before it counts as failed.
fn sample_timeout(probe: &Probe) -> Duration {
    let base = probe.interval.max(Duration::from_secs(2)) * 2;
    match &probe.check {
        ProbeCheck::Latency { window, .. } => *window + base,
        _ => base,
    }
}

/// Evaluates `probe` once against `database`, within its time bound.
pub async fn sample(probe: &Probe, database: &Database, write_concern: &WriteConcern) -> Sample {
    let timeout = sample_timeout(probe);
    match tokio::time::timeout(timeout, evaluate(probe, database, write_concern)).await {
        Ok(sample) => sample,
        Err(_) => Sample::failed(format!(
            "no answer within {}",
            crate::measure::clock::format_duration(timeout)
        )),
    }
}

async fn evaluate(probe: &Probe, database: &Database, write_concern: &WriteConcern) -> Sample {
    match &probe.check {
        ProbeCheck::Count {
            collection,
            filter,
            min,
            max,
        } => count(database, collection, filter, *min, *max).await,
        ProbeCheck::Latency {
            collection,
            filter,
            p99,
            window,
        } => latency(database, collection, filter, *p99, *window).await,
        ProbeCheck::Canary => canary(database, write_concern).await,
    }
}

/// `min..=max` as people read it.
fn range_text(min: u64, max: Option<u64>) -> String {
    match max {
        Some(max) => format!("{min} to {max}"),
        None => format!("at least {min}"),
    }
}

/// Whether `count` is within `min..=max`, and the message saying so.
pub fn judge_count(collection: &str, count: u64, min: u64, max: Option<u64>) -> Sample {
    let held = count >= min && max.is_none_or(|max| count <= max);
    Sample {
        held,
        measured: Some(count as f64),
        message: format!(
            "{count} document(s) in {collection} match, expected {}",
            range_text(min, max)
        ),
    }
}

async fn count(database: &Database, collection: &str, filter: &Document, min: u64, max: Option<u64>) -> Sample {
    match database
        .collection::<Document>(collection)
        .count_documents(filter.clone())
        .await
    {
        Ok(count) => judge_count(collection, count, min, max),
        Err(error) => Sample::failed(format!("cannot count {collection}: {}", error_text(&error))),
    }
}

/// The p99 of `latencies_us` (microseconds) against `bound`.
pub fn judge_latency(latencies_us: &[u64], bound: Duration) -> Sample {
    let mut histogram = match hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3) {
        Ok(histogram) => histogram,
        Err(error) => return Sample::failed(format!("cannot build the latency histogram: {error}")),
    };
    for latency in latencies_us {
        histogram.saturating_record(*latency);
    }
    if histogram.is_empty() {
        return Sample::failed("no read answered in the window".into());
    }
    let p99 = Duration::from_micros(histogram.value_at_quantile(0.99));
    let p99_ms = p99.as_secs_f64() * 1_000.0;
    Sample {
        held: p99 <= bound,
        measured: Some(p99_ms),
        message: format!(
            "p99 {p99_ms:.1} ms over {} read(s), bound {} ms",
            histogram.len(),
            bound.as_millis()
        ),
    }
}

async fn latency(
    database: &Database,
    collection: &str,
    filter: &Document,
    bound: Duration,
    window: Duration,
) -> Sample {
    let collection = database.collection::<Document>(collection);
    let started = std::time::Instant::now();
    let mut latencies = Vec::new();
    while started.elapsed() < window && (latencies.len() as u64) < MAX_LATENCY_READS {
        let read = std::time::Instant::now();
        if let Err(error) = collection.find_one(filter.clone()).await {
            return Sample::failed(format!("a read failed: {}", error_text(&error)));
        }
        latencies.push(read.elapsed().as_micros() as u64);
    }
    judge_latency(&latencies, bound)
}

async fn canary(database: &Database, write_concern: &WriteConcern) -> Sample {
    let collection = database.collection_with_options::<Document>(
        TICKS_COLLECTION,
        CollectionOptions::builder()
            .write_concern(write_concern.clone())
            .build(),
    );
    let id = format!("steady-canary-{}", bson::oid::ObjectId::new());
    if let Err(error) = collection.insert_one(doc! { "_id": &id, "canary": true }).await {
        return Sample::failed(format!("the canary write was not acknowledged: {}", error_text(&error)));
    }
    let read = collection.find_one(doc! { "_id": &id }).await;
    // The canary served its purpose; leave no trace in the data.
    let _ = collection.delete_one(doc! { "_id": &id }).await;
    match read {
        Ok(Some(_)) => Sample {
            held: true,
            measured: None,
            message: "a canary write was acknowledged and read back".into(),
        },
        Ok(None) => Sample::failed("the acknowledged canary was not read back".into()),
        Err(error) => Sample::failed(format!("the canary could not be read back: {}", error_text(&error))),
    }
}

fn error_text(error: &mongodb::error::Error) -> String {
    crate::uri::redact(&crate::error::chain(error))
}

/// The check of one probe phase.
pub fn phase_check(
    probe: &Probe,
    phase: ProbePhase,
    held: bool,
    measured: Option<f64>,
    message: String,
) -> CheckRecord {
    CheckRecord {
        name: format!("probe {} {}", probe.name, phase.as_str()),
        counts_as: "probe".into(),
        kind: CheckKind::Integrity,
        status: if held { Status::Passed } else { Status::Failed },
        measured,
        objective: None,
        unit: match &probe.check {
            ProbeCheck::Count { .. } => Some("documents".into()),
            ProbeCheck::Latency { .. } => Some("ms".into()),
            ProbeCheck::Canary => None,
        },
        message,
    }
}

/// Runs the before phase: every probe that runs before, once. Returns the
/// checks, and the first failure's text when one did not hold.
pub async fn before(
    probes: &[Probe],
    database: &Database,
    write_concern: &WriteConcern,
) -> (Vec<CheckRecord>, Option<String>) {
    let mut checks = Vec::new();
    let mut failure = None;
    for probe in probes.iter().filter(|probe| probe.runs_in(ProbePhase::Before)) {
        let sample = sample(probe, database, write_concern).await;
        if !sample.held && failure.is_none() {
            failure = Some(format!("probe {}: {}", probe.name, sample.message));
        }
        checks.push(phase_check(
            probe,
            ProbePhase::Before,
            sample.held,
            sample.measured,
            sample.message,
        ));
    }
    (checks, failure)
}

/// Runs the after phase: each probe retried until it holds or its
/// `settle` time has passed.
pub async fn after(probes: &[Probe], database: &Database, write_concern: &WriteConcern) -> Vec<CheckRecord> {
    let mut checks = Vec::new();
    for probe in probes.iter().filter(|probe| probe.runs_in(ProbePhase::After)) {
        let started = std::time::Instant::now();
        // One attempt per interval until it holds or `settle` has passed:
        // a restarted node is given time to answer, within a bound.
        let mut timer = tokio::time::interval(probe.interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut attempts = 0u32;
        let sample = loop {
            timer.tick().await;
            attempts += 1;
            let sample = sample(probe, database, write_concern).await;
            if sample.held || started.elapsed() >= probe.settle {
                break sample;
            }
        };
        let message = if attempts > 1 {
            format!("{} (attempt {attempts})", sample.message)
        } else {
            sample.message
        };
        checks.push(phase_check(
            probe,
            ProbePhase::After,
            sample.held,
            sample.measured,
            message,
        ));
    }
    checks
}

/// What the during phase saw of one probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuringTally {
    /// Samples taken.
    pub samples: u64,
    /// Samples that did not hold.
    pub failures: u64,
    /// The longest run of failed samples in a row.
    pub longest_run: u32,
    /// The current run of failed samples.
    pub run: u32,
    /// The last failure's text.
    pub last_failure: Option<String>,
}

impl DuringTally {
    /// Counts one sample.
    pub fn record(&mut self, sample: &Sample) {
        self.samples += 1;
        if sample.held {
            self.run = 0;
        } else {
            self.failures += 1;
            self.run += 1;
            self.longest_run = self.longest_run.max(self.run);
            self.last_failure = Some(sample.message.clone());
        }
    }
}

/// Called with (probe name, failures in a row) after every failed sample.
pub type FailureHook = Arc<dyn Fn(&str, u32) + Send + Sync>;

/// The during phase, running in the background: one task per probe, all
/// stopped by one switch.
pub struct During {
    probes: Vec<Probe>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<DuringTally>>,
}

impl During {
    /// Starts sampling every probe that runs during the drill, each at its
    /// own interval; `on_failure` hears of every failed sample.
    pub fn start(probes: &[Probe], database: &Database, write_concern: &WriteConcern, on_failure: FailureHook) -> Self {
        let probes: Vec<Probe> = probes
            .iter()
            .filter(|probe| probe.runs_in(ProbePhase::During))
            .cloned()
            .collect();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tasks = probes
            .iter()
            .map(|probe| {
                tokio::spawn(sample_during(
                    probe.clone(),
                    database.clone(),
                    write_concern.clone(),
                    on_failure.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        Self { probes, stop, tasks }
    }

    /// Stops sampling (a sample in flight finishes) and returns one check
    /// per probe.
    pub async fn finish(self) -> Vec<CheckRecord> {
        let _ = self.stop.send(true);
        let mut checks = Vec::new();
        for (probe, task) in self.probes.iter().zip(self.tasks) {
            let tally = task.await.unwrap_or_default();
            checks.push(during_check(probe, &tally));
        }
        checks
    }
}

/// One probe sampled every `interval` until `stop` turns true.
async fn sample_during(
    probe: Probe,
    database: Database,
    write_concern: WriteConcern,
    on_failure: FailureHook,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> DuringTally {
    let mut tally = DuringTally::default();
    let mut timer = tokio::time::interval(probe.interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return tally,
        }
        if *stop.borrow() {
            return tally;
        }
        let sample = sample(&probe, &database, &write_concern).await;
        tally.record(&sample);
        if !sample.held {
            on_failure(&probe.name, tally.run);
        }
    }
}

/// The check of a probe's during phase.
pub fn during_check(probe: &Probe, tally: &DuringTally) -> CheckRecord {
    let held = tally.failures <= u64::from(probe.tolerance);
    let mut message = format!(
        "{} of {} sample(s) failed (tolerance {}, longest run {})",
        tally.failures, tally.samples, probe.tolerance, tally.longest_run
    );
    if let Some(last) = &tally.last_failure {
        message.push_str(&format!("; last failure: {last}"));
    }
    phase_check(probe, ProbePhase::During, held, Some(tally.failures as f64), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_holds_only_inside_its_range() {
        assert!(judge_count("users", 5, 1, Some(10)).held);
        assert!(!judge_count("users", 0, 1, Some(10)).held);
        assert!(!judge_count("users", 11, 1, Some(10)).held);
        assert!(judge_count("users", 1_000_000, 1, None).held);
        assert_eq!(
            judge_count("users", 0, 1, None).message,
            "0 document(s) in users match, expected at least 1"
        );
    }

    #[test]
    fn the_latency_probe_judges_the_99th_percentile() {
        // 98 fast reads and 2 slow ones: the p99 is a slow one.
        let mut latencies = vec![1_000u64; 98];
        latencies.extend([80_000, 90_000]);
        let sample = judge_latency(&latencies, Duration::from_millis(50));
        assert!(!sample.held, "{sample:?}");
        assert!(sample.measured.unwrap() >= 79.0, "{sample:?}");
        let fast = judge_latency(&[1_000; 100], Duration::from_millis(50));
        assert!(fast.held, "{fast:?}");
        assert!(!judge_latency(&[], Duration::from_millis(50)).held);
    }

    #[test]
    fn the_during_tally_counts_runs_of_failures() {
        let held = Sample {
            held: true,
            measured: None,
            message: "ok".into(),
        };
        let failed = Sample::failed("down".into());
        let mut tally = DuringTally::default();
        for sample in [&failed, &failed, &held, &failed, &failed, &failed, &held] {
            tally.record(sample);
        }
        assert_eq!(
            (tally.samples, tally.failures, tally.longest_run, tally.run),
            (7, 5, 3, 0)
        );
        assert_eq!(tally.last_failure.as_deref(), Some("down"));
    }
}
