//! The store half of the backup and restore steps: a backup step with
//! `store = "NAME"` uploads what it took (verified against its manifest);
//! a restore step with `store = "NAME"` takes that store's newest backup,
//! verified before anything is restored (an archive streamed through a
//! hashing pass, anything else downloaded into the drill's folder), and
//! refuses one older than the scenario's RPO allows.

use super::StepOutcome;
use crate::backup::BackupLocation;
use crate::backup::manifest::Manifest;
use crate::runner::context::DrillContext;
use crate::store::{ReadMode, StoreRead, StoredBackup, StreamPass, StreamedBackup, Transfer};

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

/// A backup of a store, ready to restore: downloaded to the drill's
/// folder, or verified by a streamed pass and streamed again by the
/// restore.
pub struct FromStore {
    /// Where it is on this machine, or (streamed) the object's address.
    pub location: BackupLocation,
    /// Its manifest.
    pub manifest: Manifest,
    /// The download, or the streamed verify pass.
    pub transfer: Transfer,
    /// How the backup is read, for the details.
    pub read: StoreRead,
    /// When streamed: the store and the verified object.
    pub streamed: Option<(crate::store::Store, StreamedBackup)>,
}

/// The newest backup of store `name`, verified before anything is
/// restored: streamed through a hashing pass when `stream` allows and the
/// backup is one archive the builtin engine restores, else downloaded into
/// the drill's folder; `Err` is the step's failed outcome (no backup, one
/// older than the RPO allows, a corrupted object, a wrong key).
pub async fn from_store(context: &mut DrillContext<'_>, name: &str, stream: bool) -> Result<FromStore, StepOutcome> {
    let store = open(context, name).await?;
    let backups = store.list().await.map_err(|error| {
        StepOutcome::failed(format!(
            "cannot list the backups of store {name}: {}",
            crate::error::chain(&error)
        ))
    })?;
    let newest = newest_within_rpo(context, name, &store.location_of(""), backups)?;
    let refused = refuse_stream(stream, &newest.manifest);
    let Some(reason) = refused else {
        return stream_newest(context, store, newest).await;
    };
    let into = context.work_dir().join(format!("from-{name}"));
    let (location, transfer) = store.download(&newest.id, &into).await.map_err(|error| {
        StepOutcome::failed(format!(
            "download refused, nothing restored: {}",
            crate::error::chain(&error)
        ))
    })?;
    context.stores_mut().record(transfer.clone());
    let read = StoreRead {
        mode: ReadMode::Downloaded,
        reason,
        object: None,
        pinned: false,
        passes: Vec::new(),
    };
    Ok(FromStore {
        location,
        manifest: newest.manifest,
        transfer,
        read,
        streamed: None,
    })
}

/// Why a backup is downloaded rather than streamed; `None`: it streams.
fn refuse_stream(stream: bool, manifest: &Manifest) -> Option<String> {
    if !stream {
        return Some("the step says stream = false".to_owned());
    }
    if let Err(reason) = crate::store::streamable(manifest) {
        return Some(reason.to_owned());
    }
    let choice = super::restore::engine_for(&manifest.engine.name);
    match crate::backup::select::resolve(choice, None) {
        Ok(resolved) if resolved.name() == "builtin" => None,
        Ok(resolved) => Some(format!("the {} engine restores from a local file", resolved.name())),
        Err(_) => Some("no restore engine resolves for this backup".to_owned()),
    }
}

/// The verify pass over the newest backup's archive: nothing written.
async fn stream_newest(
    context: &mut DrillContext<'_>,
    store: crate::store::Store,
    newest: StoredBackup,
) -> Result<FromStore, StepOutcome> {
    let backup = store
        .verify_streamed(&newest.id, &newest.manifest)
        .await
        .map_err(|error| {
            StepOutcome::failed(format!(
                "verification refused, nothing restored: {}",
                crate::error::chain(&error)
            ))
        })?;
    context.stores_mut().record(backup.transfer.clone());
    let read = StoreRead {
        mode: ReadMode::Streamed,
        reason: "an archive is restored as it is read from the store: no local copy".to_owned(),
        object: Some(backup.object().to_owned()),
        pinned: backup.pinned(),
        passes: vec![backup.verify_pass.clone()],
    };
    Ok(FromStore {
        location: backup.location(),
        manifest: newest.manifest,
        transfer: backup.transfer.clone(),
        read,
        streamed: Some((store, backup)),
    })
}

/// The restore pass of a streamed backup: `request` restored by the
/// builtin engine from the object read again (pinned to the verified
/// version), its bytes hashed again; the outcome and the pass. `Err` is
/// the step's failed outcome, naming a mismatch before a reader's error.
pub async fn restore_streamed(
    (store, backup): &(crate::store::Store, StreamedBackup),
    request: &crate::backup::RestoreRequest,
    progress: &dyn crate::progress::ProgressSink,
) -> Result<(crate::backup::RestoreOutcome, StreamPass), StepOutcome> {
    let (reader, watch) = store
        .open_streamed(backup, &request.from_database)
        .await
        .map_err(|error| StepOutcome::failed(format!("cannot stream the backup: {}", crate::error::chain(&error))))?;
    let restored = crate::backup::builtin::restore_stream(request, reader, progress).await;
    let pass = store.finish_streamed(backup, watch);
    let differed = |error: &crate::store::StoreError| {
        StepOutcome::failed(format!(
            "the streamed restore read other bytes than were verified: {}",
            crate::error::chain(error)
        ))
    };
    match (restored, pass) {
        (Ok(outcome), Ok(pass)) => Ok((outcome, pass)),
        // A mismatch explains whatever the reader then failed with.
        (Ok(_), Err(error)) | (Err(_), Err(error @ crate::store::StoreError::Mismatch { .. })) => Err(differed(&error)),
        (Err(error), _) => {
            let text = crate::uri::redact(&crate::error::chain(&error));
            Err(StepOutcome::failed(format!("restore with builtin failed: {text}")))
        }
    }
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
