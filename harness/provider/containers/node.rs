//! One node as a container: the pure description (image, command line,
//! name, labels, volume, port binding) built into a testcontainers request,
//! and the running node's bookkeeping.

use std::collections::HashMap;

use testcontainers::core::{ContainerPort, Mount};
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};

use super::image::ImageSpec;
use super::labels::{Owner, container_name, network_name, node_labels, volume_name};
use crate::provider::Engine;
pub use crate::provider::NodeRole;

/// The port every engine listens on inside its container.
pub const SERVER_PORT: u16 = 27017;

/// Everything needed to create node `index`'s container. Pure data, so the
/// command line, names and labels are unit-tested without an engine.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// The run's id.
    pub run_id: String,
    /// The node's index.
    pub index: usize,
    /// The server implementation.
    pub engine: Engine,
    /// The image to run.
    pub image: ImageSpec,
    /// The replica set's name, for `--replSet` (MongoDB only).
    pub replica_set: Option<String>,
    /// The harness process that owns the container.
    pub owner: Owner,
}

impl NodeSpec {
    /// `drill-<run-id>-node-<i>`.
    pub fn container_name(&self) -> String {
        container_name(&self.run_id, self.index)
    }

    /// `drill-<run-id>-node-<i>-data`.
    pub fn volume_name(&self) -> String {
        volume_name(&self.run_id, self.index)
    }

    /// `drill-<run-id>`.
    pub fn network_name(&self) -> String {
        network_name(&self.run_id)
    }

    /// Where the engine keeps its data inside the container.
    pub fn data_path(&self) -> &'static str {
        match self.engine {
            Engine::Ferretdb => "/state",
            Engine::Mongodb => "/data/db",
        }
    }

    /// The command given to the image (its entrypoint stays).
    pub fn command(&self) -> Vec<String> {
        match self.engine {
            // The image's entrypoint holds every flag FerretDB needs.
            Engine::Ferretdb => Vec::new(),
            Engine::Mongodb => mongo_container_args(self.replica_set.as_deref()),
        }
    }

    /// The testcontainers request for this node: name, network, labels,
    /// volume and the 127.0.0.1 port binding. No log wait: readiness is the
    /// harness's own `hello` poll.
    pub fn container_request(&self) -> ContainerRequest<GenericImage> {
        let image = GenericImage::new(self.image.name.clone(), self.image.tag.clone())
            .with_exposed_port(ContainerPort::Tcp(SERVER_PORT));
        let labels = node_labels(&self.run_id, &self.owner, self.index);
        image
            .with_container_name(self.container_name())
            .with_hostname(self.container_name())
            .with_network(self.network_name())
            .with_labels(labels)
            .with_mount(Mount::volume_mount(self.volume_name(), self.data_path()))
            .with_cmd(self.command())
            .with_host_config_modifier(bind_server_port_on_loopback)
    }
}

/// `mongod`'s command line in the official image: listen on every
/// interface of the container (the published port is what limits access
/// to 127.0.0.1 on the host) and join `replica_set` when given.
pub fn mongo_container_args(replica_set: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "mongod".to_string(),
        "--bind_ip_all".into(),
        "--port".into(),
        SERVER_PORT.to_string(),
    ];
    if let Some(name) = replica_set {
        args.extend(["--replSet".into(), name.to_string()]);
    }
    args
}

/// Publishes the server port on 127.0.0.1 with an engine-chosen host port.
/// Podman 4 reports a binding's `HostIp` as empty unless it was given one,
/// and testcontainers then cannot read the mapped port (`PortNotExposed`);
/// naming 127.0.0.1 fixes that and keeps the port off other interfaces.
pub fn bind_server_port_on_loopback(host_config: &mut testcontainers::bollard::models::HostConfig) {
    let binding = testcontainers::bollard::models::PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(String::new()),
    };
    host_config.publish_all_ports = Some(false);
    host_config.port_bindings = Some(HashMap::from([(format!("{SERVER_PORT}/tcp"), Some(vec![binding]))]));
}

