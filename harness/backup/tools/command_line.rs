//! Building the tools' exact command lines: pure functions, tested per
//! option. The dump and restore argument sets share one base (program,
//! URI) and the flags both take.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::ToolsError;
use crate::backup::engine::{BackupLocation, DumpRequest, Layout, RestoreRequest};
use crate::backup::format::{DumpDirectory, collection_file_stem};
use crate::uri::{MongoUri, redact};

/// Escapes a database or collection name for a `--nsInclude` / `--nsFrom`
/// pattern, where `*` is a wildcard and `\` escapes.
pub(super) fn pattern(name: &str) -> String {
    name.replace('\\', "\\\\").replace('*', "\\*")
}

pub(super) fn flag(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut argument = OsString::from(format!("--{name}="));
    argument.push(value);
    argument
}

/// What both tools' command lines start with: the program and the URI
/// (which [`config::ConfigFile::apply`] moves out of the line before a run).
fn base_command(program: &Path, uri: &MongoUri) -> Vec<OsString> {
    vec![program.as_os_str().to_owned(), flag("uri", uri.expose_secret())]
}

/// `--gzip` when `gzip`.
fn push_gzip(command: &mut Vec<OsString>, gzip: bool) {
    if gzip {
        command.push("--gzip".into());
    }
}

/// `--numParallelCollections=N` unless N is 0 (the tool's default).
fn push_parallel(command: &mut Vec<OsString>, parallel_collections: usize) {
    if parallel_collections > 0 {
        command.push(flag("numParallelCollections", parallel_collections.to_string()));
    }
}

/// The `mongodump` command line for `request`, `program` first.
///
/// mongodump selects one collection (`--collection`) or excludes some
/// (`--excludeCollection`), but cannot include several: a request naming
/// several is refused here, and [`dump`] turns it into exclusions first.
pub fn dump_command(request: &DumpRequest, program: &Path) -> Result<Vec<OsString>, ToolsError> {
    let unsupported = |problem: String| ToolsError::Unsupported {
        tool: "mongodump",
        problem,
    };
    let mut command = base_command(program, &request.uri);
    command.push(flag("db", &request.database));
    match request.collections.as_deref() {
        None => {
            for name in &request.exclude {
                command.push(flag("excludeCollection", name));
            }
        }
        Some([one]) => {
            // mongodump refuses --excludeCollection beside --collection; an
            // exclusion of another collection changes nothing anyway.
            if request.exclude.contains(one) {
                return Err(unsupported(format!("collection {one} is both selected and excluded")));
            }
            command.push(flag("collection", one));
        }
        Some([]) => return Err(unsupported("the request selects no collection".to_owned())),
        Some(several) => {
            return Err(unsupported(format!(
                "select {} collections in one run (it has no --nsInclude); list the database and exclude the others",
                several.len()
            )));
        }
    }
    match request.layout {
        Layout::Directory { gzip } => {
            command.push(flag("out", &request.out));
            push_gzip(&mut command, gzip);
        }
        Layout::Archive { gzip } => {
            command.push(flag("archive", &request.out));
            push_gzip(&mut command, gzip);
        }
    }
    push_parallel(&mut command, request.parallel_collections);
    Ok(command)
}

/// The `mongorestore` command line for `request`, `program` first.
///
/// A directory source is looked at (listed) to tell a dump root from one
/// database's folder, because mongorestore needs `--db` for the latter. A
/// `.tar.gz` source must be extracted first ([`restore`] does).
pub fn restore_command(request: &RestoreRequest, program: &Path) -> Result<Vec<OsString>, ToolsError> {
    let unsupported = |problem: String| ToolsError::Unsupported {
        tool: "mongorestore",
        problem,
    };
    let mut command = base_command(program, &request.uri);
    if matches!(&request.collections, Some(names) if names.is_empty()) {
        return Err(unsupported("the request selects no collection".to_owned()));
    }
    let positional = match &request.source {
        BackupLocation::TarGz { path } => {
            return Err(unsupported(format!(
                "read {} directly: a .tar.gz must be extracted first",
                path.display()
            )));
        }
        BackupLocation::Archive { path, gzip } => {
            command.push(flag("archive", path));
            push_gzip(&mut command, *gzip);
            root_selection(request, &mut command);
            None
        }
        BackupLocation::Directory { path, gzip } => {
            push_gzip(&mut command, *gzip);
            Some(directory_selection(request, path, *gzip, &mut command)?)
        }
    };
    if request.drop {
        command.push("--drop".into());
    }
    if request.dry_run {
        command.push("--dryRun".into());
    }
    if request.workers_per_collection > 0 {
        command.push(flag(
            "numInsertionWorkersPerCollection",
            request.workers_per_collection.to_string(),
        ));
    }
    push_parallel(&mut command, request.parallel_collections);
    if let Some(path) = positional {
        command.push(path.into_os_string());
    }
    Ok(command)
}

/// The namespace flags for a source that holds database folders (a dump
/// root or an archive).
fn root_selection(request: &RestoreRequest, command: &mut Vec<OsString>) {
    let from = pattern(&request.from_database);
    match &request.collections {
        None => command.push(flag("nsInclude", format!("{from}.*"))),
        Some(names) => {
            for name in names {
                command.push(flag("nsInclude", format!("{from}.{}", pattern(name))));
            }
        }
    }
    if request.to_database != request.from_database {
        command.push(flag("nsFrom", format!("{from}.*")));
        command.push(flag("nsTo", format!("{}.*", pattern(&request.to_database))));
    }
}

/// The flags for a directory source, and the path mongorestore is given:
/// a dump root, one database's folder (restored under `--db`), one
/// collection's file, or a database folder's parent for several collections.
fn directory_selection(
    request: &RestoreRequest,
    path: &Path,
    gzip: bool,
    command: &mut Vec<OsString>,
) -> Result<PathBuf, ToolsError> {
    let unsupported = |problem: String| ToolsError::Unsupported {
        tool: "mongorestore",
        problem,
    };
    let dump = DumpDirectory::open(path).map_err(|error| unsupported(error.to_string()))?;
    let is_database_folder = dump.databases.len() == 1 && dump.databases[0].path == *path;
    if !is_database_folder {
        root_selection(request, command);
        return Ok(path.to_owned());
    }
    match request.collections.as_deref() {
        // A database folder is restored under the name --db gives it.
        None => {
            command.push(flag("db", &request.to_database));
            Ok(path.to_owned())
        }
        Some([one]) => {
            let extension = if gzip { "bson.gz" } else { "bson" };
            command.push(flag("db", &request.to_database));
            command.push(flag("collection", one));
            Ok(path.join(format!("{}.{extension}", collection_file_stem(one))))
        }
        Some(_) => {
            // Several collections need --nsInclude, which needs the dump
            // root: the folder's parent, when the folder bears the
            // database's name.
            let parent = path.parent().filter(|_| {
                path.file_name()
                    .is_some_and(|name| name == OsStr::new(&request.from_database))
            });
            let Some(parent) = parent else {
                return Err(unsupported(format!(
                    "restore several chosen collections from the database folder {} whose name is not {}",
                    path.display(),
                    request.from_database
                )));
            };
            root_selection(request, command);
            Ok(parent.to_owned())
        }
    }
}

/// A command line for showing: redacted, arguments with spaces quoted.
pub fn shown_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|argument| {
            let text = redact(&argument.to_string_lossy());
            if text.contains(char::is_whitespace) || text.is_empty() {
                format!("'{}'", text.replace('\'', "'\\''"))
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
