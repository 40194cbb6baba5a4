//! Who was primary when: a monitor that asks every node of a replica set
//! `hello` (direct connections, one second each) at a fixed interval from
//! the moment the deployment is ready, and keeps only the changes. The
//! report's `primary_timeline` and the timeline picture come from it; a
//! failover drill reads "no primary" from it when a majority is gone.

use std::time::Duration;

use super::background::{Background, every};
use crate::measure::clock::DrillClock;
pub use crate::outcome::PrimaryChange;
use crate::provider::ready::is_writable_primary;

/// The primary among `node_uris`: the first node that answers `hello` as
/// writable primary, and how many nodes answered at all.
pub async fn find_primary(node_uris: &[String]) -> (Option<usize>, usize) {
    let answers = futures_util::future::join_all(node_uris.iter().map(|uri| is_writable_primary(uri))).await;
    let primary = answers.iter().position(|answer| *answer == Some(true));
    let answering = answers.iter().filter(|answer| answer.is_some()).count();
    (primary, answering)
}

/// Appends a sample to `changes` when it differs from the last one (by
/// primary or by how many nodes answer). Returns whether it was kept.
pub fn record(changes: &mut Vec<PrimaryChange>, at_ms: u64, primary: Option<usize>, answering: usize) -> bool {
    let primary = primary.map(|index| format!("node-{index}"));
    if changes
        .last()
        .is_some_and(|last| last.primary == primary && last.answering == answering)
    {
        return false;
    }
    changes.push(PrimaryChange {
        at_ms,
        primary,
        answering,
    });
    true
}

/// A running monitor; [`PrimaryMonitor::stop`] returns the changes.
pub struct PrimaryMonitor(Background<Vec<PrimaryChange>>);

impl PrimaryMonitor {
    /// Samples `node_uris` every `interval` (at least 250 ms) until stopped.
    /// The URIs are fixed when it starts: a node the drill recreates on
    /// another host port is seen as not answering.
    pub fn start(node_uris: Vec<String>, clock: DrillClock, interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(250));
        Self(Background::spawn(move |stop| async move {
            let mut changes = Vec::new();
            let mut rounds = every(interval, stop);
            while rounds.next().await {
                let at = clock.now();
                let (primary, answering) = find_primary(&node_uris).await;
                record(&mut changes, at.offset_ms, primary, answering);
            }
            changes
        }))
    }

    /// Stops sampling and returns every change seen.
    pub async fn stop(self) -> Vec<PrimaryChange> {
        self.0.stop().await.unwrap_or_default()
    }
}

/// One sentence on how the primary changed after `t_d_ms`, for findings:
/// who was primary at T_d, who took over and when, or that none did.
pub fn describe_failover(changes: &[PrimaryChange], t_d_ms: u64) -> String {
    let before = changes.iter().rev().find(|change| change.at_ms <= t_d_ms);
    let old = before.and_then(|change| change.primary.clone());
    let after: Vec<&PrimaryChange> = changes.iter().filter(|change| change.at_ms > t_d_ms).collect();
    let took_over = after
        .iter()
        .find(|change| change.primary.is_some() && change.primary != old);
    let old_text = old.clone().unwrap_or_else(|| "no node".into());
    match (took_over, after.last()) {
        (_, Some(last)) if last.primary.is_none() => format!(
            "no primary at the end of the drill: {old_text} was primary at T_d; since {} ms after T_d no node answers as primary ({} of the nodes answer)",
            last.at_ms - t_d_ms,
            last.answering
        ),
        (Some(change), _) => format!(
            "{} answered as primary {} ms after T_d ({old_text} was primary at T_d)",
            change.primary.as_deref().unwrap_or_default(),
            change.at_ms - t_d_ms
        ),
        (None, _) => format!("{old_text} was primary at T_d and at the end of the drill"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_kept() {
        let mut changes = Vec::new();
        assert!(record(&mut changes, 0, Some(0), 3));
        assert!(!record(&mut changes, 250, Some(0), 3));
        assert!(record(&mut changes, 500, None, 2));
        assert!(record(&mut changes, 750, None, 1));
        assert!(record(&mut changes, 9_000, Some(2), 2));
        assert_eq!(changes.len(), 4);
        assert_eq!(changes[3].primary.as_deref(), Some("node-2"));
    }

    #[test]
    fn a_failover_names_the_new_primary_and_when() {
        let mut changes = Vec::new();
        record(&mut changes, 0, Some(0), 3);
        record(&mut changes, 1_300, None, 2);
        record(&mut changes, 12_300, Some(1), 2);
        let text = describe_failover(&changes, 1_000);
        assert_eq!(
            text,
            "node-1 answered as primary 11300 ms after T_d (node-0 was primary at T_d)"
        );
    }

    #[test]
    fn a_majority_loss_says_there_is_no_primary() {
        let mut changes = Vec::new();
        record(&mut changes, 0, Some(0), 3);
        record(&mut changes, 1_300, None, 1);
        let text = describe_failover(&changes, 1_000);
        assert!(
            text.starts_with("no primary at the end of the drill: node-0 was primary at T_d"),
            "{text}"
        );
        assert!(text.contains("(1 of the nodes answer)"), "{text}");
    }

    #[test]
    fn an_unchanged_primary_is_said_so() {
        let mut changes = Vec::new();
        record(&mut changes, 0, Some(0), 3);
        record(&mut changes, 2_000, Some(0), 2);
        assert_eq!(
            describe_failover(&changes, 1_000),
            "node-0 was primary at T_d and at the end of the drill"
        );
    }
}
