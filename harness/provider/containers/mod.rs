//! Deployments of containers through testcontainers on Docker or Podman:
//! one container per node on a per-drill network, data on named volumes,
//! ports published on 127.0.0.1, readiness by `hello`. FerretDB runs from
//! an image the harness builds offline; MongoDB from the official `mongo`
//! image, as a replica set when asked. Faults are real engine operations:
//! kill, stop, pause, network disconnect, removal with the volume.

mod clean;
mod deployment;
pub mod engine;
mod error;
pub mod image;
pub mod labels;
mod network;
mod node;
mod replica;

pub use clean::{CleanSelection, LabelledObject, ObjectKind, clean, clean_by_label, is_selected, list_labelled};
pub use deployment::{ContainerDeployment, ContainerNodeDescription, ContainerSpec, ExecOutput};
pub use error::ContainerError;
pub use image::{ImageAction, ImageSpec, ensure_image};
pub use node::{NodeRole, NodeSpec, SERVER_PORT, bind_server_port_on_loopback, mongo_container_args};
pub use replica::{DEFAULT_MEMBERS, REPLICA_SET_NAME, ReplicaSetOptions};
