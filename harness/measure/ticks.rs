//! The tick records of the continuous writer: what was attempted, when, and
//! whether the server acknowledged it. The writer task itself only appends
//! here; the RPO arithmetic reads the log after recovery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::Stamp;

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
}
