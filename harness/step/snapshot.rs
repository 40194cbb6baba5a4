//! `snapshot`: a storage snapshot of the managed cluster, the shape of a
//! DocumentDB cluster snapshot. A base backup of the primary's PostgreSQL
//! (`pg_basebackup -X stream`: consistent on its own) goes into
//! `<folder>/<id>/data`, with a `drdrill-manifest.json` beside it like any
//! other backup's: the SHA-256 and size of every file, and the checksums
//! of every collection read from the source through FerretDB as soon as
//! the base backup ended. The workload writes only `_drill_ticks`, which
//! checksums leave out, so those checksums are the collections' state at
//! the snapshot's consistent point. Then the folder's snapshots older than
//! the retention (the runbook's 30 days) are pruned, and the rest listed.

use std::path::{Path, PathBuf};

use super::StepOutcome;
use crate::backup::BackupLocation;
use crate::backup::manifest::{self, CollectionEntry, Manifest};
use crate::outcome::details::{SnapshotDetails, SnapshotEntry};
use crate::runner::context::DrillContext;
use crate::scenario::{SnapshotStep, StepKind};

/// The engine name snapshots' manifests carry.
pub(super) const SNAPSHOT_ENGINE: &str = "snapshot";

/// What the manifest's `consistency` says of a snapshot.
const CONSISTENCY: &str = "one point in time: the end of the base backup (pg_basebackup -X stream); the collection \
                           checksums were read from the source through FerretDB right after it, while only \
                           _drill_ticks (which checksums leave out) was written";

/// One snapshot found in a folder.
#[derive(Debug, Clone)]
pub(super) struct FoundSnapshot {
    /// Its folder (`data/` and the manifest inside).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// When its base backup ended.
    pub taken_at: chrono::DateTime<chrono::Utc>,
    /// What the reports show of it.
    pub entry: SnapshotEntry,
}

/// Runs a `snapshot` step.
pub async fn run(context: &mut DrillContext<'_>, index: usize, snapshot: &SnapshotStep) -> StepOutcome {
    let folder = snapshot_folder(context, snapshot.folder.as_deref());
    let started = context.clock().now();
    let id = format!("snapshot-{}", started.wall.format("%Y%m%dT%H%M%S%.3fZ"));
    let dir = folder.join(&id);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        return StepOutcome::error(format!("cannot create {}: {error}", dir.display()));
    }
    crate::provider::postgres::open_to_postgres(&folder);
    crate::provider::postgres::open_to_postgres(&dir);
    let Some(snapshots) = context.source().snapshots() else {
        return StepOutcome::error(no_snapshots(context));
    };
    if let Err(error) = snapshots.take_snapshot(&dir.join("data")).await {
        return StepOutcome::failed(format!("the base backup failed: {}", crate::error::chain(&error)));
    }
    let finished = context.clock().now();
    let reference = match super::backup::source_reference(context, index).await {
        Ok(reference) => reference,
        Err(outcome) => return outcome,
    };
    let location = BackupLocation::Directory {
        path: dir.clone(),
        gzip: false,
    };
    let written = manifest::hash_backup_files(&location).and_then(|files| {
        let manifest = snapshot_manifest(context, &reference, (started.wall, finished.wall), files);
        manifest::write_manifest(&location, &manifest).map(|_| manifest)
    });
    let written = match written {
        Ok(written) => written,
        Err(error) => return StepOutcome::error(format!("cannot write the manifest: {}", crate::error::chain(&error))),
    };
    context.set_reference(reference);
    let (kept, pruned) = match prune(&folder, snapshot.retention, finished.wall) {
        Ok(pruned) => pruned,
        Err(error) => return StepOutcome::error(format!("cannot prune {}: {error}", folder.display())),
    };
    let entry = entry_of(&id, finished.wall, &written);
    let details = SnapshotDetails {
        files: written.files.len(),
        snapshot: entry.clone(),
        path: dir,
        duration_ms: finished.offset_ms.saturating_sub(started.offset_ms),
        retention_ms: crate::measure::clock::duration_to_millis(snapshot.retention),
        kept,
        pruned,
    };
    StepOutcome::passed(
        format!(
            "snapshot {id}: {} files, {} bytes, base backup in {} ms; {} kept, {} pruned (retention {})",
            details.files,
            entry.size_bytes,
            details.duration_ms,
            details.kept.len(),
            details.pruned.len(),
            crate::measure::clock::format_duration(snapshot.retention)
        ),
        details,
    )
}

/// Why a deployment cannot take snapshots.
pub(super) fn no_snapshots(context: &DrillContext<'_>) -> String {
    format!(
        "the {} provider has no storage snapshots (provider = \"managed\" has)",
        context.source().provider_name()
    )
}

/// The folder snapshots go to: the step's, else the drill's scratch
/// folder's `snapshots`.
pub(super) fn snapshot_folder(context: &DrillContext<'_>, folder: Option<&Path>) -> PathBuf {
    folder.map_or_else(|| context.work_dir().join("snapshots"), Path::to_path_buf)
}

/// The folder of the last `snapshot` step before step `index`, for a
/// `restore-snapshot` step that names none.
pub(super) fn last_snapshot_folder(context: &DrillContext<'_>, index: usize) -> PathBuf {
    let folder = context.scenario().steps[..index]
        .iter()
        .rev()
        .find_map(|step| match &step.kind {
            StepKind::Snapshot(snapshot) => Some(snapshot.folder.clone()),
            _ => None,
        })
        .flatten();
    snapshot_folder(context, folder.as_deref())
}

