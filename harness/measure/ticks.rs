//! The tick records of the continuous writer: what was attempted, when, and
//! whether the server acknowledged it. The writer task itself only appends
//! here; the RPO arithmetic reads the log after recovery.
//!
//! Also the one rule that tells a tick document from user data: in the
//! collections a disaster touches, ticks live beside the user's documents
//! under the reserved `_id: {"_drill_tick": <seq>}` ([`tick_id`]); every
//! reader that shows or compares user data leaves out what
//! [`is_tick_id`] (or, on the server, [`user_documents_filter`]) names.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use serde::{Deserialize, Serialize};

use super::clock::Stamp;

/// The collection ticks and canaries are written to; checksums exclude it.
pub const TICKS_COLLECTION: &str = "_drill_ticks";

/// The only key of a tick document's `_id` in a touched collection. A
/// document `_id` that is a one-key document with this key is a tick,
/// whatever the collection: user data that uses it is not supported.
pub const TICK_ID_KEY: &str = "_drill_tick";

/// The `_id` of tick `seq` in a touched collection: `{"_drill_tick": seq}`.
/// A document `_id` cannot collide with the ObjectIds, strings and
/// numbers of user data, and sorts after them in `_id` order.
pub fn tick_id(seq: u64) -> Bson {
    Bson::Document(doc! { TICK_ID_KEY: seq as i64 })
}

/// The tick's `seq` if `id` is a tick `_id` ([`tick_id`]), else `None`.
pub fn tick_seq(id: &Bson) -> Option<u64> {
    match id {
        Bson::Document(document) if document.len() == 1 => match document.get(TICK_ID_KEY)? {
            Bson::Int64(seq) => u64::try_from(*seq).ok(),
            Bson::Int32(seq) => u64::try_from(*seq).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `id` is the `_id` of a tick document: the rule every reader of
/// user data applies (checksums, comparisons, counts shown to users).
pub fn is_tick_id(id: &Bson) -> bool {
    tick_seq(id).is_some()
}

/// [`is_tick_id`] as a server-side query: matches every document that is
/// not a tick. Readers that let the server filter (sorted reads, counts)
/// use it, so the two forms of the rule cannot drift apart.
pub fn user_documents_filter() -> Document {
    doc! { format!("_id.{TICK_ID_KEY}"): { "$exists": false } }
}

/// The complement of [`user_documents_filter`]: the tick documents.
pub fn tick_documents_filter() -> Document {
    doc! { format!("_id.{TICK_ID_KEY}"): { "$exists": true } }
}

/// The client-side outcome of one tick insert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TickOutcome {
    /// The server acknowledged the insert with the scenario's write concern.
    Acknowledged {
        /// The tick's sequence number (one more than the previous tick).
        seq: u64,
        /// When the insert was sent.
        issued: Stamp,
        /// When the acknowledgement arrived.
        acked: Stamp,
    },
    /// The insert failed or timed out: its outcome on the server is unknown
    /// (`indeterminate`), so finding it later is not an error and missing it
    /// is not a loss.
    Failed {
        /// The tick's sequence number.
        seq: u64,
        /// When the insert was sent.
        issued: Stamp,
        /// The driver's error, as text (the error types are not cloneable).
        error: String,
    },
}

impl TickOutcome {
    /// The tick's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Acknowledged { seq, .. } | Self::Failed { seq, .. } => *seq,
        }
    }

    /// When the insert was sent.
    pub fn issued(&self) -> Stamp {
        match self {
            Self::Acknowledged { issued, .. } | Self::Failed { issued, .. } => *issued,
        }
    }

    /// When the acknowledgement arrived, if it did.
    pub fn acked(&self) -> Option<Stamp> {
        match self {
            Self::Acknowledged { acked, .. } => Some(*acked),
            Self::Failed { .. } => None,
        }
    }
}

/// A tick was recorded twice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("tick {seq} is already recorded")]
pub struct DuplicateTick {
    /// The sequence number recorded twice.
    pub seq: u64,
}

