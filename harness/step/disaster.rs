//! `disaster`: records T_d, stops the tick writer at T_d, and injects the
//! fault: drop the database or a collection, kill, stop, pause, disconnect
//! or remove a node (or the primary), kill a replica set's majority, wipe a
//! node's data, corrupt documents, tamper with the backup, or run the
//! team's command. In a failover drill (a replica set, no restore after
//! the disaster) the writer keeps writing and the service is probed from
//! T_d on, in the background.

use bson::{Document, doc};
use futures_util::TryStreamExt;

use super::{StepError, StepOutcome};
use crate::backup::BackupLocation;
use crate::checksum::{DigestOptions, digest_database};
use crate::outcome::details::DisasterDetails;
use crate::runner::context::DrillContext;
use crate::runner::deployment::Deployment;
use crate::scenario::{DisasterAction, DisasterStep, NodeTarget, Step};

/// Runs a `disaster` step.
pub async fn run(context: &mut DrillContext<'_>, step: &Step, disaster: &DisasterStep) -> StepOutcome {
    let DisasterStep {
        action,
        collections,
        documents,
        node,
        command,
        store,
    } = disaster;
    let failover = context.scenario().is_failover();
    if failover && let Err(outcome) = take_reference_before_t_d(context).await {
        return outcome;
    }
    let node = match node.unwrap_or(NodeTarget::Index(0)) {
        NodeTarget::Index(index) => usize::from(index),
        NodeTarget::Primary => match primary_of(context.source()).await {
            Ok(index) => index,
            Err(error) => return StepOutcome::error(format!("{action}: {}", error.render())),
        },
    };
    // T_d is recorded immediately before the fault is issued.
    let t_d = match context.mark_disaster() {
        Ok(t_d) => t_d,
        Err(error) => return StepOutcome::error(error.to_string()),
    };
    let writer = if failover { None } else { context.take_ticks() };
    let database = context.source_database();
    let result: Result<DisasterDetails, StepError> = match action {
        DisasterAction::DropDatabase => database
            .drop()
            .await
            .map(|()| DisasterDetails::Dropped {
                dropped: context.scenario().dataset.database.clone(),
            })
            .map_err(StepError::driver(format!("drop database {}", database.name()))),
        DisasterAction::DropCollection => drop_collections(&database, collections).await,
        DisasterAction::KillNode
        | DisasterAction::StopNode
        | DisasterAction::PauseNode
        | DisasterAction::DisconnectNode
        | DisasterAction::RemoveNode
        | DisasterAction::WipeData => fault_node(context.source_mut(), *action, node).await,
        DisasterAction::KillMajority => kill_majority(context.source_mut()).await,
        DisasterAction::CorruptDocuments => corrupt_collections(&database, collections, documents.unwrap_or(10)).await,
        DisasterAction::TamperBackup => match context.last_backup() {
            Some(backup) => {
                let name = collections.first().map_or("configurations", String::as_str);
                tamper_backup(&backup.location, &context.scenario().dataset.database, name)
            }
            None => Err(StepError::NotApplicable(
                "tamper-backup needs a backup step before it".into(),
            )),
        },
        DisasterAction::RegionOutage => region_outage(context, store.as_deref()).await,
        DisasterAction::Command => {
            let command = command.clone().unwrap_or_default();
            match super::exec::run_command(context, &command, step.timeout).await {
                Ok(run) => Ok(DisasterDetails::Command {
                    exit_code: super::exec::exit_code(&run),
                    timed_out: run.exit == crate::backup::command::CommandExit::TimedOut,
                    output: run.output,
                    command,
                }),
                Err(source) => Err(StepError::Command { command, source }),
            }
        }
    };
    if let Some(writer) = writer {
        context.record_tick_log(writer.stop().await);
    }
    // In a failover drill the service is probed from T_d on, while the
    // writer keeps writing; otherwise the restore step probes when it ends.
    if failover && result.is_ok() {
        context.start_failover_probe();
    }
    match result {
        Ok(details) => StepOutcome::passed(
            format!(
                "{action} at T_d {}",
                crate::report::units::offset_seconds(t_d.offset_ms)
            ),
            details,
        ),
        Err(error) => StepOutcome::error(format!("{action} could not be injected: {}", error.render())),
    }
}

/// A failover drill has no backup: its reference is the data just before
/// T_d (the workload writes only ticks, which checksums exclude).
async fn take_reference_before_t_d(context: &mut DrillContext<'_>) -> Result<(), StepOutcome> {
    if context.reference().is_some() {
        return Ok(());
    }
    let options = DigestOptions {
        missing_database_is_empty: true,
        ..DigestOptions::default()
    };
    match digest_database(&context.source_database(), &options, &crate::progress::NoProgress).await {
        Ok(reference) => {
            context.set_reference(reference);
            Ok(())
        }
        Err(error) => Err(StepOutcome::error(format!(
            "cannot take the reference checksums before T_d: {}",
            crate::uri::redact(&crate::error::chain(&error))
        ))),
    }
}

