//! `wait`: lets time pass on purpose (a backup grows old, a workload runs).

use std::time::Duration;

use serde_json::json;

use super::StepOutcome;

/// Waits `duration`.
pub async fn run(duration: Duration) -> StepOutcome {
    // Waiting is this step's purpose, not a synchronization.
    tokio::time::sleep(duration).await;
    StepOutcome::passed(
        format!("waited {}", crate::measure::clock::format_duration(duration)),
        json!({ "duration_ms": duration.as_millis() as u64 }),
    )
}
