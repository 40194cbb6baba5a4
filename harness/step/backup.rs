//! `backup`: through the backup-engine interface (`auto`, `tools`,
//! `builtin`, or `command` for the team's runbook script). A backup is
//! judged by what exists on disk, never by an exit status. The reference
//! checksums for verification are taken from the source right after the
//! backup: the workload writes only `_drill_ticks`, which checksums
//! exclude, so the other collections are as they were at the backup point.

use serde_json::json;

use super::StepOutcome;
use crate::backup::select::{self, DumpResult, EngineSettings};
use crate::backup::{DumpRequest, EngineChoice, Layout};
use crate::checksum::{DigestOptions, digest_database};
use crate::measure::forecast::ForecastPhase;
use crate::outcome::details::{ContainerBackupDetails, HostBackupDetails};
use crate::runner::context::{DrillContext, TakenBackup};
use crate::runner::events::StepProgress;
use crate::scenario::{BackupEngine, BackupFormat, BackupStep, RunIn, Step};

/// Runs a `backup` step; with `store`, the backup is uploaded after.
pub async fn run(context: &mut DrillContext<'_>, index: usize, step: &Step, backup: &BackupStep) -> StepOutcome {
    let outcome = take(context, index, step, backup).await;
    match &backup.store {
        Some(store) if outcome.status == crate::outcome::Status::Passed => {
            upload_after(context, index, store, outcome).await
        }
        _ => outcome,
    }
}

/// The upload of the backup just taken to `store`: the step fails when
/// the store does not hold a verified copy.
async fn upload_after(
    context: &mut DrillContext<'_>,
    index: usize,
    store: &str,
    mut outcome: StepOutcome,
) -> StepOutcome {
    match super::stored::upload(context, index, store).await {
        Ok(transfer) => {
            outcome.message = format!(
                "{}; uploaded to store {store} ({}), verified: {}",
                outcome.message,
                transfer.location,
                transfer.summary()
            );
            if let Some(details) = outcome.details.as_deref_mut()
                && let crate::outcome::StepDetails::Backup(crate::outcome::details::BackupDetails::OnHost(host)) =
                    details
            {
                host.upload = Some(Box::new(transfer));
            }
            outcome
        }
        Err(refused) => StepOutcome {
            status: refused.status,
            message: format!("{}; but {}", outcome.message, refused.message),
            details: outcome.details,
        },
    }
}

/// Takes the backup.
async fn take(context: &mut DrillContext<'_>, index: usize, step: &Step, backup: &BackupStep) -> StepOutcome {
    let BackupStep {
        engine,
        format,
        gzip,
        command,
        run_in,
        ..
    } = backup;
    if *run_in == RunIn::Container {
        return in_container(context, index, step, *gzip).await;
    }
    let resolved = match select::resolve(engine_choice(*engine), command.as_deref()) {
        Ok(resolved) => resolved,
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    };
    let mut request = dump_request(context, index, *engine, *format, *gzip);
    match read_settings(&request.uri, backup) {
        Ok(uri) => request.uri = uri,
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    }
    let mut settings =
        EngineSettings::new(step.timeout, context.run_id().to_string()).with_work_dir(context.work_dir());
    if let Some(dir) = context.scenario().path.parent() {
        settings
            .env
            .push(("DRDRILL_SCENARIO_DIR".into(), dir.display().to_string()));
    }
    let progress = StepProgress::new(context.events(), index);
    let started = context.clock().now();
    let selected = select::dump(&resolved, &request, &settings, &progress).await;
    let finished = context.clock().now();
    let selected = match selected {
        Ok(selected) => selected,
        Err(error) => {
            let text = crate::uri::redact(&crate::error::chain(&error));
            return StepOutcome::failed(format!("backup with {} failed: {text}", resolved.name()));
        }
    };
    let mut details = HostBackupDetails {
        engine: resolved.name().to_string(),
        engine_reason: resolved.reason.clone(),
        started_ms: started.offset_ms,
        finished_ms: finished.offset_ms,
        read_preference: backup.read_preference.map(|preference| preference.to_string()),
        read_concern: backup.read_concern.map(|concern| concern.to_string()),
        ..HostBackupDetails::default()
    };
    let dump = match &selected.result {
        DumpResult::Written(outcome) => outcome.clone(),
        DumpResult::Command(outcome) => {
            details.command = Some(json!(outcome));
            for finding in outcome.findings() {
                context.finding(format!("backup command: {finding}"));
            }
            match &outcome.dump {
                Some(dump) => dump.clone(),
                None => return StepOutcome::failed(no_backup_after(outcome)).with_details(details),
            }
        }
    };
    details.backup = Some(json!(dump));
    let documents: u64 = dump.collections.iter().map(|collection| collection.documents).sum();
    if dump.collections.is_empty() {
        return StepOutcome::failed(format!(
            "the backup at {} holds no collection of {}",
            describe(&dump.location),
            request.database
        ))
        .with_details(details);
    }
    let manifest = match manifest_of(context, &dump.location, &request.database) {
        Ok(manifest) => manifest,
        Err(outcome) => return outcome.with_details(details),
    };
    details.manifest = Some(crate::backup::manifest::manifest_path(&dump.location));
    let reference = match backup_reference(context, index, manifest.as_ref(), &mut details).await {
        Ok(reference) => reference,
        Err(outcome) => return outcome,
    };
    details.reference_collections = Some(reference.collections.len());
    context.set_reference(reference);
    context.record_backup(TakenBackup {
        location: dump.location.clone(),
        started,
        finished,
        engine: resolved.name().to_string(),
    });
    context.record_phase(ForecastPhase::Backup, documents, Some(dump.bytes), dump.duration);
    StepOutcome::passed(backup_message(resolved.name(), &dump, documents), details)
}