/// One of the node faults on node `index`; the details name what was done.
async fn fault_node(
    deployment: &mut Deployment,
    action: DisasterAction,
    index: usize,
) -> Result<DisasterDetails, StepError> {
    let operation = format!("{action} node-{index}");
    if action == DisasterAction::PauseNode {
        return match deployment.pause(index).await {
            Ok(how) => Ok(DisasterDetails::Paused {
                paused: format!("node-{index}"),
                how,
            }),
            Err(error) => Err(StepError::deployment(operation)(error)),
        };
    }
    let node = format!("node-{index}");
    let (done, result) = match action {
        DisasterAction::KillNode => (DisasterDetails::Killed { killed: node }, deployment.kill(index).await),
        DisasterAction::StopNode => (DisasterDetails::Stopped { stopped: node }, deployment.stop(index).await),
        DisasterAction::DisconnectNode => (
            DisasterDetails::Disconnected { disconnected: node },
            deployment.disconnect(index).await,
        ),
        DisasterAction::RemoveNode => (
            DisasterDetails::Removed {
                removed_with_volume: node,
            },
            deployment.remove(index).await,
        ),
        DisasterAction::WipeData => (DisasterDetails::Wiped { wiped: node }, deployment.wipe(index).await),
        other => unreachable!("{other} does not target a node"),
    };
    result.map(|()| done).map_err(StepError::deployment(operation))
}

/// The node answering as writable primary.
async fn primary_of(deployment: &Deployment) -> Result<usize, StepError> {
    let count = deployment
        .node_count()
        .ok_or_else(|| StepError::NotApplicable("node = \"primary\" needs a deployment the harness started".into()))?;
    let uris: Vec<String> = (0..count)
        .filter_map(|index| deployment.node_uri(index).ok())
        .map(|uri| uri.expose_secret().to_string())
        .collect();
    match crate::runner::primary::find_primary(&uris).await {
        (Some(index), _) => Ok(index),
        (None, answering) => Err(StepError::NotApplicable(format!(
            "no node answers as primary ({answering} of {count} answer `hello`)"
        ))),
    }
}

/// Kills a majority of the data-bearing members, the primary first, so
/// that the rest cannot elect one.
async fn kill_majority(deployment: &mut Deployment) -> Result<DisasterDetails, StepError> {
    let count = deployment
        .node_count()
        .ok_or_else(|| StepError::NotApplicable("kill-majority needs a deployment the harness started".into()))?;
    let primary = primary_of(deployment).await.ok();
    let majority = count / 2 + 1;
    let mut order: Vec<usize> = primary.into_iter().collect();
    order.extend((0..count).filter(|index| Some(*index) != primary));
    let mut killed = Vec::new();
    for index in order.into_iter().take(majority) {
        deployment
            .kill(index)
            .await
            .map_err(StepError::deployment(format!("kill node-{index}")))?;
        killed.push(format!("node-{index}"));
    }
    Ok(DisasterDetails::MajorityKilled { killed, of: count })
}

/// Drops every named collection, one after the other, at the one T_d. The
/// details keep the single-name form (`"dropped": "a"`) for one collection.
async fn drop_collections(database: &mongodb::Database, names: &[String]) -> Result<DisasterDetails, StepError> {
    for name in names {
        database
            .collection::<Document>(name)
            .drop()
            .await
            .map_err(StepError::driver(format!("drop collection {name}")))?;
    }
    Ok(match names {
        [one] => DisasterDetails::Dropped { dropped: one.clone() },
        many => DisasterDetails::DroppedCollections { dropped: many.to_vec() },
    })
}

/// Corrupts `count` user documents of each named collection, at the one T_d.
async fn corrupt_collections(
    database: &mongodb::Database,
    names: &[String],
    count: u64,
) -> Result<DisasterDetails, StepError> {
    let mut each = Vec::new();
    for name in names {
        each.push(corrupt_documents(database, name, count).await?);
    }
    Ok(match each.len() {
        1 => each.remove(0),
        _ => DisasterDetails::CorruptedCollections { collections: each },
    })
}