/// A node's container while the deployment holds it.
pub(crate) struct ContainerNode {
    /// How it was created.
    pub spec: NodeSpec,
    /// Its role in the replica set.
    pub role: NodeRole,
    /// The running container; `None` once removed by `remove_with_volume`.
    pub container: Option<ContainerAsync<GenericImage>>,
    /// The container's id, kept after removal for messages.
    pub id: String,
    /// The host port of 27017 on 127.0.0.1, re-read after each start.
    pub host_port: u16,
    /// Its IPv4 address on the run's network, pinned at start so that it
    /// survives restarts and reconnections.
    pub address: Option<String>,
    /// Whether the harness disconnected it from the run's network.
    pub disconnected: bool,
}

impl ContainerNode {
    /// `mongodb://127.0.0.1:<port>/?directConnection=true`.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.host_port)
    }
}

impl std::fmt::Debug for ContainerNode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ContainerNode")
            .field("name", &self.spec.container_name())
            .field("id", &self.id)
            .field("host_port", &self.host_port)
            .field("removed", &self.container.is_none())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(engine: Engine, replica_set: Option<&str>) -> NodeSpec {
        NodeSpec {
            run_id: "r1".into(),
            index: 1,
            engine,
            image: ImageSpec::for_engine(engine, None),
            replica_set: replica_set.map(str::to_string),
            owner: Owner {
                pid: 9,
                start_time: Some(3),
            },
        }
    }

    #[test]
    fn mongod_joins_the_replica_set_and_listens_on_all_container_interfaces() {
        assert_eq!(
            mongo_container_args(Some("drill")),
            ["mongod", "--bind_ip_all", "--port", "27017", "--replSet", "drill"]
        );
        assert!(!mongo_container_args(None).contains(&"--replSet".to_string()));
    }

    #[test]
    fn request_has_name_network_labels_volume_and_command() {
        let request = spec(Engine::Mongodb, Some("drill")).container_request();
        assert_eq!(request.container_name().as_deref(), Some("drill-r1-node-1"));
        assert_eq!(request.network().as_deref(), Some("drill-r1"));
        assert_eq!(request.labels()["org.drdrill.run-id"], "r1");
        assert_eq!(request.labels()["org.drdrill.node"], "node-1");
        assert_eq!(request.labels()["org.drdrill.owner-pid"], "9");
        let mounts: Vec<_> = request.mounts().collect();
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].source(), Some("drill-r1-node-1-data"));
        assert_eq!(mounts[0].target(), Some("/data/db"));
        let command: Vec<String> = request.cmd().map(|part| part.into_owned()).collect();
        assert_eq!(command[0], "mongod");
        assert!(command.ends_with(&["--replSet".to_string(), "drill".to_string()]));
        assert_eq!(request.descriptor(), "mongo:7.0");
    }

    #[test]
    fn ferretdb_keeps_the_image_entrypoint_and_state_on_the_volume() {
        let request = spec(Engine::Ferretdb, None).container_request();
        assert_eq!(request.cmd().count(), 0);
        assert_eq!(request.mounts().next().unwrap().target(), Some("/state"));
        assert_eq!(request.descriptor(), "localhost/drdrill-ferretdb:v1.24.2");
    }

    #[test]
    fn port_binding_names_the_loopback_address() {
        let request = spec(Engine::Ferretdb, None).container_request();
        let modifier = request.host_config_modifier().expect("the port fix is set");
        let mut host_config = testcontainers::bollard::models::HostConfig {
            publish_all_ports: Some(true),
            ..Default::default()
        };
        modifier(&mut host_config);
        assert_eq!(host_config.publish_all_ports, Some(false));
        let bindings = host_config.port_bindings.unwrap();
        let binding = &bindings["27017/tcp"].as_ref().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some(""));
    }
}
