//! The run's network and the nodes' volumes, and the engine calls that
//! testcontainers does not wrap (kill, network disconnect, removal with
//! volumes), through bollard.

use std::collections::HashMap;

use testcontainers::bollard::Docker;
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    VolumeCreateRequest,
};
use testcontainers::bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};

use super::error::ContainerError;

/// Whether an engine error means "no such object" (already gone).
pub fn is_not_found(error: &BollardError) -> bool {
    matches!(error, BollardError::DockerResponseServerError { status_code: 404, .. })
}

/// Creates the run's bridge network with the run's labels.
pub async fn create_network(
    docker: &Docker,
    name: &str,
    labels: HashMap<String, String>,
) -> Result<String, ContainerError> {
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        labels: Some(labels),
        ..Default::default()
    };
    let response = docker
        .create_network(request)
        .await
        .map_err(|error| ContainerError::engine("create network", name, error))?;
    Ok(response.id)
}

/// Creates a node's named volume with its labels.
pub async fn create_volume(docker: &Docker, name: &str, labels: HashMap<String, String>) -> Result<(), ContainerError> {
    let request = VolumeCreateRequest {
        name: Some(name.to_string()),
        labels: Some(labels),
        ..Default::default()
    };
    docker
        .create_volume(request)
        .await
        .map_err(|error| ContainerError::engine("create volume", name, error))?;
    Ok(())
}

/// SIGKILL to the container's main process: a crash, not a shutdown.
pub async fn kill_container(docker: &Docker, name: &str) -> Result<(), ContainerError> {
    let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
    docker
        .kill_container(name, Some(options))
        .await
        .map_err(|error| ContainerError::engine("kill container", name, error))
}

/// Cuts the container off the run's network (its published port too).
pub async fn disconnect(docker: &Docker, network: &str, container: &str) -> Result<(), ContainerError> {
    let request = NetworkDisconnectRequest {
        container: container.to_string(),
        force: Some(true),
    };
    docker
        .disconnect_network(network, request)
        .await
        .map_err(|error| ContainerError::engine(format!("disconnect from network {network}"), container, error))
}

/// Attaches the container to the run's network again, at `address` when
/// given: an address asked for explicitly stays the container's across
/// restarts, which replica-set members rely on.
pub async fn reconnect(
    docker: &Docker,
    network: &str,
    container: &str,
    address: Option<&str>,
) -> Result<(), ContainerError> {
    let endpoint_config = address.map(|address| EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(address.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let request = NetworkConnectRequest {
        container: container.to_string(),
        endpoint_config,
    };
    docker
        .connect_network(network, request)
        .await
        .map_err(|error| ContainerError::engine(format!("connect to network {network}"), container, error))
}

/// The container's IPv4 address on `network`, if it is attached.
pub async fn container_address(
    docker: &Docker,
    network: &str,
    container: &str,
) -> Result<Option<String>, ContainerError> {
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(|error| ContainerError::engine("inspect container", container, error))?;
    Ok(inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .and_then(|mut networks| networks.remove(network))
        .and_then(|endpoint| endpoint.ip_address)
        .filter(|address| !address.is_empty()))
}

/// Removes a container (forced, with anonymous volumes); absent is fine.
pub async fn remove_container(docker: &Docker, name: &str) -> Result<(), ContainerError> {
    let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(ContainerError::engine("remove container", name, error)),
    }
}

/// Removes a volume; absent is fine.
pub async fn remove_volume(docker: &Docker, name: &str) -> Result<(), ContainerError> {
    let options = RemoveVolumeOptionsBuilder::new().force(true).build();
    match docker.remove_volume(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(ContainerError::engine("remove volume", name, error)),
    }
}

/// Removes a network; absent is fine.
pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), ContainerError> {
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(ContainerError::engine("remove network", name, error)),
    }
}

/// The last `lines` lines of a container's logs (stdout and stderr), for
/// error messages; empty when the engine cannot give them.
pub async fn log_tail(docker: &Docker, name: &str, lines: usize) -> String {
    use futures_util::StreamExt;
    let options = testcontainers::bollard::query_parameters::LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}
