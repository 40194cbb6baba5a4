//! What the runner tells the world while a drill runs. The runner emits
//! events and never prints; the terminal view and any other live consumer
//! subscribe through an [`EventSink`]. The files (JSON, JUnit, summary,
//! timeline) are written from the final [`crate::outcome::DrillOutcome`],
//! which is itself carried by [`Event::DrillFinished`].

use crate::outcome::{DrillOutcome, Status};

/// One thing that happened in a drill.
#[derive(Debug, Clone)]
pub enum Event {
    /// A drill starts.
    DrillStarted {
        /// Its run id.
        run_id: String,
        /// The scenario's name.
        scenario: String,
        /// How many steps it has.
        steps: usize,
    },
    /// The deployment is up.
    DeploymentReady {
        /// What it is, e.g. `ferretdb over sqlite, 1 node`.
        description: String,
        /// Its URI, credentials redacted.
        uri: String,
    },
    /// A step starts.
    StepStarted {
        /// Its position.
        index: usize,
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// Drill clock, ms.
        at_ms: u64,
    },
    /// Progress of the current step.
    Progress {
        /// The step.
        index: usize,
        /// What is being counted.
        label: String,
        /// Units done so far.
        done: u64,
        /// Units in all, when known.
        total: Option<u64>,
    },
    /// A step ended.
    StepFinished {
        /// Its position.
        index: usize,
        /// Its outcome.
        status: Status,
        /// One line.
        message: String,
        /// Drill clock, ms.
        at_ms: u64,
    },
    /// T_d: the fault is about to be injected.
    Disaster {
        /// Drill clock, ms.
        at_ms: u64,
    },
    /// T_s: the recovered deployment acknowledged and returned a canary.
    ServiceRestored {
        /// Drill clock, ms.
        at_ms: u64,
    },
    /// Something a person should know.
    Note {
        /// The note.
        message: String,
    },
    /// The drill ended; its outcome (verdict included) is final.
    DrillFinished {
        /// The outcome.
        outcome: Box<DrillOutcome>,
    },
}

/// Receives events. Implementations must not block for long: the runner
/// calls `emit` on its own task.
pub trait EventSink: Send + Sync {
    /// One event.
    fn emit(&self, event: Event);
}

/// Ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
}

/// Turns a step's progress into events (a [`crate::progress::ProgressSink`]).
pub struct StepProgress<'a> {
    /// Where events go.
    pub sink: &'a dyn EventSink,
    /// The step.
    pub index: usize,
    /// Current label and total.
    pub state: std::sync::Mutex<(String, Option<u64>, u64)>,
}

impl<'a> StepProgress<'a> {
    /// Progress of step `index`.
    pub fn new(sink: &'a dyn EventSink, index: usize) -> Self {
        Self {
            sink,
            index,
            state: std::sync::Mutex::new((String::new(), None, 0)),
        }
    }
}

impl crate::progress::ProgressSink for StepProgress<'_> {
    fn start(&self, label: &str, total: Option<u64>) {
        let mut state = self.state.lock().expect("progress lock");
        *state = (label.to_string(), total, 0);
    }

    fn advance(&self, units: u64) {
        let (label, total, done) = {
            let mut state = self.state.lock().expect("progress lock");
            state.2 += units;
            state.clone()
        };
        self.sink.emit(Event::Progress {
            index: self.index,
            label,
            done,
            total,
        });
    }

    fn finish(&self) {}
}