/// What a backup step says: its engine, collections, the user's documents
/// (the drill's ticks in `_drill_ticks` counted apart), bytes, time and
/// where the backup is.
fn backup_message(engine: &str, dump: &crate::backup::DumpOutcome, documents: u64) -> String {
    let ticks: u64 = dump
        .collections
        .iter()
        .filter(|collection| collection.name == crate::measure::ticks::TICKS_COLLECTION)
        .map(|collection| collection.documents)
        .sum();
    let apart = if ticks > 0 {
        format!(" (and {ticks} drill tick{})", if ticks == 1 { "" } else { "s" })
    } else {
        String::new()
    };
    format!(
        "{engine} backup of {} collections, {} documents{apart}, {} bytes in {} at {}",
        dump.collections.len(),
        documents.saturating_sub(ticks),
        dump.bytes,
        crate::measure::clock::human_duration_ms(crate::measure::clock::duration_to_millis(dump.duration)),
        describe(&dump.location)
    )
}

/// The reference: the source's checksums at the backup point. The builtin
/// engine reads each collection once, in `_id` order, and its manifest
/// holds the MD5 of exactly what it read; with that, a second read of the
/// source is not needed. Otherwise (real tools, a script), the source is
/// read again now. `details` says which it was. A drill whose ticks live in
/// touched collections reads the source again too: the manifest's MD5s
/// cover the tick documents there, the reference must not.
async fn backup_reference(
    context: &DrillContext<'_>,
    index: usize,
    manifest: Option<&crate::backup::manifest::Manifest>,
    details: &mut HostBackupDetails,
) -> Result<crate::checksum::DatabaseDigest, StepOutcome> {
    let ticks_in_user_collections = !context.scenario().touched_collections().is_empty();
    if let Some(reference) = manifest
        .filter(|_| !ticks_in_user_collections)
        .and_then(reference_from_manifest)
    {
        details.reference = Some("the backup's manifest (md5 of the documents as read from the source)".into());
        return Ok(reference);
    }
    let reference = source_reference(context, index).await?;
    details.reference = Some("a checksum pass over the source after the backup".into());
    Ok(reference)
}

/// The scenario's engine as the backup-engine selection takes it.
fn engine_choice(engine: BackupEngine) -> EngineChoice {
    match engine {
        BackupEngine::Auto => EngineChoice::Auto,
        BackupEngine::Tools => EngineChoice::Tools,
        BackupEngine::Builtin => EngineChoice::Builtin,
        BackupEngine::Command => EngineChoice::Command,
    }
}

