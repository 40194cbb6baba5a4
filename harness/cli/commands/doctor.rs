//! `drdrill doctor`: what is usable here, and the command that fixes each
//! thing that is not.

use std::path::PathBuf;
use std::time::Duration;

use drdrill::backup::tools::Tool;
use drdrill::provider::{LocalDeployment, LocalSpec, tools};

use crate::cli::Outcome;
use crate::cli::output::{print_json, table};

/// One line of the report.
#[derive(Debug, serde::Serialize)]
struct Check {
    /// What was checked.
    component: String,
    /// `ok`, `missing` or `broken`.
    status: &'static str,
    /// What was found.
    detail: String,
    /// The command that fixes it, when it is not ok.
    fix: Option<String>,
}

fn version_of(program: &PathBuf, flag: &str) -> String {
    std::process::Command::new(program)
        .arg(flag)
        .output()
        .ok()
        .map(|output| {
            let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
            text.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// Checks engines, backends, tools and the container engine.
pub async fn run(json: bool, _quiet: bool) -> anyhow::Result<Outcome> {
    let mut checks = Vec::new();
    let setup = tools::SETUP_COMMAND.to_string();

    // FerretDB: present, and really starts and answers (a one-second test).
    match tools::locate_ferretdb() {
        Ok(found) => {
            checks.push(ok("engine ferretdb", &found_detail(&found, "--version")));
            let mut spec = LocalSpec::new(super::serve::new_run_id("doctor"));
            spec.ready_timeout = Duration::from_secs(15);
            match LocalDeployment::start(spec).await {
                Ok(deployment) => {
                    deployment.teardown().await;
                    checks.push(ok("backend sqlite", "started a node and it answered hello"));
                }
                Err(error) => checks.push(broken("backend sqlite", &error.to_string(), &setup)),
            }
        }
        Err(error @ drdrill::provider::ProviderError::VariableMisnamed { .. }) => {
            checks.push(broken(
                "engine ferretdb",
                &error.to_string(),
                "unset DRDRILL_FERRETDB, or fix it",
            ));
            checks.push(missing("backend sqlite", "needs ferretdb", &setup));
        }
        Err(error) => {
            checks.push(missing("engine ferretdb", &error.to_string(), &setup));
            checks.push(missing("backend sqlite", "needs ferretdb", &setup));
        }
    }
    match tools::locate_postgres_bin() {
        Ok(found) => checks.push(ok(
            "backend postgresql",
            &format!(
                "{} ({}), chosen by {}",
                found.path.display(),
                version_of(&found.path.join("postgres"), "--version"),
                found.chosen_by
            ),
        )),
        Err(error @ drdrill::provider::ProviderError::VariableMisnamed { .. }) => {
            checks.push(broken(
                "backend postgresql",
                &error.to_string(),
                "unset DRDRILL_PG_BIN, or fix it",
            ));
        }
        Err(error) => checks.push(missing("backend postgresql", &error.to_string(), &setup)),
    }
    match tools::locate_mongod() {
        Ok(found) => checks.push(ok("engine mongodb", &found_detail(&found, "--version"))),
        Err(error @ drdrill::provider::ProviderError::VariableMisnamed { .. }) => {
            checks.push(broken(
                "engine mongodb",
                &error.to_string(),
                "unset DRDRILL_MONGOD, or fix it",
            ));
        }
        Err(_) => checks.push(missing(
            "engine mongodb",
            "mongod is not on PATH (local processes); the containers provider uses the mongo image instead",
            "install MongoDB Community Server, or set DRDRILL_MONGOD",
        )),
    }
    for tool in [Tool::Mongodump, Tool::Mongorestore] {
        checks.push(backup_tool(tool));
    }
    checks.push(container_engine());
    checks.extend(container_images().await);

    let usable = checks
        .iter()
        .any(|check| check.component == "backend sqlite" && check.status == "ok");
    if json {
        print_json(&serde_json::json!({ "checks": checks, "embedded_default_usable": usable }))?;
    } else {
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|check| {
                vec![
                    check.component.clone(),
                    check.status.to_string(),
                    check.detail.clone(),
                    check.fix.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!("{}", table(&["component", "status", "detail", "fix"], &rows));
    }
    Ok(if usable { Outcome::Success } else { Outcome::Failed })
}

/// `PATH (VERSION), chosen by WHAT`.
fn found_detail(found: &tools::Found, version_flag: &str) -> String {
    format!(
        "{} ({}), chosen by {}",
        found.path.display(),
        version_of(&found.path, version_flag),
        found.chosen_by
    )
}

/// mongodump or mongorestore: named by its variable, or on `PATH`.
fn backup_tool(tool: Tool) -> Check {
    let component = format!("tool {}", tool.program_name());
    match drdrill::backup::tools::locate(tool) {
        Ok(found) => ok(&component, &found_detail(&found, "--version")),
        Err(error @ drdrill::backup::tools::ToolsError::NotExecutable { .. }) => broken(
            &component,
            &error.to_string(),
            &format!("unset {}, or point it at {}", tool.variable(), tool.program_name()),
        ),
        Err(_) => missing(
            &component,
            &format!(
                "not on PATH (nor named by ${}): backups use the builtin engine (same formats)",
                tool.variable()
            ),
            "install MongoDB Database Tools (mongodb-database-tools)",
        ),
    }
}

fn ok(component: &str, detail: &str) -> Check {
    Check {
        component: component.into(),
        status: "ok",
        detail: detail.into(),
        fix: None,
    }
}

fn missing(component: &str, detail: &str, fix: &str) -> Check {
    Check {
        component: component.into(),
        status: "missing",
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn broken(component: &str, detail: &str, fix: &str) -> Check {
    Check {
        component: component.into(),
        status: "broken",
        detail: detail.lines().next().unwrap_or("").into(),
        fix: Some(fix.into()),
    }
}

/// The Docker-compatible socket: `DOCKER_HOST`, Docker's, or Podman's.
fn container_engine() -> Check {
    let candidates: Vec<String> = std::env::var("DOCKER_HOST")
        .ok()
        .into_iter()
        .chain([
            "unix:///var/run/docker.sock".to_string(),
            "unix:///run/podman/podman.sock".to_string(),
        ])
        .collect();
    for candidate in &candidates {
        if let Some(path) = candidate.strip_prefix("unix://")
            && std::os::unix::net::UnixStream::connect(path).is_ok()
        {
            let chosen_by = if Some(candidate) == candidates.first() && std::env::var_os("DOCKER_HOST").is_some() {
                "$DOCKER_HOST"
            } else {
                "the default socket path"
            };
            return ok(
                "container engine",
                &format!("{candidate} answers, chosen by {chosen_by}"),
            );
        }
    }
    let fix = if tools::find_on_path("podman").is_some() {
        "podman system service --time=0 unix:///run/podman/podman.sock & export DOCKER_HOST=unix:///run/podman/podman.sock"
    } else {
        "scripts/setup (installs podman), then start its socket"
    };
    missing(
        "container engine",
        &format!("no socket answers ({})", candidates.join(", ")),
        fix,
    )
}

/// The containers provider's images: the FerretDB one (built offline from
/// the local binary by `drdrill images`) and the official `mongo` one
/// (pulled where a registry is reachable), and the tools inside it.
async fn container_images() -> Vec<Check> {
    use drdrill::provider::Engine;
    use drdrill::provider::containers::{ImageSpec, engine, image};
    let Ok(endpoint) = engine::locate() else {
        return vec![missing(
            "container images",
            "no container engine answers",
            "start one (see `container engine`)",
        )];
    };
    let Ok(docker) = engine::connect(&endpoint) else {
        return vec![broken(
            "container images",
            "cannot talk to the container engine",
            "scripts/podman-service",
        )];
    };
    let mut checks = Vec::new();
    for (engine, fix) in [
        (
            Engine::Ferretdb,
            "drdrill images (builds it offline from .tools/bin/ferretdb)",
        ),
        (
            Engine::Mongodb,
            "drdrill images (pulls mongo:7.0), or `podman load`/`docker load` it in an air-gapped network",
        ),
    ] {
        let spec = ImageSpec::for_engine(engine, None);
        let component = format!("image {}", spec.reference());
        match image::is_present(&docker, &spec).await {
            Ok(true) => {
                let detail = if engine == Engine::Mongodb {
                    "present; holds mongod, mongodump and mongorestore (runbook steps can run inside it)"
                } else {
                    "present (FROM scratch, the static FerretDB binary only: no mongodump inside, so backups run on the host)"
                };
                checks.push(ok(&component, detail));
            }
            Ok(false) => checks.push(missing(&component, "not present", fix)),
            Err(error) => checks.push(broken(&component, &error.to_string(), fix)),
        }
    }
    checks
}
