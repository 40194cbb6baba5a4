//! What can go wrong talking to the container engine. Wrapped in
//! [`ProviderError::Containers`](crate::provider::ProviderError) so that the
//! provider surface has one error type.

/// A container-engine failure, with the object it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No engine socket answered.
    #[error(
        "no container engine found (looked at {looked}): run `scripts/podman-service` and export the DOCKER_HOST it prints, or start Docker"
    )]
    EngineNotFound {
        /// The places searched.
        looked: String,
    },
    /// An engine API call failed.
    #[error("{operation} {target}")]
    Engine {
        /// What was asked (`create network`, `kill container` ...).
        operation: String,
        /// The object's name.
        target: String,
        /// The engine's answer.
        #[source]
        source: Box<testcontainers::bollard::errors::Error>,
    },
    /// testcontainers failed creating, starting or inspecting a container.
    #[error("{operation} {target}")]
    Testcontainers {
        /// What was asked.
        operation: String,
        /// The container's name.
        target: String,
        /// testcontainers' error.
        #[source]
        source: Box<testcontainers::TestcontainersError>,
    },
    /// An image is missing and could not be pulled in time.
    #[error(
        "image {image} is not present and cannot be pulled ({reason}): run `drdrill images` where a registry is reachable, or load it with `podman load` / `docker load`"
    )]
    ImageUnavailable {
        /// `name:tag`.
        image: String,
        /// Why the pull failed.
        reason: String,
    },
    /// Building the FerretDB image failed.
    #[error("building image {image} with `{command}` failed: {output}")]
    ImageBuild {
        /// `name:tag`.
        image: String,
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

impl ContainerError {
    /// Wraps a bollard error with what was being done.
    pub(crate) fn engine(
        operation: impl Into<String>,
        target: impl Into<String>,
        source: testcontainers::bollard::errors::Error,
    ) -> Self {
        Self::Engine {
            operation: operation.into(),
            target: target.into(),
            source: Box::new(source),
        }
    }

    /// Wraps a testcontainers error with what was being done.
    pub(crate) fn testcontainers(
        operation: impl Into<String>,
        target: impl Into<String>,
        source: testcontainers::TestcontainersError,
    ) -> Self {
        Self::Testcontainers {
            operation: operation.into(),
            target: target.into(),
            source: Box::new(source),
        }
    }
}

impl From<ContainerError> for crate::provider::ProviderError {
    fn from(error: ContainerError) -> Self {
        Self::Containers(Box::new(error))
    }
}
