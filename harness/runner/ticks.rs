//! The continuous tick writer of the semantics page: inserts `{seq, ...}`
//! into `_drill_ticks` at a fixed interval with the scenario's write
//! concern and keeps, client-side, the acknowledgement time of every tick;
//! and the read-back of the ticks that exist after recovery.

use std::collections::BTreeSet;
use std::time::Duration;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::{ReadConcern, WriteConcern};
use mongodb::{Collection, Database};

use super::background::{Background, every};
use crate::measure::clock::DrillClock;
use crate::measure::ticks::{TickLog, TickOutcome};

/// The collection ticks and canaries are written to; checksums exclude it.
pub const TICKS_COLLECTION: &str = "_drill_ticks";

/// A running tick writer. Stop it with [`TickWriter::stop`], which returns
/// the log of every tick attempted.
pub struct TickWriter(Background<TickLog>);

/// How long one tick insert may take before its outcome is indeterminate:
/// long enough for a healthy server under a restore's load, short enough
/// that a hung server does not stall the cadence for long.
fn insert_timeout(interval: Duration) -> Duration {
    (interval * 10).max(Duration::from_secs(2))
}

impl TickWriter {
    /// Starts writing ticks into `database._drill_ticks` every `interval`.
    pub fn start(database: &Database, clock: DrillClock, interval: Duration, write_concern: WriteConcern) -> Self {
        let collection: Collection<Document> = database.collection_with_options(
            TICKS_COLLECTION,
            mongodb::options::CollectionOptions::builder()
                .write_concern(write_concern)
                .build(),
        );
        Self(Background::spawn(move |stop| async move {
            let mut log = TickLog::new();
            let mut seq: u64 = 0;
            let mut rounds = every(interval, stop);
            while rounds.next().await {
                seq += 1;
                let issued = clock.now();
                let tick = doc! { "_id": seq as i64, "seq": seq as i64, "issued_ms": issued.offset_ms as i64 };
                let outcome = match tokio::time::timeout(insert_timeout(interval), collection.insert_one(tick)).await {
                    Ok(Ok(_)) => TickOutcome::Acknowledged {
                        seq,
                        issued,
                        acked: clock.now(),
                    },
                    Ok(Err(error)) => TickOutcome::Failed {
                        seq,
                        issued,
                        error: crate::uri::redact(&error.to_string()),
                    },
                    Err(_) => TickOutcome::Failed {
                        seq,
                        issued,
                        error: "timed out".into(),
                    },
                };
                // Sequence numbers are unique by construction.
                let _ = log.record(outcome);
            }
            log
        }))
    }

    /// Stops the writer and returns its log. A tick in flight finishes
    /// (or times out) first, so its outcome is known.
    pub async fn stop(self) -> TickLog {
        self.0.stop().await.unwrap_or_default()
    }
}

/// The `seq` of every tick present in `database._drill_ticks`, read with
/// `read_concern` (majority where the deployment supports it).
pub async fn read_ticks(
    database: &Database,
    read_concern: Option<ReadConcern>,
) -> Result<BTreeSet<u64>, mongodb::error::Error> {
    let mut options = mongodb::options::CollectionOptions::builder().build();
    options.read_concern = read_concern;
    let collection: Collection<Document> = database.collection_with_options(TICKS_COLLECTION, options);
    let mut cursor = collection
        .find(doc! { "seq": { "$exists": true } })
        .projection(doc! { "seq": 1, "_id": 0 })
        .batch_size(5000)
        .await?;
    let mut found = BTreeSet::new();
    while let Some(tick) = cursor.try_next().await? {
        if let Ok(seq) = tick.get_i64("seq") {
            found.insert(seq as u64);
        } else if let Ok(seq) = tick.get_i32("seq") {
            found.insert(seq as u64);
        }
    }
    Ok(found)
}
