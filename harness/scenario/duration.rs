//! Durations as scenario files write them (`60m`, `250ms`, `1h30m`).
//!
//! humantime reads `M` as months and `m` as minutes, so `rto = "5M"` meant
//! five months and was refused as "too long" without saying why. A unit that
//! a person could mean two ways is refused here, with the spellings that are
//! not ambiguous.

use std::time::Duration;

/// Why a duration string was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a duration at all (humantime's words).
    #[error("{0}")]
    Syntax(String),
    /// A unit that reads two ways (`M`: months or minutes?).
    #[error("the unit `{unit}` is ambiguous (months or minutes?)")]
    Ambiguous {
        /// The unit as written.
        unit: String,
    },
}

impl DurationError {
    /// What to write instead.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Syntax(_) => "use forms like 60m, 15m, 250ms, 1h30m",
            Self::Ambiguous { .. } => "write minutes as `m` (5m) and months as days (150d)",
        }
    }
}

/// Units that read two ways; refused whatever humantime makes of them.
const AMBIGUOUS_UNITS: &[&str] = &["M"];

/// Parses a human duration (`60m`, `250ms`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if let Some(unit) = units(text).find(|unit| AMBIGUOUS_UNITS.contains(unit)) {
        return Err(DurationError::Ambiguous { unit: unit.to_owned() });
    }
    humantime::parse_duration(text).map_err(|error| DurationError::Syntax(error.to_string()))
}

/// The unit words of `text` (`1h30m` → `h`, `m`).
fn units(text: &str) -> impl Iterator<Item = &str> {
    text.split(|character: char| character.is_ascii_digit() || character.is_whitespace() || character == '.')
        .filter(|unit| !unit.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capital_m_is_refused_as_ambiguous_and_minutes_parse() {
        assert_eq!(parse_duration("5M"), Err(DurationError::Ambiguous { unit: "M".into() }));
        assert_eq!(
            parse_duration("1h 5M"),
            Err(DurationError::Ambiguous { unit: "M".into() })
        );
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration(" 1h30m "), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2months").map(|d| d.as_secs() > 0), Ok(true));
    }

    #[test]
    fn syntax_errors_keep_humantime_words() {
        let error = parse_duration("soon").unwrap_err();
        assert!(matches!(error, DurationError::Syntax(_)), "{error:?}");
        assert!(error.hint().contains("60m"));
    }
}
