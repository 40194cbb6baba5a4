//! The live view of running drills: a consumer of runner events. On an
//! interactive terminal it draws the current step with a spinner, progress
//! and elapsed time; elsewhere (CI logs, pipes) it prints one plain line per
//! step start and end, and nothing per batch.

use std::sync::Mutex;
use std::time::Duration;

use drdrill::outcome::Status;
use drdrill::runner::events::{Event, EventSink};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Renders events on stderr.
pub struct LiveView {
    /// Draw bars (a terminal) or print lines (CI).
    interactive: bool,
    /// The bar of the running step.
    bar: Mutex<Option<ProgressBar>>,
    /// Steps in the current drill, for `step 2/6`.
    steps: Mutex<usize>,
}

impl LiveView {
    /// A view that draws when `interactive`.
    pub fn new(interactive: bool) -> Self {
        Self {
            interactive,
            bar: Mutex::new(None),
            steps: Mutex::new(0),
        }
    }

    fn line(&self, text: &str) {
        match self.bar.lock().expect("view lock").as_ref() {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

/// The offset from the drill start, as the timeline writes it (`+2.1 s`),
/// right-aligned so the lines of one drill line up.
fn seconds(ms: u64) -> String {
    format!("{:>9}", drdrill::report::units::offset_seconds(ms))
}

impl EventSink for LiveView {
    fn emit(&self, event: Event) {
        match event {
            Event::DrillStarted {
                run_id,
                scenario,
                steps,
            } => {
                *self.steps.lock().expect("view lock") = steps;
                self.line(&format!("drill {scenario} ({run_id}): {steps} steps"));
            }
            Event::DeploymentReady { description, uri } => {
                self.line(&format!("{} deployment ready: {description} at {uri}", seconds(0)));
            }
            Event::StepStarted {
                index,
                kind,
                name,
                at_ms,
            } => {
                let total = *self.steps.lock().expect("view lock");
                let label = if name == kind {
                    kind.clone()
                } else {
                    format!("{kind} ({name})")
                };
                if self.interactive {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} step {prefix} {msg} [{elapsed}] {human_pos}")
                            .expect("valid template"),
                    );
                    bar.set_prefix(format!("{}/{total}", index + 1));
                    bar.set_message(label);
                    bar.enable_steady_tick(Duration::from_millis(120));
                    if let Some(old) = self.bar.lock().expect("view lock").replace(bar) {
                        old.finish_and_clear();
                    }
                } else {
                    eprintln!("{} step {}/{total} {label}: started", seconds(at_ms), index + 1);
                }
            }
            Event::Progress { done, total, label, .. } => {
                if let Some(bar) = self.bar.lock().expect("view lock").as_ref() {
                    if let Some(total) = total {
                        bar.set_length(total);
                    }
                    bar.set_position(done);
                    let _ = label;
                }
            }
            Event::StepFinished {
                index,
                status,
                message,
                at_ms,
            } => {
                if let Some(bar) = self.bar.lock().expect("view lock").take() {
                    bar.finish_and_clear();
                }
                let total = *self.steps.lock().expect("view lock");
                let mark = match status {
                    Status::Passed => "ok",
                    Status::Failed => "FAILED",
                    Status::Error => "ERROR",
                    Status::Skipped => "skipped",
                };
                eprintln!("{} step {}/{total} {mark}: {message}", seconds(at_ms), index + 1);
            }
            Event::Disaster { at_ms } => self.line(&format!("{} T_d: disaster injected", seconds(at_ms))),
            Event::ServiceRestored { at_ms } => self.line(&format!("{} T_s: service answers again", seconds(at_ms))),
            Event::Note { message } => self.line(&format!("note: {message}")),
            Event::DrillFinished { outcome } => {
                self.line(&format!(
                    "drill {} finished: {:?} in {}",
                    outcome.scenario,
                    outcome.verdict.kind,
                    drdrill::report::units::human_duration_ms(outcome.duration_ms)
                ));
            }
        }
    }
}
