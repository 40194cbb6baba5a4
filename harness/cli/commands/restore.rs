//! `drdrill restore`: `mongorestore` for this subset of its flags, through
//! the builtin engine. The positional path may be a dump folder, one
//! database's folder, a `.bson` file (with `--collection`), an archive or a
//! `.tar.gz`.

use std::path::PathBuf;

use clap::Args;
use drdrill::backup::builtin;
use drdrill::backup::{BackupLocation, RestoreRequest};
use drdrill::uri::MongoUri;

use super::archive_arg::{self, Direction};
use super::dump::{ConnectionArgs, split_namespace};
use crate::cli::Outcome;
use crate::cli::output::{TerminalProgress, print_json, table};

/// `drdrill restore` (flags as `mongorestore` spells them).
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where to connect and which engine runs.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Database to restore into (and to read, unless --nsFrom says otherwise).
    #[arg(short = 'd', long = "db")]
    pub db: Option<String>,
    /// Only this collection (with a `.bson` path: the collection it becomes).
    #[arg(short = 'c', long = "collection")]
    pub collection: Option<String>,
    /// Read an archive file (`--archive` alone: stdin).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub archive: Option<PathBuf>,
    /// Accepted for compatibility: compression is detected from the files.
    #[arg(long)]
    pub gzip: bool,
    /// Only these namespaces (`db.collection` or `db.*`).
    #[arg(long = "nsInclude")]
    pub ns_include: Vec<String>,
    /// Rename from this namespace (`db.*`).
    #[arg(long = "nsFrom", requires = "ns_to")]
    pub ns_from: Option<String>,
    /// Rename to this namespace (`db.*`).
    #[arg(long = "nsTo", requires = "ns_from")]
    pub ns_to: Option<String>,
    /// Drop each collection before restoring it.
    #[arg(long)]
    pub drop: bool,
    /// Read and check everything, write nothing.
    #[arg(long = "dryRun")]
    pub dry_run: bool,
    /// Concurrent insert batches per collection (use 1 on FerretDB with SQLite).
    #[arg(long = "numInsertionWorkersPerCollection", default_value_t = 1)]
    pub workers_per_collection: usize,
    /// Collections restored at once (use 1 on FerretDB with SQLite).
    #[arg(short = 'j', long = "numParallelCollections", default_value_t = 1)]
    pub parallel_collections: usize,
    /// The backup (default `dump`).
    pub path: Option<PathBuf>,
}

