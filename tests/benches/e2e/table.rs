//! The printed result: one row per target with the measured figure, the
//! target and whether it was met, then the throughput figures.

use std::fmt::Write as _;

/// One row of the targets table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was compared, e.g. `checksum / sorted drain`.
    pub name: String,
    /// The measured figure as printed (`1.07x`, `96.3 MB`).
    pub measured: String,
    /// The target as printed (`<= 1.15x`).
    pub target: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub met: Option<bool>,
    /// How it was measured (medians, counts).
    pub detail: String,
}

/// Renders rows as a fixed-width text table.
pub fn render(rows: &[Row]) -> String {
    let name_width = rows.iter().map(|row| row.name.len()).max().unwrap_or(0).max(6);
    let measured_width = rows.iter().map(|row| row.measured.len()).max().unwrap_or(0).max(8);
    let target_width = rows.iter().map(|row| row.target.len()).max().unwrap_or(0).max(6);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:name_width$}  {:>measured_width$}  {:target_width$}  {:7}  detail",
        "target", "measured", "goal", "verdict"
    );
    for row in rows {
        let verdict = match row.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "-",
        };
        let _ = writeln!(
            text,
            "{:name_width$}  {:>measured_width$}  {:target_width$}  {:7}  {}",
            row.name, row.measured, row.target, verdict, row.detail
        );
    }
    text
}

/// Documents per second and megabytes (10^6 bytes) per second.
pub fn throughput(documents: u64, bytes: u64, seconds: f64) -> String {
    let seconds = seconds.max(f64::EPSILON);
    format!(
        "{:>9.0} docs/s  {:>6.1} MB/s",
        documents as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    )
}
