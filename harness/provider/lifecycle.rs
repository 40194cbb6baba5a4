//! The one teardown shape of whatever a provider starts: it runs once, a
//! kept deployment is left in place with a message saying how to remove
//! it, and otherwise everything it started goes. Each provider says only
//! how to leave and how to remove; `Drop` stays its own fallback.

/// What a provider's deployment tells [`teardown_once`].
pub(crate) trait Owned {
    /// The flag set once teardown ran, so that `Drop` and a second
    /// teardown do nothing more.
    fn torn_down(&mut self) -> &mut bool;

    /// Whether teardown leaves everything in place (`--keep`).
    fn kept(&self) -> bool;

    /// Leaves everything in place and says how to remove it.
    fn leave_in_place(&mut self) -> String;

    /// Removes everything the deployment started, best effort.
    async fn remove_everything(&mut self);
}

/// What a kept run says: where it is and how to remove it.
pub(crate) fn kept_message(run_id: &str, run_dir: &std::path::Path) -> String {
    format!(
        "kept run {run_id} for debugging: {} (remove with `drdrill clean --run {run_id}`)",
        run_dir.display()
    )
}

/// Tears `owner` down once: `None` when it was removed (or had been torn
/// down already), the kept message when it is kept.
pub(crate) async fn teardown_once(owner: &mut impl Owned) -> Option<String> {
    if std::mem::replace(owner.torn_down(), true) {
        return None;
    }
    if owner.kept() {
        return Some(owner.leave_in_place());
    }
    owner.remove_everything().await;
    None
}
