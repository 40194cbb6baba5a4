//! The continuous tick writer of the semantics page: inserts `{seq, ...}`
//! into `_drill_ticks`, and the same tick into every collection the
//! disaster touches (under the reserved `_id` of
//! [`crate::measure::ticks::tick_id`]), at a fixed interval with the
//! scenario's write concern; keeps, client-side and per collection, the
//! acknowledgement time of every tick; and the read-back of the ticks that
//! exist after recovery.

use std::collections::BTreeSet;
use std::time::Duration;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use futures_util::future::join_all;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{CollectionOptions, ReadConcern, WriteConcern};
use mongodb::{Collection, Database};

use super::background::{Background, every};
use crate::measure::clock::{DrillClock, Stamp};
pub use crate::measure::ticks::TICKS_COLLECTION;
use crate::measure::ticks::{TickLogs, TickOutcome, tick_documents_filter, tick_id, tick_seq};

/// A running tick writer. Stop it with [`TickWriter::stop`], which returns
/// the logs of every tick attempted, one per collection written.
pub struct TickWriter(Background<TickLogs>);

/// How long one tick insert may take before its outcome is indeterminate:
/// long enough for a healthy server under a restore's load, short enough
/// that a hung server does not stall the cadence for long.
fn insert_timeout(interval: Duration) -> Duration {
    (interval * 10).max(Duration::from_secs(2))
}

/// One collection the writer puts every tick into.
struct Target {
    /// The collection, with the scenario's write concern.
    collection: Collection<Document>,
    /// Whether this is `_drill_ticks` (plain `_id: seq`) rather than a
    /// touched collection (the reserved tick `_id`).
    own: bool,
    /// The fields of the collection's unique indexes: a tick document
    /// carries a value of its own in each, so that two ticks never collide
    /// on an index built for the user's documents.
    unique_fields: Vec<String>,
}

impl Target {
    /// A touched collection, with the fields of its unique indexes as they
    /// are when the workload starts (after seeding). A collection that
    /// does not exist yet, or whose indexes cannot be listed, has none.
    async fn touched(collection: Collection<Document>) -> Self {
        let mut unique_fields = Vec::new();
        if let Ok(mut indexes) = collection.list_indexes().await {
            while let Ok(Some(index)) = indexes.try_next().await {
                let unique = index.options.as_ref().and_then(|options| options.unique) == Some(true);
                if unique {
                    unique_fields.extend(index.keys.keys().filter(|key| *key != "_id").cloned());
                }
            }
        }
        unique_fields.sort();
        unique_fields.dedup();
        Self {
            collection,
            own: false,
            unique_fields,
        }
    }

    /// The document of tick `seq`.
    fn document(&self, seq: u64, issued: Stamp) -> Document {
        if self.own {
            return doc! { "_id": seq as i64, "seq": seq as i64, "issued_ms": issued.offset_ms as i64 };
        }
        let mut tick = doc! { "_id": tick_id(seq), "seq": seq as i64, "issued_ms": issued.offset_ms as i64 };
        for field in &self.unique_fields {
            set_path(&mut tick, field, Bson::String(format!("_drill_tick:{seq}")));
        }
        tick
    }

    /// Inserts tick `seq`; the outcome, and the server's refusal of the
    /// document itself (a validator, an index), if that is why it failed.
    async fn insert(
        &self,
        seq: u64,
        issued: Stamp,
        clock: DrillClock,
        timeout: Duration,
    ) -> (TickOutcome, Option<String>) {
        let insert = self.collection.insert_one(self.document(seq, issued));
        match tokio::time::timeout(timeout, insert).await {
            Ok(Ok(_)) => (
                TickOutcome::Acknowledged {
                    seq,
                    issued,
                    acked: clock.now(),
                },
                None,
            ),
            Ok(Err(error)) => {
                let text = crate::uri::redact(&error.to_string());
                let refused = matches!(error.kind.as_ref(), ErrorKind::Write(WriteFailure::WriteError(_)));
                let failed = TickOutcome::Failed {
                    seq,
                    issued,
                    error: text.clone(),
                };
                (failed, refused.then_some(text))
            }
            Err(_) => (
                TickOutcome::Failed {
                    seq,
                    issued,
                    error: "timed out".into(),
                },
                None,
            ),
        }
    }
}

