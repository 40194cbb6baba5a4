//! The managed provider: a MongoDB API over replicated storage, the shape
//! of a managed document database (DocumentDB and the like) on one machine.
//! FerretDB over a private PostgreSQL primary, with zero or more streaming
//! standbys (`pg_basebackup -R -X stream`) each behind a site link of its
//! own, asynchronous or synchronous (`synchronous_standby_names`,
//! `synchronous_commit`), continuous WAL archiving into the run's
//! `wal-archive` folder, a FerretDB per site (a standby's answers reads
//! and refuses writes until it is promoted), and one cluster endpoint the
//! application connects to, pointing at the primary site.
//!
//! It owns those clusters, processes, relays and folders and its run
//! record. Faults: kill a site (PostgreSQL `-m immediate`, FerretDB
//! SIGKILL, and the site's links cut: WAL still on its way is lost) or
//! stop it cleanly; [`crate::provider::Deployment::fail_over`] promotes a
//! standby and moves the endpoint. Storage snapshots (base backups of the
//! primary) restore into a new cluster ([`RestoredCluster`]), replayed
//! from the WAL archive up to an instant for a point-in-time restore
//! ([`crate::provider::snapshot`]). It never elects anything: promotion is
//! the drill's (or the team's runbook's) decision, as in a managed
//! service's failover, not a MongoDB replica-set election.

mod deployment;
mod provider;
mod relay;
mod restored;
mod snapshots;
mod spec;

pub use deployment::ManagedDeployment;
pub use provider::start;
pub use relay::{LinkShape, Relay};
pub use restored::RestoredCluster;
pub use spec::{ManagedSpec, Replication};