/// Every tick the writer attempted, by sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickLog {
    /// Keyed by `seq` so lookups by the sequence numbers read back after
    /// recovery are cheap and iteration is in sequence order.
    ticks: BTreeMap<u64, TickOutcome>,
}

impl TickLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one outcome; a sequence number may be recorded only once,
    /// because two outcomes for one tick would make the arithmetic ambiguous.
    pub fn record(&mut self, outcome: TickOutcome) -> Result<(), DuplicateTick> {
        let seq = outcome.seq();
        if self.ticks.contains_key(&seq) {
            return Err(DuplicateTick { seq });
        }
        self.ticks.insert(seq, outcome);
        Ok(())
    }

    /// The outcome of tick `seq`, if it was attempted.
    pub fn get(&self, seq: u64) -> Option<&TickOutcome> {
        self.ticks.get(&seq)
    }

    /// Every outcome, in ascending `seq`.
    pub fn iter(&self) -> impl Iterator<Item = &TickOutcome> {
        self.ticks.values()
    }

    /// How many ticks were attempted.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// Whether no tick was attempted.
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// How many ticks were acknowledged.
    pub fn acknowledged_count(&self) -> usize {
        self.iter().filter(|tick| tick.acked().is_some()).count()
    }
}

impl FromIterator<TickOutcome> for TickLog {
    /// Collects outcomes; a later outcome for the same `seq` replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = TickOutcome>>(iter: I) -> Self {
        Self {
            ticks: iter.into_iter().map(|tick| (tick.seq(), tick)).collect(),
        }
    }
}

/// The logs of one tick writer: one per collection it writes ticks into
/// (`_drill_ticks` and each touched collection), with the same `seq` for
/// the same tick everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickLogs {
    /// Keyed by collection name.
    pub by_collection: BTreeMap<String, TickLog>,
    /// Collections whose server refused a tick document outright (a
    /// validator, a unique index): the first refusal, as text. Ticks there
    /// do not measure what the disaster did.
    pub refused: BTreeMap<String, String>,
}

impl TickLogs {
    /// The log of `collection`, if the writer wrote there.
    pub fn get(&self, collection: &str) -> Option<&TickLog> {
        self.by_collection.get(collection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn stamp(offset_ms: u64) -> Stamp {
        Stamp::from_offset(Utc::now(), offset_ms)
    }

    #[test]
    fn records_in_sequence_order_and_refuses_duplicates() {
        let mut log = TickLog::new();
        log.record(TickOutcome::Acknowledged {
            seq: 2,
            issued: stamp(200),
            acked: stamp(210),
        })
        .unwrap();
        log.record(TickOutcome::Failed {
            seq: 1,
            issued: stamp(100),
            error: "timeout".into(),
        })
        .unwrap();
        assert_eq!(log.iter().map(TickOutcome::seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(log.acknowledged_count(), 1);
        let duplicate = log.record(TickOutcome::Failed {
            seq: 2,
            issued: stamp(300),
            error: "x".into(),
        });
        assert_eq!(duplicate, Err(DuplicateTick { seq: 2 }));
        assert_eq!(log.get(2).unwrap().acked().unwrap().offset_ms, 210);
    }

    #[test]
    fn only_a_one_key_drill_tick_document_is_a_tick_id() {
        assert!(is_tick_id(&tick_id(7)));
        assert_eq!(tick_seq(&tick_id(7)), Some(7));
        assert_eq!(tick_seq(&Bson::Document(doc! { "_drill_tick": 3_i32 })), Some(3));
        assert!(!is_tick_id(&Bson::Int64(7)));
        assert!(!is_tick_id(&Bson::String("_drill_tick".into())));
        assert!(!is_tick_id(&Bson::ObjectId(bson::oid::ObjectId::new())));
        assert!(!is_tick_id(&Bson::Document(doc! { "_drill_tick": 1, "user": 2 })));
        assert!(!is_tick_id(&Bson::Document(doc! { "_drill_tick": "x" })));
        assert!(!is_tick_id(&Bson::Document(doc! { "_drill_tick": -1_i64 })));
        assert_eq!(
            user_documents_filter(),
            doc! { "_id._drill_tick": { "$exists": false } }
        );
    }
}