/// Sets the dotted `path` of `document` to `value`, creating the
/// sub-documents on the way (an index key may name a nested field).
fn set_path(document: &mut Document, path: &str, value: Bson) {
    match path.split_once('.') {
        None => {
            document.insert(path, value);
        }
        Some((head, rest)) => {
            if !matches!(document.get(head), Some(Bson::Document(_))) {
                document.insert(head, Document::new());
            }
            if let Some(Bson::Document(inner)) = document.get_mut(head) {
                set_path(inner, rest, value);
            }
        }
    }
}

impl TickWriter {
    /// Starts writing ticks every `interval` into `database._drill_ticks`
    /// and into each of `touched`; the inserts of one tick go out together,
    /// so the cadence holds however many collections there are.
    pub fn start(
        database: &Database,
        clock: DrillClock,
        interval: Duration,
        write_concern: WriteConcern,
        touched: &[String],
    ) -> Self {
        let options = CollectionOptions::builder().write_concern(write_concern).build();
        let own = database.collection_with_options::<Document>(TICKS_COLLECTION, options.clone());
        let touched: Vec<(String, Collection<Document>)> = touched
            .iter()
            .map(|name| (name.clone(), database.collection_with_options(name, options.clone())))
            .collect();
        Self(Background::spawn(move |stop| async move {
            let mut targets = vec![(
                TICKS_COLLECTION.to_string(),
                Target {
                    collection: own,
                    own: true,
                    unique_fields: Vec::new(),
                },
            )];
            for (name, collection) in touched {
                targets.push((name, Target::touched(collection).await));
            }
            let mut logs = TickLogs::default();
            let mut seq: u64 = 0;
            let mut rounds = every(interval, stop);
            while rounds.next().await {
                seq += 1;
                let issued = clock.now();
                let inserts = targets
                    .iter()
                    .map(|(_, target)| target.insert(seq, issued, clock, insert_timeout(interval)));
                for ((name, _), (outcome, refused)) in targets.iter().zip(join_all(inserts).await) {
                    // Sequence numbers are unique by construction.
                    let _ = logs.by_collection.entry(name.clone()).or_default().record(outcome);
                    if let Some(refused) = refused {
                        logs.refused.entry(name.clone()).or_insert(refused);
                    }
                }
            }
            logs
        }))
    }

    /// Stops the writer and returns its logs. A tick in flight finishes
    /// (or times out) first, so its outcome is known.
    pub async fn stop(self) -> TickLogs {
        self.0.stop().await.unwrap_or_default()
    }
}

/// The `seq` of every tick present in `database.collection`, read with
/// `read_concern` (majority where the deployment supports it): the
/// `seq` field in `_drill_ticks`, the reserved `_id` elsewhere.
pub async fn read_ticks(
    database: &Database,
    collection: &str,
    read_concern: Option<ReadConcern>,
) -> Result<BTreeSet<u64>, mongodb::error::Error> {
    let mut options = CollectionOptions::builder().build();
    options.read_concern = read_concern;
    let handle: Collection<Document> = database.collection_with_options(collection, options);
    let own = collection == TICKS_COLLECTION;
    let (filter, projection) = if own {
        (doc! { "seq": { "$exists": true } }, doc! { "seq": 1, "_id": 0 })
    } else {
        (tick_documents_filter(), doc! { "_id": 1 })
    };
    let mut cursor = handle.find(filter).projection(projection).batch_size(5000).await?;
    let mut found = BTreeSet::new();
    while let Some(tick) = cursor.try_next().await? {
        let seq = if own {
            tick.get_i64("seq")
                .ok()
                .or_else(|| tick.get_i32("seq").ok().map(i64::from))
                .and_then(|seq| u64::try_from(seq).ok())
        } else {
            tick.get("_id").and_then(tick_seq)
        };
        found.extend(seq);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_fields_get_a_value_of_their_own_even_when_nested() {
        let mut document = doc! { "_id": 1 };
        set_path(&mut document, "email", Bson::String("a".into()));
        set_path(&mut document, "owner.name", Bson::String("b".into()));
        set_path(&mut document, "owner.team", Bson::String("c".into()));
        assert_eq!(
            document,
            doc! { "_id": 1, "email": "a", "owner": { "name": "b", "team": "c" } }
        );
    }
}
