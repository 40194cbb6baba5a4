//! The readiness probe of the semantics page: from the moment recovery
//! should be complete, write a canary with the scenario's write concern and
//! read it back, at a fixed interval, until both succeed. The first success
//! is T_s; the error bound is one probe interval.

use std::time::Duration;

use bson::{Document, doc};
use mongodb::options::{CollectionOptions, WriteConcern};
use mongodb::{Collection, Database};

use super::ticks::TICKS_COLLECTION;
use crate::measure::clock::{DrillClock, Stamp};

/// Probes until a canary is acknowledged and read back, or `timeout`
/// passes (then `None`). `cancelled` ends it early.
pub async fn probe_until_service(
    database: &Database,
    clock: DrillClock,
    interval: Duration,
    write_concern: WriteConcern,
    timeout: Duration,
) -> Option<Stamp> {
    let collection: Collection<Document> = database.collection_with_options(
        TICKS_COLLECTION,
        CollectionOptions::builder().write_concern(write_concern).build(),
    );
    let started = std::time::Instant::now();
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut attempt: u64 = 0;
    loop {
        timer.tick().await;
        attempt += 1;
        let id = format!("canary-{}-{attempt}", clock.started_at().timestamp_millis());
        let canary = doc! { "_id": &id, "canary": attempt as i64 };
        let each = interval.max(Duration::from_millis(500)) * 4;
        let written = tokio::time::timeout(each, collection.insert_one(canary)).await;
        if matches!(written, Ok(Ok(_))) {
            let read = tokio::time::timeout(each, collection.find_one(doc! { "_id": &id })).await;
            if matches!(read, Ok(Ok(Some(_)))) {
                let at = clock.now();
                // The canary served its purpose; leave no trace in the data.
                let _ = collection.delete_one(doc! { "_id": &id }).await;
                return Some(at);
            }
        }
        if started.elapsed() >= timeout {
            return None;
        }
    }
}

/// The probe of a failover drill: started at T_d in the background, while
/// the tick writer keeps writing, and asked for its result later.
pub struct BackgroundProbe(super::background::Background<Option<Stamp>>);

impl BackgroundProbe {
    /// Starts probing `database` now, until a canary is served or it is
    /// stopped (at most a day: a drill step is never longer).
    pub fn start(database: Database, clock: DrillClock, interval: Duration, write_concern: WriteConcern) -> Self {
        Self(super::background::Background::spawn(move |mut stop| async move {
            tokio::select! {
                served = probe_until_service(&database, clock, interval, write_concern, Duration::from_secs(24 * 3_600)) => served,
                _ = stop.stopped() => None,
            }
        }))
    }

    /// Waits up to `timeout` for the first served canary; stops the probe
    /// either way. `None` when the service did not come back in time.
    pub async fn finish(self, timeout: Duration) -> Option<Stamp> {
        self.0.finish_within(timeout).await.flatten()
    }
}
