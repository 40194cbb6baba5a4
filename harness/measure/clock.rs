//! The drill clock: one monotonic start instant for arithmetic and one
//! wall-clock start for the people reading the report.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The clock of one drill: every [`Stamp`] is an offset from its start.
///
/// Durations are only ever computed from the monotonic offsets; the wall
/// clock is read once, at the start, so that a wall-clock jump during the
/// drill (NTP, a suspended laptop) cannot bend a measurement.
#[derive(Debug, Clone, Copy)]
pub struct DrillClock {
    /// The monotonic instant the drill started; all offsets count from it.
    start: Instant,
    /// The wall-clock time read at `start`; stamps derive their wall time
    /// from it plus their offset, so both halves of a stamp agree.
    start_wall: DateTime<Utc>,
}

impl DrillClock {
    /// Starts a clock now.
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
            start_wall: Utc::now(),
        }
    }

    /// A clock with a chosen start, for tests and for replaying records.
    pub fn with_start(start: Instant, start_wall: DateTime<Utc>) -> Self {
        Self { start, start_wall }
    }

    /// The stamp of the current instant.
    pub fn now(&self) -> Stamp {
        self.stamp(Instant::now())
    }

    /// The stamp of `instant`; an instant before the start stamps as the start.
    pub fn stamp(&self, instant: Instant) -> Stamp {
        let elapsed = instant.saturating_duration_since(self.start);
        Stamp::from_offset(self.start_wall, duration_to_millis(elapsed))
    }

    /// The wall-clock time at which the drill started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.start_wall
    }

    /// The stamp of the drill's start (offset 0).
    pub fn start_stamp(&self) -> Stamp {
        Stamp::from_offset(self.start_wall, 0)
    }
}

/// One instant of a drill: a monotonic offset in milliseconds from the drill
/// start, for arithmetic, and the matching UTC wall-clock time, for people.
///
/// Stamps compare and order by their offset only.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Stamp {
    /// Milliseconds since the drill started, from the monotonic clock.
    pub offset_ms: u64,
    /// Wall-clock time, serialized as RFC 3339 with milliseconds (`...T12:00:00.250Z`).
    #[serde(serialize_with = "serialize_wall", deserialize_with = "deserialize_wall")]
    pub wall: DateTime<Utc>,
}

impl Stamp {
    /// The stamp `offset_ms` after a drill that started at `start_wall`.
    pub fn from_offset(start_wall: DateTime<Utc>, offset_ms: u64) -> Self {
        let offset = chrono::Duration::milliseconds(i64::try_from(offset_ms).unwrap_or(i64::MAX));
        let wall = start_wall.checked_add_signed(offset).unwrap_or(start_wall);
        Self { offset_ms, wall }
    }

    /// The time from `earlier` to `self`; zero if `earlier` is not earlier.
    pub fn since(&self, earlier: &Stamp) -> Duration {
        Duration::from_millis(self.offset_ms.saturating_sub(earlier.offset_ms))
    }

    /// The stamp `duration` after this one (whole milliseconds).
    pub fn plus(&self, duration: Duration) -> Stamp {
        Stamp {
            offset_ms: self.offset_ms.saturating_add(duration_to_millis(duration)),
            wall: self
                .wall
                .checked_add_signed(chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero()))
                .unwrap_or(self.wall),
        }
    }
}

impl PartialEq for Stamp {
    fn eq(&self, other: &Self) -> bool {
        self.offset_ms == other.offset_ms
    }
}

impl Eq for Stamp {}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.offset_ms.cmp(&other.offset_ms)
    }
}

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
    // From two days on, days and hours (a cadence, an overdue backup): the
    // minutes no longer matter to a reader.
    if hours >= 48 {
        let (days, hours) = (hours / 24, hours % 24);
        return match hours {
            0 => format!("{days}d"),
            _ => format!("{days}d {hours}h"),
        };
    }
    match (minutes, seconds) {
        (0, 0) => format!("{hours}h"),
        (_, 0) => format!("{hours}h {minutes}m"),
        _ => format!("{hours}h {minutes}m {seconds}s"),
    }
}

