//! `drdrill images`: lists the images the containers provider runs, builds
//! the FerretDB image when it is missing (offline, from the local binary)
//! and pulls missing `mongo` images within a timeout. Exit 2 when an image
//! stays missing, with the reason.

use std::time::Duration;

use clap::Args;
use drdrill::provider::Engine;
use drdrill::provider::containers::{ImageAction, ImageSpec, engine, ensure_image, image};

use crate::cli::Outcome;
use crate::cli::output::{print_json, table};

/// `drdrill images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only list what is present; build and pull nothing.
    #[arg(long)]
    pub check: bool,
    /// Only the images of this engine (default: both).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// `mongo` image tags to provide (repeatable).
    #[arg(long = "mongo-tag", default_value = image::DEFAULT_MONGO_TAG)]
    pub mongo_tags: Vec<String>,
    /// Seconds a pull may take before it counts as failed.
    #[arg(long, default_value_t = image::DEFAULT_PULL_TIMEOUT.as_secs())]
    pub pull_timeout: u64,
}

/// One image and what happened to it.
#[derive(Debug, serde::Serialize)]
struct ImageLine {
    /// `name:tag`.
    image: String,
    /// The engine it serves.
    engine: Engine,
    /// `present`, `built`, `pulled` or `missing`.
    status: &'static str,
    /// Why it is missing, when it is.
    problem: Option<String>,
}

/// Lists, builds and pulls the provider's images.
pub async fn run(args: ImagesArgs) -> anyhow::Result<Outcome> {
    let (endpoint, docker) = engine::connect_and_ping().await?;
    let mut wanted = Vec::new();
    if args.engine.is_none_or(|engine| engine == Engine::Ferretdb) {
        wanted.push((Engine::Ferretdb, ImageSpec::for_engine(Engine::Ferretdb, None)));
    }
    if args.engine.is_none_or(|engine| engine == Engine::Mongodb) {
        for tag in &args.mongo_tags {
            wanted.push((Engine::Mongodb, ImageSpec::for_engine(Engine::Mongodb, Some(tag))));
        }
    }
    let mut lines = Vec::new();
    for (engine, spec) in wanted {
        let (status, problem) = if args.check {
            match image::is_present(&docker, &spec).await {
                Ok(true) => ("present", None),
                Ok(false) => (
                    "missing",
                    Some("not present (run without --check to provide it)".to_string()),
                ),
                Err(error) => ("missing", Some(error.to_string())),
            }
        } else {
            match ensure_image(&docker, &endpoint, &spec, Duration::from_secs(args.pull_timeout)).await {
                Ok(ImageAction::Present) => ("present", None),
                Ok(ImageAction::Built) => ("built", None),
                Ok(ImageAction::Pulled) => ("pulled", None),
                Err(error) => ("missing", Some(error.to_string())),
            }
        };
        lines.push(ImageLine {
            image: spec.reference(),
            engine,
            status,
            problem,
        });
    }
    if args.json {
        print_json(&serde_json::json!({ "engine_host": endpoint.docker_host, "images": lines }))?;
    } else {
        let rows: Vec<Vec<String>> = lines
            .iter()
            .map(|line| vec![line.image.clone(), line.engine.to_string(), line.status.to_string()])
            .collect();
        print!("{}", table(&["image", "engine", "status"], &rows));
    }
    let problems: Vec<String> = lines.iter().filter_map(|line| line.problem.clone()).collect();
    if problems.is_empty() {
        Ok(Outcome::Success)
    } else {
        anyhow::bail!("{}", problems.join("; "))
    }
}
