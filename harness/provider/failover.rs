//! What a failover asks of a deployment and what it answers: the one
//! provider operation that promotes a standby and moves the application's
//! endpoint to it ([`super::Deployment::fail_over`]). Only a provider with
//! standbys (the managed one) implements it; the rest answer
//! `Unsupported`.

use std::time::Duration;

use serde::Serialize;

/// How to fail over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRequest {
    /// The site to promote (1 for the first standby); `None`: the first
    /// standby still running.
    pub site: Option<usize>,
    /// Promote it (`pg_ctl promote`); `false` when the team's runbook
    /// command already did, and the deployment only waits until the
    /// standby has left recovery.
    pub promote: bool,
    /// How long the standby may take to leave recovery.
    pub timeout: Duration,
}

/// What a failover did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    /// The promoted site's index.
    pub site: usize,
    /// Its name (`site-1`).
    pub name: String,
    /// Where the application's endpoint points now (the promoted site's
    /// FerretDB, `127.0.0.1:PORT`).
    pub endpoint_target: String,
}
