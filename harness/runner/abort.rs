//! Abort conditions (`[abort]`): a steady-state probe failing N times in
//! a row, the drill running longer than `max_duration`, or a signal file
//! appearing. When one fires the runner abandons the step in progress and
//! runs no later one (nothing more is injected), brings back every node
//! the disaster took down, compares the source with its checksums from
//! just before T_d, and ends the drill inconclusive (exit 2) naming the
//! condition.
//!
//! The watcher polls the clock and the signal file every
//! [`POLL_INTERVAL`]; the probe condition is told by the during phase of
//! the steady-state probes ([`super::steady::During`]) after each failed
//! sample.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::context::DrillContext;
use crate::checksum::{DatabaseDigest, DigestOptions, compare_digests, digest_database};
use crate::measure::clock::DrillClock;
use crate::outcome::{CheckKind, CheckRecord, Status};
use crate::scenario::AbortConditions;

/// How often the clock and the signal file are looked at.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Which abort condition fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbortReason {
    /// A probe failed `limit` samples in a row.
    #[error("probe_failures: probe {probe} failed {run} time(s) in a row (limit {limit})")]
    ProbeFailures {
        /// The probe's name.
        probe: String,
        /// Its failures in a row.
        run: u32,
        /// `probe_failures`.
        limit: u32,
    },
    /// The drill ran longer than `max_duration`.
    #[error("max_duration: the drill ran longer than {limit}")]
    MaxDuration {
        /// `max_duration`, as people read it.
        limit: String,
    },
    /// The signal file appeared.
    #[error("signal_file: {path} appeared")]
    SignalFile {
        /// The file.
        path: PathBuf,
    },
}

impl AbortReason {
    /// The condition's key in `[abort]`.
    pub fn condition(&self) -> &'static str {
        match self {
            Self::ProbeFailures { .. } => "probe_failures",
            Self::MaxDuration { .. } => "max_duration",
            Self::SignalFile { .. } => "signal_file",
        }
    }
}

/// What the steps watch to know the drill was aborted.
pub type AbortSignal = watch::Receiver<Option<AbortReason>>;

/// Resolves with the reason once an abort condition fired.
pub async fn fired(signal: &mut AbortSignal) -> AbortReason {
    loop {
        if let Some(reason) = signal.borrow().clone() {
            return reason;
        }
        if signal.changed().await.is_err() {
            // The watch is gone: nothing can fire any more.
            std::future::pending::<()>().await;
        }
    }
}

/// The abort conditions of one drill, being watched.
pub struct AbortWatch {
    sender: Arc<watch::Sender<Option<AbortReason>>>,
    receiver: AbortSignal,
    probe_failures: Option<u32>,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl AbortWatch {
    /// Starts watching `conditions` from now (the drill's start).
    pub fn start(conditions: &AbortConditions, clock: DrillClock) -> Self {
        let (sender, receiver) = watch::channel(None);
        let sender = Arc::new(sender);
        let poller = (conditions.max_duration.is_some() || conditions.signal_file.is_some()).then(|| {
            tokio::spawn(poll(
                Arc::clone(&sender),
                conditions.max_duration,
                conditions.signal_file.clone(),
                clock,
            ))
        });
        Self {
            sender,
            receiver,
            probe_failures: conditions.probe_failures,
            poller,
        }
    }

    /// A receiver that turns `Some` when a condition fires.
    pub fn signal(&self) -> AbortSignal {
        self.receiver.clone()
    }

    /// The condition that fired, if one did.
    pub fn reason(&self) -> Option<AbortReason> {
        self.receiver.borrow().clone()
    }

    /// What the during phase calls after each failed sample: fires
    /// `probe_failures` when the run reaches the limit.
    pub fn failure_hook(&self) -> super::steady::FailureHook {
        let sender = Arc::clone(&self.sender);
        let limit = self.probe_failures;
        Arc::new(move |probe: &str, run: u32| {
            if let Some(limit) = limit
                && run >= limit
            {
                fire(
                    &sender,
                    AbortReason::ProbeFailures {
                        probe: probe.to_string(),
                        run,
                        limit,
                    },
                );
            }
        })
    }

    /// Stops watching.
    pub fn stop(mut self) {
        if let Some(poller) = self.poller.take() {
            poller.abort();
        }
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if let Some(poller) = self.poller.take() {
            poller.abort();
        }
    }
}

/// Keeps the first condition that fired.
fn fire(sender: &watch::Sender<Option<AbortReason>>, reason: AbortReason) {
    sender.send_if_modified(|current| {
        if current.is_some() {
            return false;
        }
        *current = Some(reason);
        true
    });
}

async fn poll(
    sender: Arc<watch::Sender<Option<AbortReason>>>,
    max_duration: Option<Duration>,
    signal_file: Option<PathBuf>,
    clock: DrillClock,
) {
    let mut timer = tokio::time::interval(POLL_INTERVAL);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        if let Some(reason) = check_once(max_duration, signal_file.as_deref(), clock.now().offset_ms) {
            fire(&sender, reason);
            return;
        }
    }
}

/// The time and file conditions at `elapsed_ms` from the drill start.
pub fn check_once(
    max_duration: Option<Duration>,
    signal_file: Option<&std::path::Path>,
    elapsed_ms: u64,
) -> Option<AbortReason> {
    if let Some(path) = signal_file
        && path.exists()
    {
        return Some(AbortReason::SignalFile {
            path: path.to_path_buf(),
        });
    }
    match max_duration {
        Some(limit) if elapsed_ms > limit.as_millis() as u64 => Some(AbortReason::MaxDuration {
            limit: crate::measure::clock::format_duration(limit),
        }),
        _ => None,
    }
}

