//! RPO achieved, from the tick log and the ticks read back after recovery,
//! exactly as `shared/spec/drill-semantics.md` ("RPO achieved") defines it,
//! and the two-sided check of a point-in-time restore.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::clock::{Stamp, duration_to_millis};
use super::ticks::{TickLog, TickOutcome};

/// Every RPO figure of one drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpoResult {
    /// T_d − t_ack(`recovered_prefix`), or T_d − start of workload when no
    /// prefix survived (`nothing_survived` or a loss at the very first tick).
    #[serde(rename = "rpo_ms", serialize_with = "super::clock::serialize_millis")]
    pub rpo: Duration,
    /// The newest tick acknowledged strictly before T_d.
    pub last_acked_before_disaster: Option<u64>,
    /// How many ticks were acknowledged strictly before T_d.
    pub acknowledged_before_disaster: u64,
    /// The largest `seq` such that every tick acknowledged before T_d with a
    /// smaller or equal `seq` is present after recovery.
    pub recovered_prefix: Option<u64>,
    /// Ticks acknowledged before T_d and missing after recovery.
    pub lost_acknowledged_writes: u64,
    /// Ticks present after recovery whose nearest preceding tick that was
    /// acknowledged before T_d is missing: a non-prefix loss, always a failure.
    pub holes: Vec<u64>,
    /// `holes.len()`, for reports that show counts only.
    pub hole_count: u64,
    /// Ticks whose insert failed or timed out and that are present: they
    /// count as recovered.
    pub indeterminate_recovered: u64,
    /// Ticks whose insert failed or timed out and that are missing: not a loss.
    pub indeterminate_missing: u64,
    /// Ticks acknowledged at or after T_d that are present (failover drills
    /// keep writing after the disaster); outside the RPO arithmetic.
    pub acknowledged_after_disaster_recovered: u64,
    /// Ticks found that the writer never attempted: the data came from
    /// somewhere else, which fails the drill.
    pub unexpected: Vec<u64>,
    /// No tick acknowledged before T_d survived (or none was acknowledged).
    pub nothing_survived: bool,
    /// The resolution of `rpo`: the writer's tick interval.
    pub tick_interval_ms: u64,
}

impl RpoResult {
    /// Whether the tick arithmetic alone fails the drill (holes or
    /// unexpected ticks), whatever the RPO objective.
    pub fn has_integrity_failure(&self) -> bool {
        !self.holes.is_empty() || !self.unexpected.is_empty()
    }
}

/// Computes the RPO figures.
///
/// `log` holds every tick the writer attempted, `found` the `seq` of every
/// tick read back after recovery, `t_d` the disaster instant and
/// `workload_start` the instant the writer started.
///
/// "Acknowledged before T_d" is strict: a tick acknowledged at exactly T_d
/// (same millisecond offset) is not before it, because T_d is recorded
/// immediately before the fault is issued and an acknowledgement stamped at
/// that instant may already race with the fault.
pub fn compute_rpo(
    log: &TickLog,
    t_d: Stamp,
    workload_start: Stamp,
    found: &BTreeSet<u64>,
    tick_interval: Duration,
) -> RpoResult {
    let acked_before = |tick: &TickOutcome| tick.acked().is_some_and(|acked| acked < t_d);

    let mut last_acked_before_disaster = None;
    let mut acknowledged_before_disaster = 0;
    let mut recovered_prefix: Option<(u64, Stamp)> = None;
    // The prefix stays open until the first missing acknowledged tick.
    let mut prefix_open = true;
    let mut lost_acknowledged_writes = 0;
    let mut any_acked_survived = false;
    let mut holes = Vec::new();
    let mut indeterminate_recovered = 0;
    let mut indeterminate_missing = 0;
    let mut acknowledged_after_disaster_recovered = 0;
    // Whether the nearest preceding tick acknowledged before T_d is missing.
    let mut predecessor_missing = false;

    for tick in log.iter() {
        let seq = tick.seq();
        let present = found.contains(&seq);
        if acked_before(tick) {
            acknowledged_before_disaster += 1;
            last_acked_before_disaster = Some(seq);
            if present {
                any_acked_survived = true;
                if predecessor_missing {
                    holes.push(seq);
                }
                if prefix_open {
                    recovered_prefix = tick.acked().map(|acked| (seq, acked));
                }
            } else {
                lost_acknowledged_writes += 1;
                prefix_open = false;
            }
            predecessor_missing = !present;
            continue;
        }
        match tick {
            TickOutcome::Failed { issued, .. } => {
                if present {
                    indeterminate_recovered += 1;
                    // An indeterminate tick issued before the disaster that
                    // shows up after a lost acknowledged one is still data
                    // from after the gap: a non-prefix loss.
                    if predecessor_missing && *issued < t_d {
                        holes.push(seq);
                    }
                } else {
                    indeterminate_missing += 1;
                }
            }
            TickOutcome::Acknowledged { .. } => {
                // Acknowledged at or after T_d: a failover writes to the new
                // primary, so these are not part of the pre-disaster history
                // and cannot make a hole in it.
                if present {
                    acknowledged_after_disaster_recovered += 1;
                }
            }
        }
    }

    let unexpected = found.iter().copied().filter(|seq| log.get(*seq).is_none()).collect();
    let rpo = match recovered_prefix {
        Some((_, acked)) => t_d.since(&acked),
        None => t_d.since(&workload_start),
    };
    let hole_count = holes.len() as u64;
    RpoResult {
        rpo,
        last_acked_before_disaster,
        acknowledged_before_disaster,
        recovered_prefix: recovered_prefix.map(|(seq, _)| seq),
        lost_acknowledged_writes,
        holes,
        hole_count,
        indeterminate_recovered,
        indeterminate_missing,
        acknowledged_after_disaster_recovered,
        unexpected,
        nothing_survived: !any_acked_survived,
        tick_interval_ms: duration_to_millis(tick_interval),
    }
}

