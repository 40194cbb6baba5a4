//! `restore-snapshot`: the folder's newest snapshot into a new cluster
//! (PostgreSQL and a FerretDB over it), the shape of DocumentDB's
//! restore-from-snapshot and `restore-db-cluster-to-point-in-time`, and of
//! the runbook's daily check done properly:
//!
//! 1. the newest snapshot is found by its manifest, and refused when it
//!    is older than `max_age`;
//! 2. every file is checked against the manifest's SHA-256 and size;
//! 3. with `point_in_time`, the target T is placed on the drill's clock
//!    and checked against the restore window (earliest: the end of the
//!    snapshot's base backup; latest: now, after a forced commit, WAL
//!    segment switch and archiving), a target outside it being a failure
//!    that names the window;
//! 4. the new cluster is started (replaying the archive to T) and becomes
//!    what "recovered" means: the `verify` step after it compares its
//!    checksums with the manifest's, the probe measures T_s in it, the
//!    ticks read back from it give the RPO;
//! 5. for a point-in-time restore, the exact boundary check: every tick
//!    acknowledged at or before T present, none issued after T (check
//!    `point-in-time`), in-flight ticks reported as such.
//!
//! The new cluster goes with the drill's teardown.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::StepOutcome;
use super::snapshot::{FoundSnapshot, last_snapshot_folder, list_snapshots, no_snapshots, snapshot_folder};
use crate::backup::BackupLocation;
use crate::measure::clock::Stamp;
use crate::outcome::details::{BoundaryCheck, PointInTimeDetails, RestoreSnapshotDetails, RestoreWindow};
use crate::outcome::{CheckKind, CheckRecord, Status};
use crate::provider::snapshot::SnapshotRestore;
use crate::runner::context::{DrillContext, RestoredScope};
use crate::scenario::{PointInTime, RestoreSnapshotStep, Step};

/// How often promotion and FerretDB's readiness are polled: the
/// resolution of the restore time.
const RESTORE_RESOLUTION_MS: u64 = 50;

/// How long the forced archiving of the WAL may take.
const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a `restore-snapshot` step.
pub async fn run(
    context: &mut DrillContext<'_>,
    index: usize,
    step: &Step,
    restore: &RestoreSnapshotStep,
) -> StepOutcome {
    context.mark_recovery_start();
    let started = context.clock().now();
    let folder = match &restore.folder {
        Some(folder) => snapshot_folder(context, Some(folder)),
        None => last_snapshot_folder(context, index),
    };
    let Some(snapshot) = list_snapshots(&folder).into_iter().next() else {
        return StepOutcome::failed(format!("there is no snapshot in {}", folder.display()));
    };
    let age = (started.wall - snapshot.taken_at).to_std().unwrap_or_default();
    let mut details = RestoreSnapshotDetails {
        snapshot: snapshot.entry.clone(),
        age_ms: crate::measure::clock::duration_to_millis(age),
        max_age_ms: restore.max_age.map(crate::measure::clock::duration_to_millis),
        files_verified: 0,
        point_in_time: None,
        cluster: None,
        restore_ms: None,
        restore_resolution_ms: RESTORE_RESOLUTION_MS,
    };
    if let Some(max_age) = restore.max_age
        && age > max_age
    {
        return StepOutcome::failed(format!(
            "the newest snapshot, {} (taken {}), is {} old: older than max_age {}",
            snapshot.entry.id,
            snapshot.entry.taken_at,
            crate::measure::clock::format_duration(age),
            crate::measure::clock::format_duration(max_age)
        ))
        .with_details(details);
    }
    match verify_files(&snapshot) {
        Ok(count) => details.files_verified = count,
        Err(outcome) => return outcome.with_details(details),
    }
    if context.source().snapshots().is_none() {
        return StepOutcome::error(no_snapshots(context));
    }
    let target = match &restore.point_in_time {
        None => None,
        Some(point_in_time) => match place_target(context, *point_in_time, &snapshot).await {
            Ok(placed) => {
                let outside = placed.outside_window();
                details.point_in_time = Some(placed.details.clone());
                if let Some(message) = outside {
                    return StepOutcome::failed(message).with_details(details);
                }
                Some(placed)
            }
            Err(outcome) => return outcome.with_details(details),
        },
    };
    restore_into_new_cluster(context, index, step, &snapshot, target, details).await
}