/// Whole milliseconds of `duration`, saturating (a drill never lasts 584 million years).
pub fn duration_to_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A duration as a scenario file writes it: `250ms`, `3.2s`, `17m 3.2s`,
/// `1h 30m`, `30d`, for validation messages that say what to write. Measured
/// figures are shown with [`human_duration_ms`].
pub fn format_duration(duration: Duration) -> String {
    let total_ms = duration_to_millis(duration);
    if total_ms < 1_000 {
        return format!("{total_ms}ms");
    }
    let mut hours = total_ms / 3_600_000;
    let minutes = total_ms % 3_600_000 / 60_000;
    let second_ms = total_ms % 60_000;
    let mut parts = Vec::new();
    // From two days on, days (a retention of `30d` reads as written, not
    // as `720h`); `24h` stays as a scenario usually writes it.
    if hours >= 48 {
        parts.push(format!("{}d", hours / 24));
        hours %= 24;
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if second_ms > 0 {
        let fraction = format!("{:03}", second_ms % 1_000);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            parts.push(format!("{}s", second_ms / 1_000));
        } else {
            parts.push(format!("{}.{fraction}s", second_ms / 1_000));
        }
    }
    parts.join(" ")
}

/// Serializes a duration as whole milliseconds (reports name such fields `..._ms`).
pub fn serialize_millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration_to_millis(*duration))
}

/// Serializes an optional duration as whole milliseconds or null.
pub fn serialize_optional_millis<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&duration_to_millis(*duration)),
        None => serializer.serialize_none(),
    }
}

fn serialize_wall<S: Serializer>(wall: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&wall.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn deserialize_wall<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start_wall() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn stamps_derive_wall_time_from_the_monotonic_offset() {
        let start = Instant::now();
        let clock = DrillClock::with_start(start, start_wall());
        let stamp = clock.stamp(start + Duration::from_millis(1_250));
        assert_eq!(stamp.offset_ms, 1_250);
        assert_eq!(stamp.wall, start_wall() + chrono::Duration::milliseconds(1_250));
    }

    #[test]
    fn an_instant_before_the_start_stamps_as_the_start() {
        let start = Instant::now() + Duration::from_secs(5);
        let clock = DrillClock::with_start(start, start_wall());
        assert_eq!(clock.stamp(Instant::now()).offset_ms, 0);
    }

    #[test]
    fn now_never_goes_backwards() {
        let clock = DrillClock::start();
        let first = clock.now();
        let second = clock.now();
        assert!(second >= first);
    }

    #[test]
    fn serializes_wall_as_rfc3339_with_milliseconds_and_round_trips() {
        let stamp = Stamp::from_offset(start_wall(), 250);
        let json = serde_json::to_string(&stamp).unwrap();
        assert_eq!(json, r#"{"offset_ms":250,"wall":"2026-03-01T12:00:00.250Z"}"#);
        let back: Stamp = serde_json::from_str(&json).unwrap();
        assert_eq!(back.wall, stamp.wall);
        assert_eq!(back.offset_ms, 250);
    }

    #[test]
    fn formats_durations_for_people() {
        assert_eq!(format_duration(Duration::ZERO), "0ms");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(3_200)), "3.2s");
        assert_eq!(format_duration(Duration::from_millis(17 * 60_000 + 3_200)), "17m 3.2s");
        assert_eq!(format_duration(Duration::from_secs(15 * 60)), "15m");
        assert_eq!(format_duration(Duration::from_secs(90 * 60)), "1h 30m");
        assert_eq!(format_duration(Duration::from_millis(3_600_050)), "1h 0.05s");
        assert_eq!(format_duration(Duration::from_secs(24 * 3_600)), "24h");
        assert_eq!(format_duration(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(format_duration(Duration::from_secs(50 * 3_600 + 60)), "2d 2h 1m");
    }

    #[test]
    fn since_saturates_and_plus_adds() {
        let early = Stamp::from_offset(start_wall(), 100);
        let late = early.plus(Duration::from_millis(400));
        assert_eq!(late.offset_ms, 500);
        assert_eq!(late.since(&early), Duration::from_millis(400));
        assert_eq!(early.since(&late), Duration::ZERO);
    }
}
