//! The RTO forecast at production size: what this (small) drill's measured
//! throughput means for the full-size recovery.
//!
//! Model, per phase (backup, restore, verification): the time of the phase
//! in this drill, scaled linearly by documents (or by bytes when only the
//! target's bytes are known): `forecast = sample_ms × target / sample`.
//! The forecast RTO is this drill's measured RTO with each phase inside it
//! (the restore; the verification too when the objective applies to
//! verified data) replaced by its forecast: what does not grow with the
//! data (detection, node start, the readiness probe) stays as measured.
//!
//! Uncertainty: a relative band around each figure, the larger of
//! [`MODEL_BAND`] (the linear model's own error, measured on the machines
//! this project is built on: scaling 10,000 documents to 100,000 gave
//! 0.87× to 1.21× of the real figure across dump, restore and checksum)
//! and the spread of the phase's duration over the earlier passing runs of
//! the same scenario in the drill history (the largest distance of a step's
//! duration from their median, relative to it), when there are at least
//! [`MIN_HISTORY_RUNS`] of them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The model's own relative error band (±35 %).
pub const MODEL_BAND: f64 = 0.35;
/// Earlier runs needed before their spread counts.
pub const MIN_HISTORY_RUNS: usize = 3;

/// A phase the forecast scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForecastPhase {
    /// The dump (before the disaster: not part of the RTO).
    Backup,
    /// The restore (part of every RTO).
    Restore,
    /// The verification (part of the RTO when it applies to verified data).
    Verify,
}

impl ForecastPhase {
    /// Its name in reports, and the step kind it comes from.
    pub fn name(self) -> &'static str {
        match self {
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Verify => "verify",
        }
    }
}

/// What one phase of this drill moved and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseSample {
    /// Which phase.
    pub phase: ForecastPhase,
    /// Documents it handled.
    pub documents: u64,
    /// Bytes of the backup it handled.
    pub bytes: u64,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
}

/// The size the forecast is for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct TargetSize {
    /// Documents (dbStats `objects`, or the scenario's `documents`).
    pub documents: Option<u64>,
    /// Bytes of data (dbStats `dataSize`, or the scenario's `bytes`).
    pub bytes: Option<u64>,
    /// Bytes of indexes (dbStats `indexSize`), when read from a server.
    pub index_bytes: Option<u64>,
    /// Where the size came from (`scenario`, or the redacted URI read).
    pub source: String,
}

/// Earlier passing runs of the scenario: each phase's durations, ms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForecastHistory {
    /// Durations per phase, oldest first.
    pub durations: BTreeMap<ForecastPhase, Vec<u64>>,
}

/// One phase's forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseForecast {
    /// `backup`, `restore`, `verify`.
    pub phase: ForecastPhase,
    /// Whether it is inside the forecast RTO.
    pub in_rto: bool,
    /// Documents in this drill.
    pub sample_documents: u64,
    /// Backup bytes in this drill.
    pub sample_bytes: u64,
    /// Its duration in this drill, ms.
    pub sample_ms: u64,
    /// Throughput in this drill, documents per second.
    pub documents_per_second: f64,
    /// Throughput in this drill, MiB of backup per second.
    pub mib_per_second: f64,
    /// `documents` or `bytes`: what it was scaled by.
    pub scaled_by: String,
    /// The forecast at the target size, ms.
    pub forecast_ms: u64,
    /// The low end of its band, ms.
    pub low_ms: u64,
    /// The high end of its band, ms.
    pub high_ms: u64,
    /// The relative band used (0.35 = ±35 %).
    pub band: f64,
    /// Where the band came from.
    pub band_basis: String,
}

/// The forecast of a drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Forecast {
    /// The size forecast for.
    pub target: TargetSize,
    /// The model, in a sentence.
    pub model: String,
    /// Every phase measured.
    pub phases: Vec<PhaseForecast>,
    /// The forecast RTO (as the objective applies to), ms; absent when this
    /// drill measured no RTO.
    pub rto_ms: Option<u64>,
    /// Its band's low end, ms.
    pub rto_low_ms: Option<u64>,
    /// Its band's high end, ms.
    pub rto_high_ms: Option<u64>,
    /// The RTO objective, ms.
    pub objective_ms: Option<u64>,
}

impl Forecast {
    /// Whether the forecast RTO exceeds the objective.
    pub fn exceeds_objective(&self) -> bool {
        matches!((self.rto_ms, self.objective_ms), (Some(rto), Some(objective)) if rto > objective)
    }

