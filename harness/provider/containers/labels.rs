//! Names and labels of everything the containers provider creates. Names
//! are readable (`drill-<run-id>-node-<i>`) so that `podman ps` tells a
//! person what they are looking at; labels are what `clean` searches by, so
//! a run killed before teardown can still be found.

use std::collections::HashMap;

/// Marks every container, volume and network the harness creates.
pub const HARNESS_LABEL: &str = "org.drdrill.harness";
/// The value of [`HARNESS_LABEL`].
pub const HARNESS_VALUE: &str = "drdrill";
/// The run that created the object.
pub const RUN_ID_LABEL: &str = "org.drdrill.run-id";
/// The pid of the harness process that owns the run.
pub const OWNER_PID_LABEL: &str = "org.drdrill.owner-pid";
/// The owner's start time (clock ticks since boot), so that a recycled pid
/// is not mistaken for a live owner.
pub const OWNER_START_LABEL: &str = "org.drdrill.owner-start";
/// The node (`node-0`), on containers and volumes.
pub const NODE_LABEL: &str = "org.drdrill.node";

/// The owner of a run: this process, identified by pid and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The harness process's pid.
    pub pid: i32,
    /// Its start time, when `/proc` tells it.
    pub start_time: Option<u64>,
}

impl Owner {
    /// The running process.
    pub fn current() -> Self {
        let pid = std::process::id() as i32;
        Self {
            pid,
            start_time: crate::provider::record::process_start_time(pid),
        }
    }

    /// Reads an owner back from an object's labels.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Self> {
        let pid = labels.get(OWNER_PID_LABEL)?.parse().ok()?;
        let start_time = labels.get(OWNER_START_LABEL).and_then(|value| value.parse().ok());
        Some(Self { pid, start_time })
    }

    /// Whether the owning process is still the same live process.
    pub fn is_alive(&self) -> bool {
        crate::provider::record::is_same_process(self.pid, self.start_time)
    }
}

/// The labels of the run's network.
pub fn run_labels(run_id: &str, owner: &Owner) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (HARNESS_LABEL.to_string(), HARNESS_VALUE.to_string()),
        (RUN_ID_LABEL.to_string(), run_id.to_string()),
        (OWNER_PID_LABEL.to_string(), owner.pid.to_string()),
    ]);
    if let Some(start) = owner.start_time {
        labels.insert(OWNER_START_LABEL.to_string(), start.to_string());
    }
    labels
}

/// The labels of a node's container and volume.
pub fn node_labels(run_id: &str, owner: &Owner, index: usize) -> HashMap<String, String> {
    let mut labels = run_labels(run_id, owner);
    labels.insert(NODE_LABEL.to_string(), node_name(index));
    labels
}

/// `node-<i>`.
pub fn node_name(index: usize) -> String {
    format!("node-{index}")
}

/// The container of node `index`: `drill-<run-id>-node-<i>`.
pub fn container_name(run_id: &str, index: usize) -> String {
    format!("drill-{run_id}-node-{index}")
}

/// The run's network: `drill-<run-id>`.
pub fn network_name(run_id: &str) -> String {
    format!("drill-{run_id}")
}

/// The data volume of node `index`: `drill-<run-id>-node-<i>-data`.
pub fn volume_name(run_id: &str, index: usize) -> String {
    format!("drill-{run_id}-node-{index}-data")
}

/// The engine's `label` filter for every object of the harness, or of one
/// run.
pub fn label_filter(run_id: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{HARNESS_LABEL}={HARNESS_VALUE}")];
    if let Some(run_id) = run_id {
        labels.push(format!("{RUN_ID_LABEL}={run_id}"));
    }
    HashMap::from([("label".to_string(), labels)])
}

/// Whether `run_id` can be part of container, volume and network names
/// (the engines accept `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
pub fn is_valid_run_id(run_id: &str) -> bool {
    let mut characters = run_id.chars();
    characters.next().is_some_and(|first| first.is_ascii_alphanumeric())
        && characters.all(|character| character.is_ascii_alphanumeric() || "_.-".contains(character))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_drill_pattern() {
        assert_eq!(container_name("r1", 2), "drill-r1-node-2");
        assert_eq!(network_name("r1"), "drill-r1");
        assert_eq!(volume_name("r1", 0), "drill-r1-node-0-data");
    }

    #[test]
    fn node_labels_identify_harness_run_owner_and_node() {
        let owner = Owner {
            pid: 42,
            start_time: Some(7),
        };
        let labels = node_labels("r1", &owner, 1);
        assert_eq!(labels[HARNESS_LABEL], "drdrill");
        assert_eq!(labels[RUN_ID_LABEL], "r1");
        assert_eq!(labels[OWNER_PID_LABEL], "42");
        assert_eq!(labels[OWNER_START_LABEL], "7");
        assert_eq!(labels[NODE_LABEL], "node-1");
        assert_eq!(Owner::from_labels(&labels), Some(owner));
    }

    #[test]
    fn the_current_process_is_a_live_owner_and_a_changed_start_time_is_not() {
        let owner = Owner::current();
        assert!(owner.is_alive());
        let recycled = Owner {
            pid: owner.pid,
            start_time: owner.start_time.map(|start| start + 1),
        };
        assert!(!recycled.is_alive());
    }

    #[test]
    fn filters_select_the_harness_and_optionally_a_run() {
        assert_eq!(label_filter(None)["label"], vec!["org.drdrill.harness=drdrill"]);
        assert_eq!(
            label_filter(Some("r1"))["label"],
            vec!["org.drdrill.harness=drdrill", "org.drdrill.run-id=r1"]
        );
    }

    #[test]
    fn run_ids_must_fit_in_engine_names() {
        assert!(is_valid_run_id("20261125T120000Z-failover-ab12"));
        assert!(!is_valid_run_id(""));
        assert!(!is_valid_run_id("-x"));
        assert!(!is_valid_run_id("a b"));
        assert!(!is_valid_run_id("a/b"));
    }
}
