//! `restore`: the last backup, everything (`--drop`) or chosen collections,
//! into the same node (restarted first when the disaster took it down) or
//! into a fresh node, through the engine that made it (builtin for a
//! command's backup). When it ends, the readiness probe measures T_s.

use serde_json::json;

use super::StepOutcome;
use crate::backup::EngineChoice;
use crate::backup::select::{self, EngineSettings};
use crate::backup::{BackupLocation, RestoreRequest};
use crate::measure::forecast::ForecastPhase;
use crate::outcome::details::RestoreDetails;
use crate::runner::context::{DrillContext, RestoredScope, TakenBackup};
use crate::runner::events::StepProgress;
use crate::scenario::{RestoreStep, RestoreTarget, Step};

/// Runs a `restore` step.
pub async fn run(context: &mut DrillContext<'_>, index: usize, step: &Step, restore: &RestoreStep) -> StepOutcome {
    let RestoreStep {
        target,
        drop,
        collections,
        store,
        stream,
    } = restore;
    // A download from a store is part of the recovery.
    context.mark_recovery_start();
    let (backup, from_store) = match backup_to_restore(context, store.as_deref(), *stream).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let mut details = RestoreDetails {
        target: target.to_string(),
        backup_engine: backup.engine.clone(),
        ..RestoreDetails::default()
    };
    let from_store_text = from_store.as_ref().map(describe_from_store);
    let streamed = from_store.as_ref().and_then(|from| from.streamed.clone());
    if let Some(from) = from_store {
        details.download = Some(from.transfer);
        details.store_read = Some(from.read);
    }
    if let Err(outcome) = prepare_target(context, *target, &mut details).await {
        return outcome;
    }
    let resolved = match select::resolve(engine_for(&backup.engine), None) {
        Ok(resolved) => resolved,
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    };
    let requests = restore_requests(context, &backup.location, collections, *drop).await;
    let settings = EngineSettings::new(step.timeout, context.run_id().to_string()).with_work_dir(context.work_dir());
    let progress = StepProgress::new(context.events(), index);
    let outcome = match &streamed {
        Some(streamed) => match restore_streamed(streamed, &requests, &progress, &mut details).await {
            Ok(outcome) => outcome,
            Err(outcome) => return outcome.with_details(details),
        },
        None => match select::restore_each(&resolved, &requests, &settings, &progress).await {
            Ok(selected) => selected.outcome,
            Err(error) => {
                let text = crate::uri::redact(&crate::error::chain(&error));
                return StepOutcome::failed(format!("restore with {} failed: {text}", resolved.name()))
                    .with_details(details);
            }
        },
    };
    context.record_restore(RestoredScope::from_selection(collections.as_deref()));
    let moved: u64 = outcome.collections.iter().map(|collection| collection.documents).sum();
    context.record_phase(ForecastPhase::Restore, moved, None, outcome.duration);
    details.restore = Some(json!(outcome));
    let documents = user_documents_restored(context, &outcome, &mut details).await;
    let failures: u64 = outcome.collections.iter().map(|collection| collection.failures).sum();
    for collection in &outcome.collections {
        for problem in &collection.index_errors {
            context.finding(format!("restore of {}: {problem}", collection.name));
        }
    }

    // T_s: the first canary acknowledged and read back now that recovery
    // is complete.
    context
        .await_recovered_service(std::time::Duration::from_secs(60))
        .await;
    if failures > 0 {
        return StepOutcome::failed(format!("{documents} documents restored, {failures} failed to restore"))
            .with_details(details);
    }
    StepOutcome::passed(
        format!(
            "{} restored {} collections, {documents} documents in {}{}",
            resolved.name(),
            outcome.collections.len(),
            crate::measure::clock::human_duration_ms(crate::measure::clock::duration_to_millis(outcome.duration)),
            from_store_text.unwrap_or_default()
        ),
        details,
    )
}