/// The runbook's `docker exec mongo-primary mongodump ...`: mongodump runs
/// inside node 0's container against the server on the container's own
/// loopback, writes one archive, and the archive is copied out into the
/// drill's folder; from there on it is a backup like any other (manifest,
/// reference checksums, restore on the host). An image without mongodump
/// (the FerretDB image holds only the server) is said so, by name.
async fn in_container(context: &mut DrillContext<'_>, index: usize, step: &Step, gzip: bool) -> StepOutcome {
    let Some(image) = context.source().image() else {
        return StepOutcome::error(
            "run_in = \"container\" needs the containers provider (provider = \"containers\" or --provider containers)",
        );
    };
    let name = if gzip { "dump.archive.gz" } else { "dump.archive" };
    let inside = format!("/tmp/drdrill-{}-{name}", context.run_id());
    let request = match container_request(context, gzip, &inside) {
        Ok(request) => request,
        Err(outcome) => return outcome,
    };
    let argv: Vec<String> = match crate::backup::tools::dump_command(&request, std::path::Path::new("mongodump")) {
        Ok(argv) => argv.iter().map(|arg| arg.to_string_lossy().into_owned()).collect(),
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    };
    let shown = argv.join(" ");
    let started = context.clock().now();
    let ran = context.source().exec(0, &argv, step.timeout).await;
    let finished = context.clock().now();
    let mut details = ContainerBackupDetails {
        engine: "tools".into(),
        run_in: "container".into(),
        image: image.clone(),
        command: format!("docker exec <node-0> {shown}"),
        started_ms: started.offset_ms,
        finished_ms: finished.offset_ms,
        ..ContainerBackupDetails::default()
    };
    let output = match ran {
        Ok(output) => output,
        Err(error) => {
            let text = crate::uri::redact(&crate::error::chain(&error));
            return StepOutcome::failed(format!("mongodump inside the node's container could not run: {text}"))
                .with_details(details);
        }
    };
    let printed = crate::uri::redact(&format!("{}{}", output.stdout, output.stderr));
    details.output = Some(printed.clone());
    if let Some(message) = container_dump_failure(&image, output.code, &printed) {
        return StepOutcome::failed(message).with_details(details);
    }
    let folder = context.work_dir().join(format!("backup-{index}"));
    let _ = std::fs::create_dir_all(&folder);
    let host = folder.join(name);
    if let Err(outcome) = copy_out(context, &inside, &host).await {
        return outcome.with_details(details);
    }
    let location = crate::backup::BackupLocation::Archive {
        path: host.clone(),
        gzip,
    };
    let manifest = match copied_archive_manifest(context, &location, &request.database) {
        Ok(manifest) => manifest,
        Err(outcome) => return outcome.with_details(details),
    };
    details.backup = Some(describe(&location));
    if manifest.collections.is_empty() {
        return StepOutcome::failed(format!(
            "the archive copied out of the container holds no collection of {}",
            request.database
        ))
        .with_details(details);
    }
    let documents: u64 = manifest.collections.values().map(|entry| entry.count).sum();
    // mongodump does not read in `_id` order: the reference is a checksum
    // pass over the source now (the workload writes only `_drill_ticks`).
    match source_reference(context, index).await {
        Ok(reference) => context.set_reference(reference),
        Err(outcome) => return outcome,
    }
    context.record_backup(TakenBackup {
        location: location.clone(),
        started,
        finished,
        engine: "tools".into(),
    });
    StepOutcome::passed(
        format!(
            "mongodump in the node's container: {} collections, {documents} documents, copied out to {}",
            manifest.collections.len(),
            describe(&location)
        ),
        details,
    )
}

/// What the archive copied out of the container holds, read from the
/// archive itself (the manifest does the same), with its manifest written
/// beside it; `Err` is the failed outcome of an archive that cannot be read.
fn copied_archive_manifest(
    context: &mut DrillContext<'_>,
    location: &crate::backup::BackupLocation,
    database: &str,
) -> Result<crate::backup::manifest::Manifest, StepOutcome> {
    let manifest = crate::backup::manifest::describe_found_backup(location, Some(database)).map_err(|error| {
        StepOutcome::failed(format!(
            "the archive copied out of the container cannot be read: {}",
            crate::error::chain(&error)
        ))
    })?;
    if let Err(error) = crate::backup::manifest::write_manifest(location, &manifest) {
        context.finding(format!(
            "could not write a manifest beside the backup: {}",
            crate::error::chain(&error)
        ));
    }
    Ok(manifest)
}

/// The source's URI with the step's read preference and read concern as
/// connection options, so every engine (the tools, the builtin engine, a
/// command given `MONGO_URI`) reads the way the scenario says: against an
/// external deployment, from a secondary when there is one.
fn read_settings(
    uri: &crate::uri::MongoUri,
    backup: &BackupStep,
) -> Result<crate::uri::MongoUri, crate::uri::UriError> {
    let mut uri = uri.clone();
    if let Some(preference) = backup.read_preference {
        uri = uri.with_option("readPreference", preference.as_str())?;
    }
    if let Some(concern) = backup.read_concern {
        uri = uri.with_option("readConcernLevel", concern.as_str())?;
    }
    Ok(uri)
}

