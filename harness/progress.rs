//! Progress of long work (seeding, checksumming, dumping), reported to a sink
//! the caller chooses. The library never draws anything itself: the CLI
//! passes a sink that draws a progress bar on a terminal and stays quiet in
//! CI logs, tests pass [`NoProgress`].

/// Receives progress of one long operation. Implementations must be cheap:
/// `advance` is called once per batch, not per document.
pub trait ProgressSink: Send + Sync {
    /// A new phase starts; `total` is the number of units when known.
    fn start(&self, label: &str, total: Option<u64>);
    /// `units` more units of the current phase are done.
    fn advance(&self, units: u64);
    /// The current phase ended.
    fn finish(&self);
}

/// A sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _units: u64) {}
    fn finish(&self) {}
}