/// Overwrites a field of the first `count` user documents (in `_id`
/// order; the drill's own tick documents are not the user's data).
async fn corrupt_documents(database: &mongodb::Database, name: &str, count: u64) -> Result<DisasterDetails, StepError> {
    let collection = database.collection::<Document>(name);
    let mut cursor = collection
        .find(crate::measure::ticks::user_documents_filter())
        .sort(doc! { "_id": 1 })
        .limit(count as i64)
        .projection(doc! { "_id": 1 })
        .await
        .map_err(StepError::driver(format!("find the first {count} documents of {name}")))?;
    let mut ids = Vec::new();
    while let Some(document) = cursor
        .try_next()
        .await
        .map_err(StepError::driver(format!("read the documents of {name}")))?
    {
        if let Some(id) = document.get("_id") {
            ids.push(id.clone());
        }
    }
    for id in &ids {
        collection
            .update_one(
                doc! { "_id": id.clone() },
                doc! { "$set": { "corrupted_by_drill": true } },
            )
            .await
            .map_err(StepError::driver(format!("update a document of {name}")))?;
    }
    Ok(DisasterDetails::Corrupted {
        collection: name.to_string(),
        corrupted: ids.len(),
        ids: ids.iter().take(20).map(|id| id.to_string()).collect(),
    })
}

/// Flips one ASCII character inside a string value of the middle document
/// of `collection`'s `.bson` file: the BSON stays well formed, so only a
/// checksum (the manifest's file hash, or verification after restore) can
/// notice. Directory backups only; archives and gzip files are refused.
fn tamper_backup(location: &BackupLocation, database: &str, collection: &str) -> Result<DisasterDetails, StepError> {
    use crate::backup::format::{BsonStream, DumpDirectory, Namespace};
    let BackupLocation::Directory { path, gzip: false } = location else {
        return Err(StepError::NotApplicable(
            "tamper-backup works on plain directory backups".into(),
        ));
    };
    let unreadable = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| StepError::Backup {
            path,
            source: Box::new(source),
        }
    };
    let dump = DumpDirectory::open(path).map_err(unreadable(path))?;
    let namespace = Namespace {
        database: database.to_string(),
        collection: collection.to_string(),
    };
    let file = dump
        .collection(&namespace)
        .and_then(|entry| entry.bson_file.clone())
        .ok_or_else(|| StepError::NotApplicable(format!("the backup has no {database}.{collection}")))?;
    let mut stream = BsonStream::open_file(&file, Some(namespace)).map_err(unreadable(&file))?;
    let mut documents = Vec::new();
    while let Some(document) = stream.next_document().map_err(unreadable(&file))? {
        documents.push(document);
    }
    let middle = documents
        .get(documents.len() / 2)
        .ok_or_else(|| StepError::NotApplicable("the collection is empty in the backup".into()))?;
    // Find the first string value with an ASCII letter; its byte offset in
    // the file is the document's offset plus its offset in the document.
    let bytes = middle.document.as_bytes();
    let mut target = None;
    for element in middle.document.iter_elements() {
        let Ok(element) = element else { continue };
        if element.element_type() == bson::spec::ElementType::String
            && let Ok(bson::RawBsonRef::String(text)) = element.value()
            && let Some(position) = text.bytes().position(|byte| byte.is_ascii_alphabetic())
        {
            let needle = text.as_bytes();
            if let Some(start) = bytes.windows(needle.len()).position(|window| window == needle) {
                target = Some((start + position, element.key().to_string()));
                break;
            }
        }
    }
    let (in_document, field) = target
        .ok_or_else(|| StepError::NotApplicable("no string value to tamper with in the middle document".into()))?;
    let offset = middle.offset as usize + in_document;
    let io = |source| StepError::Io {
        path: file.clone(),
        source,
    };
    let mut content = std::fs::read(&file).map_err(io)?;
    content[offset] ^= 0x20; // swaps the letter's case: still valid UTF-8
    std::fs::write(&file, &content).map_err(io)?;
    let id = middle
        .document
        .get("_id")
        .ok()
        .flatten()
        .map(|id| format!("{id:?}"))
        .unwrap_or_default();
    Ok(DisasterDetails::Tampered {
        file: file.display().to_string(),
        offset,
        field,
        document_id: id,
    })
}

/// `region-outage`: the gateway of `store` (else of the first store a
/// backup step wrote to) is stopped; what it served stops answering.
async fn region_outage(context: &mut DrillContext<'_>, store: Option<&str>) -> Result<DisasterDetails, StepError> {
    let first_backup_store = context.scenario().steps.iter().find_map(|step| match &step.kind {
        crate::scenario::StepKind::Backup(backup) => backup.store.clone(),
        _ => None,
    });
    let Some(name) = store.map(str::to_owned).or(first_backup_store) else {
        return Err(StepError::NotApplicable(
            "region-outage needs `store = \"NAME\"` or a backup step with a store".into(),
        ));
    };
    match context.stores_mut().outage(&name).await {
        Ok((region, endpoint)) => Ok(DisasterDetails::RegionOutage {
            store: name,
            region,
            endpoint,
        }),
        Err(error) => Err(StepError::NotApplicable(crate::error::chain(&error))),
    }
}
