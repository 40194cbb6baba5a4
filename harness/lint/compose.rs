//! Compose files: each service's command and entrypoint, judged in the
//! service's container (its volumes); and the volumes each service mounts,
//! for `docker exec SERVICE mongodump` in scripts linted beside them.

use super::finding::Spot;
use super::kubernetes::argv_script;
use super::rules::{self, KnownVolumes, Place};
use super::shell::{self, Script};
use super::yaml::Node;

/// Whether a file name is a compose file's (`docker-compose*.y*ml`, `compose*.y*ml`).
pub fn is_compose_name(name: &str) -> bool {
    (name.starts_with("docker-compose") || name.starts_with("compose"))
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

fn services(document: &Node) -> Vec<(&str, &Node)> {
    match document.get("services") {
        Some(Node::Map(entries)) => entries.iter().map(|(name, service)| (name.as_str(), service)).collect(),
        _ => Vec::new(),
    }
}

/// The container paths a service mounts (`source:target[:mode]` or `target:`).
fn mounts(service: &Node) -> Vec<String> {
    service
        .get("volumes")
        .map(Node::items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|volume| match volume {
            Node::Scalar(text, _) => {
                let parts: Vec<&str> = text.split(':').collect();
                Some(if parts.len() >= 2 { parts[1] } else { parts[0] }.to_string())
            }
            _ => volume.get("target").and_then(Node::text).map(str::to_string),
        })
        .collect()
}

/// Adds the volumes of each service of `document` under its service name and `container_name`.
pub fn collect_volumes(document: &Node, volumes: &mut KnownVolumes) {
    for (name, service) in services(document) {
        let mounted = mounts(service);
        if let Some(container_name) = service.get("container_name").and_then(Node::text) {
            volumes.insert(container_name.to_string(), mounted.clone());
        }
        volumes.insert(name.to_string(), mounted);
    }
}

/// Findings of one compose document.
pub fn check(document: &Node, volumes: &KnownVolumes) -> Vec<Spot> {
    let mut spots = Vec::new();
    for (name, service) in services(document) {
        let place = Place::Container {
            name: name.to_string(),
            mounts: mounts(service),
        };
        let mut argv = service.get("entrypoint").map(Node::items).unwrap_or_default();
        argv.extend(service.get("command").map(Node::items).unwrap_or_default());
        let script: Script = match argv.as_slice() {
            // A one-string command is split by the shell rules (compose splits it the same way).
            [Node::Scalar(text, origin)] => shell::parse(text, *origin),
            _ => argv_script(&argv),
        };
        spots.extend(rules::check(&script, &place, volumes));
    }
    spots
}
