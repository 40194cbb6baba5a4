//! `verify`: counts, checksums and indexes of the recovered data against
//! the reference taken at the backup point; collections outside a
//! selective restore must be untouched. Passing sets T_v.

use serde_json::json;

use super::StepOutcome;
use crate::checksum::{DigestOptions, compare_digests, digest_database};
use crate::measure::forecast::ForecastPhase;
use crate::outcome::details::VerifyDetails;
use crate::outcome::{CheckKind, CheckRecord, Status};
use crate::runner::context::DrillContext;
use crate::runner::events::StepProgress;

/// Runs a `verify` step.
pub async fn run(context: &mut DrillContext<'_>, index: usize) -> StepOutcome {
    let Some(reference) = context.reference().cloned() else {
        return StepOutcome::error("verify needs a reference: run a backup step before it");
    };
    // A failover drill verifies what the new primary serves: first wait
    // (within this step's timeout) until it serves at all.
    context
        .await_failover_service(std::time::Duration::from_secs(24 * 3_600))
        .await;
    let progress = StepProgress::new(context.events(), index);
    let options = DigestOptions {
        missing_database_is_empty: true,
        ..DigestOptions::default()
    };
    let started = std::time::Instant::now();
    let observed = match digest_database(&context.recovered_database(), &options, &progress).await {
        Ok(observed) => observed,
        Err(error) => {
            return StepOutcome::error(format!(
                "cannot checksum the recovered data: {}",
                crate::uri::redact(&crate::error::chain(&error))
            ));
        }
    };
    let checksummed: u64 = observed.collections.values().map(|collection| collection.count).sum();
    context.record_phase(ForecastPhase::Verify, checksummed, None, started.elapsed());
    let comparison = compare_digests(&reference, &observed);
    let scope = context.restored().cloned();
    let mut failed = Vec::new();
    for collection in &comparison.collections {
        let restored = scope.as_ref().is_none_or(|scope| scope.includes(&collection.name));
        let label = if restored {
            format!("collection {}", collection.name)
        } else {
            format!("untouched {}", collection.name)
        };
        let reference_count = collection.reference.as_ref().map(|digest| digest.count);
        let observed_count = collection.observed.as_ref().map(|digest| digest.count);
        let message = collection_message(collection, &label, restored, reference_count, observed_count);
        if !collection.is_identical() {
            failed.push(message.clone());
        }
        context.add_check(CheckRecord {
            name: label,
            counts_as: "verify".into(),
            kind: CheckKind::Collection,
            status: if collection.is_identical() {
                Status::Passed
            } else {
                Status::Failed
            },
            measured: observed_count.map(|count| count as f64),
            objective: reference_count.map(|count| count as f64),
            unit: Some("documents".into()),
            message,
        });
    }
    let details = VerifyDetails {
        comparison: json!(comparison),
        db_hash: json!(observed.db_hash),
    };
    if failed.is_empty() {
        context.mark_verified();
        StepOutcome::passed(
            format!(
                "{} collections match the reference (counts, md5, indexes)",
                comparison.collections.len()
            ),
            details,
        )
    } else {
        // Where did the difference come from? A backup that no longer
        // matches its own manifest names the damaged file.
        let mut message = format!("{} collection(s) differ: {}", failed.len(), failed.join(" | "));
        message.push_str(&backup_damage(context).await);
        StepOutcome::failed(message).with_details(details)
    }
}

/// The check's statement for one collection: what matched, or every way
/// it differs from the reference.
fn collection_message(
    collection: &crate::checksum::CollectionDigestComparison,
    label: &str,
    restored: bool,
    reference_count: Option<u64>,
    observed_count: Option<u64>,
) -> String {
    let md5 = |digest: &Option<crate::checksum::CollectionDigest>| {
        digest.as_ref().map_or("-", |digest| digest.md5.as_str()).to_string()
    };
    if collection.is_identical() {
        format!(
            "{} documents, md5 {} and {} indexes match the reference",
            observed_count.unwrap_or(0),
            md5(&collection.observed),
            collection.observed.as_ref().map_or(0, |digest| digest.indexes.len())
        )
    } else {
        let mut parts = Vec::new();
        match (reference_count, observed_count) {
            (Some(_), None) => parts.push("missing after recovery".to_string()),
            (None, Some(count)) => parts.push(format!("not in the reference, {count} documents after recovery")),
            (Some(expected), Some(found)) if expected != found => {
                parts.push(format!("count {found} != reference {expected}"))
            }
            _ => {}
        }
        if !collection.md5_matches && reference_count.is_some() && observed_count.is_some() {
            parts.push(format!(
                "md5 {} != reference {}",
                md5(&collection.observed),
                md5(&collection.reference)
            ));
        }
        if !collection.index_differences.is_empty() {
            parts.push(format!(
                "{} index difference(s): {:?}",
                collection.index_differences.len(),
                collection.index_differences
            ));
        }
        if !restored {
            parts.push("changed although the restore did not include it".into());
        }
        format!("{label}: {}", parts.join("; "))
    }
}

/// Where a difference came from: a backup that no longer matches its own
/// manifest names the damaged file (and each problem becomes a finding).
/// Empty when the last backup verifies or there is none.
async fn backup_damage(context: &mut DrillContext<'_>) -> String {
    if let Some(backup) = context.last_backup() {
        let path = match &backup.location {
            crate::backup::BackupLocation::Directory { path, .. }
            | crate::backup::BackupLocation::Archive { path, .. }
            | crate::backup::BackupLocation::TarGz { path } => path.clone(),
        };
        let report = tokio::task::spawn_blocking(move || crate::backup::verify::verify_backup(&path)).await;
        if let Ok(report) = report {
            let problems: Vec<String> = report
                .problems
                .iter()
                .map(|problem| {
                    let file = problem
                        .file
                        .as_ref()
                        .map(|file| format!("{}: ", file.display()))
                        .unwrap_or_default();
                    format!("{file}{}", problem.message)
                })
                .collect();
            if !problems.is_empty() {
                for problem in &problems {
                    context.finding(format!("backup damaged: {problem}"));
                }
                return format!(" | the backup itself fails verify-backup: {}", problems.join("; "));
            }
        }
    }
    String::new()
}