    /// Whether the band's high end exceeds the objective.
    pub fn may_exceed_objective(&self) -> bool {
        matches!((self.rto_high_ms, self.objective_ms), (Some(high), Some(objective)) if high > objective)
    }
}

/// What the forecast needs from the drill.
#[derive(Debug, Clone, Copy)]
pub struct DrillFigures<'a> {
    /// The phases measured.
    pub samples: &'a [PhaseSample],
    /// The drill's measured RTO (as the objective applies to), ms.
    pub measured_rto_ms: Option<u64>,
    /// Whether the RTO includes verification (`rto_applies_to = "verified"`).
    pub rto_includes_verify: bool,
    /// The RTO objective, ms.
    pub objective_ms: Option<u64>,
}

/// The forecast of `figures` at `target`; `None` when no phase was
/// measured or the target names no size.
pub fn forecast(figures: DrillFigures<'_>, target: &TargetSize, history: &ForecastHistory) -> Option<Forecast> {
    let phases: Vec<PhaseForecast> = figures
        .samples
        .iter()
        .filter_map(|sample| phase_forecast(sample, target, history, figures.rto_includes_verify))
        .collect();
    if phases.is_empty() {
        return None;
    }
    let (rto_ms, rto_low_ms, rto_high_ms) = match figures.measured_rto_ms {
        Some(measured) => {
            let inside: Vec<&PhaseForecast> = phases.iter().filter(|phase| phase.in_rto).collect();
            let sampled: u64 = inside.iter().map(|phase| phase.sample_ms).sum();
            let fixed = measured.saturating_sub(sampled);
            let sum = |pick: fn(&PhaseForecast) -> u64| fixed + inside.iter().map(|phase| pick(phase)).sum::<u64>();
            (
                Some(sum(|phase| phase.forecast_ms)),
                Some(sum(|phase| phase.low_ms)),
                Some(sum(|phase| phase.high_ms)),
            )
        }
        None => (None, None, None),
    };
    Some(Forecast {
        target: target.clone(),
        model: "each phase's time in this drill scaled linearly by documents (by bytes when only bytes are known); \
                the RTO keeps what does not grow with the data as measured"
            .into(),
        phases,
        rto_ms,
        rto_low_ms,
        rto_high_ms,
        objective_ms: figures.objective_ms,
    })
}

fn phase_forecast(
    sample: &PhaseSample,
    target: &TargetSize,
    history: &ForecastHistory,
    rto_includes_verify: bool,
) -> Option<PhaseForecast> {
    let (scaled_by, ratio) = match (target.documents, target.bytes) {
        (Some(documents), _) if sample.documents > 0 => ("documents", documents as f64 / sample.documents as f64),
        (_, Some(bytes)) if sample.bytes > 0 => ("bytes", bytes as f64 / sample.bytes as f64),
        _ => return None,
    };
    let forecast = sample.duration_ms as f64 * ratio;
    let (band, band_basis) = band(sample, history);
    let seconds = (sample.duration_ms.max(1) as f64) / 1_000.0;
    Some(PhaseForecast {
        phase: sample.phase,
        in_rto: match sample.phase {
            ForecastPhase::Backup => false,
            ForecastPhase::Restore => true,
            ForecastPhase::Verify => rto_includes_verify,
        },
        sample_documents: sample.documents,
        sample_bytes: sample.bytes,
        sample_ms: sample.duration_ms,
        documents_per_second: round(sample.documents as f64 / seconds),
        mib_per_second: round(sample.bytes as f64 / 1_048_576.0 / seconds),
        scaled_by: scaled_by.into(),
        forecast_ms: forecast.round() as u64,
        low_ms: (forecast * (1.0 - band)).max(0.0).round() as u64,
        high_ms: (forecast * (1.0 + band)).round() as u64,
        band: round(band),
        band_basis,
    })
}

