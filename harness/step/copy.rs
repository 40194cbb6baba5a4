//! `copy`: the last backup that reached store `from` (this drill's upload
//! or copy, else the store's newest), copied to store `to` object by
//! object (streamed get → multipart put), each object checked against the
//! manifest on arrival; bytes, time and throughput in its details.

use super::StepOutcome;
use crate::outcome::details::CopyDetails;
use crate::runner::context::DrillContext;
use crate::scenario::CopyStep;

/// Runs a `copy` step.
pub async fn run(context: &mut DrillContext<'_>, copy: &CopyStep) -> StepOutcome {
    let CopyStep { from, to } = copy;
    let opened = async {
        let source = context.stores_mut().open(from).await?;
        let target = context.stores_mut().open(to).await?;
        Ok::<_, crate::store::StoreError>((source, target))
    };
    let (source, target) = match opened.await {
        Ok(stores) => stores,
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    };
    let id = match last_backup_in(context, &source).await {
        Ok(id) => id,
        Err(outcome) => return outcome,
    };
    let transfer = match source.copy_to(&target, &id).await {
        Ok(transfer) => transfer,
        Err(error) => {
            return StepOutcome::failed(format!(
                "copy of {id} from store {from} to store {to} failed: {}",
                crate::error::chain(&error)
            ));
        }
    };
    context.stores_mut().record(transfer.clone());
    let message = format!(
        "copied backup {id} from store {from} to store {to} ({}), verified on arrival: {}",
        transfer.location,
        transfer.summary()
    );
    StepOutcome::passed(
        message,
        CopyDetails {
            from: from.clone(),
            from_location: source.location_of(&id),
            transfer,
        },
    )
}

/// The id of the last backup this drill put in `store`, else the store's
/// newest.
async fn last_backup_in(context: &DrillContext<'_>, store: &crate::store::Store) -> Result<String, StepOutcome> {
    if let Some(transfer) = context
        .stores()
        .transfers()
        .iter()
        .rev()
        .find(|transfer| transfer.store == store.name() && transfer.kind != crate::store::TransferKind::Download)
    {
        return Ok(transfer.backup_id.clone());
    }
    match store.list().await {
        Ok(backups) => backups.last().map(|backup| backup.id.clone()).ok_or_else(|| {
            StepOutcome::failed(format!(
                "store {} ({}) holds no backup to copy",
                store.name(),
                store.location_of("")
            ))
        }),
        Err(error) => Err(StepOutcome::failed(crate::error::chain(&error))),
    }
}
