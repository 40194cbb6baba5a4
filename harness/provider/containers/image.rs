//! The images deployments run: the official `mongo` image (pulled where a
//! registry is reachable), and the FerretDB image the harness builds
//! offline, `FROM scratch`, from the static binary `scripts/setup` builds,
//! so that a drill on containers needs no registry at all.

use std::time::Duration;

use futures_util::StreamExt;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::CreateImageOptionsBuilder;

use super::engine::{EngineEndpoint, EngineKind};
use super::error::ContainerError;
use crate::provider::{Engine, ProviderError, tools};

/// The FerretDB image's repository.
pub const FERRETDB_IMAGE: &str = "localhost/drdrill-ferretdb";
/// Its tag: the FerretDB version the binary reports.
pub const FERRETDB_TAG: &str = "v1.24.2";
/// The official MongoDB image.
pub const MONGO_IMAGE: &str = "mongo";
/// The `mongo` tag when the scenario names none.
pub const DEFAULT_MONGO_TAG: &str = "7.0";
/// The build definition, kept in `fixtures/containers/ferretdb/` and
/// compiled in so that an installed binary can build the image too.
pub const FERRETDB_CONTAINERFILE: &str = include_str!("../../../fixtures/containers/ferretdb/Containerfile");
/// How long a pull may take before the drill gives up (exit 2, not a hang).
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long building the FerretDB image may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// An image a deployment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// Repository (`mongo`, `localhost/drdrill-ferretdb`).
    pub name: String,
    /// Tag.
    pub tag: String,
    /// Whether the harness builds it (else it is pulled).
    pub built_locally: bool,
}

impl ImageSpec {
    /// The image for `engine`; `mongo_tag` applies to MongoDB only.
    pub fn for_engine(engine: Engine, mongo_tag: Option<&str>) -> Self {
        match engine {
            Engine::Ferretdb => Self {
                name: FERRETDB_IMAGE.into(),
                tag: FERRETDB_TAG.into(),
                built_locally: true,
            },
            Engine::Mongodb => Self {
                name: MONGO_IMAGE.into(),
                tag: mongo_tag.unwrap_or(DEFAULT_MONGO_TAG).into(),
                built_locally: false,
            },
        }
    }

    /// `name:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

/// What [`ensure_image`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageAction {
    /// It was there already.
    Present,
    /// The harness built it.
    Built,
    /// The engine pulled it.
    Pulled,
}