/// One request per database to restore, into the recovered deployment,
/// with as many writers as its engine takes (one on FerretDB's SQLite).
async fn restore_requests(
    context: &DrillContext<'_>,
    location: &BackupLocation,
    collections: &Option<Vec<String>>,
    drop: bool,
) -> Vec<RestoreRequest> {
    let parallel = if context.server().capabilities.parallel_writes {
        4
    } else {
        1
    };
    let uri = context.recovered_deployment().uri();
    databases_to_restore(location, &context.scenario().dataset.database, collections)
        .await
        .into_iter()
        .map(|database| RestoreRequest {
            uri: uri.clone(),
            source: location.clone(),
            from_database: database.clone(),
            to_database: database,
            collections: collections.clone(),
            drop,
            dry_run: false,
            workers_per_collection: parallel,
            parallel_collections: parallel,
        })
        .collect()
}

/// The engine a backup made by `engine` is restored with: a backup made by
/// a command is a plain dump, restored with the tools when present, else
/// the builtin engine.
pub(super) fn engine_for(engine: &str) -> EngineChoice {
    match engine {
        "tools" => EngineChoice::Tools,
        "builtin" => EngineChoice::Builtin,
        _ => EngineChoice::Auto,
    }
}

/// The backup to restore: the last backup step's, or with `store` the
/// store's newest, verified (streamed or downloaded, as `stream` and the
/// backup allow). `Err` is the step's outcome when there is none.
async fn backup_to_restore(
    context: &mut DrillContext<'_>,
    store: Option<&str>,
    stream: bool,
) -> Result<(TakenBackup, Option<super::stored::FromStore>), StepOutcome> {
    let Some(store) = store else {
        return match context.last_backup().cloned() {
            Some(backup) => Ok((backup, None)),
            None => Err(StepOutcome::failed(
                "there is no backup to restore: no backup step produced one",
            )),
        };
    };
    let from_store = super::stored::from_store(context, store, stream).await?;
    let now = context.clock().now();
    let backup = TakenBackup {
        location: from_store.location.clone(),
        started: now,
        finished: now,
        engine: from_store.manifest.engine.name.clone(),
    };
    Ok((backup, Some(from_store)))
}

/// ` from store NAME (where, how it was read: size, time, speed)`.
fn describe_from_store(from: &super::stored::FromStore) -> String {
    let how = match from.read.mode {
        crate::store::ReadMode::Streamed => "streamed: verified in a first pass, restored in a second",
        crate::store::ReadMode::Downloaded => "downloaded and verified",
    };
    format!(
        " from store {} ({}, {how}: {})",
        from.transfer.store,
        from.transfer.location,
        from.transfer.summary()
    )
}

/// Restores a streamed backup: one streamed pass per request, each
/// recorded in `details`.
async fn restore_streamed(
    streamed: &(crate::store::Store, crate::store::StreamedBackup),
    requests: &[RestoreRequest],
    progress: &StepProgress<'_>,
    details: &mut RestoreDetails,
) -> Result<crate::backup::RestoreOutcome, StepOutcome> {
    let mut combined: Option<crate::backup::RestoreOutcome> = None;
    for request in requests {
        let (outcome, pass) = super::stored::restore_streamed(streamed, request, progress).await?;
        if let Some(read) = &mut details.store_read {
            read.passes.push(pass);
        }
        select::combine(&mut combined, outcome, request, requests.len());
    }
    combined.ok_or_else(|| StepOutcome::failed("nothing to restore: no database was selected"))
}

/// The documents restored that are the user's, as the step's message shows
/// them; the drill's tick documents among them are counted apart, in
/// `details.tick_documents`.
async fn user_documents_restored(
    context: &DrillContext<'_>,
    outcome: &crate::backup::RestoreOutcome,
    details: &mut RestoreDetails,
) -> u64 {
    let ticks = tick_documents_restored(context, outcome).await;
    if ticks > 0 {
        details.tick_documents = Some(ticks);
    }
    let documents: u64 = outcome.collections.iter().map(|collection| collection.documents).sum();
    documents.saturating_sub(ticks)
}

