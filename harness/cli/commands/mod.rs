//! One file per command; [`run`] dispatches.

mod archive_arg;
mod checksum;
mod clean;
mod compare;
mod doctor;
pub mod dump;
pub mod gate;
pub mod history;
pub mod images;
pub mod lint;
pub mod metrics;
pub mod restore;
pub mod retention;
mod run;
mod seed;
mod serve;
pub mod status;
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
        Command::Lint(args) => lint::run(args).await,
        Command::Retention(args) => retention::run(args).await,
        Command::History(args) => history::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Gate(args) => gate::run(args).await,
        Command::Metrics(args) => metrics::run(args).await,
    }
}

/// Connects to `uri` and checks that the server answers, so that every
/// command fails with one clear line on an unreachable or malformed URI.
pub async fn connect(uri: &str) -> anyhow::Result<(drdrill::uri::MongoUri, mongodb::Client)> {
    connect_within(uri, None).await
}

/// [`connect`] within `timeout` (default: the command profile's 5 s, or the
/// URI's `serverSelectionTimeoutMS`). The failure is one line: the URI, each
/// address tried and what happened there.
pub async fn connect_within(
    uri: &str,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<(drdrill::uri::MongoUri, mongodb::Client)> {
    use drdrill::connect::{ConnectProfile, client_within, explain};
    let uri = drdrill::uri::MongoUri::parse(uri)?;
    // The driver's messages may quote the string: they are scrubbed of it
    // and of its password before they are shown.
    let scrubber = uri.scrubber();
    let client = client_within(uri.expose_secret(), ConnectProfile::Command, timeout)
        .await
        .map_err(|error| anyhow::anyhow!("malformed URI {uri}: {}", scrubber.scrub(&error.to_string())))?;
    if let Err(error) = drdrill::provider::ready::hello(&client).await {
        anyhow::bail!("cannot reach {uri}: {}", scrubber.scrub(&explain(&error)));
    }
    Ok((uri, client))
}
