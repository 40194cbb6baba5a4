//! One file per command; [`run`] dispatches.

mod archive_arg;
mod checksum;
mod clean;
mod compare;
mod doctor;
pub mod dump;
pub mod images;
pub mod restore;
mod run;
mod seed;
mod serve;
mod validate;
pub mod verify_backup;

use super::Outcome;
use super::args::{Cli, Command};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Seed(args) => seed::run(args, quiet).await,
        Command::Checksum(args) => checksum::run(args, quiet).await,
        Command::Compare(args) => compare::run(args, quiet).await,
        Command::Clean(args) => clean::run(args).await,
        Command::Images(args) => images::run(args).await,
        Command::Dump(args) => {
            let json = args.json;
            dump::run(args, json, quiet).await
        }
        Command::Restore(args) => {
            let json = args.json;
            restore::run(args, json, quiet).await
        }
        Command::VerifyBackup(args) => {
            let json = args.json;
            verify_backup::run(args, json).await
        }
        Command::Doctor(args) => doctor::run(args.json, quiet).await,
        Command::Run(args) => run::run(args, quiet).await,
        Command::Validate(args) => validate::run(args.files, args.json).await,
    }
}

/// Connects to `uri` and checks that the server answers, so that every
/// command fails with one clear line on an unreachable or malformed URI.
pub async fn connect(uri: &str) -> anyhow::Result<(drdrill::uri::MongoUri, mongodb::Client)> {
    use anyhow::Context;
    let uri = drdrill::uri::MongoUri::parse(uri)?;
    let mut options = mongodb::options::ClientOptions::parse(uri.expose_secret())
        .await
        .map_err(|error| anyhow::anyhow!("malformed URI {uri}: {}", drdrill::uri::redact(&error.to_string())))?;
    options
        .server_selection_timeout
        .get_or_insert(std::time::Duration::from_secs(5));
    options.app_name.get_or_insert_with(|| "drdrill".into());
    let client = mongodb::Client::with_options(options)?;
    drdrill::provider::ready::hello(&client)
        .await
        .map_err(|error| anyhow::anyhow!("{}", drdrill::uri::redact(&error.to_string())))
        .with_context(|| format!("cannot reach {uri}"))?;
    Ok((uri, client))
}