/// How many of the restored documents are the drill's tick documents: all of
/// `_drill_ticks`, and the ticks now present in each restored collection the disaster touched
/// (engines name a collection `c` or `db.c`). A count that fails is taken
/// as none: the figure is only what the message shows.
async fn tick_documents_restored(context: &DrillContext<'_>, outcome: &crate::backup::RestoreOutcome) -> u64 {
    let touched = context.scenario().touched_collections();
    let database = context.recovered_database();
    let mut ticks = 0;
    for collection in &outcome.collections {
        let own = crate::measure::ticks::TICKS_COLLECTION;
        if collection.name == own || collection.name.ends_with(&format!(".{own}")) {
            ticks += collection.documents;
            continue;
        }
        let Some(name) = touched
            .iter()
            .find(|name| collection.name == **name || collection.name.ends_with(&format!(".{name}")))
        else {
            continue;
        };
        let counted = database
            .collection::<bson::Document>(name)
            .count_documents(crate::measure::ticks::tick_documents_filter())
            .await;
        ticks += counted.unwrap_or(0);
    }
    ticks
}

/// The scenario's database; and when the step restores everything (no
/// `collections`) from a full-server backup that holds it among others
/// (a runbook's `mongodump` without `--db`), every database of the backup,
/// as `mongorestore` would.
async fn databases_to_restore(
    location: &BackupLocation,
    dataset: &str,
    collections: &Option<Vec<String>>,
) -> Vec<String> {
    let own = vec![dataset.to_owned()];
    if collections.is_some() {
        return own;
    }
    match select::databases_in(location).await {
        Ok(databases) if databases.len() > 1 && databases.iter().any(|database| database == dataset) => databases,
        // One database, or one that is not the scenario's: the engine
        // restores (or names the mismatch of) the scenario's, as before.
        _ => own,
    }
}

/// Makes the restore target ready: on the same node, every node the
/// disaster took down comes back first (restarted after a kill or stop,
/// resumed after a pause, reconnected after a disconnect, recreated empty
/// after a removal); a fresh node is started once. `details` names what
/// was done.
async fn prepare_target(
    context: &mut DrillContext<'_>,
    target: RestoreTarget,
    details: &mut RestoreDetails,
) -> Result<(), StepOutcome> {
    match target {
        RestoreTarget::SameNode => {
            let mut restarted = Vec::new();
            for node in 0..context.source().node_count().unwrap_or(0) {
                match context.source_mut().ensure_running(node).await {
                    Ok(true) => restarted.push(format!("node-{node}")),
                    Ok(false) => {}
                    Err(error) => {
                        return Err(StepOutcome::error(format!(
                            "cannot bring node-{node} back: {}",
                            crate::error::chain(&error)
                        )));
                    }
                }
            }
            if !restarted.is_empty() {
                details.restarted = Some(restarted);
                // A restarted container may publish another port: connect anew.
                match crate::runner::drill::connect(&context.source().uri()).await {
                    Ok(client) => context.reconnect_source(client),
                    Err(error) => {
                        return Err(StepOutcome::error(format!(
                            "cannot reconnect to the restarted node: {}",
                            crate::error::chain(&error)
                        )));
                    }
                }
            }
        }
        RestoreTarget::FreshNode => {
            if context.fresh().is_none() {
                let fresh = match context.source().start_fresh(context.run_id()).await {
                    Ok(fresh) => fresh,
                    Err(error) => {
                        return Err(StepOutcome::error(format!(
                            "cannot start a fresh node: {}",
                            crate::error::chain(&error)
                        )));
                    }
                };
                let client = match crate::runner::drill::connect(&fresh.uri()).await {
                    Ok(client) => client,
                    Err(error) => {
                        return Err(StepOutcome::error(format!(
                            "cannot connect to the fresh node: {}",
                            crate::error::chain(&error)
                        )));
                    }
                };
                details.fresh_node = Some(fresh.uri().to_string());
                context.set_fresh(fresh, client);
            }
        }
    }
    Ok(())
}
