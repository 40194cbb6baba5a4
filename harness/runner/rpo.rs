//! The RPO of a drill after recovery: the ticks read back from every
//! collection they were written into where the disaster struck (each
//! touched collection, or `_drill_ticks` for a whole-database drill), one
//! [`compute_rpo`] per collection, the drill's figures the worst of them,
//! and the notes that say where ticks could not be placed or read back.

use std::time::Duration;

use super::context::DrillContext;
use super::ticks::{TICKS_COLLECTION, read_ticks};
use crate::measure::clock::{Stamp, format_duration};
use crate::measure::rpo::{CollectionRpo, DrillRpo, compute_rpo, worst_of};
use crate::outcome::{self, CheckRecord, Measurements, Status};

/// How long reading one collection's ticks back may take.
const READ_BACK_TIMEOUT: Duration = Duration::from_secs(60);

/// What the measurement of the RPO gave: the figures of the collections
/// where it could be measured, and those where it could not.
pub(crate) struct RpoMeasurement {
    /// The worst-of figures; `None` when no collection could be measured.
    pub drill: Option<DrillRpo>,
    /// `collection: why` for every collection whose ticks cannot be trusted.
    pub problems: Vec<String>,
}

/// The collections whose ticks measure the RPO: those the disaster touched,
/// or `_drill_ticks` when it concerns the whole database.
fn measured_collections(context: &DrillContext<'_>) -> Vec<String> {
    let touched = context.scenario().touched_collections();
    if touched.is_empty() {
        vec![TICKS_COLLECTION.to_string()]
    } else {
        touched
    }
}

/// Reads the ticks back from where recovery happened and computes the RPO
/// per measured collection; `None` (with a note why) when no tick writer
/// ran before the disaster.
pub(crate) async fn measure_rpo(
    context: &DrillContext<'_>,
    t_d: Stamp,
    read_concern: Option<mongodb::options::ReadConcern>,
    measurements: &mut Measurements,
) -> Option<RpoMeasurement> {
    let (Some(logs), Some(workload_start)) = (context.tick_log(), context.workload_start()) else {
        measurements
            .notes
            .push("no tick writer ran before the disaster: RPO was not measured".into());
        return None;
    };
    let database = context.recovered_database();
    let tick_interval = context.scenario().workload.tick_interval;
    let mut collections = Vec::new();
    let mut problems = Vec::new();
    for name in measured_collections(context) {
        let Some(log) = logs.get(&name) else { continue };
        let problem = match logs.refused.get(&name) {
            Some(refusal) => Some(format!("the server refused the tick documents ({refusal})")),
            None => match tokio::time::timeout(READ_BACK_TIMEOUT, read_ticks(&database, &name, read_concern.clone()))
                .await
            {
                Ok(Ok(found)) => {
                    let result = compute_rpo(log, t_d, workload_start, &found, tick_interval);
                    collections.push(CollectionRpo {
                        collection: name,
                        result,
                    });
                    continue;
                }
                Ok(Err(error)) => Some(format!(
                    "ticks could not be read back: {}",
                    crate::uri::redact(&crate::error::chain(&error))
                )),
                Err(_) => Some("reading the ticks back timed out".to_string()),
            },
        };
        if let Some(problem) = problem {
            measurements
                .notes
                .push(format!("no RPO for {name}: {problem}; the rpo check is inconclusive"));
            measurements.rpo_collections.push(outcome::CollectionRpo {
                collection: name.clone(),
                problem: Some(problem.clone()),
                ..outcome::CollectionRpo::default()
            });
            problems.push(format!("{name}: {problem}"));
        }
    }
    let drill = worst_of(collections);
    if let Some(drill) = &drill {
        record_collections(measurements, drill);
    }
    Some(RpoMeasurement { drill, problems })
}

/// On an external deployment (one the harness did not start and will not
/// destroy), removes the tick documents it wrote into the user's touched
/// collections once they have been read back; a removal that fails is a
/// finding naming the collection. Deployments the harness started go
/// away whole, ticks and all.
pub(crate) async fn clear_touched_ticks(context: &mut DrillContext<'_>) {
    if context.scenario().topology.provider != crate::provider::ProviderKind::External {
        return;
    }
    let mut databases = vec![context.source_database()];
    if context.fresh().is_some() {
        databases.push(context.recovered_database());
    }
    for name in context.scenario().touched_collections() {
        for database in &databases {
            let removed = database
                .collection::<bson::Document>(&name)
                .delete_many(crate::measure::ticks::tick_documents_filter())
                .await;
            if let Err(error) = removed {
                context.finding(format!(
                    "the drill's tick documents could not be removed from {name}: {}; remove the documents whose _id is {{\"_drill_tick\": <seq>}}",
                    crate::error::chain(&error)
                ));
            }
        }
    }
}

/// Each measured collection's figures, and which one is the drill's.
fn record_collections(measurements: &mut Measurements, drill: &DrillRpo) {
    let measured = drill.collections.iter().map(|entry| {
        let result = &entry.result;
        outcome::CollectionRpo {
            collection: entry.collection.clone(),
            rpo_ms: Some(result.rpo.as_millis() as u64),
            ticks_acknowledged_before_disaster: result.acknowledged_before_disaster,
            recovered_prefix: result.recovered_prefix,
            lost_acknowledged_writes: result.lost_acknowledged_writes,
            holes: result.holes.clone(),
            unexpected: result.unexpected.clone(),
            nothing_survived: result.nothing_survived,
            problem: None,
        }
    });
    // Measured collections first, in the order measured; problems after.
    let problems = std::mem::take(&mut measurements.rpo_collections);
    measurements.rpo_collections = measured.chain(problems).collect();
    measurements.rpo_worst_collection = Some(drill.worst_collection.clone());
}

