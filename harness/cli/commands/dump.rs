//! `drdrill dump`: `mongodump` for this subset of its flags, through the
//! builtin engine, with a manifest beside the backup. The connection flags
//! and the `--engine` match are shared with `restore`.

use std::path::PathBuf;

use clap::Args;
use drdrill::backup::{DumpOutcome, DumpRequest, EngineChoice, Layout};
use drdrill::uri::MongoUri;

use super::archive_arg::{self, Direction};
use crate::cli::Outcome;
use crate::cli::output::{TerminalProgress, print_json, table};

/// `drdrill dump` (flags as `mongodump` spells them).
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where to connect and which engine runs.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Database to dump.
    #[arg(short = 'd', long = "db")]
    pub db: Option<String>,
    /// Only this collection.
    #[arg(short = 'c', long = "collection")]
    pub collection: Option<String>,
    /// Output folder (default `dump`).
    #[arg(short = 'o', long = "out", conflicts_with = "archive")]
    pub out: Option<PathBuf>,
    /// Write one archive file instead of a folder (`--archive` alone: stdout).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub archive: Option<PathBuf>,
    /// Compress (each file, or the whole archive).
    #[arg(long)]
    pub gzip: bool,
    /// Only these namespaces (`db.collection` or `db.*`).
    #[arg(long = "nsInclude")]
    pub ns_include: Vec<String>,
    /// Leave out these namespaces (`db.collection`).
    #[arg(long = "nsExclude")]
    pub ns_exclude: Vec<String>,
    /// Collections dumped at once.
    #[arg(short = 'j', long = "numParallelCollections", default_value_t = 4)]
    pub parallel_collections: usize,
    /// A path standing after `--archive` (caught to show `--archive=FILE`).
    #[arg(hide = true)]
    pub stray: Option<PathBuf>,
}

/// Runs `drdrill dump`.
pub async fn run(args: DumpArgs, json: bool, quiet: bool) -> anyhow::Result<Outcome> {
    archive_arg::check(args.archive.as_deref(), args.stray.as_deref(), Direction::Write)?;
    if let Some(stray) = &args.stray {
        anyhow::bail!(
            "unexpected argument {}: dump writes to --out DIR or --archive=FILE",
            stray.display()
        );
    }
    args.connection.check_engine()?;
    let uri = args.connection.resolve()?;
    let (database, collections) = selection(&args)?;
    // A bad name is refused first: it needs no server.
    args.connection.check_reachable(&uri).await?;
    let exclude: Vec<String> = args
        .ns_exclude
        .iter()
        .filter_map(|excluded| split_namespace(excluded).1)
        .collect();
    let (layout, out) = destination(&args);
    let databases = match database {
        Some(database) => vec![database],
        None => every_database(&uri, layout).await?,
    };
    let full_server = databases.len() > 1;
    let progress = TerminalProgress::new(quiet);
    let resolved = drdrill::backup::select::resolve(args.connection.engine, None)?;
    let settings =
        drdrill::backup::select::EngineSettings::new(std::time::Duration::from_secs(24 * 3600), "drdrill-dump");
    let mut outcomes = Vec::new();
    for database in databases {
        let request = DumpRequest {
            uri: uri.clone(),
            database: database.clone(),
            collections: collections.clone(),
            exclude: exclude.clone(),
            layout,
            out: out.clone(),
            parallel_collections: args.parallel_collections.max(1),
        };
        let selected = drdrill::backup::select::dump(&resolved, &request, &settings, &progress).await?;
        let Some(mut outcome) = selected.result.backup().cloned() else {
            anyhow::bail!("the {} engine produced no backup", resolved.name());
        };
        if full_server {
            qualify(&mut outcome.collections, &database);
        }
        outcomes.push(outcome);
    }
    let outcome = merge(outcomes, full_server)?;
    print_outcome(&outcome, json && out.as_os_str() != "/dev/stdout")?;
    Ok(Outcome::Success)
}

/// The database (`None`: every one) and collections the flags select; a
/// database name that breaks MongoDB's rules is refused here, before any
/// engine joins it onto a path.
fn selection(args: &DumpArgs) -> anyhow::Result<(Option<String>, Option<Vec<String>>)> {
    let mut database = args.db.clone();
    let mut collections: Option<Vec<String>> = args.collection.clone().map(|collection| vec![collection]);
    for include in &args.ns_include {
        let (include_database, collection) = split_namespace(include);
        database.get_or_insert(include_database);
        if let Some(collection) = collection {
            collections.get_or_insert_with(Vec::new).push(collection);
        }
    }
    if let Some(database) = &database
        && let Err(problem) = drdrill::backup::format::check_database_name(database)
    {
        anyhow::bail!("database name `{}` is invalid: {problem}", database.escape_debug());
    }
    Ok((database, collections))
}

/// An archive file (or standard output), or a folder (default `dump`).
fn destination(args: &DumpArgs) -> (Layout, PathBuf) {
    match &args.archive {
        Some(path) => (
            Layout::Archive { gzip: args.gzip },
            archive_arg::stream_path(path, Direction::Write),
        ),
        None => (
            Layout::Directory { gzip: args.gzip },
            args.out.clone().unwrap_or_else(|| PathBuf::from("dump")),
        ),
    }
}

