//! Finding the container engine: `DOCKER_HOST`, else Docker's socket, else
//! Podman's (rootful, then rootless). testcontainers reads only
//! `DOCKER_HOST` and Docker's own socket paths, so when the engine found is
//! Podman's socket the harness exports `DOCKER_HOST` for it, once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use testcontainers::bollard::{API_DEFAULT_VERSION, Docker};

use super::error::ContainerError;

/// Seconds an engine API call may take before bollard gives up. Image
/// builds and pulls are bounded separately.
const API_TIMEOUT_SECS: u64 = 120;

/// Which engine serves the socket, as far as its path tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Docker (or anything on Docker's socket path).
    Docker,
    /// Podman's Docker-compatible API service.
    Podman,
    /// Named by `DOCKER_HOST`; unknown until asked.
    FromEnvironment,
}

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEndpoint {
    /// `unix:///path` (or whatever `DOCKER_HOST` said).
    pub docker_host: String,
    /// The engine, guessed from the path.
    pub kind: EngineKind,
}

/// The sockets searched, in order, when `DOCKER_HOST` is not set.
pub fn candidate_sockets() -> Vec<(PathBuf, EngineKind)> {
    let mut candidates = vec![(PathBuf::from("/var/run/docker.sock"), EngineKind::Docker)];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        candidates.push((PathBuf::from(&runtime).join("docker.sock"), EngineKind::Docker));
    }
    candidates.push((PathBuf::from("/run/podman/podman.sock"), EngineKind::Podman));
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        candidates.push((PathBuf::from(runtime).join("podman/podman.sock"), EngineKind::Podman));
    }
    candidates
}

/// Picks the endpoint from `DOCKER_HOST` or the first existing socket of
/// `candidates`. Pure, for tests.
pub fn choose_endpoint(
    docker_host: Option<&str>,
    candidates: &[(PathBuf, EngineKind)],
    exists: impl Fn(&Path) -> bool,
) -> Result<EngineEndpoint, ContainerError> {
    if let Some(host) = docker_host.filter(|host| !host.trim().is_empty()) {
        let kind = if host.contains("podman") {
            EngineKind::Podman
        } else {
            EngineKind::FromEnvironment
        };
        return Ok(EngineEndpoint {
            docker_host: host.to_string(),
            kind,
        });
    }
    candidates
        .iter()
        .find(|(path, _)| exists(path))
        .map(|(path, kind)| EngineEndpoint {
            docker_host: format!("unix://{}", path.display()),
            kind: *kind,
        })
        .ok_or_else(|| ContainerError::EngineNotFound {
            looked: std::iter::once("$DOCKER_HOST".to_string())
                .chain(candidates.iter().map(|(path, _)| path.display().to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The engine of this machine, found once per process. When it was found
/// by its socket rather than `DOCKER_HOST`, `DOCKER_HOST` is set so that
/// testcontainers (which reads only that variable) talks to the same engine.
pub fn locate() -> Result<EngineEndpoint, ContainerError> {
    static FOUND: OnceLock<EngineEndpoint> = OnceLock::new();
    if let Some(found) = FOUND.get() {
        return Ok(found.clone());
    }
    let from_environment = std::env::var("DOCKER_HOST").ok();
    let endpoint = choose_endpoint(from_environment.as_deref(), &candidate_sockets(), Path::exists)?;
    let endpoint = FOUND.get_or_init(|| endpoint).clone();
    if from_environment.is_none() {
        static EXPORTED: OnceLock<()> = OnceLock::new();
        EXPORTED.get_or_init(|| {
            // SAFETY: done once per process (OnceLock), before the first
            // testcontainers client is created; nothing else in the harness
            // writes the environment, and readers of DOCKER_HOST are only
            // testcontainers and bollard, which read it after this point.
            unsafe { std::env::set_var("DOCKER_HOST", &endpoint.docker_host) };
        });
    }
    Ok(endpoint)
}

/// A bollard client for the engine, for what testcontainers does not wrap
/// (networks, volumes, kill, labels). A new client per call: clients hold
/// connections tied to the runtime that made them, and the `Drop` fallback
/// runs on a runtime of its own.
pub fn connect(endpoint: &EngineEndpoint) -> Result<Docker, ContainerError> {
    let host = &endpoint.docker_host;
    let result = match host.strip_prefix("unix://") {
        Some(path) => Docker::connect_with_unix(path, API_TIMEOUT_SECS, API_DEFAULT_VERSION),
        None => Docker::connect_with_http(host, API_TIMEOUT_SECS, API_DEFAULT_VERSION),
    };
    result.map_err(|error| ContainerError::engine("connect to", host, error))
}

/// Finds the engine and checks that it answers.
pub async fn connect_and_ping() -> Result<(EngineEndpoint, Docker), ContainerError> {
    let endpoint = locate()?;
    let docker = connect(&endpoint)?;
    docker
        .ping()
        .await
        .map_err(|error| ContainerError::engine("ping", &endpoint.docker_host, error))?;
    Ok((endpoint, docker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates() -> Vec<(PathBuf, EngineKind)> {
        vec![
            (PathBuf::from("/var/run/docker.sock"), EngineKind::Docker),
            (PathBuf::from("/run/podman/podman.sock"), EngineKind::Podman),
        ]
    }

    #[test]
    fn docker_host_wins_over_sockets() {
        let endpoint = choose_endpoint(Some("tcp://10.0.0.1:2375"), &candidates(), |_| true).unwrap();
        assert_eq!(endpoint.docker_host, "tcp://10.0.0.1:2375");
        assert_eq!(endpoint.kind, EngineKind::FromEnvironment);
        let podman = choose_endpoint(Some("unix:///run/podman/podman.sock"), &candidates(), |_| false).unwrap();
        assert_eq!(podman.kind, EngineKind::Podman);
    }

    #[test]
    fn docker_socket_comes_before_podman_socket() {
        let endpoint = choose_endpoint(None, &candidates(), |_| true).unwrap();
        assert_eq!(endpoint.docker_host, "unix:///var/run/docker.sock");
        let endpoint = choose_endpoint(None, &candidates(), |path| path.ends_with("podman.sock")).unwrap();
        assert_eq!(endpoint.docker_host, "unix:///run/podman/podman.sock");
        assert_eq!(endpoint.kind, EngineKind::Podman);
    }

    #[test]
    fn no_engine_names_the_places_and_the_fix() {
        let error = choose_endpoint(Some(""), &candidates(), |_| false).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("/run/podman/podman.sock"), "{text}");
        assert!(text.contains("scripts/podman-service"), "{text}");
    }
}
