//! `drdrill serve`: a local deployment for people and scripts, until Ctrl-C.

use std::time::Duration;

use drdrill::provider::{LocalDeployment, LocalSpec};

use crate::cli::Outcome;
use crate::cli::args::ServeArgs;
use crate::cli::output::{print_json, table};

/// Starts the deployment, prints its URI, waits for Ctrl-C or SIGTERM, and
/// tears down.
pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let json = args.json;
    let mut spec = LocalSpec::new(new_run_id("serve"));
    spec.engine = args.engine;
    spec.backend = args.backend;
    spec.nodes = usize::from(args.nodes);
    // `serve` has always made several `mongod` nodes one replica set.
    if spec.engine == drdrill::provider::Engine::Mongodb && spec.nodes > 1 {
        spec.replica_set = Some(Default::default());
    }
    spec.keep = args.keep;
    spec.ready_timeout = Duration::from_secs(args.ready_timeout);
    if let Some(dir) = args.work_dir {
        spec.work_dir = dir;
    }
    // Signals are hooked before anything starts, so a Ctrl-C during
    // start-up still tears down what was started.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let start = LocalDeployment::start(spec);
    let mut deployment = tokio::select! {
        result = start => result?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted while starting"),
        _ = terminate.recv() => anyhow::bail!("terminated while starting"),
    };
    let nodes = deployment.describe();
    if json {
        print_json(&serde_json::json!({
            "run_id": deployment.run_id(),
            "engine": deployment.engine().to_string(),
            "backend": deployment.backend().to_string(),
            "uri": deployment.uri().to_string(),
            "nodes": nodes,
        }))?;
    } else {
        // The URI alone on the first line, so scripts can `head -1` it.
        println!("{}", deployment.uri());
        let rows: Vec<Vec<String>> = nodes
            .iter()
            .map(|node| {
                vec![
                    node.name.clone(),
                    node.uri.clone(),
                    node.pid.map(|pid| pid.to_string()).unwrap_or_default(),
                    node.data_dir.display().to_string(),
                ]
            })
            .collect();
        eprint!("{}", table(&["node", "uri", ">pid", "data"], &rows));
        eprintln!(
            "{} over {}, run {}; Ctrl-C stops it",
            deployment.engine(),
            deployment.backend(),
            deployment.run_id()
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    if let Some(message) = deployment.teardown().await {
        eprintln!("{message}");
    } else {
        eprintln!("stopped and removed");
    }
    Ok(Outcome::Success)
}

/// `<UTC yyyymmddThhmmssZ>-<name>-<4 hex>`, as the semantics page defines
/// run ids.
pub fn new_run_id(name: &str) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let suffix: u16 = rand::random();
    format!("{stamp}-{name}-{suffix:04x}")
}