/// The RPO figures of one collection the writer put ticks into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionRpo {
    /// The collection (`_drill_ticks`, or one the disaster touched).
    pub collection: String,
    /// Its figures, from its own tick log and the ticks read back from it.
    pub result: RpoResult,
}

/// The RPO of a drill whose ticks went into several collections: each
/// collection's figures and the drill's, which are the worst of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrillRpo {
    /// The collection with the largest `rpo` (on a tie, the most lost
    /// writes; then the first by name): the drill's `rpo` is its.
    pub worst_collection: String,
    /// The drill's figures: the worst collection's, with the most lost
    /// writes of any collection, the union of every collection's holes and
    /// unexpected ticks, and `nothing_survived` if it holds anywhere.
    pub worst: RpoResult,
    /// Every collection's figures, in the order given.
    pub collections: Vec<CollectionRpo>,
}

/// The worst of several collections' figures (see [`DrillRpo`]); `None`
/// when there are none. Holes and unexpected ticks are `seq` numbers, the
/// same tick in every collection, so their union is sorted and without
/// repeats.
pub fn worst_of(collections: Vec<CollectionRpo>) -> Option<DrillRpo> {
    let worst = collections.iter().reduce(|worst, candidate| {
        let key = |entry: &CollectionRpo| (entry.result.rpo, entry.result.lost_acknowledged_writes);
        if key(candidate) > key(worst) { candidate } else { worst }
    })?;
    let worst_collection = worst.collection.clone();
    let mut result = worst.result.clone();
    let union = |pick: fn(&RpoResult) -> &Vec<u64>| {
        let all: BTreeSet<u64> = collections
            .iter()
            .flat_map(|entry| pick(&entry.result))
            .copied()
            .collect();
        all.into_iter().collect::<Vec<u64>>()
    };
    result.holes = union(|result| &result.holes);
    result.hole_count = result.holes.len() as u64;
    result.unexpected = union(|result| &result.unexpected);
    for entry in &collections {
        result.lost_acknowledged_writes = result
            .lost_acknowledged_writes
            .max(entry.result.lost_acknowledged_writes);
        result.nothing_survived |= entry.result.nothing_survived;
    }
    Some(DrillRpo {
        worst_collection,
        worst: result,
        collections,
    })
}

/// The result of checking a point-in-time restore to instant T.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PointInTimeResult {
    /// Ticks acknowledged at or before T (minus the tolerance) that are
    /// missing: the restore went back too far or lost data.
    pub missing_acknowledged: Vec<u64>,
    /// Ticks issued after T (plus the tolerance) that are present: the
    /// restore went too far forward.
    pub present_after: Vec<u64>,
    /// Ticks in flight at T (issued before it, not acknowledged by it) that
    /// are present: allowed, reported.
    pub in_flight_present: Vec<u64>,
    /// Ticks in flight at T that are missing: allowed, reported.
    pub in_flight_missing: Vec<u64>,
    /// Ticks found that were never attempted.
    pub unexpected: Vec<u64>,
    /// The tolerance the window was widened by (the measured clock offset
    /// between the server and the harness when they run on two machines).
    pub tolerance_ms: u64,
}

impl PointInTimeResult {
    /// Whether the restore is exact in both directions.
    pub fn passed(&self) -> bool {
        self.missing_acknowledged.is_empty() && self.present_after.is_empty() && self.unexpected.is_empty()
    }
}

