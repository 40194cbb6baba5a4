//! Starting, describing, faulting and tearing down deployments.
//!
//! Owns every deployment a drill runs against: local server processes
//! ([`local`]), containers ([`containers`]) and an existing deployment
//! named by URI ([`external`]). Each provider implements the
//! [`Deployment`] and [`NodeFaults`] traits; [`start`] picks the provider
//! from the [`DeploymentSpec`] through the one table below, and callers
//! hold a `Box<dyn Deployment>` without ever matching on the provider. Whatever a provider starts, it owns: explicit async teardown,
//! a `Drop` fallback that kills, a keep switch for debugging, and a record
//! on disk from which `drdrill clean` removes the leftovers of a killed run.
//!
//! It never reads scenario files (it gets a [`DeploymentSpec`]), never
//! prints, never seeds, backs up or judges: it hands out URIs and injects
//! the faults it is asked for.

// The providers' folders; each is registered in the table below.
pub mod containers;
pub mod external;
pub mod local;
pub mod managed;

mod deployment;
pub mod error;
pub mod failover;
mod kinds;
mod lifecycle;
pub mod postgres;
pub mod ready;
pub mod record;
mod registry;
pub mod replica_set;
pub mod server_info;
pub mod snapshot;
mod spec;
pub mod tools;

pub use deployment::{Deployment, ExecOutput, NodeFaults, NodeRole, NodeState};
pub use error::{NodeOperation, ProviderError};
pub use kinds::{Backend, Engine};
pub use local::{LocalDeployment, LocalSpec};
pub use spec::DeploymentSpec;

// The providers: one line each (see `registry.rs`).
registry::providers! {
    /// Server processes started by the harness on this machine.
    #[default]
    Local => "local" in local, owned: true;
    /// Containers started through testcontainers (Docker or Podman).
    Containers => "containers" in containers, owned: true;
    /// An existing deployment named by URI; never destroyed.
    External => "external" in external, owned: false;
    /// FerretDB over a PostgreSQL primary with streaming standbys, WAL
    /// archiving and a cluster endpoint: a managed MongoDB-API service.
    Managed => "managed" in managed, owned: true;
}
