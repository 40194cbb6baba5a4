//! Finding and removing what killed runs left in the container engine, by
//! label: containers, then volumes, then networks (in that order, because
//! the engine refuses to remove a volume or network still in use).

use std::collections::HashMap;

use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::engine;
use super::error::ContainerError;
use super::labels::{Owner, RUN_ID_LABEL, label_filter};
use super::network::{remove_container, remove_network, remove_volume};
use crate::provider::ProviderError;
use crate::provider::record::RunRecord;

/// Which leftovers to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanSelection {
    /// Only this run, whether or not its owner is alive.
    pub run_id: Option<String>,
    /// Also runs whose owning harness process is alive (kept runs).
    pub all: bool,
    /// Only list what would be removed.
    pub dry_run: bool,
}

/// The kind of a labelled object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A container.
    Container,
    /// A named volume.
    Volume,
    /// A network.
    Network,
}

/// One labelled object found in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledObject {
    /// What it is.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

impl LabelledObject {
    /// `container drill-x-node-0 [run x]`.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            ObjectKind::Container => "container",
            ObjectKind::Volume => "volume",
            ObjectKind::Network => "network",
        };
        let run = self.labels.get(RUN_ID_LABEL).map(String::as_str).unwrap_or("?");
        format!("{kind} {} [run {run}]", self.name)
    }
}

/// Whether `selection` takes `object`, given whether its owner is alive.
/// Pure, for tests.
pub fn is_selected(selection: &CleanSelection, object: &LabelledObject, owner_alive: bool) -> bool {
    if let Some(run_id) = &selection.run_id {
        return object.labels.get(RUN_ID_LABEL) == Some(run_id);
    }
    selection.all || !owner_alive
}

/// Removes every drdrill-labelled container, volume and network whose
/// owning harness process is dead; with `dry_run`, only lists them.
/// Returns one line per object.
pub async fn clean_by_label(dry_run: bool) -> Result<Vec<String>, ProviderError> {
    clean(&CleanSelection {
        dry_run,
        ..CleanSelection::default()
    })
    .await
}

/// Removes the leftovers `selection` names. No engine on this machine
/// means nothing to clean, not an error.
pub async fn clean(selection: &CleanSelection) -> Result<Vec<String>, ProviderError> {
    let endpoint = match engine::locate() {
        Ok(endpoint) => endpoint,
        Err(ContainerError::EngineNotFound { .. }) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let docker = engine::connect(&endpoint)?;
    let objects = list_labelled(&docker, selection.run_id.as_deref()).await?;
    let mut removed = Vec::new();
    let mut cleaned_runs = std::collections::BTreeSet::new();
    // Containers first: volumes and networks in use cannot be removed.
    for kind in [ObjectKind::Container, ObjectKind::Volume, ObjectKind::Network] {
        for object in objects.iter().filter(|object| object.kind == kind) {
            let owner_alive = Owner::from_labels(&object.labels).is_some_and(|owner| owner.is_alive());
            if !is_selected(selection, object, owner_alive) {
                continue;
            }
            if !selection.dry_run {
                match kind {
                    ObjectKind::Container => remove_container(&docker, &object.name).await?,
                    ObjectKind::Volume => remove_volume(&docker, &object.name).await?,
                    ObjectKind::Network => remove_network(&docker, &object.name).await?,
                }
            }
            removed.push(object.describe());
            if let Some(run_id) = object.labels.get(RUN_ID_LABEL) {
                cleaned_runs.insert(run_id.clone());
            }
        }
    }
    if !selection.dry_run {
        forget_run_records(&cleaned_runs);
    }
    Ok(removed)
}

/// Removes the run records of cleaned container runs, so that they do not
/// show up again; records that also name processes or folders are left to
/// `drdrill clean`'s own pass over records.
fn forget_run_records(run_ids: &std::collections::BTreeSet<String>) {
    for record in RunRecord::load_all().into_iter().flatten() {
        if run_ids.contains(&record.run_id)
            && record.processes.is_empty()
            && record.postgres.is_empty()
            && record.dirs.is_empty()
        {
            record.remove();
        }
    }
}

/// Every container, volume and network with the harness's label (of one
/// run when `run_id` is given).
pub async fn list_labelled(docker: &Docker, run_id: Option<&str>) -> Result<Vec<LabelledObject>, ContainerError> {
    let filters = label_filter(run_id);
    let mut objects = Vec::new();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new().all(true).filters(&filters).build(),
        ))
        .await
        .map_err(|error| ContainerError::engine("list containers", "by label", error))?;
    for container in containers {
        let name = container
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_string())
            .or(container.id)
            .unwrap_or_default();
        objects.push(LabelledObject {
            kind: ObjectKind::Container,
            name,
            labels: container.labels.unwrap_or_default(),
        });
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filters).build()))
        .await
        .map_err(|error| ContainerError::engine("list volumes", "by label", error))?;
    for volume in volumes.volumes.unwrap_or_default() {
        objects.push(LabelledObject {
            kind: ObjectKind::Volume,
            name: volume.name,
            labels: volume.labels,
        });
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build()))
        .await
        .map_err(|error| ContainerError::engine("list networks", "by label", error))?;
    for network in networks {
        objects.push(LabelledObject {
            kind: ObjectKind::Network,
            name: network.name.unwrap_or_default(),
            labels: network.labels.unwrap_or_default(),
        });
    }
    // An engine that ignores a filter must not make clean remove others'
    // objects: check the labels again.
    objects.retain(|object| {
        object.labels.get(super::labels::HARNESS_LABEL).map(String::as_str) == Some(super::labels::HARNESS_VALUE)
            && run_id.is_none_or(|run_id| object.labels.get(RUN_ID_LABEL).map(String::as_str) == Some(run_id))
    });
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(run: &str) -> LabelledObject {
        LabelledObject {
            kind: ObjectKind::Container,
            name: format!("drill-{run}-node-0"),
            labels: HashMap::from([(RUN_ID_LABEL.to_string(), run.to_string())]),
        }
    }

    #[test]
    fn by_default_only_runs_with_dead_owners_are_removed() {
        let selection = CleanSelection::default();
        assert!(is_selected(&selection, &object("a"), false));
        assert!(!is_selected(&selection, &object("a"), true));
        let all = CleanSelection {
            all: true,
            ..Default::default()
        };
        assert!(is_selected(&all, &object("a"), true));
    }

    #[test]
    fn a_named_run_is_removed_even_with_a_live_owner_and_others_are_not() {
        let selection = CleanSelection {
            run_id: Some("a".into()),
            ..Default::default()
        };
        assert!(is_selected(&selection, &object("a"), true));
        assert!(!is_selected(&selection, &object("b"), false));
        assert_eq!(object("a").describe(), "container drill-a-node-0 [run a]");
    }
}
