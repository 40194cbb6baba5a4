//! Figures for people: `250 ms`, `1.3 s`, `14m 59.9s`, `15m`. Every
//! reporter formats durations through here (the formatter itself lives in
//! `measure::clock`, so check messages use it too) and shows an objective
//! as the scenario wrote it, so the terminal, the summary, report.json's
//! messages, JUnit and the timeline agree; and each says a verdict in the
//! same word.

use super::model::VerdictKind;
pub use crate::measure::clock::human_duration_ms;

/// A verdict as the reporters write it: `passed`, `failed`,
/// `inconclusive`, `skipped`.
pub fn verdict_word(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Passed => "passed",
        VerdictKind::Failed => "failed",
        VerdictKind::Inconclusive => "inconclusive",
        VerdictKind::Skipped => "skipped",
    }
}

/// A measured value with its unit: durations (`ms`) through
/// [`human_duration_ms`], counts as integers with their unit
/// (`999 documents`), anything else as given.
pub fn human_value(value: f64, unit: Option<&str>) -> String {
    match unit {
        Some("ms") if value >= 0.0 && value.is_finite() => human_duration_ms(value.round() as u64),
        Some(unit) => format!("{} {unit}", plain_number(value)),
        None => plain_number(value),
    }
}

/// An offset from the drill start in seconds with one decimal: `+20.0 s`.
pub fn offset_seconds(milliseconds: u64) -> String {
    let tenths = (milliseconds + 50) / 100;
    format!("+{}.{} s", tenths / 10, tenths % 10)
}

/// `999` for whole numbers, `0.25` otherwise.
fn plain_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_brief() {
        assert_eq!(human_duration_ms(0), "0 ms");
        assert_eq!(human_duration_ms(250), "250 ms");
        assert_eq!(human_duration_ms(1_300), "1.3 s");
        assert_eq!(human_duration_ms(1_349), "1.3 s");
        assert_eq!(human_duration_ms(59_960), "1m");
        assert_eq!(human_duration_ms(899_900), "14m 59.9s");
        assert_eq!(human_duration_ms(900_000), "15m");
        assert_eq!(human_duration_ms(1_023_200), "17m 3.2s");
        assert_eq!(human_duration_ms(3_600_000), "60m");
        assert_eq!(human_duration_ms(7_200_000), "2h");
        assert_eq!(human_duration_ms(7_503_000), "2h 5m 3s");
        assert_eq!(human_duration_ms(47 * 3_600_000 + 60_000), "47h 1m");
        assert_eq!(human_duration_ms(8 * 86_400_000), "8d");
        assert_eq!(human_duration_ms(35 * 86_400_000 + 7 * 3_600_000 + 59_000), "35d 7h");
    }

    #[test]
    fn values_keep_their_unit() {
        assert_eq!(human_value(1_023_200.0, Some("ms")), "17m 3.2s");
        assert_eq!(human_value(999.0, Some("documents")), "999 documents");
        assert_eq!(human_value(0.5, Some("ratio")), "0.5 ratio");
        assert_eq!(human_value(3.0, None), "3");
        assert_eq!(offset_seconds(20_000), "+20.0 s");
        assert_eq!(offset_seconds(31_249), "+31.2 s");
    }
}