/// Whether the engine has `image`.
pub async fn is_present(docker: &Docker, image: &ImageSpec) -> Result<bool, ContainerError> {
    match docker.inspect_image(&image.reference()).await {
        Ok(_) => Ok(true),
        Err(testcontainers::bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(error) => Err(ContainerError::engine("inspect image", image.reference(), error)),
    }
}

/// Makes `image` present: builds the FerretDB image, pulls anything else
/// within `pull_timeout`. A pull that fails or times out is
/// [`ContainerError::ImageUnavailable`], never a hang.
pub async fn ensure_image(
    docker: &Docker,
    endpoint: &EngineEndpoint,
    image: &ImageSpec,
    pull_timeout: Duration,
) -> Result<ImageAction, ProviderError> {
    if is_present(docker, image).await? {
        return Ok(ImageAction::Present);
    }
    if image.built_locally {
        // Deployments started side by side (parallel tests, several drills)
        // would each build the image and leave untagged copies: build once,
        // and let the others find it present.
        static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _building = BUILDING.lock().await;
        if is_present(docker, image).await? {
            return Ok(ImageAction::Present);
        }
        build_ferretdb_image(endpoint, image).await?;
        return Ok(ImageAction::Built);
    }
    pull(docker, image, pull_timeout).await?;
    Ok(ImageAction::Pulled)
}

async fn pull(docker: &Docker, image: &ImageSpec, timeout: Duration) -> Result<(), ContainerError> {
    let unavailable = |reason: String| ContainerError::ImageUnavailable {
        image: image.reference(),
        reason,
    };
    let options = CreateImageOptionsBuilder::new()
        .from_image(&image.name)
        .tag(&image.tag)
        .build();
    let pulling = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(progress) = stream.next().await {
            progress.map_err(|error| error.to_string())?;
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(timeout, pulling).await {
        Err(_) => Err(unavailable(format!(
            "the pull did not finish within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(reason)) => Err(unavailable(reason)),
        Ok(Ok(())) => match is_present(docker, image).await? {
            true => Ok(()),
            false => Err(unavailable("the engine reported no error but has no such image".into())),
        },
    }
}

/// The command line that builds the FerretDB image from `context`, for the
/// engine's own CLI. Pure, for tests.
pub fn build_command(endpoint: &EngineEndpoint, image: &ImageSpec, context: &std::path::Path) -> Vec<String> {
    let mut command = Vec::new();
    // An engine named only by DOCKER_HOST is built for with whichever CLI
    // is installed; both speak to a socket given on the command line.
    let podman = match endpoint.kind {
        EngineKind::Podman => true,
        EngineKind::Docker => false,
        EngineKind::FromEnvironment => tools::find_on_path("docker").is_none(),
    };
    if podman {
        // `--url` makes podman build in the service the harness talks to,
        // which may not be the storage the local CLI would use.
        command.extend(["podman".to_string(), "--url".into(), endpoint.docker_host.clone()]);
    } else {
        command.extend(["docker".to_string(), "--host".into(), endpoint.docker_host.clone()]);
    }
    command.extend([
        "build".to_string(),
        "--tag".into(),
        image.reference(),
        "--file".into(),
        context.join("Containerfile").display().to_string(),
        context.display().to_string(),
    ]);
    command
}

/// Builds the FerretDB image: the binary and the Containerfile are copied
/// into a temporary build context, then the engine's CLI builds it.
pub async fn build_ferretdb_image(endpoint: &EngineEndpoint, image: &ImageSpec) -> Result<(), ProviderError> {
    let binary = tools::ferretdb()?;
    let context = tempfile::Builder::new()
        .prefix("drdrill-image-")
        .tempdir()
        .map_err(|error| ProviderError::io(std::env::temp_dir(), error))?;
    let containerfile = context.path().join("Containerfile");
    std::fs::write(&containerfile, FERRETDB_CONTAINERFILE).map_err(|error| ProviderError::io(&containerfile, error))?;
    let copied = context.path().join("ferretdb");
    std::fs::copy(&binary, &copied).map_err(|error| ProviderError::io(&binary, error))?;
    let command = build_command(endpoint, image, context.path());
    let program = tools::find_on_path(&command[0]).ok_or_else(|| ProviderError::ToolMissing {
        tool: command[0].clone(),
        looked: "PATH".into(),
        fix: tools::SETUP_COMMAND.into(),
    })?;
    let failed = |output: String| ContainerError::ImageBuild {
        image: image.reference(),
        command: command.join(" "),
        output,
    };
    let running = tokio::process::Command::new(program)
        .args(&command[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(BUILD_TIMEOUT, running).await {
        Err(_) => return Err(failed(format!("no result within {} s", BUILD_TIMEOUT.as_secs())).into()),
        Ok(Err(error)) => return Err(failed(error.to_string()).into()),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(failed(text.trim().to_string()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_map_to_their_images() {
        let ferretdb = ImageSpec::for_engine(Engine::Ferretdb, Some("6.0"));
        assert_eq!(ferretdb.reference(), "localhost/drdrill-ferretdb:v1.24.2");
        assert!(ferretdb.built_locally);
        assert_eq!(ImageSpec::for_engine(Engine::Mongodb, None).reference(), "mongo:7.0");
        let six = ImageSpec::for_engine(Engine::Mongodb, Some("6.0"));
        assert_eq!(six.reference(), "mongo:6.0");
        assert!(!six.built_locally);
    }

    #[test]
    fn the_containerfile_is_from_scratch_with_the_sqlite_entrypoint() {
        assert!(FERRETDB_CONTAINERFILE.contains("FROM scratch"));
        assert!(FERRETDB_CONTAINERFILE.contains("COPY ferretdb /ferretdb"));
        for flag in [
            "--handler=sqlite",
            "--sqlite-url=file:/state/",
            "--state-dir=/state",
            "--listen-addr=:27017",
            "--debug-addr=-",
            "--telemetry=disable",
        ] {
            assert!(FERRETDB_CONTAINERFILE.contains(flag), "{flag}");
        }
    }

    #[test]
    fn podman_builds_through_the_service_the_harness_uses() {
        let endpoint = EngineEndpoint {
            docker_host: "unix:///run/podman/podman.sock".into(),
            kind: EngineKind::Podman,
        };
        let image = ImageSpec::for_engine(Engine::Ferretdb, None);
        let command = build_command(&endpoint, &image, std::path::Path::new("/tmp/ctx"));
        assert_eq!(
            command,
            [
                "podman",
                "--url",
                "unix:///run/podman/podman.sock",
                "build",
                "--tag",
                "localhost/drdrill-ferretdb:v1.24.2",
                "--file",
                "/tmp/ctx/Containerfile",
                "/tmp/ctx"
            ]
        );
    }
}