/// Runs `drdrill restore`.
pub async fn run(args: RestoreArgs, json: bool, quiet: bool) -> anyhow::Result<Outcome> {
    args.connection.check_engine()?;
    let uri = args.connection.resolve()?;
    let mut collections: Option<Vec<String>> = None;
    archive_arg::check(args.archive.as_deref(), args.path.as_deref(), Direction::Read)?;
    let source = match (&args.archive, &args.path) {
        (Some(path), _) => BackupLocation::Archive {
            path: archive_arg::stream_path(path, Direction::Read),
            gzip: args.gzip,
        },
        (None, Some(path)) if path.is_file() && is_bson_file(path) => {
            // The runbook's selective restore: one `.bson` file of a database folder.
            let stem = path
                .file_name()
                .map(|name| {
                    name.to_string_lossy()
                        .trim_end_matches(".gz")
                        .trim_end_matches(".bson")
                        .to_owned()
                })
                .unwrap_or_default();
            let collection = args.collection.clone().unwrap_or(stem);
            collections = Some(vec![collection]);
            let folder = path.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
            BackupLocation::Directory {
                path: folder,
                gzip: path.extension().is_some_and(|extension| extension == "gz"),
            }
        }
        (None, path) => builtin::locate_backup(&path.clone().unwrap_or_else(|| PathBuf::from("dump")))?,
    };
    if collections.is_none()
        && let Some(collection) = &args.collection
    {
        collections = Some(vec![collection.clone()]);
    }
    // The backup is found and planned first: a bad one needs no server to say so.
    if !args.dry_run {
        args.connection.check_reachable(&uri).await?;
    }
    let requests = plan_requests(&args, uri, source, collections).await?;
    let progress = TerminalProgress::new(quiet);
    let resolved = drdrill::backup::select::resolve(args.connection.engine, None)?;
    let settings =
        drdrill::backup::select::EngineSettings::new(std::time::Duration::from_secs(24 * 3600), "drdrill-restore");
    let outcome = drdrill::backup::select::restore_each(&resolved, &requests, &settings, &progress)
        .await?
        .outcome;
    eprint!("{}", outcome.output);
    if json {
        print_json(&outcome)?;
    } else {
        let rows: Vec<Vec<String>> = outcome
            .collections
            .iter()
            .map(|collection| {
                vec![
                    collection.name.clone(),
                    collection.documents.to_string(),
                    collection.failures.to_string(),
                    collection.indexes.join(", "),
                    collection.index_errors.join("; "),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &["collection", ">documents", ">failures", "indexes", "index errors"],
                &rows
            )
        );
    }
    let failed = outcome
        .collections
        .iter()
        .any(|collection| collection.failures > 0 || !collection.index_errors.is_empty());
    Ok(if failed { Outcome::Failed } else { Outcome::Success })
}

/// One request per database to restore: the one `--db`, `--nsFrom` or
/// `--nsInclude` names (each database `--nsInclude` names, with its
/// collections), or, when nothing narrows it, every database the backup
/// holds, as `mongorestore` does with a full-server dump.
async fn plan_requests(
    args: &RestoreArgs,
    uri: MongoUri,
    source: BackupLocation,
    collections: Option<Vec<String>>,
) -> anyhow::Result<Vec<RestoreRequest>> {
    let request = |from_database: String, to_database: String, collections: Option<Vec<String>>| RestoreRequest {
        uri: uri.clone(),
        source: source.clone(),
        from_database,
        to_database,
        collections,
        drop: args.drop,
        dry_run: args.dry_run,
        workers_per_collection: args.workers_per_collection.max(1),
        parallel_collections: args.parallel_collections.max(1),
    };
    if args.ns_from.is_some() || args.db.is_some() {
        let mut collections = collections;
        let mut from_database = args.ns_from.as_deref().map(|from| split_namespace(from).0);
        for include in &args.ns_include {
            let (database, collection) = split_namespace(include);
            from_database.get_or_insert(database);
            if let Some(collection) = collection {
                collections.get_or_insert_with(Vec::new).push(collection);
            }
        }
        let from_database = from_database.or_else(|| args.db.clone()).unwrap_or_default();
        let to_database = match (&args.ns_to, &args.db) {
            (Some(to), _) => split_namespace(to).0,
            (None, Some(database)) => database.clone(),
            (None, None) => from_database.clone(),
        };
        return Ok(vec![request(from_database, to_database, collections)]);
    }
    // Each database named by --nsInclude, in order, with the collections named for it.
    let mut included: Vec<(String, Option<Vec<String>>)> = Vec::new();
    for include in &args.ns_include {
        let (database, collection) = split_namespace(include);
        let position = match included.iter().position(|(known, _)| *known == database) {
            Some(position) => position,
            None => {
                included.push((database, Some(Vec::new())));
                included.len() - 1
            }
        };
        let entry = &mut included[position].1;
        match collection {
            Some(collection) => {
                if let Some(names) = entry {
                    names.push(collection);
                }
            }
            // `db.*`: the whole database.
            None => *entry = None,
        }
    }
    if included.is_empty() {
        let databases = drdrill::backup::select::databases_in(&source).await?;
        included = databases
            .into_iter()
            .map(|database| (database, collections.clone()))
            .collect();
    }
    Ok(included
        .into_iter()
        .map(|(database, collections)| request(database.clone(), database, collections))
        .collect())
}

fn is_bson_file(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".bson") || name.ends_with(".bson.gz")
}