/// Checks a restore to instant `t`: every tick acknowledged at or before `t`
/// must be present, no tick issued after `t` may be, and a tick in flight at
/// `t` may be either. `tolerance` widens the in-flight window on both sides
/// (pass zero when the server and the harness share one clock).
pub fn check_point_in_time(log: &TickLog, t: Stamp, tolerance: Duration, found: &BTreeSet<u64>) -> PointInTimeResult {
    let tolerance_ms = duration_to_millis(tolerance);
    let must_be_present_until = t.offset_ms.checked_sub(tolerance_ms);
    let must_be_absent_after = t.offset_ms.saturating_add(tolerance_ms);
    let mut result = PointInTimeResult {
        tolerance_ms,
        ..PointInTimeResult::default()
    };
    for tick in log.iter() {
        let seq = tick.seq();
        let present = found.contains(&seq);
        let acked_in_time = match (tick.acked(), must_be_present_until) {
            (Some(acked), Some(limit)) => acked.offset_ms <= limit,
            _ => false,
        };
        if acked_in_time {
            if !present {
                result.missing_acknowledged.push(seq);
            }
        } else if tick.issued().offset_ms > must_be_absent_after {
            if present {
                result.present_after.push(seq);
            }
        } else if present {
            result.in_flight_present.push(seq);
        } else {
            result.in_flight_missing.push(seq);
        }
    }
    result.unexpected = found.iter().copied().filter(|seq| log.get(*seq).is_none()).collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn stamp(offset_ms: u64) -> Stamp {
        Stamp::from_offset(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(), offset_ms)
    }

    /// Ticks 1..=n issued every 100 ms from 1000 ms on, each acknowledged 10 ms later.
    fn acked_log(n: u64) -> TickLog {
        (1..=n)
            .map(|seq| TickOutcome::Acknowledged {
                seq,
                issued: stamp(1_000 + seq * 100),
                acked: stamp(1_000 + seq * 100 + 10),
            })
            .collect()
    }

    fn set(seqs: impl IntoIterator<Item = u64>) -> BTreeSet<u64> {
        seqs.into_iter().collect()
    }

    const INTERVAL: Duration = Duration::from_millis(100);

    #[test]
    fn everything_recovered_gives_the_distance_to_the_last_tick() {
        let log = acked_log(10);
        // Tick 10 acked at 2010; T_d at 2050.
        let result = compute_rpo(&log, stamp(2_050), stamp(1_000), &set(1..=10), INTERVAL);
        assert_eq!(result.recovered_prefix, Some(10));
        assert_eq!(result.last_acked_before_disaster, Some(10));
        assert_eq!(result.rpo, Duration::from_millis(40));
        assert_eq!(result.lost_acknowledged_writes, 0);
        assert!(result.holes.is_empty());
        assert!(!result.nothing_survived);
        assert_eq!(result.tick_interval_ms, 100);
    }

    #[test]
    fn prefix_loss_measures_from_the_last_recovered_tick() {
        let log = acked_log(10);
        // A backup taken after tick 6: ticks 7..=10 are lost.
        let result = compute_rpo(&log, stamp(2_050), stamp(1_000), &set(1..=6), INTERVAL);
        assert_eq!(result.recovered_prefix, Some(6));
        assert_eq!(result.rpo, Duration::from_millis(2_050 - 1_610));
        assert_eq!(result.lost_acknowledged_writes, 4);
        assert!(result.holes.is_empty());
        assert!(!result.has_integrity_failure());
    }

    #[test]
    fn holes_are_the_first_present_ticks_after_each_gap() {
        let log = acked_log(10);
        let found = set([1, 2, 4, 5, 8, 9]);
        let result = compute_rpo(&log, stamp(2_050), stamp(1_000), &found, INTERVAL);
        assert_eq!(result.recovered_prefix, Some(2));
        assert_eq!(result.holes, vec![4, 8]);
        assert_eq!(result.hole_count, 2);
        assert_eq!(result.lost_acknowledged_writes, 4);
        assert!(result.has_integrity_failure());
    }

    #[test]
    fn nothing_survived_measures_from_the_workload_start() {
        let log = acked_log(5);
        let result = compute_rpo(&log, stamp(2_000), stamp(1_000), &set([]), INTERVAL);
        assert!(result.nothing_survived);
        assert_eq!(result.recovered_prefix, None);
        assert_eq!(result.rpo, Duration::from_millis(1_000));
        assert_eq!(result.lost_acknowledged_writes, 5);
    }

    #[test]
    fn losing_the_first_tick_only_leaves_no_prefix_but_something_survived() {
        let log = acked_log(3);
        let result = compute_rpo(&log, stamp(2_000), stamp(1_000), &set([2, 3]), INTERVAL);
        assert_eq!(result.recovered_prefix, None);
        assert!(!result.nothing_survived);
        assert_eq!(result.holes, vec![2]);
        assert_eq!(result.rpo, Duration::from_millis(1_000));
    }

    #[test]
    fn a_tick_acknowledged_exactly_at_t_d_is_not_before_it() {
        let log = acked_log(3);
        // Tick 3 acked at 1310 == T_d: it is not "acknowledged before T_d".
        let result = compute_rpo(&log, stamp(1_310), stamp(1_000), &set([1, 2]), INTERVAL);
        assert_eq!(result.last_acked_before_disaster, Some(2));
        assert_eq!(result.acknowledged_before_disaster, 2);
        assert_eq!(result.lost_acknowledged_writes, 0);
        assert_eq!(result.recovered_prefix, Some(2));
        assert_eq!(result.rpo, Duration::from_millis(1_310 - 1_210));
        // One millisecond later it is.
        let result = compute_rpo(&log, stamp(1_311), stamp(1_000), &set([1, 2]), INTERVAL);
        assert_eq!(result.last_acked_before_disaster, Some(3));
        assert_eq!(result.lost_acknowledged_writes, 1);
    }

    fn log_with_failures() -> TickLog {
        let mut log = acked_log(4);
        log.record(TickOutcome::Failed {
            seq: 5,
            issued: stamp(1_500),
            error: "timeout".into(),
        })
        .unwrap();
        log.record(TickOutcome::Failed {
            seq: 6,
            issued: stamp(1_600),
            error: "connection reset".into(),
        })
        .unwrap();
        log.record(TickOutcome::Acknowledged {
            seq: 7,
            issued: stamp(1_700),
            acked: stamp(1_710),
        })
        .unwrap();
        log
    }

    #[test]
    fn indeterminate_ticks_found_count_as_recovered_and_missing_is_no_loss() {
        let log = log_with_failures();
        let result = compute_rpo(&log, stamp(2_000), stamp(1_000), &set([1, 2, 3, 4, 5, 7]), INTERVAL);
        assert_eq!(result.indeterminate_recovered, 1);
        assert_eq!(result.indeterminate_missing, 1);
        assert_eq!(result.lost_acknowledged_writes, 0);
        // The missing indeterminate tick 6 does not break the prefix.
        assert_eq!(result.recovered_prefix, Some(7));
        assert!(result.holes.is_empty());
        assert_eq!(result.rpo, Duration::from_millis(290));
    }

    #[test]
    fn an_indeterminate_tick_after_a_lost_acknowledged_one_is_a_hole() {
        let log = log_with_failures();
        let result = compute_rpo(&log, stamp(2_000), stamp(1_000), &set([1, 2, 3, 5]), INTERVAL);
        assert_eq!(result.holes, vec![5]);
        assert_eq!(result.recovered_prefix, Some(3));
    }

    #[test]
    fn ticks_written_after_the_disaster_are_neither_holes_nor_losses() {
        let mut log = acked_log(5);
        log.record(TickOutcome::Acknowledged {
            seq: 6,
            issued: stamp(2_500),
            acked: stamp(2_600),
        })
        .unwrap();
        // Failover at 1_550 lost tick 5 (acked 1_510); tick 6 went to the new primary.
        let result = compute_rpo(&log, stamp(1_550), stamp(1_000), &set([1, 2, 3, 4, 6]), INTERVAL);
        assert!(result.holes.is_empty());
        assert_eq!(result.lost_acknowledged_writes, 1);
        assert_eq!(result.acknowledged_after_disaster_recovered, 1);
        assert_eq!(result.recovered_prefix, Some(4));
    }

    #[test]
    fn a_tick_never_attempted_is_unexpected() {
        let log = acked_log(3);
        let result = compute_rpo(&log, stamp(2_000), stamp(1_000), &set([1, 2, 3, 99]), INTERVAL);
        assert_eq!(result.unexpected, vec![99]);
        assert!(result.has_integrity_failure());
    }

    #[test]
    fn an_empty_log_means_nothing_survived() {
        let result = compute_rpo(&TickLog::new(), stamp(5_000), stamp(1_000), &set([]), INTERVAL);
        assert!(result.nothing_survived);
        assert_eq!(result.last_acked_before_disaster, None);
        assert_eq!(result.recovered_prefix, None);
        assert_eq!(result.rpo, Duration::from_secs(4));
        assert_eq!(result.lost_acknowledged_writes, 0);
        assert!(!result.has_integrity_failure());
    }

    fn entry(collection: &str, found: impl IntoIterator<Item = u64>) -> CollectionRpo {
        CollectionRpo {
            collection: collection.into(),
            result: compute_rpo(&acked_log(10), stamp(2_050), stamp(1_000), &set(found), INTERVAL),
        }
    }

    #[test]
    fn the_drills_figures_are_the_worst_collections() {
        // `_drill_ticks` kept everything, `users` lost 7..=10, `configurations`
        // lost 5..=10 but shows a hole at 8.
        let drill = worst_of(vec![
            entry("_drill_ticks", 1..=10),
            entry("users", 1..=6),
            entry("configurations", [1, 2, 3, 4, 8]),
        ])
        .unwrap();
        assert_eq!(drill.worst_collection, "configurations");
        assert_eq!(drill.worst.recovered_prefix, Some(4));
        assert_eq!(drill.worst.rpo, Duration::from_millis(2_050 - 1_410));
        assert_eq!(drill.worst.lost_acknowledged_writes, 5);
        assert_eq!(drill.worst.holes, vec![8]);
        assert_eq!(drill.collections.len(), 3);
        assert_eq!(drill.collections[0].result.rpo, Duration::from_millis(40));
    }

    #[test]
    fn worst_of_takes_the_most_losses_and_every_hole_and_unexpected_tick() {
        let mut users = entry("users", [1, 2, 3, 5, 6, 7, 8, 9, 10]);
        users.result.unexpected = vec![42];
        let drill = worst_of(vec![entry("audit", [1, 2, 4, 5, 6, 7, 8]), users, entry("flags", [])]).unwrap();
        // `flags` lost everything: the largest rpo, every tick lost.
        assert_eq!(drill.worst_collection, "flags");
        assert!(drill.worst.nothing_survived);
        assert_eq!(drill.worst.lost_acknowledged_writes, 10);
        assert_eq!(drill.worst.holes, vec![4, 5]);
        assert_eq!(drill.worst.hole_count, 2);
        assert_eq!(drill.worst.unexpected, vec![42]);
        // A tie on rpo goes to the one with more losses, then the first.
        let tie = worst_of(vec![
            entry("b", [1, 2, 3, 4, 5, 6, 8]),
            entry("a", 1..=6),
            entry("c", 1..=6),
        ])
        .unwrap();
        assert_eq!(tie.worst_collection, "a");
        assert_eq!(worst_of(Vec::new()), None);
    }

    #[test]
    fn point_in_time_is_exact_in_both_directions() {
        let mut log = acked_log(5);
        // Tick 6 in flight at T = 1_650: issued 1_600, acknowledged 1_700.
        log.record(TickOutcome::Acknowledged {
            seq: 6,
            issued: stamp(1_600),
            acked: stamp(1_700),
        })
        .unwrap();
        log.record(TickOutcome::Acknowledged {
            seq: 7,
            issued: stamp(1_800),
            acked: stamp(1_810),
        })
        .unwrap();
        let t = stamp(1_650);
        let exact = check_point_in_time(&log, t, Duration::ZERO, &set(1..=5));
        assert!(exact.passed());
        assert_eq!(exact.in_flight_missing, vec![6]);
        let with_in_flight = check_point_in_time(&log, t, Duration::ZERO, &set(1..=6));
        assert!(with_in_flight.passed());
        assert_eq!(with_in_flight.in_flight_present, vec![6]);

        let too_far = check_point_in_time(&log, t, Duration::ZERO, &set(1..=7));
        assert_eq!(too_far.present_after, vec![7]);
        assert!(!too_far.passed());
        let too_early = check_point_in_time(&log, t, Duration::ZERO, &set(1..=4));
        assert_eq!(too_early.missing_acknowledged, vec![5]);
        assert!(!too_early.passed());
    }

    #[test]
    fn point_in_time_boundaries_and_tolerance() {
        let log = acked_log(3);
        // Tick 2 acked at exactly T: must be present. Tick 3 issued at 1_300 > T.
        let t = stamp(1_210);
        let result = check_point_in_time(&log, t, Duration::ZERO, &set([1]));
        assert_eq!(result.missing_acknowledged, vec![2]);
        // A 100 ms clock offset makes tick 2 (and 3, issued 90 ms after T) in flight.
        let widened = check_point_in_time(&log, t, Duration::from_millis(100), &set([1, 3]));
        assert!(widened.passed(), "{widened:?}");
        assert_eq!(widened.in_flight_missing, vec![2]);
        assert_eq!(widened.in_flight_present, vec![3]);
        assert_eq!(widened.tolerance_ms, 100);
    }
}