/// The manifest of a snapshot: the collections' checksums from
/// `reference`, every file of it, the base backup's window.
fn snapshot_manifest(
    context: &DrillContext<'_>,
    reference: &crate::checksum::DatabaseDigest,
    (started, finished): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    files: std::collections::BTreeMap<String, manifest::FileEntry>,
) -> Manifest {
    let collections = reference
        .collections
        .iter()
        .map(|(name, digest)| {
            let indexes = digest.indexes.iter().map(index_json).collect();
            let entry = CollectionEntry {
                count: digest.count,
                md5: Some(digest.md5.clone()),
                md5_unavailable: None,
                bytes: digest.bytes,
                indexes,
            };
            (name.clone(), entry)
        })
        .collect();
    Manifest {
        schema_version: manifest::MANIFEST_SCHEMA_VERSION,
        engine: crate::backup::EngineInfo {
            name: SNAPSHOT_ENGINE.into(),
            version: "pg_basebackup -X stream".into(),
        },
        tool_versions: std::collections::BTreeMap::new(),
        source_uri: Some(context.source().uri().to_string()),
        database: context.scenario().dataset.database.clone(),
        layout: None,
        started: Some(manifest::timestamp(started)),
        finished: Some(manifest::timestamp(finished)),
        consistency: CONSISTENCY.into(),
        collections,
        files,
    }
}

/// An index specification as a `listIndexes` entry, as manifests keep them.
fn index_json(index: &crate::checksum::IndexSpec) -> serde_json::Value {
    let mut entry = bson::doc! {
        "name": &index.name,
        "key": index.key.clone(),
        "unique": index.unique,
        "sparse": index.sparse,
    };
    if let Some(seconds) = index.expire_after_seconds {
        entry.insert("expireAfterSeconds", seconds);
    }
    if let Some(filter) = &index.partial_filter {
        entry.insert("partialFilterExpression", filter.clone());
    }
    serde_json::to_value(&entry).unwrap_or_default()
}

/// What reports show of a snapshot.
fn entry_of(id: &str, taken_at: chrono::DateTime<chrono::Utc>, manifest: &Manifest) -> SnapshotEntry {
    SnapshotEntry {
        id: id.to_string(),
        taken_at: manifest::timestamp(taken_at),
        size_bytes: manifest.files.values().map(|file| file.size).sum(),
    }
}

/// The snapshots in `folder` (each a folder with a snapshot manifest),
/// newest first; folders without a readable one are not snapshots.
pub(super) fn list_snapshots(folder: &Path) -> Vec<FoundSnapshot> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<FoundSnapshot> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| {
            let dir = entry.path();
            let location = BackupLocation::Directory {
                path: dir.clone(),
                gzip: false,
            };
            let manifest = manifest::read_manifest(&location).ok()??;
            if manifest.engine.name != SNAPSHOT_ENGINE {
                return None;
            }
            let taken_at = chrono::DateTime::parse_from_rfc3339(manifest.finished.as_deref()?)
                .ok()?
                .with_timezone(&chrono::Utc);
            let id = entry.file_name().to_string_lossy().into_owned();
            Some(FoundSnapshot {
                entry: entry_of(&id, taken_at, &manifest),
                dir,
                manifest,
                taken_at,
            })
        })
        .collect();
    found.sort_by_key(|snapshot| std::cmp::Reverse(snapshot.taken_at));
    found
}

/// Removes the snapshots in `folder` older than `retention` at `now`;
/// returns the ones kept and the ids removed.
fn prune(
    folder: &Path,
    retention: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<SnapshotEntry>, Vec<String>), std::io::Error> {
    let oldest = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let mut kept = Vec::new();
    let mut pruned = Vec::new();
    for snapshot in list_snapshots(folder) {
        if snapshot.taken_at < oldest {
            std::fs::remove_dir_all(&snapshot.dir)?;
            pruned.push(snapshot.entry.id);
        } else {
            kept.push(snapshot.entry);
        }
    }
    Ok((kept, pruned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A snapshot folder with only a manifest: what listing and pruning read.
    fn fake_snapshot(folder: &Path, id: &str, taken_at: chrono::DateTime<chrono::Utc>, engine: &str) {
        let dir = folder.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = Manifest {
            schema_version: manifest::MANIFEST_SCHEMA_VERSION,
            engine: crate::backup::EngineInfo {
                name: engine.into(),
                version: "test".into(),
            },
            tool_versions: Default::default(),
            source_uri: None,
            database: "db".into(),
            layout: None,
            started: Some(manifest::timestamp(taken_at)),
            finished: Some(manifest::timestamp(taken_at)),
            consistency: CONSISTENCY.into(),
            collections: Default::default(),
            files: Default::default(),
        };
        let location = BackupLocation::Directory { path: dir, gzip: false };
        manifest::write_manifest(&location, &manifest).unwrap();
    }

    #[test]
    fn retention_prunes_snapshots_older_than_it_and_lists_the_rest_newest_first() {
        let folder = tempfile::tempdir().unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap();
        let day = chrono::Duration::days(1);
        fake_snapshot(folder.path(), "old", now - day * 31, SNAPSHOT_ENGINE);
        fake_snapshot(folder.path(), "recent", now - day * 29, SNAPSHOT_ENGINE);
        fake_snapshot(folder.path(), "newest", now - day, SNAPSHOT_ENGINE);
        // A dump's manifest beside them is not a snapshot: never pruned.
        fake_snapshot(folder.path(), "a-dump", now - day * 90, "builtin");
        let (kept, pruned) = prune(folder.path(), std::time::Duration::from_secs(30 * 24 * 3_600), now).unwrap();
        assert_eq!(pruned, ["old"]);
        let kept: Vec<&str> = kept.iter().map(|entry| entry.id.as_str()).collect();
        assert_eq!(kept, ["newest", "recent"]);
        assert!(!folder.path().join("old").exists());
        assert!(folder.path().join("a-dump").exists());
    }
}
