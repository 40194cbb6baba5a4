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
use crate::runner::context::{DrillContext, TakenBackup};
use crate::runner::events::StepProgress;
use crate::scenario::{BackupEngine, BackupFormat, Step, StepKind};

/// Runs a `backup` step.
pub async fn run(context: &mut DrillContext<'_>, index: usize, step: &Step) -> StepOutcome {
    let StepKind::Backup {
        engine,
        format,
        gzip,
        command,
    } = &step.kind
    else {
        unreachable!("dispatched by kind")
    };
    super::seed::start_workload(context);
    let choice = match engine {
        BackupEngine::Auto => EngineChoice::Auto,
        BackupEngine::Tools => EngineChoice::Tools,
        BackupEngine::Builtin => EngineChoice::Builtin,
        BackupEngine::Command => EngineChoice::Command,
    };
    let resolved = match select::resolve(choice, command.as_deref()) {
        Ok(resolved) => resolved,
        Err(error) => return StepOutcome::error(error.to_string()),
    };
    let out = context.work_dir.join(format!("backup-{index}"));
    let layout = match format {
        BackupFormat::Directory => Layout::Directory { gzip: *gzip },
        BackupFormat::Archive => Layout::Archive { gzip: *gzip },
    };
    let out = match (engine, format) {
        (BackupEngine::Command, _) | (_, BackupFormat::Directory) => out,
        (_, BackupFormat::Archive) => {
            let _ = std::fs::create_dir_all(&out);
            out.join(if *gzip { "dump.archive.gz" } else { "dump.archive" })
        }
    };
    let request = DumpRequest {
        uri: context.source.uri(),
        database: context.scenario.dataset.database.clone(),
        collections: None,
        exclude: Vec::new(),
        layout,
        out,
        parallel_collections: 4,
    };
    let mut settings = EngineSettings::new(step.timeout, context.run_id.clone());
    if let Some(dir) = context.scenario.path.parent() {
        settings
            .env
            .push(("DRDRILL_SCENARIO_DIR".into(), dir.display().to_string()));
    }
    let progress = StepProgress::new(context.events, index);
    let started = context.clock.now();
    let selected = select::dump(&resolved, &request, &settings, &progress).await;
    let finished = context.clock.now();
    let selected = match selected {
        Ok(selected) => selected,
        Err(error) => {
            let text = crate::uri::redact(&error_chain(&error));
            return StepOutcome::failed(format!("backup with {} failed: {text}", resolved.name()));
        }
    };
    let mut details = json!({
        "engine": resolved.name(),
        "engine_reason": resolved.reason,
        "started_ms": started.offset_ms,
        "finished_ms": finished.offset_ms,
    });
    let dump = match &selected.result {
        DumpResult::Written(outcome) => outcome.clone(),
        DumpResult::Command(outcome) => {
            details["command"] = json!(outcome);
            for finding in outcome.findings() {
                context.finding(format!("backup command: {finding}"));
            }
            match &outcome.dump {
                Some(dump) => dump.clone(),
                None => {
                    let mut message = format!(
                        "no backup exists after `{}` ({:?}): judged by what exists, not by the exit status",
                        outcome.command, outcome.exit
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
                    return StepOutcome::failed(message).with_details(details);
                }
            }
        }
    };
    details["backup"] = json!(dump);
    let documents: u64 = dump.collections.iter().map(|collection| collection.documents).sum();
    if dump.collections.is_empty() {
        return StepOutcome::failed(format!(
            "the backup at {} holds no collection of {}",
            describe(&dump.location),
            request.database
        ))
        .with_details(details);
    }
    // The reference: the source's checksums at the backup point.
    let progress = StepProgress::new(context.events, index);
    match digest_database(&context.source_database(), &DigestOptions::default(), &progress).await {
        Ok(reference) => {
            details["reference_collections"] = json!(reference.collections.len());
            context.reference = Some(reference);
        }
        Err(error) => {
            return StepOutcome::error(format!(
                "cannot take the reference checksums: {}",
                crate::uri::redact(&error.to_string())
            ));
        }
    }
    context.backups.push(TakenBackup {
        location: dump.location.clone(),
        started,
        finished,
        engine: resolved.name().to_string(),
    });
    StepOutcome::passed(
        format!(
            "{} backup of {} collections, {} documents, {} bytes in {:.1} s at {}",
            resolved.name(),
            dump.collections.len(),
            documents,
            dump.bytes,
            dump.duration.as_secs_f64(),
            describe(&dump.location)
        ),
        details,
    )
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

/// An error with its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