/// The source's checksums just before T_d, which an abort must restore.
pub async fn digest_before(context: &DrillContext<'_>) -> Option<DatabaseDigest> {
    let options = DigestOptions {
        missing_database_is_empty: true,
        ..DigestOptions::default()
    };
    digest_database(&context.source_database(), &options, &crate::progress::NoProgress)
        .await
        .ok()
}

/// After an abort: every node of the source is brought back (restarted,
/// resumed, reconnected), and the source compared with `before`. Returns
/// the checks: `abort` (the condition, which makes the drill
/// inconclusive) and `abort recovery` (the deployment is as it was).
pub async fn recover(
    context: &mut DrillContext<'_>,
    reason: &AbortReason,
    before: Option<&DatabaseDigest>,
) -> Vec<CheckRecord> {
    let at = context.clock().now().offset_ms;
    let mut checks = vec![CheckRecord {
        name: "abort".into(),
        counts_as: "abort".into(),
        kind: CheckKind::Integrity,
        status: Status::Failed,
        measured: None,
        objective: None,
        unit: None,
        message: format!("aborted at {}: {reason}", crate::report::units::offset_seconds(at)),
    }];
    if context.disaster_at().is_none() {
        return checks;
    }
    let (brought_back, problem) = bring_back(context).await;
    let (held, mut message) = match (problem, before) {
        (Some(problem), _) => (false, problem),
        (None, None) => (false, "no checksums were taken before T_d to compare with".to_string()),
        (None, Some(before)) => compare_with(context, before).await,
    };
    if !brought_back.is_empty() {
        message = format!("{} brought back; {message}", brought_back.join(", "));
    }
    checks.push(CheckRecord {
        name: "abort recovery".into(),
        counts_as: "abort".into(),
        kind: CheckKind::Integrity,
        status: if held { Status::Passed } else { Status::Failed },
        measured: None,
        objective: None,
        unit: None,
        message,
    });
    checks
}

/// Brings every node of the source back; returns the nodes it had to
/// bring back, and what went wrong if something did.
async fn bring_back(context: &mut DrillContext<'_>) -> (Vec<String>, Option<String>) {
    let mut brought_back = Vec::new();
    for node in 0..context.source().node_count().unwrap_or(0) {
        match context.source_mut().ensure_running(node).await {
            Ok(true) => brought_back.push(format!("node-{node}")),
            Ok(false) => {}
            Err(error) => {
                let problem = format!("cannot bring node-{node} back: {}", crate::error::chain(&error));
                return (brought_back, Some(crate::uri::redact(&problem)));
            }
        }
    }
    if !brought_back.is_empty() {
        // A restarted container may publish another port: connect anew.
        match super::drill::connect(&context.source().uri()).await {
            Ok(client) => context.reconnect_source(client),
            Err(error) => {
                let problem = format!("cannot reconnect to the source: {}", crate::error::chain(&error));
                return (brought_back, Some(crate::uri::redact(&problem)));
            }
        }
    }
    (brought_back, None)
}

/// Whether the source's checksums equal `before`, and the message.
async fn compare_with(context: &DrillContext<'_>, before: &DatabaseDigest) -> (bool, String) {
    let Some(now) = digest_before(context).await else {
        return (
            false,
            "the source does not answer a checksum read after the abort".into(),
        );
    };
    let comparison = compare_digests(before, &now);
    let changed: Vec<&str> = comparison
        .collections
        .iter()
        .filter(|collection| !collection.is_identical())
        .map(|collection| collection.name.as_str())
        .collect();
    if changed.is_empty() {
        (
            true,
            format!(
                "the source answers and its {} collection(s) have the checksums they had before T_d",
                comparison.collections.len()
            ),
        )
    } else {
        (
            false,
            format!("the source differs from before T_d in {}", changed.join(", ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_and_file_conditions_fire_when_due() {
        let limit = Some(Duration::from_secs(2));
        assert_eq!(check_once(limit, None, 1_999), None);
        assert_eq!(
            check_once(limit, None, 2_001).map(|reason| reason.condition()),
            Some("max_duration")
        );
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("abort");
        assert_eq!(check_once(None, Some(&file), 10), None);
        std::fs::write(&file, "").unwrap();
        let reason = check_once(limit, Some(&file), 10).unwrap();
        assert_eq!(reason.condition(), "signal_file");
        assert!(reason.to_string().ends_with("abort appeared"), "{reason}");
    }

    #[tokio::test]
    async fn the_first_condition_to_fire_is_kept() {
        let conditions = AbortConditions {
            probe_failures: Some(2),
            ..AbortConditions::default()
        };
        let watch = AbortWatch::start(&conditions, DrillClock::start());
        let hook = watch.failure_hook();
        hook("users", 1);
        assert_eq!(watch.reason(), None);
        hook("users", 2);
        hook("orders", 5);
        let mut signal = watch.signal();
        let reason = fired(&mut signal).await;
        assert_eq!(reason.condition(), "probe_failures");
        assert!(reason.to_string().contains("probe users failed 2"), "{reason}");
        watch.stop();
    }
}
