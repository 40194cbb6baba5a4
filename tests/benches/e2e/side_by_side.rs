//! Comparisons measured side by side in one run: the two operations take
//! turns (A B A B ...) so that a neighbour's load on the shared cores hits
//! both alike, and each side is summarized by its median.

use std::time::Duration;

/// The timings of two operations measured in turns.
#[derive(Debug, Clone)]
pub struct Timings {
    /// The operation under test, one entry per round.
    pub measured: Vec<Duration>,
    /// The baseline it is compared with, one entry per round.
    pub baseline: Vec<Duration>,
}

impl Timings {
    /// Median of the measured side.
    pub fn measured_median(&self) -> Duration {
        median(&self.measured)
    }

    /// Median of the baseline side.
    pub fn baseline_median(&self) -> Duration {
        median(&self.baseline)
    }

    /// Median over median: above 1 the operation is slower than its baseline.
    pub fn ratio(&self) -> f64 {
        self.measured_median().as_secs_f64() / self.baseline_median().as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `measured` and `baseline` in turns, `rounds` times each. Each
/// closure returns the duration of its timed part only, so the untimed set-up
/// (dropping the previous round's database) stays out of the figures.
pub async fn alternate(
    rounds: usize,
    mut measured: impl AsyncFnMut() -> anyhow::Result<Duration>,
    mut baseline: impl AsyncFnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<Timings> {
    let mut timings = Timings {
        measured: Vec::with_capacity(rounds),
        baseline: Vec::with_capacity(rounds),
    };
    for _ in 0..rounds {
        timings.measured.push(measured().await?);
        timings.baseline.push(baseline().await?);
    }
    Ok(timings)
}

/// The median; for an even count, the mean of the two middle values.
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        length if length % 2 == 1 => sorted[length / 2],
        length => (sorted[length / 2 - 1] + sorted[length / 2]) / 2,
    }
}