/// The band of one phase: the model's, or the history's spread when wider.
fn band(sample: &PhaseSample, history: &ForecastHistory) -> (f64, String) {
    let model = (MODEL_BAND, "the linear model's own error (±35 %)".to_string());
    let Some(earlier) = history.durations.get(&sample.phase) else {
        return model;
    };
    if earlier.len() < MIN_HISTORY_RUNS {
        return model;
    }
    // The history's step durations are compared with each other only
    // (they include what the step does around the engine).
    let mut all: Vec<u64> = earlier.clone();
    all.sort_unstable();
    let median = all[all.len() / 2] as f64;
    if median <= 0.0 {
        return model;
    }
    let spread = all
        .iter()
        .map(|duration| (*duration as f64 - median).abs() / median)
        .fold(0.0, f64::max);
    if spread > MODEL_BAND {
        (
            spread,
            format!("the spread of {} runs of this scenario in the history", all.len()),
        )
    } else {
        model
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<PhaseSample> {
        vec![
            PhaseSample {
                phase: ForecastPhase::Backup,
                documents: 10_000,
                bytes: 13_000_000,
                duration_ms: 6_000,
            },
            PhaseSample {
                phase: ForecastPhase::Restore,
                documents: 10_000,
                bytes: 13_000_000,
                duration_ms: 2_000,
            },
            PhaseSample {
                phase: ForecastPhase::Verify,
                documents: 10_000,
                bytes: 13_000_000,
                duration_ms: 5_000,
            },
        ]
    }

    fn target(documents: u64) -> TargetSize {
        TargetSize {
            documents: Some(documents),
            source: "scenario".into(),
            ..TargetSize::default()
        }
    }

    #[test]
    fn phases_scale_linearly_and_the_fixed_part_of_the_rto_stays() {
        let samples = samples();
        let figures = DrillFigures {
            samples: &samples,
            measured_rto_ms: Some(3_000),
            rto_includes_verify: false,
            objective_ms: Some(20_000),
        };
        let forecast = forecast(figures, &target(100_000), &ForecastHistory::default()).unwrap();
        let restore = &forecast.phases[1];
        assert_eq!(restore.forecast_ms, 20_000);
        assert_eq!((restore.low_ms, restore.high_ms), (13_000, 27_000));
        assert_eq!(restore.documents_per_second, 5_000.0);
        assert!(!forecast.phases[0].in_rto && !forecast.phases[2].in_rto);
        // 1 s of the measured 3 s does not grow: 1 s + 20 s.
        assert_eq!(forecast.rto_ms, Some(21_000));
        assert_eq!(forecast.rto_high_ms, Some(28_000));
        assert!(forecast.exceeds_objective());
        assert!(forecast.may_exceed_objective());
    }

    #[test]
    fn a_verified_objective_counts_the_verification_and_bytes_scale_when_alone() {
        let samples = samples();
        let figures = DrillFigures {
            samples: &samples,
            measured_rto_ms: Some(8_000),
            rto_includes_verify: true,
            objective_ms: None,
        };
        let by_bytes = TargetSize {
            bytes: Some(130_000_000),
            source: "scenario".into(),
            ..TargetSize::default()
        };
        let forecast = forecast(figures, &by_bytes, &ForecastHistory::default()).unwrap();
        assert_eq!(forecast.phases[2].scaled_by, "bytes");
        assert_eq!(forecast.rto_ms, Some(1_000 + 20_000 + 50_000));
        assert!(!forecast.exceeds_objective());
    }

    #[test]
    fn a_wide_history_widens_the_band_and_a_short_one_does_not() {
        let samples = samples();
        let figures = DrillFigures {
            samples: &samples[1..2],
            measured_rto_ms: None,
            rto_includes_verify: false,
            objective_ms: None,
        };
        let mut history = ForecastHistory::default();
        history.durations.insert(ForecastPhase::Restore, vec![2_000, 3_600]);
        let short = forecast(figures, &target(20_000), &history).unwrap();
        assert_eq!(short.phases[0].band, MODEL_BAND);
        history
            .durations
            .insert(ForecastPhase::Restore, vec![2_000, 3_600, 2_000]);
        let wide = forecast(figures, &target(20_000), &history).unwrap();
        // Median 2,000 of [2000, 2000, 3600]: 3,600 is 80 % off.
        assert_eq!(wide.phases[0].band, 0.8);
        assert!(wide.phases[0].band_basis.contains("3 runs"));
        assert_eq!(wide.rto_ms, None);
    }

    #[test]
    fn no_size_or_no_sample_gives_no_forecast() {
        let samples = samples();
        let figures = DrillFigures {
            samples: &samples,
            measured_rto_ms: Some(1),
            rto_includes_verify: false,
            objective_ms: None,
        };
        assert!(forecast(figures, &TargetSize::default(), &ForecastHistory::default()).is_none());
        let empty = DrillFigures {
            samples: &[],
            ..figures
        };
        assert!(forecast(empty, &target(5), &ForecastHistory::default()).is_none());
    }
}
