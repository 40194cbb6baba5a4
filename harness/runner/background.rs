//! Work a drill runs beside its steps (the tick writer, the primary
//! monitor, a failover drill's probe): spawned now, told to stop later, its
//! result collected then. One mechanism for all three, so "stop" means the
//! same everywhere: the work in flight finishes, then the task returns.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A spawned task and the switch that stops it.
pub struct Background<T> {
    stop: watch::Sender<bool>,
    task: JoinHandle<T>,
}

/// What a background task watches to know it should stop.
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Resolves once the task has been told to stop (or its owner is gone).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether the task has been told to stop.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

impl<T: Send + 'static> Background<T> {
    /// Spawns `work`, handing it the signal it must watch.
    pub fn spawn<F>(work: impl FnOnce(StopSignal) -> F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(work(StopSignal(stopped)));
        Self { stop, task }
    }

    /// Tells the task to stop and waits for its result (`None` if it panicked).
    pub async fn stop(self) -> Option<T> {
        let _ = self.stop.send(true);
        self.task.await.ok()
    }

    /// Waits up to `timeout` for the task to end by itself, then stops it.
    pub async fn finish_within(mut self, timeout: Duration) -> Option<T> {
        match tokio::time::timeout(timeout, &mut self.task).await {
            Ok(result) => result.ok(),
            Err(_) => self.stop().await,
        }
    }
}

/// Rounds at a fixed interval until the stop signal fires: `while
/// rounds.next().await { ... }`. After a slow round the interval is kept
/// rather than bursting to catch up (a burst of ticks would distort the
/// RPO); a round in flight always finishes.
pub struct Rounds {
    timer: tokio::time::Interval,
    stop: StopSignal,
}

/// Rounds every `interval`, the first at once, until `stop` fires.
pub fn every(interval: Duration, stop: StopSignal) -> Rounds {
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Rounds { timer, stop }
}

impl Rounds {
    /// Waits for the next round; `false` once the task should stop.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.timer.tick() => !self.stop.is_stopped(),
            _ = self.stop.stopped() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_ends_the_rounds_and_returns_what_they_built() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let seen = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&seen);
        let background = Background::spawn(|stop| async move {
            let mut rounds = 0u32;
            let mut every_ms = every(Duration::from_millis(1), stop);
            while every_ms.next().await {
                rounds += 1;
                counter.store(rounds, Ordering::SeqCst);
            }
            rounds
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while seen.load(Ordering::SeqCst) < 3 {
            assert!(std::time::Instant::now() < deadline, "the rounds did not run");
            tokio::task::yield_now().await;
        }
        let rounds = background.stop().await.unwrap();
        assert!(rounds >= 3, "{rounds}");
        assert_eq!(rounds, seen.load(Ordering::SeqCst), "a round ran after the stop");
    }

    #[tokio::test]
    async fn finish_within_returns_a_result_that_came_in_time_and_stops_one_that_did_not() {
        let quick = Background::spawn(|_| async { 7 });
        assert_eq!(quick.finish_within(Duration::from_secs(5)).await, Some(7));
        let slow = Background::spawn(|mut stop| async move {
            stop.stopped().await;
            "stopped"
        });
        assert_eq!(slow.finish_within(Duration::from_millis(10)).await, Some("stopped"));
    }
}
