//! `wait`: lets time pass on purpose (a backup grows old, a workload runs).

use std::time::Duration;

use super::StepOutcome;
use crate::outcome::details::WaitDetails;

/// Waits `duration`.
pub async fn run(duration: Duration) -> StepOutcome {
    // Waiting is this step's purpose, not a synchronization.
    tokio::time::sleep(duration).await;
    StepOutcome::passed(
        format!("waited {}", crate::measure::clock::format_duration(duration)),
        WaitDetails {
            duration_ms: duration.as_millis() as u64,
        },
    )
}