/// One outcome for every database dumped into the same place.
fn merge(outcomes: Vec<DumpOutcome>, full_server: bool) -> anyhow::Result<DumpOutcome> {
    let outcome = outcomes
        .into_iter()
        .reduce(|mut so_far, next| {
            so_far.collections.extend(next.collections);
            so_far.output.push_str(&next.output);
            so_far.duration += next.duration;
            // Every database went into the same folder: its size now.
            so_far.bytes = next.bytes;
            so_far
        })
        .ok_or_else(|| anyhow::anyhow!("the server holds no database to dump"))?;
    if full_server {
        // Each database's run wrote a manifest for itself alone at the root;
        // the last one would describe only its database.
        let manifest = drdrill::backup::manifest::manifest_path(&outcome.location);
        if manifest.exists() {
            std::fs::remove_file(&manifest)?;
        }
    }
    Ok(outcome)
}

/// The engine's output, then the outcome as JSON on stdout, or as a table on
/// stderr (stdout may be the archive itself).
fn print_outcome(outcome: &DumpOutcome, json: bool) -> anyhow::Result<()> {
    eprint!("{}", outcome.output);
    if json {
        return print_json(outcome);
    }
    let rows: Vec<Vec<String>> = outcome
        .collections
        .iter()
        .map(|collection| {
            vec![
                collection.name.clone(),
                collection.documents.to_string(),
                collection.indexes.join(", "),
            ]
        })
        .collect();
    eprint!("{}", table(&["collection", ">documents", "indexes"], &rows));
    eprintln!(
        "{} bytes in {:.1?} ({} {})",
        outcome.bytes, outcome.duration, outcome.engine.name, outcome.engine.version
    );
    Ok(())
}

/// Names each collection `database.collection`, for one table spanning
/// several databases.
fn qualify(collections: &mut [drdrill::backup::CollectionResult], database: &str) {
    for collection in collections {
        collection.name = format!("{database}.{}", collection.name);
    }
}

/// The databases of a server, as `mongodump` without `--db` dumps them:
/// all but `admin`, `config` and `local`, into one dump folder.
async fn every_database(uri: &MongoUri, layout: Layout) -> anyhow::Result<Vec<String>> {
    if matches!(layout, Layout::Archive { .. }) {
        anyhow::bail!(
            "name the database to dump with --db: dumping every database writes a folder (--out), not an archive"
        );
    }
    let (_, client) = super::connect(uri.expose_secret()).await?;
    let scrubber = uri.scrubber();
    let names = client.list_database_names().await.map_err(|error| {
        anyhow::anyhow!(
            "cannot list the databases of {uri}: {}",
            scrubber.scrub(&error.to_string())
        )
    })?;
    Ok(names
        .into_iter()
        .filter(|name| !matches!(name.as_str(), "admin" | "config" | "local"))
        .collect())
}

/// Where to connect, as `mongodump`/`mongorestore` take it.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Connection string (credentials are never printed).
    #[arg(long, env = "DRDRILL_URI", conflicts_with_all = ["host", "port"])]
    pub uri: Option<String>,
    /// Server to connect to, `host` or `host:port` (default localhost).
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default 27017).
    #[arg(long)]
    pub port: Option<u16>,
    /// Which backup engine runs: `auto` picks the real tools when on PATH, else the builtin engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// How long to wait for the server before giving up, e.g. `5s`, `1m`
    /// (default 5 s, or the URI's serverSelectionTimeoutMS).
    #[arg(long = "connect-timeout", value_parser = drdrill::scenario::duration::parse_duration)]
    pub connect_timeout: Option<std::time::Duration>,
}

impl ConnectionArgs {
    /// The URI from `--uri`, or built from `--host`/`--port`.
    pub fn resolve(&self) -> anyhow::Result<MongoUri> {
        if let Some(uri) = &self.uri {
            return Ok(MongoUri::parse(uri)?);
        }
        let host = self.host.as_deref().unwrap_or("localhost");
        let address = match (host.rsplit_once(':'), self.port) {
            (Some((name, port)), None) => format!("{name}:{port}"),
            (Some((name, _)), Some(port)) => format!("{name}:{port}"),
            (None, port) => format!("{host}:{}", port.unwrap_or(27017)),
        };
        Ok(MongoUri::parse(&format!("mongodb://{address}/?directConnection=true"))?)
    }

    /// Checks that the server answers within the timeout, so an unreachable
    /// server is one line naming each address and what happened there,
    /// before any engine starts.
    pub async fn check_reachable(&self, uri: &MongoUri) -> anyhow::Result<()> {
        super::connect_within(uri.expose_secret(), self.connect_timeout)
            .await
            .map(|_| ())
    }

    /// Refuses engines that cannot serve this command.
    pub fn check_engine(&self) -> anyhow::Result<()> {
        match self.engine {
            EngineChoice::Auto | EngineChoice::Builtin | EngineChoice::Tools => Ok(()),
            EngineChoice::Command => anyhow::bail!("engine `command` runs from a scenario, not from this command"),
        }
    }
}

/// Splits `db.collection` (the collection may contain dots); `db.*` gives no
/// collection.
pub fn split_namespace(text: &str) -> (String, Option<String>) {
    match text.split_once('.') {
        Some((database, "*")) | Some((database, "")) => (database.to_owned(), None),
        Some((database, collection)) => (database.to_owned(), Some(collection.to_owned())),
        None => (text.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_make_a_uri() {
        let args = ConnectionArgs {
            uri: None,
            host: Some("mongo-primary:27018".into()),
            port: None,
            engine: EngineChoice::Auto,
            connect_timeout: None,
        };
        assert_eq!(
            args.resolve().unwrap().redacted(),
            "mongodb://mongo-primary:27018/?directConnection=true"
        );
        assert_eq!(
            split_namespace("shepherd_cms.config.history"),
            ("shepherd_cms".into(), Some("config.history".into()))
        );
        assert_eq!(split_namespace("shepherd_cms.*"), ("shepherd_cms".into(), None));
    }
}
