//! `seed`: the scenario's dataset, deterministic from (profile, seed,
//! size). When seeding succeeds the runner starts the write workload (the
//! tick writer runs from here until T_d); the step does not.

use super::{StepError, StepOutcome};
use crate::dataset::{Profile, SeedOptions, SeedPlan, SeedSummary, seed_database};
use crate::outcome::details::SeedDetails;
use crate::runner::context::DrillContext;
use crate::runner::events::StepProgress;

/// Runs a `seed` step.
pub async fn run(context: &mut DrillContext<'_>, index: usize) -> StepOutcome {
    let dataset = &context.scenario().dataset;
    let profile = match load_profile(&dataset.profile, context) {
        Ok(profile) => profile,
        Err(error) => return StepOutcome::error(error.render()),
    };
    let plan = match SeedPlan::new(&profile, dataset.documents, dataset.seed) {
        Ok(plan) => plan,
        Err(error) => return StepOutcome::error(crate::error::chain(&error)),
    };
    let options = SeedOptions::for_server(context.server()).with_drop_existing(true);
    let progress = StepProgress::new(context.events(), index);
    let database = context.source_database();
    let summary = match seed_database(&database, &plan, &context.server().capabilities, &options, &progress).await {
        Ok(summary) => summary,
        Err(error) => return StepOutcome::error(crate::uri::redact(&crate::error::chain(&error))),
    };
    for collection in &summary.collections {
        for missing in &collection.indexes_not_created {
            context.finding(format!(
                "index {}.{} not created: {}",
                collection.name, missing.name, missing.reason
            ));
        }
        for note in &collection.notes {
            context.finding(format!("{}: {note}", collection.name));
        }
    }
    for left_out in &summary.left_out {
        context.finding(format!("dataset: left out {left_out}"));
    }
    StepOutcome::passed(
        format!(
            "{} documents of {} (seed {}) in {}",
            summary.total_documents,
            summary.profile,
            summary.seed,
            crate::measure::clock::human_duration_ms(crate::measure::clock::duration_to_millis(summary.elapsed))
        ),
        seed_details(summary),
    )
}

/// The report's view of what seeding did.
fn seed_details(summary: SeedSummary) -> SeedDetails {
    SeedDetails {
        collections: serde_json::json!(summary.collections),
        profile: summary.profile,
        seed: summary.seed,
        total_documents: summary.total_documents,
        left_out: summary.left_out,
        elapsed: summary.elapsed,
    }
}

/// The scenario's dataset profile: a built-in one, or a file beside the
/// scenario.
pub(super) fn load_profile(name: &str, context: &DrillContext<'_>) -> Result<Profile, StepError> {
    let failed = |source| StepError::Profile {
        name: name.to_string(),
        source: Box::new(source),
    };
    if name.ends_with(".toml") {
        let base = context.scenario().path.parent().unwrap_or(std::path::Path::new("."));
        let path = base.join(name);
        return Profile::load(&path).map_err(failed);
    }
    Profile::builtin(name).map_err(failed)
}
