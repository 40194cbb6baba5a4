//! The containers provider: deployments of containers through
//! testcontainers on Docker or Podman. One container per node on a
//! per-drill network, data on named volumes, ports published on 127.0.0.1,
//! readiness by `hello`. FerretDB runs from an image the harness builds
//! offline; MongoDB from the official `mongo` image, as a replica set (with
//! an arbiter) when asked. Faults are real engine operations: kill, stop,
//! pause, network disconnect, removal with the volume, exec.
//!
//! It owns every container, volume and network it labels with the run's
//! id, and `clean` finds them by those labels; it never touches an object
//! without its labels, and never wipes a node's data in place (remove the
//! node with its volume instead).

mod clean;
mod deployment;
pub mod engine;
mod error;
pub mod image;
pub mod labels;
mod network;
mod node;
mod provider;
mod replica;

pub use crate::provider::ExecOutput;
pub use clean::{CleanSelection, LabelledObject, ObjectKind, clean, clean_by_label, is_selected, list_labelled};
pub use deployment::{ContainerDeployment, ContainerNodeDescription, ContainerSpec};
pub use error::ContainerError;
pub use image::{ImageAction, ImageSpec, ensure_image};
pub use node::{NodeRole, NodeSpec, SERVER_PORT, bind_server_port_on_loopback, mongo_container_args};
pub use provider::start;
pub use replica::{DEFAULT_MEMBERS, REPLICA_SET_NAME, ReplicaSetOptions};
