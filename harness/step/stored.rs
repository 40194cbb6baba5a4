//! The store half of the backup and restore steps: a backup step with
//! `store = "NAME"` uploads what it took (verified against its manifest);
//! a restore step with `store = "NAME"` downloads that store's newest
//! backup into the drill's folder, verified before anything is restored,
//! and refuses one older than the scenario's RPO allows.

use super::StepOutcome;
use crate::backup::BackupLocation;
use crate::backup::manifest::Manifest;
use crate::runner::context::DrillContext;
use crate::store::{StoredBackup, Transfer};

/// The id a backup step's backup has in a store.
pub fn backup_id(context: &DrillContext<'_>, index: usize) -> String {
    format!("{}-backup-{index}", context.run_id())
}

/// Opens store `name` (starting its gateway the first time); `Err` is the
/// step's outcome (the harness could not).
async fn open(context: &mut DrillContext<'_>, name: &str) -> Result<crate::store::Store, StepOutcome> {
    context
        .stores_mut()
        .open(name)
        .await
        .map_err(|error| StepOutcome::error(crate::error::chain(&error)))
}

/// Uploads the last backup (taken by step `index`) to store `name`; `Err`
/// is the step's failed outcome.
pub async fn upload(context: &mut DrillContext<'_>, index: usize, name: &str) -> Result<Transfer, StepOutcome> {
    let Some(backup) = context.last_backup().cloned() else {
        return Err(StepOutcome::failed("there is no backup to upload"));
    };
    let manifest = match crate::backup::manifest::read_manifest(&backup.location) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            return Err(StepOutcome::failed(
                "the backup has no manifest, so its upload cannot be verified",
            ));
        }
        Err(error) => {
            return Err(StepOutcome::failed(format!(
                "cannot read the backup's manifest: {}",
                crate::error::chain(&error)
            )));
        }
    };
    let id = backup_id(context, index);
    let store = open(context, name).await?;
    let transfer = store.upload(&id, &backup.location, &manifest).await.map_err(|error| {
        StepOutcome::failed(format!(
            "upload to store {name} failed: {}",
            crate::error::chain(&error)
        ))
    })?;
    context.stores_mut().record(transfer.clone());
    Ok(transfer)
}

/// A backup downloaded from a store, ready to restore.
pub struct Downloaded {
    /// Where it is now, on this machine.
    pub location: BackupLocation,
    /// Its manifest.
    pub manifest: Manifest,
    /// The download.
    pub transfer: Transfer,
}

/// Downloads the newest backup of store `name` into the drill's folder,
/// every file checked against the manifest; `Err` is the step's failed
/// outcome (no backup, one older than the RPO allows, a corrupted object).
pub async fn download_newest(context: &mut DrillContext<'_>, name: &str) -> Result<Downloaded, StepOutcome> {
    let store = open(context, name).await?;
    let backups = store.list().await.map_err(|error| {
        StepOutcome::failed(format!(
            "cannot list the backups of store {name}: {}",
            crate::error::chain(&error)
        ))
    })?;
    let newest = newest_within_rpo(context, name, &store.location_of(""), backups)?;
    let into = context.work_dir().join(format!("from-{name}"));
    let (location, transfer) = store.download(&newest.id, &into).await.map_err(|error| {
        StepOutcome::failed(format!(
            "download refused, nothing restored: {}",
            crate::error::chain(&error)
        ))
    })?;
    context.stores_mut().record(transfer.clone());
    Ok(Downloaded {
        location,
        manifest: newest.manifest,
        transfer,
    })
}

/// The newest backup, when it is newer than the RPO allows at T_d (now
/// when there was no disaster); `Err` says why none qualifies.
fn newest_within_rpo(
    context: &DrillContext<'_>,
    name: &str,
    shown: &str,
    backups: Vec<StoredBackup>,
) -> Result<StoredBackup, StepOutcome> {
    let objectives = &context.scenario().objectives;
    let rpo_text = objectives.rpo_written.clone().unwrap_or_default();
    let Some(newest) = backups.into_iter().next_back() else {
        let limit = if rpo_text.is_empty() {
            String::new()
        } else {
            format!(" newer than the RPO of {rpo_text} allows")
        };
        return Err(StepOutcome::failed(format!(
            "store {name} ({shown}) holds no backup{limit}: it holds none at all"
        )));
    };
    let (Some(rpo), Some(finished)) = (objectives.rpo, newest.finished()) else {
        return Ok(newest);
    };
    let at = context.disaster_at().map_or_else(chrono::Utc::now, |stamp| stamp.wall);
    let age = (at - finished).to_std().unwrap_or_default();
    if age > rpo {
        return Err(StepOutcome::failed(format!(
            "store {name} ({shown}) holds no backup newer than the RPO of {rpo_text} allows: its newest, {}, finished {} before T_d",
            newest.id,
            crate::measure::clock::format_duration(age)
        )));
    }
    Ok(newest)
}