/// The request for the harness's own engines or the team's command. A
/// runbook script keeps its backups in one folder across runs (its
/// retention step works on that folder), so the command engine gets the
/// drill's shared backup folder; the harness's own engines get one folder
/// per backup step.
fn dump_request(
    context: &DrillContext<'_>,
    index: usize,
    engine: BackupEngine,
    format: BackupFormat,
    gzip: bool,
) -> DumpRequest {
    let out = match engine {
        BackupEngine::Command => context.work_dir().join("backups"),
        _ => context.work_dir().join(format!("backup-{index}")),
    };
    let layout = match format {
        BackupFormat::Directory => Layout::Directory { gzip },
        BackupFormat::Archive => Layout::Archive { gzip },
    };
    let out = match (engine, format) {
        (BackupEngine::Command, _) | (_, BackupFormat::Directory) => out,
        (_, BackupFormat::Archive) => {
            let _ = std::fs::create_dir_all(&out);
            out.join(if gzip { "dump.archive.gz" } else { "dump.archive" })
        }
    };
    DumpRequest {
        uri: context.source().uri(),
        database: context.scenario().dataset.database.clone(),
        collections: None,
        exclude: Vec::new(),
        layout,
        out,
        parallel_collections: 4,
    }
}

/// Why a command that left no backup failed: what it claimed in its own
/// last words, how it exited, and what its retention step deleted.
fn no_backup_after(outcome: &crate::backup::command::CommandOutcome) -> String {
    let exit = match &outcome.exit {
        crate::backup::command::CommandExit::Code { code } => format!("exited {code}"),
        other => format!("{other:?}"),
    };
    // Its stdout and stderr arrive merged, in an order the pipes decide: the
    // script's own claim of success, when it made one, is what to quote
    // (not a tool's error that happened to be read after it).
    let lines: Vec<&str> = outcome
        .output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let claims_success = |line: &&&str| {
        let lower = line.to_lowercase();
        ["complete", "success", "succeeded", "finished", "done"]
            .iter()
            .any(|word| lower.contains(word))
            && !lower.contains("fail")
            && !lower.contains("error")
    };
    let claim = lines
        .iter()
        .rev()
        .find(claims_success)
        .or(lines.last())
        .map(|line| format!(" after printing \"{line}\""))
        .unwrap_or_default();
    let mut message = format!(
        "`{}` {exit}{claim}, but no backup exists: judged by what exists, not by the exit status",
        outcome.command
    );
    if !outcome.deleted.is_empty() {
        message.push_str(&format!(
            "; its retention step deleted {} earlier backup(s) during the failed run: {}",
            outcome.deleted.len(),
            outcome
                .deleted
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    message
}

/// The backup's manifest. Every backup the harness takes or finds has one
/// beside it; a backup found after a command gets one now. `Err` is the
/// failed outcome of a backup that cannot be read at all; an unreadable
/// manifest is a finding.
fn manifest_of(
    context: &mut DrillContext<'_>,
    location: &crate::backup::BackupLocation,
    database: &str,
) -> Result<Option<crate::backup::manifest::Manifest>, StepOutcome> {
    match crate::backup::manifest::read_manifest(location) {
        Ok(Some(manifest)) => Ok(Some(manifest)),
        Ok(None) => match crate::backup::manifest::describe_found_backup(location, Some(database)) {
            Ok(manifest) => {
                if let Err(error) = crate::backup::manifest::write_manifest(location, &manifest) {
                    context.finding(format!(
                        "could not write a manifest beside the found backup: {}",
                        crate::error::chain(&error)
                    ));
                }
                Ok(Some(manifest))
            }
            Err(error) => Err(StepOutcome::failed(format!(
                "the backup at {} cannot be read: {}",
                describe(location),
                crate::error::chain(&error)
            ))),
        },
        Err(error) => {
            context.finding(format!(
                "the backup's manifest cannot be read: {}",
                crate::error::chain(&error)
            ));
            Ok(None)
        }
    }
}

/// The reference from a checksum pass over the source now: the workload
/// writes only `_drill_ticks`, which checksums exclude, so the other
/// collections are still as they were at the backup point.
pub(crate) async fn source_reference(
    context: &DrillContext<'_>,
    index: usize,
) -> Result<crate::checksum::DatabaseDigest, StepOutcome> {
    let progress = StepProgress::new(context.events(), index);
    digest_database(&context.source_database(), &DigestOptions::default(), &progress)
        .await
        .map_err(|error| {
            StepOutcome::error(format!(
                "cannot take the reference checksums: {}",
                crate::uri::redact(&crate::error::chain(&error))
            ))
        })
}

/// Why mongodump inside the node's container did not produce an archive,
/// if it did not. 126/127 are the shell's "cannot execute" / "not found",
/// which the engines' exec also uses when the program is not in the image.
fn container_dump_failure(image: &str, code: Option<i64>, printed: &str) -> Option<String> {
    let code_text = || code.map_or("without a code".to_string(), |code| code.to_string());
    if matches!(code, Some(126 | 127)) || printed.contains("executable file not found") {
        return Some(format!(
            "the image {image} has no mongodump, so the backup cannot run inside the node's container (exec exited {}); run it on the host (run_in = \"host\") or use an image with the MongoDB Database Tools, such as mongo:7.0",
            code_text(),
        ));
    }
    if code != Some(0) {
        let last = printed
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no output");
        return Some(format!(
            "mongodump inside the node's container exited {}: {last}",
            code_text()
        ));
    }
    None
}

/// mongodump's request inside node 0's container: the server on the
/// container's own loopback, one archive at `inside`.
fn container_request(context: &DrillContext<'_>, gzip: bool, inside: &str) -> Result<DumpRequest, StepOutcome> {
    let uri = crate::uri::MongoUri::parse(&format!(
        "mongodb://127.0.0.1:{}/?directConnection=true",
        crate::provider::containers::SERVER_PORT
    ))
    .map_err(|error| StepOutcome::error(crate::error::chain(&error)))?;
    Ok(DumpRequest {
        uri,
        database: context.scenario().dataset.database.clone(),
        collections: None,
        exclude: Vec::new(),
        layout: Layout::Archive { gzip },
        out: std::path::PathBuf::from(inside),
        parallel_collections: 4,
    })
}

/// Copies the archive at `inside` node 0's container to `host`, then
/// removes it from the container (best effort).
async fn copy_out(context: &mut DrillContext<'_>, inside: &str, host: &std::path::Path) -> Result<(), StepOutcome> {
    if let Err(error) = context.source().copy_file_out(0, inside, host).await {
        return Err(StepOutcome::error(format!(
            "mongodump wrote {inside} inside the container, but it could not be copied out: {}",
            crate::error::chain(&error)
        )));
    }
    let remove = ["rm".to_string(), "-f".to_string(), inside.to_string()];
    let _ = context
        .source()
        .exec(0, &remove, std::time::Duration::from_secs(30))
        .await;
    Ok(())
}

/// Where a backup is, for messages.
pub fn describe(location: &crate::backup::BackupLocation) -> String {
    match location {
        crate::backup::BackupLocation::Directory { path, gzip } => {
            format!("{} (directory{})", path.display(), if *gzip { ", gzip" } else { "" })
        }
        crate::backup::BackupLocation::Archive { path, gzip } => {
            format!("{} (archive{})", path.display(), if *gzip { ", gzip" } else { "" })
        }
        crate::backup::BackupLocation::TarGz { path } => format!("{} (tar.gz)", path.display()),
    }
}

/// The reference digest from a manifest whose every collection has its
/// `_id`-order MD5 (the builtin engine's), indexes from the dump's metadata.
pub(crate) fn reference_from_manifest(
    manifest: &crate::backup::manifest::Manifest,
) -> Option<crate::checksum::DatabaseDigest> {
    use crate::checksum::{CollectionDigest, DatabaseDigest, DbHashCheck, IndexSpec};
    let options = DigestOptions::default();
    let mut collections = std::collections::BTreeMap::new();
    for (name, entry) in &manifest.collections {
        if options.is_excluded(name) {
            continue;
        }
        let md5 = entry.md5.clone()?;
        let mut indexes = Vec::new();
        for index in &entry.indexes {
            let document = bson::serialize_to_document(index).ok()?;
            indexes.push(IndexSpec::from_list_indexes_entry(&document).ok()?.normalized());
        }
        indexes.sort_by(|left, right| left.name.cmp(&right.name));
        collections.insert(
            name.clone(),
            CollectionDigest {
                name: name.clone(),
                count: entry.count,
                md5,
                bytes: entry.bytes,
                indexes,
            },
        );
    }
    Some(DatabaseDigest {
        database: manifest.database.clone(),
        exists: true,
        collections,
        db_hash: DbHashCheck::NotOffered {
            reason: "reference taken from the backup's manifest".into(),
        },
        excluded: options.exclude.clone(),
    })
}