/// `configurations 3.1 s (31 lost), users 3.0 s (30 lost)`: each measured
/// collection's figures, for the rpo check's message.
pub(crate) fn per_collection(drill: &DrillRpo) -> String {
    drill
        .collections
        .iter()
        .map(|entry| {
            format!(
                "{} {} ({} lost)",
                entry.collection,
                format_duration(entry.result.rpo),
                entry.result.lost_acknowledged_writes
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adjusts the `rpo` objective check to the per-collection measurement:
/// names the worst collection and every collection's figures when the
/// ticks lived in touched collections, and turns the check inconclusive
/// (never a pass) when some collection could not be measured. Without an
/// objective there is no check to adjust; an inconclusive measurement with
/// an objective but no figure at all gets a check of its own.
pub(crate) fn adjust_rpo_check(checks: &mut Vec<CheckRecord>, measurement: &RpoMeasurement, objective: Option<u64>) {
    let Some(objective) = objective else { return };
    let index = checks.iter().position(|check| check.counts_as == "rpo");
    if let (Some(index), Some(drill)) = (index, &measurement.drill)
        && drill.worst_collection != TICKS_COLLECTION
    {
        let check = &mut checks[index];
        check.message = format!(
            "{}; worst in {}: {}",
            check.message,
            drill.worst_collection,
            per_collection(drill)
        );
    }
    if measurement.problems.is_empty() {
        return;
    }
    let message = format!(
        "inconclusive: the ticks cannot measure where the disaster struck ({})",
        measurement.problems.join("; ")
    );
    match index {
        Some(index) => {
            let check = &mut checks[index];
            check.status = Status::Error;
            check.message = format!("{message}; {}", check.message);
        }
        None => checks.push(CheckRecord {
            name: "rpo".into(),
            counts_as: "rpo".into(),
            kind: outcome::CheckKind::Objective,
            status: Status::Error,
            measured: None,
            objective: Some(objective as f64),
            unit: Some("ms".into()),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::clock::Stamp;
    use crate::measure::ticks::{TickLog, TickOutcome};

    fn collection(name: &str, found: std::ops::RangeInclusive<u64>) -> CollectionRpo {
        let start = chrono::Utc::now();
        let log: TickLog = (1..=10)
            .map(|seq| TickOutcome::Acknowledged {
                seq,
                issued: Stamp::from_offset(start, seq * 100),
                acked: Stamp::from_offset(start, seq * 100 + 5),
            })
            .collect();
        let t_d = Stamp::from_offset(start, 1_100);
        let result = compute_rpo(
            &log,
            t_d,
            Stamp::from_offset(start, 0),
            &found.collect(),
            Duration::from_millis(100),
        );
        CollectionRpo {
            collection: name.into(),
            result,
        }
    }

    fn rpo_check(status: Status) -> CheckRecord {
        CheckRecord {
            name: "rpo".into(),
            counts_as: "rpo".into(),
            kind: outcome::CheckKind::Objective,
            status,
            measured: Some(595.0),
            objective: Some(1_000.0),
            unit: Some("ms".into()),
            message: "rpo 595ms within objective 1s (resolution 100ms)".into(),
        }
    }

    #[test]
    fn the_rpo_check_names_the_worst_touched_collection_and_each_ones_figures() {
        let drill = worst_of(vec![collection("configurations", 1..=5), collection("users", 1..=8)]);
        let measurement = RpoMeasurement {
            drill,
            problems: Vec::new(),
        };
        let mut checks = vec![rpo_check(Status::Passed)];
        adjust_rpo_check(&mut checks, &measurement, Some(1_000));
        assert_eq!(checks[0].status, Status::Passed);
        assert!(
            checks[0]
                .message
                .ends_with("; worst in configurations: configurations 595ms (5 lost), users 295ms (2 lost)"),
            "{}",
            checks[0].message
        );
    }

    #[test]
    fn a_collection_that_could_not_be_measured_makes_the_rpo_check_an_error_never_a_pass() {
        let measurement = RpoMeasurement {
            drill: worst_of(vec![collection("configurations", 1..=10)]),
            problems: vec!["users: the server refused the tick documents (E11000)".into()],
        };
        let mut checks = vec![rpo_check(Status::Passed)];
        adjust_rpo_check(&mut checks, &measurement, Some(1_000));
        assert_eq!(checks[0].status, Status::Error);
        assert!(checks[0].message.starts_with("inconclusive: "), "{}", checks[0].message);
        assert!(
            checks[0].message.contains("users: the server refused"),
            "{}",
            checks[0].message
        );
        // Nothing measured at all: a check of its own, still an error.
        let nothing = RpoMeasurement {
            drill: None,
            problems: measurement.problems.clone(),
        };
        let mut checks = Vec::new();
        adjust_rpo_check(&mut checks, &nothing, Some(1_000));
        assert_eq!(checks.len(), 1);
        assert_eq!((checks[0].name.as_str(), checks[0].status), ("rpo", Status::Error));
        // Without an objective there is no rpo check to decide.
        let mut checks = Vec::new();
        adjust_rpo_check(&mut checks, &nothing, None);
        assert!(checks.is_empty());
    }
}
