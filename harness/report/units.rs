//! Figures for people: `250 ms`, `1.3 s`, `14m 59.9s`, `15m`. Every
//! reporter formats durations through here so the terminal, the summary,
//! JUnit messages and the timeline agree to the tenth of a second.

/// A duration in milliseconds, human-readable: `250 ms` below a second,
/// `1.3 s` below a minute, `14m 59.9s` below two hours (`15m` when the
/// seconds are zero, so objectives read as written), then `2h 5m 3s`.
pub fn human_duration_ms(milliseconds: u64) -> String {
    if milliseconds < 1_000 {
        return format!("{milliseconds} ms");
    }
    // Round once, to tenths, so 59.96 s becomes 1m, never `60.0 s`.
    let tenths = (milliseconds + 50) / 100;
    if tenths < 600 {
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let minutes = tenths / 600;
    let rest = tenths % 600;
    if minutes < 120 {
        return match rest {
            0 => format!("{minutes}m"),
            _ => format!("{minutes}m {}.{}s", rest / 10, rest % 10),
        };
    }
    let seconds = (milliseconds + 500) / 1_000;
    let (hours, minutes, seconds) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    match (minutes, seconds) {
        (0, 0) => format!("{hours}h"),
        (_, 0) => format!("{hours}h {minutes}m"),
        _ => format!("{hours}h {minutes}m {seconds}s"),
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