/// Starts the new cluster, makes it the recovered deployment, checks the
/// boundary of a point-in-time restore, and waits for T_s.
async fn restore_into_new_cluster(
    context: &mut DrillContext<'_>,
    index: usize,
    step: &Step,
    snapshot: &FoundSnapshot,
    target: Option<PlacedTarget>,
    mut details: RestoreSnapshotDetails,
) -> StepOutcome {
    let started = context.clock().now();
    let request = SnapshotRestore {
        backup: snapshot.dir.join("data"),
        name: format!("restore-{}", index + 1),
        target_time: target.as_ref().map(|placed| placed.system_time),
        timeout: step.timeout.mul_f64(0.8),
    };
    let snapshots = context.source().snapshots().expect("checked before");
    let restored = match snapshots.restore_snapshot(&request).await {
        Ok(restored) => restored,
        Err(error) => {
            return StepOutcome::failed(format!(
                "restoring {} into a new cluster failed: {}",
                snapshot.entry.id,
                crate::error::chain(&error)
            ))
            .with_details(details);
        }
    };
    let finished = context.clock().now();
    details.restore_ms = Some(finished.offset_ms.saturating_sub(started.offset_ms));
    details.cluster = Some(restored.uri().to_string());
    let client = match crate::runner::drill::connect(&restored.uri()).await {
        Ok(client) => client,
        Err(error) => {
            let _ = restored.teardown().await;
            return StepOutcome::error(format!(
                "cannot connect to the restored cluster: {}",
                crate::error::chain(&error)
            ));
        }
    };
    context.set_fresh(restored, client);
    context.record_restore(RestoredScope::All);
    // The checksums the verify step compares with: the manifest's.
    if let Some(reference) = super::backup::reference_from_manifest(&snapshot.manifest) {
        context.set_reference(reference);
    }
    let boundary = match &target {
        Some(placed) => Some(check_boundary(context, placed).await),
        None => None,
    };
    if let (Some(boundary), Some(point_in_time)) = (boundary, details.point_in_time.as_mut()) {
        point_in_time.boundary = Some(boundary);
    }
    context.await_recovered_service(Duration::from_secs(60)).await;
    let restore_ms = details.restore_ms.unwrap_or_default();
    let to = match &details.point_in_time {
        Some(point_in_time) => format!(" to {} ({})", point_in_time.target_at, point_in_time.requested),
        None => String::new(),
    };
    StepOutcome::passed(
        format!(
            "{}{to} restored into a new cluster in {} ms (±{RESTORE_RESOLUTION_MS} ms), {} files verified first",
            snapshot.entry.id, restore_ms, details.files_verified
        ),
        details,
    )
}

/// Checks every file of the snapshot against its manifest; `Err` is the
/// failure naming what differs.
fn verify_files(snapshot: &FoundSnapshot) -> Result<usize, StepOutcome> {
    let location = BackupLocation::Directory {
        path: snapshot.dir.clone(),
        gzip: false,
    };
    let found = crate::backup::manifest::hash_backup_files(&location).map_err(|error| {
        StepOutcome::failed(format!(
            "cannot read the files of {}: {}",
            snapshot.entry.id,
            crate::error::chain(&error)
        ))
    })?;
    let expected = &snapshot.manifest.files;
    let mut problems: Vec<String> = expected
        .iter()
        .filter_map(|(path, entry)| match found.get(path) {
            None => Some(format!("{path} is missing")),
            Some(actual) if actual != entry => Some(format!(
                "{path} differs (sha256 {} of {} bytes, the manifest says {} of {})",
                actual.sha256, actual.size, entry.sha256, entry.size
            )),
            Some(_) => None,
        })
        .collect();
    problems.extend(
        found
            .keys()
            .filter(|path| !expected.contains_key(*path))
            .map(|path| format!("{path} is not in the manifest")),
    );
    if problems.is_empty() {
        return Ok(expected.len());
    }
    let total = problems.len();
    problems.truncate(5);
    Err(StepOutcome::failed(format!(
        "snapshot {} does not match its manifest ({total} file(s)): {}",
        snapshot.entry.id,
        problems.join("; ")
    )))
}

/// A point-in-time target on the drill's clock, with its window.
#[derive(Debug, Clone)]
struct PlacedTarget {
    /// T on the drill's clock.
    at: Stamp,
    /// T on the system clock PostgreSQL stamps commits with: the drill
    /// clock's wall time runs on the monotonic clock, and the two may
    /// have drifted apart during the drill.
    system_time: DateTime<Utc>,
    /// The measured drift, in ms, plus the clock's millisecond: how far
    /// the boundary check widens the in-flight window.
    tolerance: Duration,
    /// What the report shows.
    details: PointInTimeDetails,
}

impl PlacedTarget {
    /// The failure of a target outside the window, naming the window.
    fn outside_window(&self) -> Option<String> {
        let window = &self.details.window;
        let target = self.details.target_ms;
        (target < window.earliest_ms || target > window.latest_ms).then(|| {
            format!(
                "point-in-time target {} ({}) is outside the restore window {} .. {} \
                 (earliest: the end of the snapshot's base backup; latest: the last commit archived, \
                 forced at the restore)",
                self.details.target_at, self.details.requested, window.earliest_at, window.latest_at
            )
        })
    }
}

/// Places T on the drill's clock and measures the window: the WAL is
/// archived up to now first, so the window's latest end is now.
async fn place_target(
    context: &mut DrillContext<'_>,
    point_in_time: PointInTime,
    snapshot: &FoundSnapshot,
) -> Result<PlacedTarget, StepOutcome> {
    let clock = context.clock();
    let start = clock.started_at();
    let offset_of = |wall: DateTime<Utc>| (wall - start).num_milliseconds();
    let Some(t_d) = context.disaster_at() else {
        return Err(StepOutcome::error(
            "a point-in-time restore is placed relative to the disaster: it needs a disaster step before it",
        ));
    };
    let latest = clock.now();
    let snapshots = context.source().snapshots().expect("checked before");
    if let Err(error) = snapshots.archive_now(ARCHIVE_TIMEOUT).await {
        return Err(StepOutcome::failed(format!(
            "the WAL up to now could not be archived, so no point-in-time restore is possible: {}",
            crate::error::chain(&error)
        )));
    }
    let earliest_ms = offset_of(snapshot.taken_at);
    let t_d_ms = i64::try_from(t_d.offset_ms).unwrap_or(i64::MAX);
    let (target_ms, requested) = match point_in_time {
        PointInTime::Midpoint => (earliest_ms + (t_d_ms - earliest_ms) / 2, "midpoint".to_string()),
        PointInTime::BeforeDisaster(before) => (
            t_d_ms - millis(before),
            format!("{} before disaster", crate::measure::clock::format_duration(before)),
        ),
        PointInTime::AfterDisaster(after) => (
            t_d_ms + millis(after),
            format!("{} after disaster", crate::measure::clock::format_duration(after)),
        ),
    };
    let wall_of = |offset: i64| start + chrono::Duration::milliseconds(offset);
    let at = Stamp::from_offset(start, u64::try_from(target_ms).unwrap_or(0));
    // The drill clock's wall time against the system's, now.
    let drift = Utc::now() - clock.now().wall;
    let drift_ms = drift.num_milliseconds().unsigned_abs();
    let latest_ms = i64::try_from(latest.offset_ms).unwrap_or(i64::MAX);
    let stamp = |offset: i64| crate::backup::manifest::timestamp(wall_of(offset));
    Ok(PlacedTarget {
        at,
        system_time: wall_of(target_ms) + drift,
        tolerance: Duration::from_millis(1 + drift_ms),
        details: PointInTimeDetails {
            requested,
            target_ms,
            target_at: crate::provider::postgres::recovery_time_text(wall_of(target_ms) + drift),
            window: RestoreWindow {
                earliest_ms,
                earliest_at: stamp(earliest_ms),
                latest_ms,
                latest_at: stamp(latest_ms),
            },
            boundary: None,
        },
    })
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The exact boundary check of the ticks the restored cluster holds, as
/// the check `point-in-time`.
async fn check_boundary(context: &mut DrillContext<'_>, placed: &PlacedTarget) -> BoundaryCheck {
    let collection = crate::runner::ticks::TICKS_COLLECTION;
    let read = crate::runner::ticks::read_ticks(&context.recovered_database(), collection, None).await;
    let log = context.tick_log().and_then(|logs| logs.get(collection));
    let (log, found) = match (log, read) {
        (Some(log), Ok(found)) => (log, found),
        (None, _) => {
            record_boundary(
                context,
                false,
                "the boundary check could not be made: no tick writer ran".into(),
            );
            return BoundaryCheck::default();
        }
        (_, Err(error)) => {
            let reason = format!(
                "the boundary check could not be made: the ticks could not be read back: {}",
                crate::error::chain(&error)
            );
            record_boundary(context, false, reason);
            return BoundaryCheck::default();
        }
    };
    let result = crate::measure::rpo::check_point_in_time(log, placed.at, placed.tolerance, &found);
    let acknowledged_by_target = log
        .iter()
        .filter(|tick| tick.acked().is_some_and(|acked| acked.offset_ms <= placed.at.offset_ms))
        .count() as u64;
    let message = boundary_message(&result, acknowledged_by_target, &found);
    record_boundary(context, result.passed(), message);
    BoundaryCheck {
        missing_acknowledged: result.missing_acknowledged,
        present_after: result.present_after,
        in_flight_present: result.in_flight_present,
        in_flight_missing: result.in_flight_missing,
        unexpected: result.unexpected,
        acknowledged_by_target,
        tolerance_ms: result.tolerance_ms,
    }
}

/// The check's message: what held, or the first ticks on the wrong side.
fn boundary_message(
    result: &crate::measure::rpo::PointInTimeResult,
    acknowledged_by_target: u64,
    found: &BTreeSet<u64>,
) -> String {
    let first = |ticks: &[u64]| ticks.iter().take(5).map(u64::to_string).collect::<Vec<_>>().join(", ");
    if result.passed() {
        return format!(
            "exact at T: all {acknowledged_by_target} ticks acknowledged by T present, none issued after T \
             ({} ticks found; in flight at T: {} present, {} missing)",
            found.len(),
            result.in_flight_present.len(),
            result.in_flight_missing.len()
        );
    }
    let mut parts = Vec::new();
    if !result.missing_acknowledged.is_empty() {
        parts.push(format!(
            "{} tick(s) acknowledged by T missing (first: {})",
            result.missing_acknowledged.len(),
            first(&result.missing_acknowledged)
        ));
    }
    if !result.present_after.is_empty() {
        parts.push(format!(
            "{} tick(s) issued after T present (first: {})",
            result.present_after.len(),
            first(&result.present_after)
        ));
    }
    if !result.unexpected.is_empty() {
        parts.push(format!(
            "{} tick(s) never attempted (first: {})",
            result.unexpected.len(),
            first(&result.unexpected)
        ));
    }
    format!("not exact at T: {}", parts.join("; "))
}

/// Records the check `point-in-time`; one that could not be made is a
/// failure that says why, never a pass.
fn record_boundary(context: &mut DrillContext<'_>, passed: bool, message: String) {
    context.add_check(CheckRecord {
        name: "point-in-time".into(),
        counts_as: "point-in-time".into(),
        kind: CheckKind::Integrity,
        status: if passed { Status::Passed } else { Status::Failed },
        measured: None,
        objective: None,
        unit: Some("ticks".into()),
        message,
    });
}
